"""The plan: everything the C init must do inside the new namespaces, as plain data.

Python (ocirt.plan) decides; this module only describes. ocirt.native.wire encodes a Plan
into the TLV byte stream that csrc/init reads, so no policy lives in C: every flag, path
and number below is final when it leaves Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Namespace:
    flag: int  # CLONE_NEW* value
    path: str | None = None  # join this namespace instead of creating one


@dataclass
class Mount:
    destination: str  # absolute path inside the container, resolved inside the rootfs by C
    source: str  # host path for binds (already absolute), else the fs source name
    fstype: str  # "" for binds
    flags: int  # MS_* applied by mount(2) (for binds: MS_BIND[|MS_REC] first, rest via remount)
    data: str = ""  # fs-specific options, comma separated
    propagation: list[int] = field(default_factory=list)  # MS_SHARED|MS_REC ... one call each
    attr_set: int = 0  # MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE) (rro, rnosuid ...)
    attr_clr: int = 0
    tmpcopyup: bool = False
    # idmapped mount: "inside outside count" lines for the user namespace built for it
    uid_map: str = ""
    gid_map: str = ""
    # where C must create a missing destination: True → a file, False → a directory
    dest_is_file: bool = False


@dataclass
class Device:
    path: str  # inside the container
    kind: str  # "c", "b", "u" or "p"
    major: int
    minor: int
    mode: int  # permission bits (0o666 ...)
    uid: int
    gid: int
    bind_from_host: bool = False  # a user namespace forbids mknod: bind the host node


@dataclass
class Rlimit:
    resource: int  # RLIMIT_* number
    soft: int
    hard: int


@dataclass
class Capabilities:
    bounding: int = 0  # bit masks, bit n == capability number n
    effective: int = 0
    permitted: int = 0
    inheritable: int = 0
    ambient: int = 0


@dataclass
class Plan:
    # namespaces, in the order C should handle them (user first)
    namespaces: list[Namespace] = field(default_factory=list)
    # "/proc/self/timens_offsets" content written after unshare(CLONE_NEWTIME)
    timens_offsets: str = ""
    # True when the parent must write uid_map/gid_map for a new user namespace
    new_userns: bool = False

    rootfs: str = ""  # absolute host path
    rootfs_readonly: bool = False
    rootfs_propagation: int = 0  # MS_* | MS_REC, 0 → MS_SLAVE|MS_REC like runc
    no_pivot: bool = False
    mounts: list[Mount] = field(default_factory=list)
    devices: list[Device] = field(default_factory=list)
    # (link path inside container, target) e.g. ("/dev/fd", "/proc/self/fd")
    symlinks: list[tuple[str, str]] = field(default_factory=list)
    masked_paths: list[str] = field(default_factory=list)
    readonly_paths: list[str] = field(default_factory=list)
    sysctl: list[tuple[str, str]] = field(default_factory=list)

    hostname: str | None = None
    domainname: str | None = None

    args: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    additional_gids: list[int] = field(default_factory=list)
    umask: int | None = None
    rlimits: list[Rlimit] = field(default_factory=list)
    capabilities: Capabilities | None = None  # None: leave the process's capabilities alone
    no_new_privileges: bool = False
    oom_score_adj: int | None = None
    terminal: bool = False
    console_width: int = 0
    console_height: int = 0

    preserve_fds: int = 0  # fds 3 .. 3+N-1 reach the container
    # raw BPF program (struct sock_filter array) compiled by Python; empty → no seccomp
    seccomp_bpf: bytes = b""
    seccomp_flags: int = 0
    # "inside outside count\n" lines that the parent writes to /proc/<pid>/uid_map and
    # gid_map when new_userns is True (added by the native layer, see csrc/README.md)
    uid_mappings: str = ""
    gid_mappings: str = ""
