/*
 * h_teams.c - the team routes of API.md 8: list and create teams, read one,
 * list, add and remove members. A team owner's add of someone not yet a
 * member is an invitation (h_invites.c). A narrowed session acts only on
 * the teams in its scope: 403 H_NOT_SCOPED for any other.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "h_token_io.h"
#include "auth.h"
#include "handlers.h"
#include "http.h"
#include "js.h"
#include "policy.h"
#include "util.h"

#define NO_TEAM "Team not found"

/* Team object: {"id", "name", "created_at", "member_count", "role"}. */
struct json_object *
h_team_json(const struct team *t, int role)
{
	struct json_object *o = json_object_new_object();

	js_add_str(o, "id", t->id);
	js_add_str(o, "name", t->name);
	js_add_time(o, "created_at", t->created_at);
	js_add_int(o, "member_count", t->member_count);
	js_add_str(o, "role", role_name(role));
	return o;
}

/* The caller's role in team id (ROLE_NONE if none); a store error as a status. */
static int
my_role(struct req *r, const char *id, int *role)
{
	int rc = store_member_get(r->app->st, id, r->caller->user.id, role);

	if (rc == STORE_NOTFOUND) {
		*role = ROLE_NONE;
		return 0;
	}
	return rc != 0 ? h_fail(r, rc) : 0;
}

/*
 * Load team params[0] into t and the caller's role (handlers.h). A team
 * outside a narrowed session's scope is 403 H_NOT_SCOPED before anything
 * is read, so that it says nothing about the team.
 */
int
h_team_load(struct req *r, struct team *t, int *role, int need)
{
	struct who w;
	int rc;

	caller_who(r->caller, &w);
	if (!policy_in_scope(&w, r->params[0]))
		return http_error(r, 403, H_NOT_SCOPED);
	if ((rc = store_team_get(r->app->st, r->params[0], t)) == STORE_NOTFOUND)
		return http_error(r, 404, NO_TEAM);
	if (rc != 0)
		return h_fail(r, rc);
	if ((rc = my_role(r, t->id, role)) != 0)
		return rc;
	if (need == 1 && *role == ROLE_NONE && !r->caller->user.is_admin)
		return http_error(r, 403, "Team membership required");
	if (need == 2 && !policy_may_manage_team(&w, t->id, *role))
		return http_error(r, 403, "Team owner or admin access required");
	return 0;
}

/* Append team id with the caller's role to arr, unless narrowed away. */
static int
add_team(struct req *r, struct json_object *arr, const char *id, int role)
{
	struct team t;
	int rc;

	if (r->caller->narrowed && !strlist_has(&r->caller->teams, id))
		return 0;
	if ((rc = store_team_get(r->app->st, id, &t)) == STORE_NOTFOUND)
		return 0;
	if (rc == 0)
		json_object_array_add(arr, h_team_json(&t, role));
	return rc;
}

/* Every team, for an admin with ?all=true (within a narrowed session's scope). */
static int
all_teams(struct req *r, struct json_object *arr)
{
	struct team *v = NULL;
	struct who w;
	size_t i, n = 0;
	int rc, role;

	caller_who(r->caller, &w);
	if ((rc = store_team_list(r->app->st, &v, &n)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		if (!policy_in_scope(&w, v[i].id))
			continue;
		rc = store_member_get(r->app->st, v[i].id, r->caller->user.id, &role);
		if (rc == 0 || rc == STORE_NOTFOUND)
			json_object_array_add(arr, h_team_json(&v[i], rc == 0 ? role :
			    ROLE_NONE));
		if (rc == STORE_NOTFOUND)
			rc = 0;
	}
	free(v);
	return rc;
}

int
h_team_list(struct req *r)
{
	struct membership *m = NULL;
	struct json_object *arr;
	size_t i, n = 0;
	int bad = 0, all, rc = 0;
	char *v = util_form_get(r->query, "all", &bad);

	all = v != NULL && strcmp(v, "true") == 0;
	rc = bad || (v != NULL && !all && strcmp(v, "false") != 0);
	free(v);
	if (rc)
		return http_error(r, 422, "all: must be true or false");
	arr = json_object_new_array();
	if (all && caller_is_admin(r->caller))
		rc = all_teams(r, arr);
	else if ((rc = store_user_teams(r->app->st, r->caller->user.id, &m, &n)) == 0)
		for (i = 0; i < n && rc == 0; i++)
			rc = add_team(r, arr, m[i].team_id, m[i].role);
	free(m);
	if (rc != 0) {
		json_object_put(arr);
		return h_fail(r, rc);
	}
	r->out = arr;
	return 200;
}

int
h_team_create(struct req *r)
{
	const char *name;
	char detail[DETAIL_MAX];
	struct audit_event ev;
	struct team t;
	int rc;

	if (!r->app->cfg.allow_team_creation && !caller_unnarrowed_admin(r->caller))
		return http_error(r, 403, "Team creation is restricted to admins");
	if ((rc = js_get_str(r->json, "name", 1, 255, &name, detail)) != JS_OK)
		return http_error(r, 422, "%s", rc == JS_BAD ? detail : "name: field required");
	memset(&t, 0, sizeof(t));
	if (util_team_id(t.id) == -1)
		return http_error(r, 503, "Service temporarily unavailable");
	snprintf(t.name, sizeof(t.name), "%s", name);
	t.created_at = util_now_ms();
	t.member_count = 1;
	h_audit_event(r, &ev, "team.create", NULL, NULL, "%s %.200s", t.id, t.name);
	if ((rc = store_team_add(r->app->st, &t, r->caller->user.id, &ev)) ==
	    STORE_EXISTS)
		return http_error(r, 409, "A team with this name already exists");
	if (rc != 0)
		return h_fail(r, rc);
	h_audit_logged(r, &ev);
	r->out = h_team_json(&t, ROLE_OWNER);
	return 201;
}

int
h_team_get(struct req *r)
{
	struct team t;
	int rc, role;

	if ((rc = h_team_load(r, &t, &role, 1)) != 0)
		return rc;
	r->out = h_team_json(&t, role);
	return 200;
}

int
h_team_members(struct req *r)
{
	struct membership *m = NULL;
	struct json_object *arr, *o;
	struct team t;
	struct user u;
	size_t i, n = 0;
	int rc, role;

	if ((rc = h_team_load(r, &t, &role, 1)) != 0)
		return rc;
	if ((rc = store_team_members(r->app->st, t.id, &m, &n)) != 0)
		return h_fail(r, rc);
	arr = json_object_new_array();
	for (i = 0; i < n; i++) {
		if (store_user_get(r->app->st, m[i].user_id, &u) != 0)
			continue;
		o = json_object_new_object();
		js_add_str(o, "email", u.email);
		js_add_str(o, "role", role_name(m[i].role));
		js_add_time(o, "joined_at", m[i].joined_at);
		json_object_array_add(arr, o);
	}
	free(m);
	r->out = arr;
	return 200;
}

/*
 * The user of e-mail email, and whether it is a member of team t: *u
 * filled and *member set when it has an account. Returns 0, or the status
 * of a store failure.
 */
static int
member_by_email(struct req *r, const struct team *t, const char *email,
    struct user *u, int *found, int *member)
{
	int rc, role;

	*found = *member = 0;
	if ((rc = store_user_by_email(r->app->st, email, u)) == STORE_NOTFOUND)
		return 0;
	if (rc != 0)
		return h_fail(r, rc);
	*found = 1;
	if ((rc = store_member_get(r->app->st, t->id, u->id, &role)) == 0)
		*member = 1;
	return rc == 0 || rc == STORE_NOTFOUND ? 0 : h_fail(r, rc);
}

/*
 * POST /teams/{id}/members {"email", "role"}: an un-narrowed admin adds
 * at once (201; 200 when only the role changes). A team owner changes the
 * role of a member (200) and invites anyone else (202, h_invite): the
 * same answer whether or not the e-mail has an account.
 */
int
h_team_member_add(struct req *r)
{
	const char *email, *rname = "member";
	char detail[DETAIL_MAX];
	struct audit_event ev;
	struct team t;
	struct user u;
	struct who w;
	int rc, role, want, found, member, created = 0;

	if ((rc = h_team_load(r, &t, &role, 2)) != 0)
		return rc;
	if ((rc = js_get_str(r->json, "email", 1, EMAIL_MAX, &email, detail)) != JS_OK)
		return http_error(r, 422, "%s", rc == JS_BAD ? detail : "email: field required");
	if (!util_email_valid(email))
		return http_error(r, 422, "email: invalid e-mail address");
	if (js_get_str(r->json, "role", 1, 16, &rname, detail) == JS_BAD)
		return http_error(r, 422, "%s", detail);
	if (rname == NULL)
		rname = "member";
	if (strcmp(rname, "owner") != 0 && strcmp(rname, "member") != 0)
		return http_error(r, 422, "role: must be \"owner\" or \"member\"");
	want = strcmp(rname, "owner") == 0 ? ROLE_OWNER : ROLE_MEMBER;
	if ((rc = member_by_email(r, &t, email, &u, &found, &member)) != 0)
		return rc;
	caller_who(r->caller, &w);
	if (!member && !policy_unnarrowed_admin(&w))
		return h_invite(r, &t, email, want);
	if (!found)
		return http_error(r, 400, "email: user not found");
	h_audit_event(r, &ev, "team.member.add", NULL, u.email, "%s as %s", t.id,
	    rname);
	rc = store_member_set(r->app->st, t.id, u.id, want, &created, &ev);
	if (rc == STORE_LASTOWNER)
		return http_error(r, 409, "The last owner of a team cannot be demoted");
	if (rc != 0)
		return h_fail(r, rc);
	h_audit_logged(r, &ev);
	r->out = json_object_new_object();
	js_add_str(r->out, "email", u.email);
	js_add_str(r->out, "role", rname);
	return created ? 201 : 200;
}

int
h_team_member_remove(struct req *r)
{
	struct audit_event ev;
	struct team t;
	struct user u;
	int rc, role;

	if ((rc = h_team_load(r, &t, &role, 2)) != 0)
		return rc;
	if ((rc = store_user_by_email(r->app->st, r->params[1], &u)) == STORE_NOTFOUND)
		return http_error(r, 404, "Member not found");
	if (rc != 0)
		return h_fail(r, rc);
	h_audit_event(r, &ev, "team.member.remove", NULL, u.email, "%s", t.id);
	rc = store_member_del(r->app->st, t.id, u.id, &ev);
	if (rc == STORE_LASTOWNER)
		return http_error(r, 409, "The last owner of a team cannot be removed");
	if (rc == STORE_NOTFOUND)
		return http_error(r, 404, "Member not found");
	if (rc != 0)
		return h_fail(r, rc);
	h_audit_logged(r, &ev);
	return 204;
}

/* GET /tokens/teams/{team_id}: every token of the team, for its members
 * in scope and un-narrowed admins. */
int
h_token_team_list(struct req *r)
{
	struct list_query q;
	struct token *v = NULL;
	struct team t;
	struct who w;
	uint64_t total = 0;
	size_t n = 0;
	int rc, role;

	if ((rc = list_query_parse(r, &q, 50)) != 0)
		return rc;
	caller_who(r->caller, &w);
	if (!policy_in_scope(&w, r->params[0]))
		return http_error(r, 403, H_NOT_SCOPED);
	if ((rc = store_team_get(r->app->st, r->params[0], &t)) == STORE_NOTFOUND)
		return http_error(r, 404, NO_TEAM);
	if (rc != 0)
		return h_fail(r, rc);
	if ((rc = my_role(r, t.id, &role)) != 0)
		return rc;
	if (!policy_may_view_team(&w, t.id, role))
		return http_error(r, 403, "Team membership required");
	if ((rc = store_token_list(r->app->st, TOKSET_TEAM, t.id, q.include_inactive,
	    util_now_ms(), q.offset, q.limit, &v, &n, &total)) != 0)
		return h_fail(r, rc);
	r->out = h_token_list_json(v, n, total, &q);
	tokens_free(v, n);
	return 200;
}
