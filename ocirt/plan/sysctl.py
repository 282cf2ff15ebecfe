"""linux.sysctl → Plan sysctl: only keys the container's own namespaces scope are allowed.

A key outside them would change the host for everyone, so, like runc, anything not in this
list is refused by name before anything runs (config-linux.md "Sysctl").
"""

from __future__ import annotations

import os

from ocirt.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# exact keys and prefixes (ending in "." or a name stem, as runc's validator) → namespace
IPC_KEYS = frozenset({"kernel.sem"})
IPC_PREFIXES = ("kernel.msg", "kernel.shm", "fs.mqueue.")
UTS_KEYS = frozenset({"kernel.hostname", "kernel.domainname"})


def _namespace_for(key: str) -> str | None:
    if key in IPC_KEYS or key.startswith(IPC_PREFIXES):
        return "ipc"
    if key in UTS_KEYS:
        return "uts"
    if key.startswith("net."):
        return "network"
    return None


def _is_host_netns(path: str) -> bool:
    try:
        theirs, ours = os.stat(path), os.stat("/proc/self/ns/net")
    except OSError:
        return False
    return (theirs.st_dev, theirs.st_ino) == (ours.st_dev, ours.st_ino)


def plan_sysctl(sysctl: dict[str, Any] | None, ns: dict[str, str | None]
                ) -> list[tuple[str, str]]:
    """Validated (key, value) pairs in a stable order; ns is type → joined path or None."""
    out = []
    for key, value in sorted((sysctl or {}).items()):
        where = f"linux.sysctl[{key!r}]"
        parts = key.replace("/", ".").split(".")
        # the key becomes a path under /proc/sys: no empty, "." or ".." components
        if not key or "/" in key or any(p in ("", ".", "..") for p in parts):
            raise ConfigError(where, f"{key!r} is not a sysctl name")
        kind = _namespace_for(key)
        if kind is None:
            raise ConfigError(where, f"sysctl {key!r} is not in a namespace the container "
                              "can own (only kernel.msg*, kernel.sem, kernel.shm*, "
                              "fs.mqueue.*, net.*, kernel.hostname, kernel.domainname)")
        if kind not in ns:
            raise ConfigError(where, f"sysctl {key!r} needs a {kind} namespace")
        if kind == "network" and ns[kind] is not None and _is_host_netns(str(ns[kind])):
            raise ConfigError(where, f"sysctl {key!r} would change the host's network "
                              "namespace (joined by path)")
        out.append((key, str(value)))
    return out
