"""Network namespaces that stand in for the host's in the linux.netDevices tests.

ocirt runs inside a namespace each test makes (`ip netns add`, entered with setns before
exec), so the "host" devices are veth pairs and bridges of that namespace: no interface of
the real host is touched, no traffic is sent, and deleting the namespace removes whatever
a test left in it. (This kernel has no dummy driver: veth it is.)
"""

from __future__ import annotations

import ctypes
import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.conftest import Ocirt

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLONE_NEWNET = 0x40000000
_names = itertools.count()


class HostNet:
    """A network namespace standing in for the host's: ocirt runs in it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.path = f"/run/netns/{name}"
        self.fds: list[int] = []  # kept open for the preexec_fns, closed at teardown

    def ip(self, *args: str, check: bool = True) -> str:
        return subprocess.run(["ip", "-n", self.name, *args], capture_output=True, text=True,
                              check=check).stdout

    def veth(self, name: str, peer: str, *addrs: str, up: bool = False) -> None:
        self.ip("link", "add", name, "type", "veth", "peer", "name", peer)
        for addr in addrs:
            self.ip("addr", "add", *addr.split(), "dev", name)
        if up:
            self.ip("link", "set", name, "up")

    def links(self) -> dict[str, dict[str, Any]]:
        """name → `ip -j addr` entry (flags, addr_info, ...)."""
        return {e["ifname"]: e for e in json.loads(self.ip("-j", "addr"))}

    def addrs(self, name: str) -> set[str]:
        return {f"{a['local']}/{a['prefixlen']}" for a in self.links()[name]["addr_info"]
                if a.get("scope") != "link" or a["family"] == "inet"}

    def enter(self) -> Callable[[], None]:
        """A preexec_fn putting the child into this namespace (only its network)."""
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        setns = ctypes.CDLL(None, use_errno=True).setns

        def enter() -> None:
            if setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns")
        self.fds.append(fd)
        return enter

    def ocirt(self, ocirt: Ocirt, *args: str, **kw: Any) -> subprocess.CompletedProcess:
        return ocirt(*args, preexec_fn=self.enter(), **kw)

    def python(self, code: str) -> str:
        """Run code in a Python of this namespace, with ocirt importable; its stdout."""
        res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                             text=True, preexec_fn=self.enter(), timeout=60)
        assert res.returncode == 0, res.stderr
        return res.stdout

    def wait_gone(self, *names: str, timeout: float = 10) -> None:
        """Namespaces are torn down by a kernel worker, after the last process left."""
        deadline = time.monotonic() + timeout
        while set(names) & set(self.links()):
            assert time.monotonic() < deadline, f"still in {self.name}: {names}"
            time.sleep(0.05)


def _netns(tag: str) -> Iterator[HostNet]:
    name = f"ocnd{os.getpid()}-{tag}{next(_names)}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    h = HostNet(name)
    try:
        yield h
    finally:
        for fd in h.fds:
            os.close(fd)
        subprocess.run(["ip", "netns", "delete", name], check=False)


@pytest.fixture
def host() -> Iterator[HostNet]:
    yield from _netns("h")


@pytest.fixture
def other() -> Iterator[HostNet]:
    """A second namespace, for containers that join one by path."""
    yield from _netns("o")
