"""runc command-line contract beyond the spec's operations: list, exec, pause/resume, ps.

The spec defines no CLI (runtime.md "Operations" note); these pin the runc behaviour a
drop-in replacement must reproduce.
"""

from __future__ import annotations

import json
import os

from conformance.conftest import Bundle, BundleFactory
from conformance.runtime import Runtime, wait_for_file

SLEEP = ["sh", "-c", "echo ran > /out/ran; exec sleep 1000"]


def _running(rt: Runtime, bundle: BundleFactory) -> Bundle:
    b = bundle(SLEEP)
    rt.create(b.id, b.path)
    rt.start(b.id)
    assert wait_for_file(b.out_path("ran"))
    return b


def test_list_table(rt: Runtime, bundle: BundleFactory) -> None:
    """`list`: a table with runc's header and a row per container (id, pid, status, bundle)."""
    running = _running(rt, bundle)
    created = bundle(SLEEP)
    rt.create(created.id, created.path)
    lines = rt.run("list").stdout.splitlines()
    assert lines[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    rows = {ln.split()[0]: ln.split() for ln in lines[1:]}
    assert set(rows) == {running.id, created.id}
    for b, status in ((running, "running"), (created, "created")):
        row = rows[b.id]
        assert row[1] == str(rt.state(b.id)["pid"])
        assert row[2] == status
        assert row[3] == b.path


def test_list_json(rt: Runtime, bundle: BundleFactory) -> None:
    """`list --format json`: an array of objects with id, pid, status, bundle."""
    b = _running(rt, bundle)
    items = rt.list_json()
    assert len(items) == 1
    item = items[0]
    assert item["id"] == b.id
    assert item["pid"] == rt.state(b.id)["pid"]
    assert item["status"] == "running"
    assert item["bundle"] == b.path


def test_list_quiet(rt: Runtime, bundle: BundleFactory) -> None:
    """`list --quiet` / `-q`: ids only, one per line."""
    a = _running(rt, bundle)
    c = bundle(SLEEP)
    rt.create(c.id, c.path)
    assert sorted(rt.run("list", "--quiet").stdout.split()) == sorted([a.id, c.id])
    assert sorted(rt.run("list", "-q").stdout.split()) == sorted([a.id, c.id])


def test_list_empty(rt: Runtime) -> None:
    """`list` of an empty root succeeds; runc prints `null` for `--format json`."""
    assert rt.run("list", "-q").stdout.strip() == ""
    assert json.loads(rt.run("list", "--format", "json").stdout) in (None, [])


def test_list_after_delete(rt: Runtime, bundle: BundleFactory) -> None:
    """A deleted container is no longer listed."""
    b = _running(rt, bundle)
    rt.delete(b.id, force=True)
    assert rt.list_json() == []


def test_exec_runs_in_container(rt: Runtime, bundle: BundleFactory) -> None:
    """`exec ID CMD...`: runs in the container's namespaces with the container's hostname,
    output on our stdout, exit status passed back."""
    b = _running(rt, bundle)
    res = rt.exec(b.id, ["sh", "-c", "hostname; cat /out/ran; exit 3"], check=False)
    assert res.returncode == 3
    assert res.stdout.splitlines() == [b.config["hostname"], "ran"]


def test_exec_env_cwd_user(rt: Runtime, bundle: BundleFactory) -> None:
    """`exec --env K=V --cwd DIR --user UID:GID`."""
    b = _running(rt, bundle)
    res = rt.exec(b.id, ["sh", "-c", "echo $FOO; pwd; id -u; id -g"],
                  "--env", "FOO=bar", "--cwd", "/tmp", "--user", "1000:1000")
    assert res.stdout.split() == ["bar", "/tmp", "1000", "1000"]


def test_exec_missing_command(rt: Runtime, bundle: BundleFactory) -> None:
    """`exec` of a missing command fails with Go's wording, the container keeps running."""
    b = _running(rt, bundle)
    res = rt.exec(b.id, ["no-such-command-xyz"], check=False)
    assert res.returncode != 0
    assert "no-such-command-xyz" in res.stderr
    assert "executable file not found in $PATH" in res.stderr
    assert rt.state(b.id)["status"] == "running"


def test_exec_stopped_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """`exec` into a stopped container fails."""
    b = bundle(["true"])
    rt.create(b.id, b.path)
    rt.start(b.id)
    assert rt.wait_status(b.id, "stopped") == "stopped"
    assert rt.exec(b.id, ["true"], check=False).returncode != 0


def test_pause_resume(rt: Runtime, bundle: BundleFactory) -> None:
    """`pause` / `resume`: status `paused` (a runtime-defined state, runtime.md "State"
    allows additional values), then `running` again."""
    b = _running(rt, bundle)
    rt.run("pause", b.id)
    assert rt.state(b.id)["status"] == "paused"
    rt.run("resume", b.id)
    assert rt.state(b.id)["status"] == "running"


def test_ps(rt: Runtime, bundle: BundleFactory) -> None:
    """`ps --format json`: the host pids of the container's processes."""
    b = _running(rt, bundle)
    pids = json.loads(rt.run("ps", "--format", "json", b.id).stdout)
    assert rt.state(b.id)["pid"] in pids


def test_version(rt: Runtime) -> None:
    """`--version` succeeds and names a spec version."""
    out = rt.run("--version").stdout
    assert "spec" in out


def test_update_pids_limit(rt: Runtime, bundle: BundleFactory) -> None:
    """`update --pids-limit N`: changes the container's pids limit in its cgroup."""
    b = _running(rt, bundle)
    rt.run("update", "--pids-limit", "77", b.id)
    paths = [f"/sys/fs/cgroup/pids/ocirt-conformance/{b.id}/pids.max",
             f"/sys/fs/cgroup/unified/ocirt-conformance/{b.id}/pids.max",
             f"/sys/fs/cgroup/ocirt-conformance/{b.id}/pids.max"]
    values = []
    for p in paths:
        if os.path.exists(p):
            with open(p) as f:
                values.append(f.read().strip())
    assert "77" in values, values
