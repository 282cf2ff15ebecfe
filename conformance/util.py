"""Parsing what container processes print: /proc/self/status, mountinfo, capability masks."""

from __future__ import annotations

import os
from dataclasses import dataclass

# linux/capability.h numbers for the capabilities the tests use
CAP_NUMBERS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
    "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
    "CAP_NET_BIND_SERVICE": 10, "CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_SYS_CHROOT": 18,
    "CAP_SYS_ADMIN": 21, "CAP_MKNOD": 27, "CAP_AUDIT_WRITE": 29, "CAP_SETFCAP": 31,
}


def cap_mask(names: list[str]) -> int:
    mask = 0
    for name in names:
        mask |= 1 << CAP_NUMBERS[name]
    return mask


def parse_status(text: str) -> dict[str, str]:
    """/proc/PID/status as {field: value}."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


@dataclass
class MountInfo:
    mount_id: int
    mount_point: str
    options: set[str]  # per-mount options (ro, nosuid, ...)
    fstype: str
    source: str
    super_options: set[str]  # per-superblock options (size=..., mode=...)
    optional: list[str]  # propagation tags: shared:N, master:N, ...


def parse_mountinfo(text: str) -> list[MountInfo]:
    mounts = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        parts = left.split()
        fstype, source, super_opts = (right.split(" ", 2) + ["", ""])[:3]
        mounts.append(MountInfo(
            mount_id=int(parts[0]), mount_point=_unescape(parts[4]),
            options=set(parts[5].split(",")), fstype=fstype, source=source,
            super_options=set(super_opts.split(",")), optional=parts[6:]))
    return mounts


def find_mount(mounts: list[MountInfo], mount_point: str) -> MountInfo:
    """The topmost mount at mount_point (mountinfo lists later mounts after earlier ones)."""
    found = [m for m in mounts if m.mount_point == mount_point]
    assert found, f"{mount_point} is not a mount point: {[m.mount_point for m in mounts]}"
    return found[-1]


def _unescape(path: str) -> str:
    # mountinfo octal-escapes space, tab, newline and backslash
    return path.encode().decode("unicode_escape") if "\\" in path else path


def host_ns_inode(kind: str) -> str:
    """The `type:[inode]` link of the test process's own namespace of that kind."""
    return os.readlink(f"/proc/self/ns/{kind}")
