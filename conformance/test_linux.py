"""Linux-specific configuration (config-linux.md, config.md "Root"/"Mounts")."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conformance.conftest import CGROUP_PARENT, CGROUP_ROOT, Bundle, BundleFactory
from conformance.runtime import Runtime, wait_for_file
from conformance.util import find_mount, host_ns_inode, parse_mountinfo, parse_status

NS_FILES = {"pid": "pid", "network": "net", "ipc": "ipc", "uts": "uts", "mount": "mnt",
            "cgroup": "cgroup", "user": "user", "time": "time"}
PRINT_NS = ["sh", "-c", "for n in pid net ipc uts mnt cgroup user time; do "
                        "echo $n $(readlink /proc/self/ns/$n); done"]


def _run(rt: Runtime, b: Bundle) -> str:
    """Write the (adjusted) config, `run` the container, return its stdout."""
    b.write()
    return rt.run_container(b.id, b.path).stdout


def _ns_links(out: str) -> dict[str, str]:
    return dict(line.split(" ", 1) for line in out.splitlines() if " " in line)


# -- namespaces -----------------------------------------------------------------------------

def test_new_namespaces_differ_from_host(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Namespaces": each listed type without a path is a new namespace."""
    b = bundle(PRINT_NS)
    links = _ns_links(_run(rt, b))
    for ns in b.linux["namespaces"]:
        kind = NS_FILES[ns["type"]]
        assert links[kind] != host_ns_inode(kind), f"{kind} namespace is the host's"


def test_unlisted_namespaces_are_inherited(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Namespaces": a type not listed is the runtime's namespace."""
    b = bundle(PRINT_NS)
    b.linux["namespaces"] = [n for n in b.linux["namespaces"]
                             if n["type"] not in ("ipc", "network")]
    links = _ns_links(_run(rt, b))
    assert links["ipc"] == host_ns_inode("ipc")
    assert links["net"] == host_ns_inode("net")
    assert links["user"] == host_ns_inode("user")
    assert links["mnt"] != host_ns_inode("mnt")


def test_join_network_namespace_by_path(rt: Runtime, bundle: BundleFactory,
                                        netns: str) -> None:
    """config-linux.md "Namespaces" path: the process joins that namespace."""
    path = f"/run/netns/{netns}"
    b = bundle(PRINT_NS)
    for ns in b.linux["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = path
    links = _ns_links(_run(rt, b))
    assert links["net"] == f"net:[{os.stat(path).st_ino}]"


def test_join_namespace_bad_path_fails(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Namespaces": a path that is not a namespace of that type is an
    error (and nothing is left, runtime.md "Errors")."""
    b = bundle(["true"])
    for ns in b.linux["namespaces"]:
        if ns["type"] == "network":
            ns["path"] = "/proc/self/ns/ipc"  # wrong type
    b.write()
    res = rt.create(b.id, b.path, check=False)
    assert res.returncode != 0
    assert rt.status(b.id) is None


def _userns(b: Bundle) -> None:
    b.linux["namespaces"].append({"type": "user"})
    b.linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    b.linux["gidMappings"] = [{"containerID": 0, "hostID": 200000, "size": 65536}]


def test_user_namespace_mappings(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "User namespace mappings": uid_map/gid_map inside are as configured,
    and the process is root inside but the mapped ids on the host."""
    b = bundle(["sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map > /out/maps; id -u; "
                            "echo ran > /out/ran; exec sleep 1000"])
    _userns(b)
    b.write()
    rt.create(b.id, b.path)
    rt.start(b.id)
    assert wait_for_file(b.out_path("ran"))
    maps = [line.split() for line in b.read_out("maps").splitlines()]
    assert maps == [["0", "100000", "65536"], ["0", "200000", "65536"]]
    pid = rt.state(b.id)["pid"]
    with open(f"/proc/{pid}/status") as f:
        st = parse_status(f.read())
    assert st["Uid"].split()[0] == "100000"
    assert st["Gid"].split()[0] == "200000"
    assert os.readlink(f"/proc/{pid}/ns/user") != host_ns_inode("user")


@pytest.mark.spec_deviation(runtime="runc",
                            reason="runc 1.1.5 knows no time namespace (`namespace time "
                                   "does not exist`) nor timeOffsets")
def test_time_namespace_offsets(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Namespaces" (time) and "Offset for Time Namespace"."""
    b = bundle(["sh", "-c", "readlink /proc/self/ns/time; cat /proc/self/timens_offsets"])
    b.linux["namespaces"].append({"type": "time"})
    b.linux["timeOffsets"] = {"monotonic": {"secs": 86400, "nanosecs": 0},
                              "boottime": {"secs": 172800, "nanosecs": 5}}
    lines = _run(rt, b).splitlines()
    assert lines[0] != host_ns_inode("time")
    offsets = {ln.split()[0]: ln.split()[1:] for ln in lines[1:]}
    assert offsets["monotonic"] == ["86400", "0"]
    assert offsets["boottime"] == ["172800", "5"]


def test_cgroup_namespace_root(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Namespaces" (cgroup): inside a new cgroup namespace the process sees
    its own cgroup as the root."""
    b = bundle(["cat", "/proc/self/cgroup"])
    lines = _run(rt, b).splitlines()
    assert lines and all(line.split(":", 2)[2] == "/" for line in lines), lines


# -- root and mounts --------------------------------------------------------------------------

def test_root_readonly(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Root" readonly: the root filesystem is read-only inside."""
    b = bundle(["sh", "-c", "touch /newfile 2>&1; echo rc=$?; cat /proc/self/mountinfo"])
    out = _run(rt, b)
    assert "rc=0" not in out and "Read-only file system" in out
    mounts = parse_mountinfo(out)
    assert "ro" in find_mount(mounts, "/").options


def test_root_writable_and_relative_path(rt: Runtime, bundle: BundleFactory,
                                         rootfs: str) -> None:
    """config.md "Root": readonly false gives a writable root; a relative path is relative
    to the bundle (this test uses its own copy of the rootfs)."""
    b = bundle(["sh", "-c", "echo inside > /written"])
    shutil.copytree(rootfs, os.path.join(b.path, "myroot"), symlinks=True)
    b.config["root"] = {"path": "myroot", "readonly": False}
    _run(rt, b)
    with open(os.path.join(b.path, "myroot", "written")) as f:
        assert f.read() == "inside\n"


def test_mounts_proc_tmpfs_bind(rt: Runtime, bundle: BundleFactory, test_dir: str) -> None:
    """config.md "Mounts" and "Linux mount options": proc, tmpfs with options, rw bind and
    ro bind are in place with their flags."""
    src = os.path.join(test_dir, "bindsrc")
    os.makedirs(src)
    with open(os.path.join(src, "hello"), "w") as f:
        f.write("from host\n")
    os.chmod(src, 0o777)
    b = bundle(["sh", "-c", "cat /mnt/b/hello; echo fromctr > /mnt/b/new; "
                            "touch /mnt/c/x 2>/dev/null && echo ro-writable; "
                            "cat /proc/self/mountinfo"])
    b.config["mounts"] += [
        {"destination": "/mnt/a", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "noexec", "mode=1770", "size=1m"]},
        {"destination": "/mnt/b", "type": "bind", "source": src, "options": ["bind", "rw"]},
        {"destination": "/mnt/c", "type": "bind", "source": src,
         "options": ["bind", "ro", "nosuid"]},
    ]
    lines = _run(rt, b).splitlines()
    assert lines[0] == "from host"
    assert "ro-writable" not in lines
    mounts = parse_mountinfo("\n".join(lines[1:]))
    assert find_mount(mounts, "/proc").fstype == "proc"
    tmp = find_mount(mounts, "/mnt/a")
    assert tmp.fstype == "tmpfs"
    assert {"nosuid", "nodev", "noexec"} <= tmp.options
    assert {"size=1024k", "mode=1770"} <= tmp.super_options
    rw = find_mount(mounts, "/mnt/b")
    assert "rw" in rw.options
    ro = find_mount(mounts, "/mnt/c")
    assert {"ro", "nosuid"} <= ro.options
    with open(os.path.join(src, "new")) as f:
        assert f.read() == "fromctr\n"


@pytest.mark.spec_deviation(
    runtime="runc", reason="runc 1.1.5 chmods a tmpfs mount's root back to the mode of the "
                           "directory it covers, overriding the mode= option")
def test_tmpfs_mode_option(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Mounts" options: options are the filesystem's (mount(8)); tmpfs mode=
    sets the permissions of the mount's root directory."""
    b = bundle(["stat", "-c", "%a", "/mnt/a"])
    b.config["mounts"].append({"destination": "/mnt/a", "type": "tmpfs", "source": "tmpfs",
                               "options": ["mode=1770", "size=1m"]})
    assert _run(rt, b).strip() == "1770"


def test_mounts_in_order(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Mounts": mounts are made in the listed order (a later mount stacks on a
    directory inside an earlier one)."""
    b = bundle(["cat", "/proc/self/mountinfo"])
    b.config["mounts"] += [
        {"destination": "/mnt/a", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]},
        {"destination": "/mnt/a/inner", "type": "tmpfs", "source": "inner",
         "options": ["size=2m"]},
    ]
    mounts = parse_mountinfo(_run(rt, b))
    outer = find_mount(mounts, "/mnt/a")
    inner = find_mount(mounts, "/mnt/a/inner")
    assert "size=2048k" in inner.super_options
    assert mounts.index(outer) < mounts.index(inner)


def test_masked_paths(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Masked Paths": masked files read empty, masked dirs list empty.
    (/proc/version and /sys/kernel exist on every kernel, unlike /proc/kcore.)"""
    b = bundle(["sh", "-c", "wc -c < /proc/version; ls -A /sys/kernel | wc -l"])
    b.linux["maskedPaths"] += ["/proc/version", "/sys/kernel"]
    assert _run(rt, b).split() == ["0", "0"]


def test_readonly_paths(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Readonly Paths": /proc/sys is read-only inside."""
    b = bundle(["sh", "-c", "echo x 2>&1 > /proc/sys/kernel/hostname; "
                            "cat /proc/self/mountinfo"])
    assert "/proc/sys" in b.linux["readonlyPaths"]
    out = _run(rt, b)
    assert "ro" in find_mount(parse_mountinfo(out), "/proc/sys").options


def test_default_devices(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Default Devices": null, zero, full, random, urandom, tty, ptmx."""
    devs = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"]
    b = bundle(["sh", "-c", "stat -L -c '%n %F %t:%T' " + " ".join(devs) +
                            "; test -e /dev/ptmx && echo ptmx"])
    lines = _run(rt, b).splitlines()
    want = {"/dev/null": "1:3", "/dev/zero": "1:5", "/dev/full": "1:7", "/dev/random": "1:8",
            "/dev/urandom": "1:9", "/dev/tty": "5:0"}
    got = {ln.split()[0]: ln.split()[-1] for ln in lines if ln.startswith("/dev/")}
    assert got == want
    assert all("character special file" in ln for ln in lines if ln.startswith("/dev/"))
    assert "ptmx" in lines


def test_dev_symlinks(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime-linux.md "Dev symbolic links"."""
    b = bundle(["sh", "-c", "for l in fd stdin stdout stderr; do readlink /dev/$l; done"])
    assert _run(rt, b).split() == ["/proc/self/fd", "/proc/self/fd/0", "/proc/self/fd/1",
                                   "/proc/self/fd/2"]


def test_linux_devices(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Devices": the device node is created with type, numbers, mode and
    owner; config-linux.md "Allowed Device list" lets it be used."""
    b = bundle(["sh", "-c", "stat -c '%F %t:%T %a %u %g' /dev/conf-zero; "
                            "head -c 4 /dev/conf-zero | wc -c"])
    # the owner reads it: root here lacks CAP_DAC_OVERRIDE (not in the default caps)
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.linux["devices"] = [{"path": "/dev/conf-zero", "type": "c", "major": 1, "minor": 5,
                           "fileMode": 0o640, "uid": 1000, "gid": 1001}]
    b.linux["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 1, "minor": 5, "access": "rwm"})
    lines = _run(rt, b).splitlines()
    assert lines[0] == "character special file 1:5 640 1000 1001"
    assert lines[1].strip() == "4"


def test_sysctl(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Sysctl": set in the container's (new) network namespace."""
    b = bundle(["cat", "/proc/sys/net/ipv4/ip_forward"])
    b.linux["sysctl"] = {"net.ipv4.ip_forward": "1"}
    assert _run(rt, b).strip() == "1"
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host_value = f.read().strip()
    # the host's value is whatever it was; only the container's namespace was changed
    assert host_value in ("0", "1")


def test_seccomp_errno(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Seccomp": a rule with SCMP_ACT_ERRNO makes the syscall fail with
    errnoRet, other syscalls are allowed."""
    b = bundle(["sh", "-c", "mkdir /mnt/a/x 2>&1; echo rc=$?; grep ^Seccomp: /proc/self/status"])
    b.config["mounts"].append({"destination": "/mnt/a", "type": "tmpfs", "source": "tmpfs"})
    b.linux["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}
    out = _run(rt, b)
    assert "Operation not permitted" in out and "rc=1" in out
    assert "Seccomp:\t2" in out


# -- cgroups --------------------------------------------------------------------------------

def _cgroup_file(cid: str, controller: str, v1_name: str, v2_name: str) -> str:
    """The container's cgroup file, v1 hierarchy first, cgroup2 (hybrid or unified) second."""
    for path in (os.path.join(CGROUP_ROOT, controller, CGROUP_PARENT, cid, v1_name),
                 os.path.join(CGROUP_ROOT, "unified", CGROUP_PARENT, cid, v2_name),
                 os.path.join(CGROUP_ROOT, CGROUP_PARENT, cid, v2_name)):
        if os.path.exists(path):
            return path
    raise AssertionError(f"no {controller} cgroup file for {cid}")


def test_cgroup_limits(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Memory" and "PIDs": limits land in the container's cgroup."""
    b = bundle(["sleep", "1000"])
    b.linux["resources"]["memory"] = {"limit": 64 * 1024 * 1024}
    b.linux["resources"]["pids"] = {"limit": 42}
    b.write()
    rt.create(b.id, b.path)
    with open(_cgroup_file(b.id, "pids", "pids.max", "pids.max")) as f:
        assert f.read().strip() == "42"
    with open(_cgroup_file(b.id, "memory", "memory.limit_in_bytes", "memory.max")) as f:
        assert f.read().strip() == str(64 * 1024 * 1024)


def test_pids_limit_enforced(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "PIDs": the limit counts the container's tasks."""
    b = bundle(["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 2 & done 2>&1; wait"])
    b.linux["resources"]["pids"] = {"limit": 4}
    b.write()
    rt.track(b.id)
    res = rt.run("run", "--bundle", b.path, b.id, check=False, timeout=30)
    assert "can't fork" in res.stdout + res.stderr or "Resource temporarily" in (
        res.stdout + res.stderr), res


# -- process settings that are Linux-specific --------------------------------------------------

def test_oom_score_adj_unset_inherited(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Linux Process" oomScoreAdj: when unset the runtime must not change it, so
    the process has the value the runtime was started with (ours)."""
    b = bundle(["cat", "/proc/self/oom_score_adj"])
    with open("/proc/self/oom_score_adj") as f:
        ours = f.read().strip()
    assert _run(rt, b).strip() == ours


@pytest.mark.spec_deviation(runtime="runc",
                            reason="runc 1.1.5 ignores linux.personality")
def test_personality_linux32(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Personality": LINUX32 makes uname report a 32-bit machine."""
    if os.uname().machine != "x86_64":
        pytest.skip("LINUX32 check written for x86_64 hosts")
    b = bundle(["uname", "-m"])
    b.linux["personality"] = {"domain": "LINUX32"}
    assert _run(rt, b).strip() in ("i686", "i386")


@pytest.mark.spec_deviation(runtime="runc",
                            reason="runc 1.1.5 ignores process.scheduler")
def test_scheduler(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Linux Process" scheduler: policy and nice are applied."""
    b = bundle(["cat", "/proc/self/stat"])
    b.process["scheduler"] = {"policy": "SCHED_BATCH", "nice": 5}
    fields = _run(rt, b).rsplit(")", 1)[1].split()
    # fields[0] is field 3 of proc(5): nice is field 19, policy field 41
    assert fields[19 - 3] == "5"
    assert fields[41 - 3] == "3"  # SCHED_BATCH


@pytest.mark.spec_deviation(runtime="runc",
                            reason="runc 1.1.5 ignores process.ioPriority")
def test_io_priority(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Linux Process" ioPriority."""
    b = bundle(["sh", "-c", "ionice -p $$"])
    b.process["ioPriority"] = {"class": "IOPRIO_CLASS_BE", "priority": 6}
    assert _run(rt, b).strip() == "best-effort: prio 6"


@pytest.mark.spec_deviation(runtime="runc",
                            reason="runc 1.1.5 does not implement linux.netDevices")
def test_net_devices(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Network Devices": the host device is moved into the container's
    network namespace under the new name, keeps its global address, and is up."""
    host_name, peer = f"ocd{os.getpid() % 100000}", f"ocp{os.getpid() % 100000}"
    # one end of a veth pair (kernels without the dummy driver have veth): the pair goes
    # with the container's namespace, or when either end is deleted here
    subprocess.run(["ip", "link", "add", host_name, "type", "veth", "peer", "name", peer],
                   check=True)
    try:
        subprocess.run(["ip", "addr", "add", "10.213.7.1/24", "dev", host_name], check=True)
        b = bundle(["ip", "addr", "show", "ctr0"])
        b.linux["netDevices"] = {host_name: {"name": "ctr0"}}
        out = _run(rt, b)
        assert "10.213.7.1/24" in out
        assert ",UP" in out or "<UP" in out
    finally:
        for name in (host_name, peer):  # the kernel removes the pair asynchronously
            subprocess.run(["ip", "link", "del", name], check=False,
                           stderr=subprocess.DEVNULL)


@pytest.mark.spec_deviation(runtime="runc",
                            reason="runc 1.1.5 does not implement linux.memoryPolicy")
def test_memory_policy(rt: Runtime, bundle: BundleFactory) -> None:
    """config-linux.md "Memory policy": MPOL_BIND to node 0 shows in numa_maps."""
    if not os.path.exists("/proc/self/numa_maps"):
        pytest.skip("kernel without NUMA support")
    b = bundle(["cat", "/proc/self/numa_maps"])
    b.linux["memoryPolicy"] = {"mode": "MPOL_BIND", "nodes": "0"}
    out = _run(rt, b)
    assert "bind:0" in out
