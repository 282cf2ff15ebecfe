"""ocirt.hooks: running one hook (argv, env, stdin, timeout, errors) and the plan it makes."""

from __future__ import annotations

import json
import os
import time

import pytest

from ocirt import hooks
from ocirt.hooks import HookError
from ocirt.native import plan_dump
from ocirt.native.plan import Hook, Plan
from ocirt.native.wire import encode

SAVED = {"id": "c1", "bundle": "/b", "rootfs": "/b/rootfs", "created": "2024-01-01T00:00:00Z",
         "owner": "", "annotations": {"a": "b"}}


def _sh(script: str, **kw: object) -> dict[str, object]:
    return {"path": "/bin/sh", "args": ["sh", "-c", script], **kw}


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def test_argv_env_and_state_on_stdin(tmp_path) -> None:
    out = tmp_path / "out"
    hook = {"path": "/bin/sh",
            "args": ["my-argv0", "-c",
                     f'echo "$0" > {out}.args; cat > {out}.stdin; '
                     f'tr "\\0" "\\n" < /proc/$$/environ > {out}.env'],
            "env": ["A=1", "B=two words"]}
    hooks.run_one("createRuntime", 0, hook, hooks.state(SAVED, "creating", 42))
    assert _read(f"{out}.args") == "my-argv0\n"  # sh -c: $0 is argv[0]
    assert _read(f"{out}.env") == "A=1\nB=two words\n"  # exactly env: nothing of ours
    st = json.loads(_read(f"{out}.stdin"))
    assert st == {"ociVersion": "1.3.0", "id": "c1", "pid": 42, "status": "creating",
                  "bundle": "/b", "rootfs": "/b/rootfs", "created": "2024-01-01T00:00:00Z",
                  "owner": "", "annotations": {"a": "b"}}


def test_no_env_means_empty_environment_and_no_args_means_argv_path(tmp_path) -> None:
    script = tmp_path / "h.sh"
    script.write_text(f'#!/bin/sh\necho "$0" > {tmp_path}/argv0\n'
                      f'tr "\\0" "\\n" < /proc/$$/environ > {tmp_path}/env\n')
    script.chmod(0o755)
    os.environ["OCIRT_HOOK_TEST_LEAK"] = "1"
    try:
        hooks.run_one("poststop", 0, {"path": str(script)}, b"{}")
    finally:
        del os.environ["OCIRT_HOOK_TEST_LEAK"]
    assert _read(f"{tmp_path}/argv0") == f"{script}\n"
    assert _read(f"{tmp_path}/env") == ""


def test_failure_names_kind_index_path_and_quotes_output(capfd) -> None:
    with pytest.raises(HookError) as e:
        hooks.run("createRuntime",
                  [_sh("exit 0"), _sh("echo out1; echo out2; echo err >&2; exit 3")], b"{}")
    assert str(e.value) == ("createRuntime hook #1 (/bin/sh): exit status 3, "
                            "stdout: out1\\nout2, stderr: err")
    # captured, not mixed into the runtime's stdio (under `run` that is the container's)
    got = capfd.readouterr()
    assert "out1" not in got.out and "err" not in got.err


def test_first_failure_stops_the_list(tmp_path) -> None:
    with pytest.raises(HookError, match=r"^prestart hook #0 \(/bin/sh\): exit status 1$"):
        hooks.run("prestart", [_sh("exit 1"), _sh(f"touch {tmp_path}/second")], b"{}")
    assert not (tmp_path / "second").exists()


def test_signal_and_exec_failures() -> None:
    with pytest.raises(HookError, match=r"^poststart hook #0 \(/bin/sh\): killed by signal 15$"):
        hooks.run_one("poststart", 0, _sh("kill -TERM $$"), b"{}")
    with pytest.raises(HookError, match=r"^prestart hook #0 \(/nonexistent/hook\): exec: "
                                        r"no such file or directory$"):
        hooks.run_one("prestart", 0, {"path": "/nonexistent/hook"}, b"{}")


def test_timeout_kills_the_hook(tmp_path) -> None:
    t0 = time.monotonic()
    with pytest.raises(HookError, match=r"^createRuntime hook #0 \(/bin/sh\): timed out after "
                                        r"1s \(killed\)"):
        hooks.run_one("createRuntime", 0,
                      _sh(f"echo $$ > {tmp_path}/pid; exec sleep 30", timeout=1), b"{}")
    assert time.monotonic() - t0 < 5
    pid = int(_read(f"{tmp_path}/pid"))
    assert not os.path.exists(f"/proc/{pid}")  # killed and reaped


def test_a_hook_within_its_timeout_succeeds() -> None:
    hooks.run_one("createRuntime", 0, _sh("sleep 0.1", timeout=5), b"{}")


def test_inherited_fds_do_not_reach_hooks(tmp_path) -> None:
    r, w = os.pipe()  # not close-on-exec
    os.set_inheritable(r, True)
    try:
        hooks.run_one("poststop", 0, _sh(f"ls /proc/self/fd > {tmp_path}/fds"), b"{}")
    finally:
        os.close(r)
        os.close(w)
    fds = set(_read(f"{tmp_path}/fds").split())
    assert str(r) not in fds
    assert {"0", "1", "2"} <= fds


def test_run_warn_logs_and_goes_on(tmp_path, capsys) -> None:
    failed = hooks.run_warn("poststop", [_sh("exit 2"), _sh(f"touch {tmp_path}/second")], b"{}")
    assert failed == ["poststop hook #0 (/bin/sh): exit status 2"]
    assert (tmp_path / "second").exists()
    err = capsys.readouterr().err
    assert "level=warning" in err and "poststop hook #0 (/bin/sh): exit status 2" in err


def test_to_plan() -> None:
    plan = Plan()
    hooks.to_plan({"hooks": {"poststart": [{"path": "/x"}]}}, plan)
    assert not plan.hook_sync  # nothing for the init to stop for
    for kind in ("prestart", "createRuntime", "createContainer", "startContainer"):
        plan = Plan()
        hooks.to_plan({"hooks": {kind: [{"path": "/x"}]}}, plan)
        assert plan.hook_sync, kind
    plan = Plan()
    hooks.to_plan({"hooks": {
        "createContainer": [{"path": "/a", "args": ["A", "1"], "env": ["E=1"], "timeout": 3}],
        "startContainer": [{"path": "/s"}, {"path": "/t", "args": []}]}}, plan)
    assert plan.create_container_hooks == [Hook("/a", ["A", "1"], ["E=1"], 3)]
    assert plan.start_container_hooks == [Hook("/s", ["/s"]), Hook("/t", ["/t"])]


def test_hook_plan_fields_roundtrip_through_the_c_decoder() -> None:
    plan = Plan(hook_sync=True,
                create_container_hooks=[Hook("/a", ["a", "-x"], ["E=1", "F="], 7),
                                        Hook("/b", ["b"])],
                start_container_hooks=[Hook("/c ü", ["c"], [], 0)])
    got = json.loads(plan_dump(encode(plan)))
    assert got["hook_sync"] is True
    assert got["create_container_hooks"] == [h.as_dict() for h in plan.create_container_hooks]
    assert got["start_container_hooks"] == [h.as_dict() for h in plan.start_container_hooks]
    empty = json.loads(plan_dump(encode(Plan())))
    assert (empty["hook_sync"], empty["create_container_hooks"],
            empty["start_container_hooks"]) == (False, [], [])
