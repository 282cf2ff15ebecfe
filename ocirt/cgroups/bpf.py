"""The v2 devices controller: attach a BPF_PROG_TYPE_CGROUP_DEVICE program to the
container's cgroup, replacing the one attached before (update), through the native
bpf(2) wrappers in csrc/native/bpf.c."""

from __future__ import annotations

import os

from ocirt.errors import ConfigError


def attach_device_filter(cgroup_dir: str, program: bytes) -> None:
    from ocirt.native._native import ffi, lib

    log = ffi.new("char[]", 4096)
    fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        rc = lib.ocirt_bpf_replace_device_filter(fd, program, len(program) // 8, log,
                                                 len(log))
    finally:
        os.close(fd)
    if rc < 0:
        detail = ffi.string(log).decode(errors="replace").strip().replace("\n", "; ")
        raise ConfigError("linux.resources.devices",
                          f"loading the device filter program: {os.strerror(-rc)}"
                          + (f" ({detail})" if detail else ""))


def attached_programs(cgroup_dir: str) -> int:
    """How many device programs are attached to the cgroup (for tests and update)."""
    from ocirt.native._native import lib

    fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        n = lib.ocirt_bpf_count_device_filters(fd)
    finally:
        os.close(fd)
    if n < 0:
        raise OSError(-n, os.strerror(-n))
    return int(n)
