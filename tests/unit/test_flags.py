"""The command line accepts what engines send runc (urfave/cli v1 + Go flag shapes)."""

from __future__ import annotations

import pytest

from ocirt.cli.flags import Flag, UsageError, parse

FLAGS = [Flag(("bundle", "b"), default="."), Flag(("detach", "d"), "bool"),
         Flag(("preserve-fds",), "int", default=0), Flag(("env", "e"), "list")]


@pytest.mark.parametrize("argv", [
    ["--bundle", "/b", "id"], ["--bundle=/b", "id"], ["-bundle", "/b", "id"],
    ["-b", "/b", "id"], ["id", "--bundle", "/b"], ["-b=/b", "id"],
])
def test_value_flag_shapes(argv: list[str]) -> None:
    values, pos = parse(FLAGS, argv)
    assert values.bundle == "/b" and pos == ["id"]


def test_bool_forms() -> None:
    assert parse(FLAGS, ["-d", "x"])[0].detach is True
    assert parse(FLAGS, ["--detach=false", "x"])[0].detach is False
    with pytest.raises(UsageError):
        parse(FLAGS, ["--detach=maybe"])


def test_defaults_int_and_list() -> None:
    values, _ = parse(FLAGS, ["--preserve-fds", "2", "-e", "A=1", "--env=B=2"])
    assert values.preserve_fds == 2 and values.env == ["A=1", "B=2"]
    assert parse(FLAGS, [])[0].bundle == "."


def test_not_interspersed_stops_at_first_positional() -> None:
    values, pos = parse(FLAGS, ["-d", "id", "sh", "-c", "--bundle"], interspersed=False)
    assert values.detach and pos == ["id", "sh", "-c", "--bundle"]


def test_double_dash_ends_flags() -> None:
    assert parse(FLAGS, ["--", "-d"])[1] == ["-d"]


@pytest.mark.parametrize("argv,msg", [
    (["--nope"], "flag provided but not defined: -nope"),
    (["--bundle"], "flag needs an argument: -bundle"),
    (["--preserve-fds", "x"], 'invalid value "x" for flag -preserve-fds'),
])
def test_errors_are_runc_worded(argv: list[str], msg: str) -> None:
    with pytest.raises(UsageError, match=msg):
        parse(FLAGS, argv)
