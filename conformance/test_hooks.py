"""Lifecycle hooks (config.md "POSIX-platform Hooks", runtime.md "Lifecycle" steps 3-13).

Each hook is a small shell script that saves the state it got on stdin as NAME.json, its mount
namespace as NAME.mnt, and appends NAME to `order`. Hooks run in the runtime namespace write
to the host path of the bundle's out dir; startContainer (path resolved in the container)
writes to /out, the same dir seen from inside.
"""

from __future__ import annotations

import json
import os
import time

import pytest

from conformance.conftest import Bundle, BundleFactory, cgroup_dirs
from conformance.runtime import Runtime
from conformance.util import host_ns_inode

RUNTIME_NS_HOOKS = ("prestart", "createRuntime", "createContainer", "poststart", "poststop")


def _hook(name: str, logdir: str, exit_code: int = 0, extra: str = "") -> dict[str, object]:
    script = (f'cat > {logdir}/{name}.json; readlink /proc/self/ns/mnt > {logdir}/{name}.mnt; '
              f'{extra}echo {name} >> {logdir}/order; exit {exit_code}')
    return {"path": "/bin/sh", "args": ["sh", "-c", script]}


def _with_hooks(b: Bundle, failing: str | None = None) -> None:
    hooks: dict[str, list[dict[str, object]]] = {}
    for name in RUNTIME_NS_HOOKS:
        hooks[name] = [_hook(name, b.out, 1 if name == failing else 0)]
    hooks["startContainer"] = [_hook("startContainer", "/out",
                                     1 if failing == "startContainer" else 0)]
    b.config["hooks"] = hooks
    b.write()


def _order(b: Bundle) -> list[str]:
    if not os.path.exists(b.out_path("order")):
        return []
    return b.read_out("order").split()


def _state(b: Bundle, name: str) -> dict[str, object]:
    data: dict[str, object] = json.loads(b.read_out(f"{name}.json"))
    return data


USER = ["sh", "-c", "echo user >> /out/order; exec sleep 1000"]


def test_hooks_order_and_timing(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "POSIX-platform Hooks": prestart, createRuntime, createContainer run during
    create, in that order; startContainer before the user program; poststart before start
    returns; poststop before delete returns. runtime.md "Lifecycle" steps 3-9, 11-13."""
    b = bundle(USER)
    _with_hooks(b)
    rt.create(b.id, b.path)
    assert _order(b)[:3] == ["prestart", "createRuntime", "createContainer"]
    assert "startContainer" not in _order(b)
    rt.start(b.id)
    assert "poststart" in _order(b), "poststart must run before start returns"
    deadline = time.monotonic() + 10
    while "user" not in _order(b) and time.monotonic() < deadline:
        time.sleep(0.02)
    order = [n for n in _order(b) if n != "poststart"]
    assert order == ["prestart", "createRuntime", "createContainer", "startContainer", "user"]
    rt.kill(b.id, "KILL")
    assert rt.wait_status(b.id, "stopped") == "stopped"
    assert "poststop" not in _order(b)
    rt.delete(b.id)
    assert _order(b)[-1] == "poststop"


@pytest.mark.spec_deviation(runtime="runc",
                            reason="runc 1.1.5 runs poststart hooks during create, with "
                                   "status `created`")
def test_poststart_runs_after_start(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Poststart": called after the user-specified process is executed (so as
    part of start, not create), and the state it gets says `running`."""
    b = bundle(USER)
    _with_hooks(b)
    rt.create(b.id, b.path)
    assert _order(b) == ["prestart", "createRuntime", "createContainer"]
    rt.start(b.id)
    assert "poststart" in _order(b)
    assert _state(b, "poststart")["status"] == "running"


def test_hooks_get_state_on_stdin(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "POSIX-platform Hooks": the container state (runtime.md "State") is passed
    on stdin to every hook."""
    b = bundle(USER)
    _with_hooks(b)
    rt.create(b.id, b.path)
    rt.start(b.id)
    pid = rt.state(b.id)["pid"]
    rt.kill(b.id, "KILL")
    assert rt.wait_status(b.id, "stopped") == "stopped"
    rt.delete(b.id)
    for name in (*RUNTIME_NS_HOOKS, "startContainer"):
        st = _state(b, name)
        assert st["id"] == b.id, name
        assert st["bundle"] == b.path, name
        assert isinstance(st.get("ociVersion"), str), name
        assert isinstance(st.get("status"), str), name
    # hooks in the runtime namespace see the pid as the runtime sees it
    for name in ("createRuntime", "poststart"):
        assert _state(b, name)["pid"] == pid, name
    assert _state(b, "poststop")["status"] == "stopped"


def test_hooks_namespaces(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "POSIX-platform Hooks": prestart/createRuntime/poststart/poststop run in the
    runtime namespace; createContainer and startContainer in the container namespace."""
    b = bundle(USER)
    _with_hooks(b)
    rt.create(b.id, b.path)
    rt.start(b.id)
    container_mnt = os.readlink(f"/proc/{rt.state(b.id)['pid']}/ns/mnt")
    rt.delete(b.id, force=True)
    host_mnt = host_ns_inode("mnt")
    for name in ("prestart", "createRuntime", "poststart", "poststop"):
        assert b.read_out(f"{name}.mnt").strip() == host_mnt, name
    for name in ("createContainer", "startContainer"):
        assert b.read_out(f"{name}.mnt").strip() == container_mnt, name


def test_hook_env_and_args(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "POSIX-platform Hooks": args (argv, args[0] included) and env are used."""
    b = bundle(["true"])
    b.config["hooks"] = {"createRuntime": [{
        "path": "/bin/sh", "args": ["my-argv0", "-c", 'echo "$0 $HOOKVAR" > ' + b.out_path("h")],
        "env": ["HOOKVAR=from-env", "PATH=/usr/bin:/bin"]}]}
    b.write()
    rt.create(b.id, b.path)
    assert b.read_out("h") == "my-argv0 from-env\n"


@pytest.mark.parametrize("failing", ["prestart", "createRuntime", "createContainer"])
def test_failing_create_hook_fails_create(rt: Runtime, bundle: BundleFactory,
                                         failing: str) -> None:
    """runtime.md "Lifecycle" steps 3-5: a failing create-time hook is an error, the
    container is stopped and destroyed (step 12), the user program never runs."""
    b = bundle(USER)
    _with_hooks(b, failing=failing)
    res = rt.create(b.id, b.path, check=False)
    if res.returncode == 0:  # an error may also surface at start, but the program must not run
        assert rt.start(b.id, check=False).returncode != 0
    assert "user" not in _order(b)
    assert rt.status(b.id) in (None, "stopped")
    rt.delete(b.id, force=True, check=False)
    assert cgroup_dirs(b.id) == []


def test_failing_create_hook_runs_poststop(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Lifecycle" step 3 -> 12 -> 13: after a failing createRuntime hook the
    lifecycle continues at step 12, so poststop hooks run."""
    b = bundle(USER)
    _with_hooks(b, failing="createRuntime")
    rt.create(b.id, b.path, check=False)
    rt.delete(b.id, force=True, check=False)
    assert "poststop" in _order(b)


def test_failing_start_container_hook_stops(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Lifecycle" step 7: after a failing startContainer hook the container is
    stopped and the user program does not run."""
    b = bundle(USER)
    _with_hooks(b, failing="startContainer")
    rt.create(b.id, b.path)
    rt.start(b.id, check=False)
    assert rt.wait_status(b.id, "stopped") == "stopped"
    assert "user" not in _order(b)


@pytest.mark.spec_deviation(runtime="runc",
                            reason="runc 1.1.5 `start` exits 0 when a startContainer hook fails")
def test_failing_start_container_hook_errors(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Lifecycle" step 7: a failing startContainer hook MUST generate an error
    (start exits non-zero)."""
    b = bundle(USER)
    _with_hooks(b, failing="startContainer")
    rt.create(b.id, b.path)
    assert rt.start(b.id, check=False).returncode != 0


def _failing_poststop(rt: Runtime, bundle: BundleFactory) -> tuple[Bundle, int]:
    b = bundle(["true"])
    b.config["hooks"] = {"poststop": [_hook("poststop", b.out, exit_code=1),
                                      _hook("second", b.out)]}
    b.write()
    rt.create(b.id, b.path)
    rt.start(b.id)
    assert rt.wait_status(b.id, "stopped") == "stopped"
    return b, rt.delete(b.id, check=False).returncode


def test_failing_poststop_hook_delete_succeeds(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Lifecycle" step 13 and "Warnings": a failing poststop hook is only a
    warning; delete succeeds and the container is gone."""
    b, rc = _failing_poststop(rt, bundle)
    assert rc == 0
    assert rt.status(b.id) is None


@pytest.mark.spec_deviation(runtime="runc",
                            reason="runc 1.1.5 skips the remaining poststop hooks after one fails")
def test_failing_poststop_hook_later_hooks_run(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Lifecycle" step 13: the remaining poststop hooks still run."""
    b, _ = _failing_poststop(rt, bundle)
    assert _order(b) == ["poststop", "second"]


def test_hook_timeout(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "POSIX-platform Hooks" timeout: a hook running past it is aborted and the
    create fails."""
    b = bundle(["true"])
    # exec: the hook process itself must be the sleeper, so killing it closes its stdio
    b.config["hooks"] = {"createRuntime": [{"path": "/bin/sh",
                                            "args": ["sh", "-c", "exec sleep 20"],
                                            "timeout": 1}]}
    b.write()
    t0 = time.monotonic()
    res = rt.create(b.id, b.path, check=False)
    assert res.returncode != 0
    assert time.monotonic() - t0 < 15
