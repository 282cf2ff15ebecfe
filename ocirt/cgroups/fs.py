"""Small file operations shared by the cgroup drivers."""

from __future__ import annotations

import errno
import os
import time


def read(path: str) -> str:
    with open(path) as f:
        return f.read()


def write(path: str, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def makedirs(root: str, rel: str) -> list[str]:
    """mkdir every missing component of root/rel; returns the ones this call created, top
    first, so that destroy removes exactly those (a parent shared with other containers
    stays while it has children: rmdir fails with EBUSY there)."""
    created: list[str] = []
    path = root
    for part in rel.strip("/").split("/"):
        path = os.path.join(path, part)
        try:
            os.mkdir(path, 0o755)
            created.append(path)
        except FileExistsError:
            pass
    return created


def procs(path: str) -> list[int]:
    try:
        return [int(p) for p in read(os.path.join(path, "cgroup.procs")).split()]
    except FileNotFoundError:
        return []


def rmdir(path: str, tries: int = 50) -> None:
    """Remove a cgroup; tasks that just died may linger a moment, so EBUSY is retried."""
    for _ in range(tries):
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.ENOTEMPTY):
                raise
            if not procs(path) and e.errno == errno.ENOTEMPTY:
                raise
        time.sleep(0.01)
    os.rmdir(path)


def remove_created(created: list[str]) -> None:
    """Remove directories created by makedirs, deepest first, keeping shared parents."""
    for path in reversed(created):
        try:
            rmdir(path, tries=1)
        except OSError as e:
            if e.errno in (errno.EBUSY, errno.ENOTEMPTY):
                return  # another container's cgroup lives below: leave it and its parents
            raise


def remove_default_parent(container_path: str, dirs: list[str]) -> None:
    """With the default path /ocirt/<id>, remove /ocirt once it is empty.

    Only the container that made /ocirt has it in its `created` list, and it may be deleted
    while another container still lives there; /ocirt is ocirt's own, so whoever leaves it
    empty removes it.
    """
    from ocirt.cgroups import DEFAULT_PARENT

    if os.path.dirname(container_path) != DEFAULT_PARENT:
        return
    for d in dirs:
        try:
            os.rmdir(os.path.dirname(d))
        except OSError as e:
            if e.errno not in (errno.EBUSY, errno.ENOTEMPTY, errno.ENOENT):
                raise
