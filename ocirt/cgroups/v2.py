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

    def create(self, resources: dict[str, Any] | None = None) -> None:
        """Make the directory with every available controller enabled down to it, then
        apply linux.resources (before any task joins)."""
        rel = os.path.relpath(self.dir, CGROUP_ROOT)
        self.created.extend(fs.makedirs(CGROUP_ROOT, rel))
        self._enable_controllers(rel)
        if resources:
            self.set(resources)

    def _enable_controllers(self, rel: str) -> None:
        # each ancestor must delegate a controller for the next level to have it (runc's
        # CreateCgroupPath); already enabled ones are not rewritten
        parent = CGROUP_ROOT
        for part in rel.split("/"):
            have = set(fs.read(os.path.join(parent, "cgroup.controllers")).split())
            on = set(fs.read(os.path.join(parent, "cgroup.subtree_control")).split())
            for ctrl in sorted(have - on):
                try:
                    fs.write(os.path.join(parent, "cgroup.subtree_control"), f"+{ctrl}")
                except OSError:
                    pass  # e.g. cpu while a realtime task sits at the root: go without it
            parent = os.path.join(parent, part)

    def set(self, resources: dict[str, Any], update: bool = False) -> None:
        from ocirt import log
        from ocirt.cgroups import resources_v2

        resources_v2.apply(self.dir, resources, log.warning, update)
        if "devices" in resources:
            from ocirt.cgroups import devices
            from ocirt.cgroups.bpf import attach_device_filter

            state = devices.reduce(devices.from_config(resources["devices"]))
            attach_device_filter(self.dir, devices.bpf_program(state))

    def freeze(self) -> None:
        from ocirt.cgroups import freezer

        freezer.freeze_v2(self.dir)

    def thaw(self) -> None:
        from ocirt.cgroups import freezer

        freezer.thaw_v2(self.dir)

    def stats(self) -> dict[str, Any]:
        from ocirt.cgroups import stats

        return stats.v2(self.dir)

    def oom_kills(self) -> int:
        from ocirt.cgroups import stats

        return stats.flat_keys(os.path.join(self.dir, "memory.events")).get("oom_kill", 0)

    def spawn_targets(self) -> tuple[str | None, list[str]]:
        """Where a new init goes (see InitProcess.start): born in the cgroup."""
        return self.dir, []

    def add(self, pid: int) -> None:
        fs.write(os.path.join(self.dir, "cgroup.procs"), str(pid))

    def procs(self) -> list[int]:
        return fs.procs(self.dir)

    def destroy(self) -> None:
        fs.rmdir(self.dir)
        fs.remove_created([c for c in self.created if c != self.dir])
        fs.remove_default_parent(self.path, [self.dir])
