"""Per-container state directories under --root: atomic writes, one lock per container.

Layout of <root>/<id>/: state.json (what `state` needs, written by rename), exec.fifo (present
from create until start: the init blocks opening it). The directory itself is the lock:
flock on its fd serialises commands on one container across processes.
"""

from __future__ import annotations

import fcntl
import os

from ocirt import jsonio
from ocirt.errors import ContainerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_+-.")
STATE_FILE = "state.json"
FIFO = "exec.fifo"


def check_id(container_id: str) -> None:
    # the id becomes a directory name: nothing that could walk out of --root
    if not container_id or container_id in (".", "..") or not _ID_CHARS.issuperset(container_id):
        raise ContainerError(f"invalid container id format: {container_id}")


class ContainerDir:
    """An open, locked state directory. Use as a context manager to release the lock."""

    def __init__(self, root: str, container_id: str, fd: int) -> None:
        self.root = root
        self.id = container_id
        self.path = os.path.join(root, container_id)
        self.fd = fd

    # -- opening -------------------------------------------------------------------------
    @classmethod
    def create(cls, root: str, container_id: str) -> ContainerDir:
        check_id(container_id)
        os.makedirs(root, mode=0o711, exist_ok=True)
        path = os.path.join(root, container_id)
        try:
            # 0711: a non-root container user must reach exec.fifo inside it
            os.mkdir(path, 0o711)
        except FileExistsError:
            raise ContainerError(f"container with id exists: {container_id}") from None
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return cls(root, container_id, fd)

    @classmethod
    def open(cls, root: str, container_id: str, shared: bool = False) -> ContainerDir:
        check_id(container_id)
        path = os.path.join(root, container_id)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise ContainerError(f"container does not exist: {container_id}") from None
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        # a delete may have removed the directory while we waited for its lock
        if os.fstat(fd).st_nlink == 0 or not os.path.exists(os.path.join(path, STATE_FILE)):
            os.close(fd)
            raise ContainerError(f"container does not exist: {container_id}")
        return cls(root, container_id, fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # releases the flock
            self.fd = -1

    def __enter__(self) -> ContainerDir:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- contents ------------------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        return jsonio.load_file(os.path.join(self.path, STATE_FILE))

    def save(self, state: dict[str, Any]) -> None:
        tmp = os.path.join(self.path, f".{STATE_FILE}.tmp")
        with open(tmp, "w") as f:
            f.write(jsonio.dumps(state))
        os.rename(tmp, os.path.join(self.path, STATE_FILE))

    def remove(self) -> None:
        """Remove the directory and everything in it (it holds no subdirectories)."""
        for name in os.listdir(self.path):
            os.unlink(os.path.join(self.path, name))
        os.rmdir(self.path)


def list_ids(root: str) -> list[str]:
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        return []
    return sorted(n for n in names if os.path.exists(os.path.join(root, n, STATE_FILE)))
