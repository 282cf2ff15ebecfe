"""`start`: open the exec fifo so the waiting init goes on to execve (runtime.md "start")."""

from __future__ import annotations

import os
import select

from ocirt.container import process
from ocirt.container.store import FIFO, ContainerDir
from ocirt.errors import ContainerError


def start(d: ContainerDir, pid: int, start_time: int | None) -> None:
    path = os.path.join(d.path, FIFO)
    # non-blocking: if the init died, a blocking open would wait forever for a writer
    fifo = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    pfd = process.pidfd(pid, start_time)
    try:
        if pfd is None:
            raise ContainerError("cannot start a container that has stopped")
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
        if pfd is not None:
            os.close(pfd)
    os.unlink(path)
