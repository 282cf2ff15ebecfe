"""Device rules: linux.resources.devices + runc's default allow list, reduced the way the
v1 devices cgroup (and runc's emulator) does, then written as v1 devices.allow/deny lines
or compiled into a BPF_PROG_TYPE_CGROUP_DEVICE program for v2.

Semantics (runc's): rules apply in order onto a state "default allow or deny + a list of
exceptions"; a rule of type `a` resets the state to its allow/deny with no exceptions; a
rule whose allow equals the default removes the matching exception's access bits; any
other rule adds an exception. The initial state is deny-all. The default allow list is
appended after the config's rules, so the standard devices stay usable.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

WILDCARD = -1

# runc's AllowedDevices (libcontainer/specconv): mknod of anything, the standard devices
DEFAULT_ALLOW: list[tuple[str, int, int, str]] = [
    ("c", WILDCARD, WILDCARD, "m"),
    ("b", WILDCARD, WILDCARD, "m"),
    ("c", 1, 3, "rwm"),    # /dev/null
    ("c", 1, 8, "rwm"),    # /dev/random
    ("c", 1, 7, "rwm"),    # /dev/full
    ("c", 5, 0, "rwm"),    # /dev/tty
    ("c", 1, 5, "rwm"),    # /dev/zero
    ("c", 1, 9, "rwm"),    # /dev/urandom
    ("c", 5, 1, "rwm"),    # /dev/console
    ("c", 136, WILDCARD, "rwm"),  # /dev/pts/*
    ("c", 5, 2, "rwm"),    # /dev/ptmx
]


class Rule:
    __slots__ = ("type", "major", "minor", "access", "allow")

    def __init__(self, type: str, major: int, minor: int, access: str, allow: bool) -> None:
        self.type = type
        self.major = major
        self.minor = minor
        self.access = "".join(c for c in "rwm" if c in access)
        self.allow = allow

    def key(self) -> tuple[str, int, int]:
        return (self.type, self.major, self.minor)

    def v1_line(self) -> str:
        def num(n: int) -> str:
            return "*" if n == WILDCARD else str(n)
        return f"{self.type} {num(self.major)}:{num(self.minor)} {self.access}"

    def __repr__(self) -> str:
        return f"Rule({'allow' if self.allow else 'deny'} {self.v1_line()})"


def from_config(devices: list[dict[str, Any]] | None) -> list[Rule]:
    """The config's rules then the default allow list."""
    rules = []
    for d in devices or []:
        major = d.get("major")
        minor = d.get("minor")
        rules.append(Rule(d.get("type") or "a",
                          WILDCARD if major is None or major < 0 else major,
                          WILDCARD if minor is None or minor < 0 else minor,
                          d.get("access") or "rwm", bool(d.get("allow"))))
    rules += [Rule(t, ma, mi, acc, True) for t, ma, mi, acc in DEFAULT_ALLOW]
    return rules


class State:
    """A default plus exceptions (opposite to the default), as the v1 cgroup keeps them."""

    def __init__(self) -> None:
        self.default_allow = False
        self.exceptions: list[Rule] = []

    def apply(self, rule: Rule, index: int = 0) -> None:
        if rule.type == "a":
            self.default_allow = rule.allow
            self.exceptions = []
            return
        if rule.allow == self.default_allow:
            self._remove(rule, index)
        else:
            self._add(rule)

    def _add(self, rule: Rule) -> None:
        for e in self.exceptions:
            if e.key() == rule.key():
                e.access = "".join(c for c in "rwm" if c in e.access + rule.access)
                return
        self.exceptions.append(Rule(rule.type, rule.major, rule.minor, rule.access,
                                    not self.default_allow))

    def _remove(self, rule: Rule, index: int) -> None:
        kept = []
        for e in self.exceptions:
            if e.key() == rule.key():
                e.access = "".join(c for c in e.access if c not in rule.access)
                if e.access:
                    kept.append(e)
                continue
            wider = (e.type == rule.type and (e.major == WILDCARD or e.major == rule.major)
                     and (e.minor == WILDCARD or e.minor == rule.minor))
            if wider and set(rule.access) & set(e.access):
                from ocirt.errors import ConfigError

                raise ConfigError(f"linux.resources.devices[{index}]",
                                  f"{rule.v1_line()} cannot punch a hole in the wildcard "
                                  f"rule {e.v1_line()} (the v1 devices cgroup ignores it)")
            kept.append(e)
        self.exceptions = kept


def reduce(rules: list[Rule]) -> State:
    state = State()
    for i, r in enumerate(rules):
        state.apply(r, i)
    return state


def v1_writes(state: State, current: str | None = None) -> list[tuple[str, str]]:
    """(file, line) pairs that put a v1 devices cgroup in this state. With `current` (its
    devices.list) showing a deny-all cgroup and a deny-all target, only the differences
    are written, so a running container never loses its standard devices meanwhile."""
    if current is not None and not state.default_allow and "a *:* rwm" not in current:
        have = set(current.split("\n")) - {""}
        want = [e.v1_line() for e in state.exceptions]
        out = [("devices.deny", line) for line in sorted(have - set(want))]
        return out + [("devices.allow", line) for line in want if line not in have]
    if state.default_allow:
        out = [("devices.allow", "a")]
        out += [("devices.deny", e.v1_line()) for e in state.exceptions]
    else:
        out = [("devices.deny", "a")]
        out += [("devices.allow", e.v1_line()) for e in state.exceptions]
    return out


# -- BPF ---------------------------------------------------------------------------------
# struct bpf_cgroup_dev_ctx { __u32 access_type; /* (access << 16) | type */ __u32 major;
#                             __u32 minor; };
_DEVCG_TYPE = {"b": 1, "c": 2}
_DEVCG_ACC = {"m": 1, "r": 2, "w": 4}

_LDX_W = 0x61      # BPF_LDX | BPF_MEM | BPF_W
_AND32_K = 0x54    # BPF_ALU | BPF_AND | BPF_K
_RSH32_K = 0x74    # BPF_ALU | BPF_RSH | BPF_K
_MOV32_X = 0xBC    # BPF_ALU | BPF_MOV | BPF_X
_MOV64_K = 0xB7    # BPF_ALU64 | BPF_MOV | BPF_K
_JNE_K = 0x55      # BPF_JMP | BPF_JNE | BPF_K
_JNE_X = 0x5D      # BPF_JMP | BPF_JNE | BPF_X
_EXIT = 0x95       # BPF_JMP | BPF_EXIT


def _insn(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    import struct  # v2 only: the v1 create path does not pay for it

    return struct.pack("<BBhi", code, (src << 4) | dst, off, imm)


def bpf_program(state: State) -> bytes:
    """The program (raw struct bpf_insn array) deciding as `state` does: a block per
    exception that returns the opposite of the default when the device matches."""
    insns: list[bytes] = [
        _insn(_LDX_W, 2, 1, 0),       # r2 = ctx->access_type
        _insn(_AND32_K, 2, imm=0xFFFF),  # r2 = type
        _insn(_LDX_W, 3, 1, 0),       # r3 = ctx->access_type
        _insn(_RSH32_K, 3, imm=16),   # r3 = access
        _insn(_LDX_W, 4, 1, 4),       # r4 = major
        _insn(_LDX_W, 5, 1, 8),       # r5 = minor
    ]
    for e in state.exceptions:
        block: list[tuple[int, int, int, int]] = []  # (code, dst, src, imm); off = to next
        block.append((_JNE_K, 2, 0, _DEVCG_TYPE[e.type]))
        if e.access != "rwm":
            mask = sum(_DEVCG_ACC[c] for c in e.access)
            block += [(_MOV32_X, 1, 3, 0), (_AND32_K, 1, 0, mask), (_JNE_X, 1, 3, 0)]
        if e.major != WILDCARD:
            block.append((_JNE_K, 4, 0, e.major))
        if e.minor != WILDCARD:
            block.append((_JNE_K, 5, 0, e.minor))
        n = len(block) + 2  # then r0 = verdict; exit
        for i, (code, dst, src, imm) in enumerate(block):
            off = n - i - 1 if code in (_JNE_K, _JNE_X) else 0
            insns.append(_insn(code, dst, src, off, imm))
        insns.append(_insn(_MOV64_K, 0, imm=1 if e.allow else 0))
        insns.append(_insn(_EXIT))
    insns.append(_insn(_MOV64_K, 0, imm=1 if state.default_allow else 0))
    insns.append(_insn(_EXIT))
    return b"".join(insns)


def simulate(program: bytes, dev_type: str, major: int, minor: int, access: str) -> bool:
    """Run a program built by bpf_program on one access (for tests; a tiny interpreter of
    exactly the instructions above)."""
    import struct

    regs = [0] * 11
    ctx = [(sum(_DEVCG_ACC[c] for c in access) << 16) | _DEVCG_TYPE[dev_type], major, minor]
    pc = 0
    n = len(program) // 8
    while pc < n:
        code, regbits, off, imm = struct.unpack_from("<BBhi", program, pc * 8)
        dst, src = regbits & 0xF, regbits >> 4
        pc += 1
        if code == _LDX_W:
            regs[dst] = ctx[off // 4]
        elif code == _AND32_K:
            regs[dst] &= imm & 0xFFFFFFFF
        elif code == _RSH32_K:
            regs[dst] >>= imm
        elif code == _MOV32_X:
            regs[dst] = regs[src]
        elif code == _MOV64_K:
            regs[dst] = imm
        elif code == _JNE_K:
            if regs[dst] != imm:
                pc += off
        elif code == _JNE_X:
            if regs[dst] != regs[src]:
                pc += off
        elif code == _EXIT:
            return bool(regs[0])
        else:
            raise ValueError(f"unknown opcode {code:#x}")
    raise ValueError("program ran off its end")
