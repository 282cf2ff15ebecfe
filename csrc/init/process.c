/* Stage 2, part 2: the container init's own process state (console, limits, user,
 * capabilities), the executable lookup, the wait on exec.fifo and the final execve. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <sched.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <termios.h>
#include <unistd.h>

/* Key permission bits (keyutils.h, not in the uapi headers). */
#define KEY_USR_SEARCH 0x00080000U
#define KEY_OTH_SEARCH 0x00000008U

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int mkdir_in_root(int rootfd, const char *path, int last_is_file);

static void send_console(int master)
{
	/* runc's protocol (utils.SendFd): one message, the name as data, the fd as
	 * SCM_RIGHTS. Callers (containerd, podman's conmon) only use the fd. */
	static const char name[] = "/dev/ptmx";
	if (send_fd(g.console_fd, name, sizeof(name) - 1, master) < 0)
		die_errno("send console fd over the console socket");
}

static void bind_console(int slave, const char *slave_path)
{
	int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die_errno("open /");
	int cfd = mkdir_in_root(rootfd, "/dev/console", 1);
	if (cfd < 0)
		die_errno("create /dev/console");
	if (close(rootfd) < 0)
		die_errno("close /");
	int tree = open_tree(slave, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
	if (tree < 0)
		die_errno("mount /dev/console (bind %s): open_tree", slave_path);
	if (move_mount(tree, "", cfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		die_errno("mount /dev/console (bind %s)", slave_path);
	if (close(tree) < 0 || close(cfd) < 0)
		die_errno("close /dev/console");
}

void setup_console(void)
{
	struct plan *p = &g.plan;
	if (!p->terminal)
		return;
	if (g.console_fd < 0)
		die("process.terminal is set but no console socket was given");
	int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		die_errno("open /dev/ptmx");
	if (unlockpt(master) < 0)
		die_errno("unlockpt /dev/ptmx");
	unsigned int ptn;
	if (ioctl(master, TIOCGPTN, &ptn) < 0)
		die_errno("ioctl TIOCGPTN");
	char *slave_path;
	if (asprintf(&slave_path, "/dev/pts/%u", ptn) < 0)
		die("out of memory");
	/* TIOCGPTPEER opens the peer of this very master, immune to /dev/pts games. */
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		die_errno("open %s", slave_path);
	if (p->console_width || p->console_height) {
		struct winsize ws = {.ws_row = (unsigned short)p->console_height,
				     .ws_col = (unsigned short)p->console_width};
		if (ioctl(slave, TIOCSWINSZ, &ws) < 0)
			die_errno("ioctl TIOCSWINSZ %s", slave_path);
	}

	/* /dev/console in the container is the pty (not for an exec: the container has
	 * one); create the mount point if missing. Resolved inside the root and mounted
	 * through fds, so a symlink swapped in at /dev/console cannot redirect the mount. */
	if (!p->exec_mode)
		bind_console(slave, slave_path);

	send_console(master);
	if (close(master) < 0)
		die_errno("close pty master");
	if (close(g.console_fd) < 0)
		die_errno("close console socket");
	g.console_fd = -1;

	for (int i = 0; i < 3; i++)
		if (dup2(slave, i) < 0)
			die_errno("dup2 %s to fd %d", slave_path, i);
	if (slave > 2 && close(slave) < 0)
		die_errno("close %s", slave_path);
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		die_errno("ioctl TIOCSCTTY %s", slave_path);
	free(slave_path);
}

static const char *rlimit_name(int64_t r)
{
	static const char *names[] = {"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK",
				      "RLIMIT_CORE", "RLIMIT_RSS", "RLIMIT_NPROC", "RLIMIT_NOFILE",
				      "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS", "RLIMIT_SIGPENDING",
				      "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};
	if (r >= 0 && (size_t)r < sizeof(names) / sizeof(names[0]))
		return names[r];
	return "RLIMIT_?";
}

static void load_seccomp(void)
{
	struct plan *p = &g.plan;
	if (p->seccomp_bpf_len % sizeof(struct sock_filter) != 0)
		die("seccomp: program length %zu is not a multiple of %zu", p->seccomp_bpf_len,
		    sizeof(struct sock_filter));
	struct sock_fprog prog = {
		.len = (unsigned short)(p->seccomp_bpf_len / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)p->seccomp_bpf,
	};
	long rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned)p->seccomp_flags, &prog);
	if (rc < 0)
		die_errno("seccomp: load filter");
	if (p->seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) {
		if (send_msg_fd(MSG_SECCOMP_FD, (int)rc) < 0)
			die_errno("seccomp: send listener fd");
		if (close((int)rc) < 0)
			die_errno("seccomp: close listener fd");
	}
}

static int wants_listener(void)
{
	return g.plan.seccomp_bpf_len && (g.plan.seccomp_flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);
}

static int last_cap(void)
{
	/* Probe instead of reading /proc/sys/kernel/cap_last_cap: the container may have no
	 * /proc mounted. */
	int cap = 0;
	while (prctl(PR_CAPBSET_READ, cap + 1, 0, 0, 0) >= 0)
		cap++;
	return cap;
}

static void set_capabilities(void)
{
	struct plan_caps *c = &g.plan.caps;
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2] = {
		{(uint32_t)c->effective, (uint32_t)c->permitted, (uint32_t)c->inheritable},
		{(uint32_t)(c->effective >> 32), (uint32_t)(c->permitted >> 32),
		 (uint32_t)(c->inheritable >> 32)},
	};
	if (syscall(SYS_capset, &hdr, data) < 0)
		die_errno("capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		die_errno("prctl PR_CAP_AMBIENT_CLEAR_ALL");
	for (int cap = 0; cap < 64; cap++) {
		if (!(c->ambient & (1ULL << cap)))
			continue;
		/* Like runc: an ambient cap missing from permitted/inheritable is not fatal. */
		(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
	}
}

static int load_seccomp_at_ready;

/* personality, scheduler, I/O priority, memory policy: while the init still holds every
 * capability (SCHED_FIFO, IOPRIO_CLASS_RT and MPOL_* need some), inherited by execve. */
static void set_process_attributes(void)
{
	struct plan *p = &g.plan;
	if (p->has_personality && personality((unsigned long)p->personality) < 0)
		die_errno("personality %#llx (linux.personality)", (unsigned long long)p->personality);
	if (p->sched_attr_len &&
	    syscall(SYS_sched_setattr, 0, p->sched_attr, 0U) < 0)
		die_errno("sched_setattr (process.scheduler)");
	if (p->has_ioprio &&
	    syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (int)p->ioprio) < 0)
		die_errno("ioprio_set (process.ioPriority)");
	if (p->has_mempolicy) {
		/* set_mempolicy reads maxnode - 1 bits */
		unsigned long maxnode = p->mempolicy_nodes_len ? p->mempolicy_nodes_len * 8 + 1 : 0;
		unsigned long *mask = NULL;
		if (p->mempolicy_nodes_len) {
			mask = calloc(1, p->mempolicy_nodes_len + sizeof(unsigned long));
			if (!mask)
				die("out of memory");
			memcpy(mask, p->mempolicy_nodes, p->mempolicy_nodes_len);
		}
		if (syscall(SYS_set_mempolicy, (int)p->mempolicy_mode, mask, maxnode) < 0)
			die_errno("set_mempolicy (linux.memoryPolicy)");
		free(mask);
	}
}

/* The LSM label of the next execve (AppArmor "exec <profile>", an SELinux context). */
static void set_lsm_exec_label(void)
{
	struct plan *p = &g.plan;
	if (!p->lsm_exec_path[0])
		return;
	int fd = open(p->lsm_exec_path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die_errno("open %s", p->lsm_exec_path);
	size_t len = strlen(p->lsm_exec_label);
	ssize_t n;
	do
		n = write(fd, p->lsm_exec_label, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die_errno("set exec label \"%s\" in %s", p->lsm_exec_label, p->lsm_exec_path);
	if ((size_t)n != len)
		die("set exec label \"%s\" in %s: short write", p->lsm_exec_label, p->lsm_exec_path);
	if (close(fd) < 0)
		die_errno("close %s", p->lsm_exec_path);
}

void setup_process(void)
{
	struct plan *p = &g.plan;

	for (size_t i = 0; i < p->n_rlimits; i++) {
		struct rlimit rl = {.rlim_cur = p->rlimits[i].soft, .rlim_max = p->rlimits[i].hard};
		if (setrlimit((int)p->rlimits[i].resource, &rl) < 0)
			die_errno("setrlimit %s", rlimit_name(p->rlimits[i].resource));
	}
	set_process_attributes();

	/* The cwd may be reachable only by the container user (or only by root): try
	 * before switching user and again after. */
	int cwd_done = chdir(p->cwd) == 0;
	if (!cwd_done && errno != EACCES)
		die_errno("chdir to cwd (\"%s\") set in config.json failed", p->cwd);

	/* Without no_new_privileges loading a filter needs CAP_SYS_ADMIN, which is about to
	 * go: load it now (runc's order). */
	if (p->seccomp_bpf_len && !p->no_new_privileges)
		load_seccomp();
	else if (wants_listener())
		/* The listener must reach the parent, which is gone after exec.fifo: load it
		 * last before READY instead of last before execve. */
		load_seccomp_at_ready = 1;

	if (p->has_capabilities) {
		int last = last_cap();
		for (int cap = 0; cap <= last; cap++) {
			if (p->caps.bounding & (1ULL << cap))
				continue;
			if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0)
				die_errno("prctl PR_CAPBSET_DROP %d", cap);
		}
		/* Keep the permitted set across setresuid() so capset() below can pick. */
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
			die_errno("prctl PR_SET_KEEPCAPS");
	}

	if (g.setgroups_allowed) {
		gid_t *gids = NULL;
		if (p->n_additional_gids) {
			gids = calloc(p->n_additional_gids, sizeof(gid_t));
			if (!gids)
				die("out of memory");
			for (size_t i = 0; i < p->n_additional_gids; i++)
				gids[i] = (gid_t)p->additional_gids[i];
		}
		if (setgroups(p->n_additional_gids, gids) < 0)
			die_errno("setgroups");
		free(gids);
	}
	if (setresgid((gid_t)p->gid, (gid_t)p->gid, (gid_t)p->gid) < 0)
		die_errno("setresgid %lld", (long long)p->gid);
	if (setresuid((uid_t)p->uid, (uid_t)p->uid, (uid_t)p->uid) < 0)
		die_errno("setresuid %lld", (long long)p->uid);

	/* A uid change resets dumpable to fs.suid_dumpable, which may be 1: this process
	 * still holds host fds, keep it out of reach until execve. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die_errno("prctl PR_SET_DUMPABLE");

	if (p->has_capabilities) {
		if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
			die_errno("prctl PR_SET_KEEPCAPS");
		set_capabilities();
	}

	if (!cwd_done && chdir(p->cwd) < 0)
		die_errno("chdir to cwd (\"%s\") set in config.json failed", p->cwd);
	if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		die_errno("prctl PR_SET_NO_NEW_PRIVS");
	umask(p->has_umask ? (mode_t)p->umask : 022);
}

/* 0 if path is an executable regular file for us, else an errno. */
static int check_executable(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return errno;
	if (S_ISDIR(st.st_mode) || !(st.st_mode & 0111))
		return EACCES;
	/* access(), not faccessat(AT_EACCESS): glibc turns the flag into faccessat2, which
	 * older seccomp profiles (Docker's before 20.10, runtime-tools') deny, and the filter
	 * may already be loaded here. Real and effective ids are equal by now. */
	if (access(path, X_OK) < 0)
		return errno;
	return 0;
}

static const char *getenv_plan(const char *name)
{
	size_t len = strlen(name);
	const char *found = NULL;
	/* The last assignment wins, as it would after a sequence of setenv() calls. */
	for (size_t i = 0; i < g.plan.n_env; i++)
		if (strncmp(g.plan.env[i], name, len) == 0 && g.plan.env[i][len] == '=')
			found = g.plan.env[i] + len + 1;
	return found;
}

const char *lookup_executable(void)
{
	struct plan *p = &g.plan;
	if (p->n_args == 0)
		die("process.args: must not be empty");
	const char *name = p->args[0];
	if (!name[0])
		die("exec: \"\": executable file not found in $PATH");

	if (strchr(name, '/')) {
		int err = check_executable(name);
		if (err == EACCES)
			die("exec: \"%s\": permission denied", name);
		if (err)
			die("exec: \"%s\": stat %s: %s", name, name, errstr(err));
		return name;
	}

	const char *path = getenv_plan("PATH");
	if (!path)
		path = DEFAULT_PATH;
	/* Go's exec.LookPath, which runc's callers' error parsing expects. */
	const char *dir = path;
	for (;;) {
		const char *end = strchr(dir, ':');
		size_t dlen = end ? (size_t)(end - dir) : strlen(dir);
		char *cand;
		if (dlen == 0)
			cand = strdup(name);
		else if (asprintf(&cand, "%.*s/%s", (int)dlen, dir, name) < 0)
			cand = NULL;
		if (!cand)
			die("out of memory");
		if (check_executable(cand) == 0)
			return cand;
		free(cand);
		if (!end)
			break;
		dir = end + 1;
	}
	die("exec: \"%s\": executable file not found in $PATH", name);
}

static int open_fifo(void)
{
	int fd;
	do
		fd = openat(g.state_fd, "exec.fifo", O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd >= 0 || errno != EACCES)
		return fd;
	/* The container user may not search the state directory: reopen the fifo through
	 * the O_PATH fd taken while privileged (only the fifo's own mode is checked). */
	char *path;
	if (asprintf(&path, "/proc/self/fd/%d", g.fifo_path_fd) < 0)
		return -1;
	do
		fd = open(path, O_WRONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	free(path);
	return fd;
}

static __attribute__((noreturn)) void exec_now(const char *path);

void wait_and_exec(const char *path)
{
	/* Blocks until `start` opens the fifo for reading. */
	int fd = open_fifo();
	if (fd < 0) {
		dprintf(2, "open exec.fifo: %s\n", errstr(errno));
		_exit(1);
	}
	/* startContainer hooks: `start` has opened the fifo, the user program has not run.
	 * A failure goes back to `start` as "1<message>" instead of "0" (csrc/README.md). */
	g.sync_fd = -1; /* the parent is gone: errors go to the container's stderr */
	char *hook_err = run_start_container_hooks();
	if (hook_err) {
		char *msg;
		if (asprintf(&msg, "1%s", hook_err) < 0) {
			dprintf(2, "%s\n", hook_err);
			_exit(1);
		}
		size_t len = strlen(msg), off = 0;
		while (off < len) {
			ssize_t w = write(fd, msg + off, len - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		/* start reads to EOF: the close (or our exit) ends the message */
		_exit(1);
	}
	ssize_t n;
	do
		n = write(fd, "0", 1);
	while (n < 0 && errno == EINTR);
	if (n != 1) {
		dprintf(2, "write exec.fifo: %s\n", n < 0 ? errstr(errno) : "short write");
		_exit(1);
	}
	if (close(fd) < 0) {
		dprintf(2, "close exec.fifo: %s\n", errstr(errno));
		_exit(1);
	}
	exec_now(path);
}

/* READY was sent: seccomp (with no_new_privileges) and execve; errors go to stderr. */
static void exec_now(const char *path)
{
	struct plan *p = &g.plan;
	/* The parent is gone: errors from here on go to the container's stderr. */
	g.sync_fd = -1;

	if (p->seccomp_bpf_len && p->no_new_privileges && !wants_listener())
		load_seccomp();
	execve(path, (char *const *)p->args, (char *const *)p->env);
	int err = errno;
	if (err == EACCES)
		dprintf(2, "exec: \"%s\": permission denied\n", p->args[0]);
	else
		dprintf(2, "exec: \"%s\": %s\n", p->args[0], errstr(err));
	_exit(err == EACCES ? 126 : 127);
}

static long keyctl(int op, unsigned long a2, unsigned long a3, unsigned long a4)
{
	return syscall(SYS_keyctl, op, a2, a3, a4, 0UL);
}

/* The permission word of a key, from "type;uid;gid;perm;description". */
static int key_perm(long serial, uint32_t *perm)
{
	long n = keyctl(KEYCTL_DESCRIBE, (unsigned long)serial, 0, 0);
	if (n < 0)
		return -1;
	char *buf = NULL;
	for (;;) {
		size_t size = (size_t)n + 1;
		char *grown = realloc(buf, size);
		if (!grown) {
			free(buf);
			errno = ENOMEM;
			return -1;
		}
		buf = grown;
		n = keyctl(KEYCTL_DESCRIBE, (unsigned long)serial, (unsigned long)buf, size);
		if (n < 0) {
			int err = errno;
			free(buf);
			errno = err;
			return -1;
		}
		if ((size_t)n <= size) /* n counts the NUL */
			break;
	}
	int rc = -1;
	char *field = buf;
	for (int i = 0; i < 3 && field; i++) {
		field = strchr(field, ';');
		if (field)
			field++;
	}
	if (field) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(field, &end, 16);
		if (!errno && end != field && *end == ';' && v <= UINT32_MAX) {
			*perm = (uint32_t)v;
			rc = 0;
		}
	}
	free(buf);
	if (rc < 0)
		errno = EINVAL;
	return rc;
}

/* runc's default: the container gets a session keyring of its own (named after it, so
 * an exec can join the same one) instead of sharing the caller's. */
static void join_session_keyring(void)
{
	struct plan *p = &g.plan;
	if (!p->new_keyring)
		return;
	const char *name = p->keyring_name[0] ? p->keyring_name : NULL;
	long serial = keyctl(KEYCTL_JOIN_SESSION_KEYRING, (unsigned long)name, 0, 0);
	if (serial < 0) {
		/* A kernel without keyrings: nothing to isolate (runc ignores it too). */
		if (errno == ENOSYS)
			return;
		die_errno("join session keyring %s", name ? name : "_ses");
	}
	/* An exec joins the container's keyring as it is (runc's setns init). */
	if (p->exec_mode)
		return;
	/* Let the container's users search it, as runc does: owner search without a user
	 * namespace; "other" search with one, whose users are not its (mapped) owner. */
	int userns = 0;
	for (size_t i = 0; i < p->n_namespaces; i++)
		if (p->namespaces[i].flag == CLONE_NEWUSER)
			userns = 1;
	uint32_t perm;
	if (key_perm(serial, &perm) < 0)
		die_errno("describe session keyring %s", name ? name : "_ses");
	perm |= userns ? KEY_OTH_SEARCH : KEY_USR_SEARCH;
	if (keyctl(KEYCTL_SETPERM, (unsigned long)serial, perm, 0) < 0)
		die_errno("set permissions of session keyring %s", name ? name : "_ses");
}

void stage2(void) __attribute__((noreturn));
void stage2(void)
{
	/* Exact modes for created devices and mount points; the plan's umask comes last. */
	umask(0);
	if (setsid() < 0)
		die_errno("setsid");
	join_session_keyring();
	/* exec: setns(mount) already put us at the container's root */
	if (!g.plan.exec_mode)
		setup_rootfs();
	setup_console();
	if (!g.plan.exec_mode)
		finish_rootfs();
	setup_process();
	const char *path = lookup_executable();
	set_lsm_exec_label();
	if (load_seccomp_at_ready)
		load_seccomp();
	if (send_msg(MSG_READY, NULL, 0) < 0)
		die_errno("send ready");
	if (g.plan.exec_mode)
		exec_now(path);
	wait_and_exec(path);
}
