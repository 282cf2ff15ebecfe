"""Start the container init (csrc/init) for `create` and wait until it is ready.

The init binary is copied into a sealed memfd and executed from there, so the process
that waits in `created` never exposes a writable host binary as /proc/<pid>/exe
(CVE-2019-5736). Protocol over a SOCK_SEQPACKET pair (csrc/README.md):

    parent → init  GO            the init is in its cgroup: go on
    init → parent  USERMAP_REQ   (new user namespace) write my uid_map/gid_map
    parent → init  USERMAP_ACK
    init → parent  PID <i32>     host pid of the container init (stage 2)
    init → parent  READY         stage 2 waits on exec.fifo
    init → parent  ERROR <text>  one line; the init exits 1
    init → parent  SECCOMP_FD    SCM_RIGHTS: the seccomp notify listener (NEW_LISTENER)
    init → parent  HOOKS <i32>   (plan.hook_sync) mounts done, before pivot_root: run the
                                 prestart + createRuntime hooks (i32: its pid inside)
    parent → init  HOOKS_DONE    "createContainer state\0startContainer state\0"

This module is on the benchmarked `create` path: keep its imports to C modules.
"""

from __future__ import annotations

import _socket
import os
import time
from fcntl import (
    F_ADD_SEALS,
    F_DUPFD_CLOEXEC,
    F_GETFD,
    F_SEAL_GROW,
    F_SEAL_SEAL,
    F_SEAL_SHRINK,
    F_SEAL_WRITE,
    fcntl,
)

from ocirt.errors import InitError

TYPE_CHECKING = False  # typing itself costs ~3 ms to import
if TYPE_CHECKING:
    from collections.abc import Callable

    from ocirt.native.plan import Plan

INIT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ocirt-init")

MSG_GO = 1
MSG_USERMAP_REQ = 2
MSG_USERMAP_ACK = 3
MSG_PID = 4
MSG_READY = 5
MSG_ERROR = 6
MSG_SECCOMP_FD = 7
MSG_HOOKS = 8
MSG_HOOKS_DONE = 9

_SEALS = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE
_MFD_EXEC = 0x10  # Linux ≥ 6.3; older kernels refuse it (EINVAL) and exec memfds anyway
_CONTROL_FDS = 4  # sync socket, plan, state dir, console socket
# How long the init may take to report READY/ERROR (after join_cgroup returned) before
# it counts as hung: generous, a slow mount or a loaded host must not trip it.
DEFAULT_TIMEOUT = 60.0


def _memfd(name: str, exec_: bool = False) -> int:
    flags = os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING
    if exec_:
        try:
            return os.memfd_create(name, flags | _MFD_EXEC)
        except OSError as e:
            if e.errno != 22:  # EINVAL: kernel without MFD_EXEC
                raise
    return os.memfd_create(name, flags)


def _sealed_init_copy() -> int:
    src = os.open(INIT_PATH, os.O_RDONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(src).st_size
        fd = _memfd("ocirt-init", exec_=True)
        try:
            off = 0
            while off < size:
                n = os.sendfile(fd, src, off, size - off)
                if n == 0:
                    raise InitError(f"copy {INIT_PATH}: file shrank while copying")
                off += n
            fcntl(fd, F_ADD_SEALS, _SEALS)
        except BaseException:
            os.close(fd)
            raise
    finally:
        os.close(src)
    return fd


def _sealed_data(name: str, data: bytes) -> int:
    fd = _memfd(name)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        fcntl(fd, F_ADD_SEALS, _SEALS)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _is_open(fd: int) -> bool:
    try:
        fcntl(fd, F_GETFD)
    except OSError:
        return False
    return True


def _write_map(pid: int, name: str, text: str) -> None:
    try:
        fd = os.open(f"/proc/{pid}/{name}", os.O_WRONLY | os.O_CLOEXEC)
    except OSError as e:
        raise InitError(f"open /proc/{pid}/{name}: {os.strerror(e.errno).lower()}") from None
    try:
        # the kernel wants the whole map in one write
        os.write(fd, text.encode())
    except OSError as e:
        raise InitError(f"write /proc/{pid}/{name}: {os.strerror(e.errno).lower()}") from None
    finally:
        os.close(fd)


def _kill_and_reap(pid: int) -> None:
    try:
        os.kill(pid, 9)
    except ProcessLookupError:
        pass
    try:
        os.waitpid(pid, 0)
    except ChildProcessError:
        pass


_ANC_SPACE = _socket.CMSG_SPACE(4 * 4)


def _recv(sock: _socket.socket) -> tuple[bytes, list[int]]:
    msg, anc, _flags, _addr = sock.recvmsg(65536, _ANC_SPACE, _socket.MSG_CMSG_CLOEXEC)
    fds: list[int] = []
    for level, kind, data in anc:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds.extend(int.from_bytes(data[i:i + 4], "little", signed=True)
                       for i in range(0, len(data) - len(data) % 4, 4))
    return msg, fds


def _drain_pid(sock: _socket.socket) -> int:
    sock.settimeout(5.0)
    try:
        while msg := sock.recv(65536):
            if int.from_bytes(msg[:4], "little") == MSG_PID:
                return int.from_bytes(msg[4:8], "little", signed=True)
    except OSError:
        pass
    return 0


def _queued_error(sock: _socket.socket) -> str | None:
    """The text of an ERROR the init already sent, without waiting for one."""
    sock.setblocking(False)
    try:
        while msg := sock.recv(65536):
            if int.from_bytes(msg[:4], "little") == MSG_ERROR:
                return msg[4:].decode(errors="replace")
    except OSError:
        pass
    return None


def _after_hooks(plan: Plan, timeout: float) -> float | None:
    """The new deadline once HOOKS_DONE is sent: the init runs createContainer hooks."""
    extra = 0
    for h in plan.create_container_hooks:
        if not h.timeout:
            return None
        extra += h.timeout
    return time.monotonic() + timeout + extra


def _exit_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"


def _spawn_in_cgroup(exe: int, argv: list[str], actions: list[tuple[int, int, int]],
                     cgroup_dir: str) -> tuple[int, bool]:
    """(pid, True) for an init started inside cgroup_dir; (0, False) where the kernel
    cannot do that (clone3 or CLONE_INTO_CGROUP missing: ENOSYS, E2BIG, EINVAL)."""
    import errno

    from ocirt import native

    cg = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return native.spawn_in_cgroup(exe, argv, [(a[1], a[2]) for a in actions], cg), True
    except OSError as e:
        if e.errno in (errno.ENOSYS, errno.E2BIG, errno.EINVAL):
            return 0, False
        raise InitError(f"start the container init: {e.strerror.lower()}") from None
    finally:
        os.close(cg)


class InitProcess:
    """The container's init, waiting on exec.fifo once start() returns."""

    def __init__(self, pid: int, seccomp_fd: int | None = None) -> None:
        self.pid = pid  # host pid of the container init (stage 2)
        # the seccomp notify listener when plan.seccomp_flags has NEW_LISTENER (1 << 3):
        # owned by the caller, who forwards it to linux.seccomp.listenerPath and closes it
        self.seccomp_fd = seccomp_fd

    def __repr__(self) -> str:
        return f"InitProcess(pid={self.pid})"

    @classmethod
    def start(cls, plan: Plan, *, state_dir: str, join_cgroup: Callable[[int], None],
              console_socket: str | int | None = None,
              timeout: float = DEFAULT_TIMEOUT,
              on_hooks: Callable[[int, int], bytes] | None = None,
              cgroup_targets: tuple[str | None, list[str]] | None = None,
              on_seccomp: Callable[[int, int], None] | None = None,
              on_namespaces: Callable[[int], None] | None = None) -> InitProcess:
        """Spawn the init for plan; return when it is ready, else raise InitError.

        join_cgroup(pid) is called with the first-stage pid before any namespace is
        created, so the cgroup namespace is rooted at the container's cgroup. On failure
        everything spawned is killed and reaped, also when the init has not reported
        within `timeout` seconds (counted from join_cgroup's return).

        With plan.hook_sync the init stops before pivot_root: on_hooks(host_pid,
        pid_inside) runs the prestart and createRuntime hooks (raising on failure) and
        returns the HOOKS_DONE payload (the createContainer and startContainer states,
        each NUL-terminated). The timeout counts again from its return, plus the
        createContainer hooks' timeouts (no limit when one of them has none).

        console_socket: the path of a unix socket to connect to, or the fd of an already
        connected one (the caller keeps it); the init sends the pty master there.

        cgroup_targets (the cgroup v2 directory or None, the v1 `tasks` files): the init
        is born in the v2 cgroup (clone3 CLONE_INTO_CGROUP) and moves itself into the v1
        ones, instead of join_cgroup moving it: a move by pid takes a global kernel lock
        that waits for an RCU grace period (milliseconds per start). join_cgroup is then
        called only where the kernel lacks CLONE_INTO_CGROUP.

        on_seccomp(listener_fd, container_pid) takes the seccomp notify listener (and
        closes it) as soon as the init sends it: without noNewPrivileges the filter is in
        force while the init still makes syscalls (setresuid, capset, ...), and one the
        profile traps waits for an agent, which must not wait for READY in turn.

        on_namespaces(host_pid) is called once, as soon as the container init exists: its
        namespaces are the container's then, and on_hooks has not run yet. For what the
        parent itself sets up inside them (linux.netDevices); the init does not wait.
        """
        from ocirt.native.wire import encode

        n = plan.preserve_fds
        # which of the caller's fds to hand on, decided before we open any of our own
        inherited = [fd for fd in range(3, 3 + n) if _is_open(fd)]
        base = 3 + n
        v2_dir, tasks = cgroup_targets if cgroup_targets is not None else (None, [])
        floor = base + _CONTROL_FDS + len(tasks)

        temp: list[int] = []
        sock = None
        console = None
        stage1 = 0
        container_pid = 0
        seccomp_fd = None
        seccomp_seen = False
        hooks_pid = 0  # HOOKS seen (the pid inside), waiting for the PID message
        try:
            exe = _sealed_init_copy()
            temp.append(exe)
            temp.append(_sealed_data("ocirt-plan", encode(plan)))
            sock, child = _socket.socketpair(
                _socket.AF_UNIX, _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC)
            temp.append(child.detach())
            temp.append(os.open(state_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC))
            if isinstance(console_socket, int):
                # a connected socket of the caller's own (ocirt's terminal relay): a copy
                console = _socket.socket(fileno=os.dup(console_socket))
            elif console_socket is not None:
                console = _socket.socket(_socket.AF_UNIX,
                                         _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
                try:
                    console.connect(console_socket)
                except OSError as e:
                    raise InitError(f"connect console socket {console_socket}: "
                                    f"{os.strerror(e.errno).lower()}") from None
            # Above every target slot, so no dup2 below clobbers another source (or the
            # memfd being executed).
            exe_hi = fcntl(exe, F_DUPFD_CLOEXEC, floor)
            temp.append(exe_hi)
            ctl = [temp[2], temp[1], temp[3], console.fileno() if console else -1]
            for path in tasks:
                try:
                    temp.append(os.open(path, os.O_WRONLY | os.O_CLOEXEC))
                except OSError as e:
                    raise InitError(f"join cgroup: open {path}: {e.strerror.lower()}") \
                        from None
                ctl.append(temp[-1])
            actions: list[tuple[int, int, int]] = [
                (os.POSIX_SPAWN_DUP2, fd, fd) for fd in inherited  # clears FD_CLOEXEC
            ]
            argv = ["ocirt-init"]
            for i, fd in enumerate(ctl):
                if fd < 0:
                    argv.append("-1")
                    continue
                hi = fcntl(fd, F_DUPFD_CLOEXEC, floor)
                temp.append(hi)
                actions.append((os.POSIX_SPAWN_DUP2, hi, base + i))
                argv.append(str(base + i))
            born_in_cgroup = False
            if v2_dir is not None:
                stage1, born_in_cgroup = _spawn_in_cgroup(exe_hi, argv, actions, v2_dir)
            if not stage1:
                stage1 = os.posix_spawn(f"/proc/self/fd/{exe_hi}", argv, {},
                                        file_actions=actions)
            # Only the init may hold the other end: EOF then means it died.
            for fd in temp:
                os.close(fd)
            temp.clear()
            if console is not None:
                console.close()
                console = None

            if cgroup_targets is None or v2_dir is not None and not born_in_cgroup:
                join_cgroup(stage1)
            deadline: float | None = time.monotonic() + timeout
            sock.send(MSG_GO.to_bytes(4, "little"))
            ready = False
            while not (ready and container_pid):
                if seccomp_fd is not None and container_pid and on_seccomp is not None:
                    fd, seccomp_fd = seccomp_fd, None
                    on_seccomp(fd, container_pid)
                if hooks_pid and container_pid:
                    if on_hooks is None:
                        raise InitError("container init asked for hooks nobody runs")
                    payload = on_hooks(container_pid, hooks_pid)
                    hooks_pid = 0
                    try:
                        sock.send(MSG_HOOKS_DONE.to_bytes(4, "little") + payload)
                    except OSError as e:  # EMSGSIZE: states past the socket buffer
                        raise InitError(f"send hook states to the container init: "
                                        f"{os.strerror(e.errno or 0).lower()}") from None
                    deadline = _after_hooks(plan, timeout)
                    continue
                # (never 0: that would make the socket non-blocking, not time out)
                sock.settimeout(None if deadline is None
                                else max(deadline - time.monotonic(), 0.001))
                try:
                    msg, fds = _recv(sock)
                except TimeoutError:
                    raise InitError(f"container init did not report within {timeout:g}s") \
                        from None
                if fds:
                    if len(fds) == 1 and msg[:4] == MSG_SECCOMP_FD.to_bytes(4, "little") \
                            and not seccomp_seen:
                        seccomp_fd, seccomp_seen = fds[0], True
                        continue
                    for fd in fds:
                        os.close(fd)
                    raise InitError("container init sent unexpected file descriptors")
                if not msg:
                    _, status = os.waitpid(stage1, 0)
                    stage1 = 0
                    raise InitError(f"container init exited before it was ready "
                                    f"({_exit_text(status)})")
                kind = int.from_bytes(msg[:4], "little")
                if kind == MSG_ERROR:
                    # Both stages exit right after an error; drain to learn the container
                    # init's pid (it may follow the error) so it gets reaped, not leaked.
                    if not container_pid:
                        container_pid = _drain_pid(sock)
                    raise InitError(msg[4:].decode(errors="replace"))
                if kind == MSG_PID:
                    container_pid = int.from_bytes(msg[4:8], "little", signed=True)
                    if on_namespaces is not None:
                        try:
                            on_namespaces(container_pid)
                        except Exception:
                            # an init that died first has its reason queued already
                            reason = _queued_error(sock)
                            if reason is not None:
                                raise InitError(reason) from None
                            raise
                elif kind == MSG_READY:
                    ready = True
                elif kind == MSG_HOOKS:
                    hooks_pid = int.from_bytes(msg[4:8], "little", signed=True) or -1
                elif kind == MSG_USERMAP_REQ:
                    if os.geteuid() != 0 and plan.gid_mappings:
                        # unprivileged writers must give up setgroups first
                        _write_map(stage1, "setgroups", "deny")
                    if plan.uid_mappings:
                        _write_map(stage1, "uid_map", plan.uid_mappings)
                    if plan.gid_mappings:
                        _write_map(stage1, "gid_map", plan.gid_mappings)
                    sock.send(MSG_USERMAP_ACK.to_bytes(4, "little"))
                else:
                    raise InitError(f"container init sent unknown message {kind}")
            if seccomp_fd is not None and on_seccomp is not None:
                fd, seccomp_fd = seccomp_fd, None
                on_seccomp(fd, container_pid)
            _, status = os.waitpid(stage1, 0)
            stage1 = 0
            if status != 0:
                raise InitError(f"container init stage 1 failed ({_exit_text(status)})")
            return cls(container_pid, seccomp_fd)
        except BaseException:
            if seccomp_fd is not None:
                os.close(seccomp_fd)
            if stage1:
                _kill_and_reap(stage1)
            if container_pid:
                _kill_and_reap(container_pid)
            raise
        finally:
            for fd in temp:
                os.close(fd)
            if console is not None:
                console.close()
            if sock is not None:
                sock.close()
