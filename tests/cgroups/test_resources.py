"""config-linux.md "Control groups": every linux.resources field lands in the container's
cgroup (read back from its files) on whichever driver the host has, and the kernel enforces
memory, pids and devices limits. The same tests run on the v1 host and in the v2 guest."""

from __future__ import annotations

import pytest

from tests.cgroups.helpers import V2, cg_dir, cg_read, create_fails, has_controller, run, start
from tests.conftest import Ocirt

SLEEP = ["sleep", "1000"]


# -- memory ----------------------------------------------------------------------------------

def test_memory_fields_land_in_the_cgroup(ocirt: Ocirt) -> None:
    mem = {"limit": 64 << 20, "reservation": 32 << 20, "swap": 96 << 20}
    if not V2:
        mem.update(swappiness=10, disableOOMKiller=True, useHierarchy=True,
                   kernelTCP=16 << 20)
    cid, _ = start(ocirt, SLEEP, {"memory": mem})
    if V2:
        assert cg_read(cid, "memory", "memory.max") == str(64 << 20)
        assert cg_read(cid, "memory", "memory.low") == str(32 << 20)
        assert cg_read(cid, "memory", "memory.swap.max") == str(32 << 20)  # swap alone
        return
    assert cg_read(cid, "memory", "memory.limit_in_bytes") == str(64 << 20)
    assert cg_read(cid, "memory", "memory.soft_limit_in_bytes") == str(32 << 20)
    assert cg_read(cid, "memory", "memory.memsw.limit_in_bytes") == str(96 << 20)
    assert cg_read(cid, "memory", "memory.swappiness") == "10"
    assert "oom_kill_disable 1" in cg_read(cid, "memory", "memory.oom_control")
    assert cg_read(cid, "memory", "memory.use_hierarchy") == "1"
    assert cg_read(cid, "memory", "memory.kmem.tcp.limit_in_bytes") == str(16 << 20)


def test_allocation_past_the_memory_limit_is_oom_killed(ocirt: Ocirt) -> None:
    """The kernel enforces memory.limit: dd's 64 MiB buffer in a 16 MiB cgroup → 137."""
    res, _ = run(ocirt, ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"],
                 {"memory": {"limit": 16 << 20, "swap": 16 << 20}})
    assert res.returncode == 137, res
    ok, _ = run(ocirt, ["dd", "if=/dev/zero", "of=/dev/null", "bs=1M", "count=1"],
                {"memory": {"limit": 16 << 20, "swap": 16 << 20}})
    assert ok.returncode == 0, ok


def test_kernel_memory_is_ignored_with_a_warning(ocirt: Ocirt) -> None:
    bundle, cfg = ocirt.bundle(["true"])
    cfg["linux"]["resources"]["memory"] = {"kernel": 64 << 20}
    ocirt.write(bundle, cfg)
    res = ocirt("run", "-b", bundle, ocirt.new_id())
    assert "linux.resources.memory.kernel" in res.stderr and "ignored" in res.stderr


def test_bad_swappiness_fails_create_naming_the_field(ocirt: Ocirt) -> None:
    err = create_fails(ocirt, {"memory": {"swappiness": 101}} if not V2 else
                       {"memory": {"limit": 1 << 20, "swap": 1 << 10}})
    field = "swap" if V2 else "swappiness"
    assert err.startswith(f"config.json: linux.resources.memory.{field}: "), err
    assert "\n" not in err


@pytest.mark.skipif(V2, reason="memory.use_hierarchy exists only on cgroup v1")
def test_use_hierarchy_false_is_refused_by_the_kernel(ocirt: Ocirt) -> None:
    err = create_fails(ocirt, {"memory": {"useHierarchy": False}})
    assert err.startswith("config.json: linux.resources.memory.useHierarchy: "), err


# -- pids ------------------------------------------------------------------------------------

def test_pids_limit_lands_and_is_enforced(ocirt: Ocirt) -> None:
    cid, _ = start(ocirt, SLEEP, {"pids": {"limit": 42}})
    assert cg_read(cid, "pids", "pids.max") == "42"
    res, _ = run(ocirt, ["sh", "-c", "for i in 1 2 3 4 5 6; do sleep 2 & done; wait"],
                 {"pids": {"limit": 3}})
    assert "can't fork" in res.stderr + res.stdout, res
    res, _ = run(ocirt, ["sh", "-c", "for i in 1 2 3 4 5 6; do sleep 0 & done; wait"],
                 {"pids": {"limit": -1}})
    assert res.returncode == 0 and "can't fork" not in res.stderr, res


# -- cpu -------------------------------------------------------------------------------------

def test_cpu_fields_land_in_the_cgroup(ocirt: Ocirt) -> None:
    cpu = {"shares": 512, "quota": 50000, "period": 100000, "burst": 1000, "idle": 0,
           "cpus": "0", "mems": "0"}
    cid, _ = start(ocirt, SLEEP, {"cpu": cpu})
    if V2:
        assert cg_read(cid, "cpu", "cpu.weight") == "20"  # 1 + (512-2)*9999/262142
        assert cg_read(cid, "cpu", "cpu.max") == "50000 100000"
        assert cg_read(cid, "cpu", "cpu.max.burst") == "1000"
    else:
        assert cg_read(cid, "cpu", "cpu.shares") == "512"
        assert cg_read(cid, "cpu", "cpu.cfs_quota_us") == "50000"
        assert cg_read(cid, "cpu", "cpu.cfs_period_us") == "100000"
        assert cg_read(cid, "cpu", "cpu.cfs_burst_us") == "1000"
    assert cg_read(cid, "cpu", "cpu.idle") == "0"
    assert cg_read(cid, "cpuset", "cpuset.cpus") == "0"
    assert cg_read(cid, "cpuset", "cpuset.mems") == "0"


def test_cpu_idle(ocirt: Ocirt) -> None:
    """idle 1 makes the group SCHED_IDLE (the kernel then reports the minimum weight)."""
    cid, _ = start(ocirt, SLEEP, {"cpu": {"idle": 1}})
    assert cg_read(cid, "cpu", "cpu.idle") == "1"


def test_cpu_realtime(ocirt: Ocirt) -> None:
    rt = {"cpu": {"realtimePeriod": 500000, "realtimeRuntime": 1000}}
    if V2:
        err = create_fails(ocirt, rt)
        assert err.startswith("config.json: linux.resources.cpu.realtimePeriod: "), err
        return
    cid, _ = start(ocirt, SLEEP, rt)
    assert cg_read(cid, "cpu", "cpu.rt_period_us") == "500000"
    assert cg_read(cid, "cpu", "cpu.rt_runtime_us") == "1000"


def test_shares_out_of_range_names_the_field(ocirt: Ocirt) -> None:
    err = create_fails(ocirt, {"cpu": {"shares": 1 << 20}})
    assert err.startswith("config.json: linux.resources.cpu.shares: "), err


# -- block I/O -------------------------------------------------------------------------------

def test_blkio_weight(ocirt: Ocirt) -> None:
    """v1: BFQ's blkio.bfq.weight (no CFQ on current kernels); v2: io.bfq.weight as is, or
    io.weight converted from the 10-1000 range."""
    import os

    cid, _ = start(ocirt, SLEEP, {"blockIO": {"weight": 300}})
    if not V2:
        assert cg_read(cid, "blkio", "blkio.bfq.weight") == "300"
    elif os.path.exists(os.path.join(cg_dir(cid, "io"), "io.bfq.weight")):
        assert cg_read(cid, "io", "io.bfq.weight").splitlines()[0] == "default 300"
    else:
        assert cg_read(cid, "io", "io.weight").splitlines()[0] == "default 2930"


def test_blkio_per_device_weight_and_throttles(ocirt: Ocirt,
                                               bfq_device: tuple[int, int]) -> None:
    major, minor = bfq_device
    dev = f"{major}:{minor}"
    bio = {"weightDevice": [{"major": major, "minor": minor, "weight": 500}],
           "throttleReadBpsDevice": [{"major": major, "minor": minor, "rate": 1 << 20}],
           "throttleWriteBpsDevice": [{"major": major, "minor": minor, "rate": 2 << 20}],
           "throttleReadIOPSDevice": [{"major": major, "minor": minor, "rate": 100}],
           "throttleWriteIOPSDevice": [{"major": major, "minor": minor, "rate": 200}]}
    cid, _ = start(ocirt, SLEEP, {"blockIO": bio})
    if V2:
        assert f"{dev} 500" in cg_read(cid, "io", "io.bfq.weight")
        io_max = cg_read(cid, "io", "io.max")
        assert f"{dev} rbps={1 << 20} wbps={2 << 20} riops=100 wiops=200" in io_max
        return
    assert f"{dev} 500" in cg_read(cid, "blkio", "blkio.bfq.weight_device")
    assert cg_read(cid, "blkio", "blkio.throttle.read_bps_device") == f"{dev} {1 << 20}"
    assert cg_read(cid, "blkio", "blkio.throttle.write_bps_device") == f"{dev} {2 << 20}"
    assert cg_read(cid, "blkio", "blkio.throttle.read_iops_device") == f"{dev} 100"
    assert cg_read(cid, "blkio", "blkio.throttle.write_iops_device") == f"{dev} 200"


def test_leaf_weight_without_cfq(ocirt: Ocirt) -> None:
    """leafWeight needs CFQ (gone from current kernels): an error on v1 (runc writes the
    file and fails), ignored with a warning on v2."""
    if V2:
        bundle, cfg = ocirt.bundle(["true"])
        cfg["linux"]["resources"]["blockIO"] = {"leafWeight": 300}
        ocirt.write(bundle, cfg)
        res = ocirt("run", "-b", bundle, ocirt.new_id())
        assert "linux.resources.blockIO.leafWeight" in res.stderr
        return
    err = create_fails(ocirt, {"blockIO": {"leafWeight": 300}})
    assert err.startswith("config.json: linux.resources.blockIO.leafWeight: "), err


# -- hugetlb, network, rdma, unified ---------------------------------------------------------

def test_hugepage_limits(ocirt: Ocirt) -> None:
    res = {"hugepageLimits": [{"pageSize": "2MB", "limit": 4 << 20}]}
    if not has_controller("hugetlb"):
        err = create_fails(ocirt, res)
        assert err == ("config.json: linux.resources.hugepageLimits[0]: no hugetlb cgroup "
                       "controller on this host"), err
        return
    cid, _ = start(ocirt, SLEEP, res)
    name = "hugetlb.2MB.max" if V2 else "hugetlb.2MB.limit_in_bytes"
    assert cg_read(cid, "hugetlb", name) == str(4 << 20)


def test_network_class_and_priorities(ocirt: Ocirt) -> None:
    net = {"network": {"classID": 0x100001, "priorities": [{"name": "lo", "priority": 3}]}}
    if V2:  # no net_cls/net_prio in v2: runc ignores them
        bundle, cfg = ocirt.bundle(["true"])
        cfg["linux"]["resources"].update(net)
        ocirt.write(bundle, cfg)
        res = ocirt("run", "-b", bundle, ocirt.new_id())
        assert "linux.resources.network" in res.stderr and "ignored" in res.stderr
        return
    if not has_controller("net_cls"):
        err = create_fails(ocirt, net)
        assert err == ("config.json: linux.resources.network.classID: no net_cls cgroup "
                       "controller on this host"), err
        return
    cid, _ = start(ocirt, SLEEP, net)
    assert cg_read(cid, "net_cls", "net_cls.classid") == str(0x100001)
    assert "lo 3" in cg_read(cid, "net_prio", "net_prio.ifpriomap")


def test_rdma_limits(ocirt: Ocirt) -> None:
    """No RDMA device here: with the controller the kernel refuses the unknown device, without
    it the field is an error; either way create fails naming the field."""
    err = create_fails(ocirt, {"rdma": {"mlx5_0": {"hcaHandles": 3, "hcaObjects": 100}}})
    assert err.startswith("config.json: linux.resources.rdma.mlx5_0: "), err


def test_unified(ocirt: Ocirt) -> None:
    if not V2:
        err = create_fails(ocirt, {"unified": {"pids.max": "99"}})
        assert err.startswith("config.json: linux.resources.unified: "), err
        return
    cid, _ = start(ocirt, SLEEP, {"unified": {"pids.max": "99", "memory.high": "50000000"}})
    assert cg_read(cid, "pids", "pids.max") == "99"
    assert cg_read(cid, "memory", "memory.high") == "49999872"  # page-aligned by the kernel
    err = create_fails(ocirt, {"unified": {"nosuch.max": "1"}})
    assert err == ("config.json: linux.resources.unified.nosuch.max: no nosuch cgroup "
                   "controller in this cgroup"), err
    err = create_fails(ocirt, {"unified": {"../pids.max": "1"}})
    assert err.startswith("config.json: linux.resources.unified.../pids.max: "), err


# -- devices ---------------------------------------------------------------------------------

KMSG = {"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 0o644}
PROBE = ["sh", "-c", "dd if=/dev/kmsg of=/dev/null count=0 2>&1 && echo R-ok; "
         "echo x 2>&1 > /dev/kmsg && echo W-ok; echo > /dev/null && echo null-ok"]


def test_denied_device_fails_with_eperm(ocirt: Ocirt) -> None:
    """deny-all (the default spec) + the standard devices: opening /dev/kmsg for writing
    (which needs no capability, see the next test) fails EPERM, /dev/null works."""
    res, _ = run(ocirt, PROBE, {"devices": [{"allow": False, "access": "rwm"}]},
                 devices=[KMSG])
    out = res.stdout + res.stderr
    assert "can't create /dev/kmsg: Operation not permitted" in out and "W-ok" not in out, out
    assert "null-ok" in out


def test_allowed_access_bits_only(ocirt: Ocirt) -> None:
    """A rule allowing only `w`: the write open works, the read open is refused."""
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "w"}]
    res, cid = run(ocirt, PROBE, {"devices": rules}, devices=[KMSG])
    out = res.stdout + res.stderr
    assert "W-ok" in out and "R-ok" not in out and "Operation not permitted" in out, out


def test_device_rules_in_the_cgroup_and_update_replaces_them(ocirt: Ocirt) -> None:
    """v1: devices.list holds the reduced rules; v2: one BPF program is attached, and an
    update swaps it for another (still one) that the kernel enforces at once."""
    import json
    import os

    from tests.cgroups.helpers import wait_for

    loop = ["sh", "-c", "while ! echo x 2>/dev/null > /dev/kmsg; do sleep 0.1; done; "
            "echo written > /out/w; sleep 1000"]
    cid, bundle = start(ocirt, loop, {"devices": [{"allow": False, "access": "rwm"}]},
                        devices=[KMSG])
    if V2:
        from ocirt.cgroups.bpf import attached_programs

        assert attached_programs(cg_dir(cid, "")) == 1
    else:
        lines = cg_read(cid, "devices", "devices.list").splitlines()
        assert "c 1:3 rwm" in lines and "a *:* rwm" not in lines and "c 1:11 w" not in lines
    marker = os.path.join(bundle, "out", "w")
    assert not wait_for(lambda: os.path.exists(marker), timeout=1.0)
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "w"}]
    ocirt("update", "-r", "-", cid, input=json.dumps({"devices": rules}), text=True)
    assert wait_for(lambda: os.path.exists(marker))
    if V2:
        assert attached_programs(cg_dir(cid, "")) == 1
    else:
        assert "c 1:11 w" in cg_read(cid, "devices", "devices.list").splitlines()
