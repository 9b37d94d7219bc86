/*
 * js.c - json-c helpers: a strict whole-buffer parser whose errors never
 * carry library text, typed getters that name the offending field, and
 * builders that turn NULL / 0 into JSON null.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "js.h"
#include "util.h"

/* Write "Invalid JSON: <what>" into detail. */
static void
parse_fail(char *detail, const char *what)
{
	snprintf(detail, DETAIL_MAX, "Invalid JSON: %s", what);
}

/* 1 if o holds no NaN or infinite number anywhere (json-c accepts them). */
static int
all_finite(struct json_object *o)
{
	size_t	i, n;

	switch (json_object_get_type(o)) {
	case json_type_double:
		return isfinite(json_object_get_double(o));
	case json_type_array:
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			if (!all_finite(json_object_array_get_idx(o, i)))
				return 0;
		return 1;
	case json_type_object: {
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (!all_finite(v))
				return 0;
		}
		return 1;
	}
	default:
		return 1;
	}
}

/* 1 if buf[0..len) is only JSON white space. */
static int
only_ws(const char *buf, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if (strchr(" \t\r\n", buf[i]) == NULL)
			return 0;
	return 1;
}

/* The code point of the 4 hex digits at s[0..n), or -1. */
static long
hex4(const char *s, size_t n)
{
	long	cp = 0;
	size_t	i;
	int	v;

	if (n < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		if ((v = util_hexval(s[i])) < 0)
			return -1;
		cp = cp << 4 | v;
	}
	return cp;
}

/*
 * One \uXXXX escape of code point cp after a high surrogate escape (*hi)
 * or not: 1 if it leaves a surrogate unpaired, else 0 with *hi updated.
 */
static int
unpaired(long cp, int *hi)
{
	int	low = cp >= 0xdc00 && cp <= 0xdfff;

	if (low != *hi)
		return 1;
	*hi = cp >= 0xd800 && cp <= 0xdbff;
	return 0;
}

/*
 * What json-c would let through although it is not JSON: a raw control
 * character inside a string (RFC 8259 requires them escaped), a single
 * quote outside one, or a \u escape of a surrogate that is not half of a
 * pair (json-c silently turns it into U+FFFD, so that "\ud800" and
 * "\udc00" would be stored as the same name). Returns the reason, or NULL.
 */
static const char *
lexical_error(const char *buf, size_t len)
{
	size_t	i;
	long	cp;
	int	in = 0, esc = 0, hi = 0;

	for (i = 0; i < len; i++) {
		if (!in && buf[i] == '\'')     /* json-c takes 'single' quoted keys */
			return "single quotes are not JSON";
		if (!in) {
			in = buf[i] == '"';
			continue;
		}
		if ((unsigned char)buf[i] < 0x20)
			return "control character in string";
		if (esc) {
			esc = 0;
			if (buf[i] == 'u' && (cp = hex4(buf + i + 1, len - i - 1)) >= 0) {
				i += 4;
				if (unpaired(cp, &hi))
					return "unpaired surrogate in string";
				continue;
			}
		} else if (buf[i] == '\\') {
			esc = 1;
			continue;
		} else if (buf[i] == '"')
			in = 0;
		if (hi)
			return "unpaired surrogate in string";
	}
	return NULL;
}

/* Describe a json-c tokener error (not its text) into detail. */
static void
tokener_fail(enum json_tokener_error e, size_t at, char *detail)
{
	char	what[64];

	if (e == json_tokener_continue || e == json_tokener_error_parse_eof)
		parse_fail(detail, "unexpected end of input");
	else if (e == json_tokener_error_depth)
		parse_fail(detail, "nesting too deep");
	else if (e == json_tokener_success)      /* the document was null */
		parse_fail(detail, "top-level null is not accepted");
	else {
		snprintf(what, sizeof(what), "syntax error at byte %zu", at);
		parse_fail(detail, what);
	}
}

/*
 * Parse buf[0..len) as exactly one JSON value (see js.h). The input is
 * checked first for NUL, UTF-8, single quotes, unpaired surrogate escapes
 * and raw control characters in strings
 * (json-c lets surrogates, overlongs and controls through); NaN/Infinity
 * are refused after parsing. A top-level null has no json-c object and is
 * refused too. Depth follows json-c's count of every value on the deepest
 * path: 16 nested empty arrays pass, 16 arrays around a number do not.
 * Returns a new object the caller puts, or NULL with detail set.
 */
struct json_object *
js_parse(const char *buf, size_t len, char *detail)
{
	struct json_tokener	*tok = NULL;
	struct json_object	*o = NULL;
	enum json_tokener_error	 e;
	const char		*lex;
	size_t			 end;

	if (memchr(buf, '\0', len) != NULL) {
		parse_fail(detail, "NUL character in input");
		goto out;
	}
	if (len > INT32_MAX || !util_utf8_valid(buf, len)) {
		parse_fail(detail, len > INT32_MAX ? "too long" : "invalid UTF-8");
		goto out;
	}
	if ((lex = lexical_error(buf, len)) != NULL) {
		parse_fail(detail, lex);
		goto out;
	}
	if ((tok = json_tokener_new_ex(JS_MAX_DEPTH)) == NULL) {
		parse_fail(detail, "out of memory");
		goto out;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8 | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	end = json_tokener_get_parse_end(tok);
	if ((e = json_tokener_get_error(tok)) == json_tokener_continue) {
		/* A bare number or literal ends only at the end of input. */
		o = json_tokener_parse_ex(tok, "", 1);
		e = json_tokener_get_error(tok);
		end = len;
	}
	if (o == NULL) {
		tokener_fail(e, end, detail);
		goto out;
	}
	if (!only_ws(buf + end, len - end)) {
		parse_fail(detail, "trailing data");
		goto fail;
	}
	if (!all_finite(o)) {
		parse_fail(detail, "NaN and Infinity are not numbers");
		goto fail;
	}
	goto out;
fail:
	json_object_put(o);
	o = NULL;
out:
	if (tok != NULL)        /* json_tokener_free() is not NULL-safe */
		json_tokener_free(tok);
	return o;
}

/* detail = "<field>: <formatted msg>" (just the message if field is NULL). Returns JS_BAD. */
int
js_fail(char *detail, const char *field, const char *fmt, ...)
{
	va_list	ap;
	int	n = 0;

	if (field != NULL)
		n = snprintf(detail, DETAIL_MAX, "%s: ", field);
	if (n < 0 || n >= DETAIL_MAX)
		return JS_BAD;
	va_start(ap, fmt);
	vsnprintf(detail + n, DETAIL_MAX - (size_t)n, fmt, ap);
	va_end(ap);
	return JS_BAD;
}

/* Look key up in o: JS_ABSENT, JS_NULL, or JS_OK with *v set (borrowed). */
static int
lookup(struct json_object *o, const char *key, struct json_object **v)
{
	if (o == NULL || !json_object_object_get_ex(o, key, v))
		return JS_ABSENT;
	return *v == NULL ? JS_NULL : JS_OK;
}

/* String value of key: valid UTF-8, no NUL, minc..maxc code points. */
int
js_get_str(struct json_object *o, const char *key, size_t minc, size_t maxc,
    const char **out, char *detail)
{
	struct json_object	*v;
	const char		*s;
	size_t			 len, n;
	int			 rc;

	if ((rc = lookup(o, key, &v)) != JS_OK)
		return rc;
	if (!json_object_is_type(v, json_type_string))
		return js_fail(detail, key, "must be a string");
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (memchr(s, '\0', len) != NULL)
		return js_fail(detail, key, "must not contain NUL");
	if (!util_utf8_valid(s, len))
		return js_fail(detail, key, "must be valid UTF-8");
	n = util_utf8_len(s);
	if (n < minc || n > maxc) {
		if (minc == 0)
			return js_fail(detail, key,
			    "must be at most %zu characters", maxc);
		return js_fail(detail, key, "must be %zu to %zu characters",
		    minc, maxc);
	}
	*out = s;
	return JS_OK;
}

/* JSON integer of key in [min, max]; doubles, bools and strings are refused. */
int
js_get_int(struct json_object *o, const char *key, int64_t min, int64_t max,
    int64_t *out, char *detail)
{
	struct json_object	*v;
	int64_t			 n;
	int			 rc;

	if ((rc = lookup(o, key, &v)) != JS_OK)
		return rc;
	if (!json_object_is_type(v, json_type_int))
		return js_fail(detail, key, "must be an integer");
	n = json_object_get_int64(v);   /* saturates outside int64 */
	if (n < min || n > max)
		return js_fail(detail, key, "must be between %lld and %lld",
		    (long long)min, (long long)max);
	*out = n;
	return JS_OK;
}

/* JSON true/false of key into *out (1/0). */
int
js_get_bool(struct json_object *o, const char *key, int *out, char *detail)
{
	struct json_object	*v;
	int			 rc;

	if ((rc = lookup(o, key, &v)) != JS_OK)
		return rc;
	if (!json_object_is_type(v, json_type_boolean))
		return js_fail(detail, key, "must be true or false");
	*out = json_object_get_boolean(v) ? 1 : 0;
	return JS_OK;
}

/* Value of key that must have the given type; *out is borrowed from o. */
int
js_get_type(struct json_object *o, const char *key, json_type type,
    struct json_object **out, char *detail)
{
	struct json_object	*v;
	int			 rc;

	if ((rc = lookup(o, key, &v)) != JS_OK)
		return rc;
	if (!json_object_is_type(v, type)) {
		switch (type) {
		case json_type_object:
			return js_fail(detail, key, "must be an object");
		case json_type_array:
			return js_fail(detail, key, "must be an array");
		case json_type_string:
			return js_fail(detail, key, "must be a string");
		case json_type_int:
			return js_fail(detail, key, "must be an integer");
		case json_type_boolean:
			return js_fail(detail, key, "must be true or false");
		default:
			return js_fail(detail, key, "must be a number");
		}
	}
	*out = v;
	return JS_OK;
}

struct json_object *
js_str(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

struct json_object *
js_time(int64_t ms)
{
	char	buf[TIME_LEN];

	if (ms == 0)
		return NULL;
	util_time_fmt(ms, buf);
	return json_object_new_string(buf);
}

void
js_put(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add_ex(o, key, v, JSON_C_OBJECT_ADD_KEY_IS_NEW |
	    JSON_C_OBJECT_ADD_CONSTANT_KEY);
}

/* o[key] = s, or null when s is NULL. */
void
js_add_str(struct json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, js_str(s));
}

/* o[key] = v as a JSON integer. */
void
js_add_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

/* o[key] = true/false. */
void
js_add_bool(struct json_object *o, const char *key, int v)
{
	json_object_object_add(o, key, json_object_new_boolean(v != 0));
}

/* o[key] = RFC 3339 time of ms, or null when ms == 0. */
void
js_add_time(struct json_object *o, const char *key, int64_t ms)
{
	json_object_object_add(o, key, js_time(ms));
}

/* o[key] = v with a new reference taken (the caller keeps its own); NULL -> null. */
void
js_add_obj(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, json_object_get(v));
}

/* A new {"detail": msg} object; the caller owns (puts) it. */
struct json_object *
js_detail(const char *msg)
{
	struct json_object	*o;

	if ((o = json_object_new_object()) == NULL)
		return NULL;
	js_add_str(o, "detail", msg);
	return o;
}
