/*
 * store_int.h - internals shared by the store*.c files only.
 * The one place outside those files where lmdb.h may appear.
 */
#ifndef TC_STORE_INT_H
#define TC_STORE_INT_H

#include <lmdb.h>
#include <pthread.h>
#include "store_ops.h"

enum dbi_id {
	DB_META, DB_USERS, DB_USER_EMAIL, DB_TEAMS, DB_TEAM_NAME, DB_MEMBERS,
	DB_USER_TEAMS, DB_TOKENS, DB_JTI_REV, DB_LOGIN, DB_AUDIT,
	DB_INVITES, DB_INVITE_EMAIL, DB__MAX
};
/* The first named database added after the first release: a read-only
 * open of an older database goes on without it and those after it. */
#define DB_FIRST_ADDED	DB_INVITES

struct pending;
struct wcache;
struct admit;
struct group;

enum udbi_id { UDB_USES, UDB_BUCKETS, UDB_DAILY, UDB_DAYPATH, UDB_LAST, UDB__MAX };

/* The token indexes (store_token.c), in an environment of their own
 * (store_index.c); IDB_STATE is that environment's own record. */
enum idbi_id { IDB_JTI, IDB_NAME, IDB_IDX, IDB_CNT, IDB_EXP, IDB_STATE, IDB__MAX };

/* The cached read transactions of a store: one an environment. */
enum rslot { RS_MAIN, RS_USAGE, RS_INDEX, RS__MAX };

/* The LMDB backend's store: starts with the ops (store_ops.h). */
struct store {
	const struct store_ops	*ops;
	MDB_env		*env;
	MDB_dbi		 dbi[DB__MAX];
	char		*dir;
	MDB_env		*uenv;          /* usage: <dir>/usage, no sync per commit */
	MDB_dbi		 udbi[UDB__MAX];
	/* the token indexes: <dir>/index/<boot id>, no sync per commit
	 * (store_index.c); env itself for an older database opened
	 * read-only, whose indexes are in it */
	MDB_env		*ienv;
	MDB_dbi		 idbi[IDB__MAX];
	MDB_txn		*itxn;          /* the index transaction at work */
	int		 ikind, icached; /* how itxn is held (store_index.c) */
	int		 ifull;         /* its map was found full */
	off_t		 ireserved;     /* its file's room kept (-1: cannot) */
	/* one read transaction per environment, reset between uses and
	 * renewed: keeps its reader slot, so no lock is taken per read */
	MDB_txn		*rtxn[RS__MAX];
	int		 rbusy[RS__MAX];
	int		 snap;          /* rtxn[RS_MAIN] and [RS_INDEX] pinned by
					 * store_snapshot */
	struct pending	*pend;          /* uses not yet written (store_usage.c) */
	struct pending	*one;           /* store_use_admit's batch of one */
	uint32_t	 upid;          /* pid in use keys, set at usage_open */
	int64_t		 last_us;       /* at_us of this process's last use key */
	int		 rdonly;        /* opened read-only: writes get STORE_RDONLY */
	int		 no_invites;    /* read-only and older: no invitation databases */
	struct wcache	*wc;            /* closed parts of windows (store_usage.c) */
	uint64_t	 wgen;          /* uses written by this process, in batches */
	struct admit	*adm;           /* the host's admission table (store_admit.c) */
	int		 adm_tried;     /* admit_open was called */
	struct group	*grp;           /* the host's group commit (store_group.c) */
};

/*
 * Open the usage environment of s (store_usage.c), its map starting at the
 * smaller of map_mb and USAGE_MAP_MB MiB, and when serve, the admission
 * table (which other processes open at their first admission). Returns a
 * STORE_* code.
 */
#define USAGE_MAP_MB	64
int	usage_open(struct store *s, size_t map_mb, int serve);
void	usage_close(struct store *s);
/* last_used of each of the n tokens, in one read (0 when unknown). */
void	uses_fill_last(struct store *s, struct token *v, size_t n);
/* A hash of a token id, for tables keyed by it. */
uint32_t usage_id_hash(const char *id);
/* Call fn with every bucket of id stored in txn (of the usage environment)
 * and pending in this process that is still in its window at now: its
 * level, start (ms) and allowed uses. Returns 0 or an MDB_* code. */
typedef void (*bucket_fn)(void *arg, int level, int64_t start, uint32_t n);
int	usage_seed(struct store *s, MDB_txn *txn, const char *id, int64_t now,
	    bucket_fn fn, void *arg);

/*
 * The admission table of limited tokens (store_admit.c). admit_open maps
 * <dir>/usage/admit, or leaves the store without one (logged), once a
 * store (later calls do nothing); admit_usable
 * says whether it has one. admit_decide counts id's windows at *now (read
 * under the table's lock) and admits one use when each is below its cap,
 * through the slot of id: found, or made and filled from txn when txn (a
 * write transaction of the usage environment) is not NULL. *decided = 0
 * when no slot was had: nothing was counted. An admitted use must then go
 * into this process's batch; admit_written, once the batch is written,
 * counts its uses out of their slots. admit_window counts without
 * admitting; 1 when id has a slot. Return 0 or an error code, but
 * admit_window.
 */
/*
 * A file that the processes of a host map together (store_shfile.c),
 * starting with a shfile_hdr. shfile_open opens path into *fdp (-1: not
 * opened; the caller closes it, and with it the flock it holds) and maps
 * its size bytes: kept when of this boot with want's magic, nslots and
 * slot_size, or made anew (zeroed, then init(base) for what follows the
 * header) when no other process has it. NULL (errno) when there is none:
 * a process that could not make it keeps *fdp open, and so no other
 * process makes it while that one lives.
 */
#define SHFILE_BOOT	40
struct shfile_hdr {
	uint64_t	magic;
	uint32_t	nslots, slot_size;
	char		boot[SHFILE_BOOT];      /* the kernel's boot id */
};
/* This boot's id (the kernel's), NUL-terminated; all zero when unknown. */
void	shfile_boot_id(char boot[SHFILE_BOOT]);
void	*shfile_open(const char *path, size_t size, const struct shfile_hdr *want,
	    int (*init)(void *base), int *fdp);
/* A robust, process-shared mutex. 0 or an errno code. */
int	shfile_mutex_init(pthread_mutex_t *);
/* Lock it, made consistent again when its holder died (*died = 1 then).
 * 0 or an errno code. */
int	shfile_mutex_lock(pthread_mutex_t *, int *died);
int	admit_open(struct store *);
void	admit_close(struct store *);
int	admit_usable(const struct store *);
int	admit_decide(struct store *, MDB_txn *txn, const char *id,
	    const uint32_t cap[WIN__MAX], uint32_t count[WIN__MAX],
	    int64_t oldest[WIN__MAX], int64_t *now, int *admitted, int *decided);
int	admit_window(struct store *, const char *id, int64_t now,
	    const uint32_t cap[WIN__MAX], uint32_t count[WIN__MAX],
	    int64_t oldest[WIN__MAX]);
void	admit_written(struct store *);

/* Begin a transaction of env, adopting a map another process grew. */
int	store_txn_begin(MDB_env *env, unsigned flags, MDB_txn **txn);
/* Double the map of env (up to MAP_MAX_BYTES) after dropping the read
 * cache of s (no transaction of this process may be open). 0 or MDB_*. */
#define MAP_GROW_TRIES	16
int	store_map_grow(struct store *, MDB_env *env);
/* A STORE_* code for the result of a write to env: LMDB 0.9 reports a
 * write cut short by a full file system as EIO, which is STORE_FULL (507)
 * when less than 1 MiB is left on env's file system. */
int	store_write_err(MDB_env *env, int rc);

/*
 * The group commit of durable writes (store_group.c). group_open maps
 * <dir>/commitq for a worker, or leaves s without it (logged).
 * group_write writes op with data (len bytes) and the audit event ev
 * (NULL: none) in the next commit of the catalog, shared with every
 * other write that waits for it; returns 1 with *result a STORE_* code,
 * or 0 when it cannot (no file, no free slot, len too large): then the
 * caller writes on its own.
 */
enum group_op { GROUP_TOKEN_ADD = 1 };
void	group_open(struct store *);
void	group_close(struct store *);
int	group_write(struct store *, enum group_op op, const char *data,
	    size_t len, const struct audit_event *ev, int *result);
/* Add the token of record rec (its JSON, len bytes) in txn, as
 * store_token_add does, once: when a token with its id and jti is stored
 * already, *stored = 1 and nothing is written. STORE_EXISTS (its id, jti
 * or name taken) and STORE_INVALID (not a record) are found before
 * anything is written; after any other failure txn must be aborted. */
int	tx_token_add_record(struct store *, MDB_txn *txn, const char *rec,
	    size_t len, int *stored);

/* A unit of work inside one transaction; returns 0, an MDB_* or a STORE_* code. */
typedef int (*txn_fn)(struct store *, MDB_txn *, void *arg);

/* A read transaction of env, cached (*cached) or not; and its end. */
int	store_read_begin(struct store *, MDB_env *env, MDB_txn **txn, int *cached);
void	store_read_end(struct store *, MDB_env *env, MDB_txn *txn, int cached);
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

/*
 * The token indexes (store_index.c). Their environment is a cache of
 * what the tokens database says, kept without a flush: each write of
 * tokens writes the indexes in a transaction of their own, committed just
 * after the catalog's, and both count the writes in a generation
 * (IDB_STATE there, "index" in DB_META here). A generation that differs
 * (a process that died between the two commits, or a failed second one),
 * an environment of an earlier boot (a crash may have torn it: no sync)
 * or none at all has the indexes made again from the tokens, under the
 * catalog's writer lock. index_open opens them for a writable store,
 * made again when needed; index_open_rdonly for a read-only one: the
 * indexes of this boot when they are current, else those of an older
 * database, kept in it, else a private copy made from the tokens (in
 * files removed at once).
 */
int	index_open(struct store *, size_t map_mb);
/* Drop from the catalog's txn the indexes that schema 1 kept there. */
int	index_drop_old(struct store *, MDB_txn *txn);
int	index_open_rdonly(struct store *, size_t map_mb);
void	index_close(struct store *);
/* Begin s->itxn, the index transaction paired with txn of the catalog:
 * for a write, after making the indexes current (made again from the
 * tokens when their generation is not the catalog's). */
int	index_begin(struct store *, MDB_txn *txn, int write);
/* Count the write in both generations, commit txn (the catalog's write
 * transaction) and then s->itxn; both are ended. 0, or the catalog's
 * failure (nothing written). *behind: the indexes' commit failed after
 * the catalog's, and index_repair, called without any lock of
 * store_group.c held, must make them current. index_abort ends s->itxn
 * alone. */
int	index_commit_with(struct store *, MDB_txn *txn, int *behind);
void	index_repair(struct store *);
void	index_abort(struct store *);
/* Run fn in a read (write: durable, with the audit event ev) transaction
 * of the catalog, with s->itxn paired with it. A STORE_* code. */
int	store_read_index(struct store *, txn_fn fn, void *arg);
int	store_write_index(struct store *, txn_fn fn, void *arg,
	    const struct audit_event *ev);
/* Every index entry of every token in txn, into s->itxn (store_token.c);
 * *n counts the tokens. */
int	tx_token_index_all(struct store *, MDB_txn *txn, size_t *n);
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
/* The same in any database of any environment (the index one). */
int	dbi_get_str(MDB_txn *, MDB_dbi, const void *k, size_t kl, char *out,
	    size_t outsz);
int	db_get_str(struct store *, MDB_txn *, int db, const void *k, size_t kl,
	    char *out, size_t outsz);

/* JSON field readers that tolerate absent fields. */
const char *jstr(struct json_object *o, const char *key);
int64_t	 jint(struct json_object *o, const char *key);
void	 jcpy(struct json_object *o, const char *key, char *out, size_t outsz);

/*
 * The functions of store_lmdb_ops (store_lmdb_ops.c): store.h's, under
 * the backend's names; callers go through store.h (store_dispatch.c).
 */
extern const struct store_ops store_lmdb_ops;
int	lmdb_open(struct store **sp, const char *dir, size_t map_mb, int flags);
void	lmdb_close(struct store *);
int	lmdb_snapshot(struct store *);
void	lmdb_snapshot_end(struct store *);
int	lmdb_backup(struct store *, const char *dest_dir);
int	lmdb_meta_get(struct store *, const char *key, char *out, size_t outsz);
int	lmdb_meta_put(struct store *, const char *key, const char *value);
int	lmdb_user_add(struct store *, const struct user *u,
	    const struct audit_event *ev);
int	lmdb_user_get(struct store *, const char *id, struct user *out);
int	lmdb_user_by_email(struct store *, const char *email, struct user *out);
int	lmdb_user_put(struct store *, const struct user *u,
	    const struct audit_event *ev);
int	lmdb_user_list(struct store *, uint64_t offset, uint32_t limit,
	    struct user **out, size_t *n, uint64_t *total);
int	lmdb_team_add(struct store *, const struct team *t, const char *owner_id,
	    const struct audit_event *ev);
int	lmdb_team_get(struct store *, const char *id, struct team *out);
int	lmdb_team_list(struct store *, struct team **out, size_t *n);
int	lmdb_member_set(struct store *, const char *team_id, const char *user_id,
	    int role, int *created, const struct audit_event *ev);
int	lmdb_member_del(struct store *, const char *team_id, const char *user_id,
	    const struct audit_event *ev);
int	lmdb_member_get(struct store *, const char *team_id, const char *user_id,
	    int *role);
int	lmdb_user_teams(struct store *, const char *user_id,
	    struct membership **out, size_t *n);
int	lmdb_team_members(struct store *, const char *team_id,
	    struct membership **out, size_t *n);
int	lmdb_invite_put(struct store *, const struct invitation *inv,
	    const struct audit_event *ev);
int	lmdb_invite_get(struct store *, const char *team_id, const char *email,
	    int64_t now, struct invitation *out);
int	lmdb_invite_list(struct store *, int by_team, const char *key, int64_t now,
	    struct invitation **out, size_t *n);
int	lmdb_invite_del(struct store *, const char *team_id, const char *email,
	    int64_t now, const struct audit_event *ev);
int	lmdb_invite_accept(struct store *, const char *team_id, const char *user_id,
	    const char *email, int64_t now, int *role, const struct audit_event *ev);
int	lmdb_token_add(struct store *, const struct token *t,
	    const struct audit_event *ev);
int	lmdb_token_get(struct store *, const char *id, struct token *out);
int	lmdb_token_by_jti(struct store *, const char *jti, struct token *out);
int	lmdb_token_edit(struct store *, const char *id, token_edit_fn fn,
	    void *arg, struct token *out, const struct audit_event *ev);
int	lmdb_token_rotate(struct store *, const char *old_id, token_edit_fn fn,
	    void *arg, const struct token *newt, const struct audit_event *ev);
int	lmdb_token_list(struct store *, enum tokset set, const char *key,
	    int include_inactive, int64_t now, uint64_t offset, uint32_t limit,
	    struct token **out, size_t *n, uint64_t *total);
int	lmdb_token_list_visible(struct store *, const char *owner_id,
	    const struct strlist *teams, const struct strlist *scope,
	    int include_inactive, int64_t now, uint64_t offset, uint32_t limit,
	    struct token **out, size_t *n, uint64_t *total);
int	lmdb_jti_revoke(struct store *, const char *jti, int64_t exp_ms);
int	lmdb_jti_revoked(struct store *, const char *jti);
int	lmdb_login_get(struct store *, const char *email, unsigned *count,
	    int64_t *last_ms);
int	lmdb_login_attempt(struct store *, const char *email, int64_t now,
	    int64_t window_ms, unsigned max, unsigned *count, int64_t *last_ms,
	    int *locked);
int	lmdb_login_reset(struct store *, const char *email);
int	lmdb_audit_add(struct store *, const struct audit_event *e);
int	lmdb_audit_list(struct store *, const char *user_email, uint64_t offset,
	    uint32_t limit, struct audit_event **out, size_t *n, uint64_t *total);
int	lmdb_use_record(struct store *, const char *token_id, const struct use *u);
int	lmdb_use_flush(struct store *);
size_t	lmdb_use_pending(const struct store *);
int	lmdb_use_due(const struct store *, int64_t now);
int	lmdb_use_last(struct store *, const char *token_id, int64_t *last_ms);
int	lmdb_use_window(struct store *, const char *token_id, int64_t now,
	    const uint32_t cap[WIN__MAX], uint32_t count[WIN__MAX],
	    int64_t frees_at[WIN__MAX]);
int	lmdb_use_admit(struct store *, const char *token_id,
	    const uint32_t cap[WIN__MAX], const struct use *u,
	    uint32_t count[WIN__MAX], int64_t frees_at[WIN__MAX], int *admitted);
int	lmdb_use_stats(struct store *, const char *token_id, int64_t now,
	    unsigned days, struct usage_stats *out);
int	lmdb_member_load(struct store *, const struct membership *m);
int	lmdb_jti_each(struct store *, jti_each_fn fn, void *arg);
int	lmdb_use_each(struct store *, use_each_fn fn, void *arg);

#endif
