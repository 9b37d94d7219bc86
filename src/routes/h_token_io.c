/*
 * h_token_io.c - token request bodies, list queries, TokenResponse and the
 * API-token JWT claims.
 */
#include <stdlib.h>
#include <string.h>

#include "h_token_io.h"
#include "http.h"
#include "js.h"
#include "scope.h"
#include "util.h"

#define TAGS_MAX	50
#define TAG_CHARS	255
#define DAYS_MAX	36500
#define CENTURY_S	(100LL * 365 * 86400)

/* 1 if s is 1..TAG_CHARS code points of valid UTF-8. */
static int
tag_str_ok(const char *s, size_t len)
{
	size_t n;

	if (len == 0 || strlen(s) != len || !util_utf8_valid(s, len))
		return 0;
	n = util_utf8_len(s);
	return n >= 1 && n <= TAG_CHARS;
}

/* tags: an array of strings, or of objects whose values are strings. */
static int
check_tags(struct json_object *tags, char *detail)
{
	struct json_object *v;
	size_t i;

	if (json_object_array_length(tags) > TAGS_MAX)
		return js_fail(detail, "tags", "at most %d entries", TAGS_MAX);
	for (i = 0; i < json_object_array_length(tags); i++) {
		v = json_object_array_get_idx(tags, i);
		if (json_object_is_type(v, json_type_string)) {
			if (!tag_str_ok(json_object_get_string(v),
			    (size_t)json_object_get_string_len(v)))
				return js_fail(detail, "tags", "entry %zu must be "
				    "1 to %d characters", i, TAG_CHARS);
			continue;
		}
		if (!json_object_is_type(v, json_type_object))
			return js_fail(detail, "tags", "entry %zu must be a string "
			    "or an object of strings", i);
		json_object_object_foreach(v, key, val) {
			if (!tag_str_ok(key, strlen(key)) || val == NULL ||
			    !json_object_is_type(val, json_type_string) ||
			    (json_object_get_string_len(val) > 0 &&
			    !tag_str_ok(json_object_get_string(val),
			    (size_t)json_object_get_string_len(val))))
				return js_fail(detail, "tags", "entry %zu must be "
				    "an object of strings of at most %d characters",
				    i, TAG_CHARS);
		}
	}
	return JS_OK;
}

/* The string fields of a create/update body. JS_BAD with detail, else JS_OK. */
static int
parse_strings(struct json_object *j, struct token_input *in, int flags, char *detail)
{
	int rc, create = flags & TI_CREATE;

	rc = js_get_str(j, "name", 1, 255, &in->name, detail);
	if (rc == JS_BAD)
		return JS_BAD;
	if (create && rc != JS_OK)
		return js_fail(detail, "name", "field required");
	if ((rc = js_get_str(j, "description", 0, 1000, &in->description,
	    detail)) == JS_BAD)
		return JS_BAD;
	in->has_description = rc == JS_OK;
	if (flags & TI_PATH_TEAM)
		rc = JS_ABSENT;         /* the path's team wins: not read */
	else if ((rc = js_get_str(j, "team_id", 1, TEAMID_LEN, &in->team_id,
	    detail)) == JS_BAD)
		return JS_BAD;
	if (rc == JS_OK && !util_is_team_id(in->team_id))
		return js_fail(detail, "team_id", "must be a team id (32 lowercase hex digits)");
	if (rc != JS_OK)
		in->team_id = NULL;
	if ((rc = js_get_str(j, "user_email", 1, EMAIL_MAX, &in->user_email,
	    detail)) == JS_BAD)
		return JS_BAD;
	if (rc != JS_OK)
		in->user_email = NULL;
	return JS_OK;
}

/* The typed fields: expires_in_days, is_active, scope, tags. */
static int
parse_typed(struct json_object *j, struct token_input *in, int flags, char *detail)
{
	int create = flags & TI_CREATE;
	struct json_object *scope = NULL, *tags = NULL;
	int64_t days;
	int rc, b;

	if ((rc = js_get_int(j, "expires_in_days", 1, DAYS_MAX, &days, detail)) == JS_BAD)
		return JS_BAD;
	in->expires_in_days = rc == JS_OK ? (uint64_t)days : 0;
	if ((rc = js_get_bool(j, "is_active", &b, detail)) == JS_BAD)
		return JS_BAD;
	in->is_active = rc == JS_OK ? b : create ? 1 : -1;
	if ((rc = js_get_type(j, "scope", json_type_object, &scope, detail)) == JS_BAD)
		return JS_BAD;
	if ((rc == JS_OK || create) &&
	    scope_normalize(rc == JS_OK ? scope : NULL, &in->scope, detail) == -1)
		return JS_BAD;
	if ((rc = js_get_type(j, "tags", json_type_array, &tags, detail)) == JS_BAD)
		return JS_BAD;
	if (rc == JS_OK && check_tags(tags, detail) == JS_BAD)
		return JS_BAD;
	if (rc == JS_OK)
		in->tags = json_object_get(tags);
	else if (create)
		in->tags = json_object_new_array();
	return JS_OK;
}

int
token_input_parse(struct req *r, struct token_input *in, int flags)
{
	char detail[DETAIL_MAX];

	memset(in, 0, sizeof(*in));
	if (parse_strings(r->json, in, flags, detail) == JS_BAD ||
	    parse_typed(r->json, in, flags, detail) == JS_BAD) {
		token_input_free(in);
		return http_error(r, 422, "%s", detail);
	}
	return 0;
}

void
token_input_free(struct token_input *in)
{
	json_object_put(in->scope);
	json_object_put(in->tags);
	in->scope = in->tags = NULL;
}

/* One query parameter as an unsigned number in [min, max]; absent = def. */
static int
query_uint(struct req *r, const char *key, uint64_t min, uint64_t max,
    uint64_t def, uint64_t *out)
{
	int bad = 0, rc = 0;
	char *v = util_form_get(r->query, key, &bad);

	*out = def;
	if (bad || (v != NULL && util_parse_uint(v, min, max, out) == -1))
		rc = -1;
	free(v);
	return rc;
}

int
list_query_parse(struct req *r, struct list_query *q, uint32_t def_limit)
{
	uint64_t limit, offset;
	int bad = 0;
	char *v = util_form_get(r->query, "include_inactive", &bad);

	q->include_inactive = v != NULL && strcmp(v, "true") == 0;
	if (bad || (v != NULL && strcmp(v, "true") != 0 && strcmp(v, "false") != 0)) {
		free(v);
		return http_error(r, 422, "include_inactive: must be true or false");
	}
	free(v);
	if (query_uint(r, "limit", 1, 1000, def_limit, &limit) == -1)
		return http_error(r, 422, "limit: must be an integer from 1 to 1000");
	if (query_uint(r, "offset", 0, 1000000000, 0, &offset) == -1)
		return http_error(r, 422, "offset: must be a non-negative integer");
	q->limit = (uint32_t)limit;
	q->offset = offset;
	return 0;
}

/* A member of the normalized scope, or a new empty value of type t. */
static struct json_object *
scope_part(const struct token *t, const char *key, json_type type)
{
	struct json_object *v;

	if (json_object_object_get_ex(t->scope, key, &v) && v != NULL &&
	    json_object_is_type(v, type))
		return json_object_get(v);
	if (type == json_type_array)
		return json_object_new_array();
	return type == json_type_object ? json_object_new_object() : NULL;
}

struct json_object *
h_token_json(const struct token *t)
{
	struct json_object *o = json_object_new_object();

	js_put(o, "id", js_str(t->id));
	js_put(o, "name", js_str(t->name));
	js_put(o, "description", js_str(t->description));
	js_put(o, "user_email", js_str(t->owner_email));
	js_put(o, "team_id", js_str(t->team_id[0] ? t->team_id : NULL));
	js_put(o, "server_id", scope_part(t, "server_id", json_type_string));
	js_put(o, "resource_scopes", scope_part(t, "permissions", json_type_array));
	js_put(o, "ip_restrictions", scope_part(t, "ip_restrictions", json_type_array));
	js_put(o, "time_restrictions", scope_part(t, "time_restrictions", json_type_object));
	js_put(o, "usage_limits", scope_part(t, "usage_limits", json_type_object));
	js_put(o, "created_at", js_time(t->created_at));
	js_put(o, "expires_at", js_time(t->expires_at));
	js_put(o, "last_used", js_time(t->last_used));
	js_put(o, "is_active", json_object_new_boolean(t->is_active != 0));
	js_put(o, "is_revoked", json_object_new_boolean(t->is_revoked != 0));
	js_put(o, "revoked_at", js_time(t->revoked_at));
	js_put(o, "revoked_by", js_str(t->revoked_by));
	js_put(o, "revocation_reason", js_str(t->revocation_reason));
	js_put(o, "tags", json_object_get(t->tags));
	js_put(o, "created_by", js_str(t->created_by));
	return o;
}

struct json_object *
h_token_list_json(const struct token *v, size_t n, uint64_t total,
    const struct list_query *q)
{
	struct json_object *o = json_object_new_object(), *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(arr, h_token_json(&v[i]));
	json_object_object_add(o, "tokens", arr);
	js_add_int(o, "total", (int64_t)total);
	js_add_int(o, "limit", q->limit);
	js_add_int(o, "offset", (int64_t)q->offset);
	return o;
}

/*
 * The API-token JWT of t for owner, with exactly the claims of API.md 4:
 * sub, jti, iat, exp (t's expiry, or iat + 100 years for a token that never
 * expires), token_use "api", user, teams ([team_id] or null) and scopes
 * (the normalized scope); jws_sign adds iss and aud. Malloc'd, caller
 * wipes and frees; NULL on failure.
 */
char *
h_token_jwt(const struct app *a, const struct token *t, const struct user *owner)
{
	struct json_object *c = json_object_new_object(), *u, *teams = NULL;
	int64_t iat = t->created_at / 1000;
	char *jwt;

	js_add_str(c, "sub", owner->id);
	js_add_str(c, "jti", t->jti);
	js_add_int(c, "iat", iat);
	js_add_int(c, "exp", t->expires_at ? t->expires_at / 1000 : iat + CENTURY_S);
	js_add_str(c, "token_use", "api");
	u = json_object_new_object();
	js_add_str(u, "email", owner->email);
	js_add_str(u, "full_name", owner->full_name);
	js_add_bool(u, "is_admin", owner->is_admin);
	js_add_str(u, "auth_provider", "api_token");
	json_object_object_add(c, "user", u);
	if (t->team_id[0] != '\0') {
		teams = json_object_new_array();
		json_object_array_add(teams, json_object_new_string(t->team_id));
	}
	json_object_object_add(c, "teams", teams);
	json_object_object_add(c, "scopes", json_object_get(t->scope));
	jwt = jws_sign(&a->key, a->cfg.issuer, a->cfg.audience, c);
	json_object_put(c);
	return jwt;
}
