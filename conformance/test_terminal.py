"""process.terminal (config.md "Process" terminal) through runc's `--console-socket`: the
runtime allocates a pty, and sends the master fd over the AF_UNIX socket with SCM_RIGHTS."""

from __future__ import annotations

import os
import select
import socket
import time
from collections.abc import Iterator

import pytest

from conformance.conftest import BundleFactory
from conformance.runtime import Runtime
from ocirt.testing.console import accept_fd


@pytest.fixture
def console_socket(test_dir: str) -> Iterator[tuple[str, socket.socket]]:
    path = os.path.join(test_dir, "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(10)
    try:
        yield path, srv
    finally:
        srv.close()


def _read_until(fd: int, needle: bytes, timeout: float = 10) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO once the slave side is closed
                break
            if not chunk:
                break
            buf += chunk
    return buf


def test_terminal_via_console_socket(rt: Runtime, bundle: BundleFactory,
                                     console_socket: tuple[str, socket.socket]) -> None:
    """config.md "Process" terminal true: the process's stdio is a terminal; runc CLI
    `create --console-socket` hands the pty master to the caller."""
    path, srv = console_socket
    b = bundle(["sh", "-c", "tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-tty; "
                            "read line; echo got:$line; echo done-marker"])
    b.process["terminal"] = True
    b.write()
    rt.create(b.id, b.path, "--console-socket", path)
    master = accept_fd(srv)
    try:
        rt.start(b.id)
        os.write(master, b"hello\n")
        out = _read_until(master, b"done-marker")
    finally:
        os.close(master)
    text = out.decode(errors="replace").replace("\r", "")
    assert "stdio-is-tty" in text
    assert "/dev/pts/" in text or "/dev/console" in text
    assert "got:hello" in text
    assert rt.wait_status(b.id, "stopped") == "stopped"


def test_terminal_without_console_socket_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """runc CLI: a detached container with terminal true needs --console-socket; create
    fails and leaves nothing."""
    b = bundle(["true"])
    b.process["terminal"] = True
    b.write()
    assert rt.create(b.id, b.path, check=False).returncode != 0
    assert rt.status(b.id) is None
