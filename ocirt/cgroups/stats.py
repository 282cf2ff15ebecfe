"""Container statistics as runc's `events` prints them (runc's types.Stats JSON)."""

from __future__ import annotations

import os

from ocirt.cgroups import fs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MAX_U64 = 2**64 - 1
CLK_TCK = 100


def _read(d: str | None, name: str) -> str:
    if d is None:
        return ""
    try:
        return fs.read(os.path.join(d, name)).strip()
    except OSError:
        return ""


def _int(d: str | None, name: str) -> int:
    text = _read(d, name)
    if text == "max":
        return MAX_U64
    try:
        return int(text)
    except ValueError:
        return 0


def flat_keys(path: str) -> dict[str, int]:
    """A "key value" per line file (memory.stat, cpu.stat, memory.events, oom_control)."""
    out: dict[str, int] = {}
    try:
        text = fs.read(path)
    except OSError:
        return out
    for line in text.splitlines():
        k, _, v = line.partition(" ")
        try:
            out[k] = int(v)
        except ValueError:
            pass
    return out


def _omit(d: dict[str, Any], *keys: str) -> dict[str, Any]:
    """Go's omitempty for the named keys."""
    return {k: v for k, v in d.items() if k not in keys or v}


def _entry(limit: int, usage: int, peak: int, failcnt: int) -> dict[str, Any]:
    return _omit({"limit": limit, "usage": usage, "max": peak, "failcnt": failcnt},
                 "usage", "max")


def hugepage_sizes() -> list[str]:
    sizes = []
    try:
        names = os.listdir("/sys/kernel/mm/hugepages")
    except OSError:
        return sizes
    for name in names:
        kb = int(name.split("-")[1][:-2])
        for unit, div in (("GB", 1 << 20), ("MB", 1 << 10), ("KB", 1)):
            if kb % div == 0:
                sizes.append(f"{kb // div}{unit}")
                break
    return sorted(sizes)


def _cpuset(d: str | None, prefix: str) -> dict[str, Any]:
    def ranges(text: str) -> list[int]:
        out: list[int] = []
        for part in text.split(","):
            if "-" in part:
                a, b = part.split("-")
                out.extend(range(int(a), int(b) + 1))
            elif part:
                out.append(int(part))
        return out

    return _omit({"cpus": ranges(_read(d, f"{prefix}cpus")),
                  "mems": ranges(_read(d, f"{prefix}mems"))}, "cpus", "mems")


def _blkio_entries(text: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """v1 "maj:min Op value" lines → runc's BlkioEntry list."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 3 or ":" not in parts[0]:
            continue
        major, minor = parts[0].split(":")
        out.append(_omit({"major": int(major), "minor": int(minor), "op": parts[1],
                          "value": int(parts[2])}, "major", "minor", "op", "value"))
    return out, []


def v1(ctl: dict[str, str]) -> dict[str, Any]:
    cpu, acct, mem = ctl.get("cpu"), ctl.get("cpuacct"), ctl.get("memory")
    tick = 1_000_000_000 // CLK_TCK
    acct_stat = flat_keys(os.path.join(acct, "cpuacct.stat")) if acct else {}
    throttle = flat_keys(os.path.join(cpu, "cpu.stat")) if cpu else {}

    def percpu(name: str) -> list[int]:
        return [int(x) for x in _read(acct, name).split()]

    usage = _omit({"total": _int(acct, "cpuacct.usage"),
                   "percpu": percpu("cpuacct.usage_percpu"),
                   "percpu_kernel": percpu("cpuacct.usage_percpu_sys"),
                   "percpu_user": percpu("cpuacct.usage_percpu_user"),
                   "kernel": acct_stat.get("system", 0) * tick,
                   "user": acct_stat.get("user", 0) * tick},
                  "total", "percpu", "percpu_kernel", "percpu_user")
    raw = flat_keys(os.path.join(mem, "memory.stat")) if mem else {}

    def mentry(prefix: str) -> dict[str, Any]:
        return _entry(_int(mem, f"{prefix}.limit_in_bytes"),
                      _int(mem, f"{prefix}.usage_in_bytes"),
                      _int(mem, f"{prefix}.max_usage_in_bytes"), _int(mem, f"{prefix}.failcnt"))

    memory = _omit({"cache": raw.get("cache", 0), "usage": mentry("memory"),
                    "swap": mentry("memory.memsw"), "kernel": mentry("memory.kmem"),
                    "kernelTCP": mentry("memory.kmem.tcp"), "raw": raw}, "cache", "raw")
    blk = ctl.get("blkio")
    blkio: dict[str, Any] = {}
    for prefix in ("blkio.bfq.", "blkio.throttle."):
        served = _blkio_entries(_read(blk, prefix + "io_service_bytes_recursive"))[0]
        if served or prefix == "blkio.throttle.":
            blkio = _omit({"ioServiceBytesRecursive": served,
                           "ioServicedRecursive": _blkio_entries(
                               _read(blk, prefix + "io_serviced_recursive"))[0]},
                          "ioServiceBytesRecursive", "ioServicedRecursive")
            break
    huge = ctl.get("hugetlb")
    hugetlb = {}
    if huge:
        for size in hugepage_sizes():
            p = f"hugetlb.{size}."
            hugetlb[size] = _omit({"usage": _int(huge, p + "usage_in_bytes"),
                                   "max": _int(huge, p + "max_usage_in_bytes"),
                                   "failcnt": _int(huge, p + "failcnt")}, "usage", "max")
    pids = ctl.get("pids")
    return _stats(usage, throttle.get("nr_periods", 0), throttle.get("nr_throttled", 0),
                  throttle.get("throttled_time", 0), _cpuset(ctl.get("cpuset"), "cpuset."),
                  memory, _int(pids, "pids.current"), _int(pids, "pids.max"), blkio, hugetlb)


def _stats(usage: dict[str, Any], periods: int, throttled: int, throttled_ns: int,
           cpuset: dict[str, Any], memory: dict[str, Any], pids_current: int, pids_max: int,
           blkio: dict[str, Any], hugetlb: dict[str, Any]) -> dict[str, Any]:
    if pids_max == MAX_U64:
        pids_max = 0
    return {
        "cpu": {"usage": usage,
                "throttling": _omit({"periods": periods, "throttledPeriods": throttled,
                                     "throttledTime": throttled_ns},
                                    "periods", "throttledPeriods", "throttledTime")},
        "cpuset": cpuset,
        "memory": memory,
        "pids": _omit({"current": pids_current, "limit": pids_max}, "current", "limit"),
        "blkio": blkio,
        "hugetlb": hugetlb,
        "intel_rdt": {},
        "network_interfaces": None,
    }


def v2(d: str) -> dict[str, Any]:
    cpu = flat_keys(os.path.join(d, "cpu.stat"))
    usage = _omit({"total": cpu.get("usage_usec", 0) * 1000,
                   "kernel": cpu.get("system_usec", 0) * 1000,
                   "user": cpu.get("user_usec", 0) * 1000}, "total")
    raw = flat_keys(os.path.join(d, "memory.stat"))
    events = flat_keys(os.path.join(d, "memory.events"))
    mem_usage = _int(d, "memory.current")
    mem = _entry(_int(d, "memory.max") or MAX_U64, mem_usage, _int(d, "memory.peak"),
                 events.get("max", 0))
    swap_limit = _int(d, "memory.swap.max")
    swap = _entry(MAX_U64 if swap_limit == MAX_U64 or mem["limit"] == MAX_U64
                  else swap_limit + mem["limit"],
                  _int(d, "memory.swap.current") + mem_usage, 0, 0)
    memory = _omit({"cache": raw.get("file", 0), "usage": mem, "swap": swap,
                    "kernel": _entry(0, raw.get("kernel", 0), 0, 0),
                    "kernelTCP": _entry(0, raw.get("sock", 0), 0, 0), "raw": raw},
                   "cache", "raw")
    served, serviced = [], []
    for line in _read(d, "io.stat").splitlines():
        parts = line.split()
        if not parts or ":" not in parts[0]:
            continue
        major, minor = (int(x) for x in parts[0].split(":"))
        kv = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
        for src, op, target in (("rbytes", "Read", served), ("wbytes", "Write", served),
                                ("rios", "Read", serviced), ("wios", "Write", serviced)):
            if src in kv:
                target.append(_omit({"major": major, "minor": minor, "op": op,
                                     "value": int(kv[src])}, "major", "minor", "value"))
    blkio = _omit({"ioServiceBytesRecursive": served, "ioServicedRecursive": serviced},
                  "ioServiceBytesRecursive", "ioServicedRecursive")
    hugetlb = {}
    for size in hugepage_sizes():
        p = f"hugetlb.{size}."
        if os.path.exists(os.path.join(d, p + "current")):
            hugetlb[size] = _omit({"usage": _int(d, p + "current"), "max": 0,
                                   "failcnt": flat_keys(os.path.join(d, p + "events"))
                                   .get("max", 0)}, "usage", "max")
    return _stats(usage, cpu.get("nr_periods", 0), cpu.get("nr_throttled", 0),
                  cpu.get("throttled_usec", 0) * 1000, _cpuset(d, "cpuset.effective_"),
                  memory, _int(d, "pids.current"), _int(d, "pids.max"), blkio, hugetlb)
