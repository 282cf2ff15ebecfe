"""config-linux.md "Cgroups Path": cleaned so it never climbs out; default documented."""

from __future__ import annotations

import pytest

from ocirt.cgroups import resolve_path
from ocirt.errors import ConfigError


@pytest.mark.parametrize("given,expected", [
    (None, "/ocirt/abc"), ("", "/ocirt/abc"), ("/docker/abc", "/docker/abc"),
    ("/a/../../../etc", "/etc"), ("rel/x", "rel/x"), ("../../x", "x"), ("/a//b/./c", "/a/b/c"),
])
def test_resolve(given: str | None, expected: str) -> None:
    assert resolve_path(given, "abc") == expected


def test_systemd_slice_syntax_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="systemd"):
        resolve_path("system.slice:docker:abc", "abc")
