/*
 * test_scope.c - the scope parsers and checks (API.md section 6), one row
 * per case: the input and the expected outcome, a bad row for every
 * rejection path.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "js.h"
#include "scope.h"
#include "util.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

/* --- 6.1 permissions --- */

static const struct { const char *p; int ok; } perm_rows[] = {
	{ "tools.read", 1 }, { "tools:read", 1 }, { "tools.*", 1 }, { "*", 1 },
	{ "a_1.b_2", 1 }, { "T.X9", 1 }, { "servers.use", 1 }, { "x.y", 1 },
	{ "", 0 }, { "tools", 0 }, { "tools.", 0 }, { "tools:", 0 }, { ".read", 0 },
	{ ":read", 0 }, { "1tools.read", 0 }, { "tools.1read", 0 }, { "tools.read.x", 0 },
	{ "tools:read:x", 0 }, { "tools read", 0 }, { "x y", 0 }, { "tools:*", 0 },
	{ "*.read", 0 }, { "*.*", 0 }, { "tools.re-ad", 0 }, { "tools._x", 0 },
	{ "_tools.x", 0 }, { "**", 0 }, { "tools..read", 0 }, { "tools.*x", 0 },
	{ "tools.a*", 0 }, { " tools.read", 0 }, { "tools.read ", 0 }, { "tools/read", 0 },
	{ "t\xc3\xa9.read", 0 },
};

Test(scope, permission_syntax)
{
	size_t i;

	for (i = 0; i < NROWS(perm_rows); i++)
		cr_expect_eq(scope_perm_valid(perm_rows[i].p), perm_rows[i].ok,
		    "row %zu: '%s'", i, perm_rows[i].p);
	cr_expect_not(scope_perm_valid(NULL));
}

/* A permission "aaa...a.b" of exactly len bytes. */
static char *
long_perm(size_t len)
{
	char *p = malloc(len + 1);

	cr_assert_not_null(p);
	memset(p, 'a', len - 2);
	memcpy(p + len - 2, ".b", 3);
	return p;
}

Test(scope, permission_at_most_255_bytes)
{
	char *p255 = long_perm(255), *p256 = long_perm(256);

	cr_expect(scope_perm_valid(p255), "255 bytes is the limit");
	cr_expect_not(scope_perm_valid(p256), "256 bytes is too long");
	free(p255);
	free(p256);
}

static const struct { const char *held, *wanted; int ok; } grant_rows[] = {
	{ "tools.read", "tools.read", 1 }, { "tools:read", "tools.read", 1 },
	{ "tools.read", "tools:read", 1 }, { "tools:read", "tools:read", 1 },
	{ "tools.*", "tools.execute", 1 }, { "tools.*", "tools:execute", 1 },
	{ "*", "anything.at_all", 1 }, { "*", "*", 1 }, { "*", "tools.*", 1 },
	{ "tools.*", "tools.*", 1 }, { "tools.*", "tools:*", 1 },
	/* servers.use is implied by tools., resources., prompts. */
	{ "tools.read", "servers.use", 1 }, { "tools:execute", "servers:use", 1 },
	{ "resources.x", "servers.use", 1 }, { "prompts.read", "servers.use", 1 },
	{ "tools.*", "servers.use", 1 }, { "prompts.*", "servers:use", 1 },
	{ "servers.*", "servers.use", 1 }, { "servers:use", "servers.use", 1 },
	/* and nothing else */
	{ "tools.read", "tools.execute", 0 }, { "tools.*", "resources.read", 0 },
	{ "tools.*", "*", 0 }, { "servers.*", "*", 0 }, { "tools.read", "*", 0 },
	{ "tools.read", "tools.*", 0 }, { "tools:read", "tools.*", 0 },
	{ "servers.use", "servers.*", 0 }, { "tools.read", "servers.*", 0 },
	{ "servers.read", "servers.use", 0 }, { "teams.read", "servers.use", 0 },
	{ "toolsx.read", "servers.use", 0 }, { "tool.read", "servers.use", 0 },
	{ "tools.read", "servers.read", 0 }, { "prompts.read", "servers.manage", 0 },
	{ "servers.use", "tools.read", 0 }, { "tool.read", "tools.read", 0 },
	{ "tools.read", "tool.read", 0 }, { "tools.rea", "tools.read", 0 },
	{ "tools.read", "tools.readx", 0 },
};

Test(scope, permission_grants)
{
	size_t i;

	for (i = 0; i < NROWS(grant_rows); i++)
		cr_expect_eq(scope_perm_grants(grant_rows[i].held, grant_rows[i].wanted),
		    grant_rows[i].ok, "row %zu: %s grants %s", i, grant_rows[i].held,
		    grant_rows[i].wanted);
}

static const struct { const char *wanted; int ok; } list_rows[] = {
	{ "tools.read", 1 }, { "teams.manage", 1 }, { "teams.*", 1 }, { "servers.use", 1 },
	{ "tools.execute", 0 }, { "users.read", 0 }, { "*", 0 },
};

Test(scope, permission_list_grants)
{
	struct strlist held = { NULL, 0 }, none = { NULL, 0 };
	size_t i;

	cr_assert_eq(strlist_add(&held, "tools.read"), 0);
	cr_assert_eq(strlist_add(&held, "teams.*"), 0);
	for (i = 0; i < NROWS(list_rows); i++) {
		cr_expect_eq(scope_perms_grant(&held, list_rows[i].wanted), list_rows[i].ok,
		    "row %zu: %s", i, list_rows[i].wanted);
		cr_expect_not(scope_perms_grant(&none, list_rows[i].wanted),
		    "row %zu: an empty list grants nothing", i);
	}
	strlist_free(&held);
}

/* --- 6.3 addresses --- */

/* The address of n as text (inet_ntop). */
static const char *
ntop(const struct ipnet *n, char buf[INET6_ADDRSTRLEN])
{
	cr_assert_not_null(inet_ntop(n->family == 4 ? AF_INET : AF_INET6, n->addr, buf,
	    INET6_ADDRSTRLEN));
	return buf;
}

/* family 0: rejected. */
static const struct {
	const char *in;
	int family;
	const char *addr;
	unsigned prefix;
} net_rows[] = {
	{ "10.1.2.3", 4, "10.1.2.3", 32 }, { "10.1.2.3/8", 4, "10.0.0.0", 8 },
	{ "10.1.2.3/32", 4, "10.1.2.3", 32 }, { "10.1.2.3/0", 4, "0.0.0.0", 0 },
	{ "192.0.2.77/24", 4, "192.0.2.0", 24 }, { "192.0.2.255/31", 4, "192.0.2.254", 31 },
	{ " 192.0.2.0/24 ", 4, "192.0.2.0", 24 }, { "\t10.0.0.1\n", 4, "10.0.0.1", 32 },
	{ "2001:db8::1", 6, "2001:db8::1", 128 }, { "2001:db8::1/128", 6, "2001:db8::1", 128 },
	{ "2001:db8:abcd::1/32", 6, "2001:db8::", 32 }, { "2001:DB8::/32", 6, "2001:db8::", 32 },
	{ "::/0", 6, "::", 0 }, { "::1", 6, "::1", 128 },
	/* IPv4-mapped: prefix >= 96 becomes IPv4 with prefix - 96 */
	{ "::ffff:10.1.2.3", 4, "10.1.2.3", 32 }, { "::ffff:10.1.2.3/104", 4, "10.0.0.0", 8 },
	{ "::ffff:10.1.2.3/96", 4, "0.0.0.0", 0 }, { "::ffff:a01:203", 4, "10.1.2.3", 32 },
	{ "::ffff:10.1.2.3/95", 6, "::fffe:0:0", 95 },
	{ "::10.1.2.3", 6, "::10.1.2.3", 128 },
	/* bad */
	{ "", 0, NULL, 0 }, { "   ", 0, NULL, 0 }, { "1.2.3", 0, NULL, 0 },
	{ "1.2.3.4/", 0, NULL, 0 }, { "1.2.3.4/-1", 0, NULL, 0 }, { "1.2.3.4/+8", 0, NULL, 0 },
	{ "1.2.3.4/33", 0, NULL, 0 }, { "::1/129", 0, NULL, 0 }, { "::1/", 0, NULL, 0 },
	{ "/8", 0, NULL, 0 }, { "1.2.3.4/8/8", 0, NULL, 0 }, { "256.1.1.1", 0, NULL, 0 },
	{ "1.2.3.4 /8", 0, NULL, 0 }, { "1.2.3.4/ 8", 0, NULL, 0 }, { "example.com", 0, NULL, 0 },
	{ "::g", 0, NULL, 0 }, { "1.2.3.4/08x", 0, NULL, 0 }, { "1.2.3.4/0x8", 0, NULL, 0 },
	{ "1.2.3.4/99999999999999999999", 0, NULL, 0 }, { "1.2.3.4/8 x", 0, NULL, 0 },
	{ "fe80::1%eth0", 0, NULL, 0 }, { "01.2.3.4", 0, NULL, 0 }, { "1.2.3.4.5", 0, NULL, 0 },
	{ "2001:db8::1::2", 0, NULL, 0 },
};

Test(scope, ipnet_parse)
{
	char buf[INET6_ADDRSTRLEN];
	struct ipnet n;
	size_t i;

	for (i = 0; i < NROWS(net_rows); i++) {
		if (net_rows[i].family == 0) {
			cr_expect_eq(scope_ipnet_parse(net_rows[i].in, &n), -1, "row %zu: '%s'",
			    i, net_rows[i].in);
			continue;
		}
		cr_assert_eq(scope_ipnet_parse(net_rows[i].in, &n), 0, "row %zu: '%s'", i,
		    net_rows[i].in);
		cr_expect_eq(n.family, net_rows[i].family, "row %zu family", i);
		cr_expect_str_eq(ntop(&n, buf), net_rows[i].addr, "row %zu address", i);
		cr_expect_eq(n.prefix, net_rows[i].prefix, "row %zu prefix", i);
	}
}

static const struct { const char *in; int family; const char *addr; } addr_rows[] = {
	{ "10.0.0.1", 4, "10.0.0.1" }, { " 10.0.0.1 ", 4, "10.0.0.1" },
	{ "::ffff:10.1.2.3", 4, "10.1.2.3" }, { "2001:db8::1", 6, "2001:db8::1" },
	{ "::1", 6, "::1" },
	{ "10.0.0.0/8", 0, NULL }, { "10.0.0.1/32", 0, NULL }, { "::1/128", 0, NULL },
	{ "", 0, NULL }, { "10.0.0", 0, NULL }, { "unknown", 0, NULL },
};

Test(scope, addr_parse)
{
	char buf[INET6_ADDRSTRLEN];
	struct ipnet n;
	size_t i;

	for (i = 0; i < NROWS(addr_rows); i++) {
		if (addr_rows[i].family == 0) {
			cr_expect_eq(scope_addr_parse(addr_rows[i].in, &n), -1, "row %zu: '%s'",
			    i, addr_rows[i].in);
			continue;
		}
		cr_assert_eq(scope_addr_parse(addr_rows[i].in, &n), 0, "row %zu", i);
		cr_expect_eq(n.family, addr_rows[i].family, "row %zu family", i);
		cr_expect_str_eq(ntop(&n, buf), addr_rows[i].addr, "row %zu", i);
		cr_expect_eq(n.prefix, n.family == 4 ? 32u : 128u, "row %zu prefix", i);
	}
}

static const struct { const char *net, *addr; int ok; } cidr_rows[] = {
	{ "10.0.0.0/8", "10.255.255.255", 1 }, { "10.0.0.0/8", "10.0.0.0", 1 },
	{ "10.0.0.0/8", "11.0.0.0", 0 }, { "10.0.0.0/8", "9.255.255.255", 0 },
	{ "0.0.0.0/0", "203.0.113.9", 1 }, { "0.0.0.0/0", "255.255.255.255", 1 },
	{ "192.0.2.7", "192.0.2.7", 1 }, { "192.0.2.7/32", "192.0.2.7", 1 },
	{ "192.0.2.7/32", "192.0.2.8", 0 }, { " 192.0.2.0/24 ", "192.0.2.200", 1 },
	{ "192.0.2.77/24", "192.0.2.1", 1 }, { "192.0.2.0/25", "192.0.2.128", 0 },
	{ "2001:db8::/32", "2001:db8:ffff::1", 1 }, { "2001:db8::/32", "2001:db9::1", 0 },
	{ "::1/128", "::1", 1 }, { "::1/128", "::2", 0 }, { "::/0", "::2", 1 },
	/* a mapped client is matched as IPv4, and a mapped net is an IPv4 net */
	{ "10.0.0.0/8", "::ffff:10.1.2.3", 1 }, { "10.0.0.0/8", "::ffff:11.1.2.3", 0 },
	{ "::ffff:10.0.0.0/104", "10.9.9.9", 1 }, { "::ffff:10.0.0.0/104", "11.0.0.1", 0 },
	/* families never mix */
	{ "2001:db8::/32", "10.0.0.1", 0 }, { "::/0", "10.0.0.1", 0 },
	{ "::/0", "::ffff:10.0.0.1", 0 }, { "10.0.0.0/8", "2001:db8::1", 0 },
	{ "0.0.0.0/0", "::1", 0 },
};

Test(scope, cidr_contains)
{
	struct ipnet n, a;
	size_t i;

	for (i = 0; i < NROWS(cidr_rows); i++) {
		cr_assert_eq(scope_ipnet_parse(cidr_rows[i].net, &n), 0, "row %zu net", i);
		cr_assert_eq(scope_addr_parse(cidr_rows[i].addr, &a), 0, "row %zu addr", i);
		cr_expect_eq(scope_ipnet_contains(&n, &a), cidr_rows[i].ok, "row %zu: %s in %s",
		    i, cidr_rows[i].addr, cidr_rows[i].net);
	}
}

/* --- 6.4 time windows --- */

static const struct { const char *name; int ok; } tz_rows[] = {
	{ "UTC", 1 }, { "Europe/Berlin", 1 }, { "America/New_York", 1 }, { "Asia/Kolkata", 1 },
	{ "Etc/GMT+5", 1 }, { "Etc/GMT-14", 1 }, { "America/Argentina/Buenos_Aires", 1 },
	{ "Cuba", 1 },
	{ "", 0 }, { "Mars/Phobos", 0 }, { "Europe", 0 }, { "../etc/passwd", 0 },
	{ "Europe/../UTC", 0 }, { "/usr/share/zoneinfo/UTC", 0 }, { "/etc/localtime", 0 },
	{ "Europe/Berlin ", 0 }, { "Europe/Berlin\n", 0 }, { "leapseconds", 0 },
	{ "zone.tab", 0 }, { "Europe\\Berlin", 0 }, { "Europe/Berlin/", 0 },
	{ "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 0 },
	/* an existing file named in 63 characters passes, in 64 it does not */
	{ "America" "////////////////////////////////////////////////" "New_York", 1 },
	{ "America" "/////////////////////////////////////////////////" "New_York", 0 },
};

Test(scope, tz_valid)
{
	size_t i;

	for (i = 0; i < NROWS(tz_rows); i++)
		cr_expect_eq(scope_tz_valid(tz_rows[i].name), tz_rows[i].ok, "row %zu: '%s'",
		    i, tz_rows[i].name);
}

/* UTC instant of a date and time. */
static time_t
at(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d,
	    .tm_hour = h, .tm_min = mi, .tm_sec = s };

	return timegm(&tm);
}

/* scope_timewin_allows for the time_restrictions json at now (json must be valid). */
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

#define W917	"{\"start_time\":\"09:00\",\"end_time\":\"17:00\""
#define W2206	"{\"start_time\":\"22:00\",\"end_time\":\"06:00\""
#define NY910	"{\"start_time\":\"09:00\",\"end_time\":\"10:00\"," \
		"\"timezone\":\"America/New_York\"}"

/* Instants are UTC. 2026-11-23, 2026-01-12 and 2026-07-13 are Mondays. */
static const struct { const char *tw; int y, mo, d, h, mi, s; int ok; } win_rows[] = {
	/* plain window, both ends inclusive to the second */
	{ W917 "}", 2026, 11, 23, 8, 59, 59, 0 }, { W917 "}", 2026, 11, 23, 9, 0, 0, 1 },
	{ W917 "}", 2026, 11, 23, 12, 0, 0, 1 }, { W917 "}", 2026, 11, 23, 17, 0, 0, 1 },
	{ W917 "}", 2026, 11, 23, 17, 0, 1, 0 },
	{ "{\"start_time\":\"09:00:30\",\"end_time\":\"09:00:45\"}", 2026, 11, 23, 9, 0, 29, 0 },
	{ "{\"start_time\":\"09:00:30\",\"end_time\":\"09:00:45\"}", 2026, 11, 23, 9, 0, 30, 1 },
	{ "{\"start_time\":\"09:00:30\",\"end_time\":\"09:00:45\"}", 2026, 11, 23, 9, 0, 45, 1 },
	{ "{\"start_time\":\"09:00:30\",\"end_time\":\"09:00:45\"}", 2026, 11, 23, 9, 0, 46, 0 },
	/* start == end: that one second */
	{ "{\"start_time\":\"12:00\",\"end_time\":\"12:00:00\"}", 2026, 11, 23, 11, 59, 59, 0 },
	{ "{\"start_time\":\"12:00\",\"end_time\":\"12:00:00\"}", 2026, 11, 23, 12, 0, 0, 1 },
	{ "{\"start_time\":\"12:00\",\"end_time\":\"12:00:00\"}", 2026, 11, 23, 12, 0, 1, 0 },
	/* wrapping midnight, both sides */
	{ W2206 "}", 2026, 11, 23, 21, 59, 59, 0 }, { W2206 "}", 2026, 11, 23, 22, 0, 0, 1 },
	{ W2206 "}", 2026, 11, 23, 23, 59, 59, 1 }, { W2206 "}", 2026, 11, 24, 0, 0, 0, 1 },
	{ W2206 "}", 2026, 11, 24, 6, 0, 0, 1 }, { W2206 "}", 2026, 11, 24, 6, 0, 1, 0 },
	{ W2206 "}", 2026, 11, 23, 12, 0, 0, 0 },
	/* a wrapped window counts on the day it began: Tuesday 02:00 is Monday's */
	{ W2206 ",\"days\":[\"Monday\"]}", 2026, 11, 23, 23, 0, 0, 1 },
	{ W2206 ",\"days\":[\"Monday\"]}", 2026, 11, 24, 2, 0, 0, 1 },
	{ W2206 ",\"days\":[\"Monday\"]}", 2026, 11, 24, 6, 0, 0, 1 },
	{ W2206 ",\"days\":[\"Monday\"]}", 2026, 11, 23, 2, 0, 0, 0 },
	{ W2206 ",\"days\":[\"Monday\"]}", 2026, 11, 24, 22, 0, 0, 0 },
	/* ... across the week's end: Monday 03:00 is Sunday's, Sunday 03:00 Saturday's */
	{ W2206 ",\"days\":[\"Sunday\"]}", 2026, 11, 23, 3, 0, 0, 1 },
	{ W2206 ",\"days\":[\"Sunday\"]}", 2026, 11, 22, 22, 0, 0, 1 },
	{ W2206 ",\"days\":[\"Sunday\"]}", 2026, 11, 22, 3, 0, 0, 0 },
	{ W2206 ",\"days\":[\"Sunday\"]}", 2026, 11, 23, 22, 30, 0, 0 },
	/* days alone: the day of the instant */
	{ "{\"days\":[\"Sunday\"]}", 2026, 11, 22, 12, 0, 0, 1 },
	{ "{\"days\":[\"Sunday\"]}", 2026, 11, 23, 12, 0, 0, 0 },
	{ "{\"days\":[\"Saturday\",\"Sunday\"]}", 2026, 11, 28, 0, 0, 0, 1 },
	{ "{\"days\":[\"Saturday\",\"Sunday\"]}", 2026, 11, 27, 23, 59, 59, 0 },
	{ W917 ",\"days\":[\"Monday\",\"Friday\"]}", 2026, 11, 27, 10, 0, 0, 1 },
	{ W917 ",\"days\":[\"Monday\",\"Friday\"]}", 2026, 11, 25, 10, 0, 0, 0 },
	/* New York: UTC-5 in January, UTC-4 in July */
	{ NY910, 2026, 1, 12, 14, 0, 0, 1 }, { NY910, 2026, 1, 12, 14, 30, 0, 1 },
	{ NY910, 2026, 1, 12, 13, 59, 59, 0 }, { NY910, 2026, 1, 12, 15, 0, 1, 0 },
	{ NY910, 2026, 7, 13, 14, 30, 0, 0 }, { NY910, 2026, 7, 13, 13, 0, 0, 1 },
	{ NY910, 2026, 7, 13, 12, 59, 59, 0 },
	/* Kolkata: UTC+05:30, no DST */
	{ "{\"start_time\":\"09:00\",\"end_time\":\"09:30\",\"timezone\":\"Asia/Kolkata\"}",
	  2026, 11, 23, 3, 30, 0, 1 },
	{ "{\"start_time\":\"09:00\",\"end_time\":\"09:30\",\"timezone\":\"Asia/Kolkata\"}",
	  2026, 11, 23, 4, 0, 0, 1 },
	{ "{\"start_time\":\"09:00\",\"end_time\":\"09:30\",\"timezone\":\"Asia/Kolkata\"}",
	  2026, 11, 23, 4, 0, 1, 0 },
	/* days in a zone: Sunday 20:00 UTC is Monday 01:30 in Kolkata */
	{ "{\"days\":[\"Monday\"],\"timezone\":\"Asia/Kolkata\"}", 2026, 11, 22, 20, 0, 0, 1 },
	{ "{\"days\":[\"Monday\"],\"timezone\":\"Asia/Kolkata\"}", 2026, 11, 23, 20, 0, 0, 0 },
	/* a wrapped window in a zone: Saturday 02:30 EST belongs to Friday */
	{ W2206 ",\"timezone\":\"America/New_York\",\"days\":[\"Friday\"]}",
	  2026, 11, 28, 7, 30, 0, 1 },
	{ W2206 ",\"timezone\":\"America/New_York\",\"days\":[\"Friday\"]}",
	  2026, 11, 28, 11, 30, 0, 0 },
	/* business_hours_only: 09:00:00 <= t < 17:00:00 UTC, whatever the zone */
	{ "{\"business_hours_only\":true}", 2026, 11, 23, 8, 59, 59, 0 },
	{ "{\"business_hours_only\":true}", 2026, 11, 23, 9, 0, 0, 1 },
	{ "{\"business_hours_only\":true}", 2026, 11, 23, 16, 59, 59, 1 },
	{ "{\"business_hours_only\":true}", 2026, 11, 23, 17, 0, 0, 0 },
	{ "{\"business_hours_only\":true}", 2026, 11, 28, 12, 0, 0, 1 },
	{ "{\"business_hours_only\":true,\"timezone\":\"Asia/Kolkata\"}",
	  2026, 11, 23, 10, 0, 0, 1 },
	{ "{\"business_hours_only\":true,\"timezone\":\"Asia/Kolkata\"}",
	  2026, 11, 23, 5, 0, 0, 0 },
	/* weekdays_only: Monday-Friday UTC */
	{ "{\"weekdays_only\":true}", 2026, 11, 28, 12, 0, 0, 0 },
	{ "{\"weekdays_only\":true}", 2026, 11, 29, 12, 0, 0, 0 },
	{ "{\"weekdays_only\":true}", 2026, 11, 28, 0, 0, 0, 0 },
	{ "{\"weekdays_only\":true}", 2026, 11, 27, 23, 59, 59, 1 },
	{ "{\"weekdays_only\":true}", 2026, 11, 23, 0, 0, 0, 1 },
	{ "{\"weekdays_only\":true,\"timezone\":\"Asia/Kolkata\"}", 2026, 11, 27, 20, 0, 0, 1 },
	/* both vocabularies: every condition applies */
	{ "{\"start_time\":\"08:00\",\"end_time\":\"20:00\",\"weekdays_only\":true}",
	  2026, 11, 28, 12, 0, 0, 0 },
	{ "{\"start_time\":\"08:00\",\"end_time\":\"20:00\",\"weekdays_only\":true}",
	  2026, 11, 23, 12, 0, 0, 1 },
	{ "{\"start_time\":\"08:00\",\"end_time\":\"20:00\",\"weekdays_only\":true}",
	  2026, 11, 23, 21, 0, 0, 0 },
	{ "{\"business_hours_only\":true,\"start_time\":\"12:00\",\"end_time\":\"23:00\"}",
	  2026, 11, 23, 10, 0, 0, 0 },
	{ "{\"business_hours_only\":true,\"start_time\":\"12:00\",\"end_time\":\"23:00\"}",
	  2026, 11, 23, 18, 0, 0, 0 },
	{ "{\"business_hours_only\":true,\"start_time\":\"12:00\",\"end_time\":\"23:00\"}",
	  2026, 11, 23, 13, 0, 0, 1 },
	/* no restriction */
	{ "{}", 2026, 11, 28, 3, 0, 0, 1 },
	{ "{\"start_time\":null,\"end_time\":null,\"days\":null,\"timezone\":null}",
	  2026, 11, 28, 3, 0, 0, 1 },
	{ "{\"business_hours_only\":false,\"weekdays_only\":false}", 2026, 11, 28, 3, 0, 0, 1 },
	{ "{\"days\":[]}", 2026, 11, 28, 3, 0, 0, 1 },
};

Test(scope, time_windows)
{
	size_t i;

	for (i = 0; i < NROWS(win_rows); i++)
		cr_expect_eq(allows(win_rows[i].tw, at(win_rows[i].y, win_rows[i].mo,
		    win_rows[i].d, win_rows[i].h, win_rows[i].mi, win_rows[i].s)),
		    win_rows[i].ok, "row %zu: %s at %04d-%02d-%02d %02d:%02d:%02d", i,
		    win_rows[i].tw, win_rows[i].y, win_rows[i].mo, win_rows[i].d,
		    win_rows[i].h, win_rows[i].mi, win_rows[i].s);
}

static const struct {
	const char *tw;
	int has_window, start_s, end_s;
	const char *tz;
	unsigned days;
	int bho, wdo;
} win_parse_rows[] = {
	{ "{}", 0, 0, 0, "UTC", 0, 0, 0 },
	{ "{\"start_time\":\"09:00\",\"end_time\":\"17:30:15\",\"timezone\":\"Europe/Berlin\","
	  "\"days\":[\"Monday\",\"Sunday\",\"Monday\"]}", 1, 32400, 63015, "Europe/Berlin",
	  0x41, 0, 0 },
	{ "{\"start_time\":\"00:00\",\"end_time\":\"23:59:59\"}", 1, 0, 86399, "UTC", 0, 0, 0 },
	{ "{\"start_time\":\"23:00\",\"end_time\":\"01:00\",\"days\":[\"Wednesday\",\"Saturday\"]}",
	  1, 82800, 3600, "UTC", 0x24, 0, 0 },
	{ "{\"business_hours_only\":true,\"weekdays_only\":false}", 0, 0, 0, "UTC", 0, 1, 0 },
	{ "{\"weekdays_only\":true,\"timezone\":\"Etc/GMT+5\"}", 0, 0, 0, "Etc/GMT+5", 0, 0, 1 },
	{ "{\"timezone\":null,\"days\":null,\"start_time\":null,\"end_time\":null}",
	  0, 0, 0, "UTC", 0, 0, 0 },
	{ "{\"days\":[\"Tuesday\",\"Thursday\",\"Friday\"]}", 0, 0, 0, "UTC", 0x1a, 0, 0 },
};

Test(scope, time_window_parse)
{
	struct json_object *o;
	struct timewin tw;
	char detail[DETAIL_MAX];
	size_t i;

	for (i = 0; i < NROWS(win_parse_rows); i++) {
		o = json_tokener_parse(win_parse_rows[i].tw);
		cr_assert_not_null(o, "row %zu json", i);
		cr_assert_eq(scope_timewin_parse(o, &tw, detail), 0, "row %zu: %s", i, detail);
		cr_expect_eq(tw.has_window, win_parse_rows[i].has_window, "row %zu", i);
		cr_expect_eq(tw.start_s, win_parse_rows[i].start_s, "row %zu start", i);
		cr_expect_eq(tw.end_s, win_parse_rows[i].end_s, "row %zu end", i);
		cr_expect_str_eq(tw.tz, win_parse_rows[i].tz, "row %zu tz", i);
		cr_expect_eq(tw.days, win_parse_rows[i].days, "row %zu days", i);
		cr_expect_eq(tw.business_hours_only, win_parse_rows[i].bho, "row %zu", i);
		cr_expect_eq(tw.weekdays_only, win_parse_rows[i].wdo, "row %zu", i);
		json_object_put(o);
	}
	cr_expect_eq(scope_timewin_parse(NULL, &tw, detail), 0, "NULL is no restriction");
	cr_expect(tw.has_window == 0 && tw.days == 0 && strcmp(tw.tz, "UTC") == 0);
	cr_expect(scope_timewin_allows(&tw, at(2026, 11, 28, 3, 0, 0)));
}

#define TR	"scope.time_restrictions"
#define HHMM	": must be HH:MM or HH:MM:SS"
#define ZONE	".timezone: must be an IANA time zone such as \"Europe/Berlin\""
#define WIN(s, e) "{\"start_time\":\"" s "\",\"end_time\":\"" e "\"}"

static const struct { const char *tw, *detail; } bad_win_rows[] = {
	{ WIN("25:00", "01:00"), TR ".start_time" HHMM },
	{ WIN("24:00", "01:00"), TR ".start_time" HHMM },
	{ WIN("12:00", "12:60"), TR ".end_time" HHMM },
	{ WIN("9:00", "12:00"), TR ".start_time" HHMM },
	{ WIN("12:00:60", "13:00"), TR ".start_time" HHMM },
	{ WIN("12:00", "13:00:5"), TR ".end_time" HHMM },
	{ WIN("12:00 ", "13:00"), TR ".start_time" HHMM },
	{ WIN("1200", "13:00"), TR ".start_time" HHMM },
	{ WIN("12-00", "13:00"), TR ".start_time" HHMM },
	{ WIN("ab:cd", "13:00"), TR ".start_time" HHMM },
	{ WIN("+1:00", "13:00"), TR ".start_time" HHMM },
	{ WIN("12:00:00:00", "13:00"), TR ".start_time" HHMM },
	{ WIN("", "13:00"), TR ".start_time" HHMM },
	{ "{\"start_time\":\"12:00\\u0000\",\"end_time\":\"13:00\"}", TR ".start_time" HHMM },
	{ "{\"start_time\":900,\"end_time\":\"13:00\"}", TR ".start_time" HHMM },
	{ "{\"start_time\":\"12:00\"}", TR ": start_time and end_time go together" },
	{ "{\"end_time\":\"12:00\"}", TR ": start_time and end_time go together" },
	{ "{\"start_time\":\"12:00\",\"end_time\":null}",
	  TR ": start_time and end_time go together" },
	{ "{\"timezone\":\"Mars/Phobos\"}", TR ZONE },
	{ "{\"timezone\":\"../etc/passwd\"}", TR ZONE },
	{ "{\"timezone\":\"/etc/localtime\"}", TR ZONE },
	{ "{\"timezone\":\"Europe\"}", TR ZONE },
	{ "{\"timezone\":\"\"}", TR ZONE },
	{ "{\"timezone\":\"UTC\\u0000x\"}", TR ZONE },
	{ "{\"timezone\":5}", TR ZONE },
	{ "{\"days\":[\"monday\"]}", TR ".days[0]: must be a day name such as \"Monday\"" },
	{ "{\"days\":[\"Monday\",\"Mon\"]}", TR ".days[1]: must be a day name such as \"Monday\"" },
	{ "{\"days\":[1]}", TR ".days[0]: must be a day name such as \"Monday\"" },
	{ "{\"days\":[null]}", TR ".days[0]: must be a day name such as \"Monday\"" },
	{ "{\"days\":\"Monday\"}", TR ".days: must be an array of day names" },
	{ "{\"days\":{}}", TR ".days: must be an array of day names" },
	{ "{\"weekdays_only\":1}", TR ".weekdays_only: must be true or false" },
	{ "{\"business_hours_only\":\"yes\"}", TR ".business_hours_only: must be true or false" },
	{ "{\"hours\":1}", TR ".hours: unknown field" },
	{ "{\"Start_time\":\"12:00\"}", TR ".Start_time: unknown field" },
	{ "[]", TR ": must be an object" },
	{ "\"09:00-17:00\"", TR ": must be an object" },
};

Test(scope, time_window_rejects)
{
	struct json_object *o;
	struct timewin tw;
	char detail[DETAIL_MAX];
	size_t i;

	for (i = 0; i < NROWS(bad_win_rows); i++) {
		o = json_tokener_parse(bad_win_rows[i].tw);
		cr_assert_not_null(o, "row %zu json", i);
		strcpy(detail, "(none)");
		cr_expect_eq(scope_timewin_parse(o, &tw, detail), -1, "row %zu: %s", i,
		    bad_win_rows[i].tw);
		cr_expect_str_eq(detail, bad_win_rows[i].detail, "row %zu", i);
		json_object_put(o);
	}
}

/* The window check in another zone puts TZ back as it found it. */
Test(scope, time_zone_restored)
{
	const char *kolkata = "{\"start_time\":\"09:00\",\"end_time\":\"09:30\","
	    "\"timezone\":\"Asia/Kolkata\"}";
	time_t now = at(2026, 11, 23, 3, 30, 0);
	struct tm tm;

	cr_assert_eq(setenv("TZ", "Europe/Berlin", 1), 0);
	tzset();
	cr_expect(allows(kolkata, now));
	cr_expect_str_eq(getenv("TZ"), "Europe/Berlin");
	cr_assert_not_null(localtime_r(&now, &tm));
	cr_expect_eq(tm.tm_hour, 4, "local time is Berlin's again (UTC+1 in November)");
	cr_assert_eq(unsetenv("TZ"), 0);
	cr_expect(allows(kolkata, now));
	cr_expect_null(getenv("TZ"), "an unset TZ stays unset");
}

/* --- 6.5 usage limits --- */

#define UL	"scope.usage_limits"
#define POS	": must be a positive integer"

static const struct { const char *json; const char *detail; uint32_t m, h, d; } limit_rows[] = {
	{ "{\"requests_per_minute\":5}", NULL, 5, 0, 0 },
	{ "{\"requests_per_hour\":100,\"requests_per_day\":1000}", NULL, 0, 100, 1000 },
	{ "{\"requests_per_minute\":1,\"requests_per_hour\":2,\"requests_per_day\":3}",
	  NULL, 1, 2, 3 },
	{ "{\"requests_per_day\":1000000000}", NULL, 0, 0, 1000000000 },
	{ "{\"requests_per_minute\":null}", NULL, 0, 0, 0 },
	{ "{\"requests_per_second\":null}", NULL, 0, 0, 0 },
	{ "{}", NULL, 0, 0, 0 },
	{ "{\"requests_per_minute\":0}", UL ".requests_per_minute" POS, 0, 0, 0 },
	{ "{\"requests_per_minute\":-1}", UL ".requests_per_minute" POS, 0, 0, 0 },
	{ "{\"requests_per_hour\":1.5}", UL ".requests_per_hour" POS, 0, 0, 0 },
	{ "{\"requests_per_hour\":1.0}", UL ".requests_per_hour" POS, 0, 0, 0 },
	{ "{\"requests_per_day\":\"5\"}", UL ".requests_per_day" POS, 0, 0, 0 },
	{ "{\"requests_per_day\":true}", UL ".requests_per_day" POS, 0, 0, 0 },
	{ "{\"requests_per_day\":[5]}", UL ".requests_per_day" POS, 0, 0, 0 },
	{ "{\"requests_per_minute\":1000000001}",
	  UL ".requests_per_minute: must be at most 1000000000", 0, 0, 0 },
	{ "{\"requests_per_minute\":99999999999999999999}",
	  UL ".requests_per_minute: must be at most 1000000000", 0, 0, 0 },
	{ "{\"requests_per_second\":5}", UL ".requests_per_second: unknown field", 0, 0, 0 },
	{ "{\"requests_per_minute\":5,\"burst\":2}", UL ".burst: unknown field", 0, 0, 0 },
	{ "[]", UL ": must be an object", 0, 0, 0 },
	{ "5", UL ": must be an object", 0, 0, 0 },
};

Test(scope, usage_limits)
{
	struct json_object *o;
	struct limits l;
	char detail[DETAIL_MAX];
	size_t i;

	for (i = 0; i < NROWS(limit_rows); i++) {
		o = json_tokener_parse(limit_rows[i].json);
		cr_assert_not_null(o, "row %zu json", i);
		if (limit_rows[i].detail == NULL) {
			cr_expect_eq(scope_limits_parse(o, &l, detail), 0, "row %zu: %s", i,
			    detail);
			cr_expect(l.per_minute == limit_rows[i].m && l.per_hour ==
			    limit_rows[i].h && l.per_day == limit_rows[i].d, "row %zu", i);
		} else {
			cr_expect_eq(scope_limits_parse(o, &l, detail), -1, "row %zu", i);
			cr_expect_str_eq(detail, limit_rows[i].detail, "row %zu", i);
		}
		json_object_put(o);
	}
	cr_expect_eq(scope_limits_parse(NULL, &l, detail), 0);
	cr_expect(l.per_minute == 0 && l.per_hour == 0 && l.per_day == 0);
}

/* --- the whole scope --- */

#define EMPTY	"{\"server_id\":null,\"permissions\":[],\"ip_restrictions\":[]," \
		"\"time_restrictions\":{},\"usage_limits\":{}}"

/* out NULL: rejected with detail. */
static const struct { const char *in, *out, *detail; } norm_rows[] = {
	{ NULL, EMPTY, NULL },
	{ "null", EMPTY, NULL },
	{ "{}", EMPTY, NULL },
	{ "{\"server_id\":null,\"permissions\":null,\"ip_restrictions\":null,"
	  "\"time_restrictions\":null,\"usage_limits\":null,\"other\":[1]}", EMPTY, NULL },
	{ "{\"server_id\":\"s1\",\"permissions\":[\"tools.read\"],"
	  "\"ip_restrictions\":[\" 10.0.0.0/8 \",\"::1\"],\"time_restrictions\":"
	  "{\"weekdays_only\":true,\"days\":null},\"usage_limits\":{\"requests_per_day\":9,"
	  "\"requests_per_hour\":null},\"extra\":1}",
	  "{\"server_id\":\"s1\",\"permissions\":[\"tools.read\"],\"ip_restrictions\":"
	  "[\"10.0.0.0\\/8\",\"::1\"],\"time_restrictions\":{\"weekdays_only\":true},"
	  "\"usage_limits\":{\"requests_per_day\":9}}", NULL },
	/* permissions and addresses are kept as written (only blanks trimmed) */
	{ "{\"permissions\":[\"tools:execute\",\"*\",\"servers.*\",\"tools:execute\"],"
	  "\"ip_restrictions\":[\"\\t192.0.2.77/24\\n\",\"2001:DB8::/32\",\"::ffff:10.0.0.1\"]}",
	  "{\"server_id\":null,\"permissions\":[\"tools:execute\",\"*\",\"servers.*\","
	  "\"tools:execute\"],\"ip_restrictions\":[\"192.0.2.77\\/24\",\"2001:DB8::\\/32\","
	  "\"::ffff:10.0.0.1\"],\"time_restrictions\":{},\"usage_limits\":{}}", NULL },
	{ "{\"time_restrictions\":{\"start_time\":\"22:00\",\"end_time\":\"06:00:00\","
	  "\"timezone\":\"Asia/Kolkata\",\"days\":[\"Monday\"]}}",
	  "{\"server_id\":null,\"permissions\":[],\"ip_restrictions\":[],"
	  "\"time_restrictions\":{\"start_time\":\"22:00\",\"end_time\":\"06:00:00\","
	  "\"timezone\":\"Asia\\/Kolkata\",\"days\":[\"Monday\"]},\"usage_limits\":{}}", NULL },
	/* rejections */
	{ "[1]", NULL, "scope: must be an object" },
	{ "\"tools.read\"", NULL, "scope: must be an object" },
	{ "{\"server_id\":5}", NULL, "scope.server_id: must be a string" },
	{ "{\"server_id\":\"\"}", NULL, "scope.server_id: must be 1 to 255 characters" },
	{ "{\"server_id\":\"a\\u0000b\"}", NULL, "scope.server_id: must not contain NUL" },
	{ "{\"server_id\":5,\"permissions\":5}", NULL, "scope.server_id: must be a string" },
	{ "{\"permissions\":[\"tools.read\",\"servers.use\",\"x y\"]}", NULL,
	  "scope.permissions[2]: invalid permission 'x y'" },
	{ "{\"permissions\":[\"tools.read\",\"a.b.c\"]}", NULL,
	  "scope.permissions[1]: invalid permission 'a.b.c'" },
	{ "{\"permissions\":[\"\"]}", NULL, "scope.permissions[0]: invalid permission ''" },
	{ "{\"permissions\":[5]}", NULL, "scope.permissions[0]: must be a string" },
	{ "{\"permissions\":[null]}", NULL, "scope.permissions[0]: must be a string" },
	{ "{\"permissions\":[\"tools.read\\u0000x\"]}", NULL,
	  "scope.permissions[0]: must be a string" },
	{ "{\"permissions\":\"tools.read\"}", NULL,
	  "scope.permissions: must be an array of strings" },
	{ "{\"ip_restrictions\":[\"192.168.1.1\",\"10.0.0.300\"]}", NULL,
	  "scope.ip_restrictions[1]: invalid IP address or CIDR network" },
	{ "{\"ip_restrictions\":[\"10.0.0.0/33\"]}", NULL,
	  "scope.ip_restrictions[0]: invalid IP address or CIDR network" },
	{ "{\"ip_restrictions\":[\"\"]}", NULL,
	  "scope.ip_restrictions[0]: invalid IP address or CIDR network" },
	{ "{\"ip_restrictions\":[7]}", NULL, "scope.ip_restrictions[0]: must be a string" },
	{ "{\"ip_restrictions\":\"10.0.0.1\"}", NULL,
	  "scope.ip_restrictions: must be an array of strings" },
	{ "{\"time_restrictions\":{\"hours\":1}}", NULL,
	  "scope.time_restrictions.hours: unknown field" },
	{ "{\"time_restrictions\":{\"start_time\":\"08:00\"}}", NULL,
	  "scope.time_restrictions: start_time and end_time go together" },
	{ "{\"time_restrictions\":[]}", NULL, "scope.time_restrictions: must be an object" },
	{ "{\"usage_limits\":{\"requests_per_minute\":0}}", NULL,
	  "scope.usage_limits.requests_per_minute: must be a positive integer" },
	{ "{\"usage_limits\":{\"burst\":1}}", NULL, "scope.usage_limits.burst: unknown field" },
	{ "{\"usage_limits\":true}", NULL, "scope.usage_limits: must be an object" },
};

Test(scope, normalize)
{
	struct json_object *in, *out;
	char detail[DETAIL_MAX];
	size_t i;

	for (i = 0; i < NROWS(norm_rows); i++) {
		in = norm_rows[i].in ? json_tokener_parse(norm_rows[i].in) : NULL;
		if (norm_rows[i].out != NULL) {
			cr_assert_eq(scope_normalize(in, &out, detail), 0, "row %zu: %s", i,
			    detail);
			cr_expect_str_eq(json_object_to_json_string_ext(out,
			    JSON_C_TO_STRING_PLAIN), norm_rows[i].out, "row %zu", i);
			json_object_put(out);
		} else {
			cr_assert_not_null(in, "row %zu json", i);
			out = (struct json_object *)1;
			cr_expect_eq(scope_normalize(in, &out, detail), -1, "row %zu", i);
			cr_expect_str_eq(detail, norm_rows[i].detail, "row %zu", i);
			cr_expect_null(out, "row %zu", i);
		}
		json_object_put(in);
	}
}

/* A scope with a list of n copies of s under key: 0 or -1 from scope_normalize. */
static int
normalize_list(const char *key, const char *s, int n, char *detail)
{
	struct json_object *in = json_object_new_object(), *arr = json_object_new_array(), *out;
	int i, rc;

	for (i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(s));
	json_object_object_add(in, key, arr);
	rc = scope_normalize(in, &out, detail);
	if (rc == 0) {
		cr_expect_eq(json_object_array_length(json_object_object_get(out, key)),
		    (size_t)n);
		json_object_put(out);
	}
	json_object_put(in);
	return rc;
}

Test(scope, hundred_entries_at_most)
{
	char detail[DETAIL_MAX];

	cr_expect_eq(normalize_list("permissions", "tools.read", 100, detail), 0);
	cr_expect_eq(normalize_list("permissions", "tools.read", 101, detail), -1);
	cr_expect_str_eq(detail, "scope.permissions: at most 100 entries");
	cr_expect_eq(normalize_list("ip_restrictions", "10.0.0.1", 100, detail), 0);
	cr_expect_eq(normalize_list("ip_restrictions", "10.0.0.1", 101, detail), -1);
	cr_expect_str_eq(detail, "scope.ip_restrictions: at most 100 entries");
}

/* A long bad permission or key is quoted in part, cut between UTF-8 characters. */
Test(scope, long_values_quoted_in_part)
{
	char bad[302], key[201], detail[DETAIL_MAX], want[DETAIL_MAX];
	struct json_object *in, *tr, *out;
	size_t i;

	bad[0] = 'x';                   /* then 150 e-acute (2 bytes each): byte 64 is */
	for (i = 1; i < 301; i += 2)    /* the middle of a character, so the cut is at 63 */
		memcpy(bad + i, "\xc3\xa9", 2);
	bad[301] = '\0';
	cr_expect_eq(normalize_list("permissions", bad, 1, detail), -1);
	snprintf(want, sizeof(want), "scope.permissions[0]: invalid permission '%.63s...'", bad);
	cr_expect_str_eq(detail, want);
	cr_expect(util_utf8_valid(detail, strlen(detail)), "detail is valid UTF-8");

	memset(key, 'k', 200);
	key[200] = '\0';
	in = json_object_new_object();
	tr = json_object_new_object();
	json_object_object_add(tr, key, json_object_new_int(1));
	json_object_object_add(in, "time_restrictions", tr);
	cr_expect_eq(scope_normalize(in, &out, detail), -1);
	snprintf(want, sizeof(want), "scope.time_restrictions.%.64s...: unknown field", key);
	cr_expect_str_eq(detail, want);
	json_object_put(in);
}
