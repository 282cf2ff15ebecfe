"""cgroup v1 driver: one directory per mounted hierarchy (and the cgroup2 one on hybrid hosts)."""

from __future__ import annotations

import os

from ocirt.cgroups import CGROUP_ROOT, fs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def hierarchies() -> dict[str, tuple[str, str]]:
    """name → (mount point, fs options): 'memory', 'cpu', 'systemd' (name=systemd), 'unified'.

    The name is the mount point's basename, which is what a container sees below its own
    /sys/fs/cgroup as well.
    """
    found: dict[str, tuple[str, str]] = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fstype, _source, superopts = right.split()[:3]
            mountpoint = left.split()[4]
            if fstype not in ("cgroup", "cgroup2") or not mountpoint.startswith(CGROUP_ROOT):
                continue
            if fstype == "cgroup2":
                found[os.path.basename(mountpoint)] = (mountpoint, "")
                continue
            ctrls = [o for o in superopts.split(",") if o not in ("rw", "ro")
                     and not o.startswith(("release_agent", "clone_children", "xattr"))]
            found[os.path.basename(mountpoint)] = (mountpoint, ",".join(ctrls))
    return found


def _own_cgroups() -> dict[str, str]:
    """controller list (as /proc/self/cgroup spells it) → this process's cgroup."""
    own: dict[str, str] = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            own[ctrls] = path
    return own


class V1:
    driver = "v1"

    def __init__(self, path: str, dirs: dict[str, str], created: list[str] | None = None):
        self.path = path
        self.dirs = dirs  # hierarchy name → absolute directory of the container's cgroup
        self.created = created or []

    @classmethod
    def for_path(cls, path: str) -> V1:
        own = _own_cgroups() if not path.startswith("/") else {}
        dirs = {}
        for name, (mountpoint, ctrls) in hierarchies().items():
            rel = path
            if not path.startswith("/"):
                rel = os.path.join(own.get(ctrls, "/"), path)
            dirs[name] = os.path.join(mountpoint, rel.lstrip("/"))
        return cls(path, dirs)

    @classmethod
    def from_state(cls, saved: dict[str, Any]) -> V1:
        return cls(saved["path"], saved["dirs"], saved.get("created", []))

    def to_state(self) -> dict[str, Any]:
        return {"driver": self.driver, "path": self.path, "dirs": self.dirs,
                "created": self.created}

    @property
    def controllers(self) -> dict[str, str]:
        """controller → directory ("cpu,cpuacct" mounts serve both; hybrid's cgroup2
        'unified' and name=systemd hold none)."""
        out: dict[str, str] = {}
        for name, d in self.dirs.items():
            for ctrl in name.split(","):
                if ctrl not in ("unified", "systemd"):
                    out[ctrl] = d
        return out

    def create(self, resources: dict[str, Any] | None = None) -> None:
        """Make the directories, then apply linux.resources (before any task joins)."""
        self._mkdirs()
        if resources:
            self.set(resources)

    def set(self, resources: dict[str, Any], update: bool = False) -> None:
        from ocirt import log
        from ocirt.cgroups import resources_v1

        cpu = resources.get("cpu") or {}
        if cpu.get("realtimeRuntime") and "cpu" in self.controllers:
            self._rt_budget_in_parents(cpu["realtimeRuntime"], cpu.get("realtimePeriod"))
        resources_v1.apply(self.controllers, resources, log.warning, update)

    def _rt_budget_in_parents(self, runtime: int, period: int | None) -> None:
        """A new cpu cgroup has no realtime budget, so a child cannot get any: give the
        parents ocirt created (never others) at least the share the container asks for."""
        d = self.controllers["cpu"]
        mine = [p for p in self.created if p != d and d.startswith(p + "/")]
        for parent in mine:
            own = int(fs.read(os.path.join(parent, "cpu.rt_period_us")))
            need = -(-runtime * own // (period or own))
            if int(fs.read(os.path.join(parent, "cpu.rt_runtime_us"))) < need:
                try:
                    fs.write(os.path.join(parent, "cpu.rt_runtime_us"), str(need))
                except OSError:
                    return  # the host's own parent lacks the budget: the write below says so

    def _mkdirs(self) -> None:
        for name, d in self.dirs.items():
            root = os.path.join(CGROUP_ROOT, name)
            new = fs.makedirs(root, os.path.relpath(d, root))
            self.created.extend(new)
            if name == "cpuset":
                # a new cpuset starts empty and refuses tasks until it has cpus and mems
                for sub in new:
                    parent = os.path.dirname(sub)
                    for key in ("cpuset.cpus", "cpuset.mems"):
                        fs.write(os.path.join(sub, key), fs.read(os.path.join(parent, key)))

    def spawn_targets(self) -> tuple[str | None, list[str]]:
        """Where a new init goes (see InitProcess.start): born in the cgroup2 directory
        of a hybrid host, moving itself through each v1 hierarchy's `tasks` file."""
        v2 = self.dirs.get("unified")
        return v2, [os.path.join(d, "tasks") for name, d in self.dirs.items()
                    if name != "unified"]

    def add(self, pid: int) -> None:
        for d in self.dirs.values():
            fs.write(os.path.join(d, "cgroup.procs"), str(pid))

    def procs(self) -> list[int]:
        for name in ("pids", "freezer", "memory"):
            if name in self.dirs:
                return fs.procs(self.dirs[name])
        return fs.procs(next(iter(self.dirs.values()))) if self.dirs else []

    def freeze(self) -> None:
        from ocirt.cgroups import freezer

        freezer.freeze_v1(self._need("freezer"))

    def thaw(self) -> None:
        from ocirt.cgroups import freezer

        freezer.thaw_v1(self._need("freezer"))

    def _need(self, ctrl: str) -> str:
        d = self.controllers.get(ctrl)
        if d is None:
            from ocirt.errors import OcirtError

            raise OcirtError(f"no {ctrl} cgroup controller on this host")
        return d

    def stats(self) -> dict[str, Any]:
        from ocirt.cgroups import stats

        return stats.v1(self.controllers)

    def oom_kills(self) -> int:
        from ocirt.cgroups import stats

        d = self.controllers.get("memory")
        return stats.flat_keys(os.path.join(d, "memory.oom_control")).get("oom_kill", 0) \
            if d else 0

    def destroy(self) -> None:
        for d in self.dirs.values():
            fs.rmdir(d)
        fs.remove_created([c for c in self.created if c not in self.dirs.values()])
        fs.remove_default_parent(self.path, list(self.dirs.values()))
