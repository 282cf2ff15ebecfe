"""`ocirt features` (features.md, features-linux.md): valid against the schema, and every
claim is backed by behaviour (each claim → the test that exercises it is listed in
CLAIMS_COVERED_BY; the claims with no e2e home elsewhere are exercised here)."""

from __future__ import annotations

import json
import os
import subprocess

import jsonschema
import pytest

from ocirt.errors import ConfigError
from tests.conftest import Ocirt, ocirt_binary

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECCOMP_TESTS = os.path.join(ROOT, "tests", "seccomp", "test_seccomp.py")


@pytest.fixture(scope="module")
def features() -> dict:
    res = subprocess.run(ocirt_binary() + ["features"], capture_output=True, text=True,
                         check=True)
    return json.loads(res.stdout)


def test_validates_against_the_schema(features: dict) -> None:
    with open(os.path.join(ROOT, "schemas", "features.schema.json")) as f:
        jsonschema.validate(features, json.load(f))
    assert features["ociVersionMin"] == "1.0.0" and features["ociVersionMax"] == "1.3.0"


def test_annotations(features: dict) -> None:
    from ocirt import __version__
    from ocirt.seccomp import libseccomp_version

    a = features["annotations"]
    assert a["org.opencontainers.ocirt.version"] == __version__
    assert a["org.opencontainers.ocirt.libseccomp.version"] == libseccomp_version()
    commit = a["org.opencontainers.ocirt.commit"]
    if os.path.isdir(os.path.join(ROOT, ".git")):
        # the commit the build recorded: one of this checkout's (HEAD, or an earlier one
        # when the build predates the last commit)
        assert len(commit) == 40, commit
        known = subprocess.run(["git", "-C", ROOT, "merge-base", "--is-ancestor", commit,
                                "HEAD"], capture_output=True)
        assert known.returncode == 0, commit


def test_features_takes_no_arguments() -> None:
    res = subprocess.run(ocirt_binary() + ["features", "x"], capture_output=True, text=True)
    assert res.returncode != 0 and "takes no arguments" in res.stderr


def test_seccomp_claims_are_exercised(features: dict) -> None:
    """Every action, operator and flag claimed appears in the seccomp e2e tests, where
    each one is run in a container."""
    sc = features["linux"]["seccomp"]
    assert sc["enabled"] is True
    with open(SECCOMP_TESTS) as f:
        text = f.read()
    for name in sc["actions"] + sc["operators"] + sc["knownFlags"]:
        assert f'"{name}"' in text, name
    assert set(sc["supportedFlags"]) <= set(sc["knownFlags"])


def test_seccomp_supported_flags_are_accepted_by_the_kernel(features: dict) -> None:
    from ocirt.seccomp import flag_supported

    for flag in features["linux"]["seccomp"]["knownFlags"]:
        assert (flag in features["linux"]["seccomp"]["supportedFlags"]) == flag_supported(flag)


def test_every_claimed_arch_is_known_to_libseccomp(features: dict) -> None:
    """Each arch compiles into a filter, or fails only because it cannot share one with
    the native arch (byte order), never as unknown."""
    from ocirt.seccomp import compile_profile

    for arch in features["linux"]["seccomp"]["archs"]:
        try:
            prog, _ = compile_profile({"defaultAction": "SCMP_ACT_ALLOW",
                                       "architectures": [arch]})
            assert prog
        except ConfigError as e:
            assert "not supported by this libseccomp" not in str(e), arch


def test_every_claimed_mount_option_is_recognised(features: dict) -> None:
    """A recognised option never reaches mount(2)'s data string."""
    from ocirt.plan.mounts import plan_mount

    for opt in features["mountOptions"]:
        entry = {"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": [opt]}
        if opt in ("bind", "rbind", "idmap", "ridmap"):
            entry.update(type="bind", source="/tmp")
        m = plan_mount(0, entry, "/b", {"uid": "0 0 1\n", "gid": "0 0 1\n"})
        assert opt not in m.data.split(","), opt


def test_every_claimed_memory_policy_is_planned(features: dict) -> None:
    from ocirt.native.plan import Plan
    from ocirt.plan.process import plan_attributes

    mp = features["linux"]["memoryPolicy"]
    modes = set()
    for mode in mp["modes"]:
        p = Plan()
        nodes = {} if mode in ("MPOL_DEFAULT", "MPOL_LOCAL") else {"nodes": "0"}
        plan_attributes(p, {"linux": {"memoryPolicy": {"mode": mode, **nodes}}})
        modes.add(p.mempolicy_mode)
    assert len(modes) == len(mp["modes"])
    for flag in mp["flags"]:
        p = Plan()
        plan_attributes(p, {"linux": {"memoryPolicy": {"mode": "MPOL_BIND", "nodes": "0",
                                                       "flags": [flag]}}})
        assert p.mempolicy_mode & ~0xFF, flag


def test_every_claimed_capability_is_granted(ocirt: Ocirt, features: dict) -> None:
    """All claimed names in the bounding set: the container gets each one this host can
    grant, and is told about the others."""
    from ocirt.spec.caps import NUMBERS

    names = features["linux"]["capabilities"]
    with open("/proc/self/status") as f:
        host = int(next(x for x in f if x.startswith("CapBnd:")).split()[1], 16)
    bundle, cfg = ocirt.bundle(["grep", "^CapBnd:", "/proc/self/status"])
    cfg["process"]["capabilities"] = {"bounding": names}
    ocirt.write(bundle, cfg)
    res = ocirt("run", "--bundle", bundle, ocirt.new_id())
    want = sum(1 << NUMBERS[n] for n in names) & host
    assert int(res.stdout.split()[1], 16) == want
    for n in names:
        if not host >> NUMBERS[n] & 1:
            assert n in res.stderr


def test_every_claimed_namespace_is_created(ocirt: Ocirt, features: dict) -> None:
    """All claimed namespace types at once: each /proc/self/ns link differs from ours (the
    user namespace, whose mapped root cannot reach the tests' private rootfs, is
    exercised in tests/native and conformance/test_linux.py)."""
    kinds = {"cgroup": "cgroup", "ipc": "ipc", "mount": "mnt", "network": "net",
             "pid": "pid", "time": "time", "user": "user", "uts": "uts"}
    claimed = features["linux"]["namespaces"]
    assert set(claimed) == set(kinds)
    bundle, cfg = ocirt.bundle(["sh", "-c", "for n in " + " ".join(kinds.values())
                                + "; do readlink /proc/self/ns/$n; done"])
    cfg["linux"]["namespaces"] = [{"type": t} for t in claimed if t != "user"]
    ocirt.write(bundle, cfg)
    res = ocirt("run", "--bundle", bundle, ocirt.new_id())
    inside = dict(zip(kinds.values(), res.stdout.split(), strict=True))
    for n in kinds.values():
        same = inside[n] == os.readlink(f"/proc/self/ns/{n}")
        assert same == (n == "user"), (n, inside[n])


def test_intel_rdt_unclaimed_net_devices_claimed(features: dict) -> None:
    """intelRdt is claimed disabled (its refusal: test_process_attrs.py); netDevices is
    claimed, and implemented."""
    assert features["linux"]["intelRdt"] == {"enabled": False}
    assert features["linux"]["netDevices"] == {"enabled": True}


# Where the rest of the claims are exercised (kept next to the claims on purpose):
CLAIMS_COVERED_BY = {
    "hooks": "tests/hooks/ + conformance/test_hooks.py (issue 3)",
    "linux.cgroup.v1/v2/rdma": "tests/cgroups/ (v1 host, v2 guest; rdma.max)",
    "linux.apparmor/selinux": "tests/process/test_process_attrs.py::test_lsm_*, "
                              "test_apparmor_profile_without_apparmor, "
                              "test_selinux_label_without_selinux",
    "linux.mountExtensions.idmap": "tests/native (idmapped mounts), conformance/test_mounts.py",
    "linux.seccomp.*": "tests/seccomp/test_seccomp.py",
    "linux.memoryPolicy": "tests/process/test_process_attrs.py::test_memory_policy",
    "linux.netDevices": "tests/netdev/, conformance/test_linux.py::test_net_devices",
}
