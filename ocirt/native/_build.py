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
# linux.seccomp → BPF (csrc/native/seccomp.h)
ffibuilder.cdef(
    """
    void *ocirt_seccomp_new(uint32_t def_action);
    void ocirt_seccomp_release(void *ctx);
    int ocirt_seccomp_arch_add(void *ctx, const char *name);
    int ocirt_seccomp_syscall(const char *name);
    int ocirt_seccomp_rule_add(void *ctx, uint32_t action, int nr, unsigned int n,
                               const unsigned int *arg, const int *op, const uint64_t *a,
                               const uint64_t *b);
    int ocirt_seccomp_attr_set(void *ctx, int attr, uint32_t value);
    int ocirt_seccomp_export(void *ctx, unsigned char **out, size_t *len);
    void ocirt_seccomp_version(unsigned int *major, unsigned int *minor, unsigned int *micro);
    int ocirt_seccomp_flag_supported(unsigned int flag);
    int ocirt_seccomp_action_available(uint32_t action);
    """
)
# the init spawned into its cgroup v2 (csrc/native/spawn.h)
ffibuilder.cdef(
    """
    int ocirt_spawn_in_cgroup(int exe_fd, char *const argv[], const int *dups, size_t n_dups,
                              int cgroup_fd, int *err);
    """
)
# cgroup v2 device filter (csrc/native/bpf.h)
ffibuilder.cdef(
    """
    int ocirt_bpf_replace_device_filter(int cgroup_fd, const void *insns,
                                        unsigned int insn_cnt, char *log,
                                        unsigned int log_size);
    int ocirt_bpf_count_device_filters(int cgroup_fd);
    """
)
ffibuilder.set_source(
    "ocirt.native._native",
    '#include "native.h"\n#include "ocirt_seccomp.h"\n#include "bpf.h"\n#include "spawn.h"',
    sources=_rel("csrc/lib/*.c") + _rel("csrc/native/*.c"),
    include_dirs=[os.path.join(_ROOT, "csrc", "lib"), os.path.join(_ROOT, "csrc", "native")],
    extra_compile_args=["-O2", "-Wall", "-Wextra", "-D_GNU_SOURCE"],
    libraries=["seccomp"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
