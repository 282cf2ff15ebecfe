"""dockerd drives the runtime through containerd's runc shim, registered with
`--add-runtime NAME=PATH` and picked with `docker run --runtime NAME`.

dockerd runs with its own data root, exec root and socket, on the tests' containerd, with
no bridge and no iptables rules; containers use `--network none`.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator

import pytest

from ocirt.testing.console import run_in_pty
from ocirt.testing.ociimage import rootfs_tar
from tests.engines.harness import (
    CGROUP_PARENT,
    SERVE,
    STTY_SIZE,
    Daemon,
    EngineCLI,
    docker_cli,
    ensure_installed,
    unmount_under,
    wait_for,
)

IMAGE = "ocirt-busybox:latest"


class Docker(EngineCLI):
    name = "docker"

    def __init__(self, sock: str, runtimes: dict[str, str]) -> None:
        self.host = f"unix://{sock}"
        self.runtimes = runtimes  # path -> the name dockerd knows it by
        self.runtime = ""
        self.served: set[str] = set()
        self._ids = 0

    def argv(self, *args: str) -> list[str]:
        return [docker_cli(), "--host", self.host, *args]

    def run_args(self, *opts: str) -> list[str]:
        return ["run", "--runtime", self.runtimes[self.runtime], "--network", "none", *opts,
                IMAGE]

    def new_name(self) -> str:
        self._ids += 1
        return f"d{os.getpid()}-{self._ids}"

    def serve(self) -> str:
        name = self.new_name()
        self(*self.run_args("-d", "--name", name), *SERVE)
        self.served.add(name)
        return name

    def inspect(self, name: str, fmt: str) -> str:
        return self("inspect", "-f", fmt, name).stdout.strip()


@pytest.fixture(scope="package")
def docker_session(containerd: str, engines_dir: str, image_rootfs: str,
                   runtime_paths: dict[str, str]) -> Iterator[Docker]:
    ensure_installed("dockerd")
    base = os.path.join(engines_dir, "docker")
    os.makedirs(base)
    sock = os.path.join(base, "docker.sock")
    names = {path: f"test-{key}" for key, path in runtime_paths.items()}
    argv = ["dockerd", "--data-root", f"{base}/data", "--exec-root", f"{base}/exec",
            "--pidfile", f"{base}/dockerd.pid", "--host", f"unix://{sock}",
            "--containerd", containerd, "--containerd-namespace", "ocirt-tests-docker",
            "--containerd-plugins-namespace", "ocirt-tests-docker-plugins",
            "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
            "--cgroup-parent", f"/{CGROUP_PARENT}/docker",
            "--default-ulimit", "nofile=1024:1024", "--storage-driver", "overlay2"]
    for path, name in names.items():
        argv += ["--add-runtime", f"{name}={path}"]
    daemon = Daemon("dockerd", argv, f"{base}/dockerd.log", ready=lambda: subprocess.run(
        [docker_cli(), "--host", f"unix://{sock}", "version"], capture_output=True,
    ).returncode == 0)
    docker = Docker(sock, names)
    try:
        docker("import", rootfs_tar(image_rootfs, os.path.join(base, "busybox.tar")), IMAGE)
        yield docker
    finally:
        left = docker("ps", "--all", "--quiet", check=False).stdout.split()
        if left:
            docker("rm", "--force", *left, check=False)
        daemon.stop()
        unmount_under(base)


@pytest.fixture
def docker(docker_session: Docker, runtime: str) -> Iterator[Docker]:
    docker_session.runtime = runtime
    yield docker_session
    names = set(docker_session("ps", "--all", "--format", "{{.Names}}").stdout.split())
    if names:
        docker_session("rm", "--force", *names, check=False)
    left = names - docker_session.served
    assert not left, f"a test left containers behind: {left}"


def test_run_exit_code_and_output(docker: Docker) -> None:
    res = docker(*docker.run_args("--rm"), "sh", "-c", "echo out; echo err >&2; exit 3",
                 check=False)
    assert (res.returncode, res.stdout) == (3, "out\n"), res.stderr
    assert "err" in res.stderr


def test_run_missing_and_non_executable_commands(docker: Docker) -> None:
    """docker maps the runtime's create error to 127 (not found) or 126 (not executable)."""
    missing = docker(*docker.run_args("--rm"), "no-such-command", check=False)
    assert missing.returncode == 127, missing.stderr
    assert "executable file not found" in missing.stderr
    denied = docker(*docker.run_args("--rm"), "/etc/passwd", check=False)
    assert denied.returncode == 126, denied.stderr
    assert "permission denied" in denied.stderr


def test_run_tty(docker: Docker) -> None:
    code, out = run_in_pty(docker.argv(*docker.run_args("--rm", "-it"), "sh", "-c",
                                       f"tty; {STTY_SIZE}; exit 5"), rows=31, cols=97)
    text = out.decode(errors="replace")
    assert code == 5, text
    assert re.search(r"/dev/pts/\d+\r\n", text) and "31 97" in text, text


def test_exec(docker: Docker) -> None:
    name = docker.serve()
    res = docker("exec", name, "sh", "-c", "echo in; exit 4", check=False)
    assert (res.returncode, res.stdout) == (4, "in\n"), res.stderr
    assert docker("exec", "-u", "1000", name, "id").stdout.startswith("uid=1000(user)")
    code, out = run_in_pty(docker.argv("exec", "-it", name, "sh", "-c", "tty; exit 6"))
    assert code == 6 and re.search(rb"/dev/pts/\d+\r\n", out), out
    missing = docker("exec", name, "no-such-command", check=False)
    assert missing.returncode == 126 and "executable file not found" in missing.stdout + \
        missing.stderr, missing
    docker("exec", "-d", name, "sleep", "777")
    wait_for("the detached exec", lambda: "sleep 777" in docker("top", name).stdout)


def test_stop(docker: Docker) -> None:
    name = docker.serve()
    docker("stop", "--time", "20", name)
    assert docker.inspect(name, "{{.State.Status}} {{.State.ExitCode}}") == "exited 9"
    docker("start", name)
    assert docker.inspect(name, "{{.State.Running}}") == "true"
    assert docker("exec", name, "echo", "again").stdout == "again\n"


@pytest.mark.parametrize("signal, status", [("TERM", 9), ("KILL", 137)])
def test_kill(docker: Docker, signal: str, status: int) -> None:
    name = docker.serve()
    docker("kill", "--signal", signal, name)
    wait_for("exit", lambda: docker.inspect(name, "{{.State.Status}}") == "exited")
    assert docker.inspect(name, "{{.State.ExitCode}}") == str(status)
