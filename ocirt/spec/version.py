"""ociVersion: SemVer 2.0.0 syntax, and which versions this runtime accepts."""

from __future__ import annotations

from ocirt import OCI_VERSION
from ocirt.spec.checks import fail, kind

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

# Parsed by hand: compiling the equivalent regular expression costs about a millisecond
# of every `ocirt create`.
_ALNUM = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-")
_DIGITS = frozenset("0123456789")


def _number(s: str) -> bool:
    return bool(s) and _DIGITS.issuperset(s) and (s == "0" or s[0] != "0")


def _identifiers(s: str, numeric_rule: bool) -> bool:
    for ident in s.split("."):
        if not ident or not _ALNUM.issuperset(ident):
            return False
        # a purely numeric pre-release identifier must not have leading zeros
        if numeric_rule and _DIGITS.issuperset(ident) and not _number(ident):
            return False
    return True


SUPPORTED_MAJOR = 1
SUPPORTED_MINOR = int(OCI_VERSION.split(".")[1])


def parse(v: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a SemVer 2.0.0 string, or None if it is not SemVer."""
    core, plus, build = v.partition("+")
    if plus and not _identifiers(build, numeric_rule=False):
        return None
    core, dash, pre = core.partition("-")
    if dash and not _identifiers(pre, numeric_rule=True):
        return None
    parts = core.split(".")
    if len(parts) != 3 or not all(_number(p) for p in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def check_oci_version(v: Any, path: str) -> None:
    # config.md "Specification version": SemVer; compatibility holds within a major
    # version, and a config written for a later minor may use fields we do not know.
    if type(v) is not str:
        raise fail(path, f"must be a string, got {kind(v)}")
    ver = parse(v)
    if ver is None:
        raise fail(path, f"{v!r} is not a SemVer 2.0.0 version")
    if ver[0] != SUPPORTED_MAJOR or ver[1] > SUPPORTED_MINOR:
        raise fail(path, f"version {v} is not supported (want 1.0.0 up to {OCI_VERSION[:3]}.x)")
