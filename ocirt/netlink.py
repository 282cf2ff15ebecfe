"""A small rtnetlink (NETLINK_ROUTE) client: look links up, list and add addresses, move a
link to another network namespace, rename it, set it up (rtnetlink(7), netlink(7)).

Only `linux.netDevices` needs it, so only ocirt.netdev imports it. Messages are packed by
hand with struct (no pyroute2), and the socket comes from _socket, not socket.py, whose
import pulls in enum and selectors.
"""

from __future__ import annotations

import _socket
import os
from struct import calcsize, pack, unpack_from

# linux/netlink.h
NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_EXT_ACK = 11
NLM_F_REQUEST = 0x01
NLM_F_ACK = 0x04
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_DUMP = 0x300
NLM_F_CAPPED = 0x100  # in an error: the request is not echoed past its header
NLM_F_ACK_TLVS = 0x200  # in an error: extended-ack attributes follow
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLMSGERR_ATTR_MSG = 1
# linux/rtnetlink.h
RTM_NEWLINK = 16
RTM_GETLINK = 18
RTM_NEWADDR = 20
RTM_GETADDR = 22
RT_SCOPE_UNIVERSE = 0
# linux/if_link.h
IFLA_IFNAME = 3
IFLA_NET_NS_FD = 28
# linux/if_addr.h
IFA_ADDRESS = 1
IFA_LOCAL = 2
IFA_BROADCAST = 4
IFA_FLAGS = 8
IFA_F_NODAD = 0x02
IFA_F_HOMEADDRESS = 0x10
IFA_F_PERMANENT = 0x80
IFA_F_MANAGETEMPADDR = 0x100
IFA_F_NOPREFIXROUTE = 0x200
# linux/if.h
IFF_UP = 0x1

_NLMSGHDR = "=IHHII"  # len, type, flags, seq, pid
_IFINFOMSG = "=BxHiII"  # family, type, index, flags, change
_IFADDRMSG = "=BBBBi"  # family, prefixlen, flags, scope, index
_HDR_LEN = calcsize(_NLMSGHDR)
_IFI_LEN = calcsize(_IFINFOMSG)
_IFA_LEN = calcsize(_IFADDRMSG)
# Flags an address may be created with: the rest (tentative, deprecated, dadfailed, ...)
# is state the kernel keeps, not configuration, and not every kernel drops it silently.
ADDR_CONFIG_FLAGS = IFA_F_NODAD | IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR | \
    IFA_F_NOPREFIXROUTE


class NetlinkError(OSError):
    """The kernel refused a request: errno, and its extended-ack text when it gave one."""

    def __init__(self, errno: int, detail: str = "") -> None:
        text = os.strerror(errno).lower()
        super().__init__(errno, f"{text} ({detail})" if detail else text)


class Link:
    def __init__(self, index: int, name: str, flags: int) -> None:
        self.index = index
        self.name = name
        self.flags = flags

    def __repr__(self) -> str:
        return f"Link({self.index}, {self.name!r}, flags={self.flags:#x})"


class Address:
    """One interface address, as RTM_GETADDR reports it and RTM_NEWADDR takes it back."""

    def __init__(self, family: int, prefixlen: int, flags: int, scope: int, index: int,
                 attrs: dict[int, bytes]) -> None:
        self.family = family
        self.prefixlen = prefixlen
        self.flags = flags  # the 32-bit IFA_FLAGS when the kernel sent it
        self.scope = scope
        self.index = index
        self.attrs = attrs

    def __repr__(self) -> str:
        return f"Address(family={self.family}, /{self.prefixlen}, index={self.index})"


def _attr(kind: int, value: bytes) -> bytes:
    n = 4 + len(value)
    return pack("=HH", n, kind) + value + b"\0" * (-n % 4)


def _str_attr(kind: int, value: str) -> bytes:
    return _attr(kind, value.encode() + b"\0")


def parse_attrs(data: bytes | memoryview, off: int = 0) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    while off + 4 <= len(data):
        n, kind = unpack_from("=HH", data, off)
        if n < 4 or off + n > len(data):
            break
        # NLA_F_NESTED and NLA_F_NET_BYTEORDER ride in the top bits of the type
        out[kind & 0x3FFF] = bytes(data[off + 4:off + n])
        off += (n + 3) & ~3
    return out


def _cstr(value: bytes) -> str:
    return value.split(b"\0", 1)[0].decode(errors="replace")


class RtNetlink:
    """A NETLINK_ROUTE socket; it acts in the network namespace it was created in."""

    def __init__(self) -> None:
        self._sock = _socket.socket(_socket.AF_NETLINK,
                                    _socket.SOCK_RAW | _socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        try:
            self._sock.bind((0, 0))
            try:  # the kernel's reason in words, not just an errno (Linux ≥ 4.12)
                self._sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
            except OSError:
                pass
        except BaseException:
            self._sock.close()
            raise
        self._seq = 0

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> RtNetlink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, kind: int, flags: int, body: bytes) -> list[tuple[int, bytes]]:
        """Send one request; return the (type, payload) replies up to its ack, or up to
        NLMSG_DONE for a dump. A refusal raises NetlinkError."""
        self._seq += 1
        seq = self._seq
        # a dump ends with NLMSG_DONE; anything else is asked to end with an ack
        dump = flags & NLM_F_DUMP == NLM_F_DUMP
        flags |= NLM_F_REQUEST if dump else NLM_F_REQUEST | NLM_F_ACK
        self._sock.send(pack(_NLMSGHDR, _HDR_LEN + len(body), kind, flags, seq, 0) + body)
        out: list[tuple[int, bytes]] = []
        while True:
            data = self._sock.recv(1 << 16)
            off = 0
            while off + _HDR_LEN <= len(data):
                n, mtype, mflags, mseq, _pid = unpack_from(_NLMSGHDR, data, off)
                if n < _HDR_LEN or off + n > len(data):
                    raise NetlinkError(71, "truncated netlink message")  # EPROTO
                payload = data[off + _HDR_LEN:off + n]
                off += (n + 3) & ~3
                if mseq != seq:
                    continue  # a late answer to an earlier request
                if mtype == NLMSG_ERROR:
                    err = -int.from_bytes(payload[:4], "little", signed=True)
                    if err == 0:
                        return out
                    detail = ""
                    if mflags & NLM_F_ACK_TLVS:
                        # after the echoed request: its header only when capped
                        echoed = _HDR_LEN if mflags & NLM_F_CAPPED else \
                            unpack_from("=I", payload, 4)[0]
                        msg = parse_attrs(payload, 4 + ((echoed + 3) & ~3))
                        detail = _cstr(msg.get(NLMSGERR_ATTR_MSG, b""))
                    raise NetlinkError(err, detail)
                if mtype == NLMSG_DONE:
                    err = -int.from_bytes(payload[:4], "little", signed=True) \
                        if len(payload) >= 4 else 0
                    if err > 0:
                        raise NetlinkError(err)
                    return out
                out.append((mtype, payload))

    # -- links ---------------------------------------------------------------------------
    @staticmethod
    def _link(payload: bytes) -> Link:
        _family, _type, index, flags, _change = unpack_from(_IFINFOMSG, payload)
        attrs = parse_attrs(payload, _IFI_LEN)
        return Link(index, _cstr(attrs.get(IFLA_IFNAME, b"")), flags)

    def link(self, name: str) -> Link | None:
        """The link called name (or with that alternative name), None when there is none."""
        body = pack(_IFINFOMSG, 0, 0, 0, 0, 0) + _str_attr(IFLA_IFNAME, name)
        try:
            replies = self._request(RTM_GETLINK, 0, body)
        except NetlinkError as e:
            if e.errno == 19:  # ENODEV
                return None
            raise
        links = [self._link(p) for t, p in replies if t == RTM_NEWLINK]
        return links[0] if links else None

    def links(self) -> list[Link]:
        body = pack(_IFINFOMSG, 0, 0, 0, 0, 0)
        return [self._link(p) for t, p in self._request(RTM_GETLINK, NLM_F_DUMP, body)
                if t == RTM_NEWLINK]

    def set_link(self, index: int, *, netns_fd: int | None = None, name: str | None = None,
                 up: bool | None = None) -> None:
        """One RTM_NEWLINK on an existing link: the kernel moves it to netns_fd's
        namespace first, then renames it there, then changes its flags."""
        flags = change = 0
        if up is not None:
            change = IFF_UP
            flags = IFF_UP if up else 0
        body = pack(_IFINFOMSG, 0, 0, index, flags, change)
        if netns_fd is not None:
            body += _attr(IFLA_NET_NS_FD, pack("=I", netns_fd))
        if name is not None:
            body += _str_attr(IFLA_IFNAME, name)
        self._request(RTM_NEWLINK, 0, body)

    # -- addresses -----------------------------------------------------------------------
    def addresses(self, index: int) -> list[Address]:
        """Every address of every family on link index."""
        body = pack(_IFADDRMSG, 0, 0, 0, 0, 0)
        out = []
        for mtype, p in self._request(RTM_GETADDR, NLM_F_DUMP, body):
            if mtype != RTM_NEWADDR:
                continue
            family, prefixlen, flags, scope, idx = unpack_from(_IFADDRMSG, p)
            if idx != index:
                continue
            attrs = parse_attrs(p, _IFA_LEN)
            if IFA_FLAGS in attrs:
                flags = unpack_from("=I", attrs[IFA_FLAGS])[0]
            out.append(Address(family, prefixlen, flags, scope, idx, attrs))
        return out

    def add_address(self, index: int, addr: Address) -> None:
        """addr (from addresses()) on link index, with its configurable flags only."""
        flags = addr.flags & ADDR_CONFIG_FLAGS
        body = pack(_IFADDRMSG, addr.family, addr.prefixlen, flags & 0xFF, addr.scope, index)
        for kind in (IFA_LOCAL, IFA_ADDRESS, IFA_BROADCAST):
            if kind in addr.attrs:
                body += _attr(kind, addr.attrs[kind])
        if flags > 0xFF:
            body += _attr(IFA_FLAGS, pack("=I", flags))
        self._request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body)
