/*
 * h_enforce.c - the enforcement point (API.md 7): the FastCGI Authorizer
 * role, GET /auth/check (nginx auth_request), POST /auth/introspect
 * (RFC 7662) and POST /auth/revoke (RFC 7009). The facts are gathered here;
 * the decision is decide()'s. Every decision on a catalog token is recorded
 * in the usage environment, which never waits for a disk flush.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "decide.h"
#include "handlers.h"
#include "http.h"
#include "js.h"
#include "log.h"
#include "util.h"

#define TOKEN_MAX 8192

/* Everything gathered about one presented token; free with facts_free. */
struct facts {
	struct decide_in	 in;
	uint32_t		 cap[3];        /* usage limits (decide_caps) */
	struct token		 tok;
	struct user		 owner;
	struct json_object	*claims;
	int			 have_tok;
};

static void
facts_free(struct facts *f)
{
	token_free(&f->tok);
	json_object_put(f->claims);
	f->claims = NULL;
}

/* The raw token of "Authorization: Bearer <token>", or NULL. */
static const char *
bearer(const struct req *r)
{
	const char *h = http_param(r, "HTTP_AUTHORIZATION");

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	for (h += 7; *h == ' '; h++)
		;
	return *h != '\0' && strlen(h) <= TOKEN_MAX ? h : NULL;
}

static const char *
claim(struct json_object *c, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(c, k, &v) && json_object_is_type(v,
	    json_type_string) ? json_object_get_string(v) : NULL;
}

/*
 * The catalog facts of a verified API token: its record, owner, the
 * owner's team role and the window counts, read from one snapshot.
 * Returns 0, or a STORE_* error.
 */
static int
gather_store(struct req *r, const char *raw_sha256_hex, struct facts *f)
{
	const struct app *a = r->app;
	int rc;

	rc = store_token_by_jti(a->st, claim(f->claims, "jti"), &f->tok);
	if (rc == STORE_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	f->have_tok = 1;
	f->in.tok = &f->tok;
	f->in.hash_ok = util_ct_eq(raw_sha256_hex, f->tok.hash, SHA256_HEX);
	if ((rc = store_user_get(a->st, f->tok.owner_id, &f->owner)) == 0)
		f->in.owner = &f->owner;
	else if (rc != STORE_NOTFOUND)
		return rc;
	if (f->tok.team_id[0] != '\0' && f->in.owner != NULL &&
	    (rc = store_member_get(a->st, f->tok.team_id, f->owner.id,
	    &f->in.team_role)) != 0 && rc != STORE_NOTFOUND)
		return rc;
	decide_caps(&f->tok, f->cap);
	return store_use_window(a->st, f->tok.id, f->in.now, f->cap, f->in.used,
	    f->in.frees_at);
}

/*
 * Verify raw and, for an API token, read its catalog facts into f.
 * Returns 0, or a STORE_* error (the caller answers 503/507).
 */
static int
gather(struct req *r, const char *raw, struct facts *f)
{
	const struct app *a = r->app;
	unsigned char digest[32];
	char hash[SHA256_HEX + 1];
	const char *use;
	int rc;

	f->in.now = util_now_ms();
	f->in.jws_rc = jws_verify_digest(&a->key, raw, a->cfg.issuer,
	    a->cfg.audience, NULL, f->in.now / 1000, &f->claims, digest);
	if (f->in.jws_rc != JWS_OK)
		return 0;
	use = claim(f->claims, "token_use");
	f->in.is_api = use != NULL && strcmp(use, "api") == 0;
	f->in.sub = claim(f->claims, "sub");
	if (!f->in.is_api)
		return 0;
	util_hex(digest, sizeof(digest), hash);         /* SHA-256 of raw */
	if ((rc = store_snapshot(a->st)) != 0)
		return rc;
	rc = gather_store(r, hash, f);
	store_snapshot_end(a->st);
	return rc;
}

/* Microseconds since the request started (monotonic). */
static uint32_t
elapsed_us(const struct req *r)
{
	struct timespec ts;
	int64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	return now > r->start_us ? (uint32_t)(now - r->start_us) : 0;
}

/*
 * 1 if an allowed use leaves f's token within LIMIT_EXACT_MARGIN uses of
 * one of its limits. Such a use is written before the answer, not in the
 * worker's batch, so that the other workers count it at once: a limit is
 * then exact where it matters, while a token far from its limits (or
 * without any) is written in batches.
 */
#define LIMIT_EXACT_MARGIN 1000

static int
near_limit(const struct facts *f)
{
	int i;

	for (i = 0; i < 3; i++)
		if (f->cap[i] > 0 && (f->cap[i] <= LIMIT_EXACT_MARGIN ||
		    f->in.used[i] >= f->cap[i] - LIMIT_EXACT_MARGIN))
			return 1;
	return 0;
}

/* Record the decision as a use of the token (errors are logged, not fatal). */
static void
record(struct req *r, const struct facts *f, const struct verdict *v)
{
	const char *ua = http_param(r, "HTTP_USER_AGENT");
	struct use u = { f->in.now, f->in.method, f->in.path, v->client,
	    ua != NULL ? ua : "", v->status, v->status != 200, elapsed_us(r) };
	int rc;

	if (!v->record || !f->have_tok)
		return;
	if ((rc = store_use_record(r->app->st, f->tok.id, &u)) == 0 &&
	    v->status == 200 && near_limit(f))
		rc = store_use_flush(r->app->st);
	if (rc != 0)
		log_error("req=%s: cannot record a use: %s", r->id, store_strerror(rc));
}

/* Teams of the token as "id" or "", and its permissions space-separated. */
static void
token_labels(const struct token *t, char *perms, size_t psz)
{
	struct json_object *p = NULL;
	size_t i, off = 0;

	perms[0] = '\0';
	json_object_object_get_ex(t->scope, "permissions", &p);
	for (i = 0; p != NULL && i < json_object_array_length(p); i++) {
		int n = snprintf(perms + off, psz - off, "%s%s", off ? " " : "",
		    json_object_get_string(json_object_array_get_idx(p, i)));

		if (n < 0 || (size_t)n >= psz - off) {
			perms[off] = '\0';
			break;
		}
		off += (size_t)n;
	}
}

/* Answer a refusal: status, detail, WWW-Authenticate or Retry-After. */
static int
refuse(struct req *r, const struct verdict *v, int presented)
{
	char secs[16];

	if (v->status == 401)
		http_add_header(r, "WWW-Authenticate", presented ?
		    "Bearer realm=\"tokencat\", error=\"invalid_token\"" :
		    "Bearer realm=\"tokencat\"");
	if (v->status == 429) {
		snprintf(secs, sizeof(secs), "%u", v->retry_after);
		http_add_header(r, "Retry-After", secs);
	}
	return http_error(r, v->status, "%s", v->detail);
}

/*
 * The one path of the two request doors: decide for method and path,
 * record, and on allow add the identity as headers named by prefix
 * ("X-Tokencat-" for /auth/check, "Variable-TOKENCAT_" for the Authorizer).
 */
static int
enforce(struct req *r, const char *method, const char *path, int authorizer)
{
	struct facts f;
	struct verdict v;
	char perms[2048];
	const char *raw = bearer(r);
	int rc, presented;

	memset(&f, 0, sizeof(f));
	if (raw == NULL) {
		memset(&v, 0, sizeof(v));
		v.status = 401;
		presented = http_param(r, "HTTP_AUTHORIZATION") != NULL;
		snprintf(v.detail, sizeof(v.detail), "%s", presented ?
		    "Invalid or expired token" : "Authorization token required");
		return refuse(r, &v, presented);
	}
	f.in.method = method;
	f.in.path = path;
	f.in.remote_addr = http_param(r, "REMOTE_ADDR");
	f.in.xff = http_param(r, "HTTP_X_FORWARDED_FOR");
	if ((rc = gather(r, raw, &f)) != 0) {
		facts_free(&f);
		return h_store_error(r, rc);
	}
	decide(&r->app->cfg, &f.in, &v);
	record(r, &f, &v);
	if (v.status != 200) {
		facts_free(&f);
		return refuse(r, &v, 1);
	}
	token_labels(&f.tok, perms, sizeof(perms));
	http_add_header(r, authorizer ? "Variable-TOKENCAT_USER" : "X-Tokencat-User",
	    f.owner.email);
	http_add_header(r, authorizer ? "Variable-TOKENCAT_TOKEN_ID" : "X-Tokencat-Token-Id",
	    f.tok.id);
	http_add_header(r, authorizer ? "Variable-TOKENCAT_TEAMS" : "X-Tokencat-Teams",
	    f.tok.team_id);
	http_add_header(r, authorizer ? "Variable-TOKENCAT_SCOPES" : "X-Tokencat-Scopes",
	    perms);
	if (!authorizer) {
		r->out = json_object_new_object();
		js_put(r->out, "allowed", json_object_new_boolean(1));
		js_put(r->out, "user", js_str(f.owner.email));
		js_put(r->out, "token_id", js_str(f.tok.id));
	}
	facts_free(&f);
	return 200;
}

/* The path of a URI without its query; a new string or NULL. */
static char *
uri_path(const char *uri)
{
	size_t n;

	if (uri == NULL || uri[0] != '/')
		return NULL;
	n = strcspn(uri, "?#");
	return n <= PATH_MAX_LEN ? strndup(uri, n) : NULL;
}

int
h_auth_check(struct req *r)
{
	const char *method = http_param(r, "HTTP_X_ORIGINAL_METHOD");
	char *path = uri_path(http_param(r, "HTTP_X_ORIGINAL_URI"));
	int st;

	if (path == NULL)
		return http_error(r, 400, "X-Original-URI: header required (a path "
		    "starting with /)");
	st = enforce(r, method != NULL && *method != '\0' ? method : "GET", path, 0);
	free(path);
	return st;
}

int
h_authorizer(struct req *r)
{
	char *path = uri_path(http_param(r, "REQUEST_URI"));
	int st;

	if (path == NULL)
		return http_error(r, 400, "REQUEST_URI: missing or not a path");
	st = enforce(r, r->method, path, 1);
	free(path);
	return st;
}

/*
 * The "token" of a form or JSON body. Returns a malloc'd copy (caller
 * frees) or NULL when absent or unreadable.
 */
static char *
body_token(struct req *r)
{
	const char *s = NULL;
	char detail[DETAIL_MAX];
	int bad = 0;

	if (r->json != NULL)
		return js_get_str(r->json, "token", 1, TOKEN_MAX, &s, detail) == JS_OK ?
		    strdup(s) : NULL;
	if (r->body == NULL)
		return NULL;
	return util_form_get(r->body, "token", &bad);
}

/* May the caller introspect: an admin session, or a token holding tokens.introspect. */
static int
may_introspect(const struct caller *c)
{
	struct json_object *p = NULL;
	size_t i;

	if (c->kind != CALLER_API_TOKEN)
		return c->user.is_admin;
	json_object_object_get_ex(c->token.scope, "permissions", &p);
	for (i = 0; p != NULL && i < json_object_array_length(p); i++)
		if (scope_perm_grants(json_object_get_string(json_object_array_get_idx(p, i)),
		    "tokens.introspect"))
			return 1;
	return 0;
}

/* RFC 7662 answer for an active token. */
static struct json_object *
introspection(const struct app *a, const struct facts *f)
{
	struct json_object *o = json_object_new_object(), *teams = NULL, *sid = NULL;
	char perms[2048];

	token_labels(&f->tok, perms, sizeof(perms));
	js_add_bool(o, "active", 1);
	js_add_str(o, "sub", f->owner.id);
	js_add_str(o, "username", f->owner.email);
	js_add_str(o, "jti", f->tok.jti);
	js_add_int(o, "exp", json_object_get_int64(json_object_object_get(f->claims, "exp")));
	js_add_int(o, "iat", json_object_get_int64(json_object_object_get(f->claims, "iat")));
	js_add_str(o, "iss", a->cfg.issuer);
	js_add_str(o, "aud", a->cfg.audience);
	js_add_str(o, "token_type", "api");
	js_add_str(o, "scope", perms);
	if (f->tok.team_id[0] != '\0') {
		teams = json_object_new_array();
		json_object_array_add(teams, json_object_new_string(f->tok.team_id));
	}
	json_object_object_add(o, "teams", teams);
	json_object_object_get_ex(f->tok.scope, "server_id", &sid);
	json_object_object_add(o, "server_id", json_object_get(sid));
	return o;
}

int
h_introspect(struct req *r)
{
	struct facts f;
	struct verdict v;
	char *raw;
	int rc;

	if (!may_introspect(&r->caller))
		return http_error(r, 403, "Introspection requires an admin session or a "
		    "token with the tokens.introspect permission");
	if ((raw = body_token(r)) == NULL)
		return http_error(r, 400, "token: field required");
	memset(&f, 0, sizeof(f));
	if ((rc = gather(r, raw, &f)) != 0) {
		free(raw);
		facts_free(&f);
		return h_store_error(r, rc);
	}
	decide(&r->app->cfg, &f.in, &v);        /* path NULL: identity only */
	r->out = v.status == 200 ? introspection(r->app, &f) : json_object_new_object();
	if (v.status != 200)
		js_add_bool(r->out, "active", 0);
	free(raw);
	facts_free(&f);
	return 200;
}

struct self_revoke {
	const char	*by;
};

/* token_edit_fn: revoke unless revoked already (then write nothing). */
static int
ed_self_revoke(struct token *t, void *arg)
{
	const struct self_revoke *a = arg;

	if (t->is_revoked)
		return 1;
	return token_mark_revoked(t, a->by, "Revoked by the token holder (RFC 7009)",
	    util_now_ms());
}

int
h_auth_revoke(struct req *r)
{
	struct facts f;
	struct self_revoke a;
	char *raw = body_token(r);
	int rc;

	memset(&f, 0, sizeof(f));
	if (raw != NULL && (rc = gather(r, raw, &f)) == 0 && f.have_tok && f.in.hash_ok) {
		a.by = f.tok.owner_email;
		rc = store_token_edit(r->app->st, f.tok.id, ed_self_revoke, &a, NULL);
		if (rc == 0)
			log_info("req=%s: token %s revoked by its holder", r->id, f.tok.id);
		else if (rc != 1)
			log_error("req=%s: self-revocation failed: %s", r->id,
			    store_strerror(rc));
	}
	free(raw);
	facts_free(&f);
	r->out = json_object_new_object();
	return 200;
}
