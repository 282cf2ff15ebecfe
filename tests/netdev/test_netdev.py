"""linux.netDevices (config-linux.md "Network Devices") through the CLI, with ocirt
running in a network namespace of the test's (conftest.py)."""

from __future__ import annotations

import os
import re
import sys
from typing import Any

import pytest

from tests.conftest import Ocirt
from tests.netdev.conftest import HostNet

LIST_NET = ["sh", "-c", "ip -o addr; ip -o link; ls /sys/class/net"]


def _bundle(ocirt: Ocirt, args: list[str], devices: dict[str, Any]) -> tuple[str, dict, str]:
    bundle, cfg = ocirt.bundle(args)
    cid = ocirt.new_id()
    ocirt.set_cgroup(cfg, cid)
    cfg["linux"]["netDevices"] = devices
    ocirt.write(bundle, cfg)
    return bundle, cfg, cid


def _lines_about(out: str, name: str) -> list[str]:
    return [line for line in out.splitlines() if f" {name}" in line or line == name]


# -- moving ---------------------------------------------------------------------------------

def test_moved_renamed_up_with_global_addresses(ocirt: Ocirt, host: HostNet) -> None:
    """Renamed as asked (or kept), set up although down on the host, with the permanent
    global addresses of both families, but not a link-scope one nor one with a lifetime
    (not IFA_F_PERMANENT); gone from the host."""
    host.veth("v0", "p0", "10.213.7.1/24", "fd13::7/64 nodad", "10.213.8.1/24 scope link",
              "10.213.6.1/24 valid_lft 3000 preferred_lft 3000")
    host.veth("v1", "p1", up=True)
    bundle, _, cid = _bundle(ocirt, LIST_NET, {"v0": {"name": "ctr0"}, "v1": {}})
    out = host.ocirt(ocirt, "run", "--bundle", bundle, cid).stdout
    addrs = _lines_about(out, "ctr0")
    assert any("inet 10.213.7.1/24" in line and "scope global" in line for line in addrs)
    assert any("inet6 fd13::7/64" in line for line in addrs)
    assert not any("10.213.8.1" in line or "10.213.6.1" in line for line in addrs)
    flags = {m[0]: m[1].split(",") for m in re.findall(r"^\d+: (\w+)[@:].*?<([^>]*)>", out,
                                                       re.MULTILINE)}
    assert "UP" in flags["ctr0"] and "UP" in flags["v1"], out
    assert {"ctr0", "v1", "lo"} <= set(out.split())  # /sys/class/net inside
    assert "v0" not in out.split()


def test_gone_from_host_while_it_lives_hooks_see_it(ocirt: Ocirt, host: HostNet,
                                                    tmp_path: Any) -> None:
    """Moved during create, before the createRuntime hooks (which see it through the
    init's /proc/<pid>/net); absent from the host until the container is deleted; a
    veth is then destroyed with the namespace, its peer on the host too."""
    host.veth("v0", "p0", "10.213.9.1/24")
    bundle, cfg, cid = _bundle(ocirt, ["sleep", "1000"], {"v0": {"name": "eth0"}})
    seen = tmp_path / "hook-saw"
    cfg["hooks"] = {"createRuntime": [{"path": sys.executable, "args": [
        "python3", "-c", "import json, sys; pid = json.load(sys.stdin)['pid']; "
        f"open({str(seen)!r}, 'w').write(open(f'/proc/{{pid}}/net/dev').read())"]}]}
    ocirt.write(bundle, cfg)
    host.ocirt(ocirt, "create", "--bundle", bundle, cid)
    assert "eth0:" in seen.read_text()
    assert "v0" not in host.links() and "p0" in host.links()
    inside = ocirt("exec", cid, "ip", "-o", "addr", "show", "eth0").stdout
    assert "10.213.9.1/24" in inside
    ocirt("delete", "--force", cid)
    host.wait_gone("v0", "p0")


def test_left_in_a_joined_namespace_after_delete(ocirt: Ocirt, host: HostNet,
                                                 other: HostNet) -> None:
    """A namespace joined by path outlives the container: the device stays there under
    its new name (the runtime MUST NOT move it out), and the host does not get it back."""
    host.veth("v0", "p0", "10.213.10.1/24")
    bundle, cfg, cid = _bundle(ocirt, ["sleep", "1000"], {"v0": {"name": "ctr0"}})
    for ns in cfg["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = other.path
    ocirt.write(bundle, cfg)
    host.ocirt(ocirt, "run", "--detach", "--bundle", bundle, cid)
    assert "ctr0" in other.links() and "v0" not in host.links()
    ocirt("delete", "--force", cid)
    assert "v0" not in host.links() and "p0" in host.links()
    assert other.addrs("ctr0") == {"10.213.10.1/24"}
    assert "UP" in other.links()["ctr0"]["flags"]


def test_name_templates(ocirt: Ocirt, host: HostNet) -> None:
    """"%d" in the new name: the kernel picks a free number, for both ends of a pair."""
    host.veth("v0", "p0")
    bundle, _, cid = _bundle(ocirt, ["ls", "/sys/class/net"],
                             {"v0": {"name": "net%d"}, "p0": {"name": "net%d"}})
    out = host.ocirt(ocirt, "run", "--bundle", bundle, cid).stdout
    assert sorted(out.split()) == ["lo", "net0", "net1"]


def test_into_a_user_namespace(ocirt: Ocirt, host: HostNet) -> None:
    """The container's network namespace is owned by its new user namespace."""
    host.veth("v0", "p0", "10.213.11.1/24")
    bundle, cfg, cid = _bundle(ocirt, ["ip", "-o", "addr", "show", "c0"],
                               {"v0": {"name": "c0"}})
    cfg["linux"]["namespaces"].append({"type": "user"})
    maps = [{"containerID": 0, "hostID": 0, "size": 65536}]
    cfg["linux"]["uidMappings"] = cfg["linux"]["gidMappings"] = maps
    ocirt.write(bundle, cfg)
    out = host.ocirt(ocirt, "run", "--bundle", bundle, cid).stdout
    assert "10.213.11.1/24" in out


# -- failures: one line naming the entry, nothing left, the host's devices as they were -----

def _fails(ocirt: Ocirt, host: HostNet, bundle: str, cid: str, field: str) -> str:
    res = host.ocirt(ocirt, "run", "--bundle", bundle, cid, check=False)
    assert res.returncode != 0
    err = res.stderr.strip()
    assert "\n" not in err and field in err, err
    assert not os.path.exists(os.path.join(ocirt.root, cid))
    return err


def _host_state(host: HostNet) -> dict[str, tuple[set[str], bool]]:
    return {name: (host.addrs(name), "UP" in e["flags"]) for name, e in host.links().items()}


def test_missing_host_device(ocirt: Ocirt, host: HostNet) -> None:
    bundle, _, cid = _bundle(ocirt, ["true"], {"nosuch0": {}})
    err = _fails(ocirt, host, bundle, cid, "linux.netDevices.nosuch0")
    assert "no such network device" in err


def test_name_taken_in_the_container(ocirt: Ocirt, host: HostNet) -> None:
    """A name the new namespace already has (its loopback), checked before any move."""
    host.veth("v0", "p0", "10.213.12.1/24", up=True)
    host.veth("v1", "p1")
    before = _host_state(host)
    bundle, _, cid = _bundle(ocirt, ["true"], {"v1": {"name": "c1"}, "v0": {"name": "lo"}})
    err = _fails(ocirt, host, bundle, cid, "linux.netDevices.v0.name")
    assert "already exists" in err
    assert _host_state(host) == before


def test_name_taken_in_a_joined_namespace(ocirt: Ocirt, host: HostNet,
                                          other: HostNet) -> None:
    other.veth("c0", "d0")
    host.veth("c0", "p0")
    bundle, cfg, cid = _bundle(ocirt, ["true"], {"c0": {}})
    for ns in cfg["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = other.path
    ocirt.write(bundle, cfg)
    _fails(ocirt, host, bundle, cid, "linux.netDevices.c0")
    assert "c0" in host.links() and set(other.links()) == {"lo", "c0", "d0"}


def test_two_entries_one_name(ocirt: Ocirt, host: HostNet) -> None:
    host.veth("v0", "p0")
    bundle, _, cid = _bundle(ocirt, ["true"], {"v0": {"name": "x"}, "p0": {"name": "x"}})
    _fails(ocirt, host, bundle, cid, "linux.netDevices.p0")


def test_needs_a_network_namespace(ocirt: Ocirt, host: HostNet) -> None:
    host.veth("v0", "p0")
    bundle, cfg, cid = _bundle(ocirt, ["true"], {"v0": {}})
    cfg["linux"]["namespaces"] = [n for n in cfg["linux"]["namespaces"]
                                  if n["type"] != "network"]
    ocirt.write(bundle, cfg)
    err = _fails(ocirt, host, bundle, cid, "linux.netDevices")
    assert "network namespace" in err
    assert "v0" in host.links()


def test_not_into_the_runtimes_own_namespace(ocirt: Ocirt, host: HostNet) -> None:
    """Joining ocirt's own network namespace by path is no namespace of the container's."""
    host.veth("v0", "p0")
    bundle, cfg, cid = _bundle(ocirt, ["true"], {"v0": {"name": "c0"}})
    for ns in cfg["linux"]["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = host.path
    ocirt.write(bundle, cfg)
    _fails(ocirt, host, bundle, cid, "linux.netDevices")
    assert "v0" in host.links() and "c0" not in host.links()


def test_refused_move_puts_the_earlier_ones_back(ocirt: Ocirt, host: HostNet) -> None:
    """A bridge cannot leave its namespace: the device moved before it comes back under
    its own name, with its addresses and up state."""
    host.veth("v0", "p0", "10.213.13.1/24", "fd13::13/64 nodad", up=True)
    host.ip("link", "add", "br0", "type", "bridge")
    before = _host_state(host)
    bundle, _, cid = _bundle(ocirt, ["true"], {"v0": {"name": "c0"}, "br0": {}})
    err = _fails(ocirt, host, bundle, cid, "linux.netDevices.br0")
    assert "move into the container's network namespace" in err
    assert _host_state(host) == before


@pytest.mark.parametrize("how", ["hook", "pid-file", "exec"])
def test_failure_after_the_move_puts_them_back(ocirt: Ocirt, host: HostNet, how: str) -> None:
    """A later step of create fails (a createRuntime hook; the pid file, once the init is
    ready; the init's exec lookup, which may also beat the move): the moved devices are
    back on the host as they were."""
    host.veth("v0", "p0", "10.213.14.1/24", up=True)
    host.veth("v1", "p1", "10.213.15.1/24")
    before = _host_state(host)
    args = ["/no/such/program"] if how == "exec" else ["true"]
    bundle, cfg, cid = _bundle(ocirt, args, {"v0": {"name": "c0"}, "v1": {}})
    if how == "hook":
        cfg["hooks"] = {"createRuntime": [{"path": "/bin/sh", "args": ["sh", "-c", "exit 7"]}]}
        ocirt.write(bundle, cfg)
    flags = ["--pid-file", os.path.join(bundle, "no-dir", "pid")] if how == "pid-file" else []
    res = host.ocirt(ocirt, "create", *flags, "--bundle", bundle, cid, check=False)
    assert res.returncode != 0
    assert not os.path.exists(os.path.join(ocirt.root, cid))
    assert _host_state(host) == before


def test_netlink_imported_only_when_used(ocirt: Ocirt, host: HostNet) -> None:
    """Every create is a process start: configs without netDevices pay nothing for it."""
    host.veth("v0", "p0")
    env = {**os.environ, "PYTHONPROFILEIMPORTTIME": "1"}
    imported = {}
    for devices in ({}, {"v0": {}}):
        bundle, _, cid = _bundle(ocirt, ["true"], devices)
        err = host.ocirt(ocirt, "run", "--bundle", bundle, cid, env=env).stderr
        imported[bool(devices)] = {line.rsplit("|", 1)[-1].strip() for line in err.splitlines()
                                   if line.startswith("import time:")}
    heavy = {"ocirt.netdev", "ocirt.netlink", "ctypes"}
    assert not heavy & imported[False]
    assert heavy <= imported[True]
