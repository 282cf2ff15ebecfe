"""Fixtures for driving ocirt.native.spawn.InitProcess directly (root only)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ocirt.native.plan import Device, Mount, Namespace, Plan
from ocirt.testing.procs import reap_children

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWTIME = 0x00000080

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REC = 0x4000
MS_BIND = 0x1000
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19

if os.geteuid() != 0:
    pytest.skip("native init tests need root", allow_module_level=True)


def _children() -> set[int]:
    kids: set[int] = set()
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/children") as f:
            kids.update(int(x) for x in f.read().split())
    return kids


def _our_mounts() -> list[str]:
    # other test suites may run concurrently on this host: look at our temp dirs only
    with open("/proc/self/mountinfo") as f:
        return [line for line in f if "ocirt-native" in line]


@pytest.fixture(scope="session", autouse=True)
def _subreaper() -> None:
    from ocirt.native import set_child_subreaper

    set_child_subreaper()


@pytest.fixture
def workdir() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="ocirt-native-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def rootfs(base_rootfs: str, workdir: str) -> str:
    dest = os.path.join(workdir, "rootfs")
    shutil.copytree(base_rootfs, dest, symlinks=True)
    return dest


@pytest.fixture(autouse=True)
def _no_leaks() -> Iterator[None]:
    """Every test must leave no processes, mounts or fds behind."""
    mounts = _our_mounts()
    fds = set(os.listdir("/proc/self/fd"))
    kids = _children()
    yield
    leaked = _children() - kids
    for pid in leaked:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except OSError:
            pass
    # orphans reparented to us (we are subreaper) that already exited
    reap_children()
    assert not leaked, f"processes left behind: {leaked}"
    assert _our_mounts() == mounts, "mounts left behind"
    now = set(os.listdir("/proc/self/fd"))
    assert now - fds == set(), f"fds left behind: {now - fds}"


def default_plan(rootfs: str, args: list[str], **kw) -> Plan:
    """A runc-like plan: new mount/pid/uts/ipc namespaces, /proc, /dev, basic devices."""
    plan = Plan(
        namespaces=[Namespace(f) for f in (CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUTS,
                                           CLONE_NEWIPC)],
        rootfs=rootfs,
        mounts=[
            Mount("/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC),
            Mount("/dev", "tmpfs", "tmpfs", MS_NOSUID, "mode=755,size=65536k"),
        ],
        devices=[
            Device("/dev/null", "c", 1, 3, 0o666, 0, 0),
            Device("/dev/zero", "c", 1, 5, 0o666, 0, 0),
            Device("/dev/urandom", "c", 1, 9, 0o666, 0, 0),
        ],
        symlinks=[("/dev/fd", "/proc/self/fd")],
        args=args,
        env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    )
    for k, v in kw.items():
        setattr(plan, k, v)
    return plan


@dataclass
class Result:
    status: int
    output: str


class Runner:
    """Starts plans, starts the containers, collects their output; cleans up after."""

    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        self.pids: list[int] = []
        self.n = 0

    def create(self, plan: Plan, join_cgroup=lambda pid: None, console_socket=None, **kw):
        from ocirt.native.spawn import InitProcess

        self.n += 1
        state = os.path.join(self.workdir, f"state{self.n}")
        os.mkdir(state, 0o700)
        fifo = os.path.join(state, "exec.fifo")
        os.mkfifo(fifo)
        os.chmod(fifo, 0o622)  # mkfifo honours the umask; the container user must write it
        out_path = os.path.join(self.workdir, f"out{self.n}")
        out = os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        saved = [os.dup(1), os.dup(2)]
        os.dup2(out, 1)
        os.dup2(out, 2)
        try:
            init = InitProcess.start(plan, state_dir=state, join_cgroup=join_cgroup,
                                     console_socket=console_socket, **kw)
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in (*saved, out):
                os.close(fd)
        self.pids.append(init.pid)
        init.state_dir = state  # type: ignore[attr-defined]
        init.out_path = out_path  # type: ignore[attr-defined]
        return init

    def start(self, init) -> Result:
        # Non-blocking, so an init that died instead of opening its end fails the test
        # rather than hanging it.
        fd = os.open(os.path.join(init.state_dir, "exec.fifo"),
                     os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    if os.read(fd, 1) == b"0":
                        break
                except BlockingIOError:
                    pass
                pid, status = os.waitpid(init.pid, os.WNOHANG)
                if pid:
                    self.pids.remove(init.pid)
                    with open(init.out_path) as f:
                        raise AssertionError(f"init died before exec ({status}): {f.read()}")
                assert time.monotonic() < deadline, "init never opened exec.fifo"
                time.sleep(0.005)
        finally:
            os.close(fd)
        _, status = os.waitpid(init.pid, 0)
        self.pids.remove(init.pid)
        with open(init.out_path) as f:
            return Result(os.waitstatus_to_exitcode(status), f.read())

    def run(self, plan: Plan, **kw) -> Result:
        return self.start(self.create(plan, **kw))

    def cleanup(self) -> None:
        for pid in self.pids:
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            except OSError:
                pass


@pytest.fixture
def runner(workdir: str) -> Iterator[Runner]:
    r = Runner(workdir)
    yield r
    r.cleanup()
