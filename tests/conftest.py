"""Shared fixtures: the ocirt binary under test, a busybox rootfs, and leak checks.

Tests run as root on the host. PID 1 here may not reap orphans, so the test process is a
child subreaper: container inits are reparented to it and reaped by the fixtures.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from ocirt.testing.busybox import base_config, build_rootfs, write_config
from ocirt.testing.procs import become_subreaper, reap_children

CGROUP_PARENT = "ocirt-tests"
_ids = itertools.count()


def ocirt_binary() -> list[str]:
    """OCIRT env, else the `ocirt` beside this interpreter (the venv), else -m ocirt."""
    if os.environ.get("OCIRT"):
        return [os.environ["OCIRT"]]
    sibling = os.path.join(os.path.dirname(sys.executable), "ocirt")
    if os.access(sibling, os.X_OK):
        return [sibling]
    return [sys.executable, "-m", "ocirt"]


@pytest.fixture(scope="session", autouse=True)
def _subreaper() -> None:
    if os.geteuid() != 0:
        pytest.exit("the ocirt tests run as root (they create namespaces and cgroups)")
    become_subreaper()


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One busybox rootfs shared read-only by the tests' bundles."""
    path = str(tmp_path_factory.mktemp("rootfs") / "rootfs")
    build_rootfs(path)
    for d in ("out", "mnt"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    return path


@pytest.fixture(scope="session")
def base_rootfs() -> Iterator[str]:
    """A busybox rootfs in a directory of its own, shared by the native and rootfs tests."""
    d = tempfile.mkdtemp(prefix="ocirt-rootfs-base-")
    build_rootfs(os.path.join(d, "rootfs"))
    yield os.path.join(d, "rootfs")
    shutil.rmtree(d)


class Ocirt:
    """Runs the ocirt CLI with a private --root and tracks container ids for cleanup."""

    def __init__(self, root: str, tmp: str, rootfs: str) -> None:
        self.root = root
        self.tmp = tmp
        self.rootfs = rootfs
        self.ids: list[str] = []

    def __call__(self, *args: str, check: bool = True, timeout: float = 30,
                 glob_args: tuple[str, ...] = (), **kw: Any) -> subprocess.CompletedProcess:
        cmd = ocirt_binary() + ["--root", self.root, *glob_args, *args]
        # files, not pipes: a created container keeps the stdio it inherited open, so a
        # pipe would never reach EOF while it lives
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.run(cmd, stdout=out, stderr=err, timeout=timeout, **kw)
            out.seek(0)
            err.seek(0)
            res = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
        if check and res.returncode != 0:
            raise AssertionError(f"{cmd} failed ({res.returncode}): {res.stderr.strip()}")
        return res

    def new_id(self) -> str:
        cid = f"t{os.getpid()}-{next(_ids)}"
        self.ids.append(cid)
        return cid

    def bundle(self, args: list[str], name: str | None = None, **changes: Any) -> tuple[str, dict]:
        """A bundle over the shared rootfs: read-only root, out/ bound writable from tmp."""
        cfg = base_config(args)
        path = os.path.join(self.tmp, name or f"b{next(_ids)}")
        os.makedirs(path)
        out = os.path.join(path, "out")
        os.makedirs(out)
        cfg["root"] = {"path": self.rootfs, "readonly": True}
        cfg["mounts"].append({"destination": "/out", "type": "bind", "source": out,
                              "options": ["rbind", "rw"]})
        for key, value in changes.items():
            cfg[key] = value
        cfg.setdefault("linux", {})
        write_config(path, cfg)
        return path, cfg

    def write(self, bundle: str, cfg: dict) -> None:
        write_config(bundle, cfg)

    def set_cgroup(self, cfg: dict, cid: str) -> None:
        cfg["linux"]["cgroupsPath"] = f"/{CGROUP_PARENT}/{cid}"


def leftovers(cid: str, root: str) -> list[str]:
    found = []
    if os.path.exists(os.path.join(root, cid)):
        found.append(f"state dir {root}/{cid}")
    found += glob.glob(f"/sys/fs/cgroup/*/{CGROUP_PARENT}/{cid}")
    found += glob.glob(f"/sys/fs/cgroup/{CGROUP_PARENT}/{cid}")
    with open("/proc/self/mountinfo") as f:
        found += [line.strip() for line in f if cid in line]
    return found


@pytest.fixture
def ocirt(tmp_path: Any, rootfs: str) -> Iterator[Ocirt]:
    o = Ocirt(str(tmp_path / "state"), str(tmp_path), rootfs)
    yield o
    for cid in o.ids:
        o("delete", "--force", cid, check=False)
    reap_children()
    problems = [p for cid in o.ids for p in leftovers(cid, o.root)]
    assert not problems, f"left behind: {problems}"


@pytest.fixture(scope="session", autouse=True)
def _cgroup_parents() -> Iterator[None]:
    yield
    for d in glob.glob(f"/sys/fs/cgroup/*/{CGROUP_PARENT}") + [
            f"/sys/fs/cgroup/{CGROUP_PARENT}"]:
        try:
            os.rmdir(d)
        except OSError:
            pass


def cleanup_tree(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)
