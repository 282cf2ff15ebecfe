"""Pure parts of the cgroup code: conversions, device rule reduction, the BPF program."""

from __future__ import annotations

import pytest

from ocirt.cgroups import convert, devices
from ocirt.errors import ConfigError


def test_shares_to_weight_is_runcs_linear_map() -> None:
    assert convert.shares_to_weight(0) == 0
    assert convert.shares_to_weight(2) == 1
    assert convert.shares_to_weight(1024) == 39
    assert convert.shares_to_weight(262144) == 10000


def test_blkio_weight_to_io_weight() -> None:
    assert convert.blkio_to_io_weight(10) == 1
    assert convert.blkio_to_io_weight(500) == 4950
    assert convert.blkio_to_io_weight(1000) == 10000


def test_swap_is_memory_plus_swap_in_the_spec() -> None:
    assert convert.swap_v2(300, 100) == 200
    assert convert.swap_v2(-1, 100) == -1
    assert convert.swap_v2(0, 100) == 0
    with pytest.raises(ValueError, match="without memory limit"):
        convert.swap_v2(300, 0)
    with pytest.raises(ValueError, match=">= memory limit"):
        convert.swap_v2(50, 100)


@pytest.mark.parametrize(("text", "value"), [("64m", 64 << 20), ("1g", 1 << 30),
                                             ("512k", 512 << 10), ("100", 100), ("-1", -1),
                                             ("2MiB", 2 << 20), ("1.5k", 1536)])
def test_ram_in_bytes(text: str, value: int) -> None:
    assert convert.ram_in_bytes(text) == value


@pytest.mark.parametrize("text", ["", "m", "12x", "-5", "abc"])
def test_ram_in_bytes_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        convert.ram_in_bytes(text)


def _decide(rules: list[dict], *access: tuple[str, int, int, str]) -> list[bool]:
    state = devices.reduce(devices.from_config(rules))
    prog = devices.bpf_program(state)
    return [devices.simulate(prog, *a) for a in access]


def test_deny_all_keeps_the_default_devices() -> None:
    """runc: the default allow list is appended after the config's rules."""
    got = _decide([{"allow": False, "access": "rwm"}],
                  ("c", 1, 3, "rw"), ("c", 1, 11, "r"), ("c", 136, 4, "rw"),
                  ("b", 8, 0, "m"), ("b", 8, 0, "r"), ("c", 5, 2, "rwm"))
    assert got == [True, False, True, True, False, True]


def test_allow_by_access_bits() -> None:
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "r"}]
    assert _decide(rules, ("c", 1, 11, "r"), ("c", 1, 11, "w"), ("c", 1, 11, "rw")) == \
        [True, False, False]


def test_no_rules_means_deny_all_but_defaults() -> None:
    """The emulator starts deny-all (runc); an allow-all rule flips it."""
    assert _decide([], ("c", 1, 11, "r")) == [False]
    assert _decide([{"allow": True, "access": "rwm"}], ("c", 1, 11, "r"),
                   ("b", 254, 0, "rw")) == [True, True]


def test_allow_all_then_deny_one() -> None:
    rules = [{"allow": True, "access": "rwm"},
             {"allow": False, "type": "b", "major": 254, "minor": -1, "access": "w"}]
    state = devices.reduce(devices.from_config(rules))
    assert state.default_allow
    assert [e.v1_line() for e in state.exceptions] == ["b 254:* w"]
    assert _decide(rules, ("b", 254, 0, "r"), ("b", 254, 1, "w"), ("b", 8, 0, "w")) == \
        [True, False, True]
    assert devices.v1_writes(state) == [("devices.allow", "a"), ("devices.deny", "b 254:* w")]


def test_later_rule_removes_an_exception() -> None:
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "rw"},
             {"allow": False, "type": "c", "major": 1, "minor": 11, "access": "w"}]
    assert _decide(rules, ("c", 1, 11, "r"), ("c", 1, 11, "w")) == [True, False]


def test_punching_a_hole_in_a_wildcard_is_refused() -> None:
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 10, "access": "rwm"},
             {"allow": False, "type": "c", "major": 10, "minor": 200, "access": "rw"}]
    with pytest.raises(ConfigError, match=r"linux.resources.devices\[2\]"):
        devices.reduce(devices.from_config(rules))


def test_program_is_whole_instructions_ending_in_exit() -> None:
    prog = devices.bpf_program(devices.reduce(devices.from_config([])))
    assert len(prog) % 8 == 0
    assert prog[-8] == 0x95


def test_v1_update_writes_only_the_differences() -> None:
    rules = [{"allow": False, "access": "rwm"},
             {"allow": True, "type": "c", "major": 1, "minor": 11, "access": "w"}]
    state = devices.reduce(devices.from_config(rules))
    current = "c *:* m\nb *:* m\nc 1:3 rwm\nc 1:8 rwm\nc 1:7 rwm\nc 5:0 rwm\nc 1:5 rwm\n" \
              "c 1:9 rwm\nc 5:1 rwm\nc 136:* rwm\nc 5:2 rwm\nc 10:200 rwm\n"
    assert devices.v1_writes(state, current) == [("devices.deny", "c 10:200 rwm"),
                                                 ("devices.allow", "c 1:11 w")]
    assert devices.v1_writes(state, "a *:* rwm\n")[0] == ("devices.deny", "a")


def _update_opts(*argv: str) -> dict:
    from ocirt.cli import update
    from ocirt.cli.flags import parse

    opts, _ = parse(update.FLAGS, list(argv))
    return update.resources_from(opts)


def test_update_flags_map_to_resources_and_zero_leaves_unchanged() -> None:
    res = _update_opts("--memory", "64m", "--memory-swap", "-1", "--cpu-share", "0",
                       "--cpu-shares", "512", "--cpu-quota", "0", "--pids-limit", "9",
                       "--cpuset-cpus", "0-1", "--blkio-weight", "300",
                       "--memory-reservation", "0")
    assert res == {"memory": {"limit": 64 << 20, "swap": -1}, "cpu": {"shares": 512,
                   "cpus": "0-1"}, "pids": {"limit": 9}, "blockIO": {"weight": 300}}


def test_update_flags_are_checked() -> None:
    from ocirt.cli.flags import UsageError

    with pytest.raises(UsageError, match="--memory"):
        _update_opts("--memory", "lots")
    with pytest.raises(UsageError, match="Intel RDT"):
        _update_opts("--l3-cache-schema", "L3:0=f")
    with pytest.raises(ConfigError, match="linux.resources.blockIO.weight"):
        _update_opts("--blkio-weight", "70000")


def test_events_interval_is_a_go_duration() -> None:
    from ocirt.cli.events import parse_duration
    from ocirt.cli.flags import UsageError

    assert parse_duration("5s") == 5
    assert parse_duration("1m30s") == 90
    assert parse_duration("250ms") == 0.25
    for bad in ("", "5", "x", "0s"):
        with pytest.raises(UsageError):
            parse_duration(bad)
