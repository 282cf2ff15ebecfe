"""Hooks through the CLI: moments, states, namespaces, path resolution, failure semantics
(config.md "POSIX-platform Hooks", runtime.md "Lifecycle" steps 3-13)."""

from __future__ import annotations

import json
import os
import time

from tests.conftest import Ocirt

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

ALL = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
       "poststop")
USER = ["sh", "-c", "echo user >> /out/order; exec sleep 1000"]


def _hook(name: str, logdir: str, code: int = 0, extra: str = "",
          **kw: object) -> dict[str, object]:
    script = (f"cat > {logdir}/{name}.json; readlink /proc/self/ns/mnt > {logdir}/{name}.mnt; "
              f"{extra}echo {name} >> {logdir}/order; exit {code}")
    return {"path": "/bin/sh", "args": ["sh", "-c", script], **kw}


def _hooks(out: str, failing: str | None = None, code: int = 1) -> dict[str, list]:
    """Every kind; startContainer runs in the container and writes to /out instead."""
    return {name: [_hook(name, "/out" if name == "startContainer" else out,
                         code if name == failing else 0)] for name in ALL}


def _order(out: str) -> list[str]:
    try:
        with open(os.path.join(out, "order")) as f:
            return f.read().split()
    except FileNotFoundError:
        return []


def _json(out: str, name: str) -> dict:
    with open(os.path.join(out, f"{name}.json")) as f:
        return json.load(f)


def _text(out: str, name: str) -> str:
    with open(os.path.join(out, name)) as f:
        return f.read()


def _wait_for(pred, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _status(ocirt: Ocirt, cid: str) -> str | None:
    res = ocirt("state", cid, check=False)
    return json.loads(res.stdout)["status"] if res.returncode == 0 else None


def _setup(ocirt: Ocirt, make_hooks: Callable[[str], dict], args: list[str] | None = None,
           **changes: object) -> tuple[str, str, str]:
    """A bundle whose hooks are make_hooks(host path of its out dir)."""
    bundle, cfg = ocirt.bundle(args or USER, **changes)
    cid = ocirt.new_id()
    ocirt.set_cgroup(cfg, cid)
    out = os.path.join(bundle, "out")
    cfg["hooks"] = make_hooks(out)
    ocirt.write(bundle, cfg)
    return bundle, out, cid


def test_moments_order_and_state_for_each(ocirt: Ocirt) -> None:
    bundle, out, cid = _setup(ocirt, _hooks, annotations={"org.test": "yes"})
    ocirt("create", "--bundle", bundle, cid)
    assert _order(out) == ["prestart", "createRuntime", "createContainer"]
    pid = json.loads(ocirt("state", cid).stdout)["pid"]
    ocirt("start", cid)
    # poststart before start returns; startContainer before the user program
    assert _order(out)[:5] == ["prestart", "createRuntime", "createContainer",
                               "startContainer", "poststart"] or \
        _order(out)[:5] == ["prestart", "createRuntime", "createContainer", "startContainer",
                            "user"]
    assert "poststart" in _order(out)
    assert _wait_for(lambda: "user" in _order(out))
    assert _order(out).index("startContainer") < _order(out).index("user")
    ocirt("kill", cid, "KILL")
    assert _wait_for(lambda: _status(ocirt, cid) == "stopped")
    assert "poststop" not in _order(out)
    ocirt("delete", cid)
    assert _order(out)[-1] == "poststop"  # before delete returned

    want = {"prestart": ("creating", pid), "createRuntime": ("creating", pid),
            "createContainer": ("creating", 1), "startContainer": ("created", 1),
            "poststart": ("running", pid), "poststop": ("stopped", pid)}
    for name, (status, p) in want.items():
        st = _json(out, name)
        assert (st["status"], st["pid"]) == (status, p), name
        assert st["id"] == cid and st["bundle"] == bundle, name
        assert st["ociVersion"] == "1.3.0" and st["annotations"] == {"org.test": "yes"}, name


def test_namespaces_mounts_and_path_resolution(ocirt: Ocirt, tmp_path) -> None:
    """createContainer: a host path, run in the container's mount namespace before
    pivot_root (it sees the container's mounts under the rootfs); startContainer: a path
    that exists only in the container."""
    hookbin = tmp_path / "hookbin"
    hookbin.mkdir()
    (hookbin / "sc.sh").write_text("#!/bin/sh\nreadlink /proc/self/ns/mnt > /out/sc.mnt\n"
                                   "echo startContainer >> /out/order\n")
    (hookbin / "sc.sh").chmod(0o755)
    assert not os.path.exists("/mnt/sc.sh")
    bundle, out, cid = _setup(ocirt, lambda out: {})
    rootfs = ocirt.rootfs
    cc = _hook("createContainer", out,
               extra=f"grep -F ' {rootfs}/mnt ' /proc/self/mountinfo > {out}/cc.mounts; ")
    hooks = {"prestart": [_hook("prestart", out)], "createContainer": [cc],
             "startContainer": [{"path": "/mnt/sc.sh"}], "poststop": [_hook("poststop", out)]}
    with open(os.path.join(bundle, "config.json")) as f:
        cfg = json.load(f)
    cfg["hooks"] = hooks
    cfg["mounts"].append({"destination": "/mnt", "type": "bind", "source": str(hookbin),
                          "options": ["rbind", "ro"]})
    ocirt.write(bundle, cfg)
    ocirt("create", "--bundle", bundle, cid)
    pid = json.loads(ocirt("state", cid).stdout)["pid"]
    container_mnt = os.readlink(f"/proc/{pid}/ns/mnt")
    ocirt("start", cid)
    assert _wait_for(lambda: "user" in _order(out))
    ocirt("delete", "--force", cid)
    ours = os.readlink("/proc/self/ns/mnt")
    assert container_mnt != ours
    assert _text(out, "prestart.mnt").strip() == ours
    assert _text(out, "poststop.mnt").strip() == ours
    assert _text(out, "createContainer.mnt").strip() == container_mnt
    assert _text(out, "sc.mnt").strip() == container_mnt
    assert f" {rootfs}/mnt " in _text(out, "cc.mounts")  # the container's bind, pre-pivot
    with open("/proc/self/mountinfo") as f:
        assert f" {rootfs}/mnt " not in f.read()


def test_env_and_args_in_each_place(ocirt: Ocirt) -> None:
    """argv from args (args[0] is argv[0]; [path] when absent), env exactly as given (none
    when absent): neither the runtime's nor the container's environment leaks in."""
    def probe(name: str, logdir: str, argv0: str = "", **kw: object) -> dict:
        return {"path": "/bin/sh", "args": [argv0 or f"{name}-argv0", "-c",
                f'echo "$0|${{HOOKVAR-unset}}|${{HOME-unset}}|${{TERM-unset}}" '
                f"> {logdir}/{name}.env"], **kw}

    env = ["HOOKVAR=v1"]
    bundle, out, cid = _setup(ocirt, lambda out: {
        "createRuntime": [probe("createRuntime", out, env=env)],
        "createContainer": [probe("createContainer", out, env=env)],
        # the container's sh is busybox: argv[0] picks the applet
        "startContainer": [probe("startContainer", "/out", "sh", env=env),
                           probe("noenv", "/out", "sh")],
        "poststart": [{"path": "/bin/sh", "args": ["sh", "-c", f"echo $0 > {out}/ps"]}]})
    ocirt("create", "--bundle", bundle, cid)
    ocirt("start", cid)
    ocirt("delete", "--force", cid)
    for name in ("createRuntime", "createContainer"):
        assert _text(out, f"{name}.env") == f"{name}-argv0|v1|unset|unset\n", name
    assert _text(out, "startContainer.env") == "sh|v1|unset|unset\n"
    assert _text(out, "noenv.env") == "sh|unset|unset|unset\n"
    assert _text(out, "ps") == "sh\n"


def test_failing_create_hooks(ocirt: Ocirt) -> None:
    """runtime.md steps 3-5: an error naming the hook, nothing left, the user program never
    ran, and (step 12 -> 13) the poststop hooks ran before create returned."""
    for failing in ("prestart", "createRuntime", "createContainer"):
        bundle, out, cid = _setup(ocirt, lambda out, failing=failing: _hooks(out, failing, code=3))
        res = ocirt("create", "--bundle", bundle, cid, check=False)
        assert res.returncode != 0, failing
        assert f"{failing} hook #0 (/bin/sh): exit status 3" in res.stderr, failing
        assert _status(ocirt, cid) is None, failing
        order = _order(out)
        assert order[-2:] == [failing, "poststop"], (failing, order)
        assert "startContainer" not in order and "user" not in order
        assert _json(out, "poststop")["status"] == "stopped"


def test_failing_start_container_hook(ocirt: Ocirt) -> None:
    """Step 7: start fails naming the hook, the container is stopped, the program never ran;
    delete then destroys it and runs poststop."""
    bundle, out, cid = _setup(ocirt, lambda out: _hooks(out, "startContainer", code=4))
    ocirt("create", "--bundle", bundle, cid)
    res = ocirt("start", cid, check=False)
    assert res.returncode != 0
    assert "startContainer hook #0 (/bin/sh): exit status 4" in res.stderr
    assert _status(ocirt, cid) == "stopped"  # already when start returned
    assert "user" not in _order(out) and "poststart" not in _order(out)
    ocirt("delete", cid)
    assert _order(out)[-1] == "poststop"


def test_failing_poststart_hook(ocirt: Ocirt) -> None:
    """Step 9: start fails naming the hook and the container is stopped."""
    bundle, out, cid = _setup(ocirt, lambda out: _hooks(out, "poststart", code=5))
    ocirt("create", "--bundle", bundle, cid)
    res = ocirt("start", cid, check=False)
    assert res.returncode != 0
    assert "poststart hook #0 (/bin/sh): exit status 5" in res.stderr
    assert _status(ocirt, cid) == "stopped"
    ocirt("delete", cid)
    assert _order(out)[-1] == "poststop"


def test_failing_poststop_hook_is_a_warning(ocirt: Ocirt) -> None:
    bundle, out, cid = _setup(ocirt, lambda out: {
        "poststop": [_hook("first", out, code=6), _hook("second", out)]}, args=["true"])
    log = os.path.join(ocirt.tmp, "log.json")
    ocirt("create", "--bundle", bundle, cid)
    ocirt("start", cid)
    assert _wait_for(lambda: _status(ocirt, cid) == "stopped")
    res = ocirt("delete", cid, glob_args=("--log", log, "--log-format", "json"))
    assert res.returncode == 0
    assert _status(ocirt, cid) is None
    assert _order(out) == ["first", "second"]
    with open(log) as f:
        lines = [json.loads(line) for line in f]
    assert {"level": "warning", "msg": "poststop hook #0 (/bin/sh): exit status 6"} in \
        [{k: v for k, v in x.items() if k != "time"} for x in lines]


def test_timeouts_in_python_and_in_the_init(ocirt: Ocirt) -> None:
    """A hook past its timeout is killed and is a failure, wherever it runs."""
    for kind in ("createRuntime", "createContainer", "startContainer"):
        bundle, out, cid = _setup(ocirt, lambda out, kind=kind: {
            kind: [{"path": "/bin/sh", "args": ["sh", "-c", "exec sleep 30"], "timeout": 1}],
            "poststop": [_hook("poststop", out)]})
        t0 = time.monotonic()
        step = "start" if kind == "startContainer" else "create"
        if step == "start":
            ocirt("create", "--bundle", bundle, cid)
            res = ocirt("start", cid, check=False)
        else:
            res = ocirt("create", "--bundle", bundle, cid, check=False)
        assert res.returncode != 0, kind
        assert f"{kind} hook #0 (/bin/sh): timed out after 1s (killed)" in res.stderr, kind
        assert time.monotonic() - t0 < 10, kind
        if step == "start":
            assert _status(ocirt, cid) == "stopped"
            ocirt("delete", cid)
        assert _order(out) == ["poststop"], kind


def test_hook_output_stays_out_of_run_output(ocirt: Ocirt) -> None:
    """Like runc, hook stdout/stderr are captured: under `run` ocirt's stdio is the
    container's, which must only carry the program's output."""
    noisy = {"path": "/bin/sh", "args": ["sh", "-c", "echo HOOK-OUT; echo HOOK-ERR >&2"]}
    bundle, out, cid = _setup(ocirt, lambda out: {k: [noisy] for k in ALL},
                              args=["echo", "program"])
    res = ocirt("run", "--bundle", bundle, cid)
    assert res.stdout == "program\n"
    assert "HOOK" not in res.stderr


def test_exec_failure_in_the_init(ocirt: Ocirt) -> None:
    """A createContainer hook that cannot be executed fails create with a named error."""
    bundle, out, cid = _setup(ocirt, lambda out: {"createContainer": [{"path": "/no/such/hook"}]})
    res = ocirt("create", "--bundle", bundle, cid, check=False)
    assert res.returncode != 0
    assert "createContainer hook #0 (/no/such/hook): exec: no such file or directory" \
        in res.stderr
    assert _status(ocirt, cid) is None


def test_run_with_failing_start_container_hook_cleans_up(ocirt: Ocirt) -> None:
    """`run` = create + start: a failed start is followed by delete (poststop runs)."""
    bundle, out, cid = _setup(ocirt, lambda out: _hooks(out, "startContainer"))
    res = ocirt("run", "--bundle", bundle, cid, check=False)
    assert res.returncode != 0
    assert "startContainer hook #0 (/bin/sh): exit status 1" in res.stderr
    assert _status(ocirt, cid) is None
    assert _order(out)[-1] == "poststop" and "user" not in _order(out)
