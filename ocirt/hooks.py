"""OCI hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle" steps 3-13).

Where each kind runs:

    prestart, createRuntime  here, in `create`, while the init waits at its hook point
                             (namespaces and mounts made, no pivot_root yet): status
                             creating, pid = the init's host pid
    createContainer          by the init (csrc/init/hooks.c), in the container's
                             namespaces, before pivot_root: status creating, pid inside
    startContainer           by the init after `start` opened exec.fifo, before execve, in
                             the container's filesystem: status created, pid inside
    poststart                here, in `start`, once the user program runs: status running
    poststop                 here, in `delete`, after the container is gone: status
                             stopped (pid: the init's last pid); failures are warnings

Every hook gets the state JSON on stdin, exactly its `env` (none when absent) and `args`
as argv (args[0] is argv[0]; [path] when absent or empty). Like runc, its stdout and
stderr are captured and quoted in the error when it fails, never mixed into ocirt's
(under `run` those are the container's). `timeout` seconds → SIGKILL, a failure.
Errors are one line: `createRuntime hook #0 (/usr/bin/x): exit status 3, stderr: ...`
(#N counts from 0 in each list, as runc's `error running hook #N`).

Imported only when a config has hooks; uses C modules only (no subprocess).
"""

from __future__ import annotations

import os
import select
from fcntl import F_DUPFD_CLOEXEC, F_GETFD, FD_CLOEXEC, fcntl

from ocirt import OCI_VERSION, jsonio
from ocirt.errors import OcirtError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ocirt.native.plan import Hook, Plan

KINDS = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
         "poststop")
# bytes of a failed hook's stdout / stderr quoted in its error
OUTPUT_MAX = 1024


class HookError(OcirtError):
    """A hook failed: str() is one line naming its kind, index and path."""


def of(cfg: dict[str, Any] | None, kind: str) -> list[dict[str, Any]]:
    """The hooks of one kind in a config (possibly none)."""
    return list(((cfg or {}).get("hooks") or {}).get(kind) or [])


def argv(hook: dict[str, Any]) -> list[str]:
    """execv's argv: `args` as given (args[0] is argv[0]); [path] without args."""
    return list(hook.get("args") or []) or [hook["path"]]


def state(saved: dict[str, Any], status: str, pid: int) -> bytes:
    """runtime.md "State" (plus runc's rootfs/created/owner, as `ocirt state` prints)."""
    out: dict[str, Any] = {
        "ociVersion": OCI_VERSION,
        "id": saved["id"],
        "pid": pid,
        "status": status,
        "bundle": saved["bundle"],
        "rootfs": saved.get("rootfs", ""),
        "created": saved.get("created", ""),
        "owner": saved.get("owner", ""),
    }
    if saved.get("annotations"):
        out["annotations"] = saved["annotations"]
    return jsonio.dumps(out).encode()


def to_plan(cfg: dict[str, Any], plan: Plan) -> None:
    """The init's share: the hook point, createContainer and startContainer hooks."""
    from ocirt.native.plan import Hook

    def conv(h: dict[str, Any]) -> Hook:
        return Hook(h["path"], argv(h), list(h.get("env") or []), int(h.get("timeout") or 0))

    plan.create_container_hooks = [conv(h) for h in of(cfg, "createContainer")]
    plan.start_container_hooks = [conv(h) for h in of(cfg, "startContainer")]
    # the init stops before pivot_root whenever there is something to run there, or a
    # state to learn for startContainer (it needs its pid as the container sees it)
    plan.hook_sync = bool(of(cfg, "prestart") or of(cfg, "createRuntime")
                          or plan.create_container_hooks or plan.start_container_hooks)


def _errstr(err: int) -> str:
    s = os.strerror(err)
    return s[:1].lower() + s[1:] if s[1:2].islower() else s


def _memfd(name: str, data: bytes = b"") -> int:
    fd = os.memfd_create(name, os.MFD_CLOEXEC)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.lseek(fd, 0, os.SEEK_SET)
        if fd < 3:  # caller without stdio: keep dup2 onto 0-2 from being a no-op
            hi = fcntl(fd, F_DUPFD_CLOEXEC, 3)
            os.close(fd)
            fd = hi
    except BaseException:
        os.close(fd)
        raise
    return fd


def _inherited_fds() -> list[int]:
    """Our fds above 2 that an exec would pass on (not close-on-exec)."""
    out = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd < 3:
            continue
        try:
            if not fcntl(fd, F_GETFD) & FD_CLOEXEC:
                out.append(fd)
        except OSError:
            continue  # the listing's own fd, closed by now
    return out


def _quote(fd: int, name: str) -> str:
    text = os.pread(fd, OUTPUT_MAX, 0).decode(errors="replace").rstrip()
    if not text:
        return ""
    return f", {name}: " + text.replace("\r", " ").replace("\n", "\\n")


def _wait(pid: int, timeout: int) -> tuple[int, bool]:
    """(wait status, timed out): SIGKILL after timeout seconds (0: wait for ever)."""
    if timeout > 0:
        pfd = os.pidfd_open(pid)
        try:
            poller = select.poll()
            poller.register(pfd, select.POLLIN)
            ms = min(timeout, 1 << 30) * 1000
            while True:
                try:
                    ready = poller.poll(ms)
                    break
                except InterruptedError:  # pragma: no cover: PEP 475 retries
                    continue
        finally:
            os.close(pfd)
        if not ready:
            os.kill(pid, 9)  # our unreaped child: the pid cannot have been reused
            _, status = os.waitpid(pid, 0)
            return status, True
    _, status = os.waitpid(pid, 0)
    return status, False


def run_one(kind: str, index: int, hook: dict[str, Any] | Hook, state_json: bytes) -> None:
    """Run one hook; raise HookError when it cannot start, fails, or times out."""
    if isinstance(hook, dict):
        path, args = hook["path"], argv(hook)
        env, timeout = list(hook.get("env") or []), int(hook.get("timeout") or 0)
    else:
        path, args, env, timeout = hook.path, hook.args or [hook.path], hook.env, hook.timeout
    head = f"{kind} hook #{index} ({path})"
    fds: list[int] = []
    try:
        fds.append(_memfd("ocirt-hook-state", state_json))
        fds.append(_memfd("ocirt-hook-stdout"))
        fds.append(_memfd("ocirt-hook-stderr"))
        actions: list[tuple[int, ...]] = [
            (os.POSIX_SPAWN_DUP2, fd, slot) for slot, fd in enumerate(fds)]
        actions += [(os.POSIX_SPAWN_CLOSE, fd) for fd in _inherited_fds()]
        environ = dict(e.split("=", 1) for e in env if "=" in e)
        try:
            pid = os.posix_spawn(path, args, environ, file_actions=actions)
        except OSError as e:
            raise HookError(f"{head}: exec: {_errstr(e.errno or 0)}") from None
        except ValueError as e:  # an env entry Python refuses ("=x", NUL)
            raise HookError(f"{head}: exec: {e}") from None
        status, timed_out = _wait(pid, timeout)
        if timed_out:
            what = f"timed out after {timeout}s (killed)"
        elif os.WIFSIGNALED(status):
            what = f"killed by signal {os.WTERMSIG(status)}"
        elif os.WEXITSTATUS(status):
            what = f"exit status {os.WEXITSTATUS(status)}"
        else:
            return
        raise HookError(f"{head}: {what}{_quote(fds[1], 'stdout')}{_quote(fds[2], 'stderr')}")
    finally:
        for fd in fds:
            os.close(fd)


def run(kind: str, hooks: list[dict[str, Any]], state_json: bytes) -> None:
    """Run hooks in order; the first failure raises HookError (the rest do not run)."""
    for i, hook in enumerate(hooks):
        run_one(kind, i, hook, state_json)


def run_warn(kind: str, hooks: list[dict[str, Any]], state_json: bytes) -> list[str]:
    """Run all hooks in order; failures are logged as warnings (runtime.md step 13) and
    returned, the remaining hooks still run."""
    from ocirt import log

    failed = []
    for i, hook in enumerate(hooks):
        try:
            run_one(kind, i, hook, state_json)
        except HookError as e:
            log.warning(str(e))
            failed.append(str(e))
    return failed


def create_time(cfg: dict[str, Any], saved: dict[str, Any], host_pid: int,
                inner_pid: int) -> bytes:
    """At the init's hook point: prestart then createRuntime hooks (state creating, the
    host pid); returns the HOOKS_DONE payload for the init's createContainer and
    startContainer hooks (pid as the container sees it)."""
    st = state(saved, "creating", host_pid)
    run("prestart", of(cfg, "prestart"), st)
    run("createRuntime", of(cfg, "createRuntime"), st)
    return state(saved, "creating", inner_pid) + b"\0" + state(saved, "created", inner_pid) \
        + b"\0"


def poststop(cfg: dict[str, Any] | None, saved: dict[str, Any], pid: int) -> list[str]:
    """runtime.md step 13, after the container is destroyed: warnings only."""
    hooks = of(cfg, "poststop")
    if not hooks:
        return []
    return run_warn("poststop", hooks, state(saved, "stopped", pid))
