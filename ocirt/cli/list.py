"""ocirt list [--format table|json] [--quiet]"""

from __future__ import annotations

from ocirt.cli import Globals
from ocirt.cli.flags import Flag, UsageError, Values

SYNOPSIS = "[command options]"
FLAGS = [Flag(("format", "f"), default="table", help="table or json"),
         Flag(("quiet", "q"), "bool", help="print only the ids"),
         Flag(("help", "h"), "bool")]


def run(g: Globals, opts: Values, args: list[str]) -> int:
    from ocirt import jsonio
    from ocirt.container import Container

    if opts.format not in ("table", "json"):
        raise UsageError(f"invalid format option: {opts.format}")
    states = [c.state() for c in Container.list(g.root)]
    if opts.quiet:
        for s in states:
            print(s["id"])
    elif opts.format == "json":
        # runc (Go) prints a nil slice as null: keep byte-compatible output
        print(jsonio.dumps(states) if states else "null")
    else:
        rows = [("ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER")]
        rows += [(s["id"], str(s["pid"]), s["status"], s["bundle"], s["created"], s["owner"])
                 for s in states]
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            print("   ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip())
    return 0
