/*
 * bench_fill.c - bulk-load a database made by `tokencat init` for the
 * listing benchmarks of bench/run.sh: three users, SMALL with 10 tokens,
 * PAGE with 50 (one full page) and BIG with N (default 100000), written
 * without a flush per commit (STORE_BULK) and flushed once at the end.
 *
 *   bench/bench_fill DATABASE SMALL_EMAIL PAGE_EMAIL BIG_EMAIL [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "store.h"
#include "util.h"

static void
mkuser(struct store *st, struct user *u, const char *email)
{
	memset(u, 0, sizeof(*u));
	if (util_uuid4(u->id) != 0)
		exit(1);
	snprintf(u->email, sizeof(u->email), "%s", email);
	snprintf(u->full_name, sizeof(u->full_name), "Bench %s", email);
	u->is_active = 1;
	u->created_at = util_now_ms();
	if (store_user_add(st, u, NULL) != STORE_OK) {
		fprintf(stderr, "bench_fill: cannot add %s\n", email);
		exit(1);
	}
}

/* n live tokens of u named <prefix>-<i>, one a millisecond apart. */
static void
fill(struct store *st, const struct user *u, const char *prefix, long n)
{
	int64_t now = util_now_ms();
	struct token t;
	char name[64];
	long i;

	for (i = 0; i < n; i++) {
		memset(&t, 0, sizeof(t));
		if (util_uuid4(t.id) != 0 || util_uuid4(t.jti) != 0)
			exit(1);
		util_sha256_hex(t.id, strlen(t.id), t.hash);
		memcpy(t.owner_id, u->id, sizeof(t.owner_id));
		memcpy(t.owner_email, u->email, sizeof(t.owner_email));
		memcpy(t.created_by, u->email, sizeof(t.created_by));
		snprintf(name, sizeof(name), "%s-%ld", prefix, i);
		t.name = strdup(name);
		t.created_at = now - n + i;
		t.expires_at = now + 30 * 86400000LL;
		t.is_active = 1;
		t.scope = json_object_new_object();
		t.tags = json_object_new_array();
		if (t.name == NULL || store_token_add(st, &t, NULL) != STORE_OK) {
			fprintf(stderr, "bench_fill: token %ld failed\n", i);
			exit(1);
		}
		token_free(&t);
	}
}

int
main(int argc, char **argv)
{
	struct store *st;
	struct user small, page, big;
	long n = argc > 5 ? strtol(argv[5], NULL, 10) : 100000;

	if (argc < 5 || n < 1) {
		fprintf(stderr, "usage: bench_fill DATABASE SMALL_EMAIL PAGE_EMAIL "
		    "BIG_EMAIL [N]\n");
		return 2;
	}
	if (store_open(&st, argv[1], 64, STORE_BULK) != STORE_OK) {
		fprintf(stderr, "bench_fill: cannot open %s (run tokencat init)\n",
		    argv[1]);
		return 1;
	}
	mkuser(st, &small, argv[2]);
	mkuser(st, &page, argv[3]);
	mkuser(st, &big, argv[4]);
	fill(st, &small, "small", 10);
	fill(st, &page, "page", 50);
	fill(st, &big, "big", n);
	store_close(st);
	return 0;
}
