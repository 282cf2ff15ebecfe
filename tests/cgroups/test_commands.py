"""pause/resume, update, ps, events and delete over the container's cgroup."""

from __future__ import annotations

import json
import os
import subprocess
import time

from tests.cgroups.helpers import V2, cg_dir, cg_read, has_controller, start, state, wait_for
from tests.conftest import Ocirt, leftovers, ocirt_binary

COUNTER = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /out/n; sleep 0.05; done"]


def _count(bundle: str) -> int:
    try:
        with open(os.path.join(bundle, "out", "n")) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def test_pause_stops_every_process_and_resume_restarts_them(ocirt: Ocirt) -> None:
    cid, bundle = start(ocirt, COUNTER)
    assert wait_for(lambda: _count(bundle) > 2)
    ocirt("pause", cid)
    assert state(ocirt, cid)["status"] == "paused"
    if V2:
        assert "frozen 1" in cg_read(cid, "", "cgroup.events")
    else:
        assert cg_read(cid, "freezer", "freezer.state") == "FROZEN"
    frozen_at = _count(bundle)
    time.sleep(0.5)
    assert _count(bundle) == frozen_at  # nothing ran while frozen
    res = ocirt("pause", cid, check=False)
    assert res.returncode != 0 and "not running" in res.stderr
    ocirt("resume", cid)
    assert state(ocirt, cid)["status"] == "running"
    assert wait_for(lambda: _count(bundle) > frozen_at + 2)
    res = ocirt("resume", cid, check=False)
    assert res.returncode != 0 and "not paused" in res.stderr


def test_delete_force_of_a_paused_container_leaves_nothing(ocirt: Ocirt) -> None:
    cid, _ = start(ocirt, ["sh", "-c", "sleep 1000 & sleep 1000"])
    ocirt("pause", cid)
    ocirt("delete", "--force", cid)
    assert leftovers(cid, ocirt.root) == []


def test_update_changes_the_files_live(ocirt: Ocirt) -> None:
    cid, _ = start(ocirt, ["sleep", "1000"], {"memory": {"limit": 64 << 20},
                                              "pids": {"limit": 50},
                                              "cpu": {"shares": 1024}})
    ocirt("update", "--memory", "128m", "--pids-limit", "77", "--cpu-shares", "0",
          "--cpu-quota", "20000", "--cpu-period", "100000", "--cpuset-cpus", "0",
          "--blkio-weight", "200", cid)
    if V2:
        assert cg_read(cid, "memory", "memory.max") == str(128 << 20)
        assert cg_read(cid, "cpu", "cpu.weight") == "39"  # 0 left shares as they were
        assert cg_read(cid, "cpu", "cpu.max") == "20000 100000"
    else:
        assert cg_read(cid, "memory", "memory.limit_in_bytes") == str(128 << 20)
        assert cg_read(cid, "cpu", "cpu.shares") == "1024"
        assert cg_read(cid, "cpu", "cpu.cfs_quota_us") == "20000"
        weight = cg_read(cid, "blkio", "blkio.bfq.weight")
        assert weight == "200"
    assert cg_read(cid, "pids", "pids.max") == "77"
    assert cg_read(cid, "cpuset", "cpuset.cpus") == "0"
    ocirt("update", "--cpu-period", "50000", cid)  # the quota stays
    if V2:
        assert cg_read(cid, "cpu", "cpu.max") == "20000 50000"
    else:
        assert cg_read(cid, "cpu", "cpu.cfs_quota_us") == "20000"
        assert cg_read(cid, "cpu", "cpu.cfs_period_us") == "50000"
    # -r - : linux.resources JSON on stdin; the flags win over it
    r = json.dumps({"pids": {"limit": 33}, "memory": {"reservation": 16 << 20}})
    res = ocirt("update", "-r", "-", "--pids-limit", "34", cid, input=r, text=True)
    assert res.returncode == 0
    assert cg_read(cid, "pids", "pids.max") == "34"
    low = "memory.low" if V2 else "memory.soft_limit_in_bytes"
    assert cg_read(cid, "memory", low) == str(16 << 20)
    saved = json.loads(ocirt("state", cid).stdout)
    assert saved["status"] == "running"


def test_update_errors_name_the_field(ocirt: Ocirt) -> None:
    cid, bundle = start(ocirt, ["sh", "-c", "x=$(head -c 2000000 /dev/zero | tr '\\0' a); "
                                "sleep 1000"], {"memory": {"limit": 64 << 20}})
    time.sleep(0.5)
    res = ocirt("update", "--pids-limit", "x", cid, check=False)
    assert res.returncode != 0 and "--pids-limit" in res.stderr
    path = os.path.join(bundle, "r.json")
    with open(path, "w") as f:
        json.dump({"memory": {"limit": 4096, "checkBeforeUpdate": True}}, f)
    res = ocirt("update", "-r", path, cid, check=False)
    assert res.returncode != 0
    assert res.stderr.startswith("config.json: linux.resources.memory.limit: rejecting"), res
    limit = "memory.max" if V2 else "memory.limit_in_bytes"
    assert cg_read(cid, "memory", limit) == str(64 << 20)  # unchanged
    res = ocirt("update", "-r", "-", cid, input='{"pids": {"limit": "x"}}', text=True,
                check=False)
    assert res.returncode != 0 and "linux.resources.pids.limit" in res.stderr
    ocirt("kill", cid, "KILL")
    wait_for(lambda: state(ocirt, cid)["status"] == "stopped")
    res = ocirt("update", "--pids-limit", "5", cid, check=False)
    assert res.returncode != 0 and "not running" in res.stderr


def test_ps_lists_the_container_processes(ocirt: Ocirt) -> None:
    cid, _ = start(ocirt, ["sh", "-c", "sleep 1000 & sleep 1000"])
    pid = state(ocirt, cid)["pid"]
    assert wait_for(lambda: len(json.loads(ocirt("ps", "-f", "json", cid).stdout)) == 2)
    pids = json.loads(ocirt("ps", "--format", "json", cid).stdout)
    assert pid in pids and all(isinstance(p, int) for p in pids)
    with open(os.path.join(cg_dir(cid, "pids"), "cgroup.procs")) as f:
        assert sorted(int(p) for p in f.read().split()) == pids
    table = ocirt("ps", cid).stdout.splitlines()
    assert table[0].split()[:2] == ["UID", "PID"]
    assert sorted(int(line.split()[1]) for line in table[1:]) == pids
    assert "sleep 1000" in table[1]  # busybox sh execs its last command


def test_events_stats_prints_runc_shaped_json(ocirt: Ocirt) -> None:
    cid, _ = start(ocirt, ["sh", "-c", "sleep 1000 & sleep 1000"],
                   {"memory": {"limit": 64 << 20}, "pids": {"limit": 20}})
    ev = json.loads(ocirt("events", "--stats", cid).stdout)
    assert ev["type"] == "stats" and ev["id"] == cid
    data = ev["data"]
    assert set(data) >= {"cpu", "memory", "pids", "blkio", "hugetlb"}
    assert data["pids"]["limit"] == 20 and data["pids"]["current"] >= 2
    assert data["memory"]["usage"]["limit"] == 64 << 20
    assert data["memory"]["usage"]["usage"] > 0
    assert data["cpu"]["usage"]["total"] > 0
    assert isinstance(data["memory"]["raw"], dict)
    if has_controller("hugetlb"):
        assert "2MB" in data["hugetlb"]


def test_events_reports_oom_and_periodic_stats(ocirt: Ocirt) -> None:
    """The stream: stats every interval, {"type":"oom"} when the kernel OOM-kills inside
    the container (dd's 64 MiB buffer in 16 MiB, once the stream is up), ending with it."""
    cid, bundle = start(ocirt, ["sh", "-c", "while [ ! -e /out/go ]; do sleep 0.1; done; "
                                "dd if=/dev/zero of=/dev/null bs=64M count=1; sleep 1000"],
                        {"memory": {"limit": 16 << 20, "swap": 16 << 20}})
    cmd = ocirt_binary() + ["--root", ocirt.root, "events", "--interval", "1s", cid]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())  # type: ignore[union-attr]
        assert first["type"] == "stats" and first["id"] == cid
        open(os.path.join(bundle, "out", "go"), "w").close()
        types = []
        deadline = time.monotonic() + 60
        while "oom" not in types and time.monotonic() < deadline:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line:
                break
            types.append(json.loads(line)["type"])
        assert "oom" in types, types
        ocirt("kill", cid, "KILL")
        assert proc.wait(timeout=30) == 0  # the stream ends with the container
    finally:
        proc.kill()
        proc.wait()


def test_failed_create_leaves_no_cgroup(ocirt: Ocirt) -> None:
    """A resource the kernel refuses fails create after the cgroup was made: it is gone."""
    from tests.cgroups.helpers import create_fails

    err = create_fails(ocirt, {"cpu": {"cpus": "4096"}})
    assert err.startswith("config.json: linux.resources.cpu.cpus: "), err


def test_delete_force_of_running_container_kills_leftovers(ocirt: Ocirt) -> None:
    """Without a pid namespace the init's children survive it: delete --force kills them
    through the cgroup and removes it."""
    bundle, cfg = ocirt.bundle(["sh", "-c", "sleep 1000 & sleep 1000"])
    cid = ocirt.new_id()
    ocirt.set_cgroup(cfg, cid)
    cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "pid"]
    ocirt.write(bundle, cfg)
    ocirt("run", "-d", "-b", bundle, cid)
    assert wait_for(lambda: len(json.loads(ocirt("ps", "-f", "json", cid).stdout)) == 2)
    pids = json.loads(ocirt("ps", "-f", "json", cid).stdout)
    ocirt("delete", "--force", cid)
    assert leftovers(cid, ocirt.root) == []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                assert f.read().split(")")[1].split()[0] in ("Z", "X")
        except FileNotFoundError:
            pass
