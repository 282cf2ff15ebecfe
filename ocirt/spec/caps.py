"""Linux capability names and their bit numbers (linux/capability.h, up to kernel 5.9)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

# Index in this tuple == the kernel's capability number.
NAMES: tuple[str, ...] = (
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
    "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW",
    "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
    "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
)
NUMBERS: dict[str, int] = {name: n for n, name in enumerate(NAMES)}
LAST_CAP = len(NAMES) - 1


def to_mask(names: Iterable[str]) -> tuple[int, list[str]]:
    """(bit mask of the known names, the names this table does not know, in order)."""
    mask = 0
    unknown: list[str] = []
    for name in names:
        n = NUMBERS.get(name)
        if n is None:
            unknown.append(name)
        else:
            mask |= 1 << n
    return mask, unknown


def names_of(mask: int) -> list[str]:
    """The names of the bits set in mask, lowest first; bits past LAST_CAP are dropped."""
    return [name for n, name in enumerate(NAMES) if mask >> n & 1]
