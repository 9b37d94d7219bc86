/*
 * store_pg_usage.c - uses of tokens in PostgreSQL, with the semantics of
 * store_usage.c: uses kept in the process and written in batches (one
 * transaction, committed without waiting for the disk: a crash of the
 * server may lose the last uses, never the catalog), windows counted in
 * buckets 1 s, 60 s and 900 s wide, per-day aggregates for statistics.
 *
 * A batch is one transaction sent in one round trip (pipeline mode): per
 * token one call of tc_use_put_many (004_use_batches.sql) with the
 * token's uses as arrays, which takes the token's advisory lock
 * (tc_use_lock), inserts the rows and adds to the aggregates once per day,
 * path and bucket. The tokens come in id order, so that two workers'
 * batches never wait on each other in a cycle.
 *
 * store_use_admit is one statement (tc_use_admit): the lock, the count at
 * the database's clock and the write together, so uses admitted on any
 * number of hosts never exceed a limit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg_int.h"
#include "use_pending.h"
#include "store_pg_fn.h"

#define DAY_MS		86400000LL

#define PEND_BUCKETS	(USE_BATCH * WIN__MAX)   /* 3 a use */

/*
 * The text of a batch's arrays, at most: per use its four byte strings
 * as "\\x<hex>", (2 * size + 6 each), five numbers (21 each) and commas;
 * per token its nine arrays' braces and NULs.
 */
#define USE_TEXT_MAX	(2 * (sizeof(((struct pending_use *)0)->method) + \
	sizeof(((struct pending_use *)0)->path) + \
	sizeof(((struct pending_use *)0)->addr) + \
	sizeof(((struct pending_use *)0)->agent)) + 4 * 6 + 5 * 22 + 9)
#define BATCH_TEXT_MAX	(USE_BATCH * (USE_TEXT_MAX + 9 * 3))

struct pg_pending {
	struct pending_use	 v[USE_BATCH];
	size_t			 n;
	int64_t			 first;         /* ms of the oldest pending use */
	struct pending_bucket	 b[PEND_BUCKETS];
	size_t			 nb;
	/* a batch's statements: BEGIN, SET, a call per token, COMMIT */
	const char		*sql[3 + USE_BATCH];
	struct pg_args		 args[3 + USE_BATCH];
	char			 text[BATCH_TEXT_MAX];  /* the arrays */
	size_t			 ntext;
};

void
pgu_close(struct store *s)
{
	free(s->pend);
	s->pend = NULL;
}

/* The fields of a use, as tc_use_put_many takes them, in order. */
enum use_field { F_AT, F_AT_US, F_BLOCKED, F_STATUS, F_US, F_METHOD, F_PATH,
	F_ADDR, F_AGENT, F__MAX };

static void
text_putc(struct pg_pending *p, char c)
{
	if (p->ntext < sizeof(p->text))         /* sized above: never full */
		p->text[p->ntext++] = c;
}

static void
text_int(struct pg_pending *p, int64_t v)
{
	char num[24];
	const char *c;

	snprintf(num, sizeof(num), "%lld", (long long)v);
	for (c = num; *c != '\0'; c++)
		text_putc(p, *c);
}

/* A bytea array element: "\\x" and the bytes in hex, quoted. */
static void
text_bytes(struct pg_pending *p, const char *v)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *c;

	text_putc(p, '"');
	text_putc(p, '\\');
	text_putc(p, '\\');
	text_putc(p, 'x');
	for (c = (const unsigned char *)v; *c != '\0'; c++) {
		text_putc(p, hex[*c >> 4]);
		text_putc(p, hex[*c & 15]);
	}
	text_putc(p, '"');
}

/* Field f of the uses order[lo..hi) as an array literal in p->text. */
static const char *
field_array(struct pg_pending *p, const size_t *order, size_t lo, size_t hi,
    enum use_field f)
{
	const char *start = p->text + p->ntext;
	const struct pending_use *e;
	size_t i;

	text_putc(p, '{');
	for (i = lo; i < hi; i++) {
		e = &p->v[order[i]];
		if (i > lo)
			text_putc(p, ',');
		switch (f) {
		case F_AT:      text_int(p, e->u.at); break;
		case F_AT_US:   text_int(p, e->at_us); break;
		case F_BLOCKED: text_putc(p, e->u.blocked ? 't' : 'f'); break;
		case F_STATUS:  text_int(p, e->u.status); break;
		case F_US:      text_int(p, e->u.us); break;
		case F_METHOD:  text_bytes(p, e->method); break;
		case F_PATH:    text_bytes(p, e->path); break;
		case F_ADDR:    text_bytes(p, e->addr); break;
		default:        text_bytes(p, e->agent); break;
		}
	}
	text_putc(p, '}');
	text_putc(p, '\0');
	return start;
}

/* The arguments of tc_use_put_many for the uses order[lo..hi) of a token. */
static void
token_args(const struct store *s, struct pg_pending *p, const size_t *order,
    size_t lo, size_t hi, struct pg_args *a)
{
	int f;

	pga_init(a);
	pga_str(a, p->v[order[lo]].id);
	pga_int(a, s->pid);
	for (f = 0; f < F__MAX; f++)
		pga_str(a, field_array(p, order, lo, hi, (enum use_field)f));
}

static const struct pg_pending *sort_pend;

/* Order of a batch: by token id (the lock order), then as recorded. */
static int
use_cmp(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int c = strcmp(sort_pend->v[i].id, sort_pend->v[j].id);

	return c != 0 ? c : (i > j) - (i < j);
}

/*
 * The batch as statements: BEGIN, no wait for the disk at commit, one
 * tc_use_put_many per token in id order, COMMIT. Returns how many.
 */
static size_t
flush_statements(const struct store *s, struct pg_pending *p)
{
	size_t order[USE_BATCH], i, lo, n = 0;

	for (i = 0; i < p->n; i++)
		order[i] = i;
	sort_pend = p;
	qsort(order, p->n, sizeof(order[0]), use_cmp);
	p->ntext = 0;
	pga_init(&p->args[n]);
	p->sql[n++] = "BEGIN";
	pga_init(&p->args[n]);
	p->sql[n++] = "SET LOCAL synchronous_commit = off";
	for (lo = 0; lo < p->n; lo = i) {
		for (i = lo + 1; i < p->n &&
		    strcmp(p->v[order[i]].id, p->v[order[lo]].id) == 0; i++)
			;
		token_args(s, p, order, lo, i, &p->args[n]);
		p->sql[n++] = "SELECT tc_use_put_many($1, $2, $3, $4, $5, $6, "
		    "$7, $8, $9, $10, $11)";
	}
	pga_init(&p->args[n]);
	p->sql[n++] = "COMMIT";
	return n;
}

/* Write the pending uses; not inside a snapshot (they wait for its end). */
int
pgu_flush(struct store *s)
{
	int rc;

	if (s->pend == NULL || s->pend->n == 0 || s->snap)
		return STORE_OK;
	rc = pg_pipeline(s, s->pend->sql, s->pend->args,
	    flush_statements(s, s->pend));
	if (rc != 0)
		log_error("store: %zu uses lost: %s", s->pend->n,
		    store_strerror(rc));
	s->pend->n = 0;                 /* written, or lost with a logged error */
	s->pend->nb = 0;
	return rc;
}

int
pg_use_flush(struct store *s)
{
	return pgu_flush(s);
}

size_t
pg_use_pending(const struct store *s)
{
	return s->pend != NULL ? s->pend->n : 0;
}

int
pg_use_due(const struct store *s, int64_t now)
{
	return s->pend != NULL && s->pend->n > 0 &&
	    (s->pend->n >= USE_BATCH || now - s->pend->first >= USE_FLUSH_MS);
}

int
pg_use_record(struct store *s, const char *token_id, const struct use *u)
{
	if (strlen(token_id) != UUID_LEN)
		return STORE_INVALID;
	if (s->pend == NULL && (s->pend = calloc(1, sizeof(*s->pend))) == NULL)
		return STORE_NOMEM;
	if (s->pend->n == USE_BATCH && pgu_flush(s) != 0)
		s->pend->n = s->pend->nb = 0;
	if (s->pend->n == USE_BATCH)    /* inside a snapshot: a bug above */
		return STORE_INVALID;
	pending_use_set(&s->pend->v[s->pend->n], token_id, u, u->at,
	    &s->last_us);
	if (!u->blocked)
		pending_bucket_count(s->pend->b, &s->pend->nb, PEND_BUCKETS,
		    token_id, u->at);
	if (s->pend->n++ == 0)
		s->pend->first = u->at;
	return STORE_OK;                /* a full batch: store_use_due says so */
}

struct last_arg {
	const char	*id;
	int64_t		 last;
};

static int
tx_last(struct store *s, void *arg)
{
	struct last_arg *l = arg;
	struct pg_args a;
	PGresult *r;
	int rc;

	pga_init(&a);
	pga_str(&a, l->id);
	if ((r = pg_exec(s, "SELECT last_used FROM token_last WHERE token_id = $1",
	    &a, &rc)) == NULL)
		return rc;
	l->last = PQntuples(r) == 1 ? pg_int(r, 0, 0) : 0;
	PQclear(r);
	return 0;
}

int
pg_use_last(struct store *s, const char *token_id, int64_t *last_ms)
{
	struct last_arg l = { token_id, 0 };
	int rc;

	*last_ms = 0;
	if (strlen(token_id) != UUID_LEN)
		return STORE_OK;
	pgu_flush(s);                   /* this process's uses first */
	if ((rc = pg_read(s, tx_last, &l)) == 0)
		*last_ms = l.last;
	return rc;
}

struct win_arg {
	const char	*id;
	int64_t		 now;
	const uint32_t	*cap;
	uint32_t	*count;
	int64_t		*oldest;
};

/* The stored buckets of each counted window: at most 60, 60 and 96 rows. */
static int
tx_window(struct store *s, void *arg)
{
	struct win_arg *w = arg;
	struct pg_args a;
	PGresult *r;
	uint64_t sum;
	int i, level, rc;

	pga_init(&a);
	pga_str(&a, w->id);
	for (i = 0; i < WIN__MAX; i++)
		pga_int(&a, w->cap[i] == 0 ? INT64_MAX : (w->now - use_window_ms[i]) /
		    use_bucket_ms[i] * use_bucket_ms[i]);
	if ((r = pg_exec(s, "SELECT level, sum(n), min(start_ms) FROM use_buckets "
	    "WHERE token_id = $1 AND n > 0 AND start_ms >= CASE level "
	    "WHEN 0 THEN $2::bigint WHEN 1 THEN $3::bigint ELSE $4::bigint END "
	    "GROUP BY level", &a, &rc)) == NULL)
		return rc;
	for (i = 0; i < PQntuples(r); i++) {
		level = (int)pg_int(r, i, 0);
		if (level < 0 || level >= WIN__MAX || w->cap[level] == 0)
			continue;
		sum = (uint64_t)pg_int(r, i, 1);
		w->count[level] = sum >= w->cap[level] ? w->cap[level] :
		    (uint32_t)sum;
		if (sum > 0)
			w->oldest[level] = pg_int(r, i, 2);
	}
	PQclear(r);
	return 0;
}

int
pg_use_window(struct store *s, const char *token_id, int64_t now,
    const uint32_t cap[WIN__MAX], uint32_t count[WIN__MAX],
    int64_t frees_at[WIN__MAX])
{
	struct win_arg w = { token_id, now, cap, count, frees_at };
	int rc;

	memset(count, 0, WIN__MAX * sizeof(*count));
	memset(frees_at, 0, WIN__MAX * sizeof(*frees_at));
	if (strlen(token_id) != UUID_LEN || (cap[0] | cap[1] | cap[2]) == 0)
		return STORE_OK;
	if ((rc = pg_read(s, tx_window, &w)) != 0)
		return rc;
	if (s->pend != NULL)
		pending_bucket_window(s->pend->b, s->pend->nb, token_id, now,
		    cap, count, frees_at);
	use_frees_from_oldest(cap, count, frees_at);
	return STORE_OK;
}

/* 1 if this process holds pending allowed uses of id. */
static int
pending_allowed(const struct store *s, const char *id)
{
	size_t i;

	for (i = 0; s->pend != NULL && i < s->pend->nb; i++)
		if (memcmp(s->pend->b[i].id, id, UUID_LEN) == 0)
			return 1;
	return 0;
}

struct admit_arg {
	const char		*id;
	const uint32_t		*cap;
	struct pending_use	 e;
	uint32_t		*count;
	int64_t			*oldest;
	int			 admitted;
};

static int
tx_admit(struct store *s, void *arg)
{
	struct admit_arg *x = arg;
	struct pg_args a;
	PGresult *r;
	int i, rc;

	pga_init(&a);
	pga_str(&a, x->id);
	for (i = 0; i < WIN__MAX; i++)
		pga_int(&a, x->cap[i]);
	pga_int(&a, s->pid);
	pga_int(&a, x->e.u.status);
	pga_int(&a, x->e.u.us);
	pga_bytes(&a, x->e.method, strlen(x->e.method));
	pga_bytes(&a, x->e.path, strlen(x->e.path));
	pga_bytes(&a, x->e.addr, strlen(x->e.addr));
	pga_bytes(&a, x->e.agent, strlen(x->e.agent));
	/* the uses' own commit does not wait for the disk either */
	if ((r = pg_exec(s, "SELECT admitted, c0, c1, c2, o0, o1, o2, "
	    "set_config('synchronous_commit', 'off', true) FROM "
	    "tc_use_admit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
	    &a, &rc)) == NULL)
		return rc;
	if (PQntuples(r) != 1) {
		PQclear(r);
		return STORE_IO;
	}
	x->admitted = pg_bool(r, 0, 0);
	for (i = 0; i < WIN__MAX; i++) {
		x->count[i] = (uint32_t)pg_int(r, 0, 1 + i);
		x->oldest[i] = pg_int(r, 0, 4 + i);
	}
	PQclear(r);
	return 0;
}

/*
 * One statement, so one round trip. A connection found dead is tried
 * once more on a new one: if the first had in fact counted the use, the
 * window counts it twice, which can refuse early but never admit more.
 */
int
pg_use_admit(struct store *s, const char *token_id,
    const uint32_t cap[WIN__MAX], const struct use *u, uint32_t count[WIN__MAX],
    int64_t frees_at[WIN__MAX], int *admitted)
{
	struct admit_arg x;
	int rc;

	*admitted = 0;
	memset(count, 0, WIN__MAX * sizeof(*count));
	memset(frees_at, 0, WIN__MAX * sizeof(*frees_at));
	if (strlen(token_id) != UUID_LEN)
		return STORE_INVALID;
	if (s->snap)
		return STORE_INVALID;
	if (pending_allowed(s, token_id))       /* count them first */
		pgu_flush(s);
	memset(&x, 0, sizeof(x));
	x.id = token_id;
	x.cap = cap;
	x.count = count;
	x.oldest = frees_at;
	pending_use_set(&x.e, token_id, u, u->at, &s->last_us);
	if ((rc = pg_read(s, tx_admit, &x)) != 0) {
		memset(count, 0, WIN__MAX * sizeof(*count));
		memset(frees_at, 0, WIN__MAX * sizeof(*frees_at));
		return rc;
	}
	*admitted = x.admitted;
	use_frees_from_oldest(cap, count, frees_at);
	return STORE_OK;
}

struct stats_arg {
	const char		*id;
	int64_t			 first, last;   /* days since the epoch */
	struct usage_stats	*st;
};

static int
stats_days(struct store *s, struct stats_arg *x)
{
	struct usage_stats *st = x->st;
	struct pg_args a;
	PGresult *r;
	int64_t d;
	int i, rc;

	pga_init(&a);
	pga_str(&a, x->id);
	pga_int(&a, x->first);
	pga_int(&a, x->last);
	if ((r = pg_exec(s, "SELECT day, total, allowed, blocked, sum_us FROM "
	    "use_daily WHERE token_id = $1 AND day BETWEEN $2 AND $3", &a,
	    &rc)) == NULL)
		return rc;
	for (i = 0; i < PQntuples(r); i++) {
		d = pg_int(r, i, 0) - x->first;
		if (d < 0 || (size_t)d >= st->ndays)
			continue;
		st->total += (uint64_t)pg_int(r, i, 1);
		st->allowed += (uint64_t)pg_int(r, i, 2);
		st->blocked += (uint64_t)pg_int(r, i, 3);
		st->sum_us += (uint64_t)pg_int(r, i, 4);
		st->days[d].allowed = (uint64_t)pg_int(r, i, 2);
		st->days[d].blocked = (uint64_t)pg_int(r, i, 3);
	}
	PQclear(r);
	return 0;
}

/* The most used paths of the days, most used first (ties: byte order). */
static int
stats_paths(struct store *s, struct stats_arg *x)
{
	struct usage_stats *st = x->st;
	struct pg_args a;
	PGresult *r;
	unsigned char *raw;
	size_t len;
	int i, rc;

	pga_init(&a);
	pga_str(&a, x->id);
	pga_int(&a, x->first);
	pga_int(&a, x->last);
	pga_int(&a, TOP_PATHS);
	if ((r = pg_exec(s, "SELECT path, sum(n) FROM use_daypath WHERE "
	    "token_id = $1 AND day BETWEEN $2 AND $3 GROUP BY path "
	    "ORDER BY 2 DESC, path LIMIT $4", &a, &rc)) == NULL)
		return rc;
	for (i = 0; i < PQntuples(r) && st->ntop < TOP_PATHS; i++) {
		raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, i, 0),
		    &len);
		if (raw == NULL)
			continue;
		if (len > PATH_KEY_MAX)
			len = PATH_KEY_MAX;
		memcpy(st->top[st->ntop].path, raw, len);
		st->top[st->ntop].path[len] = '\0';
		st->top[st->ntop++].n = (uint64_t)pg_int(r, i, 1);
		PQfreemem(raw);
	}
	PQclear(r);
	return 0;
}

static int
tx_stats(struct store *s, void *arg)
{
	struct stats_arg *x = arg;
	int rc;

	x->st->total = x->st->allowed = x->st->blocked = x->st->sum_us = 0;
	x->st->ntop = 0;
	if ((rc = stats_days(s, x)) != 0)
		return rc;
	return stats_paths(s, x);
}

int
pg_use_stats(struct store *s, const char *token_id, int64_t now,
    unsigned days, struct usage_stats *out)
{
	struct stats_arg x = { token_id, 0, 0, out };
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
	x.first = out->days[0].day / DAY_MS;
	x.last = now / DAY_MS;
	pgu_flush(s);                   /* this process's uses first */
	if ((rc = pg_read(s, tx_stats, &x)) != 0) {
		free(out->days);
		memset(out, 0, sizeof(*out));
	}
	return rc;
}

/* --- every use, for tokencat migrate --- */

#define USE_FETCH	1000            /* rows per round trip, as in the FETCH */

struct use_walk {
	use_each_fn	 fn;
	void		*arg;
};

/* A bytea field as a string (malloc'd), which PQunescapeBytea does not end. */
static char *
bytea_str(const PGresult *r, int row, int col)
{
	unsigned char *raw;
	size_t len;
	char *s;

	if ((raw = PQunescapeBytea((const unsigned char *)PQgetvalue(r, row,
	    col), &len)) == NULL)
		return NULL;
	if ((s = malloc(len + 1)) != NULL) {
		memcpy(s, raw, len);
		s[len] = '\0';
	}
	PQfreemem(raw);
	return s;
}

/* The uses of one fetched page to w->fn. */
static int
use_rows(const PGresult *r, struct use_walk *w)
{
	char *f[4];
	struct use u;
	int i, j, rc = 0;

	for (i = 0; i < PQntuples(r) && rc == 0; i++) {
		for (j = 0; j < 4; j++)
			f[j] = bytea_str(r, i, 5 + j);
		u = (struct use){ pg_int(r, i, 1) / 1000, f[0], f[1], f[2], f[3],
		    (int)pg_int(r, i, 3), pg_bool(r, i, 2),
		    (uint32_t)pg_int(r, i, 4) };
		rc = f[0] && f[1] && f[2] && f[3] ?
		    w->fn(PQgetvalue(r, i, 0), &u, w->arg) : STORE_NOMEM;
		for (j = 0; j < 4; j++)
			free(f[j]);
	}
	return rc;
}

/* Inside a transaction: a cursor over the uses, read USE_FETCH at a time. */
static int
use_cursor(struct store *s, struct use_walk *w)
{
	PGresult *r;
	int n, rc;

	if ((rc = pg_do(s, "DECLARE tc_uses NO SCROLL CURSOR FOR SELECT "
	    "token_id, at_us, blocked, status, us, method, path, addr, agent "
	    "FROM uses ORDER BY token_id, at_us, pid", NULL)) != 0)
		return rc;
	do {
		if ((r = pg_exec(s, "FETCH 1000 FROM tc_uses",
		    NULL, &rc)) == NULL)
			return rc;
		n = PQntuples(r);
		rc = use_rows(r, w);
		PQclear(r);
	} while (rc == 0 && n == USE_FETCH);
	return rc != 0 ? rc : pg_do(s, "CLOSE tc_uses", NULL);
}

/* In the snapshot's transaction if one is open, else in one of its own. */
int
pg_use_each(struct store *s, use_each_fn fn, void *arg)
{
	struct use_walk w = { fn, arg };
	int rc, own = !s->snap;

	if ((rc = pg_ready(s)) != 0)
		return rc;
	if (own && (rc = pg_do(s, "BEGIN ISOLATION LEVEL REPEATABLE READ "
	    "READ ONLY", NULL)) != 0)
		return rc;
	rc = use_cursor(s, &w);
	if (own)        /* else store_snapshot_end ends it, cursor and all */
		pg_do(s, rc == 0 ? "COMMIT" : "ROLLBACK", NULL);
	return rc;
}
