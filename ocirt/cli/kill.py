"""ocirt kill [--all] ID [SIGNAL]"""

from __future__ import annotations

import _signal as signal

from ocirt.cli import Globals, need_id
from ocirt.cli.flags import Flag, UsageError, Values

SYNOPSIS = "[command options] <container-id> [signal]"
FLAGS = [Flag(("all", "a"), "bool", help="signal every process in the container"),
         Flag(("help", "h"), "bool")]


def parse_signal(text: str) -> int:
    """A signal as runc accepts it: 9, KILL, SIGKILL (any case), RTMIN+3."""
    if text.isdigit():
        num = int(text)
        if 0 < num < signal.SIGRTMAX + 1:
            return num
        raise UsageError(f"unknown signal {text!r}")
    name = text.upper()
    if not name.startswith("SIG"):
        name = "SIG" + name
    for base, value in (("SIGRTMIN+", signal.SIGRTMIN), ("SIGRTMAX-", signal.SIGRTMAX)):
        if name.startswith(base) and name[len(base):].isdigit():
            num = value + int(name[len(base):]) * (1 if "+" in base else -1)
            if signal.SIGRTMIN <= num <= signal.SIGRTMAX:
                return num
    # _signal, not signal: the enum module that signal builds on costs ms per call
    value = getattr(signal, name, None) if not name.startswith("SIG_") else None
    if not isinstance(value, int):
        raise UsageError(f"unknown signal {text!r}")
    return value


def run(g: Globals, opts: Values, args: list[str]) -> int:
    from ocirt.container import Container

    cid = need_id(args, "kill", 2)
    sig = parse_signal(args[1]) if len(args) > 1 else signal.SIGTERM
    Container.load(g.root, cid).kill(sig, all_processes=opts.all)
    return 0
