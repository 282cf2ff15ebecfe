"""Building blocks for the hand-written config validator.

A check is a function ``(value, path) -> None`` that raises ConfigError naming ``path``.
Checks are plain closures rather than a schema interpreter because `ocirt create` runs
them on every container start: each node costs one call and a type() comparison.
"""

from __future__ import annotations

from ocirt.errors import ConfigError

# typing costs milliseconds to import and nothing here needs it at run time
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any

    Check = Callable[[Any, str], None]
    Rule = Callable[[dict, str], None]

_KINDS = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
          float: "number", type(None): "null"}


def kind(v: Any) -> str:
    """The JSON name of a decoded value's type, for messages."""
    return _KINDS.get(type(v), type(v).__name__)


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def fail(path: str, problem: str) -> ConfigError:
    return ConfigError(path, problem)


def string(v: Any, path: str) -> None:
    if type(v) is not str:
        raise fail(path, f"must be a string, got {kind(v)}")


def boolean(v: Any, path: str) -> None:
    if type(v) is not bool:
        raise fail(path, f"must be a boolean, got {kind(v)}")


def any_object(v: Any, path: str) -> None:
    if type(v) is not dict:
        raise fail(path, f"must be an object, got {kind(v)}")


def integer(lo: int, hi: int, name: str) -> Check:
    """An integer in [lo, hi]. JSON 1.0 decodes to a float and is refused, as Go's decoder
    refuses it for integer fields; bool is refused although Python counts it as an int."""
    def check(v: Any, path: str) -> None:
        if type(v) is not int:
            raise fail(path, f"must be an integer ({name}), got {kind(v)}")
        if v < lo or v > hi:
            raise fail(path, f"{v} is out of range for {name} [{lo}, {hi}]")
    return check


INT32 = integer(-(1 << 31), (1 << 31) - 1, "int32")
INT64 = integer(-(1 << 63), (1 << 63) - 1, "int64")
UINT16 = integer(0, (1 << 16) - 1, "uint16")
UINT32 = integer(0, (1 << 32) - 1, "uint32")
UINT64 = integer(0, (1 << 64) - 1, "uint64")


def enum(values: Iterable[str]) -> Check:
    allowed = frozenset(values)
    listing = ", ".join(sorted(allowed))

    def check(v: Any, path: str) -> None:
        if type(v) is not str:
            raise fail(path, f"must be a string, got {kind(v)}")
        if v not in allowed:
            raise fail(path, f"unknown value {v!r} (want one of {listing})")
    return check


def abs_path(v: Any, path: str) -> None:
    if type(v) is not str:
        raise fail(path, f"must be a string, got {kind(v)}")
    if not v.startswith("/"):
        raise fail(path, f"must be an absolute path, got {v!r}")


def all_of(*checks: Check) -> Check:
    def check(v: Any, path: str) -> None:
        for c in checks:
            c(v, path)
    return check


def array(item: Check, *, non_empty: bool = False) -> Check:
    def check(v: Any, path: str) -> None:
        if type(v) is not list:
            raise fail(path, f"must be an array, got {kind(v)}")
        if non_empty and not v:
            raise fail(path, "must not be empty")
        for i, x in enumerate(v):
            item(x, f"{path}[{i}]")
    return check


def _strings(v: Any, path: str) -> None:
    if type(v) is not list:
        raise fail(path, f"must be an array, got {kind(v)}")
    for i, x in enumerate(v):
        if type(x) is not str:
            raise fail(f"{path}[{i}]", f"must be a string, got {kind(x)}")


# the commonest shape, so it gets a loop without a call per item
strings: Check = _strings


def mapping(value: Check, key: Check | None = None) -> Check:
    """A JSON object used as a map with free-form keys (annotations, sysctl, ...)."""
    def check(v: Any, path: str) -> None:
        if type(v) is not dict:
            raise fail(path, f"must be an object, got {kind(v)}")
        for k, x in v.items():
            if key is not None:
                key(k, join(path, k))
            value(x, join(path, k))
    return check


def non_empty_key(k: str, path: str) -> None:
    if not k:
        raise fail(path, "keys must not be empty")


def obj(fields: Mapping[str, Check], required: Iterable[str] = (),
        rules: Iterable[Rule] = ()) -> Check:
    """An object with known fields. Fields not listed are ignored: config.md
    "Extensibility" forbids erroring on unknown properties. ``rules`` run after every
    field has passed, for constraints that span fields."""
    fields = dict(fields)
    req = tuple(required)
    rules = tuple(rules)

    def check(v: Any, path: str) -> None:
        if type(v) is not dict:
            raise fail(path, f"must be an object, got {kind(v)}")
        for k in req:
            if k not in v:
                raise fail(join(path, k), "is required")
        for k, x in v.items():
            c = fields.get(k)
            if c is not None:
                c(x, join(path, k))
        for r in rules:
            r(v, path)
    return check


def cpu_list(v: Any, path: str) -> None:
    """A kernel cpu/node list such as "0-3,7"; empty means unset."""
    if type(v) is not str:
        raise fail(path, f"must be a string, got {kind(v)}")
    if not v:
        return
    for part in v.split(","):
        lo, dash, hi = part.strip().partition("-")
        if not _digits(lo) or (dash and (not _digits(hi) or int(hi) < int(lo))):
            raise fail(path, f"{v!r} is not a list like \"0-3,7\"")


def _digits(s: str) -> bool:
    return s.isascii() and s.isdigit()
