"""File descriptors handed to the container (runtime-linux.md "File descriptors";
runc CLI `--preserve-fds N`)."""

from __future__ import annotations

import os

from conformance.conftest import BundleFactory
from conformance.runtime import Runtime

# The shell is PID 1 and lists its own fds with builtins only, so no child's fds are seen.
LIST_FDS = ["sh", "-c",
            "for i in 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do "
            "[ -e /proc/$$/fd/$i ] && echo fd$i; done; "
            "[ -e /proc/$$/fd/3 ] && cat <&3; true"]


def _fd_files(test_dir: str) -> dict[int, str]:
    files = {}
    for n in (3, 4, 5, 9):
        path = os.path.join(test_dir, f"fd{n}.txt")
        with open(path, "w") as f:
            f.write(f"content of fd {n}\n")
        files[n] = path
    return files


def test_preserve_fds_one(rt: Runtime, bundle: BundleFactory, test_dir: str) -> None:
    """runc CLI `--preserve-fds 1`: fd 3 reaches the process (readable, same file); fd 4
    and any other fd the runtime inherited do not."""
    b = bundle(LIST_FDS)
    res = rt.run_container(b.id, b.path, "--preserve-fds", "1", fd_files=_fd_files(test_dir))
    lines = res.stdout.splitlines()
    assert [ln for ln in lines if ln.startswith("fd")] == ["fd3"]
    assert "content of fd 3" in lines


def test_no_fds_leak_by_default(rt: Runtime, bundle: BundleFactory, test_dir: str) -> None:
    """runtime-linux.md "File descriptors": only stdio by default; fds the runtime was
    started with (3, 4, 5, 9 here) and its own internal fds are not in the container."""
    b = bundle(LIST_FDS)
    res = rt.run_container(b.id, b.path, fd_files=_fd_files(test_dir))
    assert [ln for ln in res.stdout.splitlines() if ln.startswith("fd")] == []


def test_preserve_fds_two_with_create(rt: Runtime, bundle: BundleFactory,
                                      test_dir: str) -> None:
    """runc CLI `create --preserve-fds 2`: fds 3 and 4 are kept through create/start."""
    # `exec >` rather than `{ } >`: a compound redirect makes the shell park fds at 10+
    b = bundle(["sh", "-c", "exec > /out/fds 2>&1; " + LIST_FDS[2] + "; cat <&4"])
    rt.track(b.id)
    rt.run("create", "--bundle", b.path, "--preserve-fds", "2", b.id,
           fd_files=_fd_files(test_dir))
    rt.start(b.id)
    assert rt.wait_status(b.id, "stopped") == "stopped"
    lines = b.read_out("fds").splitlines()
    assert [ln for ln in lines if ln.startswith("fd")] == ["fd3", "fd4"]
    assert "content of fd 3" in lines and "content of fd 4" in lines
