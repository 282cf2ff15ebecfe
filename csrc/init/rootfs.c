/* Stage 2, part 1: the container's filesystem view. Every destination inside the rootfs
 * is resolved with openat2(RESOLVE_IN_ROOT) so no symlink in the (untrusted) rootfs can
 * redirect a mount onto the host; mounts then target /proc/self/fd/<fd> of that result. */
#include "init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)
/* Flags that a bind mount can only get through a second, MS_REMOUNT call. */
#define BIND_REMOUNT_FLAGS \
	(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | \
	 MS_RELATIME | MS_STRICTATIME | MS_LAZYTIME | MS_SYNCHRONOUS | MS_DIRSYNC | MS_MANDLOCK)
#define MAX_SYMLINK_HOPS 40
#ifndef PROC_SUPER_MAGIC
#define PROC_SUPER_MAGIC 0x9fa0
#endif

/* The host's procfs, opened before pivot_root. After the pivot, "/proc" is whatever the
 * (untrusted) image and config put there, so the fd-as-path trick (mount on
 * "self/fd/N" with this as cwd) must go through this one. */
static int host_proc_fd = -1;

static int resolve(int rootfd, const char *path)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	for (int tries = 0;; tries++) {
		int fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
		/* EAGAIN: a concurrent rename made the kernel give up on a safe walk; retry. */
		if (fd >= 0 || errno != EAGAIN || tries >= 16)
			return fd;
	}
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	char *s;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		die("out of memory");
	return s;
}

static void xclose(int fd)
{
	if (fd >= 0 && close(fd) < 0 && errno != EINTR)
		die_errno("close fd %d", fd);
}

char *read_link_at(int dirfd, const char *name)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return NULL;
	if (!S_ISLNK(st.st_mode)) {
		errno = EEXIST;
		return NULL;
	}
	/* st_size can be 0 (some filesystems) or stale: grow until the target fits. */
	size_t size = st.st_size > 0 ? (size_t)st.st_size + 1 : 64;
	for (;;) {
		char *buf = malloc(size);
		if (!buf)
			return NULL;
		ssize_t n = readlinkat(dirfd, name, buf, size);
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if ((size_t)n < size) {
			buf[n] = '\0';
			return buf;
		}
		free(buf);
		size *= 2;
	}
}

/* Resolves path inside the root at rootfd, creating missing components (directories,
 * or a file for the last one when last_is_file). A dangling symlink is followed the way
 * the kernel would inside that root, so "evil -> /../../tmp/x" creates <root>/tmp/x.
 * Returns an O_PATH fd, or -1 with errno set. */
int mkdir_in_root(int rootfd, const char *path, int last_is_file)
{
	int fd = resolve(rootfd, path);
	if (fd >= 0 || errno != ENOENT)
		return fd;

	char *cur = strdup(path);
	if (!cur)
		return -1;
	for (int hops = 0; hops <= MAX_SYMLINK_HOPS; hops++) {
		int parent = resolve(rootfd, "/");
		if (parent < 0)
			goto fail;
		size_t pos = 0, len = strlen(cur);
		int restarted = 0;
		while (pos < len) {
			while (cur[pos] == '/')
				pos++;
			if (pos >= len)
				break;
			size_t start = pos;
			while (pos < len && cur[pos] != '/')
				pos++;
			/* Resolve the prefix up to this component from the root every time so the
			 * kernel, not this loop, handles "..", symlinks and mount crossings. */
			size_t rest = pos;
			while (rest < len && cur[rest] == '/')
				rest++;
			int last = rest >= len;
			char saved = cur[pos];
			cur[pos] = '\0';
			fd = resolve(rootfd, cur);
			if (fd < 0 && errno == ENOENT) {
				const char *comp = cur + start;
				int rc;
				if (last && last_is_file) {
					rc = openat(parent, comp,
						    O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
					if (rc >= 0)
						xclose(rc);
				} else {
					rc = mkdirat(parent, comp, 0755);
				}
				if (rc >= 0 || errno == EEXIST)
					fd = resolve(rootfd, cur);
				if (fd < 0 && errno == ENOENT) {
					/* comp exists but does not resolve: a dangling symlink. Restart with
					 * its target spliced in. */
					char *target = read_link_at(parent, comp);
					if (!target) {
						cur[pos] = saved;
						xclose(parent);
						goto fail;
					}
					cur[pos] = saved;
					const char *tail = cur + pos;
					char *next;
					if (target[0] == '/') {
						next = xasprintf("%s%s", target, tail);
					} else {
						cur[start] = '\0';
						next = xasprintf("%s/%s%s", cur, target, tail);
					}
					free(target);
					free(cur);
					cur = next;
					xclose(parent);
					restarted = 1;
					break;
				}
			}
			cur[pos] = saved;
			if (fd < 0) {
				xclose(parent);
				goto fail;
			}
			xclose(parent);
			parent = fd;
		}
		if (!restarted) {
			free(cur);
			return parent;
		}
	}
	errno = ELOOP;
fail:;
	int err = errno;
	free(cur);
	errno = err;
	return -1;
}

static char *fd_path(int fd)
{
	return xasprintf("/proc/self/fd/%d", fd);
}

/* Flags a remount must keep: in a user namespace the kernel refuses (EPERM) to clear
 * nosuid/nodev/noexec/ro/atime flags that were locked by a more privileged mounter. */
static unsigned long locked_flags(const char *path)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0)
		return 0;
	unsigned long f = 0;
	if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
	if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
	if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
	if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
	if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
	if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
	if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
	return f;
}

static int remount_bind(const char *path, unsigned long flags)
{
	if (mount("", path, "", MS_REMOUNT | MS_BIND | flags, NULL) == 0)
		return 0;
	if (errno != EPERM)
		return -1;
	unsigned long locked = locked_flags(path);
	/* An explicit atime choice conflicts with the locked one only if they differ. */
	if (flags & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME))
		locked &= ~(unsigned long)(MS_NOATIME | MS_RELATIME);
	return mount("", path, "", MS_REMOUNT | MS_BIND | flags | locked, NULL);
}

static int copy_tree(int src, int dst);

static int copy_file(int srcdir, int dstdir, const char *name, const struct stat *st)
{
	int in = openat(srcdir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -1;
	int out = openat(dstdir, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			 st->st_mode & 07777);
	if (out < 0) {
		close(in);
		return -1;
	}
	int rc = 0;
	for (off_t left = st->st_size; left > 0;) {
		ssize_t n = sendfile(out, in, NULL, (size_t)left);
		if (n < 0) {
			rc = -1;
			break;
		}
		if (n == 0) /* the file shrank under us: copy what there is */
			break;
		left -= n;
	}
	int err = errno;
	(void)close(in); /* read-only: a failing close loses nothing */
	if (close(out) < 0 && rc == 0)
		return -1;
	errno = err;
	return rc;
}

/* Copies the directory tree at src into dst (both directory fds), keeping modes and
 * owners; tmpcopyup's "copy the image's content into the new tmpfs". */
static int copy_tree(int src, int dst)
{
	int dupfd = fcntl(src, F_DUPFD_CLOEXEC, 0);
	if (dupfd < 0)
		return -1;
	DIR *d = fdopendir(dupfd);
	if (!d) {
		close(dupfd);
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (errno = 0, e = readdir(d))) {
		const char *n = e->d_name;
		if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(src, n, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -1;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(dst, n, st.st_mode & 07777) < 0) {
				rc = -1;
				break;
			}
			int s2 = openat(src, n, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			int d2 = openat(dst, n, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
			rc = (s2 < 0 || d2 < 0) ? -1 : copy_tree(s2, d2);
			int err = errno;
			if (s2 >= 0)
				close(s2);
			if (d2 >= 0)
				close(d2);
			errno = err;
		} else if (S_ISLNK(st.st_mode)) {
			char *target = read_link_at(src, n);
			rc = target ? symlinkat(target, dst, n) : -1;
			free(target);
		} else if (S_ISREG(st.st_mode)) {
			rc = copy_file(src, dst, n, &st);
		} else {
			rc = mknodat(dst, n, st.st_mode, st.st_rdev);
		}
		if (rc == 0 && fchownat(dst, n, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
			rc = -1;
	}
	if (rc == 0 && errno != 0)
		rc = -1;
	int err = errno;
	closedir(d);
	errno = err;
	return rc;
}

/* The id of the mount that fd is on, and whether fd is that mount's root. */
static int mount_id_of(int fd, uint64_t *id, int *is_root)
{
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, STATX_MNT_ID,
		  &sx) < 0)
		return -1;
	if (!(sx.stx_mask & STATX_MNT_ID)) {
		errno = ENOSYS;
		return -1;
	}
	*id = sx.stx_mnt_id;
	*is_root = (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
		   (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
	return 0;
}

/* After mounting on the fd `before` (which still names the covered mount point), looks
 * `path` up again and checks that it now reaches the root of a different mount: the new
 * one. Anything else means the tree changed between the two lookups (a symlink swapped
 * in, a rename), and flags or propagation must not be applied to whatever is there. */
static int reopen_mounted(int rootfd, const char *path, int before)
{
	uint64_t old_id, new_id;
	int old_root, new_root;
	if (mount_id_of(before, &old_id, &old_root) < 0)
		return -1;
	int fd = resolve(rootfd, path);
	if (fd < 0)
		return -1;
	if (mount_id_of(fd, &new_id, &new_root) < 0) {
		int err = errno;
		xclose(fd);
		errno = err;
		return -1;
	}
	if (new_id == old_id || !new_root) {
		xclose(fd);
		errno = EXDEV; /* reported as "moved while mounting" by the callers */
		return -1;
	}
	return fd;
}

/* proc and sysfs give the container's processes a view of kernel state; like runc, refuse
 * to put them anywhere but on an ordinary directory reached without symlinks, so an image
 * cannot steer them onto, say, a file some later mount or mask expects there. */
static void check_plain_directory(const struct plan_mount *m)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS,
	};
	int fd = (int)syscall(SYS_openat2, g.rootfs_fd, m->destination, &how, sizeof(how));
	if (fd < 0 && errno == ELOOP)
		die("mount %s (%s): the destination is or goes through a symlink: %s must be "
		    "mounted on an ordinary directory", m->destination, m->fstype, m->fstype);
	if (fd < 0 && errno != ENOENT)
		die_errno("mount %s (%s): open", m->destination, m->fstype);
	if (fd >= 0) {
		struct stat st;
		if (fstat(fd, &st) < 0)
			die_errno("mount %s (%s): stat", m->destination, m->fstype);
		if (!S_ISDIR(st.st_mode))
			die("mount %s (%s): the destination is not a directory: %s must be mounted "
			    "on an ordinary directory", m->destination, m->fstype, m->fstype);
		xclose(fd);
	}
}

static const char *mount_kind(const struct plan_mount *m)
{
	return (m->flags & MS_BIND) ? "bind" : m->fstype;
}

static void do_mount(struct plan_mount *m)
{
	int kernel_fs = !(m->flags & MS_BIND) && m->idmap_fd < 0 &&
			(strcmp(m->fstype, "proc") == 0 || strcmp(m->fstype, "sysfs") == 0);
	if (kernel_fs)
		check_plain_directory(m);
	int fd = mkdir_in_root(g.rootfs_fd, m->destination, m->dest_is_file);
	if (fd < 0)
		die_errno("mount %s (%s): create mount point", m->destination, mount_kind(m));
	/* Opened before the mount, this fd keeps reaching the directory it will cover. */
	int covered = -1;
	if (m->tmpcopyup) {
		covered = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (covered < 0)
			die_errno("mount %s (tmpcopyup): open", m->destination);
	}
	char *target = fd_path(fd);
	unsigned long flags = (unsigned long)m->flags & ~(unsigned long)PROPAGATION_FLAGS;
	const char *data = m->data[0] ? m->data : NULL;

	if (m->idmap_fd >= 0) {
		if (move_mount(m->idmap_fd, "", fd, "",
			       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			die_errno("mount %s (bind %s): attach idmapped mount", m->destination,
				  m->source);
		xclose(m->idmap_fd);
		m->idmap_fd = -1;
	} else if (flags & MS_BIND) {
		if (mount(m->source, target, "", MS_BIND | (flags & MS_REC), NULL) < 0)
			die_errno("mount %s (bind %s)", m->destination, m->source);
	} else {
		if (mount(m->source, target, m->fstype, flags, data) < 0)
			die_errno("mount %s (%s)", m->destination, m->fstype);
	}
	/* The fd still names the covered mount point; later calls must act on the new
	 * mount, so look the destination up again (a remount keeps its mount: no check). */
	free(target);
	int newfd = (flags & MS_REMOUNT) ? resolve(g.rootfs_fd, m->destination)
					 : reopen_mounted(g.rootfs_fd, m->destination, fd);
	if (newfd < 0 && errno == EXDEV)
		die("mount %s (%s): the destination moved while mounting (now resolves to "
		    "another place)", m->destination, mount_kind(m));
	if (newfd < 0)
		die_errno("mount %s (%s): reopen", m->destination, mount_kind(m));
	xclose(fd);
	fd = newfd;
	target = fd_path(fd);

	if (covered >= 0) {
		int top = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (top < 0)
			die_errno("mount %s (tmpcopyup): open", m->destination);
		if (copy_tree(covered, top) < 0)
			die_errno("mount %s (tmpcopyup): copy", m->destination);
		xclose(top);
		xclose(covered);
	}

	unsigned long rflags = flags & BIND_REMOUNT_FLAGS;
	if ((flags & MS_BIND) && rflags && remount_bind(target, rflags) < 0)
		die_errno("remount %s (bind %s)", m->destination, m->source);
	for (size_t i = 0; i < m->n_propagation; i++) {
		if (mount("", target, "", (unsigned long)m->propagation[i], NULL) < 0)
			die_errno("mount %s: set propagation 0x%llx", m->destination,
				  (unsigned long long)m->propagation[i]);
	}
	if (m->attr_set || m->attr_clr) {
		struct mount_attr attr = {.attr_set = (uint64_t)m->attr_set,
					  .attr_clr = (uint64_t)m->attr_clr};
		if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
			die_errno("mount %s: mount_setattr", m->destination);
	}
	xclose(fd);
	free(target);
}

/* Splits "/a/b/c" into a resolved O_PATH fd for "/a/b" (created if missing) and "c". */
static int parent_in_root(const char *path, const char **base)
{
	const char *slash = strrchr(path, '/');
	*base = slash ? slash + 1 : path;
	if (!**base)
		die("%s: not a file path", path);
	char *dir = slash ? strndup(path, (size_t)(slash - path)) : strdup("");
	if (!dir)
		die("out of memory");
	int fd = mkdir_in_root(g.rootfs_fd, dir[0] ? dir : "/", 0);
	if (fd < 0)
		die_errno("create directory %s", dir[0] ? dir : "/");
	free(dir);
	return fd;
}

static void make_device(const struct plan_device *d)
{
	const char *base;
	int dfd = parent_in_root(d->path, &base);

	if (d->bind_from_host) {
		/* O_EXCL: never open (a fifo would block, a tape would rewind) whatever node
		 * the rootfs already has there; the bind below covers it. */
		int f = openat(dfd, base, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0000);
		if (f < 0 && errno != EEXIST)
			die_errno("create %s", d->path);
		xclose(f);
		int fd = resolve(g.rootfs_fd, d->path);
		if (fd < 0)
			die_errno("open %s", d->path);
		char *target = fd_path(fd);
		if (mount(d->path, target, "", MS_BIND, NULL) < 0)
			die_errno("mount %s (bind %s)", d->path, d->path);
		free(target);
		xclose(fd);
	} else {
		mode_t type = d->kind == 'b' ? S_IFBLK : d->kind == 'p' ? S_IFIFO : S_IFCHR;
		dev_t dev = makedev((unsigned)d->major, (unsigned)d->minor);
		if (mknodat(dfd, base, type | ((mode_t)d->mode & 07777), dev) < 0) {
			if (errno != EEXIST)
				die_errno("mknod %s", d->path);
		} else if (fchownat(dfd, base, (uid_t)d->uid, (gid_t)d->gid, AT_SYMLINK_NOFOLLOW) < 0) {
			die_errno("chown %s", d->path);
		}
	}
	xclose(dfd);
}

static void make_symlink(const struct plan_pair *s)
{
	const char *base;
	int dfd = parent_in_root(s->first, &base);
	if (symlinkat(s->second, dfd, base) < 0 && errno != EEXIST)
		die_errno("symlink %s -> %s", s->first, s->second);
	xclose(dfd);
}

static void pivot(void)
{
	int oldroot = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (oldroot < 0)
		die_errno("open /");
	if (fchdir(g.rootfs_fd) < 0)
		die_errno("chdir %s", g.plan.rootfs);
	/* pivot_root(".", ".") stacks the old root on top of the new one at "."; detaching
	 * it afterwards needs no directory inside the rootfs (works on read-only ones). */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die_errno("pivot_root %s", g.plan.rootfs);
	if (fchdir(oldroot) < 0)
		die_errno("chdir old root");
	/* Keep the unmount below from propagating to the host. */
	if (mount("", ".", "", MS_SLAVE | MS_REC, NULL) < 0)
		die_errno("make old root rslave");
	if (umount2(".", MNT_DETACH) < 0)
		die_errno("unmount old root");
	if (chdir("/") < 0)
		die_errno("chdir /");
	xclose(oldroot);
}

static void move_root(void)
{
	if (fchdir(g.rootfs_fd) < 0)
		die_errno("chdir %s", g.plan.rootfs);
	if (mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		die_errno("move %s to /", g.plan.rootfs);
	if (chroot(".") < 0)
		die_errno("chroot %s", g.plan.rootfs);
	if (chdir("/") < 0)
		die_errno("chdir /");
}

static void read_setgroups(void)
{
	/* Read through the host /proc now: after pivot_root there may be no /proc at all. */
	int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	char buf[8] = {0};
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	xclose(fd);
	if (n > 0 && strncmp(buf, "deny", 4) == 0)
		g.setgroups_allowed = 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *out = s;
	for (char *in = s; *in; out++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' &&
		    in[3] >= '0' && in[3] <= '7') {
			*out = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 4;
		} else {
			*out = *in++;
		}
	}
	*out = '\0';
}

static int is_path_prefix(const char *prefix, const char *path)
{
	size_t n = strlen(prefix);
	if (n == 1 && prefix[0] == '/')
		return 1;
	return strncmp(prefix, path, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* pivot_root refuses (EINVAL) a new root whose parent mount is shared, which it is when
 * rootfsPropagation asks for "shared": make just that parent private. */
static void make_parent_mount_private(const char *rootfs)
{
	char *real = realpath(rootfs, NULL);
	if (!real)
		die_errno("realpath %s", rootfs);
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		die_errno("open /proc/self/mountinfo");
	char *line = NULL, *best = NULL;
	size_t cap = 0;
	int best_shared = 0;
	while (getline(&line, &cap, f) > 0) {
		/* "id parent maj:min root mountpoint options [optional...] - type src opts" */
		char *save = NULL, *mp = NULL, *tok;
		int field = 0, shared = 0;
		for (tok = strtok_r(line, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
			if (field == 4)
				mp = tok;
			else if (field >= 6 && strcmp(tok, "-") == 0)
				break;
			else if (field >= 6 && strncmp(tok, "shared:", 7) == 0)
				shared = 1;
			field++;
		}
		if (!mp)
			continue;
		unescape_octal(mp);
		/* Later lines stack on earlier ones: ">=" keeps the topmost mount. */
		if (is_path_prefix(mp, real) && (!best || strlen(mp) >= strlen(best))) {
			free(best);
			best = strdup(mp);
			if (!best)
				die("out of memory");
			best_shared = shared;
		}
	}
	free(line);
	fclose(f);
	if (best && best_shared && mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0)
		die_errno("make %s private (parent mount of the rootfs)", best);
	free(best);
	free(real);
}

void setup_rootfs(void)
{
	struct plan *p = &g.plan;
	read_setgroups();

	unsigned long prop = p->rootfs_propagation ? (unsigned long)p->rootfs_propagation
						   : MS_SLAVE | MS_REC;
	/* An unbindable "/" could not be bound onto the rootfs below: slave it for now (no
	 * mount of ours reaches the host) and make the new root unbindable after the pivot. */
	unsigned long early = (prop & MS_UNBINDABLE) ? MS_SLAVE | MS_REC : prop;
	if (mount(NULL, "/", NULL, early, NULL) < 0)
		die_errno("mount / (propagation 0x%lx)", early);
	if (prop & MS_SHARED)
		make_parent_mount_private(p->rootfs);
	if (mount(p->rootfs, p->rootfs, "", MS_BIND | MS_REC, NULL) < 0)
		die_errno("mount %s (bind rootfs)", p->rootfs);
	g.rootfs_fd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (g.rootfs_fd < 0)
		die_errno("open rootfs %s", p->rootfs);
	/* Still the host's /proc here (the mounts below resolve /proc/self/fd through it);
	 * kept for finish_rootfs, after the pivot. */
	host_proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (host_proc_fd < 0)
		die_errno("open /proc");
	struct statfs sf;
	if (fstatfs(host_proc_fd, &sf) < 0)
		die_errno("statfs /proc");
	if (sf.f_type != PROC_SUPER_MAGIC)
		die("/proc is not procfs: cannot resolve paths safely");

	for (size_t i = 0; i < p->n_mounts; i++)
		do_mount(&p->mounts[i]);
	for (size_t i = 0; i < p->n_devices; i++)
		make_device(&p->devices[i]);
	for (size_t i = 0; i < p->n_symlinks; i++)
		make_symlink(&p->symlinks[i]);
	/* prestart, createRuntime, createContainer hooks (hooks.c): mounts done, no pivot yet */
	hooks_before_pivot();

	if (p->no_pivot)
		move_root();
	else
		pivot();
	xclose(g.rootfs_fd);
	g.rootfs_fd = -1;
}

/* "self/fd/N": with host_proc_fd as the cwd, a path mount(2) follows to what fd N names,
 * whatever the container's /proc is. */
static char *proc_fd_path(int fd)
{
	return xasprintf("self/fd/%d", fd);
}

/* Resolves a maskedPaths/readonlyPaths/sysctl path inside the new root: symlinks stay in
 * it, magic links (/proc/self/fd/N, /proc/1/root, ...) are refused. -1 with errno. */
static int resolve_after_pivot(int rootfd, const char *path)
{
	return resolve(rootfd, path);
}

/* The container's /dev/null, checked to be the null device: an image that brings its own
 * /dev could otherwise have masks show any file of its choosing. */
static int null_device(int rootfd)
{
	int fd = resolve_after_pivot(rootfd, "/dev/null");
	if (fd < 0)
		die_errno("mask: open /dev/null");
	struct stat st;
	if (fstat(fd, &st) < 0)
		die_errno("mask: stat /dev/null");
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3)
		die("mask: /dev/null in the container is not the null device (1:3)");
	return fd;
}

static void mask_path(int rootfd, const char *path, int *nullfd)
{
	int fd = resolve_after_pivot(rootfd, path);
	if (fd < 0 && errno == ENOENT)
		return; /* nothing to hide */
	if (fd < 0)
		die_errno("mask %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		die_errno("mask %s: stat", path);
	char *target = proc_fd_path(fd);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", target, "tmpfs", MS_RDONLY, NULL) < 0)
			die_errno("mask %s (tmpfs)", path);
	} else {
		if (*nullfd < 0)
			*nullfd = null_device(rootfd);
		char *source = proc_fd_path(*nullfd);
		if (mount(source, target, "", MS_BIND, NULL) < 0)
			die_errno("mask %s (bind /dev/null)", path);
		free(source);
	}
	free(target);
	xclose(fd);
}

static void readonly_path(int rootfd, const char *path)
{
	int fd = resolve_after_pivot(rootfd, path);
	if (fd < 0 && errno == ENOENT)
		return;
	if (fd < 0)
		die_errno("readonly %s", path);
	char *target = proc_fd_path(fd);
	if (mount(target, target, "", MS_BIND | MS_REC, NULL) < 0)
		die_errno("readonly %s (bind)", path);
	free(target);
	int top = reopen_mounted(rootfd, path, fd);
	if (top < 0 && errno == EXDEV)
		die("readonly %s: the path moved while mounting", path);
	if (top < 0)
		die_errno("readonly %s: reopen", path);
	xclose(fd);
	target = proc_fd_path(top);
	if (remount_bind(target, MS_RDONLY) < 0)
		die_errno("readonly %s (remount)", path);
	free(target);
	xclose(top);
}

static void write_sysctl(int rootfd, const char *key, const char *value)
{
	char *path = xasprintf("/proc/sys/%s", key);
	for (char *c = path + strlen("/proc/sys/"); *c; c++)
		if (*c == '.')
			*c = '/';
	/* /proc/sys has no symlinks: any symlink on the way means /proc is not what it
	 * should be. O_PATH first, so a fifo or a regular file in a hostile image is neither
	 * opened nor truncated before the procfs check. */
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int pfd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (pfd < 0)
		die_errno("sysctl %s: open %s", key, path);
	struct statfs sf;
	if (fstatfs(pfd, &sf) < 0)
		die_errno("sysctl %s: statfs %s", key, path);
	if (sf.f_type != PROC_SUPER_MAGIC)
		die("sysctl %s: %s is not on procfs (is proc mounted at /proc?)", key, path);
	char *reopen = proc_fd_path(pfd);
	int fd = open(reopen, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		die_errno("sysctl %s: open %s", key, path);
	free(reopen);
	xclose(pfd);
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	if (n < 0)
		die_errno("sysctl %s: write %s", key, path);
	if ((size_t)n != len)
		die("sysctl %s: write %s: short write", key, path);
	xclose(fd);
	free(path);
}

void finish_rootfs(void)
{
	struct plan *p = &g.plan;
	if (p->rootfs_readonly && remount_bind("/", MS_RDONLY) < 0)
		die_errno("remount / read-only");
	if (p->hostname && sethostname(p->hostname, strlen(p->hostname)) < 0)
		die_errno("sethostname %s", p->hostname);
	if (p->domainname && setdomainname(p->domainname, strlen(p->domainname)) < 0)
		die_errno("setdomainname %s", p->domainname);

	/* Paths below are resolved in the new root and acted on through fds; relative
	 * "self/fd/N" paths reach them through the host procfs, our cwd meanwhile. */
	int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die_errno("open /");
	if (fchdir(host_proc_fd) < 0)
		die_errno("chdir to the host /proc");
	for (size_t i = 0; i < p->n_sysctl; i++)
		write_sysctl(rootfd, p->sysctl[i].first, p->sysctl[i].second);
	for (size_t i = 0; i < p->n_readonly_paths; i++)
		readonly_path(rootfd, p->readonly_paths[i]);
	int nullfd = -1;
	for (size_t i = 0; i < p->n_masked_paths; i++)
		mask_path(rootfd, p->masked_paths[i], &nullfd);
	xclose(nullfd);
	if (fchdir(rootfd) < 0)
		die_errno("chdir /");
	xclose(rootfd);
	xclose(host_proc_fd);
	host_proc_fd = -1;
	/* The rootfs was bound from a (now) private or slave parent; give the new "/" the
	 * propagation asked for, like runc. Last: readonlyPaths bind parts of it onto
	 * themselves, which an (r)unbindable "/" would refuse. */
	unsigned long prop = (unsigned long)p->rootfs_propagation;
	if (prop && mount("", "/", "", prop, NULL) < 0)
		die_errno("mount / (propagation 0x%lx)", prop);
}
