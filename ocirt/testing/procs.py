"""Process bookkeeping for harnesses that start containers.

A detached container's init is re-parented to the nearest subreaper when the runtime
exits; PID 1 of a test VM may never reap it. A harness makes itself the subreaper and
reaps, so no zombie outlives a test.
"""

from __future__ import annotations

import os

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap_children() -> None:
    """Collect every child that has exited, without waiting for the others."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def zombie_children(parent: int) -> list[int]:
    """The pids of parent's children that have exited and wait to be reaped."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # the fields after the parenthesised command name: state, ppid, ...
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] == "Z" and int(fields[1]) == parent:
            found.append(int(entry))
    return found
