"""process.terminal: the pty master goes to the console socket, the slave is stdio."""

from __future__ import annotations

import os
import socket

from conftest import MS_NOEXEC, MS_NOSUID, default_plan

from ocirt.native.plan import Mount
from ocirt.testing.console import recv_fd


def _read_all(fd: int) -> bytes:
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO once the slave side is gone
            break
        if not chunk:
            break
        out += chunk
    return out


def test_terminal(runner, rootfs, workdir):
    path = os.path.join(workdir, "console.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    plan = default_plan(rootfs, ["/bin/sh", "-c", "tty; stty size; readlink /proc/self/fd/0; "
                                 "ls -l /dev/console | cut -c1"],
                        terminal=True, console_width=100, console_height=30)
    plan.mounts.append(Mount("/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
                             "newinstance,ptmxmode=0666,mode=0620"))
    plan.symlinks.append(("/dev/ptmx", "pts/ptmx"))
    try:
        init = runner.create(plan, console_socket=path)
        conn, _ = listener.accept()
        with conn:
            name, master = recv_fd(conn)
    finally:
        listener.close()
    try:
        assert name == b"/dev/ptmx"
        result = runner.start(init)
        out = _read_all(master).decode().replace("\r\n", "\n")
    finally:
        os.close(master)
    assert result.status == 0
    assert out.split("\n")[:4] == ["/dev/pts/0", "30 100", "/dev/pts/0", "c"], out
    assert result.output == ""  # nothing went to the original stdio
