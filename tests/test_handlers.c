/*
 * test_handlers.c - the handlers of h_auth.c and h_tokens.c called directly
 * with a struct req (the router's checks already done), against a real LMDB
 * store in a temporary directory: login, lockout, logout, me, the store
 * error mapping, and the token lifecycle. Black-box tests through a web
 * server are in tests/blackbox.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "auth.h"
#include "handlers.h"
#include "http.h"
#include "jws.h"
#include "pw.h"

#define PW	"correct-password-1"
#define BAD_LOGIN "Invalid email or password"
#define DUP_NAME "A token with this name already exists. Please choose a different name."

static char dir[64];
static struct app app;
static struct user admin, alice, bob, carol, nopw;
static struct team red, blue;   /* red: alice owner, bob member; blue: admin owner, bob */

static void
mkuser(struct user *u, const char *email, int is_admin, int active, const char *hash)
{
	memset(u, 0, sizeof(*u));
	cr_assert_eq(util_uuid4(u->id), 0);
	snprintf(u->email, sizeof(u->email), "%s", email);
	snprintf(u->full_name, sizeof(u->full_name), "Name of %s", email);
	snprintf(u->pwhash, sizeof(u->pwhash), "%s", hash);
	u->is_admin = is_admin;
	u->is_active = active;
	u->created_at = util_now_ms();
	cr_assert_eq(store_user_add(app.st, u, NULL), STORE_OK);
}

static void
mkteam(struct team *t, const char *name, const struct user *owner)
{
	memset(t, 0, sizeof(*t));
	cr_assert_eq(util_team_id(t->id), 0);
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->created_at = util_now_ms();
	cr_assert_eq(store_team_add(app.st, t, owner->id, NULL), STORE_OK);
}

static void
setup(void)
{
	char hash[PW_HASH_MAX];
	int created;

	snprintf(dir, sizeof(dir), "/tmp/tc-handlers-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	config_init(&app.cfg);
	app.cfg.login_max_failures = 1000;
	cr_assert_eq(store_open(&app.st, dir, 4, STORE_CREATE), STORE_OK);
	memset(app.key.key, 'k', 32);
	app.key.len = 32;
	cr_assert_eq(pw_hash(PW, hash), 0);
	mkuser(&admin, "admin@example.com", 1, 1, hash);
	mkuser(&alice, "alice@example.com", 0, 1, hash);
	mkuser(&bob, "bob@example.com", 0, 1, hash);
	mkuser(&carol, "carol@example.com", 0, 0, hash);
	mkuser(&nopw, "nopw@example.com", 0, 1, "");
	mkteam(&red, "red", &alice);
	mkteam(&blue, "blue", &admin);
	cr_assert_eq(store_member_set(app.st, red.id, bob.id, ROLE_MEMBER, &created, NULL), 0);
	cr_assert_eq(store_member_set(app.st, blue.id, bob.id, ROLE_MEMBER, &created, NULL), 0);
}

static struct caller callers[4];         /* mkreq's */
static size_t ncallers;

static void
teardown(void)
{
	char cmd[128];
	size_t i;

	for (i = 0; i < sizeof(callers) / sizeof(callers[0]); i++)
		caller_free(&callers[i]);
	store_close(app.st);
	config_free(&app.cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(handlers, .init = setup, .fini = teardown);

/* body with %RED% and %BLUE% replaced by the team ids (static buffer). */
static const char *
subst(const char *body)
{
	static char out[4096];
	const char *p;
	size_t n = 0;

	for (p = body; *p && n < sizeof(out) - 40; ) {
		if (strncmp(p, "%RED%", 5) == 0 || strncmp(p, "%BLUE%", 6) == 0) {
			const char *id = p[1] == 'R' ? red.id : blue.id;

			memcpy(out + n, id, TEAMID_LEN);
			n += TEAMID_LEN;
			p += p[1] == 'R' ? 5 : 6;
		} else
			out[n++] = *p++;
	}
	out[n] = '\0';
	return out;
}

/* A request by session caller u (NULL: none), narrowed to `narrow` teams
 * ("" = narrowed to none, NULL = not narrowed, "red" or "blue" else). */
static void
mkreq(struct req *r, const struct user *u, const char *narrow, const char *body,
    const char *query, const char *param)
{
	struct caller *c;

	memset(r, 0, sizeof(*r));
	r->app = &app;
	snprintf(r->id, sizeof(r->id), "test");
	r->method = "POST";
	r->path = strdup("/test");
	r->query = strdup(query ? query : "");
	if (body != NULL)
		cr_assert_not_null(r->json = json_tokener_parse(subst(body)), "%s", body);
	if (param != NULL) {
		r->params[0] = strdup(param);
		r->nparams = 1;
	}
	/* the router owns a request's caller; here a small ring of them */
	c = &callers[ncallers++ % (sizeof(callers) / sizeof(callers[0]))];
	caller_free(c);
	r->caller = c;
	if (u == NULL)
		return;
	c->kind = CALLER_SESSION;
	c->user = *u;
	cr_assert_eq(util_uuid4(c->jti), 0);
	c->exp_ms = util_now_ms() + 3600000;
	if (narrow != NULL) {
		c->narrowed = 1;
		if (*narrow)
			strlist_add(&c->teams, strcmp(narrow, "red") == 0 ?
			    red.id : blue.id);
	}
}

static const char *
detail(const struct req *r)
{
	struct json_object *d;

	if (r->out == NULL || !json_object_object_get_ex(r->out, "detail", &d))
		return "";
	return json_object_get_string(d);
}

static const char *
header(const struct req *r, const char *name)
{
	size_t i;

	for (i = 0; i < r->nhdrs; i++)
		if (strcmp(r->hdrs[i].name, name) == 0)
			return r->hdrs[i].value;
	return NULL;
}

static const char *
sget(struct json_object *o, const char *key)
{
	struct json_object *v;

	cr_assert(json_object_object_get_ex(o, key, &v), "no %s", key);
	return v ? json_object_get_string(v) : NULL;
}

static int
is_null(struct json_object *o, const char *key)
{
	struct json_object *v;

	cr_assert(json_object_object_get_ex(o, key, &v), "no %s", key);
	return v == NULL;
}

/* Verify a JWT made by the handlers; returns its claims (caller puts). */
static struct json_object *
claims_of(const char *jwt, const char *use)
{
	struct json_object *c = NULL;

	cr_assert_eq(jws_verify(&app.key, jwt, "tokencat", "tokencat-api", use,
	    util_now_ms() / 1000, &c), JWS_OK);
	return c;
}

/* Run handler fn as u with body; assert status and a detail prefix. */
static void
expect(int (*fn)(struct req *), const struct user *u, const char *narrow,
    const char *body, const char *param, int status, const char *prefix)
{
	struct req r;
	int got;

	mkreq(&r, u, narrow, body, NULL, param);
	got = fn(&r);
	cr_expect_eq(got, status, "%s: %d, want %d (%s)", body ? body : "-", got,
	    status, detail(&r));
	if (prefix != NULL)
		cr_expect_eq(strncmp(detail(&r), prefix, strlen(prefix)), 0,
		    "%s: detail \"%s\", want \"%s...\"", body, detail(&r), prefix);
	req_free(&r);
}

/* --- auth --- */

Test(handlers, health)
{
	struct req r;

	mkreq(&r, NULL, NULL, NULL, NULL, NULL);
	cr_assert_eq(h_health(&r), 200);
	cr_assert_str_eq(sget(r.out, "status"), "ok");
	req_free(&r);
}

Test(handlers, store_error_mapping)
{
	static const struct { int err, status; const char *detail; } rows[] = {
		{ STORE_NOTFOUND, 404, "Not found" },
		{ STORE_EXISTS, 409, "Conflict" },
		{ STORE_FULL, 507, "Insufficient storage" },
		{ STORE_RDONLY, 503, "Service temporarily unavailable" },
		{ STORE_IO, 503, "Service temporarily unavailable" },
		{ STORE_NOMEM, 503, "Service temporarily unavailable" },
		{ STORE_LASTOWNER, 503, "Service temporarily unavailable" },
		{ STORE_INVALID, 503, "Service temporarily unavailable" },
	};
	struct req r;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		mkreq(&r, NULL, NULL, NULL, NULL, NULL);
		cr_expect_eq(h_fail(&r, rows[i].err), rows[i].status);
		cr_expect_str_eq(detail(&r), rows[i].detail);
		req_free(&r);
	}
}

Test(handlers, login_table)
{
	static const struct { const char *body; int status; const char *detail; } rows[] = {
		{ "{}", 422, "email: field required" },
		{ "{\"password\":\"x\"}", 422, "email: field required" },
		{ "{\"email\":null,\"password\":\"x\"}", 422, "email: field required" },
		{ "{\"email\":5,\"password\":\"x\"}", 422, "email: must be a string" },
		{ "{\"email\":\"alice@example.com\"}", 422, "password: field required" },
		{ "{\"email\":\"alice@example.com\",\"password\":true}", 422,
		  "password: must be a string" },
		{ "{\"email\":\"alice@example.com\",\"password\":\"" PW "\",\"teams\":\"x\"}",
		  422, "teams: must be an array" },
		{ "{\"email\":\"alice@example.com\",\"password\":\"" PW "\",\"teams\":[1]}",
		  422, "teams[0]: must be a string" },
		{ "{\"email\":\"alice@example.com\",\"password\":\"" PW "\",\"teams\":[\"nope\"]}",
		  400, "teams: unknown team or not a member: nope" },
		{ "{\"email\":\"alice@example.com\",\"password\":\"" PW "\",\"teams\":[\"%BLUE%\"]}",
		  400, "teams: unknown team or not a member: " },
		{ "{\"email\":\"not-an-email\",\"password\":\"x\"}", 401, BAD_LOGIN },
		{ "{\"email\":\"\",\"password\":\"x\"}", 401, BAD_LOGIN },
		{ "{\"email\":\"ghost@example.com\",\"password\":\"" PW "\"}", 401, BAD_LOGIN },
		{ "{\"email\":\"alice@example.com\",\"password\":\"wrong\"}", 401, BAD_LOGIN },
		{ "{\"email\":\"alice@example.com\",\"password\":\"\"}", 401, BAD_LOGIN },
		{ "{\"email\":\"carol@example.com\",\"password\":\"" PW "\"}", 401, BAD_LOGIN },
		{ "{\"email\":\"nopw@example.com\",\"password\":\"\"}", 401, BAD_LOGIN },
		{ "{\"email\":\"ALICE@Example.COM\",\"password\":\"" PW "\"}", 200, NULL },
		{ "{\"email\":\"alice@example.com\",\"password\":\"" PW "\",\"teams\":[]}", 200, NULL },
		{ "{\"email\":\"alice@example.com\",\"password\":\"" PW "\",\"teams\":[\"%RED%\"]}",
		  200, NULL },
		{ "{\"email\":\"admin@example.com\",\"password\":\"" PW "\",\"teams\":[\"%RED%\"]}",
		  200, NULL },
	};
	struct req r;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		expect(h_login, NULL, NULL, rows[i].body, NULL, rows[i].status, rows[i].detail);
		if (rows[i].status != 401)
			continue;
		mkreq(&r, NULL, NULL, rows[i].body, NULL, NULL);
		cr_assert_eq(h_login(&r), 401);
		cr_expect_str_eq(header(&r, "WWW-Authenticate"), "Bearer realm=\"tokencat\"");
		req_free(&r);
	}
}

Test(handlers, login_password_over_1024_bytes_422)
{
	char body[4200];
	struct req r;

	/* 600 two-byte characters: within 1024 characters, over 1024 bytes */
	snprintf(body, sizeof(body), "{\"email\":\"alice@example.com\",\"password\":\"");
	for (int i = 0; i < 600; i++)
		strcat(body, "\xc3\xa9");
	strcat(body, "\"}");
	mkreq(&r, NULL, NULL, body, NULL, NULL);
	cr_assert_eq(h_login(&r), 422);
	cr_assert_str_eq(detail(&r), "password: must be at most 1024 bytes");
	req_free(&r);
}

/* Log in with body; returns the session claims (caller puts). */
static struct json_object *
login_claims(const char *body, struct json_object **user)
{
	struct json_object *c;
	struct req r;

	mkreq(&r, NULL, NULL, body, NULL, NULL);
	cr_assert_eq(h_login(&r), 200, "%s", detail(&r));
	cr_assert_str_eq(sget(r.out, "token_type"), "bearer");
	cr_assert_eq(json_object_get_int(json_object_object_get(r.out, "expires_in")), 3600);
	c = claims_of(sget(r.out, "access_token"), "session");
	*user = json_object_get(json_object_object_get(r.out, "user"));
	req_free(&r);
	return c;
}

Test(handlers, login_success_claims_and_user)
{
	struct json_object *c, *u, *teams;

	c = login_claims("{\"email\":\"Alice@Example.com\",\"password\":\"" PW "\"}", &u);
	cr_assert_str_eq(sget(c, "sub"), alice.id);
	cr_assert_str_eq(sget(c, "token_use"), "session");
	cr_assert_str_eq(sget(c, "auth_provider"), "local");
	cr_assert(!json_object_object_get_ex(c, "teams", NULL));
	cr_assert_eq(json_object_object_length(u), 6);
	cr_assert_str_eq(sget(u, "id"), alice.id);
	cr_assert_str_eq(sget(u, "email"), "alice@example.com");
	cr_assert_str_eq(sget(u, "full_name"), "Name of alice@example.com");
	cr_assert_str_eq(sget(u, "is_admin"), "false");
	cr_assert_str_eq(sget(u, "is_active"), "true");
	cr_assert_not_null(sget(u, "created_at"));
	json_object_put(c);
	json_object_put(u);

	c = login_claims("{\"email\":\"alice@example.com\",\"password\":\"" PW
	    "\",\"teams\":[\"%RED%\",\"%RED%\"]}", &u);
	cr_assert(json_object_object_get_ex(c, "teams", &teams));
	cr_assert_eq(json_object_array_length(teams), 1);
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(teams, 0)), red.id);
	json_object_put(c);
	json_object_put(u);

	c = login_claims("{\"email\":\"alice@example.com\",\"password\":\"" PW
	    "\",\"teams\":[]}", &u);
	cr_assert(json_object_object_get_ex(c, "teams", &teams));
	cr_assert_eq(json_object_array_length(teams), 0);
	json_object_put(c);
	json_object_put(u);
}

static int
login_as(const char *email, const char *pw, char *retry_after, size_t n)
{
	char body[256];
	struct req r;
	int st;

	snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", email, pw);
	mkreq(&r, NULL, NULL, body, NULL, NULL);
	st = h_login(&r);
	if (retry_after != NULL)
		snprintf(retry_after, n, "%s", header(&r, "Retry-After") ?
		    header(&r, "Retry-After") : "");
	if (st == 429)
		cr_assert_str_eq(detail(&r), "Too many failed login attempts. Try again later.");
	req_free(&r);
	return st;
}

Test(handlers, lockout_counts_any_case_and_holds_the_right_password)
{
	char ra[32];
	uint64_t secs;

	app.cfg.login_max_failures = 3;
	app.cfg.login_lockout_minutes = 1;
	cr_assert_eq(login_as("bob@example.com", "wrong-1", NULL, 0), 401);
	cr_assert_eq(login_as("BOB@example.com", "wrong-2", NULL, 0), 401);
	cr_assert_eq(login_as("Bob@Example.com", "wrong-3", NULL, 0), 401);
	cr_assert_eq(login_as("bob@example.com", PW, ra, sizeof(ra)), 429);
	cr_assert_eq(util_parse_uint(ra, 1, 60, &secs), 0, "Retry-After %s", ra);
	/* others are not affected; unknown e-mails are locked too */
	cr_assert_eq(login_as("alice@example.com", PW, NULL, 0), 200);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(login_as("ghost@example.com", "x", NULL, 0), 401);
	cr_assert_eq(login_as("ghost@example.com", "x", NULL, 0), 429);
}

Test(handlers, lockout_reset_by_success)
{
	app.cfg.login_max_failures = 3;
	cr_assert_eq(login_as("bob@example.com", "wrong", NULL, 0), 401);
	cr_assert_eq(login_as("bob@example.com", "wrong", NULL, 0), 401);
	cr_assert_eq(login_as("bob@example.com", PW, NULL, 0), 200);
	cr_assert_eq(login_as("bob@example.com", "wrong", NULL, 0), 401);
	cr_assert_eq(login_as("bob@example.com", "wrong", NULL, 0), 401);
	cr_assert_eq(login_as("bob@example.com", PW, NULL, 0), 200);
}

Test(handlers, logout_revokes_the_session_jti_only)
{
	struct req r;

	mkreq(&r, &alice, NULL, NULL, NULL, NULL);
	cr_assert_eq(h_logout(&r), 200);
	cr_assert_str_eq(sget(r.out, "message"), "Logged out successfully");
	cr_assert_eq(store_jti_revoked(app.st, r.caller->jti), 1);
	req_free(&r);

	mkreq(&r, &alice, NULL, NULL, NULL, NULL);
	r.caller->kind = CALLER_REMOTE_USER;
	cr_assert_eq(h_logout(&r), 200);
	cr_assert_str_eq(sget(r.out, "message"), "Logged out successfully");
	cr_assert_eq(store_jti_revoked(app.st, r.caller->jti), 0);
	req_free(&r);
}

Test(handlers, me)
{
	struct json_object *teams, *t, *tt;
	struct req r;

	mkreq(&r, &bob, NULL, NULL, NULL, NULL);
	cr_assert_eq(h_me(&r), 200);
	cr_assert_str_eq(sget(json_object_object_get(r.out, "user"), "email"), "bob@example.com");
	cr_assert_str_eq(sget(r.out, "auth_method"), "jwt");
	cr_assert(is_null(r.out, "token_teams"));
	teams = json_object_object_get(r.out, "teams");
	cr_assert_eq(json_object_array_length(teams), 2);
	for (size_t i = 0; i < 2; i++) {
		t = json_object_array_get_idx(teams, i);
		cr_assert_str_eq(sget(t, "role"), "member");
		cr_assert_str_eq(sget(t, "name"), strcmp(sget(t, "id"), red.id) == 0 ?
		    "red" : "blue");
	}
	req_free(&r);

	mkreq(&r, &alice, "red", NULL, NULL, NULL);
	cr_assert_eq(h_me(&r), 200);
	t = json_object_array_get_idx(json_object_object_get(r.out, "teams"), 0);
	cr_assert_str_eq(sget(t, "role"), "owner");
	tt = json_object_object_get(r.out, "token_teams");
	cr_assert_eq(json_object_array_length(tt), 1);
	cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(tt, 0)), red.id);
	req_free(&r);
}

/* --- tokens --- */

#define EXP "\"expires_in_days\":30"

Test(handlers, create_table)
{
	static const struct {
		const struct user *who;
		const char *narrow, *body;
		int status;
		const char *detail;
	} rows[] = {
		{ &alice, NULL, "{}", 422, "name: field required" },
		{ &alice, NULL, "{\"name\":\"\"}", 422, "name: must be 1 to 255 characters" },
		{ &alice, NULL, "{\"name\":\"a\"}", 400, "expires_in_days: required (tokens must expire)" },
		{ &alice, NULL, "{\"name\":\"a\",\"expires_in_days\":null}", 400, "expires_in_days: required" },
		{ &alice, NULL, "{\"name\":\"a\",\"expires_in_days\":366}", 400,
		  "expires_in_days: must be at most 365 days" },
		{ &alice, NULL, "{\"name\":\"a\",\"expires_in_days\":0}", 422, "expires_in_days: " },
		{ &alice, NULL, "{\"name\":\"a\",\"expires_in_days\":1.5}", 422, "expires_in_days: " },
		{ &alice, NULL, "{\"name\":\"a\"," EXP ",\"description\":5}", 422, "description: " },
		{ &alice, NULL, "{\"name\":\"a\"," EXP ",\"scope\":{\"permissions\":[\"a b\"]}}", 422,
		  "scope.permissions[0]" },
		{ &alice, NULL, "{\"name\":\"a\"," EXP ",\"scope\":[]}", 422, "scope: must be an object" },
		{ &alice, NULL, "{\"name\":\"a\"," EXP ",\"tags\":[1]}", 422, "tags: " },
		{ &alice, NULL, "{\"name\":\"a\"," EXP ",\"is_active\":\"yes\"}", 422, "is_active: " },
		{ &alice, NULL, "{\"name\":\"a\"," EXP ",\"team_id\":\"XYZ\"}", 422, "team_id: must be a team id" },
		{ &alice, NULL, "{\"name\":\"a\"," EXP ",\"team_id\":\"0123456789abcdef0123456789abcdef\"}",
		  400, "team_id: team not found" },
		{ &alice, NULL, "{\"name\":\"a\"," EXP ",\"team_id\":\"%BLUE%\"}", 400,
		  "team_id: the token owner is not a member of this team" },
		{ &alice, "", "{\"name\":\"a\"," EXP ",\"team_id\":\"%RED%\"}", 403,
		  "Your session is not scoped to this team" },
		{ &alice, NULL, "{\"name\":\"a\"," EXP ",\"user_email\":\"bob@example.com\"}", 403,
		  "Admin access required to create tokens for other users" },
		{ &admin, "blue", "{\"name\":\"a\"," EXP ",\"user_email\":\"bob@example.com\"}", 403,
		  "Admin-delegated token creation requires un-narrowed admin access. Your session "
		  "is narrowed to specific teams." },
		{ &admin, NULL, "{\"name\":\"a\"," EXP ",\"user_email\":\"not-an-email\"}", 422,
		  "user_email: invalid e-mail address" },
		{ &admin, NULL, "{\"name\":\"a\"," EXP ",\"user_email\":\"ghost@example.com\"}", 400,
		  "user_email: user not found" },
		{ &admin, NULL, "{\"name\":\"a\"," EXP ",\"user_email\":\"alice@example.com\","
		  "\"team_id\":\"%BLUE%\"}", 400, "team_id: the token owner is not a member" },
		{ &alice, NULL, "{\"name\":\"a\"," EXP ",\"scope\":{\"permissions\":[\"admin.all\"]}}",
		  400, "Cannot grant permission 'admin.all' - not in your effective permissions." },
		{ &bob, NULL, "{\"name\":\"a\"," EXP ",\"team_id\":\"%RED%\","
		  "\"scope\":{\"permissions\":[\"teams.manage\"]}}", 400, "Cannot grant permission" },
		/* successes, each with its own name */
		{ &alice, NULL, "{\"name\":\"s1\"," EXP "}", 201, NULL },
		{ &alice, NULL, "{\"name\":\"s2\"," EXP ",\"user_email\":\"ALICE@example.com\"}", 201, NULL },
		{ &alice, NULL, "{\"name\":\"s3\"," EXP ",\"scope\":{\"permissions\":[\"teams.manage\"]}}",
		  201, NULL },
		{ &bob, NULL, "{\"name\":\"s4\"," EXP ",\"team_id\":\"%RED%\","
		  "\"scope\":{\"permissions\":[\"teams.read\",\"tools.read\"]}}", 201, NULL },
		{ &admin, NULL, "{\"name\":\"s5\"," EXP ",\"team_id\":\"%RED%\"}", 201, NULL },
		{ &admin, NULL, "{\"name\":\"s6\"," EXP ",\"scope\":{\"permissions\":[\"*\"]}}", 201, NULL },
		{ &admin, NULL, "{\"name\":\"s7\"," EXP ",\"user_email\":\"bob@example.com\","
		  "\"team_id\":\"%RED%\"}", 201, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		expect(h_token_create, rows[i].who, rows[i].narrow, rows[i].body, NULL,
		    rows[i].status, rows[i].detail);
}

/* Create a token as u with body; returns the TokenResponse (caller puts) and the JWT claims. */
static struct json_object *
create_ok(const struct user *u, const char *narrow, const char *body,
    struct json_object **claims)
{
	struct json_object *tok;
	struct token rec;
	char hash[SHA256_HEX + 1];
	const char *jwt;
	struct req r;

	mkreq(&r, u, narrow, body, NULL, NULL);
	cr_assert_eq(h_token_create(&r), 201, "%s: %s", body, detail(&r));
	tok = json_object_get(json_object_object_get(r.out, "token"));
	jwt = sget(r.out, "access_token");
	util_sha256_hex(jwt, strlen(jwt), hash);
	cr_assert_eq(store_token_get(app.st, sget(tok, "id"), &rec), 0);
	cr_assert_str_eq(rec.hash, hash);
	if (claims != NULL) {
		*claims = claims_of(jwt, "api");
		cr_assert_str_eq(sget(*claims, "jti"), rec.jti);
	}
	token_free(&rec);
	req_free(&r);
	return tok;
}

Test(handlers, create_response_and_claims)
{
	static const char *fields[] = { "id", "name", "description", "user_email", "team_id",
	    "server_id", "resource_scopes", "ip_restrictions", "time_restrictions",
	    "usage_limits", "created_at", "expires_at", "last_used", "is_active", "is_revoked",
	    "revoked_at", "revoked_by", "revocation_reason", "tags", "created_by" };
	struct json_object *t, *c, *u, *s;

	t = create_ok(&alice, NULL, "{\"name\":\"full\",\"description\":\"d\"," EXP ","
	    "\"scope\":{\"server_id\":\"s1\",\"permissions\":[\"tools.read\"],"
	    "\"ip_restrictions\":[\" 10.0.0.0/8 \"],\"usage_limits\":{\"requests_per_minute\":5}},"
	    "\"tags\":[\"x\",{\"k\":\"v\"}]}", &c);
	cr_assert_eq(json_object_object_length(t), 20);
	for (size_t i = 0; i < 20; i++)
		cr_assert(json_object_object_get_ex(t, fields[i], NULL), "%s", fields[i]);
	cr_assert(util_is_uuid(sget(t, "id")));
	cr_assert_str_eq(sget(t, "user_email"), "alice@example.com");
	cr_assert_str_eq(sget(t, "created_by"), "alice@example.com");
	cr_assert_str_eq(sget(t, "team_id"), red.id);   /* alice's only team */
	cr_assert_str_eq(sget(t, "server_id"), "s1");
	cr_assert_str_eq(sget(t, "resource_scopes"), "[ \"tools.read\" ]");
	cr_assert_str_eq(sget(t, "ip_restrictions"), "[ \"10.0.0.0\\/8\" ]");
	cr_assert_str_eq(sget(t, "tags"), "[ \"x\", { \"k\": \"v\" } ]");
	cr_assert_str_eq(sget(t, "is_active"), "true");
	cr_assert_str_eq(sget(t, "is_revoked"), "false");
	cr_assert(is_null(t, "last_used") && is_null(t, "revoked_at") &&
	    is_null(t, "revoked_by") && is_null(t, "revocation_reason"));
	cr_assert_not_null(sget(t, "expires_at"));
	/* claims: exactly those of API.md 4 */
	cr_assert_eq(json_object_object_length(c), 10);
	cr_assert_str_eq(sget(c, "sub"), alice.id);
	cr_assert_str_eq(sget(c, "token_use"), "api");
	cr_assert_eq(json_object_get_int64(json_object_object_get(c, "exp")) -
	    json_object_get_int64(json_object_object_get(c, "iat")), 30 * 86400);
	u = json_object_object_get(c, "user");
	cr_assert_str_eq(sget(u, "email"), "alice@example.com");
	cr_assert_str_eq(sget(u, "auth_provider"), "api_token");
	cr_assert_str_eq(sget(u, "is_admin"), "false");
	cr_assert_str_eq(sget(u, "full_name"), "Name of alice@example.com");
	cr_assert_eq(json_object_array_length(json_object_object_get(c, "teams")), 1);
	s = json_object_object_get(c, "scopes");
	cr_assert_eq(json_object_object_length(s), 5);
	cr_assert_str_eq(sget(s, "server_id"), "s1");
	json_object_put(t);
	json_object_put(c);
}

Test(handlers, create_never_expiring_and_team_less)
{
	struct json_object *t, *c;

	app.cfg.require_token_expiration = 0;
	t = create_ok(&bob, NULL, "{\"name\":\"forever\"}", &c);   /* bob: two teams */
	cr_assert(is_null(t, "expires_at"));
	cr_assert(is_null(t, "team_id"));
	cr_assert(is_null(c, "teams"));
	cr_assert_eq(json_object_get_int64(json_object_object_get(c, "exp")) -
	    json_object_get_int64(json_object_object_get(c, "iat")), 100LL * 365 * 86400);
	json_object_put(t);
	json_object_put(c);
	/* a session narrowed to no team does not inherit alice's only team */
	t = create_ok(&alice, "", "{\"name\":\"public\"}", NULL);
	cr_assert(is_null(t, "team_id"));
	json_object_put(t);
}

Test(handlers, create_delegated)
{
	struct json_object *t, *c;
	struct audit_event *ev = NULL;
	uint64_t total = 0;
	size_t n = 0;

	t = create_ok(&admin, NULL, "{\"name\":\"for-bob\"," EXP ",\"user_email\":\"Bob@Example.com\"}", &c);
	cr_assert_str_eq(sget(t, "user_email"), "bob@example.com");
	cr_assert_str_eq(sget(t, "created_by"), "admin@example.com");
	cr_assert(is_null(t, "team_id"));
	cr_assert_str_eq(sget(c, "sub"), bob.id);
	cr_assert_str_eq(sget(json_object_object_get(c, "user"), "email"), "bob@example.com");
	cr_assert_eq(store_audit_list(app.st, NULL, 0, 10, &ev, &n, &total), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(ev[0].action, "token.create.delegated");
	cr_assert_str_eq(ev[0].target_user, "bob@example.com");
	cr_assert_str_eq(ev[0].actor, "admin@example.com");
	free(ev);
	json_object_put(t);
	json_object_put(c);
}

Test(handlers, create_duplicate_name_409_until_revoked)
{
	const char *body = "{\"name\":\"dup\"," EXP "}";
	struct json_object *t = create_ok(&alice, NULL, body, NULL);
	char id[UUID_LEN + 1];

	snprintf(id, sizeof(id), "%s", sget(t, "id"));
	json_object_put(t);
	expect(h_token_create, &alice, NULL, body, NULL, 409, DUP_NAME);
	expect(h_token_revoke, &alice, NULL, NULL, id, 204, NULL);
	json_object_put(create_ok(&alice, NULL, body, NULL));
	/* another owner may use the name */
	json_object_put(create_ok(&bob, NULL, body, NULL));
}

/*
 * Create a token as u and return its id in id. Lists are ordered by
 * created_at (ms): wait until the clock has left the millisecond of the
 * previous create, so that each is newer than the last (a wait for that
 * condition, not for a fixed time).
 */
static void
mk(const struct user *u, const char *body, char id[UUID_LEN + 1])
{
	static int64_t last;
	struct json_object *t;

	while (util_now_ms() <= last)
		usleep(100);
	t = create_ok(u, NULL, body, NULL);
	last = util_now_ms();

	snprintf(id, UUID_LEN + 1, "%s", sget(t, "id"));
	json_object_put(t);
}

Test(handlers, list_query_table)
{
	static const struct { const char *q; int status; const char *detail; } rows[] = {
		{ "include_inactive=maybe", 422, "include_inactive: must be true or false" },
		{ "include_inactive=%zz", 422, "include_inactive: must be true or false" },
		{ "limit=0", 422, "limit: must be an integer from 1 to 1000" },
		{ "limit=1001", 422, "limit: must be an integer from 1 to 1000" },
		{ "limit=abc", 422, "limit: must be an integer from 1 to 1000" },
		{ "limit=-1", 422, "limit: must be an integer from 1 to 1000" },
		{ "limit=", 422, "limit: must be an integer from 1 to 1000" },
		{ "offset=-1", 422, "offset: must be a non-negative integer" },
		{ "offset=1000000001", 422, "offset: must be a non-negative integer" },
		{ "offset=1e3", 422, "offset: must be a non-negative integer" },
		{ "", 200, NULL },
		{ "limit=1000&offset=1000000000&include_inactive=false", 200, NULL },
		{ "unknown=1", 200, NULL },
	};
	struct req r;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		mkreq(&r, &alice, NULL, NULL, rows[i].q, NULL);
		cr_expect_eq(h_token_list(&r), rows[i].status, "%s", rows[i].q);
		if (rows[i].detail)
			cr_expect_str_eq(detail(&r), rows[i].detail);
		req_free(&r);
	}
}

/* GET /tokens as u with query; returns the answer (caller puts). */
static struct json_object *
list(const struct user *u, const char *query)
{
	struct json_object *o;
	struct req r;

	mkreq(&r, u, NULL, NULL, query, NULL);
	cr_assert_eq(h_token_list(&r), 200);
	o = json_object_get(r.out);
	req_free(&r);
	return o;
}

static int64_t
iget(struct json_object *o, const char *key)
{
	return json_object_get_int64(json_object_object_get(o, key));
}

Test(handlers, list_pages_newest_first_and_hides_inactive)
{
	char a[UUID_LEN + 1], b[UUID_LEN + 1], c[UUID_LEN + 1], d[UUID_LEN + 1];
	struct json_object *o, *v;

	app.cfg.require_token_expiration = 0;
	mk(&bob, "{\"name\":\"a\"}", a);
	mk(&bob, "{\"name\":\"b\"}", b);
	mk(&bob, "{\"name\":\"c\"}", c);
	mk(&alice, "{\"name\":\"alice-red\",\"team_id\":null}", d);   /* inherits red */
	o = list(&bob, "limit=2&offset=1");
	cr_assert_eq(iget(o, "total"), 4);      /* bob's 3 + alice's red token */
	cr_assert_eq(iget(o, "limit"), 2);
	cr_assert_eq(iget(o, "offset"), 1);
	v = json_object_object_get(o, "tokens");
	cr_assert_eq(json_object_array_length(v), 2);
	cr_assert_str_eq(sget(json_object_array_get_idx(v, 0), "name"), "c");
	cr_assert_str_eq(sget(json_object_array_get_idx(v, 1), "name"), "b");
	json_object_put(o);
	expect(h_token_revoke, &bob, NULL, NULL, c, 204, NULL);
	o = list(&bob, NULL);
	cr_assert_eq(iget(o, "total"), 3);
	cr_assert_eq(iget(o, "limit"), 50);
	json_object_put(o);
	o = list(&bob, "include_inactive=true");
	cr_assert_eq(iget(o, "total"), 4);
	json_object_put(o);
	o = list(&admin, NULL);                 /* admin sees neither */
	cr_assert_eq(iget(o, "total"), 0);
	json_object_put(o);
}

Test(handlers, get_own_only)
{
	char mine[UUID_LEN + 1], theirs[UUID_LEN + 1];
	struct req r;

	mk(&alice, "{\"name\":\"mine\"," EXP "}", mine);
	mk(&bob, "{\"name\":\"theirs\"," EXP ",\"team_id\":\"%RED%\"}", theirs);
	expect(h_token_get, &alice, NULL, NULL, "abc", 404, "Token not found");
	expect(h_token_get, &alice, NULL, NULL, "00000000-0000-4000-8000-000000000000", 404,
	    "Token not found");
	expect(h_token_get, &alice, NULL, NULL, theirs, 404, "Token not found");  /* even her team's */
	expect(h_token_get, &admin, NULL, NULL, mine, 404, "Token not found");
	mkreq(&r, &alice, NULL, NULL, NULL, mine);
	cr_assert_eq(h_token_get(&r), 200);
	cr_assert_str_eq(sget(r.out, "id"), mine);
	cr_assert_str_eq(sget(r.out, "name"), "mine");
	req_free(&r);
}

/* PUT as alice; returns the TokenResponse on 200 (caller puts), else NULL. */
static struct json_object *
put(const char *id, const char *body, int status, const char *prefix)
{
	struct json_object *o = NULL;
	struct req r;

	mkreq(&r, &alice, NULL, body, NULL, id);
	cr_assert_eq(h_token_update(&r), status, "%s: %s", body, detail(&r));
	if (prefix != NULL)
		cr_assert_eq(strncmp(detail(&r), prefix, strlen(prefix)), 0, "%s", detail(&r));
	if (status == 200)
		o = json_object_get(r.out);
	req_free(&r);
	return o;
}

Test(handlers, update)
{
	char id[UUID_LEN + 1], other[UUID_LEN + 1], bobs[UUID_LEN + 1];
	struct json_object *t;

	mk(&alice, "{\"name\":\"one\",\"description\":\"d\"," EXP ","
	    "\"scope\":{\"permissions\":[\"tools.read\"],\"server_id\":\"s\"}}", id);
	mk(&alice, "{\"name\":\"two\"," EXP "}", other);
	mk(&bob, "{\"name\":\"bobs\"," EXP "}", bobs);
	put(id, "{\"name\":\"\"}", 422, "name: ");
	put(id, "{\"tags\":\"x\"}", 422, "tags: ");
	put(id, "{\"scope\":{\"permissions\":[\"admin.all\"]}}", 400, "Cannot grant permission");
	put(id, "{\"name\":\"two\"}", 409, DUP_NAME);
	put(bobs, "{\"name\":\"mine-now\"}", 404, "Token not found");
	put("not-a-uuid", "{}", 404, "Token not found");
	put("00000000-0000-4000-8000-000000000000", "{\"scope\":{}}", 404, "Token not found");
	t = put(id, "{\"name\":\"uno\",\"description\":null,\"scope\":null,\"tags\":[\"t\"]}", 200, NULL);
	cr_assert_str_eq(sget(t, "name"), "uno");
	cr_assert_str_eq(sget(t, "description"), "d");
	cr_assert_str_eq(sget(t, "server_id"), "s");
	cr_assert_str_eq(sget(t, "tags"), "[ \"t\" ]");
	json_object_put(t);
	t = put(id, "{\"scope\":{\"usage_limits\":{\"requests_per_day\":9}}}", 200, NULL);
	cr_assert(is_null(t, "server_id"));     /* scope replaces all five fields */
	cr_assert_eq(json_object_array_length(json_object_object_get(t, "resource_scopes")), 0);
	cr_assert_eq(iget(json_object_object_get(t, "usage_limits"), "requests_per_day"), 9);
	json_object_put(t);
	t = put(id, "{\"is_active\":false}", 200, NULL);
	cr_assert_str_eq(sget(t, "is_active"), "false");
	json_object_put(t);
	/* the inactive token holds no name */
	json_object_put(put(other, "{\"name\":\"uno\"}", 200, NULL));
	put(id, "{\"is_active\":true}", 409, DUP_NAME);
	expect(h_token_revoke, &alice, NULL, NULL, other, 204, NULL);
	put(other, "{\"is_active\":true}", 400, "is_active: a revoked token cannot be reactivated");
}

/* The stored record of id (caller frees). */
static void
record(const char *id, struct token *t)
{
	cr_assert_eq(store_token_get(app.st, id, t), 0);
}

Test(handlers, revoke)
{
	char id[UUID_LEN + 1], bobs[UUID_LEN + 1], team[UUID_LEN + 1];
	char longr[300];
	struct token t;

	mk(&alice, "{\"name\":\"r1\"," EXP "}", id);
	mk(&bob, "{\"name\":\"r2\"," EXP "}", bobs);
	mk(&bob, "{\"name\":\"r3\"," EXP ",\"team_id\":\"%RED%\"}", team);
	snprintf(longr, sizeof(longr), "{\"reason\":\"%0256d\"}", 0);
	expect(h_token_revoke, &alice, NULL, longr, id, 422, "reason: ");
	expect(h_token_revoke, &alice, NULL, "{\"reason\":5}", id, 422, "reason: ");
	expect(h_token_revoke, &alice, NULL, NULL, "nope", 404, "Token not found");
	expect(h_token_revoke, &alice, NULL, NULL, bobs, 404, "Token not found");
	expect(h_token_revoke, &alice, "", NULL, team, 404, "Token not found");  /* red not in scope */
	expect(h_token_revoke, &admin, NULL, NULL, team, 404, "Token not found");
	record(bobs, &t);
	cr_assert_eq(t.is_revoked, 0);
	token_free(&t);

	expect(h_token_revoke, &alice, NULL, NULL, id, 204, NULL);
	expect(h_token_revoke, &alice, NULL, "{\"reason\":\"again\"}", id, 204, NULL);
	record(id, &t);
	cr_assert(t.is_revoked && !t.is_active && t.revoked_at > 0);
	cr_assert_str_eq(t.revoked_by, "alice@example.com");
	cr_assert_str_eq(t.revocation_reason, "Revoked by user");   /* the first is kept */
	token_free(&t);

	/* alice owns team red: she may revoke bob's red token */
	expect(h_token_revoke, &alice, "red", "{\"reason\":\"leaving\"}", team, 204, NULL);
	record(team, &t);
	cr_assert(t.is_revoked);
	cr_assert_str_eq(t.revoked_by, "alice@example.com");
	cr_assert_str_eq(t.revocation_reason, "leaving");
	token_free(&t);
}

Test(handlers, rotate)
{
	char id[UUID_LEN + 1];
	struct json_object *t;
	struct token old;
	struct req r;

	mk(&alice, "{\"name\":\"rot\"," EXP ",\"tags\":[\"k\"]}", id);
	expect(h_token_rotate, &bob, NULL, NULL, id, 404, "Token not found");
	expect(h_token_rotate, &alice, NULL, "{\"expires_in_days\":400}", id, 400,
	    "expires_in_days: must be at most 365 days");
	mkreq(&r, &alice, NULL, "{\"expires_in_days\":7}", NULL, id);
	cr_assert_eq(h_token_rotate(&r), 201, "%s", detail(&r));
	t = json_object_object_get(r.out, "token");
	cr_assert_str_neq(sget(t, "id"), id);
	cr_assert_str_eq(sget(t, "name"), "rot");
	cr_assert_str_eq(sget(t, "team_id"), red.id);
	cr_assert_str_eq(sget(t, "tags"), "[ \"k\" ]");
	json_object_put(claims_of(sget(r.out, "access_token"), "api"));
	req_free(&r);
	record(id, &old);
	cr_assert(old.is_revoked);
	cr_assert_str_eq(old.revocation_reason, "Rotated");
	token_free(&old);
	expect(h_token_rotate, &alice, NULL, NULL, id, 400, "Only an active token can be rotated");
}

/* --- usage limits across workers --- */

/* GET /auth/check with jwt through handler h_auth_check on store st. */
static int
check_on(struct store *st, const char *jwt)
{
	char auth[2048];
	char *env[] = { "REQUEST_METHOD=GET", auth, "HTTP_X_ORIGINAL_URI=/tools/x",
	    "HTTP_X_ORIGINAL_METHOD=GET", "REMOTE_ADDR=127.0.0.1", NULL };
	struct http_io io;
	struct app a = app;
	struct req r;
	int st_code;

	snprintf(auth, sizeof(auth), "HTTP_AUTHORIZATION=Bearer %s", jwt);
	memset(&io, 0, sizeof(io));
	io.envp = env;
	io.role = ROLE_RESPONDER;
	a.st = st;
	memset(&r, 0, sizeof(r));
	r.app = &a;
	r.io = &io;
	r.method = "GET";
	r.path = strdup("/auth/check");
	st_code = h_auth_check(&r);
	req_free(&r);
	return st_code;
}

/*
 * Two workers are two processes with their own environment handle. A use
 * of a limited token is counted in the host's admission table before the
 * answer (store_admit.c), so the other worker counts it at once: here the
 * child is refused the third use of a 2-per-minute token although the
 * parent's two are still in the parent's batch, not yet written.
 */
Test(handlers, usage_limit_counts_the_other_workers_uses_at_once)
{
	struct req r;
	char *jwt;
	pid_t pid;
	int status;

	mkreq(&r, &bob, NULL, "{\"name\":\"lim\"," EXP ",\"team_id\":null,"
	    "\"scope\":{\"usage_limits\":{\"requests_per_minute\":2}}}", NULL, NULL);
	cr_assert_eq(h_token_create(&r), 201, "%s", detail(&r));
	jwt = strdup(sget(r.out, "access_token"));
	req_free(&r);
	cr_assert_eq(check_on(app.st, jwt), 200);
	cr_assert_eq(check_on(app.st, jwt), 200);
	cr_assert_eq(store_use_pending(app.st), 2, "both uses in the batch");
	if ((pid = fork()) == 0) {
		struct store *other;

		if (store_open(&other, dir, 4, 0) != STORE_OK)
			_exit(99);
		_exit(check_on(other, jwt) == 429 ? 0 : 1);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the other worker allowed a third use (status %d)", status);
	free(jwt);
}
