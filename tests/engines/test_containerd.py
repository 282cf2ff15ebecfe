"""containerd drives the runtime through its runc shim (io.containerd.runc.v2), as `ctr run
--runc-binary PATH` asks; the image comes from an OCI archive, not a registry."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator

import pytest

from ocirt.testing.console import run_in_pty
from ocirt.testing.ociimage import oci_archive
from tests.engines.harness import (
    CGROUP_PARENT,
    SERVE,
    STTY_SIZE,
    EngineCLI,
    container_cgroup_file,
    wait_for,
)

NAMESPACE = "ocirt-tests"
IMAGE = "docker.io/ocirt/busybox:latest"


class Ctr(EngineCLI):
    name = "ctr"

    def __init__(self, sock: str, base: str) -> None:
        self.sock = sock
        self.base = base
        self.runtime = ""
        self._ids = 0
        self.served: set[str] = set()

    def argv(self, *args: str) -> list[str]:
        return ["ctr", "--address", self.sock, "--namespace", NAMESPACE, *args]

    def new_id(self) -> str:
        self._ids += 1
        return f"c{os.getpid()}-{self._ids}"

    def run_args(self, cid: str, *opts: str) -> list[str]:
        """`run` of the image as cid, by the runtime under test, in a cgroup of ours."""
        return ["run", "--runc-binary", self.runtime, "--runc-root", f"{self.base}/runc",
                "--fifo-dir", f"{self.base}/fifo",
                "--cgroup", f"/{CGROUP_PARENT}/ctr/{cid}", *opts, IMAGE, cid]

    def exec_args(self, cid: str, exec_id: str, *opts: str) -> list[str]:
        return ["task", "exec", "--fifo-dir", f"{self.base}/fifo", "--exec-id", exec_id, *opts,
                cid]

    def status(self, cid: str) -> str:
        for line in self("task", "ls").stdout.splitlines()[1:]:
            fields = line.split()
            if fields[0] == cid:
                return fields[2]
        return ""

    def pid(self, cid: str) -> int:
        return int(next(line.split()[1] for line in self("task", "ls").stdout.splitlines()[1:]
                        if line.split()[0] == cid))

    def serve(self) -> str:
        """A detached task that ends with status 9 on SIGTERM."""
        cid = self.new_id()
        self(*self.run_args(cid, "-d"), *SERVE)
        self.served.add(cid)
        wait_for("the task to run", lambda: self.status(cid) == "RUNNING")
        return cid

    def remove_all(self) -> list[str]:
        ids = self("containers", "ls", "--quiet").stdout.split()
        for cid in ids:
            if self.status(cid) not in ("", "STOPPED"):
                self("task", "kill", "--signal", "SIGKILL", cid, check=False)
                wait_for("the task to stop", lambda c=cid: self.status(c) in ("", "STOPPED"))
            self("task", "delete", cid, check=False)
            self("containers", "delete", cid, check=False)
        return ids


@pytest.fixture(scope="package")
def ctr_session(containerd: str, engines_dir: str, image_rootfs: str) -> Iterator[Ctr]:
    base = os.path.join(engines_dir, "ctr")
    os.makedirs(base)
    ctr = Ctr(containerd, base)
    ctr("images", "import", oci_archive(image_rootfs, os.path.join(base, "busybox-oci.tar"),
                                        IMAGE))
    yield ctr
    ctr.remove_all()


@pytest.fixture
def ctr(ctr_session: Ctr, runtime: str) -> Iterator[Ctr]:
    ctr_session.runtime = runtime
    yield ctr_session
    left = set(ctr_session.remove_all()) - ctr_session.served
    assert not left, f"a test left containers behind: {left}"


def test_run_exit_code_and_output(ctr: Ctr) -> None:
    cid = ctr.new_id()
    res = ctr(*ctr.run_args(cid, "--rm"), "sh", "-c", "echo out; exit 3", check=False)
    assert (res.returncode, res.stdout) == (3, "out\n"), res.stderr


def test_run_tty(ctr: Ctr) -> None:
    cid = ctr.new_id()
    code, out = run_in_pty(ctr.argv(*ctr.run_args(cid, "--rm", "-t"), "sh", "-c",
                                    f"tty; {STTY_SIZE}; exit 4"), rows=31, cols=97)
    text = out.decode(errors="replace")
    assert code == 4, text
    assert re.search(r"/dev/pts/\d+\r", text), text
    assert "31 97" in text, text


def test_task_exec(ctr: Ctr) -> None:
    cid = ctr.serve()
    res = ctr(*ctr.exec_args(cid, "e1"), "sh", "-c", "echo in; exit 7", check=False)
    assert (res.returncode, res.stdout) == (7, "in\n"), res.stderr
    who = ctr(*ctr.exec_args(cid, "e2", "--user", "1000"), "id").stdout
    assert who.startswith("uid=1000"), who
    code, out = run_in_pty(ctr.argv(*ctr.exec_args(cid, "e3", "-t"), "sh", "-c", "tty; exit 8"))
    assert code == 8, out
    assert re.search(rb"/dev/pts/\d+\r", out), out
    # an exec'd process is in the task's pid namespace and listed by the runtime's ps
    ctr(*ctr.exec_args(cid, "e4", "--detach"), "sleep", "777")
    wait_for("the exec in ps", lambda: len(ctr("task", "ps", cid).stdout.splitlines()) >= 4)


@pytest.mark.parametrize("signal, status", [("SIGTERM", 9), ("SIGKILL", 137)])
def test_kill(ctr: Ctr, signal: str, status: int) -> None:
    """The status of a killed task reaches the `ctr run` waiting for it."""
    cid = ctr.new_id()
    with open(os.path.join(ctr.base, f"{cid}.out"), "w+") as out:
        fg = subprocess.Popen(ctr.argv(*ctr.run_args(cid, "--rm"), *SERVE),
                              stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        try:
            wait_for("the task to run", lambda: ctr.status(cid) == "RUNNING")
            ctr("task", "kill", "--signal", signal, cid)
            assert fg.wait(60) == status
        finally:
            if fg.poll() is None:
                fg.kill()
                fg.wait()


def test_pause_resume(ctr: Ctr) -> None:
    cid = ctr.serve()
    pid = ctr.pid(cid)
    ctr("task", "pause", cid)
    assert ctr.status(cid) == "PAUSED"
    assert container_cgroup_file(pid, "freezer", "freezer.state", "cgroup.freeze") in (
        "FROZEN", "1")
    ctr("task", "resume", cid)
    assert ctr.status(cid) == "RUNNING"
    assert ctr(*ctr.exec_args(cid, "after"), "true").returncode == 0


def test_delete(ctr: Ctr) -> None:
    """After kill and delete, nothing of the task is left: process, runtime state, cgroup."""
    cid = ctr.serve()
    pid = ctr.pid(cid)
    with open(f"/proc/{pid}/cgroup") as f:
        cgroup = next(line.split(":", 2)[2].strip() for line in f
                      if "pids" in line.split(":")[1].split(","))
    ctr("task", "kill", "--signal", "SIGKILL", cid)
    wait_for("the task to stop", lambda: ctr.status(cid) == "STOPPED")
    ctr("task", "delete", cid)
    ctr("containers", "delete", cid)
    assert cid not in ctr("containers", "ls", "--quiet").stdout.split()
    assert not os.path.exists(os.path.join(ctr.base, "runc", NAMESPACE, cid))
    assert not os.path.exists(f"/sys/fs/cgroup/pids{cgroup}")
    wait_for("the init to be reaped", lambda: not os.path.exists(f"/proc/{pid}"))
