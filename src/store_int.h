/*
 * store_int.h - internals shared by the store*.c files only.
 * The one place outside those files where lmdb.h may appear.
 */
#ifndef TC_STORE_INT_H
#define TC_STORE_INT_H

#include <lmdb.h>
#include "store.h"

enum dbi_id {
	DB_META, DB_USERS, DB_USER_EMAIL, DB_TEAMS, DB_TEAM_NAME, DB_MEMBERS,
	DB_USER_TEAMS, DB_TOKENS, DB_TOK_JTI, DB_TOK_NAME, DB_TOK_IDX,
	DB_TOK_CNT, DB_TOK_EXP, DB_JTI_REV, DB_LOGIN, DB_AUDIT,
	DB_INVITES, DB_INVITE_EMAIL, DB__MAX
};
/* The first named database added after the first release: a read-only
 * open of an older database goes on without it and those after it. */
#define DB_FIRST_ADDED	DB_INVITES

struct pending;
struct wcache;

enum udbi_id { UDB_USES, UDB_BUCKETS, UDB_DAILY, UDB_DAYPATH, UDB_LAST, UDB__MAX };

struct store {
	MDB_env		*env;
	MDB_dbi		 dbi[DB__MAX];
	char		*dir;
	MDB_env		*uenv;          /* usage: <dir>/usage, no sync per commit */
	MDB_dbi		 udbi[UDB__MAX];
	/* one read transaction per environment, reset between uses and
	 * renewed: keeps its reader slot, so no lock is taken per read */
	MDB_txn		*rtxn[2];
	int		 rbusy[2];
	int		 snap;          /* rtxn[0] pinned by store_snapshot */
	struct pending	*pend;          /* uses not yet written (store_usage.c) */
	struct pending	*one;           /* store_use_admit's batch of one */
	uint32_t	 upid;          /* pid in use keys, set at usage_open */
	int		 rdonly;        /* opened read-only: writes get STORE_RDONLY */
	int		 no_invites;    /* read-only and older: no invitation databases */
	struct wcache	*wc;            /* closed parts of windows (store_usage.c) */
	uint64_t	 wgen;          /* uses written by this process, in batches */
};

/*
 * Open the usage environment of s (store_usage.c), its map starting at the
 * smaller of map_mb and USAGE_MAP_MB MiB. Returns a STORE_* code.
 */
#define USAGE_MAP_MB	64
int	usage_open(struct store *s, size_t map_mb);
void	usage_close(struct store *s);
/* last_used of each of the n tokens, in one read (0 when unknown). */
void	uses_fill_last(struct store *s, struct token *v, size_t n);

/* A unit of work inside one transaction; returns 0, an MDB_* or a STORE_* code. */
typedef int (*txn_fn)(struct store *, MDB_txn *, void *arg);

/* Abort the cached read transactions (none may be in use). */
void	store_read_cache_drop(struct store *);
/* The same on another environment of s (the usage one). */
int	store_read_env(struct store *, MDB_env *, txn_fn fn, void *arg);
int	store_write_env(struct store *, MDB_env *, txn_fn fn, void *arg);
/* Run fn in a read-only transaction. Returns a STORE_* code. */
int	store_read(struct store *, txn_fn fn, void *arg);
/* Run fn in a write transaction and commit durably; grows the map and
 * retries on MDB_MAP_FULL. Returns a STORE_* code, or fn's own positive code. */
int	store_write(struct store *, txn_fn fn, void *arg);

/*
 * store_write, and when fn succeeds the audit event ev (NULL: none) in the
 * same transaction: one durable commit for a change and its event.
 */
int	store_write_audited(struct store *, txn_fn fn, void *arg,
	    const struct audit_event *ev);
/* Write the audit event e (at 0: now) inside txn (store_audit.c). */
int	audit_put(struct store *, MDB_txn *txn, const struct audit_event *e);

/*
 * Memberships inside a transaction (store_team.c), for the invitations:
 * the role of user in team (MDB_NOTFOUND if none; joined may be NULL),
 * and the write of both halves of a membership.
 */
int	member_role_get(struct store *, MDB_txn *, const char *team, const char *user,
	    int *role, int64_t *joined);
int	member_put(struct store *, MDB_txn *, const char *team, const char *user,
	    int role, int64_t joined);

/* Get key from dbi as a NUL-terminated, parsed JSON object (caller puts). */
int	db_get_json(struct store *, MDB_txn *, int db, const void *k, size_t kl,
	    struct json_object **out);
/* Put obj serialized under key. flags as mdb_put. */
int	db_put_json(struct store *, MDB_txn *, int db, const void *k, size_t kl,
	    struct json_object *obj, unsigned flags);
int	db_put(struct store *, MDB_txn *, int db, const void *k, size_t kl,
	    const void *v, size_t vl, unsigned flags);
int	db_del(struct store *, MDB_txn *, int db, const void *k, size_t kl);
/* Copy the string at key into out (outsz bytes). MDB_NOTFOUND if absent. */
int	db_get_str(struct store *, MDB_txn *, int db, const void *k, size_t kl,
	    char *out, size_t outsz);

/* JSON field readers that tolerate absent fields. */
const char *jstr(struct json_object *o, const char *key);
int64_t	 jint(struct json_object *o, const char *key);
void	 jcpy(struct json_object *o, const char *key, char *out, size_t outsz);

#endif
