"""Tear a container down: its processes, its cgroup, its state directory; then the poststop
hooks (runtime.md "Lifecycle" steps 12-13)."""

from __future__ import annotations

import _signal
import os
import time

from ocirt.container import process
from ocirt.container.store import ContainerDir

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _thaw(cg: Any) -> None:
    """A frozen task never handles SIGKILL: thaw before killing."""
    dirs = cg.dirs
    try:
        if "freezer" in dirs:
            with open(os.path.join(dirs["freezer"], "freezer.state"), "w") as f:
                f.write("THAWED")
        elif "" in dirs and os.path.exists(os.path.join(dirs[""], "cgroup.freeze")):
            with open(os.path.join(dirs[""], "cgroup.freeze"), "w") as f:
                f.write("0")
    except OSError:
        pass


def kill_all(cg: Any, timeout: float = 10.0) -> None:
    """SIGKILL everything left in the cgroup and wait until it is empty."""
    deadline = time.monotonic() + timeout
    while True:
        pids = cg.procs()
        if not pids or time.monotonic() > deadline:
            return
        for pid in pids:
            try:
                os.kill(pid, _signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.005)


def destroy(d: ContainerDir, saved: dict[str, Any], kill: bool) -> None:
    from ocirt import cgroups

    cg = cgroups.from_state(saved["cgroup"]) if saved.get("cgroup") else None
    if cg is not None:
        _thaw(cg)
    if kill:
        fd = process.pidfd(int(saved.get("pid", 0)), saved.get("start_time"))
        if fd is not None:
            try:
                _signal.pidfd_send_signal(fd, _signal.SIGKILL)
                process.wait_exit(fd, 10.0)
            except ProcessLookupError:
                pass
            finally:
                os.close(fd)
    if cg is not None:
        # without a pid namespace of its own the container's children outlive its init
        kill_all(cg)
        cg.destroy()
    d.remove()
    cfg = saved.get("config") or {}
    if (cfg.get("hooks") or {}).get("poststop"):
        from ocirt import hooks

        # runtime.md step 13: the container is gone; a failure is only a warning
        hooks.poststop(cfg, saved, int(saved.get("pid", 0)))
