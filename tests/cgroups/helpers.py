"""Where a container's cgroup files are, on either driver, for the cgroup tests."""

from __future__ import annotations

import json
import os
import time

from ocirt.cgroups import is_unified
from tests.conftest import CGROUP_PARENT, Ocirt

V2 = is_unified()


def cg_dir(cid: str, controller: str) -> str:
    if V2:
        return f"/sys/fs/cgroup/{CGROUP_PARENT}/{cid}"
    return f"/sys/fs/cgroup/{controller}/{CGROUP_PARENT}/{cid}"


def cg_read(cid: str, controller: str, name: str) -> str:
    with open(os.path.join(cg_dir(cid, controller), name)) as f:
        return f.read().strip()


def v1_controllers() -> set[str]:
    from ocirt.cgroups.v1 import hierarchies

    return {c for _, ctrls in hierarchies().values() for c in ctrls.split(",") if c}


def has_controller(name: str) -> bool:
    if V2:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            return name in f.read().split()
    return name in v1_controllers()


def bundle_with(ocirt: Ocirt, args: list[str], resources: dict | None,
                linux: dict) -> tuple[str, str]:
    """A bundle whose container lives in /ocirt-tests/<id> with these resources and linux
    fields; returns (id, bundle)."""
    bundle, cfg = ocirt.bundle(args)
    cid = ocirt.new_id()
    ocirt.set_cgroup(cfg, cid)
    cfg["linux"].setdefault("resources", {}).update(resources or {})
    cfg["linux"].update(linux)
    ocirt.write(bundle, cfg)
    return cid, bundle


def start(ocirt: Ocirt, args: list[str], resources: dict | None = None,
          **linux: object) -> tuple[str, str]:
    """run -d a container with these resources; returns (id, bundle)."""
    cid, bundle = bundle_with(ocirt, args, resources, linux)
    ocirt("run", "-d", "-b", bundle, cid)
    return cid, bundle


def run(ocirt: Ocirt, args: list[str], resources: dict | None = None, timeout: float = 60,
        **linux: object):  # noqa: ANN201
    """run (foreground) a container; returns (CompletedProcess, id)."""
    cid, bundle = bundle_with(ocirt, args, resources, linux)
    return ocirt("run", "-b", bundle, cid, check=False, timeout=timeout), cid


def create_fails(ocirt: Ocirt, resources: dict) -> str:
    """create with these resources must fail and leave nothing; returns stderr."""
    cid, bundle = bundle_with(ocirt, ["true"], resources, {})
    res = ocirt("create", "-b", bundle, cid, check=False)
    assert res.returncode != 0, res
    from tests.conftest import leftovers

    assert leftovers(cid, ocirt.root) == []
    return res.stderr.strip()


def state(ocirt: Ocirt, cid: str) -> dict:
    return json.loads(ocirt("state", cid).stdout)


def wait_for(pred, timeout: float = 20.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()
