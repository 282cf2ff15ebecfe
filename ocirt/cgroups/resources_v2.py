"""linux.resources → cgroup v2 files in one directory (runc's fs2 driver).

Conversions from the spec's v1-shaped values are in ocirt.cgroups.convert. Like runc, v2
ignores swappiness, disableOOMKiller, useHierarchy, kernel/kernelTCP and network (with a
warning) and refuses the realtime cpu fields. Devices are a BPF program (devices.py + the
native bpf(2) calls), `unified` keys are written last and checked against the controllers
this cgroup has.
"""

from __future__ import annotations

import os

from ocirt.cgroups import convert, fs
from ocirt.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

P = "linux.resources"


def controllers(d: str) -> set[str]:
    try:
        return set(fs.read(os.path.join(d, "cgroup.controllers")).split())
    except OSError:
        return set()


def apply(d: str, res: dict[str, Any], warn: Any, update: bool = False) -> None:
    have = controllers(d)

    def write(name: str, value: str, field: str) -> None:
        ctrl = name.split(".", 1)[0]
        if ctrl not in have and ctrl not in ("cgroup",):
            raise ConfigError(field, f"no {ctrl} cgroup controller in this cgroup")
        try:
            fs.write(os.path.join(d, name), value)
        except OSError as e:
            raise ConfigError(field, f"writing {value!r} to {name}: {e.strerror}") from None

    c = res.get("cpu") or {}
    f = f"{P}.cpu"
    for key in ("realtimePeriod", "realtimeRuntime"):
        if c.get(key):
            raise ConfigError(f"{f}.{key}", "realtime scheduling is not supported on cgroup v2")
    if c.get("shares"):
        write("cpu.weight", str(convert.shares_to_weight(c["shares"])), f"{f}.shares")
    if c.get("quota") or c.get("period"):
        quota = c.get("quota") or 0
        text = str(quota) if quota > 0 else "max"
        if update and not quota:
            text = fs.read(os.path.join(d, "cpu.max")).split()[0]  # keep the current quota
        if c.get("period"):
            text += f" {c['period']}"  # (alone, the quota keeps the current period)
        write("cpu.max", text, f"{f}.quota" if quota else f"{f}.period")
    if c.get("burst") is not None:
        write("cpu.max.burst", str(c["burst"]), f"{f}.burst")
    if c.get("idle") is not None:
        write("cpu.idle", str(c["idle"]), f"{f}.idle")
    for key in ("cpus", "mems"):
        if c.get(key):
            write(f"cpuset.{key}", c[key], f"{f}.{key}")

    m = res.get("memory") or {}
    f = f"{P}.memory"
    for key in ("kernel", "kernelTCP", "swappiness", "disableOOMKiller", "useHierarchy"):
        if m.get(key) is not None and (key != "kernel" and key != "kernelTCP" or m[key]):
            warn(f"{f}.{key}: not supported on cgroup v2, ignored")
    limit, swap = m.get("limit") or 0, m.get("swap") or 0
    if limit == -1 and not swap:
        swap = -1
    if limit and m.get("checkBeforeUpdate") and "memory" in have:
        usage = int(fs.read(os.path.join(d, "memory.current")))
        if 0 < limit < usage:
            raise ConfigError(f"{f}.limit", f"rejecting memory limit {limit} below the "
                              f"current usage {usage} (checkBeforeUpdate)")
    if swap:
        if update and not limit:
            cur = fs.read(os.path.join(d, "memory.max")).strip()
            limit = -1 if cur == "max" else int(cur)
        try:
            sw = convert.swap_v2(swap, limit)
        except ValueError as e:
            raise ConfigError(f"{f}.swap", str(e)) from None
        if not os.path.exists(os.path.join(d, "memory.swap.max")):
            raise ConfigError(f"{f}.swap", "swap accounting is not enabled on this host "
                              "(no memory.swap.max)")
        write("memory.swap.max", "max" if sw == -1 else str(sw), f"{f}.swap")
    if limit:
        write("memory.max", "max" if limit == -1 else str(limit), f"{f}.limit")
    if m.get("reservation"):
        r = m["reservation"]
        write("memory.low", "max" if r == -1 else str(r), f"{f}.reservation")

    pids = (res.get("pids") or {}).get("limit")
    if pids:
        write("pids.max", "max" if pids < 0 else str(pids), f"{P}.pids.limit")

    b = res.get("blockIO") or {}
    f = f"{P}.blockIO"
    bfq = os.path.exists(os.path.join(d, "io.bfq.weight"))
    if b.get("weight"):
        if bfq:
            write("io.bfq.weight", str(b["weight"]), f"{f}.weight")
        else:
            write("io.weight", str(convert.blkio_to_io_weight(b["weight"])), f"{f}.weight")
    if b.get("leafWeight"):
        warn(f"{f}.leafWeight: not supported on cgroup v2, ignored")
    for i, wd in enumerate(b.get("weightDevice") or []):
        if wd.get("weight"):
            dev = f"{wd['major']}:{wd['minor']}"
            if bfq:
                write("io.bfq.weight", f"{dev} {wd['weight']}", f"{f}.weightDevice[{i}]")
            else:
                write("io.weight", f"{dev} {convert.blkio_to_io_weight(wd['weight'])}",
                      f"{f}.weightDevice[{i}]")
    for key, io_key in (("throttleReadBpsDevice", "rbps"), ("throttleWriteBpsDevice", "wbps"),
                        ("throttleReadIOPSDevice", "riops"),
                        ("throttleWriteIOPSDevice", "wiops")):
        for i, t in enumerate(b.get(key) or []):
            rate = t["rate"] or "max"
            write("io.max", f"{t['major']}:{t['minor']} {io_key}={rate}", f"{f}.{key}[{i}]")

    for i, h in enumerate(res.get("hugepageLimits") or []):
        write(f"hugetlb.{h['pageSize']}.max", str(h["limit"]), f"{P}.hugepageLimits[{i}]")

    net = res.get("network") or {}
    if net.get("classID") or net.get("priorities"):
        warn(f"{P}.network: net_cls/net_prio do not exist on cgroup v2, ignored")

    from ocirt.cgroups.resources_v1 import rdma_line

    for dev, r in (res.get("rdma") or {}).items():
        write("rdma.max", rdma_line(dev, r), f"{P}.rdma.{dev}")

    for key, value in (res.get("unified") or {}).items():
        field = f"{P}.unified.{key}"
        if "/" in key or key.startswith("."):
            raise ConfigError(field, "must name a file in the container's cgroup")
        ctrl = key.split(".", 1)[0]
        if ctrl != "cgroup" and ctrl not in have:
            raise ConfigError(field, f"no {ctrl} cgroup controller in this cgroup")
        if not os.path.exists(os.path.join(d, key)):
            raise ConfigError(field, f"no file {key} in the container's cgroup")
        write(key, value, field)
