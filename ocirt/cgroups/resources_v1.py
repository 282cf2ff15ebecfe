"""linux.resources → cgroup v1 files, one controller hierarchy each (runc's fs driver).

A field whose controller is not mounted is an error naming the field, as runc's "cannot
set X limit: container could not join or create cgroup"; `unified` is refused on v1.
Zero means unset for the fields runc treats that way (limit, swap, reservation, shares,
quota, period, pids.limit), so `update` can overlay only what it was given.
"""

from __future__ import annotations

import os

from ocirt.cgroups import fs
from ocirt.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

P = "linux.resources"


def write(directory: str | None, name: str, value: str, field: str, ctrl: str) -> None:
    if directory is None:
        raise ConfigError(field, f"no {ctrl} cgroup controller on this host")
    path = os.path.join(directory, name)
    try:
        fs.write(path, value)
    except OSError as e:
        raise ConfigError(field, f"writing {value!r} to {name}: {e.strerror}") from None


def apply(ctl: dict[str, str], res: dict[str, Any], warn: Any, update: bool = False) -> None:
    """ctl: controller name → the container's directory in that hierarchy."""
    if res.get("unified"):
        raise ConfigError(f"{P}.unified", "cgroup v2 keys cannot be set on a cgroup v1 host")
    if "cpu" in res:
        _cpu(ctl, res["cpu"] or {})
    if "memory" in res:
        _memory(ctl, res["memory"] or {}, warn, update)
    pids = (res.get("pids") or {}).get("limit")
    if pids:
        write(ctl.get("pids"), "pids.max", "max" if pids < 0 else str(pids),
              f"{P}.pids.limit", "pids")
    if "blockIO" in res:
        _blkio(ctl, res["blockIO"] or {})
    for i, h in enumerate(res.get("hugepageLimits") or []):
        write(ctl.get("hugetlb"), f"hugetlb.{h['pageSize']}.limit_in_bytes", str(h["limit"]),
              f"{P}.hugepageLimits[{i}]", "hugetlb")
    net = res.get("network") or {}
    if net.get("classID"):
        write(ctl.get("net_cls"), "net_cls.classid", str(net["classID"]),
              f"{P}.network.classID", "net_cls")
    for i, p in enumerate(net.get("priorities") or []):
        write(ctl.get("net_prio"), "net_prio.ifpriomap", f"{p['name']} {p['priority']}",
              f"{P}.network.priorities[{i}]", "net_prio")
    for dev, r in (res.get("rdma") or {}).items():
        write(ctl.get("rdma"), "rdma.max", rdma_line(dev, r), f"{P}.rdma.{dev}", "rdma")
    if "devices" in res:
        from ocirt.cgroups import devices

        state = devices.reduce(devices.from_config(res["devices"]))
        d = ctl.get("devices")
        current = fs.read(os.path.join(d, "devices.list")) if d and update else None
        for name, line in devices.v1_writes(state, current):
            write(ctl.get("devices"), name, line, f"{P}.devices", "devices")


def rdma_line(dev: str, r: dict[str, Any]) -> str:
    def v(key: str) -> str:
        return "max" if r.get(key) is None else str(r[key])
    return f"{dev} hca_handle={v('hcaHandles')} hca_object={v('hcaObjects')}"


def _cpu(ctl: dict[str, str], c: dict[str, Any]) -> None:
    d, f = ctl.get("cpu"), f"{P}.cpu"
    if c.get("realtimePeriod"):
        write(d, "cpu.rt_period_us", str(c["realtimePeriod"]), f"{f}.realtimePeriod", "cpu")
    if c.get("realtimeRuntime"):
        write(d, "cpu.rt_runtime_us", str(c["realtimeRuntime"]), f"{f}.realtimeRuntime",
              "cpu")
    if c.get("shares"):
        shares = c["shares"]
        write(d, "cpu.shares", str(shares), f"{f}.shares", "cpu")
        got = int(fs.read(os.path.join(d or "", "cpu.shares")))
        if got != shares:  # the kernel clamps to [2, 262144]
            bound = "maximum" if got < shares else "minimum"
            raise ConfigError(f"{f}.shares", f"the {bound} allowed cpu-shares is {got}")
    period_pending = ""
    if c.get("period"):
        try:
            write(d, "cpu.cfs_period_us", str(c["period"]), f"{f}.period", "cpu")
        except ConfigError:
            # a shorter period can be refused until the new quota is in (runc retries)
            if not c.get("quota"):
                raise
            period_pending = str(c["period"])
    if c.get("quota"):
        write(d, "cpu.cfs_quota_us", str(c["quota"]), f"{f}.quota", "cpu")
        if period_pending:
            write(d, "cpu.cfs_period_us", period_pending, f"{f}.period", "cpu")
    if c.get("burst") is not None:
        write(d, "cpu.cfs_burst_us", str(c["burst"]), f"{f}.burst", "cpu")
    if c.get("idle") is not None:
        write(d, "cpu.idle", str(c["idle"]), f"{f}.idle", "cpu")
    for key in ("cpus", "mems"):
        if c.get(key):
            write(ctl.get("cpuset"), f"cpuset.{key}", c[key], f"{f}.{key}", "cpuset")


def _memory(ctl: dict[str, str], m: dict[str, Any], warn: Any, update: bool) -> None:
    d, f = ctl.get("memory"), f"{P}.memory"
    if m.get("kernel"):
        warn(f"{f}.kernel: kernel memory limits are deprecated and ignored")
    if m.get("kernelTCP"):
        write(d, "memory.kmem.tcp.limit_in_bytes", str(m["kernelTCP"]), f"{f}.kernelTCP",
              "memory")
    limit, swap = m.get("limit") or 0, m.get("swap") or 0
    if limit and m.get("checkBeforeUpdate") and d is not None:
        usage = int(fs.read(os.path.join(d, "memory.usage_in_bytes")))
        if 0 < limit < usage:
            raise ConfigError(f"{f}.limit", f"rejecting memory limit {limit} below the "
                              f"current usage {usage} (checkBeforeUpdate)")
    if limit == -1 and not swap:
        swap = -1
    writes: list[tuple[str, int, str]] = []
    if limit:
        writes.append(("memory.limit_in_bytes", limit, f"{f}.limit"))
    if swap:
        sw = ("memory.memsw.limit_in_bytes", swap, f"{f}.swap")
        if d is not None and not os.path.exists(os.path.join(d, sw[0])):
            raise ConfigError(f"{f}.swap", "swap accounting is not enabled on this host "
                              "(no memory.memsw.limit_in_bytes)")
        # the kernel wants memory <= memory+swap at every step: order by the current limit
        current = int(fs.read(os.path.join(d, "memory.limit_in_bytes"))) if d else 0
        if limit and (swap == -1 or current < swap):
            writes.insert(0, sw)
        else:
            writes.append(sw)
    for name, value, field in writes:
        write(d, name, str(value), field, "memory")
    if m.get("reservation"):
        write(d, "memory.soft_limit_in_bytes", str(m["reservation"]), f"{f}.reservation",
              "memory")
    if m.get("disableOOMKiller"):
        write(d, "memory.oom_control", "1", f"{f}.disableOOMKiller", "memory")
    if m.get("swappiness") is not None:
        if not 0 <= m["swappiness"] <= 100:
            raise ConfigError(f"{f}.swappiness", f"invalid value {m['swappiness']}: valid "
                              "memory swappiness range is 0-100")
        write(d, "memory.swappiness", str(m["swappiness"]), f"{f}.swappiness", "memory")
    if m.get("useHierarchy") is not None:
        write(d, "memory.use_hierarchy", "1" if m["useHierarchy"] else "0",
              f"{f}.useHierarchy", "memory")


def _blkio(ctl: dict[str, str], b: dict[str, Any]) -> None:
    d, f = ctl.get("blkio"), f"{P}.blockIO"
    # CFQ's blkio.weight where it exists, else BFQ's (same 10-1000 range)
    bfq = d is not None and not os.path.exists(os.path.join(d, "blkio.weight"))
    prefix = "blkio.bfq." if bfq else "blkio."
    if b.get("weight"):
        write(d, prefix + "weight", str(b["weight"]), f"{f}.weight", "blkio")
    if b.get("leafWeight"):
        write(d, "blkio.leaf_weight", str(b["leafWeight"]), f"{f}.leafWeight", "blkio")
    for i, wd in enumerate(b.get("weightDevice") or []):
        dev = f"{wd['major']}:{wd['minor']}"
        if wd.get("weight"):
            write(d, prefix + "weight_device", f"{dev} {wd['weight']}",
                  f"{f}.weightDevice[{i}].weight", "blkio")
        if wd.get("leafWeight"):
            write(d, "blkio.leaf_weight_device", f"{dev} {wd['leafWeight']}",
                  f"{f}.weightDevice[{i}].leafWeight", "blkio")
    for key, name in THROTTLES:
        for i, t in enumerate(b.get(key) or []):
            write(d, f"blkio.throttle.{name}", f"{t['major']}:{t['minor']} {t['rate']}",
                  f"{f}.{key}[{i}]", "blkio")


THROTTLES = (("throttleReadBpsDevice", "read_bps_device"),
             ("throttleWriteBpsDevice", "write_bps_device"),
             ("throttleReadIOPSDevice", "read_iops_device"),
             ("throttleWriteIOPSDevice", "write_iops_device"))
