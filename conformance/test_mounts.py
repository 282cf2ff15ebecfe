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
