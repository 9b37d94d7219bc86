/*
 * test_tz.c - the zones of tz.h against glibc: for every zone under
 * TZ_DIR and instants from 1900 to 2100, tz_localtime() must give what
 * localtime_r gives with TZ=":zone" (transitions, the footer's rule after
 * the last one, leap seconds of the "right/" zones); densely around the
 * transitions of zones with unusual rules. Then names, and the table
 * after tz_preload().
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tz.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

/* glibc's local time of t in zone (TZ switched for the call). */
static void
glibc_local(const char *zone, time_t t, struct tm *tm)
{
	char	tz[TZ_NAME_MAX + 2];

	snprintf(tz, sizeof(tz), ":%s", zone);
	setenv("TZ", tz, 1);
	tzset();
	cr_assert_not_null(localtime_r(&t, tm));
}

/* 1 if a and b are the same local time, else 0 with a message. */
static int
same(const char *zone, time_t t, const struct tm *g, const struct tm *m)
{
	if (g->tm_year == m->tm_year && g->tm_mon == m->tm_mon &&
	    g->tm_mday == m->tm_mday && g->tm_hour == m->tm_hour &&
	    g->tm_min == m->tm_min && g->tm_sec == m->tm_sec &&
	    g->tm_wday == m->tm_wday && g->tm_yday == m->tm_yday &&
	    g->tm_isdst == m->tm_isdst && g->tm_gmtoff == m->tm_gmtoff)
		return 1;
	cr_log_error("%s at %lld: glibc %04d-%02d-%02d %02d:%02d:%02d "
	    "isdst %d gmtoff %ld, tz.c %04d-%02d-%02d %02d:%02d:%02d isdst %d "
	    "gmtoff %ld", zone, (long long)t, g->tm_year + 1900, g->tm_mon + 1,
	    g->tm_mday, g->tm_hour, g->tm_min, g->tm_sec, g->tm_isdst,
	    g->tm_gmtoff, m->tm_year + 1900, m->tm_mon + 1, m->tm_mday,
	    m->tm_hour, m->tm_min, m->tm_sec, m->tm_isdst, m->tm_gmtoff);
	return 0;
}

/* Compare zone at t0, t0 + step, ... below t1. Returns the mismatches. */
static int
compare_range(const char *zone, time_t t0, time_t t1, time_t step)
{
	struct tm	g, m;
	time_t		t;
	int		bad = 0;
	char		tz[TZ_NAME_MAX + 2];

	snprintf(tz, sizeof(tz), ":%s", zone);
	setenv("TZ", tz, 1);
	tzset();
	for (t = t0; t < t1; t += step) {
		cr_assert_not_null(localtime_r(&t, &g));
		if (tz_localtime(zone, t, &m) != 0) {
			cr_log_error("%s: tz_localtime failed", zone);
			return bad + 1;
		}
		if (!same(zone, t, &g, &m) && ++bad > 5)
			break;
	}
	return bad;
}

/* Call fn for every zone file under TZ_DIR/rel (as stat sees it). */
static void
each_zone(const char *rel, int depth, void (*fn)(const char *))
{
	char		 name[256], path[sizeof(TZ_DIR) + 256 + 1];
	struct dirent	*e;
	struct stat	 st;
	DIR		*d;

	snprintf(path, sizeof(path), "%s/%s", TZ_DIR, rel);
	if (depth == 0 || (d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || strchr(e->d_name, '.') != NULL)
			continue;
		if (snprintf(name, sizeof(name), "%s%s%s", rel, *rel ? "/" : "",
		    e->d_name) >= (int)sizeof(name) ||
		    snprintf(path, sizeof(path), "%s/%s", TZ_DIR, name) >=
		    (int)sizeof(path) || strlen(name) > TZ_NAME_MAX ||
		    stat(path, &st) == -1)
			continue;
		if (S_ISDIR(st.st_mode))
			each_zone(name, depth - 1, fn);
		else if (S_ISREG(st.st_mode) && tz_valid(name))
			fn(name);
	}
	closedir(d);
}

static int	zones_seen, zones_bad;

/* 1900 to 2100 every 61 days and some seconds: every era of a zone. */
static void
sweep(const char *zone)
{
	zones_seen++;
	if (compare_range(zone, -2208988800LL, 4102444800LL,
	    86400LL * 61 + 3607) != 0)
		zones_bad++;
}

Test(tz, every_zone_as_glibc_sees_it, .timeout = 120)
{
	each_zone("", 4, sweep);
	cr_log_info("%d zones compared", zones_seen);
	cr_expect_gt(zones_seen, 400, "only %d zones under %s", zones_seen, TZ_DIR);
	cr_expect_eq(zones_bad, 0, "%d zones differ from glibc", zones_bad);
}

/*
 * Zones with unusual rules, every 3 hours and 7 seconds from 2020 to
 * 2045 (after 2037 the footer's rule of fat files), and each second
 * around their changes in 2024 and 2040.
 */
static const char *const odd_zones[] = {
	"Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
	"Africa/Casablanca", "Europe/Dublin", "America/Nuuk",
	"Antarctica/Troll", "Pacific/Chatham", "America/Santiago",
	"Asia/Tehran", "Asia/Kolkata", "Pacific/Kiritimati", "Etc/GMT+5",
	"right/Europe/Berlin", "right/UTC", "America/Argentina/Buenos_Aires",
	"Asia/Gaza", "America/Havana", "Pacific/Apia",
};

Test(tz, unusual_zones_densely, .timeout = 120)
{
	size_t	i;
	int	bad = 0;

	for (i = 0; i < NROWS(odd_zones); i++) {
		cr_assert(tz_valid(odd_zones[i]), "%s", odd_zones[i]);
		bad += compare_range(odd_zones[i], 1577836800, 2366841600,
		    10807) != 0;
	}
	cr_expect_eq(bad, 0, "%d zones differ from glibc", bad);
}

Test(tz, around_each_change)
{
	struct tm	g, m;
	size_t		i;
	time_t		t, s;
	long		prev;
	int		bad = 0;

	for (i = 0; i < NROWS(odd_zones); i++) {
		/* each hour of 2024 and 2040; at a change, every second of it */
		prev = -1;
		for (t = 1704067200; t < 2240611200; t += 3600) {
			if (t == 1735689600) {
				t = 2208988800;
				prev = -1;
			}
			cr_assert_eq(tz_localtime(odd_zones[i], t, &m), 0);
			if (prev != -1 && m.tm_gmtoff != prev)
				for (s = t - 3600; s <= t; s++) {
					glibc_local(odd_zones[i], s, &g);
					cr_assert_eq(tz_localtime(odd_zones[i],
					    s, &m), 0);
					if (!same(odd_zones[i], s, &g, &m)) {
						bad++;
						break;
					}
				}
			prev = m.tm_gmtoff;
		}
	}
	cr_expect_eq(bad, 0);
}

/* The leap second 2016-12-31 23:59:60 in a "right/" zone. */
Test(tz, leap_second_is_second_60)
{
	struct tm	m;
	time_t		t = 1483228800 + 26;    /* 27 leap seconds by then */

	cr_assert_eq(tz_localtime("right/UTC", t, &m), 0);
	cr_expect(m.tm_hour == 23 && m.tm_min == 59 && m.tm_sec == 60,
	    "%02d:%02d:%02d", m.tm_hour, m.tm_min, m.tm_sec);
	cr_assert_eq(tz_localtime("right/UTC", t + 1, &m), 0);
	cr_expect(m.tm_year == 117 && m.tm_hour == 0 && m.tm_sec == 0);
}

static const struct { const char *name; int ok; } name_rows[] = {
	{ "UTC", 1 }, { "Europe/Berlin", 1 }, { "America/Argentina/Buenos_Aires", 1 },
	{ "Etc/GMT-14", 1 }, { "right/Europe/Berlin", 1 }, { "posixrules", 1 },
	{ "America//New_York", 1 },
	{ "", 0 }, { "Europe", 0 }, { "Mars/Phobos", 0 }, { "../etc/passwd", 0 },
	{ "/etc/localtime", 0 }, { "Europe/../UTC", 0 }, { "zone.tab", 0 },
	{ "tzdata.zi", 0 }, { "leapseconds", 0 }, { "Europe/Berlin/", 0 },
	{ "Europe/Berlin ", 0 }, { "Europe/Berlin\n", 0 }, { "Europe\\Berlin", 0 },
	{ "./UTC", 0 }, { "Europe/./Berlin", 0 },
	/* 63 bytes that name a zone pass, 64 do not */
	{ "America" "////////////////////////////////////////////////" "New_York", 1 },
	{ "America" "/////////////////////////////////////////////////" "New_York", 0 },
};

static void
check_names(void)
{
	struct tm	m;
	size_t		i;

	for (i = 0; i < NROWS(name_rows); i++) {
		cr_expect_eq(tz_valid(name_rows[i].name), name_rows[i].ok,
		    "row %zu: '%s'", i, name_rows[i].name);
		cr_expect_eq(tz_localtime(name_rows[i].name, 0, &m),
		    name_rows[i].ok ? 0 : -1, "row %zu: '%s'", i,
		    name_rows[i].name);
	}
}

Test(tz, names_read_on_demand)
{
	check_names();
}

Test(tz, names_after_preload)
{
	struct tm	m;

	cr_assert_gt(tz_preload(), 400);
	check_names();
	cr_assert_eq(tz_localtime("Asia/Kolkata", 0, &m), 0);
	cr_expect(m.tm_hour == 5 && m.tm_min == 30 && m.tm_gmtoff == 19800);
}
