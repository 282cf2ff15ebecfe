/* bpf(2) calls for the cgroup v2 devices controller; see bpf.h. */
#include "bpf.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_ATTACHED 64

static int sys_bpf(int cmd, union bpf_attr *attr)
{
    return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static __u64 ptr(const void *p)
{
    return (__u64)(uintptr_t)p;
}

static int query(int cgroup_fd, __u32 *ids, __u32 *count)
{
    union bpf_attr attr;

    memset(&attr, 0, sizeof(attr));
    attr.query.target_fd = (__u32)cgroup_fd;
    attr.query.attach_type = BPF_CGROUP_DEVICE;
    attr.query.prog_ids = ptr(ids);
    attr.query.prog_cnt = *count;
    if (sys_bpf(BPF_PROG_QUERY, &attr) < 0)
        return -errno;
    *count = attr.query.prog_cnt;
    return 0;
}

static int load(const void *insns, unsigned int insn_cnt, char *log, unsigned int log_size,
                int with_log)
{
    static const char license[] = "Apache-2.0";
    union bpf_attr attr;

    memset(&attr, 0, sizeof(attr));
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = ptr(insns);
    attr.insn_cnt = insn_cnt;
    attr.license = ptr(license);
    if (with_log && log && log_size > 1) {
        attr.log_buf = ptr(log);
        attr.log_size = log_size;
        attr.log_level = 1;
    }
    memcpy(attr.prog_name, "ocirt_devices", sizeof("ocirt_devices"));
    return sys_bpf(BPF_PROG_LOAD, &attr);
}

int ocirt_bpf_replace_device_filter(int cgroup_fd, const void *insns, unsigned int insn_cnt,
                                    char *log, unsigned int log_size)
{
    __u32 ids[MAX_ATTACHED];
    __u32 count = MAX_ATTACHED;
    union bpf_attr attr;
    int prog_fd, rc, i;

    if (log && log_size)
        log[0] = '\0';
    rc = query(cgroup_fd, ids, &count);
    if (rc < 0)
        return rc;
    if (count > MAX_ATTACHED)
        return -E2BIG;
    prog_fd = load(insns, insn_cnt, log, log_size, 0);
    if (prog_fd < 0) {
        rc = -errno;
        /* again with the verifier's log, for the error message */
        int again = load(insns, insn_cnt, log, log_size, 1);
        if (again >= 0)
            close(again);
        if (log && log_size)
            log[log_size - 1] = '\0';
        return rc;
    }
    memset(&attr, 0, sizeof(attr));
    attr.target_fd = (__u32)cgroup_fd;
    attr.attach_bpf_fd = (__u32)prog_fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    if (sys_bpf(BPF_PROG_ATTACH, &attr) < 0) {
        rc = -errno;
        close(prog_fd);
        return rc;
    }
    close(prog_fd); /* the attachment keeps the program alive */
    for (i = 0; i < (int)count; i++) {
        union bpf_attr get;
        int old;

        memset(&get, 0, sizeof(get));
        get.prog_id = ids[i];
        old = sys_bpf(BPF_PROG_GET_FD_BY_ID, &get);
        if (old < 0) {
            if (errno == ENOENT)
                continue; /* already gone */
            return -errno;
        }
        memset(&attr, 0, sizeof(attr));
        attr.target_fd = (__u32)cgroup_fd;
        attr.attach_bpf_fd = (__u32)old;
        attr.attach_type = BPF_CGROUP_DEVICE;
        rc = sys_bpf(BPF_PROG_DETACH, &attr) < 0 ? -errno : 0;
        close(old);
        if (rc < 0 && rc != -ENOENT)
            return rc;
    }
    return 0;
}

int ocirt_bpf_count_device_filters(int cgroup_fd)
{
    __u32 ids[MAX_ATTACHED];
    __u32 count = MAX_ATTACHED;
    int rc = query(cgroup_fd, ids, &count);

    return rc < 0 ? rc : (int)count;
}
