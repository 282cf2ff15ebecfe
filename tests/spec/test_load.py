"""load(): reading <bundle>/config.json and reporting failures as one-line ConfigErrors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ocirt.errors import ConfigError
from ocirt.spec import load
from ocirt.spec.defaults import default_spec


def _bundle(tmp_path: Path, text: str | bytes) -> str:
    p = tmp_path / "config.json"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    return str(tmp_path)


def _err(bundle: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load(bundle)
    msg = str(info.value)
    assert "\n" not in msg
    return info.value


def test_loads_and_returns_the_dict(tmp_path: Path) -> None:
    cfg = default_spec()
    assert load(_bundle(tmp_path, json.dumps(cfg))) == cfg


def test_missing_bundle_names_it(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope")
    e = _err(missing)
    assert str(e) == f"config.json: open {missing}: no such file or directory"


def test_missing_config_names_it(tmp_path: Path) -> None:
    e = _err(str(tmp_path))
    assert str(e) == (f"config.json: open {os.path.join(str(tmp_path), 'config.json')}: "
                      "no such file or directory")


def test_config_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "config.json").mkdir()
    assert "is a directory" in str(_err(str(tmp_path)))


def test_invalid_json_gives_line_and_column(tmp_path: Path) -> None:
    e = _err(_bundle(tmp_path, '{\n  "ociVersion": "1.0.0",\n  ]\n}'))
    assert e.field == ""
    assert "line 3 column 3" in str(e)


@pytest.mark.parametrize("text", [b"", b"\xff\xfe\x00garbage", b'{"a": NaN}',
                                  b'{"a": -Infinity}', b"[" * 100_000])
def test_unparsable_is_one_config_error(tmp_path: Path, text: bytes) -> None:
    assert _err(_bundle(tmp_path, text)).field == ""


def test_valid_json_but_not_an_object(tmp_path: Path) -> None:
    assert "object" in str(_err(_bundle(tmp_path, "[]")))


def test_load_validates(tmp_path: Path) -> None:
    cfg = default_spec()
    cfg["process"]["args"] = []
    e = _err(_bundle(tmp_path, json.dumps(cfg)))
    assert str(e) == "config.json: process.args: must not be empty"
