/*
 * h_users.c - users over HTTP for un-narrowed admins (API.md 8):
 * GET /admin/users, POST /admin/users, PATCH /admin/users/{email}.
 * Disabling a user refuses their sessions and tokens at once, since every
 * request reads the user from the store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "h_token_io.h"
#include "handlers.h"
#include "http.h"
#include "js.h"
#include "pw.h"
#include "util.h"

int
h_admin_users(struct req *r)
{
	struct list_query q;
	struct user *v = NULL;
	struct json_object *arr;
	uint64_t total = 0;
	size_t i, n = 0;
	int rc;

	if ((rc = list_query_parse(r, &q, 100)) != 0)
		return rc;
	if ((rc = store_user_list(r->app->st, q.offset, q.limit, &v, &n, &total)) != 0)
		return h_fail(r, rc);
	arr = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(arr, h_user_json(&v[i]));
	free(v);
	r->out = json_object_new_object();
	json_object_object_add(r->out, "users", arr);
	js_add_int(r->out, "total", (int64_t)total);
	js_add_int(r->out, "limit", q.limit);
	js_add_int(r->out, "offset", (int64_t)q.offset);
	return 200;
}

/* A new password hash from the body's "password" into u. 0, or 422 / 503. */
static int
set_password(struct req *r, struct user *u, const char *password)
{
	if (util_utf8_len(password) < PW_MIN_LEN)
		return http_error(r, 422, "password: must be at least %d characters",
		    PW_MIN_LEN);
	if (pw_hash(password, u->pwhash) == -1)
		return http_error(r, 503, "Service temporarily unavailable");
	return 0;
}

int
h_admin_user_create(struct req *r)
{
	const char *email, *password, *name = NULL;
	char detail[DETAIL_MAX];
	struct audit_event ev;
	struct user u;
	int rc, admin = 0;

	memset(&u, 0, sizeof(u));
	if ((rc = js_get_str(r->json, "email", 1, EMAIL_MAX, &email, detail)) != JS_OK)
		return http_error(r, 422, "%s", rc == JS_BAD ? detail : "email: field required");
	if (!util_email_valid(email))
		return http_error(r, 422, "email: invalid e-mail address");
	if ((rc = js_get_str(r->json, "password", 1, PW_MAX_LEN, &password,
	    detail)) != JS_OK)
		return http_error(r, 422, "%s", rc == JS_BAD ? detail :
		    "password: field required");
	if (js_get_str(r->json, "full_name", 0, 255, &name, detail) == JS_BAD ||
	    js_get_bool(r->json, "is_admin", &admin, detail) == JS_BAD)
		return http_error(r, 422, "%s", detail);
	if ((rc = set_password(r, &u, password)) != 0 || util_uuid4(u.id) == -1)
		return rc != 0 ? rc : http_error(r, 503, "Service temporarily unavailable");
	util_lower(email, u.email, sizeof(u.email));
	snprintf(u.full_name, sizeof(u.full_name), "%s", name ? name : "");
	u.is_admin = admin;
	u.is_active = 1;
	u.created_at = util_now_ms();
	h_audit_event(r, &ev, "user.create", NULL, u.email, "%s",
	    admin ? "admin" : "user");
	rc = store_user_add(r->app->st, &u, &ev);
	OPENSSL_cleanse(u.pwhash, sizeof(u.pwhash));
	if (rc == STORE_EXISTS)
		return http_error(r, 409, "A user with this email already exists");
	if (rc != 0)
		return h_fail(r, rc);
	h_audit_logged(r, &ev);
	r->out = h_user_json(&u);
	return 201;
}

/* Append word to buf (bufsz bytes), truncating safely. */
static void
append(char *buf, size_t bufsz, const char *word)
{
	size_t n = strlen(buf);

	if (n < bufsz)
		snprintf(buf + n, bufsz - n, "%s", word);
}

/* Apply the PATCH body to u. 0, or 422. */
static int
patch_user(struct req *r, struct user *u, char *what, size_t whatsz)
{
	const char *name, *password;
	char detail[DETAIL_MAX];
	int b, rc;

	what[0] = '\0';
	if ((rc = js_get_str(r->json, "full_name", 0, 255, &name, detail)) == JS_BAD)
		return http_error(r, 422, "%s", detail);
	if (rc == JS_OK) {
		snprintf(u->full_name, sizeof(u->full_name), "%s", name);
		append(what, whatsz, " full_name");
	}
	if ((rc = js_get_bool(r->json, "is_admin", &b, detail)) == JS_BAD)
		return http_error(r, 422, "%s", detail);
	if (rc == JS_OK) {
		u->is_admin = b;
		append(what, whatsz, b ? " admin" : " not-admin");
	}
	if ((rc = js_get_bool(r->json, "is_active", &b, detail)) == JS_BAD)
		return http_error(r, 422, "%s", detail);
	if (rc == JS_OK) {
		u->is_active = b;
		append(what, whatsz, b ? " enabled" : " disabled");
	}
	if ((rc = js_get_str(r->json, "password", 1, PW_MAX_LEN, &password,
	    detail)) == JS_BAD)
		return http_error(r, 422, "%s", detail);
	if (rc == JS_OK) {
		if ((rc = set_password(r, u, password)) != 0)
			return rc;
		append(what, whatsz, " password");
	}
	return 0;
}

int
h_admin_user_update(struct req *r)
{
	struct audit_event ev;
	struct user u;
	char what[96];
	int rc;

	if ((rc = store_user_by_email(r->app->st, r->params[0], &u)) == STORE_NOTFOUND)
		return http_error(r, 404, "User not found");
	if (rc != 0)
		return h_fail(r, rc);
	if ((rc = patch_user(r, &u, what, sizeof(what))) != 0)
		return rc;
	h_audit_event(r, &ev, "user.update", NULL, u.email, "%s",
	    what[0] ? what + 1 : "no change");
	if ((rc = store_user_put(r->app->st, &u, &ev)) != 0)
		return h_fail(r, rc);
	h_audit_logged(r, &ev);
	r->out = h_user_json(&u);
	return 200;
}
