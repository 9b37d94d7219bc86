/*
 * test_regress.c - regressions for the bugs found while hardening
 * (issue 7: fuzzing, races, limits, attacks). One suite per bug, each
 * naming how it was found; the black-box side is in tests/blackbox/
 * test_limits.py, test_attacks.py and test_races.py.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "config.h"
#include "decide.h"
#include "js.h"
#include "store.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * 1. js_parse() let \u escapes of unpaired surrogates through: json-c
 * turns each into U+FFFD, so "\ud800" and "\udc00" were stored as the
 * same token name "\ufffd" (test_attacks.NamesAreData). Now refused.
 */
static const struct {
	const char	*in;
	int		 ok;
} surrogate_rows[] = {
	{ "{\"n\":\"\\ud83d\\ude00\"}", 1 },             /* a pair: U+1F600 */
	{ "{\"n\":\"\\uD83D\\uDE00\"}", 1 },             /* upper-case hex */
	{ "{\"n\":\"a\\u00e9\\u20ac\\uffff\"}", 1 },
	{ "{\"n\":\"\\\\ud800\"}", 1 },                  /* an escaped backslash */
	{ "[\"\\ud83d\\ude00\", \"\\udbff\\udfff\"]", 1 },
	{ "{\"n\":\"\\ud800\"}", 0 },
	{ "{\"n\":\"\\udc00\"}", 0 },
	{ "{\"n\":\"\\ud83dx\"}", 0 },
	{ "{\"n\":\"\\ud83d\\n\"}", 0 },
	{ "{\"n\":\"\\ud83d\\ud83d\"}", 0 },
	{ "{\"n\":\"\\ude00\\ud83d\"}", 0 },
	{ "{\"n\":\"\\ud83d\\u0041\"}", 0 },
	{ "{\"\\udfff\":1}", 0 },                        /* in a key too */
	{ "[\"ok\", \"\\udbff\"]", 0 },
};

Test(regress_surrogates, unpaired_surrogate_escapes_refused)
{
	char detail[DETAIL_MAX];
	struct json_object *o;
	size_t i;

	for (i = 0; i < NROWS(surrogate_rows); i++) {
		detail[0] = '\0';
		o = js_parse(surrogate_rows[i].in, strlen(surrogate_rows[i].in), detail);
		cr_expect_eq(o != NULL, surrogate_rows[i].ok, "row %zu %s: %s", i,
		    surrogate_rows[i].in, detail);
		if (!surrogate_rows[i].ok)
			cr_expect_str_eq(detail,
			    "Invalid JSON: unpaired surrogate in string", "row %zu", i);
		json_object_put(o);
	}
}

/*
 * 2. decide_client() walked X-Forwarded-For from the right but lost the
 * next entry when a ", " (comma and blank, the usual form) followed it:
 * behind two trusted proxies the client was taken to be the proxy, so an
 * IP-restricted token was refused (test_attacks.ForwardedForTrusted).
 */
static const struct {
	const char	*remote;
	const char	*xff;
	const char	*client;
} xff_rows[] = {
	{ "127.0.0.1", "192.0.2.7, 127.0.0.1, 127.0.0.1", "192.0.2.7" },
	{ "127.0.0.1", "192.0.2.7,127.0.0.1,127.0.0.1", "192.0.2.7" },
	{ "127.0.0.1", "192.0.2.7 ,\t 10.1.2.3", "192.0.2.7" },
	{ "127.0.0.1", "198.51.100.1, 192.0.2.7, 10.0.0.1", "192.0.2.7" },
	{ "127.0.0.1", "192.0.2.7, 198.51.100.1", "198.51.100.1" },
	{ "127.0.0.1", " 192.0.2.7", "192.0.2.7" },
	{ "127.0.0.1", "192.0.2.7", "192.0.2.7" },
	{ "127.0.0.1", "127.0.0.1, 10.0.0.2", "127.0.0.1" },    /* all trusted */
	{ "127.0.0.1", "junk, 127.0.0.1", "127.0.0.1" },        /* malformed: a proxy */
	{ "127.0.0.1", "192.0.2.7, , 127.0.0.1", "127.0.0.1" },
	{ "127.0.0.1", "", "127.0.0.1" },
	{ "203.0.113.9", "192.0.2.7, 127.0.0.1", "203.0.113.9" }, /* untrusted peer */
};

Test(regress_xff, forwarded_for_walk_with_blanks)
{
	static const char conf[] = "database = /nonexistent\n"
	    "trusted_proxies = 127.0.0.1 10.0.0.0/8\n";
	struct config cfg;
	char err[CONFIG_ERR_MAX], out[ADDR_MAX];
	size_t i;

	config_init(&cfg);
	cr_assert_eq(config_parse(&cfg, conf, sizeof(conf) - 1, "t.conf", err), 0, "%s", err);
	for (i = 0; i < NROWS(xff_rows); i++) {
		decide_client(&cfg, xff_rows[i].remote, xff_rows[i].xff, out);
		cr_expect_str_eq(out, xff_rows[i].client, "row %zu: \"%s\"", i,
		    xff_rows[i].xff);
	}
	config_free(&cfg);
}

/*
 * 3. The usage environment was opened with MDB_WRITEMAP: LMDB sizes
 * usage/data.mdb to the whole map (a sparse 64 MiB) and writes pages
 * through the map, so on a full disk the worker died of SIGBUS at its
 * next flush of recorded uses (test_limits.DiskFull). Opened without it,
 * the file holds only the pages written and a full disk is ENOSPC.
 */
Test(regress_usage_env, usage_file_not_sized_to_the_map)
{
	char dir[] = "/tmp/tc-regress-XXXXXX", path[128], cmd[160];
	struct store *st = NULL;
	struct stat sb;

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(store_open(&st, dir, 1, STORE_CREATE), STORE_OK);
	snprintf(path, sizeof(path), "%s/usage/data.mdb", dir);
	cr_assert_eq(stat(path, &sb), 0);
	cr_expect_lt(sb.st_size, 1 << 20, "usage/data.mdb is %lld bytes: "
	    "written through a writable map?", (long long)sb.st_size);
	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}
