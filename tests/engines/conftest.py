"""Fixtures of the engine tests: the runtime under test as a path, the busybox image, and
the reaper of the engines' orphans. All of package scope: the daemons, and the reaper's
thread (whose brief /proc reads other tests' fd-leak checks would see), end with the
engine tests.

Each scenario runs once with ocirt and once with runc (the `runtime` parameter), so a
failure that runc shares is the harness's or the engine's, and one it doesn't is ocirt's.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator

import pytest

from ocirt.testing.busybox import build_rootfs
from tests.conftest import ocirt_binary
from tests.engines.harness import (
    HOST_DIRS,
    Daemon,
    OrphanReaper,
    ensure_installed,
    remove_cgroup_parents,
    remove_empty_dirs,
    unmount_under,
)

RUNC = "/usr/sbin/runc"


@pytest.fixture(scope="package")
def engines_dir() -> Iterator[str]:
    """Where the engines keep their roots and sockets: short, since unix socket paths are."""
    d = tempfile.mkdtemp(prefix="ocirt-eng-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _ocirt_path(engines_dir: str) -> str:
    """An executable path for ocirt: engines take one path, not an interpreter and args."""
    cmd = ocirt_binary()
    if len(cmd) == 1:
        return os.path.abspath(cmd[0])
    wrapper = os.path.join(engines_dir, "ocirt")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec " + " ".join(cmd) + ' "$@"\n')
    os.chmod(wrapper, os.stat(wrapper).st_mode | stat.S_IXUSR)
    return wrapper


@pytest.fixture(scope="package")
def runtime_paths(engines_dir: str) -> dict[str, str]:
    """Both runtimes as absolute paths, for engines that register them all at once."""
    return {"ocirt": _ocirt_path(engines_dir), "runc": RUNC}


@pytest.fixture(scope="package", params=["ocirt", "runc"])
def runtime(request: pytest.FixtureRequest, runtime_paths: dict[str, str]) -> str:
    """The runtime binary the engine is told to use."""
    return runtime_paths[request.param]


@pytest.fixture(scope="package")
def image_rootfs(engines_dir: str) -> str:
    path = os.path.join(engines_dir, "image-rootfs")
    build_rootfs(path)
    return path


@pytest.fixture(scope="package", autouse=True)
def _reap_orphans() -> Iterator[None]:
    created = [d for d in HOST_DIRS if not os.path.exists(d)]
    reaper = OrphanReaper()
    yield
    reaper.stop()
    remove_cgroup_parents()
    remove_empty_dirs(created)


CONTAINERD_CONFIG = """version = 2
root = "{base}/root"
state = "{base}/state"
# the CRI plugin would set up networking for Kubernetes; ctr and dockerd don't need it
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "{base}/containerd.sock"

[ttrpc]
  address = "{base}/containerd.sock.ttrpc"

[plugins."io.containerd.internal.v1.opt"]
  path = "{base}/opt"
"""


@pytest.fixture(scope="package")
def containerd(engines_dir: str) -> Iterator[str]:
    """A containerd of the tests' own, for ctr and for dockerd: its socket's path."""
    ensure_installed("containerd", "ctr")
    base = os.path.join(engines_dir, "containerd")
    os.makedirs(base)
    config = os.path.join(base, "config.toml")
    with open(config, "w") as f:
        f.write(CONTAINERD_CONFIG.format(base=base))
    sock = os.path.join(base, "containerd.sock")
    daemon = Daemon("containerd", ["containerd", "--config", config],
                    os.path.join(base, "containerd.log"), ready=lambda: os.path.exists(sock))
    yield sock
    daemon.stop()
    unmount_under(base)
