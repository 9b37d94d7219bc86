/*
 * store_dispatch.c - the public functions of store.h: each calls its
 * backend's through the ops pointer every struct store starts with
 * (store_ops.h). store_open picks the backend from the database setting.
 */
#include <stdio.h>
#include <string.h>

#include "store_ops.h"
#include "store_int.h"
#include "store_pg.h"

/* The ops of s: every backend's struct store starts with them. */
#define OPS(s)	(((const struct store_base *)(s))->ops)

/* 1 if database names a PostgreSQL server (postgresql:// or postgres://). */
int
store_is_pg(const char *database)
{
	return database != NULL && (strncmp(database, "postgresql://",
	    13) == 0 ||
	    strncmp(database, "postgres://", 11) == 0);
}

int
store_open(struct store **sp, const char *database, size_t map_mb, int flags)
{
	const struct store_ops *ops = store_is_pg(database) ? &store_pg_ops :
	    &store_lmdb_ops;

	return ops->open(sp, database, map_mb, flags);
}

void
store_display(const char *database, char *out, size_t outsz)
{
	const char *auth, *end, *at, *colon;

	if (!store_is_pg(database) || (auth = strstr(database,
	    "://")) == NULL) {
		snprintf(out, outsz, "%s", database);
		return;
	}
	auth += 3;
	end = auth + strcspn(auth, "/?");
	for (at = NULL, colon = auth; colon < end; colon++)
		if (*colon == '@')
			at = colon;
	colon = at != NULL ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
	if (colon == NULL) {
		snprintf(out, outsz, "%s", database);
		return;
	}
	snprintf(out, outsz, "%.*s%s", (int)(colon - database), database, at);
}

const char *
store_backend(const struct store *s)
{
	return OPS(s)->name;
}

void
store_close(struct store *s)
{
	if (s != NULL)
		OPS(s)->close(s);
}

int
store_snapshot(struct store *s)
{
	return OPS(s)->snapshot(s);
}

void
store_snapshot_end(struct store *s)
{
	OPS(s)->snapshot_end(s);
}

int
store_backup(struct store *s, const char *dest_dir)
{
	return OPS(s)->backup(s, dest_dir);
}

int
store_meta_get(struct store *s, const char *key, char *out, size_t outsz)
{
	return OPS(s)->meta_get(s, key, out, outsz);
}

int
store_meta_put(struct store *s, const char *key, const char *value)
{
	return OPS(s)->meta_put(s, key, value);
}

int
store_user_add(struct store *s, const struct user *u,
    const struct audit_event *ev)
{
	return OPS(s)->user_add(s, u, ev);
}

int
store_user_get(struct store *s, const char *id, struct user *out)
{
	return OPS(s)->user_get(s, id, out);
}

int
store_user_by_email(struct store *s, const char *email, struct user *out)
{
	return OPS(s)->user_by_email(s, email, out);
}

int
store_user_put(struct store *s, const struct user *u,
    const struct audit_event *ev)
{
	return OPS(s)->user_put(s, u, ev);
}

int
store_user_list(struct store *s, uint64_t offset, uint32_t limit,
    struct user **out, size_t *n, uint64_t *total)
{
	return OPS(s)->user_list(s, offset, limit, out, n, total);
}

int
store_team_add(struct store *s, const struct team *t, const char *owner_id,
    const struct audit_event *ev)
{
	return OPS(s)->team_add(s, t, owner_id, ev);
}

int
store_team_get(struct store *s, const char *id, struct team *out)
{
	return OPS(s)->team_get(s, id, out);
}

int
store_team_list(struct store *s, struct team **out, size_t *n)
{
	return OPS(s)->team_list(s, out, n);
}

int
store_member_set(struct store *s, const char *team_id, const char *user_id,
    int role, int *created, const struct audit_event *ev)
{
	return OPS(s)->member_set(s, team_id, user_id, role, created, ev);
}

int
store_member_del(struct store *s, const char *team_id, const char *user_id,
    const struct audit_event *ev)
{
	return OPS(s)->member_del(s, team_id, user_id, ev);
}

int
store_member_get(struct store *s, const char *team_id, const char *user_id,
    int *role)
{
	return OPS(s)->member_get(s, team_id, user_id, role);
}

int
store_user_teams(struct store *s, const char *user_id,
    struct membership **out, size_t *n)
{
	return OPS(s)->user_teams(s, user_id, out, n);
}

int
store_team_members(struct store *s, const char *team_id,
    struct membership **out, size_t *n)
{
	return OPS(s)->team_members(s, team_id, out, n);
}

int
store_invite_put(struct store *s, const struct invitation *inv,
    const struct audit_event *ev)
{
	return OPS(s)->invite_put(s, inv, ev);
}

int
store_invite_get(struct store *s, const char *team_id, const char *email,
    int64_t now, struct invitation *out)
{
	return OPS(s)->invite_get(s, team_id, email, now, out);
}

int
store_invite_list(struct store *s, int by_team, const char *key, int64_t now,
    struct invitation **out, size_t *n)
{
	return OPS(s)->invite_list(s, by_team, key, now, out, n);
}

int
store_invite_del(struct store *s, const char *team_id, const char *email,
    int64_t now, const struct audit_event *ev)
{
	return OPS(s)->invite_del(s, team_id, email, now, ev);
}

int
store_invite_accept(struct store *s, const char *team_id,
    const char *user_id, const char *email, int64_t now, int *role,
    const struct audit_event *ev)
{
	return OPS(s)->invite_accept(s, team_id, user_id, email, now, role, ev);
}

int
store_token_add(struct store *s, const struct token *t,
    const struct audit_event *ev)
{
	return OPS(s)->token_add(s, t, ev);
}

int
store_token_get(struct store *s, const char *id, struct token *out)
{
	return OPS(s)->token_get(s, id, out);
}

int
store_token_by_jti(struct store *s, const char *jti, struct token *out)
{
	return OPS(s)->token_by_jti(s, jti, out);
}

/* store_token_auth from the three reads it stands for. */
static int
token_auth_reads(struct store *s, const char *jti, struct token_auth *out)
{
	int rc;

	if ((rc = store_token_by_jti(s, jti, &out->tok)) != 0)
		return rc;
	if ((rc = store_user_get(s, out->tok.owner_id, &out->owner)) == 0)
		out->have_owner = 1;
	else if (rc != STORE_NOTFOUND)
		goto fail;
	if (out->have_owner && out->tok.team_id[0] != '\0' &&
	    (rc = store_member_get(s, out->tok.team_id, out->owner.id,
	    &out->team_role)) != 0 && rc != STORE_NOTFOUND)
		goto fail;
	return 0;
fail:
	token_free(&out->tok);
	return rc;
}

int
store_token_auth(struct store *s, const char *jti, struct token_auth *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->team_role = ROLE_NONE;
	if (OPS(s)->token_auth != NULL)
		return OPS(s)->token_auth(s, jti, out);
	if ((rc = store_snapshot(s)) != 0)
		return rc;
	rc = token_auth_reads(s, jti, out);
	store_snapshot_end(s);
	return rc;
}

int
store_token_edit(struct store *s, const char *id, token_edit_fn fn,
    void *arg, struct token *out, const struct audit_event *ev)
{
	return OPS(s)->token_edit(s, id, fn, arg, out, ev);
}

int
store_token_rotate(struct store *s, const char *old_id, token_edit_fn fn,
    void *arg, const struct token *newt, const struct audit_event *ev)
{
	return OPS(s)->token_rotate(s, old_id, fn, arg, newt, ev);
}

int
store_token_list(struct store *s, enum tokset set, const char *key,
    int include_inactive, int64_t now, uint64_t offset, uint32_t limit,
    struct token **out, size_t *n, uint64_t *total)
{
	return OPS(s)->token_list(s, set, key, include_inactive, now, offset,
	    limit, out, n, total);
}

int
store_token_list_visible(struct store *s, const char *owner_id,
    const struct strlist *teams, const struct strlist *scope,
    int include_inactive, int64_t now, uint64_t offset, uint32_t limit,
    struct token **out, size_t *n, uint64_t *total)
{
	return OPS(s)->token_list_visible(s, owner_id, teams, scope,
	    include_inactive, now, offset, limit, out, n, total);
}

int
store_jti_revoke(struct store *s, const char *jti, int64_t exp_ms)
{
	return OPS(s)->jti_revoke(s, jti, exp_ms);
}

int
store_jti_revoked(struct store *s, const char *jti)
{
	return OPS(s)->jti_revoked(s, jti);
}

int
store_login_get(struct store *s, const char *email, unsigned *count,
    int64_t *last_ms)
{
	return OPS(s)->login_get(s, email, count, last_ms);
}

int
store_login_attempt(struct store *s, const char *email, int64_t now,
    int64_t window_ms, unsigned max, unsigned *count, int64_t *last_ms,
    int *locked)
{
	return OPS(s)->login_attempt(s, email, now, window_ms, max, count,
	    last_ms, locked);
}

int
store_login_reset(struct store *s, const char *email)
{
	return OPS(s)->login_reset(s, email);
}

int
store_audit_add(struct store *s, const struct audit_event *e)
{
	return OPS(s)->audit_add(s, e);
}

int
store_audit_list(struct store *s, const char *user_email, uint64_t offset,
    uint32_t limit, struct audit_event **out, size_t *n, uint64_t *total)
{
	return OPS(s)->audit_list(s, user_email, offset, limit, out, n, total);
}

int
store_use_record(struct store *s, const char *token_id, const struct use *u)
{
	return OPS(s)->use_record(s, token_id, u);
}

int
store_use_flush(struct store *s)
{
	return OPS(s)->use_flush(s);
}

size_t
store_use_pending(const struct store *s)
{
	return OPS(s)->use_pending(s);
}

int
store_use_due(const struct store *s, int64_t now)
{
	return OPS(s)->use_due(s, now);
}

int
store_use_last(struct store *s, const char *token_id, int64_t *last_ms)
{
	return OPS(s)->use_last(s, token_id, last_ms);
}

int
store_use_window(struct store *s, const char *token_id, int64_t now,
    const uint32_t cap[WIN__MAX], uint32_t count[WIN__MAX],
    int64_t frees_at[WIN__MAX])
{
	return OPS(s)->use_window(s, token_id, now, cap, count, frees_at);
}

int
store_use_admit(struct store *s, const char *token_id,
    const uint32_t cap[WIN__MAX], const struct use *u,
    uint32_t count[WIN__MAX], int64_t frees_at[WIN__MAX], int *admitted)
{
	return OPS(s)->use_admit(s, token_id, cap, u, count, frees_at,
	    admitted);
}

int
store_use_stats(struct store *s, const char *token_id, int64_t now,
    unsigned days, struct usage_stats *out)
{
	return OPS(s)->use_stats(s, token_id, now, days, out);
}

int
store_member_load(struct store *s, const struct membership *m)
{
	return OPS(s)->member_load(s, m);
}

int
store_jti_each(struct store *s, jti_each_fn fn, void *arg)
{
	return OPS(s)->jti_each(s, fn, arg);
}

int
store_use_each(struct store *s, use_each_fn fn, void *arg)
{
	return OPS(s)->use_each(s, fn, arg);
}
