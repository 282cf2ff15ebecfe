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
