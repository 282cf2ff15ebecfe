"""linux.seccomp (config-linux.md "Seccomp"): compiled with libseccomp by ocirt, loaded by
the init; every action, argument filters, flags, and the notify listener."""

from __future__ import annotations

import array
import json
import os
import signal
import socket
import struct
import threading
from typing import Any

import pytest

from ocirt.errors import ConfigError
from ocirt.seccomp import compile_profile
from tests.conftest import Ocirt
from tests.seccomp.engine import DOCKER_CAPS, to_oci

SIGSYS_EXIT = 128 + signal.SIGSYS


def _run(ocirt: Ocirt, args: list[str], seccomp: dict[str, Any], check: bool = True,
         **proc: Any) -> Any:
    bundle, cfg = ocirt.bundle(args)
    cfg["linux"]["seccomp"] = seccomp
    cfg["process"].update(proc)
    ocirt.write(bundle, cfg)
    return ocirt("run", "--bundle", bundle, ocirt.new_id(), check=check)


def _deny(names: list[str], action: str = "SCMP_ACT_ERRNO", **extra: Any) -> dict[str, Any]:
    return {"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": names, "action": action, **extra}]}


SHELL = ["sh", "-c", "mkdir /out/d && echo made; ls /out; echo $((6*7)); "
         "grep ^Seccomp: /proc/self/status"]


@pytest.mark.parametrize("profile", ["docker-default.json", "podman-default.json"])
def test_engine_default_profiles_run_a_shell(ocirt: Ocirt, profile: str) -> None:
    """Acceptance: the default profiles of Docker and podman run a busybox shell, filtered
    (Seccomp: 2), with the engine's default capabilities."""
    sc = to_oci(profile, DOCKER_CAPS)
    caps = {k: DOCKER_CAPS for k in ("bounding", "effective", "permitted")}
    res = _run(ocirt, SHELL, sc, capabilities=caps)
    assert res.stdout.split("\n")[:4] == ["made", "d", "42", "Seccomp:\t2"], res


@pytest.mark.parametrize("profile", ["docker-default.json", "podman-default.json"])
def test_engine_default_profiles_deny_what_they_leave_out(ocirt: Ocirt, profile: str) -> None:
    """Without CAP_SYS_ADMIN the profiles refuse unshare (default action ERRNO)."""
    sc = to_oci(profile, DOCKER_CAPS)
    res = _run(ocirt, ["sh", "-c", "unshare -u true; echo rc=$?"], sc)
    assert "rc=1" in res.stdout and "Operation not permitted" in res.stderr + res.stdout


def test_errno_ret_mkdir_eperm(ocirt: Ocirt) -> None:
    """Acceptance: denying mkdir with errnoRet 1 makes mkdir fail with EPERM."""
    sc = _deny(["mkdir", "mkdirat"], errnoRet=1)
    res = _run(ocirt, ["sh", "-c", "mkdir /out/x 2>&1; echo rc=$?; [ -d /out/x ] || echo gone"],
               sc)
    assert "Operation not permitted" in res.stdout and "rc=1" in res.stdout
    assert "gone" in res.stdout


def test_errno_default_is_eperm_and_errno_value_is_used(ocirt: Ocirt) -> None:
    """No errnoRet → EPERM (runc); errnoRet 28 → ENOSPC; defaultErrnoRet applies to the
    default action."""
    res = _run(ocirt, ["sh", "-c", "mkdir /out/x 2>&1; rmdir /out 2>&1; true"],
               {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                   {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"},
                   {"names": ["rmdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 28}]})
    assert "mkdir: can't create directory '/out/x': Operation not permitted" in res.stdout
    assert "No space left on device" in res.stdout
    allow = ["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq",
             "prlimit64", "readlink", "getuid", "geteuid", "getpid", "uname", "write",
             "exit_group", "mmap", "munmap", "mprotect", "getrandom", "rt_sigaction",
             "rt_sigprocmask", "ioctl", "newfstatat", "fstat", "stat", "lstat", "openat",
             "open", "close", "read", "fcntl", "getcwd", "dup2", "getppid", "wait4"]
    res = _run(ocirt, ["mkdir", "/out/y"], {
        "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 30}]},
        check=False)
    assert "Read-only file system" in res.stderr
    res = _run(ocirt, ["mkdir", "/out/z"], {
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 30,
        "syscalls": [{"names": allow, "action": "SCMP_ACT_ALLOW"}]}, check=False)
    assert "Read-only file system" in res.stderr, res


def test_argument_filter_allows_one_value_denies_another(ocirt: Ocirt) -> None:
    """Acceptance: personality is allowed only with PER_LINUX32 (8): linux32 works,
    linux64 (PER_LINUX, 0) gets EPERM."""
    sc = _deny(["personality"], args=[{"index": 0, "value": 8, "op": "SCMP_CMP_NE"}])
    res = _run(ocirt, ["sh", "-c", "linux32 uname -m; linux64 uname -m; echo rc=$?"], sc)
    lines = res.stdout.split("\n")
    assert lines[0] in ("i686", "i386"), res
    assert "rc=1" in res.stdout and "Operation not permitted" in res.stderr, res


@pytest.mark.parametrize("op,value,value_two,denied", [
    ("SCMP_CMP_EQ", 8, 0, {8}), ("SCMP_CMP_NE", 8, 0, {0}),
    ("SCMP_CMP_LT", 8, 0, {0}), ("SCMP_CMP_LE", 8, 0, {0, 8}),
    ("SCMP_CMP_GT", 0, 0, {8}), ("SCMP_CMP_GE", 8, 0, {8}),
    ("SCMP_CMP_MASKED_EQ", 0xF, 8, {8}),
])
def test_every_operator(ocirt: Ocirt, op: str, value: int, value_two: int,
                        denied: set[int]) -> None:
    """Each op compares personality's first argument (linux32 passes 8, linux64 0): the
    ERRNO rule applies exactly when the comparison holds."""
    arg = {"index": 0, "value": value, "op": op}
    if op == "SCMP_CMP_MASKED_EQ":
        arg["valueTwo"] = value_two
    sc = _deny(["personality"], args=[arg])
    res = _run(ocirt, ["sh", "-c", "linux32 true || echo 8=no; linux64 true || echo 0=no; :"],
               sc)
    got = {int(line.split("=")[0]) for line in res.stdout.split() if line.endswith("=no")}
    assert got == denied, res


def test_same_argument_twice_is_or(ocirt: Ocirt) -> None:
    """Two comparisons of one argument become one rule each (runc): either matches."""
    sc = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [
            {"index": 0, "value": 0, "op": "SCMP_CMP_EQ"},
            {"index": 0, "value": 8, "op": "SCMP_CMP_EQ"}]}]}
    res = _run(ocirt, ["sh", "-c", "linux32 true || echo no32; linux64 true || echo no64"], sc)
    assert res.stdout.split() == ["no32", "no64"], res


def test_trap_delivers_a_catchable_sigsys(ocirt: Ocirt) -> None:
    """SCMP_ACT_TRAP: a SIGSYS the process may catch; the syscall is not executed. The
    shell's own chdir (`cd`) is trapped: its handler runs and the shell goes on."""
    res = _run(ocirt, ["sh", "-c", "trap 'echo caught' SYS; cd /out; pwd; echo after"],
               _deny(["chdir"], "SCMP_ACT_TRAP"))
    assert res.stdout.split() == ["caught", "/", "after"], res
    # uncaught, SIGSYS kills: a forked mkdir dies of it (exit 128+31)
    res = _run(ocirt, ["sh", "-c", "mkdir /out/t; echo rc=$?"],
               _deny(["mkdir", "mkdirat"], "SCMP_ACT_TRAP"))
    assert f"rc={SIGSYS_EXIT}" in res.stdout, res


@pytest.mark.parametrize("action", ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL",
                                    "SCMP_ACT_KILL_THREAD"])
def test_kill_actions_cannot_be_caught(ocirt: Ocirt, action: str) -> None:
    """KILL_PROCESS / KILL(_THREAD): the task dies of SIGSYS even with a handler set; the
    container's exit status says so."""
    res = _run(ocirt, ["sh", "-c", "trap 'echo caught' SYS; cd /out; echo after"],
               _deny(["chdir"], action), check=False)
    assert res.stdout == "" and res.returncode == SIGSYS_EXIT, res


def _kmsg_lines_after(marker: str) -> list[str]:
    fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    lines = []
    try:
        while True:
            try:
                lines.append(os.read(fd, 8192).decode(errors="replace"))
            except BlockingIOError:
                break
            except OSError:  # EPIPE: overwritten record, keep reading
                continue
    finally:
        os.close(fd)
    idx = max((i for i, line in enumerate(lines) if marker in line), default=0)
    return lines[idx:]


def test_log_allows_and_logs(ocirt: Ocirt) -> None:
    """SCMP_ACT_LOG: the syscall runs, and the kernel logs a seccomp audit record."""
    marker = f"ocirt-seccomp-log-{os.getpid()}"
    with open("/dev/kmsg", "w") as f:
        f.write(marker + "\n")
    res = _run(ocirt, ["sh", "-c", "mkdir /out/l && echo made"],
               _deny(["mkdir", "mkdirat"], "SCMP_ACT_LOG"))
    assert "made" in res.stdout
    logged = [line for line in _kmsg_lines_after(marker)
              if "type=1326" in line and "syscall=83" in line]
    assert logged and "sig=0" in logged[-1], logged


def test_trace_without_tracer_is_enosys(ocirt: Ocirt) -> None:
    """SCMP_ACT_TRACE with no tracer attached: the kernel fails the syscall with ENOSYS."""
    res = _run(ocirt, ["sh", "-c", "mkdir /out/r 2>&1; true"],
               _deny(["mkdir", "mkdirat"], "SCMP_ACT_TRACE", errnoRet=5))
    assert "Function not implemented" in res.stdout, res


@pytest.mark.parametrize("flags", [["SECCOMP_FILTER_FLAG_TSYNC"], ["SECCOMP_FILTER_FLAG_LOG"],
                                   ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"],
                                   ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]])
def test_flags_are_passed_to_the_kernel(ocirt: Ocirt, flags: list[str]) -> None:
    """Each flag is accepted by the kernel (a bad flag would fail the load) and the filter
    is in force."""
    sc = _deny(["mkdir", "mkdirat"], errnoRet=1)
    sc["flags"] = flags
    res = _run(ocirt, ["sh", "-c", "mkdir /out/f 2>&1; grep ^Seccomp: /proc/self/status"], sc)
    assert "Operation not permitted" in res.stdout and "Seccomp:\t2" in res.stdout


def test_flag_bits() -> None:
    base = _deny(["mkdir"])
    assert compile_profile({**base, "flags": ["SECCOMP_FILTER_FLAG_TSYNC",
                                              "SECCOMP_FILTER_FLAG_LOG",
                                              "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]})[1] == 7
    # WAIT_KILLABLE_RECV only with a listener (the kernel refuses it alone)
    assert compile_profile({**base, "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]})[1] == 0
    notify = {**_deny(["mkdir"], "SCMP_ACT_NOTIFY"), "listenerPath": "/x",
              "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_TSYNC"]}
    # NEW_LISTENER (8), TSYNC_ESRCH (16) with TSYNC, WAIT_KILLABLE_RECV (32)
    assert compile_profile(notify)[1] == 1 | 8 | 16 | 32


def test_architectures_multiplexed_x86(ocirt: Ocirt) -> None:
    """x86_64 + x86 + x32 in one filter (libseccomp's multiplexing): native calls are still
    filtered; the program is larger than the native-only one."""
    native = compile_profile(_deny(["mkdir", "mkdirat"]))[0]
    multi = _deny(["mkdir", "mkdirat"])
    multi["architectures"] = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert len(compile_profile(multi)[0]) > len(native)
    res = _run(ocirt, ["sh", "-c", "mkdir /out/a 2>&1; true"], multi)
    assert "Operation not permitted" in res.stdout


def test_unknown_syscall_names_are_skipped(ocirt: Ocirt) -> None:
    """runc's behaviour: a name libseccomp does not know is skipped, with a debug note."""
    sc = _deny(["no_such_syscall_xyz", "mkdir", "mkdirat"])
    bundle, cfg = ocirt.bundle(["sh", "-c", "mkdir /out/u 2>&1; true"])
    cfg["linux"]["seccomp"] = sc
    ocirt.write(bundle, cfg)
    res = ocirt("run", "--bundle", bundle, ocirt.new_id(), glob_args=("--debug",))
    assert "Operation not permitted" in res.stdout
    assert ("linux.seccomp.syscalls[0].names[0]: unknown syscall 'no_such_syscall_xyz' "
            "skipped") in res.stderr


@pytest.mark.parametrize("sc,field", [
    ({"defaultAction": "SCMP_ACT_ALLOW",
      "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]},
     "linux.seccomp.listenerPath: required when SCMP_ACT_NOTIFY is used"),
    ({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"},
     "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x",
      "syscalls": [{"names": ["mkdir", "sendmsg"], "action": "SCMP_ACT_NOTIFY"}]},
     "linux.seccomp.syscalls[0].names[1]: SCMP_ACT_NOTIFY cannot be used for sendmsg"),
    ({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_M68K"]},
     "linux.seccomp.architectures[1]: SCMP_ARCH_M68K: not supported by this libseccomp"),
])
def test_one_line_errors(sc: dict[str, Any], field: str) -> None:
    from ocirt.seccomp import libseccomp_version

    if "M68K" in field and tuple(map(int, libseccomp_version().split("."))) >= (2, 6):
        pytest.skip("libseccomp ≥ 2.6 knows m68k")
    with pytest.raises(ConfigError) as e:
        compile_profile(sc)
    assert str(e.value).startswith("config.json: " + field)


def test_rule_with_the_default_action_is_dropped() -> None:
    """libseccomp refuses such a rule; it changes nothing, so it is dropped (runc)."""
    a = compile_profile({"defaultAction": "SCMP_ACT_ALLOW"})[0]
    b = compile_profile(_deny(["mkdir"], "SCMP_ACT_ALLOW"))[0]
    assert a == b


def test_no_new_privileges_loads_after_the_fifo(ocirt: Ocirt) -> None:
    """With noNewPrivileges the filter is loaded last (so it may deny what the init still
    needs, e.g. setresuid/capset); without it, before the capabilities drop (so the init
    needs CAP_SYS_ADMIN, which it still has). Both run."""
    deny_init = _deny(["setresuid", "capset", "setgroups", "prctl"])
    res = _run(ocirt, ["sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status"],
               deny_init, noNewPrivileges=True)
    assert "NoNewPrivs:\t1" in res.stdout and "Seccomp:\t2" in res.stdout
    # without NNP the same filter would stop the init's own setresuid/capset
    res = _run(ocirt, ["true"], deny_init, check=False, noNewPrivileges=False)
    assert res.returncode != 0 and "operation not permitted" in res.stderr.lower(), res
    # and an ordinary filter without NNP works, with NoNewPrivs unset
    res = _run(ocirt, ["sh", "-c", "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status"],
               _deny(["mkdir"]), noNewPrivileges=False)
    assert "NoNewPrivs:\t0" in res.stdout and "Seccomp:\t2" in res.stdout


# -- SCMP_ACT_NOTIFY ----------------------------------------------------------------------

SECCOMP_IOCTL_NOTIF_RECV = 0xC0502100  # _IOWR('!', 0, struct seccomp_notif)
SECCOMP_IOCTL_NOTIF_SEND = 0xC0182101  # _IOWR('!', 1, struct seccomp_notif_resp)
ENOSPC = 28


SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1


class Agent(threading.Thread):
    """A seccomp agent: takes one container process state + listener on a unix socket,
    then answers every notified syscall with -ENOSPC (or lets it run: allow=True)."""

    def __init__(self, path: str, allow: bool = False) -> None:
        super().__init__(daemon=True)
        self.allow = allow
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(1)
        self.state: dict[str, Any] = {}
        self.nrs: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        import fcntl

        try:
            conn, _ = self.sock.accept()
            msg, anc, _, _ = conn.recvmsg(65536, socket.CMSG_SPACE(4 * 4))
            conn.close()
            fds = array.array("i")
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds.frombytes(data[:len(data) - len(data) % 4])
            self.state = json.loads(msg)
            self.state["_nfds"] = len(fds)
            fd = fds[0]
            while True:
                buf = bytearray(80)
                try:
                    fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, buf)
                except OSError:
                    break  # the filter's users are gone
                nid, _pid, _flags, nr = struct.unpack_from("<QIIi", buf)
                self.nrs.append(nr)
                resp = bytearray(struct.pack("<QqiI", nid, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE)
                                 if self.allow else struct.pack("<QqiI", nid, 0, -ENOSPC, 0))
                try:
                    fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp)
                except OSError:
                    pass
            os.close(fd)
        except BaseException as e:  # reported by the test
            self.error = e
        finally:
            self.sock.close()


def test_notify_listener_reaches_the_agent_which_answers(ocirt: Ocirt) -> None:
    """Acceptance: the listener and the container process state go to listenerPath
    (config-linux.md "The Container Process State"); the agent answers mkdir."""
    path = os.path.join(ocirt.tmp, "agent.sock")
    agent = Agent(path)
    agent.start()
    sc = _deny(["mkdir", "mkdirat"], "SCMP_ACT_NOTIFY")
    sc.update(listenerPath=path, listenerMetadata="hello agent")
    bundle, cfg = ocirt.bundle(["sh", "-c", "mkdir /out/n 2>&1; [ -d /out/n ] || echo absent"])
    cfg["linux"]["seccomp"] = sc
    cfg["annotations"] = {"k": "v"}
    ocirt.write(bundle, cfg)
    cid = ocirt.new_id()
    res = ocirt("run", "--bundle", bundle, cid)
    agent.join(10)
    assert agent.error is None, agent.error
    assert "No space left on device" in res.stdout and "absent" in res.stdout, res
    assert agent.nrs and set(agent.nrs) <= {83, 258}  # mkdir, mkdirat on x86_64
    st = agent.state
    assert st["fds"] == ["seccompFd"] and st["_nfds"] == 1
    assert st["metadata"] == "hello agent" and st["ociVersion"] == "1.3.0"
    assert st["state"]["id"] == cid and st["state"]["status"] == "creating"
    assert st["pid"] == st["state"]["pid"] > 0
    assert st["state"]["bundle"] == bundle and st["state"]["annotations"] == {"k": "v"}


def test_notify_trapping_the_inits_own_syscalls_without_nnp(ocirt: Ocirt) -> None:
    """Without noNewPrivileges the filter is loaded while the init still has syscalls to
    make (setresuid to the container user among them). One the profile traps waits for
    the agent: the listener must reach it then, not after the init is ready (before, the
    init and ocirt waited on each other until the init timeout)."""
    path = os.path.join(ocirt.tmp, "agent.sock")
    agent = Agent(path, allow=True)
    agent.start()
    sc = _deny(["setresuid"], "SCMP_ACT_NOTIFY")
    sc["listenerPath"] = path
    bundle, cfg = ocirt.bundle(["id", "-u"])
    cfg["linux"]["seccomp"] = sc
    cfg["process"]["noNewPrivileges"] = False
    cfg["process"]["user"] = {"uid": 1000, "gid": 1000}
    ocirt.write(bundle, cfg)
    res = ocirt("run", "--bundle", bundle, ocirt.new_id(), timeout=20)
    agent.join(10)
    assert agent.error is None, agent.error
    assert res.stdout == "1000\n", res
    assert 117 in agent.nrs  # the init's setresuid, let through by the agent


def test_notify_with_unreachable_listener_fails_create(ocirt: Ocirt) -> None:
    sc = _deny(["mkdir"], "SCMP_ACT_NOTIFY")
    sc["listenerPath"] = os.path.join(ocirt.tmp, "nobody.sock")
    bundle, cfg = ocirt.bundle(["true"])
    cfg["linux"]["seccomp"] = sc
    ocirt.write(bundle, cfg)
    cid = ocirt.new_id()
    res = ocirt("create", "--bundle", bundle, cid, check=False)
    assert res.returncode != 0
    assert "config.json: linux.seccomp.listenerPath: send the seccomp listener to" in res.stderr
    assert ocirt("state", cid, check=False).returncode != 0


def test_profile_without_faccessat2_and_without_nnp(ocirt: Ocirt) -> None:
    """Older allowlists (Docker's before 20.10, runtime-tools' default) lack faccessat2.
    Without noNewPrivileges the filter is in force while the init still looks up the
    executable, so that lookup must not need faccessat2 (seen with runtime-tools)."""
    sc = to_oci("docker-default.json", DOCKER_CAPS)
    for rule in sc["syscalls"]:
        rule["names"] = [n for n in rule["names"] if n != "faccessat2"]
    caps = {k: DOCKER_CAPS for k in ("bounding", "effective", "permitted")}
    res = _run(ocirt, ["/bin/sh", "-c", "echo ok"], sc, capabilities=caps,
               noNewPrivileges=False)
    assert res.stdout == "ok\n", res.stderr
