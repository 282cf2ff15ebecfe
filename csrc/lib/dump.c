/* JSON rendering of a decoded plan, shaped like dataclasses.asdict(Plan) so the Python
 * round-trip test can compare the two directly. */
#include "plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static void jstr(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\')
			fprintf(f, "\\%c", *c);
		else if (*c < 0x20)
			fprintf(f, "\\u%04x", *c);
		else
			fputc(*c, f);
	}
	fputc('"', f);
}

static void jstrs(FILE *f, const char *const *v, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		jstr(f, v[i]);
	}
	fputc(']', f);
}

static void jints(FILE *f, const int64_t *v, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s%" PRId64, i ? "," : "", v[i]);
	fputc(']', f);
}

static void jpairs(FILE *f, const struct plan_pair *v, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",[" : "[", f);
		jstr(f, v[i].first);
		fputc(',', f);
		jstr(f, v[i].second);
		fputc(']', f);
	}
	fputc(']', f);
}

static const char *jbool(int b)
{
	return b ? "true" : "false";
}

static void dump_hex(FILE *f, const char *key, const unsigned char *v, size_t n)
{
	fprintf(f, ",\"%s\":\"", key);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", v[i]);
	fputc('"', f);
}

static void jhooks(FILE *f, const char *name, const struct plan_hook *v, size_t n)
{
	fprintf(f, ",\"%s\":[", name);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",{\"path\":" : "{\"path\":", f);
		jstr(f, v[i].path);
		fputs(",\"args\":", f);
		jstrs(f, v[i].args, v[i].n_args);
		fputs(",\"env\":", f);
		jstrs(f, v[i].env, v[i].n_env);
		fprintf(f, ",\"timeout\":%" PRId64 "}", v[i].timeout);
	}
	fputc(']', f);
}

char *plan_dump(const struct plan *p)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return NULL;

	fputs("{\"namespaces\":[", f);
	for (size_t i = 0; i < p->n_namespaces; i++) {
		fprintf(f, "%s{\"flag\":%" PRId64 ",\"path\":", i ? "," : "", p->namespaces[i].flag);
		jstr(f, p->namespaces[i].path);
		fputc('}', f);
	}
	fputs("],\"timens_offsets\":", f);
	jstr(f, p->timens_offsets);
	fprintf(f, ",\"new_userns\":%s,\"rootfs\":", jbool(p->new_userns));
	jstr(f, p->rootfs);
	fprintf(f, ",\"rootfs_readonly\":%s,\"rootfs_propagation\":%" PRId64 ",\"no_pivot\":%s",
		jbool(p->rootfs_readonly), p->rootfs_propagation, jbool(p->no_pivot));
	fputs(",\"mounts\":[", f);
	for (size_t i = 0; i < p->n_mounts; i++) {
		const struct plan_mount *m = &p->mounts[i];
		fputs(i ? ",{\"destination\":" : "{\"destination\":", f);
		jstr(f, m->destination);
		fputs(",\"source\":", f);
		jstr(f, m->source);
		fputs(",\"fstype\":", f);
		jstr(f, m->fstype);
		fprintf(f, ",\"flags\":%" PRId64 ",\"data\":", m->flags);
		jstr(f, m->data);
		fputs(",\"propagation\":", f);
		jints(f, m->propagation, m->n_propagation);
		fprintf(f, ",\"attr_set\":%" PRId64 ",\"attr_clr\":%" PRId64 ",\"tmpcopyup\":%s",
			m->attr_set, m->attr_clr, jbool(m->tmpcopyup));
		fputs(",\"uid_map\":", f);
		jstr(f, m->uid_map);
		fputs(",\"gid_map\":", f);
		jstr(f, m->gid_map);
		fprintf(f, ",\"dest_is_file\":%s}", jbool(m->dest_is_file));
	}
	fputs("],\"devices\":[", f);
	for (size_t i = 0; i < p->n_devices; i++) {
		const struct plan_device *d = &p->devices[i];
		fputs(i ? ",{\"path\":" : "{\"path\":", f);
		jstr(f, d->path);
		fprintf(f,
			",\"kind\":\"%c\",\"major\":%" PRId64 ",\"minor\":%" PRId64 ",\"mode\":%" PRId64
			",\"uid\":%" PRId64 ",\"gid\":%" PRId64 ",\"bind_from_host\":%s}",
			d->kind, d->major, d->minor, d->mode, d->uid, d->gid, jbool(d->bind_from_host));
	}
	fputs("],\"symlinks\":", f);
	jpairs(f, p->symlinks, p->n_symlinks);
	fputs(",\"masked_paths\":", f);
	jstrs(f, p->masked_paths, p->n_masked_paths);
	fputs(",\"readonly_paths\":", f);
	jstrs(f, p->readonly_paths, p->n_readonly_paths);
	fputs(",\"sysctl\":", f);
	jpairs(f, p->sysctl, p->n_sysctl);
	fputs(",\"hostname\":", f);
	jstr(f, p->hostname);
	fputs(",\"domainname\":", f);
	jstr(f, p->domainname);
	fputs(",\"args\":", f);
	jstrs(f, p->args, p->n_args);
	fputs(",\"env\":", f);
	jstrs(f, p->env, p->n_env);
	fputs(",\"cwd\":", f);
	jstr(f, p->cwd);
	fprintf(f, ",\"uid\":%" PRId64 ",\"gid\":%" PRId64 ",\"additional_gids\":", p->uid, p->gid);
	jints(f, p->additional_gids, p->n_additional_gids);
	if (p->has_umask)
		fprintf(f, ",\"umask\":%" PRId64, p->umask);
	else
		fputs(",\"umask\":null", f);
	fputs(",\"rlimits\":[", f);
	for (size_t i = 0; i < p->n_rlimits; i++)
		fprintf(f, "%s{\"resource\":%" PRId64 ",\"soft\":%" PRIu64 ",\"hard\":%" PRIu64 "}",
			i ? "," : "", p->rlimits[i].resource, p->rlimits[i].soft, p->rlimits[i].hard);
	fputc(']', f);
	if (p->has_capabilities)
		fprintf(f,
			",\"capabilities\":{\"bounding\":%" PRIu64 ",\"effective\":%" PRIu64
			",\"permitted\":%" PRIu64 ",\"inheritable\":%" PRIu64 ",\"ambient\":%" PRIu64 "}",
			p->caps.bounding, p->caps.effective, p->caps.permitted, p->caps.inheritable,
			p->caps.ambient);
	else
		fputs(",\"capabilities\":null", f);
	fprintf(f, ",\"no_new_privileges\":%s", jbool(p->no_new_privileges));
	if (p->has_oom_score_adj)
		fprintf(f, ",\"oom_score_adj\":%" PRId64, p->oom_score_adj);
	else
		fputs(",\"oom_score_adj\":null", f);
	fprintf(f,
		",\"terminal\":%s,\"console_width\":%" PRId64 ",\"console_height\":%" PRId64
		",\"preserve_fds\":%" PRId64 ",\"seccomp_bpf\":\"",
		jbool(p->terminal), p->console_width, p->console_height, p->preserve_fds);
	for (size_t i = 0; i < p->seccomp_bpf_len; i++)
		fprintf(f, "%02x", p->seccomp_bpf[i]);
	fprintf(f, "\",\"seccomp_flags\":%" PRId64 ",\"uid_mappings\":", p->seccomp_flags);
	jstr(f, p->uid_mappings);
	fputs(",\"gid_mappings\":", f);
	jstr(f, p->gid_mappings);
	fprintf(f, ",\"new_keyring\":%s,\"keyring_name\":", jbool(p->new_keyring));
	jstr(f, p->keyring_name);
	if (p->has_personality)
		fprintf(f, ",\"personality\":%" PRId64, p->personality);
	else
		fputs(",\"personality\":null", f);
	dump_hex(f, "sched_attr", p->sched_attr, p->sched_attr_len);
	if (p->has_ioprio)
		fprintf(f, ",\"ioprio\":%" PRId64, p->ioprio);
	else
		fputs(",\"ioprio\":null", f);
	if (p->has_mempolicy)
		fprintf(f, ",\"mempolicy_mode\":%" PRId64, p->mempolicy_mode);
	else
		fputs(",\"mempolicy_mode\":null", f);
	dump_hex(f, "mempolicy_nodes", p->mempolicy_nodes, p->mempolicy_nodes_len);
	fputs(",\"lsm_exec_path\":", f);
	jstr(f, p->lsm_exec_path);
	fputs(",\"lsm_exec_label\":", f);
	jstr(f, p->lsm_exec_label);
	fprintf(f, ",\"hook_sync\":%s", jbool(p->hook_sync));
	jhooks(f, "create_container_hooks", p->create_container_hooks,
	       p->n_create_container_hooks);
	jhooks(f, "start_container_hooks", p->start_container_hooks, p->n_start_container_hooks);
	fprintf(f, ",\"exec_mode\":%s", jbool(p->exec_mode));
	fputc('}', f);

	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		free(out);
		return NULL;
	}
	return out;
}
