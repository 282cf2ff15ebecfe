/* The decoded Plan (ocirt/native/plan.py) and its TLV wire format (csrc/README.md).
 *
 * Shared by the container init and the cffi extension, so the round-trip test of
 * ocirt/native/wire.py exercises exactly the parser the init runs. */
#ifndef OCIRT_PLAN_H
#define OCIRT_PLAN_H

#include <stddef.h>
#include <stdint.h>

/* Top-level record types; keep in sync with ocirt/native/wire.py. */
enum {
	T_NAMESPACE = 1,
	T_TIMENS_OFFSETS = 2,
	T_NEW_USERNS = 3,
	T_ROOTFS = 4,
	T_ROOTFS_READONLY = 5,
	T_ROOTFS_PROPAGATION = 6,
	T_NO_PIVOT = 7,
	T_MOUNT = 8,
	T_DEVICE = 9,
	T_SYMLINK = 10,
	T_MASKED_PATH = 11,
	T_READONLY_PATH = 12,
	T_SYSCTL = 13,
	T_HOSTNAME = 14,
	T_DOMAINNAME = 15,
	T_ARG = 16,
	T_ENV = 17,
	T_CWD = 18,
	T_UID = 19,
	T_GID = 20,
	T_ADDITIONAL_GID = 21,
	T_UMASK = 22,
	T_RLIMIT = 23,
	T_CAPABILITIES = 24,
	T_NO_NEW_PRIVILEGES = 25,
	T_OOM_SCORE_ADJ = 26,
	T_TERMINAL = 27,
	T_CONSOLE_WIDTH = 28,
	T_CONSOLE_HEIGHT = 29,
	T_PRESERVE_FDS = 30,
	T_SECCOMP_BPF = 31,
	T_SECCOMP_FLAGS = 32,
	T_UID_MAPPINGS = 33,
	T_GID_MAPPINGS = 34,
	T_NEW_KEYRING = 35,
	T_KEYRING_NAME = 36,
	T_PERSONALITY = 37,
	T_SCHED_ATTR = 38,
	T_IOPRIO = 39,
	T_MEMPOLICY_MODE = 40,
	T_MEMPOLICY_NODES = 41,
	T_LSM_EXEC_PATH = 42,
	T_LSM_EXEC_LABEL = 43,
	/* hooks: from 64, clear of the numbers other fields take */
	T_HOOK_SYNC = 64,
	T_CREATE_CONTAINER_HOOK = 65,
	T_START_CONTAINER_HOOK = 66,
	/* exec (issue 6): from 80 */
	T_EXEC_MODE = 80,
};

/* Nested record types, numbered per compound. */
enum { NS_FLAG = 1, NS_PATH = 2 };
enum {
	M_DESTINATION = 1, M_SOURCE = 2, M_FSTYPE = 3, M_FLAGS = 4, M_DATA = 5,
	M_PROPAGATION = 6, M_ATTR_SET = 7, M_ATTR_CLR = 8, M_TMPCOPYUP = 9,
	M_UID_MAP = 10, M_GID_MAP = 11, M_DEST_IS_FILE = 12,
};
enum {
	D_PATH = 1, D_KIND = 2, D_MAJOR = 3, D_MINOR = 4, D_MODE = 5, D_UID = 6,
	D_GID = 7, D_BIND_FROM_HOST = 8,
};
enum { P_FIRST = 1, P_SECOND = 2 };
enum { R_RESOURCE = 1, R_SOFT = 2, R_HARD = 3 };
enum { C_BOUNDING = 1, C_EFFECTIVE = 2, C_PERMITTED = 3, C_INHERITABLE = 4, C_AMBIENT = 5 };
enum { H_PATH = 1, H_ARG = 2, H_ENV = 3, H_TIMEOUT = 4 };

struct plan_ns {
	int64_t flag;
	const char *path; /* NULL: create a new namespace */
};

struct plan_mount {
	const char *destination, *source, *fstype, *data, *uid_map, *gid_map;
	int64_t flags, attr_set, attr_clr;
	int64_t *propagation;
	size_t n_propagation;
	int tmpcopyup, dest_is_file;
	/* Not on the wire: the init's detached idmapped tree (open_tree), or -1. */
	int idmap_fd;
};

struct plan_device {
	const char *path;
	int kind; /* 'c', 'b', 'u' or 'p' */
	int64_t major, minor, mode, uid, gid;
	int bind_from_host;
};

struct plan_pair {
	const char *first, *second;
};

struct plan_rlimit {
	int64_t resource;
	uint64_t soft, hard;
};

struct plan_caps {
	uint64_t bounding, effective, permitted, inheritable, ambient;
};

struct plan_hook {
	const char *path;
	const char **args; /* NULL-terminated, n_args entries (argv[0] included) */
	size_t n_args;
	const char **env;  /* NULL-terminated, n_env entries */
	size_t n_env;
	int64_t timeout;   /* seconds, 0: none */
};

struct plan {
	struct plan_ns *namespaces;
	size_t n_namespaces;
	const char *timens_offsets;
	int new_userns;
	const char *rootfs;
	int rootfs_readonly;
	int64_t rootfs_propagation;
	int no_pivot;
	struct plan_mount *mounts;
	size_t n_mounts;
	struct plan_device *devices;
	size_t n_devices;
	struct plan_pair *symlinks;
	size_t n_symlinks;
	const char **masked_paths;
	size_t n_masked_paths;
	const char **readonly_paths;
	size_t n_readonly_paths;
	struct plan_pair *sysctl;
	size_t n_sysctl;
	const char *hostname;   /* NULL: leave alone */
	const char *domainname; /* NULL: leave alone */
	const char **args;      /* NULL-terminated, n_args entries */
	size_t n_args;
	const char **env;       /* NULL-terminated, n_env entries */
	size_t n_env;
	const char *cwd;
	int64_t uid, gid;
	int64_t *additional_gids;
	size_t n_additional_gids;
	int has_umask;
	int64_t umask;
	struct plan_rlimit *rlimits;
	size_t n_rlimits;
	int has_capabilities;
	struct plan_caps caps;
	int no_new_privileges;
	int has_oom_score_adj;
	int64_t oom_score_adj;
	int terminal;
	int64_t console_width, console_height;
	int64_t preserve_fds;
	const unsigned char *seccomp_bpf;
	size_t seccomp_bpf_len;
	int64_t seccomp_flags;
	const char *uid_mappings, *gid_mappings;
	int new_keyring;
	const char *keyring_name; /* "": anonymous */
	/* process attributes (issue 5); has_*: absent means leave alone */
	int has_personality, has_ioprio, has_mempolicy;
	int64_t personality, ioprio, mempolicy_mode;
	const unsigned char *sched_attr; /* struct sched_attr bytes, or NULL */
	size_t sched_attr_len;
	const unsigned char *mempolicy_nodes; /* unsigned long node mask */
	size_t mempolicy_nodes_len;
	const char *lsm_exec_path, *lsm_exec_label; /* "": none */
	/* hooks: stop before pivot_root for HOOKS/HOOKS_DONE; the ones the init runs */
	int hook_sync;
	struct plan_hook *create_container_hooks;
	size_t n_create_container_hooks;
	struct plan_hook *start_container_hooks;
	size_t n_start_container_hooks;
	/* exec: join the container's namespaces (all by path), no rootfs work, no exec.fifo */
	int exec_mode;
};

/* Decodes buf (which must outlive *p: strings point into it). Returns 0, or -1 with a
 * static description of the first problem in *err. */
int plan_decode(const unsigned char *buf, size_t len, struct plan *p, const char **err);
void plan_free(struct plan *p);
/* A JSON rendering of *p (malloc'd, NUL-terminated), for tests; NULL on ENOMEM. */
char *plan_dump(const struct plan *p);

#endif
