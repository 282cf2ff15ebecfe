"""ocirt exec [options] ID [COMMAND [ARG...]]: run a process in a container, like runc's.

The process is `--process FILE` (a config.md `process` object, as containerd's shim and
conmon write it), else the container's config `process` with the command line's args and
overrides. Foreground: exits with the process's status (128+signal when killed); with a
terminal and no --console-socket the terminal is relayed. `--detach` returns once the
process runs. A failure to start it is `exec failed: ...` and exit status 255 (runc).
"""

from __future__ import annotations

from ocirt.cli import Globals
from ocirt.cli.flags import Flag, UsageError, Values

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SYNOPSIS = "[command options] <container-id> <command> [command options]"
# the arguments after the id belong to the process
INTERSPERSED = False
FLAGS = [
    Flag(("console-socket",), help="unix socket that receives the pty master"),
    Flag(("cwd",), help="current working directory in the container"),
    Flag(("env", "e"), "list", help="set environment variables (KEY=VALUE)"),
    Flag(("tty", "t"), "bool", help="allocate a pseudo-TTY"),
    Flag(("user", "u"), help="UID[:GID] of the process"),
    Flag(("additional-gids", "g"), "list", help="additional gids"),
    Flag(("process", "p"), help="path to a process.json"),
    Flag(("detach", "d"), "bool", help="detach from the process"),
    Flag(("pid-file",), help="file to write the process's host pid to"),
    Flag(("process-label",), help="SELinux label of the process"),
    Flag(("apparmor",), help="AppArmor profile of the process"),
    Flag(("no-new-privs",), "bool", help="set no_new_privileges"),
    Flag(("cap", "c"), "list", help="add a capability to the process"),
    Flag(("preserve-fds",), "int", default=0, help="extra fds (from 3) to pass on"),
    Flag(("ignore-paused",), "bool", help="exec even when the container is paused"),
    Flag(("help", "h"), "bool"),
]


def _ints(text: str, what: str) -> int:
    try:
        return int(text, 10)
    except ValueError:
        raise UsageError(f'parsing {text} as int for {what} failed: strconv.Atoi: parsing '
                         f'"{text}": invalid syntax') from None


def _set_env(env: list[str], extra: list[str]) -> list[str]:
    """extra appended to env; a later NAME= replaces an earlier one (runc dedups too)."""
    out: dict[str, str] = {}
    for entry in env + extra:
        name = entry.split("=", 1)[0]
        out.pop(name, None)
        out[name] = entry
    return list(out.values())


def build_process(cfg: dict[str, Any], opts: Values, args: list[str]) -> dict[str, Any]:
    """runc's getProcess: --process FILE as is, else the config's process + the flags."""
    from ocirt.container.exec import ExecError, check_process, process_from_config

    if opts.process:
        from ocirt import jsonio

        try:
            proc = jsonio.load_file(opts.process)
        except OSError as e:
            raise ExecError(f"open {opts.process}: {e.strerror.lower()}") from None
        except ValueError as e:
            raise ExecError(f"{opts.process}: {e}") from None
        if "tty" in opts.set and isinstance(proc, dict):
            # conmon passes --tty with the file; runc would ignore it, honour it
            proc["terminal"] = opts.tty
        check_process(proc)
        return proc
    proc = process_from_config(cfg)
    proc["args"] = list(args)
    if opts.cwd:
        proc["cwd"] = opts.cwd
    if opts.apparmor:
        proc["apparmorProfile"] = opts.apparmor
    if opts.process_label:
        proc["selinuxLabel"] = opts.process_label
    if opts.cap:
        caps = proc.get("capabilities") or {}
        for which in ("bounding", "effective", "inheritable", "permitted", "ambient"):
            caps[which] = list(caps.get(which) or []) + list(opts.cap)
        proc["capabilities"] = caps
    if opts.env:
        proc["env"] = _set_env(list(proc.get("env") or []), opts.env)
    proc["terminal"] = bool(opts.tty)
    if "no_new_privs" in opts.set:
        proc["noNewPrivileges"] = opts.no_new_privs
    user = dict(proc.get("user") or {})
    if opts.user:
        uid, _, gid = opts.user.partition(":")
        if gid:
            user["gid"] = _ints(gid, "gid")
        user["uid"] = _ints(uid, "uid")
    for text in opts.additional_gids:
        gid = _ints(text, "additional gid")
        if gid < 0:
            raise UsageError(f"additional-gids must be a positive number {gid}")
        user.setdefault("additionalGids", [])
        user["additionalGids"] = list(user["additionalGids"]) + [gid]
    user.setdefault("uid", 0)
    user.setdefault("gid", 0)
    proc["user"] = user
    check_process(proc)
    return proc


def run(g: Globals, opts: Values, args: list[str]) -> int:
    from ocirt.container.exec import ExecError
    from ocirt.errors import OcirtError

    if not args:
        raise UsageError('"exec" requires a minimum of 1 argument')
    try:
        return _exec(g, opts, args[0], args[1:])
    except ExecError:
        raise
    except OcirtError as e:  # runc: every failure past the argument count
        raise ExecError(str(e)) from None


def _exec(g: Globals, opts: Values, cid: str, command: list[str]) -> int:
    from ocirt.cli.run import check_console_socket, wait_foreground
    from ocirt.container import Container
    from ocirt.container.exec import ExecError

    container = Container.load(g.root, cid)
    if not opts.process and not command:
        raise ExecError("process args cannot be empty")
    proc = build_process(container.saved.get("config") or {}, opts, command)
    terminal = bool(proc.get("terminal"))
    check_console_socket(opts.console_socket, opts.detach, terminal)
    relay = None
    console: str | int | None = opts.console_socket
    if terminal and not opts.detach:
        from ocirt.console import Relay

        relay = Relay()
        console = relay.their_fd
    try:
        pid = container.exec(proc, console_socket=console, pid_file=opts.pid_file,
                             preserve_fds=opts.preserve_fds,
                             ignore_paused=opts.ignore_paused)
        if opts.detach:
            return 0
        if relay is not None:
            relay.receive()
        return wait_foreground(pid, relay)
    finally:
        if relay is not None:
            relay.close()
