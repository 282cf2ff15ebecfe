"""ocirt spec [--bundle DIR] [--rootless]"""

from __future__ import annotations

from ocirt.cli import Globals
from ocirt.cli.flags import Flag, Values

SYNOPSIS = "[command options]"
FLAGS = [Flag(("bundle", "b"), default="", help="directory to write config.json in"),
         Flag(("rootless",), "bool", help="a config for an unprivileged user"),
         Flag(("help", "h"), "bool")]


def run(g: Globals, opts: Values, args: list[str]) -> int:
    import json
    import os

    from ocirt.errors import OcirtError
    from ocirt.spec.defaults import default_spec

    target = os.path.join(opts.bundle or ".", "config.json")
    if opts.bundle and not os.path.isdir(opts.bundle):
        raise OcirtError(f"chdir {opts.bundle}: no such file or directory")
    if os.path.exists(target):
        raise OcirtError("File config.json exists. Remove it first.")
    with open(target, "w") as f:
        json.dump(default_spec(rootless=opts.rootless), f, indent="\t")
    return 0
