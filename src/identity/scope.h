/*
 * scope.h - the parts of a token's scope (API.md section 6): permission
 * syntax and grants, IP/CIDR, time windows with IANA zones, usage limits,
 * and the validation of a whole "scope" object. Functions of their inputs,
 * but for the zones: tz.h reads a zone's file under /usr/share/zoneinfo
 * the first time it is named, or all of them at once (tz_preload).
 */
#ifndef TC_SCOPE_H
#define TC_SCOPE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <json-c/json.h>
#include "util.h"

/* --- 6.1 permissions --- */

/* 1 if p is "resource.action", "resource:action", "resource.*" or "*"
 * with resource/action matching [A-Za-z][A-Za-z0-9_]*. */
int	scope_perm_valid(const char *p);
/* 1 if holding `held` grants `wanted`: equal (':' and '.' are the same separator),
 * held "resource.*" with the same resource, held "*"; and "servers.use" is granted
 * by any held "tools.", "resources." or "prompts." permission. */
int	scope_perm_grants(const char *held, const char *wanted);
/* 1 if any entry of held grants wanted. */
int	scope_perms_grant(const struct strlist *held, const char *wanted);

/* --- 6.3 addresses --- */

struct ipnet {
	int		family;         /* 4 or 6 */
	unsigned char	addr[16];       /* network byte order; v4 in addr[0..3] */
	unsigned	prefix;         /* 0..32 or 0..128 */
};

/*
 * Parse "a.b.c.d", "a.b.c.d/n", IPv6, "IPv6/n" (surrounding blanks trimmed).
 * Host bits set under the mask are accepted and cleared.
 * An IPv4-mapped IPv6 address ::ffff:a.b.c.d (prefix >= 96) becomes IPv4.
 * Returns 0 or -1.
 */
int	scope_ipnet_parse(const char *s, struct ipnet *out);
/* Parse a single address (no prefix) as a /32 or /128 net; mapped v6 -> v4. 0 or -1. */
int	scope_addr_parse(const char *s, struct ipnet *out);
/* 1 if addr (a full-length net from scope_addr_parse) lies in net. */
int	scope_ipnet_contains(const struct ipnet *net, const struct ipnet *addr);

/* --- 6.4 time windows --- */

struct timewin {
	int		has_window;     /* start/end given */
	int		start_s, end_s; /* seconds since local midnight, inclusive */
	char		tz[64];         /* IANA name, default "UTC" */
	unsigned	days;           /* bit 0 = Monday .. bit 6 = Sunday; 0 = every day */
	int		business_hours_only;    /* 09:00-17:00 UTC */
	int		weekdays_only;          /* Monday-Friday UTC */
};

/* 1 if name is a valid IANA zone (tz.h: a TZif file under /usr/share/zoneinfo,
 * no "..", no leading '/', at most 63 bytes). */
int	scope_tz_valid(const char *name);
/*
 * Validate a time_restrictions object (either vocabulary, API.md 6.4) into tw.
 * An empty object is "no restriction". Returns 0, or -1 with detail naming the
 * field, e.g. "scope.time_restrictions.start_time: must be HH:MM or HH:MM:SS".
 */
int	scope_timewin_parse(struct json_object *o, struct timewin *tw, char *detail);
/* 1 if the instant now (UTC seconds) is inside the window (always 1 when unrestricted). */
int	scope_timewin_allows(const struct timewin *tw, time_t now);

/* --- 6.5 usage limits --- */

struct limits {
	uint32_t per_minute, per_hour, per_day;     /* 0 = none */
};

/* Validate a usage_limits object: only the three keys, positive integers
 * (<= 1000000000). Returns 0 or -1 with detail. */
int	scope_limits_parse(struct json_object *o, struct limits *l, char *detail);

/* --- the whole scope object --- */

/*
 * Validate the "scope" object of a create/update body (NULL or absent = empty).
 * On success returns 0 and a new normalized object in *norm (caller puts):
 *   {"server_id": str|null, "permissions": [..], "ip_restrictions": [trimmed..],
 *    "time_restrictions": {..as given, validated..}, "usage_limits": {..}}
 * On failure returns -1 with detail naming the field ("scope.permissions[1]: ...").
 */
int	scope_normalize(struct json_object *in, struct json_object **norm,
	    char *detail);

#endif
