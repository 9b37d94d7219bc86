/*
 * test_scope.c - the scope parsers and checks, one row per case.
 */
#include <criterion/criterion.h>
#include <string.h>
#include <time.h>

#include "js.h"
#include "scope.h"

static const struct { const char *p; int ok; } perm_rows[] = {
	{ "tools.read", 1 }, { "tools:read", 1 }, { "tools.*", 1 }, { "*", 1 },
	{ "a_1.b_2", 1 }, { "T.X9", 1 },
	{ "", 0 }, { "tools", 0 }, { "tools.", 0 }, { ".read", 0 }, { "1tools.read", 0 },
	{ "tools.read.x", 0 }, { "tools read", 0 }, { "tools:*", 0 }, { "*.read", 0 },
	{ "tools.re-ad", 0 }, { "tools._x", 0 }, { "**", 0 }, { "tools..read", 0 },
};

Test(scope, permission_syntax)
{
	size_t i;

	for (i = 0; i < sizeof(perm_rows) / sizeof(perm_rows[0]); i++)
		cr_expect_eq(scope_perm_valid(perm_rows[i].p), perm_rows[i].ok,
		    "row %zu: %s", i, perm_rows[i].p);
}

static const struct { const char *held, *wanted; int ok; } grant_rows[] = {
	{ "tools.read", "tools.read", 1 }, { "tools:read", "tools.read", 1 },
	{ "tools.read", "tools:read", 1 }, { "tools.*", "tools.execute", 1 },
	{ "*", "anything.at_all", 1 }, { "*", "*", 1 }, { "tools.*", "tools.*", 1 },
	{ "tools.read", "servers.use", 1 }, { "resources.x", "servers.use", 1 },
	{ "prompts.*", "servers.use", 1 },
	{ "tools.read", "tools.execute", 0 }, { "tools.*", "resources.read", 0 },
	{ "tools.*", "*", 0 }, { "tools.read", "tools.*", 0 },
	{ "servers.read", "servers.use", 0 }, { "toolsx.read", "servers.use", 0 },
	{ "tools.read", "servers.read", 0 }, { "tool.read", "tools.read", 0 },
};

Test(scope, permission_grants)
{
	size_t i;

	for (i = 0; i < sizeof(grant_rows) / sizeof(grant_rows[0]); i++)
		cr_expect_eq(scope_perm_grants(grant_rows[i].held, grant_rows[i].wanted),
		    grant_rows[i].ok, "row %zu: %s grants %s", i, grant_rows[i].held,
		    grant_rows[i].wanted);
}

static const struct { const char *net, *addr; int ok; } cidr_rows[] = {
	{ "10.0.0.0/8", "10.255.255.255", 1 }, { "10.0.0.0/8", "11.0.0.0", 0 },
	{ "10.0.0.0/8", "9.255.255.255", 0 }, { "0.0.0.0/0", "203.0.113.9", 1 },
	{ "192.0.2.7", "192.0.2.7", 1 }, { "192.0.2.7/32", "192.0.2.8", 0 },
	{ " 192.0.2.0/24 ", "192.0.2.200", 1 }, { "192.0.2.77/24", "192.0.2.1", 1 },
	{ "2001:db8::/32", "2001:db8:ffff::1", 1 }, { "2001:db8::/32", "2001:db9::1", 0 },
	{ "::1/128", "::1", 1 }, { "::/0", "::2", 1 },
	{ "10.0.0.0/8", "::ffff:10.1.2.3", 1 }, { "::ffff:10.0.0.0/104", "10.9.9.9", 1 },
	{ "::ffff:10.0.0.0/104", "11.0.0.1", 0 },
	{ "2001:db8::/32", "10.0.0.1", 0 }, { "10.0.0.0/8", "2001:db8::1", 0 },
};

Test(scope, cidr_contains)
{
	struct ipnet n, a;
	size_t i;

	for (i = 0; i < sizeof(cidr_rows) / sizeof(cidr_rows[0]); i++) {
		cr_assert_eq(scope_ipnet_parse(cidr_rows[i].net, &n), 0, "row %zu net", i);
		cr_assert_eq(scope_addr_parse(cidr_rows[i].addr, &a), 0, "row %zu addr", i);
		cr_expect_eq(scope_ipnet_contains(&n, &a), cidr_rows[i].ok, "row %zu: %s in %s",
		    i, cidr_rows[i].addr, cidr_rows[i].net);
	}
}

static const char *const bad_nets[] = {
	"", "1.2.3", "1.2.3.4/", "1.2.3.4/-1", "1.2.3.4/+8", "1.2.3.4/33", "::1/129",
	"1.2.3.4/8/8", "256.1.1.1", "1.2.3.4 /8", "example.com", "1.2.3.4/ 8", "::g",
	"1.2.3.4/08x",
};

Test(scope, cidr_rejects)
{
	struct ipnet n;
	size_t i;

	for (i = 0; i < sizeof(bad_nets) / sizeof(bad_nets[0]); i++)
		cr_expect_eq(scope_ipnet_parse(bad_nets[i], &n), -1, "row %zu: '%s'", i,
		    bad_nets[i]);
	cr_expect_eq(scope_addr_parse("10.0.0.0/8", &n), -1, "an address has no prefix");
}

/* UTC instant of a date and time. */
static time_t
at(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	    .tm_hour = h, .tm_min = mi, .tm_sec = s };

	return timegm(&tm);
}

static int
allows(const char *json, time_t now)
{
	struct json_object *o = json_tokener_parse(json);
	struct timewin tw;
	char detail[DETAIL_MAX];
	int rc;

	cr_assert_not_null(o, "bad test json %s", json);
	cr_assert_eq(scope_timewin_parse(o, &tw, detail), 0, "%s: %s", json, detail);
	rc = scope_timewin_allows(&tw, now);
	json_object_put(o);
	return rc;
}

/* 2026-11-23 is a Monday. */
static const struct { const char *tw; int y, mo, d, h, mi, s; int ok; } win_rows[] = {
	{ "{\"start_time\":\"09:00\",\"end_time\":\"17:00\"}", 2026, 11, 23, 9, 0, 0, 1 },
	{ "{\"start_time\":\"09:00\",\"end_time\":\"17:00\"}", 2026, 11, 23, 8, 59, 59, 0 },
	{ "{\"start_time\":\"09:00\",\"end_time\":\"17:00\"}", 2026, 11, 23, 17, 0, 0, 1 },
	{ "{\"start_time\":\"09:00\",\"end_time\":\"17:00\"}", 2026, 11, 23, 17, 0, 1, 0 },
	{ "{\"start_time\":\"22:00\",\"end_time\":\"06:00\"}", 2026, 11, 23, 23, 30, 0, 1 },
	{ "{\"start_time\":\"22:00\",\"end_time\":\"06:00\"}", 2026, 11, 23, 5, 59, 59, 1 },
	{ "{\"start_time\":\"22:00\",\"end_time\":\"06:00\"}", 2026, 11, 23, 12, 0, 0, 0 },
	/* a wrapped window counts on the day it began: Tuesday 02:00 is Monday's */
	{ "{\"start_time\":\"22:00\",\"end_time\":\"06:00\",\"days\":[\"Monday\"]}",
	  2026, 11, 24, 2, 0, 0, 1 },
	{ "{\"start_time\":\"22:00\",\"end_time\":\"06:00\",\"days\":[\"Monday\"]}",
	  2026, 11, 23, 2, 0, 0, 0 },
	{ "{\"days\":[\"Sunday\"]}", 2026, 11, 22, 12, 0, 0, 1 },
	{ "{\"days\":[\"Sunday\"]}", 2026, 11, 23, 12, 0, 0, 0 },
	/* New York: UTC-5 in January, UTC-4 in July */
	{ "{\"start_time\":\"09:00\",\"end_time\":\"10:00\",\"timezone\":\"America/New_York\"}",
	  2026, 1, 12, 14, 30, 0, 1 },
	{ "{\"start_time\":\"09:00\",\"end_time\":\"10:00\",\"timezone\":\"America/New_York\"}",
	  2026, 7, 13, 14, 30, 0, 0 },
	{ "{\"start_time\":\"09:00\",\"end_time\":\"10:00\",\"timezone\":\"America/New_York\"}",
	  2026, 7, 13, 13, 30, 0, 1 },
	{ "{\"start_time\":\"09:00\",\"end_time\":\"09:30\",\"timezone\":\"Asia/Kolkata\"}",
	  2026, 11, 23, 3, 45, 0, 1 },
	{ "{\"business_hours_only\":true}", 2026, 11, 23, 8, 59, 59, 0 },
	{ "{\"business_hours_only\":true}", 2026, 11, 23, 9, 0, 0, 1 },
	{ "{\"business_hours_only\":true}", 2026, 11, 23, 16, 59, 59, 1 },
	{ "{\"business_hours_only\":true}", 2026, 11, 23, 17, 0, 0, 0 },
	{ "{\"weekdays_only\":true}", 2026, 11, 28, 12, 0, 0, 0 },
	{ "{\"weekdays_only\":true}", 2026, 11, 27, 12, 0, 0, 1 },
	{ "{}", 2026, 11, 28, 3, 0, 0, 1 },
};

Test(scope, time_windows)
{
	size_t i;

	for (i = 0; i < sizeof(win_rows) / sizeof(win_rows[0]); i++)
		cr_expect_eq(allows(win_rows[i].tw, at(win_rows[i].y, win_rows[i].mo,
		    win_rows[i].d, win_rows[i].h, win_rows[i].mi, win_rows[i].s)),
		    win_rows[i].ok, "row %zu: %s", i, win_rows[i].tw);
}

static const struct { const char *tw, *detail; } bad_win_rows[] = {
	{ "{\"start_time\":\"25:00\",\"end_time\":\"01:00\"}",
	  "scope.time_restrictions.start_time: must be HH:MM or HH:MM:SS" },
	{ "{\"start_time\":\"12:00\",\"end_time\":\"12:60\"}",
	  "scope.time_restrictions.end_time: must be HH:MM or HH:MM:SS" },
	{ "{\"start_time\":\"9:00\",\"end_time\":\"12:00\"}",
	  "scope.time_restrictions.start_time: must be HH:MM or HH:MM:SS" },
	{ "{\"start_time\":\"12:00:60\",\"end_time\":\"13:00\"}",
	  "scope.time_restrictions.start_time: must be HH:MM or HH:MM:SS" },
	{ "{\"start_time\":\"12:00\"}",
	  "scope.time_restrictions: start_time and end_time go together" },
	{ "{\"start_time\":\"01:00\",\"end_time\":\"02:00\",\"timezone\":\"Mars/Phobos\"}",
	  "scope.time_restrictions.timezone: must be an IANA time zone such as \"Europe/Berlin\"" },
	{ "{\"timezone\":\"../../etc/passwd\"}",
	  "scope.time_restrictions.timezone: must be an IANA time zone such as \"Europe/Berlin\"" },
	{ "{\"timezone\":\"/etc/localtime\"}",
	  "scope.time_restrictions.timezone: must be an IANA time zone such as \"Europe/Berlin\"" },
	{ "{\"days\":[\"monday\"]}",
	  "scope.time_restrictions.days: entry 0 must be a day name such as \"Monday\"" },
	{ "{\"days\":\"Monday\"}",
	  "scope.time_restrictions.days: must be an array of day names" },
	{ "{\"weekdays_only\":1}", "scope.time_restrictions.weekdays_only: must be true or false" },
	{ "{\"hours\":1}", "scope.time_restrictions: unknown field \"hours\"" },
	{ "[]", "scope.time_restrictions: must be an object" },
};

Test(scope, time_window_rejects)
{
	struct json_object *o;
	struct timewin tw;
	char detail[DETAIL_MAX];
	size_t i;

	for (i = 0; i < sizeof(bad_win_rows) / sizeof(bad_win_rows[0]); i++) {
		o = json_tokener_parse(bad_win_rows[i].tw);
		cr_expect_eq(scope_timewin_parse(o, &tw, detail), -1, "row %zu", i);
		cr_expect_str_eq(detail, bad_win_rows[i].detail, "row %zu", i);
		json_object_put(o);
	}
	cr_expect(scope_tz_valid("Europe/Berlin"));
	cr_expect(scope_tz_valid("UTC"));
	cr_expect_not(scope_tz_valid("Europe"), "a directory is not a zone");
}

static const struct { const char *json; int ok; uint32_t m, h, d; } limit_rows[] = {
	{ "{\"requests_per_minute\":5}", 1, 5, 0, 0 },
	{ "{\"requests_per_hour\":100,\"requests_per_day\":1000}", 1, 0, 100, 1000 },
	{ "{\"requests_per_minute\":null}", 1, 0, 0, 0 },
	{ "{}", 1, 0, 0, 0 },
	{ "{\"requests_per_minute\":0}", 0, 0, 0, 0 },
	{ "{\"requests_per_minute\":-1}", 0, 0, 0, 0 },
	{ "{\"requests_per_minute\":1.5}", 0, 0, 0, 0 },
	{ "{\"requests_per_minute\":\"5\"}", 0, 0, 0, 0 },
	{ "{\"requests_per_minute\":1000000001}", 0, 0, 0, 0 },
	{ "{\"requests_per_second\":5}", 0, 0, 0, 0 },
	{ "[]", 0, 0, 0, 0 },
};

Test(scope, usage_limits)
{
	struct json_object *o;
	struct limits l;
	char detail[DETAIL_MAX];
	size_t i;

	for (i = 0; i < sizeof(limit_rows) / sizeof(limit_rows[0]); i++) {
		o = json_tokener_parse(limit_rows[i].json);
		cr_expect_eq(scope_limits_parse(o, &l, detail) == 0, limit_rows[i].ok,
		    "row %zu: %s", i, limit_rows[i].json);
		if (limit_rows[i].ok)
			cr_expect(l.per_minute == limit_rows[i].m && l.per_hour ==
			    limit_rows[i].h && l.per_day == limit_rows[i].d, "row %zu", i);
		else
			cr_expect(strncmp(detail, "scope.usage_limits", 18) == 0, "row %zu: %s",
			    i, detail);
		json_object_put(o);
	}
}

static const struct { const char *in, *out, *detail; } norm_rows[] = {
	{ NULL, "{\"server_id\":null,\"permissions\":[],\"ip_restrictions\":[],"
	  "\"time_restrictions\":{},\"usage_limits\":{}}", NULL },
	{ "{\"server_id\":\"s1\",\"permissions\":[\"tools.read\"],"
	  "\"ip_restrictions\":[\" 10.0.0.0/8 \",\"::1\"],\"time_restrictions\":"
	  "{\"weekdays_only\":true,\"days\":null},\"usage_limits\":{\"requests_per_day\":9},"
	  "\"extra\":1}",
	  "{\"server_id\":\"s1\",\"permissions\":[\"tools.read\"],\"ip_restrictions\":"
	  "[\"10.0.0.0\\/8\",\"::1\"],\"time_restrictions\":{\"weekdays_only\":true},"
	  "\"usage_limits\":{\"requests_per_day\":9}}", NULL },
	{ "{\"permissions\":[\"tools.read\",\"x y\"]}", NULL,
	  "scope.permissions[1]: invalid permission (resource.action, resource.* or *)" },
	{ "{\"ip_restrictions\":[\"10.0.0.300\"]}", NULL,
	  "scope.ip_restrictions[0]: invalid IP address or CIDR network" },
	{ "{\"permissions\":\"tools.read\"}", NULL,
	  "scope.permissions: must be an array of strings" },
	{ "{\"server_id\":5}", NULL, "scope.server_id: must be a string" },
	{ "{\"usage_limits\":{\"requests_per_minute\":0}}", NULL,
	  "scope.usage_limits.requests_per_minute: must be a positive integer (at most 1000000000)" },
	{ "[1]", NULL, "scope: must be an object" },
};

Test(scope, normalize)
{
	struct json_object *in, *out;
	char detail[DETAIL_MAX];
	size_t i;

	for (i = 0; i < sizeof(norm_rows) / sizeof(norm_rows[0]); i++) {
		in = norm_rows[i].in ? json_tokener_parse(norm_rows[i].in) : NULL;
		if (norm_rows[i].out != NULL) {
			cr_assert_eq(scope_normalize(in, &out, detail), 0, "row %zu: %s", i, detail);
			cr_expect_str_eq(json_object_to_json_string_ext(out,
			    JSON_C_TO_STRING_PLAIN), norm_rows[i].out, "row %zu", i);
			json_object_put(out);
		} else {
			cr_expect_eq(scope_normalize(in, &out, detail), -1, "row %zu", i);
			cr_expect_str_eq(detail, norm_rows[i].detail, "row %zu", i);
			cr_expect_null(out);
		}
		json_object_put(in);
	}
}

Test(scope, hundred_entries_at_most)
{
	struct json_object *in = json_object_new_object(), *arr = json_object_new_array(), *out;
	char detail[DETAIL_MAX];
	int i;

	for (i = 0; i < 101; i++)
		json_object_array_add(arr, json_object_new_string("tools.read"));
	json_object_object_add(in, "permissions", arr);
	cr_expect_eq(scope_normalize(in, &out, detail), -1);
	cr_expect_str_eq(detail, "scope.permissions: at most 100 entries");
	json_object_array_del_idx(arr, 0, 1);
	cr_expect_eq(scope_normalize(in, &out, detail), 0);
	json_object_put(out);
	json_object_put(in);
}
