"""linux.netDevices (config-linux.md "Network Devices"): move host network devices into
the container's network namespace during `create`.

For each entry the device is looked up in ocirt's own network namespace before anything
else is made, so a missing one fails with nothing to undo. Once the container's network
namespace exists (the init reported its pid, before the prestart/createRuntime hooks),
each device is moved there under its new name with one RTM_NEWLINK, gets back its
permanent global addresses (a move flushes them), and is set up.

A failed create moves the devices it had moved back, under their host names, with their
addresses and up state. After a successful one ocirt leaves them alone, as the spec asks:
when the namespace goes away the kernel destroys virtual devices and returns physical
ones to the initial namespace.

Imported by `create` only when the config has netDevices.
"""

from __future__ import annotations

import os

from ocirt import log
from ocirt.errors import ConfigError, OcirtError
from ocirt.netlink import IFA_F_PERMANENT, IFF_UP, RT_SCOPE_UNIVERSE, NetlinkError, RtNetlink

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ocirt.netlink import Address, Link

CLONE_NEWNET = 0x40000000


def _socket_in(netns_fd: int) -> RtNetlink:
    """A netlink socket acting in netns_fd's namespace. A socket stays in the namespace of
    the thread that created it, so the thread enters the namespace only for socket()."""
    import ctypes  # Python 3.11 has no os.setns

    setns = ctypes.CDLL(None, use_errno=True).setns
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if setns(netns_fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OcirtError(f"linux.netDevices: enter the container's network namespace: "
                             f"{os.strerror(err).lower()}")
        try:
            return RtNetlink()
        finally:
            if setns(own, CLONE_NEWNET) != 0:
                # hooks run later would inherit the container's network: never go on so
                err = ctypes.get_errno()
                raise OcirtError(f"linux.netDevices: return to ocirt's network namespace: "
                                 f"{os.strerror(err).lower()}")
    finally:
        os.close(own)


class _Device:
    def __init__(self, key: str, link: Link, target: str) -> None:
        self.key = key  # the config's entry name, for messages
        self.host_name = link.name
        self.host_index = link.index
        self.target = target  # may be a "%d" template
        self.addresses: list[Address] = []
        self.was_up = False
        self.index = 0  # inside the container, once moved


class NetDevices:
    """The devices of one create: resolved on construction, moved by move_into(pid),
    put back by undo(); close() releases the sockets and namespace fds."""

    def __init__(self, devices: dict[str, Any]) -> None:
        self._host = RtNetlink()
        self._ctr: RtNetlink | None = None
        self._ctr_ns = -1
        self._host_ns = -1
        self.moved: list[_Device] = []
        try:
            self._host_ns = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            self.devices = []
            for key, entry in devices.items():
                link = self._host.link(key)
                if link is None:
                    raise ConfigError(f"linux.netDevices.{key}",
                                      "no such network device in ocirt's network namespace")
                self.devices.append(_Device(key, link, (entry or {}).get("name") or link.name))
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self._host.close()
        if self._ctr is not None:
            self._ctr.close()
            self._ctr = None
        for fd in (self._ctr_ns, self._host_ns):
            if fd >= 0:
                os.close(fd)
        self._ctr_ns = self._host_ns = -1

    # -- create --------------------------------------------------------------------------
    def move_into(self, pid: int) -> None:
        """Move every device into the network namespace of process pid (the container's
        init). The namespace fd is kept open until close(), so undo() still finds the
        namespace, and the devices in it, after the init was killed."""
        try:
            self._ctr_ns = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as e:
            raise OcirtError(f"linux.netDevices: open /proc/{pid}/ns/net: "
                             f"{os.strerror(e.errno or 0).lower()}") from None
        self._ctr = _socket_in(self._ctr_ns)
        # Every clash is found before the first move: the kernel moves a device under
        # its host name and renames it afterwards, and a failed rename would leave it
        # in the container under the wrong name.
        taken = {link.name for link in self._ctr.links()}
        for dev in self.devices:
            if "%d" not in dev.target and dev.target in taken:
                field = f"linux.netDevices.{dev.key}" + (
                    ".name" if dev.target != dev.host_name else "")
                raise ConfigError(field, f"{dev.target!r} already exists in the container's "
                                  f"network namespace")
        for dev in self.devices:
            self._move(dev)

    def _move(self, dev: _Device) -> None:
        assert self._ctr is not None
        where = f"linux.netDevices.{dev.key}"
        link = self._host.link(dev.host_name)
        if link is None or link.index != dev.host_index:
            raise OcirtError(f"{where}: the network device went away before it was moved")
        dev.was_up = bool(link.flags & IFF_UP)
        # The spec's choice: permanent addresses of global scope. Link-local and
        # autoconfigured ones belong to the host's network, and the move flushes them all.
        dev.addresses = [a for a in self._host.addresses(link.index)
                         if a.flags & IFA_F_PERMANENT and a.scope == RT_SCOPE_UNIVERSE]
        before = {link.index for link in self._ctr.links()}
        try:
            self._host.set_link(link.index, netns_fd=self._ctr_ns,
                                name=dev.target if dev.target != dev.host_name else None)
        except NetlinkError as e:
            moved = self._find_moved(before, dev)
            if moved is not None:  # moved, then the rename failed: undo() puts it back
                dev.index = moved.index
                self.moved.append(dev)
            raise OcirtError(f"{where}: move into the container's network namespace: "
                             f"{e.strerror}") from None
        moved = self._find_moved(before, dev)
        if moved is None:
            raise OcirtError(f"{where}: moved, but not found in the container's network "
                             f"namespace")
        dev.index = moved.index
        self.moved.append(dev)
        try:
            for addr in dev.addresses:
                self._ctr.add_address(dev.index, addr)
            self._ctr.set_link(dev.index, up=True)
        except NetlinkError as e:
            raise OcirtError(f"{where}: set up {moved.name} in the container's network "
                             f"namespace: {e.strerror}") from None

    def _find_moved(self, before: set[int], dev: _Device) -> Link | None:
        """The device in the container's namespace: the link that was not there before,
        by name when its name is known (a namespace joined by path may gain others)."""
        assert self._ctr is not None
        new = [link for link in self._ctr.links() if link.index not in before]
        for name in (dev.target, dev.host_name):
            for link in new:
                if link.name == name:
                    return link
        return new[0] if len(new) == 1 else None

    # -- a failed create -----------------------------------------------------------------
    def undo(self) -> None:
        """Put every moved device back into ocirt's namespace, under its host name, with
        its addresses and up state. Best effort: failures are warnings."""
        while self.moved:
            dev = self.moved.pop()
            try:
                self._put_back(dev)
            except (OSError, OcirtError) as e:
                why = (e.strerror or str(e)) if isinstance(e, OSError) else str(e)
                log.warning(f"linux.netDevices.{dev.key}: move {dev.host_name} back to "
                            f"ocirt's network namespace: {why}")

    def _put_back(self, dev: _Device) -> None:
        assert self._ctr is not None
        self._ctr.set_link(dev.index, netns_fd=self._host_ns, name=dev.host_name)
        link = self._host.link(dev.host_name)
        if link is None:
            raise OcirtError("not found in ocirt's network namespace after the move")
        for addr in dev.addresses:
            try:
                self._host.add_address(link.index, addr)
            except NetlinkError as e:
                if e.errno != 17:  # EEXIST: configured again meanwhile
                    raise
        if dev.was_up:
            self._host.set_link(link.index, up=True)
