#include "ocirt_seccomp.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

void *ocirt_seccomp_new(uint32_t def_action)
{
	/* Probe the kernel's API level first: actions such as NOTIFY and LOG are refused by
	 * libseccomp until it knows the kernel has them. */
	(void)seccomp_api_get();
	return seccomp_init(def_action);
}

void ocirt_seccomp_release(void *ctx)
{
	if (ctx)
		seccomp_release(ctx);
}

int ocirt_seccomp_arch_add(void *ctx, const char *name)
{
	uint32_t arch = seccomp_arch_resolve_name(name);
	if (arch == 0)
		return -EINVAL;
	int rc = seccomp_arch_add(ctx, arch);
	return rc == -EEXIST ? 0 : rc;
}

int ocirt_seccomp_syscall(const char *name)
{
	int nr = seccomp_syscall_resolve_name(name);
	return nr == __NR_SCMP_ERROR ? INT32_MIN : nr;
}

int ocirt_seccomp_rule_add(void *ctx, uint32_t action, int nr, unsigned int n,
			   const unsigned int *arg, const int *op, const uint64_t *a,
			   const uint64_t *b)
{
	struct scmp_arg_cmp cmp[6];
	if (n > 6)
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		cmp[i].arg = arg[i];
		cmp[i].op = (enum scmp_compare)op[i];
		cmp[i].datum_a = a[i];
		cmp[i].datum_b = b[i];
	}
	return seccomp_rule_add_array(ctx, action, nr, n, cmp);
}

int ocirt_seccomp_attr_set(void *ctx, int attr, uint32_t value)
{
	return seccomp_attr_set(ctx, (enum scmp_filter_attr)attr, value);
}

int ocirt_seccomp_export(void *ctx, unsigned char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int fd = memfd_create("ocirt-seccomp", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = seccomp_export_bpf(ctx, fd);
	if (rc < 0)
		goto out;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	unsigned char *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	size_t done = 0;
	while (done < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + done, (size_t)st.st_size - done, (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			free(buf);
			goto out;
		}
		done += (size_t)r;
	}
	*out = buf;
	*len = done;
	rc = 0;
out:
	if (close(fd) < 0 && rc == 0) {
		rc = -errno;
		free(*out);
		*out = NULL;
		*len = 0;
	}
	return rc;
}

void ocirt_seccomp_version(unsigned int *major, unsigned int *minor, unsigned int *micro)
{
	const struct scmp_version *v = seccomp_version();
	*major = v->major;
	*minor = v->minor;
	*micro = v->micro;
}

int ocirt_seccomp_flag_supported(unsigned int flag)
{
	/* A NULL program: EFAULT once the flags were accepted, EINVAL when one is unknown. */
	long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flag, NULL);
	if (rc == 0)
		return -EINVAL; /* cannot happen without a program */
	if (errno == EFAULT)
		return 1;
	if (errno == EINVAL)
		return 0;
	return -errno;
}

int ocirt_seccomp_action_available(uint32_t action)
{
	return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}
