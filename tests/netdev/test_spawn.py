"""InitProcess.start's on_namespaces: the moment `create` moves network devices."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

from ocirt.errors import InitError
from ocirt.native.plan import Namespace
from tests.native.conftest import CLONE_NEWNET, Runner, default_plan


@pytest.fixture
def runner(base_rootfs: str) -> Iterator[Runner]:
    d = tempfile.mkdtemp(prefix="ocirt-native-netdev-")
    r = Runner(d)
    try:
        yield r
    finally:
        r.cleanup()
        shutil.rmtree(d, ignore_errors=True)


def _plan(rootfs: str, args: list[str]):  # type: ignore[no-untyped-def]
    plan = default_plan(rootfs, args)
    plan.namespaces.append(Namespace(CLONE_NEWNET))
    return plan


def _gone(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return not os.path.exists(f"/proc/{pid}")


def test_called_once_in_the_containers_network_namespace(runner: Runner,
                                                         base_rootfs: str) -> None:
    seen: list[tuple[int, str]] = []

    def on_ns(pid: int) -> None:
        seen.append((pid, os.readlink(f"/proc/{pid}/ns/net")))

    init = runner.create(_plan(base_rootfs, ["/bin/true"]), on_namespaces=on_ns)
    assert seen == [(init.pid, os.readlink(f"/proc/{init.pid}/ns/net"))]
    assert seen[0][1] != os.readlink("/proc/self/ns/net")
    assert runner.start(init).status == 0


def test_an_init_that_died_first_reports_its_own_error(runner: Runner,
                                                       base_rootfs: str) -> None:
    """The callback failing because the init is gone must not hide why it went."""

    def on_ns(pid: int) -> None:
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)  # let it fail first
        raise OSError(2, "the namespace is gone")

    with pytest.raises(InitError) as e:
        runner.create(_plan(base_rootfs, ["nosuchcmd"]), on_namespaces=on_ns)
    assert str(e.value) == 'exec: "nosuchcmd": executable file not found in $PATH'


def test_a_failing_callback_fails_the_start_and_kills_the_init(runner: Runner,
                                                               base_rootfs: str) -> None:
    pids: list[int] = []

    def on_ns(pid: int) -> None:
        pids.append(pid)
        raise InitError("linux.netDevices.x: refused")

    with pytest.raises(InitError, match="linux.netDevices.x: refused"):
        runner.create(_plan(base_rootfs, ["/bin/sleep", "100"]), on_namespaces=on_ns)
    assert len(pids) == 1 and _gone(pids[0])
