"""cgroup v2 driver: one directory in the unified hierarchy."""

from __future__ import annotations

import os

from ocirt.cgroups import CGROUP_ROOT, fs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class V2:
    driver = "v2"

    def __init__(self, path: str, directory: str, created: list[str] | None = None) -> None:
        self.path = path
        self.dir = directory
        self.created = created or []

    @property
    def dirs(self) -> dict[str, str]:
        return {"": self.dir}

    @classmethod
    def for_path(cls, path: str) -> V2:
        if not path.startswith("/"):
            with open("/proc/self/cgroup") as f:
                own = next(line.split(":", 2)[2].strip() for line in f
                           if line.startswith("0::"))
            path = os.path.join(own, path)
        return cls(path, os.path.join(CGROUP_ROOT, path.lstrip("/")))

    @classmethod
    def from_state(cls, saved: dict[str, Any]) -> V2:
        return cls(saved["path"], saved["dir"], saved.get("created", []))

    def to_state(self) -> dict[str, Any]:
        return {"driver": self.driver, "path": self.path, "dir": self.dir,
                "created": self.created}

    def create(self) -> None:
        self.created.extend(fs.makedirs(CGROUP_ROOT, os.path.relpath(self.dir, CGROUP_ROOT)))

    def add(self, pid: int) -> None:
        fs.write(os.path.join(self.dir, "cgroup.procs"), str(pid))

    def procs(self) -> list[int]:
        return fs.procs(self.dir)

    def destroy(self) -> None:
        fs.rmdir(self.dir)
        fs.remove_created([c for c in self.created if c != self.dir])
