/* Starting the container init inside its cgroup v2 (csrc/native/spawn.c). */
#ifndef OCIRT_SPAWN_H
#define OCIRT_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

/* clone3(CLONE_INTO_CGROUP of cgroup_fd) a child that applies dups (pairs from → to;
 * a pair from == to only clears FD_CLOEXEC) and execs exe_fd with argv and an empty
 * environment. Returns its pid once it has exec'd; -1 with *err set if clone3 or the
 * exec failed (the child is reaped). */
pid_t ocirt_spawn_in_cgroup(int exe_fd, char *const argv[], const int *dups, size_t n_dups,
			    int cgroup_fd, int *err);

#endif
