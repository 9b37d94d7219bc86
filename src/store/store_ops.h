/*
 * store_ops.h - the store interface as a table of functions, one per
 * function of store.h that works on a store, so that more than one backend
 * (LMDB, PostgreSQL) can sit behind the one interface.
 *
 * Design (store_lmdb_ops.c and store_pg_ops.c fill the tables,
 * store_dispatch.c holds store.h's public functions):
 *
 *	struct store_base {
 *		const struct store_ops	*ops;
 *	};
 *
 * Every backend's struct store starts with that pointer, so the public
 * functions of store.h are one line each in store_dispatch.c:
 *
 *	int
 *	store_user_get(struct store *s, const char *id, struct user *out)
 *	{
 *		return ((struct store_base *)s)->ops->user_get(s, id, out);
 *	}
 *
 * and store_open picks the table from the database setting (a path: LMDB;
 * postgresql://...: PostgreSQL). No handler learns which backend runs.
 *
 * Not in the table, because they do not touch a store and mean the same
 * for every backend: store_strerror, role_name, token_free, tokens_free,
 * token_mark_revoked and token_live.
 */
#ifndef TC_STORE_OPS_H
#define TC_STORE_OPS_H

#include "store.h"

struct store_base {
	const struct store_ops	*ops;
};

struct store_ops {
	const char	*name;          /* "lmdb", "postgresql" */

	/* where: a directory (LMDB) or a conninfo/URI (PostgreSQL); map_mb
	 * means nothing to a backend without a map */
	int	(*open)(struct store **sp, const char *where, size_t map_mb,
		    int flags);
	void	(*close)(struct store *);
	int	(*snapshot)(struct store *);
	void	(*snapshot_end)(struct store *);
	int	(*backup)(struct store *, const char *dest_dir);
	int	(*meta_get)(struct store *, const char *key, char *out,
		    size_t outsz);
	int	(*meta_put)(struct store *, const char *key, const char *value);

	int	(*user_add)(struct store *, const struct user *,
		    const struct audit_event *);
	int	(*user_get)(struct store *, const char *id, struct user *);
	int	(*user_by_email)(struct store *, const char *email,
		    struct user *);
	int	(*user_put)(struct store *, const struct user *,
		    const struct audit_event *);
	int	(*user_list)(struct store *, uint64_t offset, uint32_t limit,
		    struct user **out, size_t *n, uint64_t *total);

	int	(*team_add)(struct store *, const struct team *,
		    const char *owner_id, const struct audit_event *);
	int	(*team_get)(struct store *, const char *id, struct team *);
	int	(*team_list)(struct store *, struct team **out, size_t *n);
	int	(*member_set)(struct store *, const char *team_id,
		    const char *user_id, int role, int *created,
		    const struct audit_event *);
	int	(*member_del)(struct store *, const char *team_id,
		    const char *user_id, const struct audit_event *);
	int	(*member_get)(struct store *, const char *team_id,
		    const char *user_id, int *role);
	int	(*user_teams)(struct store *, const char *user_id,
		    struct membership **out, size_t *n);
	int	(*team_members)(struct store *, const char *team_id,
		    struct membership **out, size_t *n);

	int	(*invite_put)(struct store *, const struct invitation *,
		    const struct audit_event *);
	int	(*invite_get)(struct store *, const char *team_id,
		    const char *email, int64_t now, struct invitation *);
	int	(*invite_list)(struct store *, int by_team, const char *key,
		    int64_t now, struct invitation **out, size_t *n);
	int	(*invite_del)(struct store *, const char *team_id,
		    const char *email, int64_t now, const struct audit_event *);
	int	(*invite_accept)(struct store *, const char *team_id,
		    const char *user_id, const char *email, int64_t now,
		    int *role, const struct audit_event *);

	int	(*token_add)(struct store *, const struct token *,
		    const struct audit_event *);
	int	(*token_get)(struct store *, const char *id, struct token *);
	int	(*token_by_jti)(struct store *, const char *jti, struct token *);
	/* NULL: store_token_auth composes token_by_jti, user_get and
	 * member_get in a snapshot */
	int	(*token_auth)(struct store *, const char *jti,
		    struct token_auth *);
	int	(*token_edit)(struct store *, const char *id, token_edit_fn fn,
		    void *arg, struct token *out, const struct audit_event *);
	int	(*token_rotate)(struct store *, const char *old_id,
		    token_edit_fn fn, void *arg, const struct token *newt,
		    const struct audit_event *);
	int	(*token_list)(struct store *, enum tokset set, const char *key,
		    int include_inactive, int64_t now, uint64_t offset,
		    uint32_t limit, struct token **out, size_t *n,
		    uint64_t *total);
	int	(*token_list_visible)(struct store *, const char *owner_id,
		    const struct strlist *teams, const struct strlist *scope,
		    int include_inactive,
		    int64_t now, uint64_t offset, uint32_t limit,
		    struct token **out, size_t *n, uint64_t *total);

	int	(*jti_revoke)(struct store *, const char *jti, int64_t exp_ms);
	int	(*jti_revoked)(struct store *, const char *jti);

	int	(*login_get)(struct store *, const char *email, unsigned *count,
		    int64_t *last_ms);
	int	(*login_attempt)(struct store *, const char *email, int64_t now,
		    int64_t window_ms, unsigned max, unsigned *count,
		    int64_t *last_ms, int *locked);
	int	(*login_reset)(struct store *, const char *email);

	int	(*audit_add)(struct store *, const struct audit_event *);
	int	(*audit_list)(struct store *, const char *user_email,
		    uint64_t offset, uint32_t limit, struct audit_event **out,
		    size_t *n, uint64_t *total);

	int	(*use_record)(struct store *, const char *token_id,
		    const struct use *);
	int	(*use_flush)(struct store *);
	size_t	(*use_pending)(const struct store *);
	int	(*use_due)(const struct store *, int64_t now);
	int	(*use_last)(struct store *, const char *token_id,
		    int64_t *last_ms);
	int	(*use_window)(struct store *, const char *token_id, int64_t now,
		    const uint32_t cap[WIN__MAX], uint32_t count[WIN__MAX],
		    int64_t frees_at[WIN__MAX]);
	int	(*use_admit)(struct store *, const char *token_id,
		    const uint32_t cap[WIN__MAX], const struct use *u,
		    uint32_t count[WIN__MAX], int64_t frees_at[WIN__MAX],
		    int *admitted);
	int	(*use_stats)(struct store *, const char *token_id, int64_t now,
		    unsigned days, struct usage_stats *out);

	/* tokencat migrate (store.h) */
	int	(*member_load)(struct store *, const struct membership *);
	int	(*jti_each)(struct store *, jti_each_fn fn, void *arg);
	int	(*use_each)(struct store *, use_each_fn fn, void *arg);
};

#endif
