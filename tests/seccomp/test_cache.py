"""Compiled seccomp programs are kept by profile (ocirt.seccomp.CACHE_DIR): engines send
the same profile for every container, and libseccomp takes ~20 ms to build Docker's."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ocirt import seccomp
from tests.seccomp.engine import DOCKER_CAPS, to_oci


@pytest.fixture
def cache(tmp_path: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    path = os.path.join(str(tmp_path), "cache")
    monkeypatch.setattr(seccomp, "CACHE_DIR", path)
    yield path


def _entries(cache: str) -> list[str]:
    return sorted(os.listdir(cache)) if os.path.isdir(cache) else []


def test_second_compile_comes_from_the_cache(cache: str,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    profile = to_oci("docker-default.json", DOCKER_CAPS)
    first = seccomp.compile_profile(profile)
    (entry,) = _entries(cache)
    st = os.stat(os.path.join(cache, entry))
    assert st.st_mode & 0o777 == 0o600 and os.stat(cache).st_mode & 0o777 == 0o700

    def no_compile(*_: object) -> None:
        raise AssertionError("compiled again")

    monkeypatch.setattr(seccomp, "_compile", no_compile)
    assert seccomp.compile_profile(profile) == first


def test_a_hit_repeats_the_compiles_debug_notes(cache: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    notes: list[str] = []
    monkeypatch.setattr(seccomp.log, "debug", notes.append)
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["no_such_syscall_xyz", "mkdir"],
                             "action": "SCMP_ACT_ERRNO"}]}
    first = seccomp.compile_profile(profile)
    assert seccomp.compile_profile(profile) == first
    note = "linux.seccomp.syscalls[0].names[0]: unknown syscall 'no_such_syscall_xyz' skipped"
    assert notes == [note, note]


def test_another_profile_is_another_entry(cache: str) -> None:
    a = to_oci("docker-default.json", DOCKER_CAPS)
    b = {**a, "defaultErrnoRet": 38}
    assert seccomp.compile_profile(a) != seccomp.compile_profile(b)
    assert len(_entries(cache)) == 2


@pytest.mark.parametrize("damage", ["group-writable", "truncated", "symlink"])
def test_an_entry_not_as_written_is_ignored(cache: str, damage: str) -> None:
    profile = {"defaultAction": "SCMP_ACT_ALLOW",
               "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    good = seccomp.compile_profile(profile)
    (entry,) = _entries(cache)
    path = os.path.join(cache, entry)
    if damage == "group-writable":
        # what another user could have put there: a filter allowing everything
        allow_all = seccomp.compile_profile({"defaultAction": "SCMP_ACT_ALLOW"})
        with open(path, "wb") as f:
            f.write(allow_all[1].to_bytes(4, "little") + bytes(4) + allow_all[0])
        os.chmod(path, 0o620)
    elif damage == "truncated":
        with open(path, "r+b") as f:
            f.truncate(7)
    else:
        os.rename(path, path + ".real")
        os.symlink(path + ".real", path)
    assert seccomp.compile_profile(profile) == good


def test_an_unwritable_cache_only_costs_the_compile(tmp_path: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = os.path.join(str(tmp_path), "file")
    open(blocker, "w").close()
    monkeypatch.setattr(seccomp, "CACHE_DIR", os.path.join(blocker, "cache"))
    profile = {"defaultAction": "SCMP_ACT_ALLOW"}
    assert seccomp.compile_profile(profile) == seccomp.compile_profile(profile)
    assert os.listdir(str(tmp_path)) == ["file"]
