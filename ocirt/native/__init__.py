"""The native side: the container init (ocirt-init, csrc/init) and a small cffi module.

Import stays cheap: the cffi extension loads on first use of a function below, and
spawn/wire are imported only by the code that starts containers.
"""

from __future__ import annotations

import os

_mod = None


def _lib():
    global _mod
    if _mod is None:
        from ocirt.native import _native

        _mod = _native
    return _mod


def set_child_subreaper() -> None:
    """Make this process the reaper of its orphaned descendants (prctl, Linux ≥ 3.4)."""
    mod = _lib()
    if mod.lib.ocirt_set_child_subreaper() < 0:
        err = mod.ffi.errno
        raise OSError(err, f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(err)}")


def plan_dump(wire: bytes) -> str:
    """Decode a wire-format plan with the init's C parser; return its JSON rendering."""
    mod = _lib()
    err = mod.ffi.new("const char **")
    out = mod.lib.ocirt_plan_dump(wire, len(wire), err)
    if out == mod.ffi.NULL:
        raise ValueError(mod.ffi.string(err[0]).decode())
    try:
        return mod.ffi.string(out).decode()
    finally:
        mod.lib.ocirt_free(out)


def spawn_in_cgroup(exe_fd: int, argv: list[str], dups: list[tuple[int, int]],
                    cgroup_fd: int) -> int:
    """Start exe_fd (argv, empty environment) as a child born in the cgroup v2 directory
    cgroup_fd, after dup2(from, to) for each pair; its pid once it has exec'd. OSError
    with the clone3 or exec errno otherwise (ENOSYS/EINVAL: the kernel lacks clone3 or
    CLONE_INTO_CGROUP)."""
    mod = _lib()
    ffi = mod.ffi
    args = [ffi.new("char[]", a.encode()) for a in argv]
    c_argv = ffi.new("char *[]", args + [ffi.NULL])
    c_dups = ffi.new("int[]", [fd for pair in dups for fd in pair] or [0])
    err = ffi.new("int *")
    pid = mod.lib.ocirt_spawn_in_cgroup(exe_fd, c_argv, c_dups, len(dups), cgroup_fd, err)
    if pid < 0:
        raise OSError(err[0], os.strerror(err[0]))
    return int(pid)
