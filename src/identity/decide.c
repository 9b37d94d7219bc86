/*
 * decide.c - the enforcement decision (API.md 7): no store, no I/O but the
 * zone files of a time window (scope.h).
 * Checks, in order: the token, its record and owner (401, as
 * auth_api_token found them) -> team membership (403) -> the request path
 * (403) -> IP (403) -> time window (403) -> server_id (403) -> permission
 * by the rule table, within the token's and its owner's (403) -> usage
 * limits (429).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "decide.h"
#include "js.h"

static void
set(struct verdict *v, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
set(struct verdict *v, int status, const char *fmt, ...)
{
	va_list ap;

	v->status = status;
	va_start(ap, fmt);
	vsnprintf(v->detail, sizeof(v->detail), fmt, ap);
	va_end(ap);
}

int
decide_path_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	if (n > 0 && prefix[n - 1] == '/')
		return strncmp(path, prefix, n) == 0 || (strncmp(path, prefix, n - 1) == 0 &&
		    path[n - 1] == '\0');
	return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* 1 if addr parses and lies in one of the nets. */
static int
in_nets(const struct ipnet *nets, size_t n, const struct ipnet *addr)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (scope_ipnet_contains(&nets[i], addr))
			return 1;
	return 0;
}

void
decide_client(const struct config *cfg, const char *remote, const char *xff,
    char out[ADDR_MAX])
{
	struct ipnet a;
	const char *end, *seg, *start;
	char hop[ADDR_MAX];
	size_t len;

	snprintf(out, ADDR_MAX, "%s", remote != NULL ? remote : "");
	if (xff == NULL || cfg->ntrusted_proxies == 0 || scope_addr_parse(out, &a) == -1 ||
	    !in_nets(cfg->trusted_proxies, cfg->ntrusted_proxies, &a))
		return;
	/*
	 * Walk X-Forwarded-For from the right, skipping trusted proxies: seg
	 * is the entry after its ',', start the same without leading blanks;
	 * the next entry ends at that ',' (seg - 1), whatever the blanks.
	 */
	for (end = xff + strlen(xff); end > xff; end = seg - 1) {
		for (seg = end; seg > xff && seg[-1] != ','; seg--)
			;
		start = seg;
		while (start < end && (*start == ' ' || *start == '\t'))
			start++;
		len = (size_t)(end - start);
		while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= ADDR_MAX)
			return;                 /* malformed: keep the proxy's address */
		memcpy(hop, start, len);
		hop[len] = '\0';
		if (scope_addr_parse(hop, &a) == -1)
			return;
		snprintf(out, ADDR_MAX, "%s", hop);
		if (!in_nets(cfg->trusted_proxies, cfg->ntrusted_proxies, &a))
			return;
		if (seg == xff)
			return;
	}
}

static struct json_object *
scope_get(const struct token *t, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(t->scope, key, &v);
	return v;
}

int
decide_caps(const struct token *tok, uint32_t cap[WIN__MAX])
{
	struct limits l;
	char detail[DETAIL_MAX];

	memset(cap, 0, WIN__MAX * sizeof(*cap));
	if (tok == NULL || scope_limits_parse(scope_get(tok, "usage_limits"), &l, detail) == -1)
		return 0;
	cap[WIN_MINUTE] = l.per_minute;
	cap[WIN_HOUR] = l.per_hour;
	cap[WIN_DAY] = l.per_day;
	return (cap[WIN_MINUTE] | cap[WIN_HOUR] | cap[WIN_DAY]) != 0;
}

/*
 * The token (as auth_api_token found it: AUTH_OK or the refusal, 401) and
 * its owner's membership of the token's team (403). 0 when both hold.
 */
static int
check_identity(const struct decide_in *in, struct verdict *v)
{
	v->record = in->tok != NULL;
	if (in->auth != AUTH_OK || in->tok == NULL || in->owner == NULL) {
		v->auth = in->auth != AUTH_OK ? in->auth : AUTH_INVALID;
		set(v, 401, "%s", auth_strerror(v->auth));
		return -1;
	}
	if (in->tok->team_id[0] != '\0' && in->team_role == ROLE_NONE) {
		set(v, 403, "Token owner is no longer a member of the token's team");
		return -1;
	}
	return 0;
}

/* The request path, when upath_canon refused it: 403 naming it. */
static int
check_path(const struct decide_in *in, struct verdict *v)
{
	if (in->path_refused == NULL)
		return 0;
	set(v, 403, "Request path refused: %.150s (%s)",
	    in->shown_path != NULL ? in->shown_path : "", in->path_refused);
	return -1;
}

/* Step 5: the client address against ip_restrictions. */
static int
check_ip(const struct decide_in *in, struct verdict *v)
{
	struct json_object *list = scope_get(in->tok, "ip_restrictions");
	struct ipnet net, addr;
	size_t i, n = list != NULL ? json_object_array_length(list) : 0;

	if (n == 0)
		return 0;
	if (scope_addr_parse(v->client, &addr) == 0)
		for (i = 0; i < n; i++)
			if (scope_ipnet_parse(json_object_get_string(
			    json_object_array_get_idx(list, i)), &net) == 0 &&
			    scope_ipnet_contains(&net, &addr))
				return 0;
	set(v, 403, "Token is not valid from this address");
	return -1;
}

/* Step 6: the time window. */
static int
check_time(const struct decide_in *in, struct verdict *v)
{
	struct timewin tw;
	char detail[DETAIL_MAX];

	if (scope_timewin_parse(scope_get(in->tok, "time_restrictions"), &tw, detail) == 0 &&
	    scope_timewin_allows(&tw, (time_t)(in->now / 1000)))
		return 0;
	set(v, 403, "Token is not valid at this time");
	return -1;
}

/* Step 7: a server-bound token stays under /servers/<id> and the allowed paths. */
static int
check_server(const struct config *cfg, const struct decide_in *in, struct verdict *v)
{
	struct json_object *sid = scope_get(in->tok, "server_id");
	char prefix[300];
	size_t i;

	if (sid == NULL || in->path == NULL)
		return 0;
	snprintf(prefix, sizeof(prefix), "/servers/%s", json_object_get_string(sid));
	if (decide_path_under(in->path, prefix))
		return 0;
	for (i = 0; i < cfg->server_scope_allow.n; i++)
		if (decide_path_under(in->path, cfg->server_scope_allow.v[i]))
			return 0;
	set(v, 403, "Token is restricted to server %.200s", json_object_get_string(sid));
	return -1;
}

/* The most specific rule for the request, or NULL. */
static const struct rule *
find_rule(const struct config *cfg, const char *method, const char *path)
{
	const struct rule *best = NULL;
	size_t i;

	for (i = 0; i < cfg->nrules; i++) {
		const struct rule *r = &cfg->rules[i];

		if ((strcmp(r->method, "*") == 0 || strcmp(r->method, method) == 0) &&
		    decide_path_under(path, r->prefix) &&
		    (best == NULL || strlen(r->prefix) > strlen(best->prefix)))
			best = r;
	}
	return best;
}

/* The owner's current effective permissions in the token's team context. */
static int
owner_grants(const struct config *cfg, const struct user *owner, int role,
    const char *perm)
{
	if (owner->is_admin)
		return 1;
	return scope_perms_grant(&cfg->user_permissions, perm) ||
	    (role != ROLE_NONE &&
	    scope_perms_grant(&cfg->team_member_permissions, perm)) ||
	    (role == ROLE_OWNER &&
	    scope_perms_grant(&cfg->team_owner_permissions, perm));
}

/* 1 if the token has a non-empty permission list. */
static int
restricted(const struct token *tok)
{
	struct json_object *p = scope_get(tok, "permissions");

	return p != NULL && json_object_array_length(p) > 0;
}

int
decide_token_grants(const struct config *cfg, const struct token *tok,
    const struct user *owner, int team_role, const char *perm)
{
	struct json_object *perms = scope_get(tok, "permissions");
	size_t i, n = perms != NULL ? json_object_array_length(perms) : 0;

	if (!owner_grants(cfg, owner, team_role, perm))
		return 0;
	if (n == 0)
		return 1;
	for (i = 0; i < n; i++)
		if (scope_perm_grants(json_object_get_string(
		    json_object_array_get_idx(perms, i)), perm))
			return 1;
	return 0;
}

/*
 * Step 8: the rule table; restricted tokens are denied without a rule. The
 * rule's permission must be held by the token and, now, by its owner: a
 * demoted owner's "*" token shrinks with the owner.
 */
static int
check_permission(const struct config *cfg, const struct decide_in *in, struct verdict *v)
{
	const struct rule *r;

	if ((r = find_rule(cfg, in->method, in->path)) == NULL) {
		if (!restricted(in->tok))
			return 0;
		set(v, 403, "No rule grants this request to a restricted token");
		return -1;
	}
	if (decide_token_grants(cfg, in->tok, in->owner, in->team_role, r->perm))
		return 0;
	if (!owner_grants(cfg, in->owner, in->team_role, r->perm))
		set(v, 403, "Token owner no longer holds permission '%.200s'", r->perm);
	else
		set(v, 403, "Token lacks permission '%.200s' for this request", r->perm);
	return -1;
}

/* Step 9: usage limits over the sliding windows. */
static int
check_limits(const struct decide_in *in, struct verdict *v)
{
	static const char *const per[WIN__MAX] = { "minute", "hour", "day" };
	uint32_t cap[WIN__MAX];
	int64_t wait;
	int i;

	decide_caps(in->tok, cap);
	for (i = 0; i < WIN__MAX; i++) {
		if (cap[i] == 0 || in->used[i] < cap[i])
			continue;
		wait = in->frees_at[i] - in->now;
		v->retry_after = wait > 0 ? (unsigned)((wait + 999) / 1000) : 1;
		set(v, 429, "Usage limit exceeded: %u requests per %s", cap[i], per[i]);
		return -1;
	}
	return 0;
}

void
decide(const struct config *cfg, const struct decide_in *in, struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	decide_client(cfg, in->remote_addr, in->xff, v->client);
	if (check_identity(in, v) == 0 &&
	    ((in->path == NULL && in->path_refused == NULL) ||
	    (check_path(in, v) == 0 && check_ip(in, v) == 0 &&
	    check_time(in, v) == 0 && check_server(cfg, in, v) == 0 &&
	    check_permission(cfg, in, v) == 0 &&
	    (!in->counted || check_limits(in, v) == 0))))
		set(v, 200, "Allowed");
}

void
decide_limits(const struct decide_in *in, struct verdict *v)
{
	if (v->status == 200)
		(void)check_limits(in, v);
}
