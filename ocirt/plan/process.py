"""config `process` → the Plan's process attributes (config.md "Process")."""

from __future__ import annotations

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
