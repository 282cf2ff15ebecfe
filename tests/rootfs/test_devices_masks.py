"""Devices (config-linux.md "Devices", "Default Devices"), masks, sysctl validation and
bind flags locked by a user namespace."""

from __future__ import annotations

import os
import subprocess

import pytest

from ocirt.errors import ConfigError
from ocirt.native.plan import Device, Mount, Namespace
from ocirt.plan.sysctl import plan_sysctl
from tests.rootfs.conftest import default_plan

CLONE_NEWUSER, MS_BIND, MS_RDONLY, MS_REC = 0x10000000, 0x1000, 0x1, 0x4000


def sh(script: str) -> list[str]:
    return ["/bin/sh", "-c", script]


def test_device_mode_and_owner(runner, rootfs):
    plan = default_plan(rootfs, sh("stat -c '%n %F %t:%T %a %u:%g' /dev/a /dev/b /dev/p"))
    plan.devices += [Device("/dev/a", "c", 1, 7, 0o600, 1000, 1001),
                     Device("/dev/b", "b", 7, 200, 0o640, 0, 6),
                     Device("/dev/p", "p", 0, 0, 0o666, 5, 5)]
    out = runner.run(plan).output.splitlines()
    assert out == ["/dev/a character special file 1:7 600 1000:1001",
                   "/dev/b block special file 7:c8 640 0:6",
                   "/dev/p fifo 0:0 666 5:5"]


def test_default_devices_and_links_through_the_cli(ocirt):
    bundle, cfg = ocirt.bundle(sh(
        "for d in null zero full random urandom tty; do stat -c '%n %t:%T %a' /dev/$d; done;"
        " for l in fd stdin stdout stderr ptmx; do echo $l=$(readlink /dev/$l); done;"
        " test -d /dev/pts && test -d /dev/shm && echo dirs"))
    out = ocirt("run", "--bundle", bundle, ocirt.new_id()).stdout.splitlines()
    assert out[:6] == ["/dev/null 1:3 666", "/dev/zero 1:5 666", "/dev/full 1:7 666",
                       "/dev/random 1:8 666", "/dev/urandom 1:9 666", "/dev/tty 5:0 666"]
    assert out[6:11] == ["fd=/proc/self/fd", "stdin=/proc/self/fd/0",
                         "stdout=/proc/self/fd/1", "stderr=/proc/self/fd/2", "ptmx=pts/ptmx"]
    assert out[11] == "dirs"


def test_linux_devices_through_the_cli(ocirt):
    bundle, cfg = ocirt.bundle(sh("stat -c '%t:%T %a %u:%g' /dev/mine"))
    cfg["linux"]["devices"] = [{"path": "/dev/mine", "type": "c", "major": 1, "minor": 3,
                                "fileMode": 0o620, "uid": 7, "gid": 8}]
    ocirt.write(bundle, cfg)
    assert ocirt("run", "--bundle", bundle, ocirt.new_id()).stdout == "1:3 620 7:8\n"


def _userns_plan(rootfs: str, args: list[str]):
    plan = default_plan(rootfs, args)
    plan.namespaces.insert(0, Namespace(CLONE_NEWUSER))
    plan.new_userns = True
    plan.uid_mappings = plan.gid_mappings = "0 0 4294967295\n"
    for d in plan.devices:
        d.bind_from_host = True
    return plan


def test_devices_are_bound_from_the_host_in_a_user_namespace(runner, rootfs):
    plan = _userns_plan(rootfs, sh("stat -c '%t:%T' /dev/null /dev/zero; "
                                   "grep -c ' /dev/null ' /proc/self/mountinfo"))
    assert runner.run(plan).output == "1:3\n1:5\n1\n"


def test_ro_bind_keeps_locked_flags_in_a_user_namespace(runner, rootfs, workdir):
    src = os.path.join(workdir, "shm")
    os.mkdir(src)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,nosuid,nodev,noexec", "ocirt-shm",
                    src], check=True)
    try:
        plan = _userns_plan(rootfs, sh("grep ' /mnt/shm ' /proc/self/mountinfo"))
        plan.mounts.append(Mount("/mnt/shm", src, "", MS_BIND | MS_REC | MS_RDONLY))
        out = runner.run(plan).output
    finally:
        subprocess.run(["umount", "-l", src], check=False)
    assert set(out.split()[5].split(",")) >= {"ro", "nosuid", "nodev", "noexec"}, out


def test_masked_file_and_directory(runner, rootfs):
    os.makedirs(os.path.join(rootfs, "sec", "dir"))
    with open(os.path.join(rootfs, "sec", "dir", "f"), "w") as f:
        f.write("hidden\n")
    with open(os.path.join(rootfs, "sec", "file"), "w") as f:
        f.write("hidden\n")
    plan = default_plan(rootfs, sh("cat /sec/file; ls /sec/dir; touch /sec/dir/x || echo ro;"
                                   " echo done"),
                        masked_paths=["/sec/file", "/sec/dir", "/missing"],
                        readonly_paths=["/sec", "/missing2"])
    assert runner.run(plan).output.endswith("ro\ndone\n")
    assert "hidden" not in runner.run(plan).output


@pytest.mark.parametrize("key,ns,ok", [
    ("kernel.shmmax", {"ipc": None}, True), ("kernel.msgmax", {"ipc": None}, True),
    ("kernel.sem", {"ipc": None}, True), ("fs.mqueue.msg_max", {"ipc": None}, True),
    ("net.ipv4.ip_forward", {"network": None}, True),
    ("kernel.hostname", {"uts": None}, True), ("kernel.domainname", {"uts": None}, True),
    ("kernel.shmmax", {}, False), ("net.ipv4.ip_forward", {}, False),
    ("kernel.hostname", {"ipc": None}, False),
    ("kernel.pid_max", {"ipc": None, "network": None, "uts": None}, False),
    ("vm.swappiness", {"ipc": None}, False), ("kernel.semx", {"ipc": None}, False),
    ("net..x", {"network": None}, False), ("net.ipv4/../x", {"network": None}, False),
    ("net.ipv4.ip_forward", {"network": "/proc/self/ns/net"}, False),
])
def test_sysctl_validation(key, ns, ok):
    if ok:
        assert plan_sysctl({key: "1"}, ns) == [(key, "1")]
    else:
        with pytest.raises(ConfigError) as e:
            plan_sysctl({key: "1"}, ns)
        assert key in str(e.value) and "linux.sysctl" in str(e.value)


def test_sysctl_error_through_the_cli(ocirt):
    bundle, cfg = ocirt.bundle(["true"])
    cfg["linux"]["sysctl"] = {"kernel.pid_max": "40000"}
    ocirt.write(bundle, cfg)
    res = ocirt("run", "--bundle", bundle, ocirt.new_id(), check=False)
    assert res.returncode != 0 and "linux.sysctl['kernel.pid_max']" in res.stderr


def test_mount_label_is_ignored_without_selinux(ocirt):
    bundle, cfg = ocirt.bundle(["true"])
    cfg["linux"]["mountLabel"] = "system_u:object_r:container_file_t:s0"
    ocirt.write(bundle, cfg)
    log = os.path.join(bundle, "log")
    ocirt("run", "--bundle", bundle, ocirt.new_id(), glob_args=("--debug", "--log", log))
    with open(log) as f:
        assert "mountLabel" in f.read()
