/*
 * test_json.c - js.c: the strict parser (good and bad documents with the
 * exact detail sentence) and every getter outcome, then the builders.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "js.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

/* --- parser --- */

static const struct {
	const char	*in;
	size_t		 len;           /* 0: strlen(in) */
	const char	*out;           /* plain serialization, or NULL = refused */
	const char	*detail;        /* when refused */
} parse_rows[] = {
	{ "{}", 0, "{}", NULL },
	{ "[]", 0, "[]", NULL },
	{ " {\"a\":1} \n", 0, "{\"a\":1}", NULL },
	{ "\t{}\r\n", 0, "{}", NULL },
	{ "{\"a\":[1,2,{\"b\":null}],\"c\":\"x\"}", 0,
	  "{\"a\":[1,2,{\"b\":null}],\"c\":\"x\"}", NULL },
	{ "123", 0, "123", NULL },
	{ "-0", 0, "0", NULL },
	{ "1.5", 0, "1.5", NULL },
	{ "true", 0, "true", NULL },
	{ "\"s\"", 0, "\"s\"", NULL },
	{ "\"\\u00e9\\n\"", 0, "\"\xc3\xa9\\n\"", NULL },
	{ "\"\xe2\x82\xac\"", 0, "\"\xe2\x82\xac\"", NULL },
	{ "{\"a\":1}xyz", 7, "{\"a\":1}", NULL },       /* only len bytes */
	/* end of input */
	{ "", 0, NULL, "Invalid JSON: unexpected end of input" },
	{ "   ", 0, NULL, "Invalid JSON: unexpected end of input" },
	{ "[1,2", 0, NULL, "Invalid JSON: unexpected end of input" },
	{ "{\"a\":", 0, NULL, "Invalid JSON: unexpected end of input" },
	{ "\"abc", 0, NULL, "Invalid JSON: unexpected end of input" },
	{ "tru", 0, NULL, "Invalid JSON: unexpected end of input" },
	{ "{\"a\":1}", 6, NULL, "Invalid JSON: unexpected end of input" },
	/* trailing data */
	{ "{\"a\":1} x", 0, NULL, "Invalid JSON: trailing data" },
	{ "{} {}", 0, NULL, "Invalid JSON: trailing data" },
	{ "[]]", 0, NULL, "Invalid JSON: trailing data" },
	{ "1 2", 0, NULL, "Invalid JSON: trailing data" },
	{ "123x", 0, NULL, "Invalid JSON: trailing data" },
	{ "{}//c", 0, NULL, "Invalid JSON: trailing data" },
	/* NUL, UTF-8, control characters */
	{ "{\"a\":1}\0", 8, NULL, "Invalid JSON: NUL character in input" },
	{ "{\"a\":\"x\0y\"}", 11, NULL, "Invalid JSON: NUL character in input" },
	{ "\0{}", 3, NULL, "Invalid JSON: NUL character in input" },
	{ "[\"\xc3\x28\"]", 0, NULL, "Invalid JSON: invalid UTF-8" },
	{ "[\"\xed\xa0\x80\"]", 0, NULL, "Invalid JSON: invalid UTF-8" },
	{ "[\"\xc0\x80\"]", 0, NULL, "Invalid JSON: invalid UTF-8" },
	{ "[\"\xf4\x90\x80\x80\"]", 0, NULL, "Invalid JSON: invalid UTF-8" },
	{ "[\"\xe2\x82\"]", 0, NULL, "Invalid JSON: invalid UTF-8" },
	{ "{\"\xff\":1}", 0, NULL, "Invalid JSON: invalid UTF-8" },
	{ "\"a\x01\"", 0, NULL, "Invalid JSON: control character in string" },
	{ "{\"a\nb\":1}", 0, NULL, "Invalid JSON: control character in string" },
	{ "[\"\\\"\t\"]", 0, NULL, "Invalid JSON: control character in string" },
	/* numbers json-c would take */
	{ "NaN", 0, NULL, "Invalid JSON: NaN and Infinity are not numbers" },
	{ "[Infinity]", 0, NULL, "Invalid JSON: NaN and Infinity are not numbers" },
	{ "{\"a\":-Infinity}", 0, NULL,
	  "Invalid JSON: NaN and Infinity are not numbers" },
	{ "[1e999]", 0, NULL, "Invalid JSON: NaN and Infinity are not numbers" },
	/* syntax */
	{ "null", 0, NULL, "Invalid JSON: top-level null is not accepted" },
	{ "[1,]", 0, NULL, "Invalid JSON: syntax error at byte 3" },
	{ "{\"a\":1,}", 0, NULL, "Invalid JSON: syntax error at byte 7" },
	{ "'a'", 0, NULL, "Invalid JSON: single quotes are not JSON" },
	{ "{'a': 1}", 0, NULL, "Invalid JSON: single quotes are not JSON" },
	{ "{\"it's\": \"ok\"}", 0, "{\"it's\":\"ok\"}", NULL },
	{ "{a:1}", 0, NULL, "Invalid JSON: syntax error at byte 1" },
	{ "{\"a\" 1}", 0, NULL, "Invalid JSON: syntax error at byte 5" },
	{ "{\"a\":01}", 0, NULL, "Invalid JSON: syntax error at byte 7" },
	{ "/* c */ {}", 0, NULL, "Invalid JSON: syntax error at byte 0" },
	{ "[\"\\x41\"]", 0, NULL, "Invalid JSON: syntax error at byte 3" },
	{ "\xef\xbb\xbf{}", 0, NULL, "Invalid JSON: syntax error at byte 0" },
};

Test(json, parse_rows)
{
	struct json_object	*o;
	char			 detail[DETAIL_MAX];
	size_t			 i, len;

	for (i = 0; i < NROWS(parse_rows); i++) {
		len = parse_rows[i].len ? parse_rows[i].len :
		    strlen(parse_rows[i].in);
		strcpy(detail, "untouched");
		o = js_parse(parse_rows[i].in, len, detail);
		if (parse_rows[i].out != NULL) {
			cr_expect_not_null(o, "row %zu: %s", i, detail);
			if (o != NULL)
				cr_expect_str_eq(json_object_to_json_string_ext(o,
				    JSON_C_TO_STRING_PLAIN), parse_rows[i].out,
				    "row %zu", i);
		} else {
			cr_expect_null(o, "row %zu", i);
			cr_expect_str_eq(detail, parse_rows[i].detail,
			    "row %zu", i);
		}
		json_object_put(o);
	}
}

/*
 * A document of n nested arrays (obj = 0) or objects {"a": ...} (obj = 1),
 * the innermost holding the number 1 when scalar is set, else empty.
 * Depth counts every value on the deepest path (json-c's rule): "[[]]" is 2,
 * "[[1]]" is 3.
 */
static char *
nested(int n, int obj, int scalar)
{
	char	*s = malloc((size_t)n * 6 + 8), *p = s;
	int	 i;

	cr_assert_not_null(s);
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s", obj ? (i + 1 < n || scalar ? "{\"a\":" :
		    "{") : "[");
	if (scalar)
		*p++ = '1';
	for (i = 0; i < n; i++)
		*p++ = obj ? '}' : ']';
	*p = '\0';
	return s;
}

static const struct { int n, obj, scalar, ok; } depth_rows[] = {
	{ 1, 0, 0, 1 }, { 1, 0, 1, 1 }, { 1, 1, 0, 1 }, { 1, 1, 1, 1 },
	{ 16, 0, 0, 1 },                /* depth 16 */
	{ 17, 0, 0, 0 },                /* depth 17 */
	{ 15, 0, 1, 1 },                /* 15 arrays + number: depth 16 */
	{ 16, 0, 1, 0 },                /* depth 17 */
	{ 16, 1, 0, 1 },
	{ 17, 1, 0, 0 },
	{ 15, 1, 1, 1 },
	{ 16, 1, 1, 0 },
	{ 40, 0, 1, 0 }, { 1000, 0, 0, 0 }, { 300, 1, 1, 0 },
};

Test(json, parse_depth_rows)
{
	struct json_object	*o;
	char			 detail[DETAIL_MAX], *s;
	size_t			 i;

	cr_assert_eq(JS_MAX_DEPTH, 16);
	for (i = 0; i < NROWS(depth_rows); i++) {
		s = nested(depth_rows[i].n, depth_rows[i].obj,
		    depth_rows[i].scalar);
		detail[0] = '\0';
		o = js_parse(s, strlen(s), detail);
		if (depth_rows[i].ok)
			cr_expect_not_null(o, "row %zu: %s: %s", i, s, detail);
		else {
			cr_expect_null(o, "row %zu: %s", i, s);
			cr_expect_str_eq(detail, "Invalid JSON: nesting too deep",
			    "row %zu", i);
		}
		json_object_put(o);
		free(s);
	}
}

/* --- getters --- */

static const char doc_text[] =
    "{\"s\":\"hello\",\"e\":\"\",\"u\":\"h\xc3\xa9llo\",\"emoji\":\"\xf0\x9f\x98\x80\","
    "\"nul\":\"a\\u0000b\",\"n\":null,\"i\":42,\"neg\":-5,"
    "\"big\":9223372036854775807,\"huge\":18446744073709551616,"
    "\"d\":1.0,\"d2\":1e2,\"b\":true,\"f\":false,\"o\":{},\"a\":[],"
    "\"sn\":\"12\",\"st\":\"true\"}";

static struct json_object *doc;

static void
doc_setup(void)
{
	char	detail[DETAIL_MAX];

	doc = js_parse(doc_text, strlen(doc_text), detail);
	cr_assert_not_null(doc, "%s", detail);
	/* Not reachable through js_parse: a string with invalid UTF-8. */
	json_object_object_add(doc, "bad8", json_object_new_string_len("\xc3\x28", 2));
}

static void
doc_teardown(void)
{
	json_object_put(doc);
}

static const struct {
	const char	*key;
	size_t		 minc, maxc;
	int		 rc;
	const char	*out;           /* JS_OK: value; JS_BAD: detail */
} str_rows[] = {
	{ "s", 1, 255, JS_OK, "hello" },
	{ "s", 5, 5, JS_OK, "hello" },
	{ "s", 0, 5, JS_OK, "hello" },
	{ "u", 5, 5, JS_OK, "h\xc3\xa9llo" },      /* counts code points */
	{ "emoji", 1, 1, JS_OK, "\xf0\x9f\x98\x80" },
	{ "e", 0, 10, JS_OK, "" },
	{ "sn", 1, 255, JS_OK, "12" },
	{ "s", 1, 4, JS_BAD, "s: must be 1 to 4 characters" },
	{ "s", 6, 10, JS_BAD, "s: must be 6 to 10 characters" },
	{ "s", 0, 4, JS_BAD, "s: must be at most 4 characters" },
	{ "u", 6, 6, JS_BAD, "u: must be 6 to 6 characters" },
	{ "e", 1, 255, JS_BAD, "e: must be 1 to 255 characters" },
	{ "nul", 0, 255, JS_BAD, "nul: must not contain NUL" },
	{ "bad8", 0, 255, JS_BAD, "bad8: must be valid UTF-8" },
	{ "i", 0, 255, JS_BAD, "i: must be a string" },
	{ "d", 0, 255, JS_BAD, "d: must be a string" },
	{ "b", 0, 255, JS_BAD, "b: must be a string" },
	{ "o", 0, 255, JS_BAD, "o: must be a string" },
	{ "a", 0, 255, JS_BAD, "a: must be a string" },
	{ "n", 0, 255, JS_NULL, NULL },
	{ "missing", 0, 255, JS_ABSENT, NULL },
};

Test(json, get_str_rows, .init = doc_setup, .fini = doc_teardown)
{
	const char	*out;
	char		 detail[DETAIL_MAX];
	size_t		 i;
	int		 rc;

	for (i = 0; i < NROWS(str_rows); i++) {
		out = "unset";
		strcpy(detail, "unset");
		rc = js_get_str(doc, str_rows[i].key, str_rows[i].minc,
		    str_rows[i].maxc, &out, detail);
		cr_expect_eq(rc, str_rows[i].rc, "row %zu: %s", i, detail);
		if (str_rows[i].rc == JS_OK)
			cr_expect_str_eq(out, str_rows[i].out, "row %zu", i);
		else
			cr_expect_str_eq(out, "unset", "row %zu: out set", i);
		if (str_rows[i].rc == JS_BAD)
			cr_expect_str_eq(detail, str_rows[i].out, "row %zu", i);
	}
}

static const struct {
	const char	*key;
	int64_t		 min, max;
	int		 rc;
	int64_t		 v;
	const char	*detail;
} int_rows[] = {
	{ "i", 0, 100, JS_OK, 42, NULL },
	{ "i", 42, 42, JS_OK, 42, NULL },
	{ "neg", -10, 10, JS_OK, -5, NULL },
	{ "big", 0, INT64_MAX, JS_OK, INT64_MAX, NULL },
	{ "i", 43, 100, JS_BAD, 0, "i: must be between 43 and 100" },
	{ "i", 0, 41, JS_BAD, 0, "i: must be between 0 and 41" },
	{ "neg", 0, 10, JS_BAD, 0, "neg: must be between 0 and 10" },
	{ "big", 0, 1000000000, JS_BAD, 0, "big: must be between 0 and 1000000000" },
	{ "huge", 0, 1000000000, JS_BAD, 0, "huge: must be between 0 and 1000000000" },
	{ "d", 0, 100, JS_BAD, 0, "d: must be an integer" },
	{ "d2", 0, 1000, JS_BAD, 0, "d2: must be an integer" },
	{ "b", 0, 100, JS_BAD, 0, "b: must be an integer" },
	{ "sn", 0, 100, JS_BAD, 0, "sn: must be an integer" },
	{ "o", 0, 100, JS_BAD, 0, "o: must be an integer" },
	{ "a", 0, 100, JS_BAD, 0, "a: must be an integer" },
	{ "n", 0, 100, JS_NULL, 0, NULL },
	{ "missing", 0, 100, JS_ABSENT, 0, NULL },
};

Test(json, get_int_rows, .init = doc_setup, .fini = doc_teardown)
{
	char	detail[DETAIL_MAX];
	int64_t	v;
	size_t	i;

	for (i = 0; i < NROWS(int_rows); i++) {
		v = 777;
		detail[0] = '\0';
		cr_expect_eq(js_get_int(doc, int_rows[i].key, int_rows[i].min,
		    int_rows[i].max, &v, detail), int_rows[i].rc, "row %zu: %s",
		    i, detail);
		cr_expect_eq(v, int_rows[i].rc == JS_OK ? int_rows[i].v : 777,
		    "row %zu", i);
		if (int_rows[i].rc == JS_BAD)
			cr_expect_str_eq(detail, int_rows[i].detail, "row %zu", i);
	}
}

static const struct {
	const char	*key;
	int		 rc, v;
	const char	*detail;
} bool_rows[] = {
	{ "b", JS_OK, 1, NULL },
	{ "f", JS_OK, 0, NULL },
	{ "i", JS_BAD, 0, "i: must be true or false" },
	{ "st", JS_BAD, 0, "st: must be true or false" },
	{ "e", JS_BAD, 0, "e: must be true or false" },
	{ "o", JS_BAD, 0, "o: must be true or false" },
	{ "n", JS_NULL, 0, NULL },
	{ "missing", JS_ABSENT, 0, NULL },
};

Test(json, get_bool_rows, .init = doc_setup, .fini = doc_teardown)
{
	char	detail[DETAIL_MAX];
	size_t	i;
	int	v;

	for (i = 0; i < NROWS(bool_rows); i++) {
		v = 9;
		detail[0] = '\0';
		cr_expect_eq(js_get_bool(doc, bool_rows[i].key, &v, detail),
		    bool_rows[i].rc, "row %zu: %s", i, detail);
		cr_expect_eq(v, bool_rows[i].rc == JS_OK ? bool_rows[i].v : 9,
		    "row %zu", i);
		if (bool_rows[i].rc == JS_BAD)
			cr_expect_str_eq(detail, bool_rows[i].detail, "row %zu", i);
	}
}

static const struct {
	const char	*key;
	json_type	 type;
	int		 rc;
	const char	*detail;
} type_rows[] = {
	{ "o", json_type_object, JS_OK, NULL },
	{ "a", json_type_array, JS_OK, NULL },
	{ "a", json_type_object, JS_BAD, "a: must be an object" },
	{ "s", json_type_object, JS_BAD, "s: must be an object" },
	{ "i", json_type_object, JS_BAD, "i: must be an object" },
	{ "o", json_type_array, JS_BAD, "o: must be an array" },
	{ "st", json_type_array, JS_BAD, "st: must be an array" },
	{ "n", json_type_object, JS_NULL, NULL },
	{ "missing", json_type_array, JS_ABSENT, NULL },
};

Test(json, get_type_rows, .init = doc_setup, .fini = doc_teardown)
{
	struct json_object	*v, *expect;
	char			 detail[DETAIL_MAX];
	size_t			 i;

	for (i = 0; i < NROWS(type_rows); i++) {
		v = NULL;
		detail[0] = '\0';
		cr_expect_eq(js_get_type(doc, type_rows[i].key, type_rows[i].type,
		    &v, detail), type_rows[i].rc, "row %zu: %s", i, detail);
		if (type_rows[i].rc == JS_OK) {
			cr_assert(json_object_object_get_ex(doc,
			    type_rows[i].key, &expect));
			cr_expect_eq(v, expect, "row %zu: not the member", i);
		} else
			cr_expect_null(v, "row %zu", i);
		if (type_rows[i].rc == JS_BAD)
			cr_expect_str_eq(detail, type_rows[i].detail, "row %zu", i);
	}
}

Test(json, getters_on_non_objects)
{
	struct json_object	*arr = json_object_new_array();
	const char		*s;
	char			 detail[DETAIL_MAX];
	int64_t			 n;
	int			 b;

	cr_expect_eq(js_get_str(arr, "s", 0, 10, &s, detail), JS_ABSENT);
	cr_expect_eq(js_get_int(NULL, "i", 0, 10, &n, detail), JS_ABSENT);
	cr_expect_eq(js_get_bool(NULL, "b", &b, detail), JS_ABSENT);
	json_object_put(arr);
}

Test(json, fail_formats)
{
	char	detail[DETAIL_MAX], field[400];

	cr_expect_eq(js_fail(detail, "scope.permissions[1]", "must be %s %d",
	    "x", 3), JS_BAD);
	cr_expect_str_eq(detail, "scope.permissions[1]: must be x 3");
	cr_expect_eq(js_fail(detail, NULL, "body: %s", "must be a JSON object"),
	    JS_BAD);
	cr_expect_str_eq(detail, "body: must be a JSON object");
	memset(field, 'f', sizeof(field) - 1);
	field[sizeof(field) - 1] = '\0';
	js_fail(detail, field, "must be short");
	cr_expect_eq(strlen(detail), DETAIL_MAX - 1);  /* truncated, terminated */
}

/* --- builders --- */

Test(json, builders)
{
	struct json_object	*o = json_object_new_object(), *in, *d;

	js_add_str(o, "s", "a\"b</script>");
	js_add_str(o, "ns", NULL);
	js_add_int(o, "i", INT64_C(-9007199254740993));
	js_add_bool(o, "t", 5);
	js_add_bool(o, "f", 0);
	js_add_time(o, "at", INT64_C(1795336961123));
	js_add_time(o, "never", 0);
	in = json_object_new_array();
	js_add_obj(o, "arr", in);
	json_object_put(in);            /* o holds its own reference */
	js_add_obj(o, "nil", NULL);
	cr_expect_str_eq(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
	    "{\"s\":\"a\\\"b</script>\",\"ns\":null,\"i\":-9007199254740993,"
	    "\"t\":true,\"f\":false,\"at\":\"2026-11-22T08:42:41.123Z\","
	    "\"never\":null,\"arr\":[],\"nil\":null}");
	json_object_put(o);

	d = js_detail("Invalid or expired token");
	cr_assert_not_null(d);
	cr_expect_str_eq(json_object_to_json_string_ext(d,
	    JSON_C_TO_STRING_PLAIN), "{\"detail\":\"Invalid or expired token\"}");
	json_object_put(d);
}
