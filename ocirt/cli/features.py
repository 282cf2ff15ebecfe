"""ocirt features: what this runtime implements (features.md, features-linux.md).

Fixed by the build, except where the spec asks for the host's view (seccomp
supportedFlags: the flags the running kernel accepts) and the libseccomp actually linked
(archs it can compile for)."""

from __future__ import annotations

from ocirt.cli import Globals, UsageError
from ocirt.cli.flags import Flag, Values

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SYNOPSIS = ""
FLAGS = [Flag(("help", "h"), "bool")]

HOOKS = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart",
         "poststop"]
NAMESPACES = ["cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"]


def _commit() -> str:
    """The commit recorded by the build (ocirt/native/commit), else the source checkout's,
    read from .git without running git."""
    import os

    try:
        with open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                               "native", "commit")) as f:
            return f.read().strip() or "unknown"
    except OSError:
        pass
    git = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), ".git")
    try:
        with open(os.path.join(git, "HEAD")) as f:
            head = f.read().strip()
        if not head.startswith("ref: "):
            return head
        ref = head[5:]
        try:
            with open(os.path.join(git, ref)) as f:
                return f.read().strip()
        except FileNotFoundError:
            with open(os.path.join(git, "packed-refs")) as f:
                for line in f:
                    if line.rstrip().endswith(" " + ref):
                        return line.split()[0]
    except OSError:
        pass
    return "unknown"


def _archs() -> list[str]:
    """The spec's architecture names this libseccomp knows (-EINVAL: an unknown name; a
    known one may still not share a filter with the native arch, e.g. another byte order)."""
    from ocirt import seccomp
    from ocirt.spec.seccomp_shape import ARCHES

    mod = seccomp._lib()
    out = []
    for arch in ARCHES:
        ctx = mod.lib.ocirt_seccomp_new(seccomp.ACTIONS["SCMP_ACT_ALLOW"])
        try:
            if mod.lib.ocirt_seccomp_arch_add(ctx, seccomp._arch_name(arch).encode()) != -22:
                out.append(arch)
        finally:
            mod.lib.ocirt_seccomp_release(ctx)
    return sorted(out)


def features() -> dict[str, Any]:
    from ocirt import OCI_VERSION, __version__, seccomp
    from ocirt.plan.mounts import FLAGS as MOUNT_FLAGS
    from ocirt.plan.mounts import PROPAGATION, RECURSIVE
    from ocirt.plan.process import _MPOL_FLAGS, _MPOL_MODES
    from ocirt.spec.caps import NAMES
    from ocirt.spec.seccomp_shape import ACTIONS, FLAGS, OPERATORS

    libseccomp = seccomp.libseccomp_version()
    mount_options = sorted({*MOUNT_FLAGS, *PROPAGATION, *RECURSIVE, "tmpcopyup", "idmap",
                            "ridmap"})
    return {
        "ociVersionMin": "1.0.0",
        "ociVersionMax": OCI_VERSION,
        "hooks": HOOKS,
        "mountOptions": mount_options,
        "linux": {
            "namespaces": NAMESPACES,
            "capabilities": list(NAMES),
            "cgroup": {"v1": True, "v2": True, "systemd": False, "systemdUser": False,
                       "rdma": True},
            "seccomp": {
                "enabled": True,
                "actions": sorted(ACTIONS),
                "operators": sorted(OPERATORS),
                "archs": _archs(),
                "knownFlags": list(FLAGS),
                "supportedFlags": [f for f in FLAGS if seccomp.flag_supported(f)],
            },
            "apparmor": {"enabled": True},
            "selinux": {"enabled": True},
            "intelRdt": {"enabled": False},
            "memoryPolicy": {"modes": sorted(_MPOL_MODES), "flags": sorted(_MPOL_FLAGS)},
            "mountExtensions": {"idmap": {"enabled": True}},
            "netDevices": {"enabled": True},
        },
        "annotations": {
            "org.opencontainers.ocirt.version": __version__,
            "org.opencontainers.ocirt.commit": _commit(),
            "org.opencontainers.ocirt.libseccomp.version": libseccomp,
            "io.github.seccomp.libseccomp.version": libseccomp,
        },
    }


def run(g: Globals, opts: Values, args: list[str]) -> int:
    from ocirt import jsonio

    if args:
        raise UsageError('"features" takes no arguments')
    print(jsonio.dumps_pretty(features()))
    return 0
