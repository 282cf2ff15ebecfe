"""The `process` object (config.md "Process", "POSIX process", "Linux Process", "User").

Most tests `run` the container in the foreground and read what it printed. Where the
process's own credentials matter (capabilities, NoNewPrivs) `cat` is process.args[0] itself,
so no shell exec in between can change them.
"""

from __future__ import annotations

import re

import pytest

from conformance.conftest import Bundle, BundleFactory
from conformance.runtime import Runtime
from conformance.util import cap_mask, parse_status


def _run(rt: Runtime, b: Bundle) -> str:
    """Write the (adjusted) config, `run` the container, return its stdout."""
    b.write()
    res = rt.run_container(b.id, b.path)
    return res.stdout


def test_args_passed_verbatim(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Process" args: argv reaches the program unchanged (spaces, empty strings,
    glob characters, newlines)."""
    argv = ["a b", "", "c*", "line1\nline2", "--x=y"]
    b = bundle(["sh", "-c", 'for a in "$@"; do printf "<%s>\\n" "$a"; done', "sh", *argv])
    out = _run(rt, b)
    assert out == "".join(f"<{a}>\n" for a in argv)


def test_env(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "POSIX process" env: the variables are set as given."""
    b = bundle(["env"])
    b.process["env"] = ["PATH=/bin:/usr/bin", "FOO=bar", "WITH_SPACE=a b=c", "EMPTY="]
    env = _run(rt, b).splitlines()
    for var in b.process["env"]:
        assert var in env, f"{var!r} missing from {env}"


def test_cwd(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Process" cwd: the working directory of the process."""
    b = bundle(["pwd"])
    b.process["cwd"] = "/mnt/a"
    assert _run(rt, b).strip() == "/mnt/a"


def test_user_uid_gid_additional_gids(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "POSIX-platform User": uid, gid and additionalGids apply to the process."""
    b = bundle(["cat", "/proc/self/status"])
    b.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [1001, 5]}
    st = parse_status(_run(rt, b))
    assert st["Uid"].split() == ["1000"] * 4
    assert st["Gid"].split() == ["1000"] * 4
    assert set(st["Groups"].split()) == {"1001", "5"}


def test_user_without_additional_gids(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "POSIX-platform User": no additionalGids, no supplementary groups inherited
    from the runtime."""
    b = bundle(["cat", "/proc/self/status"])
    b.process["user"] = {"uid": 1000, "gid": 1000}
    st = parse_status(_run(rt, b))
    assert set(st["Groups"].split()) <= {"1000"}


def test_umask(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "POSIX-platform User" umask."""
    b = bundle(["sh", "-c", "umask"])
    b.process["user"] = {"uid": 0, "gid": 0, "umask": 0o027}
    assert _run(rt, b).strip() == "0027"


def test_rlimits(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "POSIX process" rlimits: soft and hard values as configured."""
    b = bundle(["sh", "-c", "ulimit -n; ulimit -Hn; cat /proc/self/limits"])
    b.process["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 256, "hard": 512},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
        {"type": "RLIMIT_NPROC", "soft": 300, "hard": 400},
    ]
    lines = _run(rt, b).splitlines()
    assert lines[:2] == ["256", "512"]
    limits = {ln[:26].strip(): ln[26:].split()[:2] for ln in lines[3:] if ln.startswith("Max")}
    assert limits["Max core file size"] == ["0", "4096"]
    assert limits["Max processes"] == ["300", "400"]


CAPS_BND = ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"]
CAPS_SET = ["CAP_KILL", "CAP_NET_BIND_SERVICE"]


def test_capabilities_non_root(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Linux Process" capabilities: the five sets of a non-root process are the
    configured ones (ambient keeps effective/permitted across the runtime's execve)."""
    b = bundle(["cat", "/proc/self/status"])
    b.process["user"] = {"uid": 1000, "gid": 1000}
    b.process["capabilities"] = {"bounding": CAPS_BND, "effective": CAPS_SET,
                                 "permitted": CAPS_SET, "inheritable": CAPS_SET,
                                 "ambient": CAPS_SET}
    st = parse_status(_run(rt, b))
    assert int(st["CapBnd"], 16) == cap_mask(CAPS_BND)
    for field in ("CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert int(st[field], 16) == cap_mask(CAPS_SET), field


def test_capabilities_root(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Linux Process" capabilities: for uid 0 every set is as configured, and
    nothing outside the bounding set is held."""
    caps = ["CAP_CHOWN", "CAP_KILL"]
    b = bundle(["cat", "/proc/self/status"])
    b.process["capabilities"] = {k: caps for k in
                                 ("bounding", "effective", "permitted", "inheritable",
                                  "ambient")}
    st = parse_status(_run(rt, b))
    for field in ("CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"):
        assert int(st[field], 16) == cap_mask(caps), field


def test_capabilities_absent_means_none(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Linux Process": capabilities is OPTIONAL; without it a non-root process
    must not end up holding capabilities (effective and ambient empty)."""
    b = bundle(["cat", "/proc/self/status"])
    b.process["user"] = {"uid": 1000, "gid": 1000}
    del b.process["capabilities"]
    st = parse_status(_run(rt, b))
    assert int(st["CapEff"], 16) == 0
    assert int(st["CapAmb"], 16) == 0


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(rt: Runtime, bundle: BundleFactory, nnp: bool) -> None:
    """config.md "Linux Process" noNewPrivileges."""
    b = bundle(["cat", "/proc/self/status"])
    b.process["noNewPrivileges"] = nnp
    st = parse_status(_run(rt, b))
    assert st["NoNewPrivs"] == ("1" if nnp else "0")


def test_oom_score_adj(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Linux Process" oomScoreAdj (a positive value: raising needs no
    CAP_SYS_RESOURCE, which this host may lack)."""
    b = bundle(["cat", "/proc/self/oom_score_adj"])
    b.process["oomScoreAdj"] = 500
    assert _run(rt, b).strip() == "500"


def test_hostname(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Hostname" (with a new UTS namespace)."""
    b = bundle(["hostname"])
    b.config["hostname"] = "conf-hostname"
    assert _run(rt, b).strip() == "conf-hostname"


@pytest.mark.spec_deviation(runtime="runc",
                            reason="runc 1.1.5 ignores `domainname` (it stays `(none)`)")
def test_domainname(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Domainname" (with a new UTS namespace)."""
    b = bundle(["cat", "/proc/sys/kernel/domainname"])
    b.config["domainname"] = "conf.example"
    assert _run(rt, b).strip() == "conf.example"


def test_terminal_false_uses_our_stdio(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Process" terminal false: the process writes to the caller's stdout and
    stderr (runtime-linux.md "File descriptors": stdio is passed through)."""
    b = bundle(["sh", "-c", "echo to-out; echo to-err >&2"])
    b.write()
    res = rt.run_container(b.id, b.path)
    assert res.stdout == "to-out\n"
    assert res.stderr.endswith("to-err\n")


def test_stdin_passed_through(rt: Runtime, bundle: BundleFactory) -> None:
    """runtime-linux.md "File descriptors": stdin reaches the process."""
    b = bundle(["cat"])
    b.write()
    rt.track(b.id)
    res = rt.run("run", "--bundle", b.path, b.id, input="hello stdin\n")
    assert res.stdout == "hello stdin\n"


def test_path_lookup_uses_process_env(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "Process" args: args[0] is looked up in the container's PATH."""
    b = bundle(["busybox", "echo", "found"])
    b.process["env"] = ["PATH=/bin"]
    assert _run(rt, b).strip() == "found"


def test_supplementary_group_from_id(rt: Runtime, bundle: BundleFactory) -> None:
    """config.md "POSIX-platform User": `id` inside agrees with the configured ids."""
    b = bundle(["id"])
    b.process["user"] = {"uid": 1000, "gid": 1000, "additionalGids": [1001]}
    out = _run(rt, b)
    assert re.search(r"uid=1000\b", out) and re.search(r"gid=1000\b", out)
    assert "1001" in out
