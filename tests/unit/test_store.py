"""State directories: ids are safe names, creation is exclusive, writes are atomic."""

from __future__ import annotations

import os
import threading

import pytest

from ocirt.container.store import ContainerDir, check_id, list_ids
from ocirt.errors import ContainerError


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "../x", "a b", "x\n"])
def test_bad_ids(bad: str) -> None:
    with pytest.raises(ContainerError, match="invalid container id"):
        check_id(bad)


def test_create_is_exclusive_and_save_load(tmp_path: object) -> None:
    root = str(tmp_path)
    with ContainerDir.create(root, "c1") as d:
        d.save({"a": 1})
    with pytest.raises(ContainerError, match="container with id exists: c1"):
        ContainerDir.create(root, "c1")
    with ContainerDir.open(root, "c1") as d:
        assert d.load() == {"a": 1}
    assert list_ids(root) == ["c1"]
    assert oct(os.stat(os.path.join(root, "c1")).st_mode & 0o777) == "0o711"


def test_open_unknown(tmp_path: object) -> None:
    with pytest.raises(ContainerError, match="container does not exist: nope"):
        ContainerDir.open(str(tmp_path), "nope")


def test_lock_serialises_and_delete_wins(tmp_path: object) -> None:
    """A command waiting for the lock of a container being deleted sees it gone."""
    root = str(tmp_path)
    with ContainerDir.create(root, "c") as d:
        d.save({})
    first = ContainerDir.open(root, "c")
    outcome: list[str] = []

    def second() -> None:
        try:
            ContainerDir.open(root, "c").close()
            outcome.append("opened")
        except ContainerError as e:
            outcome.append(str(e))

    t = threading.Thread(target=second)
    t.start()
    t.join(0.2)
    assert t.is_alive(), "the second opener must wait for the lock"
    first.remove()
    first.close()
    t.join(5)
    assert outcome == ["container does not exist: c"]
