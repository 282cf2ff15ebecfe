"""Plan → bytes for the C init (csrc/lib/plan.c decodes; format in csrc/README.md).

Records are (u32 type, u32 length, payload), little-endian. Strings are UTF-8 plus a NUL,
ints are 8-byte two's complement (values ≥ 2**63, e.g. RLIM_INFINITY, wrap), compound
entries carry a nested record stream. Optional values (hostname, umask ...) are simply
absent when None.
"""

from __future__ import annotations

from struct import Struct

from ocirt.native.plan import Plan

_HDR = Struct("<II")
_INT = Struct("<II Q")
_MASK = (1 << 64) - 1

# top-level record types (csrc/lib/plan.h)
T_NAMESPACE = 1
T_TIMENS_OFFSETS = 2
T_NEW_USERNS = 3
T_ROOTFS = 4
T_ROOTFS_READONLY = 5
T_ROOTFS_PROPAGATION = 6
T_NO_PIVOT = 7
T_MOUNT = 8
T_DEVICE = 9
T_SYMLINK = 10
T_MASKED_PATH = 11
T_READONLY_PATH = 12
T_SYSCTL = 13
T_HOSTNAME = 14
T_DOMAINNAME = 15
T_ARG = 16
T_ENV = 17
T_CWD = 18
T_UID = 19
T_GID = 20
T_ADDITIONAL_GID = 21
T_UMASK = 22
T_RLIMIT = 23
T_CAPABILITIES = 24
T_NO_NEW_PRIVILEGES = 25
T_OOM_SCORE_ADJ = 26
T_TERMINAL = 27
T_CONSOLE_WIDTH = 28
T_CONSOLE_HEIGHT = 29
T_PRESERVE_FDS = 30
T_SECCOMP_BPF = 31
T_SECCOMP_FLAGS = 32
T_UID_MAPPINGS = 33
T_GID_MAPPINGS = 34
T_NEW_KEYRING = 35
T_KEYRING_NAME = 36
T_PERSONALITY = 37
T_SCHED_ATTR = 38
T_IOPRIO = 39
T_MEMPOLICY_MODE = 40
T_MEMPOLICY_NODES = 41
T_LSM_EXEC_PATH = 42
T_LSM_EXEC_LABEL = 43
# hooks: numbered from 64 so that fields other issues append keep their own numbers
T_HOOK_SYNC = 64
T_CREATE_CONTAINER_HOOK = 65
T_START_CONTAINER_HOOK = 66
# exec (issue 6): from 80
T_EXEC_MODE = 80


def _i(t: int, v: int) -> bytes:
    return _INT.pack(t, 8, v & _MASK)


def _s(t: int, v: str) -> bytes:
    b = v.encode() + b"\0"
    return _HDR.pack(t, len(b)) + b


def _b(t: int, payload: bytes) -> bytes:
    return _HDR.pack(t, len(payload)) + payload


def encode(plan: Plan) -> bytes:
    out: list[bytes] = []
    add = out.append
    for ns in plan.namespaces:
        sub = _i(1, ns.flag)
        if ns.path is not None:
            sub += _s(2, ns.path)
        add(_b(T_NAMESPACE, sub))
    if plan.timens_offsets:
        add(_s(T_TIMENS_OFFSETS, plan.timens_offsets))
    if plan.new_userns:
        add(_i(T_NEW_USERNS, 1))
    add(_s(T_ROOTFS, plan.rootfs))
    if plan.rootfs_readonly:
        add(_i(T_ROOTFS_READONLY, 1))
    if plan.rootfs_propagation:
        add(_i(T_ROOTFS_PROPAGATION, plan.rootfs_propagation))
    if plan.no_pivot:
        add(_i(T_NO_PIVOT, 1))
    for m in plan.mounts:
        parts = [_s(1, m.destination), _s(2, m.source), _s(3, m.fstype), _i(4, m.flags)]
        if m.data:
            parts.append(_s(5, m.data))
        parts.extend(_i(6, p) for p in m.propagation)
        if m.attr_set:
            parts.append(_i(7, m.attr_set))
        if m.attr_clr:
            parts.append(_i(8, m.attr_clr))
        if m.tmpcopyup:
            parts.append(_i(9, 1))
        if m.uid_map:
            parts.append(_s(10, m.uid_map))
        if m.gid_map:
            parts.append(_s(11, m.gid_map))
        if m.dest_is_file:
            parts.append(_i(12, 1))
        add(_b(T_MOUNT, b"".join(parts)))
    for d in plan.devices:
        add(_b(T_DEVICE, b"".join((
            _s(1, d.path), _i(2, ord(d.kind)), _i(3, d.major), _i(4, d.minor), _i(5, d.mode),
            _i(6, d.uid), _i(7, d.gid), _i(8, int(d.bind_from_host))))))
    for link, target in plan.symlinks:
        add(_b(T_SYMLINK, _s(1, link) + _s(2, target)))
    for p in plan.masked_paths:
        add(_s(T_MASKED_PATH, p))
    for p in plan.readonly_paths:
        add(_s(T_READONLY_PATH, p))
    for k, v in plan.sysctl:
        add(_b(T_SYSCTL, _s(1, k) + _s(2, v)))
    if plan.hostname is not None:
        add(_s(T_HOSTNAME, plan.hostname))
    if plan.domainname is not None:
        add(_s(T_DOMAINNAME, plan.domainname))
    for a in plan.args:
        add(_s(T_ARG, a))
    for e in plan.env:
        add(_s(T_ENV, e))
    add(_s(T_CWD, plan.cwd))
    add(_i(T_UID, plan.uid))
    add(_i(T_GID, plan.gid))
    for g in plan.additional_gids:
        add(_i(T_ADDITIONAL_GID, g))
    if plan.umask is not None:
        add(_i(T_UMASK, plan.umask))
    for r in plan.rlimits:
        add(_b(T_RLIMIT, _i(1, r.resource) + _i(2, r.soft) + _i(3, r.hard)))
    c = plan.capabilities
    if c is not None:
        add(_b(T_CAPABILITIES, _i(1, c.bounding) + _i(2, c.effective) + _i(3, c.permitted)
               + _i(4, c.inheritable) + _i(5, c.ambient)))
    if plan.no_new_privileges:
        add(_i(T_NO_NEW_PRIVILEGES, 1))
    if plan.oom_score_adj is not None:
        add(_i(T_OOM_SCORE_ADJ, plan.oom_score_adj))
    if plan.terminal:
        add(_i(T_TERMINAL, 1))
    if plan.console_width:
        add(_i(T_CONSOLE_WIDTH, plan.console_width))
    if plan.console_height:
        add(_i(T_CONSOLE_HEIGHT, plan.console_height))
    if plan.preserve_fds:
        add(_i(T_PRESERVE_FDS, plan.preserve_fds))
    if plan.seccomp_bpf:
        add(_b(T_SECCOMP_BPF, bytes(plan.seccomp_bpf)))
    if plan.seccomp_flags:
        add(_i(T_SECCOMP_FLAGS, plan.seccomp_flags))
    if plan.uid_mappings:
        add(_s(T_UID_MAPPINGS, plan.uid_mappings))
    if plan.gid_mappings:
        add(_s(T_GID_MAPPINGS, plan.gid_mappings))
    if plan.new_keyring:
        add(_i(T_NEW_KEYRING, 1))
    if plan.keyring_name:
        add(_s(T_KEYRING_NAME, plan.keyring_name))
    if plan.personality is not None:
        add(_i(T_PERSONALITY, plan.personality))
    if plan.sched_attr:
        add(_b(T_SCHED_ATTR, bytes(plan.sched_attr)))
    if plan.ioprio is not None:
        add(_i(T_IOPRIO, plan.ioprio))
    if plan.mempolicy_mode is not None:
        add(_i(T_MEMPOLICY_MODE, plan.mempolicy_mode))
    if plan.mempolicy_nodes:
        add(_b(T_MEMPOLICY_NODES, bytes(plan.mempolicy_nodes)))
    if plan.lsm_exec_path:
        add(_s(T_LSM_EXEC_PATH, plan.lsm_exec_path))
    if plan.lsm_exec_label:
        add(_s(T_LSM_EXEC_LABEL, plan.lsm_exec_label))
    if plan.hook_sync:
        add(_i(T_HOOK_SYNC, 1))
    for t, hooks in ((T_CREATE_CONTAINER_HOOK, plan.create_container_hooks),
                     (T_START_CONTAINER_HOOK, plan.start_container_hooks)):
        for h in hooks:
            parts = [_s(1, h.path)]
            parts.extend(_s(2, a) for a in h.args)
            parts.extend(_s(3, e) for e in h.env)
            if h.timeout:
                parts.append(_i(4, h.timeout))
            add(_b(t, b"".join(parts)))
    if plan.exec_mode:
        add(_i(T_EXEC_MODE, 1))
    return b"".join(out)
