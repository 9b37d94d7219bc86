/*
 * test_decide.c - the enforcement decision, one row per case: each check of
 * API.md 7 in its order, with its boundaries.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "decide.h"

static const char conf_text[] =
    "database = /nonexistent\n"
    "trusted_proxies = 10.0.0.1 fd00::1\n"
    "rule = GET /tools/ tools.read\n"
    "rule = * /tools/run tools.execute\n"
    "rule = * /admin admin.all\n"
    "rule = POST /teams/ teams.manage\n"
    "server_scope_allow = /health /status\n";

static struct config cfg;

static void
setup(void)
{
	char err[CONFIG_ERR_MAX];

	config_init(&cfg);
	cr_assert_eq(config_parse(&cfg, conf_text, strlen(conf_text), "t.conf", err), 0,
	    "%s", err);
}

static void
teardown(void)
{
	config_free(&cfg);
}

TestSuite(decide, .init = setup, .fini = teardown);

#define OWNER "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define TEAM  "0123456789abcdef0123456789abcdef"
/* 2026-11-23 12:00:00 UTC, a Monday */
#define NOON  1795435200000LL

struct row {
	const char	*name;
	const char	*scope;         /* JSON */
	const char	*team;          /* "" or TEAM */
	int		 role;
	int		 admin;
	int		 auth;          /* what auth_api_token said */
	int		 notok;         /* no record of this token was found */
	const char	*method, *path, *remote, *xff;
	int64_t		 now;
	uint32_t	 used[3];
	int		 status;
	unsigned	 retry_after;
};

static const struct row rows[] = {
	{ "plain token, no rule", "{}", "", 0, 0, AUTH_OK, 0,
	  "GET", "/anything", "192.0.2.1", NULL, NOON, { 0 }, 200, 0 },
	{ "bad signature", "{}", "", 0, 0, AUTH_INVALID, 1,
	  "GET", "/x", "192.0.2.1", NULL, NOON, { 0 }, 401, 0 },
	{ "session JWT", "{}", "", 0, 0, AUTH_INVALID, 1,
	  "GET", "/x", "192.0.2.1", NULL, NOON, { 0 }, 401, 0 },
	{ "hash mismatch", "{}", "", 0, 0, AUTH_INVALID, 1,
	  "GET", "/x", "192.0.2.1", NULL, NOON, { 0 }, 401, 0 },
	{ "revoked", "{}", "", 0, 0, AUTH_REVOKED, 0,
	  "GET", "/x", "192.0.2.1", NULL, NOON, { 0 }, 401, 0 },
	{ "expired", "{}", "", 0, 0, AUTH_INVALID, 0,
	  "GET", "/x", "192.0.2.1", NULL, NOON, { 0 }, 401, 0 },
	{ "owner disabled", "{}", "", 0, 0, AUTH_DISABLED, 0,
	  "GET", "/x", "192.0.2.1", NULL, NOON, { 0 }, 401, 0 },
	{ "team token, owner left", "{}", TEAM, ROLE_NONE, 0, AUTH_OK, 0,
	  "GET", "/x", "192.0.2.1", NULL, NOON, { 0 }, 403, 0 },
	{ "team token, member", "{}", TEAM, ROLE_MEMBER, 0, AUTH_OK, 0,
	  "GET", "/x", "192.0.2.1", NULL, NOON, { 0 }, 200, 0 },
	/* IP */
	{ "cidr edge in", "{\"ip_restrictions\":[\"192.0.2.0/24\"]}", "", 0, 0, AUTH_OK, 0, "GET", "/x", "192.0.2.255", NULL, NOON, { 0 }, 200, 0 },
	{ "cidr edge out", "{\"ip_restrictions\":[\"192.0.2.0/24\"]}", "", 0, 0, AUTH_OK, 0, "GET", "/x", "192.0.3.0", NULL, NOON, { 0 }, 403, 0 },
	{ "mapped v6 client", "{\"ip_restrictions\":[\"192.0.2.0/24\"]}", "", 0, 0, AUTH_OK, 0, "GET", "/x", "::ffff:192.0.2.9", NULL, NOON, { 0 }, 200, 0 },
	{ "v6 net", "{\"ip_restrictions\":[\"2001:db8::/32\"]}", "", 0, 0, AUTH_OK, 0, "GET", "/x", "2001:db8::5", NULL, NOON, { 0 }, 200, 0 },
	{ "xff ignored from an untrusted peer", "{\"ip_restrictions\":[\"192.0.2.9\"]}",
	  "", 0, 0, AUTH_OK, 0, "GET", "/x", "203.0.113.1", "192.0.2.9", NOON,
	  { 0 }, 403, 0 },
	{ "xff believed from a trusted proxy", "{\"ip_restrictions\":[\"192.0.2.9\"]}",
	  "", 0, 0, AUTH_OK, 0, "GET", "/x", "10.0.0.1", "6.6.6.6, 192.0.2.9",
	  NOON, { 0 }, 200, 0 },
	{ "right-most untrusted hop wins", "{\"ip_restrictions\":[\"192.0.2.9\"]}",
	  "", 0, 0, AUTH_OK, 0, "GET", "/x", "10.0.0.1", "192.0.2.9, 6.6.6.6",
	  NOON, { 0 }, 403, 0 },
	{ "trusted hops skipped", "{\"ip_restrictions\":[\"192.0.2.9\"]}",
	  "", 0, 0, AUTH_OK, 0, "GET", "/x", "10.0.0.1", "192.0.2.9,10.0.0.1",
	  NOON, { 0 }, 200, 0 },
	/* time */
	{ "inside the window", "{\"time_restrictions\":{\"start_time\":\"09:00\","
	  "\"end_time\":\"17:00\"}}", "", 0, 0, AUTH_OK, 0, "GET", "/x",
	  "192.0.2.1", NULL, NOON, { 0 }, 200, 0 },
	{ "outside the window", "{\"time_restrictions\":{\"start_time\":\"13:00\","
	  "\"end_time\":\"17:00\"}}", "", 0, 0, AUTH_OK, 0, "GET", "/x",
	  "192.0.2.1", NULL, NOON, { 0 }, 403, 0 },
	{ "weekdays only on Monday", "{\"time_restrictions\":{\"weekdays_only\":true}}",
	  "", 0, 0, AUTH_OK, 0, "GET", "/x", "192.0.2.1", NULL, NOON, { 0 },
	  200, 0 },
	/* server_id */
	{ "server path", "{\"server_id\":\"s1\"}", "", 0, 0, AUTH_OK, 0,
	  "GET", "/servers/s1/tools", "192.0.2.1", NULL, NOON, { 0 }, 200, 0 },
	{ "other server", "{\"server_id\":\"s1\"}", "", 0, 0, AUTH_OK, 0,
	  "GET", "/servers/s10", "192.0.2.1", NULL, NOON, { 0 }, 403, 0 },
	{ "allowed path", "{\"server_id\":\"s1\"}", "", 0, 0, AUTH_OK, 0,
	  "GET", "/status", "192.0.2.1", NULL, NOON, { 0 }, 200, 0 },
	/* permissions */
	{ "restricted, rule grants", "{\"permissions\":[\"tools.read\"]}", "", 0, 0, AUTH_OK, 0, "GET", "/tools/x", "192.0.2.1", NULL, NOON, { 0 }, 200, 0 },
	{ "restricted, rule needs more", "{\"permissions\":[\"tools.read\"]}", "", 0, 0, AUTH_OK, 0, "POST", "/tools/run", "192.0.2.1", NULL, NOON, { 0 }, 403, 0 },
	{ "restricted, wildcard", "{\"permissions\":[\"tools.*\"]}", "", 0, 0, AUTH_OK, 0, "POST", "/tools/run/now", "192.0.2.1", NULL, NOON, { 0 }, 200, 0 },
	{ "restricted, no rule: denied", "{\"permissions\":[\"tools.read\"]}", "", 0, 0, AUTH_OK, 0, "GET", "/elsewhere", "192.0.2.1", NULL, NOON, { 0 }, 403, 0 },
	{ "unrestricted: owner's own perms", "{}", "", 0, 0, AUTH_OK, 0,
	  "GET", "/admin", "192.0.2.1", NULL, NOON, { 0 }, 403, 0 },
	{ "unrestricted admin owner", "{}", "", 0, 1, AUTH_OK, 0,
	  "GET", "/admin/x", "192.0.2.1", NULL, NOON, { 0 }, 200, 0 },
	{ "team owner perms", "{}", TEAM, ROLE_OWNER, 0, AUTH_OK, 0,
	  "POST", "/teams/t", "192.0.2.1", NULL, NOON, { 0 }, 200, 0 },
	{ "team member lacks owner perms", "{}", TEAM, ROLE_MEMBER, 0, AUTH_OK, 0, "POST", "/teams/t", "192.0.2.1", NULL, NOON, { 0 }, 403, 0 },
	/* authority at use: the token's permissions within its owner's now */
	{ "star token of an admin", "{\"permissions\":[\"*\"]}", "", 0, 1, AUTH_OK, 0,
	  "GET", "/admin/x", "192.0.2.1", NULL, NOON, { 0 }, 200, 0 },
	{ "star token of a demoted admin", "{\"permissions\":[\"*\"]}", "", 0, 0,
	  AUTH_OK, 0, "GET", "/admin/x", "192.0.2.1", NULL, NOON, { 0 }, 403, 0 },
	{ "star token of a user: within user perms", "{\"permissions\":[\"*\"]}", "",
	  0, 0, AUTH_OK, 0, "POST", "/tools/run", "192.0.2.1", NULL, NOON, { 0 }, 200, 0 },
	{ "owner left the team's owners", "{\"permissions\":[\"teams.manage\"]}", TEAM,
	  ROLE_MEMBER, 0, AUTH_OK, 0, "POST", "/teams/t", "192.0.2.1", NULL, NOON, { 0 },
	  403, 0 },
	{ "owner still an owner", "{\"permissions\":[\"teams.manage\"]}", TEAM,
	  ROLE_OWNER, 0, AUTH_OK, 0, "POST", "/teams/t", "192.0.2.1", NULL, NOON, { 0 },
	  200, 0 },
	/* server_id prefixes match whole segments */
	{ "server id is not a string prefix", "{\"server_id\":\"abc\"}", "", 0, 0,
	  AUTH_OK, 0, "GET", "/servers/abcd/tools", "192.0.2.1", NULL, NOON, { 0 }, 403, 0 },
	{ "server id, exact", "{\"server_id\":\"abc\"}", "", 0, 0,
	  AUTH_OK, 0, "GET", "/servers/abc", "192.0.2.1", NULL, NOON, { 0 }, 200, 0 },
	/* limits at n and n + 1 */
	{ "limit: n-1 used", "{\"usage_limits\":{\"requests_per_minute\":3}}", "", 0, 0, AUTH_OK, 0, "GET", "/x", "192.0.2.1", NULL, NOON, { 2, 0, 0 }, 200, 0 },
	{ "limit: n used", "{\"usage_limits\":{\"requests_per_minute\":3}}", "", 0, 0, AUTH_OK, 0, "GET", "/x", "192.0.2.1", NULL, NOON, { 3, 0, 0 }, 429, 21 },
	{ "limit: per day", "{\"usage_limits\":{\"requests_per_day\":5}}", "", 0, 0, AUTH_OK, 0, "GET", "/x", "192.0.2.1", NULL, NOON, { 0, 0, 5 }, 429, 21 },
	/* order: the IP check comes before the limits */
	{ "ip before limits", "{\"ip_restrictions\":[\"192.0.2.9\"],\"usage_limits\":"
	  "{\"requests_per_minute\":1}}", "", 0, 0, AUTH_OK, 0, "GET", "/x",
	  "192.0.2.1", NULL, NOON, { 1, 0, 0 }, 403, 0 },
};

Test(decide, rows)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		struct token t;
		struct user u;
		struct decide_in in;
		struct verdict v;

		memset(&t, 0, sizeof(t));
		memset(&u, 0, sizeof(u));
		memset(&in, 0, sizeof(in));
		memcpy(t.owner_id, OWNER, sizeof(t.owner_id));
		snprintf(t.team_id, sizeof(t.team_id), "%s", w->team);
		t.scope = json_tokener_parse(w->scope);
		cr_assert_not_null(t.scope, "%s: scope", w->name);
		t.is_active = 1;
		memcpy(u.id, OWNER, sizeof(u.id));
		u.is_active = 1;
		u.is_admin = w->admin;
		in.method = w->method;
		in.path = w->path;
		in.remote_addr = w->remote;
		in.xff = w->xff;
		in.now = w->now;
		in.auth = w->auth;
		in.tok = w->notok ? NULL : &t;
		in.owner = w->notok ? NULL : &u;
		in.team_role = w->role;
		in.counted = 1;
		memcpy(in.used, w->used, sizeof(in.used));
		in.frees_at[0] = in.frees_at[1] = in.frees_at[2] = w->now + 20500;
		decide(&cfg, &in, &v);
		cr_expect_eq(v.status, w->status, "%s: got %d (%s)", w->name, v.status,
		    v.detail);
		if (w->status == 429)
			cr_expect_eq(v.retry_after, w->retry_after, "%s: Retry-After %u",
			    w->name, v.retry_after);
		if (w->status == 401) {
			cr_expect_eq(v.auth, w->auth, "%s: auth %d", w->name, v.auth);
			cr_expect_str_eq(v.detail, auth_strerror(w->auth), "%s", w->name);
		}
		cr_expect_eq(v.record, !w->notok, "%s: recorded", w->name);
		json_object_put(t.scope);
	}
}

Test(decide, path_under)
{
	cr_expect(decide_path_under("/a", "/a"));
	cr_expect(decide_path_under("/a/b", "/a"));
	cr_expect_not(decide_path_under("/ab", "/a"));
	cr_expect(decide_path_under("/a/b", "/a/"));
	cr_expect(decide_path_under("/a", "/a/"));
	cr_expect_not(decide_path_under("/b", "/a/"));
	cr_expect(decide_path_under("/anything", "/"));
}

/* A refused request path is denied (403, naming it) after identity. */
Test(decide, refused_path)
{
	struct token t;
	struct user u;
	struct decide_in in;
	struct verdict v;

	memset(&t, 0, sizeof(t));
	memset(&u, 0, sizeof(u));
	memset(&in, 0, sizeof(in));
	t.scope = json_tokener_parse("{}");
	t.is_active = u.is_active = 1;
	in.method = "GET";
	in.path_refused = "encoded slash";
	in.shown_path = "/servers/a%2Fb";
	in.remote_addr = "192.0.2.1";
	in.now = NOON;
	in.tok = &t;
	in.owner = &u;
	decide(&cfg, &in, &v);
	cr_expect_eq(v.status, 403);
	cr_expect_str_eq(v.detail, "Request path refused: /servers/a%2Fb (encoded slash)");
	cr_expect(v.record);
	in.auth = AUTH_REVOKED;         /* identity first */
	decide(&cfg, &in, &v);
	cr_expect_eq(v.status, 401);
	/* introspection: no path at all, identity only */
	in.auth = AUTH_OK;
	in.path_refused = NULL;
	decide(&cfg, &in, &v);
	cr_expect_eq(v.status, 200);
	json_object_put(t.scope);
}

/* decide_token_grants: both the token's and the owner's permissions. */
Test(decide, token_grants)
{
	struct token t;
	struct user u;

	memset(&t, 0, sizeof(t));
	memset(&u, 0, sizeof(u));
	t.scope = json_tokener_parse("{\"permissions\":[\"tokens.introspect\"]}");
	u.is_admin = 1;
	cr_expect(decide_token_grants(&cfg, &t, &u, ROLE_NONE, "tokens.introspect"));
	u.is_admin = 0;
	cr_expect_not(decide_token_grants(&cfg, &t, &u, ROLE_NONE, "tokens.introspect"));
	cr_expect_not(decide_token_grants(&cfg, &t, &u, ROLE_NONE, "tools.read"));
	json_object_put(t.scope);
	t.scope = json_tokener_parse("{}");
	cr_expect(decide_token_grants(&cfg, &t, &u, ROLE_NONE, "tools.read"));
	cr_expect_not(decide_token_grants(&cfg, &t, &u, ROLE_NONE, "admin.all"));
	json_object_put(t.scope);
}
