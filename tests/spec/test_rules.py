"""One rejection per rule the validator enforces, each a mutation of a config that
otherwise passes, so every row fails if its rule is removed. The comment on each row names
the spec section the rule comes from."""

from __future__ import annotations

from typing import Any

import pytest

from ocirt.errors import ConfigError
from ocirt.spec import validate
from tests.spec.helpers import full_config, schema_errors, unescape, with_value, without

DEL = object()  # marks "remove this field"
HAND_ONLY = False  # the rule compares numbers across fields, which JSON Schema cannot

# (field to change, new value or DEL, field the error must name, schema also rejects?)
REJECTIONS: list[tuple[str, Any, str, bool]] = [
    # config.md "Specification version"
    ("ociVersion", DEL, "ociVersion", True),
    ("ociVersion", 1.3, "ociVersion", True),
    ("ociVersion", "1.3", "ociVersion", True),
    ("ociVersion", "01.0.0", "ociVersion", True),
    ("ociVersion", "1.0.0-", "ociVersion", True),
    ("ociVersion", "2.0.0", "ociVersion", HAND_ONLY),  # other major: no compatibility
    ("ociVersion", "1.4.0", "ociVersion", HAND_ONLY),  # newer minor: fields we don't know
    # config.md "Root"
    ("root", DEL, "root", True),
    ("root", "rootfs", "root", True),
    ("root.path", DEL, "root.path", True),
    ("root.path", 7, "root.path", True),
    ("root.readonly", "yes", "root.readonly", True),
    # config.md "Mounts", "POSIX-platform Mounts"
    ("mounts", {}, "mounts", True),
    ("mounts[0]", "/proc", "mounts[0]", True),
    ("mounts[0].destination", DEL, "mounts[0].destination", True),
    ("mounts[0].destination", None, "mounts[0].destination", True),
    ("mounts[0].source", 1, "mounts[0].source", True),
    ("mounts[0].type", ["proc"], "mounts[0].type", True),
    ("mounts[0].options", "ro", "mounts[0].options", True),
    ("mounts[1].options[1]", 1, "mounts[1].options[1]", True),
    ("mounts[1].gidMappings", DEL, "mounts[1].gidMappings", True),
    ("mounts[1].uidMappings", DEL, "mounts[1].uidMappings", True),
    ("mounts[1].uidMappings[0].size", 0, "mounts[1].uidMappings[0].size", True),
    # config.md "Process"
    ("process", [], "process", True),
    ("process.args", DEL, "process.args", True),
    ("process.args", [], "process.args", True),
    ("process.args[0]", 0, "process.args[0]", True),
    ("process.cwd", DEL, "process.cwd", True),
    ("process.cwd", "root", "process.cwd", True),
    ("process.cwd", "", "process.cwd", True),
    ("process.terminal", 1, "process.terminal", True),
    ("process.consoleSize.height", DEL, "process.consoleSize.height", True),
    ("process.consoleSize.width", -1, "process.consoleSize.width", True),
    ("process.env", "A=1", "process.env", True),
    ("process.env[1]", "TERM", "process.env[1]", True),
    ("process.env[0]", 5, "process.env[0]", True),
    ("process.commandLine", ["sh"], "process.commandLine", True),
    # config.md "POSIX process"
    ("process.rlimits[0].type", "RLIMIT_BOGUS", "process.rlimits[0].type", True),
    ("process.rlimits[0].type", "NOFILE", "process.rlimits[0].type", True),
    ("process.rlimits[1].type", "RLIMIT_NOFILE", "process.rlimits[1].type", True),
    ("process.rlimits[0].soft", DEL, "process.rlimits[0].soft", True),
    ("process.rlimits[0].hard", -1, "process.rlimits[0].hard", True),
    ("process.rlimits[0].soft", 1 << 64, "process.rlimits[0].soft", True),
    ("process.rlimits[0].soft", 2048, "process.rlimits[0].soft", HAND_ONLY),
    # config.md "Linux Process"
    ("process.capabilities", ["CAP_KILL"], "process.capabilities", True),
    ("process.capabilities.bounding[0]", 5, "process.capabilities.bounding[0]", True),
    ("process.capabilities.ambient", "CAP_KILL", "process.capabilities.ambient", True),
    ("process.noNewPrivileges", "true", "process.noNewPrivileges", True),
    ("process.oomScoreAdj", 1001, "process.oomScoreAdj", True),
    ("process.oomScoreAdj", 1.5, "process.oomScoreAdj", True),
    ("process.oomScoreAdj", True, "process.oomScoreAdj", True),
    ("process.apparmorProfile", 1, "process.apparmorProfile", True),
    ("process.selinuxLabel", {}, "process.selinuxLabel", True),
    ("process.scheduler.policy", DEL, "process.scheduler.policy", True),
    ("process.scheduler.policy", "SCHED_FAST", "process.scheduler.policy", True),
    ("process.scheduler.nice", 1 << 31, "process.scheduler.nice", True),
    ("process.scheduler.flags[0]", "SCHED_FLAG_NONE", "process.scheduler.flags[0]", True),
    ("process.scheduler.runtime", -1, "process.scheduler.runtime", True),
    ("process.ioPriority.class", "IOPRIO_CLASS_NONE", "process.ioPriority.class", True),
    ("process.ioPriority.priority", DEL, "process.ioPriority.priority", True),
    ("process.ioPriority.priority", 8, "process.ioPriority.priority", True),
    ("process.execCPUAffinity.initial", "0-3,x", "process.execCPUAffinity.initial", True),
    ("process.execCPUAffinity.final", 7, "process.execCPUAffinity.final", True),
    # config.md "POSIX-platform User"
    ("process.user.uid", DEL, "process.user.uid", True),
    ("process.user.gid", DEL, "process.user.gid", True),
    ("process.user.uid", -1, "process.user.uid", True),
    ("process.user.gid", "0", "process.user.gid", True),
    ("process.user.umask", 1 << 32, "process.user.umask", True),
    ("process.user.additionalGids[1]", "6", "process.user.additionalGids[1]", True),
    # config.md "Hostname", "Domainname"
    ("hostname", 1, "hostname", True),
    ("domainname", None, "domainname", True),
    # config.md "POSIX-platform Hooks"
    ("hooks", [], "hooks", True),
    ("hooks.prestart", {}, "hooks.prestart", True),
    ("hooks.createRuntime[0].path", DEL, "hooks.createRuntime[0].path", True),
    ("hooks.poststop[0].path", "cleanup.sh", "hooks.poststop[0].path", True),
    ("hooks.poststart[0].timeout", 0, "hooks.poststart[0].timeout", True),
    ("hooks.createContainer[0].timeout", "3", "hooks.createContainer[0].timeout", True),
    ("hooks.prestart[0].args[0]", 1, "hooks.prestart[0].args[0]", True),
    ("hooks.prestart[0].env[0]", "novalue", "hooks.prestart[0].env[0]", True),
    # config.md "Annotations"
    ("annotations", [], "annotations", True),
    ("annotations.com\x00x", None, "annotations.com\x00x", True),
    ("annotations.", "v", "annotations.", True),
    # config.md "Platform-specific configuration"
    ("linux", [], "linux", True),
    ("windows", "c:", "windows", True),
    # config-linux.md "Namespaces"
    ("linux.namespaces", {}, "linux.namespaces", True),
    ("linux.namespaces[0].type", DEL, "linux.namespaces[0].type", True),
    ("linux.namespaces[0].type", "net", "linux.namespaces[0].type", True),
    ("linux.namespaces[1].type", "pid", "linux.namespaces[1].type", True),
    ("linux.namespaces[7].path", "proc/1/ns/time", "linux.namespaces[7].path", True),
    ("linux.namespaces[7].path", 3, "linux.namespaces[7].path", True),
    # config-linux.md "User namespace mappings"
    ("linux.uidMappings[0].containerID", DEL, "linux.uidMappings[0].containerID", True),
    ("linux.gidMappings[0].hostID", -1, "linux.gidMappings[0].hostID", True),
    ("linux.uidMappings[0].size", 1 << 32, "linux.uidMappings[0].size", True),
    ("linux.uidMappings[0].size", 0, "linux.uidMappings[0].size", True),
    ("linux.gidMappings[0].size", (1 << 32) - 1, "linux.gidMappings[0].size", HAND_ONLY),
    # config-linux.md "Offset for Time Namespace"
    ("linux.timeOffsets.realtime", {"secs": 1}, "linux.timeOffsets.realtime", True),
    ("linux.timeOffsets.monotonic.secs", "1", "linux.timeOffsets.monotonic.secs", True),
    ("linux.timeOffsets.boottime.nanosecs", -1, "linux.timeOffsets.boottime.nanosecs", True),
    ("linux.timeOffsets.boottime.nanosecs", 10**9,
     "linux.timeOffsets.boottime.nanosecs", True),
    # config-linux.md "Devices"
    ("linux.devices[0].type", "x", "linux.devices[0].type", True),
    ("linux.devices[0].type", DEL, "linux.devices[0].type", True),
    ("linux.devices[0].path", DEL, "linux.devices[0].path", True),
    ("linux.devices[0].path", "dev/fuse", "linux.devices[0].path", True),
    ("linux.devices[1].major", DEL, "linux.devices[1].major", True),
    ("linux.devices[0].minor", DEL, "linux.devices[0].minor", True),
    ("linux.devices[0].major", "10", "linux.devices[0].major", True),
    ("linux.devices[0].fileMode", -1, "linux.devices[0].fileMode", True),
    ("linux.devices[0].uid", 1 << 32, "linux.devices[0].uid", True),
    # config-linux.md "Network Devices"
    ("linux.netDevices", [], "linux.netDevices", True),
    ("linux.netDevices.eth0.name", 23, "linux.netDevices.eth0.name", True),
    ("linux.netDevices.eth0.name", "a/b", "linux.netDevices.eth0.name", True),
    ("linux.netDevices.eth0.name", "x" * 16, "linux.netDevices.eth0.name", True),
    ("linux.netDevices.ens4", "ens4", "linux.netDevices.ens4", True),
    ("linux.netDevices.\\.\\.", {}, "linux.netDevices.\\.\\.", True),
    # config-linux.md "Cgroups Path"
    ("linux.cgroupsPath", 1, "linux.cgroupsPath", True),
    # config-linux.md "Allowed Device list"
    ("linux.resources.devices[0].allow", DEL, "linux.resources.devices[0].allow", True),
    ("linux.resources.devices[0].allow", "false", "linux.resources.devices[0].allow", True),
    ("linux.resources.devices[1].type", "u", "linux.resources.devices[1].type", True),
    ("linux.resources.devices[1].access", "rwx", "linux.resources.devices[1].access", True),
    ("linux.resources.devices[1].major", "*", "linux.resources.devices[1].major", True),
    # config-linux.md "Memory"
    ("linux.resources.memory.limit", "1G", "linux.resources.memory.limit", True),
    ("linux.resources.memory.swap", 1 << 63, "linux.resources.memory.swap", True),
    ("linux.resources.memory.swappiness", 101, "linux.resources.memory.swappiness", True),
    ("linux.resources.memory.disableOOMKiller", 0,
     "linux.resources.memory.disableOOMKiller", True),
    # config-linux.md "CPU"
    ("linux.resources.cpu.shares", -1, "linux.resources.cpu.shares", True),
    ("linux.resources.cpu.quota", 1.5, "linux.resources.cpu.quota", True),
    ("linux.resources.cpu.cpus", "2-", "linux.resources.cpu.cpus", True),
    ("linux.resources.cpu.mems", "3-1", "linux.resources.cpu.mems", HAND_ONLY),
    ("linux.resources.cpu.burst", 2000000, "linux.resources.cpu.burst", HAND_ONLY),
    # config-linux.md "Block IO"
    ("linux.resources.blockIO.weight", 1 << 16, "linux.resources.blockIO.weight", True),
    ("linux.resources.blockIO.weightDevice[1].leafWeight", DEL,
     "linux.resources.blockIO.weightDevice[1]", True),
    ("linux.resources.blockIO.weightDevice[0].major", DEL,
     "linux.resources.blockIO.weightDevice[0].major", True),
    ("linux.resources.blockIO.throttleReadBpsDevice[0].rate", DEL,
     "linux.resources.blockIO.throttleReadBpsDevice[0].rate", True),
    ("linux.resources.blockIO.throttleWriteIOPSDevice[0].minor", DEL,
     "linux.resources.blockIO.throttleWriteIOPSDevice[0].minor", True),
    # config-linux.md "Huge page limits"
    ("linux.resources.hugepageLimits[0].pageSize", "64kB",
     "linux.resources.hugepageLimits[0].pageSize", True),
    ("linux.resources.hugepageLimits[0].pageSize", "02MB",
     "linux.resources.hugepageLimits[0].pageSize", True),
    ("linux.resources.hugepageLimits[0].limit", DEL,
     "linux.resources.hugepageLimits[0].limit", True),
    # config-linux.md "Network"
    ("linux.resources.network.classID", -1, "linux.resources.network.classID", True),
    ("linux.resources.network.priorities[0].name", DEL,
     "linux.resources.network.priorities[0].name", True),
    # config-linux.md "PIDs"
    ("linux.resources.pids.limit", "max", "linux.resources.pids.limit", True),
    # config-linux.md "RDMA"
    ("linux.resources.rdma.mlx5_1.hcaHandles", "3", "linux.resources.rdma.mlx5_1.hcaHandles",
     True),
    ("linux.resources.rdma.mlx4_0", {}, "linux.resources.rdma.mlx4_0", True),
    # config-linux.md "Unified"
    ("linux.resources.unified.io\\.max", 1, "linux.resources.unified.io\\.max", True),
    # config-linux.md "IntelRdt"
    ("linux.intelRdt.memBwSchema", "L3:0=1", "linux.intelRdt.memBwSchema", True),
    ("linux.intelRdt.memBwSchema", "MB:0=20\n", "linux.intelRdt.memBwSchema", True),
    ("linux.intelRdt.schemata[0]", "L2:0=f\nL3:0=1", "linux.intelRdt.schemata[0]", True),
    ("linux.intelRdt.closID", "../other", "linux.intelRdt.closID", True),
    ("linux.intelRdt.enableMonitoring", "yes", "linux.intelRdt.enableMonitoring", True),
    # config-linux.md "Memory policy"
    ("linux.memoryPolicy.mode", DEL, "linux.memoryPolicy.mode", True),
    ("linux.memoryPolicy.mode", "MPOL_FAST", "linux.memoryPolicy.mode", True),
    ("linux.memoryPolicy.nodes", DEL, "linux.memoryPolicy.nodes", True),
    ("linux.memoryPolicy.mode", "MPOL_LOCAL", "linux.memoryPolicy.nodes", True),
    ("linux.memoryPolicy.flags[0]", "MPOL_F_NONE", "linux.memoryPolicy.flags[0]", True),
    ("linux.memoryPolicy.flags", ["MPOL_F_STATIC_NODES", "MPOL_F_RELATIVE_NODES"],
     "linux.memoryPolicy.flags", True),
    # config-linux.md "Sysctl"
    ("linux.sysctl.net\\.ipv4\\.ip_forward", 1, "linux.sysctl.net\\.ipv4\\.ip_forward", True),
    ("linux.sysctl", ["a=b"], "linux.sysctl", True),
    # config-linux.md "Seccomp"
    ("linux.seccomp.defaultAction", DEL, "linux.seccomp.defaultAction", True),
    ("linux.seccomp.defaultAction", "SCMP_ACT_NONE", "linux.seccomp.defaultAction", True),
    ("linux.seccomp.defaultErrnoRet", -1, "linux.seccomp.defaultErrnoRet", True),
    ("linux.seccomp.architectures[0]", "x86_64", "linux.seccomp.architectures[0]", True),
    ("linux.seccomp.flags[0]", "SECCOMP_FILTER_FLAG_NONE", "linux.seccomp.flags[0]", True),
    ("linux.seccomp.listenerPath", DEL, "linux.seccomp.listenerMetadata", True),
    ("linux.seccomp.syscalls[0].names", [], "linux.seccomp.syscalls[0].names", True),
    ("linux.seccomp.syscalls[0].names", DEL, "linux.seccomp.syscalls[0].names", True),
    ("linux.seccomp.syscalls[0].action", DEL, "linux.seccomp.syscalls[0].action", True),
    ("linux.seccomp.syscalls[0].action", "ALLOW", "linux.seccomp.syscalls[0].action", True),
    ("linux.seccomp.syscalls[0].errnoRet", 1, "linux.seccomp.syscalls[0].errnoRet", True),
    ("linux.seccomp.syscalls[1].args[0].index", 6, "linux.seccomp.syscalls[1].args[0].index",
     True),
    ("linux.seccomp.syscalls[1].args[0].value", DEL,
     "linux.seccomp.syscalls[1].args[0].value", True),
    ("linux.seccomp.syscalls[1].args[0].op", "SCMP_CMP_XOR",
     "linux.seccomp.syscalls[1].args[0].op", True),
    ("linux.seccomp.syscalls[1].args[0].op", DEL, "linux.seccomp.syscalls[1].args[0].op", True),
    # config-linux.md "Rootfs Mount Propagation"
    ("linux.rootfsPropagation", "recursive", "linux.rootfsPropagation", True),
    # config-linux.md "Masked Paths", "Readonly Paths"
    ("linux.maskedPaths[0]", "proc/kcore", "linux.maskedPaths[0]", True),
    ("linux.readonlyPaths", "/proc/sys", "linux.readonlyPaths", True),
    # config-linux.md "Mount Label"
    ("linux.mountLabel", 1, "linux.mountLabel", True),
    # config-linux.md "Personality"
    ("linux.personality.domain", DEL, "linux.personality.domain", True),
    ("linux.personality.domain", "LINUX64", "linux.personality.domain", True),
    ("linux.personality.flags", ["ADDR_NO_RANDOMIZE"], "linux.personality.flags[0]", True),
]


def _mutate(path: str, value: Any) -> dict:
    cfg = full_config()
    return without(cfg, path) if value is DEL else with_value(cfg, path, value)


@pytest.mark.parametrize(("path", "value", "field", "in_schema"), REJECTIONS,
                         ids=[f"{p}={'DEL' if v is DEL else repr(v)[:20]}"
                              for p, v, _, _ in REJECTIONS])
def test_rejected(path: str, value: Any, field: str, in_schema: bool) -> None:
    cfg = _mutate(path, value)
    with pytest.raises(ConfigError) as info:
        validate(cfg)
    assert info.value.field == unescape(field)
    assert str(info.value).startswith(f"config.json: {info.value.field}: ")
    if in_schema:
        assert schema_errors("config", cfg), "the JSON schema accepts what validate() refuses"
    else:
        assert not schema_errors("config", cfg)


def test_base_config_is_valid() -> None:
    validate(full_config())
    assert not schema_errors("config", full_config())


def test_idmap_mount_needs_mappings_or_userns() -> None:
    # config.md "Linux mount options" (idmap): no mount mappings and no user namespace
    cfg = without(without(full_config(), "mounts[1].uidMappings"), "mounts[1].gidMappings")
    validate(cfg)  # the container's user namespace supplies the mapping
    cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "user"]
    with pytest.raises(ConfigError) as info:
        validate(cfg)
    assert info.value.field == "mounts[1].options"
    assert schema_errors("config", cfg)


def test_non_object_top_level() -> None:
    for doc in ([], "x", None, 1):
        with pytest.raises(ConfigError) as info:
            validate(doc)
        assert info.value.field == ""
        assert schema_errors("config", doc)


# Things the spec allows that a stricter reading might refuse: each must pass both.
ACCEPTED: list[tuple[str, Any]] = [
    # runc takes the recursive forms and containerd's CRI plugin sends them
    ("linux.rootfsPropagation", "rshared"),
    ("linux.rootfsPropagation", "rslave"),
    # config.md "Mounts": a relative Linux destination is deprecated, not forbidden
    ("mounts[0].destination", "proc"),
    # config.md "Linux Process": unknown capabilities are warnings at apply time
    ("process.capabilities.bounding", ["CAP_NOT_YET_INVENTED"]),
    # config.md "Extensibility": unknown properties are ignored
    ("process.futureField", {"anything": [1, 2]}),
    ("linux.resources.futureController", 1),
    ("org\\.example\\.extension", True),
    # config.md "Specification version": pre-release and build suffixes are SemVer
    ("ociVersion", "1.0.2-dev"),
    ("ociVersion", "1.3.0-rc.1+build.5"),
    ("ociVersion", "1.1.7"),
    # config.md "Process": env values may be empty; user and consoleSize are optional
    ("process.env", ["A=", "=weird"]),
    ("process.user", DEL),
    # config-linux.md "PIDs": limit is OPTIONAL, 0 and -1 are meaningful
    ("linux.resources.pids", {}),
    ("linux.resources.pids.limit", -1),
    ("linux.resources.pids.limit", 0),
    # config-linux.md "Devices": a fifo needs no numbers
    ("linux.devices[2]", {"type": "p", "path": "/dev/fifo", "fileMode": 420}),
    # config-linux.md "Allowed Device list": type/major/minor/access all default to "all"
    ("linux.resources.devices[1]", {"allow": True}),
    ("linux.resources.devices[1].access", ""),
    # config-linux.md "Memory policy": MPOL_PREFERRED with no nodes means local
    ("linux.memoryPolicy", {"mode": "MPOL_PREFERRED"}),
    ("linux.intelRdt.closID", "/"),
    ("linux.resources.cpu.quota", -1),
    ("process.execCPUAffinity.final", ""),
    ("linux.resources.cpu.cpus", "0, 2-3"),
]


@pytest.mark.parametrize(("path", "value"), ACCEPTED,
                         ids=[f"{p}={'DEL' if v is DEL else repr(v)[:20]}"
                              for p, v in ACCEPTED])
def test_accepted(path: str, value: Any) -> None:
    cfg = _mutate(path, value)
    validate(cfg)
    assert not schema_errors("config", cfg)
