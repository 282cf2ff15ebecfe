"""ociVersion parsing (config.md "Specification version": SemVer 2.0.0)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocirt.spec.version import parse
from tests.spec.helpers import schema_validator


@pytest.mark.parametrize(("text", "want"), [
    ("1.0.0", (1, 0, 0)), ("1.0.2-dev", (1, 0, 2)), ("1.3.0-rc.1+build.01", (1, 3, 0)),
    ("10.20.30", (10, 20, 30)), ("1.0.0-0.3.7", (1, 0, 0)), ("1.0.0-x-y--z", (1, 0, 0)),
    ("1.0", None), ("1.0.0.0", None), ("v1.0.0", None), ("01.0.0", None), ("1.0.0-", None),
    ("1.0.0-01", None), ("1.0.0+", None), ("1.0.0-a..b", None), ("1.0.0-é", None),
    ("1.0.0\n", None), (" 1.0.0", None), ("1.٣.0", None),
])
def test_parse(text: str, want: tuple[int, int, int] | None) -> None:
    assert parse(text) == want


def _schema_accepts(text: str) -> bool:
    semver = schema_validator("config").schema["$defs"]["semver"]
    return bool(re.search(semver["pattern"], text)) and "\n" not in text


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="0123.-+aZ\né", max_size=14))
def test_parse_agrees_with_the_schema_pattern(text: str) -> None:
    assert (parse(text) is not None) == _schema_accepts(text)
