"""ocirt run [options] ID: create, start, and (unless --detach) wait and exit with its status."""

from __future__ import annotations

from ocirt.cli import Globals, need_id
from ocirt.cli.create import FLAGS as CREATE_FLAGS
from ocirt.cli.flags import Flag, Values

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SYNOPSIS = "[command options] <container-id>"
FLAGS = CREATE_FLAGS + [
    Flag(("detach", "d"), "bool", help="return once the container runs"),
    Flag(("keep",), "bool", help="keep the stopped container instead of deleting it"),
]
# signals the foreground run passes on to the container instead of acting on them
FORWARDED = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGWINCH",
             "SIGCONT", "SIGALRM", "SIGPIPE")


def run(g: Globals, opts: Values, args: list[str]) -> int:
    from ocirt.container import Container

    cid = need_id(args, "run")
    check_console_socket(opts.console_socket, opts.detach)
    relay = None

    def open_relay() -> int:
        # called by create only when the config asks for a terminal: we relay it ourselves
        nonlocal relay
        from ocirt.console import Relay

        relay = Relay()
        return relay.their_fd

    console = opts.console_socket
    if not opts.detach and console is None:
        console = open_relay
    try:
        container = Container.create(g.root, cid, opts.bundle, pid_file=opts.pid_file,
                                     console_socket=console, no_pivot=opts.no_pivot,
                                     preserve_fds=opts.preserve_fds,
                                     no_new_keyring=opts.no_new_keyring)
        if not opts.detach and not _has_pid_namespace(container.saved.get("config") or {}):
            from ocirt import native

            # the init is our child already; without a pid namespace the processes it
            # leaves behind are orphaned to the nearest subreaper: be it, and reap them
            # (as runc does)
            native.set_child_subreaper()
        try:
            if relay is not None:
                relay.receive()
            container.start()
        except BaseException:
            container.delete(force=True)
            raise
        if opts.detach:
            return 0
        status = wait_foreground(container.pid, relay)
    finally:
        if relay is not None:
            relay.close()
    if not opts.keep:
        container.delete(force=True)
    return status


def check_console_socket(console_socket: str | None, detach: bool,
                         terminal: bool | None = None) -> None:
    """runc's checkTerminal: a console socket only for a detached terminal (terminal None:
    not known yet, create checks it)."""
    from ocirt.cli.flags import UsageError

    if console_socket is not None and (not detach or terminal is False):
        raise UsageError("cannot use console socket if runc will not detach or allocate tty")
    if terminal and detach and console_socket is None:
        raise UsageError("cannot allocate tty if runc will detach without setting console "
                         "socket")


def _has_pid_namespace(cfg: dict) -> bool:
    return any(ns.get("type") == "pid" for ns in (cfg.get("linux") or {}).get("namespaces") or [])


def wait_foreground(pid: int, relay: Any = None) -> int:
    """Forward signals to pid until it exits; reap every other child meanwhile. With a
    terminal relay, copy the terminal meanwhile (SIGWINCH resizes the pty instead).
    Returns the shell-style status: the exit code, or 128+signal."""
    import _signal as signal
    import os

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass

    def resize(_signum: int, _frame: object) -> None:
        relay.resize()

    for name in FORWARDED:
        signal.signal(getattr(signal, name), forward)
    if relay is not None:
        signal.signal(signal.SIGWINCH, resize)
        pfd = os.pidfd_open(pid)
        try:
            relay.make_raw()
            relay.resize()
            relay.copy(pfd)
        finally:
            relay.restore()
            os.close(pfd)
    while True:
        try:
            child, status = os.waitpid(-1, 0)
        except ChildProcessError:
            return 255
        if child == pid:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else \
                128 + os.WTERMSIG(status)
