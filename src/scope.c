/*
 * scope.c - the parts of a token's scope (API.md section 6) as pure
 * functions: permissions, addresses, time windows and usage limits, and
 * the validation of a whole "scope" object.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "js.h"
#include "scope.h"

#define PERM_MAX	255
#define LIST_MAX	100
#define LIMIT_MAX	1000000000

static const char *const day_names[7] = {
	"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"
};

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

/* Split p at its separator: resource length, action start. -1 for "*". */
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
	/* servers.use is implied by any tools., resources. or prompts. grant */
	if (wr == 7 && strncmp(wanted, "servers", 7) == 0 && strcmp(wa, "use") == 0)
		return (hr == 5 && strncmp(held, "tools", 5) == 0) ||
		    (hr == 9 && strncmp(held, "resources", 9) == 0) ||
		    (hr == 7 && strncmp(held, "prompts", 7) == 0);
	return 0;
}

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

/* An IPv4-mapped IPv6 address becomes IPv4 (prefix 96+n -> n). */
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

/* Clear the bits of addr beyond prefix. */
static void
mask_host(struct ipnet *n)
{
	unsigned i, bits = n->family == 4 ? 32 : 128;

	for (i = n->prefix; i < bits; i++)
		n->addr[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
}

/* Parse s[0..len) as an address into n (prefix = full length). 0 or -1. */
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

/* The trimmed extent of s. */
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

int
scope_ipnet_parse(const char *s, struct ipnet *out)
{
	const char *p, *slash;
	size_t len;
	uint64_t prefix;
	char num[8];

	trim(s, &p, &len);
	slash = memchr(p, '/', len);
	if (parse_addr(p, slash ? (size_t)(slash - p) : len, out) == -1)
		return -1;
	if (slash != NULL) {
		size_t nl = len - (size_t)(slash - p) - 1;

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

int
scope_tz_valid(const char *name)
{
	char path[128], magic[4];
	struct stat st;
	FILE *f;
	size_t i, n = strlen(name);
	int ok;

	if (strcmp(name, "UTC") == 0)
		return 1;
	if (n == 0 || n >= sizeof(((struct timewin *)0)->tz) || name[0] == '/' ||
	    strstr(name, "..") != NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && strchr("_+-/", name[i]) == NULL)
			return 0;
	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode) || (f = fopen(path, "rb")) == NULL)
		return 0;
	ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}

/* "HH:MM" or "HH:MM:SS" -> seconds since midnight; -1 if malformed. */
static int
parse_clock(const char *s)
{
	unsigned h, m, sec = 0;
	size_t n = strlen(s);

	if (n != 5 && n != 8)
		return -1;
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) || s[2] != ':' ||
	    !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -1;
	if (n == 8 && (s[5] != ':' || !isdigit((unsigned char)s[6]) ||
	    !isdigit((unsigned char)s[7])))
		return -1;
	h = (unsigned)(s[0] - '0') * 10 + (unsigned)(s[1] - '0');
	m = (unsigned)(s[3] - '0') * 10 + (unsigned)(s[4] - '0');
	if (n == 8)
		sec = (unsigned)(s[6] - '0') * 10 + (unsigned)(s[7] - '0');
	if (h > 23 || m > 59 || sec > 59)
		return -1;
	return (int)(h * 3600 + m * 60 + sec);
}

#define TR "scope.time_restrictions."

/* The "days" array into a bit mask. 0 or -1 with detail. */
static int
parse_days(struct json_object *arr, unsigned *mask, char *detail)
{
	struct json_object *v;
	size_t i;
	int d;

	if (!json_object_is_type(arr, json_type_array))
		return js_fail(detail, TR "days", "must be an array of day names"), -1;
	for (i = 0; i < json_object_array_length(arr); i++) {
		v = json_object_array_get_idx(arr, i);
		for (d = 0; d < 7; d++)
			if (json_object_is_type(v, json_type_string) &&
			    strcmp(json_object_get_string(v), day_names[d]) == 0)
				break;
		if (d == 7)
			return js_fail(detail, TR "days", "entry %zu must be a day name "
			    "such as \"Monday\"", i), -1;
		*mask |= 1u << d;
	}
	return 0;
}

/* One key of a time_restrictions object into tw. 0 or -1 with detail. */
static int
timewin_key(const char *key, struct json_object *v, struct timewin *tw,
    const char **start, const char **end, char *detail)
{
	if (strcmp(key, "start_time") == 0 || strcmp(key, "end_time") == 0) {
		if (!json_object_is_type(v, json_type_string) ||
		    parse_clock(json_object_get_string(v)) == -1)
			return js_fail(detail, key[0] == 's' ? TR "start_time" :
			    TR "end_time", "must be HH:MM or HH:MM:SS"), -1;
		*(key[0] == 's' ? start : end) = json_object_get_string(v);
	} else if (strcmp(key, "timezone") == 0) {
		if (!json_object_is_type(v, json_type_string) ||
		    !scope_tz_valid(json_object_get_string(v)))
			return js_fail(detail, TR "timezone", "must be an IANA time zone "
			    "such as \"Europe/Berlin\""), -1;
		snprintf(tw->tz, sizeof(tw->tz), "%s", json_object_get_string(v));
	} else if (strcmp(key, "days") == 0)
		return parse_days(v, &tw->days, detail);
	else if (strcmp(key, "business_hours_only") == 0 ||
	    strcmp(key, "weekdays_only") == 0) {
		if (!json_object_is_type(v, json_type_boolean))
			return js_fail(detail, key[0] == 'b' ? TR "business_hours_only" :
			    TR "weekdays_only", "must be true or false"), -1;
		*(key[0] == 'b' ? &tw->business_hours_only : &tw->weekdays_only) =
		    json_object_get_boolean(v);
	} else
		return js_fail(detail, "scope.time_restrictions", "unknown field \"%.32s\"",
		    key), -1;
	return 0;
}

int
scope_timewin_parse(struct json_object *o, struct timewin *tw, char *detail)
{
	const char *start = NULL, *end = NULL;

	memset(tw, 0, sizeof(*tw));
	snprintf(tw->tz, sizeof(tw->tz), "UTC");
	if (o == NULL)
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return js_fail(detail, "scope.time_restrictions", "must be an object"), -1;
	json_object_object_foreach(o, key, v) {
		if (v != NULL && timewin_key(key, v, tw, &start, &end, detail) == -1)
			return -1;
	}
	if ((start == NULL) != (end == NULL))
		return js_fail(detail, "scope.time_restrictions",
		    "start_time and end_time go together"), -1;
	if (start != NULL) {
		tw->has_window = 1;
		tw->start_s = parse_clock(start);
		tw->end_s = parse_clock(end);
	}
	return 0;
}

/* Local broken-down time of now in zone tz (TZ switched and restored). */
static void
local_time(const char *tz, time_t now, struct tm *tm)
{
	char *old = getenv("TZ"), *saved = old ? strdup(old) : NULL;
	char zone[80];

	snprintf(zone, sizeof(zone), ":%s", tz);
	setenv("TZ", zone, 1);
	tzset();
	localtime_r(&now, tm);
	if (saved != NULL)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	tzset();
	free(saved);
}

/* Monday = 0 .. Sunday = 6 from struct tm's Sunday = 0. */
static int
weekday(const struct tm *tm)
{
	return (tm->tm_wday + 6) % 7;
}

/*
 * The local window: inside when start <= t <= end, or for a window that
 * wraps midnight (start > end) when t >= start or t <= end. The day checked
 * against "days" is the day the window began: at 02:00 on Tuesday inside a
 * 22:00-06:00 window, that is Monday.
 */
static int
window_allows(const struct timewin *tw, time_t now)
{
	struct tm tm;
	int t, day, in;

	if (!tw->has_window && tw->days == 0)
		return 1;               /* nothing local to check: no zone lookup */
	if (strcmp(tw->tz, "UTC") == 0)
		gmtime_r(&now, &tm);
	else
		local_time(tw->tz, now, &tm);
	t = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	day = weekday(&tm);
	if (!tw->has_window)
		return tw->days == 0 || (tw->days & (1u << day));
	if (tw->start_s <= tw->end_s)
		in = t >= tw->start_s && t <= tw->end_s;
	else {
		in = t >= tw->start_s || t <= tw->end_s;
		if (in && t <= tw->end_s)
			day = (day + 6) % 7;
	}
	return in && (tw->days == 0 || (tw->days & (1u << day)));
}

int
scope_timewin_allows(const struct timewin *tw, time_t now)
{
	struct tm tm;
	int t;

	gmtime_r(&now, &tm);
	t = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	if (tw->business_hours_only && (t < 9 * 3600 || t >= 17 * 3600))
		return 0;
	if (tw->weekdays_only && weekday(&tm) >= 5)
		return 0;
	return window_allows(tw, now);
}

/* --- 6.5 usage limits --- */

int
scope_limits_parse(struct json_object *o, struct limits *l, char *detail)
{
	static const char *const keys[3] = {
		"requests_per_minute", "requests_per_hour", "requests_per_day"
	};
	uint32_t *slot[3] = { &l->per_minute, &l->per_hour, &l->per_day };
	char field[64];
	int i;

	memset(l, 0, sizeof(*l));
	if (o == NULL)
		return 0;
	if (!json_object_is_type(o, json_type_object))
		return js_fail(detail, "scope.usage_limits", "must be an object"), -1;
	json_object_object_foreach(o, key, v) {
		for (i = 0; i < 3 && strcmp(key, keys[i]) != 0; i++)
			;
		snprintf(field, sizeof(field), "scope.usage_limits.%.32s", key);
		if (i == 3)
			return js_fail(detail, "scope.usage_limits", "unknown field "
			    "\"%.32s\"", key), -1;
		if (v == NULL)
			continue;
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 1 || json_object_get_int64(v) > LIMIT_MAX)
			return js_fail(detail, field, "must be a positive integer "
			    "(at most %d)", LIMIT_MAX), -1;
		*slot[i] = (uint32_t)json_object_get_int64(v);
	}
	return 0;
}

/* --- the whole scope --- */

/* A copy of o without its null members (o NULL -> empty object). */
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

/* Validate a string list (permissions or ip_restrictions) into a new array. */
static int
string_list(struct json_object *in, const char *field, int ip,
    struct json_object **out, char *detail)
{
	struct json_object *v;
	struct ipnet n;
	const char *s;
	size_t i, len;

	*out = json_object_new_array();
	if (in == NULL)
		return 0;
	if (!json_object_is_type(in, json_type_array))
		return js_fail(detail, field, "must be an array of strings"), -1;
	if (json_object_array_length(in) > LIST_MAX)
		return js_fail(detail, field, "at most %d entries", LIST_MAX), -1;
	for (i = 0; i < json_object_array_length(in); i++) {
		v = json_object_array_get_idx(in, i);
		s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
		if (s == NULL || strlen(s) != (size_t)json_object_get_string_len(v) ||
		    (ip ? scope_ipnet_parse(s, &n) == -1 : !scope_perm_valid(s)))
			return snprintf(detail, DETAIL_MAX, "%s[%zu]: %s", field, i, ip ?
			    "invalid IP address or CIDR network" :
			    "invalid permission (resource.action, resource.* or *)"), -1;
		if (ip) {
			trim(s, &s, &len);
			json_object_array_add(*out, json_object_new_string_len(s, (int)len));
		} else
			json_object_array_add(*out, json_object_new_string(s));
	}
	return 0;
}

/* Member key of in, or NULL (absent or null). */
static struct json_object *
member(struct json_object *in, const char *key)
{
	struct json_object *v = NULL;

	if (in != NULL)
		json_object_object_get_ex(in, key, &v);
	return v;
}

/* server_id: null, or a string of 1..255 characters. */
static int
server_id(struct json_object *in, struct json_object *norm, char *detail)
{
	const char *s;
	int rc = js_get_str(in, "server_id", 1, 255, &s, detail);

	if (rc == JS_BAD) {
		char tmp[DETAIL_MAX];

		snprintf(tmp, sizeof(tmp), "scope.%s", detail);
		snprintf(detail, DETAIL_MAX, "%s", tmp);
		return -1;
	}
	json_object_object_add(norm, "server_id",
	    rc == JS_OK ? json_object_new_string(s) : NULL);
	return 0;
}

int
scope_normalize(struct json_object *in, struct json_object **norm, char *detail)
{
	struct json_object *o = json_object_new_object(), *perms = NULL, *ips = NULL;
	struct timewin tw;
	struct limits l;

	*norm = NULL;
	if (in != NULL && !json_object_is_type(in, json_type_object)) {
		json_object_put(o);
		return js_fail(detail, "scope", "must be an object"), -1;
	}
	if ((in != NULL && server_id(in, o, detail) == -1) ||
	    string_list(member(in, "permissions"), "scope.permissions", 0, &perms, detail) == -1 ||
	    string_list(member(in, "ip_restrictions"), "scope.ip_restrictions", 1, &ips,
	    detail) == -1 ||
	    scope_timewin_parse(member(in, "time_restrictions"), &tw, detail) == -1 ||
	    scope_limits_parse(member(in, "usage_limits"), &l, detail) == -1) {
		json_object_put(perms);
		json_object_put(ips);
		json_object_put(o);
		return -1;
	}
	if (in == NULL)
		json_object_object_add(o, "server_id", NULL);
	json_object_object_add(o, "permissions", perms);
	json_object_object_add(o, "ip_restrictions", ips);
	json_object_object_add(o, "time_restrictions", without_nulls(member(in,
	    "time_restrictions")));
	json_object_object_add(o, "usage_limits", without_nulls(member(in, "usage_limits")));
	*norm = o;
	return 0;
}
