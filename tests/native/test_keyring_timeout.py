"""User namespace + /proc/self writes, the session keyring, the wait timeout."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
import uuid

import pytest
from conftest import CLONE_NEWTIME, CLONE_NEWUSER, default_plan

from ocirt.errors import InitError
from ocirt.native.plan import Mount, Namespace

KEYCTL_GET_KEYRING_ID = 0
KEY_SPEC_SESSION_KEYRING = -3
SYS_KEYCTL = 250  # x86_64
KEY_USR_SEARCH = 0x00080000
KEY_OTH_SEARCH = 0x00000008


def sh(script: str) -> list[str]:
    return ["/bin/sh", "-c", script]


def _userns_plan(rootfs: str, args: list[str], **kw):
    plan = default_plan(rootfs, args, new_userns=True, uid_mappings="0 100000 65536\n",
                        gid_mappings="0 100000 65536\n", **kw)
    plan.namespaces.insert(0, Namespace(CLONE_NEWUSER))
    for d in plan.devices:
        d.bind_from_host = True
    return plan


def test_userns_timens_offsets_and_oom_score_adj(runner, rootfs):
    # The init is non-dumpable, so its /proc/self files belong to host root, which the
    # mapped container root (host 100000) is not: both writes must still work.
    plan = _userns_plan(rootfs, sh("cut -d. -f1 /proc/uptime; cat /proc/self/oom_score_adj"),
                        timens_offsets="boottime 31536000 0\n", oom_score_adj=100)
    plan.namespaces.append(Namespace(CLONE_NEWTIME))
    with open("/proc/uptime") as f:
        host_uptime = float(f.read().split()[0])
    init = runner.create(plan)
    # still non-dumpable while it waits: /proc/<pid> files belong to host root
    assert os.stat(f"/proc/{init.pid}/status").st_uid == 0
    r = runner.start(init)
    assert r.status == 0, r.output
    up, oom = r.output.split()
    assert 31536000 - 2 <= int(up) - host_uptime < 31536000 + 60
    assert oom == "100"


def _proc_keys(user: int | None = None) -> list[list[str]]:
    if user is None:
        with open("/proc/keys") as f:
            text = f.read()
    else:
        text = subprocess.run(["cat", "/proc/keys"], user=user, group=user,
                              extra_groups=[], check=True, capture_output=True,
                              text=True).stdout
    return [line.split() for line in text.splitlines()]


def _find_keyring(name: str, user: int | None = None) -> list[str] | None:
    for f in _proc_keys(user):
        # serial flags usage timeout perm uid gid type description: summary
        if len(f) >= 9 and f[7] == "keyring" and f[8] == name + ":":
            return f
    return None


def _own_session_keyring() -> int:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc.syscall(SYS_KEYCTL, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0)


def test_new_session_keyring(runner, rootfs):
    name = f"_ses.ocirt-test-{uuid.uuid4().hex[:12]}"
    init = runner.create(default_plan(rootfs, ["/bin/true"], keyring_name=name))
    ring = _find_keyring(name)
    assert ring is not None, f"no keyring {name} while the container waits"
    assert int(ring[0], 16) != _own_session_keyring()
    assert (ring[5], ring[6]) == ("0", "0")
    # runc: without a user namespace the owner (uid) may search it
    assert int(ring[4], 16) & KEY_USR_SEARCH
    assert runner.start(init).status == 0


def test_new_session_keyring_in_user_namespace(runner, rootfs):
    name = f"_ses.ocirt-test-{uuid.uuid4().hex[:12]}"
    init = runner.create(_userns_plan(rootfs, ["/bin/true"], keyring_name=name))
    # owned by the container's root; only a process of that uid may view it
    ring = _find_keyring(name, user=100000)
    assert ring is not None, f"no keyring {name} while the container waits"
    assert (ring[5], ring[6]) == ("100000", "100000")
    # runc: with a user namespace "other" may search it (container users ≠ its owner)
    assert int(ring[4], 16) & KEY_OTH_SEARCH
    assert runner.start(init).status == 0


def test_no_new_keyring(runner, rootfs):
    name = f"_ses.ocirt-test-{uuid.uuid4().hex[:12]}"
    init = runner.create(default_plan(rootfs, ["/bin/true"], keyring_name=name,
                                      new_keyring=False))
    assert _find_keyring(name) is None
    assert runner.start(init).status == 0


def test_anonymous_session_keyring(runner, rootfs):
    before = {f[0] for f in _proc_keys() if len(f) >= 9 and f[8] == "_ses:"}
    init = runner.create(default_plan(rootfs, ["/bin/true"]))
    after = {f[0] for f in _proc_keys() if len(f) >= 9 and f[8] == "_ses:"}
    assert len(after - before) == 1
    assert runner.start(init).status == 0


def test_wait_for_init_times_out(runner, rootfs):
    # a stopped init never reports: start() must give up, kill and reap it
    def stop(pid: int) -> None:
        os.kill(pid, signal.SIGSTOP)

    t0 = time.monotonic()
    with pytest.raises(InitError, match=r"^container init did not report within 0\.3s$"):
        runner.create(default_plan(rootfs, ["/bin/true"]), join_cgroup=stop, timeout=0.3)
    assert time.monotonic() - t0 < 5


def test_wait_for_init_times_out_in_stage2(runner, rootfs, workdir):
    # stage 2 blocks in a lookup on a FUSE mount nobody serves (the /dev/fuse fd is
    # preserved fd 3 and never read): its pid is known by then and it must be killed and
    # reaped too
    fuse = os.open("/dev/fuse", os.O_RDWR | os.O_CLOEXEC)
    try:
        plan = default_plan(rootfs, ["/bin/true"], preserve_fds=1)
        plan.mounts += [Mount("/f", "fuse", "fuse", 0,
                              "fd=3,rootmode=40000,user_id=0,group_id=0"),
                        Mount("/f/x", "tmpfs", "tmpfs", 0)]
        saved = os.dup(3) if _fd_open(3) else -1
        os.dup2(fuse, 3, inheritable=False)
        try:
            with pytest.raises(InitError, match="did not report within 0.5s"):
                runner.create(plan, timeout=0.5)
        finally:
            if saved >= 0:
                os.dup2(saved, 3)
                os.close(saved)
            else:
                os.close(3)
    finally:
        os.close(fuse)


def _fd_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_bad_idmap_reaps_its_helper(runner, rootfs, workdir):
    # the throwaway user-namespace child must be reaped before the error is reported,
    # not orphaned to the caller (a subreaper here); _no_leaks checks
    from conftest import MS_BIND, MS_REC

    from ocirt.native.plan import Mount

    os.mkdir(os.path.join(workdir, "idm"))
    plan = default_plan(rootfs, ["/bin/true"])
    plan.mounts.append(Mount("/idm", os.path.join(workdir, "idm"), "", MS_BIND | MS_REC,
                             uid_map="0 1000 1\n0 1000 1\n", gid_map="0 1000 1\n"))
    with pytest.raises(InitError, match=r"^write /proc/\d+/uid_map: invalid argument$"):
        runner.create(plan)
    time.sleep(0.1)  # give an orphan time to show up
