"""config `mounts` → Plan mounts: the option table of config.md "Mounts", resolved to flags."""

from __future__ import annotations

import os

from ocirt.errors import ConfigError
from ocirt.native.plan import Mount

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 0x1, 0x2, 0x4, 0x8
MS_SYNCHRONOUS, MS_REMOUNT, MS_MANDLOCK, MS_DIRSYNC = 0x10, 0x20, 0x40, 0x80
MS_NOSYMFOLLOW, MS_NOATIME, MS_NODIRATIME, MS_BIND = 0x100, 0x400, 0x800, 0x1000
MS_REC, MS_SILENT = 0x4000, 0x8000
MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED = 1 << 17, 1 << 18, 1 << 19, 1 << 20
MS_RELATIME, MS_I_VERSION, MS_STRICTATIME, MS_LAZYTIME = 1 << 21, 1 << 23, 1 << 24, 1 << 25

ATTR_RDONLY, ATTR_NOSUID, ATTR_NODEV, ATTR_NOEXEC = 0x1, 0x2, 0x4, 0x8
ATTR_ATIME_MASK, ATTR_NOATIME, ATTR_STRICTATIME = 0x70, 0x10, 0x20
ATTR_NODIRATIME, ATTR_NOSYMFOLLOW = 0x80, 0x200000

# option → (flags to set, flags to clear)
FLAGS: dict[str, tuple[int, int]] = {
    "async": (0, MS_SYNCHRONOUS), "atime": (0, MS_NOATIME), "bind": (MS_BIND, 0),
    "defaults": (0, 0), "dev": (0, MS_NODEV), "diratime": (0, MS_NODIRATIME),
    "dirsync": (MS_DIRSYNC, 0), "exec": (0, MS_NOEXEC), "iversion": (MS_I_VERSION, 0),
    "lazytime": (MS_LAZYTIME, 0), "loud": (0, MS_SILENT), "mand": (MS_MANDLOCK, 0),
    "noatime": (MS_NOATIME, 0), "nodev": (MS_NODEV, 0), "nodiratime": (MS_NODIRATIME, 0),
    "noexec": (MS_NOEXEC, 0), "noiversion": (0, MS_I_VERSION), "nolazytime": (0, MS_LAZYTIME),
    "nomand": (0, MS_MANDLOCK), "norelatime": (0, MS_RELATIME),
    "nostrictatime": (0, MS_STRICTATIME), "nosuid": (MS_NOSUID, 0),
    "nosymfollow": (MS_NOSYMFOLLOW, 0), "rbind": (MS_BIND | MS_REC, 0),
    "relatime": (MS_RELATIME, 0), "remount": (MS_REMOUNT, 0), "ro": (MS_RDONLY, 0),
    "rw": (0, MS_RDONLY), "silent": (MS_SILENT, 0), "strictatime": (MS_STRICTATIME, 0),
    "suid": (0, MS_NOSUID), "sync": (MS_SYNCHRONOUS, 0),
}
PROPAGATION: dict[str, int] = {
    "private": MS_PRIVATE, "rprivate": MS_PRIVATE | MS_REC, "shared": MS_SHARED,
    "rshared": MS_SHARED | MS_REC, "slave": MS_SLAVE, "rslave": MS_SLAVE | MS_REC,
    "unbindable": MS_UNBINDABLE, "runbindable": MS_UNBINDABLE | MS_REC,
}
# recursive attributes applied with mount_setattr(AT_RECURSIVE): option → (set, clear)
RECURSIVE: dict[str, tuple[int, int]] = {
    "rro": (ATTR_RDONLY, 0), "rrw": (0, ATTR_RDONLY),
    "rnosuid": (ATTR_NOSUID, 0), "rsuid": (0, ATTR_NOSUID),
    "rnodev": (ATTR_NODEV, 0), "rdev": (0, ATTR_NODEV),
    "rnoexec": (ATTR_NOEXEC, 0), "rexec": (0, ATTR_NOEXEC),
    "rnodiratime": (ATTR_NODIRATIME, 0), "rdiratime": (0, ATTR_NODIRATIME),
    "rrelatime": (0, ATTR_ATIME_MASK), "rnorelatime": (0, ATTR_ATIME_MASK),
    "rnoatime": (ATTR_NOATIME, ATTR_ATIME_MASK), "ratime": (0, ATTR_ATIME_MASK),
    "rstrictatime": (ATTR_STRICTATIME, ATTR_ATIME_MASK),
    "rnostrictatime": (0, ATTR_ATIME_MASK),
    "rnosymfollow": (ATTR_NOSYMFOLLOW, 0), "rsymfollow": (0, ATTR_NOSYMFOLLOW),
}



def _id_map_text(entries: list[dict[str, Any]]) -> str:
    return "".join(f"{e['containerID']} {e['hostID']} {e['size']}\n" for e in entries)


def plan_mount(index: int, entry: dict[str, Any], bundle: str, userns: dict[str, str]) -> Mount:
    where = f"mounts[{index}]"
    dest = entry["destination"]
    if not dest.startswith("/"):
        dest = "/" + dest  # runc reads a relative destination from the container's /
    fstype = entry.get("type", "") or ""
    source = entry.get("source", "") or ""
    flags = 0
    attr_set = attr_clr = 0
    propagation: list[int] = []
    data: list[str] = []
    tmpcopyup = idmap = False
    for opt in entry.get("options", []) or []:
        if opt in FLAGS:
            s, c = FLAGS[opt]
            flags = (flags & ~c) | s
        elif opt in PROPAGATION:
            propagation.append(PROPAGATION[opt])
        elif opt in RECURSIVE:
            s, c = RECURSIVE[opt]
            attr_set, attr_clr = (attr_set & ~c) | s, attr_clr | c
        elif opt == "tmpcopyup":
            tmpcopyup = True
        elif opt in ("idmap", "ridmap"):
            idmap = True
        else:
            data.append(opt)
    if fstype == "bind":
        flags |= MS_BIND
        fstype = ""
    is_bind = bool(flags & MS_BIND)
    dest_is_file = False
    if is_bind:
        fstype = ""
        if not source.startswith("/"):
            source = os.path.join(bundle, source)
        try:
            dest_is_file = not os.path.isdir(source)
            os.stat(source)
        except FileNotFoundError:
            raise ConfigError(f"{where}.source", f"{source}: no such file or directory"
                              ) from None
    elif fstype == "none":
        raise ConfigError(f"{where}.type", '"none" needs a "bind" or "rbind" option')
    uid_map = gid_map = ""
    if idmap:
        if not is_bind:
            raise ConfigError(f"{where}.options", "idmap needs a bind mount")
        uid_map = _id_map_text(entry.get("uidMappings") or []) or userns.get("uid", "")
        gid_map = _id_map_text(entry.get("gidMappings") or []) or userns.get("gid", "")
        if not uid_map or not gid_map:
            raise ConfigError(f"{where}.uidMappings", "idmap needs uid and gid mappings")
    elif entry.get("uidMappings") or entry.get("gidMappings"):
        raise ConfigError(f"{where}.uidMappings", 'mappings need an "idmap" or "ridmap" option')
    return Mount(destination=dest, source=source, fstype=fstype, flags=flags,
                 data=",".join(data), propagation=propagation, attr_set=attr_set,
                 attr_clr=attr_clr, tmpcopyup=tmpcopyup, uid_map=uid_map, gid_map=gid_map,
                 dest_is_file=dest_is_file)


def cgroup_mounts(m: Mount, cgroup_dirs: dict[str, str], cgroupns: bool, unified: bool
                  ) -> list[Mount]:
    """A `cgroup` mount, turned into what the host's layout needs.

    With a cgroup namespace a fresh cgroup mount shows only the container's subtree; without
    one it would show the host's whole tree, so the container's own directories are bound
    instead (as runc does).
    """
    keep = m.flags & ~(MS_BIND | MS_REC)
    if unified:
        if cgroupns:
            return [Mount(m.destination, "cgroup", "cgroup2", keep, "", m.propagation)]
        return [Mount(m.destination, cgroup_dirs[""], "", keep | MS_BIND | MS_REC, "",
                      m.propagation)]
    from ocirt.cgroups.v1 import hierarchies

    # a writable tmpfs holds one directory per hierarchy, like the host's /sys/fs/cgroup
    out = [Mount(m.destination, "tmpfs", "tmpfs", keep & ~MS_RDONLY, "mode=755",
                 m.propagation)]
    for name, (_mp, ctrls) in sorted(hierarchies().items()):
        dest = f"{m.destination.rstrip('/')}/{name}"
        if name not in cgroup_dirs:
            continue
        if cgroupns:
            fstype = "cgroup2" if not ctrls else "cgroup"
            data = ctrls if not ctrls.startswith("name=") else f"none,{ctrls}"
            out.append(Mount(dest, "cgroup", fstype, keep, data))
        else:
            out.append(Mount(dest, cgroup_dirs[name], "", keep | MS_BIND | MS_REC, ""))
    if keep & MS_RDONLY:
        # like runc: the tmpfs holding the hierarchies becomes read-only once they are in
        out.append(Mount(m.destination, "tmpfs", "tmpfs", keep | MS_REMOUNT, "mode=755"))
    return out
