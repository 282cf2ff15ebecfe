"""ocirt.jsonio agrees with the json module on every document it accepts."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ocirt import jsonio

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False,
                                                          allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@given(values)
def test_round_trip_matches_json(value: object) -> None:
    assert jsonio.loads(json.dumps(value)) == json.loads(json.dumps(value))
    assert json.loads(jsonio.dumps(value)) == json.loads(json.dumps(value))
    assert jsonio.dumps_pretty(value) == json.dumps(value, indent=2, ensure_ascii=False)


def test_whitespace_bom_and_bytes() -> None:
    assert jsonio.loads(b'\xef\xbb\xbf {"a": [1, 2.5, "x"]}\n') == {"a": [1, 2.5, "x"]}


@pytest.mark.parametrize("bad", ["", "{", '{"a":1} x', "NaN", "[1,]", "{'a': 1}"])
def test_errors_are_json_decode_errors(bad: str) -> None:
    with pytest.raises(jsonio.DecodeError) as e:
        jsonio.loads(bad)
    assert e.value.lineno == 1 and e.value.msg
