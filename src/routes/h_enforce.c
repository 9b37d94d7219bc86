/*
 * h_enforce.c - the enforcement point (API.md 7): the FastCGI Authorizer
 * role, GET /auth/check (nginx auth_request), POST /auth/introspect
 * (RFC 7662) and POST /auth/revoke (RFC 7009). The token is verified by
 * auth_api_token (the one verification, shared with the management
 * routes), the request path canonicalized by upath_canon, and the decision
 * is decide()'s. Every decision on a catalog token is recorded in the
 * usage environment, which never waits for a disk flush; an allowed use of
 * a token with usage limits is counted and recorded under one lock
 * (store_use_admit), so that limits are exact across workers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "decide.h"
#include "handlers.h"
#include "http.h"
#include "js.h"
#include "log.h"
#include "upath.h"
#include "util.h"

/* Everything gathered about one presented token; free with facts_free. */
struct facts {
	struct decide_in	 in;
	struct api_token	 t;
	uint32_t		 cap[WIN__MAX]; /* usage limits (decide_caps) */
	int			 limited;       /* cap[] has a limit */
	char			*path;          /* the canonical path, owned */
	char			 shown[160];    /* a refused path, printable */
};

static void
facts_free(struct facts *f)
{
	api_token_free(&f->t);
	free(f->path);
	f->path = NULL;
}

/*
 * Verify raw and, for an API token, read its catalog facts into f
 * (auth_api_token). Returns 0 (the verdict's inputs are set), or a
 * STORE_* error (the caller answers 503/507).
 */
static int
gather(struct req *r, const char *raw, struct facts *f)
{
	int rc;

	f->in.now = util_now_ms();
	rc = auth_api_token(r->app, raw, f->in.now, &f->t);
	if (rc != AUTH_OK && !auth_is_refusal(rc))
		return rc;
	f->in.auth = rc;
	if (f->t.have_tok) {
		f->in.tok = &f->t.tok;
		f->limited = decide_caps(&f->t.tok, f->cap);
	}
	if (f->t.have_owner)
		f->in.owner = &f->t.owner;
	f->in.team_role = f->t.team_role;
	return 0;
}

/* One monotonic clock for the whole request (util_mono_us). */
static uint32_t
elapsed_us(const struct req *r)
{
	int64_t now = util_mono_us();

	return now > r->start_us ? (uint32_t)(now - r->start_us) : 0;
}

/* The use this decision records (strings borrowed from r and f). */
static void
use_of(struct req *r, const struct facts *f, const struct verdict *v,
    struct use *u)
{
	const char *ua = http_param(r, "HTTP_USER_AGENT");

	u->at = f->in.now;
	u->method = f->in.method;
	u->path = f->in.path != NULL ? f->in.path : f->shown;
	u->addr = v->client;
	u->agent = ua != NULL ? ua : "";
	u->status = v->status;
	u->blocked = v->status != 200;
	u->us = elapsed_us(r);
}

/*
 * The usage limits of an allowed request: counted and the use recorded
 * under one lock (store_use_admit); over a limit, the verdict becomes 429.
 * Returns 0 or a STORE_* error.
 */
static int
admit(struct req *r, struct facts *f, struct verdict *v)
{
	struct use u;
	int rc, admitted;

	use_of(r, f, v, &u);
	if ((rc = store_use_admit(r->app->st, f->t.tok.id, f->cap, &u,
	    f->in.used, f->in.frees_at, &admitted)) != 0)
		return rc;
	f->in.counted = 1;
	if (!admitted)
		decide_limits(&f->in, v);
	return 0;
}

/*
 * Record the decision as a use of the token, unless admit() recorded it
 * already. A failure is logged, not answered: the decision stands.
 */
static void
record(struct req *r, const struct facts *f, const struct verdict *v)
{
	struct use u;
	int rc;

	if (!v->record || (f->limited && v->status == 200))
		return;
	use_of(r, f, v, &u);
	if ((rc = store_use_record(r->app->st, f->t.tok.id, &u)) != 0)
		log_error("req=%s: cannot record a use: %s", r->id, store_strerror(rc));
}

/* The token's permissions, space-separated, into perms (cut at psz). */
static void
token_perms(const struct token *t, char *perms, size_t psz)
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

/* Answer a refusal: 401 through h_fail, else the status with Retry-After. */
static int
refuse(struct req *r, const struct verdict *v)
{
	char secs[16];

	if (v->status == 401)
		return h_fail(r, v->auth);
	if (v->status == 429) {
		snprintf(secs, sizeof(secs), "%u", v->retry_after);
		http_add_header(r, "Retry-After", secs);
	}
	return http_error(r, v->status, "%s", v->detail);
}

/* The identity of an allowed request as headers named by the door. */
static void
allow_headers(struct req *r, const struct facts *f, int authorizer)
{
	char perms[2048];

	token_perms(&f->t.tok, perms, sizeof(perms));
	http_add_header(r, authorizer ? "Variable-TOKENCAT_USER" :
	    "X-Tokencat-User", f->t.owner.email);
	http_add_header(r, authorizer ? "Variable-TOKENCAT_TOKEN_ID" :
	    "X-Tokencat-Token-Id", f->t.tok.id);
	http_add_header(r, authorizer ? "Variable-TOKENCAT_TEAMS" :
	    "X-Tokencat-Teams", f->t.tok.team_id);
	http_add_header(r, authorizer ? "Variable-TOKENCAT_SCOPES" :
	    "X-Tokencat-Scopes", perms);
}

/*
 * Canonicalize the path of the request being authorized (uri: a raw URI
 * path, query cut) into f; a refused path is kept printable for the
 * detail and the use record. Returns 0, or -1 when memory fails.
 */
static int
judged_path(const char *uri, size_t n, struct facts *f)
{
	const char *why;

	if (upath_canon(uri, n, UPATH_RAW, &f->path, &why) == 0) {
		f->in.path = f->path;
		return 0;
	}
	if (strcmp(why, "out of memory") == 0)
		return -1;
	f->in.path_refused = why;
	f->in.shown_path = upath_show(uri, n, f->shown, sizeof(f->shown));
	return 0;
}

/*
 * The one path of the two request doors: verify, decide for method and
 * the canonical path, count and record, and on allow add the identity as
 * headers ("X-Tokencat-" for /auth/check, "Variable-TOKENCAT_" for the
 * Authorizer). uri is the raw path of the request being authorized.
 */
static int
enforce(struct req *r, const char *method, const char *uri, size_t urilen,
    int authorizer)
{
	const char *h = http_param(r, "HTTP_AUTHORIZATION");
	const char *raw = auth_bearer(h);
	struct facts f;
	struct verdict v;
	int rc;

	if (raw == NULL)
		return h_fail(r, h == NULL ? AUTH_NONE : AUTH_INVALID);
	memset(&f, 0, sizeof(f));
	f.in.method = method;
	f.in.remote_addr = http_param(r, "REMOTE_ADDR");
	f.in.xff = http_param(r, "HTTP_X_FORWARDED_FOR");
	if (judged_path(uri, urilen, &f) == -1)
		rc = STORE_NOMEM;
	else
		rc = gather(r, raw, &f);
	if (rc != 0) {
		facts_free(&f);
		return h_fail(r, rc);
	}
	decide(&r->app->cfg, &f.in, &v);
	if (v.status == 200 && f.limited && (rc = admit(r, &f, &v)) != 0) {
		facts_free(&f);
		return h_fail(r, rc);
	}
	record(r, &f, &v);
	if (v.status != 200) {
		facts_free(&f);
		return refuse(r, &v);
	}
	allow_headers(r, &f, authorizer);
	if (!authorizer) {
		r->out = json_object_new_object();
		js_put(r->out, "allowed", json_object_new_boolean(1));
		js_put(r->out, "user", js_str(f.t.owner.email));
		js_put(r->out, "token_id", js_str(f.t.tok.id));
	}
	facts_free(&f);
	return 200;
}

/* The length of uri's path (up to '?' or '#'), or 0 when it is no path. */
static size_t
uri_path_len(const char *uri)
{
	size_t n;

	if (uri == NULL || uri[0] != '/')
		return 0;
	n = strcspn(uri, "?#");
	return n <= PATH_MAX_LEN ? n : 0;
}

int
h_auth_check(struct req *r)
{
	const char *method = http_param(r, "HTTP_X_ORIGINAL_METHOD");
	const char *uri = http_param(r, "HTTP_X_ORIGINAL_URI");
	size_t n = uri_path_len(uri);

	if (n == 0)
		return http_error(r, 400, "X-Original-URI: header required (a path "
		    "starting with /, at most %d bytes)", PATH_MAX_LEN);
	return enforce(r, method != NULL && *method != '\0' ? method : "GET",
	    uri, n, 0);
}

int
h_authorizer(struct req *r)
{
	const char *uri = http_param(r, "REQUEST_URI");
	size_t n = uri_path_len(uri);

	if (n == 0)
		return http_error(r, 400, "REQUEST_URI: missing or not a path");
	return enforce(r, r->method, uri, n, 1);
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
		return js_get_str(r->json, "token", 1, BEARER_MAX, &s, detail) == JS_OK ?
		    strdup(s) : NULL;
	if (r->body == NULL)
		return NULL;
	return util_form_get(r->body, "token", &bad);
}

/*
 * May the caller introspect: an admin session, or an API token that may
 * exercise tokens.introspect now (its permissions and its owner's).
 */
static int
may_introspect(const struct app *a, const struct caller *c)
{
	if (c->kind != CALLER_API_TOKEN)
		return c->user.is_admin;
	return decide_token_grants(&a->cfg, &c->token, &c->user, c->team_role,
	    "tokens.introspect");
}

/* RFC 7662 answer for an active token. */
static struct json_object *
introspection(const struct app *a, const struct facts *f)
{
	struct json_object *o = json_object_new_object(), *teams = NULL, *sid = NULL;
	struct json_object *claims = f->t.claims;
	char perms[2048];

	token_perms(&f->t.tok, perms, sizeof(perms));
	js_add_bool(o, "active", 1);
	js_add_str(o, "sub", f->t.owner.id);
	js_add_str(o, "username", f->t.owner.email);
	js_add_str(o, "jti", f->t.tok.jti);
	js_add_int(o, "exp", json_object_get_int64(json_object_object_get(claims, "exp")));
	js_add_int(o, "iat", json_object_get_int64(json_object_object_get(claims, "iat")));
	js_add_str(o, "iss", a->cfg.issuer);
	js_add_str(o, "aud", a->cfg.audience);
	js_add_str(o, "token_type", "api");
	js_add_str(o, "scope", perms);
	if (f->t.tok.team_id[0] != '\0') {
		teams = json_object_new_array();
		json_object_array_add(teams, json_object_new_string(f->t.tok.team_id));
	}
	json_object_object_add(o, "teams", teams);
	json_object_object_get_ex(f->t.tok.scope, "server_id", &sid);
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

	if (!may_introspect(r->app, r->caller))
		return http_error(r, 403, "Introspection requires an admin session or a "
		    "token with the tokens.introspect permission");
	if ((raw = body_token(r)) == NULL)
		return http_error(r, 400, "token: field required");
	memset(&f, 0, sizeof(f));
	if ((rc = gather(r, raw, &f)) != 0) {
		free(raw);
		facts_free(&f);
		return h_fail(r, rc);
	}
	decide(&r->app->cfg, &f.in, &v);        /* no path: identity only */
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
	if (raw != NULL && (rc = gather(r, raw, &f)) == 0 && f.t.have_tok) {
		a.by = f.t.tok.owner_email;
		rc = store_token_edit(r->app->st, f.t.tok.id, ed_self_revoke, &a,
		    NULL, NULL);
		if (rc == 0)
			log_info("req=%s: token %s revoked by its holder", r->id,
			    f.t.tok.id);
		else if (rc != 1)
			log_error("req=%s: self-revocation failed: %s", r->id,
			    store_strerror(rc));
	}
	free(raw);
	facts_free(&f);
	r->out = json_object_new_object();
	return 200;
}
