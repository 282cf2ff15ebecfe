/* Functions exposed to Python through cffi (ocirt/native/_build.py). */
#ifndef OCIRT_NATIVE_H
#define OCIRT_NATIVE_H

#include <stddef.h>

/* prctl(PR_SET_CHILD_SUBREAPER, 1): 0, or -1 with errno. */
int ocirt_set_child_subreaper(void);
/* Decodes a wire-format plan and returns its JSON dump (free with ocirt_free), or NULL
 * with *err pointing to a static description. */
char *ocirt_plan_dump(const unsigned char *buf, size_t len, const char **err);
void ocirt_free(void *p);

#endif
