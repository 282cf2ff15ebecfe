"""ocirt ps [--format table|json] ID [ps options]: the container's processes (host pids).

json prints an array of pids; table runs ps(1) (default options -ef) and keeps the
header and the lines of the container's processes, like runc.
"""

from __future__ import annotations

import sys

from ocirt.cli import Globals
from ocirt.cli.flags import Flag, UsageError, Values

SYNOPSIS = "[command options] <container-id> [ps options]"
FLAGS = [Flag(("format", "f"), default="table", help="table or json"),
         Flag(("help", "h"), "bool")]
INTERSPERSED = False


def run(g: Globals, opts: Values, args: list[str]) -> int:
    from ocirt.container import Container

    if not args:
        raise UsageError('"ps" requires a minimum of 1 argument')
    cid, ps_args = args[0], args[1:]
    if opts.format not in ("table", "json"):
        raise UsageError(f"invalid format option: {opts.format}")
    pids = Container.load(g.root, cid).processes()
    if opts.format == "json":
        from ocirt import jsonio

        sys.stdout.write(jsonio.dumps(pids) + "\n")
        return 0
    import subprocess

    out = subprocess.run(["ps", *(ps_args or ["-ef"])], capture_output=True, text=True)
    if out.returncode != 0:
        raise UsageError(f"ps: {out.stderr.strip()}")
    lines = out.stdout.splitlines()
    if not lines:
        return 0
    header = lines[0].split()
    if "PID" not in header:
        raise UsageError("ps: no PID column in its output")
    col = header.index("PID")
    keep = set(pids)
    sys.stdout.write(lines[0] + "\n")
    for line in lines[1:]:
        fields = line.split()
        if len(fields) > col and fields[col].isdigit() and int(fields[col]) in keep:
            sys.stdout.write(line + "\n")
    return 0
