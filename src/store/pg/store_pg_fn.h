/*
 * store_pg_fn.h - the functions of store_pg_ops (store_ops.h), defined in
 * the store_pg*.c files and put in the table by store_pg.c.
 */
#ifndef TC_STORE_PG_FN_H
#define TC_STORE_PG_FN_H

#include "store_ops.h"

int	pg_open(struct store **sp, const char *where, size_t map_mb,
	    int flags);
void	pg_close(struct store *);
int	pg_snapshot(struct store *);
void	pg_snapshot_end(struct store *);
int	pg_backup(struct store *, const char *dest_dir);
int	pg_user_add(struct store *, const struct user *,
	    const struct audit_event *);
int	pg_user_get(struct store *, const char *id, struct user *);
int	pg_user_by_email(struct store *, const char *email, struct user *);
int	pg_user_put(struct store *, const struct user *,
	    const struct audit_event *);
int	pg_user_list(struct store *, uint64_t offset, uint32_t limit,
	    struct user **out, size_t *n, uint64_t *total);
int	pg_team_add(struct store *, const struct team *, const char *owner_id,
	    const struct audit_event *);
int	pg_team_get(struct store *, const char *id, struct team *);
int	pg_team_list(struct store *, struct team **out, size_t *n);
int	pg_member_set(struct store *, const char *team_id,
	    const char *user_id, int role, int *created,
	    const struct audit_event *);
int	pg_member_del(struct store *, const char *team_id,
	    const char *user_id, const struct audit_event *);
int	pg_member_get(struct store *, const char *team_id,
	    const char *user_id, int *role);
int	pg_user_teams(struct store *, const char *user_id,
	    struct membership **out, size_t *n);
int	pg_team_members(struct store *, const char *team_id,
	    struct membership **out, size_t *n);
int	pg_token_add(struct store *, const struct token *,
	    const struct audit_event *);
int	pg_token_get(struct store *, const char *id, struct token *);
int	pg_token_by_jti(struct store *, const char *jti, struct token *);
int	pg_token_auth(struct store *, const char *jti, struct token_auth *);
int	pg_token_edit(struct store *, const char *id, token_edit_fn fn,
	    void *arg, struct token *out, const struct audit_event *);
int	pg_token_rotate(struct store *, const char *old_id, token_edit_fn fn,
	    void *arg, const struct token *newt, const struct audit_event *);
int	pg_token_list(struct store *, enum tokset set, const char *key,
	    int include_inactive, int64_t now, uint64_t offset,
	    uint32_t limit, struct token **out, size_t *n, uint64_t *total);
int	pg_invite_put(struct store *, const struct invitation *,
	    const struct audit_event *);
int	pg_invite_get(struct store *, const char *team_id, const char *email,
	    int64_t now, struct invitation *);
int	pg_invite_list(struct store *, int by_team, const char *key,
	    int64_t now, struct invitation **out, size_t *n);
int	pg_invite_del(struct store *, const char *team_id, const char *email,
	    int64_t now, const struct audit_event *);
int	pg_invite_accept(struct store *, const char *team_id,
	    const char *user_id, const char *email, int64_t now, int *role,
	    const struct audit_event *);
int	pg_token_list_visible(struct store *, const char *owner_id,
	    const struct strlist *teams, const struct strlist *scope,
	    int include_inactive, int64_t now,
	    uint64_t offset, uint32_t limit, struct token **out, size_t *n,
	    uint64_t *total);
int	pg_jti_revoke(struct store *, const char *jti, int64_t exp_ms);
int	pg_jti_revoked(struct store *, const char *jti);
int	pg_login_get(struct store *, const char *email, unsigned *count,
	    int64_t *last_ms);
int	pg_login_attempt(struct store *, const char *email, int64_t now,
	    int64_t window_ms, unsigned max, unsigned *count,
	    int64_t *last_ms, int *locked);
int	pg_login_reset(struct store *, const char *email);
int	pg_audit_add(struct store *, const struct audit_event *);
int	pg_audit_list(struct store *, const char *user_email, uint64_t offset,
	    uint32_t limit, struct audit_event **out, size_t *n,
	    uint64_t *total);
int	pg_use_record(struct store *, const char *token_id,
	    const struct use *);
int	pg_use_flush(struct store *);
size_t	pg_use_pending(const struct store *);
int	pg_use_due(const struct store *, int64_t now);
int	pg_use_last(struct store *, const char *token_id, int64_t *last_ms);
int	pg_use_window(struct store *, const char *token_id, int64_t now,
	    const uint32_t cap[WIN__MAX], uint32_t count[WIN__MAX],
	    int64_t frees_at[WIN__MAX]);
int	pg_use_admit(struct store *, const char *token_id,
	    const uint32_t cap[WIN__MAX], const struct use *u,
	    uint32_t count[WIN__MAX], int64_t frees_at[WIN__MAX],
	    int *admitted);
int	pg_use_stats(struct store *, const char *token_id, int64_t now,
	    unsigned days, struct usage_stats *out);
int	pg_member_load(struct store *, const struct membership *);
int	pg_jti_each(struct store *, jti_each_fn fn, void *arg);
int	pg_use_each(struct store *, use_each_fn fn, void *arg);

#endif
