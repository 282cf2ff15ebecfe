"""The one place the conformance suite calls the runtime under test.

Everything goes through runc's command line contract (`RUNTIME --root R <command> ...`), so the
same suite runs against runc, crun and ocirt.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import tempfile
import time
from collections.abc import Sequence
from typing import Any


class RuntimeCallError(subprocess.CalledProcessError):
    """A runtime call that exited non-zero; str() carries stderr so assertion output is useful."""

    def __str__(self) -> str:
        return (f"{shlex.join(self.cmd)} exited {self.returncode}\n"
                f"stdout: {self.stdout!r}\nstderr: {self.stderr!r}")


class Runtime:
    """A runtime binary bound to one `--root` state directory.

    Every id handed to create/run is remembered in `ids` *before* the call, so cleanup
    reaches containers whose creation failed half-way.
    """

    def __init__(self, binary: str, root: str) -> None:
        self.binary = binary
        self.root = root
        self.ids: list[str] = []
        # every container pid a state call reported, so cleanup can prove they are gone
        self.pids: set[int] = set()

    def track(self, cid: str) -> None:
        if cid not in self.ids:
            self.ids.append(cid)

    def run(self, *args: str, check: bool = True, input: str | None = None,
            timeout: float = 30, cwd: str | None = None,
            fd_files: dict[int, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run `RUNTIME --root R *args`.

        stdout/stderr go to temporary files rather than pipes: a detached container (create,
        run -d) inherits them, and with pipes we would block until the container exits.
        fd_files maps extra fd numbers to files opened read-only for the runtime, for tests of
        --preserve-fds (done by a shell redirect so the numbers are exact).
        """
        cmd = [self.binary, "--root", self.root, *args]
        if fd_files:
            redirs = " ".join(f"{n}<{shlex.quote(p)}" for n, p in sorted(fd_files.items()))
            cmd = ["/bin/sh", "-c", f'exec "$@" {redirs}', "sh", *cmd]
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(
                cmd, cwd=cwd, stdout=out, stderr=err, text=True,
                stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL)
            try:
                proc.communicate(input, timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise
            out.seek(0)
            err.seek(0)
            res = subprocess.CompletedProcess(cmd, proc.returncode, out.read(), err.read())
        if check and res.returncode != 0:
            raise RuntimeCallError(res.returncode, cmd, res.stdout, res.stderr)
        return res

    # -- shortcuts for the operations of runtime.md "Operations" ---------------------------

    def create(self, cid: str, bundle: str, *extra: str, check: bool = True,
               cwd: str | None = None) -> subprocess.CompletedProcess[str]:
        self.track(cid)
        return self.run("create", "--bundle", bundle, *extra, cid, check=check, cwd=cwd)

    def start(self, cid: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("start", cid, check=check)

    def state(self, cid: str) -> dict[str, Any]:
        res = self.run("state", cid)
        data: dict[str, Any] = json.loads(res.stdout)
        if isinstance(data.get("pid"), int) and data["pid"] > 0:
            self.pids.add(data["pid"])
        return data

    def status(self, cid: str) -> str | None:
        """The status, or None when the runtime says the container does not exist."""
        res = self.run("state", cid, check=False)
        if res.returncode != 0:
            return None
        return str(json.loads(res.stdout)["status"])

    def kill(self, cid: str, signal: str | None = None, *extra: str,
             check: bool = True) -> subprocess.CompletedProcess[str]:
        args = ["kill", *extra, cid] + ([signal] if signal is not None else [])
        return self.run(*args, check=check)

    def delete(self, cid: str, force: bool = False,
               check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("delete", *(["--force"] if force else []), cid, check=check)

    def run_container(self, cid: str, bundle: str, *extra: str, check: bool = True,
                      timeout: float = 30,
                      fd_files: dict[int, str] | None = None) -> subprocess.CompletedProcess[str]:
        """`run` in the foreground: create+start+wait+delete, exit status of the process."""
        self.track(cid)
        return self.run("run", "--bundle", bundle, *extra, cid, check=check, timeout=timeout,
                        fd_files=fd_files)

    def exec(self, cid: str, args: Sequence[str], *extra: str,
             check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("exec", *extra, cid, *args, check=check)

    def list_json(self) -> list[dict[str, Any]]:
        data = json.loads(self.run("list", "--format", "json").stdout)
        # runc prints `null` for an empty root; treat it as the empty list it means
        return list(data or [])

    def wait_status(self, cid: str, want: str, timeout: float = 10) -> str | None:
        """Poll state until status == want (or the timeout); return the last status seen."""
        deadline = time.monotonic() + timeout
        status = self.status(cid)
        while status != want and time.monotonic() < deadline:
            time.sleep(0.02)
            status = self.status(cid)
        return status


def wait_for_file(path: str, timeout: float = 10) -> bool:
    """Containers report through files in a bind-mounted dir; wait for one to show up."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
