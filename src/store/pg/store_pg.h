/*
 * store_pg.h - the PostgreSQL store: the functions of store.h as the
 * table store_pg_ops, and what `tokencat init` needs (migrations).
 * Nobody but store_pg*.c includes libpq-fe.h.
 *
 * Selected by a postgresql:// or postgres:// database (store_open in
 * store_dispatch.c).
 */
#ifndef TC_STORE_PG_H
#define TC_STORE_PG_H

#include <stddef.h>
#include "store_ops.h"

extern const struct store_ops store_pg_ops;

/*
 * Connect with conninfo (a postgresql:// URI or key=value pairs). With
 * STORE_CREATE the pending migrations are applied first; without, a
 * database whose schema is older than this program's is STORE_NOTFOUND
 * (logged, naming `tokencat init`). A server that cannot be reached is
 * STORE_IO. Call after any fork. *sp owned by the caller (ops->close).
 */
int	store_pg_open(struct store **sp, const char *conninfo, int flags);

/*
 * Apply the migrations newer than the database's, in order, each in its
 * own transaction under an advisory lock (concurrent inits wait, then
 * find nothing to do). *from and *to (may be NULL) get the versions
 * before and after. Returns 0 or a STORE_* error.
 */
int	store_pg_migrate(struct store *, int *from, int *to);
/*
 * 0 if the database has every migration of this program; STORE_NOTFOUND
 * (with *have set) if it is older: run `tokencat init`; STORE_INVALID if
 * it is newer than this program.
 */
int	store_pg_schema_check(struct store *, int *have);
/* The schema version this program brings. */
int	store_pg_schema_latest(void);

/*
 * The meta table: settings of the database itself, such as the signing
 * key's fingerprint (an HMAC of a fixed label with the key), so that hosts
 * with another key can be told apart. get: STORE_NOTFOUND when absent;
 * put: durable, replaces.
 */
int	store_pg_meta_get(struct store *, const char *key, char *out,
	    size_t outsz);
int	store_pg_meta_put(struct store *, const char *key, const char *value);

/* The embedded src/store/pg/sql/NNN_*.sql, in order (generated store_pg_sql.c). */
struct pg_migration {
	int		 version;
	const char	*name;
	const char	*sql;
};
extern const struct pg_migration pg_migrations[];
extern const size_t pg_nmigrations;

#endif
