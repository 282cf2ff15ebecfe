"""ocirt.netlink and ocirt.netdev in-process, each run by a Python inside a test network
namespace (conftest.HostNet.python): lookups, addresses, errors, and the recovery paths
that `create` reaches only in races."""

from __future__ import annotations

import json

from tests.netdev.conftest import HostNet

PRELUDE = "import json, os\nfrom ocirt.netlink import NetlinkError, RtNetlink\n"


def test_links_and_addresses(host: HostNet) -> None:
    host.veth("v0", "p0", "10.213.20.1/24", "10.213.20.2/24", "fd20::1/64 nodad",
              "10.213.21.1/24 valid_lft 3000 preferred_lft 3000")
    out = host.python(PRELUDE + """
nl = RtNetlink()
v0 = nl.link("v0")
print(json.dumps({
    "missing": nl.link("nosuch0") is None,
    "names": sorted(link.name for link in nl.links()),
    "v0": [v0.index, v0.name],
    "addrs": sorted([a.family, a.prefixlen, a.flags & 0x81, a.scope, a.index == v0.index]
                    for a in nl.addresses(v0.index)),
}))
""")
    got = json.loads(out)
    assert got["missing"] and got["names"] == ["lo", "p0", "v0"] and got["v0"][1] == "v0"
    # AF_INET 2, AF_INET6 10; 0x80 permanent, 0x01 secondary; none of p0's
    assert got["addrs"] == [[2, 24, 0, 0, True], [2, 24, 0x80, 0, True],
                            [2, 24, 0x81, 0, True], [10, 64, 0x80, 0, True]]


def test_refusals_carry_errno_and_the_kernels_reason(host: HostNet, other: HostNet) -> None:
    host.ip("link", "add", "br0", "type", "bridge")
    out = host.python(PRELUDE + f"""
nl = RtNetlink()
out = []
try:
    nl.set_link(nl.link("br0").index, netns_fd=os.open({other.path!r}, os.O_RDONLY))
except NetlinkError as e:
    out.append([e.errno, e.strerror])
try:
    nl.set_link(99999, up=True)
except NetlinkError as e:
    out.append([e.errno, e.strerror])
print(json.dumps(out))
""")
    (einval, bridge), (enodev, missing) = json.loads(out)
    assert (einval, enodev) == (22, 19)
    assert bridge.startswith("invalid argument (") and bridge.endswith(")")  # extended ack
    assert missing.startswith("no such device")


def test_add_address_carries_the_configurable_flags(host: HostNet) -> None:
    """noprefixroute (past the 8-bit ifa_flags: IFA_FLAGS) and nodad are settings and come
    along; tentative and dadfailed are the kernel's state and do not."""
    host.veth("v0", "p0", "10.213.23.1/24 noprefixroute", "fd21::1/64 nodad")
    host.veth("v1", "p1")
    host.python(PRELUDE + """
nl = RtNetlink()
for addr in nl.addresses(nl.link("v0").index):
    addr.flags |= 0x40 | 0x08  # tentative, dadfailed
    nl.add_address(nl.link("v1").index, addr)
""")
    infos = {a["local"]: a for a in host.links()["v1"]["addr_info"] if a["scope"] == "global"}
    assert set(infos) == {"10.213.23.1", "fd21::1"}
    assert infos["10.213.23.1"].get("noprefixroute") and infos["fd21::1"].get("nodad")
    for info in infos.values():
        assert not info.get("tentative") and not info.get("dadfailed"), info


RECOVER = PRELUDE + """
from ocirt import netdev
nd = netdev.NetDevices({{"v0": {{"name": "c0"}}}})
{before}
# as move_into does once the container exists, minus its clash check
nd._ctr_ns = os.open({target!r}, os.O_RDONLY | os.O_CLOEXEC)
nd._ctr = netdev._socket_in(nd._ctr_ns)
try:
    nd._move(nd.devices[0])
except Exception as e:
    print(e)
print(len(nd.moved))
nd.undo()
nd.close()
"""


def test_a_rename_failing_after_the_move_is_undone(host: HostNet, other: HostNet) -> None:
    """The kernel moves a device under its host name and renames it afterwards: when the
    name is taken there (a joined namespace that gained it after the check), the device
    sits in the container under its host name. undo() still finds it and brings it back."""
    host.veth("v0", "p0", "10.213.22.1/24", up=True)
    other.veth("c0", "d0")
    out = host.python(RECOVER.format(before="", target=other.path))
    err, moved = out.splitlines()
    assert err == "linux.netDevices.v0: move into the container's network namespace: " \
                  "file exists"
    assert moved == "1"
    assert set(other.links()) == {"lo", "c0", "d0"}
    assert host.addrs("v0") == {"10.213.22.1/24"} and "UP" in host.links()["v0"]["flags"]


def test_a_device_gone_before_its_move(host: HostNet, other: HostNet) -> None:
    """Looked up when create starts, gone (or replaced) by the time it is moved."""
    host.veth("v0", "p0")
    delete = "import subprocess\nsubprocess.run(['ip', 'link', 'del', 'v0'], check=True)"
    out = host.python(RECOVER.format(before=delete, target=other.path))
    assert out.splitlines() == [
        "linux.netDevices.v0: the network device went away before it was moved", "0"]
    assert set(other.links()) == {"lo"}
