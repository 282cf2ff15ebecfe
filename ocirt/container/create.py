"""`create`: validate and plan first, then build the container; undo everything on failure."""

from __future__ import annotations

import os

from ocirt.container import CREATED, CREATING, now_rfc3339, process
from ocirt.container.store import FIFO, ContainerDir, check_id
from ocirt.errors import OcirtError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ocirt.netdev import NetDevices

    # a path, a connected fd, or a callable returning one when a terminal is needed
    ConsoleSocket = str | int | Callable[[], int] | None


def _listen_fds() -> int:
    """systemd socket activation (LISTEN_FDS for this very process) passes through."""
    if os.environ.get("LISTEN_PID") != str(os.getpid()):
        return 0
    try:
        return max(0, int(os.environ.get("LISTEN_FDS", "0")))
    except ValueError:
        return 0


def write_pid_file(path: str, pid: int) -> None:
    """Digits, no newline, appearing at once: engines poll for this file and read it."""
    path = os.path.abspath(path)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}")
    with open(tmp, "w") as f:
        f.write(str(pid))
    os.rename(tmp, path)


def create(root: str, container_id: str, bundle: str, *, pid_file: str | None = None,
           console_socket: ConsoleSocket = None, no_pivot: bool = False,
           preserve_fds: int = 0, no_new_keyring: bool = False) -> dict[str, Any]:
    from ocirt import cgroups, spec
    from ocirt import plan as planner

    check_id(container_id)
    bundle = os.path.abspath(bundle)
    if not os.path.isdir(bundle):
        raise OcirtError(f"bundle {bundle}: no such directory")
    cfg = spec.load(bundle)
    linux = cfg.get("linux") or {}
    cg = cgroups.for_container(linux.get("cgroupsPath"), container_id)
    listen = _listen_fds()
    if callable(console_socket):
        # a terminal of the caller's own, made only when the config asks for one
        console_socket = console_socket() if (cfg.get("process") or {}).get("terminal") \
            else None
    opts = planner.Options(no_pivot=no_pivot, preserve_fds=preserve_fds + listen,
                           console_socket=console_socket, no_new_keyring=no_new_keyring,
                           container_id=container_id)
    plan = planner.build(cfg, bundle, opts, cg.dirs)
    if listen:
        plan.env = [e for e in plan.env if not e.startswith(("LISTEN_FDS=", "LISTEN_PID="))]
        plan.env += [f"LISTEN_FDS={listen}", "LISTEN_PID=1"]
    hooks = None
    if cfg.get("hooks"):
        from ocirt import hooks

        hooks.to_plan(cfg, plan)
    # host pid of the init once the lifecycle reached the hooks (runtime.md step 3): from
    # then on a failure continues at step 12, so poststop hooks run after the undo
    hooks_reached = 0

    netdevs = None
    if linux.get("netDevices"):
        from ocirt.netdev import NetDevices

        netdevs = NetDevices(linux["netDevices"])  # finds them: nothing to undo yet
    try:
        d = ContainerDir.create(root, container_id)
    except BaseException:
        if netdevs is not None:
            netdevs.close()
        raise
    init_pid = 0
    try:
        saved: dict[str, Any] = {
            "id": container_id, "status": CREATING, "bundle": bundle, "rootfs": plan.rootfs,
            "created": now_rfc3339(), "owner": "", "annotations": cfg.get("annotations") or {},
            "cgroup": cg.to_state(), "config": cfg,
        }
        d.save(saved)
        fifo = os.path.join(d.path, FIFO)
        os.mkfifo(fifo, 0o622)
        os.chmod(fifo, 0o622)  # mkfifo honours the umask; the container user must write it
        if plan.new_userns:
            from ocirt.plan import host_id

            os.chown(fifo, host_id(plan.uid_mappings, 0), host_id(plan.gid_mappings, 0))
        cg.create(linux.get("resources"))
        saved["cgroup"] = cg.to_state()
        d.save(saved)  # from here a crashed create is still removable by `delete --force`

        from ocirt.native.spawn import InitProcess

        def on_hooks(host_pid: int, inner_pid: int) -> bytes:
            nonlocal hooks_reached
            hooks_reached = host_pid
            assert hooks is not None
            return hooks.create_time(cfg, saved, host_pid, inner_pid)

        def on_seccomp(fd: int, pid: int) -> None:  # SCMP_ACT_NOTIFY: to the agent
            from ocirt.seccomp import forward_listener

            forward_listener(cfg, fd, pid, container_id, bundle)

        init = InitProcess.start(plan, state_dir=d.path, join_cgroup=cg.add,
                                 cgroup_targets=cg.spawn_targets(),
                                 console_socket=console_socket,
                                 on_hooks=on_hooks if plan.hook_sync else None,
                                 on_seccomp=on_seccomp,
                                 on_namespaces=netdevs.move_into if netdevs else None)
        init_pid = init.pid
        saved.update(status=CREATED, pid=init.pid, start_time=process.start_time(init.pid))
        d.save(saved)
        if pid_file:
            write_pid_file(pid_file, init.pid)
        return saved
    except BaseException:
        try:
            _undo(d, cg, init_pid, netdevs)
        finally:
            if hooks is not None and hooks_reached:
                hooks.poststop(cfg, saved, init_pid or hooks_reached)
        raise
    finally:
        if netdevs is not None:
            netdevs.close()
        d.close()


def _undo(d: ContainerDir, cg: Any, init_pid: int, netdevs: NetDevices | None) -> None:
    """Remove what a failed create made: moved network devices, init, cgroup, state
    directory."""
    import _signal as signal

    if netdevs is not None:
        # the container's network namespace outlives the init while netdevs holds it
        netdevs.undo()
    if init_pid:
        try:
            os.kill(init_pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    for pid in cg.procs():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        cg.destroy()
    finally:
        d.remove()
