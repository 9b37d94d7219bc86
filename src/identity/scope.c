/*
 * scope.c - the parts of a token's scope (API.md section 6): permissions,
 * addresses, time windows and usage limits, and the validation of a whole
 * "scope" object. Functions of their inputs, but for the zone files that
 * tz.c reads the first time a zone is named (see scope.h).
 *
 * Validators return 0, or -1 with a sentence naming the field in detail
 * (DETAIL_MAX bytes). js_fail() returns JS_BAD, which is -1, so a failure
 * is written "return js_fail(detail, field, ...)".
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "js.h"
#include "scope.h"
#include "tz.h"

#define PERM_MAX	255
#define LIST_MAX	100
#define LIMIT_MAX	1000000000
#define EXCERPT_MAX	64      /* bytes of a client's string quoted in a detail */
#define FIELD_MAX	128
#define WEEKDAY(tm)	(((tm).tm_wday + 6) % 7)       /* Monday = 0 .. Sunday = 6 */

static const char *const day_names[7] = {
	"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"
};

/*
 * At most EXCERPT_MAX bytes of s, for quoting a client's string in a
 * detail: cut at a UTF-8 character boundary, "..." marking the cut.
 * Returns s itself when it is short enough, else buf.
 */
static const char *
excerpt(const char *s, char buf[EXCERPT_MAX + 4])
{
	size_t n = strlen(s);

	if (n <= EXCERPT_MAX)
		return s;
	n = EXCERPT_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	memcpy(buf, s, n);
	memcpy(buf + n, "...", 4);
	return buf;
}

/* The string value of v, or NULL if v is not a string or holds a NUL. Borrowed. */
static const char *
plain_str(struct json_object *v)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}

/* --- 6.1 permissions --- */

/* Length of an identifier [A-Za-z][A-Za-z0-9_]* at s (0 if none). */
static size_t
ident_len(const char *s)
{
	size_t n = 0;

	if (!isalpha((unsigned char)s[0]))
		return 0;
	while (isalnum((unsigned char)s[n]) || s[n] == '_')
		n++;
	return n;
}

/* 1 if p is "resource.action", "resource:action", "resource.*" or "*" (<= 255 bytes). */
int
scope_perm_valid(const char *p)
{
	size_t r, a;

	if (p == NULL || strlen(p) > PERM_MAX)
		return 0;
	if (strcmp(p, "*") == 0)
		return 1;
	if ((r = ident_len(p)) == 0 || (p[r] != '.' && p[r] != ':'))
		return 0;
	if (p[r] == '.' && strcmp(p + r + 1, "*") == 0)
		return 1;
	a = ident_len(p + r + 1);
	return a > 0 && p[r + 1 + a] == '\0';
}

/* Split p at its separator ('.' or ':'): resource length, action start. -1 for "*". */
static int
perm_split(const char *p, size_t *rlen, const char **action)
{
	size_t r = strcspn(p, ".:");

	if (p[r] == '\0')
		return -1;
	*rlen = r;
	*action = p + r + 1;
	return 0;
}

/*
 * 1 if held grants wanted: "*" grants everything; otherwise the resources
 * must be equal and the held action "*" or equal to the wanted one (so a
 * wanted "resource.*" needs a held "resource.*" or "*"). "servers.use" is
 * also granted by any "tools.", "resources." or "prompts." permission.
 */
int
scope_perm_grants(const char *held, const char *wanted)
{
	size_t hr, wr;
	const char *ha, *wa;

	if (strcmp(held, "*") == 0)
		return 1;
	if (perm_split(held, &hr, &ha) == -1 || perm_split(wanted, &wr, &wa) == -1)
		return 0;
	if (hr == wr && strncmp(held, wanted, hr) == 0)
		return strcmp(ha, "*") == 0 || strcmp(ha, wa) == 0;
	if (wr == 7 && strncmp(wanted, "servers", 7) == 0 && strcmp(wa, "use") == 0)
		return (hr == 5 && strncmp(held, "tools", 5) == 0) ||
		    (hr == 9 && strncmp(held, "resources", 9) == 0) ||
		    (hr == 7 && strncmp(held, "prompts", 7) == 0);
	return 0;
}

/* 1 if any entry of held grants wanted. */
int
scope_perms_grant(const struct strlist *held, const char *wanted)
{
	size_t i;

	for (i = 0; i < held->n; i++)
		if (scope_perm_grants(held->v[i], wanted))
			return 1;
	return 0;
}

/* --- 6.3 addresses --- */

/* An IPv4-mapped IPv6 net ::ffff:a.b.c.d/96+n becomes IPv4 a.b.c.d/n. */
static void
unmap_v4(struct ipnet *n)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (n->family != 6 || n->prefix < 96 || memcmp(n->addr, mapped, 12) != 0)
		return;
	memmove(n->addr, n->addr + 12, 4);
	memset(n->addr + 4, 0, 12);
	n->family = 4;
	n->prefix -= 96;
}

/* Clear the bits of n->addr beyond n->prefix. */
static void
mask_host(struct ipnet *n)
{
	unsigned i, bits = n->family == 4 ? 32 : 128;

	for (i = n->prefix; i < bits; i++)
		n->addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
}

/* Parse s[0..len) as one address into n (prefix = full length). 0 or -1. */
static int
parse_addr(const char *s, size_t len, struct ipnet *n)
{
	char buf[INET6_ADDRSTRLEN + 1];

	memset(n, 0, sizeof(*n));
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, n->addr) == 1) {
		n->family = 4;
		n->prefix = 32;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, n->addr) == 1) {
		n->family = 6;
		n->prefix = 128;
		return 0;
	}
	return -1;
}

/* The extent of s without surrounding white space: *start and *len. */
static void
trim(const char *s, const char **start, size_t *len)
{
	size_t n = strlen(s);

	while (n > 0 && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		n--;
	*start = s;
	*len = n;
}

/*
 * "addr" or "addr/prefix" (blanks around trimmed) into out; the prefix is
 * a plain decimal 0..32 or 0..128 (util_parse_uint: no sign, not empty).
 * Host bits are cleared; ::ffff:a.b.c.d/96+n becomes IPv4 /n. 0 or -1.
 */
int
scope_ipnet_parse(const char *s, struct ipnet *out)
{
	const char *p, *slash;
	size_t len, nl;
	uint64_t prefix;
	char num[8];

	trim(s, &p, &len);
	slash = memchr(p, '/', len);
	if (parse_addr(p, slash ? (size_t)(slash - p) : len, out) == -1)
		return -1;
	if (slash != NULL) {
		nl = len - (size_t)(slash - p) - 1;
		if (nl == 0 || nl >= sizeof(num))
			return -1;
		memcpy(num, slash + 1, nl);
		num[nl] = '\0';
		if (util_parse_uint(num, 0, out->prefix, &prefix) == -1)
			return -1;
		out->prefix = (unsigned)prefix;
	}
	mask_host(out);
	unmap_v4(out);
	return 0;
}

/* One address, no prefix (blanks trimmed), as a /32 or /128; mapped v6 -> v4. 0 or -1. */
int
scope_addr_parse(const char *s, struct ipnet *out)
{
	const char *p;
	size_t len;

	trim(s, &p, &len);
	if (memchr(p, '/', len) != NULL || parse_addr(p, len, out) == -1)
		return -1;
	unmap_v4(out);
	return 0;
}

/* 1 if addr has net's family and equals net's address under net's mask. */
int
scope_ipnet_contains(const struct ipnet *net, const struct ipnet *addr)
{
	struct ipnet a = *addr;

	if (net->family != addr->family)
		return 0;
	a.prefix = net->prefix;
	mask_host(&a);
	return memcmp(a.addr, net->addr, 16) == 0;
}

/* --- 6.4 time windows --- */

/* 1 if name is "UTC" or a zone of tz.h (a TZif file under TZ_DIR). */
int
scope_tz_valid(const char *name)
{
	return tz_valid(name);
}

/* Value of the two digits at s (00..99), or -1. */
static int
two_digits(const char *s)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* "HH:MM" or "HH:MM:SS" (00..23, 00..59, 00..59) -> seconds since midnight; -1 if bad. */
static int
parse_clock(const char *s)
{
	size_t n = strlen(s);
	int h, m, sec = 0;

	if ((n != 5 && n != 8) || s[2] != ':' || (n == 8 && s[5] != ':'))
		return -1;
	h = two_digits(s);
	m = two_digits(s + 3);
	if (n == 8)
		sec = two_digits(s + 6);
	if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 59)
		return -1;
	return h * 3600 + m * 60 + sec;
}

/* The "days" array (exact English names, repeats allowed) into a bit mask. 0 or -1. */
static int
parse_days(struct json_object *arr, const char *field, unsigned *mask, char *detail)
{
	struct json_object *v;
	char at[FIELD_MAX + 24];
	size_t i;
	int d;

	if (!json_object_is_type(arr, json_type_array))
		return js_fail(detail, field, "must be an array of day names");
	for (i = 0; i < json_object_array_length(arr); i++) {
		v = json_object_array_get_idx(arr, i);
		for (d = 0; d < 7; d++)
			if (plain_str(v) != NULL && strcmp(plain_str(v), day_names[d]) == 0)
				break;
		if (d == 7) {
			snprintf(at, sizeof(at), "%s[%zu]", field, i);
			return js_fail(detail, at, "must be a day name such as \"Monday\"");
		}
		*mask |= 1u << d;
	}
	return 0;
}

/* One non-null member key: v of time_restrictions into tw (field names it). 0 or -1. */
static int
timewin_key(const char *key, struct json_object *v, const char *field,
    struct timewin *tw, const char **times, char *detail)
{
	const char *s = plain_str(v);

	if (strcmp(key, "start_time") == 0 || strcmp(key, "end_time") == 0) {
		if (s == NULL || parse_clock(s) == -1)
			return js_fail(detail, field, "must be HH:MM or HH:MM:SS");
		times[key[0] == 'e'] = s;
	} else if (strcmp(key, "timezone") == 0) {
		if (s == NULL || !scope_tz_valid(s))
			return js_fail(detail, field, "must be an IANA time zone "
			    "such as \"Europe/Berlin\"");
		snprintf(tw->tz, sizeof(tw->tz), "%s", s);
	} else if (strcmp(key, "days") == 0)
		return parse_days(v, field, &tw->days, detail);
	else if (strcmp(key, "business_hours_only") == 0 ||
	    strcmp(key, "weekdays_only") == 0) {
		if (!json_object_is_type(v, json_type_boolean))
			return js_fail(detail, field, "must be true or false");
		*(key[0] == 'b' ? &tw->business_hours_only : &tw->weekdays_only) =
		    json_object_get_boolean(v);
	} else
		return js_fail(detail, field, "unknown field");
	return 0;
}

/*
 * Validate a time_restrictions object (NULL = no restriction) into tw.
 * A member whose value is null counts as absent. 0, or -1 with detail.
 */
int
scope_timewin_parse(struct json_object *o, struct timewin *tw, char *detail)
{
	const char *times[2] = { NULL, NULL };      /* start, end */
	char field[FIELD_MAX], ex[EXCERPT_MAX + 4];

	memset(tw, 0, sizeof(*tw));
	snprintf(tw->tz, sizeof(tw->tz), "UTC");
	if (o == NULL)
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return js_fail(detail, "scope.time_restrictions", "must be an object");
	json_object_object_foreach(o, key, v) {
		if (v == NULL)
			continue;
		snprintf(field, sizeof(field), "scope.time_restrictions.%s", excerpt(key, ex));
		if (timewin_key(key, v, field, tw, times, detail) == -1)
			return -1;
	}
	if ((times[0] == NULL) != (times[1] == NULL))
		return js_fail(detail, "scope.time_restrictions",
		    "start_time and end_time go together");
	if (times[0] != NULL) {
		tw->has_window = 1;
		tw->start_s = parse_clock(times[0]);
		tw->end_s = parse_clock(times[1]);
	}
	return 0;
}

/*
 * The local part: start/end window and days, in tw->tz. Inside when
 * start <= t <= end (both seconds included), or for a window that wraps
 * midnight (start > end) when t >= start or t <= end. The day checked
 * against "days" is the day the window began: at 02:00 on Tuesday inside
 * a 22:00-06:00 window, that is Monday. Without a window, the local day
 * of now. 1 allowed, 0 not.
 */
static int
window_allows(const struct timewin *tw, time_t now)
{
	struct tm tm;
	int t, day, in;

	if (!tw->has_window && tw->days == 0)
		return 1;               /* nothing local to check: no zone lookup */
	if (strcmp(tw->tz, "UTC") == 0) {
		if (gmtime_r(&now, &tm) == NULL)
			return 0;
	} else if (tz_localtime(tw->tz, now, &tm) == -1)
		return 0;
	t = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	day = WEEKDAY(tm);
	if (!tw->has_window)
		return (tw->days & (1u << day)) != 0;
	if (tw->start_s <= tw->end_s)
		in = t >= tw->start_s && t <= tw->end_s;
	else {
		in = t >= tw->start_s || t <= tw->end_s;
		if (in && t < tw->start_s)
			day = (day + 6) % 7;    /* after midnight: yesterday's window */
	}
	return in && (tw->days == 0 || (tw->days & (1u << day)));
}

/*
 * 1 if now (UTC seconds) passes every condition of tw (they are ANDed):
 * business_hours_only 09:00:00 <= t < 17:00:00 UTC, weekdays_only
 * Monday-Friday UTC, and the local window and days.
 */
int
scope_timewin_allows(const struct timewin *tw, time_t now)
{
	struct tm tm;
	int t;

	if (gmtime_r(&now, &tm) == NULL)
		return 0;
	t = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	if (tw->business_hours_only && (t < 9 * 3600 || t >= 17 * 3600))
		return 0;
	if (tw->weekdays_only && WEEKDAY(tm) >= 5)
		return 0;
	return window_allows(tw, now);
}

/* --- 6.5 usage limits --- */

/*
 * Validate usage_limits (NULL = none) into l: only the three keys, each a
 * JSON integer 1..1000000000; a null value counts as absent. 0 or -1.
 */
int
scope_limits_parse(struct json_object *o, struct limits *l, char *detail)
{
	static const char *const keys[3] = {
		"requests_per_minute", "requests_per_hour", "requests_per_day"
	};
	uint32_t *slot[3] = { &l->per_minute, &l->per_hour, &l->per_day };
	char field[FIELD_MAX], ex[EXCERPT_MAX + 4];
	int64_t n;
	int i;

	memset(l, 0, sizeof(*l));
	if (o == NULL)
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return js_fail(detail, "scope.usage_limits", "must be an object");
	json_object_object_foreach(o, key, v) {
		if (v == NULL)
			continue;
		snprintf(field, sizeof(field), "scope.usage_limits.%s", excerpt(key, ex));
		for (i = 0; i < 3 && strcmp(key, keys[i]) != 0; i++)
			;
		if (i == 3)
			return js_fail(detail, field, "unknown field");
		n = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || n < 1)
			return js_fail(detail, field, "must be a positive integer");
		if (n > LIMIT_MAX)
			return js_fail(detail, field, "must be at most %d", LIMIT_MAX);
		*slot[i] = (uint32_t)n;
	}
	return 0;
}

/* --- the whole scope --- */

/* A new copy of o without its null members (o NULL -> empty object). */
static struct json_object *
without_nulls(struct json_object *o)
{
	struct json_object *c = json_object_new_object();

	if (o == NULL)
		return c;
	json_object_object_foreach(o, key, v) {
		if (v != NULL)
			json_object_object_add(c, key, json_object_get(v));
	}
	return c;
}

/*
 * Entry i of a permissions (ip = 0) or ip_restrictions (ip = 1) list,
 * appended to out: a permission as given, an address or net trimmed.
 * 0, or -1 with detail "<field>[i]: ...".
 */
static int
list_entry(struct json_object *v, const char *field, size_t i, int ip,
    struct json_object *out, char *detail)
{
	char at[FIELD_MAX + 24], ex[EXCERPT_MAX + 4];
	struct ipnet n;
	const char *s;
	size_t len;

	snprintf(at, sizeof(at), "%s[%zu]", field, i);
	if ((s = plain_str(v)) == NULL)
		return js_fail(detail, at, "must be a string");
	if (ip) {
		if (scope_ipnet_parse(s, &n) == -1)
			return js_fail(detail, at, "invalid IP address or CIDR network");
		trim(s, &s, &len);
		json_object_array_add(out, json_object_new_string_len(s, (int)len));
	} else {
		if (!scope_perm_valid(s))
			return js_fail(detail, at, "invalid permission '%s'", excerpt(s, ex));
		json_object_array_add(out, json_object_new_string(s));
	}
	return 0;
}

/* Validate a list (NULL = empty, <= 100 entries) into a new array *out (caller puts). */
static int
string_list(struct json_object *in, const char *field, int ip,
    struct json_object **out, char *detail)
{
	size_t i;

	*out = json_object_new_array();
	if (in == NULL)
		return 0;
	if (!json_object_is_type(in, json_type_array))
		return js_fail(detail, field, "must be an array of strings");
	if (json_object_array_length(in) > LIST_MAX)
		return js_fail(detail, field, "at most %d entries", LIST_MAX);
	for (i = 0; i < json_object_array_length(in); i++)
		if (list_entry(json_object_array_get_idx(in, i), field, i, ip, *out,
		    detail) == -1)
			return -1;
	return 0;
}

/* server_id of in (a string of 1..255 characters, or null/absent) into norm. 0 or -1. */
static int
server_id(struct json_object *in, struct json_object *norm, char *detail)
{
	char tmp[DETAIL_MAX];
	const char *s;
	int rc = js_get_str(in, "server_id", 1, 255, &s, detail);

	if (rc == JS_BAD) {
		snprintf(tmp, sizeof(tmp), "scope.%s", detail);
		snprintf(detail, DETAIL_MAX, "%s", tmp);
		return -1;
	}
	json_object_object_add(norm, "server_id",
	    rc == JS_OK ? json_object_new_string(s) : NULL);
	return 0;
}

/*
 * Validate a scope object (NULL = empty; other keys ignored) into a new
 * normalized object *norm with all five keys (caller puts). 0, or -1 with
 * detail and *norm NULL.
 */
int
scope_normalize(struct json_object *in, struct json_object **norm, char *detail)
{
	struct json_object *o = NULL, *perms = NULL, *ips = NULL;
	struct json_object *tr = json_object_object_get(in, "time_restrictions");
	struct json_object *ul = json_object_object_get(in, "usage_limits");
	struct timewin tw;
	struct limits l;
	int rc = -1;

	*norm = NULL;
	if (in != NULL && !json_object_is_type(in, json_type_object))
		return js_fail(detail, "scope", "must be an object");
	o = json_object_new_object();
	if (server_id(in, o, detail) == -1 ||
	    string_list(json_object_object_get(in, "permissions"), "scope.permissions", 0,
	    &perms, detail) == -1 ||
	    string_list(json_object_object_get(in, "ip_restrictions"),
	    "scope.ip_restrictions", 1, &ips, detail) == -1 ||
	    scope_timewin_parse(tr, &tw, detail) == -1 ||
	    scope_limits_parse(ul, &l, detail) == -1)
		goto out;
	json_object_object_add(o, "permissions", perms);
	json_object_object_add(o, "ip_restrictions", ips);
	perms = ips = NULL;
	json_object_object_add(o, "time_restrictions", without_nulls(tr));
	json_object_object_add(o, "usage_limits", without_nulls(ul));
	*norm = o;
	o = NULL;
	rc = 0;
out:
	json_object_put(perms);
	json_object_put(ips);
	json_object_put(o);
	return rc;
}
