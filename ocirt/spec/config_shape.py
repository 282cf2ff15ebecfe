"""The shape of config.json as a Linux runtime reads it (config.md, config-linux.md)."""

from __future__ import annotations

from ocirt.spec.checks import (
    abs_path,
    any_object,
    array,
    boolean,
    fail,
    integer,
    mapping,
    non_empty_key,
    obj,
    string,
    strings,
)
from ocirt.spec.linux_shape import id_mappings, linux
from ocirt.spec.process_shape import env_list, process
from ocirt.spec.version import check_oci_version

IDMAP_OPTIONS = ("idmap", "ridmap")


def _mappings_paired(m: dict, path: str) -> None:
    # "POSIX-platform Mounts": each of uidMappings/gidMappings MUST come with the other
    has_uid, has_gid = "uidMappings" in m, "gidMappings" in m
    if has_uid != has_gid:
        missing = "gidMappings" if has_uid else "uidMappings"
        raise fail(f"{path}.{missing}", "is required when "
                   f"{'uidMappings' if has_uid else 'gidMappings'} is set")


mount = obj(
    # Linux allows a relative destination (deprecated, taken relative to "/"), so only
    # its type is checked.
    {"destination": string, "source": string, "options": strings, "type": string,
     "uidMappings": id_mappings, "gidMappings": id_mappings},
    required=("destination",),
    rules=(_mappings_paired,),
)

hook = obj(
    {"path": abs_path, "args": strings, "env": env_list,
     "timeout": integer(1, (1 << 63) - 1, "positive int")},
    required=("path",),
)
_hook_list = array(hook)
HOOK_NAMES = ("prestart", "createRuntime", "createContainer", "startContainer", "poststart",
              "poststop")
hooks = obj({name: _hook_list for name in HOOK_NAMES})

root = obj({"path": string, "readonly": boolean}, required=("path",))


def _idmap_mounts_have_mappings(cfg: dict, path: str) -> None:
    # config.md "Linux mount options": an idmap/ridmap mount with no mappings of its own
    # and no user namespace to borrow from MUST be an error.
    mounts = cfg.get("mounts")
    if not mounts:
        return
    userns = any(ns.get("type") == "user"
                 for ns in (cfg.get("linux") or {}).get("namespaces") or ())
    if userns:
        return
    for i, m in enumerate(mounts):
        opts = m.get("options") or ()
        if "uidMappings" not in m and any(o in IDMAP_OPTIONS for o in opts):
            raise fail(f"mounts[{i}].options", "idmap needs uidMappings/gidMappings on the "
                       "mount or a user namespace in linux.namespaces")



config = obj(
    {
        "ociVersion": check_oci_version,
        "root": root,
        "mounts": array(mount),
        "process": process,
        "hostname": string,
        "domainname": string,
        "hooks": hooks,
        "annotations": mapping(string, key=non_empty_key),
        "linux": linux,
        # other platforms' sections: a Linux runtime only needs them to be objects
        "solaris": any_object,
        "windows": any_object,
        "vm": any_object,
        "zos": any_object,
        "freebsd": any_object,
    },
    # "Root": REQUIRED on every platform but Windows
    required=("ociVersion", "root"),
    rules=(_idmap_mounts_have_mappings,),
)
