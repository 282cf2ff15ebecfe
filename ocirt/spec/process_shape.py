"""The shape of config.json's `process` (config.md "Process", "POSIX process",
"Linux Process", "User")."""

from __future__ import annotations

from ocirt.spec.checks import (
    INT32,
    UINT32,
    UINT64,
    abs_path,
    array,
    boolean,
    cpu_list,
    enum,
    fail,
    integer,
    kind,
    obj,
    string,
    strings,
)
from ocirt.spec.rlimits import RLIMITS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def env_list(v: Any, path: str) -> None:
    """Entries of an environ(7)-style list are NAME=value."""
    if type(v) is not list:
        raise fail(path, f"must be an array, got {kind(v)}")
    for i, e in enumerate(v):
        if type(e) is not str:
            raise fail(f"{path}[{i}]", f"must be a string, got {kind(e)}")
        if "=" not in e:
            raise fail(f"{path}[{i}]", f"{e!r} is not of the form NAME=value")


def _rlimit_order(r: dict, path: str) -> None:
    # setrlimit(2) fails with EINVAL when soft > hard, so the limits could never match
    if r["soft"] > r["hard"]:
        raise fail(f"{path}.soft", f"{r['soft']} is above the hard limit {r['hard']}")


_rlimit = obj(
    {"type": enum(RLIMITS), "soft": UINT64, "hard": UINT64},
    required=("type", "soft", "hard"),
    rules=(_rlimit_order,),
)


def rlimit_list(v: Any, path: str) -> None:
    array(_rlimit)(v, path)
    seen: set[str] = set()
    for i, r in enumerate(v):
        # config.md "POSIX process": duplicated `type`s MUST be an error
        if r["type"] in seen:
            raise fail(f"{path}[{i}].type", f"duplicate rlimit {r['type']}")
        seen.add(r["type"])


# config.md "Linux Process": unknown capability names are a warning at apply time, so
# only the shape is checked here.
capabilities = obj({s: strings for s in
                    ("bounding", "effective", "inheritable", "permitted", "ambient")})

user = obj(
    {"uid": UINT32, "gid": UINT32, "umask": UINT32, "additionalGids": array(UINT32),
     "username": string},
    required=("uid", "gid"),
)

console_size = obj({"height": UINT64, "width": UINT64}, required=("height", "width"))

scheduler = obj(
    {
        "policy": enum(("SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO",
                        "SCHED_IDLE", "SCHED_DEADLINE")),
        "nice": INT32,
        "priority": INT32,
        "flags": array(enum((
            "SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN",
            "SCHED_FLAG_KEEP_POLICY", "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
            "SCHED_FLAG_UTIL_CLAMP_MAX"))),
        "runtime": UINT64,
        "deadline": UINT64,
        "period": UINT64,
    },
    required=("policy",),
)

io_priority = obj(
    {"class": enum(("IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE")),
     # ioprio_set(2) has 8 levels per class and refuses others
     "priority": integer(0, 7, "I/O priority level")},
    required=("class", "priority"),
)

exec_cpu_affinity = obj({"initial": cpu_list, "final": cpu_list})

process = obj(
    {
        "terminal": boolean,
        "consoleSize": console_size,
        "cwd": abs_path,
        "env": env_list,
        # non-Windows: at least one entry is REQUIRED
        "args": array(string, non_empty=True),
        "commandLine": string,
        "rlimits": rlimit_list,
        "apparmorProfile": string,
        "capabilities": capabilities,
        "noNewPrivileges": boolean,
        # the range /proc/<pid>/oom_score_adj accepts
        "oomScoreAdj": integer(-1000, 1000, "oom_score_adj"),
        "scheduler": scheduler,
        "selinuxLabel": string,
        "ioPriority": io_priority,
        "execCPUAffinity": exec_cpu_affinity,
        "user": user,
    },
    required=("cwd", "args"),
)
