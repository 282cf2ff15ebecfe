"""Sending signals (runtime.md "Kill"; runc CLI `kill ID [SIGNAL]`)."""

from __future__ import annotations

import os

import pytest

from conformance.conftest import BundleFactory
from conformance.runtime import Runtime, wait_for_file

# PID 1 of a pid namespace only gets signals it has a handler for, so the shell traps the
# ones under test and records which arrived. `sleep & wait` lets a trap run immediately.
TRAPPER = ["sh", "-c",
           "trap 'echo TERM > /out/sig; exit 0' TERM; "
           "trap 'echo USR1 > /out/sig; exit 0' USR1; "
           "trap 'echo HUP > /out/sig; exit 0' HUP; "
           "echo ready > /out/ready; "
           "while :; do sleep 1000 & wait; done"]


def _start_trapper(rt: Runtime, bundle: BundleFactory) -> tuple[str, str]:
    b = bundle(TRAPPER)
    rt.create(b.id, b.path)
    rt.start(b.id)
    assert wait_for_file(b.out_path("ready"))
    return b.id, b.out


@pytest.mark.parametrize("sig", ["KILL", "SIGKILL", "9"])
def test_kill_sigkill_forms(rt: Runtime, bundle: BundleFactory, sig: str) -> None:
    """runtime.md "Kill": the signal is sent to the container process; KILL by name, with
    the SIG prefix, or by number, ends it."""
    cid, _ = _start_trapper(rt, bundle)
    rt.kill(cid, sig)
    assert rt.wait_status(cid, "stopped") == "stopped"


@pytest.mark.parametrize("sig,seen", [
    (None, "TERM"),  # runc's default signal is SIGTERM
    ("TERM", "TERM"),
    ("SIGTERM", "TERM"),
    ("15", "TERM"),
    ("USR1", "USR1"),
    ("SIGUSR1", "USR1"),
    ("10", "USR1"),
    ("HUP", "HUP"),
    ("1", "HUP"),
])
def test_kill_delivers_signal(rt: Runtime, bundle: BundleFactory, sig: str | None,
                              seen: str) -> None:
    """runtime.md "Kill": the container process receives exactly the named signal."""
    cid, out = _start_trapper(rt, bundle)
    rt.kill(cid, sig)
    assert wait_for_file(f"{out}/sig"), f"signal {sig} was not seen by the process"
    with open(f"{out}/sig") as f:
        assert f.read().strip() == seen
    assert rt.wait_status(cid, "stopped") == "stopped"


def test_kill_created_container(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime.md "Kill": a `created` container can be signalled; KILL stops it and the
    user program never ran."""
    b = bundle(["sh", "-c", "echo ran > /out/ran"])
    rt.create(b.id, b.path)
    rt.kill(b.id, "KILL")
    assert rt.wait_status(b.id, "stopped") == "stopped"
    assert not os.path.exists(b.out_path("ran"))


def test_kill_invalid_signal_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """runc CLI `kill`: an unknown signal name is an error and the process keeps running."""
    cid, _ = _start_trapper(rt, bundle)
    assert rt.kill(cid, "NOTASIGNAL", check=False).returncode != 0
    assert rt.state(cid)["status"] == "running"
