"""Fixtures for the runtime-agnostic conformance suite.

RUNTIME (env) names the runtime under test; it is driven only through runc's CLI contract.
Every test gets its own `--root` state dir and unique container ids, and a teardown that
force-deletes every id it created and then proves nothing is left behind (state, processes,
cgroups).
"""

from __future__ import annotations

import glob
import itertools
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

# `python3 -m pytest conformance` from the repo root already has it on sys.path, but
# compare.py and CI may start pytest from elsewhere; the bundle helper lives in ocirt/testing.
_REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from conformance.runtime import Runtime  # noqa: E402
from ocirt.testing.busybox import base_config, build_rootfs, write_config  # noqa: E402
from ocirt.testing.procs import become_subreaper, reap_children  # noqa: E402

CGROUP_PARENT = "ocirt-conformance"
CGROUP_ROOT = "/sys/fs/cgroup"
# Mount points used by tests; they must exist in the shared rootfs because the rootfs is shared
# between containers and a runtime would otherwise mkdir them in it (a write we don't want).
MOUNTPOINTS = ("out", "mnt/a", "mnt/b", "mnt/c", "mnt/d", "mnt/e")

_SESSION_TAG = secrets.token_hex(2)
_ids = itertools.count(1)


# -- runtime selection --------------------------------------------------------------------

def _resolve_runtime() -> str:
    value = os.environ.get("RUNTIME")
    if not value:
        found = shutil.which("ocirt")
        if not found:
            raise pytest.UsageError(
                "conformance: set RUNTIME to the runtime binary to test, e.g. "
                "RUNTIME=/usr/sbin/runc python3 -m pytest conformance "
                "(RUNTIME is unset and no `ocirt` is on PATH)")
        return found
    path = value if os.sep in value else shutil.which(value)
    if not path or not os.access(path, os.X_OK):
        raise pytest.UsageError(f"conformance: RUNTIME={value!r} is not an executable")
    return os.path.abspath(path)


def runtime_name(binary: str) -> str:
    """Which runtime this is, for spec_deviation markers: RUNTIME_NAME, else the file name.

    The file name, not `--version`, on purpose: a drop-in may well print runc's banner.
    """
    return os.environ.get("RUNTIME_NAME") or os.path.basename(binary)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "spec_deviation(runtime, reason): known spec deviation of that runtime; when the "
        "runtime under test is that one, the test is xfail(strict=True); runtime may be "
        "a tuple of names")
    config.addinivalue_line(
        "markers",
        "ocirt_todo(issue, reason): a feature ocirt has not implemented yet, due in that "
        "issue; under ocirt the test is xfail(strict=True), so it fails loudly once it works")
    if os.geteuid() != 0:
        raise pytest.UsageError("conformance: must run as root (it creates containers)")
    config.stash[_BINARY] = _resolve_runtime()
    # PID 1 on the test VM may not reap orphans; a detached container's init is re-parented
    # to us once `create` exits, so we become the subreaper and reap in the fixtures.
    become_subreaper()


_BINARY = pytest.StashKey[str]()


def pytest_report_header(config: pytest.Config) -> str:
    binary = config.stash[_BINARY]
    return f"conformance runtime: {binary} (as {runtime_name(binary)!r})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    name = runtime_name(config.stash[_BINARY])
    for item in items:
        for mark in item.iter_markers("spec_deviation"):
            runtimes = mark.kwargs.get("runtime")
            if name == runtimes or (isinstance(runtimes, tuple) and name in runtimes):
                item.add_marker(pytest.mark.xfail(
                    strict=True, reason=f"{name} deviation: {mark.kwargs.get('reason', '')}"))
        if name == "ocirt":
            for mark in item.iter_markers("ocirt_todo"):
                item.add_marker(pytest.mark.xfail(
                    strict=True, reason=f"ocirt: not yet, issue {mark.kwargs['issue']}: "
                                        f"{mark.kwargs.get('reason', '')}"))


# -- helpers ------------------------------------------------------------------------------

def cgroup_dirs(cid: str) -> list[str]:
    """Existing cgroup dirs for this container id, in every v1 hierarchy and in cgroup2."""
    pattern_v1 = os.path.join(CGROUP_ROOT, "*", CGROUP_PARENT, cid)
    pattern_v2 = os.path.join(CGROUP_ROOT, CGROUP_PARENT, cid)
    return sorted(set(glob.glob(pattern_v1)) | set(glob.glob(pattern_v2)))


def processes_in_cgroup(cid: str) -> list[int]:
    """Live pids whose /proc/PID/cgroup names this container's cgroup."""
    needle = f"/{CGROUP_PARENT}/{cid}"
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cgroup") as f:
                text = f.read()
        except OSError:
            continue
        if any(line.endswith(needle) or (needle + "/") in line for line in text.splitlines()):
            pids.append(int(entry))
    return pids


def pid_alive(pid: int) -> bool:
    """True for a live (non-zombie) process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _leftovers(rt: Runtime) -> list[str]:
    problems = []
    for cid in rt.ids:
        if rt.status(cid) is not None:
            problems.append(f"{cid}: `state` still succeeds after delete --force")
        for dirpath, dirnames, filenames in os.walk(rt.root):
            if cid in dirnames or cid in filenames:
                problems.append(f"{cid}: state left in {os.path.join(dirpath, cid)}")
        for pid in processes_in_cgroup(cid):
            problems.append(f"{cid}: process {pid} still in its cgroup")
        for d in cgroup_dirs(cid):
            problems.append(f"{cid}: cgroup {d} left behind")
    for pid in sorted(rt.pids):
        if pid_alive(pid):
            problems.append(f"container process {pid} still alive")
    return problems


def _force_cleanup(rt: Runtime) -> None:
    """Last resort after a failed leftover check, so one bad test doesn't poison the next."""
    for cid in rt.ids:
        for pid in processes_in_cgroup(cid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    for pid in rt.pids:
        if pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    time.sleep(0.2)
    reap_children()
    for cid in rt.ids:
        # children first (a runtime may nest), then the container's own dir
        for d in cgroup_dirs(cid):
            for sub, _, _ in sorted(os.walk(d), key=lambda t: -len(t[0])):
                try:
                    os.rmdir(sub)
                except OSError:
                    pass


# -- fixtures -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def runtime_binary(pytestconfig: pytest.Config) -> str:
    return pytestconfig.stash[_BINARY]


@pytest.fixture(scope="session")
def runtime_id(runtime_binary: str) -> str:
    return runtime_name(runtime_binary)


@pytest.fixture(scope="session")
def session_dir() -> Iterator[str]:
    """A world-traversable scratch dir: pytest's tmp_path is 0700, which user-namespaced
    containers (mapped to an unprivileged host uid) could not traverse."""
    d = tempfile.mkdtemp(prefix="ocirt-conformance-")
    os.chmod(d, 0o755)
    existed = {c for c in glob.glob(os.path.join(CGROUP_ROOT, "*", CGROUP_PARENT))}
    existed |= set(glob.glob(os.path.join(CGROUP_ROOT, CGROUP_PARENT)))
    yield d
    reap_children()
    shutil.rmtree(d, ignore_errors=True)
    # Only the parents this session brought into being (by way of cgroupsPath), only if empty.
    now = set(glob.glob(os.path.join(CGROUP_ROOT, "*", CGROUP_PARENT)))
    now |= set(glob.glob(os.path.join(CGROUP_ROOT, CGROUP_PARENT)))
    for parent in sorted(now - existed):
        try:
            os.rmdir(parent)
        except OSError:
            pass


@pytest.fixture(scope="session")
def rootfs(session_dir: str) -> str:
    """One busybox rootfs for the whole session, shared read-only (root.readonly) by bundles."""
    path = build_rootfs(os.path.join(session_dir, "rootfs"))
    for mp in MOUNTPOINTS:
        os.makedirs(os.path.join(path, mp), exist_ok=True)
    return path


@pytest.fixture
def test_dir(session_dir: str) -> str:
    d = tempfile.mkdtemp(dir=session_dir, prefix="t-")
    os.chmod(d, 0o755)
    return d


@pytest.fixture
def rt(runtime_binary: str, test_dir: str) -> Iterator[Runtime]:
    """The runtime under test, with a private --root; cleans up and checks for leftovers."""
    root = os.path.join(test_dir, "state")
    os.makedirs(root)
    runtime = Runtime(runtime_binary, root)
    yield runtime
    for cid in runtime.ids:
        runtime.delete(cid, force=True, check=False)
    problems: list[str] = []
    deadline = time.monotonic() + 5
    while True:
        reap_children()
        problems = _leftovers(runtime)
        if not problems or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if problems:
        _force_cleanup(runtime)
        pytest.fail("leftovers after delete --force:\n  " + "\n  ".join(problems))


def new_id() -> str:
    """Unique per session and per process (parallel sessions and xdist workers included)."""
    return f"oc{_SESSION_TAG}{os.getpid() % 10000}-{next(_ids)}"


@dataclass
class Bundle:
    """A bundle dir with config.json (root pointing at the shared rootfs) and an `out` dir
    bind-mounted read-write at /out, through which container processes report back."""

    id: str
    path: str
    out: str
    config: dict[str, Any] = field(default_factory=dict)

    def write(self) -> str:
        write_config(self.path, self.config)
        return self.path

    def out_path(self, name: str) -> str:
        return os.path.join(self.out, name)

    def read_out(self, name: str) -> str:
        with open(self.out_path(name)) as f:
            return f.read()

    @property
    def process(self) -> dict[str, Any]:
        proc: dict[str, Any] = self.config["process"]
        return proc

    @property
    def linux(self) -> dict[str, Any]:
        linux: dict[str, Any] = self.config.setdefault("linux", {})
        return linux


BundleFactory = Callable[..., Bundle]


@pytest.fixture
def bundle(test_dir: str, rootfs: str) -> BundleFactory:
    """bundle(args) -> Bundle, with a fresh id and cgroupsPath /ocirt-conformance/<id>.

    The config is written by Bundle.write() so tests can adjust it first.
    """

    def make(args: list[str] | None = None, cid: str | None = None) -> Bundle:
        cid = cid or new_id()
        path = os.path.join(test_dir, f"bundle-{cid}")
        out = os.path.join(path, "out")
        os.makedirs(out)
        # writable by any uid so user-namespaced / non-root container processes can report
        os.chmod(out, 0o777)
        cfg = base_config(args if args is not None else ["true"])
        cfg["root"] = {"path": rootfs, "readonly": True}
        # crun 1.8 refuses ociVersion 1.3.0; this lets the suite be cross-checked against it
        cfg["ociVersion"] = os.environ.get("CONFORMANCE_OCI_VERSION", cfg["ociVersion"])
        cfg["linux"]["cgroupsPath"] = f"/{CGROUP_PARENT}/{cid}"
        cfg["mounts"].append({"destination": "/out", "type": "bind", "source": out,
                              "options": ["rbind", "rw"]})
        b = Bundle(cid, path, out, cfg)
        b.write()
        return b

    return make


@pytest.fixture
def netns() -> Iterator[str]:
    """A named network namespace made with `ip netns add`, removed afterwards."""
    name = f"ocirtconf-{_SESSION_TAG}-{secrets.token_hex(3)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)
