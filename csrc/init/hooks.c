/* OCI hooks the container init runs itself (config.md "POSIX-platform Hooks"):
 * createContainer (in the container's namespaces, before pivot_root, so a host path
 * resolves) and startContainer (after exec.fifo opened, before execve, in the container's
 * filesystem). prestart and createRuntime run in the parent between HOOKS and HOOKS_DONE.
 * See csrc/README.md "Hooks". */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Hook output quoted in an error, per stream. */
#define OUTPUT_MAX 1024

/* The states from HOOKS_DONE: for createContainer (creating) and startContainer
 * (created), both with the pid as the container sees it. */
static char *state_create, *state_start;

static int memfd_with(const char *name, const char *data)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t len = data ? strlen(data) : 0, off = 0;
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int err = n < 0 ? errno : EIO;
			(void)close(fd);
			errno = err;
			return -1;
		}
		off += (size_t)n;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		int err = errno;
		(void)close(fd);
		errno = err;
		return -1;
	}
	/* Above 0-2: dup2 onto the stdio slots below must never be a no-op (that would keep
	 * FD_CLOEXEC) nor clobber another of these. */
	int hi = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int err = errno;
	if (close(fd) < 0 && hi >= 0) {
		err = errno;
		(void)close(hi);
		hi = -1;
	}
	errno = err;
	return hi;
}

/* ", NAME: <first OUTPUT_MAX bytes, newlines as \n>" or "" (malloc'd; NULL on ENOMEM). */
static char *quote_output(int fd, const char *name)
{
	char buf[OUTPUT_MAX];
	ssize_t n;
	do
		n = pread(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ' || buf[n - 1] == '\t' ||
			 buf[n - 1] == '\r'))
		n--;
	if (n <= 0)
		return strdup("");
	size_t cap = strlen(name) + 5 + 2 * (size_t)n;
	char *out = malloc(cap);
	if (!out)
		return NULL;
	size_t o = (size_t)snprintf(out, cap, ", %s: ", name);
	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = (buf[i] == '\r' || buf[i] == '\0') ? ' ' : buf[i];
		}
	}
	out[o] = '\0';
	return out;
}

/* Monotonic seconds as a timespec difference helper. */
static int64_t now_ns(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits for pid; with timeout_s > 0 kills it (SIGKILL) once that many seconds passed.
 * SIGCHLD is blocked by the caller. 0, or -1 with errno; *timed_out says it was killed. */
static int wait_hook(pid_t pid, int64_t timeout_s, int *status, int *timed_out)
{
	*timed_out = 0;
	if (timeout_s <= 0) {
		while (waitpid(pid, status, 0) < 0)
			if (errno != EINTR)
				return -1;
		return 0;
	}
	if (timeout_s > (int64_t)1 << 31)
		timeout_s = (int64_t)1 << 31;
	int64_t deadline = now_ns() + timeout_s * 1000000000;
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		int64_t left = deadline - now_ns();
		if (left <= 0)
			break;
		struct timespec ts = {.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
		/* Any SIGCHLD wakes us (also one of an orphan reparented to us): re-check. */
		if (sigtimedwait(&chld, NULL, &ts) < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
	}
	*timed_out = 1;
	if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
		return -1;
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* Runs one hook with state on stdin. 0, or -1 with *err a malloc'd one-line message
 * "KIND hook #I (PATH): what[, stdout: ...][, stderr: ...]". */
static int run_hook(const char *kind, size_t idx, const struct plan_hook *h, const char *state,
		    char **err)
{
	char *what = NULL;
	int in = -1, out = -1, errfd = -1, pipefd[2] = {-1, -1}, have_output = 0;
	sigset_t chld, old;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	int masked = 0, failed = 0;
#define FAIL(...)                                          \
	do {                                               \
		failed = 1;                                \
		if (asprintf(&what, __VA_ARGS__) < 0)      \
			what = NULL;                       \
		goto done;                                 \
	} while (0)

	in = memfd_with("ocirt-hook-state", state);
	if (in < 0 || (out = memfd_with("ocirt-hook-stdout", NULL)) < 0 ||
	    (errfd = memfd_with("ocirt-hook-stderr", NULL)) < 0) {
		FAIL("memfd: %s", errstr(errno));
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		FAIL("pipe: %s", errstr(errno));
	}
	if (sigprocmask(SIG_BLOCK, &chld, &old) < 0) {
		FAIL("sigprocmask: %s", errstr(errno));
	}
	masked = 1;
	const char *fallback[] = {h->path, NULL};
	char *const *argv = (char *const *)(h->n_args ? h->args : fallback);
	pid_t pid = fork();
	if (pid < 0) {
		FAIL("fork: %s", errstr(errno));
	}
	if (pid == 0) {
		int e = 0;
		if (sigprocmask(SIG_SETMASK, &old, NULL) < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
		    dup2(errfd, 2) < 0 ||
		    syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
			e = errno;
		else
			execve(h->path, argv, (char *const *)h->env);
		if (!e)
			e = errno;
		ssize_t w;
		do
			w = write(pipefd[1], &e, sizeof(e));
		while (w < 0 && errno == EINTR);
		_exit(127);
	}
	(void)close(pipefd[1]);
	pipefd[1] = -1;
	int exec_err = 0;
	ssize_t n;
	do
		n = read(pipefd[0], &exec_err, sizeof(exec_err));
	while (n < 0 && errno == EINTR);
	int status = 0, timed_out = 0;
	if (wait_hook(pid, n == (ssize_t)sizeof(exec_err) ? 0 : h->timeout, &status,
		      &timed_out) < 0) {
		FAIL("wait: %s", errstr(errno));
	}
	if (n == (ssize_t)sizeof(exec_err)) {
		FAIL("exec: %s", errstr(exec_err));
	}
	have_output = 1;
	if (timed_out)
		FAIL("timed out after %llds (killed)", (long long)h->timeout);
	if (WIFSIGNALED(status))
		FAIL("killed by signal %d", WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		FAIL("exit status %d", WEXITSTATUS(status));
done:;
#undef FAIL
	int rc = 0;
	if (failed) {
		rc = -1;
		char *o = have_output ? quote_output(out, "stdout") : strdup("");
		char *e = have_output ? quote_output(errfd, "stderr") : strdup("");
		if (!what || !o || !e ||
		    asprintf(err, "%s hook #%zu (%s): %s%s%s", kind, idx, h->path, what, o, e) < 0)
			*err = NULL;
		free(o);
		free(e);
		if (!*err) {
			*err = strdup("hook failed (out of memory describing it)");
			if (!*err)
				die("out of memory");
		}
	}
	free(what);
	if (masked && sigprocmask(SIG_SETMASK, &old, NULL) < 0)
		die_errno("sigprocmask");
	int fds[] = {in, out, errfd, pipefd[0], pipefd[1]};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0 && close(fds[i]) < 0)
			die_errno("close hook fd");
	return rc;
}

static char *run_hooks(const char *kind, const struct plan_hook *hooks, size_t n,
		       const char *state)
{
	for (size_t i = 0; i < n; i++) {
		char *err = NULL;
		if (run_hook(kind, i, &hooks[i], state, &err) < 0)
			return err;
	}
	return NULL;
}

/* Receives HOOKS_DONE: "createContainer state\0startContainer state\0". */
static void recv_hooks_done(void)
{
	ssize_t n;
	do
		n = recv(g.sync_fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		die_errno("read sync socket");
	if (n == 0)
		die("read sync socket: parent went away");
	char *buf = malloc((size_t)n + 1);
	if (!buf)
		die("out of memory");
	ssize_t got;
	do
		got = recv(g.sync_fd, buf, (size_t)n, 0);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		die_errno("read sync socket");
	if (got != n || n < 4)
		die("read sync socket: short hooks message");
	buf[n] = '\0';
	uint32_t type;
	memcpy(&type, buf, sizeof(type));
	if (type != MSG_HOOKS_DONE)
		die("read sync socket: unexpected message %u (wanted %u)", type, MSG_HOOKS_DONE);
	const char *first = buf + 4;
	size_t first_len = strnlen(first, (size_t)n - 4);
	if (first_len + 4 >= (size_t)n)
		die("read sync socket: malformed hooks message");
	state_create = strdup(first);
	state_start = strdup(first + first_len + 1);
	if (!state_create || !state_start)
		die("out of memory");
	free(buf);
}

void hooks_before_pivot(void)
{
	struct plan *p = &g.plan;
	if (!p->hook_sync)
		return;
	int32_t pid = (int32_t)getpid();
	if (send_msg(MSG_HOOKS, &pid, sizeof(pid)) < 0)
		die_errno("send hooks");
	recv_hooks_done();
	char *err = run_hooks("createContainer", p->create_container_hooks,
			      p->n_create_container_hooks, state_create);
	if (err)
		die("%s", err);
	free(state_create);
	state_create = NULL;
}

char *run_start_container_hooks(void)
{
	struct plan *p = &g.plan;
	if (!p->n_start_container_hooks)
		return NULL;
	return run_hooks("startContainer", p->start_container_hooks, p->n_start_container_hooks,
			 state_start ? state_start : "");
}
