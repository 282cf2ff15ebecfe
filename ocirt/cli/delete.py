"""ocirt delete [--force] ID"""

from __future__ import annotations

from ocirt.cli import Globals, need_id
from ocirt.cli.flags import Flag, Values

SYNOPSIS = "[command options] <container-id>"
FLAGS = [Flag(("force", "f"), "bool", help="kill the container first if it runs"),
         Flag(("help", "h"), "bool")]


def run(g: Globals, opts: Values, args: list[str]) -> int:
    from ocirt.container import Container
    from ocirt.errors import ContainerError

    cid = need_id(args, "delete")
    try:
        container = Container.load(g.root, cid)
    except ContainerError:
        if opts.force:
            from ocirt.container.store import check_id

            check_id(cid)
            return 0  # like runc: forcing the delete of what is not there succeeds
        raise
    container.delete(force=opts.force)
    return 0
