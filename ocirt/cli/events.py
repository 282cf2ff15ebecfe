"""ocirt events [--stats] [--interval 5s] ID: runc's event stream on stdout.

`--stats` prints one {"type":"stats","id":..,"data":{..}} object and exits; otherwise a
stats object every interval plus {"type":"oom","id":..} when the kernel OOM-kills in the
container, until the container stops.
"""

from __future__ import annotations

import sys
import time

from ocirt.cli import Globals, need_id
from ocirt.cli.flags import Flag, UsageError, Values

SYNOPSIS = "[command options] <container-id>"
FLAGS = [Flag(("interval",), default="5s", help="stats collection interval (Go duration)"),
         Flag(("stats",), "bool", help="print the container's stats once and exit"),
         Flag(("help", "h"), "bool")]

_UNITS = (("ms", 1e-3), ("us", 1e-6), ("µs", 1e-6), ("ns", 1e-9), ("h", 3600.0),
          ("m", 60.0), ("s", 1.0))


def parse_duration(text: str) -> float:
    """A Go duration: 5s, 100ms, 1m30s."""
    rest, total = text, 0.0
    if not rest:
        raise UsageError(f"invalid duration {text!r}")
    while rest:
        i = 0
        while i < len(rest) and (rest[i].isdigit() or rest[i] == "."):
            i += 1
        if i == 0:
            raise UsageError(f"invalid duration {text!r}")
        num = float(rest[:i])
        rest = rest[i:]
        for unit, scale in _UNITS:
            if rest.startswith(unit):
                total += num * scale
                rest = rest[len(unit):]
                break
        else:
            raise UsageError(f"invalid duration {text!r}")
    if total <= 0:
        raise UsageError("duration interval must be greater than 0")
    return total


def _emit(obj: dict) -> None:
    from ocirt import jsonio

    sys.stdout.write(jsonio.dumps(obj) + "\n")
    sys.stdout.flush()


def run(g: Globals, opts: Values, args: list[str]) -> int:
    from ocirt.container import CREATED, PAUSED, RUNNING, STOPPED, Container
    from ocirt.errors import ContainerError

    cid = need_id(args, "events")
    interval = parse_duration(opts.interval)
    c = Container.load(g.root, cid)
    if c.status() == STOPPED:
        raise ContainerError(f"container with id {cid} is not running")
    if opts.stats:
        _emit({"type": "stats", "id": cid, "data": c.stats()})
        return 0
    cg = c.cgroup()
    ooms = cg.oom_kills()
    next_stats = 0.0
    while c.status() in (CREATED, RUNNING, PAUSED):
        now = time.monotonic()
        count = cg.oom_kills()
        if count > ooms:
            ooms = count
            _emit({"type": "oom", "id": cid})
        if now >= next_stats:
            _emit({"type": "stats", "id": cid, "data": c.stats()})
            next_stats = now + interval
        time.sleep(min(0.1, interval))
    return 0
