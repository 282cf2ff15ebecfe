"""config.md "Mounts": each option becomes the right flag, propagation or attribute."""

from __future__ import annotations

import pytest

from ocirt.errors import ConfigError
from ocirt.plan import mounts as m


def plan(options: list[str], **extra: object) -> m.Mount:
    entry = {"destination": "/x", "type": "tmpfs", "source": "tmpfs", "options": options}
    entry.update(extra)
    return m.plan_mount(0, entry, "/bundle", {})


@pytest.mark.parametrize("opt,flag", [
    ("ro", m.MS_RDONLY), ("nosuid", m.MS_NOSUID), ("nodev", m.MS_NODEV),
    ("noexec", m.MS_NOEXEC), ("sync", m.MS_SYNCHRONOUS), ("dirsync", m.MS_DIRSYNC),
    ("noatime", m.MS_NOATIME), ("nodiratime", m.MS_NODIRATIME), ("relatime", m.MS_RELATIME),
    ("strictatime", m.MS_STRICTATIME), ("lazytime", m.MS_LAZYTIME), ("mand", m.MS_MANDLOCK),
    ("iversion", m.MS_I_VERSION), ("nosymfollow", m.MS_NOSYMFOLLOW), ("silent", m.MS_SILENT),
    ("remount", m.MS_REMOUNT),
])
def test_setting_options(opt: str, flag: int) -> None:
    assert plan([opt]).flags & flag


@pytest.mark.parametrize("on,off,flag", [
    ("ro", "rw", m.MS_RDONLY), ("nosuid", "suid", m.MS_NOSUID), ("nodev", "dev", m.MS_NODEV),
    ("noexec", "exec", m.MS_NOEXEC), ("noatime", "atime", m.MS_NOATIME),
    ("sync", "async", m.MS_SYNCHRONOUS), ("relatime", "norelatime", m.MS_RELATIME),
])
def test_later_option_wins(on: str, off: str, flag: int) -> None:
    assert not plan([on, off]).flags & flag
    assert plan([off, on]).flags & flag


@pytest.mark.parametrize("opt,value", list(m.PROPAGATION.items()))
def test_propagation_is_a_separate_step(opt: str, value: int) -> None:
    mount = plan([opt])
    assert mount.propagation == [value] and not mount.flags & value


@pytest.mark.parametrize("opt", sorted(m.RECURSIVE))
def test_recursive_attributes(opt: str) -> None:
    mount = plan([opt])
    s, c = m.RECURSIVE[opt]
    assert (mount.attr_set, mount.attr_clr) == (s, c)


def test_unknown_options_are_fs_data() -> None:
    mount = plan(["nosuid", "mode=755", "size=65536k"])
    assert mount.data == "mode=755,size=65536k"


def test_bind_relative_source_is_bundle_relative(tmp_path: object) -> None:
    import os

    bundle = str(tmp_path)
    os.mkdir(os.path.join(bundle, "data"))
    open(os.path.join(bundle, "file"), "w").close()
    d = m.plan_mount(0, {"destination": "/d", "source": "data", "options": ["rbind"]},
                     bundle, {})
    assert d.source == os.path.join(bundle, "data") and d.flags & m.MS_REC
    assert not d.dest_is_file
    f = m.plan_mount(0, {"destination": "/f", "type": "bind", "source": "file"}, bundle, {})
    assert f.dest_is_file and f.flags & m.MS_BIND and f.fstype == ""


def test_missing_bind_source_names_the_field(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match=r"mounts\[0\]\.source: .*/nope: no such file"):
        m.plan_mount(0, {"destination": "/d", "source": "nope", "options": ["bind"]},
                     str(tmp_path), {})


def test_idmap_needs_bind_and_mappings(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match="idmap needs a bind mount"):
        plan(["idmap"])
    maps = {"uidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}],
            "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 10}]}
    mount = m.plan_mount(0, {"destination": "/d", "source": str(tmp_path),
                             "options": ["rbind", "idmap"], **maps}, "/", {})
    assert mount.uid_map == "0 1000 10\n" and mount.gid_map == "0 1000 10\n"
    with pytest.raises(ConfigError, match='need an "idmap"'):
        m.plan_mount(0, {"destination": "/d", "source": str(tmp_path), "options": ["rbind"],
                         **maps}, "/", {})


def test_relative_destination_is_from_root() -> None:
    assert m.plan_mount(0, {"destination": "tmp", "type": "tmpfs", "source": "t"}, "/b",
                        {}).destination == "/tmp"
