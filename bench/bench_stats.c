/*
 * bench_stats.c - usage statistics cost against the number of recorded
 * uses: one token with 100 uses, one with N (default 100000), measured
 * side by side in one run. Prints the mean latency of each and the ratio.
 *
 *   bench/bench_stats [N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store.h"
#include "util.h"

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Record n uses of id spread over the last 30 days on 20 paths. */
static void
fill(struct store *st, const char *id, long n, int64_t now)
{
	struct use u = { 0, "GET", NULL, "127.0.0.1", "bench/1", 200, 0, 900 };
	char path[32];
	long i;

	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/tools/t%ld", i % 20);
		u.path = path;
		u.at = now - (int64_t)(i % 30) * 86400000 - i % 1000;
		u.blocked = i % 10 == 0;
		if (store_use_record(st, id, &u) != 0) {
			fprintf(stderr, "record failed at %ld\n", i);
			exit(1);
		}
	}
}

static double
time_stats(struct store *st, const char *id, int64_t now, int reps)
{
	struct usage_stats s;
	double t0 = now_s();
	int i;

	for (i = 0; i < reps; i++) {
		if (store_use_stats(st, id, now, 30, &s) != 0)
			exit(1);
		free(s.days);
	}
	return (now_s() - t0) / reps;
}

int
main(int argc, char **argv)
{
	const char *small = "11111111-1111-4111-8111-111111111111";
	const char *big = "22222222-2222-4222-8222-222222222222";
	char dir[] = "/tmp/tc-bench-XXXXXX", cmd[64];
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
	int64_t now = util_now_ms();
	struct store *st;
	double a, b, t0;

	if (mkdtemp(dir) == NULL || store_open(&st, dir, 64, STORE_CREATE) != 0)
		return 1;
	t0 = now_s();
	fill(st, small, 100, now);
	fill(st, big, n, now);
	printf("recorded %ld uses in %.2f s (%.1f us per use, no disk flush)\n",
	    n + 100, now_s() - t0, (now_s() - t0) / (double)(n + 100) * 1e6);
	time_stats(st, small, now, 50);         /* warm up */
	a = time_stats(st, small, now, 2000);
	b = time_stats(st, big, now, 2000);
	printf("usage statistics, 30 days: %ld uses %.1f us, 100 uses %.1f us, "
	    "ratio %.2f (goal <= 3)\n", n, b * 1e6, a * 1e6, b / a);
	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : 1;
}
