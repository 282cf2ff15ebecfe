"""Fixtures for the cgroup tests (they run on the v1 host and in the cg2-run v2 guest)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator

import pytest


@pytest.fixture
def bfq_device(tmp_path: str) -> Iterator[tuple[int, int]]:
    """A loop device of our own with the BFQ scheduler (per-device weights need BFQ; the
    host's disks are never touched). Yields (major, minor)."""
    img = os.path.join(str(tmp_path), "loop.img")
    with open(img, "wb") as f:
        f.truncate(8 << 20)
    res = subprocess.run(["losetup", "-f", "--show", img], capture_output=True, text=True)
    if res.returncode != 0 and not os.path.exists("/dev/loop-control"):
        # the v2 guest boots without the loop module loaded
        subprocess.run(["modprobe", "loop"], capture_output=True)
        res = subprocess.run(["losetup", "-f", "--show", img], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"no loop device on this host: {res.stderr.strip()}")
    dev = res.stdout.strip()
    try:
        sched = f"/sys/block/{os.path.basename(dev)}/queue/scheduler"
        if "bfq" not in open(sched).read():
            subprocess.run(["modprobe", "bfq"], capture_output=True)
        try:
            with open(sched, "w") as f:
                f.write("bfq")
        except OSError as e:
            pytest.skip(f"no bfq I/O scheduler on this host: {e}")
        st = os.stat(dev)
        yield os.major(st.st_rdev), os.minor(st.st_rdev)
    finally:
        subprocess.run(["losetup", "-d", dev], check=False)
