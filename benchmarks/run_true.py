#!/usr/bin/env python3
"""Container start-up cost: ocirt vs runc.

1. Wall time of `RUNTIME --root R run --bundle B ID` for a busybox bundle running /bin/true
   (terminal false, runc's default namespaces), N runs per runtime, interleaved so drift on
   the host (page cache, CPU frequency, other load) hits both runtimes alike.
2. The same with Docker's default seccomp profile and capabilities in the config, as an
   engine sends them with every container (run_seccomp_*).
3. Resident memory of the container's init while it waits to be started: after `create`,
   VmRSS and VmHWM (peak RSS) of the init pid from /proc/PID/status.

Prints one line per metric (`metric runc=.. ocirt=.. ratio=..`, ratio = ocirt/runc), or JSON
with --json. Never asserts anything about the numbers.

    python3 benchmarks/run_true.py [--runs 30] [--runc PATH] [--ocirt PATH] [--only runc]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from typing import Any

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from ocirt.testing.busybox import base_config, build_rootfs, write_config  # noqa: E402
from ocirt.testing.procs import become_subreaper, reap_children  # noqa: E402
from tests.seccomp.engine import DOCKER_CAPS, to_oci  # noqa: E402


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: with 30 samples p90 is a real sample)."""
    ordered = sorted(samples)
    rank = max(1, int(-(-q * len(ordered) // 100)))  # ceil(q/100 * n)
    return ordered[rank - 1]


class Bench:
    def __init__(self, name: str, binary: str, workdir: str) -> None:
        self.name = name
        self.binary = binary
        self.root = os.path.join(workdir, f"root-{name}")
        os.makedirs(self.root)

    def cmd(self, *args: str) -> list[str]:
        return [self.binary, "--root", self.root, *args]

    def run_once(self, bundle: str) -> float:
        cid = f"bench-{self.name}-{uuid.uuid4().hex[:10]}"
        t0 = time.perf_counter()
        proc = subprocess.run(self.cmd("run", "--bundle", bundle, cid),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            # `run` normally deletes the container at exit; make sure a failure doesn't leak
            subprocess.run(self.cmd("delete", "--force", cid), capture_output=True)
            raise SystemExit(f"{self.name}: run failed ({proc.returncode}): {proc.stderr.strip()}")
        return elapsed

    def init_memory(self, bundle: str) -> dict[str, int]:
        """VmRSS/VmHWM (kB) of the init of a created-but-not-started container."""
        cid = f"bench-rss-{self.name}-{uuid.uuid4().hex[:10]}"
        pid_file = os.path.join(self.root, f"{cid}.pid")
        try:
            # stdio to /dev/null: the waiting init inherits it, a pipe would never close
            subprocess.run(self.cmd("create", "--bundle", bundle, "--pid-file", pid_file, cid),
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            with open(pid_file) as f:
                pid = int(f.read().strip())
            mem = {}
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in ("VmRSS", "VmHWM"):
                        mem[key] = int(value.split()[0])
            return mem
        finally:
            subprocess.run(self.cmd("delete", "--force", cid), capture_output=True)
            reap_children()


def make_bundles(workdir: str) -> dict[str, str]:
    """true, true under Docker's seccomp profile, sleep (for the memory figures)."""
    rootfs = build_rootfs(os.path.join(workdir, "rootfs"))
    bundles = {}
    for name, args in (("true", ["/bin/true"]), ("seccomp", ["/bin/true"]),
                       ("sleep", ["sleep", "1000"])):
        path = os.path.join(workdir, f"bundle-{name}")
        os.makedirs(path)
        cfg = base_config(args)  # terminal false, runc's default namespaces
        cfg["root"] = {"path": rootfs, "readonly": True}
        if name == "seccomp":
            cfg["linux"]["seccomp"] = to_oci("docker-default.json", DOCKER_CAPS)
            cfg["process"]["capabilities"] = {k: DOCKER_CAPS for k in (
                "bounding", "effective", "permitted")}
        write_config(path, cfg)
        bundles[name] = path
    return bundles


def resolve(explicit: str | None, env: str, name: str) -> str | None:
    value = explicit or os.environ.get(env)
    if value:
        found = value if os.sep in value else shutil.which(value)
        return os.path.abspath(found) if found and os.access(found, os.X_OK) else None
    return shutil.which(name)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="run /bin/true: ocirt vs runc")
    ap.add_argument("--runs", type=int, default=30, help="measured runs per runtime")
    ap.add_argument("--warmup", type=int, default=2, help="unmeasured runs per runtime first")
    ap.add_argument("--runc", help="runc binary (default: $RUNC, else runc on PATH)")
    ap.add_argument("--ocirt", help="ocirt binary (default: $OCIRT, else ocirt on PATH)")
    ap.add_argument("--only", choices=("runc", "ocirt"), help="benchmark just one runtime")
    ap.add_argument("--json", action="store_true", help="print JSON instead of text")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        ap.error("must run as root")

    binaries = {"runc": resolve(args.runc, "RUNC", "runc"),
                "ocirt": resolve(args.ocirt, "OCIRT", "ocirt")}
    wanted = [args.only] if args.only else ["runc", "ocirt"]
    notes = []
    for name in list(wanted):
        if binaries[name] is None:
            notes.append(f"{name}: missing (set {name.upper()} or --{name})")
            wanted.remove(name)
    if not wanted:
        print("\n".join(notes), file=sys.stderr)
        return 2

    become_subreaper()
    workdir = tempfile.mkdtemp(prefix="ocirt-bench-")
    os.chmod(workdir, 0o755)
    try:
        bundles = make_bundles(workdir)
        benches = [Bench(n, str(binaries[n]), workdir) for n in wanted]
        for b in benches:
            for _ in range(args.warmup):
                b.run_once(bundles["true"])
                b.run_once(bundles["seccomp"])
        samples: dict[str, dict[str, list[float]]] = {
            kind: {b.name: [] for b in benches} for kind in ("true", "seccomp")}
        for i in range(args.runs):
            # alternate who goes first so neither always runs right after the other
            order = benches if i % 2 == 0 else list(reversed(benches))
            for kind in ("true", "seccomp"):
                for b in order:
                    samples[kind][b.name].append(b.run_once(bundles[kind]))
        memory = {b.name: b.init_memory(bundles["sleep"]) for b in benches}
    finally:
        reap_children()
        shutil.rmtree(workdir, ignore_errors=True)

    metrics: dict[str, dict[str, float]] = {}
    for kind, label in (("true", "run_true"), ("seccomp", "run_seccomp")):
        got = samples[kind]
        metrics[f"{label}_median_ms"] = {n: statistics.median(s) * 1000 for n, s in got.items()}
        metrics[f"{label}_p90_ms"] = {n: percentile(s, 90) * 1000 for n, s in got.items()}
        metrics[f"{label}_min_ms"] = {n: min(s) * 1000 for n, s in got.items()}
    metrics.update({
        "init_rss_kb": {n: float(m.get("VmRSS", 0)) for n, m in memory.items()},
        "init_peak_rss_kb": {n: float(m.get("VmHWM", 0)) for n, m in memory.items()},
    })
    report: dict[str, Any] = {
        "runs": args.runs,
        "binaries": {b.name: b.binary for b in benches},
        "notes": notes,
        "metrics": {},
        "samples_ms": {kind: {n: [round(x * 1000, 3) for x in s] for n, s in got.items()}
                       for kind, got in samples.items()},
    }
    for metric, values in metrics.items():
        # kB values are whole numbers; print them without a trailing .0
        entry: dict[str, float | int] = {
            n: int(v) if float(v).is_integer() else round(v, 3) for n, v in values.items()}
        if "runc" in values and "ocirt" in values and values["runc"]:
            entry["ratio"] = round(values["ocirt"] / values["runc"], 3)
        report["metrics"][metric] = entry

    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for note in notes:
        print(note)
    print(f"runs {args.runs} per runtime (+{args.warmup} warm-up), interleaved")
    for metric, entry in report["metrics"].items():
        cols = " ".join(f"{k}={v}" for k, v in entry.items())
        print(f"{metric} {cols}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
