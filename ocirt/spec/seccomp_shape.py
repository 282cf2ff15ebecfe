"""The shape of `linux.seccomp` (config-linux.md "Seccomp"); names are libseccomp 2.6's."""

from __future__ import annotations

from ocirt.spec.checks import UINT32, UINT64, array, enum, fail, integer, obj, string

ACTIONS = ("SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_TRAP",
           "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG",
           "SCMP_ACT_NOTIFY")
ARCHES = ("SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM",
          "SCMP_ARCH_AARCH64", "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32",
          "SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",
          "SCMP_ARCH_PPC64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X",
          "SCMP_ARCH_PARISC", "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64",
          "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH", "SCMP_ARCH_SHEB")
FLAGS = ("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
         "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
OPERATORS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
             "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ")
# the only actions that carry a return code; giving one to any other MUST fail
ERRNO_ACTIONS = ("SCMP_ACT_ERRNO", "SCMP_ACT_TRACE")


def _errno_fits(action_key: str, errno_key: str):
    def rule(v: dict, path: str) -> None:
        if errno_key in v and v[action_key] not in ERRNO_ACTIONS:
            raise fail(f"{path}.{errno_key}",
                       f"{v[action_key]} takes no errno (only {' and '.join(ERRNO_ACTIONS)})")
    return rule


def _metadata_needs_listener(v: dict, path: str) -> None:
    if "listenerMetadata" in v and "listenerPath" not in v:
        raise fail(f"{path}.listenerMetadata", "must not be set without listenerPath")


# seccomp_data carries six syscall arguments, numbered 0 to 5
_arg = obj({"index": integer(0, 5, "syscall argument index"), "value": UINT64,
            "valueTwo": UINT64, "op": enum(OPERATORS)},
           required=("index", "value", "op"))

_syscall = obj(
    {"names": array(string, non_empty=True), "action": enum(ACTIONS), "errnoRet": UINT32,
     "args": array(_arg)},
    required=("names", "action"),
    rules=(_errno_fits("action", "errnoRet"),),
)

seccomp = obj(
    {"defaultAction": enum(ACTIONS), "defaultErrnoRet": UINT32,
     "architectures": array(enum(ARCHES)), "flags": array(enum(FLAGS)),
     "listenerPath": string, "listenerMetadata": string, "syscalls": array(_syscall)},
    required=("defaultAction",),
    rules=(_errno_fits("defaultAction", "defaultErrnoRet"), _metadata_needs_listener),
)
