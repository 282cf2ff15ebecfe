"""ocirt state ID"""

from __future__ import annotations

from ocirt.cli import Globals, need_id
from ocirt.cli.flags import Flag, Values

SYNOPSIS = "<container-id>"
FLAGS = [Flag(("help", "h"), "bool")]


def run(g: Globals, opts: Values, args: list[str]) -> int:
    from ocirt import jsonio
    from ocirt.container import Container

    print(jsonio.dumps_pretty(Container.load(g.root, need_id(args, "state")).state()))
    return 0
