/*
 * store_pg.c - the PostgreSQL store's machinery: the connection and its
 * lazy reconnection, queries with parameters, transactions, migrations,
 * open, close and snapshots. The records are in store_pg_user.c (users,
 * sessions, logins, audit), store_pg_team.c, store_pg_token.c and
 * store_pg_usage.c; the table of functions in store_pg_ops.c.
 *
 * Every value travels as a parameter of PQexecParams, never inside the
 * SQL text. Each function is one statement where it can be, so that a
 * read costs one round trip and sees one committed state; writes that
 * need several statements run in one transaction with a durable commit,
 * their audit event in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store_pg_int.h"
#include "store_pg_fn.h"

/* --- parameters --- */

void
pga_init(struct pg_args *a)
{
	memset(a, 0, sizeof(*a));
}

/* The next free parameter of a; more than the array holds is a bug here. */
static int
pga_next(struct pg_args *a)
{
	if (a->n >= (int)(sizeof(a->v) / sizeof(a->v[0]))) {
		log_error("store: too many query parameters");
		abort();
	}
	return a->n;
}

void
pga_str(struct pg_args *a, const char *v)
{
	pga_next(a);
	a->v[a->n] = v;
	a->len[a->n] = 0;
	a->fmt[a->n++] = 0;
}

void
pga_int(struct pg_args *a, int64_t v)
{
	snprintf(a->buf[pga_next(a)], sizeof(a->buf[0]), "%lld", (long long)v);
	pga_str(a, a->buf[a->n]);
}

void
pga_bool(struct pg_args *a, int v)
{
	pga_str(a, v ? "t" : "f");
}

void
pga_bytes(struct pg_args *a, const char *v, size_t len)
{
	pga_next(a);
	a->v[a->n] = v;
	a->len[a->n] = (int)len;
	a->fmt[a->n++] = 1;
}

/* --- results --- */

int64_t
pg_int(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 :
	    strtoll(PQgetvalue(r, row, col), NULL, 10);
}

int
pg_bool(const PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetvalue(r, row, col)[0] == 't';
}

void
pg_cpy(const PGresult *r, int row, int col, char *out, size_t outsz)
{
	snprintf(out, outsz, "%s", PQgetisnull(r, row, col) ? "" :
	    PQgetvalue(r, row, col));
}

char *
pg_dup(const PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : strdup(PQgetvalue(r, row, col));
}

/* --- errors and the connection --- */

/* Translate a failed result into a STORE_* code (logging the unusual). */
static int
map_err(struct store *s, const PGresult *r)
{
	const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

	if (PQstatus(s->conn) != CONNECTION_OK || state == NULL ||
	    strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0) {
		log_error("store: PostgreSQL unavailable: %s",
		    PQerrorMessage(s->conn));
		return STORE_IO;
	}
	if (strcmp(state, "23505") == 0)
		return STORE_EXISTS;
	if (strcmp(state, "23503") == 0)
		return STORE_NOTFOUND;
	if (strcmp(state, "53100") == 0)
		return STORE_FULL;
	if (strcmp(state, "53200") == 0)
		return STORE_NOMEM;
	if (strcmp(state, "25006") == 0)
		return STORE_RDONLY;
	if (strncmp(state, "22", 2) == 0 || strncmp(state, "23", 2) == 0) {
		log_warn("store: refused by PostgreSQL (%s): %s", state,
		    PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
		return STORE_INVALID;
	}
	log_error("store: PostgreSQL error %s: %s", state,
	    PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY));
	return STORE_IO;
}

/* The result of an exec: kept, or NULL with *rc (see pg_exec). */
static PGresult *
exec_result(struct store *s, PGresult *r, int *rc)
{
	ExecStatusType st = PQresultStatus(r);

	if (r != NULL && (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)) {
		*rc = 0;
		return r;
	}
	*rc = map_err(s, r);
	PQclear(r);
	return NULL;
}

PGresult *
pg_exec(struct store *s, const char *sql, const struct pg_args *a, int *rc)
{
	return exec_result(s, PQexecParams(s->conn, sql, a != NULL ? a->n : 0,
	    NULL, a != NULL ? a->v : NULL, a != NULL ? a->len : NULL,
	    a != NULL ? a->fmt : NULL, 0), rc);
}

PGresult *
pg_exec_prepared(struct store *s, const char *name, const char *sql,
    const struct pg_args *a, unsigned *gen, int *rc)
{
	PGresult *r;

	if (*gen != s->gen) {
		r = exec_result(s, PQprepare(s->conn, name, sql, a->n, NULL), rc);
		if (r == NULL)
			return NULL;
		PQclear(r);
		*gen = s->gen;
	}
	return exec_result(s, PQexecPrepared(s->conn, name, a->n, a->v,
	    a->len, a->fmt, 0), rc);
}

int
pg_do(struct store *s, const char *sql, const struct pg_args *a)
{
	int rc;

	PQclear(pg_exec(s, sql, a, &rc));
	return rc;
}

int
pg_ready(struct store *s)
{
	if (PQstatus(s->conn) == CONNECTION_OK)
		return 0;
	if (s->snap)            /* the snapshot died with its connection */
		return STORE_IO;
	PQreset(s->conn);
	s->gen++;                       /* a new session: nothing prepared */
	if (PQstatus(s->conn) == CONNECTION_OK) {
		log_info("store: reconnected to PostgreSQL");
		return 0;
	}
	log_error("store: PostgreSQL unavailable: %s", PQerrorMessage(s->conn));
	return STORE_IO;
}

/* The connection broke during a call that may be tried again. */
static int
lost(struct store *s, int rc)
{
	return rc == STORE_IO && !s->snap && PQstatus(s->conn) != CONNECTION_OK;
}

int
pg_read(struct store *s, pg_fn fn, void *arg)
{
	int rc;

	if ((rc = pg_ready(s)) != 0)
		return rc;
	if (lost(s, rc = fn(s, arg)) && pg_ready(s) == 0)
		rc = fn(s, arg);        /* a read changes nothing: once more */
	return rc;
}

/* BEGIN; on a connection found dead, reconnect and begin once more. */
static int
begin(struct store *s, const char *sql)
{
	int rc;

	if ((rc = pg_ready(s)) != 0)
		return rc;
	if (lost(s, rc = pg_do(s, sql, NULL)) && pg_ready(s) == 0)
		rc = pg_do(s, sql, NULL);
	return rc;
}

static void
rollback(struct store *s)
{
	if (PQstatus(s->conn) == CONNECTION_OK &&
	    PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		pg_do(s, "ROLLBACK", NULL);
}

int
pg_write(struct store *s, pg_fn fn, void *arg, const struct audit_event *ev)
{
	int rc;

	if (s->snap) {
		log_error("store: a write inside a read snapshot");
		return STORE_INVALID;
	}
	if ((rc = begin(s, "BEGIN")) != 0)
		return rc;
	if ((rc = fn(s, arg)) == 0 && ev != NULL)
		rc = pg_audit_put(s, ev);
	if (rc == 0) {
		rc = pg_do(s, "COMMIT", NULL);
		pgc_changed(s);         /* committed, or perhaps: read again */
	}
	if (rc != 0)
		rollback(s);
	return rc;
}

/* The connection is of no use any more: start again on the next call. */
static int
broken(struct store *s, const char *what)
{
	log_error("store: PostgreSQL %s: %s", what, PQerrorMessage(s->conn));
	PQreset(s->conn);               /* leaves pipeline mode too */
	s->gen++;
	return STORE_IO;
}

/*
 * One try of pg_pipeline; *first says the connection was found broken at
 * the first statement (the BEGIN): the server ran none of them.
 */
static int
pipeline_once(struct store *s, const char *const *sql,
    const struct pg_args *args, size_t n, int *first)
{
	PGresult *r;
	ExecStatusType st;
	size_t i;
	int rc = 0;

	*first = 0;
	if (PQenterPipelineMode(s->conn) != 1)
		return broken(s, "pipeline");
	for (i = 0; i < n; i++)
		if (PQsendQueryParams(s->conn, sql[i], args[i].n, NULL, args[i].v,
		    args[i].len, args[i].fmt, 0) != 1)
			return broken(s, "send");
	if (PQpipelineSync(s->conn) != 1)
		return broken(s, "send");
	for (i = 0; i < n; i++) {
		if ((r = PQgetResult(s->conn)) == NULL) {
			*first = i == 0;
			return broken(s, "pipeline");
		}
		st = PQresultStatus(r);
		if (rc == 0 && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
		    st != PGRES_PIPELINE_ABORTED)
			rc = map_err(s, r);
		PQclear(r);
		if (i == 0 && rc == STORE_IO)   /* the session ended before BEGIN */
			*first = 1;
		if (PQstatus(s->conn) != CONNECTION_OK)
			return broken(s, "connection");
		while ((r = PQgetResult(s->conn)) != NULL)     /* its end */
			PQclear(r);
	}
	r = PQgetResult(s->conn);
	st = PQresultStatus(r);
	PQclear(r);
	if (st != PGRES_PIPELINE_SYNC || PQexitPipelineMode(s->conn) != 1)
		return broken(s, "pipeline");
	if (rc != 0)
		rollback(s);
	return rc;
}

/*
 * The n statements sql[i] with args[i] in one round trip (libpq's
 * pipeline mode), meant as one transaction (BEGIN ... COMMIT): after the
 * first failure the server skips the rest, and the transaction is rolled
 * back. A connection that had died before the first statement (a server
 * restarted meanwhile) is renewed and the batch sent once more. Returns
 * 0, or the STORE_* code of the first failure.
 */
int
pg_pipeline(struct store *s, const char *const *sql, const struct pg_args *args,
    size_t n)
{
	int rc, first;

	if (s->snap)
		return STORE_INVALID;
	if ((rc = pg_ready(s)) != 0)
		return rc;
	if ((rc = pipeline_once(s, sql, args, n, &first)) == STORE_IO && first &&
	    pg_ready(s) == 0)
		rc = pipeline_once(s, sql, args, n, &first);
	return rc;
}

/* Server notices (e.g. "already exists, skipping") are not the log's. */
static void
quiet(void *arg, const char *msg)
{
	(void)arg;
	log_debug("store: PostgreSQL: %s", msg);
}

/* --- migrations --- */

int
store_pg_schema_latest(void)
{
	return pg_nmigrations > 0 ? pg_migrations[pg_nmigrations - 1].version : 0;
}

/* The database's schema version (0: none), read inside the current transaction. */
static int
schema_version(struct store *s, int *have)
{
	PGresult *r;
	int rc;

	*have = 0;
	if ((r = pg_exec(s, "SELECT to_regclass('schema_version') IS NOT NULL",
	    NULL, &rc)) == NULL)
		return rc;
	if (!pg_bool(r, 0, 0)) {
		PQclear(r);
		return 0;
	}
	PQclear(r);
	if ((r = pg_exec(s, "SELECT coalesce(max(version), 0) FROM schema_version",
	    NULL, &rc)) == NULL)
		return rc;
	*have = (int)pg_int(r, 0, 0);
	PQclear(r);
	return 0;
}

/* Apply migration m unless the database has it: one transaction. */
static int
migrate_one(struct store *s, const struct pg_migration *m, int *have)
{
	struct pg_args a;
	PGresult *r;
	int rc;

	if ((rc = begin(s, "BEGIN")) != 0)
		return rc;
	/* concurrent inits take turns; the second finds nothing to do */
	if ((rc = pg_do(s, "SELECT pg_advisory_xact_lock(29795, 0)", NULL)) != 0 ||
	    (rc = pg_do(s, "CREATE TABLE IF NOT EXISTS schema_version ("
	    "version integer PRIMARY KEY, name text NOT NULL, "
	    "applied_at bigint NOT NULL)", NULL)) != 0 ||
	    (rc = schema_version(s, have)) != 0)
		goto out;
	if (m->version <= *have)
		goto out;
	r = PQexec(s->conn, m->sql);    /* several statements, no parameters */
	if (PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_TUPLES_OK) {
		log_error("store: migration %s failed", m->name);
		rc = map_err(s, r);
		PQclear(r);
		goto out;
	}
	PQclear(r);
	pga_init(&a);
	pga_int(&a, m->version);
	pga_str(&a, m->name);
	pga_int(&a, util_now_ms());
	if ((rc = pg_do(s, "INSERT INTO schema_version VALUES ($1, $2, $3)",
	    &a)) == 0)
		*have = m->version;
out:
	if (rc == 0)
		rc = pg_do(s, "COMMIT", NULL);
	if (rc != 0)
		rollback(s);
	return rc;
}

int
store_pg_migrate(struct store *s, int *from, int *to)
{
	size_t i;
	int rc = 0, have = 0;

	if (s->snap)
		return STORE_INVALID;
	if ((rc = begin(s, "BEGIN")) != 0)
		return rc;
	rc = schema_version(s, &have);
	rollback(s);
	if (rc != 0)
		return rc;
	if (from != NULL)
		*from = have;
	for (i = 0; i < pg_nmigrations && rc == 0; i++)
		if ((rc = migrate_one(s, &pg_migrations[i], &have)) == 0 &&
		    have == pg_migrations[i].version)
			log_info("store: schema at version %d (%s)", have,
			    pg_migrations[i].name);
	if (to != NULL)
		*to = have;
	return rc;
}

int
store_pg_schema_check(struct store *s, int *have)
{
	int rc, v = 0;

	if ((rc = pg_ready(s)) == 0)
		rc = schema_version(s, &v);
	if (have != NULL)
		*have = v;
	if (rc != 0)
		return rc;
	if (v < store_pg_schema_latest()) {
		log_error("store: the database schema is at version %d, this "
		    "program needs %d: run `tokencat init`", v,
		    store_pg_schema_latest());
		return STORE_NOTFOUND;
	}
	if (v > store_pg_schema_latest()) {
		log_error("store: the database schema (version %d) is newer "
		    "than this program (%d)", v, store_pg_schema_latest());
		return STORE_INVALID;
	}
	return 0;
}

/* --- meta --- */

struct meta_arg {
	const char	*key, *value;
	char		*out;
	size_t		 outsz;
};

static int
tx_meta_get(struct store *s, void *arg)
{
	struct meta_arg *m = arg;
	struct pg_args a;
	PGresult *r;
	int rc;

	pga_init(&a);
	pga_str(&a, m->key);
	if ((r = pg_exec(s, "SELECT value FROM meta WHERE key = $1", &a,
	    &rc)) == NULL)
		return rc;
	if (PQntuples(r) == 1)
		pg_cpy(r, 0, 0, m->out, m->outsz);
	else
		rc = STORE_NOTFOUND;
	PQclear(r);
	return rc;
}

int
store_pg_meta_get(struct store *s, const char *key, char *out, size_t outsz)
{
	struct meta_arg m = { key, NULL, out, outsz };

	if (outsz > 0)
		out[0] = '\0';
	return pg_read(s, tx_meta_get, &m);
}

static int
tx_meta_put(struct store *s, void *arg)
{
	struct meta_arg *m = arg;
	struct pg_args a;

	pga_init(&a);
	pga_str(&a, m->key);
	pga_str(&a, m->value);
	return pg_do(s, "INSERT INTO meta VALUES ($1, $2) ON CONFLICT (key) "
	    "DO UPDATE SET value = EXCLUDED.value", &a);
}

int
store_pg_meta_put(struct store *s, const char *key, const char *value)
{
	struct meta_arg m = { key, value, NULL, 0 };

	return pg_write(s, tx_meta_put, &m, NULL);
}

/* --- open, close, snapshots --- */

int
store_pg_open(struct store **sp, const char *conninfo, int flags)
{
	/*
	 * Defaults that conninfo may override (it is expanded after them): a
	 * worker waits 5 s at most for a server that does not answer, then
	 * answers 503; the name shows in pg_stat_activity.
	 */
	const char *const keys[] = { "connect_timeout", "application_name",
	    "dbname", NULL };
	const char *const vals[] = { "5", "tokencat", conninfo, NULL };
	struct store *s;
	int rc;

	*sp = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return STORE_NOMEM;
	s->ops = &store_pg_ops;
	s->pid = (int32_t)getpid();     /* opened after fork (store.h) */
	s->gen = 1;
	s->serve = (flags & STORE_SERVE) != 0;
	pgc_changes_name(s, conninfo);
	s->conn = PQconnectdbParams(keys, vals, 1);
	if (s->conn == NULL) {
		free(s);
		return STORE_NOMEM;
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		log_error("store: cannot connect to PostgreSQL: %s",
		    PQerrorMessage(s->conn));
		pg_close(s);
		return STORE_IO;
	}
	PQsetNoticeProcessor(s->conn, quiet, NULL);
	if ((flags & STORE_CREATE) && (rc = store_pg_migrate(s, NULL, NULL)) != 0) {
		pg_close(s);
		return rc;
	}
	if ((rc = store_pg_schema_check(s, NULL)) != 0 ||
	    ((flags & STORE_BULK) && (rc = pg_do(s, "SET synchronous_commit "
	    "TO off", NULL)) != 0)) {
		pg_close(s);
		return rc;
	}
	if ((flags & STORE_SERVE) && (rc = pgc_init(s, conninfo)) != 0) {
		pg_close(s);
		return rc;
	}
	s->bulk = (flags & STORE_BULK) != 0;
	*sp = s;
	return STORE_OK;
}

int
pg_open(struct store **sp, const char *where, size_t map_mb, int flags)
{
	(void)map_mb;                   /* no map to size */
	return store_pg_open(sp, where, flags);
}

/*
 * The end of a bulk load (STORE_BULK): one durable commit that writes,
 * whose flush of the log covers every commit before it. A commit that
 * wrote nothing would not wait for the disk: it rewrites the rows of
 * schema_version, which a migrated database always has, as they are.
 */
static void
bulk_flush(struct store *s)
{
	if (pg_do(s, "SET synchronous_commit TO on", NULL) != 0 ||
	    pg_do(s, "UPDATE schema_version SET version = version", NULL) != 0)
		log_error("store: the end of a bulk load may not be on disk: %s",
		    PQerrorMessage(s->conn));
}

void
pg_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->snap)
		pg_snapshot_end(s);
	if (PQstatus(s->conn) == CONNECTION_OK)
		pgu_flush(s);
	if (s->bulk && PQstatus(s->conn) == CONNECTION_OK)
		bulk_flush(s);
	pgu_close(s);
	pgc_close(s);
	PQfinish(s->conn);
	free(s);
}

/*
 * One REPEATABLE READ, READ ONLY transaction until pg_snapshot_end; its
 * snapshot is taken by a first statement at once, not at the first read.
 */
int
pg_snapshot(struct store *s)
{
	int rc;

	if (s->snap)
		return STORE_OK;
	if ((rc = begin(s, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")) != 0)
		return rc;
	if ((rc = pg_do(s, "SELECT 1", NULL)) != 0) {
		rollback(s);
		return rc;
	}
	s->snap = 1;
	return STORE_OK;
}

void
pg_snapshot_end(struct store *s)
{
	if (!s->snap)
		return;
	s->snap = 0;
	rollback(s);
}

/* A copy of the catalog is the server's business (pg_dump), not ours. */
int
pg_backup(struct store *s, const char *dest)
{
	(void)s;
	log_error("store: backup to %s: a PostgreSQL store is backed up with "
	    "pg_dump", dest);
	return STORE_INVALID;
}
