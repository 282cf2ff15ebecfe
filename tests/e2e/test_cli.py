"""The ocirt command line: the runc contract engines rely on (issue 2)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import pytest

from tests.conftest import Ocirt, ocirt_binary


def wait_status(ocirt: Ocirt, cid: str, status: str, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        state = json.loads(ocirt("state", cid).stdout)
        if state["status"] == status or time.monotonic() > deadline:
            return state
        time.sleep(0.02)


def test_run_prints_hostname_ids_and_pid_1(ocirt: Ocirt) -> None:
    """Acceptance: `run` of sh -c 'hostname; id; echo $$' (config.md hostname, user)."""
    bundle, cfg = ocirt.bundle(["/bin/sh", "-c", "hostname; id; echo $$"],
                               hostname="box-7")
    cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
    ocirt.write(bundle, cfg)
    res = ocirt("run", "--bundle", bundle, ocirt.new_id())
    lines = res.stdout.split("\n")
    assert lines[0] == "box-7"
    assert lines[1].startswith("uid=1000(user) gid=1000(user)")
    assert lines[2] == "1"


def test_create_does_not_run_until_start_and_delete_removes_all(ocirt: Ocirt) -> None:
    """runtime.md "Lifecycle": the user process runs only at start; delete leaves nothing."""
    bundle, cfg = ocirt.bundle(["/bin/sh", "-c", "echo ran > /out/ran; sleep 30"])
    cid = ocirt.new_id()
    ocirt.set_cgroup(cfg, cid)
    ocirt.write(bundle, cfg)
    pid_file = os.path.join(bundle, "pid")
    ocirt("create", "--bundle", bundle, "--pid-file", pid_file, cid)
    state = json.loads(ocirt("state", cid).stdout)
    assert state["status"] == "created"
    assert not os.path.exists(os.path.join(bundle, "out", "ran"))
    with open(pid_file) as f:
        text = f.read()
    assert re.fullmatch(r"[1-9][0-9]*", text) and int(text) == state["pid"]
    assert os.path.isdir(f"/sys/fs/cgroup/memory/ocirt-tests/{cid}")

    ocirt("start", cid)
    assert wait_status(ocirt, cid, "running")["status"] == "running"
    for _ in range(200):
        if os.path.exists(os.path.join(bundle, "out", "ran")):
            break
        time.sleep(0.01)
    assert os.path.exists(os.path.join(bundle, "out", "ran"))
    ocirt("kill", cid, "KILL")
    assert wait_status(ocirt, cid, "stopped")["pid"] == 0
    ocirt("delete", cid)
    assert not os.path.exists(os.path.join(ocirt.root, cid))
    assert not os.path.exists(f"/sys/fs/cgroup/memory/ocirt-tests/{cid}")
    assert ocirt("state", cid, check=False).returncode != 0


def test_wrong_state_operations_fail_and_change_nothing(ocirt: Ocirt) -> None:
    """runtime.md "Operations": each op in the wrong state errors without effect."""
    bundle, _ = ocirt.bundle(["sleep", "30"])
    cid = ocirt.new_id()
    ocirt("create", "-b", bundle, cid)
    again = ocirt("create", "-b", bundle, cid, check=False)
    assert again.returncode != 0 and f"container with id exists: {cid}" in again.stderr
    ocirt("start", cid)
    res = ocirt("start", cid, check=False)
    assert res.returncode != 0 and "already running" in res.stderr
    res = ocirt("delete", cid, check=False)
    assert res.returncode != 0 and "not stopped: running" in res.stderr
    assert json.loads(ocirt("state", cid).stdout)["status"] == "running"
    ocirt("kill", cid, "9")
    wait_status(ocirt, cid, "stopped")
    res = ocirt("start", cid, check=False)
    assert res.returncode != 0 and "stopped" in res.stderr
    res = ocirt("kill", cid, check=False)
    assert res.returncode != 0 and "not running" in res.stderr
    ocirt("delete", cid)


def test_delete_force_kills_a_running_container(ocirt: Ocirt) -> None:
    bundle, cfg = ocirt.bundle(["sleep", "30"])
    cid = ocirt.new_id()
    ocirt.set_cgroup(cfg, cid)
    ocirt.write(bundle, cfg)
    ocirt("run", "-d", "-b", bundle, cid)
    pid = json.loads(ocirt("state", cid).stdout)["pid"]
    ocirt("delete", "--force", cid)
    assert not os.path.exists(os.path.join(ocirt.root, cid))
    assert not os.path.exists(f"/sys/fs/cgroup/pids/ocirt-tests/{cid}")
    with open(f"/proc/{pid}/stat") if os.path.exists(f"/proc/{pid}/stat") else \
            open(os.devnull) as f:
        stat = f.read()
    assert not stat or stat.split(")")[1].split()[0] in ("Z", "X")


def test_delete_force_of_unknown_container_succeeds(ocirt: Ocirt) -> None:
    assert ocirt("delete", "--force", "no-such-thing").returncode == 0
    res = ocirt("delete", "no-such-thing", check=False)
    assert res.returncode != 0 and "does not exist" in res.stderr


def test_concurrent_commands_on_one_container(ocirt: Ocirt) -> None:
    """The per-container lock: parallel starts run the process once, one start wins."""
    import subprocess

    bundle, _ = ocirt.bundle(["/bin/sh", "-c", "echo x >> /out/runs; sleep 30"])
    cid = ocirt.new_id()
    ocirt("create", "-b", bundle, cid)
    from tests.conftest import ocirt_binary

    procs = [subprocess.Popen(ocirt_binary() + ["--root", ocirt.root, "start", cid],
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    codes = [p.wait(20) for p in procs]
    for p in procs:
        p.stderr.close()
    assert sorted(codes) == [0, 1, 1, 1]
    time.sleep(0.2)
    with open(os.path.join(bundle, "out", "runs")) as f:
        assert f.read() == "x\n"
    ocirt("delete", "-f", cid)


def test_failed_create_leaves_nothing(ocirt: Ocirt) -> None:
    """A create that fails in the init (missing command) leaves no state, cgroup, process."""
    bundle, cfg = ocirt.bundle(["no-such-command"])
    cid = ocirt.new_id()
    ocirt.set_cgroup(cfg, cid)
    ocirt.write(bundle, cfg)
    before = set(os.listdir("/proc"))
    res = ocirt("create", "-b", bundle, cid, check=False)
    assert res.returncode != 0
    assert res.stderr.strip() == 'exec: "no-such-command": executable file not found in $PATH'
    assert not os.path.exists(os.path.join(ocirt.root, cid))
    assert not os.path.exists(f"/sys/fs/cgroup/memory/ocirt-tests/{cid}")
    from ocirt.testing.procs import reap_children

    reap_children()
    # a leaked init would have been re-parented to this process (the subreaper); other
    # suites running at the same time have inits of their own that must not count
    me = str(os.getpid())
    for p in {p for p in set(os.listdir("/proc")) - before if p.isdigit()}:
        try:
            with open(f"/proc/{p}/stat") as f:
                ppid = f.read().rsplit(")", 1)[1].split()[1]
            with open(f"/proc/{p}/cmdline", "rb") as f:
                assert ppid != me or b"ocirt-init" not in f.read()
        except (FileNotFoundError, ProcessLookupError):
            pass


@pytest.mark.parametrize("args,word", [
    (["/etc/passwd"], 'exec: "/etc/passwd": permission denied'),
    (["/no/such"], 'exec: "/no/such": stat /no/such: no such file or directory'),
])
def test_exec_errors_use_runcs_words(ocirt: Ocirt, args: list[str], word: str) -> None:
    """Docker maps these phrases to exit codes 126 and 127."""
    bundle, _ = ocirt.bundle(args)
    res = ocirt("create", "-b", bundle, ocirt.new_id(), check=False)
    assert res.returncode != 0 and res.stderr.strip() == word


def test_config_error_names_the_field_and_logs_json(ocirt: Ocirt) -> None:
    bundle, cfg = ocirt.bundle(["true"])
    cfg["process"]["args"] = []
    ocirt.write(bundle, cfg)
    log = os.path.join(ocirt.tmp, "log.json")
    for form in (["--log-format", "json"], ["--log-format=json"]):
        res = ocirt("create", "-b", bundle, ocirt.new_id(), check=False,
                    glob_args=("--log", log, *form))
        assert res.returncode == 1
        assert res.stderr.strip() == "config.json: process.args: must not be empty"
    with open(log) as f:
        lines = f.read().splitlines()
    assert len(lines) == 2
    for line in lines:
        assert re.fullmatch(r'\{"level":"error","msg":"config\.json: process\.args: must not '
                            r'be empty","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z"\}', line)


def test_text_log_format(ocirt: Ocirt) -> None:
    log = os.path.join(ocirt.tmp, "log.txt")
    ocirt("start", "nope", check=False, glob_args=("--log", log))
    with open(log) as f:
        line = f.read().strip()
    assert re.fullmatch(r'time="[^"]+" level=error msg="container does not exist: nope"', line)


def test_missing_bundle_is_one_line(ocirt: Ocirt) -> None:
    res = ocirt("create", "-b", "/no/bundle", ocirt.new_id(), check=False)
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and "/no/bundle" in res.stderr


def test_systemd_cgroup_flag_is_a_clear_error(ocirt: Ocirt) -> None:
    res = ocirt("list", check=False, glob_args=("--systemd-cgroup",))
    assert res.returncode != 0 and "systemd cgroup driver is not supported" in res.stderr


def test_version_and_unknown_command(ocirt: Ocirt) -> None:
    assert re.match(r"ocirt version \d+\.\d+\.\d+\nspec: 1\.3\.0", ocirt("--version").stdout)
    assert ocirt("frobnicate", check=False).returncode != 0


def test_list_formats(ocirt: Ocirt) -> None:
    assert ocirt("list", "--format", "json").stdout == "null\n"  # runc's empty list
    bundle, _ = ocirt.bundle(["sleep", "30"])
    cid = ocirt.new_id()
    ocirt("create", "-b", bundle, cid)
    assert ocirt("list", "-q").stdout.split() == [cid]
    [entry] = json.loads(ocirt("list", "--format", "json").stdout)
    assert entry["id"] == cid and entry["status"] == "created" and entry["bundle"] == bundle
    table = ocirt("list").stdout.splitlines()
    assert table[0].split() == ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]
    assert table[1].split()[:3] == [cid, str(entry["pid"]), "created"]


def test_state_has_runc_extras_and_annotations(ocirt: Ocirt) -> None:
    bundle, cfg = ocirt.bundle(["sleep", "30"], annotations={"org.example/k": "v"})
    cid = ocirt.new_id()
    ocirt("create", "-b", bundle, cid)
    state = json.loads(ocirt("state", cid).stdout)
    assert state["ociVersion"] == "1.3.0" and state["id"] == cid
    assert state["annotations"] == {"org.example/k": "v"}
    assert state["rootfs"] == ocirt.rootfs and state["owner"] == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", state["created"])


def test_kill_all_signals_every_process(ocirt: Ocirt) -> None:
    bundle, cfg = ocirt.bundle(["/bin/sh", "-c", "sleep 30 & sleep 30 & wait"])
    cid = ocirt.new_id()
    ocirt.set_cgroup(cfg, cid)
    cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "pid"]
    ocirt.write(bundle, cfg)
    ocirt("run", "-d", "-b", bundle, cid)
    procs = f"/sys/fs/cgroup/pids/ocirt-tests/{cid}/cgroup.procs"
    for _ in range(100):
        with open(procs) as f:
            if len(f.read().split()) == 3:
                break
        time.sleep(0.02)
    ocirt("kill", "--all", cid, "KILL")
    for _ in range(200):
        with open(procs) as f:
            if not f.read().split():
                break
        time.sleep(0.02)
    with open(procs) as f:
        assert f.read().split() == []


def test_run_exit_status_and_signal(ocirt: Ocirt) -> None:
    bundle, _ = ocirt.bundle(["/bin/sh", "-c", "exit 7"])
    assert ocirt("run", "-b", bundle, ocirt.new_id(), check=False).returncode == 7
    # without a pid namespace: a namespace's PID 1 cannot SIGKILL itself
    bundle, cfg = ocirt.bundle(["/bin/sh", "-c", "kill -9 $$"])
    cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"] if n["type"] != "pid"]
    ocirt.write(bundle, cfg)
    assert ocirt("run", "-b", bundle, ocirt.new_id(), check=False).returncode == 137


def test_spec_writes_a_valid_config_once(tmp_path: object) -> None:
    import subprocess

    from ocirt.spec import validate
    from tests.conftest import ocirt_binary

    d = str(tmp_path)
    subprocess.run(ocirt_binary() + ["spec", "--bundle", d], check=True)
    with open(os.path.join(d, "config.json")) as f:
        validate(json.load(f))
    res = subprocess.run(ocirt_binary() + ["spec", "-b", d], capture_output=True, text=True)
    assert res.returncode != 0 and "exists" in res.stderr
    os.mkdir(os.path.join(d, "r"))
    subprocess.run(ocirt_binary() + ["spec", "--rootless", "-b", os.path.join(d, "r")],
                   check=True)
    with open(os.path.join(d, "r", "config.json")) as f:
        rootless = json.load(f)
    validate(rootless)
    assert {"type": "user"} in rootless["linux"]["namespaces"]


def test_no_pivot_runs_in_a_chroot(ocirt: Ocirt) -> None:
    """--no-pivot: MS_MOVE + chroot; the container still sees only its rootfs."""
    bundle, _ = ocirt.bundle(["/bin/sh", "-c", "ls /; cat /proc/self/mountinfo | head -1"])
    res = ocirt("run", "--no-pivot", "-b", bundle, ocirt.new_id())
    assert "bin" in res.stdout.split() and "home" in res.stdout.split()
    assert ocirt.rootfs not in res.stdout.split("\n")[-2].split()[4]  # mount point is "/"


def run_with_fds(cmd: list[str], fds: dict[int, int], listen: bool = False
                 ) -> subprocess.CompletedProcess:
    """Run cmd with fds[n] placed at fd n; with listen, as systemd would socket-activate it
    (LISTEN_FDS, and LISTEN_PID naming the very process that runs cmd)."""

    def place() -> None:
        for target, source in fds.items():
            os.dup2(source, target)
        if listen:  # the environment execv passes on is this process's own
            os.environ["LISTEN_FDS"] = str(len(fds))
            os.environ["LISTEN_PID"] = str(os.getpid())

    return subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                          preexec_fn=place, pass_fds=tuple(fds))


def test_listen_fds_pass_through(ocirt: Ocirt) -> None:
    """systemd socket activation: LISTEN_FDS for ocirt's own pid reach the container as
    fds 3.. with LISTEN_PID=1 (what runc does)."""
    bundle, _ = ocirt.bundle(["/bin/sh", "-c", "echo $LISTEN_FDS $LISTEN_PID; "
                                               "readlink /proc/self/fd/3"])
    cmd = ocirt_binary() + ["--root", ocirt.root, "run", "-b", bundle, ocirt.new_id()]
    r, w = os.pipe()
    try:
        res = run_with_fds(cmd, {3: r}, listen=True)
    finally:
        os.close(r)
        os.close(w)
    lines = res.stdout.split("\n")
    assert lines[0] == "1 1", res.stdout + res.stderr
    assert lines[1].startswith("pipe:")


def test_preserve_fds_and_nothing_else(ocirt: Ocirt) -> None:
    bundle, _ = ocirt.bundle(["/bin/sh", "-c", "readlink /proc/self/fd/3; "
                                               "readlink /proc/self/fd/4 || echo no-fd-4"])
    r3, w3 = os.pipe()
    r4, w4 = os.pipe()
    try:
        cmd = ocirt_binary() + ["--root", ocirt.root, "run", "--preserve-fds", "1", "-b",
                                bundle, ocirt.new_id()]
        res = run_with_fds(cmd, {3: r3, 4: r4})  # only fd 3 is to be preserved
    finally:
        for fd in (r3, w3, r4, w4):
            os.close(fd)
    lines = res.stdout.split()
    assert lines[0].startswith("pipe:") and lines[1] == "no-fd-4", res.stdout + res.stderr


def test_waiting_init_exposes_no_host_binary(ocirt: Ocirt) -> None:
    """CVE-2019-5736 class: while created, /proc/<pid>/exe is a sealed memfd, the init is
    non-dumpable (its /proc files belong to root, ptrace-style access is refused)."""
    import fcntl

    bundle, _ = ocirt.bundle(["sleep", "30"])
    cid = ocirt.new_id()
    ocirt("create", "-b", bundle, cid)
    pid = json.loads(ocirt("state", cid).stdout)["pid"]
    assert os.readlink(f"/proc/{pid}/exe").startswith("/memfd:ocirt-init")
    fd = os.open(f"/proc/{pid}/exe", os.O_RDONLY)
    try:
        seals = fcntl.fcntl(fd, 1034)  # F_GET_SEALS
        assert seals & 0x8, "F_SEAL_WRITE must be set"  # so nobody can rewrite the init
        with pytest.raises(OSError):
            os.write(fd, b"x")
    finally:
        os.close(fd)
    with open(f"/proc/{pid}/status") as f:
        status = f.read()
    assert "\nUid:\t0\t0\t0\t0\n" in status
    # a dumpable process would let its own uid ptrace it; /proc/<pid>/environ needs that
    ocirt("start", cid)
    wait_status(ocirt, cid, "running")
    assert os.readlink(f"/proc/{pid}/exe") == "/bin/busybox"


def _session_keyrings() -> set[str]:
    with open("/proc/keys") as f:
        # ID FLAGS USAGE TIMEOUT PERM UID GID TYPE DESCRIPTION: SUMMARY
        return {line.split()[8].rstrip(":") for line in f if line.split()[7] == "keyring"}


def test_session_keyring_per_container(ocirt: Ocirt) -> None:
    """runc's default: the container gets a session keyring `_ses.<id>` of its own;
    --no-new-keyring keeps the caller's."""
    bundle, _ = ocirt.bundle(["sleep", "30"])
    cid = ocirt.new_id()
    ocirt("create", "-b", bundle, cid)
    assert f"_ses.{cid}" in _session_keyrings()
    other = ocirt.new_id()
    ocirt("create", "--no-new-keyring", "-b", bundle, other)
    assert f"_ses.{other}" not in _session_keyrings()


def test_default_cgroup_parent_goes_with_the_last_container(ocirt: Ocirt) -> None:
    """Unset linux.cgroupsPath → /ocirt/<id>. The second container finds /ocirt made by the
    first; whichever is deleted last must still remove the empty /ocirt."""
    parent = "/sys/fs/cgroup/pids/ocirt"
    if os.path.exists(parent) and os.listdir(parent) and any(
            os.path.isdir(os.path.join(parent, n)) for n in os.listdir(parent)):
        pytest.skip("other containers use /ocirt on this host right now")
    bundle, cfg = ocirt.bundle(["sleep", "30"])
    assert "cgroupsPath" not in cfg["linux"]
    first, second = ocirt.new_id(), ocirt.new_id()
    ocirt("create", "-b", bundle, first)
    ocirt("create", "-b", bundle, second)
    assert os.path.isdir(f"{parent}/{first}") and os.path.isdir(f"{parent}/{second}")
    ocirt("delete", "-f", first)
    assert os.path.isdir(parent)
    ocirt("delete", "-f", second)
    assert not os.path.exists(parent)


def test_join_mount_namespace_by_path(ocirt: Ocirt) -> None:
    """config-linux.md "Namespaces": any namespace may be joined by path. As runc does, the
    rootfs is then set up inside the joined (here: throw-away) mount namespace, and the
    host's own mount namespace is untouched."""
    holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private",
                               "sleep", "30"])
    try:
        ns = f"/proc/{holder.pid}/ns/mnt"
        for _ in range(100):
            if os.path.exists(ns) and os.readlink(ns) != os.readlink("/proc/self/ns/mnt"):
                break
            time.sleep(0.01)
        with open("/proc/self/mountinfo") as f:
            host_before = f.read()
        bundle, cfg = ocirt.bundle(["/bin/sh", "-c", "readlink /proc/self/ns/mnt; hostname"])
        cfg["linux"]["namespaces"] = [
            n if n["type"] != "mount" else {"type": "mount", "path": ns}
            for n in cfg["linux"]["namespaces"]]
        ocirt.write(bundle, cfg)
        res = ocirt("run", "-b", bundle, ocirt.new_id())
        assert res.stdout.split("\n")[0] == os.readlink(ns)
        with open("/proc/self/mountinfo") as f:
            assert f.read() == host_before
    finally:
        holder.kill()
        holder.wait()
