/* Start the container init directly inside its cgroup v2 (clone3 with CLONE_INTO_CGROUP).
 *
 * Moving a process afterwards by writing its pid to cgroup.procs takes the kernel's
 * cgroup_threadgroup_rwsem for writing, which waits for an RCU grace period: 5-15 ms on
 * every container start. A child born in the cgroup needs no migration at all.
 */
#include "spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

/* Only raw syscalls below the clone: the child is a copy of a (possibly threaded)
 * Python process and must not touch locks or the heap before it execs. */
static void child(int exe_fd, char *const argv[], const int *dups, size_t n_dups,
		  int err_fd)
{
	static char *const empty_env[] = {NULL};
	int e;
	for (size_t i = 0; i < n_dups; i++) {
		int from = dups[2 * i], to = dups[2 * i + 1];
		/* dup2 onto itself keeps FD_CLOEXEC: clear it instead */
		if (from == to ? fcntl(from, F_SETFD, 0) < 0 : dup2(from, to) < 0)
			goto fail;
	}
	syscall(SYS_execveat, exe_fd, "", argv, empty_env, AT_EMPTY_PATH);
fail:
	e = errno;
	while (write(err_fd, &e, sizeof(e)) < 0 && errno == EINTR)
		;
	_exit(127);
}

pid_t ocirt_spawn_in_cgroup(int exe_fd, char *const argv[], const int *dups, size_t n_dups,
			    int cgroup_fd, int *err)
{
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		*err = errno;
		return -1;
	}
	/* The error pipe must not land on a target slot of the dups: lift it above them. */
	int floor = 3;
	for (size_t i = 0; i < n_dups; i++)
		if (dups[2 * i + 1] >= floor)
			floor = dups[2 * i + 1] + 1;
	for (int k = 0; k < 2; k++) {
		if (pipefd[k] >= floor)
			continue;
		int moved = fcntl(pipefd[k], F_DUPFD_CLOEXEC, floor);
		int e = errno;
		close(pipefd[k]);
		pipefd[k] = moved;
		if (moved < 0) {
			if (pipefd[1 - k] >= 0)
				close(pipefd[1 - k]);
			*err = e;
			return -1;
		}
	}
	struct clone_args args;
	memset(&args, 0, sizeof(args));
	args.flags = CLONE_INTO_CGROUP;
	args.exit_signal = SIGCHLD;
	args.cgroup = (uint64_t)cgroup_fd;
	long pid = syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0) {
		close(pipefd[0]);
		child(exe_fd, argv, dups, n_dups, pipefd[1]);
	}
	int saved = errno;
	close(pipefd[1]);
	if (pid < 0) {
		close(pipefd[0]);
		*err = saved;
		return -1;
	}
	/* EOF: execveat closed the pipe (it is O_CLOEXEC), so the init runs. */
	int e = 0;
	ssize_t n;
	do
		n = read(pipefd[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	if (n > 0) {
		int status;
		while (waitpid((pid_t)pid, &status, 0) < 0 && errno == EINTR)
			;
		*err = n == sizeof(e) ? e : EIO;
		return -1;
	}
	return (pid_t)pid;
}
