"""What the engine tests share: installing the engines, daemons started and stopped by
pid, reaping the engines' orphans, and cleaning up after them.

Every engine runs with its own root, state and sockets under a directory of the test's, so
nothing here touches an engine the host may run, and each test takes the runtime as a
path, so the same scenario runs against ocirt and against runc.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable

from ocirt.testing.procs import zombie_children

# the binary each engine needs, and the Debian package that brings it
ENGINE_PACKAGES = {"podman": "podman", "conmon": "conmon", "containerd": "containerd",
                   "ctr": "containerd", "dockerd": "docker.io"}

# cgroup parents the engines are told to use, removed when the tests end
CGROUP_PARENT = "ocirt-engines"

# a container that lives until told otherwise and answers SIGTERM with status 9 (a shell
# that is PID 1 gets no default action for TERM; the trap is its handler)
SERVE = ["sh", "-c", "trap 'exit 9' TERM; sleep 1000 & wait"]

# ctr and Docker (API < 1.42) size the pty only after the process starts: a command that
# wants the size waits for it (busybox's stty prints nothing for a 0x0 terminal)
STTY_SIZE = ("i=0; while [ $i -lt 100 ] && [ -z \"$(stty size 2>/dev/null)\" ]; do "
             "sleep 0.1; i=$((i+1)); done; stty size")


def ensure_installed(*binaries: str) -> None:
    """apt-get install whichever of the engines' packages are missing."""
    missing = sorted({ENGINE_PACKAGES[b] for b in binaries if not shutil.which(b)})
    if not missing:
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed: {res.stderr.strip()[-2000:]}")
    # Debian's docker.io and containerd start their services where an init system runs
    # them; the tests want only their own daemons
    for service in ("docker", "containerd"):
        subprocess.run(["service", service, "stop"], capture_output=True, check=False)


def docker_cli() -> str:
    """The client of Debian's docker.io: the one that matches the daemon we start."""
    return "/usr/bin/docker" if os.access("/usr/bin/docker", os.X_OK) else "docker"


class EngineCLI:
    """An engine's command line: argv() puts the global options in front of a command."""

    name = "engine"
    env: dict[str, str] | None = None
    cwd: str | None = None

    def argv(self, *args: str) -> list[str]:
        raise NotImplementedError

    def __call__(self, *args: str, check: bool = True, timeout: float = 120,
                 ) -> subprocess.CompletedProcess:
        res = subprocess.run(self.argv(*args), env=self.env, cwd=self.cwd, capture_output=True,
                             text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        if check and res.returncode != 0:
            raise AssertionError(f"{self.name} {' '.join(args)} exited {res.returncode}: "
                                 f"{res.stderr.strip()}")
        return res


class Daemon:
    """A daemon started by a test, in a session of its own, and stopped by its pid."""

    def __init__(self, name: str, argv: list[str], log: str,
                 ready: Callable[[], bool], timeout: float = 60) -> None:
        self.name = name
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{name} did not come up: {self.tail()}")
            time.sleep(0.1)

    def tail(self, n: int = 20) -> str:
        with open(self.log, errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def stop(self, timeout: float = 30) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class OrphanReaper:
    """Reaps the engines' helpers (conmon, containerd shims) reparented to this process.

    The tests' process is a child subreaper (tests/conftest.py), so a helper that
    daemonises becomes our child; left a zombie, it would still look alive to the engine
    that watches it. Only those names are reaped: a blanket waitpid(-1) would steal the
    exit status of the commands subprocess is waiting for.
    """

    NAMES = ("conmon", "containerd-shim")

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="orphan-reaper", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.2):
            for pid in zombie_children(me):
                if _comm(pid).startswith(self.NAMES):
                    try:
                        os.waitpid(pid, 0)
                    except ChildProcessError:
                        pass

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def unmount_under(prefix: str) -> None:
    """Detach every mount an engine left below prefix, deepest first."""
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    prefix = prefix.rstrip("/") + "/"
    for point in sorted({p for p in points if p.startswith(prefix)}, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, check=False)


# directories the engines create on the host whatever their configured roots say
# (containerd 1.6 keeps shim sockets in /run/containerd/s; dockerd makes /run/docker/plugins)
HOST_DIRS = ("/run/containerd", "/run/docker")


def remove_empty_dirs(tops: list[str]) -> None:
    """rmdir tops and the empty directories below them, deepest first; skip anything else."""
    for top in tops:
        for path, _, _ in sorted(os.walk(top), key=lambda w: len(w[0]), reverse=True):
            try:
                os.rmdir(path)
            except OSError:
                pass


def remove_cgroup_parents() -> None:
    """rmdir the engines' cgroup trees (ours: every engine was given CGROUP_PARENT), in
    each v1 hierarchy and at the root of a v2 one."""
    import glob

    remove_empty_dirs(glob.glob(f"/sys/fs/cgroup/*/{CGROUP_PARENT}")
                      + [f"/sys/fs/cgroup/{CGROUP_PARENT}"])


def container_cgroup_file(pid: int, v1_controller: str, v1_name: str, v2_name: str) -> str:
    """What a cgroup file of the cgroup holding pid says, seen from the host, whichever
    version the host runs (v1 on a hybrid host when the controller is there)."""
    with open(f"/proc/{pid}/cgroup") as f:
        lines = [line.rstrip("\n").split(":", 2) for line in f]
    for _, controllers, path in lines:
        if v1_controller in controllers.split(","):
            base = os.path.join("/sys/fs/cgroup", controllers)
            if not os.path.isdir(base):  # mounted under a name joined otherwise
                base = next(os.path.join("/sys/fs/cgroup", d) for d in os.listdir(
                    "/sys/fs/cgroup") if v1_controller in d.split(","))
            with open(os.path.join(base, path.lstrip("/"), v1_name)) as f:
                return f.read().strip()
    path = next(p for _, c, p in lines if c == "")
    with open(os.path.join("/sys/fs/cgroup", path.lstrip("/"), v2_name)) as f:
        return f.read().strip()


def wait_for(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
