"""Turn a validated config into the Plan the C init executes.

Everything that can be checked on the host is checked here, before any side effect, so a
bad config fails with a message naming its field and leaves nothing behind.
"""

from __future__ import annotations

import os

from ocirt.errors import ConfigError
from ocirt.native.plan import Plan
from ocirt.plan.mounts import PROPAGATION, cgroup_mounts, plan_mount
from ocirt.plan.namespaces import check_net_devices, plan_namespaces
from ocirt.plan.process import plan_attributes, plan_process

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


class Options:
    """What the command line adds to the config."""

    def __init__(self, no_pivot: bool = False, preserve_fds: int = 0,
                 console_socket: str | int | None = None, no_new_keyring: bool = False,
                 container_id: str = "") -> None:
        self.no_pivot = no_pivot
        self.preserve_fds = preserve_fds
        self.console_socket = console_socket
        self.no_new_keyring = no_new_keyring
        self.container_id = container_id


def rootfs_path(cfg: dict[str, Any], bundle: str) -> str:
    path = cfg["root"]["path"]
    return os.path.normpath(path if path.startswith("/") else os.path.join(bundle, path))


def _id_maps(linux: dict[str, Any]) -> dict[str, str]:
    maps = {}
    for key, name in (("uidMappings", "uid"), ("gidMappings", "gid")):
        entries = linux.get(key) or []
        if entries:
            maps[name] = "".join(f"{e['containerID']} {e['hostID']} {e['size']}\n"
                                 for e in entries)
    return maps


def host_id(maps_text: str, inside: int) -> int:
    """The host id that `inside` maps to, or -1 when unmapped."""
    for line in maps_text.splitlines():
        c, h, n = (int(x) for x in line.split())
        if c <= inside < c + n:
            return h + inside - c
    return -1


def build(cfg: dict[str, Any], bundle: str, opts: Options,
          cgroup_dirs: dict[str, str] | None = None) -> Plan:
    linux = cfg.get("linux") or {}
    plan = Plan()
    plan.no_pivot = opts.no_pivot
    plan.preserve_fds = opts.preserve_fds
    # a session keyring of its own, named like runc's so `exec` can join it later
    plan.new_keyring = not opts.no_new_keyring
    plan.keyring_name = f"_ses.{opts.container_id}" if opts.container_id else ""

    plan.namespaces, ns = plan_namespaces(linux.get("namespaces") or [])
    maps = _id_maps(linux)
    if "user" in ns:
        if ns["user"] is None:
            if "uid" not in maps or "gid" not in maps:
                raise ConfigError("linux.uidMappings",
                                  "a new user namespace needs uidMappings and gidMappings")
            plan.new_userns = True
            plan.uid_mappings, plan.gid_mappings = maps["uid"], maps["gid"]
    elif maps:
        raise ConfigError("linux.uidMappings", "mappings need a user namespace")
    offsets = linux.get("timeOffsets") or {}
    if offsets:
        if ns.get("time", "missing") is not None:
            raise ConfigError("linux.timeOffsets", "needs a new time namespace")
        plan.timens_offsets = "".join(
            f"{clock} {o.get('secs', 0)} {o.get('nanosecs', 0)}\n"
            for clock, o in offsets.items())

    plan.rootfs = rootfs_path(cfg, bundle)
    if not os.path.isdir(plan.rootfs):
        raise ConfigError("root.path", f"{plan.rootfs}: no such directory")
    plan.rootfs_readonly = bool(cfg["root"].get("readonly"))
    prop = linux.get("rootfsPropagation")
    if prop:
        plan.rootfs_propagation = PROPAGATION[prop]
    if "mount" not in ns:
        raise ConfigError("linux.namespaces", "a mount namespace is required")

    in_userns = "user" in ns
    mounts = []
    dev_is_bind = False
    for i, entry in enumerate(cfg.get("mounts") or []):
        m = plan_mount(i, entry, bundle, maps)
        if entry.get("type") == "cgroup":
            from ocirt.cgroups import is_unified

            mounts.extend(cgroup_mounts(m, cgroup_dirs or {}, "cgroup" in ns, is_unified()))
            continue
        if m.destination.rstrip("/") == "/dev" and not m.fstype:
            dev_is_bind = True
        mounts.append(m)
    plan.mounts = mounts
    if not dev_is_bind:
        from ocirt.plan.devices import plan_devices

        plan.devices, plan.symlinks = plan_devices(linux.get("devices") or [], in_userns)
    plan.masked_paths = list(linux.get("maskedPaths") or [])
    plan.readonly_paths = list(linux.get("readonlyPaths") or [])
    if linux.get("netDevices"):
        check_net_devices(linux["netDevices"], ns)
    if linux.get("sysctl"):
        from ocirt.plan.sysctl import plan_sysctl

        plan.sysctl = plan_sysctl(linux["sysctl"], ns)
    if linux.get("mountLabel"):
        from ocirt import log

        # SELinux labels need an enforcing host; without one runc ignores it too
        if not os.path.exists("/sys/fs/selinux/enforce"):
            log.debug(f"linux.mountLabel {linux['mountLabel']!r} ignored: SELinux is off")

    if cfg.get("hostname") is not None:
        if "uts" not in ns:
            raise ConfigError("hostname", "setting the hostname needs a new uts namespace")
        plan.hostname = cfg["hostname"]
    if cfg.get("domainname") is not None:
        if "uts" not in ns:
            raise ConfigError("domainname", "setting the domainname needs a new uts namespace")
        plan.domainname = cfg["domainname"]

    proc = cfg.get("process")
    if proc is None:
        raise ConfigError("process", "required to create a container")
    plan_process(plan, proc)
    plan_attributes(plan, cfg)
    # `run` in the foreground passes its own relay's socket (an fd): only create and
    # detached runs get here without one
    if plan.terminal and not opts.console_socket:
        raise ConfigError("process.terminal",
                          "a terminal needs --console-socket (ocirt would detach from it)")
    if "user" in ns and ns["user"] is None:
        root_uid = host_id(plan.uid_mappings, plan.uid)
        if root_uid < 0:
            raise ConfigError("process.user.uid", f"{plan.uid} is not mapped in uidMappings")
    return plan
