"""The plan: everything the C init must do inside the new namespaces, as plain data.

Python (ocirt.plan) decides; this module only describes. ocirt.native.wire encodes a Plan
into the TLV byte stream that csrc/init reads, so no policy lives in C: every flag, path
and number below is final when it leaves Python.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_LIST = object()  # default marker: a fresh empty list per instance


class Record:
    """A dataclass stand-in: `dataclasses` costs ~10 ms of imports on every create.

    Fields are the class's annotations, in order; a class attribute is the default
    (`_LIST` for a new list). Positional and keyword construction, ==, repr, as_dict().
    """

    _fields: tuple[str, ...] = ()

    def __init_subclass__(cls) -> None:
        cls._fields = tuple(cls.__dict__.get("__annotations__", {}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(self._fields):
            raise TypeError(f"{type(self).__name__}: too many arguments")
        values = dict(zip(self._fields, args, strict=False))
        for key, value in kwargs.items():
            if key not in self._fields or key in values:
                raise TypeError(f"{type(self).__name__}: bad argument {key!r}")
            values[key] = value
        for name in self._fields:
            if name in values:
                value = values[name]
            else:
                value = getattr(type(self), name, Record)
                if value is Record:
                    raise TypeError(f"{type(self).__name__}: missing argument {name!r}")
                if value is _LIST:
                    value = []
            setattr(self, name, value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Record) and type(other) is type(self) and \
            self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        args = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._fields)
        return f"{type(self).__name__}({args})"

    def as_dict(self) -> dict[str, Any]:
        def conv(v: Any) -> Any:
            if isinstance(v, Record):
                return v.as_dict()
            if isinstance(v, (list, tuple)):
                return type(v)(conv(x) for x in v)
            return v

        return {n: conv(getattr(self, n)) for n in self._fields}


class Namespace(Record):
    flag: int  # CLONE_NEW* value
    path: str | None = None  # join this namespace instead of creating one


class Mount(Record):
    destination: str  # absolute path inside the container, resolved inside the rootfs by C
    source: str  # host path for binds (already absolute), else the fs source name
    fstype: str  # "" for binds
    flags: int  # MS_* applied by mount(2) (for binds: MS_BIND[|MS_REC] first, rest via remount)
    data: str = ""  # fs-specific options, comma separated
    propagation: list[int] = _LIST  # type: ignore[assignment]  # MS_SHARED|MS_REC ... one call each
    attr_set: int = 0  # MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE) (rro, rnosuid ...)
    attr_clr: int = 0
    tmpcopyup: bool = False
    # idmapped mount: "inside outside count" lines for the user namespace built for it
    uid_map: str = ""
    gid_map: str = ""
    # where C must create a missing destination: True → a file, False → a directory
    dest_is_file: bool = False


class Device(Record):
    path: str  # inside the container
    kind: str  # "c", "b", "u" or "p"
    major: int
    minor: int
    mode: int  # permission bits (0o666 ...)
    uid: int
    gid: int
    bind_from_host: bool = False  # a user namespace forbids mknod: bind the host node


class Rlimit(Record):
    resource: int  # RLIMIT_* number
    soft: int
    hard: int


class Capabilities(Record):
    bounding: int = 0  # bit masks, bit n == capability number n
    effective: int = 0
    permitted: int = 0
    inheritable: int = 0
    ambient: int = 0


class Hook(Record):
    """An OCI hook the init runs itself (createContainer, startContainer): final argv/env."""

    path: str  # absolute; resolved where the init runs it
    args: list[str] = _LIST  # type: ignore[assignment]  # argv, argv[0] included
    env: list[str] = _LIST  # type: ignore[assignment]  # exactly the environment given
    timeout: int = 0  # seconds before SIGKILL (a failure); 0: none


class Plan(Record):
    # namespaces, in the order C should handle them (user first)
    namespaces: list[Namespace] = _LIST  # type: ignore[assignment]
    # "/proc/self/timens_offsets" content written after unshare(CLONE_NEWTIME)
    timens_offsets: str = ""
    # True when the parent must write uid_map/gid_map for a new user namespace
    new_userns: bool = False

    rootfs: str = ""  # absolute host path
    rootfs_readonly: bool = False
    rootfs_propagation: int = 0  # MS_* | MS_REC, 0 → MS_SLAVE|MS_REC like runc
    no_pivot: bool = False
    mounts: list[Mount] = _LIST  # type: ignore[assignment]
    devices: list[Device] = _LIST  # type: ignore[assignment]
    # (link path inside container, target) e.g. ("/dev/fd", "/proc/self/fd")
    symlinks: list[tuple[str, str]] = _LIST  # type: ignore[assignment]
    masked_paths: list[str] = _LIST  # type: ignore[assignment]
    readonly_paths: list[str] = _LIST  # type: ignore[assignment]
    sysctl: list[tuple[str, str]] = _LIST  # type: ignore[assignment]

    hostname: str | None = None
    domainname: str | None = None

    args: list[str] = _LIST  # type: ignore[assignment]
    env: list[str] = _LIST  # type: ignore[assignment]
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    additional_gids: list[int] = _LIST  # type: ignore[assignment]
    umask: int | None = None
    rlimits: list[Rlimit] = _LIST  # type: ignore[assignment]
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
    # join a new session keyring before anything else in the container (runc's default;
    # False for `--no-new-keyring`): the container never shares the caller's keyring
    new_keyring: bool = True
    # its name, "_ses.<container id>" like runc (so a later exec can join the same one);
    # "" → an anonymous "_ses" keyring
    keyring_name: str = ""
    # process attributes (issue 5), applied by csrc/init/process.c before the capabilities
    # drop: personality(2) persona (PER_LINUX 0, PER_LINUX32 8), None → leave alone
    personality: int | None = None
    # struct sched_attr for sched_setattr(2), packed by ocirt.plan.process; b"" → leave alone
    sched_attr: bytes = b""
    # ioprio_set(IOPRIO_WHO_PROCESS, 0, value): class << 13 | level; None → leave alone
    ioprio: int | None = None
    # set_mempolicy(2): mode | MPOL_F_* flags, and the node mask (unsigned longs, LE)
    mempolicy_mode: int | None = None
    mempolicy_nodes: bytes = b""
    # LSM label for the next execve: written to this /proc/thread-self/attr/... file
    # right before READY ("" → none); apparmor "exec <profile>" or an SELinux context
    lsm_exec_path: str = ""
    lsm_exec_label: str = ""
    # hooks (ocirt/hooks.py, csrc/README.md "Hooks"): with hook_sync the init stops after
    # the mounts, before pivot_root, sends HOOKS and waits for HOOKS_DONE (prestart and
    # createRuntime run in between), then runs create_container_hooks itself;
    # start_container_hooks run after exec.fifo opens, before execve
    hook_sync: bool = False
    create_container_hooks: list[Hook] = _LIST  # type: ignore[assignment]
    start_container_hooks: list[Hook] = _LIST  # type: ignore[assignment]
    # `exec` (issue 6): join every namespace given by path (the container's), no rootfs,
    # mount, device or hostname work and no exec.fifo: after the process attributes the
    # init sends READY and execs at once
    exec_mode: bool = False
