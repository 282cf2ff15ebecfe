"""podman drives the runtime through conmon (`--runtime PATH`), as a user of podman would.

podman runs with its own storage, run root and containers.conf under a temp dir, the
cgroupfs manager, `--network none` and an image imported from a busybox rootfs tarball.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator

import pytest

from ocirt.testing.console import run_in_pty
from ocirt.testing.ociimage import rootfs_tar
from tests.engines.harness import (
    CGROUP_PARENT,
    SERVE,
    EngineCLI,
    container_cgroup_file,
    ensure_installed,
    unmount_under,
    wait_for,
)

IMAGE = "localhost/ocirt-busybox:latest"

# podman asks for RLIMIT_NOFILE 1048576 and a large RLIMIT_NPROC by default; this host's
# hard limits are lower and raising them needs CAP_SYS_RESOURCE, which it lacks
CONTAINERS_CONF = """[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
# podman passes --log-format=json only to the runtimes named here
runtime_supports_json = ["ocirt", "runc", "crun"]
"""


class Podman(EngineCLI):
    name = "podman"

    def __init__(self, base: str) -> None:
        self.base = base
        for d in ("root", "runroot", "tmp"):
            os.makedirs(os.path.join(base, d), exist_ok=True)
        conf = os.path.join(base, "containers.conf")
        with open(conf, "w") as f:
            f.write(CONTAINERS_CONF)
        storage = os.path.join(base, "storage.conf")
        with open(storage, "w") as f:
            f.write(f'[storage]\ndriver = "overlay"\nrunroot = "{base}/runroot"\n'
                    f'graphroot = "{base}/root"\n')
        self.env = dict(os.environ, CONTAINERS_CONF=conf, CONTAINERS_STORAGE_CONF=storage)
        # conmon drops a file named "oom" into its working directory on an OOM kill
        self.cwd = base
        self.runtime = "runc"

    def argv(self, *args: str) -> list[str]:
        return ["podman", "--root", f"{self.base}/root", "--runroot", f"{self.base}/runroot",
                "--tmpdir", f"{self.base}/tmp", "--cgroup-manager", "cgroupfs",
                "--events-backend", "file", "--runtime", self.runtime, *args]

    def run_args(self, *args: str) -> list[str]:
        """`run` with the options every test container gets."""
        return ["run", "--network", "none", "--cgroup-parent", f"/{CGROUP_PARENT}/podman",
                *args]

    def remove(self, *names: str) -> None:
        """rm --force, again after a moment if podman finds the container's /dev/shm
        still busy (its processes are killed, not yet gone: seen with runc and ocirt)."""
        for attempt in range(5):
            res = self("rm", "--force", "--time", "0", *names, check=attempt == 4)
            if res.returncode == 0:
                return
            time.sleep(0.5)

    def inspect(self, name: str, fmt: str) -> str:
        return self("inspect", "-f", fmt, name).stdout.strip()


@pytest.fixture(scope="package")
def podman_session(engines_dir: str, image_rootfs: str) -> Iterator[Podman]:
    ensure_installed("podman", "conmon")
    base = os.path.join(engines_dir, "podman")
    pm = Podman(base)
    tar = rootfs_tar(image_rootfs, os.path.join(engines_dir, "busybox.tar"))
    pm("import", tar, IMAGE)
    yield pm
    pm("rm", "--all", "--force", "--time", "0", check=False)
    pm("system", "reset", "--force", check=False)
    unmount_under(base)


@pytest.fixture
def podman(podman_session: Podman, runtime: str) -> Iterator[Podman]:
    podman_session.runtime = runtime
    yield podman_session
    left = podman_session("ps", "--all", "--quiet").stdout.split()
    if left:
        podman_session.remove(*left)
    assert not left, f"a test left containers behind: {left}"


@pytest.fixture
def served(podman: Podman) -> Iterator[str]:
    """A running container that ends with status 9 on SIGTERM."""
    name = f"served-{os.getpid()}"
    podman(*podman.run_args("-d", "--name", name, IMAGE, *SERVE))
    yield name
    podman.remove(name)


def test_run_exit_code_and_output(podman: Podman) -> None:
    res = podman(*podman.run_args("--rm", IMAGE, "sh", "-c", "echo out; echo err >&2; exit 3"),
                 check=False)
    assert (res.returncode, res.stdout) == (3, "out\n"), res.stderr
    assert "err" in res.stderr


def test_run_missing_and_non_executable_commands(podman: Podman) -> None:
    # podman maps the runtime's exec errors as docker does: 127 not found, 126 not runnable
    missing = podman(*podman.run_args("--rm", IMAGE, "no-such-command"), check=False)
    assert missing.returncode == 127, missing.stderr
    denied = podman(*podman.run_args("--rm", IMAGE, "/etc/passwd"), check=False)
    assert denied.returncode == 126, denied.stderr


def test_run_interactive_tty(podman: Podman) -> None:
    """run -it: the container's stdio is a pty of the terminal's size; its status is ours."""
    code, out = run_in_pty(podman.argv(*podman.run_args(
        "-it", "--rm", IMAGE, "sh", "-c", "tty; stty size; exit 5")), rows=31, cols=97,
        env=podman.env)
    text = out.decode(errors="replace")
    assert code == 5, text
    assert re.search(r"/dev/pts/\d+\r\n", text), text
    assert "31 97" in text, text


def test_run_user_and_read_only(podman: Podman) -> None:
    who = podman(*podman.run_args("--rm", "--user", "1000:1000", IMAGE, "id")).stdout
    assert who.startswith("uid=1000(user) gid=1000(user)"), who
    res = podman(*podman.run_args("--rm", "--read-only", IMAGE, "sh", "-c",
                                  "touch /x 2>&1; touch /tmp/y && echo tmp-ok")).stdout
    assert "Read-only file system" in res and "tmp-ok" in res, res


def test_exec(podman: Podman, served: str) -> None:
    res = podman("exec", served, "sh", "-c", "echo in; exit 4", check=False)
    assert (res.returncode, res.stdout) == (4, "in\n"), res.stderr
    who = podman("exec", "-u", "1000:1001", served, "id").stdout
    assert who.startswith("uid=1000(user) gid=1001(extra)"), who
    # the exec'd process shares the container's pid namespace: it sees PID 1's sleep
    assert "sleep 1000" in podman("exec", served, "ps", "-o", "pid,args").stdout


def test_exec_interactive_tty(podman: Podman, served: str) -> None:
    code, out = run_in_pty(podman.argv("exec", "-it", served, "sh", "-c", "tty; exit 6"),
                           env=podman.env)
    assert code == 6, out
    assert re.search(rb"/dev/pts/\d+\r\n", out), out


def test_exec_detached_and_top(podman: Podman, served: str) -> None:
    podman("exec", "-d", served, "sleep", "777")
    wait_for("the detached exec", lambda: "sleep 777" in podman("top", served).stdout)
    top = podman("top", served, "pid", "args").stdout
    assert "sleep 1000" in top and "sleep 777" in top, top


def test_stats(podman: Podman, served: str) -> None:
    res = podman("stats", "--no-stream", "--format", "json", served).stdout
    stats = json.loads(res)
    assert stats and int(stats[0]["pids"]) >= 2, res
    assert stats[0]["mem_usage"], res


def test_pause_unpause(podman: Podman, served: str) -> None:
    pid = int(podman.inspect(served, "{{.State.Pid}}"))
    podman("pause", served)
    assert podman.inspect(served, "{{.State.Status}}") == "paused"
    frozen = container_cgroup_file(pid, "freezer", "freezer.state", "cgroup.freeze")
    assert frozen in ("FROZEN", "1"), frozen
    podman("unpause", served)
    assert podman.inspect(served, "{{.State.Status}}") == "running"
    assert podman("exec", served, "true").returncode == 0


def test_update_memory(podman: Podman, served: str) -> None:
    podman("update", "--memory", "64m", served)
    pid = int(podman.inspect(served, "{{.State.Pid}}"))
    limit = container_cgroup_file(pid, "memory", "memory.limit_in_bytes", "memory.max")
    assert limit == str(64 << 20)


def test_kill(podman: Podman, served: str) -> None:
    podman("kill", "--signal", "TERM", served)
    wait_for("exit", lambda: podman.inspect(served, "{{.State.Status}}") == "exited")
    assert podman.inspect(served, "{{.State.ExitCode}}") == "9"
    podman("start", served)
    podman("kill", served)  # SIGKILL
    wait_for("exit", lambda: podman.inspect(served, "{{.State.Status}}") == "exited")
    assert podman.inspect(served, "{{.State.ExitCode}}") == "137"


def test_stop_and_start_again(podman: Podman, served: str) -> None:
    podman("stop", "--time", "20", served)
    assert podman.inspect(served, "{{.State.Status}} {{.State.ExitCode}}") == "exited 9"
    podman("start", served)
    assert podman.inspect(served, "{{.State.Status}}") == "running"
    assert podman("exec", served, "echo", "again").stdout == "again\n"
    # a PID 1 with no handler for SIGTERM ignores it: stop falls back to SIGKILL
    podman(*podman.run_args("-d", "--name", f"{served}-deaf", IMAGE, "sleep", "1000"))
    try:
        podman("stop", "--time", "1", f"{served}-deaf")
        assert podman.inspect(f"{served}-deaf", "{{.State.ExitCode}}") == "137"
    finally:
        podman.remove(f"{served}-deaf")


def test_rm_force(podman: Podman, served: str) -> None:
    pid = int(podman.inspect(served, "{{.State.Pid}}"))
    podman.remove(served)
    assert served not in podman("ps", "--all", "--format", "{{.Names}}").stdout
    wait_for("the container's init to go", lambda: not os.path.exists(f"/proc/{pid}/stat")
             or open(f"/proc/{pid}/stat").read().split(") ")[1].startswith("Z"))


def test_memory_limit_oom_kills(podman: Podman) -> None:
    hog = ["sh", "-c", "x=$(head -c 100000000 /dev/zero | tr '\\0' a); echo survived"]
    res = podman(*podman.run_args("--rm", "--memory", "32m", "--memory-swap", "32m", IMAGE,
                                  *hog), check=False)
    assert res.returncode == 137, res.stdout + res.stderr
    assert "survived" not in res.stdout
    # the limit is what killed it: unlimited, the same shell lives
    assert podman(*podman.run_args("--rm", IMAGE, *hog)).stdout == "survived\n"


def test_pids_limit(podman: Podman) -> None:
    res = podman(*podman.run_args("--rm", "--pids-limit", "10", IMAGE, "sh", "-c",
                                  "for i in $(seq 20); do sleep 5 & done; wait"), check=False)
    assert "can't fork" in res.stderr, res.stderr


def test_cpus(podman: Podman) -> None:
    name = f"cpus-{os.getpid()}"
    podman(*podman.run_args("-d", "--name", name, "--cpus", "0.5", IMAGE, "sleep", "1000"))
    try:
        pid = int(podman.inspect(name, "{{.State.Pid}}"))
        quota = container_cgroup_file(pid, "cpu", "cpu.cfs_quota_us", "cpu.max")
        period = container_cgroup_file(pid, "cpu", "cpu.cfs_period_us", "cpu.max")
        assert quota.split()[0] == "50000" and period.split()[-1] == "100000", (quota, period)
    finally:
        podman.remove(name)


def _host_pids(cmdline: bytes) -> list[int]:
    found = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if f.read() == cmdline:
                    found.append(int(entry))
        except OSError:
            pass
    return found


def test_exec_in_user_and_pid_namespace(podman: Podman) -> None:
    """An exec into a container with its own user namespace runs as the mapped user, in
    the container's user and pid namespaces (issue 6 acceptance)."""
    name = f"userns-{os.getpid()}"
    podman(*podman.run_args("-d", "--name", name, "--uidmap", "0:200000:65536",
                            "--gidmap", "0:200000:65536", IMAGE, *SERVE))
    try:
        init = int(podman.inspect(name, "{{.State.Pid}}"))
        podman("exec", "-d", "-u", "1000:1000", name, "sleep", "778")
        wait_for("the exec", lambda: bool(_host_pids(b"sleep\x00778\x00")))
        (pid,) = _host_pids(b"sleep\x00778\x00")
        for ns in ("user", "pid", "mnt"):
            assert os.readlink(f"/proc/{pid}/ns/{ns}") == os.readlink(f"/proc/{init}/ns/{ns}")
        with open(f"/proc/{pid}/status") as f:
            ids = {k: v.split() for k, v in (line.split(":", 1) for line in f)}
        assert ids["Uid"][0] == ids["Gid"][0] == str(201000), ids["Uid"]
        inside = podman("exec", "-u", "1000:1000", name, "sh", "-c",
                        "id -u; cat /proc/self/uid_map").stdout.split()
        assert inside[:4] == ["1000", "0", "200000", "65536"], inside
    finally:
        podman.remove(name)
