/* cgroup v2 device filter: bpf(2) wrappers for ocirt/cgroups/bpf.py. */
#ifndef OCIRT_BPF_H
#define OCIRT_BPF_H

/* Loads insns (insn_cnt struct bpf_insn, built by ocirt/cgroups/devices.py) as a
 * BPF_PROG_TYPE_CGROUP_DEVICE program, attaches it to the cgroup directory fd with
 * BPF_F_ALLOW_MULTI, then detaches every device program that was attached before (so an
 * update swaps the rules with no window where none apply). 0, or -errno; on a load failure
 * the verifier's log is left in log (NUL-terminated, at most log_size bytes). */
int ocirt_bpf_replace_device_filter(int cgroup_fd, const void *insns, unsigned int insn_cnt,
                                    char *log, unsigned int log_size);
/* Number of device programs attached to the cgroup, or -errno. */
int ocirt_bpf_count_device_filters(int cgroup_fd);

#endif
