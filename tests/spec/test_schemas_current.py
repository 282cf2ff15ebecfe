"""schemas/*.json are what schemas/generate.py writes from ocirt.spec's tables."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.spec.helpers import SCHEMAS


def _generator():
    spec = importlib.util.spec_from_file_location("schema_generate", SCHEMAS / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["config.schema.json", "features.schema.json"])
def test_generated_schema_is_current(name: str) -> None:
    gen = _generator()
    assert (SCHEMAS / name).read_text() == gen.render(gen.GENERATED[name]()), \
        "run: python3 schemas/generate.py"


def test_state_schema_uses_the_same_semver() -> None:
    state = json.loads((SCHEMAS / "state.schema.json").read_text())
    semver = _generator().SEMVER
    version = state["properties"]["ociVersion"]
    assert version["pattern"] == semver["pattern"]
    assert version["not"] == semver["not"]
