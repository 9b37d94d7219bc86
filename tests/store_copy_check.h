/*
 * store_copy_check.h - a catalog of every kind of record, and the check
 * that two stores hold the same one through store.h, for the tests of
 * store_copy in test_store.c (LMDB) and test_store_pg.c (LMDB and
 * PostgreSQL). Static functions: included by one test file each.
 */
#ifndef TC_STORE_COPY_CHECK_H
#define TC_STORE_COPY_CHECK_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

struct cc_ids {
	char	team[TEAMID_LEN + 1];
	char	tok[3][UUID_LEN + 1];
	char	jti[UUID_LEN + 1];
};

static void
cc_user(struct store *s, struct user *u, const char *email, int64_t at)
{
	memset(u, 0, sizeof(*u));
	cr_assert_eq(util_uuid4(u->id), 0);
	snprintf(u->email, sizeof(u->email), "%s", email);
	snprintf(u->full_name, sizeof(u->full_name), "Name of %s", email);
	snprintf(u->pwhash, sizeof(u->pwhash), "$scrypt$not-hashed-again$%s",
	    email);
	u->is_active = 1;
	u->created_at = at;
	cr_assert_eq(store_user_add(s, u, NULL), STORE_OK);
}

/* Token i of u (team "" for none); revoked when asked. */
static void
cc_token(struct store *s, struct cc_ids *ids, int i, const struct user *u,
    const char *team, int revoked, int64_t at)
{
	struct token t;

	memset(&t, 0, sizeof(t));
	cr_assert_eq(util_uuid4(t.id), 0);
	cr_assert_eq(util_uuid4(t.jti), 0);
	util_sha256_hex(t.jti, strlen(t.jti), t.hash);
	memcpy(t.owner_id, u->id, sizeof(t.owner_id));
	memcpy(t.owner_email, u->email, sizeof(t.owner_email));
	snprintf(t.team_id, sizeof(t.team_id), "%s", team);
	snprintf(t.created_by, sizeof(t.created_by), "%s", u->email);
	t.name = strdup(i == 1 ? "same-name" : "other");
	t.description = i == 0 ? strdup("with a description") : NULL;
	t.created_at = at + i;
	t.expires_at = at + 86400000;
	t.is_active = 1;
	t.scope = json_tokener_parse("{\"permissions\":[\"tools.read\"]}");
	t.tags = json_tokener_parse("[\"a\",\"b\"]");
	if (revoked)
		cr_assert_eq(token_mark_revoked(&t, u->email, "leaked", at + 5), 0);
	cr_assert_eq(store_token_add(s, &t, NULL), STORE_OK);
	memcpy(ids->tok[i], t.id, UUID_LEN + 1);
	token_free(&t);
}

static void
cc_uses(struct store *s, const struct cc_ids *ids, int64_t now)
{
	static const char *const paths[] = { "/a", "/a", "/b", "/c" };
	struct use u = { 0, "GET", NULL, "192.0.2.1", "agent/1", 200, 0, 150 };
	size_t i;

	for (i = 0; i < 4; i++) {
		u.at = now - 1000 * (int64_t)(4 - i);
		u.path = paths[i];
		u.blocked = i == 3;
		u.status = i == 3 ? 403 : 200;
		cr_assert_eq(store_use_record(s, ids->tok[i % 2 == 0 ? 0 : 2], &u),
		    STORE_OK);
	}
	cr_assert_eq(store_use_flush(s), STORE_OK);
}

static void
cc_audit(struct store *s, int64_t at)
{
	static const char *const actions[] = { "user.create", "team.create",
	    "token.create" };
	struct audit_event e;
	size_t i;

	for (i = 0; i < 3; i++) {   /* one millisecond: their order counts */
		memset(&e, 0, sizeof(e));
		e.at = at;
		snprintf(e.actor, sizeof(e.actor), "tokencat(1)");
		snprintf(e.action, sizeof(e.action), "%s", actions[i]);
		snprintf(e.detail, sizeof(e.detail), "event %zu", i);
		cr_assert_eq(store_audit_add(s, &e), STORE_OK);
	}
}

/* Two users, a team with an owner and an older member, an invitation,
 * three tokens (one revoked, one of the team), a logged-out session, an
 * audit trail and uses. */
static void
cc_fill(struct store *s, struct cc_ids *ids)
{
	struct user a, b;
	struct team t;
	struct membership m;
	struct invitation inv;
	int64_t now = util_now_ms();

	cc_user(s, &a, "alice@example.com", 1000);
	cc_user(s, &b, "bob@example.com", 2000);
	memset(&t, 0, sizeof(t));
	cr_assert_eq(util_team_id(t.id), 0);
	snprintf(t.name, sizeof(t.name), "Platform");
	t.created_at = 3000;
	cr_assert_eq(store_team_add(s, &t, a.id, NULL), STORE_OK);
	memcpy(ids->team, t.id, sizeof(ids->team));
	m = (struct membership){ .role = ROLE_MEMBER, .joined_at = 4000 };
	memcpy(m.team_id, t.id, sizeof(m.team_id));
	memcpy(m.user_id, b.id, sizeof(m.user_id));
	cr_assert_eq(store_member_load(s, &m), STORE_OK);
	cr_assert_eq(store_member_load(s, &m), STORE_EXISTS);
	memset(&inv, 0, sizeof(inv));
	memcpy(inv.team_id, t.id, sizeof(inv.team_id));
	snprintf(inv.email, sizeof(inv.email), "carol@example.com");
	snprintf(inv.invited_by, sizeof(inv.invited_by), "alice@example.com");
	inv.role = ROLE_OWNER;
	inv.invited_at = now - 1000;
	inv.expires_at = now + 86400000;
	cr_assert_eq(store_invite_put(s, &inv, NULL), STORE_OK);
	cc_token(s, ids, 0, &a, "", 0, now - 60000);
	cc_token(s, ids, 1, &a, "", 1, now - 60000);
	cc_token(s, ids, 2, &b, t.id, 0, now - 60000);
	cr_assert_eq(util_uuid4(ids->jti), 0);
	cr_assert_eq(store_jti_revoke(s, ids->jti, now + 3600000), STORE_OK);
	cc_audit(s, now - 30000);
	cc_uses(s, ids, now);
}

static void
cc_same_users(struct store *x, struct store *y)
{
	struct user *u, *v;
	size_t n, m, i;
	uint64_t tu, tv;

	cr_assert_eq(store_user_list(x, 0, 100, &u, &n, &tu), STORE_OK);
	cr_assert_eq(store_user_list(y, 0, 100, &v, &m, &tv), STORE_OK);
	cr_assert_eq(n, m);
	cr_assert_eq(tu, tv);
	for (i = 0; i < n; i++)
		cr_expect(strcmp(u[i].id, v[i].id) == 0 &&
		    strcmp(u[i].email, v[i].email) == 0 &&
		    strcmp(u[i].full_name, v[i].full_name) == 0 &&
		    strcmp(u[i].pwhash, v[i].pwhash) == 0 &&
		    u[i].is_admin == v[i].is_admin &&
		    u[i].is_active == v[i].is_active &&
		    u[i].created_at == v[i].created_at, "user %s", u[i].email);
	free(u);
	free(v);
}

static void
cc_same_team(struct store *x, struct store *y, const char *team)
{
	struct membership *a, *b;
	struct invitation *ia, *ib;
	struct team ta, tb;
	size_t n, m, i;

	cr_assert_eq(store_team_get(x, team, &ta), STORE_OK);
	cr_assert_eq(store_team_get(y, team, &tb), STORE_OK);
	cr_expect(strcmp(ta.name, tb.name) == 0 && ta.created_at == tb.created_at &&
	    ta.member_count == tb.member_count && ta.member_count == 2);
	cr_assert_eq(store_team_members(x, team, &a, &n), STORE_OK);
	cr_assert_eq(store_team_members(y, team, &b, &m), STORE_OK);
	cr_assert_eq(n, m);
	for (i = 0; i < n; i++)
		cr_expect(strcmp(a[i].user_id, b[i].user_id) == 0 &&
		    a[i].role == b[i].role && a[i].joined_at == b[i].joined_at);
	free(a);
	free(b);
	cr_assert_eq(store_invite_list(x, 1, team, util_now_ms(), &ia, &n), 0);
	cr_assert_eq(store_invite_list(y, 1, team, util_now_ms(), &ib, &m), 0);
	cr_assert_eq(n, m);
	for (i = 0; i < n; i++)
		cr_expect(strcmp(ia[i].email, ib[i].email) == 0 &&
		    ia[i].role == ib[i].role &&
		    strcmp(ia[i].invited_by, ib[i].invited_by) == 0 &&
		    ia[i].invited_at == ib[i].invited_at &&
		    ia[i].expires_at == ib[i].expires_at);
	free(ia);
	free(ib);
}

static int
cc_str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL &&
	    strcmp(a, b) == 0);
}

static void
cc_same_token(const struct token *a, const struct token *b)
{
	cr_expect_str_eq(a->id, b->id);
	cr_expect_str_eq(a->jti, b->jti);
	cr_expect_str_eq(a->hash, b->hash);
	cr_expect_str_eq(a->owner_id, b->owner_id);
	cr_expect_str_eq(a->team_id, b->team_id);
	cr_expect(cc_str_eq(a->name, b->name) && cc_str_eq(a->description,
	    b->description) && cc_str_eq(a->revoked_by, b->revoked_by) &&
	    cc_str_eq(a->revocation_reason, b->revocation_reason));
	cr_expect_eq(a->created_at, b->created_at);
	cr_expect_eq(a->expires_at, b->expires_at);
	cr_expect_eq(a->last_used, b->last_used);
	cr_expect_eq(a->is_active, b->is_active);
	cr_expect_eq(a->is_revoked, b->is_revoked);
	cr_expect_eq(a->revoked_at, b->revoked_at);
	cr_expect(json_object_equal(a->scope, b->scope));
	cr_expect(json_object_equal(a->tags, b->tags));
}

/* The lists and their counted totals, with and without the inactive. */
static void
cc_same_tokens(struct store *x, struct store *y, const char *team)
{
	struct token *a, *b;
	size_t n, m, i;
	uint64_t ta, tb;
	int all;

	for (all = 0; all < 2; all++) {
		cr_assert_eq(store_token_list(x, TOKSET_ALL, NULL, all,
		    util_now_ms(), 0, 100, &a, &n, &ta), STORE_OK);
		cr_assert_eq(store_token_list(y, TOKSET_ALL, NULL, all,
		    util_now_ms(), 0, 100, &b, &m, &tb), STORE_OK);
		cr_assert_eq(n, m);
		cr_assert_eq(ta, tb);
		for (i = 0; i < n; i++)
			cc_same_token(&a[i], &b[i]);
		tokens_free(a, n);
		tokens_free(b, m);
	}
	cr_assert_eq(store_token_list(x, TOKSET_TEAM, team, 1, util_now_ms(),
	    0, 100, &a, &n, &ta), STORE_OK);
	cr_assert_eq(store_token_list(y, TOKSET_TEAM, team, 1, util_now_ms(),
	    0, 100, &b, &m, &tb), STORE_OK);
	cr_expect_eq(ta, 1);
	cr_expect_eq(tb, 1);
	tokens_free(a, n);
	tokens_free(b, m);
}

static void
cc_same_audit(struct store *x, struct store *y)
{
	struct audit_event *a, *b;
	size_t n, m, i;
	uint64_t ta, tb;

	cr_assert_eq(store_audit_list(x, NULL, 0, 100, &a, &n, &ta), STORE_OK);
	cr_assert_eq(store_audit_list(y, NULL, 0, 100, &b, &m, &tb), STORE_OK);
	cr_assert_eq(n, m);
	cr_assert_eq(ta, tb);
	for (i = 0; i < n; i++)
		cr_expect(a[i].at == b[i].at && strcmp(a[i].actor, b[i].actor) == 0 &&
		    strcmp(a[i].action, b[i].action) == 0 &&
		    strcmp(a[i].token_id, b[i].token_id) == 0 &&
		    strcmp(a[i].target_user, b[i].target_user) == 0 &&
		    strcmp(a[i].detail, b[i].detail) == 0, "event %zu", i);
	free(a);
	free(b);
}

static void
cc_same_usage(struct store *x, struct store *y, const char *tok)
{
	struct usage_stats a, b;
	int64_t now = util_now_ms();
	size_t i;

	cr_assert_eq(store_use_stats(x, tok, now, 7, &a), STORE_OK);
	cr_assert_eq(store_use_stats(y, tok, now, 7, &b), STORE_OK);
	cr_expect_eq(a.total, b.total);
	cr_expect_eq(a.allowed, b.allowed);
	cr_expect_eq(a.blocked, b.blocked);
	cr_expect_eq(a.sum_us, b.sum_us);
	cr_assert_eq(a.ntop, b.ntop);
	for (i = 0; i < a.ntop; i++) {
		cr_expect_str_eq(a.top[i].path, b.top[i].path);
		cr_expect_eq(a.top[i].n, b.top[i].n);
	}
	cr_assert_eq(a.ndays, b.ndays);
	for (i = 0; i < a.ndays; i++)
		cr_expect(a.days[i].day == b.days[i].day &&
		    a.days[i].allowed == b.days[i].allowed &&
		    a.days[i].blocked == b.days[i].blocked);
	free(a.days);
	free(b.days);
}

/* x and y hold the catalog cc_fill made (ids). */
static void
cc_same(struct store *x, struct store *y, const struct cc_ids *ids)
{
	struct usage_stats st;
	int i, empty;

	cc_same_users(x, y);
	cc_same_team(x, y, ids->team);
	cc_same_tokens(x, y, ids->team);
	cc_same_audit(x, y);
	for (i = 0; i < 3; i++)
		cc_same_usage(x, y, ids->tok[i]);
	cr_assert_eq(store_use_stats(y, ids->tok[0], util_now_ms(), 1, &st), 0);
	cr_expect_eq(st.total, 2, "the uses are there, not only equal");
	free(st.days);
	cr_expect_eq(store_jti_revoked(y, ids->jti), 1);
	cr_assert_eq(store_empty(y, &empty), STORE_OK);
	cr_expect_eq(empty, 0);
}

/*
 * The held-name index of s was rebuilt: alice's live "other" is taken,
 * the name of her revoked token is free. Adds a token to s.
 */
static void
cc_names(struct store *s, const struct cc_ids *ids)
{
	struct token t;

	cr_assert_eq(store_token_get(s, ids->tok[0], &t), STORE_OK);
	cr_assert_eq(util_uuid4(t.id), 0);
	cr_assert_eq(util_uuid4(t.jti), 0);
	cr_expect_eq(store_token_add(s, &t, NULL), STORE_EXISTS);
	free(t.name);
	t.name = strdup("same-name");
	cr_expect_eq(store_token_add(s, &t, NULL), STORE_OK);
	token_free(&t);
}

#endif
