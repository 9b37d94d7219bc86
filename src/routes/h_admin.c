/*
 * h_admin.c - what only an un-narrowed admin may do (the router checks it):
 * every user's tokens and their revocation, the audit trail, and users
 * over HTTP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h_token_io.h"
#include "auth.h"
#include "handlers.h"
#include "http.h"
#include "js.h"
#include "log.h"
#include "pw.h"
#include "util.h"

/* GET /tokens/admin/all?user_email=&include_inactive=&limit=&offset= */
int
h_admin_tokens(struct req *r)
{
	struct list_query q;
	struct token *v = NULL;
	struct user u;
	uint64_t total = 0;
	size_t n = 0;
	int bad = 0, rc;
	char *email = util_form_get(r->query, "user_email", &bad);

	if ((rc = list_query_parse(r, &q, 100)) != 0 ||
	    (email != NULL && (bad || !util_email_valid(email)) &&
	    (rc = http_error(r, 422, "user_email: invalid e-mail address")) != 0))
		goto out;
	if (email == NULL)
		rc = store_token_list(r->app->st, TOKSET_ALL, NULL, q.include_inactive,
		    util_now_ms(), q.offset, q.limit, &v, &n, &total);
	else if ((rc = store_user_by_email(r->app->st, email, &u)) == 0)
		rc = store_token_list(r->app->st, TOKSET_OWNER, u.id, q.include_inactive,
		    util_now_ms(), q.offset, q.limit, &v, &n, &total);
	if (rc != 0 && rc != STORE_NOTFOUND) {
		rc = h_fail(r, rc);
		goto out;
	}
	r->out = h_token_list_json(v, n, total, &q);
	rc = 200;
out:
	tokens_free(v, n);
	free(email);
	return rc;
}

struct admin_revoke {
	const char		*by;
	const char		*reason;
	struct audit_event	*ev;    /* its target: the token's owner */
};

/* token_edit_fn: revoke any token; an already revoked one is left as it is. */
static int
ed_admin_revoke(struct token *t, void *arg)
{
	struct admin_revoke *a = arg;

	snprintf(a->ev->target_user, sizeof(a->ev->target_user), "%s",
	    t->owner_email);
	if (t->is_revoked)
		return 1;
	return token_mark_revoked(t, a->by, a->reason, util_now_ms());
}

/* DELETE /tokens/admin/{id} with an optional {"reason"}. */
int
h_admin_revoke(struct req *r)
{
	struct audit_event ev;
	struct admin_revoke a = { r->caller->user.email, NULL, &ev };
	char reason[EMAIL_MAX + 32], detail[DETAIL_MAX];
	int rc;

	if (!util_is_uuid(r->params[0]))
		return http_error(r, 404, "Token not found");
	if (r->json != NULL &&
	    js_get_str(r->json, "reason", 0, 255, &a.reason, detail) == JS_BAD)
		return http_error(r, 422, "%s", detail);
	snprintf(reason, sizeof(reason), "Revoked by admin %s", r->caller->user.email);
	if (a.reason == NULL)
		a.reason = reason;
	h_audit_event(r, &ev, "token.admin_revoke", r->params[0], NULL, "%.200s",
	    a.reason);
	rc = store_token_edit(r->app->st, r->params[0], ed_admin_revoke, &a, NULL,
	    &ev);
	if (rc == STORE_NOTFOUND)
		return http_error(r, 404, "Token not found");
	if (rc != 0 && rc != 1)
		return h_fail(r, rc);
	if (rc == 0)
		h_audit_logged(r, &ev);
	return 204;
}

/* GET /tokens/admin/audit?limit=&offset=&user_email= */
int
h_admin_audit(struct req *r)
{
	struct list_query q;
	struct audit_event *v = NULL;
	struct json_object *arr, *o;
	uint64_t total = 0;
	size_t i, n = 0;
	int bad = 0, rc;
	char *email = util_form_get(r->query, "user_email", &bad);

	if ((rc = list_query_parse(r, &q, 100)) != 0)
		goto out;
	if (email != NULL && (bad || !util_email_valid(email))) {
		rc = http_error(r, 422, "user_email: invalid e-mail address");
		goto out;
	}
	if ((rc = store_audit_list(r->app->st, email, q.offset, q.limit, &v, &n,
	    &total)) != 0) {
		rc = h_fail(r, rc);
		goto out;
	}
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		o = json_object_new_object();
		js_add_time(o, "at", v[i].at);
		js_add_str(o, "actor", v[i].actor);
		js_add_str(o, "action", v[i].action);
		js_add_str(o, "token_id", v[i].token_id[0] ? v[i].token_id : NULL);
		js_add_str(o, "target_user", v[i].target_user[0] ? v[i].target_user : NULL);
		js_add_str(o, "detail", v[i].detail);
		json_object_array_add(arr, o);
	}
	r->out = json_object_new_object();
	json_object_object_add(r->out, "events", arr);
	js_add_int(r->out, "total", (int64_t)total);
	js_add_int(r->out, "limit", q.limit);
	js_add_int(r->out, "offset", (int64_t)q.offset);
	rc = 200;
out:
	free(v);
	free(email);
	return rc;
}
