"""wire.encode round-trips through the C decoder the init uses."""

from __future__ import annotations

import json

import pytest

from ocirt.native import plan_dump
from ocirt.native.plan import Capabilities, Device, Mount, Namespace, Plan, Rlimit
from ocirt.native.wire import encode


def _expected(plan: Plan) -> dict:
    d = plan.as_dict()
    d["seccomp_bpf"] = plan.seccomp_bpf.hex()
    d["sched_attr"] = plan.sched_attr.hex()
    d["mempolicy_nodes"] = plan.mempolicy_nodes.hex()
    d["symlinks"] = [list(p) for p in plan.symlinks]
    d["sysctl"] = [list(p) for p in plan.sysctl]
    for r in d["rlimits"]:
        r["soft"] &= (1 << 64) - 1
        r["hard"] &= (1 << 64) - 1
    return d


def test_empty_plan_roundtrip():
    plan = Plan()
    assert json.loads(plan_dump(encode(plan))) == _expected(plan)


def test_full_plan_roundtrip():
    plan = Plan(
        namespaces=[Namespace(0x20000), Namespace(0x40000000, "/var/run/netns/x ünï")],
        timens_offsets="monotonic 10 0\nboottime 20 0\n",
        new_userns=True,
        rootfs="/b/rootfs",
        rootfs_readonly=True,
        rootfs_propagation=(1 << 20) | 0x4000,
        no_pivot=True,
        mounts=[
            Mount("/proc", "proc", "proc", 14),
            Mount("/data", "/host/data", "", 0x1000 | 0x4000 | 1, "", [1 << 18, 1 << 19],
                  attr_set=1, attr_clr=2, tmpcopyup=True, uid_map="0 1000 1\n",
                  gid_map="0 1000 1\n", dest_is_file=True),
        ],
        devices=[Device("/dev/null", "c", 1, 3, 0o666, 0, 0),
                 Device("/dev/sda", "b", 8, 0, 0o600, 5, 6, bind_from_host=True),
                 Device("/dev/p", "p", 0, 0, 0o644, 0, 0)],
        symlinks=[("/dev/fd", "/proc/self/fd")],
        masked_paths=["/proc/kcore", "/proc/keys"],
        readonly_paths=["/proc/sys"],
        sysctl=[("net.ipv4.ip_forward", "1")],
        hostname="",
        domainname="example.org",
        args=["sh", "-c", 'echo "quoted" \\ back'],
        env=["PATH=/bin", "EMPTY=", "NL=a\nb\tc"],
        cwd="/work",
        uid=1000,
        gid=1001,
        additional_gids=[5, 6, 7],
        umask=0o027,
        rlimits=[Rlimit(7, 1024, 4096), Rlimit(4, -1 & ((1 << 64) - 1), (1 << 64) - 1)],
        capabilities=Capabilities(bounding=(1 << 41) - 1, effective=1, permitted=3,
                                  inheritable=4, ambient=0),
        no_new_privileges=True,
        oom_score_adj=-999,
        terminal=True,
        console_width=80,
        console_height=25,
        preserve_fds=2,
        seccomp_bpf=bytes(range(16)),
        seccomp_flags=2,
        uid_mappings="0 100000 65536\n",
        gid_mappings="0 100000 65536\n",
        new_keyring=False,
        keyring_name="_ses.abc",
        personality=8,
        sched_attr=bytes(range(56)),
        ioprio=(2 << 13) | 6,
        mempolicy_mode=2 | (1 << 15),
        mempolicy_nodes=b"\x01" + b"\0" * 7,
        lsm_exec_path="/proc/thread-self/attr/exec",
        lsm_exec_label="system_u:system_r:container_t:s0",
    )
    assert json.loads(plan_dump(encode(plan))) == _expected(plan)


def test_umask_zero_and_oom_zero_are_not_none():
    plan = Plan(umask=0, oom_score_adj=0, capabilities=Capabilities())
    got = json.loads(plan_dump(encode(plan)))
    assert got["umask"] == 0 and got["oom_score_adj"] == 0
    assert got["capabilities"] == Capabilities().as_dict()


@pytest.mark.parametrize("blob", [b"\x01", b"\x12\x00\x00\x00\x05\x00\x00\x00ab",
                                  b"\x12\x00\x00\x00\x02\x00\x00\x00ab",  # no NUL
                                  b"\xff\x00\x00\x00\x00\x00\x00\x00",  # unknown type
                                  b"\x13\x00\x00\x00\x04\x00\x00\x00abcd"])  # bad int size
def test_malformed_plans_are_rejected(blob):
    with pytest.raises(ValueError):
        plan_dump(blob)


def test_embedded_nul_rejected():
    with pytest.raises(ValueError):
        plan_dump(encode(Plan(cwd="/a\0b")))
