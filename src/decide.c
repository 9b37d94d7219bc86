/*
 * decide.c - the enforcement decision (API.md 7), pure: no I/O, no store.
 * Checks, in order: JWT (401) -> catalog record (401) -> owner (401) ->
 * team membership (403) -> IP (403) -> time window (403) -> server_id
 * (403) -> permission by the rule table (403) -> usage limits (429).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "decide.h"
#include "jws.h"
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

void
decide_caps(const struct token *tok, uint32_t cap[3])
{
	struct limits l;
	char detail[DETAIL_MAX];

	memset(cap, 0, 3 * sizeof(*cap));
	if (tok == NULL || scope_limits_parse(scope_get(tok, "usage_limits"), &l, detail) == -1)
		return;
	cap[0] = l.per_minute;
	cap[1] = l.per_hour;
	cap[2] = l.per_day;
}

/* Steps 1-4: the JWT, its catalog record and its owner. 0 when all hold. */
static int
check_identity(const struct decide_in *in, struct verdict *v)
{
	const struct token *t = in->tok;

	if (in->jws_rc != JWS_OK || !in->is_api || t == NULL || !in->hash_ok) {
		set(v, 401, "Invalid or expired token");
		return -1;
	}
	v->record = 1;
	if (!token_live(t, in->now) || in->owner == NULL || !in->owner->is_active ||
	    in->sub == NULL || strcmp(in->sub, t->owner_id) != 0) {
		set(v, 401, "Invalid or expired token");
		return -1;
	}
	if (t->team_id[0] != '\0' && in->team_role == ROLE_NONE) {
		set(v, 403, "Token owner is no longer a member of the token's team");
		return -1;
	}
	return 0;
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

/* The owner's own permissions in the token's team context hold perm. */
static int
owner_grants(const struct config *cfg, const struct decide_in *in, const char *perm)
{
	if (in->owner->is_admin)
		return 1;
	return scope_perms_grant(&cfg->user_permissions, perm) ||
	    (in->team_role != ROLE_NONE &&
	    scope_perms_grant(&cfg->team_member_permissions, perm)) ||
	    (in->team_role == ROLE_OWNER &&
	    scope_perms_grant(&cfg->team_owner_permissions, perm));
}

/* Step 8: the rule table; restricted tokens are denied without a rule. */
static int
check_permission(const struct config *cfg, const struct decide_in *in, struct verdict *v)
{
	struct json_object *perms = scope_get(in->tok, "permissions");
	size_t i, n = perms != NULL ? json_object_array_length(perms) : 0;
	const struct rule *r;

	if (in->path == NULL)
		return 0;
	if ((r = find_rule(cfg, in->method, in->path)) == NULL) {
		if (n == 0)
			return 0;
		set(v, 403, "No rule grants this request to a restricted token");
		return -1;
	}
	if (n == 0 && owner_grants(cfg, in, r->perm))
		return 0;
	for (i = 0; i < n; i++)
		if (scope_perm_grants(json_object_get_string(json_object_array_get_idx(perms,
		    i)), r->perm))
			return 0;
	set(v, 403, "Token lacks permission '%.200s' for this request", r->perm);
	return -1;
}

/* Step 9: usage limits over the sliding windows. */
static int
check_limits(const struct decide_in *in, struct verdict *v)
{
	static const char *const per[3] = { "minute", "hour", "day" };
	uint32_t cap[3];
	int64_t wait;
	int i;

	decide_caps(in->tok, cap);
	for (i = 0; i < 3; i++) {
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
	if (check_identity(in, v) == 0 && (in->path == NULL || (check_ip(in, v) == 0 &&
	    check_time(in, v) == 0 && check_server(cfg, in, v) == 0 &&
	    check_permission(cfg, in, v) == 0 && check_limits(in, v) == 0)))
		set(v, 200, "Allowed");
}
