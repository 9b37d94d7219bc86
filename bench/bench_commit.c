/*
 * bench_commit.c - the machine's durable-commit limit: one audit event per
 * durable LMDB commit (store_audit_add: one put, one flushed commit), in a
 * loop for SECONDS, in a new catalog in DIR. Prints commits per second;
 * make bench puts the durable token creates of the same run against it.
 *
 *   bench/bench_commit DIR [SECONDS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "util.h"

int
main(int argc, char **argv)
{
	struct audit_event e;
	struct store *st;
	int64_t t0, t;
	uint64_t secs = 5;
	long n = 0;

	if (argc < 2 || argc > 3 ||
	    (argc == 3 && util_parse_uint(argv[2], 1, 3600, &secs) == -1)) {
		fprintf(stderr, "usage: bench_commit DIR [SECONDS]\n");
		return 2;
	}
	if (store_open(&st, argv[1], 64, STORE_CREATE) != 0) {
		fprintf(stderr, "bench_commit: cannot create %s\n", argv[1]);
		return 1;
	}
	memset(&e, 0, sizeof(e));
	snprintf(e.actor, sizeof(e.actor), "bench");
	snprintf(e.action, sizeof(e.action), "bench.commit");
	t0 = util_mono_us();
	do {
		if (store_audit_add(st, &e) != 0) {
			fprintf(stderr, "bench_commit: commit failed\n");
			return 1;
		}
		n++;
		t = util_mono_us();
	} while (t - t0 < (int64_t)secs * 1000000);
	printf("%.0f\n", (double)n * 1e6 / (double)(t - t0));
	store_close(st);
	return 0;
}
