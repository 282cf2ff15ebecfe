"""JSON for the command path, straight from the C accelerator `_json`.

`import json` drags in `re` (and with it `enum`): several milliseconds on every ocirt call,
which engines make for every container. The C scanner and encoder need none of that; the
full `json` module is imported only to word an error.
"""

from __future__ import annotations

import _json

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_WS = " \t\n\r"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


class _Context:
    # the attributes _json.make_scanner reads from a decoder
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_no_constants)
    memo: dict[str, Any] = {}


_scan = _json.make_scanner(_Context())
_encode = _json.make_encoder(None, None, _json.encode_basestring, None, ":", ",", False,
                             False, False)


class DecodeError(ValueError):
    """Stands for json.JSONDecodeError without importing json to name it."""

    msg: str
    lineno: int
    colno: int


def loads(text: str | bytes) -> Any:
    """json.loads for RFC 8259 documents (no NaN/Infinity); errors as json.JSONDecodeError."""
    if isinstance(text, bytes):
        text = text.decode("utf-8-sig" if text.startswith(b"\xef\xbb\xbf") else "utf-8")
    idx = 0
    n = len(text)
    while idx < n and text[idx] in _WS:
        idx += 1
    try:
        obj, end = _scan(text, idx)
    except (StopIteration, ValueError):
        _fail(text)
    while end < n and text[end] in _WS:
        end += 1
    if end != n:
        _fail(text)
    return obj


def _fail(text: str) -> None:
    """Raise the json module's worded error (line, column) for a document we refused."""
    import json

    def reject(name: str) -> None:
        raise json.JSONDecodeError(f"{name} is not valid JSON", text, text.find(name))

    try:
        json.loads(text, parse_constant=reject)
    except json.JSONDecodeError as e:
        err = DecodeError(str(e))
        err.msg, err.lineno, err.colno = e.msg, e.lineno, e.colno
        raise err from None
    raise DecodeError("invalid JSON")  # pragma: no cover: _json and json agree


def load_file(path: str) -> Any:
    with open(path, "rb") as f:
        return loads(f.read())


def dumps(obj: Any) -> str:
    """Compact JSON (non-ASCII kept as UTF-8)."""
    return "".join(_encode(obj, 0))


def dumps_pretty(obj: Any, indent: str = "  ", level: int = 0) -> str:
    """Indented like `json.dumps(obj, indent=2, ensure_ascii=False)`."""
    if isinstance(obj, dict) and obj:
        inner = indent * (level + 1)
        items = [f"{inner}{dumps(str(k))}: {dumps_pretty(v, indent, level + 1)}"
                 for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent * level + "}"
    if isinstance(obj, list) and obj:
        inner = indent * (level + 1)
        items = [f"{inner}{dumps_pretty(v, indent, level + 1)}" for v in obj]
        return "[\n" + ",\n".join(items) + "\n" + indent * level + "]"
    return dumps(obj)
