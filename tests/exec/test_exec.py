"""`ocirt exec` (issue 6): namespaces, cgroup, process attributes, exit status, pid file,
--detach, --process, the console socket and the errors, in runc's words."""

from __future__ import annotations

import json
import os
import select
import socket
import time

import pytest

from ocirt.testing.console import accept_fd
from tests.conftest import Ocirt, ocirt_binary
from tests.e2e.test_cli import run_with_fds

SLEEP = ["sh", "-c", "echo up > /out/up; exec sleep 1000"]


def _running(ocirt: Ocirt, **changes: object) -> tuple[str, str, dict]:
    bundle, cfg = ocirt.bundle(SLEEP, hostname="exec-box", **changes)
    cid = ocirt.new_id()
    ocirt.set_cgroup(cfg, cid)
    ocirt.write(bundle, cfg)
    ocirt("run", "-d", "-b", bundle, cid)
    for _ in range(500):
        if os.path.exists(os.path.join(bundle, "out", "up")):
            break
        time.sleep(0.01)
    return cid, bundle, cfg


def _init_pid(ocirt: Ocirt, cid: str) -> int:
    return json.loads(ocirt("state", cid).stdout)["pid"]


def _wait_file(path: str) -> str:
    for _ in range(500):
        if os.path.exists(path):
            with open(path) as f:
                return f.read()
        time.sleep(0.01)
    raise AssertionError(f"{path} never appeared")


def _ns(pid: int) -> dict[str, str]:
    d = f"/proc/{pid}/ns"
    return {n: os.readlink(os.path.join(d, n)) for n in os.listdir(d)}


def test_exec_runs_in_the_container(ocirt: Ocirt) -> None:
    """Every namespace, the hostname, the rootfs, stdout, and the exit status."""
    cid, _, _ = _running(ocirt)
    res = ocirt("exec", cid, "sh", "-c", "hostname; echo $$; ls /out; exit 3", check=False)
    assert res.returncode == 3, res.stderr
    lines = res.stdout.split()
    assert lines[0] == "exec-box"
    assert 1 < int(lines[1]) < 100  # a pid of the container's pid namespace
    assert lines[2] == "up"


def test_exec_detach_pid_file_namespaces_and_cgroup(ocirt: Ocirt, tmp_path: object) -> None:
    """-d returns at once; the pid file names the process that runs (host pid), in the
    init's namespaces and cgroups."""
    cid, _, _ = _running(ocirt)
    pid_file = os.path.join(str(tmp_path), "exec.pid")
    start = time.monotonic()
    ocirt("exec", "-d", "--pid-file", pid_file, cid, "sleep", "77")
    assert time.monotonic() - start < 10
    with open(pid_file) as f:
        text = f.read()
    assert text.isdigit()
    pid = int(text)
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[:2] == [b"sleep", b"77"]
    init = _init_pid(ocirt, cid)
    assert _ns(pid) == _ns(init)
    with open(f"/proc/{pid}/cgroup") as f, open(f"/proc/{init}/cgroup") as g:
        assert f.read() == g.read()
    assert pid in json.loads(ocirt("ps", "--format", "json", cid).stdout)


def test_exec_into_user_and_pid_namespace(ocirt: Ocirt, tmp_path: object) -> None:
    """Acceptance: root inside a user namespace (mapped to host 100000) and a pid one."""
    import shutil
    import tempfile

    from ocirt.testing.busybox import base_config, build_rootfs, write_config

    maps = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    # the mapped root (host 100000) must reach the rootfs: not under pytest's 0700 tmp
    bundle = tempfile.mkdtemp(prefix="ocirt-exec-userns-")
    try:
        os.chmod(bundle, 0o755)
        build_rootfs(os.path.join(bundle, "rootfs"))
        cfg = base_config(["sleep", "1000"])
        cfg["root"] = {"path": "rootfs", "readonly": True}
        cfg["linux"]["namespaces"].append({"type": "user"})
        cfg["linux"]["uidMappings"] = maps
        cfg["linux"]["gidMappings"] = maps
        write_config(bundle, cfg)
        cid = ocirt.new_id()
        ocirt("run", "-d", "-b", bundle, cid)
        _check_userns_exec(ocirt, cid, str(tmp_path))
        ocirt("delete", "-f", cid)
    finally:
        shutil.rmtree(bundle)


def _check_userns_exec(ocirt: Ocirt, cid: str, tmp: str) -> None:
    assert ocirt("exec", cid, "id").stdout.startswith("uid=0(root) gid=0(root)")
    out = ocirt("exec", cid, "sh", "-c", "echo $$; cat /proc/self/uid_map").stdout.split()
    assert 1 < int(out[0]) < 100
    assert out[1:] == ["0", "100000", "65536"]
    pid_file = os.path.join(tmp, "p")
    ocirt("exec", "-d", "--pid-file", pid_file, cid, "sleep", "66")
    pid = int(_wait_file(pid_file))
    with open(f"/proc/{pid}/status") as f:
        status = dict(line.split(":", 1) for line in f)
    assert status["Uid"].split() == ["100000"] * 4
    assert len(status["NSpid"].split()) == 2  # the host's and the container's
    assert _ns(pid) == _ns(_init_pid(ocirt, cid))


def test_exec_env_cwd_user_groups(ocirt: Ocirt) -> None:
    cid, _, _ = _running(ocirt)
    res = ocirt("exec", "-e", "FOO=bar", "--env", "PATH=/bin", "--cwd", "/tmp",
                "-u", "1000:1001", "--additional-gids", "5", "-g", "7", cid,
                "sh", "-c", "echo $FOO $PATH; pwd; id -u; id -g; id -G")
    assert res.stdout.split("\n")[:5] == ["bar /bin", "/tmp", "1000", "1001", "1001 5 7"]
    # uid only: the config's gid stays
    assert ocirt("exec", "-u", "1000", cid, "id", "-g").stdout.strip() == "0"


def test_exec_flags_are_the_processs_after_the_id(ocirt: Ocirt) -> None:
    cid, _, _ = _running(ocirt)
    assert ocirt("exec", cid, "echo", "-e", "--cwd").stdout.strip() == "--cwd"


def test_exec_caps_and_no_new_privs(ocirt: Ocirt) -> None:
    cid, _, cfg = _running(ocirt)
    assert "CAP_SYS_TIME" not in cfg["process"]["capabilities"]["bounding"]
    grep = ["grep", "-E", "^(CapBnd|CapEff|NoNewPrivs)", "/proc/self/status"]
    before = dict(line.split() for line in ocirt("exec", cid, *grep).stdout.splitlines())
    after = dict(line.split() for line in ocirt(
        "exec", "--cap", "CAP_SYS_TIME", "--no-new-privs=false", cid, *grep
    ).stdout.splitlines())
    bit = 1 << 25  # CAP_SYS_TIME
    assert not int(before["CapBnd:"], 16) & bit and not int(before["CapEff:"], 16) & bit
    assert int(after["CapBnd:"], 16) & bit and int(after["CapEff:"], 16) & bit
    # the config's noNewPrivileges (true), unless the flag is given
    assert cfg["process"]["noNewPrivileges"] is True
    assert before["NoNewPrivs:"] == "1" and after["NoNewPrivs:"] == "0"


def test_exec_process_json(ocirt: Ocirt, tmp_path: object) -> None:
    """--process FILE (containerd's shim, conmon): taken as is; args after the id unused."""
    cid, _, _ = _running(ocirt)
    path = os.path.join(str(tmp_path), "process.json")
    with open(path, "w") as f:
        json.dump({"args": ["sh", "-c", "echo $A; pwd; id -u; exit 9"], "env": ["A=b"],
                   "cwd": "/out", "user": {"uid": 1234, "gid": 1234}, "terminal": False}, f)
    res = ocirt("exec", "--process", path, cid, check=False)
    assert res.returncode == 9, res.stderr
    assert res.stdout.split() == ["b", "/out", "1234"]
    with open(path, "w") as f:
        json.dump({"args": ["true"], "cwd": "relative"}, f)
    res = ocirt("exec", "--process", path, cid, check=False)
    assert res.returncode == 255 and "exec failed: Cwd must be an absolute path" in res.stderr


def test_exec_exit_status_of_a_killed_process(ocirt: Ocirt) -> None:
    cid, _, _ = _running(ocirt)
    assert ocirt("exec", cid, "sh", "-c", "kill -9 $$", check=False).returncode == 137


def test_exec_missing_command_uses_runcs_words(ocirt: Ocirt) -> None:
    cid, _, _ = _running(ocirt)
    res = ocirt("exec", cid, "no-such-cmd", check=False)
    assert res.returncode == 255
    assert ('exec failed: unable to start container process: exec: "no-such-cmd": '
            "executable file not found in $PATH") in res.stderr
    assert json.loads(ocirt("state", cid).stdout)["status"] == "running"


def test_exec_into_stopped_container_fails(ocirt: Ocirt) -> None:
    bundle, _ = ocirt.bundle(["true"])
    cid = ocirt.new_id()
    ocirt("create", "-b", bundle, cid)
    ocirt("start", cid)
    for _ in range(500):
        if json.loads(ocirt("state", cid).stdout)["status"] == "stopped":
            break
        time.sleep(0.01)
    res = ocirt("exec", cid, "true", check=False)
    assert res.returncode == 255
    assert res.stderr.strip().endswith("exec failed: cannot exec in a stopped container")


def test_exec_into_created_container(ocirt: Ocirt) -> None:
    """runc allows it: the init waits on exec.fifo, its namespaces exist."""
    bundle, _ = ocirt.bundle(["true"], hostname="made")
    cid = ocirt.new_id()
    ocirt("create", "-b", bundle, cid)
    assert ocirt("exec", cid, "hostname").stdout.strip() == "made"
    assert json.loads(ocirt("state", cid).stdout)["status"] == "created"


def test_exec_usage_errors(ocirt: Ocirt) -> None:
    cid, _, _ = _running(ocirt)
    cases = [
        ((cid,), "exec failed: process args cannot be empty"),
        (("-u", "x", cid, "true"), "exec failed: parsing x as int for uid failed"),
        (("--console-socket", "/nonexistent", cid, "true"),
         "exec failed: cannot use console socket if runc will not detach or allocate tty"),
        (("-d", "-t", cid, "true"),
         "exec failed: cannot allocate tty if runc will detach without setting console "
         "socket"),
        (("no-such-container", "true"), "exec failed: container does not exist"),
    ]
    for args, words in cases:
        res = ocirt("exec", *args, check=False)
        assert res.returncode == 255 and words in res.stderr, (args, res.stderr)
    res = ocirt("exec", check=False)
    assert res.returncode != 0 and '"exec" requires a minimum of 1 argument' in res.stderr


def test_exec_preserve_fds(ocirt: Ocirt) -> None:
    cid, _, _ = _running(ocirt)
    r3, w3 = os.pipe()
    r4, w4 = os.pipe()
    try:
        cmd = ocirt_binary() + ["--root", ocirt.root, "exec", "--preserve-fds", "1", cid,
                                "sh", "-c", "readlink /proc/self/fd/3; "
                                "readlink /proc/self/fd/4 || echo no-fd-4"]
        res = run_with_fds(cmd, {3: r3, 4: r4})
    finally:
        for fd in (r3, w3, r4, w4):
            os.close(fd)
    lines = res.stdout.split()
    assert lines[0].startswith("pipe:") and lines[1] == "no-fd-4", res.stdout + res.stderr


# -- terminals ---------------------------------------------------------------------------

def _read_until(fd: int, needle: bytes, timeout: float = 10) -> bytes:
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf and time.monotonic() < deadline:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf


@pytest.mark.parametrize("how", ["tty-flag", "process-json"])
def test_exec_tty_through_console_socket(ocirt: Ocirt, tmp_path: object, how: str) -> None:
    """conmon passes --tty; containerd's shim sets "terminal": true in --process: the pty
    master arrives on the console socket, the process has the pty as its stdio."""
    cid, _, _ = _running(ocirt)
    sock_path = os.path.join(str(tmp_path), "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(sock_path)
    srv.listen(1)
    srv.settimeout(10)
    args = ["sh", "-c", "tty; [ -t 0 ] && echo is-tty; read x; echo got:$x; echo end"]
    if how == "tty-flag":
        extra = ["--tty", cid, *args]
    else:
        path = os.path.join(str(tmp_path), "process.json")
        with open(path, "w") as f:
            json.dump({"args": args, "cwd": "/", "terminal": True,
                       "user": {"uid": 0, "gid": 0}}, f)
        extra = ["--process", path, cid]
    pid_file = os.path.join(str(tmp_path), "pid")
    try:
        ocirt("exec", "-d", "--pid-file", pid_file, "--console-socket", sock_path, *extra)
        master = accept_fd(srv)
    finally:
        srv.close()
    try:
        os.write(master, b"hi\n")
        out = _read_until(master, b"end").decode().replace("\r", "")
    finally:
        os.close(master)
    assert "/dev/pts/" in out and "is-tty" in out and "got:hi" in out, out
    assert int(_wait_file(pid_file)) > 0


def _in_pty(cmd: list[str], rows: int, cols: int, answer: bytes, resize_to: tuple[int, int]
            ) -> tuple[str, int]:
    """Run cmd on a new pty of rows x cols; answer the first "?" prompt after resizing the
    pty; returns (output, exit status)."""
    import fcntl
    import pty
    import struct
    import termios

    pid, master = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    out = b""
    answered = False
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 0.2)[0]:
                continue
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if b"?" in out and not answered:
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", *resize_to, 0, 0))
                time.sleep(0.3)  # SIGWINCH reaches ocirt, which resizes the container's pty
                os.write(master, answer)
                answered = True
    finally:
        os.close(master)
        _, status = os.waitpid(pid, 0)
    return out.decode(errors="replace").replace("\r", ""), os.waitstatus_to_exitcode(status)


SCRIPT = "tty; stty size; printf '?'; read x; echo got:$x; stty size; exit 5"


def test_run_relays_the_terminal(ocirt: Ocirt) -> None:
    """Acceptance: `run` of a terminal config without --console-socket, inside a pty."""
    bundle, cfg = ocirt.bundle(["sh", "-c", SCRIPT])
    cfg["process"]["terminal"] = True
    ocirt.write(bundle, cfg)
    cmd = ocirt_binary() + ["--root", ocirt.root, "run", "-b", bundle, ocirt.new_id()]
    out, status = _in_pty(cmd, 33, 77, b"hello\r", (40, 100))
    lines = out.split("\n")
    assert lines[0].startswith("/dev/pts/"), out
    assert lines[1] == "33 77", out
    assert "got:hello" in out and "40 100" in out, out
    assert status == 5


def test_exec_relays_the_terminal(ocirt: Ocirt) -> None:
    cid, _, _ = _running(ocirt)
    cmd = ocirt_binary() + ["--root", ocirt.root, "exec", "-t", cid, "sh", "-c", SCRIPT]
    out, status = _in_pty(cmd, 21, 61, b"there\r", (22, 62))
    lines = out.split("\n")
    assert lines[0].startswith("/dev/pts/"), out
    assert lines[1] == "21 61", out
    assert "got:there" in out and "22 62" in out, out
    assert status == 5


def test_foreground_run_refuses_a_console_socket(ocirt: Ocirt) -> None:
    """runc: a console socket is only for a detached terminal."""
    bundle, _ = ocirt.bundle(["true"])
    res = ocirt("run", "--console-socket", "/nonexistent", "-b", bundle, ocirt.new_id(),
                check=False)
    assert res.returncode != 0
    assert "cannot use console socket if runc will not detach or allocate tty" in res.stderr


def test_detached_run_of_a_terminal_needs_a_console_socket(ocirt: Ocirt) -> None:
    bundle, cfg = ocirt.bundle(["true"])
    cfg["process"]["terminal"] = True
    ocirt.write(bundle, cfg)
    cid = ocirt.new_id()
    res = ocirt("run", "-d", "-b", bundle, cid, check=False)
    assert res.returncode != 0 and "console-socket" in res.stderr
    assert not os.path.exists(os.path.join(ocirt.root, cid))


def _two_cpus() -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("execCPUAffinity tests need a host with at least 2 CPUs")


def test_exec_cpu_affinity_final(ocirt: Ocirt) -> None:
    """config.md "execCPUAffinity": `final` is the process's affinity in the container."""
    _two_cpus()
    cid, bundle, cfg = _running(ocirt)
    proc = dict(cfg["process"], args=["grep", "Cpus_allowed_list", "/proc/self/status"],
                execCPUAffinity={"initial": "0", "final": "1"})
    path = os.path.join(bundle, "process.json")
    with open(path, "w") as f:
        json.dump(proc, f)
    res = ocirt("exec", "--process", path, cid)
    assert res.stdout.split() == ["Cpus_allowed_list:", "1"], res.stderr


def test_exec_cpu_affinity_initial_is_set_before_the_cgroup_move(
        ocirt: Ocirt, monkeypatch: pytest.MonkeyPatch) -> None:
    """`initial` holds while the runtime's process moves into the container's cgroup;
    without `final` the kernel decides afterwards."""
    _two_cpus()
    from ocirt import cgroups
    from ocirt.container import Container

    cid, _, cfg = _running(ocirt)
    seen: list[set[int]] = []
    real = cgroups.from_state

    def recording(saved: dict) -> object:
        cg = real(saved)
        add = cg.add

        def add_and_record(pid: int) -> None:
            seen.append(os.sched_getaffinity(pid))
            add(pid)

        cg.add = add_and_record
        return cg

    monkeypatch.setattr(cgroups, "from_state", recording)
    proc = dict(cfg["process"], args=["true"], execCPUAffinity={"initial": "1"})
    pid = Container.load(ocirt.root, cid).exec(proc)
    os.waitpid(pid, 0)
    assert seen == [{1}]


def test_exec_cpu_affinity_error_names_the_field(ocirt: Ocirt) -> None:
    cid, bundle, cfg = _running(ocirt)
    proc = dict(cfg["process"], args=["true"], execCPUAffinity={"final": "4096"})
    path = os.path.join(bundle, "process.json")
    with open(path, "w") as f:
        json.dump(proc, f)
    res = ocirt("exec", "--process", path, cid, check=False)
    assert res.returncode != 0
    assert "process.execCPUAffinity.final: cannot run on cpus [4096]" in res.stderr
