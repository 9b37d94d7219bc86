/*
 * js.h - json-c helpers: a strict parser and typed getters that report the
 * offending field, and small builders.
 *
 * Getters return JS_ABSENT (key missing), JS_NULL (key present, value null),
 * JS_OK (value stored in *out), or JS_BAD, in which case a sentence naming the
 * field ("name: must be a string") is written to detail (DETAIL_MAX bytes).
 * Pointers returned through *out borrow from the object: they live as long as
 * the object does.
 */
#ifndef TC_JS_H
#define TC_JS_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define DETAIL_MAX 256
#define JS_MAX_DEPTH 16

enum { JS_BAD = -1, JS_OK = 0, JS_ABSENT = 1, JS_NULL = 2 };

/*
 * Parse buf[0..len) as one JSON document (depth <= JS_MAX_DEPTH, valid UTF-8,
 * nothing but white space after it). Returns a new object (caller puts it),
 * or NULL with detail set ("Invalid JSON: ...", no library text).
 */
struct json_object *js_parse(const char *buf, size_t len, char *detail);

/* String of minc..maxc code points (valid UTF-8, no NUL). */
int	js_get_str(struct json_object *o, const char *key, size_t minc,
	    size_t maxc, const char **out, char *detail);
/* JSON integer (not a double, bool or string) in [min, max]. */
int	js_get_int(struct json_object *o, const char *key, int64_t min,
	    int64_t max, int64_t *out, char *detail);
int	js_get_bool(struct json_object *o, const char *key, int *out,
	    char *detail);
/* Value of the given json_type (json_type_object / json_type_array). */
int	js_get_type(struct json_object *o, const char *key, json_type type,
	    struct json_object **out, char *detail);

/* detail = "<field>: <msg>". Always returns JS_BAD. */
int	js_fail(char *detail, const char *field, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

/* Builders: add key to o. A NULL string and a 0 time become JSON null. */
void	js_add_str(struct json_object *o, const char *key, const char *s);
void	js_add_int(struct json_object *o, const char *key, int64_t v);
void	js_add_bool(struct json_object *o, const char *key, int v);
/* RFC 3339 string from ms since the epoch (util_time_fmt), null if ms == 0. */
void	js_add_time(struct json_object *o, const char *key, int64_t ms);
/*
 * o[key] = v (owned) for a key that is a string literal and not yet in o:
 * json-c neither looks it up nor copies it (objects built key by key).
 */
void	js_put(struct json_object *o, const char *key, struct json_object *v);
/* A new JSON string of s, or NULL (null) when s is NULL. */
struct json_object *js_str(const char *s);
/* A new RFC 3339 string of ms, or NULL (null) when ms == 0. */
struct json_object *js_time(int64_t ms);
/* Adds a new reference to v (v may be NULL -> null). */
void	js_add_obj(struct json_object *o, const char *key, struct json_object *v);
/* {"detail": msg}: a new object, caller owns. */
struct json_object *js_detail(const char *msg);

#endif
