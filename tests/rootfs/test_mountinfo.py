"""config.md "Mounts" through the CLI: every type, option and propagation mode, read back
from /proc/self/mountinfo inside the container (per-mount options, superblock options and
the shared:N / master:N / unbindable propagation fields)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from conformance.util import MountInfo, find_mount, parse_mountinfo
from tests.conftest import Ocirt

MOUNTINFO = ["cat", "/proc/self/mountinfo"]


def run_mounts(ocirt: Ocirt, mounts: list[dict], **changes: object) -> list[MountInfo]:
    bundle, cfg = ocirt.bundle(MOUNTINFO, **changes)
    cfg["mounts"] += mounts
    ocirt.write(bundle, cfg)
    return parse_mountinfo(ocirt("run", "--bundle", bundle, ocirt.new_id()).stdout)


def tmpfs(dest: str, *options: str) -> dict:
    return {"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": list(options)}


def tags(m: MountInfo) -> set[str]:
    return {t.split(":")[0] for t in m.optional}


@pytest.mark.parametrize("option,mount_flags,super_flags,absent", [
    ("ro", {"ro"}, {"ro"}, {"rw"}),
    ("rw", {"rw"}, {"rw"}, {"ro"}),
    ("nosuid", {"nosuid"}, set(), set()),
    ("nodev", {"nodev"}, set(), set()),
    ("noexec", {"noexec"}, set(), set()),
    ("noatime", {"noatime"}, set(), {"relatime"}),
    ("nodiratime", {"nodiratime"}, set(), set()),
    ("relatime", {"relatime"}, set(), {"noatime"}),
    ("strictatime", set(), set(), {"relatime", "noatime"}),
    ("nosymfollow", {"nosymfollow"}, set(), set()),
    ("sync", set(), {"sync"}, set()),
    ("dirsync", set(), {"dirsync"}, set()),
    ("lazytime", set(), {"lazytime"}, set()),
    ("mode=700", set(), {"mode=700"}, set()),
])
def test_tmpfs_option(ocirt: Ocirt, option, mount_flags, super_flags, absent) -> None:
    m = find_mount(run_mounts(ocirt, [tmpfs("/mnt/t", option)]), "/mnt/t")
    assert mount_flags <= m.options, m
    assert super_flags <= m.super_options, m
    assert not absent & m.options, m


@pytest.mark.parametrize("fstype,dest,options,super_has", [
    ("proc", "/mnt/p", ["nosuid", "noexec", "nodev"], {"rw"}),
    ("sysfs", "/mnt/s", ["ro", "nosuid"], {"ro"}),
    ("tmpfs", "/mnt/t", ["size=1m"], {"size=1024k"}),
    ("devpts", "/mnt/pts", ["newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
     {"gid=5", "mode=620", "ptmxmode=666"}),
    ("mqueue", "/mnt/mq", ["nosuid"], {"rw"}),
])
def test_mount_type(ocirt: Ocirt, fstype, dest, options, super_has) -> None:
    mounts = [{"destination": dest, "type": fstype, "source": fstype, "options": options}]
    m = find_mount(run_mounts(ocirt, mounts), dest)
    assert m.fstype == fstype
    assert super_has <= m.super_options, m
    assert {o for o in options if o in ("ro", "nosuid", "nodev", "noexec")} <= m.options


def test_cgroup_mount_with_and_without_cgroup_namespace(ocirt: Ocirt) -> None:
    """On this v1-hybrid host: a tmpfs with one mount per hierarchy; fresh cgroup mounts
    (root "/") with a cgroup namespace, binds of the container's own cgroups without."""
    cg = [{"destination": "/mnt/cg", "type": "cgroup", "source": "cgroup",
           "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}]
    with open("/proc/self/mountinfo") as f:
        host = {m.mount_point.rsplit("/", 1)[1] for m in parse_mountinfo(f.read())
                if m.mount_point.startswith("/sys/fs/cgroup/")}
    for with_ns in (True, False):
        bundle, cfg = ocirt.bundle(MOUNTINFO)
        cfg["mounts"] += cg
        ns = cfg["linux"]["namespaces"]
        cfg["linux"]["namespaces"] = [n for n in ns if n["type"] != "cgroup"]
        if with_ns:
            cfg["linux"]["namespaces"].append({"type": "cgroup"})
        cid = ocirt.new_id()
        ocirt.set_cgroup(cfg, cid)
        ocirt.write(bundle, cfg)
        mounts = parse_mountinfo(ocirt("run", "--bundle", bundle, cid).stdout)
        top = find_mount(mounts, "/mnt/cg")
        assert top.fstype == "tmpfs" and "ro" in top.options and "ro" in top.super_options
        subs = {m.mount_point.rsplit("/", 1)[1]: m for m in mounts
                if m.mount_point.startswith("/mnt/cg/")}
        assert set(subs) == host
        for m in subs.values():
            assert m.fstype in ("cgroup", "cgroup2"), m
            assert {"ro", "nosuid", "nodev", "noexec"} <= m.options, m
            if with_ns:
                assert m.source == "cgroup", m


@pytest.fixture
def shared_source(tmp_path) -> Iterator[str]:
    """A host tmpfs that is a shared mount, with a shared submount at sub/."""
    src = str(tmp_path / "shared")
    os.makedirs(src)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "ocirt-shared", src], check=True)
    sub = os.path.join(src, "sub")
    os.mkdir(sub)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "ocirt-sub", sub], check=True)
    subprocess.run(["mount", "--make-rshared", src], check=True)
    try:
        yield src
    finally:
        subprocess.run(["umount", "-R", "-l", src], check=False)


def _host_peer_group(path: str) -> str:
    with open("/proc/self/mountinfo") as f:
        m = find_mount(parse_mountinfo(f.read()), path)
    return next(t for t in m.optional if t.startswith("shared:")).split(":")[1]


@pytest.mark.parametrize("prop,top,sub", [
    # the container's / is rslave by default: a bind of a shared host mount is its slave
    (None, {"master"}, {"master"}),
    ("slave", {"master"}, {"master"}),
    ("rslave", {"master"}, {"master"}),
    ("private", set(), {"master"}),
    ("rprivate", set(), set()),
    ("shared", {"shared", "master"}, {"master"}),
    ("rshared", {"shared", "master"}, {"shared", "master"}),
    ("unbindable", {"unbindable"}, {"master"}),
    ("runbindable", {"unbindable"}, {"unbindable"}),
])
def test_bind_propagation(ocirt: Ocirt, shared_source: str, prop, top, sub) -> None:
    opts = ["rbind"] + ([prop] if prop else [])
    mounts = run_mounts(ocirt, [{"destination": "/mnt/b", "type": "bind",
                                 "source": shared_source, "options": opts}])
    t, s = find_mount(mounts, "/mnt/b"), find_mount(mounts, "/mnt/b/sub")
    assert tags(t) == top, t
    assert tags(s) == sub, s
    if "master" in top:
        # a slave of the host's peer group
        assert f"master:{_host_peer_group(shared_source)}" in t.optional


@pytest.mark.parametrize("prop,expect", [
    ("shared", {"shared"}), ("private", set()), ("slave", set()),
    ("unbindable", {"unbindable"}),
])
def test_tmpfs_propagation(ocirt: Ocirt, prop, expect) -> None:
    m = find_mount(run_mounts(ocirt, [tmpfs("/mnt/t", prop)]), "/mnt/t")
    assert tags(m) == expect, m


@pytest.mark.parametrize("prop,expect", [
    ("shared", {"shared"}), ("rshared", {"shared"}), ("private", set()),
    ("rprivate", set()), ("slave", set()), ("rslave", set()),
    ("unbindable", {"unbindable"}), ("runbindable", {"unbindable"}),
])
def test_rootfs_propagation(ocirt: Ocirt, prop, expect) -> None:
    bundle, cfg = ocirt.bundle(MOUNTINFO)
    cfg["linux"]["rootfsPropagation"] = prop
    ocirt.write(bundle, cfg)
    m = find_mount(parse_mountinfo(ocirt("run", "--bundle", bundle, ocirt.new_id()).stdout),
                   "/")
    assert tags(m) == expect, m


@pytest.mark.parametrize("option,flag", [
    ("rro", "ro"), ("rnosuid", "nosuid"), ("rnodev", "nodev"), ("rnoexec", "noexec"),
    ("rnoatime", "noatime"), ("rnodiratime", "nodiratime"), ("rnosymfollow", "nosymfollow"),
])
def test_recursive_attribute(ocirt: Ocirt, shared_source: str, option, flag) -> None:
    mounts = run_mounts(ocirt, [{"destination": "/mnt/b", "type": "bind",
                                 "source": shared_source, "options": ["rbind", option]}])
    for where in ("/mnt/b", "/mnt/b/sub"):
        assert flag in find_mount(mounts, where).options, where


def test_recursive_attribute_clears(ocirt: Ocirt, tmp_path) -> None:
    src = str(tmp_path / "rosrc")
    os.makedirs(src)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,nosuid", "ocirt-ro", src],
                   check=True)
    try:
        mounts = run_mounts(ocirt, [{"destination": "/mnt/b", "type": "bind", "source": src,
                                     "options": ["rbind", "rsuid", "rstrictatime"]}])
    finally:
        subprocess.run(["umount", "-l", src], check=False)
    m = find_mount(mounts, "/mnt/b")
    assert "nosuid" not in m.options and not {"relatime", "noatime"} & m.options, m


@pytest.mark.parametrize("option,flag", [("ro", "ro"), ("nosuid", "nosuid"),
                                         ("nodev", "nodev"), ("noexec", "noexec")])
def test_bind_flags_need_a_remount(ocirt: Ocirt, tmp_path, option, flag) -> None:
    src = str(tmp_path / "src")
    os.makedirs(src)
    m = find_mount(run_mounts(ocirt, [{"destination": "/mnt/b", "type": "bind",
                                       "source": src, "options": ["bind", option]}]),
                   "/mnt/b")
    assert flag in m.options, m


def test_ro_bind_of_a_nodev_nosuid_host_mount(ocirt: Ocirt, tmp_path) -> None:
    """A read-only bind of a nosuid/nodev/noexec host mount (like /dev/shm) works. As
    real root nothing is locked and, like runc, only the options given are kept; in a user
    namespace see tests/rootfs/test_devices_masks.py (the locked flags are added back)."""
    src = str(tmp_path / "shm")
    os.makedirs(src)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,nosuid,nodev,noexec", "ocirt-shm",
                    src], check=True)
    try:
        m = find_mount(run_mounts(ocirt, [{"destination": "/mnt/shm", "type": "bind",
                                           "source": src, "options": ["rbind", "ro"]}]),
                       "/mnt/shm")
    finally:
        subprocess.run(["umount", "-l", src], check=False)
    assert "ro" in m.options, m


def test_tmpcopyup_and_file_destination(ocirt: Ocirt, tmp_path) -> None:
    f = tmp_path / "hostfile"
    f.write_text("from host\n")
    bundle, cfg = ocirt.bundle(["sh", "-c", "ls /etc/passwd && cat /mnt/newfile/../f 2>&1;"
                                            " cat /mnt/f; grep -c ' /etc ' /proc/self/mountinfo"])
    cfg["mounts"] += [tmpfs("/etc", "tmpcopyup"),
                      {"destination": "/mnt/f", "type": "bind", "source": str(f),
                       "options": ["bind", "ro"]}]
    ocirt.write(bundle, cfg)
    out = ocirt("run", "--bundle", bundle, ocirt.new_id()).stdout.splitlines()
    assert out[0] == "/etc/passwd"
    assert "from host" in out
    assert out[-1] == "1"


def test_idmap_mount(ocirt: Ocirt, tmp_path) -> None:
    src = tmp_path / "idsrc"
    src.mkdir()
    (src / "f").write_text("x")  # owned by 0:0 on disk
    bundle, cfg = ocirt.bundle(["sh", "-c", "stat -c %u:%g /mnt/i/f; cat /proc/self/mountinfo"])
    cfg["mounts"].append({"destination": "/mnt/i", "type": "bind", "source": str(src),
                          "options": ["bind", "idmap"],
                          "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}],
                          "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}]})
    ocirt.write(bundle, cfg)
    out = ocirt("run", "--bundle", bundle, ocirt.new_id()).stdout
    first, rest = out.split("\n", 1)
    # on-disk ids are the containerID side of the mapping (as the kernel and runc read a
    # mount idmap): 0 on disk shows as 1000
    assert first == "1000:1000"
    assert "idmapped" in find_mount(parse_mountinfo(rest), "/mnt/i").options
