/*
 * test_util.c - util.c: ids, hex, SHA-256, time, numbers, UTF-8, e-mail,
 * form decoding and string lists; and log.c (escaping, levels, the line). Parsers are table-driven: one row per
 * case with its input and expected outcome.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "log.h"
#include "util.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

/* --- random ids --- */

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(a, b);
}

Test(util, uuid4_format_and_bits)
{
	char	u[UUID_LEN + 1];
	size_t	i;
	int	k;

	for (k = 0; k < 200; k++) {
		cr_assert_eq(util_uuid4(u), 0);
		cr_assert_eq(strlen(u), UUID_LEN);
		for (i = 0; i < UUID_LEN; i++) {
			if (i == 8 || i == 13 || i == 18 || i == 23)
				cr_assert_eq(u[i], '-', "%s", u);
			else
				cr_assert(strchr("0123456789abcdef", u[i]),
				    "%s", u);
		}
		cr_assert_eq(u[14], '4', "version nibble: %s", u);
		cr_assert(strchr("89ab", u[19]) != NULL, "variant: %s", u);
		cr_assert(util_is_uuid(u), "%s", u);
	}
}

Test(util, uuid4_unique)
{
	enum { N = 2000 };
	static char	u[N][UUID_LEN + 1];
	size_t		i;

	for (i = 0; i < N; i++)
		cr_assert_eq(util_uuid4(u[i]), 0);
	qsort(u, N, sizeof(u[0]), cmpstr);
	for (i = 1; i < N; i++)
		cr_assert_str_neq(u[i - 1], u[i]);
}

/* Version 7: lowercase, dashes, version and variant bits, the time in its
 * first 48 bits, and unique. */
Test(util, uuid7_format_time_and_unique)
{
	enum { N = 2000 };
	static char	u[N][UUID_LEN + 1];
	int64_t		before = util_now_ms(), ms;
	size_t		i;

	for (i = 0; i < N; i++) {
		cr_assert_eq(util_uuid7(u[i]), 0);
		cr_assert_eq(strlen(u[i]), UUID_LEN);
		cr_assert(u[i][8] == '-' && u[i][13] == '-' && u[i][18] == '-' &&
		    u[i][23] == '-', "%s", u[i]);
		cr_assert_eq(strspn(u[i], "0123456789abcdef-"), UUID_LEN, "%s", u[i]);
		cr_assert_eq(u[i][14], '7', "version nibble: %s", u[i]);
		cr_assert(strchr("89ab", u[i][19]) != NULL, "variant: %s", u[i]);
		ms = (int64_t)strtoull((char[]){ u[i][0], u[i][1], u[i][2],
		    u[i][3], u[i][4], u[i][5], u[i][6], u[i][7], u[i][9],
		    u[i][10], u[i][11], u[i][12], '\0' }, NULL, 16);
		cr_assert(ms >= before && ms <= util_now_ms(), "time: %s", u[i]);
	}
	qsort(u, N, sizeof(u[0]), cmpstr);
	for (i = 1; i < N; i++)
		cr_assert_str_neq(u[i - 1], u[i]);
}

Test(util, team_id_format_and_unique)
{
	enum { N = 1000 };
	static char	t[N][TEAMID_LEN + 1];
	size_t		i, j;

	for (i = 0; i < N; i++) {
		cr_assert_eq(util_team_id(t[i]), 0);
		cr_assert_eq(strlen(t[i]), TEAMID_LEN);
		for (j = 0; j < TEAMID_LEN; j++)
			cr_assert(strchr("0123456789abcdef", t[i][j]));
		cr_assert(util_is_team_id(t[i]));
	}
	qsort(t, N, sizeof(t[0]), cmpstr);
	for (i = 1; i < N; i++)
		cr_assert_str_neq(t[i - 1], t[i]);
}

static const struct { const char *s; int uuid; } uuid_rows[] = {
	{ "3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4e", 1 },
	{ "00000000-0000-4000-8000-000000000000", 1 },
	{ "ffffffff-ffff-4fff-bfff-ffffffffffff", 1 },
	{ "3F2B8C1E-4D5A-4B6C-8D7E-9F0A1B2C3D4E", 0 },   /* uppercase */
	{ "3f2b8c1e-4d5a-1b6c-8d7e-9f0a1b2c3d4e", 0 },   /* version 1 */
	{ "3f2b8c1e-4d5a-4b6c-cd7e-9f0a1b2c3d4e", 0 },   /* variant c */
	{ "3f2b8c1e-4d5a-4b6c-7d7e-9f0a1b2c3d4e", 0 },   /* variant 7 */
	{ "3f2b8c1e4d5a-4b6c-8d7e-9f0a1b2c3d4e0", 0 },   /* dash moved */
	{ "3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4", 0 },    /* short */
	{ "3f2b8c1e-4d5a-4b6c-8d7e-9f0a1b2c3d4ee", 0 },  /* long */
	{ "3f2b8c1g-4d5a-4b6c-8d7e-9f0a1b2c3d4e", 0 },   /* non-hex */
	{ "", 0 },
};

Test(util, is_uuid_rows)
{
	size_t	i;

	for (i = 0; i < NROWS(uuid_rows); i++)
		cr_expect_eq(util_is_uuid(uuid_rows[i].s), uuid_rows[i].uuid,
		    "row %zu: %s", i, uuid_rows[i].s);
	cr_expect_eq(util_is_uuid(NULL), 0);
}

static const struct { const char *s; int ok; } teamid_rows[] = {
	{ "0123456789abcdef0123456789abcdef", 1 },
	{ "ffffffffffffffffffffffffffffffff", 1 },
	{ "0123456789ABCDEF0123456789abcdef", 0 },
	{ "0123456789abcdef0123456789abcde", 0 },
	{ "0123456789abcdef0123456789abcdef0", 0 },
	{ "0123456789abcdef-123456789abcdef", 0 },
	{ "", 0 },
};

Test(util, is_team_id_rows)
{
	size_t	i;

	for (i = 0; i < NROWS(teamid_rows); i++)
		cr_expect_eq(util_is_team_id(teamid_rows[i].s),
		    teamid_rows[i].ok, "row %zu: %s", i, teamid_rows[i].s);
	cr_expect_eq(util_is_team_id(NULL), 0);
}

Test(util, random_bytes)
{
	unsigned char	a[32], b[32];

	cr_assert_eq(util_random(a, sizeof(a)), 0);
	cr_assert_eq(util_random(b, sizeof(b)), 0);
	cr_assert_neq(memcmp(a, b, sizeof(a)), 0);
	cr_assert_eq(util_random(a, 0), 0);
}

/* --- hex, digest, comparison --- */

Test(util, hex)
{
	const unsigned char	in[] = { 0x00, 0xff, 0x10, 0xa5, 0x09 };
	char			out[2 * sizeof(in) + 1];

	util_hex(in, sizeof(in), out);
	cr_assert_str_eq(out, "00ff10a509");
	util_hex(in, 0, out);
	cr_assert_str_eq(out, "");
}

static const struct { const char *in; const char *hex; } sha_rows[] = {
	{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
	{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
};

Test(util, sha256_known_vectors)
{
	char	out[SHA256_HEX + 1];
	size_t	i;

	for (i = 0; i < NROWS(sha_rows); i++) {
		util_sha256_hex(sha_rows[i].in, strlen(sha_rows[i].in), out);
		cr_expect_str_eq(out, sha_rows[i].hex, "row %zu", i);
	}
}

Test(util, ct_eq)
{
	cr_expect_eq(util_ct_eq("abcd", "abcd", 4), 1);
	cr_expect_eq(util_ct_eq("abcd", "abce", 4), 0);
	cr_expect_eq(util_ct_eq("xbcd", "abcd", 4), 0);
	cr_expect_eq(util_ct_eq("abcd", "abXX", 2), 1);
	cr_expect_eq(util_ct_eq("a", "b", 0), 1);
}

/* --- time --- */

Test(util, now_ms_is_sane)
{
	int64_t	a = util_now_ms(), b = util_now_ms();

	cr_assert_gt(a, INT64_C(1700000000000));        /* after Nov 2023 */
	cr_assert_geq(b, a);
}

static const struct { int64_t ms; const char *s; } fmt_rows[] = {
	{ 0, "1970-01-01T00:00:00.000Z" },
	{ INT64_C(1795336961123), "2026-11-22T08:42:41.123Z" },
	{ INT64_C(951782400000), "2000-02-29T00:00:00.000Z" },
	{ -1, "1969-12-31T23:59:59.999Z" },
	{ INT64_C(253402300799999), "9999-12-31T23:59:59.999Z" },
	{ INT64_C(1700000000001), "2023-11-14T22:13:20.001Z" },
};

Test(util, time_fmt_rows)
{
	char	buf[TIME_LEN];
	size_t	i;

	for (i = 0; i < NROWS(fmt_rows); i++) {
		util_time_fmt(fmt_rows[i].ms, buf);
		cr_expect_str_eq(buf, fmt_rows[i].s, "row %zu", i);
	}
}

/*
 * The arithmetic of util_time_fmt against gmtime_r (RFC 3339 years have
 * four digits: zero-padded, which strftime's %Y is not below 1000).
 */
static void
fmt_by_libc(int64_t ms, char out[64])
{
	int64_t		secs = ms / 1000, frac = ms % 1000;
	time_t		t;
	struct tm	tm;

	if (frac < 0) {
		frac += 1000;
		secs--;
	}
	t = (time_t)secs;
	cr_assert_not_null(gmtime_r(&t, &tm));
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)frac);
}

Test(util, time_fmt_matches_gmtime)
{
	/* 0000-01-01, leap days, century rules, 1969/1970, 9999-12-31 */
	static const int64_t edge[] = { INT64_C(-62167219200000),
	    INT64_C(-62167219199999), INT64_C(-2208988800000),
	    INT64_C(-2203891200000), INT64_C(-1), 0, 999, 1000,
	    INT64_C(68169600000), INT64_C(951782400000),
	    INT64_C(951868799999), INT64_C(4107542400000),
	    INT64_C(253402300799999), INT64_C(253402300800000) };
	char		want[64], got[TIME_LEN];
	uint64_t	r;
	int64_t		ms;
	size_t		i;

	for (i = 0; i < NROWS(edge); i++) {
		fmt_by_libc(edge[i], want);
		util_time_fmt(edge[i], got);
		cr_expect_str_eq(got, want, "%lld", (long long)edge[i]);
	}
	for (i = 0; i < 20000; i++) {
		cr_assert_eq(util_random(&r, sizeof(r)), 0);
		/* years 0 to 9999 and a little beyond (through gmtime_r) */
		ms = (int64_t)(r % UINT64_C(316000000000000)) -
		    INT64_C(62167219200000);
		fmt_by_libc(ms, want);
		util_time_fmt(ms, got);
		cr_expect_str_eq(got, want, "%lld", (long long)ms);
	}
}

static const struct { const char *s; int rc; int64_t ms; } parse_rows[] = {
	{ "2026-11-22T08:42:41.123Z", 0, INT64_C(1795336961123) },
	{ "2026-11-22T08:42:41Z", 0, INT64_C(1795336961000) },
	{ "2026-11-22T08:42:41.1Z", 0, INT64_C(1795336961100) },
	{ "2026-11-22T08:42:41.12Z", 0, INT64_C(1795336961120) },
	{ "2026-11-22T08:42:41.123999999Z", 0, INT64_C(1795336961123) },
	{ "2026-11-22t08:42:41.123z", 0, INT64_C(1795336961123) },
	{ "2026-11-22T09:42:41.123+01:00", 0, INT64_C(1795336961123) },
	{ "2026-11-22T03:12:41.123-05:30", 0, INT64_C(1795336961123) },
	{ "2026-11-22T08:42:41.123+00:00", 0, INT64_C(1795336961123) },
	{ "2026-11-22T08:42:41.123-00:00", 0, INT64_C(1795336961123) },
	{ "2026-11-23T07:42:41.123+23:00", 0, INT64_C(1795336961123) },
	{ "2000-02-29T00:00:00Z", 0, INT64_C(951782400000) },
	{ "1970-01-01T00:00:00Z", 0, 0 },
	{ "1969-12-31T23:59:59Z", 0, -1000 },
	{ "1970-01-01T01:00:00+01:00", 0, 0 },
	/* bad */
	{ "", -1, 0 },
	{ "2026-11-22", -1, 0 },
	{ "2026-11-22T08:42:41", -1, 0 },
	{ "2026-11-22T08:42Z", -1, 0 },
	{ "2026-11-22 08:42:41Z", -1, 0 },
	{ "2026-11-22T08:42:41.Z", -1, 0 },
	{ "2026-11-22T08:42:41,123Z", -1, 0 },
	{ "2026-11-22T08:42:41.123", -1, 0 },
	{ "2026-11-22T08:42:41+0100", -1, 0 },
	{ "2026-11-22T08:42:41+01", -1, 0 },
	{ "2026-11-22T08:42:41+24:00", -1, 0 },
	{ "2026-11-22T08:42:41+01:60", -1, 0 },
	{ "2026-11-22T08:42:41Zx", -1, 0 },
	{ "2026-11-22T08:42:41Z ", -1, 0 },
	{ " 2026-11-22T08:42:41Z", -1, 0 },
	{ "2026-13-01T00:00:00Z", -1, 0 },
	{ "2026-00-01T00:00:00Z", -1, 0 },
	{ "2026-11-00T00:00:00Z", -1, 0 },
	{ "2026-11-31T00:00:00Z", -1, 0 },
	{ "2026-02-29T00:00:00Z", -1, 0 },
	{ "1900-02-29T00:00:00Z", -1, 0 },
	{ "2026-11-22T24:00:00Z", -1, 0 },
	{ "2026-11-22T08:60:00Z", -1, 0 },
	{ "2026-11-22T08:42:61Z", -1, 0 },
	{ "26-11-22T08:42:41Z", -1, 0 },
	{ "2026-1-22T08:42:41Z", -1, 0 },
	{ "+2026-11-22T08:42:41Z", -1, 0 },
	{ "2026-11-22T08:42:41.12a3Z", -1, 0 },
	{ "2026/11/22T08:42:41Z", -1, 0 },
};

Test(util, time_parse_rows)
{
	int64_t	ms;
	size_t	i;

	for (i = 0; i < NROWS(parse_rows); i++) {
		ms = 42;
		cr_expect_eq(util_time_parse(parse_rows[i].s, &ms),
		    parse_rows[i].rc, "row %zu: %s", i, parse_rows[i].s);
		if (parse_rows[i].rc == 0)
			cr_expect_eq(ms, parse_rows[i].ms, "row %zu: %s -> %lld",
			    i, parse_rows[i].s, (long long)ms);
	}
}

Test(util, time_round_trip)
{
	char		buf[TIME_LEN];
	int64_t		in, out;
	uint32_t	r;
	int		k;

	for (k = 0; k < 1000; k++) {
		cr_assert_eq(util_random(&r, sizeof(r)), 0);
		in = (int64_t)r * 1000 + r % 1000;      /* spans 1970..2106 */
		util_time_fmt(in, buf);
		cr_assert_eq(util_time_parse(buf, &out), 0, "%s", buf);
		cr_assert_eq(out, in, "%s", buf);
	}
}

/* --- numbers --- */

static const struct {
	const char	*s;
	uint64_t	 min, max;
	int		 rc;
	uint64_t	 v;
} uint_rows[] = {
	{ "0", 0, 10, 0, 0 },
	{ "10", 0, 10, 0, 10 },
	{ "7", 1, 10, 0, 7 },
	{ "01", 0, 10, 0, 1 },
	{ "007", 0, 10, 0, 7 },
	{ "525600", 1, 525600, 0, 525600 },
	{ "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
	{ "18446744073709551610", 0, UINT64_MAX, 0, UINT64_C(18446744073709551610) },
	/* bad */
	{ "", 0, 10, -1, 0 },
	{ "-1", 0, 10, -1, 0 },
	{ "-0", 0, 10, -1, 0 },
	{ "+1", 0, 10, -1, 0 },
	{ " 1", 0, 10, -1, 0 },
	{ "1 ", 0, 10, -1, 0 },
	{ "1\n", 0, 10, -1, 0 },
	{ "1a", 0, 10, -1, 0 },
	{ "a1", 0, 10, -1, 0 },
	{ "0x10", 0, 100, -1, 0 },
	{ "1.0", 0, 10, -1, 0 },
	{ "1e3", 0, 10000, -1, 0 },
	{ "11", 0, 10, -1, 0 },
	{ "0", 1, 10, -1, 0 },
	{ "525601", 1, 525600, -1, 0 },
	{ "18446744073709551616", 0, UINT64_MAX, -1, 0 },
	{ "18446744073709551620", 0, UINT64_MAX, -1, 0 },
	{ "99999999999999999999999", 0, UINT64_MAX, -1, 0 },
};

Test(util, parse_uint_rows)
{
	uint64_t	v;
	size_t		i;

	for (i = 0; i < NROWS(uint_rows); i++) {
		v = 12345;
		cr_expect_eq(util_parse_uint(uint_rows[i].s, uint_rows[i].min,
		    uint_rows[i].max, &v), uint_rows[i].rc, "row %zu: \"%s\"",
		    i, uint_rows[i].s);
		if (uint_rows[i].rc == 0)
			cr_expect_eq(v, uint_rows[i].v, "row %zu", i);
		else
			cr_expect_eq(v, 12345, "row %zu: out touched", i);
	}
	cr_expect_eq(util_parse_uint(NULL, 0, 10, &v), -1);
}

/* --- UTF-8 --- */

static const struct { const char *s; size_t n; int ok; } utf8_rows[] = {
	{ "", 0, 1 },
	{ "abc", 3, 1 },
	{ "\xc3\xa9", 2, 1 },                   /* U+00E9 */
	{ "\xc2\x80", 2, 1 },                   /* U+0080, smallest 2-byte */
	{ "\xdf\xbf", 2, 1 },                   /* U+07FF */
	{ "\xe0\xa0\x80", 3, 1 },               /* U+0800 */
	{ "\xe2\x82\xac", 3, 1 },               /* euro sign */
	{ "\xed\x9f\xbf", 3, 1 },               /* U+D7FF */
	{ "\xee\x80\x80", 3, 1 },               /* U+E000 */
	{ "\xef\xbf\xbf", 3, 1 },               /* U+FFFF */
	{ "\xf0\x90\x80\x80", 4, 1 },           /* U+10000 */
	{ "\xf0\x9f\x98\x80", 4, 1 },           /* emoji */
	{ "\xf4\x8f\xbf\xbf", 4, 1 },           /* U+10FFFF */
	{ "\x7f", 1, 1 },
	/* bad */
	{ "a\0b", 3, 0 },                       /* NUL */
	{ "\0", 1, 0 },
	{ "\xc0\x80", 2, 0 },                   /* overlong NUL */
	{ "\xc1\xbf", 2, 0 },                   /* overlong */
	{ "\xe0\x80\x80", 3, 0 },               /* overlong 3-byte */
	{ "\xe0\x9f\xbf", 3, 0 },               /* overlong 3-byte */
	{ "\xf0\x8f\xbf\xbf", 4, 0 },           /* overlong 4-byte */
	{ "\xed\xa0\x80", 3, 0 },               /* U+D800 surrogate */
	{ "\xed\xbf\xbf", 3, 0 },               /* U+DFFF surrogate */
	{ "\xf4\x90\x80\x80", 4, 0 },           /* U+110000 */
	{ "\xf5\x80\x80\x80", 4, 0 },           /* lead byte F5 */
	{ "\xf8\x88\x80\x80\x80", 5, 0 },       /* 5-byte form */
	{ "\xff", 1, 0 },
	{ "\xfe", 1, 0 },
	{ "\x80", 1, 0 },                       /* lone continuation */
	{ "a\xbf", 2, 0 },
	{ "\xc3", 1, 0 },                       /* truncated 2-byte */
	{ "\xe2\x82", 2, 0 },                   /* truncated 3-byte */
	{ "\xf0\x9f\x98", 3, 0 },               /* truncated 4-byte */
	{ "\xc3\x28", 2, 0 },                   /* bad continuation */
	{ "\xe2\x28\xa1", 3, 0 },
	{ "\xf0\x28\x8c\xbc", 4, 0 },
	{ "ok\xc3\xa9\xe2\x82", 7, 0 },         /* good then truncated */
};

Test(util, utf8_valid_rows)
{
	size_t	i;

	for (i = 0; i < NROWS(utf8_rows); i++)
		cr_expect_eq(util_utf8_valid(utf8_rows[i].s, utf8_rows[i].n),
		    utf8_rows[i].ok, "row %zu", i);
}

Test(util, utf8_valid_respects_length)
{
	/* Only the first n bytes count: the bad tail is outside. */
	cr_expect_eq(util_utf8_valid("ab\xff", 2), 1);
	/* A sequence cut by n is truncated even if the buffer goes on. */
	cr_expect_eq(util_utf8_valid("\xe2\x82\xac", 2), 0);
}

static const struct { const char *s; size_t n; } utf8len_rows[] = {
	{ "", 0 },
	{ "abc", 3 },
	{ "\xc3\xa9t\xc3\xa9", 3 },
	{ "a\xe2\x82\xac\xf0\x9f\x98\x80", 3 },
	{ "\xf4\x8f\xbf\xbf\xf4\x8f\xbf\xbf", 2 },
};

Test(util, utf8_len_rows)
{
	size_t	i;

	for (i = 0; i < NROWS(utf8len_rows); i++)
		cr_expect_eq(util_utf8_len(utf8len_rows[i].s),
		    utf8len_rows[i].n, "row %zu", i);
}

/* --- e-mail --- */

static const struct { const char *s; int ok; } email_rows[] = {
	{ "a@b", 1 },
	{ "alice@example.com", 1 },
	{ "Alice.Smith+tag@Sub.Example-X.org", 1 },
	{ "x@localhost", 1 },
	{ "o'brien@x.io", 1 },
	{ "a_b-c!#$%&*=?^`{|}~@x.io", 1 },
	{ "a@1.2.3.4", 1 },
	{ "a@x-y.z", 1 },
	/* bad */
	{ "", 0 },
	{ "a", 0 },
	{ "@x.com", 0 },
	{ "a@", 0 },
	{ "a@@x.com", 0 },
	{ "a@b@x.com", 0 },
	{ "a b@x.com", 0 },
	{ " a@x.com", 0 },
	{ "a@x.com ", 0 },
	{ "a@x .com", 0 },
	{ "\"a\"@x.com", 0 },
	{ "a<b@x.com", 0 },
	{ "a>b@x.com", 0 },
	{ "a,b@x.com", 0 },
	{ "a;b@x.com", 0 },
	{ "a(b@x.com", 0 },
	{ "a)b@x.com", 0 },
	{ "a\\b@x.com", 0 },
	{ "a\tb@x.com", 0 },
	{ "a\x7f@x.com", 0 },
	{ "\xc3\xa9@x.com", 0 },
	{ "a@x.com\n", 0 },
	{ "a@.x.com", 0 },
	{ "a@x.com.", 0 },
	{ "a@x..com", 0 },
	{ "a@.", 0 },
	{ "a@-x.com", 0 },
	{ "a@x-.com", 0 },
	{ "a@x.-com", 0 },
	{ "a@x_y.com", 0 },
	{ "a@x+y.com", 0 },
	{ "a@[1.2.3.4]", 0 },
	{ "a@x\xc3\xa9.com", 0 },
};

Test(util, email_rows)
{
	size_t	i;

	for (i = 0; i < NROWS(email_rows); i++)
		cr_expect_eq(util_email_valid(email_rows[i].s), email_rows[i].ok,
		    "row %zu: %s", i, email_rows[i].s);
	cr_expect_eq(util_email_valid(NULL), 0);
}

Test(util, email_lengths)
{
	char	buf[400];

	/* 254 bytes total is the limit: local part "a"*(254-2-3)... */
	memset(buf, 'a', 249);
	memcpy(buf + 249, "@x.io", 6);                  /* 254 bytes */
	cr_expect_eq(strlen(buf), 254);
	cr_expect_eq(util_email_valid(buf), 1);
	memset(buf, 'a', 250);
	memcpy(buf + 250, "@x.io", 6);                  /* 255 bytes */
	cr_expect_eq(util_email_valid(buf), 0);
	/* A domain label of 63 characters is fine, 64 is not. */
	memcpy(buf, "a@", 2);
	memset(buf + 2, 'b', 63);
	memcpy(buf + 65, ".io", 4);
	cr_expect_eq(util_email_valid(buf), 1);
	memset(buf + 2, 'b', 64);
	memcpy(buf + 66, ".io", 4);
	cr_expect_eq(util_email_valid(buf), 0);
}

/* --- case helpers --- */

Test(util, lower_and_ieq)
{
	char	buf[8];

	cr_expect_str_eq(util_lower("AbC@X.IO", buf, sizeof(buf)), "abc@x.i");
	cr_expect_str_eq(util_lower("ABCDEF", buf, 4), "abc");
	cr_expect_str_eq(util_lower("", buf, sizeof(buf)), "");
	cr_expect_str_eq(util_lower("\xc3\x89Z", buf, sizeof(buf)), "\xc3\x89z");
	buf[0] = 'q';
	util_lower("X", buf, 0);
	cr_expect_eq(buf[0], 'q');
	cr_expect_eq(util_ieq("Alice@X.io", "alice@x.IO"), 1);
	cr_expect_eq(util_ieq("alice", "alicf"), 0);
	cr_expect_eq(util_ieq("alice", "alice2"), 0);
}

/* --- form decoding --- */

static const struct { const char *in; size_t n; const char *out; } dec_rows[] = {
	{ "", 0, "" },
	{ "abc", 3, "abc" },
	{ "a+b", 3, "a b" },
	{ "a%20b", 5, "a b" },
	{ "%41%62", 6, "Ab" },
	{ "%e2%82%ac", 9, "\xe2\x82\xac" },
	{ "%E2%82%AC", 9, "\xe2\x82\xac" },
	{ "100%25", 6, "100%" },
	{ "%2B", 3, "+" },
	{ "abcdef", 3, "abc" },                 /* only n bytes */
	/* bad */
	{ "%", 1, NULL },
	{ "%4", 2, NULL },
	{ "a%4", 3, NULL },
	{ "%zz", 3, NULL },
	{ "%g1", 3, NULL },
	{ "%1g", 3, NULL },
	{ "%00", 3, NULL },
	{ "a%00b", 5, NULL },
	{ "a\0b", 3, NULL },                    /* raw NUL */
	{ "%41%4", 5, NULL },
	{ "%4142", 2, NULL },                   /* escape cut by n */
};

Test(util, urldecode_rows)
{
	char	*s;
	size_t	 i;

	for (i = 0; i < NROWS(dec_rows); i++) {
		s = util_urldecode(dec_rows[i].in, dec_rows[i].n);
		if (dec_rows[i].out == NULL)
			cr_expect_null(s, "row %zu: %s", i, dec_rows[i].in);
		else {
			cr_expect_not_null(s, "row %zu: %s", i, dec_rows[i].in);
			if (s != NULL)
				cr_expect_str_eq(s, dec_rows[i].out, "row %zu", i);
		}
		free(s);
	}
}

static const struct {
	const char	*qs, *key, *val;
	int		 bad;
} form_rows[] = {
	{ "a=1&b=2", "a", "1", 0 },
	{ "a=1&b=2", "b", "2", 0 },
	{ "a=1&b=2", "c", NULL, 0 },
	{ "a=1&a=2", "a", "1", 0 },             /* first wins */
	{ "a", "a", "", 0 },
	{ "a=", "a", "", 0 },
	{ "a=b=c", "a", "b=c", 0 },
	{ "x%20y=1", "x y", "1", 0 },
	{ "x+y=1", "x y", "1", 0 },
	{ "q=a+b%2Bc", "q", "a b+c", 0 },
	{ "ab=1", "a", NULL, 0 },               /* exact key */
	{ "a=1", "ab", NULL, 0 },
	{ "A=1", "a", NULL, 0 },                /* case-sensitive */
	{ "&&a=1&", "a", "1", 0 },
	{ "", "a", NULL, 0 },
	{ "%zz=1&a=2", "a", "2", 0 },           /* bad key skipped */
	{ "limit=10&offset=20", "offset", "20", 0 },
	/* bad values */
	{ "a=%zz", "a", NULL, 1 },
	{ "a=%00", "a", NULL, 1 },
	{ "a=%", "a", NULL, 1 },
	{ "b=1&a=x%4&c=2", "a", NULL, 1 },
	{ "a=%zz", "b", NULL, 0 },              /* bad, but not asked for */
};

Test(util, form_get_rows)
{
	char	*v;
	size_t	 i;
	int	 bad;

	for (i = 0; i < NROWS(form_rows); i++) {
		bad = 7;
		v = util_form_get(form_rows[i].qs, form_rows[i].key, &bad);
		cr_expect_eq(bad, form_rows[i].bad, "row %zu: %s", i,
		    form_rows[i].qs);
		if (form_rows[i].val == NULL)
			cr_expect_null(v, "row %zu: %s", i, form_rows[i].qs);
		else {
			cr_expect_not_null(v, "row %zu: %s", i, form_rows[i].qs);
			if (v != NULL)
				cr_expect_str_eq(v, form_rows[i].val, "row %zu",
				    i);
		}
		free(v);
	}
}

/* --- string lists --- */

Test(util, strlist)
{
	struct strlist	l = { NULL, 0 };
	char		buf[8];

	cr_assert_eq(strlist_has(&l, "a"), 0);
	snprintf(buf, sizeof(buf), "one");
	cr_assert_eq(strlist_add(&l, buf), 0);
	buf[0] = 'X';                   /* the list holds a copy */
	cr_assert_eq(strlist_add(&l, "two"), 0);
	cr_assert_eq(l.n, 2);
	cr_assert_str_eq(l.v[0], "one");
	cr_assert_str_eq(l.v[1], "two");
	cr_assert_eq(strlist_has(&l, "one"), 1);
	cr_assert_eq(strlist_has(&l, "two"), 1);
	cr_assert_eq(strlist_has(&l, "Xne"), 0);
	cr_assert_eq(strlist_has(&l, "tw"), 0);
	strlist_free(&l);
	cr_assert_eq(l.n, 0);
	cr_assert_null(l.v);
	strlist_free(&l);               /* twice is harmless */
	strlist_free(NULL);
}

/* --- log.c --- */

static const struct { const char *in; size_t bufsz; const char *out; } esc_rows[] = {
	{ "abc", 64, "abc" },
	{ "", 64, "" },
	{ "a\nb", 64, "a\\x0ab" },
	{ "a\r\nforged: line", 64, "a\\x0d\\x0aforged: line" },
	{ "\t", 64, "\\x09" },
	{ "\x01\x1f", 64, "\\x01\\x1f" },
	{ "\x1b[31mred", 64, "\\x1b[31mred" },
	{ "\x7f", 64, "\\x7f" },
	{ "\xc3\xa9", 64, "\\xc3\\xa9" },
	{ "\xff", 64, "\\xff" },
	{ "back\\slash", 64, "back\\\\slash" },
	{ "\\x41", 64, "\\\\x41" },         /* cannot pass for an escape */
	{ " ~\"%", 64, " ~\"%" },
	/* truncation never splits an escape and always terminates */
	{ "abcdef", 4, "abc" },
	{ "a\n", 5, "a" },
	{ "a\n", 6, "a\\x0a" },
	{ "a\\", 3, "a" },
	{ "a\\", 4, "a\\\\" },
	{ "abc", 1, "" },
};

Test(log, escape_rows)
{
	char	buf[64];
	size_t	i;

	for (i = 0; i < NROWS(esc_rows); i++) {
		memset(buf, 'Z', sizeof(buf));
		cr_expect_eq(log_escape(esc_rows[i].in, buf, esc_rows[i].bufsz),
		    buf);
		cr_expect_str_eq(buf, esc_rows[i].out, "row %zu", i);
	}
	buf[0] = 'Z';
	log_escape("abc", buf, 0);
	cr_expect_eq(buf[0], 'Z');
}

static const struct { const char *s; int lv; } lvl_rows[] = {
	{ "error", TCLOG_ERROR }, { "warn", TCLOG_WARN }, { "info", TCLOG_INFO },
	{ "debug", TCLOG_DEBUG }, { "", -1 }, { "INFO", -1 }, { "warning", -1 },
	{ "info ", -1 }, { "trace", -1 },
};

Test(log, level_parse_rows)
{
	size_t	i;

	for (i = 0; i < NROWS(lvl_rows); i++)
		cr_expect_eq(log_level_parse(lvl_rows[i].s), lvl_rows[i].lv,
		    "row %zu: %s", i, lvl_rows[i].s);
}

Test(log, set_level_clamps)
{
	cr_expect_eq(log_get_level(), TCLOG_INFO);      /* the default */
	log_set_level(TCLOG_DEBUG);
	cr_expect_eq(log_get_level(), TCLOG_DEBUG);
	log_set_level(99);
	cr_expect_eq(log_get_level(), TCLOG_DEBUG);
	log_set_level(-3);
	cr_expect_eq(log_get_level(), TCLOG_ERROR);
}

Test(log, line_format_and_filter, .init = cr_redirect_stderr)
{
	char	expect[256];

	log_set_level(TCLOG_WARN);
	log_info("not shown %d", 1);
	log_debug("not shown either");
	log_warn("user %s: bad\nline", "a\\b");
	log_error("%d%%", 100);
	fflush(stderr);
	snprintf(expect, sizeof(expect),
	    "tokencat[%ld]: warn: user a\\\\b: bad\\x0aline\n"
	    "tokencat[%ld]: error: 100%%\n", (long)getpid(), (long)getpid());
	cr_expect_stderr_eq_str(expect);
}

Test(log, long_message_truncated, .init = cr_redirect_stderr)
{
	static char	big[5000], expect[2200];
	int		n;

	memset(big, 'A', sizeof(big) - 1);
	log_error("%s", big);
	fflush(stderr);
	n = snprintf(expect, sizeof(expect), "tokencat[%ld]: error: ",
	    (long)getpid());
	memset(expect + n, 'A', 2047);                  /* 2 KiB - NUL */
	strcpy(expect + n + 2047, "\n");
	cr_expect_stderr_eq_str(expect);
}
