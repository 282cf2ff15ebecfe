"""Command-line flags parsed the way runc's (urfave/cli v1 over Go's flag package) does.

Engines build runc command lines by hand, so the accepted shapes matter more than help text:
`-flag`, `--flag`, `--flag=value`, `--flag value`, bool flags as `--flag` or `--flag=false`,
flags after positional arguments (urfave reorders them) except for commands that stop at
the first positional (exec, whose arguments belong to the process), and `--` to end flags.
"""

from __future__ import annotations

from ocirt.errors import OcirtError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class UsageError(OcirtError):
    exit_code = 1


class Flag:
    """One flag. A plain class: dataclasses cost milliseconds of import on every command."""

    __slots__ = ("names", "kind", "default", "help", "dest")

    def __init__(self, names: tuple[str, ...], kind: str = "str", default: Any = None,
                 help: str = "") -> None:
        self.names = names  # without dashes; the first gives the attribute name
        self.kind = kind  # "bool", "str", "int" or "list" (repeatable string)
        self.default = default
        self.help = help
        self.dest = names[0].replace("-", "_")


class Values:
    """Parsed flag values as attributes (``values.pid_file``)."""

    def __init__(self, flags: list[Flag]) -> None:
        for f in flags:
            setattr(self, f.dest, [] if f.kind == "list" else (False if f.kind == "bool" and
                                                              f.default is None else f.default))
        self.set: set[str] = set()

    def __repr__(self) -> str:
        return f"Values({vars(self)})"


_TRUE = {"1", "t", "T", "true", "TRUE", "True"}
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


def parse(flags: list[Flag], argv: list[str], *, interspersed: bool = True
          ) -> tuple[Values, list[str]]:
    """Parse argv against flags; returns the values and the positional arguments."""
    by_name = {n: f for f in flags for n in f.names}
    values = Values(flags)
    positional: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            positional.extend(argv[i:])
            break
        if not arg.startswith("-") or arg == "-":
            positional.append(arg)
            if not interspersed:
                positional.extend(argv[i:])
                break
            continue
        name = arg.lstrip("-")
        inline: str | None = None
        if "=" in name:
            name, inline = name.split("=", 1)
        flag = by_name.get(name)
        if flag is None:
            raise UsageError(f"flag provided but not defined: -{name}")
        if flag.kind == "bool":
            if inline is None or inline in _TRUE:
                setattr(values, flag.dest, True)
            elif inline in _FALSE:
                setattr(values, flag.dest, False)
            else:
                raise UsageError(f'invalid boolean value "{inline}" for -{name}')
            values.set.add(flag.dest)
            continue
        if inline is None:
            if i >= len(argv):
                raise UsageError(f"flag needs an argument: -{name}")
            inline = argv[i]
            i += 1
        value: Any = inline
        if flag.kind == "int":
            try:
                value = int(inline, 0)
            except ValueError:
                raise UsageError(f'invalid value "{inline}" for flag -{name}: parse error'
                                 ) from None
        if flag.kind == "list":
            getattr(values, flag.dest).append(value)
        else:
            setattr(values, flag.dest, value)
        values.set.add(flag.dest)
    return values, positional


def usage(command: str, synopsis: str, flags: list[Flag]) -> str:
    lines = [f"usage: ocirt {command} {synopsis}".rstrip(), ""]
    for f in flags:
        names = ", ".join(("-" if len(n) == 1 else "--") + n for n in f.names)
        arg = "" if f.kind == "bool" else " value"
        lines.append(f"   {names}{arg}\t{f.help}")
    return "\n".join(lines)
