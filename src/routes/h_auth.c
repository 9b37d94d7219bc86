/*
 * h_auth.c - GET /health, POST /auth/login, POST /auth/logout, GET /auth/me
 * (API.md 3).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "auth.h"
#include "handlers.h"
#include "http.h"
#include "js.h"
#include "log.h"
#include "pw.h"
#include "util.h"

#define LOGIN_FAILED	"Invalid email or password"

/* The User object of API.md 3.3: a new json object, caller owns. */
struct json_object *
h_user_json(const struct user *u)
{
	struct json_object *o = json_object_new_object();

	js_add_str(o, "id", u->id);
	js_add_str(o, "email", u->email);
	js_add_str(o, "full_name", u->full_name);
	js_add_bool(o, "is_admin", u->is_admin);
	js_add_bool(o, "is_active", u->is_active);
	js_add_time(o, "created_at", u->created_at);
	return o;
}

/* GET /health: 200 {"status": "ok"} once a cheap store read works. */
int
h_health(struct req *r)
{
	struct user u;
	int rc = store_user_get(r->app->st, "00000000-0000-4000-8000-000000000000", &u);

	if (rc != STORE_OK && rc != STORE_NOTFOUND)
		return h_fail(r, rc);
	r->out = json_object_new_object();
	js_add_str(r->out, "status", "ok");
	return 200;
}

/* 429 with Retry-After until left ms have passed. */
static int
locked_out(struct req *r, int64_t left)
{
	char secs[24];

	snprintf(secs, sizeof(secs), "%lld", (long long)((left + 999) / 1000));
	http_add_header(r, "Retry-After", secs);
	return http_error(r, 429, "Too many failed login attempts. Try again later.");
}

/*
 * Count this attempt before the password is checked (store_login_attempt),
 * so that concurrent guesses cannot have more than login_max_failures
 * passwords checked: 429 while the e-mail is locked. A read-only database
 * cannot count: its stored lock still holds. Returns 0 when the password
 * may be checked.
 */
static int
login_attempt(struct req *r, const char *email)
{
	const struct config *c = &r->app->cfg;
	int64_t window = (int64_t)c->login_lockout_minutes * 60000, last;
	int64_t now = util_now_ms();
	unsigned count;
	int rc, locked;

	rc = store_login_attempt(r->app->st, email, now, window,
	    c->login_max_failures, &count, &last, &locked);
	if (rc == STORE_RDONLY) {
		if ((rc = store_login_get(r->app->st, email, &count, &last)) != 0)
			return h_fail(r, rc);
		locked = count >= c->login_max_failures && now - last < window;
	} else if (rc != 0)
		return h_fail(r, rc);
	return locked ? locked_out(r, last + window - now) : 0;
}

/* A failed login (counted already by login_attempt): 401. */
static int
login_failed(struct req *r)
{
	log_info("req=%s: login failed", r->id);
	h_challenge(r, 0);
	return http_error(r, 401, LOGIN_FAILED);
}

/*
 * The "teams" of a login body into list (narrowed = 1), each a team the
 * user belongs to, or any existing team for an admin. Returns 0 or a status.
 */
static int
login_teams(struct req *r, const struct user *u, struct strlist *list, int *narrowed)
{
	struct json_object *arr, *v;
	struct team t;
	char detail[DETAIL_MAX];
	size_t i;
	int rc, role;

	rc = js_get_type(r->json, "teams", json_type_array, &arr, detail);
	if (rc == JS_BAD)
		return http_error(r, 422, "%s", detail);
	if (rc != JS_OK)
		return 0;
	*narrowed = 1;
	for (i = 0; i < json_object_array_length(arr); i++) {
		v = json_object_array_get_idx(arr, i);
		if (!json_object_is_type(v, json_type_string))
			return http_error(r, 422, "teams[%zu]: must be a string", i);
		if ((rc = store_team_get(r->app->st, json_object_get_string(v), &t)) == 0 &&
		    !u->is_admin)
			rc = store_member_get(r->app->st, t.id, u->id, &role);
		if (rc == STORE_NOTFOUND)
			return http_error(r, 400, "teams: unknown team or not a member: %.64s",
			    json_object_get_string(v));
		if (rc != 0)
			return h_fail(r, rc);
		if (!strlist_has(list, t.id) && strlist_add(list, t.id) == -1)
			return http_error(r, 503, "Service temporarily unavailable");
	}
	return 0;
}

/* Issue the session for u and build the 200 answer. */
static int
login_ok(struct req *r, const struct user *u)
{
	struct strlist teams = { NULL, 0 };
	unsigned expires_in = 0;
	char *jwt;
	int rc, narrowed = 0;

	/* a read-only database keeps its failure count, and logins go on */
	if ((rc = store_login_reset(r->app->st, u->email)) != 0 &&
	    rc != STORE_RDONLY)
		return h_fail(r, rc);
	if ((rc = login_teams(r, u, &teams, &narrowed)) != 0)
		goto out;
	jwt = auth_session_token(r->app, u, narrowed ? &teams : NULL,
	    r->app->cfg.session_minutes, &expires_in);
	if (jwt == NULL) {
		rc = http_error(r, 503, "Service temporarily unavailable");
		goto out;
	}
	r->out = json_object_new_object();
	js_add_str(r->out, "access_token", jwt);
	js_add_str(r->out, "token_type", "bearer");
	js_add_int(r->out, "expires_in", expires_in);
	json_object_object_add(r->out, "user", h_user_json(u));
	OPENSSL_cleanse(jwt, strlen(jwt));
	free(jwt);
	rc = 200;
out:
	strlist_free(&teams);
	return rc;
}

/*
 * The e-mail and password of a login body (borrowed from r->json). Any
 * string is taken as the e-mail: a malformed one is answered as an unknown
 * user (401), not 422. Returns 0, or 422 naming the field.
 */
static int
login_fields(struct req *r, const char **email, const char **password)
{
	char detail[DETAIL_MAX];
	int rc;

	if ((rc = js_get_str(r->json, "email", 0, SIZE_MAX, email, detail)) != JS_OK)
		return http_error(r, 422, "%s", rc == JS_BAD ? detail :
		    "email: field required");
	if ((rc = js_get_str(r->json, "password", 0, PW_MAX_LEN, password,
	    detail)) != JS_OK)
		return http_error(r, 422, "%s", rc == JS_BAD ? detail :
		    "password: field required");
	if (strlen(*password) > PW_MAX_LEN)
		return http_error(r, 422, "password: must be at most %d bytes",
		    PW_MAX_LEN);
	return 0;
}

/*
 * 1 if password is u's and u may log in. Costs one scrypt run whatever the
 * outcome (a user without a password hash gets pw_dummy), so that unknown,
 * disabled and password-less accounts answer in about the same time.
 */
static int
login_password_ok(const struct user *u, const char *password)
{
	if (u->pwhash[0] == '\0') {
		pw_dummy(password);
		return 0;
	}
	return pw_verify(password, u->pwhash) && u->is_active;
}

/*
 * POST /auth/login (API.md 3.1): lockout first, then the user and the
 * password; every failure is counted and answered with the same 401.
 */
int
h_login(struct req *r)
{
	const char *email, *password;
	struct user u;
	int rc;

	if ((rc = login_fields(r, &email, &password)) != 0 ||
	    (rc = login_attempt(r, email)) != 0)
		return rc;
	rc = util_email_valid(email) ? store_user_by_email(r->app->st, email, &u) :
	    STORE_NOTFOUND;
	if (rc == STORE_NOTFOUND) {
		pw_dummy(password);
		return login_failed(r);
	}
	if (rc != 0)
		return h_fail(r, rc);
	if (!login_password_ok(&u, password)) {
		OPENSSL_cleanse(u.pwhash, sizeof(u.pwhash));
		return login_failed(r);
	}
	OPENSSL_cleanse(u.pwhash, sizeof(u.pwhash));
	return login_ok(r, &u);
}

/*
 * POST /auth/logout: a session's jti is revoked until the session would
 * have expired; a remote_user caller has nothing to revoke. 200 either way.
 */
int
h_logout(struct req *r)
{
	int rc;

	if (r->caller->kind == CALLER_SESSION &&
	    (rc = store_jti_revoke(r->app->st, r->caller->jti, r->caller->exp_ms)) != 0)
		return h_fail(r, rc);
	r->out = json_object_new_object();
	js_add_str(r->out, "message", "Logged out successfully");
	return 200;
}

/* [{"id", "name", "role"}] of the caller's memberships; NULL on a store error. */
static struct json_object *
my_teams(struct req *r, int *err)
{
	struct membership *m = NULL;
	struct json_object *arr, *o;
	struct team t;
	size_t i, n = 0;

	if ((*err = store_user_teams(r->app->st, r->caller->user.id, &m, &n)) != 0)
		return NULL;
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		if ((*err = store_team_get(r->app->st, m[i].team_id, &t)) == STORE_NOTFOUND)
			continue;
		if (*err != 0)
			break;
		o = json_object_new_object();
		js_add_str(o, "id", t.id);
		js_add_str(o, "name", t.name);
		js_add_str(o, "role", role_name(m[i].role));
		json_object_array_add(arr, o);
	}
	free(m);
	if (*err == STORE_NOTFOUND)
		*err = 0;
	if (*err != 0) {
		json_object_put(arr);
		return NULL;
	}
	return arr;
}

/*
 * GET /auth/me: the caller, how it authenticated, its teams with roles, and
 * the teams a narrowed session or a team API token is limited to (else null).
 */
int
h_me(struct req *r)
{
	struct json_object *teams, *tt = NULL, *pol;
	size_t i;
	int err;

	if ((teams = my_teams(r, &err)) == NULL)
		return h_fail(r, err);
	if (r->caller->narrowed) {
		tt = json_object_new_array();
		for (i = 0; i < r->caller->teams.n; i++)
			json_object_array_add(tt,
			    json_object_new_string(r->caller->teams.v[i]));
	}
	r->out = json_object_new_object();
	json_object_object_add(r->out, "user", h_user_json(&r->caller->user));
	js_add_str(r->out, "auth_method", caller_method(r->caller));
	json_object_object_add(r->out, "teams", teams);
	json_object_object_add(r->out, "token_teams", tt);
	/* what a token form needs to know (the admin page) */
	pol = json_object_new_object();
	js_add_int(pol, "max_token_days", r->app->cfg.max_token_days);
	js_add_bool(pol, "require_token_expiration",
	    r->app->cfg.require_token_expiration);
	json_object_object_add(r->out, "token_policy", pol);
	return 200;
}
