"""config.md "Process" capabilities / scheduler / ioPriority / LSM labels and
config-linux.md personality, memoryPolicy, intelRdt: applied by the init, read back from
inside the container."""

from __future__ import annotations

import os
from typing import Any

import pytest

from ocirt.spec.caps import NUMBERS
from tests.conftest import Ocirt


def _run(ocirt: Ocirt, args: list[str], check: bool = True, linux: dict | None = None,
         **proc: Any) -> Any:
    bundle, cfg = ocirt.bundle(args)
    cfg["process"].update(proc)
    cfg["linux"].update(linux or {})
    ocirt.write(bundle, cfg)
    return ocirt("run", "--bundle", bundle, ocirt.new_id(), check=check)


def _status(text: str) -> dict[str, str]:
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def _mask(*names: str) -> int:
    return sum(1 << NUMBERS[n] for n in names)


def _host_bounding() -> int:
    with open("/proc/self/status") as f:
        return int(_status(f.read())["CapBnd"], 16)


def test_capability_sets(ocirt: Ocirt) -> None:
    """Five different sets; /proc/self/status inside shows exactly each one."""
    caps = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID",
                     "CAP_SETGID", "CAP_NET_RAW"],
        "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "effective": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"],
        "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
        "ambient": ["CAP_NET_BIND_SERVICE"],
    }
    res = _run(ocirt, ["cat", "/proc/self/status"], capabilities=caps)
    st = _status(res.stdout)
    for key, which in (("CapBnd", "bounding"), ("CapInh", "inheritable"),
                       ("CapAmb", "ambient")):
        assert int(st[key], 16) == _mask(*caps[which]), key
    # root's execve: P' = inheritable | bounding, but noNewPrivileges (the default here)
    # caps it to the permitted set it had; root's effective set is all of P'
    assert int(st["CapPrm"], 16) == _mask(*caps["permitted"])
    assert int(st["CapEff"], 16) == _mask(*caps["permitted"])
    res = _run(ocirt, ["cat", "/proc/self/status"], capabilities=caps, noNewPrivileges=False)
    st = _status(res.stdout)
    assert int(st["CapPrm"], 16) == _mask(*caps["bounding"])
    assert int(st["CapEff"], 16) == _mask(*caps["bounding"])


def test_capability_sets_as_non_root(ocirt: Ocirt) -> None:
    """As uid 1000 no root rule applies: permitted/effective after execve are the ambient
    set, inheritable and bounding are as given."""
    caps = {"bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"],
            "effective": ["CAP_NET_BIND_SERVICE"],
            "inheritable": ["CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "ambient": ["CAP_NET_BIND_SERVICE"]}
    res = _run(ocirt, ["cat", "/proc/self/status"], capabilities=caps,
               user={"uid": 1000, "gid": 1000})
    st = _status(res.stdout)
    assert int(st["CapBnd"], 16) == _mask(*caps["bounding"])
    assert int(st["CapInh"], 16) == _mask(*caps["inheritable"])
    assert int(st["CapAmb"], 16) == _mask("CAP_NET_BIND_SERVICE")
    assert int(st["CapPrm"], 16) == _mask("CAP_NET_BIND_SERVICE")
    assert int(st["CapEff"], 16) == _mask("CAP_NET_BIND_SERVICE")


def test_ambient_survives_execve_as_non_root(ocirt: Ocirt) -> None:
    """Acceptance: uid 1000 with CAP_NET_BIND_SERVICE in every set: after the execve (and
    a second one, by sh) CapAmb and CapEff still hold it, so it can bind port 80."""
    caps = {k: ["CAP_NET_BIND_SERVICE"]
            for k in ("bounding", "effective", "permitted", "inheritable", "ambient")}
    res = _run(ocirt, ["sh", "-c", "id -u; grep -E '^Cap(Amb|Eff):' /proc/self/status; "
                       "nc -l -p 80 & sleep 0.2; netstat -ltn | grep -c ':80 '; kill %1"],
               capabilities=caps, user={"uid": 1000, "gid": 1000})
    lines = res.stdout.split("\n")
    want = f"{_mask('CAP_NET_BIND_SERVICE'):016x}"
    assert lines[:3] == ["1000", f"CapEff:\t{want}", f"CapAmb:\t{want}"], res
    assert lines[3] == "1", res


def test_without_ambient_non_root_has_no_caps(ocirt: Ocirt) -> None:
    caps = {k: ["CAP_NET_BIND_SERVICE"]
            for k in ("bounding", "effective", "permitted", "inheritable")}
    res = _run(ocirt, ["grep", "-E", "^Cap(Amb|Eff):", "/proc/self/status"],
               capabilities=caps, user={"uid": 1000, "gid": 1000})
    assert res.stdout.split() == ["CapEff:", "0" * 16, "CapAmb:", "0" * 16]


def test_unknown_and_ungrantable_capabilities_warn_and_start(ocirt: Ocirt) -> None:
    """config.md: an unknown name, or one the runtime cannot grant (outside its own
    bounding set), is a warning naming it; the container starts with the rest."""
    ungrantable = [n for n, bit in NUMBERS.items() if not _host_bounding() >> bit & 1]
    names = ["CAP_KILL", "CAP_NOT_A_THING", *ungrantable[:1]]
    caps = {k: names for k in ("bounding", "effective", "permitted")}
    res = _run(ocirt, ["grep", "^CapBnd:", "/proc/self/status"], capabilities=caps)
    assert "unknown capability 'CAP_NOT_A_THING' ignored" in res.stderr
    assert res.stderr.count("CAP_NOT_A_THING") == 1  # once, not once per set
    assert int(res.stdout.split()[1], 16) == _mask("CAP_KILL")
    if ungrantable:
        assert f"{ungrantable[0]} is not in ocirt's bounding set; not granted" in res.stderr


# -- scheduler, ioPriority, personality, memoryPolicy --------------------------------------

def _stat_fields(text: str) -> list[str]:
    return text.rsplit(")", 1)[1].split()  # field 3 onwards


RT_PARENT = "/sys/fs/cgroup/cpu/ocirt-tests"


def _run_sched(ocirt: Ocirt, args: list[str], sched: dict) -> Any:
    """Real-time policies need RT bandwidth in the container's cpu cgroup when the kernel
    groups RT scheduling (cpu.rt_runtime_us exists): give the parent some, the container
    part of it (linux.resources.cpu.realtimeRuntime)."""
    bundle, cfg = ocirt.bundle(args)
    cfg["process"]["scheduler"] = sched
    cid = ocirt.new_id()
    if sched["policy"] in ("SCHED_FIFO", "SCHED_RR") and os.path.exists(
            "/sys/fs/cgroup/cpu/cpu.rt_runtime_us"):
        os.makedirs(RT_PARENT, exist_ok=True)
        with open(os.path.join(RT_PARENT, "cpu.rt_runtime_us"), "w") as f:
            f.write("20000")
        ocirt.set_cgroup(cfg, cid)
        cfg["linux"].setdefault("resources", {})["cpu"] = {"realtimeRuntime": 10000,
                                                           "realtimePeriod": 1000000}
    ocirt.write(bundle, cfg)
    return ocirt("run", "--bundle", bundle, cid)


@pytest.mark.parametrize("sched,policy,nice,rtprio", [
    ({"policy": "SCHED_BATCH", "nice": 5}, 3, 5, 0),
    ({"policy": "SCHED_IDLE"}, 5, 0, 0),
    ({"policy": "SCHED_OTHER", "nice": -3}, 0, -3, 0),
    ({"policy": "SCHED_FIFO", "priority": 10}, 1, 0, 10),
    ({"policy": "SCHED_RR", "priority": 20}, 2, 0, 20),
])
def test_scheduler(ocirt: Ocirt, sched: dict, policy: int, nice: int, rtprio: int) -> None:
    """sched_setattr(2) on the init: policy (proc(5) field 41), nice (19), rt_priority
    (40) as seen by the container process (cat is exec'd from the init itself)."""
    res = _run_sched(ocirt, ["cat", "/proc/self/stat"], sched)
    f = _stat_fields(res.stdout)
    assert (int(f[41 - 3]), int(f[19 - 3]), int(f[40 - 3])) == (policy, nice, rtprio), f


def test_scheduler_reset_on_fork(ocirt: Ocirt) -> None:
    """SCHED_FLAG_RESET_ON_FORK: children of the container process are SCHED_OTHER; the
    process itself keeps SCHED_RR."""
    res = _run_sched(ocirt, ["sh", "-c", "cat /proc/self/stat; cat /proc/$$/stat"],
                     {"policy": "SCHED_RR", "priority": 5,
                      "flags": ["SCHED_FLAG_RESET_ON_FORK"]})
    child, shell = res.stdout.splitlines()
    assert _stat_fields(child)[41 - 3] == "0" and _stat_fields(shell)[41 - 3] == "2"


def test_scheduler_deadline(ocirt: Ocirt) -> None:
    sched = {"policy": "SCHED_DEADLINE", "runtime": 10_000_000, "deadline": 30_000_000,
             "period": 30_000_000}
    res = _run(ocirt, ["cat", "/proc/self/sched"], scheduler=sched, check=False)
    if "device or resource busy" in res.stderr.lower():
        pytest.skip("this host's root domain has no deadline bandwidth left")
    import re

    assert re.search(r"^policy\s+:\s+6$", res.stdout, re.M), res.stdout


@pytest.mark.parametrize("sched,msg", [
    ({"policy": "SCHED_OTHER", "priority": 3},
     "process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority"),
    ({"policy": "SCHED_FIFO"}, "process.scheduler.priority: SCHED_FIFO needs a priority in"),
    ({"policy": "SCHED_BATCH", "runtime": 5},
     "process.scheduler: runtime, deadline and period are for SCHED_DEADLINE only"),
    ({"policy": "SCHED_OTHER", "nice": 40}, "process.scheduler.nice: 40 is outside -20..19"),
])
def test_scheduler_errors(ocirt: Ocirt, sched: dict, msg: str) -> None:
    res = _run(ocirt, ["true"], check=False, scheduler=sched)
    assert res.returncode != 0 and f"config.json: {msg}" in res.stderr


def test_scheduler_iso_is_refused_by_the_kernel(ocirt: Ocirt) -> None:
    res = _run(ocirt, ["true"], check=False, scheduler={"policy": "SCHED_ISO"})
    assert res.returncode != 0
    assert "sched_setattr (process.scheduler): invalid argument" in res.stderr


@pytest.mark.parametrize("io,want", [
    ({"class": "IOPRIO_CLASS_BE", "priority": 6}, "best-effort: prio 6"),
    ({"class": "IOPRIO_CLASS_RT", "priority": 0}, "realtime: prio 0"),
    ({"class": "IOPRIO_CLASS_IDLE", "priority": 7}, "idle"),
])
def test_io_priority(ocirt: Ocirt, io: dict, want: str) -> None:
    res = _run(ocirt, ["sh", "-c", "ionice -p $$"], ioPriority=io)
    assert res.stdout.strip() == want


@pytest.mark.parametrize("domain,machine", [("LINUX32", ("i686", "i386")),
                                            ("LINUX", ("x86_64",))])
def test_personality(ocirt: Ocirt, domain: str, machine: tuple[str, ...]) -> None:
    if os.uname().machine != "x86_64":
        pytest.skip("written for x86_64 hosts")
    res = _run(ocirt, ["uname", "-m"], linux={"personality": {"domain": domain}})
    assert res.stdout.strip() in machine


@pytest.mark.parametrize("policy,want", [
    ({"mode": "MPOL_BIND", "nodes": "0"}, "bind:0"),
    ({"mode": "MPOL_INTERLEAVE", "nodes": "0"}, "interleave:0"),
    ({"mode": "MPOL_PREFERRED", "nodes": "0"}, "prefer:0"),
    ({"mode": "MPOL_BIND", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}, "bind=static:0"),
    ({"mode": "MPOL_LOCAL"}, "local"),
])
def test_memory_policy(ocirt: Ocirt, policy: dict, want: str) -> None:
    if not os.path.exists("/proc/self/numa_maps"):
        pytest.skip("kernel without NUMA support")
    res = _run(ocirt, ["cat", "/proc/self/numa_maps"], linux={"memoryPolicy": policy})
    assert f" {want} " in res.stdout, res.stdout[:300]


def test_memory_policy_bad_node_is_an_init_error(ocirt: Ocirt) -> None:
    res = _run(ocirt, ["true"], check=False,
               linux={"memoryPolicy": {"mode": "MPOL_BIND", "nodes": "63"}})
    assert res.returncode != 0 and "set_mempolicy (linux.memoryPolicy): " in res.stderr


def test_apparmor_profile_without_apparmor(ocirt: Ocirt) -> None:
    if os.path.isdir("/sys/kernel/security/apparmor"):
        pytest.skip("AppArmor is enabled on this host")
    res = _run(ocirt, ["true"], check=False, apparmorProfile="docker-default")
    assert res.returncode != 0
    assert res.stderr.strip().endswith(
        "config.json: process.apparmorProfile: AppArmor is not enabled on this host (no "
        "/sys/kernel/security/apparmor); cannot apply 'docker-default'")


def test_selinux_label_without_selinux(ocirt: Ocirt) -> None:
    if os.path.isdir("/sys/fs/selinux"):
        pytest.skip("SELinux is enabled on this host")
    res = _run(ocirt, ["true"], check=False,
               selinuxLabel="system_u:system_r:container_t:s0")
    assert res.returncode != 0
    assert "config.json: process.selinuxLabel: SELinux is not enabled on this host" in res.stderr


def test_lsm_labels_reach_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the LSM exists, the label is what the init writes before READY."""
    from ocirt.native.plan import Plan
    from ocirt.plan import process as pp

    monkeypatch.setattr(pp.os.path, "isdir", lambda p: True)
    plan = Plan()
    pp.plan_attributes(plan, {"process": {"apparmorProfile": "p1"}})
    assert (plan.lsm_exec_path, plan.lsm_exec_label) == (
        "/proc/thread-self/attr/apparmor/exec", "exec p1")
    plan = Plan()
    pp.plan_attributes(plan, {"process": {"selinuxLabel": "u:r:t:s0"}})
    assert (plan.lsm_exec_path, plan.lsm_exec_label) == ("/proc/thread-self/attr/exec",
                                                         "u:r:t:s0")


def test_intel_rdt_without_resctrl(ocirt: Ocirt) -> None:
    if os.path.isdir("/sys/fs/resctrl/info"):
        pytest.skip("resctrl is mounted on this host")
    res = _run(ocirt, ["true"], check=False, linux={"intelRdt": {"closID": "x"}})
    assert res.returncode != 0
    assert "config.json: linux.intelRdt: Intel RDT is not available on this host" in res.stderr
