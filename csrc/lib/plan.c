/* TLV decoder for the plan; see csrc/README.md for the format. */
#include "plan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct rec {
	uint32_t type;
	uint32_t len;
	const unsigned char *val;
};

struct cursor {
	const unsigned char *p, *end;
};

/* 1: a record was read, 0: end of input, -1: truncated. */
static int next_rec(struct cursor *c, struct rec *r)
{
	if (c->p == c->end)
		return 0;
	if ((size_t)(c->end - c->p) < 8)
		return -1;
	memcpy(&r->type, c->p, 4);
	memcpy(&r->len, c->p + 4, 4);
	if ((size_t)(c->end - c->p - 8) < r->len)
		return -1;
	r->val = c->p + 8;
	c->p += 8 + (size_t)r->len;
	return 1;
}

static int get_str(const struct rec *r, const char **out)
{
	/* Strings travel NUL-terminated so C can use them in place; refuse embedded NULs so
	 * no path is silently truncated. */
	if (r->len == 0 || r->val[r->len - 1] != '\0' || strlen((const char *)r->val) != r->len - 1)
		return -1;
	*out = (const char *)r->val;
	return 0;
}

static int get_int(const struct rec *r, int64_t *out)
{
	if (r->len != 8)
		return -1;
	memcpy(out, r->val, 8);
	return 0;
}

static int get_u64(const struct rec *r, uint64_t *out)
{
	if (r->len != 8)
		return -1;
	memcpy(out, r->val, 8);
	return 0;
}

static int get_bool(const struct rec *r, int *out)
{
	int64_t v;
	if (get_int(r, &v) < 0)
		return -1;
	*out = v != 0;
	return 0;
}

/* Grows *arr by one element of size sz; returns the new (zeroed) element. */
static void *push(void *arr_ptr, size_t *n, size_t sz)
{
	void **arr = arr_ptr;
	void *grown = realloc(*arr, (*n + 1) * sz);
	if (!grown)
		return NULL;
	*arr = grown;
	void *elem = (char *)grown + *n * sz;
	memset(elem, 0, sz);
	(*n)++;
	return elem;
}

static int push_str(const char ***arr, size_t *n, const struct rec *r)
{
	const char *s;
	if (get_str(r, &s) < 0)
		return -1;
	/* One spare slot keeps the array NULL-terminated for execve. */
	const char **grown = realloc(*arr, (*n + 2) * sizeof(**arr));
	if (!grown)
		return -1;
	*arr = grown;
	grown[(*n)++] = s;
	grown[*n] = NULL;
	return 0;
}

static int push_int(int64_t **arr, size_t *n, const struct rec *r)
{
	int64_t v;
	if (get_int(r, &v) < 0)
		return -1;
	int64_t *slot = push(arr, n, sizeof(int64_t));
	if (!slot)
		return -1;
	*slot = v;
	return 0;
}

static int decode_ns(const struct rec *outer, struct plan_ns *ns)
{
	struct cursor c = {outer->val, outer->val + outer->len};
	struct rec r;
	int rc;
	while ((rc = next_rec(&c, &r)) > 0) {
		switch (r.type) {
		case NS_FLAG: rc = get_int(&r, &ns->flag); break;
		case NS_PATH: rc = get_str(&r, &ns->path); break;
		default: rc = -1;
		}
		if (rc < 0)
			return -1;
	}
	return rc;
}

static int decode_mount(const struct rec *outer, struct plan_mount *m)
{
	struct cursor c = {outer->val, outer->val + outer->len};
	struct rec r;
	int rc;
	m->destination = m->source = m->fstype = m->data = m->uid_map = m->gid_map = "";
	m->idmap_fd = -1;
	while ((rc = next_rec(&c, &r)) > 0) {
		switch (r.type) {
		case M_DESTINATION: rc = get_str(&r, &m->destination); break;
		case M_SOURCE: rc = get_str(&r, &m->source); break;
		case M_FSTYPE: rc = get_str(&r, &m->fstype); break;
		case M_FLAGS: rc = get_int(&r, &m->flags); break;
		case M_DATA: rc = get_str(&r, &m->data); break;
		case M_PROPAGATION: rc = push_int(&m->propagation, &m->n_propagation, &r); break;
		case M_ATTR_SET: rc = get_int(&r, &m->attr_set); break;
		case M_ATTR_CLR: rc = get_int(&r, &m->attr_clr); break;
		case M_TMPCOPYUP: rc = get_bool(&r, &m->tmpcopyup); break;
		case M_UID_MAP: rc = get_str(&r, &m->uid_map); break;
		case M_GID_MAP: rc = get_str(&r, &m->gid_map); break;
		case M_DEST_IS_FILE: rc = get_bool(&r, &m->dest_is_file); break;
		default: rc = -1;
		}
		if (rc < 0)
			return -1;
	}
	return rc;
}

static int decode_device(const struct rec *outer, struct plan_device *d)
{
	struct cursor c = {outer->val, outer->val + outer->len};
	struct rec r;
	int rc;
	int64_t kind = 0;
	d->path = "";
	while ((rc = next_rec(&c, &r)) > 0) {
		switch (r.type) {
		case D_PATH: rc = get_str(&r, &d->path); break;
		case D_KIND: rc = get_int(&r, &kind); break;
		case D_MAJOR: rc = get_int(&r, &d->major); break;
		case D_MINOR: rc = get_int(&r, &d->minor); break;
		case D_MODE: rc = get_int(&r, &d->mode); break;
		case D_UID: rc = get_int(&r, &d->uid); break;
		case D_GID: rc = get_int(&r, &d->gid); break;
		case D_BIND_FROM_HOST: rc = get_bool(&r, &d->bind_from_host); break;
		default: rc = -1;
		}
		if (rc < 0)
			return -1;
	}
	if (kind != 'c' && kind != 'b' && kind != 'u' && kind != 'p')
		return -1;
	d->kind = (int)kind;
	return rc;
}

static int decode_pair(const struct rec *outer, struct plan_pair *pr)
{
	struct cursor c = {outer->val, outer->val + outer->len};
	struct rec r;
	int rc;
	pr->first = pr->second = "";
	while ((rc = next_rec(&c, &r)) > 0) {
		switch (r.type) {
		case P_FIRST: rc = get_str(&r, &pr->first); break;
		case P_SECOND: rc = get_str(&r, &pr->second); break;
		default: rc = -1;
		}
		if (rc < 0)
			return -1;
	}
	return rc;
}

static int decode_rlimit(const struct rec *outer, struct plan_rlimit *rl)
{
	struct cursor c = {outer->val, outer->val + outer->len};
	struct rec r;
	int rc;
	while ((rc = next_rec(&c, &r)) > 0) {
		switch (r.type) {
		case R_RESOURCE: rc = get_int(&r, &rl->resource); break;
		case R_SOFT: rc = get_u64(&r, &rl->soft); break;
		case R_HARD: rc = get_u64(&r, &rl->hard); break;
		default: rc = -1;
		}
		if (rc < 0)
			return -1;
	}
	return rc;
}

static int decode_caps(const struct rec *outer, struct plan_caps *caps)
{
	struct cursor c = {outer->val, outer->val + outer->len};
	struct rec r;
	int rc;
	while ((rc = next_rec(&c, &r)) > 0) {
		switch (r.type) {
		case C_BOUNDING: rc = get_u64(&r, &caps->bounding); break;
		case C_EFFECTIVE: rc = get_u64(&r, &caps->effective); break;
		case C_PERMITTED: rc = get_u64(&r, &caps->permitted); break;
		case C_INHERITABLE: rc = get_u64(&r, &caps->inheritable); break;
		case C_AMBIENT: rc = get_u64(&r, &caps->ambient); break;
		default: rc = -1;
		}
		if (rc < 0)
			return -1;
	}
	return rc;
}

static const char *empty_argv[] = {NULL};

static int decode_hook(const struct rec *outer, struct plan_hook *h)
{
	struct cursor c = {outer->val, outer->val + outer->len};
	struct rec r;
	int rc;
	h->path = "";
	h->args = h->env = empty_argv;
	while ((rc = next_rec(&c, &r)) > 0) {
		switch (r.type) {
		case H_PATH: rc = get_str(&r, &h->path); break;
		case H_ARG:
			if (h->args == empty_argv)
				h->args = NULL;
			rc = push_str(&h->args, &h->n_args, &r);
			break;
		case H_ENV:
			if (h->env == empty_argv)
				h->env = NULL;
			rc = push_str(&h->env, &h->n_env, &r);
			break;
		case H_TIMEOUT: rc = get_int(&r, &h->timeout); break;
		default: rc = -1;
		}
		if (rc < 0)
			return -1;
	}
	return rc;
}

static void free_hooks(struct plan_hook *hooks, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (hooks[i].args != empty_argv)
			free(hooks[i].args);
		if (hooks[i].env != empty_argv)
			free(hooks[i].env);
	}
	free(hooks);
}

static int decode_record(const struct rec *r, struct plan *p)
{
	void *e;
	switch (r->type) {
	case T_NAMESPACE:
		e = push(&p->namespaces, &p->n_namespaces, sizeof(*p->namespaces));
		return e ? decode_ns(r, e) : -1;
	case T_TIMENS_OFFSETS: return get_str(r, &p->timens_offsets);
	case T_NEW_USERNS: return get_bool(r, &p->new_userns);
	case T_ROOTFS: return get_str(r, &p->rootfs);
	case T_ROOTFS_READONLY: return get_bool(r, &p->rootfs_readonly);
	case T_ROOTFS_PROPAGATION: return get_int(r, &p->rootfs_propagation);
	case T_NO_PIVOT: return get_bool(r, &p->no_pivot);
	case T_MOUNT:
		e = push(&p->mounts, &p->n_mounts, sizeof(*p->mounts));
		return e ? decode_mount(r, e) : -1;
	case T_DEVICE:
		e = push(&p->devices, &p->n_devices, sizeof(*p->devices));
		return e ? decode_device(r, e) : -1;
	case T_SYMLINK:
		e = push(&p->symlinks, &p->n_symlinks, sizeof(*p->symlinks));
		return e ? decode_pair(r, e) : -1;
	case T_MASKED_PATH: return push_str(&p->masked_paths, &p->n_masked_paths, r);
	case T_READONLY_PATH: return push_str(&p->readonly_paths, &p->n_readonly_paths, r);
	case T_SYSCTL:
		e = push(&p->sysctl, &p->n_sysctl, sizeof(*p->sysctl));
		return e ? decode_pair(r, e) : -1;
	case T_HOSTNAME: return get_str(r, &p->hostname);
	case T_DOMAINNAME: return get_str(r, &p->domainname);
	case T_ARG: return push_str(&p->args, &p->n_args, r);
	case T_ENV: return push_str(&p->env, &p->n_env, r);
	case T_CWD: return get_str(r, &p->cwd);
	case T_UID: return get_int(r, &p->uid);
	case T_GID: return get_int(r, &p->gid);
	case T_ADDITIONAL_GID: return push_int(&p->additional_gids, &p->n_additional_gids, r);
	case T_UMASK:
		p->has_umask = 1;
		return get_int(r, &p->umask);
	case T_RLIMIT:
		e = push(&p->rlimits, &p->n_rlimits, sizeof(*p->rlimits));
		return e ? decode_rlimit(r, e) : -1;
	case T_CAPABILITIES:
		p->has_capabilities = 1;
		return decode_caps(r, &p->caps);
	case T_NO_NEW_PRIVILEGES: return get_bool(r, &p->no_new_privileges);
	case T_OOM_SCORE_ADJ:
		p->has_oom_score_adj = 1;
		return get_int(r, &p->oom_score_adj);
	case T_TERMINAL: return get_bool(r, &p->terminal);
	case T_CONSOLE_WIDTH: return get_int(r, &p->console_width);
	case T_CONSOLE_HEIGHT: return get_int(r, &p->console_height);
	case T_PRESERVE_FDS: return get_int(r, &p->preserve_fds);
	case T_SECCOMP_BPF:
		p->seccomp_bpf = r->val;
		p->seccomp_bpf_len = r->len;
		return 0;
	case T_SECCOMP_FLAGS: return get_int(r, &p->seccomp_flags);
	case T_UID_MAPPINGS: return get_str(r, &p->uid_mappings);
	case T_GID_MAPPINGS: return get_str(r, &p->gid_mappings);
	case T_NEW_KEYRING: return get_bool(r, &p->new_keyring);
	case T_KEYRING_NAME: return get_str(r, &p->keyring_name);
	case T_PERSONALITY:
		p->has_personality = 1;
		return get_int(r, &p->personality);
	case T_SCHED_ATTR:
		p->sched_attr = r->val;
		p->sched_attr_len = r->len;
		return 0;
	case T_IOPRIO:
		p->has_ioprio = 1;
		return get_int(r, &p->ioprio);
	case T_MEMPOLICY_MODE:
		p->has_mempolicy = 1;
		return get_int(r, &p->mempolicy_mode);
	case T_MEMPOLICY_NODES:
		p->mempolicy_nodes = r->val;
		p->mempolicy_nodes_len = r->len;
		return 0;
	case T_LSM_EXEC_PATH: return get_str(r, &p->lsm_exec_path);
	case T_LSM_EXEC_LABEL: return get_str(r, &p->lsm_exec_label);
	case T_HOOK_SYNC: return get_bool(r, &p->hook_sync);
	case T_CREATE_CONTAINER_HOOK:
		e = push(&p->create_container_hooks, &p->n_create_container_hooks,
			 sizeof(*p->create_container_hooks));
		return e ? decode_hook(r, e) : -1;
	case T_START_CONTAINER_HOOK:
		e = push(&p->start_container_hooks, &p->n_start_container_hooks,
			 sizeof(*p->start_container_hooks));
		return e ? decode_hook(r, e) : -1;
	case T_EXEC_MODE: return get_bool(r, &p->exec_mode);
	}
	/* Python and C are built together, so an unknown record is a bug, not a newer peer. */
	return -1;
}

int plan_decode(const unsigned char *buf, size_t len, struct plan *p, const char **err)
{
	struct cursor c = {buf, buf + len};
	struct rec r;
	int rc;

	memset(p, 0, sizeof(*p));
	p->timens_offsets = p->rootfs = p->cwd = p->uid_mappings = p->gid_mappings =
		p->keyring_name = p->lsm_exec_path = p->lsm_exec_label = "";
	while ((rc = next_rec(&c, &r)) > 0) {
		if (decode_record(&r, p) < 0) {
			*err = "malformed plan record";
			plan_free(p);
			return -1;
		}
	}
	if (rc < 0) {
		*err = "truncated plan";
		plan_free(p);
		return -1;
	}
	if (!p->args)
		p->args = empty_argv;
	if (!p->env)
		p->env = empty_argv;
	return 0;
}

void plan_free(struct plan *p)
{
	for (size_t i = 0; i < p->n_mounts; i++)
		free(p->mounts[i].propagation);
	free(p->namespaces);
	free(p->mounts);
	free(p->devices);
	free(p->symlinks);
	free(p->masked_paths);
	free(p->readonly_paths);
	free(p->sysctl);
	if (p->args != empty_argv)
		free(p->args);
	if (p->env != empty_argv)
		free(p->env);
	free(p->additional_gids);
	free(p->rlimits);
	free_hooks(p->create_container_hooks, p->n_create_container_hooks);
	free_hooks(p->start_container_hooks, p->n_start_container_hooks);
	memset(p, 0, sizeof(*p));
}
