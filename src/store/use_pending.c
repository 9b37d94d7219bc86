/*
 * use_pending.c - uses waiting in the process to be written, as both
 * backends keep them (see use_pending.h).
 */
#include <string.h>
#include <time.h>

#include "use_pending.h"

const int64_t use_bucket_ms[WIN__MAX] = { 1000, 60000, 900000 };
const int64_t use_window_ms[WIN__MAX] = { 60000, 3600000, 86400000 };

/* Copy src (NULL = "") into dst of size n, cut to fit, NUL-terminated. */
static void
copy_cut(char *dst, size_t n, const char *src)
{
	size_t len = src != NULL ? strnlen(src, n - 1) : 0;

	memcpy(dst, src != NULL ? src : "", len);
	dst[len] = '\0';
}

void
pending_use_set(struct pending_use *e, const char *id, const struct use *u,
    int64_t at, int64_t *last_us)
{
	struct timespec ts;

	memcpy(e->id, id, UUID_LEN + 1);
	copy_cut(e->method, sizeof(e->method), u->method);
	copy_cut(e->path, sizeof(e->path), u->path);
	copy_cut(e->addr, sizeof(e->addr), u->addr);
	copy_cut(e->agent, sizeof(e->agent), u->agent);
	e->u = *u;
	e->u.at = at;
	e->u.method = e->method;
	e->u.path = e->path;
	e->u.addr = e->addr;
	e->u.agent = e->agent;
	if (*last_us / 1000 == at) {
		e->at_us = *last_us + 1;
		if (e->at_us / 1000 != at)
			e->at_us = at * 1000;
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		e->at_us = at * 1000 + (ts.tv_nsec / 1000) % 1000;
	}
	*last_us = e->at_us;
}

/* The bucket of id at level and start in b[nb], or NULL. */
static struct pending_bucket *
bucket_find(struct pending_bucket *b, size_t nb, const char *id, int level,
    int64_t start)
{
	size_t i;

	for (i = 0; i < nb; i++)
		if (b[i].level == level && b[i].start == start &&
		    memcmp(b[i].id, id, UUID_LEN) == 0)
			return &b[i];
	return NULL;
}

void
pending_bucket_count(struct pending_bucket *b, size_t *nb, size_t cap,
    const char *id, int64_t at)
{
	struct pending_bucket *pb;
	int level;

	for (level = 0; level < WIN__MAX; level++) {
		int64_t start = at / use_bucket_ms[level] * use_bucket_ms[level];

		if ((pb = bucket_find(b, *nb, id, level, start)) == NULL) {
			if (*nb == cap)
				continue;       /* cannot happen: 3 per use */
			pb = &b[(*nb)++];
			memcpy(pb->id, id, UUID_LEN + 1);
			pb->level = level;
			pb->start = start;
			pb->at = at;
			pb->n = 0;
		}
		pb->n++;
		if (at > pb->at)
			pb->at = at;
	}
}

void
pending_bucket_window(const struct pending_bucket *b, size_t nb,
    const char *id, int64_t now, const uint32_t cap[WIN__MAX],
    uint32_t count[WIN__MAX], int64_t oldest[WIN__MAX])
{
	size_t i;

	for (i = 0; i < nb; i++) {
		const struct pending_bucket *pb = &b[i];
		int level = pb->level;
		int64_t w = use_bucket_ms[level];

		if (cap[level] == 0 || count[level] >= cap[level] ||
		    pb->start < (now - use_window_ms[level]) / w * w ||
		    memcmp(pb->id, id, UUID_LEN) != 0)
			continue;
		count[level] = pb->n >= cap[level] - count[level] ? cap[level] :
		    count[level] + pb->n;
		if (oldest[level] == 0 || pb->start < oldest[level])
			oldest[level] = pb->start;
	}
}

void
use_frees_from_oldest(const uint32_t cap[WIN__MAX],
    const uint32_t count[WIN__MAX], int64_t frees_at[WIN__MAX])
{
	int i;

	for (i = 0; i < WIN__MAX; i++)
		frees_at[i] = cap[i] > 0 && count[i] >= cap[i] ?
		    frees_at[i] + use_bucket_ms[i] + use_window_ms[i] : 0;
}
