/*
 * store.h - the store: users, teams, memberships, invitations, tokens,
 * session revocations, login failures, the audit trail and the uses, in
 * LMDB (a directory) or PostgreSQL (a postgresql:// URI), behind this one
 * interface (store_ops.h). Nobody but store*.c includes lmdb.h or libpq-fe.h.
 *
 * Every function opens and ends its own short transaction (never held across
 * requests). Writes are durable commits, retried after growing the map on
 * MDB_MAP_FULL. Records returned through out-parameters are copies the caller
 * owns (free with the matching *_free where one exists).
 */
#ifndef TC_STORE_H
#define TC_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "util.h"
#include "pw.h"

/* Errors: negative, outside LMDB's and errno's ranges. */
enum store_err {
	STORE_OK = 0,
	STORE_NOTFOUND = -40001,        /* no such record */
	STORE_EXISTS = -40002,          /* duplicate key: e-mail, team name, active token name */
	STORE_LASTOWNER = -40003,       /* removing or demoting the last owner of a team */
	STORE_FULL = -40004,            /* disk full or map cannot grow */
	STORE_RDONLY = -40005,          /* database not writable */
	STORE_IO = -40006,              /* any other LMDB or system failure (logged) */
	STORE_NOMEM = -40007,
	STORE_INVALID = -40008          /* a write of malformed input (a bug above) */
};
/*
 * A lookup by a malformed key (a team id that is not 32 hex, an e-mail
 * that is too long) is STORE_NOTFOUND: no such record can exist. A write
 * of malformed input is STORE_INVALID.
 */
const char *store_strerror(int);

enum role { ROLE_NONE = 0, ROLE_MEMBER = 1, ROLE_OWNER = 2 };
const char *role_name(int);             /* "member", "owner", NULL */

#define NAME_MAX_BYTES 1024             /* 255 code points of UTF-8, NUL */

struct user {
	char	id[UUID_LEN + 1];
	char	email[EMAIL_MAX + 1];   /* stored lowercase */
	char	full_name[NAME_MAX_BYTES];
	char	pwhash[PW_HASH_MAX];    /* "" = no password login */
	int	is_admin;
	int	is_active;
	int64_t	created_at;             /* ms */
};

struct team {
	char	 id[TEAMID_LEN + 1];
	char	 name[NAME_MAX_BYTES];
	int64_t	 created_at;
	uint32_t member_count;
};

struct membership {
	char	team_id[TEAMID_LEN + 1];
	char	user_id[UUID_LEN + 1];
	int	role;
	int64_t	joined_at;
};

struct token {
	char	 id[UUID_LEN + 1];
	char	 jti[UUID_LEN + 1];
	char	 hash[SHA256_HEX + 1];  /* SHA-256 of the raw JWT */
	char	 owner_id[UUID_LEN + 1];
	char	 owner_email[EMAIL_MAX + 1];
	char	 team_id[TEAMID_LEN + 1];       /* "" = not a team token */
	char	*name;                  /* owned */
	char	*description;           /* owned, NULL = none */
	char	 created_by[EMAIL_MAX + 1];
	int64_t	 created_at;
	int64_t	 expires_at;            /* 0 = never */
	int64_t	 last_used;             /* 0 = never */
	int	 is_active;
	int	 is_revoked;
	int64_t	 revoked_at;            /* 0 = not revoked */
	char	*revoked_by;            /* owned, NULL when not revoked */
	char	*revocation_reason;     /* owned, NULL when not revoked */
	struct json_object *scope;      /* owned; normalized (scope_normalize), never NULL once loaded */
	struct json_object *tags;       /* owned; array, never NULL once loaded */
};

void	token_free(struct token *);     /* frees the members, not the struct */
/* Mark t revoked at `at` by `by` for `reason` (copied); it is no longer active.
 * Returns 0, or STORE_NOMEM. For token_edit_fn callbacks. */
int	token_mark_revoked(struct token *t, const char *by, const char *reason,
	    int64_t at);
void	tokens_free(struct token *, size_t n);  /* frees members and the array */
/* 1 if the token can be used: active, not revoked, not expired at now (ms). */
int	token_live(const struct token *, int64_t now);

struct store;

#define STORE_CREATE 0x1                /* create the directory and database if missing */
#define STORE_BULK 0x2                  /* bulk load: no flush per commit, one at close
					 * (PostgreSQL: synchronous_commit off until then) */
#define STORE_SERVE 0x4                 /* a worker: PostgreSQL caches what checks
					 * read, kept true by a change feed whose
					 * connection opens now (before a sandbox);
					 * LMDB maps the admission table now */

/*
 * Open the store the database setting names: a postgresql:// or
 * postgres:// URI is PostgreSQL (store_pg.h: with STORE_CREATE the
 * schema is created or upgraded; map_mb means nothing), anything else an
 * LMDB directory: open (or with STORE_CREATE, create) the environment in
 * it, clearing stale readers (mdb_reader_check); map_mb is the initial map
 * size, which grows on demand. Call after any fork. Returns 0 or a STORE_*
 * error; *sp owned by the caller (store_close).
 */
int	store_open(struct store **sp, const char *database, size_t map_mb,
	    int flags);
/* 1 if database names a PostgreSQL server (postgresql:// or postgres://). */
int	store_is_pg(const char *database);
/* database as it may be shown: a URI's password left out. */
void	store_display(const char *database, char *out, size_t outsz);
/* "lmdb" or "postgresql". */
const char *store_backend(const struct store *);
void	store_close(struct store *);
/*
 * Read the catalog from one snapshot until store_snapshot_end: every read
 * in between sees the same committed state (and renews no transaction).
 * Not for use around this process's own writes. Returns 0 or a STORE_* error.
 */
int	store_snapshot(struct store *);
void	store_snapshot_end(struct store *);
/*
 * Compacting copy of the catalog into dest_dir (created, must be empty) and
 * of the usage environment into dest_dir/usage, while others write.
 */
int	store_backup(struct store *, const char *dest_dir);
/*
 * Settings of the database itself, such as the signing key's fingerprint
 * (jws_key_fingerprint): get copies the value of key into out (outsz
 * bytes), STORE_NOTFOUND when absent; put replaces it, durably.
 */
int	store_meta_get(struct store *, const char *key, char *out, size_t outsz);
int	store_meta_put(struct store *, const char *key, const char *value);

/*
 * --- the audit trail: durable, newest first ---
 * Every write below that takes `const struct audit_event *ev` stores ev
 * (NULL: none) in the same transaction as the change, and only when the
 * change is written: one durable commit for both.
 */
struct audit_event {
	int64_t	at;                     /* ms; 0 = now when added */
	char	actor[EMAIL_MAX + 1];   /* who did it (e-mail) */
	char	action[48];             /* "token.create", "team.member.add", ... */
	char	token_id[UUID_LEN + 1]; /* "" when none */
	char	target_user[EMAIL_MAX + 1];     /* whose token or account; "" */
	char	detail[256];
};

/* --- users --- */
/* Insert a new user (u->id, u->email lowercase, set by caller). STORE_EXISTS if the e-mail is taken. */
int	store_user_add(struct store *, const struct user *u,
	    const struct audit_event *ev);
int	store_user_get(struct store *, const char *id, struct user *out);
/* Case-insensitive e-mail lookup. */
int	store_user_by_email(struct store *, const char *email, struct user *out);
/* Replace the user with u->id (e-mail cannot change). */
int	store_user_put(struct store *, const struct user *u,
	    const struct audit_event *ev);
/* Users ordered by e-mail; *out is a malloc'd array (caller frees). */
int	store_user_list(struct store *, uint64_t offset, uint32_t limit,
	    struct user **out, size_t *n, uint64_t *total);

/* --- teams and memberships --- */
/* Insert team t (t->id set by caller); owner_id (may be NULL) becomes its owner.
 * STORE_EXISTS if a team of that name (case-insensitive) exists. */
int	store_team_add(struct store *, const struct team *t, const char *owner_id,
	    const struct audit_event *ev);
int	store_team_get(struct store *, const char *id, struct team *out);
/* All teams by name; *out malloc'd. */
int	store_team_list(struct store *, struct team **out, size_t *n);
/* Add or change a membership. *created = 1 when new. STORE_NOTFOUND if the team
 * or user is unknown; STORE_LASTOWNER when demoting the last owner. */
int	store_member_set(struct store *, const char *team_id, const char *user_id,
	    int role, int *created, const struct audit_event *ev);
/* STORE_NOTFOUND if not a member; STORE_LASTOWNER for the last owner. */
int	store_member_del(struct store *, const char *team_id, const char *user_id,
	    const struct audit_event *ev);
/* *role = ROLE_MEMBER/ROLE_OWNER, or STORE_NOTFOUND. */
int	store_member_get(struct store *, const char *team_id, const char *user_id,
	    int *role);
/* Memberships of a user / of a team; *out malloc'd. */
int	store_user_teams(struct store *, const char *user_id,
	    struct membership **out, size_t *n);
int	store_team_members(struct store *, const char *team_id,
	    struct membership **out, size_t *n);

/*
 * --- invitations to teams ---
 * Keyed by team and lowercased e-mail, not by user: an invitation to an
 * address without an account is stored like any other, and whoever later
 * has an account with that address finds it. Pending until expires_at;
 * an expired invitation is neither listed nor accepted nor declined
 * (STORE_NOTFOUND), and is purged when its team's next invitation is
 * written.
 */
struct invitation {
	char	team_id[TEAMID_LEN + 1];
	char	email[EMAIL_MAX + 1];   /* lowercase */
	int	role;                   /* ROLE_MEMBER or ROLE_OWNER */
	char	invited_by[EMAIL_MAX + 1];
	int64_t	invited_at;             /* ms */
	int64_t	expires_at;             /* ms */
};
/* Write (or renew: role, inviter, times replaced) the invitation of
 * inv->email to inv->team_id. STORE_NOTFOUND if the team is unknown;
 * STORE_INVALID for a malformed one. */
int	store_invite_put(struct store *, const struct invitation *inv,
	    const struct audit_event *ev);
/* The pending invitation of email to team_id at now, or STORE_NOTFOUND. */
int	store_invite_get(struct store *, const char *team_id, const char *email,
	    int64_t now, struct invitation *out);
/* Pending invitations at now of a team (by_team = 1, key a team id) or of
 * an e-mail (by_team = 0), newest first; *out malloc'd (free it). */
int	store_invite_list(struct store *, int by_team, const char *key, int64_t now,
	    struct invitation **out, size_t *n);
/* Decline or withdraw: remove the pending invitation (STORE_NOTFOUND if
 * there is none at now). */
int	store_invite_del(struct store *, const char *team_id, const char *email,
	    int64_t now, const struct audit_event *ev);
/*
 * Accept, in one write: the pending invitation of email to team_id at now
 * becomes a membership of user_id (the user with that e-mail) with the
 * invited role, and is removed. A member already keeps the higher of its
 * role and the invited one; *role says which it has now. STORE_NOTFOUND
 * if there is no pending invitation, or the team or user is gone.
 */
int	store_invite_accept(struct store *, const char *team_id, const char *user_id,
	    const char *email, int64_t now, int *role, const struct audit_event *ev);

/* --- tokens --- */
/*
 * Insert t. Inside the write transaction: STORE_EXISTS if another token of
 * the same owner and team (or both team-less) is active, unrevoked and has
 * the same name. The record keeps only t->hash, never a raw token.
 */
int	store_token_add(struct store *, const struct token *t,
	    const struct audit_event *ev);
int	store_token_get(struct store *, const char *id, struct token *out);
int	store_token_by_jti(struct store *, const char *jti, struct token *out);
/*
 * What checking an API token reads, from one snapshot: the token of jti,
 * its owner (have_owner 0: the owner is gone) and the owner's role in the
 * token's team (ROLE_NONE: no team, or not a member). STORE_NOTFOUND when
 * no token has that jti. One statement on PostgreSQL. The caller frees
 * out->tok with token_free.
 */
struct token_auth {
	struct token	tok;
	struct user	owner;
	int		have_owner;
	int		team_role;
};
int	store_token_auth(struct store *, const char *jti, struct token_auth *out);

/*
 * Read-modify-write of one token in one write transaction: fn gets the
 * current record and may change name, description, scope, tags, is_active,
 * expires_at and the revocation fields. fn returns 0 to write the change, or
 * anything else to abort, which store_token_edit returns unchanged (so a
 * handler may return its own codes). Indexes follow the change; a name or
 * reactivation that collides with an active token gives STORE_EXISTS.
 * If out is not NULL it receives a copy of the record as written.
 */
typedef int (*token_edit_fn)(struct token *t, void *arg);
int	store_token_edit(struct store *, const char *id, token_edit_fn fn,
	    void *arg, struct token *out, const struct audit_event *ev);

/*
 * Rotation in one write transaction: fn may refuse or revoke the token old_id
 * (as in store_token_edit), then newt is added (same rules as
 * store_token_add). Either both happen or neither.
 */
int	store_token_rotate(struct store *, const char *old_id, token_edit_fn fn,
	    void *arg, const struct token *newt, const struct audit_event *ev);

enum tokset { TOKSET_ALL, TOKSET_OWNER, TOKSET_TEAM };
/*
 * One page of a set of tokens, newest first (created_at desc, then id).
 * key: owner user id for TOKSET_OWNER, team id for TOKSET_TEAM, NULL for ALL.
 * include_inactive = 0 hides revoked, deactivated and expired (at now) tokens.
 * Costs O(offset + limit) plus the expired tokens skipped, not O(set):
 * totals come from counters kept in the write transactions.
 * *out malloc'd (tokens_free).
 */
int	store_token_list(struct store *, enum tokset set, const char *key,
	    int include_inactive, int64_t now, uint64_t offset, uint32_t limit,
	    struct token **out, size_t *n, uint64_t *total);

/*
 * GET /tokens: the tokens of owner_id and of the teams in teams together,
 * newest first, each once. scope (NULL: none) narrows the owner's own
 * tokens to the team-less ones and those of the teams in scope. total is
 * exact (counters of the owner's tokens per team remove the overlap); a
 * page costs O(sets x (offset + limit)), plus one lookup per own token
 * read for each of the owner's token teams outside the scope.
 */
int	store_token_list_visible(struct store *, const char *owner_id,
	    const struct strlist *teams, const struct strlist *scope,
	    int include_inactive, int64_t now, uint64_t offset, uint32_t limit,
	    struct token **out, size_t *n, uint64_t *total);

/* --- session revocations (logout) --- */
int	store_jti_revoke(struct store *, const char *jti, int64_t exp_ms);
/* 1 revoked, 0 not, or a STORE_* error. */
int	store_jti_revoked(struct store *, const char *jti);

/* --- login failures (lockout) --- */
/* Failures for email counted while each came within window_ms of the previous one. */
int	store_login_get(struct store *, const char *email, unsigned *count,
	    int64_t *last_ms);
/*
 * One login attempt for email at now, counted before its password is
 * checked, in one write: when the e-mail holds max failures, each within
 * window_ms of the previous, and the last less than window_ms ago, it is
 * *locked (nothing counted; *last_ms says since when); else the attempt
 * counts as a failure (*count after it) until store_login_reset forgets
 * it on a success. So concurrent guesses never get more than max
 * passwords checked. STORE_RDONLY on a read-only database.
 */
int	store_login_attempt(struct store *, const char *email, int64_t now,
	    int64_t window_ms, unsigned max, unsigned *count, int64_t *last_ms,
	    int *locked);
int	store_login_reset(struct store *, const char *email);

int	store_audit_add(struct store *, const struct audit_event *e);
/*
 * Events newest first; user_email (NULL = all) keeps those whose actor or
 * target is that user. *out malloc'd (free it).
 */
int	store_audit_list(struct store *, const char *user_email, uint64_t offset,
	    uint32_t limit, struct audit_event **out, size_t *n, uint64_t *total);

/* --- usage: every decision on a catalog token (API.md 7) ---
 * Kept in a second environment, <database>/usage, committed without a disk
 * flush (MDB_NOSYNC): a crash may lose the last uses, never the catalog.
 */
struct use {
	int64_t		 at;            /* ms */
	const char	*method, *path, *addr, *agent;
	int		 status;
	int		 blocked;
	uint32_t	 us;            /* response time in microseconds */
};

/*
 * Record one use of token_id; an allowed use also sets last_used. Uses are
 * kept in the process and written in one transaction per batch (at most
 * USE_BATCH uses or USE_FLUSH_MS old; see store_use_due), so that workers
 * do not queue for the write lock at every check. A due batch is written
 * by store_use_flush, which a worker calls after its answer; a record
 * into a full batch writes it first. This process's pending uses count in
 * its window counts at once; other workers' within USE_FLUSH_MS (the
 * allowed uses of a token with limits at once: store_use_admit).
 */
#define USE_BATCH	64
#define USE_FLUSH_MS	100
int	store_use_record(struct store *, const char *token_id, const struct use *u);
/* Write the pending uses now. */
int	store_use_flush(struct store *);
/* Number of uses waiting to be written. */
size_t	store_use_pending(const struct store *);
/* 1 if pending uses should be written now: a full batch, or older than USE_FLUSH_MS. */
int	store_use_due(const struct store *, int64_t now);
/* Time of the last allowed use (0 = never). */
int	store_use_last(struct store *, const char *token_id, int64_t *last_ms);

/* The three sliding windows of usage limits, as indexes of WIN__MAX arrays. */
enum win { WIN_MINUTE = 0, WIN_HOUR = 1, WIN_DAY = 2, WIN__MAX = 3 };
/*
 * Allowed uses of token_id in the sliding last 60 s, 3600 s, 86400 s before
 * now, each counted up to cap[i] (0 = not counted). Uses are counted in
 * buckets 1 s, 60 s and 900 s wide; a bucket counts whole, so a window may
 * reach one bucket further back (never fewer uses than the exact count).
 * When count[i] reaches cap[i], frees_at[i] is when the oldest counted
 * bucket has left the window. Costs at most 60, 60 and 96 bucket reads,
 * whatever the traffic.
 */
int	store_use_window(struct store *, const char *token_id, int64_t now,
	    const uint32_t cap[WIN__MAX], uint32_t count[WIN__MAX],
	    int64_t frees_at[WIN__MAX]);

/*
 * Admit one allowed use u of a token with usage limits, exactly: under
 * one lock, count its windows (as store_use_window, at the time the lock
 * is held, which is also u's time) and, when every count is below its cap,
 * record u in the same step. *admitted = 1 then, and count[] includes u;
 * else 0, nothing is recorded (the caller records the refusal with
 * store_use_record) and frees_at[] says when a full window frees. Every
 * allowed use of a token with limits must go through here, so that the
 * counts of all workers and hosts are exact. Returns 0 or a STORE_* error.
 */
int	store_use_admit(struct store *, const char *token_id,
	    const uint32_t cap[WIN__MAX], const struct use *u,
	    uint32_t count[WIN__MAX], int64_t frees_at[WIN__MAX], int *admitted);

#define TOP_PATHS 5
#define PATH_KEY_MAX 400
struct usage_stats {
	uint64_t	 total, allowed, blocked;
	uint64_t	 sum_us;
	struct {
		char		path[PATH_KEY_MAX + 1];
		uint64_t	n;
	}		 top[TOP_PATHS];
	size_t		 ntop;
	struct {                        /* one row per day, oldest first */
		int64_t		day;    /* ms of 00:00 UTC */
		uint64_t	allowed, blocked;
	}		*days;
	size_t		 ndays;
};
/*
 * Statistics of the uses of the last `days` UTC days up to now (today
 * included), from per-day aggregates kept as uses are recorded: O(days x
 * distinct paths per day), not O(uses). out->days is malloc'd (free it).
 */
int	store_use_stats(struct store *, const char *token_id, int64_t now,
	    unsigned days, struct usage_stats *out);

/*
 * --- moving a catalog between stores (tokencat migrate) ---
 * What the functions above cannot read or write exactly: a membership
 * with its joined_at, every session revocation, every recorded use.
 */
/* Insert m as it is (role, joined_at kept). STORE_NOTFOUND if the team or
 * user is unknown, STORE_EXISTS if it is a member already. */
int	store_member_load(struct store *, const struct membership *m);
/* fn for each session revocation; fn returning a STORE_* error stops the
 * walk, which returns it. */
typedef int (*jti_each_fn)(const char *jti, int64_t exp_ms, void *arg);
int	store_jti_each(struct store *, jti_each_fn fn, void *arg);
/* fn for each recorded use, by token then time; as store_jti_each. */
typedef int (*use_each_fn)(const char *token_id, const struct use *u,
	    void *arg);
int	store_use_each(struct store *, use_each_fn fn, void *arg);

/* How many records of each kind store_copy wrote. */
struct copy_counts {
	uint64_t	users, teams, members, invites, tokens, jtis, audit, uses;
};
/* *empty = 1 if s holds no user, team, token, session revocation, audit
 * event or use. */
int	store_empty(struct store *s, int *empty);
/*
 * Copy the whole catalog of src into dst, which should be empty
 * (store_empty): users with their password hashes, teams, memberships,
 * pending invitations, tokens (digests, never raw tokens), session
 * revocations, the audit trail and every use, keeping ids, times and
 * counts. Reads src from one snapshot. Returns 0 or a STORE_* error;
 * *what names the kind that failed.
 */
int	store_copy(struct store *src, struct store *dst, struct copy_counts *n,
	    const char **what);

#endif
