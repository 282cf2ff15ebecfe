"""Operations in the wrong state and failed creates (runtime.md "Operations", "Errors")."""

from __future__ import annotations

import os

import pytest

from conformance.conftest import BundleFactory, cgroup_dirs, pid_alive, reap_children
from conformance.runtime import Runtime, wait_for_file

SLEEP = ["sh", "-c", "echo ran > /out/ran; exec sleep 1000"]


def _running(rt: Runtime, bundle: BundleFactory) -> str:
    b = bundle(SLEEP)
    rt.create(b.id, b.path)
    rt.start(b.id)
    assert wait_for_file(b.out_path("ran"))
    return b.id


def _stopped(rt: Runtime, bundle: BundleFactory) -> str:
    b = bundle(["true"])
    rt.create(b.id, b.path)
    rt.start(b.id)
    assert rt.wait_status(b.id, "stopped") == "stopped"
    return b.id


def test_start_running_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Start": start of a container that is not `created` errors, no effect."""
    cid = _running(rt, bundle)
    pid = rt.state(cid)["pid"]
    assert rt.start(cid, check=False).returncode != 0
    st = rt.state(cid)
    assert (st["status"], st["pid"]) == ("running", pid)


def test_start_stopped_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Start": start of a `stopped` container errors and it stays stopped."""
    cid = _stopped(rt, bundle)
    assert rt.start(cid, check=False).returncode != 0
    assert rt.state(cid)["status"] == "stopped"


def test_start_unknown_fails(rt: Runtime) -> None:
    """runtime.md "Start": there is no such container to start."""
    assert rt.start("no-such-container", check=False).returncode != 0


def test_create_existing_id_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Create": a non-unique id errors, no new container, the first is intact."""
    first = bundle(SLEEP)
    rt.create(first.id, first.path)
    before = rt.state(first.id)
    second = bundle(["sh", "-c", "echo second > /out/second"], cid=first.id + "-b")
    res = rt.run("create", "--bundle", second.path, first.id, check=False)
    assert res.returncode != 0
    after = rt.state(first.id)
    assert after == before, "the existing container changed"
    assert not os.path.exists(second.out_path("second"))
    rt.start(first.id)
    assert wait_for_file(first.out_path("ran")), "the first container no longer starts"


@pytest.mark.parametrize("bad_id", ["../escape", "a/b", ""])
def test_create_invalid_id_fails(rt: Runtime, bundle: BundleFactory, bad_id: str) -> None:
    """runtime.md "Create": an id that is not valid errors and creates nothing."""
    b = bundle(SLEEP)
    res = rt.run("create", "--bundle", b.path, bad_id, check=False)
    assert res.returncode != 0
    assert rt.list_json() == []
    assert not os.path.exists(os.path.join(os.path.dirname(rt.root), "escape"))


def test_delete_running_without_force_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Delete": delete of a non-stopped container errors and changes nothing."""
    cid = _running(rt, bundle)
    before = rt.state(cid)
    assert rt.delete(cid, check=False).returncode != 0
    assert rt.state(cid) == before
    assert os.path.exists(f"/proc/{before['pid']}")


@pytest.mark.spec_deviation(
    runtime=("runc", "ocirt"),
    reason="`delete` of a created container kills and deletes it without --force: runc does, "
           "and containerd deletes never-started tasks that way, so ocirt follows runc")
def test_delete_created_without_force_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Delete": a `created` container is not stopped, so delete must error and
    leave it as it was."""
    b = bundle(SLEEP)
    rt.create(b.id, b.path)
    res = rt.delete(b.id, check=False)
    assert res.returncode != 0
    assert rt.status(b.id) == "created"


def test_delete_force_running(rt: Runtime, bundle: BundleFactory) -> None:
    """runc CLI `delete --force`: kills a running container and deletes it."""
    cid = _running(rt, bundle)
    pid = rt.state(cid)["pid"]
    rt.delete(cid, force=True)
    assert rt.status(cid) is None
    # the fixture re-checks process and cgroup; here check the pid specifically
    reap_children()
    assert not pid_alive(pid)
    assert cgroup_dirs(cid) == []


def test_delete_force_unknown_succeeds(rt: Runtime) -> None:
    """runc CLI contract (observed with runc 1.1.5): `delete --force` of an unknown id exits
    0, like `rm -f`; plain `delete` of it fails. Nothing is created as a side effect."""
    assert rt.delete("no-such-container", force=True, check=False).returncode == 0
    assert rt.delete("no-such-container", check=False).returncode != 0
    assert rt.status("no-such-container") is None


def test_kill_unknown_fails(rt: Runtime) -> None:
    """runtime.md "Kill": there is no container, so kill must error."""
    assert rt.kill("no-such-container", "KILL", check=False).returncode != 0


def test_kill_stopped_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Kill": a container neither created nor running: error, no effect."""
    cid = _stopped(rt, bundle)
    assert rt.kill(cid, "KILL", check=False).returncode != 0
    assert rt.state(cid)["status"] == "stopped"


def test_state_unknown_fails(rt: Runtime) -> None:
    """runtime.md "Query State": a container that does not exist is an error."""
    res = rt.run("state", "no-such-container", check=False)
    assert res.returncode != 0
    assert res.stdout.strip() == ""


@pytest.mark.parametrize("op", ["state", "start", "kill", "delete"])
def test_operation_without_id_fails(rt: Runtime, op: str) -> None:
    """runtime.md "Operations": every operation errors when not given a container id."""
    assert rt.run(op, check=False).returncode != 0


def test_create_without_bundle_config_fails(rt: Runtime, test_dir: str) -> None:
    """runtime.md "Create": without a bundle (no config.json) create must error."""
    empty = os.path.join(test_dir, "empty-bundle")
    os.makedirs(empty)
    res = rt.create("no-config", empty, check=False)
    assert res.returncode != 0
    assert "config.json" in res.stderr


def _assert_failed_create(rt: Runtime, cid: str, res_stderr: str, needle: str) -> None:
    assert rt.status(cid) is None, "a failed create left a container"
    assert needle in res_stderr, f"stderr does not name the problem ({needle!r}): {res_stderr}"
    assert cgroup_dirs(cid) == [], "a failed create left its cgroup"


def test_create_empty_args_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Process": args is REQUIRED non-empty... runtime.md "Errors": a failed
    create leaves the environment as if it had not been attempted."""
    b = bundle([])
    res = rt.create(b.id, b.path, check=False)
    assert res.returncode != 0
    _assert_failed_create(rt, b.id, res.stderr, "args")


def test_create_missing_rootfs_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Root": the root path must exist; runtime.md "Errors"."""
    b = bundle(["true"])
    missing = os.path.join(b.path, "no-such-rootfs")
    b.config["root"] = {"path": missing, "readonly": True}
    b.write()
    res = rt.create(b.id, b.path, check=False)
    assert res.returncode != 0
    _assert_failed_create(rt, b.id, res.stderr, "no-such-rootfs")


def test_missing_executable_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Errors" / config.md "Process": args[0] that cannot be found. runc reports
    it at create with Go's wording `executable file not found in $PATH`; a runtime may report
    it at create or at start, but create+start must not succeed and the wording must match."""
    b = bundle(["no-such-command-xyz"])
    res = rt.create(b.id, b.path, check=False)
    if res.returncode == 0:
        res = rt.start(b.id, check=False)
        assert res.returncode != 0
    else:
        assert rt.status(b.id) is None
        assert cgroup_dirs(b.id) == []
    assert "no-such-command-xyz" in res.stderr
    assert "executable file not found in $PATH" in res.stderr


def test_run_missing_executable_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """runc CLI `run`: same wording, non-zero exit, nothing left behind."""
    b = bundle(["no-such-command-xyz"])
    res = rt.run_container(b.id, b.path, check=False)
    assert res.returncode != 0
    # runc logs through logrus, which escapes the quotes; match around them
    assert "no-such-command-xyz" in res.stderr
    assert "executable file not found in $PATH" in res.stderr
    assert rt.status(b.id) is None


def test_create_without_process_then_start_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Start": start must error when `process` was not set (create may already
    refuse such a config)."""
    b = bundle(["true"])
    del b.config["process"]
    b.write()
    res = rt.create(b.id, b.path, check=False)
    if res.returncode == 0:
        assert rt.start(b.id, check=False).returncode != 0
    else:
        assert rt.status(b.id) is None


def test_mount_failure_fails_create(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Create": a property that cannot be applied (a bind mount of a missing
    source) errors and no container is created."""
    b = bundle(["true"])
    b.config["mounts"].append({"destination": "/mnt/a", "type": "bind",
                               "source": "/no/such/source/dir", "options": ["bind"]})
    b.write()
    res = rt.create(b.id, b.path, check=False)
    assert res.returncode != 0
    _assert_failed_create(rt, b.id, res.stderr, "/no/such/source/dir")
