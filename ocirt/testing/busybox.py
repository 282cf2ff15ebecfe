"""Build a busybox-static rootfs and OCI bundles around it, without any runtime's help.

Used by tests/, conformance/ (which must work against runc too, so nothing here calls
ocirt), benchmarks/ and `make demo`.
"""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

BUSYBOX = "/bin/busybox"

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""
GROUP = """root:x:0:
daemon:x:1:
tty:x:5:
user:x:1000:
extra:x:1001:user
nogroup:x:65534:
"""


def build_rootfs(dest: str) -> str:
    """Populate dest with busybox, one symlink per applet, and a minimal /etc."""
    if not os.path.exists(BUSYBOX):
        raise FileNotFoundError(f"{BUSYBOX}: install Debian's busybox-static")
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "etc", "tmp",
              "root", "home/user", "var", "run"):
        os.makedirs(os.path.join(dest, d), exist_ok=True)
    os.chmod(os.path.join(dest, "tmp"), 0o1777)
    shutil.copy2(BUSYBOX, os.path.join(dest, "bin", "busybox"))
    import subprocess

    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        link = os.path.join(dest, "bin", applet)
        if applet != "busybox" and not os.path.lexists(link):
            os.symlink("busybox", link)
    with open(os.path.join(dest, "etc", "passwd"), "w") as f:
        f.write(PASSWD)
    with open(os.path.join(dest, "etc", "group"), "w") as f:
        f.write(GROUP)
    os.chown(os.path.join(dest, "home", "user"), 1000, 1000)
    return dest


def base_config(args: list[str] | None = None) -> dict[str, Any]:
    """runc's starter config, non-terminal, running args (default: sh)."""
    from ocirt.spec.defaults import default_spec

    cfg = default_spec()
    cfg["process"]["terminal"] = False
    if args is not None:
        cfg["process"]["args"] = list(args)
    return cfg


def write_config(bundle: str, cfg: dict[str, Any]) -> None:
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def make_bundle(bundle: str, args: list[str] | None = None, rootfs_from: str | None = None,
                cfg: dict[str, Any] | None = None) -> str:
    """Create bundle/ with config.json and rootfs/ (a copy of rootfs_from, or a new build)."""
    os.makedirs(bundle, exist_ok=True)
    rootfs = os.path.join(bundle, "rootfs")
    if rootfs_from:
        shutil.copytree(rootfs_from, rootfs, symlinks=True)
    else:
        build_rootfs(rootfs)
    write_config(bundle, cfg if cfg is not None else base_config(args))
    return bundle
