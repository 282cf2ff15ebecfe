"""ocirt.plan: host-side checks happen before any side effect, naming the field."""

from __future__ import annotations

import copy
import os

import pytest

from ocirt.errors import ConfigError
from ocirt.plan import Options, build, host_id
from ocirt.spec.defaults import default_spec


@pytest.fixture
def bundle(tmp_path: object) -> str:
    path = str(tmp_path)
    os.mkdir(os.path.join(path, "rootfs"))
    return path


def cfg(**linux: object) -> dict:
    c = copy.deepcopy(default_spec())
    c["process"]["terminal"] = False
    c["linux"].update(linux)
    return c


def test_default_config_plans(bundle: str) -> None:
    plan = build(cfg(), bundle, Options())
    assert plan.rootfs == os.path.join(bundle, "rootfs") and plan.rootfs_readonly
    assert plan.hostname == "ocirt" and plan.args == ["sh"]
    assert [d.path for d in plan.devices][:3] == ["/dev/null", "/dev/zero", "/dev/full"]
    assert ("/dev/ptmx", "pts/ptmx") in plan.symlinks
    assert plan.capabilities is not None and plan.capabilities.bounding == (
        1 << 29 | 1 << 5 | 1 << 10)  # AUDIT_WRITE, KILL, NET_BIND_SERVICE


@pytest.mark.parametrize("change,field", [
    ({"namespaces": [{"type": "pid"}]}, "linux.namespaces"),
    ({"namespaces": [{"type": "mount"}, {"type": "net", "path": "/nope"}]},
     "linux.namespaces[1].type"),
    ({"namespaces": [{"type": "mount"}, {"type": "network", "path": "/nope"}]},
     "linux.namespaces[1].path"),
    ({"namespaces": [{"type": "mount"}, {"type": "user"}]}, "linux.uidMappings"),
    ({"uidMappings": [{"containerID": 0, "hostID": 1, "size": 1}]}, "linux.uidMappings"),
    ({"timeOffsets": {"monotonic": {"secs": 1}}}, "linux.timeOffsets"),
])
def test_linux_rejections(bundle: str, change: dict, field: str) -> None:
    with pytest.raises(ConfigError) as e:
        build(cfg(**change), bundle, Options())
    assert e.value.field == field


def test_hostname_needs_uts_namespace(bundle: str) -> None:
    c = cfg(namespaces=[{"type": "mount"}])
    with pytest.raises(ConfigError, match="hostname: .*uts"):
        build(c, bundle, Options())


def test_missing_rootfs_names_it(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match=r"root\.path: .*/rootfs: no such directory"):
        build(cfg(), str(tmp_path), Options())


def test_terminal_needs_console_socket(bundle: str) -> None:
    c = cfg()
    c["process"]["terminal"] = True
    with pytest.raises(ConfigError, match="process.terminal"):
        build(c, bundle, Options())
    assert build(c, bundle, Options(console_socket="/x.sock")).terminal


def test_user_must_be_mapped(bundle: str) -> None:
    maps = [{"containerID": 0, "hostID": 100000, "size": 10}]
    c = cfg(namespaces=[{"type": "mount"}, {"type": "user"}, {"type": "uts"}],
            uidMappings=maps, gidMappings=maps)
    c["process"]["user"] = {"uid": 50, "gid": 0}
    with pytest.raises(ConfigError, match="process.user.uid: 50 is not mapped"):
        build(c, bundle, Options())
    c["process"]["user"]["uid"] = 5
    plan = build(c, bundle, Options())
    assert plan.new_userns and plan.uid_mappings == "0 100000 10\n"
    assert all(d.bind_from_host for d in plan.devices)


def test_host_id() -> None:
    text = "0 1000 1\n1 100000 65536\n"
    assert (host_id(text, 0), host_id(text, 1), host_id(text, 2), host_id(text, 65537)) == (
        1000, 100000, 100001, -1)


def test_unknown_capability_is_a_warning(bundle: str, capsys: pytest.CaptureFixture) -> None:
    c = cfg()
    c["process"]["capabilities"]["bounding"].append("CAP_NOT_A_THING")
    plan = build(c, bundle, Options())
    assert plan.capabilities is not None
    assert "CAP_NOT_A_THING" in capsys.readouterr().err


def test_time_offsets(bundle: str) -> None:
    c = cfg(timeOffsets={"monotonic": {"secs": 5, "nanosecs": 7}, "boottime": {"secs": 1}})
    c["linux"]["namespaces"].append({"type": "time"})
    assert build(c, bundle, Options()).timens_offsets == "monotonic 5 7\nboottime 1 0\n"
