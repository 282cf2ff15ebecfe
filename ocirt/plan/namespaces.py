"""linux.namespaces → clone flags, joined paths and the checks runc makes before starting."""

from __future__ import annotations

import os

from ocirt.errors import ConfigError
from ocirt.native.plan import Namespace

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FLAGS = {
    "mount": 0x00020000, "cgroup": 0x02000000, "uts": 0x04000000, "ipc": 0x08000000,
    "user": 0x10000000, "pid": 0x20000000, "network": 0x40000000, "time": 0x00000080,
}
# user first: joining or creating it first gives the rights over the others it owns
ORDER = ["user", "mount", "cgroup", "uts", "ipc", "pid", "network", "time"]


def plan_namespaces(entries: list[dict[str, Any]]) -> tuple[list[Namespace], dict[str, Any]]:
    """Returns the namespaces in handling order, and by type (type → path or None)."""
    by_type: dict[str, Any] = {}
    for i, ns in enumerate(entries):
        kind = ns["type"]
        if kind not in FLAGS:
            raise ConfigError(f"linux.namespaces[{i}].type", f"unknown namespace {kind!r}")
        if kind in by_type:
            raise ConfigError(f"linux.namespaces[{i}].type", f"duplicate namespace {kind!r}")
        path = ns.get("path") or None
        if path is not None:
            if not os.path.exists(path):
                raise ConfigError(f"linux.namespaces[{i}].path",
                                  f"{path}: no such file or directory")
        by_type[kind] = path
    out = [Namespace(FLAGS[k], by_type[k]) for k in ORDER if k in by_type]
    return out, by_type


def check_net_devices(devices: dict[str, Any], ns: dict[str, Any]) -> None:
    """linux.netDevices needs a network namespace that is not ocirt's own, and distinct
    names inside it ("%d" templates excepted: the kernel makes those unique)."""
    if "network" not in ns:
        raise ConfigError("linux.netDevices", "moving network devices needs a network "
                          "namespace of the container's own (new, or joined by path)")
    path = ns["network"]
    if path is not None:
        st, own = os.stat(path), os.stat("/proc/thread-self/ns/net")
        if (st.st_dev, st.st_ino) == (own.st_dev, own.st_ino):
            raise ConfigError("linux.netDevices", f"the network namespace {path} is ocirt's "
                              "own: devices can only move into one of the container's")
    owner: dict[str, str] = {}
    for key, entry in devices.items():
        name = (entry or {}).get("name") or key
        if "%d" in name:
            continue
        if name in owner:
            raise ConfigError(f"linux.netDevices.{key}", f"the name {name!r} is also "
                              f"given to linux.netDevices.{owner[name]}")
        owner[name] = key
