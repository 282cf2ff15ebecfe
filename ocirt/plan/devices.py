"""Device nodes and /dev symlinks every container gets (config-linux.md "Default Devices")."""

from __future__ import annotations

import os

from ocirt.errors import ConfigError
from ocirt.native.plan import Device

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

DEFAULT_DEVICES = [
    ("/dev/null", 1, 3), ("/dev/zero", 1, 5), ("/dev/full", 1, 7),
    ("/dev/random", 1, 8), ("/dev/urandom", 1, 9), ("/dev/tty", 5, 0),
]
SYMLINKS = [("/dev/fd", "/proc/self/fd"), ("/dev/stdin", "/proc/self/fd/0"),
            ("/dev/stdout", "/proc/self/fd/1"), ("/dev/stderr", "/proc/self/fd/2"),
            ("/dev/ptmx", "pts/ptmx")]
_MODE = {"c": 0o020000, "u": 0o020000, "b": 0o060000, "p": 0o010000}


def plan_devices(cfg_devices: list[dict[str, Any]], in_userns: bool
                 ) -> tuple[list[Device], list[tuple[str, str]]]:
    """Defaults first, then linux.devices (a configured path replaces the default one)."""
    devices: dict[str, Device] = {}
    for path, major, minor in DEFAULT_DEVICES:
        devices[path] = Device(path, "c", major, minor, 0o666, 0, 0, in_userns)
    for i, d in enumerate(cfg_devices):
        kind = d["type"]
        mode = d.get("fileMode", 0o666)
        if mode & ~0o7777:
            raise ConfigError(f"linux.devices[{i}].fileMode", "only permission bits allowed")
        devices[d["path"]] = Device(d["path"], kind, d.get("major", 0), d.get("minor", 0),
                                    mode, d.get("uid", 0), d.get("gid", 0),
                                    in_userns and kind != "p")
    links = list(SYMLINKS)
    if os.path.exists("/proc/kcore"):
        links.append(("/dev/core", "/proc/kcore"))
    return list(devices.values()), links


def file_type_bits(kind: str) -> int:
    return _MODE[kind]
