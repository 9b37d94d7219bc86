/*
 * test_upath.c - the path canonicalizer (upath.c), table-driven: one row
 * per spelling with the canonical path expected, or NULL and the reason
 * phrase for a refusal. The attack spellings of the review are all here:
 * "..", "%2e", "%2F", "//", double encodings, NUL, climbing above "/".
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "upath.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

struct row {
	const char	*in;
	const char	*out;           /* NULL: refused */
	const char	*why;           /* expected reason when refused */
};

static void
run(const struct row *rows, size_t n, enum upath_mode mode)
{
	size_t		 i;
	char		*out;
	const char	*why;
	int		 rc;

	for (i = 0; i < n; i++) {
		why = NULL;
		rc = upath_canon(rows[i].in, strlen(rows[i].in), mode, &out, &why);
		if (rows[i].out == NULL) {
			cr_expect_eq(rc, -1, "%s: accepted as %s", rows[i].in,
			    rc == 0 ? out : "?");
			cr_expect(out == NULL, "%s: out set on refusal", rows[i].in);
			cr_expect(why != NULL && strcmp(why, rows[i].why) == 0,
			    "%s: why %s, want %s", rows[i].in, why ? why : "NULL",
			    rows[i].why);
			continue;
		}
		cr_expect_eq(rc, 0, "%s: refused (%s)", rows[i].in, why ? why : "");
		if (rc == 0) {
			cr_expect_str_eq(out, rows[i].out, "%s -> %s, want %s",
			    rows[i].in, out, rows[i].out);
			free(out);
		}
	}
}

/* Raw URI paths (REQUEST_URI, X-Original-URI): decoded once here. */
static const struct row raw_rows[] = {
	{ "/", "/", NULL },
	{ "/servers/abc/tools", "/servers/abc/tools", NULL },
	{ "/servers/abc/tools/", "/servers/abc/tools/", NULL },
	/* dot segments resolved, RFC 3986 5.2.4 */
	{ "/servers/abc/../def/tools", "/servers/def/tools", NULL },
	{ "/servers/abc/./tools", "/servers/abc/tools", NULL },
	{ "/servers/abc/.", "/servers/abc/", NULL },
	{ "/servers/abc/..", "/servers/", NULL },
	{ "/health/../servers/def", "/servers/def", NULL },
	{ "/a/b/c/../../d", "/a/d", NULL },
	{ "/.", "/", NULL },
	{ "/a/..", "/", NULL },
	/* encoded dots are dots after the one decoding pass */
	{ "/servers/abc/%2e%2e/def", "/servers/def", NULL },
	{ "/servers/abc/%2E%2E/def", "/servers/def", NULL },
	{ "/servers/abc/.%2e/def", "/servers/def", NULL },
	{ "/servers/abc/%2e/tools", "/servers/abc/tools", NULL },
	/* doubled slashes collapse */
	{ "//servers//abc///tools", "/servers/abc/tools", NULL },
	{ "/servers/abc//..//def", "/servers/def", NULL },
	/* ordinary escapes are decoded, once */
	{ "/files/a%20b", "/files/a b", NULL },
	{ "/files/%41%62c", "/files/Abc", NULL },
	{ "/files/100%25", "/files/100%", NULL },
	{ "/files/%2541", "/files/%41", NULL },      /* not re-decoded */
	{ "/files/a%2eb", "/files/a.b", NULL },
	{ "/files/...", "/files/...", NULL },       /* not a dot segment */
	{ "/files/..a", "/files/..a", NULL },
	{ "/files/%e2%80%ae", "/files/\xe2\x80\xae", NULL },
	/* case is kept: paths are case-sensitive */
	{ "/SERVERS/ABC", "/SERVERS/ABC", NULL },
	/* refused */
	{ "", NULL, "not an absolute path" },
	{ "servers/abc", NULL, "not an absolute path" },
	{ "/..", NULL, "climbs above /" },
	{ "/../servers/abc", NULL, "climbs above /" },
	{ "/a/../../b", NULL, "climbs above /" },
	{ "/%2e%2e/etc", NULL, "climbs above /" },
	{ "//..//x", NULL, "climbs above /" },
	{ "/servers/abc%2F..%2Fdef", NULL, "encoded slash" },
	{ "/servers/abc%2fdef", NULL, "encoded slash" },
	{ "/servers/abc%5c..%5cdef", NULL, "encoded slash" },
	{ "/a%00b", NULL, "encoded NUL" },
	{ "/a%", NULL, "malformed percent-encoding" },
	{ "/a%2", NULL, "malformed percent-encoding" },
	{ "/a%zz", NULL, "malformed percent-encoding" },
	{ "/a%g0", NULL, "malformed percent-encoding" },
	/* double encodings that would mean something else decoded again */
	{ "/servers/abc/%252e%252e/def", NULL, "encoded dot segment" },
	{ "/servers/abc/%252E./def", NULL, "encoded dot segment" },
	{ "/servers/abc/%252e/def", NULL, "encoded dot segment" },
	{ "/servers/abc%252fdef", NULL, "encoded slash" },
	{ "/servers/abc%252Fdef", NULL, "encoded slash" },
	{ "/servers/abc%255cdef", NULL, "encoded slash" },
	{ "/a%2500b", NULL, "encoded NUL" },
};

/* PATH_INFO: decoded by the web server already; not decoded again. */
static const struct row decoded_rows[] = {
	{ "/tokens/abc", "/tokens/abc", NULL },
	{ "/tokens/%2e%2e", "/tokens/%2e%2e", NULL },        /* a literal id */
	{ "/tokens/abc%2fdef", "/tokens/abc%2fdef", NULL },
	{ "/tokens/%", "/tokens/%", NULL },
	{ "/tokens//admin/all", "/tokens/admin/all", NULL },
	{ "/tokens/./admin/all", "/tokens/admin/all", NULL },
	{ "/tokens/x/../admin/all", "/tokens/admin/all", NULL },
	{ "/tokens/", "/tokens/", NULL },
	{ "/..", NULL, "climbs above /" },
	{ "tokens", NULL, "not an absolute path" },
};

Test(upath, raw_paths)
{
	run(raw_rows, NROWS(raw_rows), UPATH_RAW);
}

Test(upath, decoded_paths)
{
	run(decoded_rows, NROWS(decoded_rows), UPATH_DECODED);
}

Test(upath, embedded_nul_in_length)
{
	const char	 s[] = "/a\0/../b";
	char		*out;
	const char	*why = NULL;

	cr_assert_eq(upath_canon(s, sizeof(s) - 1, UPATH_DECODED, &out, &why), -1);
	cr_assert_str_eq(why, "NUL");
}

/* Canonical output is a fixed point: canonicalizing it again changes nothing. */
Test(upath, idempotent)
{
	size_t		 i;
	char		*a, *b;
	const char	*why;

	for (i = 0; i < NROWS(raw_rows); i++) {
		if (raw_rows[i].out == NULL)
			continue;
		cr_assert_eq(upath_canon(raw_rows[i].in, strlen(raw_rows[i].in),
		    UPATH_RAW, &a, &why), 0);
		cr_assert_eq(upath_canon(a, strlen(a), UPATH_DECODED, &b, &why), 0);
		cr_expect_str_eq(a, b, "%s", raw_rows[i].in);
		free(a);
		free(b);
	}
}
