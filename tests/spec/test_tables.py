"""The capability and rlimit number tables."""

from __future__ import annotations

import resource

from ocirt.spec import caps
from ocirt.spec.rlimits import RLIMITS


def test_capability_numbers() -> None:
    # linux/capability.h
    assert caps.NUMBERS["CAP_CHOWN"] == 0
    assert caps.NUMBERS["CAP_SETPCAP"] == 8
    assert caps.NUMBERS["CAP_SYS_ADMIN"] == 21
    assert caps.NUMBERS["CAP_AUDIT_READ"] == 37
    assert caps.NUMBERS["CAP_CHECKPOINT_RESTORE"] == 40
    assert caps.LAST_CAP == 40
    assert len(set(caps.NAMES)) == 41


def test_to_mask_splits_known_and_unknown() -> None:
    mask, unknown = caps.to_mask(["CAP_KILL", "CAP_BOGUS", "CAP_CHOWN", "CAP_KILL", "kill"])
    assert mask == (1 << 5) | 1
    assert unknown == ["CAP_BOGUS", "kill"]
    assert caps.to_mask([]) == (0, [])
    assert caps.names_of(mask) == ["CAP_CHOWN", "CAP_KILL"]
    full, _ = caps.to_mask(caps.NAMES)
    assert full == (1 << 41) - 1
    assert caps.names_of(full | 1 << 50) == list(caps.NAMES)


def test_rlimit_numbers_match_the_host() -> None:
    for name, number in RLIMITS.items():
        if hasattr(resource, name):  # RLIMIT_LOCKS is not exported by Python
            assert getattr(resource, name) == number, name
    assert sorted(RLIMITS.values()) == list(range(16))
