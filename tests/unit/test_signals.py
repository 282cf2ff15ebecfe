"""`kill` takes signals as runc does: numbers, names with or without SIG, any case."""

from __future__ import annotations

import signal

import pytest

from ocirt.cli.flags import UsageError
from ocirt.cli.kill import parse_signal


@pytest.mark.parametrize("text,num", [
    ("9", 9), ("KILL", 9), ("SIGKILL", 9), ("kill", 9), ("sigterm", 15), ("TERM", 15),
    ("USR1", signal.SIGUSR1), ("RTMIN+2", signal.SIGRTMIN + 2), ("SIGRTMAX-1", signal.SIGRTMAX - 1),
])
def test_parse(text: str, num: int) -> None:
    assert parse_signal(text) == num


@pytest.mark.parametrize("text", ["0", "999", "NOPE", "RTMIN+99", ""])
def test_reject(text: str) -> None:
    with pytest.raises(UsageError):
        parse_signal(text)
