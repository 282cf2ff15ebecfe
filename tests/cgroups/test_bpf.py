"""The v2 device filter through bpf(2): load, attach, replace, and what the kernel enforces.
Runs wherever a cgroup2 hierarchy is mounted (the hybrid host's /sys/fs/cgroup/unified as
well as the v2 guest), in a cgroup of its own."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest

from ocirt.cgroups import devices
from ocirt.cgroups.bpf import attach_device_filter, attached_programs
from ocirt.errors import ConfigError


def _cgroup2_root() -> str | None:
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0] == "cgroup2":
                return left.split()[4]
    return None


@pytest.fixture
def cgroup2_dir() -> Iterator[str]:
    root = _cgroup2_root()
    if root is None:
        pytest.skip("no cgroup2 hierarchy mounted on this host")
    d = os.path.join(root, f"ocirt-tests-bpf-{os.getpid()}")
    os.mkdir(d)
    try:
        yield d
    finally:
        os.rmdir(d)


def _probe(d: str) -> str:
    """In the cgroup: open /dev/kmsg for writing (no capability needed) and /dev/null."""
    script = (f"echo $$ > {d}/cgroup.procs; echo x > /dev/kmsg && echo kmsg-ok; "
              "echo > /dev/null && echo null-ok")
    res = subprocess.run(["sh", "-c", script], capture_output=True, text=True)
    return res.stdout + res.stderr


def _program(*rules: dict) -> bytes:
    return devices.bpf_program(devices.reduce(devices.from_config(list(rules))))


def test_attach_enforce_and_replace(cgroup2_dir: str) -> None:
    deny = {"allow": False, "access": "rwm"}
    attach_device_filter(cgroup2_dir, _program(deny))
    assert attached_programs(cgroup2_dir) == 1
    out = _probe(cgroup2_dir)
    assert "kmsg-ok" not in out and "Operation not permitted" in out and "null-ok" in out
    attach_device_filter(cgroup2_dir, _program(
        deny, {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "w"}))
    assert attached_programs(cgroup2_dir) == 1  # replaced, not stacked
    assert "kmsg-ok" in _probe(cgroup2_dir)


def test_a_program_the_verifier_refuses_names_the_field(cgroup2_dir: str) -> None:
    with pytest.raises(ConfigError, match=r"^config.json: linux.resources.devices: loading "
                       r"the device filter program: .*R0 !read_ok"):
        attach_device_filter(cgroup2_dir, bytes([0x95]) + bytes(7))  # exit, r0 unset
    assert attached_programs(cgroup2_dir) == 0
