"""Hostile rootfs trees: nothing may be mounted, created or masked outside the rootfs.

Each test points a symlink (or a `..` chain, or a magic link) of the image at the trap, a
shared host mount outside the rootfs (see conftest.py). Destinations must resolve as if
the rootfs were "/": either the mount lands inside the rootfs, at the path the symlink
names there, or creation fails with an error naming the path. Either way the trap is
untouched and no mount reached the host.
"""

from __future__ import annotations

import os

import pytest

from ocirt.errors import InitError
from ocirt.native.plan import Device, Mount
from tests.rootfs.conftest import MS_REC, MS_SHARED, Trap, shared_plan

MS_BIND, MS_RDONLY = 0x1000, 0x1


def sh(script: str) -> list[str]:
    return ["/bin/sh", "-c", script]


def mount_points(output: str) -> list[str]:
    return [line.split()[4] for line in output.splitlines() if " - " in line]


def escape(trap: Trap, *rest: str) -> str:
    """An absolute symlink target that climbs out of the rootfs to the trap."""
    return "/../../../../.." + os.path.join(trap.path, *rest)


def tmpfs(dest: str) -> Mount:
    return Mount(dest, "tmpfs", "tmpfs", 0, "size=64k")


@pytest.mark.parametrize("how", ["absolute", "relative"])
def test_symlinked_directory_stays_inside(runner, rootfs, trap, how):
    target = escape(trap) if how == "absolute" else "../" * 12 + trap.path.lstrip("/")
    os.symlink(target, os.path.join(rootfs, "etc2"))
    plan = shared_plan(rootfs, ["cat", "/proc/self/mountinfo"])
    plan.mounts.append(tmpfs("/etc2/x"))
    out = runner.run(plan)
    assert out.status == 0, out.output
    # the kernel resolved etc2 inside the root: the mount is at the trap's path *inside*
    assert trap.path + "/x" in mount_points(out.output)
    assert os.path.isdir(os.path.join(rootfs, trap.path.lstrip("/"), "x"))
    trap.assert_untouched()


def test_dotdot_destination_stays_inside(runner, rootfs, trap):
    plan = shared_plan(rootfs, ["cat", "/proc/self/mountinfo"])
    plan.mounts.append(tmpfs("/../../../.." + trap.path + "/y"))
    out = runner.run(plan)
    assert out.status == 0, out.output
    assert trap.path + "/y" in mount_points(out.output)
    trap.assert_untouched()


def test_dangling_symlink_is_created_inside(runner, rootfs, trap):
    os.symlink(escape(trap, "new", "deeper"), os.path.join(rootfs, "dangling"))
    plan = shared_plan(rootfs, ["cat", "/proc/self/mountinfo"])
    plan.mounts.append(tmpfs("/dangling/z"))
    out = runner.run(plan)
    assert out.status == 0, out.output
    assert trap.path + "/new/deeper/z" in mount_points(out.output)
    trap.assert_untouched()


def test_file_destination_through_symlink(runner, rootfs, trap, workdir):
    src = os.path.join(workdir, "srcfile")
    with open(src, "w") as f:
        f.write("bound\n")
    os.symlink(escape(trap, "file"), os.path.join(rootfs, "hosts2"))
    plan = shared_plan(rootfs, ["cat", "/hosts2"])
    plan.mounts.append(Mount("/hosts2", src, "", MS_BIND, dest_is_file=True))
    out = runner.run(plan)
    assert out.output == "bound\n"
    trap.assert_untouched()


@pytest.mark.parametrize("magic", ["/proc/self/root", "/proc/self/cwd", "/proc/1/root",
                                   "/proc/thread-self/root"])
def test_magic_link_destination_is_refused(runner, rootfs, trap, magic):
    # /proc is mounted first, so the magic link really exists when /m/x is resolved
    os.symlink(magic + trap.path, os.path.join(rootfs, "m"))
    plan = shared_plan(rootfs, ["true"])
    plan.mounts.append(tmpfs("/m/x"))
    with pytest.raises(InitError, match=r"^mount /m/x \(tmpfs\): create mount point: "):
        runner.create(plan)
    trap.assert_untouched()


@pytest.mark.parametrize("kind", ["bind", "tmpcopyup"])
def test_symlink_swapped_in_by_an_earlier_mount(runner, rootfs, trap, workdir, kind):
    """/w/inner is a directory when the first mount creates it; the second mount covers
    /w with a tree in which `inner` is a symlink out of the rootfs; the third mount's
    destination goes through it."""
    plan = shared_plan(rootfs, ["cat", "/proc/self/mountinfo"])
    plan.mounts.append(tmpfs("/w/inner"))
    if kind == "bind":
        # a host directory the container sees (a volume), holding the swapped-in link
        vol = os.path.join(workdir, "vol")
        os.mkdir(vol)
        os.symlink(escape(trap), os.path.join(vol, "inner"))
        plan.mounts.append(Mount("/w", vol, "", MS_BIND))
    else:
        os.makedirs(os.path.join(rootfs, "img"))
        os.symlink(escape(trap), os.path.join(rootfs, "img", "inner"))
        plan.mounts.append(Mount("/img", "tmpfs", "tmpfs", 0, "size=64k", tmpcopyup=True))
        plan.mounts.append(Mount("/w", os.path.join(rootfs, "img"), "", MS_BIND))
    plan.mounts.append(tmpfs("/w/inner/x"))
    out = runner.run(plan)
    assert out.status == 0, out.output
    assert trap.path + "/x" in mount_points(out.output)
    trap.assert_untouched()


def test_magic_link_swapped_in_by_an_earlier_mount(runner, rootfs, trap, workdir):
    vol = os.path.join(workdir, "vol")
    os.mkdir(vol)
    os.symlink("/proc/self/root" + trap.path, os.path.join(vol, "inner"))
    plan = shared_plan(rootfs, ["true"])
    plan.mounts += [tmpfs("/w/inner"), Mount("/w", vol, "", MS_BIND), tmpfs("/w/inner/x")]
    with pytest.raises(InitError, match=r"^mount /w/inner/x \(tmpfs\): "):
        runner.create(plan)
    trap.assert_untouched()


def test_destination_that_moves_while_mounting_is_refused(runner, rootfs, workdir):
    """`/a/b/..` is /a before the mount; after it, `b` is looked up in the new mount, where
    it is a symlink to "/": the same path now names the rootfs's root. Its `ro` must not
    be applied there."""
    os.makedirs(os.path.join(rootfs, "a", "b"))
    vol = os.path.join(workdir, "vol")
    os.mkdir(vol)
    os.symlink("/", os.path.join(vol, "b"))
    plan = shared_plan(rootfs, ["true"])
    plan.mounts.append(Mount("/a/b/..", vol, "", MS_BIND | MS_RDONLY))
    with pytest.raises(InitError, match=r"^mount /a/b/\.\. \(bind\): the destination moved "
                                        r"while mounting"):
        runner.create(plan)


@pytest.mark.parametrize("fstype", ["proc", "sysfs"])
def test_kernel_fs_on_symlink_is_refused(runner, rootfs, fstype):
    os.makedirs(os.path.join(rootfs, "real"))
    os.symlink("/real", os.path.join(rootfs, "kfs"))
    plan = shared_plan(rootfs, ["true"])
    plan.mounts.append(Mount("/kfs", fstype, fstype, 0))
    with pytest.raises(InitError, match=rf"^mount /kfs \({fstype}\): the destination is or "
                                        r"goes through a symlink"):
        runner.create(plan)
    assert os.listdir(os.path.join(rootfs, "real")) == []


def test_proc_through_symlinked_parent_is_refused(runner, rootfs):
    os.makedirs(os.path.join(rootfs, "real", "proc"))
    os.symlink("/real", os.path.join(rootfs, "viadir"))
    plan = shared_plan(rootfs, ["true"])
    plan.mounts.append(Mount("/viadir/proc", "proc", "proc", 0))
    with pytest.raises(InitError, match=r"^mount /viadir/proc \(proc\): .*symlink"):
        runner.create(plan)


def test_proc_on_a_file_is_refused(runner, rootfs):
    with open(os.path.join(rootfs, "pfile"), "w"):
        pass
    plan = shared_plan(rootfs, ["true"])
    plan.mounts.append(Mount("/pfile", "proc", "proc", 0))
    with pytest.raises(InitError, match=r"^mount /pfile \(proc\): the destination is not a "
                                        r"directory"):
        runner.create(plan)


def test_devices_under_symlinked_dev_stay_inside(runner, rootfs, trap):
    """No /dev tmpfs: the image's /dev is a symlink out of the rootfs."""
    dev = os.path.join(rootfs, "dev")
    if os.path.isdir(dev) and not os.path.islink(dev):
        os.rmdir(dev)
    os.symlink(escape(trap), dev)
    plan = shared_plan(rootfs, ["ls", trap.path])
    plan.mounts = [m for m in plan.mounts if m.destination != "/dev"]
    out = runner.run(plan)
    assert out.status == 0, out.output
    assert sorted(out.output.split()) == ["fd", "null", "urandom", "zero"]
    trap.assert_untouched()


@pytest.mark.parametrize("from_host", [False, True])
def test_device_node_that_is_a_symlink_out(runner, rootfs, trap, from_host):
    plan = shared_plan(rootfs, ["true"])
    plan.mounts = [m for m in plan.mounts if m.destination != "/dev"]
    os.makedirs(os.path.join(rootfs, "dev"), exist_ok=True)
    os.symlink(escape(trap, "file"), os.path.join(rootfs, "dev", "evil"))
    plan.devices = [Device("/dev/evil", "c", 1, 3, 0o666, 0, 0, from_host)]
    if from_host:
        plan.devices = [Device("/dev/null", "c", 1, 3, 0o666, 0, 0, True)]
        os.symlink(escape(trap, "file"), os.path.join(rootfs, "dev", "null"))
        # the bind follows the link inside the rootfs, where it dangles: a clear error
        with pytest.raises(InitError, match=r"^open /dev/null: no such file or directory"):
            runner.create(plan)
    else:
        # mknod never follows: the existing link is left alone, like runc
        assert runner.run(plan).status == 0
        assert os.path.islink(os.path.join(rootfs, "dev", "evil"))
    trap.assert_untouched()


def _state_dir_fd() -> int:
    # the init's fds: 0-2 stdio, 3 sync, 4 plan, 5 state dir (csrc/README.md)
    return 5


@pytest.mark.parametrize("field", ["masked_paths", "readonly_paths"])
def test_mask_through_magic_link_is_refused(runner, rootfs, field):
    os.symlink(f"/proc/self/fd/{_state_dir_fd()}", os.path.join(rootfs, "secret"))
    plan = shared_plan(rootfs, ["true"])
    setattr(plan, field, ["/secret"])
    what = "mask" if field == "masked_paths" else "readonly"
    with pytest.raises(InitError, match=rf"^{what} /secret: too many levels of symbolic"):
        runner.create(plan)


@pytest.mark.parametrize("field", ["masked_paths", "readonly_paths"])
def test_mask_through_symlink_out_stays_inside(runner, rootfs, trap, field):
    """The link names the trap's marker file: inside the rootfs it does not exist, so
    nothing is masked; the host's file must not be covered."""
    os.symlink(escape(trap, "file"), os.path.join(rootfs, "secret"))
    os.makedirs(os.path.join(rootfs, "realdir"))
    os.symlink(escape(trap), os.path.join(rootfs, "secretdir"))
    plan = shared_plan(rootfs, ["cat", "/proc/self/mountinfo"])
    setattr(plan, field, ["/secret", "/secretdir"])
    out = runner.run(plan)
    assert out.status == 0, out.output
    assert not [m for m in mount_points(out.output) if "trap" in m or "secret" in m]
    trap.assert_untouched()


def test_mask_lands_where_the_symlink_points_inside(runner, rootfs):
    os.makedirs(os.path.join(rootfs, "data"))
    with open(os.path.join(rootfs, "data", "key"), "w") as f:
        f.write("secret\n")
    os.symlink("/../../data/key", os.path.join(rootfs, "keylink"))
    plan = shared_plan(rootfs, sh("cat /data/key; echo end"), masked_paths=["/keylink"])
    assert runner.run(plan).output == "end\n"


def test_mask_refuses_a_fake_dev_null(runner, rootfs):
    """/dev comes from the image (no tmpfs, no device nodes): its "null" is a plain file
    with content, which a mask would show instead of hiding the path."""
    os.makedirs(os.path.join(rootfs, "dev"), exist_ok=True)
    with open(os.path.join(rootfs, "dev", "null"), "w") as f:
        f.write("not null\n")
    with open(os.path.join(rootfs, "hideme"), "w") as f:
        f.write("x\n")
    plan = shared_plan(rootfs, ["true"], masked_paths=["/hideme"], devices=[])
    plan.mounts = [m for m in plan.mounts if m.destination != "/dev"]
    with pytest.raises(InitError, match=r"^mask: /dev/null in the container is not the null"):
        runner.create(plan)


@pytest.mark.parametrize("kind", ["fifo", "file", "symlink"])
def test_sysctl_needs_a_real_procfs(runner, rootfs, kind):
    """Without a proc mount the image's /proc is just a directory: a sysctl must not open
    (a fifo would hang create), truncate or follow what is there."""
    plan = shared_plan(rootfs, ["true"], sysctl=[("kernel.shmmax", "1000")])
    plan.mounts = [m for m in plan.mounts if m.destination != "/proc"]
    d = os.path.join(rootfs, "fake", "sys", "kernel")
    os.makedirs(d)
    target = os.path.join(d, "shmmax")
    if kind == "fifo":
        os.mkfifo(target)
    else:
        with open(target, "w") as f:
            f.write("keep\n")
    proc = os.path.join(rootfs, "proc")
    if os.path.isdir(proc):
        os.rmdir(proc)
    if kind == "symlink":
        os.symlink("/fake", proc)
        message = r"sysctl kernel.shmmax: open /proc/sys/kernel/shmmax: too many levels"
    else:
        os.rename(os.path.join(rootfs, "fake"), proc)
        target = os.path.join(proc, "sys", "kernel", "shmmax")
        message = r"sysctl kernel.shmmax: /proc/sys/kernel/shmmax is not on procfs"
    with pytest.raises(InitError, match="^" + message):
        runner.create(plan, timeout=10)
    if kind != "fifo":
        with open(target) as f:
            assert f.read() == "keep\n"


def test_plain_rootfs_propagation_is_used_by_trap_tests(runner, rootfs, trap):
    """The trap works: a mount made on the trap's copy inside the container (a bind of
    the trap's parent dir, reached via a real host path) shows up on the host."""
    plan = shared_plan(rootfs, ["true"])
    plan.mounts.append(Mount("/hostside", os.path.dirname(trap.path), "", MS_BIND | MS_REC))
    assert plan.rootfs_propagation == MS_SHARED | MS_REC
    plan.mounts.append(tmpfs("/hostside/trap/probe"))
    assert runner.run(plan).status == 0
    # /hostside/trap is a peer of the host's trap: the probe propagated out
    assert trap.mounts() == [trap.path + "/probe"]
    import subprocess

    subprocess.run(["umount", trap.path + "/probe"], check=True)
    os.rmdir(trap.path + "/probe")
