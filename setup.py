"""Builds the cffi extension (ocirt.native._native) and the container init (ocirt-init).

The init is a small separate executable: the process that waits in `created` must not map
the Python interpreter (memory) nor expose a host binary through /proc/<pid>/exe, so the
runtime copies it into a sealed memfd and executes that (see ocirt/native/spawn.py).
"""

from __future__ import annotations

import glob
import os

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
INIT_SOURCES = sorted(glob.glob("csrc/init/*.c") + glob.glob("csrc/lib/*.c"))
CFLAGS = ["-O2", "-Wall", "-Wextra", "-Werror=implicit-function-declaration", "-D_GNU_SOURCE"]


class BuildWithInit(build_ext):
    """build_ext that also links csrc/init into ocirt/native/ocirt-init."""

    def run(self) -> None:
        super().run()
        out_dir = os.path.join(self.build_lib, "ocirt", "native")
        self._build_init(out_dir)
        if self.inplace:
            self._build_init(os.path.join(HERE, "ocirt", "native"))

    def _build_init(self, out_dir: str) -> None:
        os.makedirs(out_dir, exist_ok=True)
        objs = self.compiler.compile(
            INIT_SOURCES,
            output_dir=self.build_temp,
            include_dirs=["csrc/lib", "csrc/init"],
            extra_postargs=CFLAGS,
        )
        self.compiler.link_executable(
            objs, "ocirt-init", output_dir=out_dir, extra_postargs=["-Wl,-z,now"]
        )
        # `ocirt features` reports the commit; an installed copy has no .git to read it from
        with open(os.path.join(out_dir, "commit"), "w") as f:
            f.write(_source_commit())


def _source_commit() -> str:
    import subprocess

    try:
        out = subprocess.run(["git", "-C", HERE, "rev-parse", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out or "unknown"


setup(
    cffi_modules=["ocirt/native/_build.py:ffibuilder"],
    cmdclass={"build_ext": BuildWithInit},
    scripts=["bin/ocirt"],
)
