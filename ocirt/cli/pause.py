"""ocirt pause ID: freeze every process of the container (v1 freezer, v2 cgroup.freeze)."""

from __future__ import annotations

from ocirt.cli import Globals, need_id
from ocirt.cli.flags import Flag, Values

SYNOPSIS = "<container-id>"
FLAGS = [Flag(("help", "h"), "bool")]


def run(g: Globals, opts: Values, args: list[str]) -> int:
    from ocirt.container import Container

    Container.load(g.root, need_id(args, "pause")).pause()
    return 0
