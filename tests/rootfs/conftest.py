"""Fixtures for the rootfs tests: hand-built plans on a busybox rootfs copy, plus a "trap".

The trap is a directory outside the rootfs, made a shared tmpfs mount on the host before
the container starts. A container whose rootfs propagation is rshared keeps its copy of
the trap in the same peer group, so a mount that escaped the rootfs onto the trap would
show up in the host's /proc/self/mountinfo: escapes are visible, not just absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator

import pytest

from tests.native.conftest import Runner, default_plan  # noqa: F401  (re-exported)

MS_REC, MS_SHARED = 0x4000, 1 << 20


def _mounts_under(path: str) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f
                if line.split()[4].startswith(path + "/") or line.split()[4] == path]


@pytest.fixture
def workdir() -> Iterator[str]:
    d = tempfile.mkdtemp(prefix="ocirt-rootfs-")
    os.chmod(d, 0o755)
    yield d
    leftover = _mounts_under(d)
    for mp in reversed(leftover):
        subprocess.run(["umount", "-l", mp], check=False)
    shutil.rmtree(d, ignore_errors=True)
    assert not leftover, f"mounts left behind: {leftover}"


@pytest.fixture
def rootfs(base_rootfs: str, workdir: str) -> str:
    dest = os.path.join(workdir, "rootfs")
    shutil.copytree(base_rootfs, dest, symlinks=True)
    return dest


@pytest.fixture
def runner(workdir: str) -> Iterator[Runner]:
    r = Runner(workdir)
    yield r
    r.cleanup()
    from ocirt.testing.procs import reap_children

    reap_children()


class Trap:
    def __init__(self, path: str) -> None:
        self.path = path
        self.marker = os.path.join(path, "file")

    def contents(self) -> list[str]:
        out = []
        for top, dirs, files in os.walk(self.path):
            out += [os.path.relpath(os.path.join(top, n), self.path) for n in dirs + files]
        return sorted(out)

    def mounts(self) -> list[str]:
        """Mounts on or below the trap, other than the trap itself."""
        return [m for m in _mounts_under(self.path) if m != self.path]

    def assert_untouched(self) -> None:
        assert self.mounts() == [], f"a mount escaped the rootfs: {self.mounts()}"
        assert self.contents() == ["file"], f"created outside the rootfs: {self.contents()}"
        with open(self.marker) as f:
            assert f.read() == "host\n"


@pytest.fixture
def trap(workdir: str) -> Iterator[Trap]:
    path = os.path.join(workdir, "trap")
    os.mkdir(path)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "ocirt-trap", path], check=True)
    try:
        subprocess.run(["mount", "--make-shared", path], check=True)
        t = Trap(path)
        with open(t.marker, "w") as f:
            f.write("host\n")
        yield t
    finally:
        subprocess.run(["umount", "-R", "-l", path], check=False)


def shared_plan(rootfs: str, args: list[str], **kw: object):
    """default_plan with rshared rootfs propagation: an escaped mount reaches the host."""
    return default_plan(rootfs, args, rootfs_propagation=MS_SHARED | MS_REC, **kw)
