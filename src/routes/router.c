/*
 * router.c - the route table and the one place that checks what a route
 * requires: 404, 405 + Allow, 401/403 for the caller, 413/415/400/422 for
 * the body. Handlers run only after every flag of their row holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "router.h"
#include "handlers.h"
#include "http.h"
#include "js.h"
#include "log.h"
#include "util.h"

#define SEG_MAX		16      /* more path segments than any pattern: 404 */
#define CAPTURE_MAX	PATH_MAX_LEN    /* longest {x} segment */

#define MSG_API_TOKEN	"Token management requires an interactive session " \
	"(JWT from web login or SSO). API tokens cannot create, list, or " \
	"revoke other tokens."

static const struct route routes[] = {
	{ "GET",    "/health",           h_health,       0 },
	{ "POST",   "/auth/login",       h_login,        RF_BODY },
	{ "POST",   "/auth/email/login", h_login,        RF_BODY },
	{ "POST",   "/auth/logout",      h_logout,       RF_SESSION },
	{ "GET",    "/auth/me",          h_me,           RF_AUTH },
	{ "GET",    "/auth/check",       h_auth_check,   0 },
	{ "POST",   "/auth/introspect",  h_introspect,   RF_AUTH | RF_BODY | RF_FORM },
	{ "POST",   "/auth/revoke",      h_auth_revoke,  RF_BODY | RF_FORM },
	{ "GET",    "/tokens",           h_token_list,   RF_SESSION },
	{ "POST",   "/tokens",           h_token_create, RF_SESSION | RF_BODY },
	{ "GET",    "/tokens/teams/{team}", h_token_team_list, RF_SESSION },
	{ "POST",   "/tokens/teams/{team}", h_token_create_team, RF_SESSION | RF_BODY },
	{ "GET",    "/tokens/admin/all", h_admin_tokens, RF_ADMIN },
	{ "GET",    "/tokens/admin/audit", h_admin_audit, RF_ADMIN },
	{ "DELETE", "/tokens/admin/{id}", h_admin_revoke, RF_ADMIN | RF_OPTBODY },
	{ "GET",    "/admin/users",      h_admin_users,  RF_ADMIN },
	{ "POST",   "/admin/users",      h_admin_user_create, RF_ADMIN | RF_BODY },
	{ "PATCH",  "/admin/users/{email}", h_admin_user_update, RF_ADMIN | RF_BODY },
	{ "GET",    "/tokens/{id}",      h_token_get,    RF_SESSION },
	{ "PUT",    "/tokens/{id}",      h_token_update, RF_SESSION | RF_BODY },
	{ "DELETE", "/tokens/{id}",      h_token_revoke, RF_SESSION | RF_OPTBODY },
	{ "GET",    "/tokens/{id}/usage", h_token_usage, RF_SESSION },
	{ "POST",   "/tokens/{id}/rotate", h_token_rotate, RF_SESSION | RF_OPTBODY },
	{ "GET",    "/teams",            h_team_list,    RF_SESSION },
	{ "POST",   "/teams",            h_team_create,  RF_SESSION | RF_BODY },
	{ "GET",    "/teams/invitations", h_my_invitations, RF_SESSION },
	{ "POST",   "/teams/invitations/{team}/accept", h_invitation_accept, RF_SESSION },
	{ "POST",   "/teams/invitations/{team}/decline", h_invitation_decline, RF_SESSION },
	{ "GET",    "/teams/{id}",       h_team_get,     RF_SESSION },
	{ "GET",    "/teams/{id}/members", h_team_members, RF_SESSION },
	{ "POST",   "/teams/{id}/members", h_team_member_add, RF_SESSION | RF_BODY },
	{ "DELETE", "/teams/{id}/members/{email}", h_team_member_remove, RF_SESSION },
	{ "GET",    "/teams/{id}/invitations", h_team_invitations, RF_SESSION },
	{ "DELETE", "/teams/{id}/invitations/{email}", h_team_invitation_withdraw,
	    RF_SESSION },
};
#define NROUTES	(sizeof(routes) / sizeof(routes[0]))

/*
 * Next '/'-separated segment of *p (which points at a '/' or at the end).
 * Returns 1 with the segment in *s, *n and *p advanced, or 0 at the end.
 */
static int
next_seg(const char **p, const char **s, size_t *n)
{
	if (**p != '/')
		return 0;
	*s = *p + 1;
	*n = strcspn(*s, "/");
	*p = *s + *n;
	return 1;
}

/*
 * Match path against pattern. Returns -1 if it does not match, else a rank:
 * bit (SEG_MAX - 1 - i) set when segment i is a literal, so that comparing
 * ranks compares literal positions left to right (literal beats capture).
 */
#define RANKS_MAX 128   /* ranks kept between router_match_in's two passes */

static long
pattern_rank(const char *pattern, const char *path)
{
	const char	*pp = pattern, *tp = path, *ps, *ts;
	size_t		 pn, tn, i = 0;
	long		 rank = 0;
	int		 more;

	while ((more = next_seg(&pp, &ps, &pn)) == next_seg(&tp, &ts, &tn)) {
		if (!more)
			return rank;
		if (i >= SEG_MAX)
			return -1;
		if (!(pn > 0 && ps[0] == '{')) {
			if (pn != tn || memcmp(ps, ts, pn) != 0)
				return -1;
			rank |= 1L << (SEG_MAX - 1 - i);
		}
		i++;
	}
	return -1;                      /* segment counts differ */
}

/*
 * A copy of one captured path segment. The path is canonical already
 * (upath_canon decoded it exactly once), so nothing is decoded here: a
 * '%' in a capture is a '%'. Returns a malloc'd string (caller frees), or
 * NULL when the segment is empty or longer than CAPTURE_MAX bytes.
 */
static char *
seg_copy(const char *s, size_t n)
{
	if (n == 0 || n > CAPTURE_MAX)
		return NULL;
	return strndup(s, n);
}

/*
 * Fill params with the capture segments of path under pattern.
 * Returns 0, or -1 (params freed, *nparams 0) when one is rejected.
 */
static int
capture(const char *pattern, const char *path, char **params, size_t *nparams)
{
	const char	*pp = pattern, *tp = path, *ps, *ts;
	size_t		 pn, tn;

	*nparams = 0;
	while (next_seg(&pp, &ps, &pn) && next_seg(&tp, &ts, &tn)) {
		if (!(pn > 0 && ps[0] == '{'))
			continue;
		if (*nparams >= PARAM_MAX ||
		    (params[*nparams] = seg_copy(ts, tn)) == NULL)
			goto bad;
		(*nparams)++;
	}
	return 0;
bad:
	while (*nparams > 0)
		free(params[--*nparams]);
	return -1;
}

/* Append method to allow ("A, B"), unless it is already listed. */
static void
allow_add(char *allow, size_t allowsz, const char *method)
{
	const char	*p;
	size_t		 n = strlen(method), used = strlen(allow);

	for (p = allow; (p = strstr(p, method)) != NULL; p += n)
		if ((p == allow || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ','))
			return;
	snprintf(allow + used, allowsz - used, "%s%s", used > 0 ? ", " : "",
	    method);
}

/*
 * Find the route for method and path in tab[0..n) (see router.h): the
 * best-ranked matching pattern wins; its row for method, or 405 with the
 * methods of that pattern in allow; no pattern: 404. params are owned by
 * the caller.
 */
const struct route *
router_match_in(const struct route *tab, size_t n, const char *method,
    const char *path, char **params, size_t *nparams, int *status,
    char *allow, size_t allowsz)
{
	const struct route	*hit = NULL;
	long			 rank[RANKS_MAX], best = -1, rk;
	size_t			 i;

	*nparams = 0;
	if (allowsz > 0)
		allow[0] = '\0';
	for (i = 0; i < n; i++) {
		rk = pattern_rank(tab[i].pattern, path);
		if (i < RANKS_MAX)
			rank[i] = rk;
		if (rk > best)
			best = rk;
	}
	*status = 404;
	if (best < 0)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((i < RANKS_MAX ? rank[i] : pattern_rank(tab[i].pattern,
		    path)) != best)
			continue;
		if (allowsz > 0)
			allow_add(allow, allowsz, tab[i].method);
		if (hit == NULL && strcmp(tab[i].method, method) == 0)
			hit = &tab[i];
	}
	if (hit == NULL) {
		*status = 405;
		return NULL;
	}
	if (capture(hit->pattern, path, params, nparams) == -1)
		return NULL;            /* *status is 404 */
	*status = 200;
	return hit;
}

/*
 * router_match_in over the built-in route table. The last path that found
 * a route is remembered with it: a worker behind an enforcement point sees
 * the same path again and again, and then only its captures are copied.
 */
const struct route *
router_match(const char *method, const char *path, char **params,
    size_t *nparams, int *status, char *allow, size_t allowsz)
{
	static struct {
		const struct route	*hit;
		char			 method[16];
		char			 path[256];
	} last;
	const struct route *hit;

	if (last.hit != NULL && strcmp(last.path, path) == 0 &&
	    strcmp(last.method, method) == 0) {
		*nparams = 0;
		if (allowsz > 0)
			allow[0] = '\0';
		*status = 404;
		if (capture(last.hit->pattern, path, params, nparams) == -1)
			return NULL;
		*status = 200;
		return last.hit;
	}
	hit = router_match_in(routes, NROUTES, method, path, params, nparams,
	    status, allow, allowsz);
	if (hit != NULL && strlen(method) < sizeof(last.method) &&
	    strlen(path) < sizeof(last.path)) {
		memcpy(last.method, method, strlen(method) + 1);
		memcpy(last.path, path, strlen(path) + 1);
		last.hit = hit;
	}
	return hit;
}

/* 1 if r already has a response header called name (case-insensitive). */
static int
has_header(const struct req *r, const char *name)
{
	size_t	i;

	for (i = 0; i < r->nhdrs; i++)
		if (strcasecmp(r->hdrs[i].name, name) == 0)
			return 1;
	return 0;
}

/*
 * 1 if a request says it comes from another site: Sec-Fetch-Site is
 * "cross-site" or "same-site" (a sibling host is another origin too), or
 * Origin is present and is not this host (HTTP_HOST), "null" included.
 * A request with neither header (curl, scripts) is not cross-site.
 */
static int
cross_site(const struct req *r)
{
	const char	*site = http_param(r, "HTTP_SEC_FETCH_SITE");
	const char	*origin = http_param(r, "HTTP_ORIGIN");
	const char	*host = http_param(r, "HTTP_HOST"), *h;

	if (site != NULL && (strcmp(site, "cross-site") == 0 ||
	    strcmp(site, "same-site") == 0))
		return 1;
	if (origin == NULL)
		return 0;
	if ((h = strstr(origin, "://")) == NULL || host == NULL)
		return 1;
	return strcasecmp(h + 3, host) != 0;
}

/*
 * Check the caller against the route flags: identify (an AUTH_* refusal or
 * a store failure answered by h_fail), none -> 401, API token on a session
 * route -> 403, admin rules. A web-server login (REMOTE_USER) has no token
 * a page must present, so a state-changing request of it that says it is
 * cross-site is refused (403): no cross-site request forgery.
 * Returns 0 or the status with r->out set.
 */
static int
check_caller(struct req *r, unsigned flags)
{
	const struct credentials cr = {
		http_param(r, "HTTP_AUTHORIZATION"),
		http_param(r, "REMOTE_USER"),
		http_param(r, "HTTP_COOKIE")
	};
	int	rc;

	if ((rc = auth_identify(r->app, &cr, util_now_ms(), r->caller)) != 0)
		return h_fail(r, rc);
	if (r->caller->kind == CALLER_NONE)
		return h_fail(r, AUTH_NONE);
	if ((flags & (RF_SESSION | RF_ADMIN)) &&
	    r->caller->kind == CALLER_API_TOKEN)
		return http_error(r, 403, "%s", MSG_API_TOKEN);
	if (r->caller->kind == CALLER_REMOTE_USER &&
	    strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0 &&
	    cross_site(r))
		return http_error(r, 403, "Cross-site request refused for a "
		    "web-server login (Origin or Sec-Fetch-Site)");
	if (flags & RF_ADMIN) {
		if (!caller_is_admin(r->caller))
			return http_error(r, 403, "Admin access required");
		if (!caller_unnarrowed_admin(r->caller))
			return http_error(r, 403, "Token oversight requires "
			    "un-narrowed admin access");
	}
	return 0;
}

/* 1 if the media type of ct (before any ';' parameters) is type. */
static int
media_is(const char *ct, const char *type)
{
	size_t	n = strlen(type);

	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, type, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* 1 if body is the JSON document null: valid JSON but not an object (422). */
static int
is_null_doc(const char *body)
{
	while (*body == ' ' || *body == '\t' || *body == '\r' || *body == '\n')
		body++;
	if (strncmp(body, "null", 4) != 0)
		return 0;
	for (body += 4; *body == ' ' || *body == '\t' || *body == '\r' ||
	    *body == '\n'; body++)
		;
	return *body == '\0';
}

/*
 * Read and check the body of a route that takes one: 413, 415, 400
 * (empty where required, unreadable, invalid JSON), 422 (not an object).
 * A body must say what it is: application/json (parsed into r->json), or
 * on a RF_FORM route application/x-www-form-urlencoded (left in r->body
 * for the handler). Any other type, or none, is 415: an untyped body is
 * what a cross-site form or Blob sends without a CORS preflight.
 */
static int
check_body(struct req *r, unsigned flags)
{
	char			 detail[DETAIL_MAX];
	const char		*ct = r->content_type;
	int			 is_json = ct != NULL && media_is(ct, "application/json");
	int			 is_form = ct != NULL && (flags & RF_FORM) &&
				     media_is(ct, "application/x-www-form-urlencoded");
	int			 st;
	struct json_object	*o;

	if (r->body_too_large)
		return http_error(r, 413, "Request body too large");
	if (!is_json && !is_form && (r->content_length > 0 || (flags & RF_BODY)))
		return http_error(r, 415, "Content-Type must be application/json");
	if ((st = http_read_body(r, r->app->cfg.max_body_bytes)) != 0)
		return st;
	if (r->bodylen == 0) {
		if (flags & RF_BODY)
			return http_error(r, 400, "Request body required");
		return 0;
	}
	if (!is_json && !is_form)       /* a body sent without a length */
		return http_error(r, 415, "Content-Type must be application/json");
	if (is_form)
		return 0;
	if ((o = js_parse(r->body, r->bodylen, detail)) == NULL)
		return http_error(r, is_null_doc(r->body) ? 422 : 400, "%s",
		    is_null_doc(r->body) ? "body: must be a JSON object" : detail);
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return http_error(r, 422, "body: must be a JSON object");
	}
	r->json = o;
	return 0;
}

/* Run the handler; a status outside 100..599 is a bug: 500. */
static int
run_handler(struct req *r)
{
	const char	*reason;
	int		 st = r->route->fn(r);

	if (st < 100 || st > 599 || http_reason(st) == NULL) {
		log_error("req=%s: handler for %s %s returned %d", r->id,
		    r->route->method, r->route->pattern, st);
		return http_error(r, 500, "Internal server error");
	}
	if (st >= 400 && r->out == NULL) {
		reason = http_reason(st);
		return http_error(r, st, "%s", reason);
	}
	return st;
}

/*
 * Route r and run its handler after the checks of router.h, in order:
 * 404/405, caller, body. The Authorizer role never reaches the API routes:
 * every request it sees is a decision (h_authorizer).
 * Every 401 carries WWW-Authenticate. Returns the status, also in r->status.
 */
int
router_dispatch(struct req *r)
{
	struct caller	caller;
	char		allow[64];
	unsigned	flags;
	int		st;

	memset(&caller, 0, sizeof(caller));
	r->caller = &caller;

	if (r->io != NULL && r->io->role == ROLE_AUTHORIZER) {
		st = h_authorizer(r);   /* routes on REQUEST_URI itself */
		goto out;
	}
	r->route = router_match(r->method, r->path, r->params, &r->nparams,
	    &st, allow, sizeof(allow));
	if (r->route == NULL) {
		if (st == 405)
			http_add_header(r, "Allow", allow);
		st = http_error(r, st, st == 405 ? "Method not allowed" :
		    "Not found");
		goto out;
	}
	flags = r->route->flags;
	if ((flags & (RF_AUTH | RF_SESSION | RF_ADMIN)) &&
	    (st = check_caller(r, flags)) != 0)
		goto out;
	if ((flags & (RF_BODY | RF_OPTBODY | RF_FORM)) &&
	    (st = check_body(r, flags)) != 0)
		goto out;
	st = run_handler(r);
out:
	if (st == 401 && !has_header(r, "WWW-Authenticate"))
		h_challenge(r, 0);
	caller_free(&caller);
	r->caller = NULL;
	r->status = st;
	return st;
}
