/*
 * store_pg_int.h - internals shared by the store_pg*.c files only.
 */
#ifndef TC_STORE_PG_INT_H
#define TC_STORE_PG_INT_H

#include <libpq-fe.h>
#include "store_pg.h"

struct pg_pending;
struct pg_cache;

/* The PostgreSQL backend's store: starts with the ops (store_ops.h). */
struct store {
	const struct store_ops	*ops;
	PGconn			*conn;
	int			 snap;          /* inside store_snapshot's transaction */
	int			 bulk;          /* STORE_BULK: commits wait for no flush */
	int32_t			 pid;           /* in the uses written (store_open after fork) */
	struct pg_pending	*pend;          /* uses not yet written (store_pg_usage.c) */
	int64_t			 last_us;       /* at_us of this process's last use */
	unsigned		 gen;           /* connection: 1, +1 at each reset */
	unsigned		 auth_gen;      /* gen that prepared "token_auth" */
	struct pg_cache		*cache;         /* checks' rows, change feed (store_pg_cache.c) */
	char			 changes_name[48];      /* the host's change counter */
	uint64_t		*changes;       /* mapped, or NULL (store_pg_cache.c) */
	int			 serve;         /* STORE_SERVE */
};

/* A query's parameters: text values, or bytes when len >= 0. */
struct pg_args {
	int		 n;
	const char	*v[24];
	int		 len[24];
	int		 fmt[24];
	char		 buf[24][24];   /* numbers written by pga_int */
};

void	pga_init(struct pg_args *);
void	pga_str(struct pg_args *, const char *);        /* NULL = SQL NULL */
void	pga_int(struct pg_args *, int64_t);
void	pga_bool(struct pg_args *, int);
void	pga_bytes(struct pg_args *, const char *, size_t);

/*
 * Run sql with args. Returns the result (PQclear it) and *rc = 0, or NULL
 * and *rc a STORE_* code: a unique violation is STORE_EXISTS, a foreign
 * key one STORE_NOTFOUND, bad data STORE_INVALID, a lost server STORE_IO.
 */
PGresult *pg_exec(struct store *, const char *sql, const struct pg_args *, int *rc);
/*
 * pg_exec of sql prepared once per connection as name: *gen is the
 * connection (s->gen) that prepared it, 0 for none yet. For the hot
 * statements, which then cost no parsing or planning.
 */
PGresult *pg_exec_prepared(struct store *, const char *name, const char *sql,
	    const struct pg_args *, unsigned *gen, int *rc);
/* pg_exec for a statement whose rows do not matter. */
int	pg_do(struct store *, const char *sql, const struct pg_args *);

/*
 * A unit of work; returns 0, a STORE_* code, or its own code, which the
 * transaction functions return unchanged after rolling back.
 */
typedef int (*pg_fn)(struct store *, void *arg);
/* fn in a read (a retry on a fresh connection if the old one had died). */
int	pg_read(struct store *, pg_fn, void *arg);
/* fn in a transaction with durable commit, and ev (NULL: none) with it. */
int	pg_write(struct store *, pg_fn, void *arg, const struct audit_event *ev);
/* n statements in one round trip, as one transaction (BEGIN ... COMMIT). */
int	pg_pipeline(struct store *, const char *const *sql,
	    const struct pg_args *args, size_t n);
/* Insert the audit event (at 0: now) inside the current transaction. */
int	pg_audit_put(struct store *, const struct audit_event *);
/* Reconnect once if the connection is broken. 0 or STORE_IO. */
int	pg_ready(struct store *);

/* Fields of a row. */
int64_t	pg_int(const PGresult *, int row, int col);
int	pg_bool(const PGresult *, int row, int col);
void	pg_cpy(const PGresult *, int row, int col, char *out, size_t outsz);
char	*pg_dup(const PGresult *, int row, int col);     /* NULL for NULL */

/* store_pg_user.c: a user from the 7 columns of USER_COLS at col. */
#define USER_COLS "id, email, full_name, pwhash, is_admin, is_active, created_at"
#define USER_NCOLS 7
void	pg_user_row(const PGresult *, int row, int col, struct user *);

/*
 * store_pg_cache.c: the rows of pg_token_auth kept by jti while the change
 * feed says nothing changed, in stores opened with STORE_SERVE only.
 * pgc_init connects the feed (a connection of its own); a feed that cannot
 * connect now is tried again later. pgc_usable polls the feed
 * without waiting and says whether the cache may be used now (0: read
 * through, and do not store). pgc_get: the row of jti (its jti in column
 * jti_col), or NULL; pgc_put takes r over.
 */
int	pgc_init(struct store *, const char *conninfo);
/*
 * The host's change counter: a shared memory object named after conninfo
 * that every store on this host opened on the same conninfo maps. pg_write
 * adds one after each commit, before its caller answers; pgc_usable drops
 * the cache when it moved. pgc_changes_name sets s->changes_name;
 * pgc_changed adds the one (mapping the counter first when a worker has
 * created it since: CLI stores only).
 */
void	pgc_changes_name(struct store *, const char *conninfo);
void	pgc_changed(struct store *);
void	pgc_close(struct store *);
int	pgc_usable(struct store *);
PGresult *pgc_get(struct store *, const char *jti, int jti_col);
void	pgc_put(struct store *, const char *jti, PGresult *r);

/* store_pg_usage.c */
void	pgu_close(struct store *);
int	pgu_flush(struct store *);

#endif
