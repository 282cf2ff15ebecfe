"""Engine-format seccomp profiles (Docker's default.json, podman's seccomp.json) → the
`linux.seccomp` an engine hands the runtime on x86_64, the way Docker's and podman's
converters do: archMap picks the architectures; includes/excludes (caps, arches,
minKernel) pick the rules; engine-only keys are dropped."""

from __future__ import annotations

import json
import os
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
# Docker's default capability set (what its converter tests includes/excludes against)
DOCKER_CAPS = ["CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
               "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
               "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"]


def _kernel() -> tuple[int, ...]:
    release = os.uname().release.split("-")[0]
    return tuple(int(x) for x in release.split(".")[:2])


def to_oci(profile_file: str, caps: list[str], go_arch: str = "amd64") -> dict[str, Any]:
    with open(os.path.join(HERE, profile_file)) as f:
        prof = json.load(f)
    out: dict[str, Any] = {"defaultAction": prof["defaultAction"]}
    if "defaultErrnoRet" in prof:
        out["defaultErrnoRet"] = prof["defaultErrnoRet"]
    for m in prof.get("archMap") or []:
        if m["architecture"] == "SCMP_ARCH_X86_64":
            out["architectures"] = [m["architecture"], *(m.get("subArchitectures") or [])]
    rules = []
    for s in prof["syscalls"]:
        inc, exc = s.get("includes") or {}, s.get("excludes") or {}
        if inc.get("arches") and go_arch not in inc["arches"]:
            continue
        if go_arch in (exc.get("arches") or []):
            continue
        if not set(inc.get("caps") or []) <= set(caps):
            continue
        if set(exc.get("caps") or []) & set(caps):
            continue
        if inc.get("minKernel") and _kernel() < tuple(
                int(x) for x in inc["minKernel"].split(".")[:2]):
            continue
        rule = {k: s[k] for k in ("names", "action", "errnoRet", "args") if s.get(k)}
        rules.append(rule)
    out["syscalls"] = rules
    return out
