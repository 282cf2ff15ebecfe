"""ocirt create [options] ID"""

from __future__ import annotations

from ocirt.cli import Globals, need_id
from ocirt.cli.flags import Flag, Values

SYNOPSIS = "[command options] <container-id>"
FLAGS = [
    Flag(("bundle", "b"), default=".", help="path to the bundle directory"),
    Flag(("console-socket",), help="unix socket that receives the pty master"),
    Flag(("pid-file",), help="file to write the init's host pid to"),
    Flag(("no-pivot",), "bool", help="MS_MOVE + chroot instead of pivot_root"),
    Flag(("no-new-keyring",), "bool", help="keep the caller's session keyring"),
    Flag(("preserve-fds",), "int", default=0, help="extra fds (from 3) to pass on"),
    Flag(("help", "h"), "bool"),
]


def run(g: Globals, opts: Values, args: list[str]) -> int:
    from ocirt.container import Container

    Container.create(g.root, need_id(args, "create"), opts.bundle, pid_file=opts.pid_file,
                     console_socket=opts.console_socket, no_pivot=opts.no_pivot,
                     preserve_fds=opts.preserve_fds, no_new_keyring=opts.no_new_keyring)
    return 0
