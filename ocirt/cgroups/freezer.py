"""pause/resume: v1 freezer.state, v2 cgroup.freeze (waiting until the kernel reports the
whole cgroup frozen)."""

from __future__ import annotations

import os
import time

from ocirt.cgroups import fs
from ocirt.errors import OcirtError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _wait(check: Any, what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.001
    while not check():
        if time.monotonic() > deadline:
            raise OcirtError(f"timed out waiting for the cgroup to be {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


def freeze_v1(d: str) -> None:
    path = os.path.join(d, "freezer.state")

    def frozen() -> bool:
        state = fs.read(path).strip()
        if state == "FREEZING":
            fs.write(path, "FROZEN")  # a task in an uninterruptible sleep can stall it
        return state == "FROZEN"

    fs.write(path, "FROZEN")
    _wait(frozen, "frozen")


def thaw_v1(d: str) -> None:
    path = os.path.join(d, "freezer.state")
    fs.write(path, "THAWED")
    _wait(lambda: fs.read(path).strip() == "THAWED", "thawed")


def _events(d: str) -> dict[str, str]:
    out = {}
    for line in fs.read(os.path.join(d, "cgroup.events")).splitlines():
        k, _, v = line.partition(" ")
        out[k] = v
    return out


def freeze_v2(d: str) -> None:
    fs.write(os.path.join(d, "cgroup.freeze"), "1")
    _wait(lambda: _events(d).get("frozen") == "1", "frozen")


def thaw_v2(d: str) -> None:
    fs.write(os.path.join(d, "cgroup.freeze"), "0")
    _wait(lambda: _events(d).get("frozen") == "0", "thawed")
