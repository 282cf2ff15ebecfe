"""ocirt update [flags] ID: change a live container's cgroup limits (runc's flags).

`-r FILE` (or `-` for stdin) gives linux.resources as JSON; the flags override it. A flag
of 0 (or absent) leaves the value unchanged, as with runc. Memory sizes take units
(64m, 1g); -1 means unlimited.
"""

from __future__ import annotations

import sys

from ocirt.cli import Globals, need_id
from ocirt.cli.flags import Flag, UsageError, Values

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SYNOPSIS = "[command options] <container-id>"
FLAGS = [
    Flag(("resources", "r"), help="linux.resources JSON file, - for stdin"),
    Flag(("blkio-weight",), help="block IO weight, 10-1000"),
    Flag(("cpu-period",), help="CPU CFS period (µs)"),
    Flag(("cpu-quota",), help="CPU CFS quota (µs)"),
    Flag(("cpu-share", "cpu-shares"), help="CPU shares"),
    Flag(("cpu-rt-period",), help="CPU realtime period (µs)"),
    Flag(("cpu-rt-runtime",), help="CPU realtime runtime (µs)"),
    Flag(("cpu-idle",), help="cpu.idle (0 or 1)"),
    Flag(("cpuset-cpus",), help="CPUs to run on (0-3, 0,1)"),
    Flag(("cpuset-mems",), help="memory nodes (0-3, 0,1)"),
    Flag(("memory",), help="memory limit (bytes, or 64m/1g)"),
    Flag(("memory-reservation",), help="memory soft limit"),
    Flag(("memory-swap",), help="memory+swap limit, -1 unlimited"),
    Flag(("kernel-memory",), help="ignored (deprecated)"),
    Flag(("kernel-memory-tcp",), help="kernel TCP buffer limit"),
    Flag(("pids-limit",), help="maximum number of tasks, -1 unlimited"),
    Flag(("l3-cache-schema",), help="not supported"),
    Flag(("mem-bw-schema",), help="not supported"),
    Flag(("help", "h"), "bool"),
]

# flag → (section, key, parser)
_INT, _SIZE, _STR = "int", "size", "str"
_MAP = {
    "blkio_weight": ("blockIO", "weight", _INT),
    "cpu_period": ("cpu", "period", _INT),
    "cpu_quota": ("cpu", "quota", _INT),
    "cpu_share": ("cpu", "shares", _INT),
    "cpu_rt_period": ("cpu", "realtimePeriod", _INT),
    "cpu_rt_runtime": ("cpu", "realtimeRuntime", _INT),
    "cpu_idle": ("cpu", "idle", _INT),
    "cpuset_cpus": ("cpu", "cpus", _STR),
    "cpuset_mems": ("cpu", "mems", _STR),
    "memory": ("memory", "limit", _SIZE),
    "memory_reservation": ("memory", "reservation", _SIZE),
    "memory_swap": ("memory", "swap", _SIZE),
    "kernel_memory": ("memory", "kernel", _SIZE),
    "kernel_memory_tcp": ("memory", "kernelTCP", _SIZE),
    "pids_limit": ("pids", "limit", _INT),
}


def resources_from(opts: Values) -> dict[str, Any]:
    res: dict[str, Any] = {}
    if opts.resources:
        from ocirt import jsonio

        try:
            if opts.resources == "-":
                res = jsonio.loads(sys.stdin.read())
            else:
                with open(opts.resources, "rb") as f:
                    res = jsonio.loads(f.read())
        except OSError as e:
            raise UsageError(f"--resources: {opts.resources}: {e.strerror}") from None
        except ValueError as e:
            raise UsageError(f"--resources: {opts.resources}: invalid JSON: {e}") from None
        if type(res) is not dict:
            raise UsageError("--resources: must be a JSON object (linux.resources)")
    for flag in ("l3_cache_schema", "mem_bw_schema"):
        if flag in opts.set:
            raise UsageError(f"--{flag.replace('_', '-')}: Intel RDT is not supported")
    for dest, (section, key, kind) in _MAP.items():
        if dest not in opts.set:
            continue
        text = getattr(opts, dest)
        value: Any = text
        try:
            if kind == _INT:
                value = int(text, 10)
            elif kind == _SIZE:
                from ocirt.cgroups.convert import ram_in_bytes

                value = ram_in_bytes(text)
        except ValueError:
            raise UsageError(f"invalid value for --{dest.replace('_', '-')}: {text!r}"
                             ) from None
        if value in (0, ""):
            continue  # runc: zero leaves the current value
        res.setdefault(section, {})[key] = value
    from ocirt.spec.linux_shape import resources

    resources(res, "linux.resources")
    return res


def run(g: Globals, opts: Values, args: list[str]) -> int:
    from ocirt.container import Container

    cid = need_id(args, "update")
    res = resources_from(opts)
    Container.load(g.root, cid).update(res)
    return 0
