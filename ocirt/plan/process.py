"""config `process` → the Plan's process attributes (config.md "Process")."""

from __future__ import annotations

import os

from ocirt import log
from ocirt.native.plan import Capabilities, Plan, Rlimit

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SETS = ("bounding", "effective", "permitted", "inheritable", "ambient")


def _bounding_of_self() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapBnd:"):
                return int(line.split()[1], 16)
    return 0


def plan_capabilities(caps: dict[str, Any]) -> Capabilities:
    """Names → masks. Per config.md, a name the kernel does not know, or one this runtime
    cannot grant (outside its own bounding set), is a warning, not a failure."""
    from ocirt.spec.caps import to_mask

    grantable = _bounding_of_self()
    out = Capabilities()
    warned: set[str] = set()
    for which in SETS:
        mask, unknown = to_mask(caps.get(which) or [])
        for name in unknown:
            if name not in warned:
                warned.add(name)
                log.warning(f"process.capabilities: unknown capability {name!r} ignored")
        missing = mask & ~grantable
        if missing:
            from ocirt.spec.caps import names_of

            for name in names_of(missing):
                if name not in warned:
                    warned.add(name)
                    log.warning(f"process.capabilities: {name} is not in ocirt's bounding set;"
                                " not granted")
        setattr(out, which, mask & grantable)
    return out


def plan_process(plan: Plan, proc: dict[str, Any]) -> None:
    from ocirt.spec.rlimits import RLIMITS

    plan.args = list(proc["args"])
    plan.env = list(proc.get("env") or [])
    plan.cwd = proc.get("cwd") or "/"
    user = proc.get("user") or {}
    plan.uid = user.get("uid", 0)
    plan.gid = user.get("gid", 0)
    plan.additional_gids = list(user.get("additionalGids") or [])
    plan.umask = user.get("umask")
    plan.rlimits = [Rlimit(RLIMITS[r["type"]], r["soft"], r["hard"])
                    for r in proc.get("rlimits") or []]
    if proc.get("capabilities") is not None:
        plan.capabilities = plan_capabilities(proc["capabilities"])
    plan.no_new_privileges = bool(proc.get("noNewPrivileges"))
    plan.oom_score_adj = proc.get("oomScoreAdj")
    plan.terminal = bool(proc.get("terminal"))
    size = proc.get("consoleSize") or {}
    plan.console_height = size.get("height", 0)
    plan.console_width = size.get("width", 0)


# -- process attributes set by the init, and linux.seccomp (issue 5) ------------------------

_SCHED_POLICIES = {"SCHED_OTHER": 0, "SCHED_FIFO": 1, "SCHED_RR": 2, "SCHED_BATCH": 3,
                   "SCHED_ISO": 4, "SCHED_IDLE": 5, "SCHED_DEADLINE": 6}
_SCHED_FLAGS = {"SCHED_FLAG_RESET_ON_FORK": 0x01, "SCHED_FLAG_RECLAIM": 0x02,
                "SCHED_FLAG_DL_OVERRUN": 0x04, "SCHED_FLAG_KEEP_POLICY": 0x08,
                "SCHED_FLAG_KEEP_PARAMS": 0x10, "SCHED_FLAG_UTIL_CLAMP_MIN": 0x20,
                "SCHED_FLAG_UTIL_CLAMP_MAX": 0x40}
_IOPRIO_CLASSES = {"IOPRIO_CLASS_RT": 1, "IOPRIO_CLASS_BE": 2, "IOPRIO_CLASS_IDLE": 3}
_PERSONAS = {"LINUX": 0x0000, "LINUX32": 0x0008}  # PER_LINUX, PER_LINUX32
_MPOL_MODES = {"MPOL_DEFAULT": 0, "MPOL_PREFERRED": 1, "MPOL_BIND": 2, "MPOL_INTERLEAVE": 3,
               "MPOL_LOCAL": 4, "MPOL_PREFERRED_MANY": 5, "MPOL_WEIGHTED_INTERLEAVE": 6}
_MPOL_FLAGS = {"MPOL_F_NUMA_BALANCING": 1 << 13, "MPOL_F_RELATIVE_NODES": 1 << 14,
               "MPOL_F_STATIC_NODES": 1 << 15}
APPARMOR_FS = "/sys/kernel/security/apparmor"
SELINUX_FS = "/sys/fs/selinux"
RESCTRL_FS = "/sys/fs/resctrl"


def sched_attr(s: dict[str, Any], where: str = "process.scheduler") -> bytes:
    """config → struct sched_attr (linux/sched/types.h, 56 bytes), checked as runc does."""
    from struct import pack

    from ocirt.errors import ConfigError

    policy = s["policy"]
    nice, prio = s.get("nice", 0), s.get("priority", 0)
    if not -20 <= nice <= 19:
        raise ConfigError(f"{where}.nice", f"{nice} is outside -20..19")
    if prio and policy not in ("SCHED_FIFO", "SCHED_RR"):
        raise ConfigError(f"{where}.priority", "only SCHED_FIFO and SCHED_RR take a priority")
    if policy in ("SCHED_FIFO", "SCHED_RR") and not 1 <= prio <= 99:
        raise ConfigError(f"{where}.priority", f"{policy} needs a priority in 1..99")
    dl = [s.get(k, 0) for k in ("runtime", "deadline", "period")]
    if any(dl) and policy != "SCHED_DEADLINE":
        raise ConfigError(where, "runtime, deadline and period are for SCHED_DEADLINE only")
    flags = 0
    for name in s.get("flags") or []:
        flags |= _SCHED_FLAGS[name]
    return pack("<IIQiIQQQII", 56, _SCHED_POLICIES[policy], flags, nice, prio, *dl, 0, 0)


def node_mask(text: str, where: str) -> bytes:
    """"0-3,7" → a bit mask as little-endian unsigned longs (cpu/node list syntax)."""
    from ocirt.errors import ConfigError

    mask = 0
    for part in text.split(","):
        lo, _, hi = part.strip().partition("-")
        try:
            a, b = int(lo), int(hi or lo)
        except ValueError:
            raise ConfigError(where, f"{text!r} is not a list like \"0-3,7\"") from None
        if a < 0 or b < a or b >= 4096:
            raise ConfigError(where, f"{text!r}: bad range {part!r}")
        for n in range(a, b + 1):
            mask |= 1 << n
    return mask.to_bytes((mask.bit_length() + 63) // 64 * 8, "little")


def _lsm(plan: Plan, proc: dict[str, Any]) -> None:
    from ocirt.errors import ConfigError

    profile, label = proc.get("apparmorProfile"), proc.get("selinuxLabel")
    if profile and label:
        raise ConfigError("process.selinuxLabel", "apparmorProfile and selinuxLabel exclude "
                          "each other (one LSM labels the process)")
    if profile:
        if not os.path.isdir(APPARMOR_FS):
            raise ConfigError("process.apparmorProfile", f"AppArmor is not enabled on this "
                              f"host (no {APPARMOR_FS}); cannot apply {profile!r}")
        plan.lsm_exec_path = "/proc/thread-self/attr/apparmor/exec" if os.path.isdir(
            "/proc/self/attr/apparmor") else "/proc/thread-self/attr/exec"
        plan.lsm_exec_label = f"exec {profile}"
    elif label:
        if not os.path.isdir(SELINUX_FS):
            raise ConfigError("process.selinuxLabel", f"SELinux is not enabled on this host "
                              f"(no {SELINUX_FS}); cannot apply {label!r}")
        plan.lsm_exec_path = "/proc/thread-self/attr/exec"
        plan.lsm_exec_label = label


def plan_attributes(plan: Plan, cfg: dict[str, Any]) -> None:
    """process.{scheduler,ioPriority,apparmorProfile,selinuxLabel} and linux.{seccomp,
    personality,memoryPolicy,intelRdt}: checked here, applied by the init.
    process.execCPUAffinity is for exec'd processes only (config.md: "not applicable to the
    container's init process")."""
    from ocirt.errors import ConfigError

    proc = cfg.get("process") or {}
    linux = cfg.get("linux") or {}
    if proc.get("scheduler") is not None:
        plan.sched_attr = sched_attr(proc["scheduler"])
    io = proc.get("ioPriority")
    if io is not None:
        plan.ioprio = _IOPRIO_CLASSES[io["class"]] << 13 | io["priority"]
    _lsm(plan, proc)
    pers = linux.get("personality")
    if pers is not None:
        plan.personality = _PERSONAS[pers["domain"]]
    mp = linux.get("memoryPolicy")
    if mp is not None:
        mode = _MPOL_MODES[mp["mode"]]
        for name in mp.get("flags") or []:
            mode |= _MPOL_FLAGS[name]
        plan.mempolicy_mode = mode
        if mp.get("nodes"):
            plan.mempolicy_nodes = node_mask(mp["nodes"], "linux.memoryPolicy.nodes")
    if linux.get("intelRdt") is not None:
        if not os.path.isdir(RESCTRL_FS + "/info"):
            raise ConfigError("linux.intelRdt", f"Intel RDT is not available on this host "
                              f"(no resctrl filesystem at {RESCTRL_FS})")
        raise ConfigError("linux.intelRdt", "not supported by ocirt")
    if linux.get("seccomp") is not None:
        from ocirt.seccomp import plan_seccomp

        plan_seccomp(plan, linux["seccomp"])
