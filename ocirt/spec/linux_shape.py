"""The shape of config.json's `linux` object (config-linux.md)."""

from __future__ import annotations

from ocirt.spec.checks import (
    INT64,
    UINT16,
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
    mapping,
    non_empty_key,
    obj,
    string,
    strings,
)
from ocirt.spec.seccomp_shape import seccomp

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

NAMESPACE_TYPES = ("pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time")


def _namespace_list(v: Any, path: str) -> None:
    array(_namespace)(v, path)
    seen: set[str] = set()
    for i, ns in enumerate(v):
        # "Namespaces": duplicated types MUST be an error
        if ns["type"] in seen:
            raise fail(f"{path}[{i}].type", f"duplicate namespace type {ns['type']!r}")
        seen.add(ns["type"])


# `path` must name a namespace file in the runtime mount namespace; every known type can
# be joined with setns(2), so none is refused a path.
_namespace = obj({"type": enum(NAMESPACE_TYPES), "path": abs_path}, required=("type",))
namespaces = _namespace_list


def _mapping_range(m: dict, path: str) -> None:
    # user_namespaces(7): a mapped range is non-empty and must not wrap past 2^32
    if m["size"] == 0:
        raise fail(f"{path}.size", "must be at least 1")
    for k in ("containerID", "hostID"):
        if m[k] + m["size"] > 1 << 32:
            raise fail(f"{path}.size", f"{k} {m[k]} + size {m['size']} overflows uint32")


id_mapping = obj({"containerID": UINT32, "hostID": UINT32, "size": UINT32},
                 required=("containerID", "hostID", "size"), rules=(_mapping_range,))
id_mappings = array(id_mapping)


def _time_offset_key(k: str, path: str) -> None:
    # time_namespaces(7): only these two clocks can be offset
    if k not in ("monotonic", "boottime"):
        raise fail(path, "unknown clock (want monotonic or boottime)")


time_offsets = mapping(
    obj({"secs": INT64, "nanosecs": integer(0, 999_999_999, "nanoseconds")}),
    key=_time_offset_key,
)


def _device_numbers(d: dict, path: str) -> None:
    # "Devices": major/minor are REQUIRED unless type is p (a fifo has none)
    if d["type"] != "p":
        for k in ("major", "minor"):
            if k not in d:
                raise fail(f"{path}.{k}", f"is required for device type {d['type']!r}")


device = obj(
    {"type": enum("cbup"), "path": abs_path, "major": INT64, "minor": INT64,
     "fileMode": UINT32, "uid": UINT32, "gid": UINT32},
    required=("type", "path"),
    rules=(_device_numbers,),
)


def _ifname(v: Any, path: str) -> None:
    # dev_valid_name() in the kernel; "%d" templates fit within the same limits
    if type(v) is not str:
        raise fail(path, f"must be a string, got {kind(v)}")
    if not v or len(v) > 15 or v in (".", "..") or any(c in v for c in "/: \t\n"):
        raise fail(path, f"{v!r} is not a valid network interface name")


net_devices = mapping(obj({"name": _ifname}), key=_ifname)


def _access(v: Any, path: str) -> None:
    if type(v) is not str:
        raise fail(path, f"must be a string, got {kind(v)}")
    if v.strip("rwm"):
        raise fail(path, f"{v!r} is not a combination of r, w and m")


device_rule = obj(
    {"allow": boolean, "type": enum("acb"), "major": INT64, "minor": INT64,
     "access": _access},
    required=("allow",),
)

memory = obj({
    "limit": INT64, "reservation": INT64, "swap": INT64, "kernel": INT64, "kernelTCP": INT64,
    "swappiness": integer(0, 100, "swappiness"),
    "disableOOMKiller": boolean, "useHierarchy": boolean, "checkBeforeUpdate": boolean,
})


def _burst_within_quota(c: dict, path: str) -> None:
    # "CPU": burst MUST be no larger than a positive quota; runtimes may refuse it
    quota, burst = c.get("quota"), c.get("burst")
    if quota is not None and burst is not None and quota > 0 and burst > quota:
        raise fail(f"{path}.burst", f"{burst} is larger than quota {quota}")


cpu = obj(
    {"shares": UINT64, "quota": INT64, "burst": UINT64, "period": UINT64,
     "realtimeRuntime": INT64, "realtimePeriod": UINT64, "cpus": cpu_list, "mems": cpu_list,
     "idle": INT64},
    rules=(_burst_within_quota,),
)


def _some_weight(w: dict, path: str) -> None:
    if "weight" not in w and "leafWeight" not in w:
        raise fail(path, "needs weight or leafWeight")


_weight_device = obj({"major": INT64, "minor": INT64, "weight": UINT16, "leafWeight": UINT16},
                     required=("major", "minor"), rules=(_some_weight,))
_throttle_device = array(obj({"major": INT64, "minor": INT64, "rate": UINT64},
                             required=("major", "minor", "rate")))

block_io = obj({
    "weight": UINT16, "leafWeight": UINT16, "weightDevice": array(_weight_device),
    "throttleReadBpsDevice": _throttle_device, "throttleWriteBpsDevice": _throttle_device,
    "throttleReadIOPSDevice": _throttle_device, "throttleWriteIOPSDevice": _throttle_device,
})


def _page_size(v: Any, path: str) -> None:
    # "Huge page limits": <size><unit-prefix>B, e.g. 64KB, 2MB, 1GB
    if type(v) is not str:
        raise fail(path, f"must be a string, got {kind(v)}")
    n, unit = v[:-2], v[-2:]
    if unit not in ("KB", "MB", "GB") or not (n.isascii() and n.isdigit()) or n[0] == "0":
        raise fail(path, f"{v!r} is not a page size like 64KB, 2MB or 1GB")


hugepage_limits = array(obj({"pageSize": _page_size, "limit": UINT64},
                            required=("pageSize", "limit")))

network = obj({
    "classID": UINT32,
    "priorities": array(obj({"name": string, "priority": UINT32},
                            required=("name", "priority"))),
})


def _some_hca(r: dict, path: str) -> None:
    if "hcaHandles" not in r and "hcaObjects" not in r:
        raise fail(path, "needs hcaHandles or hcaObjects")


rdma = mapping(obj({"hcaHandles": UINT32, "hcaObjects": UINT32}, rules=(_some_hca,)))

resources = obj({
    "devices": array(device_rule),
    "memory": memory,
    "cpu": cpu,
    "blockIO": block_io,
    "hugepageLimits": hugepage_limits,
    "network": network,
    "pids": obj({"limit": INT64}),
    "rdma": rdma,
    "unified": mapping(string, key=non_empty_key),
})


def _one_line(v: Any, path: str) -> None:
    if type(v) is not str:
        raise fail(path, f"must be a string, got {kind(v)}")
    if "\n" in v:
        raise fail(path, "must not contain a newline")


def _mem_bw_schema(v: Any, path: str) -> None:
    _one_line(v, path)
    if not v.startswith("MB:"):
        raise fail(path, "must start with \"MB:\"")


def _clos_id(v: Any, path: str) -> None:
    # a directory name under the resctrl mount ("/" meaning its root): anything that
    # walks elsewhere would put the container in another group's tasks file
    if type(v) is not str:
        raise fail(path, f"must be a string, got {kind(v)}")
    if v != "/" and ("/" in v or v in ("", ".", "..") or "\n" in v):
        raise fail(path, f"{v!r} is not a resctrl group name")


intel_rdt = obj({"closID": _clos_id, "l3CacheSchema": string,  # newline is a SHOULD NOT
                 "memBwSchema": _mem_bw_schema, "schemata": array(_one_line),
                 "enableMonitoring": boolean})

_NODELESS_MODES = ("MPOL_DEFAULT", "MPOL_LOCAL")
_NODEFUL_MODES = ("MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                  "MPOL_PREFERRED_MANY")


def _policy_nodes(p: dict, path: str) -> None:
    # set_mempolicy(2) refuses nodes for some modes and an empty set for others, and
    # refuses static and relative node numbering together
    mode, nodes = p["mode"], p.get("nodes", "")
    if mode in _NODELESS_MODES and nodes:
        raise fail(f"{path}.nodes", f"must be empty for {mode}")
    if mode in _NODEFUL_MODES and not nodes:
        raise fail(f"{path}.nodes", f"is required for {mode}")
    flags = p.get("flags", ())
    if "MPOL_F_STATIC_NODES" in flags and "MPOL_F_RELATIVE_NODES" in flags:
        raise fail(f"{path}.flags", "MPOL_F_STATIC_NODES and MPOL_F_RELATIVE_NODES exclude "
                   "each other")


memory_policy = obj(
    {"mode": enum(("MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE",
                   "MPOL_WEIGHTED_INTERLEAVE", "MPOL_PREFERRED", "MPOL_PREFERRED_MANY",
                   "MPOL_LOCAL")),
     "nodes": cpu_list,
     "flags": array(enum(("MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES",
                          "MPOL_F_STATIC_NODES")))},
    required=("mode",),
    rules=(_policy_nodes,),
)


def _no_flags(v: Any, path: str) -> None:
    # "Personality": no flag values are defined yet, so any given is unsupported
    strings(v, path)
    if v:
        raise fail(f"{path}[0]", f"unknown personality flag {v[0]!r} (none are supported)")


personality = obj({"domain": enum(("LINUX", "LINUX32")), "flags": _no_flags},
                  required=("domain",))

linux = obj({
    "namespaces": namespaces,
    "uidMappings": id_mappings,
    "gidMappings": id_mappings,
    "timeOffsets": time_offsets,
    "devices": array(device),
    "netDevices": net_devices,
    "cgroupsPath": string,
    "resources": resources,
    "intelRdt": intel_rdt,
    "memoryPolicy": memory_policy,
    "sysctl": mapping(string, key=non_empty_key),
    "seccomp": seccomp,
    # config-linux.md names four modes; runc also takes their recursive forms, and
    # containerd's CRI plugin sends "rslave"/"rshared", so refusing them breaks Kubernetes
    "rootfsPropagation": enum(("shared", "slave", "private", "unbindable", "rshared",
                               "rslave", "rprivate", "runbindable")),
    "maskedPaths": array(abs_path),
    "readonlyPaths": array(abs_path),
    "mountLabel": string,
    "personality": personality,
})
