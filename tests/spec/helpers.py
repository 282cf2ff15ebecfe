"""Shared fixtures for the config validator tests: a config using every Linux field, path
addressing like the validator's messages, and the project's JSON schemas."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
SPEC_TESTS = Path("/work/shared/reference/runtime-spec/schema/test")

def steps(path: str) -> list[str | int]:
    """"a.b[2].c" -> ["a", "b", 2, "c"]; a backslash makes the next character part of a
    key, for map keys holding dots ("linux.sysctl.net\\.ipv4\\.ip_forward")."""
    out: list[str | int] = []
    key, i, pending = "", 0, True
    while i < len(path):
        c = path[i]
        if c == "\\":
            key += path[i + 1]
            i += 2
            continue
        if c == ".":
            if pending:
                out.append(key)
            key, pending = "", True
        elif c == "[":
            if pending and key:
                out.append(key)
            j = path.index("]", i)
            out.append(int(path[i + 1:j]))
            key, pending, i = "", False, j + 1
            continue
        else:
            key += c
            pending = True
        i += 1
    if pending:
        out.append(key)
    return out


def unescape(path: str) -> str:
    return path.replace("\\", "")


def _parent(doc: Any, path: str) -> tuple[Any, str | int]:
    *head, last = steps(path)
    for s in head:
        doc = doc[s]
    return doc, last


def with_value(doc: dict, path: str, value: Any) -> dict:
    out = copy.deepcopy(doc)
    parent, last = _parent(out, path)
    parent[last] = value
    return out


def without(doc: dict, path: str) -> dict:
    out = copy.deepcopy(doc)
    parent, last = _parent(out, path)
    del parent[last]
    return out


@cache
def schema_validator(name: str):
    import jsonschema

    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    cls = jsonschema.Draft202012Validator
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_errors(name: str, doc: Any) -> list[str]:
    return [e.message for e in schema_validator(name).iter_errors(doc)]


def full_config() -> dict[str, Any]:
    """A valid config that sets (nearly) every field config.md and config-linux.md define."""
    return copy.deepcopy(_FULL)


_FULL: dict[str, Any] = {
    "ociVersion": "1.3.0",
    "root": {"path": "rootfs", "readonly": True},
    "hostname": "box",
    "domainname": "example.test",
    "annotations": {"com.example.key": "value", "com.example.empty": ""},
    "mounts": [
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/data", "type": "none", "source": "/srv/data",
         "options": ["rbind", "ro", "idmap"],
         "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
         "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]},
    ],
    "process": {
        "terminal": True,
        "consoleSize": {"height": 25, "width": 80},
        "user": {"uid": 1, "gid": 1, "umask": 18, "additionalGids": [5, 6],
                 "username": "ignored-on-linux"},
        "args": ["sh", "-c", "true"],
        "commandLine": "ignored on linux",
        "env": ["PATH=/usr/bin:/bin", "TERM=xterm", "EMPTY="],
        "cwd": "/root",
        "capabilities": {k: ["CAP_KILL", "CAP_NET_BIND_SERVICE"] for k in
                         ("bounding", "effective", "inheritable", "permitted", "ambient")},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024},
                    {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}],
        "apparmorProfile": "acme",
        "selinuxLabel": "system_u:system_r:svirt_lxc_net_t:s0:c124,c675",
        "noNewPrivileges": True,
        "oomScoreAdj": 100,
        "scheduler": {"policy": "SCHED_DEADLINE", "nice": 0, "priority": 0,
                      "flags": ["SCHED_FLAG_RESET_ON_FORK"], "runtime": 10_000_000,
                      "deadline": 20_000_000, "period": 30_000_000},
        "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
        "execCPUAffinity": {"initial": "7", "final": "0-3,7"},
    },
    "hooks": {
        "prestart": [{"path": "/usr/bin/fix-mounts", "args": ["fix-mounts", "a"],
                      "env": ["key1=value1"]}],
        "createRuntime": [{"path": "/usr/bin/setup-network"}],
        "createContainer": [{"path": "/usr/bin/mount-hook", "timeout": 3}],
        "startContainer": [{"path": "/usr/bin/refresh-ldcache"}],
        "poststart": [{"path": "/usr/bin/notify-start", "timeout": 5}],
        "poststop": [{"path": "/usr/sbin/cleanup.sh", "args": ["cleanup.sh", "-f"]}],
    },
    "linux": {
        "namespaces": [{"type": t} for t in
                       ("pid", "network", "ipc", "uts", "mount", "user", "cgroup")]
                      + [{"type": "time", "path": "/proc/1/ns/time"}],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 32000}],
        "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 32000}],
        "timeOffsets": {"monotonic": {"secs": 172800, "nanosecs": 0},
                        "boottime": {"secs": -5, "nanosecs": 999_999_999}},
        "devices": [
            {"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 438,
             "uid": 0, "gid": 0},
            {"path": "/dev/sda", "type": "b", "major": 8, "minor": 0},
            {"path": "/dev/fifo", "type": "p"},
        ],
        "netDevices": {"eth0": {"name": "ctr%d"}, "ens4": {}},
        "cgroupsPath": "/myRuntime/myContainer",
        "resources": {
            "devices": [{"allow": False, "access": "rwm"},
                        {"allow": True, "type": "c", "major": 10, "minor": 229,
                         "access": "rw"}],
            "memory": {"limit": 536870912, "reservation": 536870912, "swap": 536870912,
                       "kernel": -1, "kernelTCP": -1, "swappiness": 0,
                       "disableOOMKiller": False, "useHierarchy": True,
                       "checkBeforeUpdate": True},
            "cpu": {"shares": 1024, "quota": 1000000, "burst": 1000000, "period": 500000,
                    "realtimeRuntime": 950000, "realtimePeriod": 1000000, "cpus": "2-3",
                    "mems": "0-7", "idle": 0},
            "blockIO": {
                "weight": 10, "leafWeight": 10,
                "weightDevice": [{"major": 8, "minor": 0, "weight": 500, "leafWeight": 300},
                                 {"major": 8, "minor": 16, "leafWeight": 500}],
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
                "throttleWriteBpsDevice": [{"major": 8, "minor": 0, "rate": 600}],
                "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 60}],
                "throttleWriteIOPSDevice": [{"major": 8, "minor": 16, "rate": 300}],
            },
            "hugepageLimits": [{"pageSize": "2MB", "limit": 209715200},
                               {"pageSize": "64KB", "limit": 1000000}],
            "network": {"classID": 1048577,
                        "priorities": [{"name": "eth0", "priority": 500}]},
            "pids": {"limit": 32771},
            "rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000},
                     "mlx4_0": {"hcaObjects": 1000}},
            "unified": {"io.max": "259:0 rbps=2097152", "hugetlb.1GB.max": "1073741824"},
        },
        "intelRdt": {"closID": "guaranteed_group", "l3CacheSchema": "L3:0=7f0;1=1f",
                     "memBwSchema": "MB:0=20;1=70", "schemata": ["L2:0=f;1=f"],
                     "enableMonitoring": True},
        "memoryPolicy": {"mode": "MPOL_INTERLEAVE", "nodes": "2-3",
                         "flags": ["MPOL_F_STATIC_NODES"]},
        "sysctl": {"net.ipv4.ip_forward": "1"},
        "seccomp": {
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 1,
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
            "flags": ["SECCOMP_FILTER_FLAG_LOG"],
            "listenerPath": "/run/seccomp-agent.sock",
            "listenerMetadata": "opaque",
            "syscalls": [
                {"names": ["getcwd", "chmod"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
                 "args": [{"index": 0, "value": 8, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]},
                {"names": ["mount"], "action": "SCMP_ACT_NOTIFY"},
            ],
        },
        "rootfsPropagation": "slave",
        "maskedPaths": ["/proc/kcore"],
        "readonlyPaths": ["/proc/sys"],
        "mountLabel": "system_u:object_r:svirt_sandbox_file_t:s0:c715,c811",
        "personality": {"domain": "LINUX32", "flags": []},
    },
}
