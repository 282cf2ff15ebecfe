"""`exec`: start another process in a container (runc's `exec`).

The init runs in "exec mode" (csrc/README.md): it joins every namespace the container's
config lists, through the container init's /proc/<pid>/ns/<type> (the user namespace
first), after being put in the container's cgroups; it does no rootfs work and does not
wait on exec.fifo: once the process attributes are applied it reports READY and execs.
The new process is our child (CLONE_PARENT), so a foreground exec waits for it.
"""

from __future__ import annotations

import os

from ocirt.errors import OcirtError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ocirt.container.store import ContainerDir

# config namespace type → the file under /proc/<pid>/ns/
NS_FILES = {"user": "user", "mount": "mnt", "cgroup": "cgroup", "uts": "uts", "ipc": "ipc",
            "pid": "pid", "network": "net", "time": "time"}


class ExecError(OcirtError):
    """runc prints `exec failed: <why>` and exits 255 when the process could not start."""

    exit_code = 255

    def __init__(self, why: str) -> None:
        super().__init__(f"exec failed: {why}")


def build_plan(saved: dict[str, Any], proc: dict[str, Any], container_id: str,
               preserve_fds: int = 0) -> Any:
    """The exec-mode Plan for proc in the container described by saved."""
    from ocirt.native.plan import Namespace, Plan
    from ocirt.plan.namespaces import FLAGS, ORDER
    from ocirt.plan.process import plan_attributes, plan_process

    cfg = saved.get("config") or {}
    linux = cfg.get("linux") or {}
    pid = int(saved["pid"])
    types = {ns.get("type") for ns in linux.get("namespaces") or []}
    plan = Plan(exec_mode=True)
    plan.namespaces = [Namespace(FLAGS[t], f"/proc/{pid}/ns/{NS_FILES[t]}")
                       for t in ORDER if t in types]
    plan.preserve_fds = preserve_fds
    plan.new_keyring = not saved.get("no_new_keyring", False)
    plan.keyring_name = f"_ses.{container_id}"
    plan_process(plan, proc)
    # the container's seccomp profile, personality ... with this process's own
    # scheduler, ioPriority and LSM label
    plan_attributes(plan, dict(cfg, process=proc))
    return plan


def exec_process(d: ContainerDir, saved: dict[str, Any], proc: dict[str, Any], *,
                 console_socket: str | int | None = None, pid_file: str | None = None,
                 preserve_fds: int = 0) -> int:
    """Start proc in the container; returns its host pid once it runs (it is our child)."""
    from ocirt import cgroups
    from ocirt.errors import InitError
    from ocirt.native.spawn import InitProcess

    plan = build_plan(saved, proc, d.id, preserve_fds)
    cg = cgroups.from_state(saved["cgroup"])
    affinity = proc.get("execCPUAffinity") or {}
    initial = cpu_set(affinity.get("initial") or "")
    final = cpu_set(affinity.get("final") or "")

    def join_cgroup(pid: int) -> None:
        # config.md "execCPUAffinity": initial before the move into the container's
        # cgroup, final after it (a cpuset move resets the affinity); the container's
        # process is forked after this, so it inherits the final one
        where = "process.execCPUAffinity"
        if initial:
            _set_affinity(pid, initial, f"{where}.initial")
        cg.add(pid)
        if final:
            _set_affinity(pid, final, f"{where}.final")

    def on_seccomp(fd: int, pid: int) -> None:  # SCMP_ACT_NOTIFY: to the agent
        from ocirt.seccomp import forward_listener

        forward_listener(saved.get("config") or {}, fd, pid, d.id, saved.get("bundle", ""))

    try:
        # born in the cgroups when no affinity has to be set around the move (see
        # InitProcess.start: a move by pid costs a kernel-wide RCU grace period)
        init = InitProcess.start(plan, state_dir=d.path, join_cgroup=join_cgroup,
                                 console_socket=console_socket,
                                 cgroup_targets=None if initial or final
                                 else cg.spawn_targets(),
                                 on_seccomp=on_seccomp)
    except InitError as e:
        raise ExecError(f"unable to start container process: {e}") from None
    if pid_file:
        from ocirt.container.create import write_pid_file

        write_pid_file(pid_file, init.pid)
    return init.pid


def process_from_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """A copy of the config's process to apply the command line to."""
    import copy

    return copy.deepcopy(cfg.get("process") or {})


def check_process(proc: Any) -> None:
    """runc's validateProcessSpec (its words), then ocirt's config.md checks."""
    from ocirt.spec.process_shape import process

    if not isinstance(proc, dict):
        raise ExecError("process property must not be empty")
    cwd = proc.get("cwd")
    if not cwd:
        raise ExecError("Cwd property must not be empty")
    if not isinstance(cwd, str) or not cwd.startswith("/"):
        raise ExecError("Cwd must be an absolute path")
    if not proc.get("args"):
        raise ExecError("args must not be empty")
    process(proc, "process")


def cpu_set(text: str) -> set[int]:
    """A kernel cpu list ("0-3,7") as a set; "" is the empty set (unset)."""
    cpus: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if part:
            lo, _, hi = part.partition("-")
            cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def _set_affinity(pid: int, cpus: set[int], field: str) -> None:
    try:
        os.sched_setaffinity(pid, cpus)
    except OSError as e:
        raise ExecError(f"{field}: cannot run on cpus {sorted(cpus)}: "
                        f"{(e.strerror or str(e)).lower()}") from None
