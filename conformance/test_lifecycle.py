"""The container lifecycle and state (runtime.md "Lifecycle", "State", "Operations")."""

from __future__ import annotations

import json
import os
import re
import signal

from conformance.conftest import BundleFactory
from conformance.runtime import Runtime, wait_for_file

# the user process reports that it ran by writing a file into the bind-mounted /out
RAN = ["sh", "-c", "echo ran > /out/ran; exec sleep 1000"]
RAN_AND_EXIT = ["sh", "-c", "echo ran > /out/ran"]


def test_state_after_create(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Lifecycle" step 2 and "State": after create the status is `created`, the
    container process exists, and the user program has not run."""
    b = bundle(RAN)
    rt.create(b.id, b.path)
    st = rt.state(b.id)
    assert st["status"] == "created"
    assert isinstance(st["pid"], int) and st["pid"] > 0
    assert os.path.exists(f"/proc/{st['pid']}")
    assert st["id"] == b.id
    assert st["bundle"] == b.path and os.path.isabs(st["bundle"])
    assert not os.path.exists(b.out_path("ran")), "process.args ran before start"


def test_state_has_required_fields(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "State": ociVersion, id, status, pid (created/running on Linux) and bundle
    are REQUIRED; annotations from the config are reported."""
    b = bundle(RAN)
    b.config["annotations"] = {"org.example.key": "value", "other": ""}
    b.write()
    rt.create(b.id, b.path)
    st = rt.state(b.id)
    for key, typ in (("ociVersion", str), ("id", str), ("status", str), ("pid", int),
                     ("bundle", str)):
        assert isinstance(st.get(key), typ), f"{key} missing or not {typ.__name__}: {st}"
    assert re.match(r"^\d+\.\d+\.\d+", st["ociVersion"]), st["ociVersion"]
    assert st["annotations"] == {"org.example.key": "value", "other": ""}


def test_state_annotations_absent_or_empty(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "State": without annotations in the config, the property is absent or {}."""
    b = bundle(RAN)
    rt.create(b.id, b.path)
    assert rt.state(b.id).get("annotations") in (None, {})


def test_bundle_is_absolute_when_given_relative(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "State": `bundle` is the absolute path, even if create got a relative one."""
    b = bundle(RAN)
    parent, name = os.path.split(b.path)
    rt.create(b.id, name, cwd=parent)
    assert rt.state(b.id)["bundle"] == b.path


def test_start_runs_process_then_stopped(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Lifecycle" steps 6-10 and "Start": start runs process.args; status is
    `running` while it runs and `stopped` once it exited."""
    b = bundle(["sh", "-c", "echo ran > /out/ran; read x < /out/fifo"])
    os.mkfifo(b.out_path("fifo"), 0o666)
    rt.create(b.id, b.path)
    pid = rt.state(b.id)["pid"]
    rt.start(b.id)
    assert wait_for_file(b.out_path("ran")), "user process did not run after start"
    st = rt.state(b.id)
    assert st["status"] == "running"
    assert st["pid"] == pid, "the container process is the one create made"
    # let the process finish: open the fifo for writing so its `read` returns
    fd = os.open(b.out_path("fifo"), os.O_WRONLY)
    os.write(fd, b"go\n")
    os.close(fd)
    assert rt.wait_status(b.id, "stopped") == "stopped"


def test_delete_removes_container(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Delete" and "Lifecycle" steps 11-12: after delete, state of the id fails."""
    b = bundle(RAN_AND_EXIT)
    rt.create(b.id, b.path)
    rt.start(b.id)
    assert rt.wait_status(b.id, "stopped") == "stopped"
    rt.delete(b.id)
    res = rt.run("state", b.id, check=False)
    assert res.returncode != 0
    assert not os.path.exists(os.path.join(rt.root, b.id))


def test_id_reusable_after_delete(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Delete": once deleted, the id may be used by a new container."""
    b = bundle(RAN_AND_EXIT)
    rt.create(b.id, b.path)
    rt.delete(b.id, force=True)
    rt.create(b.id, b.path)
    assert rt.state(b.id)["status"] == "created"


def test_config_changes_after_create_ignored(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Lifecycle" step 2 / "Create": config.json edits after create do not affect
    the container."""
    b = bundle(["sh", "-c", "echo original > /out/which"])
    rt.create(b.id, b.path)
    b.config["process"]["args"] = ["sh", "-c", "echo edited > /out/which"]
    b.write()
    rt.start(b.id)
    assert wait_for_file(b.out_path("which"))
    assert rt.wait_status(b.id, "stopped") == "stopped"
    assert b.read_out("which").strip() == "original"


def test_pid_file(rt: Runtime, bundle: BundleFactory) -> None:
    """runc CLI `create --pid-file`: the host pid of the container process, digits only."""
    b = bundle(RAN)
    pid_file = os.path.join(b.path, "pidfile")
    rt.create(b.id, b.path, "--pid-file", pid_file)
    with open(pid_file) as f:
        text = f.read()
    assert text.isdigit(), f"pid file holds {text!r}"
    assert int(text) == rt.state(b.id)["pid"]


def test_run_prints_hostname_user_and_pid1(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Hostname", "User", config-linux.md "Namespaces" (pid): `run` executes the
    process in the foreground with its output on our stdout."""
    b = bundle(["sh", "-c", "hostname; id; echo $$"])
    b.config["hostname"] = "conformance-host"
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.write()
    res = rt.run_container(b.id, b.path)
    lines = res.stdout.splitlines()
    assert lines[0] == "conformance-host"
    assert re.search(r"\buid=1000\b", lines[1]) and re.search(r"\bgid=1000\b", lines[1]), lines
    assert lines[2] == "1"


def test_run_exit_status_propagates(rt: Runtime, bundle: BundleFactory) -> None:
    """runc CLI `run`: exits with the container process's exit status, and deletes it."""
    b = bundle(["sh", "-c", "exit 7"])
    res = rt.run_container(b.id, b.path, check=False)
    assert res.returncode == 7
    assert rt.status(b.id) is None, "run should delete the container when it exits"


def test_run_detached(rt: Runtime, bundle: BundleFactory) -> None:
    """runc CLI `run -d`: create+start, returns while the process keeps running."""
    b = bundle(RAN)
    rt.run_container(b.id, b.path, "--detach")
    assert wait_for_file(b.out_path("ran"))
    assert rt.state(b.id)["status"] == "running"


def test_state_json_is_single_object(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "State": the state is serialized as one JSON object on stdout."""
    b = bundle(RAN)
    rt.create(b.id, b.path)
    out = rt.run("state", b.id).stdout
    assert isinstance(json.loads(out), dict)


def test_process_is_in_configured_cgroup(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Cgroups Path": the container process is placed at cgroupsPath."""
    b = bundle(RAN)
    rt.create(b.id, b.path)
    pid = rt.state(b.id)["pid"]
    with open(f"/proc/{pid}/cgroup") as f:
        lines = f.read().splitlines()
    paths = {line.split(":", 2)[2] for line in lines}
    assert f"/ocirt-conformance/{b.id}" in paths, lines


def test_externally_killed_is_stopped(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "State" stopped / "Lifecycle" step 10: the process may exit by any means
    (here SIGKILL from outside the runtime); the runtime then reports `stopped` and delete
    works."""
    b = bundle(RAN)
    rt.create(b.id, b.path)
    rt.start(b.id)
    assert wait_for_file(b.out_path("ran"))
    os.kill(rt.state(b.id)["pid"], signal.SIGKILL)
    assert rt.wait_status(b.id, "stopped") == "stopped"
    rt.delete(b.id)
    assert rt.status(b.id) is None


def test_state_pid_is_namespace_init(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "State" pid: the host pid of the container process, which is pid 1 of the
    container's new pid namespace."""
    b = bundle(RAN)
    rt.create(b.id, b.path)
    pid = rt.state(b.id)["pid"]
    with open(f"/proc/{pid}/status") as f:
        nspid = next(line for line in f if line.startswith("NSpid:")).split()[1:]
    assert nspid == [str(pid), "1"]


def test_exit_code_of_stopped_container_not_needed_for_delete(rt: Runtime,
                                                               bundle: BundleFactory) -> None:
    """runtime.md "Delete": a container whose process failed is still `stopped` and
    deletable (no special state for non-zero exits)."""
    b = bundle(["sh", "-c", "exit 42"])
    rt.create(b.id, b.path)
    rt.start(b.id)
    assert rt.wait_status(b.id, "stopped") == "stopped"
    rt.delete(b.id)
