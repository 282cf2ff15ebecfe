/* Stage 1 of the container init: runs in the caller's namespaces, joins/creates the
 * container's namespaces, then clones the container init (stage 2, rootfs.c/process.c)
 * and exits. See csrc/README.md for the protocol with ocirt/native/spawn.py. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

struct ctx g = {.sync_fd = -1, .state_fd = -1, .console_fd = -1, .fifo_path_fd = -1,
		.setgroups_allowed = 1, .rootfs_fd = -1};

const char *errstr(int err)
{
	/* Go (hence runc, whose messages callers parse) prints errno text in lower case. */
	static char buf[128];
	const char *s = strerror(err);
	size_t n = strlen(s);
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
		buf[0] = (char)(buf[0] - 'A' + 'a');
	return buf;
}

int send_msg(uint32_t type, const void *payload, size_t len)
{
	struct iovec iov[2] = {{&type, sizeof(type)}, {(void *)payload, len}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = len ? 2 : 1};
	ssize_t n;
	do
		n = sendmsg(g.sync_fd, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}

int send_fd(int sock, const void *data, size_t len, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = {(void *)data, len};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = sizeof(u.buf)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	ssize_t n;
	do
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -1 : 0;
}

int send_msg_fd(uint32_t type, int fd)
{
	return send_fd(g.sync_fd, &type, sizeof(type), fd);
}

static __attribute__((noreturn)) void vdie(const char *fmt, va_list ap, int err)
{
	char *msg = NULL;
	int n = vasprintf(&msg, fmt, ap);
	if (n >= 0 && err) {
		char *full = NULL;
		if (asprintf(&full, "%s: %s", msg, errstr(err)) >= 0) {
			free(msg);
			msg = full;
			n = (int)strlen(msg);
		}
	}
	if (n < 0) {
		msg = "init: out of memory formatting an error";
		n = (int)strlen(msg);
	}
	/* No parent to tell (or it is gone): stderr is the caller's, say it there. */
	if (g.sync_fd < 0 || send_msg(MSG_ERROR, msg, (size_t)n) < 0)
		dprintf(2, "ocirt-init: %s\n", msg);
	_exit(1);
}

void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vdie(fmt, ap, 0);
}

void die_errno(const char *fmt, ...)
{
	int err = errno;
	va_list ap;
	va_start(ap, fmt);
	vdie(fmt, ap, err);
}

void expect_msg(uint32_t type)
{
	uint32_t got;
	ssize_t n;
	do
		n = recv(g.sync_fd, &got, sizeof(got), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die_errno("read sync socket");
	if (n == 0)
		die("read sync socket: parent went away");
	if (n != sizeof(got) || got != type)
		die("read sync socket: unexpected message %u (wanted %u)", got, type);
}

static int parse_fd(const char *s)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < -1 || v > 1 << 30) {
		dprintf(2, "ocirt-init: bad fd argument %s\n", s);
		_exit(1);
	}
	return (int)v;
}

static void reset_signals(void)
{
	/* The caller (Python) ignores SIGPIPE and may block signals; both survive execve and
	 * would leak into the container process. */
	sigset_t all;
	sigemptyset(&all);
	if (sigprocmask(SIG_SETMASK, &all, NULL) < 0)
		die_errno("sigprocmask");
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		/* Fails with EINVAL for the signals glibc reserves: nothing to reset there. */
		(void)signal(sig, SIG_DFL);
	}
}

static void load_plan(int plan_fd)
{
	struct stat st;
	if (fstat(plan_fd, &st) < 0)
		die_errno("stat plan");
	if (st.st_size <= 0)
		die("read plan: empty");
	/* Mapped, not copied: strings in the decoded plan point into this mapping, which
	 * stays for the life of the process (stage 2 inherits it). */
	void *buf = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, plan_fd, 0);
	if (buf == MAP_FAILED)
		die_errno("mmap plan");
	if (close(plan_fd) < 0)
		die_errno("close plan");
	const char *err = "";
	if (plan_decode(buf, (size_t)st.st_size, &g.plan, &err) < 0)
		die("decode plan: %s", err);
}

/* Writes data in one write(2) (proc files want that) and closes fd. 0, or -1 with errno
 * and *what ("write", "close") set. */
static int write_close(int fd, const char *data, const char **what)
{
	size_t len = strlen(data);
	ssize_t n = write(fd, data, len);
	int err = n < 0 ? errno : (size_t)n != len ? EIO : 0;
	*what = "write";
	if (close(fd) < 0 && !err) {
		err = errno;
		*what = "close";
	}
	errno = err;
	return err ? -1 : 0;
}

static void write_fd(int fd, const char *path, const char *data)
{
	const char *what;
	if (write_close(fd, data, &what) < 0)
		die_errno("%s %s", what, path);
}

/* Opens one of our own /proc/self files for writing. We are non-dumpable, so these
 * belong to root of the user namespace we were exec'd in (host root), which no mapped
 * uid of a new user namespace is: open them here, in the caller's namespaces. Only an
 * unprivileged caller (not root there) needs a dumpable window for the open; nothing
 * of the container runs yet, and runc opens the same window for its uid maps. */
static int open_self_proc(const char *path)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0 || errno != EACCES)
		return fd;
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		die_errno("prctl PR_SET_DUMPABLE");
	fd = open(path, O_WRONLY | O_CLOEXEC);
	int err = errno;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die_errno("prctl PR_SET_DUMPABLE");
	errno = err;
	return fd;
}

static const char *ns_name(int64_t flag)
{
	switch (flag) {
	case CLONE_NEWUSER: return "user";
	case CLONE_NEWNS: return "mount";
	case CLONE_NEWPID: return "pid";
	case CLONE_NEWNET: return "network";
	case CLONE_NEWIPC: return "ipc";
	case CLONE_NEWUTS: return "uts";
	case CLONE_NEWCGROUP: return "cgroup";
	case CLONE_NEWTIME: return "time";
	}
	return "unknown";
}

static void read_joined_setgroups(void)
{
	int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return; /* a kernel without the file allows setgroups */
		die_errno("open /proc/self/setgroups");
	}
	char buf[8] = {0};
	ssize_t n;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	int err = errno;
	if (close(fd) < 0)
		die_errno("close /proc/self/setgroups");
	if (n < 0) {
		errno = err;
		die_errno("read /proc/self/setgroups");
	}
	if (strncmp(buf, "deny", 4) == 0)
		g.setgroups_allowed = 0;
}

static void join_namespaces(void)
{
	struct plan *p = &g.plan;
	size_t n = p->n_namespaces;
	int *fds = calloc(n ? n : 1, sizeof(int));
	if (!fds)
		die_errno("join namespaces");
	/* Open every path before joining any: after setns(mount) the paths would resolve in
	 * the container's mount namespace. */
	for (size_t i = 0; i < n; i++) {
		fds[i] = -1;
		if (!p->namespaces[i].path)
			continue;
		fds[i] = open(p->namespaces[i].path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			die_errno("open %s namespace %s", ns_name(p->namespaces[i].flag),
				  p->namespaces[i].path);
	}
	/* The user namespace first: it grants the capabilities needed to join the others. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			int is_user = p->namespaces[i].flag == CLONE_NEWUSER;
			if (fds[i] < 0 || is_user != (pass == 0))
				continue;
			if (setns(fds[i], (int)p->namespaces[i].flag) < 0)
				die_errno("setns %s namespace %s", ns_name(p->namespaces[i].flag),
					  p->namespaces[i].path);
			if (close(fds[i]) < 0)
				die_errno("close namespace fd");
			fds[i] = -1;
		}
		/* exec: the joined user namespace may deny setgroups; /proc is still the
		 * host's here (the mount namespace comes in the second pass). */
		if (pass == 0 && p->exec_mode)
			read_joined_setgroups();
	}
	free(fds);
}

static void new_user_namespace(void)
{
	/* A non-dumpable process's /proc/<pid>/{uid,gid}_map belong to host root, which an
	 * unprivileged parent cannot write; open that window only for the mapping. (Asked
	 * before unshare: inside the new namespace every id reads as the overflow id.) */
	int reopen = geteuid() != 0;
	if (unshare(CLONE_NEWUSER) < 0)
		die_errno("unshare user namespace");
	if (reopen && prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		die_errno("prctl PR_SET_DUMPABLE");
	if (send_msg(MSG_USERMAP_REQ, NULL, 0) < 0)
		die_errno("send usermap request");
	expect_msg(MSG_USERMAP_ACK);
	if (reopen && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		die_errno("prctl PR_SET_DUMPABLE");
	if (setresgid(0, 0, 0) < 0)
		die_errno("setresgid 0 in the new user namespace");
	if (setresuid(0, 0, 0) < 0)
		die_errno("setresuid 0 in the new user namespace");
}

/* A user namespace with the given maps (relative to ours), as an fd: a throwaway child
 * is born in it, we write its maps and keep only the namespace. */
static int make_userns(const char *uid_map, const char *gid_map)
{
	int hold[2];
	if (pipe2(hold, O_CLOEXEC) < 0)
		die_errno("pipe");
	long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0)
		die_errno("clone user namespace for an idmapped mount");
	if (pid == 0) {
		char c;
		(void)close(hold[1]); /* ours would keep the pipe from ever reaching EOF */
		/* Wait until the parent has what it needs (it closes the pipe or kills us). */
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	(void)close(hold[0]); /* read end, unused here: nothing to lose */

	/* Every failure below reaps the helper first: dying would leave it to our reaper. */
	const char *names[] = {"uid_map", "gid_map", "ns/user"};
	const char *maps[] = {uid_map, gid_map, NULL};
	char *path = NULL;
	const char *what = "open";
	int fd = -1, err = 0;
	for (int i = 0; i < 3 && !err; i++) {
		if (maps[i] && !maps[i][0])
			continue;
		free(path);
		if (asprintf(&path, "/proc/%ld/%s", pid, names[i]) < 0) {
			path = NULL;
			err = ENOMEM;
			break;
		}
		what = "open";
		fd = open(path, (maps[i] ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
		if (fd < 0)
			err = errno;
		else if (maps[i] && write_close(fd, maps[i], &what) < 0)
			err = errno;
	}
	if (err)
		(void)kill((pid_t)pid, SIGKILL);
	(void)close(hold[1]); /* lets the helper exit */
	int status;
	while (waitpid((pid_t)pid, &status, 0) < 0)
		if (errno != EINTR)
			die_errno("wait for user namespace helper");
	if (err) {
		errno = err;
		die_errno("%s %s", what, path ? path : "/proc/<pid>/*_map");
	}
	free(path);
	return fd;
}

/* Idmapped mounts are prepared here, with host privileges and in the host mount
 * namespace (the source is a host path); stage 2 only attaches the detached trees. */
static void prepare_idmapped_mounts(void)
{
	struct plan *p = &g.plan;
	for (size_t i = 0; i < p->n_mounts; i++) {
		struct plan_mount *m = &p->mounts[i];
		if (!m->uid_map[0] && !m->gid_map[0])
			continue;
		if (!(m->flags & MS_BIND))
			die("mount %s (%s): idmapped mounts must be bind mounts", m->destination,
			    m->fstype);
		int userns = make_userns(m->uid_map, m->gid_map);
		unsigned rec = (m->flags & MS_REC) ? AT_RECURSIVE : 0;
		int tree = open_tree(AT_FDCWD, m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
		if (tree < 0)
			die_errno("mount %s (bind %s): open_tree", m->destination, m->source);
		struct mount_attr attr = {.attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns};
		if (mount_setattr(tree, "", AT_EMPTY_PATH | rec, &attr, sizeof(attr)) < 0)
			die_errno("mount %s (bind %s): set idmap", m->destination, m->source);
		if (close(userns) < 0)
			die_errno("close user namespace fd");
		m->idmap_fd = tree;
	}
}

void stage2(void) __attribute__((noreturn));

static void join_cgroup_v1(int fd)
{
	ssize_t n = write(fd, "0", 1);
	if (n == 1) {
		if (close(fd) < 0)
			die_errno("close cgroup tasks fd %d", fd);
		return;
	}
	int err = n < 0 ? errno : EIO;
	/* name the file for the error: the fd came from the caller, which knows the path */
	char *link = NULL;
	char *path = asprintf(&link, "/proc/self/fd/%d", fd) < 0 ? NULL
							    : read_link_at(AT_FDCWD, link);
	errno = err;
	die_errno("join cgroup: write %s", path ? path : "tasks");
}

int main(int argc, char **argv)
{
	/* First thing: nobody may ptrace or read /proc/<pid>/mem of this process while it
	 * runs with host privileges (and later, joined to the container). */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		dprintf(2, "ocirt-init: prctl PR_SET_DUMPABLE: %s\n", errstr(errno));
		return 1;
	}
	if (argc < 5) {
		dprintf(2, "ocirt-init: usage: ocirt-init SYNC_FD PLAN_FD STATE_DIR_FD CONSOLE_FD "
			   "[CGROUP_TASKS_FD...]\n"
			   "(started by ocirt, not by hand)\n");
		return 1;
	}
	g.sync_fd = parse_fd(argv[1]);
	int plan_fd = parse_fd(argv[2]);
	g.state_fd = parse_fd(argv[3]);
	g.console_fd = parse_fd(argv[4]);

	reset_signals();
	load_plan(plan_fd);
	struct plan *p = &g.plan;
	if (p->preserve_fds < 0 || p->preserve_fds > 1 << 20)
		die("preserve_fds: %lld out of range", (long long)p->preserve_fds);
	/* Whatever the caller leaked above the preserved range must not reach the container;
	 * our own control fds are up there too and only need to live until execve. */
	if (syscall(SYS_close_range, 3U + (unsigned)p->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		die_errno("close_range");

	/* Take hold of exec.fifo while still privileged, see wait_and_exec(). An exec has
	 * none: it runs at once. */
	if (!p->exec_mode) {
		g.fifo_path_fd = openat(g.state_fd, "exec.fifo", O_PATH | O_CLOEXEC | O_NOFOLLOW);
		if (g.fifo_path_fd < 0)
			die_errno("open exec.fifo");
	}

	expect_msg(MSG_GO);

	/* cgroup v1: the caller opened the `tasks` file of the container's cgroup in each
	 * hierarchy. A single-threaded process moving itself (writing 0) skips the global
	 * lock that a cgroup.procs write takes, whose RCU grace period costs milliseconds;
	 * stage 2 is forked after this, so it is born in the cgroups. */
	for (int i = 5; i < argc; i++)
		join_cgroup_v1(parse_fd(argv[i]));

	int flags = 0;
	int has_mntns = 0;
	for (size_t i = 0; i < p->n_namespaces; i++) {
		if (p->namespaces[i].flag == CLONE_NEWNS)
			has_mntns = 1;
		if (!p->namespaces[i].path && p->namespaces[i].flag != CLONE_NEWUSER)
			flags |= (int)p->namespaces[i].flag;
	}
	/* Without its own mount namespace every mount below would land on the host. */
	if (!has_mntns && !p->exec_mode)
		die("linux.namespaces: a mount namespace is required");
	/* An exec only joins (the container's namespaces, by path): it creates nothing. */
	if (p->exec_mode && (flags || p->new_userns || p->n_mounts))
		die("exec: the plan creates namespaces or mounts");

	/* Both /proc/self files are written with the caller's credentials, before any user
	 * namespace (see open_self_proc). oom_score_adj is inherited by stage 2, like runc
	 * which sets it first thing; lowering it needs host CAP_SYS_RESOURCE anyway. */
	if (p->has_oom_score_adj) {
		char *val;
		if (asprintf(&val, "%lld", (long long)p->oom_score_adj) < 0)
			die("out of memory");
		int fd = open_self_proc("/proc/self/oom_score_adj");
		if (fd < 0)
			die_errno("open /proc/self/oom_score_adj");
		write_fd(fd, "/proc/self/oom_score_adj", val);
		free(val);
	}
	/* The offsets can only be written after unshare(CLONE_NEWTIME), but the kernel
	 * checks the opener's CAP_SYS_TIME (over the new time namespace, which the caller's
	 * root has: it owns the new user namespace too), so open it now. */
	int timens_fd = -1;
	if ((flags & CLONE_NEWTIME) && p->timens_offsets[0]) {
		timens_fd = open_self_proc("/proc/self/timens_offsets");
		if (timens_fd < 0)
			die_errno("open /proc/self/timens_offsets");
	}

	prepare_idmapped_mounts();
	join_namespaces();
	if (p->new_userns)
		new_user_namespace();

	if (flags && unshare(flags) < 0)
		die_errno("unshare namespaces (flags 0x%x)", flags);
	if (timens_fd >= 0)
		write_fd(timens_fd, "/proc/self/timens_offsets", p->timens_offsets);

	/* CLONE_PARENT: the container init becomes the caller's child, so the caller can
	 * wait for it and kill it without racing pid reuse (runc does the same). */
	long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, NULL, NULL, NULL, NULL);
	if (pid < 0)
		die_errno("clone container init");
	if (pid == 0)
		stage2();

	int32_t pid32 = (int32_t)pid;
	if (send_msg(MSG_PID, &pid32, sizeof(pid32)) < 0) {
		/* The parent cannot learn the pid: do not leave an orphan behind. */
		kill((pid_t)pid, SIGKILL);
		die_errno("send pid");
	}
	_exit(0);
}
