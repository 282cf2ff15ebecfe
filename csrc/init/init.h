/* The container init: executes a decoded plan (csrc/lib/plan.h). */
#ifndef OCIRT_INIT_H
#define OCIRT_INIT_H

#include "plan.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* Sync socket messages: a u32 type, then a type-specific payload. Keep in sync with
 * ocirt/native/spawn.py. */
enum {
	MSG_GO = 1,          /* parent → init: the init is in its cgroup, go on */
	MSG_USERMAP_REQ = 2, /* init → parent: write my uid_map/gid_map */
	MSG_USERMAP_ACK = 3, /* parent → init: done */
	MSG_PID = 4,         /* init → parent: i32 host pid of the container init */
	MSG_READY = 5,       /* init → parent: waiting on exec.fifo */
	MSG_ERROR = 6,       /* init → parent: one line of text, then the init exits 1 */
	MSG_SECCOMP_FD = 7,  /* init → parent: the seccomp notify listener, as SCM_RIGHTS */
	MSG_HOOKS = 8,       /* init → parent: i32 my pid (as the container sees it); at the
			      * hook point before pivot_root: run prestart+createRuntime */
	MSG_HOOKS_DONE = 9,  /* parent → init: "createContainer state\0startContainer state\0" */
};

struct ctx {
	struct plan plan;
	int sync_fd, state_fd, console_fd;
	/* exec.fifo opened O_PATH while still privileged; reopened through /proc when the
	 * container user may not search the state directory. */
	int fifo_path_fd;
	int setgroups_allowed;
	int rootfs_fd;
};

extern struct ctx g;

/* Send "what: strerror(errno)"-style failures to the parent and _exit(1). */
__attribute__((noreturn, format(printf, 1, 2))) void die(const char *fmt, ...);
/* die() with ": <strerror(errno)>" appended, lowercased like Go's errors. */
__attribute__((noreturn, format(printf, 1, 2))) void die_errno(const char *fmt, ...);
const char *errstr(int err);

int send_msg(uint32_t type, const void *payload, size_t len);
/* A payload-less message carrying fd as SCM_RIGHTS. */
/* one message: data as payload, fd as SCM_RIGHTS */
int send_fd(int sock, const void *data, size_t len, int fd);
int send_msg_fd(uint32_t type, int fd);
/* Waits for a message of the given type; dies on anything else or EOF. */
void expect_msg(uint32_t type);

void setup_rootfs(void);
/* The target of the symlink name (relative to dirfd), malloc'd; NULL with errno set. */
char *read_link_at(int dirfd, const char *name);
void finish_rootfs(void);
void setup_console(void);
void setup_process(void);
const char *lookup_executable(void);
__attribute__((noreturn)) void wait_and_exec(const char *path);

/* hooks.c: with plan.hook_sync, HOOKS/HOOKS_DONE then the createContainer hooks (dies on
 * failure); called after the mounts, before pivot_root. */
void hooks_before_pivot(void);
/* The startContainer hooks: NULL, or a malloc'd one-line error. */
char *run_start_container_hooks(void);

#endif
