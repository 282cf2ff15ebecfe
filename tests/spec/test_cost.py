"""validate() runs on every `ocirt create`, which is benchmarked against runc: keep it
quick and keep its imports to the standard library's json."""

from __future__ import annotations

import subprocess
import sys
import time

from ocirt.spec import validate
from ocirt.spec.defaults import default_spec
from tests.spec.helpers import REPO


def test_validate_default_config_under_a_millisecond() -> None:
    cfg = default_spec()
    validate(cfg)
    best = float("inf")
    for _ in range(5):  # best of several runs, so a busy CI host does not fail us
        t = time.perf_counter()
        for _ in range(100):
            validate(cfg)
        best = min(best, (time.perf_counter() - t) / 100)
    assert best < 1e-3, f"validate() took {best * 1e6:.0f} µs"


def test_imports_nothing_heavy() -> None:
    # -S: without site, so nothing a .pth file loads hides what ocirt.spec pulls in
    code = (
        "import sys, json; before = set(sys.modules)\n"
        "import ocirt.spec as s\n"
        "from ocirt.spec.defaults import default_spec\n"
        "s.validate(default_spec())\n"
        "print(' '.join(sorted(m for m in set(sys.modules) - before"
        " if not m.startswith('ocirt'))))\n"
    )
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout.split()
    # typing alone would cost more than validating a config hundreds of times
    assert set(out) <= {"__future__", "errno", "os", "os.path", "posixpath", "genericpath",
                        "stat", "_stat"}, out
