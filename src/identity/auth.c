/*
 * auth.c - who is calling (API.md 3): a session JWT, an API-token JWT
 * checked against its catalog record, or REMOTE_USER from a trusted web
 * server. Admin status and activity are read from the store every time.
 * Plain inputs in, a code and a caller out: no request, no answer here.
 * Nothing here logs a token.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "auth.h"
#include "js.h"
#include "jws.h"
#include "log.h"
#include "policy.h"
#include "store.h"
#include "util.h"

int
auth_is_refusal(int err)
{
	return err <= AUTH_NONE && err >= AUTH_COOKIE;
}

const char *
auth_strerror(int err)
{
	switch (err) {
	case AUTH_NONE:
		return "Authorization token required";
	case AUTH_REVOKED:
		return "Token has been revoked";
	case AUTH_DISABLED:
		return "Account disabled";
	case AUTH_COOKIE:
		return "Cookie authentication not allowed for API requests. "
		    "Use Authorization header.";
	default:
		return "Invalid authentication credentials";
	}
}

const char *
auth_bearer(const char *h)
{
	if (h == NULL || strncasecmp(h, "Bearer", 6) != 0 || h[6] != ' ')
		return NULL;
	h += 6;
	while (*h == ' ')
		h++;
	if (*h == '\0' || strlen(h) > BEARER_MAX || strpbrk(h, " \t") != NULL)
		return NULL;
	return h;
}

/* 1 if the Authorization value h uses the Bearer scheme (any case). */
static int
is_bearer(const char *h)
{
	return strncasecmp(h, "Bearer", 6) == 0 &&
	    (h[6] == '\0' || h[6] == ' ' || h[6] == '\t');
}

/*
 * 1 if the Cookie header holds a credential: a cookie named jwt_token or
 * access_token, the names the reference API's page uses.
 */
static int
cookie_credential(const char *cookie)
{
	static const char *const names[] = { "jwt_token", "access_token" };
	const char *p;
	size_t i, n;

	for (p = cookie; p != NULL && *p != '\0'; p += strcspn(p, ";"),
	    p += *p == ';') {
		while (*p == ' ' || *p == '\t')
			p++;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			n = strlen(names[i]);
			if (strncmp(p, names[i], n) == 0 && p[n] == '=')
				return 1;
		}
	}
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
 * Read user id into u: AUTH_INVALID when unknown, AUTH_DISABLED when
 * disabled, else AUTH_OK or a STORE_* error.
 */
static int
active_user(const struct app *a, const char *id, struct user *u)
{
	int	rc = store_user_get(a->st, id, u);

	if (rc == STORE_NOTFOUND || rc == STORE_INVALID)
		return AUTH_INVALID;
	if (rc != 0)
		return rc;
	return u->is_active ? AUTH_OK : AUTH_DISABLED;
}

/*
 * A "teams" claim that is an array narrows the session to those team ids
 * (an empty array: public-only). Returns 0, or -1 for a non-string entry.
 */
static int
session_teams(struct caller *c, struct json_object *claims)
{
	struct json_object	*t, *e;
	size_t			 i, n;

	if (!json_object_object_get_ex(claims, "teams", &t) ||
	    !json_object_is_type(t, json_type_array))
		return 0;
	c->narrowed = 1;
	n = json_object_array_length(t);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(t, i);
		if (!json_object_is_type(e, json_type_string) ||
		    strlist_add(&c->teams, json_object_get_string(e)) == -1)
			return -1;
	}
	return 0;
}

/*
 * A verified session JWT: jti not revoked (logout), user active, teams
 * narrowing. Returns AUTH_OK (c filled), a refusal or a STORE_* error.
 */
static int
identify_session(const struct app *a, struct json_object *claims,
    struct caller *c)
{
	struct json_object	*exp;
	const char		*jti = claim_str(claims, "jti");
	const char		*sub = claim_str(claims, "sub");
	int			 rc;

	if (jti == NULL || sub == NULL || strlen(jti) > UUID_LEN)
		return AUTH_INVALID;
	strcpy(c->jti, jti);
	if ((rc = store_jti_revoked(a->st, jti)) < 0)
		return rc;
	if (rc == 1)
		return AUTH_REVOKED;
	if ((rc = active_user(a, sub, &c->user)) != AUTH_OK)
		return rc;
	if (session_teams(c, claims) == -1)
		return AUTH_INVALID;
	if (json_object_object_get_ex(claims, "exp", &exp))
		c->exp_ms = json_object_get_int64(exp) * 1000;
	c->kind = CALLER_SESSION;
	return AUTH_OK;
}

/*
 * The catalog part of auth_api_token: the record of the verified claims'
 * jti, its owner and the owner's team role, read together
 * (store_token_auth: one snapshot). Returns AUTH_OK, a refusal or a
 * STORE_* error.
 */
static int
api_record(const struct app *a, int64_t now, struct api_token *t)
{
	struct token_auth	 ta;
	char			 hash[SHA256_HEX + 1];
	const char		*jti = claim_str(t->claims, "jti");
	const char		*sub = claim_str(t->claims, "sub");
	int			 rc;

	if (jti == NULL || sub == NULL)
		return AUTH_INVALID;
	rc = store_token_auth(a->st, jti, &ta);
	if (rc == STORE_NOTFOUND || rc == STORE_INVALID)
		return AUTH_INVALID;
	if (rc != 0)
		return rc;
	util_hex(t->sha256, sizeof(t->sha256), hash);
	if (!util_ct_eq(hash, ta.tok.hash, SHA256_HEX) ||
	    strcmp(ta.tok.owner_id, sub) != 0) {
		token_free(&ta.tok);
		return AUTH_INVALID;    /* not this token's record: no use */
	}
	t->tok = ta.tok;                /* moved */
	t->have_tok = 1;
	t->owner = ta.owner;
	t->have_owner = ta.have_owner;
	t->team_role = ta.team_role;
	if (t->tok.is_revoked)
		return AUTH_REVOKED;
	if (!token_live(&t->tok, now) || !t->have_owner)
		return AUTH_INVALID;
	return t->owner.is_active ? AUTH_OK : AUTH_DISABLED;
}

int
auth_api_token(const struct app *a, const char *raw, int64_t now,
    struct api_token *t)
{
	const char	*use;
	int		 rc;

	t->team_role = ROLE_NONE;
	rc = jws_verify_digest(&a->key, raw, a->cfg.issuer, a->cfg.audience,
	    NULL, now / 1000, &t->claims, t->sha256);
	if (rc != JWS_OK) {
		log_debug("bearer token refused: %s", jws_strerror(rc));
		return AUTH_INVALID;    /* whatever failed, never a 5xx for it */
	}
	use = claim_str(t->claims, "token_use");
	if (use == NULL || strcmp(use, "api") != 0)
		return AUTH_INVALID;
	return api_record(a, now, t);
}

void
api_token_free(struct api_token *t)
{
	if (t == NULL)
		return;
	json_object_put(t->claims);
	token_free(&t->tok);
	memset(t, 0, sizeof(*t));
}

/*
 * An API token as a management caller (/auth/me, /auth/introspect), its
 * claims verified into t: the catalog checks of auth_api_token, then the
 * record and owner move into c.
 */
static int
identify_api(const struct app *a, struct api_token *t, int64_t now,
    struct caller *c)
{
	int rc;

	if ((rc = api_record(a, now, t)) != AUTH_OK)
		return rc;
	memcpy(c->jti, t->tok.jti, sizeof(c->jti));
	c->user = t->owner;
	c->token = t->tok;
	memset(&t->tok, 0, sizeof(t->tok));     /* moved */
	c->team_role = t->team_role;
	if (c->token.team_id[0] != '\0') {
		c->narrowed = 1;
		if (strlist_add(&c->teams, c->token.team_id) == -1)
			return STORE_NOMEM;
	}
	c->kind = CALLER_API_TOKEN;
	return AUTH_OK;
}

/*
 * A bearer token: verified once (signature, alg, iss, aud, exp, claims),
 * then by token_use a session or an API token.
 */
static int
identify_bearer(const struct app *a, const char *raw, int64_t now,
    struct caller *c)
{
	struct api_token	 t;
	const char		*use;
	int			 rc;

	memset(&t, 0, sizeof(t));
	rc = jws_verify_digest(&a->key, raw, a->cfg.issuer, a->cfg.audience,
	    NULL, now / 1000, &t.claims, t.sha256);
	if (rc != JWS_OK) {
		log_debug("bearer token refused: %s", jws_strerror(rc));
		return AUTH_INVALID;    /* whatever failed, never a 5xx for it */
	}
	use = claim_str(t.claims, "token_use");
	if (use != NULL && strcmp(use, "session") == 0)
		rc = identify_session(a, t.claims, c);
	else if (use != NULL && strcmp(use, "api") == 0)
		rc = identify_api(a, &t, now, c);
	else
		rc = AUTH_INVALID;
	api_token_free(&t);
	return rc;
}

/*
 * REMOTE_USER set by a trusted web server: the user with that e-mail must
 * exist (else AUTH_INVALID) and be active (else AUTH_DISABLED).
 */
static int
identify_remote(const struct app *a, const char *email, struct caller *c)
{
	int	rc = store_user_by_email(a->st, email, &c->user);

	if (rc == STORE_NOTFOUND || rc == STORE_INVALID)
		return AUTH_INVALID;
	if (rc != 0)
		return rc;
	if (!c->user.is_active)
		return AUTH_DISABLED;
	c->kind = CALLER_REMOTE_USER;
	return AUTH_OK;
}

int
auth_identify(const struct app *a, const struct credentials *cr, int64_t now,
    struct caller *c)
{
	const char	*h = cr->authorization, *tok, *ru = NULL;
	int		 rc;

	c->kind = CALLER_NONE;
	tok = auth_bearer(h);
	if (a->cfg.trust_remote_user && cr->remote_user != NULL &&
	    *cr->remote_user != '\0')
		ru = cr->remote_user;
	if (tok != NULL)
		rc = identify_bearer(a, tok, now, c);
	else if (ru != NULL && (h == NULL || !is_bearer(h)))
		rc = identify_remote(a, ru, c);
	else if (h != NULL)
		rc = AUTH_INVALID;
	else
		rc = cookie_credential(cr->cookie) ? AUTH_COOKIE : AUTH_OK;
	if (rc != AUTH_OK)
		caller_free(c);
	return rc;
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
