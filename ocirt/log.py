"""Logging in runc's (logrus') formats, without the cost of importing `logging`.

containerd and podman pass `--log FILE --log-format json` and read error lines back, so the
line shapes are fixed: json `{"level":"error","msg":"...","time":"..."}`, text
`time="..." level=error msg="..."`.
"""

from __future__ import annotations

import os
import sys
import time

from ocirt import jsonio

_LEVELS = {"debug": 0, "info": 1, "warning": 2, "error": 3}
_path: str | None = None
_format = "text"
_min_level = _LEVELS["info"]


def configure(path: str | None, fmt: str = "text", debug: bool = False) -> None:
    global _path, _format, _min_level
    _path, _format = path, fmt
    _min_level = _LEVELS["debug" if debug else "info"]


def _timestamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e9):09d}Z"


def format_line(level: str, msg: str) -> str:
    if _format == "json":
        return jsonio.dumps({"level": level, "msg": msg, "time": _timestamp()})
    return f'time="{_timestamp()}" level={level} msg={jsonio.dumps(msg)}'


def _emit(level: str, msg: str) -> None:
    if _LEVELS[level] < _min_level:
        return
    line = format_line(level, msg) + "\n"
    if _path is None:
        sys.stderr.write(line)
        return
    # O_APPEND: the shim and conmon read this file while other runtime calls append to it
    fd = os.open(_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def debug(msg: str) -> None:
    _emit("debug", msg)


def info(msg: str) -> None:
    _emit("info", msg)


def warning(msg: str) -> None:
    _emit("warning", msg)


def error(msg: str) -> None:
    """An error goes to the log (when --log is set) and, plainly, to stderr like runc."""
    if _path is not None:
        _emit("error", msg)
    sys.stderr.write(msg + "\n")
