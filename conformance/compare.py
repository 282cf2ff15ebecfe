#!/usr/bin/env python3
"""Run the conformance suite against two runtimes and print the results side by side.

    python3 conformance/compare.py /usr/sbin/runc /abs/path/ocirt [-- extra pytest args]

Each runtime gets its own pytest run (RUNTIME=<path>) with --junitxml; the reports are merged
into one table: test | result with A | result with B, then totals per runtime.

Exit status: 0 when runtime B has no failed or erroring test, 1 when it has some, 2 when a run
could not produce a report (usage error, collection error, crash).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ORDER = ("passed", "xfail", "skipped", "xpass", "failed", "error")


def outcome(case: ET.Element) -> str:
    """One word per junit <testcase>; a teardown error on a passing test counts as error."""
    tags = {child.tag: child for child in case}
    if "error" in tags:
        return "error"
    if "failure" in tags:
        # strict xfail that passed is reported by pytest as a failure "[XPASS(strict)]"
        msg = tags["failure"].get("message", "")
        return "xpass" if "XPASS(strict)" in msg else "failed"
    if "skipped" in tags:
        return "xfail" if tags["skipped"].get("type") == "pytest.xfail" else "skipped"
    return "passed"


def run_suite(runtime: str, xml_path: str, extra: list[str]) -> dict[str, str]:
    env = dict(os.environ, RUNTIME=runtime)
    env.pop("RUNTIME_NAME", None)  # each runtime is identified by its own file name
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    cmd = [sys.executable, "-m", "pytest", HERE, "-q", "-p", "no:cacheprovider",
           f"--junitxml={xml_path}", *extra]
    print(f"== {runtime}: {' '.join(cmd[2:])}", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=REPO, env=env)
    # pytest: 0 all passed, 1 some failed; anything else means no usable report
    if proc.returncode not in (0, 1) or not os.path.exists(xml_path):
        raise SystemExit(f"compare: pytest against {runtime} exited {proc.returncode}")
    results: dict[str, str] = {}
    for case in ET.parse(xml_path).getroot().iter("testcase"):
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        name = name.removeprefix("conformance.")
        new = outcome(case)
        old = results.get(name)
        # pytest may emit a second <testcase> for a teardown error; keep the worst result
        if old is None or ORDER.index(new) > ORDER.index(old):
            results[name] = new
    return results


def label(path: str, other: str) -> str:
    name = os.path.basename(path)
    return name if name != os.path.basename(other) else path


def table(a_name: str, a: dict[str, str], b_name: str, b: dict[str, str],
          diff_only: bool) -> str:
    names = sorted(set(a) | set(b))
    width = max([len(n) for n in names] + [4])
    wa = max(len(a_name), 7)
    wb = max(len(b_name), 7)
    lines = [f"{'test':<{width}} | {a_name:<{wa}} | {b_name:<{wb}}",
             f"{'-' * width}-+-{'-' * wa}-+-{'-' * wb}"]
    for n in names:
        ra, rb = a.get(n, "-"), b.get(n, "-")
        if diff_only and ra == rb:
            continue
        mark = "" if ra == rb else "  <-"
        lines.append(f"{n:<{width}} | {ra:<{wa}} | {rb:<{wb}}{mark}")
    lines.append("")
    for rname, res in ((a_name, a), (b_name, b)):
        counts = {k: list(res.values()).count(k) for k in ORDER}
        summary = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
        lines.append(f"{rname}: {len(res)} tests: {summary}")
    differing = sum(1 for n in names if a.get(n) != b.get(n))
    lines.append(f"differing results: {differing}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runtime_a", help="absolute path of the first runtime (e.g. runc)")
    ap.add_argument("runtime_b", help="absolute path of the second runtime (e.g. ocirt)")
    ap.add_argument("--diff-only", action="store_true", help="only rows that differ")
    ap.add_argument("--keep-xml", metavar="DIR", help="write the junit reports to DIR")
    ap.add_argument("pytest_args", nargs="*", help="after --: passed to both pytest runs")
    args = ap.parse_args(argv)
    for rt in (args.runtime_a, args.runtime_b):
        if not os.access(rt, os.X_OK):
            ap.error(f"{rt} is not an executable")
    outdir = args.keep_xml or tempfile.mkdtemp(prefix="ocirt-compare-")
    os.makedirs(outdir, exist_ok=True)
    a_name = label(args.runtime_a, args.runtime_b)
    b_name = label(args.runtime_b, args.runtime_a)
    try:
        a = run_suite(args.runtime_a, os.path.join(outdir, "a.xml"), args.pytest_args)
        b = run_suite(args.runtime_b, os.path.join(outdir, "b.xml"), args.pytest_args)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    print(table(a_name, a, b_name, b, args.diff_only))
    if not args.keep_xml:
        for f in ("a.xml", "b.xml"):
            os.unlink(os.path.join(outdir, f))
        os.rmdir(outdir)
    return 1 if any(r in ("failed", "error") for r in b.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
