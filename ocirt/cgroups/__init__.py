"""cgroups: one interface, a driver per host layout (v2 unified, v1 and hybrid).

The driver is picked from what the host mounts at /sys/fs/cgroup, never by remounting it.
`linux.cgroupsPath`: absolute paths are taken from each hierarchy's root, relative ones
from ocirt's own cgroup there, and an unset path means /ocirt/<container id>.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

CGROUP_ROOT = "/sys/fs/cgroup"
DEFAULT_PARENT = "/ocirt"


def is_unified() -> bool:
    return os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers"))


def resolve_path(cgroups_path: str | None, container_id: str) -> str:
    """The cgroup path the config asks for, cleaned so it can never climb above its root."""
    if not cgroups_path:
        return f"{DEFAULT_PARENT}/{container_id}"
    if ":" in cgroups_path and not cgroups_path.startswith("/"):
        from ocirt.errors import ConfigError

        raise ConfigError("linux.cgroupsPath", f"{cgroups_path!r} is a systemd slice path; "
                          "the systemd cgroup driver is not supported yet")
    absolute = cgroups_path.startswith("/")
    parts: list[str] = []
    for part in cgroups_path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts:
                parts.pop()
            continue
        parts.append(part)
    return ("/" if absolute else "") + "/".join(parts)


def for_container(cgroups_path: str | None, container_id: str) -> Any:
    """A driver object for the container's cgroup (not created yet)."""
    path = resolve_path(cgroups_path, container_id)
    if is_unified():
        from ocirt.cgroups.v2 import V2

        return V2.for_path(path)
    from ocirt.cgroups.v1 import V1

    return V1.for_path(path)


def from_state(saved: dict[str, Any]) -> Any:
    """The driver of an existing container, from what create saved."""
    if saved.get("driver") == "v2":
        from ocirt.cgroups.v2 import V2

        return V2.from_state(saved)
    from ocirt.cgroups.v1 import V1

    return V1.from_state(saved)
