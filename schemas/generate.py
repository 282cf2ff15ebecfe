"""Writes config.schema.json and features.schema.json (draft 2020-12) next to this file.

The enumerations come from ocirt.spec's own tables, so the schemas and the hand-written
validator cannot drift apart; tests/spec/test_schemas_current.py checks that the JSON
files are what this script writes. state.schema.json is small and kept by hand.

    python3 schemas/generate.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from ocirt.spec.config_shape import HOOK_NAMES  # noqa: E402
from ocirt.spec.linux_shape import NAMESPACE_TYPES  # noqa: E402
from ocirt.spec.rlimits import RLIMITS  # noqa: E402
from ocirt.spec.seccomp_shape import (  # noqa: E402
    ACTIONS,
    ARCHES,
    ERRNO_ACTIONS,
    FLAGS,
    OPERATORS,
)

ID_BASE = "https://ocirt.invalid/schemas/"
S: dict[str, Any] = {"type": "string"}
B: dict[str, Any] = {"type": "boolean"}
# Python's re (used by the jsonschema package) lets "$" match before a final newline,
# so every anchored pattern also refuses newlines outright.
NO_NL: dict[str, Any] = {"not": {"pattern": "\n"}}
CAP_SETS = ("bounding", "effective", "inheritable", "permitted", "ambient")
SCHED_POLICIES = ("SCHED_OTHER", "SCHED_FIFO", "SCHED_RR", "SCHED_BATCH", "SCHED_ISO",
                  "SCHED_IDLE", "SCHED_DEADLINE")
SCHED_FLAGS = ("SCHED_FLAG_RESET_ON_FORK", "SCHED_FLAG_RECLAIM", "SCHED_FLAG_DL_OVERRUN",
               "SCHED_FLAG_KEEP_POLICY", "SCHED_FLAG_KEEP_PARAMS", "SCHED_FLAG_UTIL_CLAMP_MIN",
               "SCHED_FLAG_UTIL_CLAMP_MAX")
IOPRIO_CLASSES = ("IOPRIO_CLASS_RT", "IOPRIO_CLASS_BE", "IOPRIO_CLASS_IDLE")
MPOL_MODES = ("MPOL_DEFAULT", "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
              "MPOL_PREFERRED", "MPOL_PREFERRED_MANY", "MPOL_LOCAL")
MPOL_FLAGS = ("MPOL_F_NUMA_BALANCING", "MPOL_F_RELATIVE_NODES", "MPOL_F_STATIC_NODES")
_ID = r"(0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER = {
    "description": "SemVer 2.0.0",
    "type": "string",
    "pattern": r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
               rf"(-{_ID}(\.{_ID})*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$",
    **NO_NL,
}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


def arr(items: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "array", "items": items, **extra}


def obj(props: dict[str, Any], required: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    return out | extra


def enum(values: Any) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


def uint(bits: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "maximum": (1 << bits) - 1}


def int_range(lo: int, hi: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": lo, "maximum": hi}


def unique_by(key: str, values: Any) -> dict[str, Any]:
    """No two array items share `key`: at most one item may hold each known value."""
    return {"allOf": [{"contains": obj({key: {"const": v}}, (key,)),
                       "minContains": 0, "maxContains": 1} for v in values]}


def one_of_required(*names: str) -> dict[str, Any]:
    return {"anyOf": [{"required": [n]} for n in names]}


def config_defs() -> dict[str, Any]:
    return {
        "int32": int_range(-(1 << 31), (1 << 31) - 1),
        "int64": int_range(-(1 << 63), (1 << 63) - 1),
        "uint16": uint(16),
        "uint32": uint(32),
        "uint64": uint(64),
        "strings": arr(S),
        "absPath": {"type": "string", "pattern": "^/"},
        "semver": SEMVER,
        "env": arr({"type": "string", "pattern": "="}),
        "stringMap": {"type": "object", "propertyNames": {"minLength": 1},
                      "additionalProperties": S},
        "cpuList": {"description": "numbers and ranges, comma-separated (0-3,7); empty: unset",
                    "type": "string",
                    "pattern": "^( *[0-9]+(-[0-9]+)? *(, *[0-9]+(-[0-9]+)? *)*)?$", **NO_NL},
        "oneLine": {"type": "string", **NO_NL},
        "idMapping": obj({"containerID": ref("uint32"), "hostID": ref("uint32"),
                          "size": int_range(1, (1 << 32) - 1)},
                         ("containerID", "hostID", "size")),
        "idMappings": arr(ref("idMapping")),
        "hook": obj({"path": ref("absPath"), "args": ref("strings"), "env": ref("env"),
                     "timeout": int_range(1, (1 << 63) - 1)}, ("path",)),
        "hooks": arr(ref("hook")),
        "mount": obj({"destination": S, "source": S, "options": ref("strings"), "type": S,
                      "uidMappings": ref("idMappings"), "gidMappings": ref("idMappings")},
                     ("destination",),
                     dependentRequired={"uidMappings": ["gidMappings"],
                                        "gidMappings": ["uidMappings"]}),
        "process": process_schema(),
        "namespace": obj({"type": enum(NAMESPACE_TYPES), "path": ref("absPath")}, ("type",)),
        "timeOffset": obj({"secs": ref("int64"), "nanosecs": int_range(0, 999_999_999)}),
        "device": obj({"type": enum("cbup"), "path": ref("absPath"), "major": ref("int64"),
                       "minor": ref("int64"), "fileMode": ref("uint32"), "uid": ref("uint32"),
                       "gid": ref("uint32")}, ("type", "path"),
                      **{"if": {"properties": {"type": {"const": "p"}}},
                         "else": {"required": ["major", "minor"]}}),
        "ifName": {"type": "string", "pattern": "^[^/: \t\n]{1,15}$",
                   "not": {"anyOf": [{"pattern": "\n"}, {"enum": [".", ".."]}]}},
        "deviceRule": obj({"allow": B, "type": enum("acb"), "major": ref("int64"),
                           "minor": ref("int64"),
                           "access": {"type": "string", "pattern": "^[rwm]*$", **NO_NL}},
                          ("allow",)),
        "throttleDevices": arr(obj({"major": ref("int64"), "minor": ref("int64"),
                                    "rate": ref("uint64")}, ("major", "minor", "rate"))),
        "resources": resources_schema(),
        "seccomp": seccomp_schema(),
        "syscall": obj({"names": arr(S, minItems=1), "action": enum(ACTIONS),
                        "errnoRet": ref("uint32"),
                        "args": arr(obj({"index": int_range(0, 5), "value": ref("uint64"),
                                         "valueTwo": ref("uint64"), "op": enum(OPERATORS)},
                                        ("index", "value", "op")))},
                       ("names", "action"),
                       **{"if": {"required": ["errnoRet"]},
                          "then": {"properties": {"action": {"enum": list(ERRNO_ACTIONS)}}}}),
        "memoryPolicy": memory_policy_schema(),
        "linux": linux_schema(),
    }


def process_schema() -> dict[str, Any]:
    return obj({
        "terminal": B,
        "consoleSize": obj({"height": ref("uint64"), "width": ref("uint64")},
                           ("height", "width")),
        "cwd": ref("absPath"),
        "env": ref("env"),
        "args": arr(S, minItems=1),
        "commandLine": S,
        "rlimits": arr(obj({"type": enum(RLIMITS), "soft": ref("uint64"),
                            "hard": ref("uint64")}, ("type", "soft", "hard")))
        | unique_by("type", RLIMITS),
        "apparmorProfile": S,
        "capabilities": obj({k: ref("strings") for k in CAP_SETS}),
        "noNewPrivileges": B,
        "oomScoreAdj": int_range(-1000, 1000),
        "scheduler": obj({"policy": enum(SCHED_POLICIES), "nice": ref("int32"),
                          "priority": ref("int32"), "flags": arr(enum(SCHED_FLAGS)),
                          "runtime": ref("uint64"), "deadline": ref("uint64"),
                          "period": ref("uint64")}, ("policy",)),
        "selinuxLabel": S,
        "ioPriority": obj({"class": enum(IOPRIO_CLASSES), "priority": int_range(0, 7)},
                          ("class", "priority")),
        "execCPUAffinity": obj({"initial": ref("cpuList"), "final": ref("cpuList")}),
        "user": obj({"uid": ref("uint32"), "gid": ref("uint32"), "umask": ref("uint32"),
                     "additionalGids": arr(ref("uint32")), "username": S}, ("uid", "gid")),
    }, ("cwd", "args"))


def resources_schema() -> dict[str, Any]:
    weight_device = obj({"major": ref("int64"), "minor": ref("int64"),
                         "weight": ref("uint16"), "leafWeight": ref("uint16")},
                        ("major", "minor"), **one_of_required("weight", "leafWeight"))
    return obj({
        "devices": arr(ref("deviceRule")),
        "memory": obj({**{k: ref("int64") for k in
                          ("limit", "reservation", "swap", "kernel", "kernelTCP")},
                       "swappiness": int_range(0, 100),
                       "disableOOMKiller": B, "useHierarchy": B, "checkBeforeUpdate": B}),
        "cpu": obj({"shares": ref("uint64"), "quota": ref("int64"), "burst": ref("uint64"),
                    "period": ref("uint64"), "realtimeRuntime": ref("int64"),
                    "realtimePeriod": ref("uint64"), "cpus": ref("cpuList"),
                    "mems": ref("cpuList"), "idle": ref("int64")}),
        "blockIO": obj({"weight": ref("uint16"), "leafWeight": ref("uint16"),
                        "weightDevice": arr(weight_device),
                        **{k: ref("throttleDevices") for k in (
                            "throttleReadBpsDevice", "throttleWriteBpsDevice",
                            "throttleReadIOPSDevice", "throttleWriteIOPSDevice")}}),
        "hugepageLimits": arr(obj({"pageSize": {"type": "string",
                                                "pattern": "^[1-9][0-9]*[KMG]B$", **NO_NL},
                                   "limit": ref("uint64")}, ("pageSize", "limit"))),
        "network": obj({"classID": ref("uint32"),
                        "priorities": arr(obj({"name": S, "priority": ref("uint32")},
                                              ("name", "priority")))}),
        "pids": obj({"limit": ref("int64")}),
        "rdma": {"type": "object", "additionalProperties": obj(
            {"hcaHandles": ref("uint32"), "hcaObjects": ref("uint32")},
            **one_of_required("hcaHandles", "hcaObjects"))},
        "unified": ref("stringMap"),
    })


def seccomp_schema() -> dict[str, Any]:
    return obj({"defaultAction": enum(ACTIONS), "defaultErrnoRet": ref("uint32"),
                "architectures": arr(enum(ARCHES)), "flags": arr(enum(FLAGS)),
                "listenerPath": S, "listenerMetadata": S, "syscalls": arr(ref("syscall"))},
               ("defaultAction",),
               dependentRequired={"listenerMetadata": ["listenerPath"]},
               **{"if": {"required": ["defaultErrnoRet"]},
                  "then": {"properties": {"defaultAction": {"enum": list(ERRNO_ACTIONS)}}}})


def memory_policy_schema() -> dict[str, Any]:
    both_numberings = {"allOf": [{"contains": {"const": "MPOL_F_STATIC_NODES"}},
                                 {"contains": {"const": "MPOL_F_RELATIVE_NODES"}}]}
    return obj({"mode": enum(MPOL_MODES), "nodes": ref("cpuList"),
                "flags": arr(enum(MPOL_FLAGS)) | {"not": both_numberings}},
               ("mode",),
               allOf=[
                   {"if": {"properties": {"mode": {"enum": ["MPOL_DEFAULT", "MPOL_LOCAL"]}}},
                    "then": {"properties": {"nodes": {"maxLength": 0}}}},
                   {"if": {"properties": {"mode": {"enum": [
                       "MPOL_BIND", "MPOL_INTERLEAVE", "MPOL_WEIGHTED_INTERLEAVE",
                       "MPOL_PREFERRED_MANY"]}}},
                    "then": {"required": ["nodes"],
                             "properties": {"nodes": {"minLength": 1}}}},
               ])


def linux_schema() -> dict[str, Any]:
    clos_id = {"type": "string",
               "anyOf": [{"const": "/"}, {"pattern": "^[^/\n]+$", **NO_NL}],
               "not": {"enum": [".", ".."]}}
    return obj({
        "namespaces": arr(ref("namespace")) | unique_by("type", NAMESPACE_TYPES),
        "uidMappings": ref("idMappings"),
        "gidMappings": ref("idMappings"),
        "timeOffsets": {"type": "object",
                        "propertyNames": {"enum": ["monotonic", "boottime"]},
                        "additionalProperties": ref("timeOffset")},
        "devices": arr(ref("device")),
        "netDevices": {"type": "object", "propertyNames": ref("ifName"),
                       "additionalProperties": obj({"name": ref("ifName")})},
        "cgroupsPath": S,
        "resources": ref("resources"),
        "intelRdt": obj({"closID": clos_id,
                         "l3CacheSchema": S,  # a newline there is only a SHOULD NOT
                         "memBwSchema": {"type": "string", "pattern": "^MB:", **NO_NL},
                         "schemata": arr(ref("oneLine")),
                         "enableMonitoring": B}),
        "memoryPolicy": ref("memoryPolicy"),
        "sysctl": ref("stringMap"),
        "seccomp": ref("seccomp"),
        "rootfsPropagation": enum(("shared", "slave", "private", "unbindable", "rshared",
                                   "rslave", "rprivate", "runbindable")),
        "maskedPaths": arr(ref("absPath")),
        "readonlyPaths": arr(ref("absPath")),
        "mountLabel": S,
        "personality": obj({"domain": enum(("LINUX", "LINUX32")),
                            "flags": arr(S, maxItems=0)}, ("domain",)),
    })


def config_schema() -> dict[str, Any]:
    has_userns = obj({"linux": obj({"namespaces": {
        "contains": obj({"type": {"const": "user"}}, ("type",))}}, ("namespaces",))},
        ("linux",))
    idmap_needs_mappings = {"if": {"properties": {"options": {
        "contains": {"enum": ["idmap", "ridmap"]}}}, "required": ["options"]},
        "then": {"required": ["uidMappings"]}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": ID_BASE + "config.schema.json",
        "title": "ocirt config.json (OCI runtime-spec 1.3, Linux)",
        "description": "What ocirt accepts in a bundle's config.json. Unknown properties "
                       "are allowed (config.md Extensibility). ocirt.spec.validate also "
                       "checks what JSON Schema cannot compare: rlimit soft <= hard, "
                       "ID-mapping ranges within uint32, cpu burst <= quota, ascending list "
                       "ranges, and the supported ociVersion range (1.0 to 1.3).",
        **obj({
            "ociVersion": ref("semver"),
            "root": obj({"path": S, "readonly": B}, ("path",)),
            "mounts": arr(ref("mount")),
            "process": ref("process"),
            "hostname": S,
            "domainname": S,
            "hooks": obj({k: ref("hooks") for k in HOOK_NAMES}),
            "annotations": ref("stringMap"),
            "linux": ref("linux"),
            **{k: {"type": "object"} for k in ("solaris", "windows", "vm", "zos", "freebsd")},
        }, ("ociVersion", "root")),
        # config.md "Linux mount options" (idmap, ridmap)
        "if": {"not": has_userns},
        "then": {"properties": {"mounts": {"items": idmap_needs_mappings}}},
        "$defs": config_defs(),
    }


def features_schema() -> dict[str, Any]:
    def nullable(t: str) -> dict[str, Any]:
        return {"type": [t, "null"]}

    def list_of(items: dict[str, Any]) -> dict[str, Any]:
        return {"type": ["array", "null"], "items": items}

    def switches(*names: str) -> dict[str, Any]:
        return {"type": ["object", "null"],
                "properties": {n: nullable("boolean") for n in names}}

    def group(**props: Any) -> dict[str, Any]:
        return {"type": ["object", "null"], "properties": props}

    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": ID_BASE + "features.schema.json",
        "title": "runtime features (OCI runtime-spec 1.3 features.md, features-linux.md)",
        "description": "Every property but ociVersionMin and ociVersionMax may be absent or "
                       "null. That ociVersionMax is not below ociVersionMin is not checked.",
        "type": "object",
        "properties": {
            "ociVersionMin": ref("semver"),
            "ociVersionMax": ref("semver"),
            "hooks": list_of(S),
            "mountOptions": list_of(S),
            "annotations": {"type": ["object", "null"], "propertyNames": {"minLength": 1},
                            "additionalProperties": S},
            "potentiallyUnsafeConfigAnnotations": list_of(S),
            "linux": group(
                namespaces=list_of(enum(NAMESPACE_TYPES)),
                capabilities=list_of({"type": "string", "pattern": "^CAP_[A-Z0-9_]+$"}),
                cgroup=switches("v1", "v2", "systemd", "systemdUser", "rdma"),
                seccomp=group(enabled=nullable("boolean"), actions=list_of(enum(ACTIONS)),
                              operators=list_of(enum(OPERATORS)), archs=list_of(enum(ARCHES)),
                              knownFlags=list_of(enum(FLAGS)),
                              supportedFlags=list_of(enum(FLAGS))),
                apparmor=switches("enabled"),
                selinux=switches("enabled"),
                memoryPolicy=group(modes=list_of(enum(MPOL_MODES)),
                                   flags=list_of(enum(MPOL_FLAGS))),
                intelRdt=switches("enabled", "schemata", "monitoring"),
                mountExtensions=group(idmap=switches("enabled")),
                netDevices=switches("enabled"),
            ),
        },
        "required": ["ociVersionMin", "ociVersionMax"],
        "$defs": {"semver": SEMVER},
    }


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2) + "\n"


GENERATED = {"config.schema.json": config_schema, "features.schema.json": features_schema}


def main() -> None:
    for name, build in GENERATED.items():
        (HERE / name).write_text(render(build()))


if __name__ == "__main__":
    main()
