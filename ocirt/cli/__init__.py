"""`ocirt` entry point: global flags, then one module per command, imported only when used.

Every engine call is a new process, so nothing here imports more than the command needs.
"""

from __future__ import annotations

import sys

from ocirt.cli.flags import Flag, UsageError, parse

DEFAULT_ROOT = "/run/ocirt"

COMMANDS = {
    "create": "create a container",
    "start": "execute the user process of a created container",
    "state": "output the state of a container",
    "kill": "send a signal to the container's init process",
    "delete": "delete a container and everything it holds",
    "run": "create and start a container",
    "exec": "execute a new process inside a container",
    "list": "list containers started by ocirt with this --root",
    "spec": "write a starter config.json",
    "pause": "suspend all processes of a container",
    "resume": "resume all processes of a paused container",
    "update": "update a container's resource limits",
    "ps": "list the processes of a container",
    "events": "print a container's stats and OOM events",
    "features": "show the enabled features",
}

GLOBAL_FLAGS = [
    Flag(("root",), default=DEFAULT_ROOT, help="directory holding container state"),
    Flag(("log",), help="log file (default: stderr)"),
    Flag(("log-format",), default="text", help="text or json"),
    Flag(("debug",), "bool", help="log debug messages"),
    Flag(("systemd-cgroup",), "bool", help="use systemd for cgroups (not supported yet)"),
    Flag(("rootless",), default="auto", help="accepted for runc compatibility"),
    Flag(("criu",), default="criu", help="accepted for runc compatibility"),
    Flag(("version", "v"), "bool", help="print the version"),
    Flag(("help", "h"), "bool", help="show help"),
]


class Globals:
    """Global flags every command sees."""

    def __init__(self, root: str, systemd_cgroup: bool, debug: bool) -> None:
        self.root = root
        self.systemd_cgroup = systemd_cgroup
        self.debug = debug


def _help() -> str:
    lines = ["usage: ocirt [global options] command [command options] [arguments...]", "",
             "commands:"]
    lines += [f"   {name:<8} {text}" for name, text in COMMANDS.items()]
    lines += ["", "global options:"]
    lines += [f"   --{f.names[0]}\t{f.help}" for f in GLOBAL_FLAGS]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from ocirt import log
    from ocirt.errors import OcirtError

    argv = sys.argv[1:] if argv is None else argv
    try:
        g, rest = parse(GLOBAL_FLAGS, argv, interspersed=False)
        if g.log_format not in ("text", "json"):
            raise UsageError(f"invalid log-format: {g.log_format}")
        log.configure(g.log, g.log_format, g.debug)
        if g.version:
            from ocirt import OCI_VERSION, __version__

            print(f"ocirt version {__version__}\nspec: {OCI_VERSION}")
            return 0
        if g.help or not rest or rest[0] == "help":
            print(_help())
            return 0
        name, args = rest[0], rest[1:]
        if name not in COMMANDS:
            raise UsageError(f"No help topic for '{name}'")
        if g.systemd_cgroup:
            raise UsageError("--systemd-cgroup: the systemd cgroup driver is not supported yet;"
                             " use the cgroupfs driver (drop the flag)")
        # __import__ rather than importlib: its import pulls in warnings, ~0.5 ms a call
        __import__(f"ocirt.cli.{name}")
        module = sys.modules[f"ocirt.cli.{name}"]
        opts, positional = parse(module.FLAGS, args,
                                 interspersed=getattr(module, "INTERSPERSED", True))
        if getattr(opts, "help", False):
            from ocirt.cli.flags import usage

            print(usage(name, module.SYNOPSIS, module.FLAGS))
            return 0
        return int(module.run(Globals(g.root, g.systemd_cgroup, g.debug), opts, positional))
    except OcirtError as e:
        log.error(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        return 130


def need_id(args: list[str], command: str, count: int = 1) -> str:
    """runc's check that a command got its container id (and no more than count args)."""
    if len(args) < 1:
        raise UsageError(f'"{command}" requires a minimum of 1 argument')
    if len(args) > count:
        raise UsageError(f'"{command}" requires a maximum of {count} argument'
                         + ("s" if count > 1 else ""))
    return args[0]
