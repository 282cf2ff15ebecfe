"""ociVersion: SemVer 2.0.0 syntax, and which versions this runtime accepts."""

from __future__ import annotations

import re  # already loaded by json, so free
from typing import Any

from ocirt import OCI_VERSION
from ocirt.spec.checks import fail, kind

_NUM = r"(?:0|[1-9][0-9]*)"
_PRE_ID = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
SEMVER = re.compile(
    rf"({_NUM})\.({_NUM})\.({_NUM})"
    rf"(?:-{_PRE_ID}(?:\.{_PRE_ID})*)?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?",
    re.ASCII,
)

SUPPORTED_MAJOR = 1
SUPPORTED_MINOR = int(OCI_VERSION.split(".")[1])


def parse(v: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a SemVer string, or None if it is not SemVer."""
    m = SEMVER.fullmatch(v)
    return (int(m[1]), int(m[2]), int(m[3])) if m else None


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
