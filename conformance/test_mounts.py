"""Mount details (config.md "Mounts", "Linux mount options", "POSIX-platform Mounts")."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from conformance.conftest import Bundle, BundleFactory
from conformance.runtime import Runtime
from conformance.util import MountInfo, find_mount, parse_mountinfo

MOUNTINFO = ["cat", "/proc/self/mountinfo"]


def _mounts(rt: Runtime, b: Bundle) -> list[MountInfo]:
    b.write()
    return parse_mountinfo(rt.run_container(b.id, b.path).stdout)


def _tmpfs(dest: str, *options: str) -> dict[str, object]:
    return {"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": list(options)}


@pytest.mark.parametrize("option,where,flag", [
    ("noatime", "mount", "noatime"),
    ("nodiratime", "mount", "nodiratime"),
    ("nosuid", "mount", "nosuid"),
    ("nodev", "mount", "nodev"),
    ("noexec", "mount", "noexec"),
    ("ro", "mount", "ro"),
    ("nosymfollow", "mount", "nosymfollow"),
    ("sync", "super", "sync"),
    ("dirsync", "super", "dirsync"),
    ("lazytime", "super", "lazytime"),
    # not a mount(8) flag: passed to the filesystem as data (config.md "Linux mount options")
    ("nr_inodes=1000", "super", "nr_inodes=1000"),
])
def test_mount_option(rt: Runtime, bundle: BundleFactory, option: str, where: str,
                      flag: str) -> None:
    """config.md "Linux mount options": each option shows up as the matching mount or
    superblock flag in mountinfo."""
    b = bundle(MOUNTINFO)
    b.config["mounts"].append(_tmpfs("/mnt/a", option))
    m = find_mount(_mounts(rt, b), "/mnt/a")
    assert flag in (m.options if where == "mount" else m.super_options)


def test_strictatime_clears_relatime(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Linux mount options" strictatime: neither relatime nor noatime."""
    b = bundle(MOUNTINFO)
    b.config["mounts"].append(_tmpfs("/mnt/a", "strictatime"))
    m = find_mount(_mounts(rt, b), "/mnt/a")
    assert not {"relatime", "noatime"} & m.options


def test_relative_destination(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Mounts" destination: a (deprecated) relative path is relative to "/"."""
    b = bundle(MOUNTINFO)
    b.config["mounts"].append(_tmpfs("mnt/d", "size=1m"))
    find_mount(_mounts(rt, b), "/mnt/d")


def test_bind_source_relative_to_bundle(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Mounts" source: bind mount sources may be relative to the bundle; a mount
    is a bind mount by its `bind` option, even without a type."""
    b = bundle(["cat", "/mnt/e/file"])
    os.makedirs(os.path.join(b.path, "data"))
    with open(os.path.join(b.path, "data", "file"), "w") as f:
        f.write("relative source\n")
    b.config["mounts"].append({"destination": "/mnt/e", "source": "data", "options": ["bind"]})
    b.write()
    assert rt.run_container(b.id, b.path).stdout == "relative source\n"


@pytest.fixture
def nested_source(test_dir: str) -> Iterator[str]:
    """A host dir with a tmpfs mounted at sub/ (holding sub/inner), for bind vs rbind."""
    src = os.path.join(test_dir, "nested")
    sub = os.path.join(src, "sub")
    os.makedirs(sub)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "conformance", sub], check=True)
    try:
        with open(os.path.join(sub, "inner"), "w") as f:
            f.write("inner\n")
        os.chmod(sub, 0o777)
        yield src
    finally:
        subprocess.run(["umount", "-l", sub], check=False)


def test_bind_is_not_recursive(rt: Runtime, bundle: BundleFactory, nested_source: str) -> None:
    """config.md "Linux mount options" bind: submounts of the source are not carried."""
    b = bundle(["sh", "-c", "ls /mnt/b/sub"])
    b.config["mounts"].append({"destination": "/mnt/b", "type": "bind",
                               "source": nested_source, "options": ["bind"]})
    b.write()
    assert rt.run_container(b.id, b.path).stdout.split() == []


def test_rbind_is_recursive(rt: Runtime, bundle: BundleFactory, nested_source: str) -> None:
    """config.md "Linux mount options" rbind: submounts come along."""
    b = bundle(["sh", "-c", "ls /mnt/b/sub"])
    b.config["mounts"].append({"destination": "/mnt/b", "type": "bind",
                               "source": nested_source, "options": ["rbind"]})
    b.write()
    assert rt.run_container(b.id, b.path).stdout.split() == ["inner"]


def test_ro_rbind(rt: Runtime, bundle: BundleFactory, nested_source: str) -> None:
    """config.md "Linux mount options" ro on an rbind: the mount itself is read-only (what
    happens to submounts is only pinned down for `rro`)."""
    b = bundle(["sh", "-c", "touch /mnt/b/x 2>/dev/null && echo top-rw; "
                            "touch /mnt/b/sub/x 2>/dev/null && echo sub-rw; true"])
    b.config["mounts"].append({"destination": "/mnt/b", "type": "bind",
                               "source": nested_source, "options": ["rbind", "ro"]})
    b.write()
    assert "top-rw" not in rt.run_container(b.id, b.path).stdout


def test_rro_is_recursive(rt: Runtime, bundle: BundleFactory, nested_source: str) -> None:
    """config.md "Linux mount options" rro (SHOULD): the submount is read-only too."""
    b = bundle(["sh", "-c", "touch /mnt/b/x 2>/dev/null && echo top-rw; "
                            "touch /mnt/b/sub/x 2>/dev/null && echo sub-rw; true"])
    b.config["mounts"].append({"destination": "/mnt/b", "type": "bind",
                               "source": nested_source, "options": ["rbind", "rro"]})
    b.write()
    out = rt.run_container(b.id, b.path).stdout.split()
    assert "top-rw" not in out and "sub-rw" not in out


def test_duplicate_namespace_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Namespaces": a duplicated type is an error."""
    b = bundle(["true"])
    b.linux["namespaces"].append({"type": "ipc"})
    b.write()
    assert rt.create(b.id, b.path, check=False).returncode != 0
    assert rt.status(b.id) is None


def _tags(m: MountInfo) -> set[str]:
    return {t.split(":")[0] for t in m.optional}


@pytest.mark.parametrize("prop,expect", [
    ("shared", {"shared"}), ("private", set()), ("unbindable", {"unbindable"}),
])
def test_mount_propagation_option(rt: Runtime, bundle: BundleFactory, prop: str,
                                  expect: set[str]) -> None:
    """config.md "Linux mount options": the propagation options set the mount's
    propagation type, shown as shared:N / unbindable in mountinfo's optional fields."""
    b = bundle(MOUNTINFO)
    b.config["mounts"].append(_tmpfs("/mnt/a", prop))
    assert _tags(find_mount(_mounts(rt, b), "/mnt/a")) == expect


_RUNC_NOT_SHARED = pytest.mark.spec_deviation(
    runtime="runc", reason='rootfsPropagation "shared": runc 1.1.5 leaves the container\'s '
    '/ without a shared:N peer group (config-linux.md "Rootfs Mount Propagation")')


@pytest.mark.parametrize("prop,expect", [
    pytest.param("shared", {"shared"}, marks=_RUNC_NOT_SHARED),
    pytest.param("rshared", {"shared"}, marks=_RUNC_NOT_SHARED),
    ("private", set()), ("rprivate", set()),
])
def test_rootfs_propagation(rt: Runtime, bundle: BundleFactory, prop: str,
                            expect: set[str]) -> None:
    """config-linux.md "Rootfs Mount Propagation": the container's / gets that type."""
    b = bundle(MOUNTINFO)
    b.linux["rootfsPropagation"] = prop
    assert _tags(find_mount(_mounts(rt, b), "/")) == expect


def test_bind_of_a_shared_mount_is_its_slave_with_slave(rt: Runtime, bundle: BundleFactory,
                                                        nested_source: str) -> None:
    """config.md "Linux mount options" slave: receives the host's mount events only."""
    subprocess.run(["mount", "--make-shared", os.path.join(nested_source, "sub")], check=True)
    b = bundle(MOUNTINFO)
    b.config["mounts"].append({"destination": "/mnt/b", "type": "bind",
                               "source": os.path.join(nested_source, "sub"),
                               "options": ["bind", "slave"]})
    assert _tags(find_mount(_mounts(rt, b), "/mnt/b")) == {"master"}


@pytest.mark.parametrize("fstype,options,super_has", [
    ("devpts", ["newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
     {"gid=5", "mode=620", "ptmxmode=666"}),
    ("mqueue", ["nosuid", "nodev"], {"rw"}),
    ("sysfs", ["ro", "nosuid"], {"ro"}),
    ("proc", ["nosuid"], {"rw"}),
])
def test_mount_type(rt: Runtime, bundle: BundleFactory, fstype: str, options: list[str],
                    super_has: set[str]) -> None:
    """config.md "Mounts" type: the filesystem type, with its options, in mountinfo."""
    b = bundle(MOUNTINFO)
    b.config["mounts"].append({"destination": "/mnt/c", "type": fstype, "source": fstype,
                               "options": options})
    m = find_mount(_mounts(rt, b), "/mnt/c")
    assert m.fstype == fstype and super_has <= m.super_options, m


def test_masked_and_readonly_paths(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Masked Paths" / "Readonly Paths": a masked file reads empty, a
    masked directory is an empty read-only mount, a readonly path is a read-only mount;
    missing paths are ignored."""
    b = bundle(["sh", "-c", "cat /proc/kcore | wc -c; ls /proc/acpi | wc -l; "
                            "cat /proc/self/mountinfo"])
    b.linux["maskedPaths"] = ["/proc/kcore", "/proc/acpi", "/does/not/exist"]
    b.linux["readonlyPaths"] = ["/proc/sys", "/not/there"]
    b.write()
    out = rt.run_container(b.id, b.path).stdout.split("\n", 2)
    assert out[0].strip() == "0" and out[1].strip() == "0"
    mounts = parse_mountinfo(out[2])
    assert "ro" in find_mount(mounts, "/proc/acpi").options
    assert "ro" in find_mount(mounts, "/proc/sys").options


def test_sysctl_outside_the_container_namespaces_fails(rt: Runtime,
                                                       bundle: BundleFactory) -> None:
    """config-linux.md "Sysctl": a key the container's namespaces do not scope
    (kernel.pid_max is system-wide) must not change the host; runtimes refuse it."""
    with open("/proc/sys/kernel/pid_max") as f:
        before = f.read()
    b = bundle(["true"])
    b.linux["sysctl"] = {"kernel.pid_max": "32768" if before.strip() != "32768" else "40000"}
    b.write()
    assert rt.create(b.id, b.path, check=False).returncode != 0
    with open("/proc/sys/kernel/pid_max") as f:
        assert f.read() == before
