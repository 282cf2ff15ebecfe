"""The v2 devices controller: attach a BPF_PROG_TYPE_CGROUP_DEVICE program to the
container's cgroup, replacing the one attached before (update), through the native
bpf(2) wrappers in csrc/native/bpf.c."""

from __future__ import annotations

import os

from ocirt.errors import ConfigError


def _native():  # TEMP-I4: until _build.py carries the bpf declarations
    from ocirt.native import _native

    if hasattr(_native.lib, "ocirt_bpf_count_device_filters"):
        return _native.ffi, _native.lib
    import i4bpf  # type: ignore[import-not-found]

    return i4bpf.ffi, i4bpf.lib


def attach_device_filter(cgroup_dir: str, program: bytes) -> None:
    ffi, lib = _native()

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
    _, lib = _native()
    fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        n = lib.ocirt_bpf_count_device_filters(fd)
    finally:
        os.close(fd)
    if n < 0:
        raise OSError(-n, os.strerror(-n))
    return int(n)
