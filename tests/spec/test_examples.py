"""The runtime-spec's own example documents, runc's starter configs and ocirt's, against
both the hand validator and the project's JSON schemas."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from ocirt.errors import ConfigError
from ocirt.spec import load, validate
from ocirt.spec.defaults import default_spec
from tests.spec.helpers import SCHEMAS, SPEC_TESTS, schema_errors

needs_examples = pytest.mark.skipif(not SPEC_TESTS.is_dir(), reason="no runtime-spec checkout")
RUNC = shutil.which("runc") or ("/usr/sbin/runc" if Path("/usr/sbin/runc").exists() else None)


def _examples(kind: str, verdict: str) -> list[Path]:
    return sorted((SPEC_TESTS / kind / verdict).glob("*.json")) if SPEC_TESTS.is_dir() else []


@pytest.mark.parametrize("name", ["config", "state", "features"])
def test_schemas_are_valid_2020_12(name: str) -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(
        json.loads((SCHEMAS / f"{name}.schema.json").read_text()))


@needs_examples
@pytest.mark.parametrize("path", _examples("config", "good"), ids=lambda p: p.name)
def test_good_config_examples(path: Path) -> None:
    cfg = json.loads(path.read_text())
    assert not schema_errors("config", cfg)
    if cfg["ociVersion"].startswith("0."):
        # The examples predate 1.0 (spec-example.json says 0.5.0-dev). The schema checks
        # only SemVer syntax; validate() also refuses versions outside 1.0–1.3, which is
        # the whole difference here.
        with pytest.raises(ConfigError) as info:
            validate(cfg)
        assert info.value.field == "ociVersion"
        cfg["ociVersion"] = "1.0.0"
    validate(cfg)


# bad examples about other platforms: a Linux runtime ignores those sections
NOT_LINUX = {"freebsd-vnet-disable.json"}


@needs_examples
@pytest.mark.parametrize("path", [p for p in _examples("config", "bad")
                                  if p.name not in NOT_LINUX], ids=lambda p: p.name)
def test_bad_config_examples(path: Path, tmp_path: Path) -> None:
    (tmp_path / "config.json").write_bytes(path.read_bytes())
    with pytest.raises(ConfigError):
        load(str(tmp_path))
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError:
        return  # no document for a schema to judge
    assert schema_errors("config", doc)


@needs_examples
@pytest.mark.parametrize("path", [p for p in _examples("config", "bad")
                                  if p.name in NOT_LINUX], ids=lambda p: p.name)
def test_other_platform_mistakes_do_not_concern_linux(path: Path) -> None:
    """config.md: a runtime ignores the sections of platforms it does not implement."""
    validate(json.loads(path.read_text()))


@needs_examples
@pytest.mark.parametrize(("kind", "verdict", "path"),
                         [(k, v, p) for k in ("state", "features") for v in ("good", "bad")
                          for p in _examples(k, v)],
                         ids=lambda x: x.name if isinstance(x, Path) else x)
def test_state_and_features_examples(kind: str, verdict: str, path: Path) -> None:
    try:
        doc = json.loads(path.read_text())
    except json.JSONDecodeError:
        assert verdict == "bad"
        return
    assert bool(schema_errors(kind, doc)) == (verdict == "bad")


@pytest.mark.skipif(RUNC is None, reason="runc not installed")
@pytest.mark.parametrize("rootless", [False, True])
def test_runc_spec_passes(tmp_path: Path, rootless: bool) -> None:
    subprocess.run([RUNC, "spec"] + (["--rootless"] if rootless else []), cwd=tmp_path,
                   check=True)
    cfg = load(str(tmp_path))
    assert not schema_errors("config", cfg)


@pytest.mark.skipif(RUNC is None, reason="runc not installed")
def test_runc_features_match_schema() -> None:
    out = subprocess.run([RUNC, "features"], capture_output=True, check=False)
    if out.returncode:
        pytest.skip("this runc has no `features`")
    assert not schema_errors("features", json.loads(out.stdout))


@pytest.mark.parametrize("rootless", [False, True])
def test_default_spec_passes(rootless: bool) -> None:
    cfg = default_spec(rootless)
    validate(cfg)
    assert not schema_errors("config", cfg)


def test_runc_like_state_matches_schema() -> None:
    state = {"ociVersion": "1.0.2-dev", "id": "c1", "pid": 4242, "status": "running",
             "bundle": "/run/bundle", "rootfs": "/run/bundle/rootfs",
             "created": "2024-05-01T10:00:00.123456789Z", "owner": "",
             "annotations": {"a": "b"}}
    assert not schema_errors("state", state)
    assert not schema_errors("state", {**state, "status": "paused"})
    stopped = {k: v for k, v in state.items() if k != "pid"} | {"status": "stopped"}
    assert not schema_errors("state", stopped)
    # runtime.md "State": pid is REQUIRED for created and running on Linux
    assert schema_errors("state", {**stopped, "status": "created"})
    assert schema_errors("state", {**state, "bundle": "relative/bundle"})
    for key in ("ociVersion", "id", "status", "bundle"):
        assert schema_errors("state", {k: v for k, v in state.items() if k != key})


def test_features_nulls_allowed() -> None:
    # features.md: every property but the two versions may be null
    doc = {"ociVersionMin": "1.0.0", "ociVersionMax": "1.3.0", "hooks": None,
           "mountOptions": None, "linux": {"namespaces": None, "seccomp": None,
                                           "cgroup": {"v2": None}}}
    assert not schema_errors("features", doc)
    assert schema_errors("features", {**doc, "ociVersionMax": None})
    assert schema_errors("features", {**doc, "linux": {"namespaces": ["netns"]}})
