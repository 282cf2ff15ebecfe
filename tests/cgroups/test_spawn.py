"""The init is started inside its cgroups, not moved there by pid.

Moving a process by writing its pid to cgroup.procs takes a global kernel lock that waits
for an RCU grace period (5-15 ms per container start). So on cgroup v2 the init is born
in its cgroup (clone3 CLONE_INTO_CGROUP, ocirt.native.spawn_in_cgroup), and on v1 it moves
itself through each hierarchy's `tasks` file, which skips that lock.
"""

from __future__ import annotations

import errno
import glob
import os
import shutil
from collections.abc import Iterator

import pytest

from ocirt import native
from ocirt.testing.procs import zombie_children
from tests.conftest import CGROUP_PARENT, Ocirt

V2_ROOTS = ("/sys/fs/cgroup/unified", "/sys/fs/cgroup")


def _v2_root() -> str | None:
    for root in V2_ROOTS:
        if os.path.exists(os.path.join(root, "cgroup.controllers")):
            return root
    return None


@pytest.fixture
def v2_cgroup() -> Iterator[str]:
    """A cgroup v2 directory of our own (the unified hierarchy of a hybrid host, or the
    v2 root), removed afterwards."""
    root = _v2_root()
    if root is None:
        pytest.skip("no cgroup2 hierarchy mounted on this host")
    path = os.path.join(root, CGROUP_PARENT, f"spawn-{os.getpid()}")
    os.makedirs(path)
    yield path
    os.rmdir(path)
    try:
        os.rmdir(os.path.dirname(path))
    except OSError:
        pass


def _spawn(exe: str, argv: list[str], dups: list[tuple[int, int]], cgroup: str) -> int:
    exe_fd = os.open(exe, os.O_RDONLY | os.O_CLOEXEC)
    cg = os.open(cgroup, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        return native.spawn_in_cgroup(exe_fd, argv, dups, cg)
    finally:
        os.close(exe_fd)
        os.close(cg)


def _run_sh(script: str, cgroup: str, extra: list[tuple[int, int]] = ()) -> tuple[int, str]:
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        pid = _spawn(shutil.which("sh") or "/bin/sh", ["sh", "-c", script],
                     [(w, 1), *extra], cgroup)
    finally:
        os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out


def test_child_is_born_in_the_cgroup(v2_cgroup: str) -> None:
    code, out = _run_sh("cat /proc/self/cgroup", v2_cgroup)
    assert code == 0
    rel = "/" + os.path.relpath(v2_cgroup, _v2_root())
    assert f"0::{rel}" in out.splitlines(), out


def test_dups_place_fds_and_clear_cloexec(v2_cgroup: str) -> None:
    extra = os.open("/dev/null", os.O_RDONLY | os.O_CLOEXEC)
    try:
        # from == to: the fd stays where it is, without FD_CLOEXEC; from != to: dup2
        code, out = _run_sh("ls /proc/self/fd", v2_cgroup, [(extra, extra), (extra, 9)])
    finally:
        os.close(extra)
    assert code == 0
    fds = set(out.split())
    assert {str(extra), "9"} <= fds, out


def test_exec_failure_is_reported_and_reaped(v2_cgroup: str) -> None:
    with pytest.raises(OSError) as e:
        _spawn("/etc/passwd", ["passwd"], [], v2_cgroup)
    assert e.value.errno == errno.EACCES
    assert not zombie_children(os.getpid()), "the failed child was not reaped"


def test_not_a_cgroup_is_an_error(tmp_path: str) -> None:
    with pytest.raises(OSError) as e:
        _spawn("/bin/true", ["true"], [], str(tmp_path))
    assert e.value.errno in (errno.EBADF, errno.EINVAL), e.value


@pytest.mark.skipif(not os.path.isdir("/sys/fs/cgroup/cpuset") or
                    os.path.exists("/sys/fs/cgroup/cgroup.controllers"),
                    reason="needs the cgroup v1 cpuset hierarchy")
def test_v1_self_join_failure_names_the_file(ocirt: Ocirt) -> None:
    """An existing cpuset cgroup with no cpus refuses tasks: the one-line error names the
    `tasks` file the init could not write, and nothing of the container is left."""
    cid = ocirt.new_id()
    # right below the root: a parent made here by hand would have no cpus either, and
    # every later container below it would inherit that
    path = f"/{CGROUP_PARENT}-empty-cpuset-{cid}"
    cpuset = f"/sys/fs/cgroup/cpuset{path}"
    os.mkdir(cpuset)  # not created by ocirt: its empty cpuset.cpus is left as it is
    try:
        bundle, cfg = ocirt.bundle(["true"])
        cfg["linux"]["cgroupsPath"] = path
        ocirt.write(bundle, cfg)
        res = ocirt("run", "--bundle", bundle, cid, check=False)
        assert res.returncode != 0
        assert f"join cgroup: write {cpuset}/tasks: " in res.stderr, res.stderr
        assert len(res.stderr.strip().splitlines()) == 1, res.stderr
        assert not os.path.exists(os.path.join(ocirt.root, cid))
        assert not [d for d in glob.glob(f"/sys/fs/cgroup/*{path}") if d != cpuset]
    finally:
        if os.path.exists(cpuset):  # delete removes the container's cgroups, as runc's does
            os.rmdir(cpuset)
