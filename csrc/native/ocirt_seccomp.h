/* libseccomp wrappers for ocirt/seccomp.py (named apart from <seccomp.h>): compile
 * in ocirt's own process; the container init only loads the bytes (csrc/init/process.c). */
#ifndef OCIRT_SECCOMP_H
#define OCIRT_SECCOMP_H

#include <stddef.h>
#include <stdint.h>

/* A filter context with def_action (SCMP_ACT_* value) and the native arch, or NULL. */
void *ocirt_seccomp_new(uint32_t def_action);
void ocirt_seccomp_release(void *ctx);
/* Adds the arch named like "x86_64" (libseccomp's names); 0, -EEXIST is also 0, -EINVAL
 * for an unknown name, else -errno. */
int ocirt_seccomp_arch_add(void *ctx, const char *name);
/* libseccomp's syscall number for the native arch (negative pseudo numbers for
 * multiplexed calls such as socketcall), or INT32_MIN when it does not know the name. */
int ocirt_seccomp_syscall(const char *name);
/* One rule: n comparisons (arg index, op SCMP_CMP_*, datum_a, datum_b). 0 or -errno. */
int ocirt_seccomp_rule_add(void *ctx, uint32_t action, int nr, unsigned int n,
                           const unsigned int *arg, const int *op, const uint64_t *a,
                           const uint64_t *b);
/* seccomp_attr_set; 0 or -errno. */
int ocirt_seccomp_attr_set(void *ctx, int attr, uint32_t value);
/* The BPF program (array of struct sock_filter) in a malloc'd buffer (free with
 * ocirt_free). 0 or -errno. */
int ocirt_seccomp_export(void *ctx, unsigned char **out, size_t *len);
/* "major.minor.micro" of the libseccomp actually linked. */
void ocirt_seccomp_version(unsigned int *major, unsigned int *minor, unsigned int *micro);

/* 1 when the running kernel knows SECCOMP_FILTER_FLAG_* flag, 0 when not, -errno. */
int ocirt_seccomp_flag_supported(unsigned int flag);
/* 1 when the kernel implements the SECCOMP_RET_* action, else 0. */
int ocirt_seccomp_action_available(uint32_t action);

#endif
