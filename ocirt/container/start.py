"""`start`: open the exec fifo so the waiting init goes on to execve (runtime.md "start")."""

from __future__ import annotations

import os
import select

from ocirt.container import process
from ocirt.container.store import FIFO, ContainerDir
from ocirt.errors import ContainerError


def start(d: ContainerDir, pid: int, start_time: int | None) -> None:
    path = os.path.join(d.path, FIFO)
    # the pidfd first: opening the fifo releases the init, and a short-lived process may
    # have exited (a zombie) before a check made after the open
    pfd = process.pidfd(pid, start_time)
    if pfd is None:
        raise ContainerError("cannot start a container that has stopped")
    # non-blocking: if the init died, a blocking open would wait forever for a writer
    fifo = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        poller = select.poll()
        poller.register(fifo, select.POLLIN)
        poller.register(pfd, select.POLLIN)
        while True:
            events = dict(poller.poll())
            if events.get(fifo, 0) & select.POLLIN:
                if os.read(fifo, 1):
                    break
            if pfd in events or events.get(fifo, 0) & select.POLLHUP:
                raise ContainerError("container init exited before start")
    finally:
        os.close(fifo)
        os.close(pfd)
    os.unlink(path)
