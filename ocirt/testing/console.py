"""The receiving end of runc's console-socket protocol, for tests and harnesses."""

from __future__ import annotations

import array
import socket


def recv_fd(conn: socket.socket) -> tuple[bytes, int]:
    """Read one message from a connected socket: (its data, the one fd it carried)."""
    fds = array.array("i")
    data, anc, _, _ = conn.recvmsg(4096, socket.CMSG_SPACE(fds.itemsize))
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    if len(fds) != 1:
        raise AssertionError(f"expected exactly one fd on the console socket, got {len(fds)}")
    return data, fds[0]


def accept_fd(server: socket.socket) -> int:
    """Accept one connection on a listening console socket and return the pty master."""
    conn, _ = server.accept()
    with conn:
        return recv_fd(conn)[1]



def run_in_pty(argv: list[str], rows: int = 31, cols: int = 97, timeout: float = 60,
               env: dict[str, str] | None = None) -> tuple[int, bytes]:
    """Run argv with a new pty of rows x cols as its controlling terminal and stdio, as a
    user's shell would: (its exit code, everything it wrote to the terminal)."""
    import fcntl
    import os
    import pty
    import select
    import struct
    import termios
    import time

    pid, master = pty.fork()
    if pid == 0:  # pragma: no cover - the child only execs
        try:
            os.execvpe(argv[0], argv, env if env is not None else os.environ)
        finally:
            os._exit(127)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    out = bytearray()
    status: int | None = None
    deadline = time.monotonic() + timeout
    try:
        while True:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the last slave fd is closed
                    break
                if not chunk:
                    break
                out += chunk
                continue
            # nothing buffered: a daemon the command left behind may hold the slave open,
            # so the command's own exit ends the session
            if status is not None:
                break
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status = st
            elif time.monotonic() > deadline:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                raise TimeoutError(f"{argv} still running after {timeout}s: {bytes(out)!r}")
    finally:
        os.close(master)
    if status is None:
        status = os.waitpid(pid, 0)[1]
    return os.waitstatus_to_exitcode(status), bytes(out)
