"""cffi build script for ocirt.native._native (API mode, out-of-line).

Shares csrc/lib/ with the container init, so what the tests decode here is what the init
decodes.
"""

from __future__ import annotations

import glob
import os

from cffi import FFI

_HERE = os.path.dirname(os.path.abspath(__file__))
_ROOT = os.path.dirname(os.path.dirname(_HERE))


def _rel(pattern: str) -> list[str]:
    # setuptools wants paths relative to the project root
    return sorted(os.path.relpath(p, _ROOT) for p in glob.glob(os.path.join(_ROOT, pattern)))


ffibuilder = FFI()
ffibuilder.cdef(
    """
    int ocirt_set_child_subreaper(void);
    char *ocirt_plan_dump(const unsigned char *buf, size_t len, const char **err);
    void ocirt_free(void *p);
    """
)
ffibuilder.set_source(
    "ocirt.native._native",
    '#include "native.h"',
    sources=_rel("csrc/lib/*.c") + _rel("csrc/native/*.c"),
    include_dirs=[os.path.join(_ROOT, "csrc", "lib"), os.path.join(_ROOT, "csrc", "native")],
    extra_compile_args=["-O2", "-Wall", "-Wextra", "-D_GNU_SOURCE"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
