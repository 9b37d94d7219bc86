/*
 * store_usage.c - uses of tokens, in a second LMDB environment
 * (<database>/usage) opened with MDB_NOSYNC: recording a use never waits
 * for the disk. The catalog keeps its durable commits. Not MDB_WRITEMAP:
 * pages written through a writable map of a file on a full disk raise
 * SIGBUS and kill the worker; with write(2) a full disk is ENOSPC.
 *
 * uses:     token id + at_us (be64) + pid (be32) -> the use (put_use)
 * buckets:  token id + level (1 byte) + bucket start in s (be64) -> uint32
 *           allowed uses in that bucket: level 0 buckets are 1 s wide (the
 *           minute window), level 1 60 s (the hour), level 2 900 s (the
 *           day). A window sums at most 60, 60 and 96 buckets, whatever the
 *           traffic; buckets older than their window are pruned.
 * daily:    token id + day (be32, days since the epoch) -> struct day_agg
 * daypath:  token id + day (be32) + path -> uint64 count (at most
 *           DAY_PATHS_MAX paths a day; the rest count as "(other)")
 * last:     token id -> int64 ms of the last allowed use
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store_int.h"
#include "use_pending.h"

#define DAY_MS		86400000LL
#define DAY_PATHS_MAX	100
#define PRUNE_MAX	4               /* old buckets removed per use and level */
#define BKEY_LEN	(UUID_LEN + 1 + 8)

#define UKEY_LEN	(UUID_LEN + 8 + 4)
#define DKEY_LEN	(UUID_LEN + 4)
#define OTHER_PATH	"(other)"

static const char *const udbi_names[UDB__MAX] = {
	"uses", "buckets", "daily", "daypath", "last"
};

struct day_agg {
	uint64_t	total, allowed, blocked, sum_us;
	uint32_t	npaths, pad;
};

static int
tx_open_udbis(struct store *s, MDB_txn *txn, void *arg)
{
	int i, rc;

	(void)arg;
	for (i = 0; i < UDB__MAX; i++)
		if ((rc = mdb_dbi_open(txn, udbi_names[i], MDB_CREATE, &s->udbi[i])) != 0)
			return rc;
	return 0;
}

int
usage_open(struct store *s, size_t map_mb, int serve)
{
	char path[4096];
	int rc, dead = 0;

	if (snprintf(path, sizeof(path), "%s/usage", s->dir) >= (int)sizeof(path))
		return STORE_IO;
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return errno == EACCES || errno == EROFS ? STORE_RDONLY : STORE_IO;
	if ((rc = mdb_env_create(&s->uenv)) != 0)
		return STORE_IO;
	mdb_env_set_maxdbs(s->uenv, UDB__MAX + 1);
	mdb_env_set_maxreaders(s->uenv, 512);
	mdb_env_set_mapsize(s->uenv, (map_mb < USAGE_MAP_MB ? map_mb :
	    USAGE_MAP_MB) << 20);
	if ((rc = mdb_env_open(s->uenv, path, MDB_NOTLS | MDB_NOSYNC | MDB_NOMETASYNC,
	    0600)) != 0) {
		mdb_env_close(s->uenv);
		s->uenv = NULL;
		return rc == EACCES || rc == EROFS ? STORE_RDONLY : STORE_IO;
	}
	mdb_reader_check(s->uenv, &dead);
	s->upid = (uint32_t)getpid();   /* opened after fork (store.h) */
	if ((rc = store_write_env(s, s->uenv, tx_open_udbis, NULL)) != 0)
		return rc;
	return serve ? admit_open(s) : STORE_OK;
}

void
usage_close(struct store *s)
{
	if (s->uenv != NULL && s->pend != NULL)
		lmdb_use_flush(s);
	admit_close(s);
	free(s->pend);
	s->pend = NULL;
	free(s->one);
	s->one = NULL;
	free(s->wc);
	s->wc = NULL;
	if (s->uenv != NULL) {
		mdb_env_sync(s->uenv, 1);
		mdb_env_close(s->uenv);
	}
	s->uenv = NULL;
}

/* key = token id + be64(at_us) + be32(pid) */
static void
use_key(const struct store *s, char key[UKEY_LEN], const char *id, int64_t at_us)
{
	uint64_t t = htobe64((uint64_t)at_us);
	uint32_t p = htobe32(s->upid);

	memcpy(key, id, UUID_LEN);
	memcpy(key + UUID_LEN, &t, 8);
	memcpy(key + UUID_LEN + 8, &p, 4);
}

static void
day_key(char key[DKEY_LEN], const char *id, int64_t ms)
{
	uint32_t d = htobe32((uint32_t)(ms / DAY_MS));

	memcpy(key, id, UUID_LEN);
	memcpy(key + UUID_LEN, &d, 4);
}

#define PEND_BUCKETS	(USE_BATCH * WIN__MAX)   /* 3 a use */

struct pending {
	struct pending_use	 v[USE_BATCH];
	size_t			 n;
	int64_t			 first;         /* ms of the oldest pending use */
	struct pending_bucket	 b[PEND_BUCKETS];
	size_t			 nb;
};

/*
 * The use itself as a compact record: a format byte (1), blocked (0/1),
 * status (be16), response time in µs (be32), then method, path, client
 * address and user agent, each NUL-terminated.
 */
static int
put_use(struct store *s, MDB_txn *txn, const struct pending_use *e)
{
	char key[UKEY_LEN], val[8 + sizeof(e->method) + sizeof(e->path) +
	    sizeof(e->addr) + sizeof(e->agent)];
	const char *part[4] = { e->method, e->path, e->addr, e->agent };
	uint16_t st = htobe16((uint16_t)e->u.status);
	uint32_t us = htobe32(e->u.us);
	size_t len = 8, n;
	int i;

	use_key(s, key, e->id, e->at_us);
	val[0] = 1;
	val[1] = e->u.blocked ? 1 : 0;
	memcpy(val + 2, &st, 2);
	memcpy(val + 4, &us, 4);
	for (i = 0; i < 4; i++) {
		n = strlen(part[i]) + 1;        /* each fits: copied to its size */
		memcpy(val + len, part[i], n);
		len += n;
	}
	return mdb_put(txn, s->udbi[UDB_USES], &(MDB_val){ UKEY_LEN, key },
	    &(MDB_val){ len, val }, 0);
}

/*
 * What one batch adds to the days, paths and last_used, merged per key
 * first so that a batch costs one read and one write per day, path and
 * token rather than per use (the buckets are merged as uses are recorded:
 * struct pending_bucket).
 */
struct batch {
	struct bday {
		const char	*id;
		int64_t		 ms;            /* a time of that day */
		struct day_agg	 add;
	}		 day[USE_BATCH];
	struct bpath {
		size_t		 day;           /* index into day[] */
		const char	*path;
		uint64_t	 n;
	}		 path[USE_BATCH];
	struct blast {
		const char	*id;
		int64_t		 at;
	}		 last[USE_BATCH];
	size_t		 nday, npath, nlast;
};

static void
batch_add(struct batch *b, const struct pending_use *e)
{
	size_t i, d;

	for (d = 0; d < b->nday; d++)
		if (b->day[d].ms / DAY_MS == e->u.at / DAY_MS &&
		    strcmp(b->day[d].id, e->id) == 0)
			break;
	if (d == b->nday)
		b->day[b->nday++] = (struct bday){ e->id, e->u.at, { 0 } };
	b->day[d].add.total++;
	*(e->u.blocked ? &b->day[d].add.blocked : &b->day[d].add.allowed) += 1;
	b->day[d].add.sum_us += e->u.us;
	for (i = 0; i < b->npath; i++)
		if (b->path[i].day == d && strcmp(b->path[i].path, e->path) == 0)
			break;
	if (i == b->npath)
		b->path[b->npath++] = (struct bpath){ d, e->path, 0 };
	b->path[i].n++;
	if (e->u.blocked)
		return;
	for (i = 0; i < b->nlast; i++)
		if (strcmp(b->last[i].id, e->id) == 0)
			break;
	if (i == b->nlast)
		b->last[b->nlast++] = (struct blast){ e->id, e->u.at };
	else if (e->u.at > b->last[i].at)
		b->last[i].at = e->u.at;
}

/* Add n uses of path to its day's count: at most DAY_PATHS_MAX paths a day. */
static int
put_daypath(struct store *s, MDB_txn *txn, const char *dk, const char *path,
    uint64_t add, struct day_agg *agg)
{
	char key[DKEY_LEN + PATH_KEY_MAX];
	MDB_val k = { DKEY_LEN, key }, v;
	size_t plen = strnlen(path, PATH_KEY_MAX);
	uint64_t n = 0;
	int rc;

	memcpy(key, dk, DKEY_LEN);
	memcpy(key + DKEY_LEN, path, plen);
	k.mv_size = DKEY_LEN + plen;
	rc = mdb_get(txn, s->udbi[UDB_DAYPATH], &k, &v);
	if (rc == MDB_NOTFOUND && agg->npaths >= DAY_PATHS_MAX) {
		plen = strlen(OTHER_PATH);
		memcpy(key + DKEY_LEN, OTHER_PATH, plen);
		k.mv_size = DKEY_LEN + plen;
		rc = mdb_get(txn, s->udbi[UDB_DAYPATH], &k, &v);
	}
	if (rc == 0 && v.mv_size == sizeof(n))
		memcpy(&n, v.mv_data, sizeof(n));
	else if (rc == MDB_NOTFOUND)
		agg->npaths++;
	else
		return rc;
	n += add;
	return mdb_put(txn, s->udbi[UDB_DAYPATH], &k, &(MDB_val){ sizeof(n), &n }, 0);
}

/* Add the batch's uses of day d to the day and to its paths' counts. */
static int
put_day(struct store *s, MDB_txn *txn, const struct batch *b, size_t d)
{
	const struct bday *bd = &b->day[d];
	char dk[DKEY_LEN];
	MDB_val k = { DKEY_LEN, dk }, v;
	struct day_agg agg;
	size_t i;
	int rc;

	day_key(dk, bd->id, bd->ms);
	memset(&agg, 0, sizeof(agg));
	if ((rc = mdb_get(txn, s->udbi[UDB_DAILY], &k, &v)) == 0 && v.mv_size == sizeof(agg))
		memcpy(&agg, v.mv_data, sizeof(agg));
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	agg.total += bd->add.total;
	agg.allowed += bd->add.allowed;
	agg.blocked += bd->add.blocked;
	agg.sum_us += bd->add.sum_us;
	for (i = 0; i < b->npath; i++)
		if (b->path[i].day == d && (rc = put_daypath(s, txn, dk,
		    b->path[i].path, b->path[i].n, &agg)) != 0)
			return rc;
	return mdb_put(txn, s->udbi[UDB_DAILY], &k, &(MDB_val){ sizeof(agg), &agg }, 0);
}

/* key = token id + level + be64(bucket start in seconds) */
static void
bucket_key(char key[BKEY_LEN], const char *id, int level, int64_t ms)
{
	uint64_t be = htobe64((uint64_t)(ms / use_bucket_ms[level] * use_bucket_ms[level] /
	    1000));

	memcpy(key, id, UUID_LEN);
	key[UUID_LEN] = (char)level;
	memcpy(key + UUID_LEN + 1, &be, 8);
}

/* Start in ms of the bucket of key. */
static int64_t
bucket_start(const MDB_val *k)
{
	uint64_t be;

	memcpy(&be, (char *)k->mv_data + UUID_LEN + 1, 8);
	return (int64_t)be64toh(be) * 1000;
}

/* Add a bucket's allowed uses to it; prune a few expired buckets of its level. */
static int
put_bucket(struct store *s, MDB_txn *txn, const struct pending_bucket *bb)
{
	MDB_dbi dbi = s->udbi[UDB_BUCKETS];
	MDB_cursor *c;
	char key[BKEY_LEN];
	MDB_val k = { BKEY_LEN, key }, v;
	uint32_t n = 0;
	int rc, i;

	bucket_key(key, bb->id, bb->level, bb->start);
	if ((rc = mdb_get(txn, dbi, &k, &v)) == 0 && v.mv_size == sizeof(n))
		memcpy(&n, v.mv_data, sizeof(n));
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	n += bb->n;
	if ((rc = mdb_put(txn, dbi, &k, &(MDB_val){ sizeof(n), &n }, 0)) != 0)
		return rc;
	bucket_key(key, bb->id, bb->level, 0);
	if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		return rc;
	for (i = 0, rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 &&
	    i < PRUNE_MAX; i++, rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != BKEY_LEN || memcmp(k.mv_data, key, UUID_LEN + 1) != 0 ||
		    bucket_start(&k) + use_bucket_ms[bb->level] +
		    use_window_ms[bb->level] >= bb->at)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* last_used of a token: the latest of the stored and the batch's. */
static int
put_last(struct store *s, MDB_txn *txn, const struct blast *bl)
{
	MDB_val k = { UUID_LEN, (void *)(uintptr_t)bl->id }, v;
	int64_t at = bl->at, old;
	int rc;

	if ((rc = mdb_get(txn, s->udbi[UDB_LAST], &k, &v)) == 0 && v.mv_size == 8) {
		memcpy(&old, v.mv_data, 8);
		if (old >= at)
			return 0;
	} else if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	return mdb_put(txn, s->udbi[UDB_LAST], &k, &(MDB_val){ 8, &at }, 0);
}

/* Write the pending uses, then what they add to the aggregates. */
static int
tx_flush(struct store *s, MDB_txn *txn, void *arg)
{
	struct pending *p = arg;
	struct batch b;
	size_t i;
	int rc;

	b.nday = b.npath = b.nlast = 0;
	for (i = 0; i < p->n; i++) {
		if ((rc = put_use(s, txn, &p->v[i])) != 0)
			return rc;
		batch_add(&b, &p->v[i]);
	}
	for (i = 0; i < b.nday; i++)
		if ((rc = put_day(s, txn, &b, i)) != 0)
			return rc;
	for (i = 0; i < p->nb; i++)
		if ((rc = put_bucket(s, txn, &p->b[i])) != 0)
			return rc;
	for (i = 0; i < b.nlast; i++)
		if ((rc = put_last(s, txn, &b.last[i])) != 0)
			return rc;
	return 0;
}

int
lmdb_use_flush(struct store *s)
{
	int rc;

	if (s->pend == NULL || s->pend->n == 0)
		return STORE_OK;
	rc = store_write_env(s, s->uenv, tx_flush, s->pend);
	if (rc != STORE_OK)
		log_error("store: %zu recorded use(s) lost: %s", s->pend->n,
		    store_strerror(rc));
	s->wgen++;                      /* the cached closed windows are stale */
	s->pend->n = 0;                 /* written, or lost with a logged error */
	s->pend->nb = 0;
	admit_written(s);
	return rc;
}

size_t
lmdb_use_pending(const struct store *s)
{
	return s->pend != NULL ? s->pend->n : 0;
}

int
lmdb_use_due(const struct store *s, int64_t now)
{
	return s->pend != NULL && s->pend->n > 0 &&
	    (s->pend->n >= USE_BATCH || now - s->pend->first >= USE_FLUSH_MS);
}

/* Room for one more use in this process's batch: written when full. */
static int
pend_room(struct store *s)
{
	if (s->uenv == NULL)            /* a read-only database (store_open) */
		return STORE_RDONLY;
	if (s->pend == NULL && (s->pend = calloc(1, sizeof(*s->pend))) == NULL)
		return STORE_NOMEM;
	if (s->pend->n == USE_BATCH && lmdb_use_flush(s) != 0)
		s->pend->n = s->pend->nb = 0;
	return STORE_OK;
}

/*
 * Add u, at `at` (ms), to the batch (pend_room first). A full batch is
 * written by the caller's store_use_due and store_use_flush, which a
 * worker calls after its answer, or at the next pend_room: never while a
 * request waits for its answer.
 */
static void
pend_add(struct store *s, const char *token_id, const struct use *u, int64_t at)
{
	pending_use_set(&s->pend->v[s->pend->n], token_id, u, at, &s->last_us);
	if (!u->blocked)
		pending_bucket_count(s->pend->b, &s->pend->nb, PEND_BUCKETS,
		    token_id, at);
	if (s->pend->n++ == 0)
		s->pend->first = at;
}

int
lmdb_use_record(struct store *s, const char *token_id, const struct use *u)
{
	int rc;

	if (strlen(token_id) != UUID_LEN)
		return STORE_INVALID;
	if ((rc = pend_room(s)) != STORE_OK)
		return rc;
	pend_add(s, token_id, u, u->at);
	return STORE_OK;
}

struct last_arg {
	const char	*id;
	int64_t		 last;
};

static int
tx_last(struct store *s, MDB_txn *txn, void *arg)
{
	struct last_arg *a = arg;
	MDB_val k = { UUID_LEN, (void *)(uintptr_t)a->id }, v;
	int rc = mdb_get(txn, s->udbi[UDB_LAST], &k, &v);

	if (rc == 0 && v.mv_size == 8)
		memcpy(&a->last, v.mv_data, 8);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

struct last_many {
	struct token	*v;
	size_t		 n;
};

static int
tx_last_many(struct store *s, MDB_txn *txn, void *arg)
{
	struct last_many *a = arg;
	struct last_arg one;
	size_t i;
	int rc;

	for (i = 0; i < a->n; i++) {
		one.id = a->v[i].id;
		one.last = 0;
		if (strlen(one.id) == UUID_LEN && (rc = tx_last(s, txn, &one)) != 0)
			return rc;
		a->v[i].last_used = one.last;
	}
	return 0;
}

void
uses_fill_last(struct store *s, struct token *v, size_t n)
{
	struct last_many a = { v, n };
	size_t i;

	if (s->uenv == NULL || n == 0)
		return;
	lmdb_use_flush(s);             /* this process's uses first */
	if (store_read_env(s, s->uenv, tx_last_many, &a) != 0)
		for (i = 0; i < n; i++)
			v[i].last_used = 0;
}

int
lmdb_use_last(struct store *s, const char *token_id, int64_t *last_ms)
{
	struct last_arg a = { token_id, 0 };
	int rc;

	*last_ms = 0;
	if (strlen(token_id) != UUID_LEN || s->uenv == NULL)
		return STORE_OK;
	lmdb_use_flush(s);             /* this process's uses first */
	if ((rc = store_read_env(s, s->uenv, tx_last, &a)) == 0)
		*last_ms = a.last;
	return rc;
}

struct win_arg {
	const char	*id;
	int64_t		 now;
	const uint32_t	*cap;
	uint32_t	*count;
	int64_t		*frees_at;
};

/*
 * The closed part of each window, per process and token: the sum of the
 * buckets at least two bucket widths old, which every worker has written
 * by then (a batch waits USE_FLUSH_MS at most). It is computed again when
 * the window's first bucket moves on or this process has written uses,
 * so that a check reads only the few newest buckets.
 */
#define WCACHE_MAX 64

struct wcache {
	char		 id[UUID_LEN + 1];
	uint64_t	 gen;           /* s->wgen it was computed at */
	int64_t		 from[WIN__MAX];        /* first bucket of the window (ms), 0 = none */
	int64_t		 upto[WIN__MAX];        /* last closed bucket summed (ms) */
	int64_t		 oldest[WIN__MAX];      /* oldest of them with uses, 0 = none */
	uint64_t	 sum[WIN__MAX];
};

uint32_t
usage_id_hash(const char *id)
{
	uint32_t h = 2166136261u;       /* FNV-1a */
	size_t i;

	for (i = 0; i < UUID_LEN; i++)
		h = (h ^ (unsigned char)id[i]) * 16777619u;
	return h;
}

/* Call fn with each stored bucket of level of id from `from` (ms) up to
 * `upto` (ms, or INT64_MAX), oldest first. */
static int
walk_buckets(struct store *s, MDB_txn *txn, const char *id, int level,
    int64_t from, int64_t upto, bucket_fn fn, void *arg)
{
	MDB_cursor *c;
	char key[BKEY_LEN];
	MDB_val k = { BKEY_LEN, key }, v;
	uint32_t n;
	int64_t at;
	int rc;

	bucket_key(key, id, level, from);
	if ((rc = mdb_cursor_open(txn, s->udbi[UDB_BUCKETS], &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != BKEY_LEN || memcmp(k.mv_data, key, UUID_LEN + 1) != 0 ||
		    v.mv_size != sizeof(n) || (at = bucket_start(&k)) > upto)
			break;
		memcpy(&n, v.mv_data, sizeof(n));
		fn(arg, level, at, n);
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

struct bucket_sum {
	uint64_t	 sum;
	int64_t		 oldest;
};

static void
sum_bucket(void *arg, int level, int64_t start, uint32_t n)
{
	struct bucket_sum *b = arg;

	(void)level;
	if (b->sum == 0)
		b->oldest = start;
	b->sum += n;
}

/* Sum the buckets of level of id from `from` (ms) up to `upto` (ms, or
 * INT64_MAX), noting the start of the first one in *oldest. */
static int
sum_buckets(struct store *s, MDB_txn *txn, const char *id, int level,
    int64_t from, int64_t upto, uint64_t *sum, int64_t *oldest)
{
	struct bucket_sum b = { 0, 0 };
	int rc;

	rc = walk_buckets(s, txn, id, level, from, upto, sum_bucket, &b);
	*sum = b.sum;
	*oldest = b.oldest;
	return rc;
}

int
usage_seed(struct store *s, MDB_txn *txn, const char *id, int64_t now,
    bucket_fn fn, void *arg)
{
	const struct pending_bucket *pb;
	int64_t from;
	size_t i;
	int level, rc;

	for (level = 0; level < WIN__MAX; level++) {
		from = (now - use_window_ms[level]) / use_bucket_ms[level] *
		    use_bucket_ms[level];
		if ((rc = walk_buckets(s, txn, id, level, from, INT64_MAX, fn,
		    arg)) != 0)
			return rc;
		for (i = 0; s->pend != NULL && i < s->pend->nb; i++) {
			pb = &s->pend->b[i];
			if (pb->level == level && pb->start >= from &&
			    memcmp(pb->id, id, UUID_LEN) == 0)
				fn(arg, level, pb->start, pb->n);
		}
	}
	return 0;
}

/*
 * Count the buckets of level from the one holding now - span up to now,
 * up to cap. A bucket counts whole, so a window is counted conservatively
 * by at most one bucket width; when the cap is reached, frees_at is when
 * the oldest counted bucket has left the window.
 */
static int
count_window(struct store *s, MDB_txn *txn, struct win_arg *a, int level)
{
	int64_t w = use_bucket_ms[level];
	int64_t from = (a->now - use_window_ms[level]) / w * w;
	int64_t upto = a->now / w * w - 2 * w, oldest;
	struct wcache *wc = NULL;
	uint64_t sum, total;
	int rc;

	if (s->wc == NULL)
		s->wc = calloc(WCACHE_MAX, sizeof(*s->wc));
	if (s->wc != NULL) {
		wc = &s->wc[usage_id_hash(a->id) % WCACHE_MAX];
		if (memcmp(wc->id, a->id, UUID_LEN) != 0 || wc->gen != s->wgen) {
			memset(wc, 0, sizeof(*wc));
			memcpy(wc->id, a->id, UUID_LEN);
			wc->gen = s->wgen;
		}
		if (wc->from[level] != from) {
			if ((rc = sum_buckets(s, txn, a->id, level, from, upto,
			    &wc->sum[level], &wc->oldest[level])) != 0) {
				wc->from[level] = 0;
				return rc;
			}
			wc->from[level] = from;
			wc->upto[level] = upto;
		}
	}
	if (wc == NULL) {               /* no memory for the cache: all of it */
		if ((rc = sum_buckets(s, txn, a->id, level, from, INT64_MAX,
		    &total, &oldest)) != 0)
			return rc;
	} else {
		if ((rc = sum_buckets(s, txn, a->id, level, wc->upto[level] + w,
		    INT64_MAX, &sum, &oldest)) != 0)
			return rc;
		total = wc->sum[level] + sum;
		if (wc->sum[level] > 0)
			oldest = wc->oldest[level];
	}
	a->count[level] = total >= a->cap[level] ? a->cap[level] : (uint32_t)total;
	if (a->count[level] > 0)
		a->frees_at[level] = oldest;    /* the oldest bucket, for now */
	return 0;
}

static int
tx_window(struct store *s, MDB_txn *txn, void *arg)
{
	struct win_arg *a = arg;
	int i, rc;

	for (i = 0; i < WIN__MAX; i++)
		if (a->cap[i] > 0 && (rc = count_window(s, txn, a, i)) != 0)
			return rc;
	return 0;
}

int
lmdb_use_window(struct store *s, const char *token_id, int64_t now,
    const uint32_t cap[WIN__MAX], uint32_t count[WIN__MAX], int64_t frees_at[WIN__MAX])
{
	struct win_arg a = { token_id, now, cap, count, frees_at };
	int rc;

	memset(count, 0, WIN__MAX * sizeof(*count));
	memset(frees_at, 0, WIN__MAX * sizeof(*frees_at));
	if (strlen(token_id) != UUID_LEN || (cap[0] | cap[1] | cap[2]) == 0)
		return STORE_OK;
	if (admit_window(s, token_id, now, cap, count, frees_at)) {
		use_frees_from_oldest(cap, count, frees_at);
		return STORE_OK;        /* the slot holds every admitted use */
	}
	if ((rc = store_read_env(s, s->uenv, tx_window, &a)) != 0)
		return rc;
	if (s->pend != NULL)
		pending_bucket_window(s->pend->b, s->pend->nb, token_id, now,
		    cap, count, frees_at);
	use_frees_from_oldest(cap, count, frees_at);
	return STORE_OK;
}

struct admit_arg {
	struct win_arg		 w;
	struct pending		*one;           /* the use, as a batch of one */
	const struct use	*u;
	const char		*id;
	int			 admitted;
	int			 in_table;      /* decided through the table */
};

#define ADMIT_FULL (-40101)             /* a window is full: write nothing */
#define ADMIT_TABLE (-40102)            /* decided in the table: write nothing */

/*
 * Under the usage environment's write lock: through the token's slot of
 * the admission table, found or made (store_admit.c), when the table has
 * one for it. Else count the windows (every allowed use of a limited
 * token without a slot is written here, so the stored buckets hold all of
 * them), and when each is below its cap, write the use in the same
 * transaction. The time is read once the lock is held, so uses are
 * written in the order they were admitted.
 */
static int
tx_admit(struct store *s, MDB_txn *txn, void *arg)
{
	struct admit_arg *a = arg;
	struct pending_use *e = &a->one->v[0];
	int64_t oldest[WIN__MAX] = { 0, 0, 0 };
	int i, rc;

	if ((rc = admit_decide(s, txn, a->id, a->w.cap, a->w.count,
	    a->w.frees_at, &a->w.now, &a->admitted, &a->in_table)) != 0)
		return rc;
	if (a->in_table)
		return ADMIT_TABLE;
	a->w.now = util_now_ms();
	memset(a->w.count, 0, WIN__MAX * sizeof(*a->w.count));
	memset(a->w.frees_at, 0, WIN__MAX * sizeof(*a->w.frees_at));
	if ((rc = tx_window(s, txn, &a->w)) != 0)
		return rc;
	memcpy(oldest, a->w.frees_at, sizeof(oldest));
	if (s->pend != NULL)
		pending_bucket_window(s->pend->b, s->pend->nb, a->id, a->w.now,
		    a->w.cap, a->w.count, oldest);
	memcpy(a->w.frees_at, oldest, sizeof(oldest));
	for (i = 0; i < WIN__MAX; i++)
		if (a->w.cap[i] > 0 && a->w.count[i] >= a->w.cap[i])
			return ADMIT_FULL;
	a->one->n = a->one->nb = 0;
	pending_use_set(e, a->id, a->u, a->w.now, &s->last_us);
	pending_bucket_count(a->one->b, &a->one->nb, PEND_BUCKETS, a->id,
	    a->w.now);
	a->one->n = 1;
	if ((rc = tx_flush(s, txn, a->one)) == 0) {
		for (i = 0; i < WIN__MAX; i++)
			a->w.count[i] += a->w.cap[i] > 0;
		a->admitted = 1;
	}
	return rc;
}

int
lmdb_use_admit(struct store *s, const char *token_id,
    const uint32_t cap[WIN__MAX], const struct use *u, uint32_t count[WIN__MAX],
    int64_t frees_at[WIN__MAX], int *admitted)
{
	struct admit_arg a = { { token_id, 0, cap, count, frees_at }, NULL, u,
	    token_id, 0, 0 };
	int rc;

	*admitted = 0;
	memset(count, 0, WIN__MAX * sizeof(*count));
	memset(frees_at, 0, WIN__MAX * sizeof(*frees_at));
	if (strlen(token_id) != UUID_LEN)
		return STORE_INVALID;
	/* the batch has room for the use before a slot counts it */
	if ((rc = pend_room(s)) != STORE_OK)
		return rc;
	if (s->one == NULL && (s->one = calloc(1, sizeof(*s->one))) == NULL)
		return STORE_NOMEM;
	if ((rc = admit_open(s)) != STORE_OK)
		return rc;
	a.one = s->one;
	/* the token's slot, without a write transaction; else make one */
	if ((rc = admit_decide(s, NULL, token_id, cap, count, frees_at,
	    &a.w.now, &a.admitted, &a.in_table)) == 0 && !a.in_table)
		rc = store_write_env(s, s->uenv, tx_admit, &a);
	if (rc == ADMIT_FULL || rc == ADMIT_TABLE)
		rc = STORE_OK;
	*admitted = a.admitted;
	use_frees_from_oldest(cap, count, frees_at);
	if (rc == STORE_OK && a.in_table && a.admitted)
		pend_add(s, token_id, u, a.w.now);
	return rc;
}

struct stats_arg {
	const char		*id;
	int64_t			 first_day;
	struct usage_stats	*st;
};

/* Merge one path count into the top list (kept sorted, most used first). */
static void
top_add(struct usage_stats *st, const char *path, size_t plen, uint64_t n)
{
	size_t i, j;

	for (i = 0; i < st->ntop; i++)
		if (strlen(st->top[i].path) == plen && memcmp(st->top[i].path, path, plen) == 0)
			break;
	if (i == st->ntop) {
		if (st->ntop < TOP_PATHS)
			st->ntop++;
		else if (st->top[TOP_PATHS - 1].n >= n)
			return;
		i = st->ntop - 1;
		memcpy(st->top[i].path, path, plen);
		st->top[i].path[plen] = '\0';
		st->top[i].n = 0;
	}
	st->top[i].n += n;
	for (j = i; j > 0 && st->top[j].n > st->top[j - 1].n; j--) {
		typeof(st->top[0]) tmp = st->top[j];

		st->top[j] = st->top[j - 1];
		st->top[j - 1] = tmp;
	}
}

/* Fold the paths of one day into the candidates (all of them, then cut). */
struct pathsum {
	char		 path[PATH_KEY_MAX + 1];
	uint64_t	 n;
};

static int
day_paths(struct store *s, MDB_txn *txn, const char *dk, struct pathsum **v,
    size_t *n, size_t *cap)
{
	MDB_cursor *c;
	MDB_val k = { DKEY_LEN, (void *)(uintptr_t)dk }, val;
	size_t i, plen;
	uint64_t cnt;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->udbi[UDB_DAYPATH], &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &val, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &val, MDB_NEXT)) {
		if (k.mv_size < DKEY_LEN || memcmp(k.mv_data, dk, DKEY_LEN) != 0)
			break;
		plen = k.mv_size - DKEY_LEN;
		memcpy(&cnt, val.mv_data, sizeof(cnt));
		for (i = 0; i < *n; i++)
			if (strlen((*v)[i].path) == plen &&
			    memcmp((*v)[i].path, (char *)k.mv_data + DKEY_LEN, plen) == 0)
				break;
		if (i == *n) {
			if (*n == *cap) {
				struct pathsum *nv = reallocarray(*v, *cap ? *cap * 2 : 16,
				    sizeof(**v));

				if (nv == NULL) {
					rc = ENOMEM;
					break;
				}
				*v = nv;
				*cap = *cap ? *cap * 2 : 16;
			}
			memcpy((*v)[i].path, (char *)k.mv_data + DKEY_LEN, plen);
			(*v)[i].path[plen] = '\0';
			(*v)[i].n = 0;
			(*n)++;
		}
		(*v)[i].n += cnt;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
tx_stats(struct store *s, MDB_txn *txn, void *arg)
{
	struct stats_arg *a = arg;
	struct usage_stats *st = a->st;
	struct pathsum *paths = NULL;
	struct day_agg agg;
	char dk[DKEY_LEN];
	MDB_val k = { DKEY_LEN, dk }, v;
	size_t d, i, npaths = 0, cap = 0;
	int rc = 0;

	for (d = 0; d < st->ndays && rc == 0; d++) {
		day_key(dk, a->id, st->days[d].day);
		if ((rc = mdb_get(txn, s->udbi[UDB_DAILY], &k, &v)) == MDB_NOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc != 0 || v.mv_size != sizeof(agg))
			break;
		memcpy(&agg, v.mv_data, sizeof(agg));
		st->total += agg.total;
		st->allowed += agg.allowed;
		st->blocked += agg.blocked;
		st->sum_us += agg.sum_us;
		st->days[d].allowed = agg.allowed;
		st->days[d].blocked = agg.blocked;
		rc = day_paths(s, txn, dk, &paths, &npaths, &cap);
	}
	for (i = 0; i < npaths; i++)
		top_add(st, paths[i].path, strlen(paths[i].path), paths[i].n);
	free(paths);
	return rc;
}

int
lmdb_use_stats(struct store *s, const char *token_id, int64_t now, unsigned days,
    struct usage_stats *out)
{
	struct stats_arg a = { token_id, 0, out };
	unsigned i;
	int rc;

	memset(out, 0, sizeof(*out));
	if (days == 0 || (out->days = calloc(days, sizeof(*out->days))) == NULL)
		return days == 0 ? STORE_OK : STORE_NOMEM;
	out->ndays = days;
	for (i = 0; i < days; i++)
		out->days[i].day = (now / DAY_MS - (days - 1 - i)) * DAY_MS;
	if (strlen(token_id) != UUID_LEN)
		return STORE_OK;
	lmdb_use_flush(s);             /* this process's uses first */
	if ((rc = store_read_env(s, s->uenv, tx_stats, &a)) != 0) {
		free(out->days);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

/* Decode a use record (put_use) into u, its strings pointing into v. */
static int
use_decode(const MDB_val *k, const MDB_val *v, char id[UUID_LEN + 1],
    struct use *u)
{
	const char *p = v->mv_data, *end = p + v->mv_size, *part[4];
	uint64_t at_us;
	uint32_t us;
	uint16_t st;
	int i;

	if (k->mv_size != UKEY_LEN || v->mv_size < 12 || p[0] != 1 ||
	    end[-1] != '\0')
		return -1;
	for (i = 0, p += 8; i < 4; i++) {
		if (p >= end)
			return -1;
		part[i] = p;
		p += strlen(p) + 1;     /* ends before end: end[-1] is NUL */
	}
	memcpy(id, k->mv_data, UUID_LEN);
	id[UUID_LEN] = '\0';
	memcpy(&at_us, (char *)k->mv_data + UUID_LEN, 8);
	memcpy(&st, (char *)v->mv_data + 2, 2);
	memcpy(&us, (char *)v->mv_data + 4, 4);
	*u = (struct use){ (int64_t)be64toh(at_us) / 1000, part[0], part[1],
	    part[2], part[3], be16toh(st), ((char *)v->mv_data)[1] != 0,
	    be32toh(us) };
	return 0;
}

struct use_walk {
	use_each_fn	 fn;
	void		*arg;
};

static int
tx_use_each(struct store *s, MDB_txn *txn, void *arg)
{
	struct use_walk *w = arg;
	char id[UUID_LEN + 1];
	MDB_cursor *c;
	MDB_val k, v;
	struct use u;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->udbi[UDB_USES], &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (use_decode(&k, &v, id, &u) == -1) {
			rc = MDB_CORRUPTED;
			break;
		}
		if ((rc = w->fn(id, &u, w->arg)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The uses written (not this process's pending ones), by token and time. */
int
lmdb_use_each(struct store *s, use_each_fn fn, void *arg)
{
	struct use_walk w = { fn, arg };

	return store_read_env(s, s->uenv, tx_use_each, &w);
}
