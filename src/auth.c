/*
 * auth.c - who is calling (API.md 3): a session JWT, an API-token JWT
 * checked against its catalog record, or REMOTE_USER from a trusted web
 * server. Admin status and activity are read from the store every time.
 * Nothing here logs a token.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "app.h"
#include "http.h"
#include "js.h"
#include "jws.h"
#include "log.h"
#include "policy.h"
#include "store.h"
#include "util.h"

#define BEARER_MAX	16384   /* longer Authorization values are refused */
#define WWW_AUTH_BAD	"Bearer realm=\"tokencat\", error=\"invalid_token\""
#define WWW_AUTH_PLAIN	"Bearer realm=\"tokencat\""

/*
 * Refuse presented credentials: forget any partial caller and answer 401
 * "Invalid or expired token"; error="invalid_token" when a bearer token was
 * presented (RFC 6750). Returns 401.
 */
static int
reject(struct req *r, int had_token)
{
	caller_free(&r->caller);
	http_add_header(r, "WWW-Authenticate",
	    had_token ? WWW_AUTH_BAD : WWW_AUTH_PLAIN);
	return http_error(r, 401, "Invalid or expired token");
}

/* A store failure while identifying: 507 when full, else 503; cause logged. */
static int
store_fail(struct req *r, int err)
{
	caller_free(&r->caller);
	log_error("req=%s: store failure during authentication: %s", r->id,
	    store_strerror(err));
	if (err == STORE_FULL)
		return http_error(r, 507, "Insufficient storage");
	return http_error(r, 503, "Service temporarily unavailable");
}

/*
 * Read the user id into r->caller.user; must exist and be active.
 * Returns 0, 401 (unknown or disabled) or 503/507.
 */
static int
load_user(struct req *r, const char *id)
{
	int	rc = store_user_get(r->app->st, id, &r->caller.user);

	if (rc == STORE_NOTFOUND)
		return reject(r, 1);
	if (rc != 0)
		return store_fail(r, rc);
	if (!r->caller.user.is_active)
		return reject(r, 1);
	return 0;
}

/* 1 if the Authorization value h uses the Bearer scheme (any case). */
static int
is_bearer(const char *h)
{
	return strncasecmp(h, "Bearer", 6) == 0 &&
	    (h[6] == '\0' || h[6] == ' ' || h[6] == '\t');
}

/* The token of "Bearer <token>" (scheme any case, one or more spaces), or NULL. */
static const char *
bearer_token(const char *h)
{
	if (strncasecmp(h, "Bearer", 6) != 0 || h[6] != ' ')
		return NULL;
	h += 6;
	while (*h == ' ')
		h++;
	if (*h == '\0' || strlen(h) > BEARER_MAX || strpbrk(h, " \t") != NULL)
		return NULL;
	return h;
}

/* Copy a jti claim into r->caller.jti. 0, or -1 if it does not fit. */
static int
keep_jti(struct req *r, const char *jti)
{
	if (strlen(jti) > UUID_LEN)
		return -1;
	strcpy(r->caller.jti, jti);
	return 0;
}

/* The string claim name of claims, or NULL. Borrowed from claims. */
static const char *
claim_str(struct json_object *claims, const char *name)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(claims, name, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/*
 * A "teams" claim that is an array narrows the session to those team ids
 * (an empty array: public-only). Returns 0, or -1 for a non-string entry.
 */
static int
session_teams(struct req *r, struct json_object *claims)
{
	struct json_object	*t, *e;
	size_t			 i, n;

	if (!json_object_object_get_ex(claims, "teams", &t) ||
	    !json_object_is_type(t, json_type_array))
		return 0;
	r->caller.narrowed = 1;
	n = json_object_array_length(t);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(t, i);
		if (!json_object_is_type(e, json_type_string) ||
		    strlist_add(&r->caller.teams, json_object_get_string(e)) == -1)
			return -1;
	}
	return 0;
}

/*
 * A verified session JWT: jti not revoked (logout), user active, teams
 * narrowing. Returns 0 (caller filled), 401 or 503/507.
 */
static int
identify_session(struct req *r, struct json_object *claims)
{
	struct json_object	*exp;
	const char		*jti = claim_str(claims, "jti");
	const char		*sub = claim_str(claims, "sub");
	int			 rc, st;

	if (jti == NULL || sub == NULL || keep_jti(r, jti) == -1)
		return reject(r, 1);
	if ((rc = store_jti_revoked(r->app->st, jti)) < 0)
		return store_fail(r, rc);
	if (rc == 1)
		return reject(r, 1);
	if ((st = load_user(r, sub)) != 0)
		return st;
	if (session_teams(r, claims) == -1)
		return reject(r, 1);
	if (json_object_object_get_ex(claims, "exp", &exp))
		r->caller.exp_ms = json_object_get_int64(exp) * 1000;
	r->caller.kind = CALLER_SESSION;
	return 0;
}

/*
 * A verified API-token JWT: the catalog record of its jti must exist, hold
 * the SHA-256 of exactly this token, be live now, and belong to sub, whose
 * user must be active. A team token's team is kept as the caller's narrowing.
 * Returns 0 (caller filled, record in r->caller.token), 401 or 503/507.
 */
static int
identify_api(struct req *r, struct json_object *claims, const char *raw)
{
	char		 hash[SHA256_HEX + 1];
	const char	*jti = claim_str(claims, "jti");
	const char	*sub = claim_str(claims, "sub");
	struct token	*t = &r->caller.token;
	int		 rc, st;

	if (jti == NULL || sub == NULL || keep_jti(r, jti) == -1)
		return reject(r, 1);
	if ((rc = store_token_by_jti(r->app->st, jti, t)) == STORE_NOTFOUND)
		return reject(r, 1);
	if (rc != 0)
		return store_fail(r, rc);
	util_sha256_hex(raw, strlen(raw), hash);
	if (!util_ct_eq(hash, t->hash, SHA256_HEX) ||
	    !token_live(t, util_now_ms()) || strcmp(t->owner_id, sub) != 0)
		return reject(r, 1);
	if ((st = load_user(r, t->owner_id)) != 0)
		return st;
	if (t->team_id[0] != '\0') {
		r->caller.narrowed = 1;
		if (strlist_add(&r->caller.teams, t->team_id) == -1)
			return store_fail(r, STORE_NOMEM);
	}
	r->caller.kind = CALLER_API_TOKEN;
	return 0;
}

/*
 * Verify a bearer token (signature, alg, iss, aud, exp, required claims)
 * and dispatch on token_use. Returns 0, 401 or 503/507.
 */
static int
identify_bearer(struct req *r, const char *raw)
{
	const struct app	*a = r->app;
	struct json_object	*claims = NULL;
	const char		*use;
	int			 rc, st;

	rc = jws_verify(&a->key, raw, a->cfg.issuer, a->cfg.audience, NULL,
	    util_now_ms() / 1000, &claims);
	if (rc != JWS_OK) {
		log_debug("req=%s: bearer token refused: %s", r->id,
		    jws_strerror(rc));
		st = reject(r, 1);
		goto out;
	}
	use = claim_str(claims, "token_use");
	if (use != NULL && strcmp(use, "session") == 0)
		st = identify_session(r, claims);
	else if (use != NULL && strcmp(use, "api") == 0)
		st = identify_api(r, claims, raw);
	else
		st = reject(r, 1);
out:
	json_object_put(claims);
	return st;
}

/*
 * REMOTE_USER set by a trusted web server: the user with that e-mail must
 * exist and be active. Returns 0, 401 or 503/507.
 */
static int
identify_remote(struct req *r, const char *email)
{
	int	rc = store_user_by_email(r->app->st, email, &r->caller.user);

	if (rc == STORE_NOTFOUND)
		return reject(r, 0);
	if (rc != 0)
		return store_fail(r, rc);
	if (!r->caller.user.is_active)
		return reject(r, 0);
	r->caller.kind = CALLER_REMOTE_USER;
	return 0;
}

/*
 * Identify the caller of r (see auth.h). r->caller must be zeroed (as in a
 * fresh struct req). A Bearer Authorization wins; REMOTE_USER counts only
 * with trust_remote_user, and then a non-Bearer Authorization (the web
 * server's own Basic login) is left to the web server. Returns 0 (kind may
 * be CALLER_NONE), 401 with r->out and WWW-Authenticate set, or 503/507 on
 * a store failure.
 */
int
auth_identify(struct req *r)
{
	const char	*h, *tok, *ru;

	r->caller.kind = CALLER_NONE;
	h = http_param(r, "HTTP_AUTHORIZATION");
	tok = h != NULL ? bearer_token(h) : NULL;
	ru = r->app->cfg.trust_remote_user ? http_param(r, "REMOTE_USER") : NULL;
	if (ru != NULL && *ru == '\0')
		ru = NULL;
	if (tok != NULL)
		return identify_bearer(r, tok);
	if (ru != NULL && (h == NULL || !is_bearer(h)))
		return identify_remote(r, ru);
	if (h != NULL)
		return reject(r, 1);
	return 0;
}

/* The auth_method name of the caller's kind, NULL for CALLER_NONE. */
const char *
caller_method(const struct caller *c)
{
	switch (c->kind) {
	case CALLER_SESSION:
		return "jwt";
	case CALLER_REMOTE_USER:
		return "remote_user";
	case CALLER_API_TOKEN:
		return "api_token";
	default:
		return NULL;
	}
}

/* 1 if an identified caller's user is an admin (read from the store). */
int
caller_is_admin(const struct caller *c)
{
	return c->kind != CALLER_NONE && c->user.is_admin;
}

/* 1 if an admin whose session is not narrowed to teams. */
int
caller_unnarrowed_admin(const struct caller *c)
{
	return caller_is_admin(c) && !c->narrowed;
}

/* Free what c owns (teams, token record) and reset it to CALLER_NONE. */
void
caller_free(struct caller *c)
{
	if (c == NULL)
		return;
	strlist_free(&c->teams);
	token_free(&c->token);
	memset(c, 0, sizeof(*c));
}

/* The claims of a new session for u (API.md 3.1) without iss/aud, or NULL. */
static struct json_object *
session_claims(const struct user *u, const struct strlist *teams,
    int64_t now, unsigned minutes)
{
	struct json_object	*c, *arr = NULL;
	char			 jti[UUID_LEN + 1];
	size_t			 i;

	if (util_uuid4(jti) == -1 || (c = json_object_new_object()) == NULL)
		return NULL;
	js_add_str(c, "sub", u->id);
	js_add_str(c, "jti", jti);
	js_add_int(c, "iat", now);
	js_add_int(c, "exp", now + (int64_t)minutes * 60);
	js_add_str(c, "token_use", "session");
	js_add_str(c, "auth_provider", "local");
	if (teams != NULL) {
		if ((arr = json_object_new_array()) == NULL)
			goto fail;
		json_object_object_add(c, "teams", arr);
		for (i = 0; i < teams->n; i++)
			if (json_object_array_add(arr,
			    json_object_new_string(teams->v[i])) != 0)
				goto fail;
	}
	return c;
fail:
	json_object_put(c);
	return NULL;
}

/*
 * A signed session JWT for u, valid for minutes (>= 1); teams != NULL
 * narrows it. Returns a malloc'd JWT (caller frees) and *expires_in in
 * seconds, or NULL.
 */
char *
auth_session_token(const struct app *a, const struct user *u,
    const struct strlist *teams, unsigned minutes, unsigned *expires_in)
{
	struct json_object	*claims;
	char			*jwt;

	if (minutes == 0 || minutes > UINT32_MAX / 60)
		return NULL;
	if ((claims = session_claims(u, teams, util_now_ms() / 1000,
	    minutes)) == NULL)
		return NULL;
	jwt = jws_sign(&a->key, a->cfg.issuer, a->cfg.audience, claims);
	json_object_put(claims);
	if (jwt != NULL && expires_in != NULL)
		*expires_in = minutes * 60;
	return jwt;
}

void
caller_who(const struct caller *c, struct who *w)
{
	w->user_id = c->user.id;
	w->is_admin = c->user.is_admin;
	w->narrowed = c->narrowed;
	w->teams = &c->teams;
}
