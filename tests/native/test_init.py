"""Drive InitProcess.start with hand-built plans on a busybox rootfs (root only)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from conftest import (
    CLONE_NEWCGROUP,
    CLONE_NEWNET,
    CLONE_NEWTIME,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_RDONLY,
    MS_REC,
    default_plan,
)

from ocirt.errors import InitError
from ocirt.native.plan import Capabilities, Device, Mount, Namespace, Rlimit


def sh(script: str) -> list[str]:
    return ["/bin/sh", "-c", script]


def test_echo(runner, rootfs):
    r = runner.run(default_plan(rootfs, sh("echo hello; echo pid=$$")))
    assert r.status == 0
    assert r.output == "hello\npid=1\n"


def test_exit_status_passes_through(runner, rootfs):
    assert runner.run(default_plan(rootfs, sh("exit 42"))).status == 42


def test_waiting_init_is_sealed_memfd_and_not_dumpable(runner, rootfs):
    init = runner.create(default_plan(rootfs, ["/bin/true"], uid=1000, gid=1000))
    exe = os.readlink(f"/proc/{init.pid}/exe")
    assert exe.startswith("/memfd:ocirt-init"), exe
    # a non-dumpable process's /proc/<pid>/* files belong to root, not to its uid 1000
    st = os.stat(f"/proc/{init.pid}/status")
    assert (st.st_uid, st.st_gid) == (0, 0)
    with open(f"/proc/{init.pid}/status") as f:
        status = f.read()
    assert "\nUid:\t1000\t1000\t1000\t1000\n" in status
    assert runner.start(init).status == 0


def test_exec_fifo_blocks_until_start(runner, rootfs, workdir):
    init = runner.create(default_plan(rootfs, sh("echo started")))
    time.sleep(0.05)
    with open(f"/proc/{init.pid}/wchan") as f:
        assert f.read() != ""
    assert open(init.out_path).read() == ""
    assert runner.start(init).output == "started\n"


def test_args_env_cwd(runner, rootfs):
    os.makedirs(os.path.join(rootfs, "work/dir"))
    plan = default_plan(rootfs, ["sh", "-c", 'echo "$1|$FOO|$(pwd)"', "arg0", "a b"],
                        env=["PATH=/bin", "FOO=bar baz"], cwd="/work/dir")
    assert runner.run(plan).output == "a b|bar baz|/work/dir\n"


def test_user_groups_umask(runner, rootfs):
    plan = default_plan(rootfs, sh("id -u; id -g; id -G; umask; touch /tmp/f; stat -c %a /tmp/f"),
                        uid=1000, gid=1001, additional_gids=[5, 1001, 2000], umask=0o027)
    assert runner.run(plan).output.split("\n") == ["1000", "1001", "1001 5 2000", "0027",
                                                   "640", ""]


def test_default_umask_is_022(runner, rootfs):
    assert runner.run(default_plan(rootfs, sh("umask"))).output == "0022\n"


def test_rlimits(runner, rootfs):
    plan = default_plan(rootfs, sh("ulimit -n; ulimit -Hn; ulimit -c"),
                        rlimits=[Rlimit(7, 512, 1024), Rlimit(4, 0, 0)])
    assert runner.run(plan).output == "512\n1024\n0\n"


def test_hostname_domainname(runner, rootfs):
    plan = default_plan(rootfs, sh("cat /proc/sys/kernel/hostname /proc/sys/kernel/domainname"),
                        hostname="box", domainname="example.org")
    assert runner.run(plan).output == "box\nexample.org\n"


def test_oom_score_adj(runner, rootfs):
    plan = default_plan(rootfs, sh("cat /proc/self/oom_score_adj"), oom_score_adj=500)
    assert runner.run(plan).output == "500\n"


def test_no_new_privileges(runner, rootfs):
    plan = default_plan(rootfs, sh("grep NoNewPrivs /proc/self/status"), no_new_privileges=True)
    assert runner.run(plan).output.split() == ["NoNewPrivs:", "1"]
    plan = default_plan(rootfs, sh("grep NoNewPrivs /proc/self/status"))
    assert runner.run(plan).output.split() == ["NoNewPrivs:", "0"]


def _caps(text: str) -> dict[str, int]:
    out = {}
    for line in text.splitlines():
        if line.startswith("Cap"):
            k, v = line.split(":")
            out[k] = int(v, 16)
    return out


CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_NET_BIND = 0, 1, 5, 6, 7, 10
CAP_NET_RAW, CAP_SYS_ADMIN = 13, 21


def bits(*caps: int) -> int:
    return sum(1 << c for c in caps)


def test_capabilities_of_waiting_init(runner, rootfs):
    """The init itself holds exactly the five sets right before execve."""
    caps = Capabilities(bounding=bits(CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_KILL, CAP_NET_BIND,
                                      CAP_NET_RAW),
                        permitted=bits(CAP_CHOWN, CAP_KILL, CAP_NET_BIND, CAP_NET_RAW),
                        effective=bits(CAP_KILL, CAP_NET_BIND),
                        inheritable=bits(CAP_NET_BIND, CAP_NET_RAW),
                        ambient=bits(CAP_NET_BIND))
    init = runner.create(default_plan(rootfs, ["/bin/true"], capabilities=caps))
    with open(f"/proc/{init.pid}/status") as f:
        got = _caps(f.read())
    assert got == {"CapInh": caps.inheritable, "CapPrm": caps.permitted,
                   "CapEff": caps.effective, "CapBnd": caps.bounding, "CapAmb": caps.ambient}
    assert runner.start(init).status == 0


def test_capabilities_after_exec_non_root(runner, rootfs):
    caps = Capabilities(bounding=bits(CAP_KILL, CAP_NET_BIND, CAP_NET_RAW),
                        permitted=bits(CAP_KILL, CAP_NET_BIND, CAP_NET_RAW),
                        effective=bits(CAP_KILL, CAP_NET_BIND, CAP_NET_RAW),
                        inheritable=bits(CAP_NET_BIND, CAP_NET_RAW),
                        ambient=bits(CAP_NET_BIND))
    plan = default_plan(rootfs, sh("grep Cap /proc/self/status"), uid=1000, gid=1000,
                        capabilities=caps)
    got = _caps(runner.run(plan).output)
    # execve of a plain file by a non-root user keeps only the ambient set
    assert got == {"CapInh": caps.inheritable, "CapPrm": caps.ambient, "CapEff": caps.ambient,
                   "CapBnd": caps.bounding, "CapAmb": caps.ambient}


def test_capabilities_after_exec_root(runner, rootfs):
    caps = Capabilities(bounding=bits(CAP_CHOWN, CAP_KILL, CAP_NET_BIND),
                        permitted=bits(CAP_KILL), effective=bits(CAP_KILL))
    got = _caps(runner.run(default_plan(rootfs, sh("grep Cap /proc/self/status"),
                                        capabilities=caps)).output)
    # root regains its whole bounding set on execve
    assert got == {"CapInh": 0, "CapPrm": caps.bounding, "CapEff": caps.bounding,
                   "CapBnd": caps.bounding, "CapAmb": 0}


def test_capabilities_none_leaves_them(runner, rootfs):
    with open("/proc/self/status") as f:
        mine = _caps(f.read())
    got = _caps(runner.run(default_plan(rootfs, sh("grep Cap /proc/self/status"))).output)
    assert got["CapBnd"] == mine["CapBnd"]


def _with_fds(targets: dict[int, int], fn):
    """Run fn() with targets[n] dup2'ed onto fd n (inheritable), then restore fd n."""
    saved = {}
    for n in targets:
        try:
            saved[n] = os.dup(n)
        except OSError:
            saved[n] = -1
    try:
        for n, src in targets.items():
            os.dup2(src, n)
        return fn()
    finally:
        for n, old in saved.items():
            if old >= 0:
                os.dup2(old, n)
                os.close(old)
            else:
                os.close(n)


def test_preserve_fds(runner, rootfs, workdir):
    paths = [os.path.join(workdir, n) for n in ("three", "four", "leak")]
    opened = [os.open(p, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644) for p in paths]
    try:
        os.set_inheritable(opened[2], True)  # a stray inheritable fd must not reach either
        # no pipelines: the shell would briefly hold pipe fds of its own
        plan = default_plan(rootfs, sh("ls /proc/$$/fd; readlink /proc/$$/fd/3"),
                            preserve_fds=1)
        init = _with_fds({3: opened[0], 4: opened[1]}, lambda: runner.create(plan))
    finally:
        for fd in opened:
            os.close(fd)
    out = runner.start(init).output
    assert out == f"0\n1\n2\n3\n{paths[0]}\n", out


def test_preserved_cloexec_fd_still_reaches(runner, rootfs, workdir):
    path = os.path.join(workdir, "cloexec")
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def create():
        os.set_inheritable(3, False)
        return runner.create(default_plan(rootfs, sh("readlink /proc/1/fd/3"), preserve_fds=1))

    try:
        init = _with_fds({3: fd}, create)
    finally:
        os.close(fd)
    assert runner.start(init).output == f"{path}\n"


# -- mounts ---------------------------------------------------------------------------------

def _mountinfo_line(output: str, mountpoint: str) -> list[str]:
    for line in output.splitlines():
        f = line.split()
        if len(f) > 4 and f[4] == mountpoint:
            return f
    raise AssertionError(f"{mountpoint} not mounted:\n{output}")


def test_basic_mounts(runner, rootfs, workdir):
    host = os.path.join(workdir, "hostdir")
    os.mkdir(host)
    with open(os.path.join(host, "hello"), "w") as f:
        f.write("from host\n")
    plan = default_plan(rootfs, sh("cat /proc/self/mountinfo; cat /bind/hello /robind/hello; "
                                   "echo x > /bind/w && echo bind-rw; "
                                   "echo x > /robind/w2 || echo robind-ro; "
                                   "echo x > /scratch/w && echo tmpfs-rw"))
    plan.mounts += [
        Mount("/scratch", "tmpfs", "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=700"),
        Mount("/bind", host, "", MS_BIND | MS_REC),
        Mount("/robind", host, "", MS_BIND | MS_REC | MS_RDONLY | MS_NOSUID),
        Mount("/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620"),
        Mount("/dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777"),
        Mount("/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC),
        Mount("/sys", "sysfs", "sysfs", MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY),
    ]
    plan.namespaces.append(Namespace(CLONE_NEWNET))  # sysfs needs a netns of our own
    r = runner.run(plan)
    assert r.status == 0, r.output
    out = r.output
    assert "from host\nfrom host\n" in out
    assert "bind-rw" in out and "robind-ro" in out and "tmpfs-rw" in out
    assert os.path.exists(os.path.join(host, "w")) and not os.path.exists(
        os.path.join(host, "w2"))
    proc = _mountinfo_line(out, "/proc")
    assert proc[-3:-1] == ["proc", "proc"] and "nosuid" in proc[5] and "noexec" in proc[5]
    scratch = _mountinfo_line(out, "/scratch")
    assert "tmpfs" in scratch and "mode=700" in scratch[-1] and "nodev" in scratch[5]
    assert _mountinfo_line(out, "/bind")[5].startswith("rw")
    ro = _mountinfo_line(out, "/robind")
    assert ro[5].startswith("ro") and "nosuid" in ro[5]
    assert _mountinfo_line(out, "/sys")[5].startswith("ro")
    for m in ("/dev/pts", "/dev/shm", "/dev/mqueue"):
        _mountinfo_line(out, m)
    # pivot_root: the host's mounts are gone
    assert all(f.split()[4] != "/work" for f in out.splitlines() if len(f.split()) > 4)


def test_bind_file_onto_created_file(runner, rootfs, workdir):
    src = os.path.join(workdir, "file.txt")
    with open(src, "w") as f:
        f.write("file content\n")
    plan = default_plan(rootfs, sh("cat /etc/deep/dir/file.txt"))
    plan.mounts.append(Mount("/etc/deep/dir/file.txt", src, "", MS_BIND, dest_is_file=True))
    assert runner.run(plan).output == "file content\n"
    assert os.path.isfile(os.path.join(rootfs, "etc/deep/dir/file.txt"))


def test_rootfs_readonly(runner, rootfs):
    plan = default_plan(rootfs, sh("touch /x || echo ro; touch /dev/x && echo devrw"),
                        rootfs_readonly=True)
    r = runner.run(plan)
    assert "ro\n" in r.output and "devrw" in r.output


def test_no_pivot(runner, rootfs):
    plan = default_plan(rootfs, sh("ls /bin/busybox && grep -c . /proc/self/mountinfo"),
                        no_pivot=True)
    r = runner.run(plan)
    assert r.status == 0 and r.output.startswith("/bin/busybox\n"), r.output


def test_masked_and_readonly_paths(runner, rootfs):
    plan = default_plan(rootfs, sh("cat /proc/timer_list | wc -c; ls /proc/acpi | wc -l; "
                                   "echo 1 > /proc/sys/kernel/domainname || echo ro-sys"),
                        masked_paths=["/proc/timer_list", "/proc/acpi", "/proc/nonexistent"],
                        readonly_paths=["/proc/sys", "/proc/nonexistent2"])
    r = runner.run(plan)
    lines = r.output.split("\n")
    assert lines[0].strip() == "0"
    assert "ro-sys" in r.output


def test_sysctl(runner, rootfs):
    plan = default_plan(rootfs, sh("cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni"),
                        sysctl=[("net.ipv4.ip_forward", "1"), ("kernel.shmmni", "1000")])
    plan.namespaces.append(Namespace(CLONE_NEWNET))
    assert runner.run(plan).output == "1\n1000\n"


def test_symlink_escape_in_mount_destination(runner, rootfs, workdir):
    outside = os.path.join(workdir, "outside")  # what the symlink points at on the host
    os.mkdir(outside)
    os.symlink("/../../../../.." + outside, os.path.join(rootfs, "evil"))
    os.symlink("../../../../../../" + outside.lstrip("/"), os.path.join(rootfs, "evil2"))
    plan = default_plan(rootfs, sh("echo marker > /evil/m && echo marker > /evil2/m && "
                                   "grep -c tmpfs /proc/self/mountinfo"))
    plan.mounts += [Mount("/evil", "tmpfs", "tmpfs", 0), Mount("/evil2/", "tmpfs", "tmpfs", 0)]
    r = runner.run(plan)
    assert r.status == 0, r.output
    assert os.listdir(outside) == []
    # created (and mounted) inside the rootfs instead
    assert os.path.isdir(os.path.join(rootfs, outside.lstrip("/")))


def test_device_nodes(runner, rootfs):
    plan = default_plan(rootfs, sh("stat -c '%F %t %T %a %u %g' /dev/null /dev/mine; "
                                   "ls -l /dev/fd | grep -c /proc/self/fd"))
    plan.devices.append(Device("/dev/mine", "c", 1, 7, 0o640, 1000, 1001))
    out = runner.run(plan).output.split("\n")
    assert out[0] == "character special file 1 3 666 0 0"
    assert out[1] == "character special file 1 7 640 1000 1001"
    assert out[2] == "1"


# -- namespaces -----------------------------------------------------------------------------

def _ns(pid: int | str, kind: str) -> str:
    return os.readlink(f"/proc/{pid}/ns/{kind}")


def test_new_namespaces_differ_from_host(runner, rootfs):
    plan = default_plan(rootfs, sh("for n in mnt pid uts ipc net cgroup; do "
                                   "readlink /proc/self/ns/$n; done"))
    plan.namespaces += [Namespace(CLONE_NEWNET), Namespace(CLONE_NEWCGROUP)]
    got = runner.run(plan).output.split()
    for kind, val in zip(["mnt", "pid", "uts", "ipc", "net", "cgroup"], got, strict=True):
        assert val != _ns("self", kind), kind


def test_join_namespaces_by_path(runner, rootfs):
    holder = subprocess.Popen(["unshare", "--net", "--uts", "sleep", "60"])
    try:
        deadline = time.time() + 5
        while _ns(holder.pid, "net") == _ns("self", "net") and time.time() < deadline:
            time.sleep(0.01)
        plan = default_plan(rootfs, sh("readlink /proc/self/ns/net; readlink /proc/self/ns/uts"))
        plan.namespaces = [n for n in plan.namespaces if n.flag != CLONE_NEWUTS]
        plan.namespaces += [Namespace(CLONE_NEWNET, f"/proc/{holder.pid}/ns/net"),
                            Namespace(CLONE_NEWUTS, f"/proc/{holder.pid}/ns/uts")]
        got = runner.run(plan).output.split()
        assert got == [_ns(holder.pid, "net"), _ns(holder.pid, "uts")]
    finally:
        holder.kill()
        holder.wait()


def test_join_missing_namespace_path(runner, rootfs):
    plan = default_plan(rootfs, ["/bin/true"])
    plan.namespaces.append(Namespace(CLONE_NEWNET, "/nonexistent/ns"))
    with pytest.raises(InitError, match="^open network namespace /nonexistent/ns: no such file"):
        runner.create(plan)


def test_missing_cgroup_tasks_file_is_named(runner, rootfs):
    """A v1 cgroup the init should move itself into, gone (exec after an outside rmdir):
    one error naming the file, and no init left."""
    plan = default_plan(rootfs, ["/bin/true"])
    with pytest.raises(InitError, match="^join cgroup: open /nonexistent/cg/tasks: no such file"):
        runner.create(plan, cgroup_targets=(None, ["/nonexistent/cg/tasks"]))


def test_user_namespace(runner, rootfs):
    plan = default_plan(rootfs, sh("cat /proc/self/uid_map /proc/self/gid_map; id -u; "
                                   "cat /dev/null && echo devnull-ok"),
                        new_userns=True, uid_mappings="0 100000 65536\n",
                        gid_mappings="0 100000 65536\n")
    plan.namespaces.insert(0, Namespace(CLONE_NEWUSER))
    plan.devices = [Device(d.path, d.kind, d.major, d.minor, d.mode, 0, 0, bind_from_host=True)
                    for d in plan.devices]
    init = runner.create(plan)
    with open(f"/proc/{init.pid}/status") as f:
        assert "\nUid:\t100000\t100000\t100000\t100000\n" in f.read()
    r = runner.start(init)
    assert r.status == 0, r.output
    lines = [x.split() for x in r.output.splitlines()]
    assert lines[0] == ["0", "100000", "65536"] and lines[1] == ["0", "100000", "65536"]
    assert lines[2] == ["0"] and lines[3] == ["devnull-ok"]


def test_time_namespace_offsets(runner, rootfs):
    plan = default_plan(rootfs, sh("cut -d. -f1 /proc/uptime"),
                        timens_offsets="boottime 864000 0\n")
    plan.namespaces.append(Namespace(CLONE_NEWTIME))
    with open("/proc/uptime") as f:
        host_uptime = float(f.read().split()[0])
    up = int(runner.run(plan).output)
    assert 864000 - 2 <= up - host_uptime < 864000 + 60


def test_join_cgroup_called_with_stage1_pid_before_unshare(runner, rootfs):
    seen = []

    def join(pid):
        seen.append((pid, _ns(pid, "cgroup"), _ns(pid, "mnt")))

    plan = default_plan(rootfs, ["/bin/true"])
    plan.namespaces.append(Namespace(CLONE_NEWCGROUP))
    runner.run(plan, join_cgroup=join)
    assert seen and seen[0][1] == _ns("self", "cgroup") and seen[0][2] == _ns("self", "mnt")


def test_join_cgroup_failure_kills_init(runner, rootfs):
    def join(pid):
        raise RuntimeError("no cgroup for you")

    with pytest.raises(RuntimeError):
        runner.create(default_plan(rootfs, ["/bin/true"]), join_cgroup=join)


# -- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["nosuchcmd"], 'exec: "nosuchcmd": executable file not found in $PATH'),
    (["/x/y"], 'exec: "/x/y": stat /x/y: no such file or directory'),
    (["/etc/passwd"], 'exec: "/etc/passwd": permission denied'),
    (["/bin"], 'exec: "/bin": permission denied'),
])
def test_exec_errors_use_runc_wording(runner, rootfs, args, message):
    with pytest.raises(InitError) as e:
        runner.create(default_plan(rootfs, args))
    assert str(e.value) == message


def test_path_lookup_uses_plan_env(runner, rootfs):
    os.makedirs(os.path.join(rootfs, "opt/bin"))
    script = os.path.join(rootfs, "opt/bin/hello-sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\necho \"$0\"\n")
    os.chmod(script, 0o755)
    plan = default_plan(rootfs, ["hello-sh"], env=["PATH=/nonexistent:/opt/bin"])
    with pytest.raises(InitError, match="executable file not found"):
        runner.create(default_plan(rootfs, ["hello-sh"]))
    assert runner.run(plan).output == "/opt/bin/hello-sh\n"


def test_mount_error_names_path_and_leaves_nothing(runner, rootfs):
    plan = default_plan(rootfs, ["/bin/true"])
    plan.mounts.append(Mount("/bad", "x", "nosuchfs", 0))
    with pytest.raises(InitError) as e:
        runner.create(plan)
    assert str(e.value) == "mount /bad (nosuchfs): no such device"


def test_bad_cwd(runner, rootfs):
    with pytest.raises(InitError, match=r'^chdir to cwd \("/nope"\) set in config.json failed: '
                                        'no such file or directory$'):
        runner.create(default_plan(rootfs, ["/bin/true"], cwd="/nope"))


def test_exec_failure_after_start_exits_127(runner, rootfs):
    # passes the lookup as root (x bit for others only), then loses it by the time of exec:
    # simplest reproduction is a file that disappears between create and start
    path = os.path.join(rootfs, "bin/vanish")
    os.symlink("busybox", path)
    init = runner.create(default_plan(rootfs, ["/bin/vanish", "true"]))
    os.unlink(path)
    r = runner.start(init)
    assert r.status == 127
    assert r.output == 'exec: "/bin/vanish": no such file or directory\n'


def test_waiting_init_holds_only_cloexec_fds_beyond_preserved(runner, rootfs, workdir):
    leak = os.open(os.path.join(workdir, "leak"), os.O_RDWR | os.O_CREAT, 0o644)
    os.set_inheritable(leak, True)
    try:
        init = runner.create(default_plan(rootfs, ["/bin/true"]))
    finally:
        os.close(leak)
    for fd in os.listdir(f"/proc/{init.pid}/fd"):
        if int(fd) < 3:
            continue
        with open(f"/proc/{init.pid}/fdinfo/{fd}") as f:
            flags = int(f.read().split("flags:")[1].split()[0], 8)
        assert flags & 0o2000000, f"fd {fd} of the init is not close-on-exec"
    assert runner.start(init).status == 0


def test_stage2_error_is_reported_and_reaped(runner, rootfs):
    # fails in stage 2 right away: the PID message may come after the error
    plan = default_plan(rootfs + "/nonexistent", ["/bin/true"])
    with pytest.raises(InitError, match="nonexistent.*no such file or directory"):
        runner.create(plan)


def test_user_namespace_setgroups(runner, rootfs):
    plan = default_plan(rootfs, sh("id -G"), new_userns=True, additional_gids=[5, 6],
                        uid_mappings="0 100000 65536\n", gid_mappings="0 100000 65536\n")
    plan.namespaces.insert(0, Namespace(CLONE_NEWUSER))
    for d in plan.devices:
        d.bind_from_host = True
    assert runner.run(plan).output == "0 5 6\n"
