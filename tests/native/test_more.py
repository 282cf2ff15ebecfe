"""Seccomp loading, rootfs propagation, tmpcopyup."""

from __future__ import annotations

import os
import struct

from conftest import MS_REC, default_plan

from ocirt.native.plan import Mount

MS_SHARED = 1 << 20

# classic BPF
BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_RET_K = 0x06
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
AUDIT_ARCH_X86_64 = 0xC000003E
EROFS = 30
NR_MKDIR, NR_MKDIRAT = 83, 258


def _insn(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def deny_mkdir_bpf() -> bytes:
    """mkdir/mkdirat fail with EROFS, everything else is allowed (x86_64 only)."""
    return b"".join([
        _insn(BPF_LD_W_ABS, 0, 0, 4),  # arch
        _insn(BPF_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
        _insn(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
        _insn(BPF_LD_W_ABS, 0, 0, 0),  # nr
        _insn(BPF_JEQ_K, 1, 0, NR_MKDIR),
        _insn(BPF_JEQ_K, 0, 1, NR_MKDIRAT),
        _insn(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | EROFS),
        _insn(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
    ])


def test_seccomp_with_no_new_privileges(runner, rootfs):
    plan = default_plan(rootfs, ["/bin/sh", "-c", "mkdir /tmp/x; grep Seccomp: /proc/self/status"],
                        seccomp_bpf=deny_mkdir_bpf(), no_new_privileges=True, uid=1000, gid=1000)
    r = runner.run(plan)
    assert "Read-only file system" in r.output
    assert r.output.rstrip().endswith("Seccomp:\t2")


def test_seccomp_without_no_new_privileges(runner, rootfs):
    # loaded while the init still has CAP_SYS_ADMIN, before dropping to uid 1000
    plan = default_plan(rootfs, ["/bin/sh", "-c", "mkdir /tmp/x; grep Seccomp: /proc/self/status"],
                        seccomp_bpf=deny_mkdir_bpf(), uid=1000, gid=1000)
    r = runner.run(plan)
    assert "Read-only file system" in r.output
    assert r.output.rstrip().endswith("Seccomp:\t2")


def test_rootfs_propagation_shared(runner, rootfs):
    plan = default_plan(rootfs, ["/bin/sh", "-c", "awk '$5 == \"/\"' /proc/self/mountinfo"],
                        rootfs_propagation=MS_SHARED | MS_REC)
    r = runner.run(plan)
    assert r.status == 0, r.output
    assert "shared:" in r.output


def test_tmpcopyup(runner, rootfs):
    os.makedirs(os.path.join(rootfs, "data/sub"))
    with open(os.path.join(rootfs, "data/sub/file"), "w") as f:
        f.write("image content\n")
    os.chmod(os.path.join(rootfs, "data/sub/file"), 0o640)
    os.chown(os.path.join(rootfs, "data/sub/file"), 1000, 1001)
    os.symlink("sub/file", os.path.join(rootfs, "data/link"))
    plan = default_plan(rootfs, ["/bin/sh", "-c",
                                 "cat /data/link; stat -c '%a %u %g' /data/sub/file; "
                                 "echo new > /data/new; grep ' /data ' /proc/self/mountinfo"])
    plan.mounts.append(Mount("/data", "tmpfs", "tmpfs", 0, "mode=755", tmpcopyup=True))
    r = runner.run(plan)
    assert r.status == 0, r.output
    lines = r.output.splitlines()
    assert lines[:2] == ["image content", "640 1000 1001"]
    assert "tmpfs" in lines[2]
    assert not os.path.exists(os.path.join(rootfs, "data/new"))  # written to the tmpfs


def _idmap_plan(rootfs, workdir, idmap, **kw):
    from conftest import MS_BIND

    host = os.path.join(workdir, "idm")
    os.mkdir(host)
    os.mkdir(os.path.join(rootfs, "idm"))
    with open(os.path.join(host, "f"), "w") as f:
        f.write("x\n")
    plan = default_plan(rootfs, ["/bin/sh", "-c", "stat -c '%u %g' /idm/f; touch /idm/new"], **kw)
    plan.mounts.append(Mount("/idm", host, "", MS_BIND | MS_REC, uid_map=idmap, gid_map=idmap))
    return plan, host


def test_idmapped_mount(runner, rootfs, workdir):
    # an on-disk id is an "inside" id of the mount's mapping: 0 shows as 1000
    plan, host = _idmap_plan(rootfs, workdir, "0 1000 1\n", uid=1000, gid=1000)
    os.chmod(host, 0o755)
    r = runner.run(plan)
    assert r.status == 0, r.output
    assert r.output == "1000 1000\n"
    st = os.stat(os.path.join(host, "new"))
    assert (st.st_uid, st.st_gid) == (0, 0)  # uid 1000 writes as 0 on disk


def test_idmapped_mount_in_user_namespace(runner, rootfs, workdir):
    from conftest import CLONE_NEWUSER

    from ocirt.native.plan import Namespace

    plan, host = _idmap_plan(rootfs, workdir, "0 100000 65536\n", new_userns=True,
                             uid_mappings="0 100000 65536\n", gid_mappings="0 100000 65536\n")
    plan.namespaces.insert(0, Namespace(CLONE_NEWUSER))
    for d in plan.devices:
        d.bind_from_host = True
    r = runner.run(plan)
    assert r.status == 0, r.output
    # on disk 0 → (idmap) host 100000 → (container userns) 0
    assert r.output == "0 0\n"
    st = os.stat(os.path.join(host, "new"))
    assert (st.st_uid, st.st_gid) == (0, 0)


SECCOMP_RET_USER_NOTIF = 0x7FC00000
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3


def notify_mkdir_bpf() -> bytes:
    return deny_mkdir_bpf().replace(struct.pack("<I", SECCOMP_RET_ERRNO | EROFS),
                                    struct.pack("<I", SECCOMP_RET_USER_NOTIF))


def test_seccomp_listener_fd_reaches_caller(runner, rootfs):
    for nnp in (False, True):
        plan = default_plan(rootfs, ["/bin/sh", "-c", "mkdir /tmp/x; echo done"],
                            seccomp_bpf=notify_mkdir_bpf(), no_new_privileges=nnp,
                            seccomp_flags=SECCOMP_FILTER_FLAG_NEW_LISTENER)
        init = runner.create(plan)
        assert init.seccomp_fd is not None
        assert os.readlink(f"/proc/self/fd/{init.seccomp_fd}") == "anon_inode:seccomp notify"
        # with no agent listening, trapped syscalls fail with ENOSYS
        os.close(init.seccomp_fd)
        r = runner.start(init)
        assert "Function not implemented" in r.output and r.output.endswith("done\n")


def test_no_listener_without_flag(runner, rootfs):
    init = runner.create(default_plan(rootfs, ["/bin/true"], seccomp_bpf=deny_mkdir_bpf()))
    assert init.seccomp_fd is None
    runner.start(init)
