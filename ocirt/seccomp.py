"""linux.seccomp (config-linux.md "Seccomp"): compile the profile to a BPF program with
libseccomp in this process, and hand the notify listener to `listenerPath`.

The container init only loads the bytes (csrc/init/process.c): after exec.fifo when
noNewPrivileges is set (as late as possible), before the capabilities drop otherwise (it
needs CAP_SYS_ADMIN then), and before READY when there is a notify listener (the listener
must reach this process). Behaviour follows runc's: SCMP_ACT_KILL is KILL_THREAD, a missing
errnoRet is EPERM, names libseccomp does not know are skipped (debug note), rules whose
action is the default action are dropped, and a rule comparing one argument twice becomes
one rule per comparison (libseccomp cannot AND two comparisons of one argument).
"""

from __future__ import annotations

from ocirt import log
from ocirt.errors import ConfigError, OcirtError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

EPERM = 1

# SCMP_ACT_* values (seccomp.h); ERRNO and TRACE carry the return code in the low 16 bits
_ACT_KILL_PROCESS = 0x80000000
_ACT_KILL_THREAD = 0x00000000
_ACT_TRAP = 0x00030000
_ACT_ERRNO = 0x00050000
_ACT_TRACE = 0x7FF00000
_ACT_LOG = 0x7FFC0000
_ACT_ALLOW = 0x7FFF0000
_ACT_NOTIFY = 0x7FC00000
ACTIONS = {
    "SCMP_ACT_KILL": _ACT_KILL_THREAD, "SCMP_ACT_KILL_THREAD": _ACT_KILL_THREAD,
    "SCMP_ACT_KILL_PROCESS": _ACT_KILL_PROCESS, "SCMP_ACT_TRAP": _ACT_TRAP,
    "SCMP_ACT_ERRNO": _ACT_ERRNO, "SCMP_ACT_TRACE": _ACT_TRACE, "SCMP_ACT_ALLOW": _ACT_ALLOW,
    "SCMP_ACT_LOG": _ACT_LOG, "SCMP_ACT_NOTIFY": _ACT_NOTIFY,
}
# enum scmp_compare
OPERATORS = {"SCMP_CMP_NE": 1, "SCMP_CMP_LT": 2, "SCMP_CMP_LE": 3, "SCMP_CMP_EQ": 4,
             "SCMP_CMP_GE": 5, "SCMP_CMP_GT": 6, "SCMP_CMP_MASKED_EQ": 7}
# SECCOMP_FILTER_FLAG_* (linux/seccomp.h)
FLAGS = {"SECCOMP_FILTER_FLAG_TSYNC": 1, "SECCOMP_FILTER_FLAG_LOG": 2,
         "SECCOMP_FILTER_FLAG_SPEC_ALLOW": 4, "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV": 32}
FLAG_NEW_LISTENER = 8
FLAG_TSYNC_ESRCH = 16
# the init sends the listener with sendmsg right after loading the filter: a notified
# sendmsg would block it before the agent can have the listener
_INIT_NEEDS = ("sendmsg",)
_INT32_MIN = -(2 ** 31)


def _lib() -> Any:
    from ocirt.native import _lib as native

    return native()


def _action(name: str, errno_ret: int | None) -> int:
    act = ACTIONS[name]
    if act in (_ACT_ERRNO, _ACT_TRACE):
        act |= (EPERM if errno_ret is None else errno_ret) & 0xFFFF
    return act


def _arch_name(scmp: str) -> str:
    return scmp[len("SCMP_ARCH_"):].lower()  # SCMP_ARCH_X86_64 → libseccomp's "x86_64"


def uses_notify(sc: dict[str, Any]) -> bool:
    return sc["defaultAction"] == "SCMP_ACT_NOTIFY" or any(
        s["action"] == "SCMP_ACT_NOTIFY" for s in sc.get("syscalls") or [])


# Compiled programs, by profile: engines send the same profile for every container, and
# libseccomp takes ~20 ms to build Docker's. In /run (gone at reboot), root's only.
CACHE_DIR = "/run/ocirt-cache/seccomp"
_CACHE_MAX = 256  # entries; past that, programs are compiled and not kept


def compile_profile(sc: dict[str, Any], where: str = "linux.seccomp") -> tuple[bytes, int]:
    """A validated linux.seccomp → (BPF program bytes, SECCOMP_FILTER_FLAG_* for seccomp(2)),
    from the cache when this profile was compiled before by this ocirt and libseccomp
    (with the debug notes the compile made)."""
    key = _cache_key(sc)
    entry = _cache_get(key)
    if entry is None:
        notes: list[str] = []
        prog, flags = _compile(sc, where, notes)
        entry = prog, flags, notes
        _cache_put(key, *entry)
    for note in entry[2]:
        log.debug(note)
    return entry[0], entry[1]


def _cache_key(sc: dict[str, Any]) -> str:
    """What the program depends on: the profile, libseccomp (its syscall tables), the
    machine (libseccomp adds the native arch), and this file (how rules are added)."""
    import _sha256
    import os

    from ocirt import jsonio

    me = os.stat(__file__)
    head = (f"ocirt-seccomp-2\0{libseccomp_version()}\0{os.uname().machine}\0"
            f"{me.st_mtime_ns}:{me.st_size}\0")
    return _sha256.sha256((head + jsonio.dumps(sc)).encode()).hexdigest()


def _cache_get(key: str) -> tuple[bytes, int, list[str]] | None:
    import os

    try:
        fd = os.open(os.path.join(CACHE_DIR, key), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        # only a file we wrote: ours, and writable by nobody else
        if st.st_uid != os.geteuid() or st.st_mode & 0o022:
            return None
        data = os.read(fd, st.st_size + 1)
    finally:
        os.close(fd)
    # u32 flags, u32 length of the notes, the notes (lines), whole 8-byte BPF instructions
    if len(data) < 8:
        return None
    flags = int.from_bytes(data[:4], "little")
    end = 8 + int.from_bytes(data[4:8], "little")
    prog = data[end:]
    if end > len(data) or not prog or len(prog) % 8:
        return None
    text = data[8:end].decode(errors="replace")
    return prog, flags, text.split("\n") if text else []


def _cache_put(key: str, prog: bytes, flags: int, notes: list[str]) -> None:
    """Best effort: a cache that cannot be written only costs the next compile."""
    import os

    try:
        os.makedirs(CACHE_DIR, mode=0o700, exist_ok=True)
        if len(os.listdir(CACHE_DIR)) >= _CACHE_MAX:
            return
        tmp = os.path.join(CACHE_DIR, f".{key}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        try:
            text = "\n".join(notes).encode()
            os.write(fd, flags.to_bytes(4, "little") + len(text).to_bytes(4, "little") + text
                     + prog)
        finally:
            os.close(fd)
        os.rename(tmp, os.path.join(CACHE_DIR, key))  # whole, or not there at all
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _compile(sc: dict[str, Any], where: str, notes: list[str]) -> tuple[bytes, int]:
    """The compile itself; debug notes go to notes (logged by the caller, kept with it)."""
    mod = _lib()
    ffi, lib = mod.ffi, mod.lib
    notify = uses_notify(sc)
    if sc["defaultAction"] == "SCMP_ACT_NOTIFY":
        # every syscall of the init after loading would wait for an agent that has no fd yet
        raise ConfigError(f"{where}.defaultAction", "SCMP_ACT_NOTIFY cannot be the default "
                          "action")
    if notify and not sc.get("listenerPath"):
        raise ConfigError(f"{where}.listenerPath", "required when SCMP_ACT_NOTIFY is used")

    flags = 0
    for name in sc.get("flags") or []:
        flags |= FLAGS[name]
    if notify:
        flags |= FLAG_NEW_LISTENER
        if flags & FLAGS["SECCOMP_FILTER_FLAG_TSYNC"]:
            flags |= FLAG_TSYNC_ESRCH  # the kernel refuses TSYNC with a listener without it
    elif flags & FLAGS["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]:
        # only meaningful for (and only accepted with) a notify listener
        notes.append(f"{where}.flags: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV without "
                     "SCMP_ACT_NOTIFY ignored")
        flags &= ~FLAGS["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]

    default = _action(sc["defaultAction"], sc.get("defaultErrnoRet"))
    ctx = lib.ocirt_seccomp_new(default)
    if ctx == ffi.NULL:
        raise OcirtError(f"{where}: libseccomp could not create a filter")
    try:
        for i, arch in enumerate(sc.get("architectures") or []):
            rc = lib.ocirt_seccomp_arch_add(ctx, _arch_name(arch).encode())
            if rc < 0:
                raise ConfigError(f"{where}.architectures[{i}]",
                                  f"{arch}: not supported by this libseccomp"
                                  if rc == -22 else f"{arch}: {_strerror(rc)}")
        for i, rule in enumerate(sc.get("syscalls") or []):
            _add_rule(ffi, lib, ctx, rule, f"{where}.syscalls[{i}]", default, notes)
        buf = ffi.new("unsigned char **")
        size = ffi.new("size_t *")
        rc = lib.ocirt_seccomp_export(ctx, buf, size)
        if rc < 0:
            raise OcirtError(f"{where}: export the BPF program: {_strerror(rc)}")
        try:
            prog = bytes(ffi.buffer(buf[0], size[0]))
        finally:
            lib.ocirt_free(buf[0])
    finally:
        lib.ocirt_seccomp_release(ctx)
    return prog, flags


def _strerror(rc: int) -> str:
    import os

    return os.strerror(-rc).lower() if rc < 0 else str(rc)


def _add_rule(ffi: Any, lib: Any, ctx: Any, rule: dict[str, Any], where: str,
              default: int, notes: list[str]) -> None:
    action = _action(rule["action"], rule.get("errnoRet"))
    if action == default:
        return  # libseccomp refuses it, and it changes nothing
    args = rule.get("args") or []
    counts: dict[int, int] = {}
    for a in args:
        counts[a["index"]] = counts.get(a["index"], 0) + 1
    # one rule ANDs its comparisons; two on one argument cannot be ANDed: OR them instead
    groups = [[a] for a in args] if any(n > 1 for n in counts.values()) else [args]
    for j, name in enumerate(rule["names"]):
        if rule["action"] == "SCMP_ACT_NOTIFY" and name in _INIT_NEEDS:
            raise ConfigError(f"{where}.names[{j}]", f"SCMP_ACT_NOTIFY cannot be used for "
                              f"{name}: the runtime needs it after the filter is loaded")
        nr = lib.ocirt_seccomp_syscall(name.encode())
        if nr == _INT32_MIN:
            notes.append(f"{where}.names[{j}]: unknown syscall {name!r} skipped")
            continue
        for group in groups:
            n = len(group)
            rc = lib.ocirt_seccomp_rule_add(
                ctx, action, nr, n,
                ffi.new("unsigned int[]", [a["index"] for a in group] or [0]),
                ffi.new("int[]", [OPERATORS[a["op"]] for a in group] or [0]),
                ffi.new("uint64_t[]", [a["value"] for a in group] or [0]),
                ffi.new("uint64_t[]", [a.get("valueTwo", 0) for a in group] or [0]))
            if rc < 0:
                raise ConfigError(f"{where}.names[{j}]",
                                  f"add rule for {name}: {_strerror(rc)}")


def plan_seccomp(plan: Any, sc: dict[str, Any]) -> None:
    plan.seccomp_bpf, plan.seccomp_flags = compile_profile(sc)


def forward_listener(cfg: dict[str, Any], fd: int, pid: int, container_id: str,
                     bundle: str) -> None:
    """Send the init's notify listener to linux.seccomp.listenerPath, then close ours."""
    from ocirt import OCI_VERSION

    state = {"ociVersion": OCI_VERSION, "id": container_id, "status": "creating", "pid": pid,
             "bundle": bundle, "annotations": cfg.get("annotations") or {}}
    try:
        send_listener(cfg["linux"]["seccomp"], fd, state)
    finally:
        import os

        os.close(fd)


def send_listener(sc: dict[str, Any], fd: int, state: dict[str, Any]) -> None:
    """config-linux.md "The Container Process State": one JSON document and the listener
    (as SCM_RIGHTS, named "seccompFd") in one sendmsg on a new connection to listenerPath."""
    import array
    import socket

    from ocirt import jsonio

    path = sc["listenerPath"]
    msg: dict[str, Any] = {"ociVersion": state["ociVersion"], "fds": ["seccompFd"],
                           "pid": state["pid"], "state": state}
    if "listenerMetadata" in sc:
        msg["metadata"] = sc["listenerMetadata"]
    data = jsonio.dumps(msg).encode()
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as s:
            s.connect(path)
            s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                array.array("i", [fd]).tobytes())])
    except OSError as e:
        raise ConfigError("linux.seccomp.listenerPath",
                          f"send the seccomp listener to {path}: "
                          f"{(e.strerror or str(e)).lower()}") from None


def flag_supported(name: str) -> bool:
    """Does the running kernel accept this linux.seccomp.flags entry?"""
    flag = FLAGS[name]
    if flag == FLAGS["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]:
        flag |= FLAG_NEW_LISTENER  # refused on its own
    return _lib().lib.ocirt_seccomp_flag_supported(flag) == 1


def libseccomp_version() -> str:
    mod = _lib()
    v = mod.ffi.new("unsigned int[3]")
    mod.lib.ocirt_seccomp_version(v, v + 1, v + 2)
    return f"{v[0]}.{v[1]}.{v[2]}"
