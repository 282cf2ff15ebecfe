"""`start`: open the exec fifo so the waiting init goes on to execve (runtime.md "start").

The init answers on the fifo: "0" when it goes on to execve, or "1<error>" when a
startContainer hook failed (it exits then). After "0" the poststart hooks run; if one
fails the container is killed. Either failure is an error and leaves the container
stopped: `delete` then destroys it and runs the poststop hooks (runtime.md step 12-13).
"""

from __future__ import annotations

import _signal
import os
import select

from ocirt.container import process
from ocirt.container.store import FIFO, ContainerDir
from ocirt.errors import ContainerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _read_rest(fifo: int, poller: select.poll) -> bytes:
    """The rest of the init's error message: until EOF (it closes the fifo and exits)."""
    chunks = []
    while True:
        poller.poll(10_000)
        try:
            chunk = os.read(fifo, 65536)
        except BlockingIOError:
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def start(d: ContainerDir, pid: int, start_time: int | None,
          saved: dict[str, Any] | None = None) -> None:
    path = os.path.join(d.path, FIFO)
    # the pidfd first: opening the fifo releases the init, and a short-lived process may
    # have exited (a zombie) before a check made after the open
    pfd = process.pidfd(pid, start_time)
    if pfd is None:
        raise ContainerError("cannot start a container that has stopped")
    try:
        # non-blocking: if the init died, a blocking open would wait forever for a writer
        fifo = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        hook_error = b""
        try:
            poller = select.poll()
            poller.register(fifo, select.POLLIN)
            poller.register(pfd, select.POLLIN)
            while True:
                events = dict(poller.poll())
                if events.get(fifo, 0) & select.POLLIN:
                    first = os.read(fifo, 1)
                    if first == b"0":
                        break
                    if first == b"1":  # a startContainer hook failed
                        fifo_only = select.poll()
                        fifo_only.register(fifo, select.POLLIN)
                        hook_error = _read_rest(fifo, fifo_only) or b"startContainer hook failed"
                        break
                if pfd in events or events.get(fifo, 0) & select.POLLHUP:
                    raise ContainerError("container init exited before start")
        finally:
            os.close(fifo)
        os.unlink(path)
        if hook_error:
            from ocirt.hooks import HookError

            # the init exits right after its message: stopped once start returns
            _stop(pfd)
            raise HookError(hook_error.decode(errors="replace").strip())
        if saved is None:
            saved = d.load()
        cfg = saved.get("config") or {}
        if (cfg.get("hooks") or {}).get("poststart"):
            from ocirt import hooks

            try:
                hooks.run("poststart", hooks.of(cfg, "poststart"),
                          hooks.state(saved, "running", pid))
            except hooks.HookError:
                _stop(pfd)  # runtime.md step 9: stop the container; delete goes on at 12
                raise
    finally:
        os.close(pfd)


def _stop(pfd: int) -> None:
    """SIGKILL the init (through its pidfd) and wait until it has exited."""
    try:
        _signal.pidfd_send_signal(pfd, _signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait_exit(pfd, 10.0)
