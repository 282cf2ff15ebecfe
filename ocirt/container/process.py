"""Host-side checks on the container's init: alive, same process (not a reused pid), exit."""

from __future__ import annotations

import os
import select


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks (field 22 of /proc/<pid>/stat); None when it
    is gone or a zombie, because a zombie has finished running."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # comm may contain spaces and parentheses: fields after the last ')' are fixed
    fields = data[data.rindex(b")") + 2:].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[19])


def is_alive(pid: int, started: int | None) -> bool:
    return pid > 0 and started is not None and start_time(pid) == started


def pidfd(pid: int, started: int | None) -> int | None:
    """A pidfd for the init, or None when that process no longer runs.

    Signals go through the pidfd so that a pid recycled between our check and the signal is
    never hit: the start time is checked after the pidfd pins the process.
    """
    if pid <= 0:
        return None
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return None
    if start_time(pid) != started:
        os.close(fd)
        return None
    return fd


def wait_exit(fd: int, timeout: float) -> bool:
    """Wait for the process behind a pidfd to exit; True when it did within timeout."""
    p = select.poll()
    p.register(fd, select.POLLIN)
    return bool(p.poll(int(timeout * 1000)))
