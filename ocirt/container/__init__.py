"""The container lifecycle (runtime.md "Lifecycle"), usable as a library:

    from ocirt.container import Container
    c = Container.create("/run/ocirt", "web", "/srv/bundle")
    c.start(); print(c.state()["status"]); c.kill(15); c.delete(force=True)

Status is derived, never trusted from disk alone: the init's pid together with its start
time tells whether it still runs, and the exec fifo's presence tells created from running.
"""

from __future__ import annotations

import _signal
import os
import time

from ocirt import OCI_VERSION
from ocirt.container import process
from ocirt.container.store import FIFO, ContainerDir, list_ids
from ocirt.errors import ContainerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ocirt.container.create import ConsoleSocket

CREATING, CREATED, RUNNING, STOPPED, PAUSED = "creating", "created", "running", "stopped", \
    "paused"


def _rfc3339(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1e9):09d}Z"


class Container:
    def __init__(self, root: str, container_id: str, saved: dict[str, Any]) -> None:
        self.root = root
        self.id = container_id
        self.saved = saved

    # -- lookup --------------------------------------------------------------------------
    @classmethod
    def load(cls, root: str, container_id: str) -> Container:
        with ContainerDir.open(root, container_id, shared=True) as d:
            return cls(root, container_id, d.load())

    @classmethod
    def list(cls, root: str) -> list[Container]:
        out = []
        for cid in list_ids(root):
            try:
                out.append(cls.load(root, cid))
            except (ContainerError, OSError, ValueError):
                continue  # deleted while we listed
        return out

    @property
    def path(self) -> str:
        return os.path.join(self.root, self.id)

    @property
    def pid(self) -> int:
        return int(self.saved.get("pid", 0))

    # -- status & state ------------------------------------------------------------------
    def status(self) -> str:
        if self.saved.get("status") == CREATING:
            return CREATING
        if not process.is_alive(self.pid, self.saved.get("start_time")):
            return STOPPED
        if os.path.exists(os.path.join(self.path, FIFO)):
            return CREATED
        if self._frozen():
            return PAUSED
        return RUNNING

    def _frozen(self) -> bool:
        cg = self.saved.get("cgroup") or {}
        if cg.get("driver") == "v2":
            try:
                with open(os.path.join(cg["dir"], "cgroup.freeze")) as f:
                    return f.read().strip() == "1"
            except OSError:
                return False
        freezer = (cg.get("dirs") or {}).get("freezer")
        if not freezer:
            return False
        try:
            with open(os.path.join(freezer, "freezer.state")) as f:
                return f.read().strip() in ("FROZEN", "FREEZING")
        except OSError:
            return False

    def state(self) -> dict[str, Any]:
        """runtime.md "State", plus runc's rootfs/created/owner."""
        status = self.status()
        out: dict[str, Any] = {
            "ociVersion": OCI_VERSION,
            "id": self.id,
            "pid": self.pid if status in (CREATED, RUNNING, PAUSED) else 0,
            "status": status,
            "bundle": self.saved["bundle"],
            "rootfs": self.saved["rootfs"],
            "created": self.saved["created"],
            "owner": self.saved.get("owner", ""),
        }
        if self.saved.get("annotations"):
            out["annotations"] = self.saved["annotations"]
        return out

    # -- lifecycle -----------------------------------------------------------------------
    @classmethod
    def create(cls, root: str, container_id: str, bundle: str, *, pid_file: str | None = None,
               console_socket: ConsoleSocket = None, no_pivot: bool = False,
               preserve_fds: int = 0, no_new_keyring: bool = False) -> Container:
        from ocirt.container.create import create

        saved = create(root, container_id, bundle, pid_file=pid_file,
                       console_socket=console_socket, no_pivot=no_pivot,
                       preserve_fds=preserve_fds, no_new_keyring=no_new_keyring)
        return cls(root, container_id, saved)

    def start(self) -> None:
        from ocirt.container.start import start

        with ContainerDir.open(self.root, self.id) as d:
            self.saved = d.load()
            status = self.status()
            if status != CREATED:
                raise ContainerError(_cannot("start", status))
            start(d, self.pid, self.saved.get("start_time"))

    def exec(self, proc: dict[str, Any], *, console_socket: str | int | None = None,
             pid_file: str | None = None, preserve_fds: int = 0,
             ignore_paused: bool = False) -> int:
        """Start proc (a config `process`) in the container; its host pid (our child)."""
        from ocirt.container.exec import ExecError, exec_process

        # shared: a concurrent delete waits until the process is in the cgroup
        with ContainerDir.open(self.root, self.id, shared=True) as d:
            self.saved = d.load()
            status = self.status()
            if status == STOPPED:
                raise ExecError("cannot exec in a stopped container")
            if status == PAUSED and not ignore_paused:
                raise ExecError("cannot exec in a paused container "
                                "(use --ignore-paused to override)")
            if status == CREATING:
                raise ExecError("cannot exec in a container that is being created")
            return exec_process(d, self.saved, proc, console_socket=console_socket,
                                pid_file=pid_file, preserve_fds=preserve_fds)

    def kill(self, sig: int, all_processes: bool = False) -> None:
        with ContainerDir.open(self.root, self.id, shared=True) as d:
            self.saved = d.load()
            status = self.status()
            if status not in (CREATED, RUNNING, PAUSED) and not all_processes:
                raise ContainerError("container not running")
            if all_processes:
                self._signal_cgroup(sig)
                return
            fd = process.pidfd(self.pid, self.saved.get("start_time"))
            if fd is None:
                raise ContainerError("container not running")
            try:
                _signal.pidfd_send_signal(fd, sig)
            finally:
                os.close(fd)

    def _signal_cgroup(self, sig: int) -> None:
        from ocirt import cgroups

        cg = cgroups.from_state(self.saved["cgroup"])
        for pid in cg.procs():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    # -- cgroup operations (pause, resume, update, ps, events) ------------------------------
    def cgroup(self) -> Any:
        from ocirt import cgroups

        return cgroups.from_state(self.saved["cgroup"])

    def pause(self) -> None:
        with ContainerDir.open(self.root, self.id) as d:
            self.saved = d.load()
            if self.status() not in (CREATED, RUNNING):
                raise ContainerError("container not running")
            self.cgroup().freeze()

    def resume(self) -> None:
        with ContainerDir.open(self.root, self.id) as d:
            self.saved = d.load()
            if self.status() != PAUSED:
                raise ContainerError("container not paused")
            self.cgroup().thaw()

    def update(self, resources: dict[str, Any]) -> None:
        """Apply resources (only the fields given) to the live cgroup and remember them in
        the saved config."""
        with ContainerDir.open(self.root, self.id) as d:
            self.saved = d.load()
            if self.status() in (STOPPED, CREATING):
                raise ContainerError("container not running")
            self.cgroup().set(resources, update=True)
            linux = self.saved.setdefault("config", {}).setdefault("linux", {})
            current = linux.setdefault("resources", {})
            for key, value in resources.items():
                if isinstance(value, dict) and isinstance(current.get(key), dict):
                    current[key].update(value)
                else:
                    current[key] = value
            d.save(self.saved)

    def processes(self) -> list[int]:
        """Host pids of every process in the container's cgroup."""
        return sorted(self.cgroup().procs())

    def stats(self) -> dict[str, Any]:
        """runc's `events --stats` data object."""
        return self.cgroup().stats()

    def delete(self, force: bool = False) -> None:
        with ContainerDir.open(self.root, self.id) as d:
            self.saved = d.load()
            status = self.status()
            if status in (RUNNING, PAUSED) and not force:
                raise ContainerError(
                    f"cannot delete container {self.id} that is not stopped: {status}")
            from ocirt.container.destroy import destroy

            destroy(d, self.saved, kill=status != STOPPED)


def _cannot(op: str, status: str) -> str:
    if status == STOPPED:
        return f"cannot {op} a container that has stopped"
    if status == RUNNING:
        return f"cannot {op} an already running container"
    return f"cannot {op} a container in the {status} state"


def now_rfc3339() -> str:
    return _rfc3339(time.time())
