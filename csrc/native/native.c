#include "native.h"

#include "plan.h"

#include <stdlib.h>
#include <sys/prctl.h>

int ocirt_set_child_subreaper(void)
{
	return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

char *ocirt_plan_dump(const unsigned char *buf, size_t len, const char **err)
{
	struct plan p;
	if (plan_decode(buf, len, &p, err) < 0)
		return NULL;
	char *out = plan_dump(&p);
	plan_free(&p);
	if (!out)
		*err = "out of memory";
	return out;
}

void ocirt_free(void *p)
{
	free(p);
}
