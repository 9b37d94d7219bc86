/*
 * test_store_pg.c - the PostgreSQL store (store_pg_ops) against a real
 * PostgreSQL 15: the cases of test_store.c, and what only a server shared
 * by many processes and hosts has to get right: exact limits and unique
 * names under concurrent processes, migrations run twice, a connection
 * that dies.
 *
 * TOKENCAT_TEST_PG is the URI of a database on a server where we may
 * create databases (tests/pg/run-pg-units.sh starts a private one). Each
 * test gets a database of its own. Without it the suite is skipped, or
 * fails when CI=true: CI must not pass by skipping.
 */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "store_pg.h"
#include "store_copy_check.h"

#define O store_pg_ops

static struct store *st;
static PGconn *srv;                   /* to create and drop the test's database */
static char dbname[64];
static char conninfo[2048];             /* the test's database */

/* Append key='value' to out (libpq quoting). */
static void
kv_add(char *out, size_t outsz, const char *key, const char *val)
{
	size_t n = strlen(out);

	n += (size_t)snprintf(out + n, outsz - n, "%s%s='", n ? " " : "", key);
	for (; *val != '\0' && n + 3 < outsz; val++) {
		if (*val == '\'' || *val == '\\')
			out[n++] = '\\';
		out[n++] = *val;
	}
	out[n] = '\0';
	cr_assert_lt(n + 2, outsz);
	strcat(out, "'");
}

/* conninfo of database db on the server of uri. */
static void
conninfo_for(const char *uri, const char *db, char *out, size_t outsz)
{
	PQconninfoOption *opts, *o;
	char *err = NULL;

	cr_assert_not_null(opts = PQconninfoParse(uri, &err), "%s", err);
	out[0] = '\0';
	for (o = opts; o->keyword != NULL; o++)
		if (o->val != NULL && o->val[0] != '\0' &&
		    strcmp(o->keyword, "dbname") != 0)
			kv_add(out, outsz, o->keyword, o->val);
	kv_add(out, outsz, "dbname", db);
	PQconninfoFree(opts);
}

static void
sql(PGconn *c, const char *q)
{
	PGresult *r = PQexec(c, q);

	cr_assert(PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", q,
	    PQerrorMessage(c));
	PQclear(r);
}

static void
setup(void)
{
	static int seq;
	const char *uri = getenv("TOKENCAT_TEST_PG"), *ci = getenv("CI");
	char q[128], info[2048];

	if (uri == NULL || *uri == '\0') {
		if (ci != NULL && strcmp(ci, "true") == 0)
			cr_assert_fail("CI=true but TOKENCAT_TEST_PG is not set: "
			    "run tests/pg/run-pg-units.sh");
		cr_skip_test("TOKENCAT_TEST_PG is not set "
		    "(tests/pg/run-pg-units.sh sets it)");
	}
	log_set_level(TCLOG_WARN);     /* no "schema at version" per test */
	srv = PQconnectdb(uri);
	cr_assert_eq(PQstatus(srv), CONNECTION_OK, "%s", PQerrorMessage(srv));
	snprintf(dbname, sizeof(dbname), "tcu_%ld_%d", (long)getpid(), seq++);
	snprintf(q, sizeof(q), "CREATE DATABASE %s", dbname);
	sql(srv, q);
	conninfo_for(uri, dbname, info, sizeof(info));
	snprintf(conninfo, sizeof(conninfo), "%s", info);
	cr_assert_eq(store_pg_open(&st, conninfo, STORE_CREATE), STORE_OK);
}

static void
teardown(void)
{
	char q[128];

	if (srv == NULL)
		return;
	if (st != NULL)
		O.close(st);
	st = NULL;
	snprintf(q, sizeof(q), "DROP DATABASE IF EXISTS %s WITH (FORCE)", dbname);
	sql(srv, q);
	PQfinish(srv);
	srv = NULL;
}

TestSuite(store_pg, .init = setup, .fini = teardown);

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
	cr_assert_eq(O.user_add(st, u, NULL), STORE_OK);
}

static void
mkteam(struct team *t, const char *name, const char *owner)
{
	memset(t, 0, sizeof(*t));
	cr_assert_eq(util_team_id(t->id), 0);
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->created_at = util_now_ms();
	cr_assert_eq(O.team_add(st, t, owner, NULL), STORE_OK);
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
	rc = O.token_add(st, &t, NULL);
	if (id_out != NULL)
		memcpy(id_out, t.id, UUID_LEN + 1);
	token_free(&t);
	return rc;
}

Test(store_pg, users_by_id_and_case_insensitive_email)
{
	struct user a, got, dup;

	mkuser(&a, "alice@example.com", 0);
	cr_assert_eq(O.user_get(st, a.id, &got), STORE_OK);
	cr_expect_str_eq(got.email, "alice@example.com");
	cr_expect_str_eq(got.full_name, "Name of alice@example.com");
	cr_expect_eq(got.is_active, 1);
	cr_assert_eq(O.user_by_email(st, "ALICE@Example.COM", &got), STORE_OK);
	cr_expect_str_eq(got.id, a.id);
	dup = a;
	cr_assert_eq(util_uuid4(dup.id), 0);
	cr_expect_eq(O.user_add(st, &dup, NULL), STORE_EXISTS);
	cr_expect_eq(O.user_by_email(st, "nobody@example.com", &got), STORE_NOTFOUND);
	cr_expect_eq(O.user_get(st, "not-a-uuid", &got), STORE_NOTFOUND);
	got.is_active = 0;
	got.is_admin = 1;
	cr_assert_eq(O.user_put(st, &got, NULL), STORE_OK);
	cr_assert_eq(O.user_get(st, a.id, &got), STORE_OK);
	cr_expect_eq(got.is_active, 0);
	cr_expect_eq(got.is_admin, 1);
	cr_expect_eq(O.user_put(st, &dup, NULL), STORE_NOTFOUND);
}

Test(store_pg, user_list_pages_by_email)
{
	struct user u, *v;
	size_t n;
	uint64_t total;

	mkuser(&u, "c@example.com", 0);
	mkuser(&u, "a@example.com", 0);
	mkuser(&u, "b@example.com", 1);
	cr_assert_eq(O.user_list(st, 1, 5, &v, &n, &total), STORE_OK);
	cr_expect_eq(total, 3);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(v[0].email, "b@example.com");
	cr_expect_str_eq(v[1].email, "c@example.com");
	free(v);
}

Test(store_pg, teams_members_and_the_last_owner)
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
	cr_expect_eq(O.team_add(st, &dup, NULL, NULL), STORE_EXISTS);

	cr_assert_eq(O.member_get(st, t.id, o.id, &role), STORE_OK);
	cr_expect_eq(role, ROLE_OWNER);
	cr_expect_eq(O.member_get(st, t.id, m.id, &role), STORE_NOTFOUND);
	cr_assert_eq(O.member_set(st, t.id, m.id, ROLE_MEMBER, &created, NULL), STORE_OK);
	cr_expect_eq(created, 1);
	cr_assert_eq(O.member_set(st, t.id, m.id, ROLE_MEMBER, &created, NULL), STORE_OK);
	cr_expect_eq(created, 0);
	cr_assert_eq(O.team_get(st, t.id, &got), STORE_OK);
	cr_expect_str_eq(got.name, "Blue Team");
	cr_expect_eq(got.member_count, 2);

	/* the only owner can be neither removed nor demoted */
	cr_expect_eq(O.member_del(st, t.id, o.id, NULL), STORE_LASTOWNER);
	cr_expect_eq(O.member_set(st, t.id, o.id, ROLE_MEMBER, NULL, NULL), STORE_LASTOWNER);
	cr_assert_eq(O.member_set(st, t.id, m.id, ROLE_OWNER, NULL, NULL), STORE_OK);
	cr_expect_eq(O.member_del(st, t.id, o.id, NULL), STORE_OK);
	cr_expect_eq(O.member_del(st, t.id, o.id, NULL), STORE_NOTFOUND);

	cr_assert_eq(O.user_teams(st, m.id, &ms, &n), STORE_OK);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(ms[0].team_id, t.id);
	cr_expect_eq(ms[0].role, ROLE_OWNER);
	free(ms);
	cr_assert_eq(O.team_members(st, t.id, &ms, &n), STORE_OK);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(ms[0].user_id, m.id);
	free(ms);

	mkteam(&dup, "Alpha", NULL);
	cr_assert_eq(O.team_list(st, &all, &n), STORE_OK);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(all[0].name, "Alpha");
	cr_expect_eq(all[0].member_count, 0);
	free(all);
	cr_expect_eq(O.member_set(st, "0123456789abcdef0123456789abcdef", m.id,
	    ROLE_MEMBER, NULL, NULL), STORE_NOTFOUND);
}

Test(store_pg, active_names_are_unique_per_owner_and_team)
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

Test(store_pg, edits_keep_names_and_indexes_consistent)
{
	struct user a;
	struct token got;
	char id1[UUID_LEN + 1], id2[UUID_LEN + 1];
	int off = 0, on = 1;

	mkuser(&a, "a@example.com", 0);
	cr_assert_eq(add_token(&a, NULL, "one", 1000, 0, id1), STORE_OK);
	cr_assert_eq(O.token_edit(st, id1, ed_revoke, NULL, &got, NULL), STORE_OK);
	cr_expect_eq(got.is_revoked, 1);
	cr_expect_str_eq(got.revocation_reason, "Revoked by user");
	token_free(&got);
	/* the callback's refusal comes back unchanged, nothing written */
	cr_expect_eq(O.token_edit(st, id1, ed_revoke, NULL, NULL, NULL), 7);
	/* a revoked name is free again */
	cr_assert_eq(add_token(&a, NULL, "one", 2000, 0, id2), STORE_OK);
	/* deactivate the new one, take its name with a rename, reactivate: 409 */
	cr_assert_eq(O.token_edit(st, id2, ed_set_active, &off, NULL, NULL), STORE_OK);
	cr_assert_eq(add_token(&a, NULL, "two", 3000, 0, id1), STORE_OK);
	cr_assert_eq(O.token_edit(st, id1, ed_rename, (void *)"one", NULL, NULL), STORE_OK);
	cr_expect_eq(O.token_edit(st, id2, ed_set_active, &on, NULL, NULL), STORE_EXISTS);
	cr_assert_eq(O.token_get(st, id2, &got), STORE_OK);
	cr_expect_eq(got.is_active, 0, "a refused edit must not be written");
	token_free(&got);
	cr_expect_eq(O.token_edit(st, "00000000-0000-4000-8000-000000000000",
	    ed_set_active, &on, NULL, NULL), STORE_NOTFOUND);
}

Test(store_pg, token_lookup_by_id_and_jti)
{
	struct user a;
	struct token t, got;

	mkuser(&a, "a@example.com", 0);
	mktoken(&t, &a, NULL, "x", 5, 0);
	json_object_object_add(t.scope, "server_id", json_object_new_string("s1"));
	json_object_array_add(t.tags, json_object_new_string("prod"));
	cr_assert_eq(O.token_add(st, &t, NULL), STORE_OK);
	cr_assert_eq(O.token_by_jti(st, t.jti, &got), STORE_OK);
	cr_expect_str_eq(got.id, t.id);
	cr_expect_str_eq(got.hash, t.hash);
	cr_expect_str_eq(json_object_get_string(json_object_object_get(got.scope,
	    "server_id")), "s1");
	cr_expect_eq(json_object_array_length(got.tags), 1);
	cr_expect_null(got.description);
	token_free(&got);
	cr_expect_eq(O.token_by_jti(st, "nope", &got), STORE_NOTFOUND);
	cr_expect_eq(O.token_get(st, "../../etc", &got), STORE_NOTFOUND);
	token_free(&t);
}

static void	kill_backends(void);

#include "store_auth_check.h"

/* What a check reads, together: token, owner, the owner's team role. */
Test(store_pg, token_auth_reads_token_owner_and_role)
{
	token_auth_check(kill_backends);
}

Test(store_pg, list_newest_first_with_counted_totals)
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
	cr_assert_eq(O.token_edit(st, ids[8], ed_revoke, NULL, NULL, NULL), STORE_OK);
	cr_assert_eq(O.token_edit(st, ids[7], ed_set_active, &off, NULL, NULL), STORE_OK);

	/* all of a's: 10, newest first */
	cr_assert_eq(O.token_list(st, TOKSET_OWNER, a.id, 1, now, 0, 4, &v, &n, &total), 0);
	cr_expect_eq(total, 10);
	cr_assert_eq(n, 4);
	cr_expect_str_eq(v[0].id, ids[9]);
	cr_expect_str_eq(v[3].id, ids[6]);
	tokens_free(v, n);
	/* live only: t9 expired, t8 revoked, t7 inactive are hidden */
	cr_assert_eq(O.token_list(st, TOKSET_OWNER, a.id, 0, now, 0, 4, &v, &n, &total), 0);
	cr_expect_eq(total, 7);
	cr_assert_eq(n, 4);
	cr_expect_str_eq(v[0].id, ids[6]);
	cr_expect_str_eq(v[3].id, ids[3]);
	tokens_free(v, n);
	cr_assert_eq(O.token_list(st, TOKSET_OWNER, a.id, 0, now, 4, 4, &v, &n, &total), 0);
	cr_assert_eq(n, 3);
	cr_expect_str_eq(v[2].id, ids[0]);
	tokens_free(v, n);
	cr_assert_eq(O.token_list(st, TOKSET_ALL, NULL, 1, now, 0, 1, &v, &n, &total), 0);
	cr_expect_eq(total, 11);
	cr_expect_str_eq(v[0].name, "other");
	tokens_free(v, n);
	cr_assert_eq(O.token_list(st, TOKSET_OWNER, b.id, 0, now, 5, 10, &v, &n, &total), 0);
	cr_expect_eq(total, 1);
	cr_expect_eq(n, 0);
	tokens_free(v, n);
}

Test(store_pg, team_set_lists_team_tokens)
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
	cr_assert_eq(O.token_list(st, TOKSET_TEAM, t.id, 0, 0, 0, 10, &v, &n, &total), 0);
	cr_expect_eq(total, 1);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(v[0].name, "team");
	tokens_free(v, n);
}

Test(store_pg, own_and_team_tokens_together)
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
	cr_assert_eq(O.token_list_visible(st, a.id, &teams, NULL, 0, 10, 0, 10, &v, &n,
	    &total), STORE_OK);
	cr_expect_eq(total, 4, "own-t1 is counted once");
	cr_assert_eq(n, 4);
	cr_expect_str_eq(v[0].name, "b-t2");
	cr_expect_str_eq(v[3].name, "own");
	tokens_free(v, n);
	cr_assert_eq(O.token_list_visible(st, a.id, &teams, NULL, 0, 10, 1, 2, &v, &n,
	    &total), STORE_OK);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(v[0].name, "b-t1");
	cr_expect_str_eq(v[1].name, "own-t1");
	tokens_free(v, n);
	cr_assert_eq(O.token_edit(st, id, ed_revoke, NULL, NULL, NULL), STORE_OK);
	cr_assert_eq(O.token_list_visible(st, a.id, &teams, NULL, 0, 10, 0, 10, &v, &n,
	    &total), STORE_OK);
	cr_expect_eq(total, 3, "a revoked team token is hidden");
	tokens_free(v, n);
	strlist_free(&teams);
}

Test(store_pg, own_tokens_of_teams_outside_the_scope)
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
	cr_assert_eq(O.member_set(st, t1.id, b.id, ROLE_MEMBER, NULL, NULL), STORE_OK);
	cr_assert_eq(add_token(&a, NULL, "own", 1, 0, NULL), STORE_OK);
	cr_assert_eq(add_token(&a, t1.id, "own-t1", 2, 0, NULL), STORE_OK);
	cr_assert_eq(add_token(&a, t2.id, "own-t2", 3, 0, id), STORE_OK);
	cr_assert_eq(add_token(&a, t2.id, "own-t2-b", 4, 0, NULL), STORE_OK);
	cr_assert_eq(add_token(&b, t1.id, "b-t1", 5, 0, NULL), STORE_OK);
	cr_assert_eq(add_token(&b, NULL, "b-own", 6, 0, NULL), STORE_OK);

	/* narrowed to T1: own team-less and T1 tokens, none of T2 */
	strlist_add(&scope, t1.id);
	strlist_add(&teams, t1.id);
	cr_assert_eq(O.token_list_visible(st, a.id, &teams, &scope, 0, 10, 0, 10,
	    &v, &n, &total), STORE_OK);
	cr_expect_eq(total, 3);
	cr_assert_eq(n, 3);
	cr_expect_str_eq(v[0].name, "b-t1");
	cr_expect_str_eq(v[1].name, "own-t1");
	cr_expect_str_eq(v[2].name, "own");
	tokens_free(v, n);
	/* a page further on skips the tokens outside without counting them */
	cr_assert_eq(O.token_list_visible(st, a.id, &teams, &scope, 0, 10, 1, 1,
	    &v, &n, &total), STORE_OK);
	cr_expect_eq(total, 3);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(v[0].name, "own-t1");
	tokens_free(v, n);

	/* public-only: the team-less token alone, inactive ones included too */
	cr_assert_eq(O.token_edit(st, id, ed_revoke, NULL, NULL, NULL), STORE_OK);
	strlist_free(&scope);
	strlist_free(&teams);
	cr_assert_eq(O.token_list_visible(st, a.id, &teams, &scope, 1, 10, 0, 10,
	    &v, &n, &total), STORE_OK);
	cr_expect_eq(total, 1);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(v[0].name, "own");
	tokens_free(v, n);

	/* not narrowed: every own token */
	cr_assert_eq(O.token_list_visible(st, a.id, &teams, NULL, 1, 10, 0, 10,
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

	cr_assert_eq(O.audit_list(st, NULL, 0, 1000, &ev, &n, &total), STORE_OK);
	for (i = 0; i < n; i++)
		k += strcmp(ev[i].action, action) == 0;
	free(ev);
	return k;
}

Test(store_pg, invitations_by_email_accept_decline_expire)
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
	cr_assert_eq(O.invite_put(st, &inv, &ev), STORE_OK);
	mkinvite(&inv, t.id, "ghost@example.com", ROLE_OWNER, now + 1, 30 * day);
	cr_assert_eq(O.invite_put(st, &inv, &ev), STORE_OK);
	cr_expect_eq(audit_count("team.invite"), 2, "each with its event");
	cr_assert_eq(O.invite_list(st, 1, t.id, now, &v, &n), STORE_OK);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(v[0].email, "ghost@example.com", "newest first");
	cr_expect_str_eq(v[1].email, "a@example.com", "stored lowercase");
	cr_expect_eq(v[1].role, ROLE_MEMBER);
	cr_expect_str_eq(v[1].invited_by, "owner@example.com");
	free(v);
	cr_assert_eq(O.invite_list(st, 0, "a@EXAMPLE.com", now, &v, &n), STORE_OK);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(v[0].team_id, t.id);
	free(v);
	cr_expect_eq(O.invite_get(st, t.id, "a@example.com", now, &got), STORE_OK);
	cr_expect_eq(got.expires_at, now + 30 * day);

	/* nothing is a membership until it is accepted, and expired is gone */
	cr_expect_eq(O.member_get(st, t.id, a.id, &role), STORE_NOTFOUND);
	cr_expect_eq(O.invite_get(st, t.id, "a@example.com", now + 30 * day, &got),
	    STORE_NOTFOUND);
	cr_expect_eq(O.invite_accept(st, t.id, a.id, "a@example.com", now + 30 * day,
	    &role, NULL), STORE_NOTFOUND);
	cr_expect_eq(O.member_get(st, t.id, a.id, &role), STORE_NOTFOUND);
	cr_expect_eq(O.invite_accept(st, t.id, o.id, "owner@example.com", now,
	    &role, NULL), STORE_NOTFOUND, "only the invited e-mail accepts");

	/* accept: a member with the invited role, the invitation used up */
	snprintf(ev.action, sizeof(ev.action), "team.invite.accept");
	cr_assert_eq(O.invite_accept(st, t.id, a.id, "A@example.com", now, &role,
	    &ev), STORE_OK);
	cr_expect_eq(role, ROLE_MEMBER);
	cr_expect_eq(audit_count("team.invite.accept"), 1);
	cr_assert_eq(O.member_get(st, t.id, a.id, &role), STORE_OK);
	cr_expect_eq(role, ROLE_MEMBER);
	cr_expect_eq(O.invite_get(st, t.id, "a@example.com", now, &got), STORE_NOTFOUND);
	cr_expect_eq(O.invite_accept(st, t.id, a.id, "a@example.com", now, &role,
	    &ev), STORE_NOTFOUND);
	cr_expect_eq(audit_count("team.invite.accept"), 1, "no event without a change");

	/* a member accepting keeps the higher role and its joined_at */
	cr_assert_eq(O.user_teams(st, a.id, &ms, &n), STORE_OK);
	cr_assert_eq(n, 1);
	joined = ms[0].joined_at;
	free(ms);
	mkinvite(&inv, t.id, "a@example.com", ROLE_OWNER, now + 5, day);
	cr_assert_eq(O.invite_put(st, &inv, NULL), STORE_OK);
	cr_assert_eq(O.invite_accept(st, t.id, a.id, "a@example.com", now + 6, &role,
	    NULL), STORE_OK);
	cr_expect_eq(role, ROLE_OWNER);
	mkinvite(&inv, t.id, "a@example.com", ROLE_MEMBER, now + 7, day);
	cr_assert_eq(O.invite_put(st, &inv, NULL), STORE_OK);
	cr_assert_eq(O.invite_accept(st, t.id, a.id, "a@example.com", now + 8, &role,
	    NULL), STORE_OK);
	cr_expect_eq(role, ROLE_OWNER, "accepting never demotes");
	cr_assert_eq(O.user_teams(st, a.id, &ms, &n), STORE_OK);
	cr_expect_eq(ms[0].role, ROLE_OWNER);
	cr_expect_eq(ms[0].joined_at, joined);
	free(ms);

	/* decline (or withdraw): gone, once */
	cr_expect_eq(O.invite_del(st, t.id, "GHOST@example.com", now, NULL), STORE_OK);
	cr_expect_eq(O.invite_del(st, t.id, "ghost@example.com", now, NULL),
	    STORE_NOTFOUND);
	cr_assert_eq(O.invite_list(st, 0, "ghost@example.com", now, &v, &n), STORE_OK);
	cr_expect_eq(n, 0);
	free(v);

	/* unknown team, malformed input: nothing stored, no event */
	snprintf(ev.action, sizeof(ev.action), "team.invite.bad");
	mkinvite(&inv, "0123456789abcdef0123456789abcdef", "x@example.com",
	    ROLE_MEMBER, now, day);
	cr_expect_eq(O.invite_put(st, &inv, &ev), STORE_NOTFOUND);
	cr_expect_eq(audit_count("team.invite.bad"), 0);
	mkinvite(&inv, "nope", "x@example.com", ROLE_MEMBER, now, day);
	cr_expect_eq(O.invite_put(st, &inv, NULL), STORE_INVALID);
	mkinvite(&inv, t.id, "x@example.com", ROLE_NONE, now, day);
	cr_expect_eq(O.invite_put(st, &inv, NULL), STORE_INVALID);
	mkinvite(&inv, t.id, "x@example.com", ROLE_MEMBER, now, 0);
	cr_expect_eq(O.invite_put(st, &inv, NULL), STORE_INVALID);
	cr_expect_eq(O.invite_get(st, "nope", "x@example.com", now, &got),
	    STORE_NOTFOUND);
}

Test(store_pg, expired_invitations_are_purged_by_the_next_one)
{
	struct user o;
	struct team t;
	struct invitation inv, *v;
	size_t n;
	int64_t now = util_now_ms(), day = 86400000;

	mkuser(&o, "owner@example.com", 0);
	mkteam(&t, "Green", o.id);
	mkinvite(&inv, t.id, "old@example.com", ROLE_MEMBER, now - 40 * day, 30 * day);
	cr_assert_eq(O.invite_put(st, &inv, NULL), STORE_OK);
	cr_assert_eq(O.invite_list(st, 1, t.id, now, &v, &n), STORE_OK);
	cr_expect_eq(n, 0, "an expired invitation is not pending");
	free(v);
	cr_assert_eq(O.invite_list(st, 1, t.id, 0, &v, &n), STORE_OK);
	cr_expect_eq(n, 1, "but stored");
	free(v);
	cr_expect_eq(O.invite_del(st, t.id, "old@example.com", now, NULL),
	    STORE_NOTFOUND, "nor declined");
	mkinvite(&inv, t.id, "new@example.com", ROLE_MEMBER, now, 30 * day);
	cr_assert_eq(O.invite_put(st, &inv, NULL), STORE_OK);
	cr_assert_eq(O.invite_list(st, 1, t.id, 0, &v, &n), STORE_OK);
	cr_assert_eq(n, 1, "the expired one is purged");
	cr_expect_str_eq(v[0].email, "new@example.com");
	free(v);
	cr_assert_eq(O.invite_list(st, 0, "old@example.com", 0, &v, &n), STORE_OK);
	cr_expect_eq(n, 0, "from both indexes");
	free(v);
}

Test(store_pg, session_revocations_and_login_failures)
{
	unsigned count;
	int64_t last;
	int locked;

	cr_expect_eq(O.jti_revoked(st, "j1"), 0);
	cr_assert_eq(O.jti_revoke(st, "j1", 99), STORE_OK);
	cr_expect_eq(O.jti_revoked(st, "j1"), 1);

	/* attempts count before the password is checked; e-mails any case */
	cr_assert_eq(O.login_attempt(st, "X@example.com", 1000, 500, 3, &count,
	    &last, &locked), 0);
	cr_assert_eq(O.login_attempt(st, "x@example.com", 1400, 500, 3, &count,
	    &last, &locked), 0);
	cr_expect_eq(count, 2);
	cr_expect_eq(locked, 0);
	cr_assert_eq(O.login_get(st, "x@EXAMPLE.com", &count, &last), 0);
	cr_expect_eq(count, 2);
	cr_expect_eq(last, 1400);
	/* a gap longer than the window starts a new count */
	cr_assert_eq(O.login_attempt(st, "x@example.com", 2000, 500, 3, &count,
	    &last, &locked), 0);
	cr_expect_eq(count, 1);
	/* at max attempts within the window: locked, and nothing more counted */
	cr_assert_eq(O.login_attempt(st, "x@example.com", 2100, 500, 3, &count,
	    &last, &locked), 0);
	cr_assert_eq(O.login_attempt(st, "x@example.com", 2200, 500, 3, &count,
	    &last, &locked), 0);
	cr_expect_eq(count, 3);
	cr_expect_eq(locked, 0);
	cr_assert_eq(O.login_attempt(st, "x@example.com", 2300, 500, 3, &count,
	    &last, &locked), 0);
	cr_expect_eq(locked, 1);
	cr_expect_eq(count, 3);
	cr_expect_eq(last, 2200);
	/* the lock ends window ms after the last counted attempt */
	cr_assert_eq(O.login_attempt(st, "x@example.com", 2700, 500, 3, &count,
	    &last, &locked), 0);
	cr_expect_eq(locked, 0);
	cr_expect_eq(count, 1);
	cr_assert_eq(O.login_reset(st, "x@example.com"), 0);
	cr_assert_eq(O.login_get(st, "x@example.com", &count, &last), 0);
	cr_expect_eq(count, 0);
}

static void
use(const char *id, int64_t at, const char *path, int blocked, uint32_t us)
{
	struct use u = { at, "GET", path, "127.0.0.1", "test/1", blocked ? 403 : 200,
	    blocked, us };

	cr_assert_eq(O.use_record(st, id, &u), STORE_OK);
}

Test(store_pg, usage_statistics_from_daily_aggregates)
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
	cr_assert_eq(O.use_last(st, id, &last), STORE_OK);
	cr_expect_eq(last, now - 700, "last_used is the last allowed use");
	cr_assert_eq(O.use_stats(st, id, now, 30, &s), STORE_OK);
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
	cr_assert_eq(O.use_stats(st, id, now, 1, &s), STORE_OK);
	cr_expect_eq(s.total, 4);
	free(s.days);
}

Test(store_pg, usage_sliding_windows)
{
	const char *id = "22222222-2222-4222-8222-222222222222";
	int64_t now = util_now_ms(), frees[3];
	uint32_t cap[3] = { 3, 10, 0 }, n[3];
	int i;

	use(id, now - 120000, "/p", 0, 1);              /* in the hour only */
	use(id, now - 30000, "/p", 1, 1);               /* blocked: not counted */
	for (i = 0; i < 4; i++)
		use(id, now - 20000 + i * 1000, "/p", 0, 1);
	cr_assert_eq(O.use_window(st, id, now, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 3, "counted up to the cap");
	/* the oldest counted use sits in the 1 s bucket of now - 20 s */
	cr_expect_eq(frees[WIN_MINUTE], (now - 20000) / 1000 * 1000 + 1000 + 60000);
	cr_expect_eq(n[WIN_HOUR], 5);
	cr_expect_eq(frees[WIN_HOUR], 0, "under the cap: nothing to wait for");
	cr_expect_eq(n[WIN_DAY], 0, "cap 0: not counted");
}

Test(store_pg, usage_windows_cost_buckets_not_uses)
{
	const char *id = "44444444-4444-4444-8444-444444444444";
	int64_t now = util_now_ms(), frees[3];
	uint32_t cap[3] = { 1000000, 1000000, 1000000 }, n[3];
	int i;

	/* 3000 uses in the same second: one bucket per level */
	for (i = 0; i < 3000; i++)
		use(id, now - 500, "/p", 0, 1);
	cr_assert_eq(O.use_window(st, id, now, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 3000);
	cr_expect_eq(n[WIN_HOUR], 3000);
	cr_expect_eq(n[WIN_DAY], 3000);
	cap[WIN_DAY] = 2000;
	cr_assert_eq(O.use_window(st, id, now, cap, n, frees), STORE_OK);
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

		if (O.open(&other, conninfo, 0, 0) != STORE_OK ||
		    O.use_last(other, id, &last) != STORE_OK)
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

Test(store_pg, uses_are_written_in_batches)
{
	const char *id = "55555555-5555-4555-8555-555555555555";
	int64_t now = util_now_ms(), frees[3];
	uint32_t cap[3] = { 2, 0, 0 }, n[3];

	use(id, now - 10, "/p", 0, 1);
	cr_expect_eq(O.use_pending(st), 1);
	cr_expect_not(O.use_due(st, now), "young and not a full batch");
	cr_expect(O.use_due(st, now - 10 + USE_FLUSH_MS));
	/* this process counts its pending use at once */
	cr_assert_eq(O.use_window(st, id, now, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 1);
	/* another process (with a connection of its own) sees it
	 * once written */
	cr_expect_eq(last_in_child(id), 0);
	cr_assert_eq(O.use_flush(st), STORE_OK);
	cr_expect_eq(O.use_pending(st), 0);
	cr_expect_eq(last_in_child(id), now - 10);
}

Test(store_pg, usage_paths_per_day_are_capped)
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
	cr_assert_eq(O.use_stats(st, id, now, 1, &s), STORE_OK);
	cr_expect_eq(s.total, 150);
	cr_expect_str_eq(s.top[0].path, "(other)");
	cr_expect_eq(s.top[0].n, 50);
	free(s.days);
}

/*
 * Batches add to the aggregates what the uses add one by one: the same
 * uses (blocked ones, 130 paths so that the day's cap of 100 applies,
 * across midnight), written for one token a use per batch and for another
 * in full batches mixed with a third token's, give the same statistics,
 * windows and last_used.
 */
Test(store_pg, a_batch_adds_what_its_uses_add_one_by_one)
{
	const char *one = "44444444-4444-4444-8444-444444444444",
	    *many = "55555555-5555-4555-8555-555555555555",
	    *mixed = "66666666-6666-4666-8666-666666666666";
	int64_t now = util_now_ms(), day = 86400000, at, l1, l2;
	int64_t midnight = now / day * day;
	uint32_t cap[WIN__MAX] = { 1000000, 1000000, 1000000 };
	uint32_t n1[WIN__MAX], n2[WIN__MAX];
	int64_t f1[WIN__MAX], f2[WIN__MAX];
	struct usage_stats a, b;
	char path[32];
	size_t i, k;

	for (i = 0; i < 300; i++) {
		/* the first half yesterday, the rest today */
		at = i < 150 ? midnight - 1000 + (int64_t)i :
		    now - 3000 + (int64_t)i;
		snprintf(path, sizeof(path), "/p/%zu", i * 37 % 130);
		use(one, at, path, i % 7 == 0, (uint32_t)i);
		cr_assert_eq(O.use_flush(st), STORE_OK);
		use(many, at, path, i % 7 == 0, (uint32_t)i);
		use(mixed, at, "/m", 0, 1);
	}
	cr_assert_eq(O.use_flush(st), STORE_OK);
	cr_assert_eq(O.use_stats(st, one, now, 2, &a), STORE_OK);
	cr_assert_eq(O.use_stats(st, many, now, 2, &b), STORE_OK);
	cr_expect_eq(a.total, 300);
	cr_expect_eq(b.total, a.total);
	cr_expect_eq(b.allowed, a.allowed);
	cr_expect_eq(b.blocked, a.blocked);
	cr_expect_eq(b.sum_us, a.sum_us);
	cr_expect_eq(b.ntop, a.ntop);
	for (k = 0; k < a.ntop && k < b.ntop; k++) {
		cr_expect_str_eq(b.top[k].path, a.top[k].path, "top %zu", k);
		cr_expect_eq(b.top[k].n, a.top[k].n, "top %zu", k);
	}
	cr_expect_str_eq(a.top[0].path, "(other)");
	cr_assert_eq(b.ndays, a.ndays);
	for (k = 0; k < a.ndays; k++) {
		cr_expect_eq(b.days[k].day, a.days[k].day);
		cr_expect_eq(b.days[k].allowed, a.days[k].allowed);
		cr_expect_eq(b.days[k].blocked, a.days[k].blocked);
	}
	free(a.days);
	free(b.days);
	cr_assert_eq(O.use_window(st, one, now, cap, n1, f1), STORE_OK);
	cr_assert_eq(O.use_window(st, many, now, cap, n2, f2), STORE_OK);
	for (k = 0; k < WIN__MAX; k++) {
		cr_expect_eq(n2[k], n1[k], "window %zu", k);
		cr_expect_eq(f2[k], f1[k], "window %zu", k);
	}
	cr_expect_eq(n1[WIN_DAY], 300 - 43, "the allowed uses of the day");
	cr_assert_eq(O.use_last(st, one, &l1), STORE_OK);
	cr_assert_eq(O.use_last(st, many, &l2), STORE_OK);
	cr_expect_eq(l2, l1);
}

/* A user added by another process after a snapshot began is not in it. */
Test(store_pg, snapshot_reads_one_committed_state)
{
	struct user a, b, got;
	pid_t pid;
	int status;

	mkuser(&a, "snap-a@example.com", 0);
	memset(&b, 0, sizeof(b));
	cr_assert_eq(util_uuid4(b.id), 0);
	snprintf(b.email, sizeof(b.email), "snap-b@example.com");
	b.is_active = 1;
	cr_assert_eq(O.snapshot(st), STORE_OK);
	if ((pid = fork()) == 0) {
		struct store *other;

		_exit(O.open(&other, conninfo, 0, 0) != STORE_OK ||
		    O.user_add(other, &b, NULL) != STORE_OK);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_expect_eq(O.user_get(st, a.id, &got), STORE_OK);
	cr_expect_eq(O.user_get(st, b.id, &got), STORE_NOTFOUND,
	    "committed after the snapshot began");
	cr_expect_eq(O.user_get(st, b.id, &got), STORE_NOTFOUND, "twice");
	O.snapshot_end(st);
	cr_expect_eq(O.user_get(st, b.id, &got), STORE_OK);
	cr_expect_str_eq(got.email, "snap-b@example.com");
	O.snapshot_end(st);         /* a second end is harmless */
	cr_expect_eq(O.user_get(st, b.id, &got), STORE_OK);
}

/*
 * The windows read the closed buckets (two widths old and more) from a
 * per-process cache and the newest ones from the store: counts are the
 * same as a full count at every step, with uses written by another
 * process in between and the window moving on.
 */
Test(store_pg, window_counts_with_the_closed_bucket_cache)
{
	const char *id = "66666666-6666-4666-8666-666666666666";
	int64_t now = 1800000000000LL, frees[3];      /* on a second boundary */
	uint32_t cap[3] = { 1000, 1000, 0 }, n[3];
	int i, status;
	pid_t pid;

	/* one use in each of the last 10 one-second buckets, now included */
	for (i = 0; i < 10; i++)
		use(id, now - i * 1000, "/w", 0, 1);
	cr_assert_eq(O.use_flush(st), STORE_OK);
	cr_assert_eq(O.use_window(st, id, now, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 10);
	cr_expect_eq(n[WIN_HOUR], 10);
	cr_expect_eq(frees[WIN_MINUTE], 0, "below the cap");
	/* the same moment again: cached closed part, fresh newest buckets */
	cr_assert_eq(O.use_window(st, id, now + 500, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 10, "no bucket counted twice");
	cr_expect_eq(n[WIN_HOUR], 10);
	/* another process adds two uses to the newest buckets */
	if ((pid = fork()) == 0) {
		struct store *other;
		struct use u = { now, "GET", "/w", "127.0.0.1", "t", 200, 0, 1 };

		if (O.open(&other, conninfo, 0, 0) != STORE_OK ||
		    O.use_record(other, id, &u) != STORE_OK)
			_exit(1);
		u.at = now - 1000;
		if (O.use_record(other, id, &u) != STORE_OK)
			_exit(1);
		O.close(other);     /* writes them */
		_exit(0);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert_eq(O.use_window(st, id, now + 600, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 12, "the other process's uses count");
	/* 55 s later the minute starts at the bucket of now - 5 s: buckets
	 * -5 s to -2 s hold one use each, -1 s and now two (8 uses) */
	cr_assert_eq(O.use_window(st, id, now + 55000, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 8, "%u", n[WIN_MINUTE]);
	cr_expect_eq(n[WIN_HOUR], 12);
	/* at the cap, frees_at is when the oldest counted bucket (now - 5 s)
	 * has left the window: its start + 1 s + 60 s */
	cap[WIN_MINUTE] = 3;
	cr_assert_eq(O.use_window(st, id, now + 55000, cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 3);
	cr_expect_eq(frees[WIN_MINUTE], now - 5000 + 1000 + 60000,
	    "%lld", (long long)(frees[WIN_MINUTE] - now));
}

/* --- what only PostgreSQL has to do --- */

Test(store_pg, open_needs_a_migrated_database)
{
	struct store *s2;
	char q[256], info[2048], empty[80];
	PGresult *r;
	int have = -1;

	snprintf(empty, sizeof(empty), "%s_e", dbname);
	snprintf(q, sizeof(q), "CREATE DATABASE %s", empty);
	sql(srv, q);
	conninfo_for(getenv("TOKENCAT_TEST_PG"), empty, info, sizeof(info));
	cr_expect_eq(store_pg_open(&s2, info, 0), STORE_NOTFOUND,
	    "a database without the schema: run tokencat init");
	cr_expect_null(s2);
	cr_expect_eq(store_pg_open(&s2, "host=/nonexistent dbname=x "
	    "connect_timeout=2", 0), STORE_IO, "a server out of reach");
	cr_expect_null(s2);
	cr_expect_eq(O.open(&s2, info, 0, STORE_CREATE), STORE_OK);
	snprintf(q, sizeof(q), "SELECT 1 FROM pg_stat_activity WHERE datname = "
	    "'%s' AND application_name = 'tokencat'", empty);
	r = PQexec(srv, q);
	cr_expect_eq(PQntuples(r), 1, "the default application_name");
	PQclear(r);
	cr_expect_eq(store_pg_schema_check(s2, &have), STORE_OK);
	cr_expect_eq(have, store_pg_schema_latest());
	O.close(s2);
	snprintf(q, sizeof(q), "DROP DATABASE %s WITH (FORCE)", empty);
	sql(srv, q);
}

Test(store_pg, migrations_are_idempotent)
{
	int from = -1, to = -1;
	PGconn *c = PQconnectdb(conninfo);
	PGresult *r;

	cr_assert_eq(store_pg_migrate(st, &from, &to), STORE_OK);
	cr_expect_eq(from, store_pg_schema_latest());
	cr_expect_eq(to, store_pg_schema_latest());
	cr_assert_eq(store_pg_migrate(st, &from, &to), STORE_OK, "twice");
	cr_expect_eq(from, to);
	r = PQexec(c, "SELECT count(*), max(version) FROM schema_version");
	cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK);
	cr_expect_eq(atoi(PQgetvalue(r, 0, 0)), (int)pg_nmigrations,
	    "one row per migration");
	cr_expect_eq(atoi(PQgetvalue(r, 0, 1)), store_pg_schema_latest());
	PQclear(r);
	PQfinish(c);
	cr_expect_eq(store_pg_schema_check(st, NULL), STORE_OK);
}

Test(store_pg, backup_is_pg_dump_and_reopen_keeps_everything)
{
	struct user a, got;
	struct token t;
	char id[UUID_LEN + 1];

	mkuser(&a, "a@example.com", 0);
	cr_assert_eq(add_token(&a, NULL, "kept", 1, 0, id), STORE_OK);
	cr_expect_neq(O.backup(st, "/tmp/never"), STORE_OK);
	O.close(st);
	cr_assert_eq(store_pg_open(&st, conninfo, 0), STORE_OK);
	cr_assert_eq(O.token_get(st, id, &t), STORE_OK);
	cr_expect_str_eq(t.name, "kept");
	token_free(&t);
	cr_expect_eq(O.user_by_email(st, "a@example.com", &got), STORE_OK);
}

Test(store_pg, audit_events_commit_with_their_change)
{
	struct user a, dup;
	struct audit_event ev, *v;
	size_t n;
	uint64_t total;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.actor, sizeof(ev.actor), "Admin@Example.com");
	snprintf(ev.action, sizeof(ev.action), "user.create");
	snprintf(ev.target_user, sizeof(ev.target_user), "a@example.com");
	/* a detail cut inside a character is stored, not refused */
	snprintf(ev.detail, sizeof(ev.detail), "caf\xc3");
	memset(&a, 0, sizeof(a));
	cr_assert_eq(util_uuid4(a.id), 0);
	snprintf(a.email, sizeof(a.email), "a@example.com");
	cr_assert_eq(O.user_add(st, &a, &ev), STORE_OK);
	dup = a;
	cr_assert_eq(util_uuid4(dup.id), 0);
	ev.at = 5;
	cr_expect_eq(O.user_add(st, &dup, &ev), STORE_EXISTS);
	cr_assert_eq(O.audit_list(st, NULL, 0, 10, &v, &n, &total), STORE_OK);
	cr_expect_eq(total, 1, "no event for a refused write");
	cr_assert_eq(n, 1);
	cr_expect_str_eq(v[0].detail, "caf?");
	free(v);
	ev.at = 0;
	snprintf(ev.action, sizeof(ev.action), "token.create");
	snprintf(ev.target_user, sizeof(ev.target_user), "b@example.com");
	cr_assert_eq(O.audit_add(st, &ev), STORE_OK);
	cr_assert_eq(O.audit_list(st, "A@EXAMPLE.COM", 0, 10, &v, &n, &total),
	    STORE_OK);
	cr_expect_eq(total, 1, "actor or target, any case");
	free(v);
	cr_assert_eq(O.audit_list(st, "admin@example.com", 0, 1, &v, &n, &total),
	    STORE_OK);
	cr_expect_eq(total, 2);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(v[0].action, "token.create", "newest first");
	free(v);
	cr_assert_eq(O.audit_list(st, NULL, 5, 10, &v, &n, &total), STORE_OK);
	cr_expect_eq(total, 2);
	cr_expect_eq(n, 0);
	free(v);
}

Test(store_pg, admit_counts_exactly_in_one_process)
{
	const char *id = "77777777-7777-4777-8777-777777777777";
	struct use u = { 0, "GET", "/x", "127.0.0.1", "t", 200, 0, 5 };
	uint32_t cap[3] = { 3, 0, 10 }, n[3];
	int64_t frees[3], now = util_now_ms();
	int i, admitted;

	for (i = 0; i < 3; i++) {
		cr_assert_eq(O.use_admit(st, id, cap, &u, n, frees, &admitted),
		    STORE_OK);
		cr_expect_eq(admitted, 1);
		cr_expect_eq(n[WIN_MINUTE], (uint32_t)i + 1);
		cr_expect_eq(n[WIN_HOUR], 0, "cap 0: not counted");
	}
	cr_assert_eq(O.use_admit(st, id, cap, &u, n, frees, &admitted), STORE_OK);
	cr_expect_eq(admitted, 0);
	cr_expect_eq(n[WIN_MINUTE], 3);
	cr_expect_eq(n[WIN_DAY], 3);
	cr_expect_gt(frees[WIN_MINUTE], now + 60000 - 2000);
	cr_expect_eq(frees[WIN_DAY], 0);
	cr_assert_eq(O.use_window(st, id, util_now_ms(), cap, n, frees), STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 3);
}

/* Fork n children that each run fn(i) on a store of their own, at once;
 * returns how many exited with status 1. */
static int
in_children(int n, int (*fn)(struct store *, int))
{
	int p[2], i, status, ones = 0;
	pid_t pid[32];
	char go;

	cr_assert_leq(n, 32);
	cr_assert_eq(pipe(p), 0);
	for (i = 0; i < n; i++) {
		if ((pid[i] = fork()) == 0) {
			struct store *mine;
			int rc;

			close(p[1]);
			if (store_pg_open(&mine, conninfo, 0) != STORE_OK)
				_exit(3);
			if (read(p[0], &go, 1) < 0)     /* EOF: all start */
				_exit(4);
			rc = fn(mine, i);
			O.close(mine);
			_exit(rc);
		}
		cr_assert_gt(pid[i], 0);
	}
	close(p[0]);
	usleep(300000);                 /* the children connect */
	close(p[1]);
	for (i = 0; i < n; i++) {
		cr_assert_eq(waitpid(pid[i], &status, 0), pid[i]);
		cr_assert(WIFEXITED(status));
		cr_assert_leq(WEXITSTATUS(status), 1, "child %d: %d", i,
		    WEXITSTATUS(status));
		ones += WEXITSTATUS(status);
	}
	return ones;
}

static const char *race_token = "88888888-8888-4888-8888-888888888888";

static int
admit_once(struct store *s, int i)
{
	struct use u = { 0, "GET", "/race", "127.0.0.1", "t", 200, 0, 1 };
	uint32_t cap[3] = { 10, 10, 10 }, n[3];
	int64_t frees[3];
	int admitted;

	(void)i;
	if (O.use_admit(s, race_token, cap, &u, n, frees, &admitted) != STORE_OK)
		return 2;
	return admitted;
}

Test(store_pg, concurrent_admits_never_exceed_the_limit, .timeout = 60)
{
	uint32_t cap[3] = { 100, 100, 100 }, n[3];
	int64_t frees[3];

	cr_expect_eq(in_children(20, admit_once), 10,
	    "20 processes, a limit of 10: exactly 10 admitted");
	cr_assert_eq(O.use_window(st, race_token, util_now_ms(), cap, n, frees),
	    STORE_OK);
	cr_expect_eq(n[WIN_MINUTE], 10);
	cr_expect_eq(n[WIN_DAY], 10);
}

static struct user racer;

static int
create_once(struct store *s, int i)
{
	struct token t;
	int rc;

	(void)i;
	mktoken(&t, &racer, NULL, "deploy", 100 + i, 0);
	rc = O.token_add(s, &t, NULL);
	token_free(&t);
	return rc == STORE_OK ? 1 : rc == STORE_EXISTS ? 0 : 2;
}

Test(store_pg, concurrent_creates_of_one_name_have_one_winner, .timeout = 60)
{
	struct token *v;
	size_t n;
	uint64_t total;

	mkuser(&racer, "racer@example.com", 0);
	cr_expect_eq(in_children(20, create_once), 1, "exactly one STORE_OK");
	cr_assert_eq(O.token_list(st, TOKSET_OWNER, racer.id, 1, 0, 0, 50, &v,
	    &n, &total), STORE_OK);
	cr_expect_eq(total, 1);
	tokens_free(v, n);
}

/* End every other connection to the test's database. */
static void
kill_backends(void)
{
	char q[256];

	snprintf(q, sizeof(q), "SELECT pg_terminate_backend(pid) FROM "
	    "pg_stat_activity WHERE datname = '%s' AND pid <> pg_backend_pid()",
	    dbname);
	sql(srv, q);
	usleep(100000);
}

Test(store_pg, a_lost_connection_is_reopened_without_a_crash)
{
	struct user a, got;
	struct token t;
	char id[UUID_LEN + 1];
	unsigned count;
	int64_t last;
	int rc, locked;

	mkuser(&a, "a@example.com", 0);
	kill_backends();
	cr_expect_eq(O.user_get(st, a.id, &got), STORE_OK,
	    "a read is tried again on a new connection");
	kill_backends();
	rc = add_token(&a, NULL, "after", 1, 0, id);
	cr_expect(rc == STORE_OK || rc == STORE_IO, "rc %d", rc);
	if (rc == STORE_IO)
		cr_assert_eq(add_token(&a, NULL, "after", 1, 0, id), STORE_OK);
	cr_assert_eq(O.token_get(st, id, &t), STORE_OK);
	token_free(&t);
	kill_backends();
	rc = O.login_attempt(st, "a@example.com", 1000, 500, 3, &count, &last,
	    &locked);
	cr_expect(rc == STORE_OK || rc == STORE_IO, "rc %d", rc);
	/* a batch of uses on a dead connection: lost (logged) or written */
	use("aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", util_now_ms(), "/x", 0, 1);
	kill_backends();
	rc = O.use_flush(st);
	cr_expect(rc == STORE_OK || rc == STORE_IO, "rc %d", rc);
	cr_expect_eq(O.use_pending(st), 0);
	cr_expect_eq(O.user_get(st, a.id, &got), STORE_OK);
	kill_backends();
	cr_expect(O.snapshot(st) == STORE_OK);
	kill_backends();
	rc = O.user_get(st, a.id, &got);
	cr_expect(rc == STORE_IO, "a snapshot's reads are not silently renewed");
	O.snapshot_end(st);
	cr_expect_eq(O.user_get(st, a.id, &got), STORE_OK);
}

/* t's is_active (active = 1) or is_revoked (0) as store_token_auth on w
 * reads it now. */
static int
flag_on(struct store *w, const struct token *t, int active)
{
	struct token_auth ta;
	int r;

	cr_assert_eq(store_token_auth(w, t->jti, &ta), STORE_OK);
	r = active ? ta.tok.is_active : ta.tok.is_revoked;
	token_free(&ta.tok);
	return r;
}

static int
revoked_on(struct store *w, const struct token *t)
{
	return flag_on(w, t, 0);
}

/* Set t revoked (1) or not (0) on db; silent: with the triggers off, so
 * that no notification is sent (as if it were lost). */
static void
set_revoked(PGconn *db, const struct token *t, int revoked, int silent)
{
	char q[256];

	snprintf(q, sizeof(q), "%sUPDATE tokens SET is_revoked = %s WHERE "
	    "id = '%s'; RESET session_replication_role", silent ?
	    "SET session_replication_role = replica; " : "",
	    revoked ? "true" : "false", t->id);
	sql(db, q);
}

/* Poll until t reads as want on w, for 5 s at most; the ms it took. */
static int64_t
until_revoked_on(struct store *w, const struct token *t, int want)
{
	int64_t t0 = util_mono_us(), ms;

	while (revoked_on(w, t) != want) {
		ms = (util_mono_us() - t0) / 1000;
		cr_assert_lt(ms, 5000, "still %d after %lld ms", !want,
		    (long long)ms);
		usleep(1000);
	}
	return (util_mono_us() - t0) / 1000;
}

/*
 * A worker's store (STORE_SERVE) keeps what checks read while its change
 * feed is quiet; a notified change empties the cache, so does the feed's
 * end, and a row older than a second is read again.
 */
Test(store_pg, a_worker_store_caches_checks_behind_its_change_feed)
{
	struct store *w;
	struct user a;
	struct token t;
	PGconn *db;
	char q[256];
	int64_t t0, ms;

	mkuser(&a, "a@example.com", 0);
	mktoken(&t, &a, NULL, "cached", 5, 0);
	cr_assert_eq(O.token_add(st, &t, NULL), STORE_OK);
	cr_assert_eq(store_pg_open(&w, conninfo, STORE_SERVE), STORE_OK);
	db = PQconnectdb(conninfo);
	cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));

	/* read once, then changed without a notification: the cached row
	 * answers while it is younger than a second */
	t0 = util_mono_us();
	cr_expect_eq(revoked_on(w, &t), 0);
	set_revoked(db, &t, 1, 1);
	if (revoked_on(w, &t) == 0)
		cr_log_info("the cache answered");
	else
		cr_expect_geq((util_mono_us() - t0) / 1000, 1000,
		    "a row younger than a second was read again without a "
		    "notification");
	/* ... and after that second it is read again */
	until_revoked_on(w, &t, 1);

	/* a notified change: refused at once after its notification */
	cr_expect_eq(revoked_on(w, &t), 1);
	set_revoked(db, &t, 0, 0);
	ms = until_revoked_on(w, &t, 0);
	cr_log_info("a notified change seen after %lld ms", (long long)ms);
	cr_expect_lt(ms, 1000);

	/* a silent change, then the feed's session ends: the cache goes with
	 * the feed, and the very next check reads the change */
	cr_expect_eq(revoked_on(w, &t), 0);
	set_revoked(db, &t, 1, 1);
	snprintf(q, sizeof(q), "SELECT pg_terminate_backend(pid, 10000) FROM "
	    "pg_stat_activity WHERE application_name = 'tokencat feed' AND "
	    "datname = '%s'", dbname);
	sql(srv, q);
	cr_expect_eq(revoked_on(w, &t), 1, "read through without a feed");
	set_revoked(db, &t, 0, 1);
	cr_expect_eq(revoked_on(w, &t), 0, "still without a feed");
	/* the feed comes back within a second or so; then notified changes
	 * are seen again */
	t0 = util_mono_us();
	for (;;) {
		PGresult *r;
		int n;

		snprintf(q, sizeof(q), "SELECT count(*) FROM pg_stat_activity "
		    "WHERE application_name = 'tokencat feed' AND datname = '%s'",
		    dbname);
		r = PQexec(srv, q);
		n = PQntuples(r) == 1 ? atoi(PQgetvalue(r, 0, 0)) : -1;
		PQclear(r);
		if (n == 1)
			break;
		cr_assert_lt(util_mono_us() - t0, 5000000LL, "no feed again");
		cr_expect_eq(revoked_on(w, &t), 0);     /* the worker tries */
		usleep(10000);
	}
	set_revoked(db, &t, 1, 0);
	until_revoked_on(w, &t, 1);
	PQfinish(db);
	O.close(w);
	token_free(&t);
}

/*
 * A change made through one store of this host is read at once by the
 * workers of the host, without waiting for their feeds' notifications
 * (which reach them some time after the commit): the change made by
 * another worker (w2) and by a CLI (st, no cache of its own, opened before
 * any worker made the host's counter). 100 switches each, every one read
 * by w straight after the write returned.
 */
Test(store_pg, a_change_on_this_host_is_read_at_once_by_its_other_workers)
{
	struct store *w, *w2, *by;
	struct user a;
	struct token t;
	int i, on;

	mkuser(&a, "a@example.com", 0);
	mktoken(&t, &a, NULL, "switched", 5, 0);
	cr_assert_eq(O.token_add(st, &t, NULL), STORE_OK);
	cr_assert_eq(store_pg_open(&w, conninfo, STORE_SERVE), STORE_OK);
	cr_assert_eq(store_pg_open(&w2, conninfo, STORE_SERVE), STORE_OK);
	cr_assert_eq(flag_on(w, &t, 1), 1);
	for (i = 0; i < 200; i++) {
		by = i % 2 ? w2 : st;
		on = (i / 2) % 2;
		cr_assert_eq(O.token_edit(by, t.id, ed_set_active, &on, NULL,
		    NULL), STORE_OK);
		cr_assert_eq(flag_on(w, &t, 1), on, "switch %d by %s read as "
		    "before", i, by == st ? "the CLI" : "another worker");
	}
	O.close(w2);
	O.close(w);
	token_free(&t);
}

Test(store_pg, meta_holds_the_key_fingerprint)
{
	char v[80];

	cr_expect_eq(store_pg_meta_get(st, "key_fingerprint", v, sizeof(v)),
	    STORE_NOTFOUND);
	cr_assert_eq(store_pg_meta_put(st, "key_fingerprint", "ab12"), STORE_OK);
	cr_assert_eq(store_pg_meta_put(st, "key_fingerprint", "cd34"), STORE_OK);
	cr_assert_eq(store_pg_meta_get(st, "key_fingerprint", v, sizeof(v)),
	    STORE_OK);
	cr_expect_str_eq(v, "cd34");
}

static int
ed_refuse(struct token *t, void *arg)
{
	(void)t;
	(void)arg;
	return 9;
}

/* Rotation: the old token revoked and the new one added, or neither. */
Test(store_pg, rotation_is_all_or_nothing)
{
	struct user a;
	struct token newt, got;
	char old[UUID_LEN + 1], other[UUID_LEN + 1];

	mkuser(&a, "a@example.com", 0);
	cr_assert_eq(add_token(&a, NULL, "svc", 10, 0, old), STORE_OK);
	cr_assert_eq(add_token(&a, NULL, "taken", 11, 0, other), STORE_OK);
	mktoken(&newt, &a, NULL, "taken", 12, 0);
	cr_expect_eq(O.token_rotate(st, old, ed_revoke, NULL, &newt, NULL),
	    STORE_EXISTS, "the new name is held by another token");
	cr_assert_eq(O.token_get(st, old, &got), STORE_OK);
	cr_expect_eq(got.is_revoked, 0, "so the old one is not revoked either");
	token_free(&got);
	cr_expect_eq(O.token_get(st, newt.id, &got), STORE_NOTFOUND);
	cr_expect_eq(O.token_rotate(st, old, ed_refuse, NULL, &newt, NULL), 9);
	free(newt.name);
	newt.name = strdup("svc");
	cr_assert_eq(O.token_rotate(st, old, ed_revoke, NULL, &newt, NULL),
	    STORE_OK, "the old token's name is free once it is revoked");
	cr_assert_eq(O.token_get(st, old, &got), STORE_OK);
	cr_expect_eq(got.is_revoked, 1);
	cr_expect_str_eq(got.revoked_by, "a@example.com");
	token_free(&got);
	cr_assert_eq(O.token_get(st, newt.id, &got), STORE_OK);
	cr_expect_str_eq(got.name, "svc");
	token_free(&got);
	token_free(&newt);
}

/* Request bytes that are not UTF-8 are kept as they came. */
Test(store_pg, uses_keep_any_bytes)
{
	const char *id = "99999999-9999-4999-8999-999999999999";
	struct usage_stats s;
	int64_t now = util_now_ms();

	use(id, now - 10, "/caf\xe9", 0, 1);
	cr_assert_eq(O.use_flush(st), STORE_OK);
	cr_assert_eq(O.use_stats(st, id, now, 1, &s), STORE_OK);
	cr_assert_eq(s.ntop, 1);
	cr_expect_str_eq(s.top[0].path, "/caf\xe9");
	free(s.days);
}

static int
guess_once(struct store *s, int i)
{
	unsigned count;
	int64_t last;
	int locked;

	if (O.login_attempt(s, "victim@example.com", util_now_ms(), 60000, 5,
	    &count, &last, &locked) != STORE_OK)
		return 2;
	(void)i;
	return !locked;
}

Test(store_pg, concurrent_guesses_get_max_passwords_checked, .timeout = 60)
{
	unsigned count;
	int64_t last;

	cr_expect_eq(in_children(20, guess_once), 5,
	    "20 guesses at once, at most 5 failures: 5 get a password check");
	cr_assert_eq(O.login_get(st, "victim@example.com", &count, &last), 0);
	cr_expect_eq(count, 5);
}

static struct user owner1, owner2;
static struct team duo;

static int
demote_other(struct store *s, int i)
{
	int rc = O.member_set(s, duo.id, i % 2 ? owner1.id : owner2.id,
	    ROLE_MEMBER, NULL, NULL);

	return rc == STORE_OK ? 1 : rc == STORE_LASTOWNER ? 0 : 2;
}

Test(store_pg, owners_demoting_each_other_leave_one_owner, .timeout = 60)
{
	struct membership *ms;
	size_t n, i, owners = 0;

	mkuser(&owner1, "o1@example.com", 0);
	mkuser(&owner2, "o2@example.com", 0);
	mkteam(&duo, "Duo", owner1.id);
	cr_assert_eq(O.member_set(st, duo.id, owner2.id, ROLE_OWNER, NULL, NULL),
	    STORE_OK);
	in_children(2, demote_other);
	cr_assert_eq(O.team_members(st, duo.id, &ms, &n), STORE_OK);
	for (i = 0; i < n; i++)
		owners += ms[i].role == ROLE_OWNER;
	free(ms);
	cr_expect_eq(owners, 1, "the team keeps exactly one owner");
}

static const char *const batch_tokens[3] = {
	"bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbb1",
	"bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbb2",
	"bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbb3"
};

/* 200 uses of three tokens, in an order of its own, in batches. */
static int
record_batches(struct store *s, int i)
{
	struct use u = { 0, "GET", "/b", "127.0.0.1", "t", 200, 0, 1 };
	int k;

	for (k = 0; k < 200; k++) {
		u.at = util_now_ms();
		u.blocked = k % 10 == 0;
		if (O.use_record(s, batch_tokens[(k + i) % 3], &u) != STORE_OK)
			return 2;
	}
	return O.use_flush(s) == STORE_OK;
}

Test(store_pg, concurrent_batches_count_every_use, .timeout = 120)
{
	struct usage_stats s;
	uint64_t total = 0, blocked = 0;
	int i;

	cr_expect_eq(in_children(10, record_batches), 10, "no batch lost");
	for (i = 0; i < 3; i++) {
		cr_assert_eq(O.use_stats(st, batch_tokens[i], util_now_ms(), 2, &s),
		    STORE_OK);
		total += s.total;
		blocked += s.blocked;
		free(s.days);
	}
	cr_expect_eq(total, 2000);
	cr_expect_eq(blocked, 200);
}

/* LMDB -> PostgreSQL -> LMDB: every kind of record, equal at each step. */
Test(store_pg, copy_to_and_from_lmdb)
{
	struct store *lm, *back, *bulk;
	struct cc_ids ids;
	struct copy_counts n;
	const char *what;
	char dir[64], path[128];
	int empty;

	snprintf(dir, sizeof(dir), "/tmp/tc-copy-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/lmdb", dir);
	cr_assert_eq(store_open(&lm, path, 1, STORE_CREATE), STORE_OK);
	cc_fill(lm, &ids);
	cr_assert_eq(store_empty(st, &empty), STORE_OK);
	cr_expect_eq(empty, 1);
	/* into a bulk store, seen through st once it is closed */
	cr_assert_eq(store_pg_open(&bulk, conninfo, STORE_BULK), STORE_OK);
	cr_assert_eq(store_copy(lm, bulk, &n, &what), STORE_OK, "%s", what);
	store_close(bulk);
	cr_expect(n.users == 2 && n.members == 2 && n.tokens == 3 &&
	    n.jtis == 1 && n.audit == 3 && n.uses == 4);
	cc_same(lm, st, &ids);
	snprintf(path, sizeof(path), "%s/back", dir);
	cr_assert_eq(store_open(&back, path, 1, STORE_CREATE | STORE_BULK), 0);
	cr_assert_eq(store_copy(st, back, &n, &what), STORE_OK, "%s", what);
	cc_same(lm, back, &ids);
	cc_names(st, &ids);
	cc_names(back, &ids);
	store_close(back);
	store_close(lm);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	cr_assert_eq(system(path), 0);
}

Test(store_pg, empty_sees_uses_and_session_revocations)
{
	struct use u = { util_now_ms(), "GET", "/", "", "", 200, 0, 1 };
	char id[UUID_LEN + 1];
	int empty;

	cr_assert_eq(util_uuid4(id), 0);
	cr_assert_eq(store_use_record(st, id, &u), STORE_OK);
	cr_assert_eq(store_use_flush(st), STORE_OK);
	cr_assert_eq(store_empty(st, &empty), STORE_OK);
	cr_expect_eq(empty, 0, "a use");
	cr_assert_eq(store_jti_revoke(st, "some-jti", 1), STORE_OK);
	cr_assert_eq(store_empty(st, &empty), STORE_OK);
	cr_expect_eq(empty, 0);
}
