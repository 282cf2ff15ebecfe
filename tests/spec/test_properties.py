"""Property tests: random damage to valid configs is caught, reported at the damaged
field, and never escapes as anything but ConfigError."""

from __future__ import annotations

import copy
import re
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocirt.errors import ConfigError
from ocirt.spec import validate
from ocirt.spec.defaults import default_spec
from tests.spec.helpers import full_config, schema_errors

Steps = tuple[str | int, ...]

BASES = {"full": full_config(), "default": default_spec(False), "rootless": default_spec(True)}

# Fields whose absence is always an error, as patterns over validator paths
# (config.md / config-linux.md REQUIRED fields; [] stands for any index, <> any map key).
REQUIRED = [
    "ociVersion", "root", "root.path",
    "mounts[].destination",
    "process.cwd", "process.args", "process.user.uid", "process.user.gid",
    "process.consoleSize.height", "process.consoleSize.width",
    "process.rlimits[].type", "process.rlimits[].soft", "process.rlimits[].hard",
    "process.scheduler.policy", "process.ioPriority.class", "process.ioPriority.priority",
    "hooks.<>[].path",
    "<>.<>[].containerID", "<>.<>[].hostID", "<>.<>[].size",
    "mounts[].<>[].containerID", "mounts[].<>[].hostID", "mounts[].<>[].size",
    "linux.namespaces[].type",
    "linux.devices[].type", "linux.devices[].path",
    "linux.resources.devices[].allow",
    "linux.resources.blockIO.<>[].major", "linux.resources.blockIO.<>[].minor",
    "linux.resources.blockIO.<>[].rate",
    "linux.resources.hugepageLimits[].pageSize", "linux.resources.hugepageLimits[].limit",
    "linux.resources.network.priorities[].name",
    "linux.resources.network.priorities[].priority",
    "linux.memoryPolicy.mode",
    "linux.seccomp.defaultAction", "linux.seccomp.syscalls[].names",
    "linux.seccomp.syscalls[].action", "linux.seccomp.syscalls[].args[].index",
    "linux.seccomp.syscalls[].args[].value", "linux.seccomp.syscalls[].args[].op",
    "linux.personality.domain",
]
_REQUIRED_RE = re.compile("|".join(
    re.escape(p).replace(r"\[\]", r"\[\d+\]").replace("<>", r"[A-Za-z]+") for p in REQUIRED))


def render(steps: Steps) -> str:
    """Steps -> the validator's path notation."""
    out = ""
    for s in steps:
        out = f"{out}[{s}]" if isinstance(s, int) else (f"{out}.{s}" if out else s)
    return out


def nodes(doc: Any, prefix: Steps = ()) -> list[Steps]:
    found: list[Steps] = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) \
        if isinstance(doc, list) else ()
    for k, v in items:
        found.append((*prefix, k))
        found.extend(nodes(v, (*prefix, k)))
    return found


NODES = {name: nodes(cfg) for name, cfg in BASES.items()}
KEYED = {name: [n for n in ns if isinstance(n[-1], str)] for name, ns in NODES.items()}


def _get(doc: Any, steps: Steps) -> Any:
    for s in steps:
        doc = doc[s]
    return doc



WRONG = [None, True, 7, 1.5, "s", [], {}]


@st.composite
def retyped(draw: st.DrawFn) -> tuple[dict, Steps]:
    name = draw(st.sampled_from(sorted(BASES)))
    steps = draw(st.sampled_from(NODES[name]))
    cfg = copy.deepcopy(BASES[name])
    old = _get(cfg, steps)
    new = draw(st.sampled_from([w for w in WRONG if type(w) is not type(old)]))
    _get(cfg, steps[:-1])[steps[-1]] = copy.deepcopy(new)
    return cfg, steps


@st.composite
def dropped(draw: st.DrawFn) -> tuple[dict, Steps]:
    name = draw(st.sampled_from(sorted(BASES)))
    steps = draw(st.sampled_from(KEYED[name]))
    cfg = copy.deepcopy(BASES[name])
    del _get(cfg, steps[:-1])[steps[-1]]
    return cfg, steps


def _error(cfg: Any) -> ConfigError | None:
    try:
        validate(cfg)
    except ConfigError as e:
        return e
    return None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(retyped())
def test_wrong_type_is_rejected_at_its_path(case: tuple[dict, Steps]) -> None:
    cfg, steps = case
    err = _error(cfg)
    assert err is not None, f"accepted a wrong type at {render(steps)}"
    assert err.field == render(steps)
    assert schema_errors("config", cfg)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dropped())
def test_dropping_a_field(case: tuple[dict, Steps]) -> None:
    cfg, steps = case
    path = render(steps)
    err = _error(cfg)
    if _REQUIRED_RE.fullmatch(path):
        assert err is not None, f"accepted a config without {path}"
        assert err.field == path
    if err is not None:
        # a conditional requirement names the field or the object that lost it
        assert err.field == path or err.field.startswith(render(steps[:-1]))
    assert bool(schema_errors("config", cfg)) == (err is not None)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(1 << 70), 1 << 70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def anything_anywhere(draw: st.DrawFn) -> dict:
    name = draw(st.sampled_from(sorted(BASES)))
    cfg = copy.deepcopy(BASES[name])
    for _ in range(draw(st.integers(1, 3))):
        steps = draw(st.sampled_from(NODES[name]))
        try:
            _get(cfg, steps[:-1])[steps[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier replacement removed this node
    return cfg


@settings(max_examples=500, deadline=None)
@given(anything_anywhere())
def test_only_config_error_escapes(cfg: dict) -> None:
    _error(cfg)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_only_config_error_escapes_top_level(doc: Any) -> None:
    _error(doc)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(BASES)), st.text(min_size=1, max_size=10), json_values)
def test_unknown_top_level_properties_are_ignored(name: str, key: str, value: Any) -> None:
    # config.md "Extensibility"
    known = {"ociVersion", "root", "mounts", "process", "hostname", "domainname", "hooks",
             "annotations", "linux", "solaris", "windows", "vm", "zos", "freebsd"}
    if key in known:
        return
    cfg = copy.deepcopy(BASES[name])
    cfg[key] = value
    validate(cfg)
    assert not schema_errors("config", cfg)
