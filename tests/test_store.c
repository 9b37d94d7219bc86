/*
 * test_store.c - the LMDB store against a real environment in a temporary
 * directory: records, uniqueness inside the write transaction, indexes and
 * counters, map growth, backup.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "store_copy_check.h"

static char dir[64];
static struct store *st;

static void
rm_rf(const char *d)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	cr_assert_eq(system(cmd), 0);
}

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/tc-store-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(store_open(&st, dir, 1, STORE_CREATE), STORE_OK);
}

static void
teardown(void)
{
	store_close(st);
	st = NULL;
	rm_rf(dir);
}

TestSuite(store, .init = setup, .fini = teardown);

static void
mkuser(struct user *u, const char *email, int admin)
{
	memset(u, 0, sizeof(*u));
	cr_assert_eq(util_uuid4(u->id), 0);
	snprintf(u->email, sizeof(u->email), "%s", email);
	snprintf(u->full_name, sizeof(u->full_name), "Name of %s", email);
	u->is_admin = admin;
	u->is_active = 1;
	u->created_at = util_now_ms();
	cr_assert_eq(store_user_add(st, u, NULL), STORE_OK);
}

static void
mkteam(struct team *t, const char *name, const char *owner)
{
	memset(t, 0, sizeof(*t));
	cr_assert_eq(util_team_id(t->id), 0);
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->created_at = util_now_ms();
	cr_assert_eq(store_team_add(st, t, owner, NULL), STORE_OK);
}

/* Fill a token of owner u (team may be NULL) created at `at`. Caller frees. */
static void
mktoken(struct token *t, const struct user *u, const char *team,
    const char *name, int64_t at, int64_t expires)
{
	memset(t, 0, sizeof(*t));
	cr_assert_eq(util_uuid4(t->id), 0);
	cr_assert_eq(util_uuid4(t->jti), 0);
	util_sha256_hex(t->id, strlen(t->id), t->hash);
	memcpy(t->owner_id, u->id, sizeof(t->owner_id));
	memcpy(t->owner_email, u->email, sizeof(t->owner_email));
	snprintf(t->team_id, sizeof(t->team_id), "%s", team ? team : "");
	snprintf(t->created_by, sizeof(t->created_by), "%s", u->email);
	t->name = strdup(name);
	t->created_at = at;
	t->expires_at = expires;
	t->is_active = 1;
	t->scope = json_object_new_object();
	t->tags = json_object_new_array();
}

static int
add_token(const struct user *u, const char *team, const char *name, int64_t at,
    int64_t expires, char *id_out)
{
	struct token t;
	int rc;

	mktoken(&t, u, team, name, at, expires);
	rc = store_token_add(st, &t, NULL);
	if (id_out != NULL)
		memcpy(id_out, t.id, UUID_LEN + 1);
	token_free(&t);
	return rc;
}

Test(store, open_without_create_needs_a_database)
{
	struct store *s2;
	char empty[64];

	snprintf(empty, sizeof(empty), "/tmp/tc-empty-XXXXXX");
	cr_assert_not_null(mkdtemp(empty));
	cr_expect_eq(store_open(&s2, empty, 1, 0), STORE_NOTFOUND);
	cr_expect_null(s2);
	cr_expect_eq(store_open(&s2, "/nonexistent/tc", 1, 0), STORE_NOTFOUND);
	rm_rf(empty);
}

Test(store, users_by_id_and_case_insensitive_email)
{
	struct user a, got, dup;

	mkuser(&a, "alice@example.com", 0);
	cr_assert_eq(store_user_get(st, a.id, &got), STORE_OK);
	cr_expect_str_eq(got.email, "alice@example.com");
	cr_expect_str_eq(got.full_name, "Name of alice@example.com");
	cr_expect_eq(got.is_active, 1);
	cr_assert_eq(store_user_by_email(st, "ALICE@Example.COM", &got), STORE_OK);
	cr_expect_str_eq(got.id, a.id);
	dup = a;
	cr_assert_eq(util_uuid4(dup.id), 0);
	cr_expect_eq(store_user_add(st, &dup, NULL), STORE_EXISTS);
	cr_expect_eq(store_user_by_email(st, "nobody@example.com", &got), STORE_NOTFOUND);
	cr_expect_eq(store_user_get(st, "not-a-uuid", &got), STORE_NOTFOUND);
	got.is_active = 0;
	got.is_admin = 1;
	cr_assert_eq(store_user_put(st, &got, NULL), STORE_OK);
	cr_assert_eq(store_user_get(st, a.id, &got), STORE_OK);
	cr_expect_eq(got.is_active, 0);
	cr_expect_eq(got.is_admin, 1);
	cr_expect_eq(store_user_put(st, &dup, NULL), STORE_NOTFOUND);
}

Test(store, user_list_pages_by_email)
{
	struct user u, *v;
	size_t n;
	uint64_t total;

	mkuser(&u, "c@example.com", 0);
	mkuser(&u, "a@example.com", 0);
	mkuser(&u, "b@example.com", 1);
	cr_assert_eq(store_user_list(st, 1, 5, &v, &n, &total), STORE_OK);
	cr_expect_eq(total, 3);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(v[0].email, "b@example.com");
	cr_expect_str_eq(v[1].email, "c@example.com");
	free(v);
}

Test(store, teams_members_and_the_last_owner)
{
	struct user o, m, *unused = NULL;
	struct team t, got, dup, *all;
	struct membership *ms;
	size_t n;
	int role, created;

	(void)unused;
	mkuser(&o, "owner@example.com", 0);
	mkuser(&m, "member@example.com", 0);
	mkteam(&t, "Blue Team", o.id);
	dup = t;
	cr_assert_eq(util_team_id(dup.id), 0);
	snprintf(dup.name, sizeof(dup.name), "blue TEAM");
	cr_expect_eq(store_team_add(st, &dup, NULL, NULL), STORE_EXISTS);

	cr_assert_eq(store_member_get(st, t.id, o.id, &role), STORE_OK);
	cr_expect_eq(role, ROLE_OWNER);
	cr_expect_eq(store_member_get(st, t.id, m.id, &role), STORE_NOTFOUND);
	cr_assert_eq(store_member_set(st, t.id, m.id, ROLE_MEMBER, &created, NULL), STORE_OK);
	cr_expect_eq(created, 1);
	cr_assert_eq(store_member_set(st, t.id, m.id, ROLE_MEMBER, &created, NULL), STORE_OK);
	cr_expect_eq(created, 0);
	cr_assert_eq(store_team_get(st, t.id, &got), STORE_OK);
	cr_expect_str_eq(got.name, "Blue Team");
	cr_expect_eq(got.member_count, 2);

	/* the only owner can be neither removed nor demoted */
	cr_expect_eq(store_member_del(st, t.id, o.id, NULL), STORE_LASTOWNER);
	cr_expect_eq(store_member_set(st, t.id, o.id, ROLE_MEMBER, NULL, NULL), STORE_LASTOWNER);
	cr_assert_eq(store_member_set(st, t.id, m.id, ROLE_OWNER, NULL, NULL), STORE_OK);
	cr_expect_eq(store_member_del(st, t.id, o.id, NULL), STORE_OK);
	cr_expect_eq(store_member_del(st, t.id, o.id, NULL), STORE_NOTFOUND);

	cr_assert_eq(store_user_teams(st, m.id, &ms, &n), STORE_OK);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(ms[0].team_id, t.id);
	cr_expect_eq(ms[0].role, ROLE_OWNER);
	free(ms);
	cr_assert_eq(store_team_members(st, t.id, &ms, &n), STORE_OK);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(ms[0].user_id, m.id);
	free(ms);

	mkteam(&dup, "Alpha", NULL);
	cr_assert_eq(store_team_list(st, &all, &n), STORE_OK);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(all[0].name, "Alpha");
	cr_expect_eq(all[0].member_count, 0);
	free(all);
	cr_expect_eq(store_member_set(st, "0123456789abcdef0123456789abcdef", m.id,
	    ROLE_MEMBER, NULL, NULL), STORE_NOTFOUND);
}

Test(store, active_names_are_unique_per_owner_and_team)
{
	struct user a, b;
	struct team t;

	mkuser(&a, "a@example.com", 0);
	mkuser(&b, "b@example.com", 0);
	mkteam(&t, "T", a.id);
	cr_expect_eq(add_token(&a, NULL, "ci", 1000, 0, NULL), STORE_OK);
	cr_expect_eq(add_token(&a, NULL, "ci", 1001, 0, NULL), STORE_EXISTS);
	cr_expect_eq(add_token(&a, t.id, "ci", 1002, 0, NULL), STORE_OK);
	cr_expect_eq(add_token(&a, t.id, "ci", 1003, 0, NULL), STORE_EXISTS);
	cr_expect_eq(add_token(&b, NULL, "ci", 1004, 0, NULL), STORE_OK);
	cr_expect_eq(add_token(&a, NULL, "CI", 1005, 0, NULL), STORE_OK);
}

static int
ed_revoke(struct token *t, void *arg)
{
	(void)arg;
	if (t->is_revoked)
		return 7;       /* the caller's own code: nothing to write */
	t->is_revoked = 1;
	t->is_active = 0;
	t->revoked_at = 42;
	t->revoked_by = strdup("a@example.com");
	t->revocation_reason = strdup("Revoked by user");
	return 0;
}

static int
ed_set_active(struct token *t, void *arg)
{
	t->is_active = *(int *)arg;
	return 0;
}

static int
ed_rename(struct token *t, void *arg)
{
	free(t->name);
	t->name = strdup(arg);
	return 0;
}

Test(store, edits_keep_names_and_indexes_consistent)
{
	struct user a;
	struct token got;
	char id1[UUID_LEN + 1], id2[UUID_LEN + 1];
	int off = 0, on = 1;

	mkuser(&a, "a@example.com", 0);
	cr_assert_eq(add_token(&a, NULL, "one", 1000, 0, id1), STORE_OK);
	cr_assert_eq(store_token_edit(st, id1, ed_revoke, NULL, &got, NULL), STORE_OK);
	cr_expect_eq(got.is_revoked, 1);
	cr_expect_str_eq(got.revocation_reason, "Revoked by user");
	token_free(&got);
	/* the callback's refusal comes back unchanged, nothing written */
	cr_expect_eq(store_token_edit(st, id1, ed_revoke, NULL, NULL, NULL), 7);
	/* a revoked name is free again */
	cr_assert_eq(add_token(&a, NULL, "one", 2000, 0, id2), STORE_OK);
	/* deactivate the new one, take its name with a rename, reactivate: 409 */
	cr_assert_eq(store_token_edit(st, id2, ed_set_active, &off, NULL, NULL), STORE_OK);
	cr_assert_eq(add_token(&a, NULL, "two", 3000, 0, id1), STORE_OK);
	cr_assert_eq(store_token_edit(st, id1, ed_rename, (void *)"one", NULL, NULL), STORE_OK);
	cr_expect_eq(store_token_edit(st, id2, ed_set_active, &on, NULL, NULL), STORE_EXISTS);
	cr_assert_eq(store_token_get(st, id2, &got), STORE_OK);
	cr_expect_eq(got.is_active, 0, "a refused edit must not be written");
	token_free(&got);
	cr_expect_eq(store_token_edit(st, "00000000-0000-4000-8000-000000000000",
	    ed_set_active, &on, NULL, NULL), STORE_NOTFOUND);
}

Test(store, token_lookup_by_id_and_jti)
{
	struct user a;
	struct token t, got;

	mkuser(&a, "a@example.com", 0);
	mktoken(&t, &a, NULL, "x", 5, 0);
	json_object_object_add(t.scope, "server_id", json_object_new_string("s1"));
	json_object_array_add(t.tags, json_object_new_string("prod"));
	cr_assert_eq(store_token_add(st, &t, NULL), STORE_OK);
	cr_assert_eq(store_token_by_jti(st, t.jti, &got), STORE_OK);
	cr_expect_str_eq(got.id, t.id);
	cr_expect_str_eq(got.hash, t.hash);
	cr_expect_str_eq(json_object_get_string(json_object_object_get(got.scope,
	    "server_id")), "s1");
	cr_expect_eq(json_object_array_length(got.tags), 1);
	cr_expect_null(got.description);
	token_free(&got);
	cr_expect_eq(store_token_by_jti(st, "nope", &got), STORE_NOTFOUND);
	cr_expect_eq(store_token_get(st, "../../etc", &got), STORE_NOTFOUND);
	token_free(&t);
}

#include "store_auth_check.h"

/* What a check reads, together: token, owner, the owner's team role. */
Test(store, token_auth_reads_token_owner_and_role)
{
	token_auth_check(NULL);
}

Test(store, list_newest_first_with_counted_totals)
{
	struct user a, b;
	struct token *v;
	size_t n;
	uint64_t total;
	char ids[10][UUID_LEN + 1], name[16];
	int i, off = 0;
	int64_t now = util_now_ms();

	mkuser(&a, "a@example.com", 0);
	mkuser(&b, "b@example.com", 0);
	for (i = 0; i < 10; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		cr_assert_eq(add_token(&a, NULL, name, 1000 + i,
		    i == 9 ? now - 1 : 0, ids[i]), STORE_OK);   /* t9 expired */
	}
	cr_assert_eq(add_token(&b, NULL, "other", 5000, 0, NULL), STORE_OK);
	cr_assert_eq(store_token_edit(st, ids[8], ed_revoke, NULL, NULL, NULL), STORE_OK);
	cr_assert_eq(store_token_edit(st, ids[7], ed_set_active, &off, NULL, NULL), STORE_OK);

	/* all of a's: 10, newest first */
	cr_assert_eq(store_token_list(st, TOKSET_OWNER, a.id, 1, now, 0, 4, &v, &n, &total), 0);
	cr_expect_eq(total, 10);
	cr_assert_eq(n, 4);
	cr_expect_str_eq(v[0].id, ids[9]);
	cr_expect_str_eq(v[3].id, ids[6]);
	tokens_free(v, n);
	/* live only: t9 expired, t8 revoked, t7 inactive are hidden */
	cr_assert_eq(store_token_list(st, TOKSET_OWNER, a.id, 0, now, 0, 4, &v, &n, &total), 0);
	cr_expect_eq(total, 7);
	cr_assert_eq(n, 4);
	cr_expect_str_eq(v[0].id, ids[6]);
	cr_expect_str_eq(v[3].id, ids[3]);
	tokens_free(v, n);
	cr_assert_eq(store_token_list(st, TOKSET_OWNER, a.id, 0, now, 4, 4, &v, &n, &total), 0);
	cr_assert_eq(n, 3);
	cr_expect_str_eq(v[2].id, ids[0]);
	tokens_free(v, n);
	cr_assert_eq(store_token_list(st, TOKSET_ALL, NULL, 1, now, 0, 1, &v, &n, &total), 0);
	cr_expect_eq(total, 11);
	cr_expect_str_eq(v[0].name, "other");
	tokens_free(v, n);
	cr_assert_eq(store_token_list(st, TOKSET_OWNER, b.id, 0, now, 5, 10, &v, &n, &total), 0);
	cr_expect_eq(total, 1);
	cr_expect_eq(n, 0);
	tokens_free(v, n);
}

Test(store, team_set_lists_team_tokens)
{
	struct user a;
	struct team t;
	struct token *v;
	size_t n;
	uint64_t total;

	mkuser(&a, "a@example.com", 0);
	mkteam(&t, "T", a.id);
	cr_assert_eq(add_token(&a, t.id, "team", 10, 0, NULL), STORE_OK);
	cr_assert_eq(add_token(&a, NULL, "solo", 11, 0, NULL), STORE_OK);
	cr_assert_eq(store_token_list(st, TOKSET_TEAM, t.id, 0, 0, 0, 10, &v, &n, &total), 0);
	cr_expect_eq(total, 1);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(v[0].name, "team");
	tokens_free(v, n);
}

Test(store, own_and_team_tokens_together)
{
	struct user a, b;
	struct team t1, t2, t3;
	struct strlist teams = { NULL, 0 };
	struct token *v;
	size_t n;
	uint64_t total;
	char id[UUID_LEN + 1];

	mkuser(&a, "a@example.com", 0);
	mkuser(&b, "b@example.com", 0);
	mkteam(&t1, "T1", a.id);
	mkteam(&t2, "T2", b.id);
	mkteam(&t3, "T3", b.id);
	cr_assert_eq(add_token(&a, NULL, "own", 1, 0, NULL), STORE_OK);
	cr_assert_eq(add_token(&a, t1.id, "own-t1", 2, 0, NULL), STORE_OK);
	cr_assert_eq(add_token(&b, t1.id, "b-t1", 3, 0, id), STORE_OK);
	cr_assert_eq(add_token(&b, t2.id, "b-t2", 4, 0, NULL), STORE_OK);
	cr_assert_eq(add_token(&b, t3.id, "b-t3", 5, 0, NULL), STORE_OK);
	strlist_add(&teams, t1.id);
	strlist_add(&teams, t2.id);
	cr_assert_eq(store_token_list_visible(st, a.id, &teams, NULL, 0, 10, 0, 10, &v, &n,
	    &total), STORE_OK);
	cr_expect_eq(total, 4, "own-t1 is counted once");
	cr_assert_eq(n, 4);
	cr_expect_str_eq(v[0].name, "b-t2");
	cr_expect_str_eq(v[3].name, "own");
	tokens_free(v, n);
	cr_assert_eq(store_token_list_visible(st, a.id, &teams, NULL, 0, 10, 1, 2, &v, &n,
	    &total), STORE_OK);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(v[0].name, "b-t1");
	cr_expect_str_eq(v[1].name, "own-t1");
	tokens_free(v, n);
	cr_assert_eq(store_token_edit(st, id, ed_revoke, NULL, NULL, NULL), STORE_OK);
	cr_assert_eq(store_token_list_visible(st, a.id, &teams, NULL, 0, 10, 0, 10, &v, &n,
	    &total), STORE_OK);
	cr_expect_eq(total, 3, "a revoked team token is hidden");
	tokens_free(v, n);
	strlist_free(&teams);
}

Test(store, own_tokens_of_teams_outside_the_scope)
{
	struct user a, b;
	struct team t1, t2;
	struct strlist teams = { NULL, 0 }, scope = { NULL, 0 };
	struct token *v;
	size_t n;
	uint64_t total;
	char id[UUID_LEN + 1];

	mkuser(&a, "a@example.com", 0);
	mkuser(&b, "b@example.com", 0);
	mkteam(&t1, "T1", a.id);
	mkteam(&t2, "T2", a.id);
	cr_assert_eq(store_member_set(st, t1.id, b.id, ROLE_MEMBER, NULL, NULL), STORE_OK);
	cr_assert_eq(add_token(&a, NULL, "own", 1, 0, NULL), STORE_OK);
	cr_assert_eq(add_token(&a, t1.id, "own-t1", 2, 0, NULL), STORE_OK);
	cr_assert_eq(add_token(&a, t2.id, "own-t2", 3, 0, id), STORE_OK);
	cr_assert_eq(add_token(&a, t2.id, "own-t2-b", 4, 0, NULL), STORE_OK);
	cr_assert_eq(add_token(&b, t1.id, "b-t1", 5, 0, NULL), STORE_OK);
	cr_assert_eq(add_token(&b, NULL, "b-own", 6, 0, NULL), STORE_OK);

	/* narrowed to T1: own team-less and T1 tokens, none of T2 */
	strlist_add(&scope, t1.id);
	strlist_add(&teams, t1.id);
	cr_assert_eq(store_token_list_visible(st, a.id, &teams, &scope, 0, 10, 0, 10,
	    &v, &n, &total), STORE_OK);
	cr_expect_eq(total, 3);
	cr_assert_eq(n, 3);
	cr_expect_str_eq(v[0].name, "b-t1");
	cr_expect_str_eq(v[1].name, "own-t1");
	cr_expect_str_eq(v[2].name, "own");
	tokens_free(v, n);
	/* a page further on skips the tokens outside without counting them */
	cr_assert_eq(store_token_list_visible(st, a.id, &teams, &scope, 0, 10, 1, 1,
	    &v, &n, &total), STORE_OK);
	cr_expect_eq(total, 3);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(v[0].name, "own-t1");
	tokens_free(v, n);

	/* public-only: the team-less token alone, inactive ones included too */
	cr_assert_eq(store_token_edit(st, id, ed_revoke, NULL, NULL, NULL), STORE_OK);
	strlist_free(&scope);
	strlist_free(&teams);
	cr_assert_eq(store_token_list_visible(st, a.id, &teams, &scope, 1, 10, 0, 10,
	    &v, &n, &total), STORE_OK);
	cr_expect_eq(total, 1);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(v[0].name, "own");
	tokens_free(v, n);

	/* not narrowed: every own token */
	cr_assert_eq(store_token_list_visible(st, a.id, &teams, NULL, 1, 10, 0, 10,
	    &v, &n, &total), STORE_OK);
	cr_expect_eq(total, 4);
	cr_expect_eq(n, 4);
	tokens_free(v, n);
}

/* An invitation of email to team by "owner@example.com" made at `at`,
 * valid for `life` ms. */
static void
mkinvite(struct invitation *inv, const char *team, const char *email, int role,
    int64_t at, int64_t life)
{
	memset(inv, 0, sizeof(*inv));
	snprintf(inv->team_id, sizeof(inv->team_id), "%s", team);
	snprintf(inv->email, sizeof(inv->email), "%s", email);
	inv->role = role;
	snprintf(inv->invited_by, sizeof(inv->invited_by), "owner@example.com");
	inv->invited_at = at;
	inv->expires_at = at + life;
}

/* The number of audit events of action. */
static size_t
audit_count(const char *action)
{
	struct audit_event *ev;
	uint64_t total;
	size_t i, n, k = 0;

	cr_assert_eq(store_audit_list(st, NULL, 0, 1000, &ev, &n, &total), STORE_OK);
	for (i = 0; i < n; i++)
		k += strcmp(ev[i].action, action) == 0;
	free(ev);
	return k;
}

Test(store, invitations_by_email_accept_decline_expire)
{
	struct user o, a;
	struct team t;
	struct invitation inv, got, *v;
	struct audit_event ev;
	struct membership *ms;
	size_t n;
	int64_t now = util_now_ms(), day = 86400000, joined;
	int role;

	mkuser(&o, "owner@example.com", 0);
	mkuser(&a, "a@example.com", 0);
	mkteam(&t, "Blue", o.id);
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.action, sizeof(ev.action), "team.invite");

	/* an e-mail with an account and one without are stored alike */
	mkinvite(&inv, t.id, "A@Example.com", ROLE_MEMBER, now, 30 * day);
	cr_assert_eq(store_invite_put(st, &inv, &ev), STORE_OK);
	mkinvite(&inv, t.id, "ghost@example.com", ROLE_OWNER, now + 1, 30 * day);
	cr_assert_eq(store_invite_put(st, &inv, &ev), STORE_OK);
	cr_expect_eq(audit_count("team.invite"), 2, "each with its event");
	cr_assert_eq(store_invite_list(st, 1, t.id, now, &v, &n), STORE_OK);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(v[0].email, "ghost@example.com", "newest first");
	cr_expect_str_eq(v[1].email, "a@example.com", "stored lowercase");
	cr_expect_eq(v[1].role, ROLE_MEMBER);
	cr_expect_str_eq(v[1].invited_by, "owner@example.com");
	free(v);
	cr_assert_eq(store_invite_list(st, 0, "a@EXAMPLE.com", now, &v, &n), STORE_OK);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(v[0].team_id, t.id);
	free(v);
	cr_expect_eq(store_invite_get(st, t.id, "a@example.com", now, &got), STORE_OK);
	cr_expect_eq(got.expires_at, now + 30 * day);

	/* nothing is a membership until it is accepted, and expired is gone */
	cr_expect_eq(store_member_get(st, t.id, a.id, &role), STORE_NOTFOUND);
	cr_expect_eq(store_invite_get(st, t.id, "a@example.com", now + 30 * day, &got),
	    STORE_NOTFOUND);
	cr_expect_eq(store_invite_accept(st, t.id, a.id, "a@example.com", now + 30 * day,
	    &role, NULL), STORE_NOTFOUND);
	cr_expect_eq(store_member_get(st, t.id, a.id, &role), STORE_NOTFOUND);
	cr_expect_eq(store_invite_accept(st, t.id, o.id, "owner@example.com", now,
	    &role, NULL), STORE_NOTFOUND, "only the invited e-mail accepts");

	/* accept: a member with the invited role, the invitation used up */
	snprintf(ev.action, sizeof(ev.action), "team.invite.accept");
	cr_assert_eq(store_invite_accept(st, t.id, a.id, "A@example.com", now, &role,
	    &ev), STORE_OK);
	cr_expect_eq(role, ROLE_MEMBER);
	cr_expect_eq(audit_count("team.invite.accept"), 1);
	cr_assert_eq(store_member_get(st, t.id, a.id, &role), STORE_OK);
	cr_expect_eq(role, ROLE_MEMBER);
	cr_expect_eq(store_invite_get(st, t.id, "a@example.com", now, &got), STORE_NOTFOUND);
	cr_expect_eq(store_invite_accept(st, t.id, a.id, "a@example.com", now, &role,
	    &ev), STORE_NOTFOUND);
	cr_expect_eq(audit_count("team.invite.accept"), 1, "no event without a change");

	/* a member accepting keeps the higher role and its joined_at */
	cr_assert_eq(store_user_teams(st, a.id, &ms, &n), STORE_OK);
	cr_assert_eq(n, 1);
	joined = ms[0].joined_at;
	free(ms);
	mkinvite(&inv, t.id, "a@example.com", ROLE_OWNER, now + 5, day);
	cr_assert_eq(store_invite_put(st, &inv, NULL), STORE_OK);
	cr_assert_eq(store_invite_accept(st, t.id, a.id, "a@example.com", now + 6, &role,
	    NULL), STORE_OK);
	cr_expect_eq(role, ROLE_OWNER);
	mkinvite(&inv, t.id, "a@example.com", ROLE_MEMBER, now + 7, day);
	cr_assert_eq(store_invite_put(st, &inv, NULL), STORE_OK);
	cr_assert_eq(store_invite_accept(st, t.id, a.id, "a@example.com", now + 8, &role,
	    NULL), STORE_OK);
	cr_expect_eq(role, ROLE_OWNER, "accepting never demotes");
	cr_assert_eq(store_user_teams(st, a.id, &ms, &n), STORE_OK);
	cr_expect_eq(ms[0].role, ROLE_OWNER);
	cr_expect_eq(ms[0].joined_at, joined);
	free(ms);

	/* decline (or withdraw): gone, once */
	cr_expect_eq(store_invite_del(st, t.id, "GHOST@example.com", now, NULL), STORE_OK);
	cr_expect_eq(store_invite_del(st, t.id, "ghost@example.com", now, NULL),
	    STORE_NOTFOUND);
	cr_assert_eq(store_invite_list(st, 0, "ghost@example.com", now, &v, &n), STORE_OK);
	cr_expect_eq(n, 0);
	free(v);

	/* unknown team, malformed input: nothing stored, no event */
	snprintf(ev.action, sizeof(ev.action), "team.invite.bad");
	mkinvite(&inv, "0123456789abcdef0123456789abcdef", "x@example.com",
	    ROLE_MEMBER, now, day);
	cr_expect_eq(store_invite_put(st, &inv, &ev), STORE_NOTFOUND);
	cr_expect_eq(audit_count("team.invite.bad"), 0);
	mkinvite(&inv, "nope", "x@example.com", ROLE_MEMBER, now, day);
	cr_expect_eq(store_invite_put(st, &inv, NULL), STORE_INVALID);
	mkinvite(&inv, t.id, "x@example.com", ROLE_NONE, now, day);
	cr_expect_eq(store_invite_put(st, &inv, NULL), STORE_INVALID);
	mkinvite(&inv, t.id, "x@example.com", ROLE_MEMBER, now, 0);
	cr_expect_eq(store_invite_put(st, &inv, NULL), STORE_INVALID);
	cr_expect_eq(store_invite_get(st, "nope", "x@example.com", now, &got),
	    STORE_NOTFOUND);
}

Test(store, expired_invitations_are_purged_by_the_next_one)
{
	struct user o;
	struct team t;
	struct invitation inv, *v;
	size_t n;
	int64_t now = util_now_ms(), day = 86400000;

	mkuser(&o, "owner@example.com", 0);
	mkteam(&t, "Green", o.id);
	mkinvite(&inv, t.id, "old@example.com", ROLE_MEMBER, now - 40 * day, 30 * day);
	cr_assert_eq(store_invite_put(st, &inv, NULL), STORE_OK);
	cr_assert_eq(store_invite_list(st, 1, t.id, now, &v, &n), STORE_OK);
	cr_expect_eq(n, 0, "an expired invitation is not pending");
	free(v);
	cr_assert_eq(store_invite_list(st, 1, t.id, 0, &v, &n), STORE_OK);
	cr_expect_eq(n, 1, "but stored");
	free(v);
	cr_expect_eq(store_invite_del(st, t.id, "old@example.com", now, NULL),
	    STORE_NOTFOUND, "nor declined");
	mkinvite(&inv, t.id, "new@example.com", ROLE_MEMBER, now, 30 * day);
	cr_assert_eq(store_invite_put(st, &inv, NULL), STORE_OK);
	cr_assert_eq(store_invite_list(st, 1, t.id, 0, &v, &n), STORE_OK);
	cr_assert_eq(n, 1, "the expired one is purged");
	cr_expect_str_eq(v[0].email, "new@example.com");
	free(v);
	cr_assert_eq(store_invite_list(st, 0, "old@example.com", 0, &v, &n), STORE_OK);
	cr_expect_eq(n, 0, "from both indexes");
	free(v);
}

Test(store, session_revocations_and_login_failures)
{
	unsigned count;
	int64_t last;
	int locked;

	cr_expect_eq(store_jti_revoked(st, "j1"), 0);
	cr_assert_eq(store_jti_revoke(st, "j1", 99), STORE_OK);
	cr_expect_eq(store_jti_revoked(st, "j1"), 1);

	/* attempts count before the password is checked; e-mails any case */
	cr_assert_eq(store_login_attempt(st, "X@example.com", 1000, 500, 3, &count,
	    &last, &locked), 0);
	cr_assert_eq(store_login_attempt(st, "x@example.com", 1400, 500, 3, &count,
	    &last, &locked), 0);
	cr_expect_eq(count, 2);
	cr_expect_eq(locked, 0);
	cr_assert_eq(store_login_get(st, "x@EXAMPLE.com", &count, &last), 0);
	cr_expect_eq(count, 2);
	cr_expect_eq(last, 1400);
	/* a gap longer than the window starts a new count */
	cr_assert_eq(store_login_attempt(st, "x@example.com", 2000, 500, 3, &count,
	    &last, &locked), 0);
	cr_expect_eq(count, 1);
	/* at max attempts within the window: locked, and nothing more counted */
	cr_assert_eq(store_login_attempt(st, "x@example.com", 2100, 500, 3, &count,
	    &last, &locked), 0);
	cr_assert_eq(store_login_attempt(st, "x@example.com", 2200, 500, 3, &count,
	    &last, &locked), 0);
	cr_expect_eq(count, 3);
	cr_expect_eq(locked, 0);
	cr_assert_eq(store_login_attempt(st, "x@example.com", 2300, 500, 3, &count,
	    &last, &locked), 0);
	cr_expect_eq(locked, 1);
	cr_expect_eq(count, 3);
	cr_expect_eq(last, 2200);
	/* the lock ends window ms after the last counted attempt */
	cr_assert_eq(store_login_attempt(st, "x@example.com", 2700, 500, 3, &count,
	    &last, &locked), 0);
	cr_expect_eq(locked, 0);
	cr_expect_eq(count, 1);
	cr_assert_eq(store_login_reset(st, "x@example.com"), 0);
	cr_assert_eq(store_login_get(st, "x@example.com", &count, &last), 0);
	cr_expect_eq(count, 0);
}

Test(store, the_map_grows_on_demand)
{
	struct user a;
	char name[32];
	int i;

	mkuser(&a, "a@example.com", 0);
	/* map_size 1 MiB: thousands of tokens need several doublings */
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "bulk-%d", i);
		cr_assert_eq(add_token(&a, NULL, name, i, 0, NULL), STORE_OK, "i=%d", i);
	}
}

Test(store, backup_and_reopen_keep_everything)
{
	struct user a, got;
	struct store *b;
	struct token t;
	char bdir[96], path[128], id[UUID_LEN + 1];
	struct stat sb;

	mkuser(&a, "a@example.com", 0);
	cr_assert_eq(add_token(&a, NULL, "kept", 1, 0, id), STORE_OK);
	snprintf(bdir, sizeof(bdir), "%s/backup", dir);
	cr_assert_eq(store_backup(st, bdir), STORE_OK);
	snprintf(path, sizeof(path), "%s/data.mdb", bdir);
	cr_assert_eq(stat(path, &sb), 0);
	cr_expect_eq(sb.st_mode & 0777, 0600, "the copy is private");
	cr_assert_eq(store_open(&b, bdir, 1, 0), STORE_OK);
	cr_assert_eq(store_token_get(b, id, &t), STORE_OK);
	cr_expect_str_eq(t.name, "kept");
	token_free(&t);
	cr_expect_eq(store_user_by_email(b, "a@example.com", &got), STORE_OK);
	store_close(b);
	store_close(st);
	cr_assert_eq(store_open(&st, dir, 1, 0), STORE_OK);
	cr_assert_eq(store_token_get(st, id, &t), STORE_OK);
	token_free(&t);
}

static void
use(const char *id, int64_t at, const char *path, int blocked, uint32_t us)
{
	struct use u = { at, "GET", path, "127.0.0.1", "test/1", blocked ? 403 : 200,
	    blocked, us };

	cr_assert_eq(store_use_record(st, id, &u), STORE_OK);
}

Test(store, usage_statistics_from_daily_aggregates)
{
	const char *id = "11111111-1111-4111-8111-111111111111";
	int64_t now = util_now_ms(), day = 86400000, last;
	struct usage_stats s;

	use(id, now - 40 * day, "/old", 0, 1000);       /* outside 30 days */
	use(id, now - 2 * day, "/a", 0, 1000);
	use(id, now - 1000, "/a", 0, 3000);
	use(id, now - 900, "/b", 1, 2000);
	use(id, now - 800, "/c", 0, 2000);
	use(id, now - 700, "/a", 0, 2000);
	cr_assert_eq(store_use_last(st, id, &last), STORE_OK);
	cr_expect_eq(last, now - 700, "last_used is the last allowed use");
	cr_assert_eq(store_use_stats(st, id, now, 30, &s), STORE_OK);
	cr_expect_eq(s.total, 5);
	cr_expect_eq(s.allowed, 4);
	cr_expect_eq(s.blocked, 1);
	cr_expect_eq(s.sum_us, 10000);
	cr_assert_eq(s.ntop, 3);
	cr_expect_str_eq(s.top[0].path, "/a");
	cr_expect_eq(s.top[0].n, 3);
	cr_assert_eq(s.ndays, 30);
	cr_expect_eq(s.days[29].allowed, 3);
	cr_expect_eq(s.days[29].blocked, 1);
	cr_expect_eq(s.days[27].allowed, 1);
	free(s.days);
	cr_assert_eq(store_use_stats(st, id, now, 1, &s), STORE_OK);
	cr_expect_eq(s.total, 4);
	free(s.days);
}

Test(store, usage_sliding_windows)
{
	const char *id = "22222222-2222-4222-8222-222222222222";
	int64_t now = util_now_ms(), frees[3];
	uint32_t cap[3] = { 3, 10, 0 }, n[3];
	int i;

	use(id, now - 120000, "/p", 0, 1);              /* in the hour only */
	use(id, now - 30000, "/p", 1, 1);               /* blocked: not counted */
	for (i = 0; i < 4; i++)
		use(id, now - 20000 + i * 1000, "/p", 0, 1);
	cr_assert_eq(store_use_window(st, id, now, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 3, "counted up to the cap");
	/* the oldest counted use sits in the 1 s bucket of now - 20 s */
	cr_expect_eq(frees[WIN_MINUTE], (now - 20000) / 1000 * 1000 + 1000 + 60000);
	cr_expect_eq(n[WIN_HOUR], 5);
	cr_expect_eq(frees[WIN_HOUR], 0, "under the cap: nothing to wait for");
	cr_expect_eq(n[WIN_DAY], 0, "cap 0: not counted");
}

Test(store, usage_windows_cost_buckets_not_uses)
{
	const char *id = "44444444-4444-4444-8444-444444444444";
	int64_t now = util_now_ms(), frees[3];
	uint32_t cap[3] = { 1000000, 1000000, 1000000 }, n[3];
	int i;

	/* 3000 uses in the same second: one bucket per level */
	for (i = 0; i < 3000; i++)
		use(id, now - 500, "/p", 0, 1);
	cr_assert_eq(store_use_window(st, id, now, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 3000);
	cr_expect_eq(n[WIN_HOUR], 3000);
	cr_expect_eq(n[WIN_DAY], 3000);
	cap[WIN_DAY] = 2000;
	cr_assert_eq(store_use_window(st, id, now, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_DAY], 2000, "a bucket fills the cap");
	cr_expect_gt(frees[WIN_DAY], now + 86400000 - 900000);
}

/* last_used of id as read by a child process with its own environment. */
static int64_t
last_in_child(const char *id)
{
	int fd[2], status;
	int64_t last = -1;
	pid_t pid;

	cr_assert_eq(pipe(fd), 0);
	if ((pid = fork()) == 0) {
		struct store *other;

		if (store_open(&other, dir, 1, 0) != STORE_OK ||
		    store_use_last(other, id, &last) != STORE_OK)
			last = -2;
		if (write(fd[1], &last, sizeof(last)) != sizeof(last))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	cr_assert_eq(read(fd[0], &last, sizeof(last)), sizeof(last));
	close(fd[0]);
	waitpid(pid, &status, 0);
	return last;
}

Test(store, uses_are_written_in_batches)
{
	const char *id = "55555555-5555-4555-8555-555555555555";
	int64_t now = util_now_ms(), frees[3];
	uint32_t cap[3] = { 2, 0, 0 }, n[3];

	use(id, now - 10, "/p", 0, 1);
	cr_expect_eq(store_use_pending(st), 1);
	cr_expect_not(store_use_due(st, now), "young and not a full batch");
	cr_expect(store_use_due(st, now - 10 + USE_FLUSH_MS));
	/* this process counts its pending use at once */
	cr_assert_eq(store_use_window(st, id, now, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 1);
	/* another process (LMDB: one environment handle per process) sees it
	 * once written */
	cr_expect_eq(last_in_child(id), 0);
	cr_assert_eq(store_use_flush(st), STORE_OK);
	cr_expect_eq(store_use_pending(st), 0);
	cr_expect_eq(last_in_child(id), now - 10);
}

static int
count_use(const char *token_id, const struct use *u, void *arg)
{
	(void)token_id;
	(void)u;
	++*(int *)arg;
	return 0;
}

/*
 * Uses replayed with one millisecond (tokencat migrate copies a burst of
 * uses that way) keep one record each: their keys take this process's
 * next free microsecond. Flushing every 8 stretches the run over several
 * milliseconds of the clock, whose microsecond then comes round again.
 */
Test(store, uses_of_one_millisecond_keep_a_record_each)
{
	const char *id = "66666666-6666-4666-8666-666666666666";
	int64_t at = util_now_ms() - 1000;
	int i, n = 0;

	for (i = 0; i < 999; i++) {
		use(id, at, "/p", 0, 1);
		if (i % 8 == 7)
			cr_assert_eq(store_use_flush(st), STORE_OK);
	}
	cr_assert_eq(store_use_flush(st), STORE_OK);
	cr_assert_eq(store_use_each(st, count_use, &n), STORE_OK);
	cr_expect_eq(n, 999, "%d records of 999 uses", n);
}

Test(store, usage_paths_per_day_are_capped)
{
	const char *id = "33333333-3333-4333-8333-333333333333";
	int64_t now = util_now_ms();
	struct usage_stats s;
	char path[32];
	int i;

	for (i = 0; i < 150; i++) {
		snprintf(path, sizeof(path), "/p%d", i);
		use(id, now - 10000 + i, path, 0, 1);
	}
	cr_assert_eq(store_use_stats(st, id, now, 1, &s), STORE_OK);
	cr_expect_eq(s.total, 150);
	cr_expect_str_eq(s.top[0].path, "(other)");
	cr_expect_eq(s.top[0].n, 50);
	free(s.days);
}

/* A user added by another process after a snapshot began is not in it. */
Test(store, snapshot_reads_one_committed_state)
{
	struct user a, b, got;
	pid_t pid;
	int status;

	mkuser(&a, "snap-a@example.com", 0);
	memset(&b, 0, sizeof(b));
	cr_assert_eq(util_uuid4(b.id), 0);
	snprintf(b.email, sizeof(b.email), "snap-b@example.com");
	b.is_active = 1;
	cr_assert_eq(store_snapshot(st), STORE_OK);
	if ((pid = fork()) == 0) {
		struct store *other;

		_exit(store_open(&other, dir, 1, 0) != STORE_OK ||
		    store_user_add(other, &b, NULL) != STORE_OK);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_expect_eq(store_user_get(st, a.id, &got), STORE_OK);
	cr_expect_eq(store_user_get(st, b.id, &got), STORE_NOTFOUND,
	    "committed after the snapshot began");
	cr_expect_eq(store_user_get(st, b.id, &got), STORE_NOTFOUND, "twice");
	store_snapshot_end(st);
	cr_expect_eq(store_user_get(st, b.id, &got), STORE_OK);
	cr_expect_str_eq(got.email, "snap-b@example.com");
	store_snapshot_end(st);         /* a second end is harmless */
	cr_expect_eq(store_user_get(st, b.id, &got), STORE_OK);
}

/*
 * The windows read the closed buckets (two widths old and more) from a
 * per-process cache and the newest ones from the store: counts are the
 * same as a full count at every step, with uses written by another
 * process in between and the window moving on.
 */
Test(store, window_counts_with_the_closed_bucket_cache)
{
	const char *id = "66666666-6666-4666-8666-666666666666";
	int64_t now = 1800000000000LL, frees[3];      /* on a second boundary */
	uint32_t cap[3] = { 1000, 1000, 0 }, n[3];
	int i, status;
	pid_t pid;

	/* one use in each of the last 10 one-second buckets, now included */
	for (i = 0; i < 10; i++)
		use(id, now - i * 1000, "/w", 0, 1);
	cr_assert_eq(store_use_flush(st), STORE_OK);
	cr_assert_eq(store_use_window(st, id, now, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 10);
	cr_expect_eq(n[WIN_HOUR], 10);
	cr_expect_eq(frees[WIN_MINUTE], 0, "below the cap");
	/* the same moment again: cached closed part, fresh newest buckets */
	cr_assert_eq(store_use_window(st, id, now + 500, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 10, "no bucket counted twice");
	cr_expect_eq(n[WIN_HOUR], 10);
	/* another process adds two uses to the newest buckets */
	if ((pid = fork()) == 0) {
		struct store *other;
		struct use u = { now, "GET", "/w", "127.0.0.1", "t", 200, 0, 1 };

		if (store_open(&other, dir, 1, 0) != STORE_OK ||
		    store_use_record(other, id, &u) != STORE_OK)
			_exit(1);
		u.at = now - 1000;
		if (store_use_record(other, id, &u) != STORE_OK)
			_exit(1);
		store_close(other);     /* writes them */
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_eq(store_use_window(st, id, now + 600, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 12, "the other process's uses count");
	/* 55 s later the minute starts at the bucket of now - 5 s: buckets
	 * -5 s to -2 s hold one use each, -1 s and now two (8 uses) */
	cr_assert_eq(store_use_window(st, id, now + 55000, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 8, "%u", n[WIN_MINUTE]);
	cr_expect_eq(n[WIN_HOUR], 12);
	/* at the cap, frees_at is when the oldest counted bucket (now - 5 s)
	 * has left the window: its start + 1 s + 60 s */
	cap[WIN_MINUTE] = 3;
	cr_assert_eq(store_use_window(st, id, now + 55000, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 3);
	cr_expect_eq(frees[WIN_MINUTE], now - 5000 + 1000 + 60000,
	    "%lld", (long long)(frees[WIN_MINUTE] - now));
}

Test(store, copy_keeps_every_record_and_rebuilds_the_indexes)
{
	struct store *dst, *again;
	struct cc_ids ids;
	struct copy_counts n;
	const char *what;
	char ddir[128], adir[128];
	int empty;

	cr_assert_eq(store_empty(st, &empty), STORE_OK);
	cr_expect_eq(empty, 1);
	cc_fill(st, &ids);
	snprintf(ddir, sizeof(ddir), "%s/copy", dir);
	cr_assert_eq(store_open(&dst, ddir, 1, STORE_CREATE | STORE_BULK), 0);
	cr_assert_eq(store_copy(st, dst, &n, &what), STORE_OK, "%s", what);
	cr_expect(n.users == 2 && n.teams == 1 && n.members == 2 &&
	    n.invites == 1 && n.tokens == 3 && n.jtis == 1 && n.audit == 3 &&
	    n.uses == 4);
	cc_same(st, dst, &ids);
	store_close(dst);
	/* as written to disk, and once more from the copy */
	cr_assert_eq(store_open(&dst, ddir, 1, 0), STORE_OK);
	snprintf(adir, sizeof(adir), "%s/again", dir);
	cr_assert_eq(store_open(&again, adir, 1, STORE_CREATE), STORE_OK);
	cr_assert_eq(store_copy(dst, again, &n, &what), STORE_OK, "%s", what);
	cc_same(st, again, &ids);
	cc_names(again, &ids);
	store_close(again);
	store_close(dst);
}

Test(store, empty_sees_any_kind_of_record)
{
	struct audit_event e = { .action = "x.y" };
	struct use u = { util_now_ms(), "GET", "/", "", "", 200, 0, 1 };
	char id[UUID_LEN + 1];
	int empty;

	cr_assert_eq(store_jti_revoke(st, "some-jti", 1), STORE_OK);
	cr_assert_eq(store_empty(st, &empty), STORE_OK);
	cr_expect_eq(empty, 0, "a session revocation");
	teardown();
	setup();
	cr_assert_eq(util_uuid4(id), 0);
	cr_assert_eq(store_use_record(st, id, &u), STORE_OK);
	cr_assert_eq(store_use_flush(st), STORE_OK);
	cr_assert_eq(store_empty(st, &empty), STORE_OK);
	cr_expect_eq(empty, 0, "a use");
	teardown();
	setup();
	cr_assert_eq(store_audit_add(st, &e), STORE_OK);
	cr_assert_eq(store_empty(st, &empty), STORE_OK);
	cr_expect_eq(empty, 0, "an audit event");
}

/*
 * Admission of limited uses (store_admit.c): counted in the host's table,
 * exact across processes, made from the stored uses, kept when a process
 * dies, and in the database when the table has no slot to give.
 */
static int
admit1(struct store *s, const char *id, uint32_t per_minute, uint32_t n[3])
{
	struct use u = { util_now_ms(), "GET", "/a", "127.0.0.1", "t", 200, 0, 1 };
	uint32_t cap[3] = { per_minute, 0, per_minute };
	int64_t frees[3];
	int admitted;

	cr_assert_eq(store_use_admit(s, id, cap, &u, n, frees, &admitted), STORE_OK);
	return admitted;
}

/* Run fn in n children with a store each, all started at once (each says
 * it is ready on a pipe, then waits for the go); the sum of their exit
 * statuses. */
static int
in_children(int n, int (*fn)(struct store *, int))
{
	int ready[2], go[2], i, status, sum = 0;
	pid_t pid[16];
	char c;

	cr_assert_leq(n, 16);
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(go), 0);
	for (i = 0; i < n; i++) {
		if ((pid[i] = fork()) == 0) {
			struct store *mine;
			int rc;

			close(go[1]);
			if (store_open(&mine, dir, 1, 0) != STORE_OK ||
			    write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) < 0)
				_exit(255);
			rc = fn(mine, i);
			store_close(mine);
			_exit(rc);
		}
		cr_assert_gt(pid[i], 0);
	}
	close(go[0]);
	close(ready[1]);
	for (i = 0; i < n; i++)
		cr_assert_eq(read(ready[0], &c, 1), 1, "child ready");
	close(go[1]);                   /* EOF: go */
	for (i = 0; i < n; i++) {
		cr_assert_eq(waitpid(pid[i], &status, 0), pid[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 255);
		sum += WEXITSTATUS(status);
	}
	close(ready[0]);
	return sum;
}

static const char *race_id = "66666666-6666-4666-8666-666666666666";

static int
admit25(struct store *s, int i)
{
	uint32_t n[3];
	int k, admitted = 0;

	(void)i;
	for (k = 0; k < 25; k++)
		admitted += admit1(s, race_id, 100, n);
	return admitted;
}

Test(store, admit_is_exact_across_processes, .timeout = 60)
{
	uint32_t cap[3] = { 1000, 1000, 1000 }, n[3];
	struct usage_stats us;
	int64_t frees[3];

	cr_expect_eq(in_children(8, admit25), 100,
	    "8 processes, 200 uses, a limit of 100: exactly 100 admitted");
	/* the children wrote their batches at close: the stored view agrees */
	cr_assert_eq(store_use_window(st, race_id, util_now_ms(), cap, n, frees),
	    STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 100);
	cr_expect_eq(n[WIN_DAY], 100);
	cr_assert_eq(store_use_stats(st, race_id, util_now_ms(), 1, &us), STORE_OK);
	cr_expect_eq(us.allowed, 100, "every admitted use is in the statistics");
	free(us.days);
}

Test(store, admit_counts_the_uses_stored_and_pending_before_its_slot)
{
	const char *id = "77777777-7777-4777-8777-777777777777";
	int64_t now = util_now_ms();
	uint32_t n[3];
	int i;

	for (i = 0; i < 4; i++)
		use(id, now - 5000 + i, "/p", 0, 1);
	cr_assert_eq(store_use_flush(st), STORE_OK);
	use(id, now - 1000, "/p", 0, 1);        /* still in this batch */
	use(id, now - 900, "/p", 1, 1);         /* refused: not counted */
	cr_expect_eq(admit1(st, id, 6, n), 1);
	cr_expect_eq(n[WIN_MINUTE], 6);
	cr_expect_eq(n[WIN_DAY], 6);
	cr_expect_eq(admit1(st, id, 6, n), 0, "4 stored + 1 pending + 1 admitted");
	cr_expect_eq(store_use_pending(st), 3, "the admitted use is in the batch");
}

static const char *dead_id = "88888888-8888-4888-8888-888888888888";
static const char *die_id = "88888888-8888-4888-8888-888888888888";

/* Admit two uses of die_id, then die with them in the batch (as under
 * kill -9). */
static int
admit2_and_die(struct store *s, int i)
{
	uint32_t n[3];

	(void)i;
	if (admit1(s, die_id, 3, n) + admit1(s, die_id, 3, n) != 2)
		_exit(1);
	_exit(0);
}

static int
admit1_and_die_other(struct store *s, int i)
{
	uint32_t n[3];

	(void)i;
	if (admit1(s, "99999999-9999-4999-8999-999999999999", 3, n) != 1)
		_exit(1);
	_exit(0);
}

Test(store, admit_keeps_counting_the_uses_of_a_process_that_died)
{
	const char *other = "99999999-9999-4999-8999-999999999999";
	uint32_t n[3];

	cr_assert_eq(in_children(1, admit2_and_die), 0);
	cr_expect_eq(admit1(st, dead_id, 3, n), 1, "the third of 3");
	cr_expect_eq(admit1(st, dead_id, 3, n), 0,
	    "the dead process's two uses still count");
	/* and while this process holds the table */
	cr_expect_eq(admit1(st, other, 3, n), 1);
	cr_assert_eq(in_children(1, admit1_and_die_other), 0);
	cr_expect_eq(admit1(st, other, 3, n), 1);
	cr_expect_eq(admit1(st, other, 3, n), 0);
	cr_expect_eq(n[WIN_MINUTE], 3);
}

/* FNV-1a of a token id, as store_usage.c (usage_id_hash) takes it. */
static uint32_t
fnv(const char *id)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < UUID_LEN; i++)
		h = (h ^ (unsigned char)id[i]) * 16777619u;
	return h;
}

#define SLOTS	2048            /* store_admit.c: ADMIT_SLOTS */
#define PROBE	32              /* store_admit.c: ADMIT_PROBE */

Test(store, admit_without_a_slot_counts_in_the_database, .timeout = 60)
{
	char ids[PROBE + 1][UUID_LEN + 1];
	uint32_t n[3], k = 0;
	int i;

	/* PROBE + 1 tokens whose slots are all taken from one run */
	for (i = 0; i <= PROBE; i++) {
		do
			snprintf(ids[i], sizeof(ids[i]),
			    "aaaaaaaa-0000-4000-8000-%012x", k++);
		while (fnv(ids[i]) % SLOTS != 7);
	}
	for (i = 0; i < PROBE; i++)     /* a slot each, its use not written */
		cr_assert_eq(admit1(st, ids[i], 2, n), 1);
	cr_assert_eq(store_use_pending(st), PROBE);
	cr_expect_eq(admit1(st, ids[PROBE], 2, n), 1);
	cr_expect_eq(store_use_pending(st), PROBE,
	    "no slot to give: the use is written in the database at once");
	cr_expect_eq(admit1(st, ids[PROBE], 2, n), 1);
	cr_expect_eq(admit1(st, ids[PROBE], 2, n), 0, "exact without a slot");
	/* written, the batch frees the slots: the last token gets one, made
	 * from its two stored uses */
	cr_assert_eq(store_use_flush(st), STORE_OK);
	cr_expect_eq(admit1(st, ids[PROBE], 2, n), 0);
	cr_expect_eq(n[WIN_MINUTE], 2);
	cr_expect_eq(store_use_pending(st), 0);
	cr_expect_eq(admit1(st, ids[0], 2, n), 1, "its second of 2");
	cr_expect_eq(admit1(st, ids[0], 2, n), 0);
}

/* Put another boot id in the header of dir's shared file `file` (its
 * layout in store_int.h, shfile_hdr: magic 8 bytes, two uint32, then the
 * boot id). */
static void
of_another_boot(const char *file)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	cr_assert_not_null(f = fopen(path, "r+"));
	cr_assert_eq(fseek(f, 16, SEEK_SET), 0);
	cr_assert_eq(fwrite("00000000-0000-4000-8000-000000000000", 36, 1, f), 1);
	cr_assert_eq(fclose(f), 0);
}

/* The uses a process took with it are counted by a table of this boot,
 * which the next process keeps; a table of another boot is made again
 * from the stored uses (the dead process's are not among them). */
Test(store, admit_table_is_kept_in_its_boot_and_made_again_after)
{
	static const char *ids[2] = { "bbbbbbbb-0000-4000-8000-000000000001",
	    "bbbbbbbb-0000-4000-8000-000000000002" };
	uint32_t n[3];
	int i;

	for (i = 0; i < 2; i++) {
		store_close(st);        /* no process holds the table */
		st = NULL;
		die_id = ids[i];
		cr_assert_eq(in_children(1, admit2_and_die), 0);
		if (i == 1)
			of_another_boot("usage/admit");
		cr_assert_eq(store_open(&st, dir, 1, 0), STORE_OK);
		cr_expect_eq(admit1(st, ids[i], 3, n), 1);
		cr_expect_eq(n[WIN_MINUTE], i == 0 ? 3 : 1, "%s",
		    i == 0 ? "this boot's table: the dead process's 2 count" :
		    "another boot's table: made again from the stored uses");
	}
}

/*
 * Group commit (store_group.c): the token writes of workers (STORE_SERVE)
 * that wait for the writer lock are written in one commit by its next
 * holder. The counters of <dir>/commitq, after its shfile_hdr (56 bytes):
 * group commits at 56, the writes in them at 64, the writes queued at 72.
 */
#include <lmdb.h>
#include <signal.h>
#include <time.h>

enum { GC_COMMITS = 56, GC_WRITES = 64, GC_QUEUED = 72 };

static uint64_t
group_counter(int offset)
{
	char path[128];
	uint64_t v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/commitq", dir);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	if (fseek(f, offset, SEEK_SET) != 0 || fread(&v, sizeof(v), 1, f) != 1)
		v = 0;
	fclose(f);
	return v;
}

/* Wait (up to 60 s) for the writes queued to reach n. */
static void
wait_queued(uint64_t n)
{
	struct timespec ms = { 0, 1000000 };
	int i;

	for (i = 0; i < 60000 && group_counter(GC_QUEUED) < n; i++)
		nanosleep(&ms, NULL);
	cr_assert_eq(group_counter(GC_QUEUED), n, "%llu writes queued",
	    (unsigned long long)n);
}

/* Fork a child that runs fn(arg, ready, go) and exits with its status:
 * it writes a byte on ready once set up and reads one on go to go on.
 * Returns once the child is ready; closing go[1] lets it go. */
static pid_t
spawn_ready(int go[2], int (*fn)(const void *arg, int ready, int go),
    const void *arg, const char *what)
{
	int ready[2];
	pid_t pid;
	char c;

	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(go), 0);
	if ((pid = fork()) == 0) {
		close(go[1]);
		close(ready[0]);
		_exit(fn(arg, ready[1], go[0]));
	}
	cr_assert_gt(pid, 0);
	close(go[0]);
	close(ready[1]);
	cr_assert_eq(read(ready[0], &c, 1), 1, "%s", what);
	close(ready[0]);
	return pid;
}

/* Hold the catalog's writer lock until told on go. */
static int
hold_lock(const void *arg, int ready, int go)
{
	MDB_env *env;
	MDB_txn *txn;
	char c;

	(void)arg;
	if (mdb_env_create(&env) != 0 || mdb_env_set_maxdbs(env, 64) != 0 ||
	    mdb_env_open(env, dir, MDB_NOTLS, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, 0, &txn) != 0 ||
	    write(ready, "h", 1) != 1 || read(go, &c, 1) < 0)
		return 1;
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return 0;
}

static void
reap(pid_t pid, int want)
{
	int status;

	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "exited");
	cr_expect_eq(WEXITSTATUS(status), want);
}

static const struct user *add_owner;

/* A worker (STORE_SERVE, opened before it is ready: the open writes)
 * that adds the token `name` of add_owner with an audit event when told
 * on go, and exits 0 (added), 1 (STORE_EXISTS) or 2. */
static int
add_one(const void *name, int ready, int go)
{
	struct audit_event ev;
	struct store *mine;
	struct token t;
	int rc;
	char c;

	if (store_open(&mine, dir, 1, STORE_SERVE) != STORE_OK ||
	    write(ready, "r", 1) != 1 || read(go, &c, 1) != 1)
		return 3;
	memset(&ev, 0, sizeof(ev));
	snprintf(ev.actor, sizeof(ev.actor), "%s", add_owner->email);
	snprintf(ev.action, sizeof(ev.action), "token.create");
	snprintf(ev.detail, sizeof(ev.detail), "%s", (const char *)name);
	mktoken(&t, add_owner, NULL, name, util_now_ms(), 0);
	rc = store_token_add(mine, &t, &ev);
	token_free(&t);
	store_close(mine);
	return rc == STORE_OK ? 0 : rc == STORE_EXISTS ? 1 : 2;
}

static pid_t
worker_add(const struct user *u, const char *name, int go[2])
{
	add_owner = u;
	return spawn_ready(go, add_one, name, "the worker opened the store");
}

static pid_t
hold_writer_lock(int go[2])
{
	return spawn_ready(go, hold_lock, NULL, "the writer lock is held");
}

static uint64_t
audit_creates(void)
{
	struct audit_event *ev = NULL;
	uint64_t total = 0, n_create = 0;
	size_t n = 0, i;

	cr_assert_eq(store_audit_list(st, NULL, 0, 1000, &ev, &n, &total), STORE_OK);
	for (i = 0; i < n; i++)
		n_create += strcmp(ev[i].action, "token.create") == 0;
	free(ev);
	return n_create;
}

/* The names of u's tokens, sorted, space-separated (static buffer). */
static const char *
owner_names(const struct user *u)
{
	static char out[1024];
	struct token *v = NULL;
	uint64_t total = 0;
	size_t n = 0, i, j;
	const char *tmp[64];

	cr_assert_eq(store_token_list(st, TOKSET_OWNER, u->id, 1, util_now_ms(),
	    0, 64, &v, &n, &total), STORE_OK);
	for (i = 0; i < n; i++) {
		tmp[i] = v[i].name;
		for (j = i; j > 0 && strcmp(tmp[j - 1], tmp[j]) > 0; j--) {
			const char *x = tmp[j];

			tmp[j] = tmp[j - 1];
			tmp[j - 1] = x;
		}
	}
	out[0] = '\0';
	for (i = 0; i < n; i++)
		snprintf(out + strlen(out), sizeof(out) - strlen(out), "%s%s",
		    i > 0 ? " " : "", tmp[i]);
	tokens_free(v, n);
	return out;
}

Test(store, waiting_token_writes_share_one_commit, .timeout = 90)
{
	static const char *names[4] = { "g-0", "g-1", "g-2", "g-0" };
	struct user u;
	pid_t holder, w[4];
	int go[2], wgo[4][2], i, exists = 0, status;
	uint64_t c0, n0, q0;

	mkuser(&u, "group@example.com", 0);
	for (i = 0; i < 4; i++)
		w[i] = worker_add(&u, names[i], wgo[i]);
	holder = hold_writer_lock(go);
	c0 = group_counter(GC_COMMITS);
	n0 = group_counter(GC_WRITES);
	q0 = group_counter(GC_QUEUED);
	for (i = 0; i < 4; i++) {
		cr_assert_eq(write(wgo[i][1], "g", 1), 1);
		wait_queued(q0 + (uint64_t)i + 1);      /* in order: one g-0 first */
	}
	close(go[1]);                   /* the four wait: let them go */
	reap(holder, 0);
	for (i = 0; i < 4; i++) {
		cr_assert_eq(waitpid(w[i], &status, 0), w[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) <= 1,
		    "worker %d: %d", i, WEXITSTATUS(status));
		exists += WEXITSTATUS(status);
	}
	cr_expect_eq(exists, 1, "one of the two g-0 finds the name taken");
	cr_expect_eq(group_counter(GC_COMMITS) - c0, 1, "one commit");
	cr_expect_eq(group_counter(GC_WRITES) - n0, 4, "with the four writes");
	cr_expect_str_eq(owner_names(&u), "g-0 g-1 g-2", "each name once");
	cr_expect_eq(audit_creates(), 3, "an event for each token added, none "
	    "for the write that failed");
}

/* A worker killed while its write waits was answered to no one: its write
 * is dropped by the next worker that claims its slot, and the slot used. */
Test(store, a_waiting_write_of_a_killed_worker_is_dropped, .timeout = 90)
{
	struct user u;
	pid_t holder, a, b;
	int go[2], ago[2], bgo[2], status;
	uint64_t q0;

	mkuser(&u, "killed@example.com", 0);
	a = worker_add(&u, "of-the-killed", ago);
	b = worker_add(&u, "after", bgo);
	holder = hold_writer_lock(go);
	q0 = group_counter(GC_QUEUED);
	cr_assert_eq(write(ago[1], "g", 1), 1);
	wait_queued(q0 + 1);
	kill(a, SIGKILL);
	cr_assert_eq(waitpid(a, &status, 0), a);
	close(go[1]);
	reap(holder, 0);
	cr_assert_eq(write(bgo[1], "g", 1), 1);
	reap(b, 0);
	cr_expect_str_eq(owner_names(&u), "after");
	cr_expect_eq(audit_creates(), 1);
}

/* Open st again as a worker does (STORE_SERVE: with the group commit). */
static void
reopen_as_worker(void)
{
	store_close(st);
	cr_assert_eq(store_open(&st, dir, 1, STORE_SERVE), STORE_OK);
}

/* A group commit that fills the map grows it and writes the group again. */
Test(store, the_map_grows_in_a_group_commit)
{
	struct user a;
	char name[32];
	uint64_t c0;
	int i;

	mkuser(&a, "a@example.com", 0);
	reopen_as_worker();
	c0 = group_counter(GC_COMMITS);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "bulk-%d", i);
		cr_assert_eq(add_token(&a, NULL, name, i, 0, NULL), STORE_OK, "i=%d", i);
	}
	cr_expect_eq(group_counter(GC_COMMITS) - c0, 3000, "each through the group");
}

/* The first worker to open the group commit file keeps one of this boot
 * (another worker may have just made it) and empties one of another. */
Test(store, group_file_is_kept_in_its_boot_and_emptied_after)
{
	struct user u;
	int i;

	mkuser(&u, "boot@example.com", 0);
	store_close(st);
	for (i = 0; i < 2; i++) {
		char name[16];

		cr_assert_eq(store_open(&st, dir, 1, STORE_SERVE), STORE_OK);
		snprintf(name, sizeof(name), "boot-%d", i);
		cr_assert_eq(add_token(&u, NULL, name, i, 0, NULL), STORE_OK);
		store_close(st);        /* no process has the file */
		st = NULL;
	}
	cr_expect_eq(group_counter(GC_QUEUED), 2, "this boot's file was kept");
	of_another_boot("commitq");
	cr_assert_eq(store_open(&st, dir, 1, STORE_SERVE), STORE_OK);
	cr_expect_eq(group_counter(GC_QUEUED), 0, "another boot's file was emptied");
	cr_assert_eq(add_token(&u, NULL, "boot-2", 2, 0, NULL), STORE_OK);
	cr_expect_eq(group_counter(GC_QUEUED), 1);
	cr_expect_str_eq(owner_names(&u), "boot-0 boot-1 boot-2");
}

/* A token larger than a slot (16 KiB) is committed on its own. */
Test(store, a_token_larger_than_a_slot_is_committed_alone)
{
	struct user u;
	struct token t;
	char perm[256];
	uint64_t q0;
	int i;

	mkuser(&u, "large@example.com", 0);
	reopen_as_worker();
	q0 = group_counter(GC_QUEUED);
	mktoken(&t, &u, NULL, "large", util_now_ms(), 0);
	json_object_object_add(t.scope, "permissions", json_object_new_array());
	for (i = 0; i < 100; i++) {
		/* "00042.ppp...": 200 characters, each one different */
		snprintf(perm, sizeof(perm), "%05d.%0194d", i, 0);
		memset(perm + 6, 'p', 194);
		json_object_array_add(json_object_object_get(t.scope, "permissions"),
		    json_object_new_string(perm));
	}
	cr_assert_eq(store_token_add(st, &t, NULL), STORE_OK);
	token_free(&t);
	cr_expect_eq(group_counter(GC_QUEUED), q0, "not through a slot");
	cr_expect_str_eq(owner_names(&u), "large");
	cr_assert_eq(add_token(&u, NULL, "small", 1, 0, NULL), STORE_OK);
	cr_expect_eq(group_counter(GC_QUEUED), q0 + 1, "a small one is");
}

/*
 * The token indexes (store_index.c): <dir>/index/<boot id>, a cache of the
 * tokens made again from them when its generation is not the catalog's,
 * when it is of another boot, and for a catalog of schema 1. The tests
 * change the files with LMDB itself while no store has them open.
 */
static void
index_dir(char *path, size_t size)
{
	char boot[64] = "";
	FILE *f;

	cr_assert_not_null(f = fopen("/proc/sys/kernel/random/boot_id", "r"));
	cr_assert_not_null(fgets(boot, sizeof(boot), f));
	fclose(f);
	boot[strcspn(boot, "\n")] = '\0';
	snprintf(path, size, "%s/index/%s", dir, boot);
}

/* An LMDB environment at path, its txn and the named database name. */
struct raw {
	MDB_env	*env;
	MDB_txn	*txn;
};

static MDB_dbi
raw_open(struct raw *r, const char *path, const char *name)
{
	MDB_dbi d;

	cr_assert_eq(mdb_env_create(&r->env), 0);
	mdb_env_set_maxdbs(r->env, 32);
	mdb_env_set_mapsize(r->env, 64 << 20);
	cr_assert_eq(mdb_env_open(r->env, path, 0, 0600), 0, "%s", path);
	cr_assert_eq(mdb_txn_begin(r->env, NULL, 0, &r->txn), 0);
	cr_assert_eq(mdb_dbi_open(r->txn, name, MDB_CREATE, &d), 0);
	return d;
}

static MDB_dbi
raw_dbi(struct raw *r, const char *name)
{
	MDB_dbi d;

	cr_assert_eq(mdb_dbi_open(r->txn, name, MDB_CREATE, &d), 0);
	return d;
}

static void
raw_close(struct raw *r)
{
	cr_assert_eq(mdb_txn_commit(r->txn), 0);
	mdb_env_close(r->env);
}

/* A token of u named name, added; its jti into jti. */
static void
add_jti(const struct user *u, const char *name, char jti[UUID_LEN + 1])
{
	struct token t;

	mktoken(&t, u, NULL, name, util_now_ms(), 0);
	cr_assert_eq(store_token_add(st, &t, NULL), STORE_OK);
	memcpy(jti, t.jti, UUID_LEN + 1);
	token_free(&t);
}

static int
by_jti(const char *jti)
{
	struct token t;
	int rc = store_token_by_jti(st, jti, &t);

	if (rc == STORE_OK)
		token_free(&t);
	return rc;
}

/* Drop jti from the index at path, as a process that died between the
 * catalog's commit and the index's would have; bump: move the index's
 * generation off the catalog's, as that death does.
 * No assertions: a child process runs it too. 0 or an LMDB code. */
static int
index_lose_jti(const char *path, const char *jti, int bump)
{
	MDB_val k = { strlen(jti), (void *)(uintptr_t)jti }, v;
	uint64_t gen[2];
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi d, state;
	int rc;

	if ((rc = mdb_env_create(&env)) != 0)
		return rc;
	mdb_env_set_maxdbs(env, 8);
	mdb_env_set_mapsize(env, 64 << 20);
	if ((rc = mdb_env_open(env, path, 0, 0600)) == 0 &&
	    (rc = mdb_txn_begin(env, NULL, 0, &txn)) == 0) {
		if ((rc = mdb_dbi_open(txn, "tok_jti", 0, &d)) == 0 &&
		    (rc = mdb_dbi_open(txn, "state", 0, &state)) == 0 &&
		    (rc = mdb_del(txn, d, &k, NULL)) == 0) {
			k.mv_size = 5;
			k.mv_data = "index";
			if ((rc = mdb_get(txn, state, &k, &v)) == 0 &&
			    v.mv_size != sizeof(gen))
				rc = MDB_CORRUPTED;
		}
		if (rc == 0) {
			memcpy(gen, v.mv_data, sizeof(gen));
			gen[1] += bump;
			v.mv_data = gen;
			rc = mdb_put(txn, state, &k, &v, 0);
		}
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return rc;
}

Test(store, index_is_made_again_when_its_generation_is_not_the_catalogs)
{
	struct user u;
	char j1[UUID_LEN + 1], j2[UUID_LEN + 1];

	char path[256];

	mkuser(&u, "gen@example.com", 0);
	add_jti(&u, "one", j1);
	add_jti(&u, "two", j2);
	store_close(st);
	st = NULL;
	index_dir(path, sizeof(path));
	cr_assert_eq(index_lose_jti(path, j1, 0), 0);   /* not counted */
	cr_assert_eq(store_open(&st, dir, 1, 0), STORE_OK);
	cr_expect_eq(by_jti(j1), STORE_NOTFOUND, "a cache is trusted at its "
	    "generation: this shows what the generation does below");
	store_close(st);
	st = NULL;
	cr_assert_eq(index_lose_jti(path, j2, 1), 0);   /* counted */
	cr_assert_eq(store_open(&st, dir, 1, 0), STORE_OK);
	cr_expect_eq(by_jti(j1), STORE_OK, "made again from the tokens");
	cr_expect_eq(by_jti(j2), STORE_OK);
	cr_expect_str_eq(owner_names(&u), "one two");
}

/* The same, found by the next write of a store open all along (a
 * worker), when another process left the generations apart. */
Test(store, the_next_write_makes_the_index_again_when_its_generation_differs)
{
	struct user u;
	char j1[UUID_LEN + 1], j2[UUID_LEN + 1], path[256];
	pid_t pid;
	int status;

	mkuser(&u, "gen2@example.com", 0);
	add_jti(&u, "one", j1);
	index_dir(path, sizeof(path));
	if ((pid = fork()) == 0)
		_exit(index_lose_jti(path, j1, 1) == 0 ? 0 : 1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_expect_eq(by_jti(j1), STORE_NOTFOUND, "a reader does not look");
	add_jti(&u, "two", j2);
	cr_expect_eq(by_jti(j1), STORE_OK, "the writer made it again");
	cr_expect_eq(by_jti(j2), STORE_OK);
	cr_expect_str_eq(owner_names(&u), "one two");
}

Test(store, index_of_an_earlier_boot_is_removed_and_made_again)
{
	struct user u;
	char j1[UUID_LEN + 1], path[256], old[300];
	struct stat sb;

	mkuser(&u, "boot2@example.com", 0);
	add_jti(&u, "one", j1);
	store_close(st);
	st = NULL;
	index_dir(path, sizeof(path));
	snprintf(old, sizeof(old), "%s/index/00000000-0000-4000-8000-000000000000", dir);
	cr_assert_eq(rename(path, old), 0);
	cr_assert_eq(store_open(&st, dir, 1, 0), STORE_OK);
	cr_expect_eq(stat(old, &sb), -1, "an earlier boot's is removed");
	cr_expect_eq(stat(path, &sb), 0, "this boot's is made");
	cr_expect_eq(by_jti(j1), STORE_OK);
	cr_expect_str_eq(owner_names(&u), "one");
}

/* Readers skip an index entry whose token they do not find: a write
 * committed in the index, not yet (or never) in the catalog. */
Test(store, a_listing_skips_an_entry_without_its_token)
{
	struct user u;
	char j1[UUID_LEN + 1], path[256], key[1 + UUID_LEN + 8 + UUID_LEN];
	struct raw r;
	MDB_val k = { sizeof(key), key }, v;
	uint64_t be = htobe64((uint64_t)INT64_MAX), exp = 0;
	struct token *tv;
	size_t n;
	uint64_t total;
	MDB_dbi d;

	mkuser(&u, "skip@example.com", 0);
	add_jti(&u, "real", j1);
	store_close(st);
	st = NULL;
	index_dir(path, sizeof(path));
	d = raw_open(&r, path, "tok_idx");
	key[0] = 'o';                   /* the owner's held set, newest first */
	memcpy(key + 1, u.id, UUID_LEN);
	be = htobe64((uint64_t)(INT64_MAX - util_now_ms() - 1000));
	memcpy(key + 1 + UUID_LEN, &be, 8);
	memcpy(key + 1 + UUID_LEN + 8, "cccccccc-0000-4000-8000-000000000000", UUID_LEN);
	v.mv_size = sizeof(exp);
	v.mv_data = &exp;
	cr_assert_eq(mdb_put(r.txn, d, &k, &v, 0), 0);
	raw_close(&r);
	cr_assert_eq(store_open(&st, dir, 1, 0), STORE_OK);
	cr_assert_eq(store_token_list(st, TOKSET_OWNER, u.id, 0, util_now_ms(), 0,
	    10, &tv, &n, &total), STORE_OK);
	cr_expect_eq(n, 1);
	cr_expect_str_eq(tv[0].name, "real");
	tokens_free(tv, n);
}

/* A catalog of schema 1 keeps its indexes: opened by this version, they
 * are dropped from it and made in the index environment. */
Test(store, a_schema_1_catalog_has_its_indexes_moved_out)
{
	struct user u;
	char j1[UUID_LEN + 1], path[256];
	struct raw r;
	MDB_val k = { 6, "schema" }, v = { 1, "1" };
	MDB_dbi meta, d;
	static const char *const old[] = {
		"tok_jti", "tok_name", "tok_idx", "tok_cnt", "tok_exp"
	};
	size_t i;

	mkuser(&u, "old@example.com", 0);
	add_jti(&u, "one", j1);
	store_close(st);
	st = NULL;
	/* what schema 1 looked like: its indexes in the catalog, no index
	 * generation, no index environment */
	meta = raw_open(&r, dir, "meta");
	cr_assert_eq(mdb_put(r.txn, meta, &k, &v, 0), 0);
	k.mv_size = 5;
	k.mv_data = "index";
	cr_assert_eq(mdb_del(r.txn, meta, &k, NULL), 0);
	for (i = 0; i < sizeof(old) / sizeof(old[0]); i++) {
		d = raw_dbi(&r, old[i]);
		cr_assert_eq(mdb_put(r.txn, d, &k, &v, 0), 0);
	}
	raw_close(&r);
	index_dir(path, sizeof(path));
	rm_rf(path);

	cr_assert_eq(store_open(&st, dir, 1, 0), STORE_OK);
	cr_expect_eq(by_jti(j1), STORE_OK);
	cr_expect_str_eq(owner_names(&u), "one");
	store_close(st);
	st = NULL;
	meta = raw_open(&r, dir, "meta");
	for (i = 0; i < sizeof(old) / sizeof(old[0]); i++)
		cr_expect_eq(mdb_dbi_open(r.txn, old[i], 0, &d), MDB_NOTFOUND,
		    "%s dropped", old[i]);
	k.mv_size = 6;
	k.mv_data = "schema";
	cr_assert_eq(mdb_get(r.txn, meta, &k, &v), 0);
	cr_expect(v.mv_size == 1 && memcmp(v.mv_data, "2", 1) == 0);
	raw_close(&r);
	cr_assert_eq(store_open(&st, dir, 1, 0), STORE_OK);
}
