/*
 * h_invites.c - invitations to teams (API.md 8). A team owner's add of
 * someone not yet a member is an invitation (202) that the invitee lists,
 * accepts or declines; the team's owners list and withdraw them. The
 * answer to an invitation never depends on whether the e-mail has an
 * account: the invitation is stored by e-mail either way (store.h).
 * Invitations expire INVITATION_DAYS after they are made (or renewed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "handlers.h"
#include "http.h"
#include "js.h"
#include "policy.h"
#include "util.h"

#define INVITATION_DAYS	30
#define DAY_MS		86400000LL
#define NO_INVITATION	"Invitation not found"

/*
 * {"team_id", "team_name", "email", "role", "invited_by", "invited_at",
 * "expires_at", "status": "pending"}: a new object, caller owns.
 */
static struct json_object *
invitation_json(const struct invitation *inv, const char *team_name)
{
	struct json_object *o = json_object_new_object();

	js_add_str(o, "team_id", inv->team_id);
	js_add_str(o, "team_name", team_name);
	js_add_str(o, "email", inv->email);
	js_add_str(o, "role", role_name(inv->role));
	js_add_str(o, "invited_by", inv->invited_by);
	js_add_time(o, "invited_at", inv->invited_at);
	js_add_time(o, "expires_at", inv->expires_at);
	js_add_str(o, "status", "pending");
	return o;
}

int
h_invite(struct req *r, const struct team *t, const char *email, int role)
{
	struct invitation inv;
	struct audit_event ev;
	int rc;

	memset(&inv, 0, sizeof(inv));
	memcpy(inv.team_id, t->id, sizeof(inv.team_id));
	util_lower(email, inv.email, sizeof(inv.email));
	inv.role = role;
	snprintf(inv.invited_by, sizeof(inv.invited_by), "%s", r->caller->user.email);
	inv.invited_at = util_now_ms();
	inv.expires_at = inv.invited_at + INVITATION_DAYS * DAY_MS;
	h_audit_event(r, &ev, "team.invite", NULL, inv.email, "%s as %s", t->id,
	    role_name(role));
	if ((rc = store_invite_put(r->app->st, &inv, &ev)) != 0)
		return h_fail(r, rc);
	h_audit_logged(r, &ev);
	r->out = invitation_json(&inv, t->name);
	return 202;
}

/* Append the invitations v[0..n) in the caller's scope to arr, with the
 * names of their teams (an invitation to a team gone is left out). */
static int
add_invitations(struct req *r, struct json_object *arr,
    const struct invitation *v, size_t n)
{
	struct team t;
	struct who w;
	size_t i;
	int rc = 0;

	caller_who(r->caller, &w);
	for (i = 0; i < n && (rc == 0 || rc == STORE_NOTFOUND); i++) {
		if (!policy_in_scope(&w, v[i].team_id))
			continue;
		if ((rc = store_team_get(r->app->st, v[i].team_id, &t)) == 0)
			json_object_array_add(arr, invitation_json(&v[i], t.name));
	}
	return rc == STORE_NOTFOUND ? 0 : rc;
}

/* GET /teams/invitations: the caller's pending invitations, newest first. */
int
h_my_invitations(struct req *r)
{
	struct invitation *v = NULL;
	struct json_object *arr;
	size_t n = 0;
	int rc;

	if ((rc = store_invite_list(r->app->st, 0, r->caller->user.email,
	    util_now_ms(), &v, &n)) != 0)
		return h_fail(r, rc);
	arr = json_object_new_array();
	rc = add_invitations(r, arr, v, n);
	free(v);
	if (rc != 0) {
		json_object_put(arr);
		return h_fail(r, rc);
	}
	r->out = arr;
	return 200;
}

/* The team of an invitee route, r->params[0]: 403 outside the session's
 * scope, else 0. */
static int
invitee_scope(struct req *r)
{
	struct who w;

	caller_who(r->caller, &w);
	if (!policy_in_scope(&w, r->params[0]))
		return http_error(r, 403, H_NOT_SCOPED);
	return 0;
}

/*
 * POST /teams/invitations/{team_id}/accept: the caller's pending
 * invitation becomes its membership; 200 with the Team. 404 when there is
 * none (never made, declined, withdrawn, accepted or expired).
 */
int
h_invitation_accept(struct req *r)
{
	struct audit_event ev;
	struct team t;
	int rc, role;

	if ((rc = invitee_scope(r)) != 0)
		return rc;
	h_audit_event(r, &ev, "team.invite.accept", NULL, r->caller->user.email,
	    "%s", r->params[0]);
	rc = store_invite_accept(r->app->st, r->params[0], r->caller->user.id,
	    r->caller->user.email, util_now_ms(), &role, &ev);
	if (rc == STORE_NOTFOUND)
		return http_error(r, 404, NO_INVITATION);
	if (rc != 0)
		return h_fail(r, rc);
	h_audit_logged(r, &ev);
	if ((rc = store_team_get(r->app->st, r->params[0], &t)) != 0)
		return h_fail(r, rc);
	r->out = h_team_json(&t, role);
	return 200;
}

/* POST /teams/invitations/{team_id}/decline: 204, or 404 as for accept. */
int
h_invitation_decline(struct req *r)
{
	struct audit_event ev;
	int rc;

	if ((rc = invitee_scope(r)) != 0)
		return rc;
	h_audit_event(r, &ev, "team.invite.decline", NULL, r->caller->user.email,
	    "%s", r->params[0]);
	rc = store_invite_del(r->app->st, r->params[0], r->caller->user.email,
	    util_now_ms(), &ev);
	if (rc == STORE_NOTFOUND)
		return http_error(r, 404, NO_INVITATION);
	if (rc != 0)
		return h_fail(r, rc);
	h_audit_logged(r, &ev);
	return 204;
}

/* GET /teams/{id}/invitations: the team's pending invitations, for its
 * owners in scope and un-narrowed admins. */
int
h_team_invitations(struct req *r)
{
	struct invitation *v = NULL;
	struct json_object *arr;
	struct team t;
	size_t i, n = 0;
	int rc, role;

	if ((rc = h_team_load(r, &t, &role, 2)) != 0)
		return rc;
	if ((rc = store_invite_list(r->app->st, 1, t.id, util_now_ms(), &v, &n)) != 0)
		return h_fail(r, rc);
	arr = json_object_new_array();
	for (i = 0; i < n; i++)
		json_object_array_add(arr, invitation_json(&v[i], t.name));
	free(v);
	r->out = arr;
	return 200;
}

/* DELETE /teams/{id}/invitations/{email}: withdraw; 204, or 404 when no
 * invitation of that e-mail is pending. */
int
h_team_invitation_withdraw(struct req *r)
{
	struct audit_event ev;
	struct team t;
	char email[EMAIL_MAX + 1];
	int rc, role;

	if ((rc = h_team_load(r, &t, &role, 2)) != 0)
		return rc;
	if (strlen(r->params[1]) > EMAIL_MAX)
		return http_error(r, 404, NO_INVITATION);
	util_lower(r->params[1], email, sizeof(email));
	h_audit_event(r, &ev, "team.invite.withdraw", NULL, email, "%s", t.id);
	rc = store_invite_del(r->app->st, t.id, email, util_now_ms(), &ev);
	if (rc == STORE_NOTFOUND)
		return http_error(r, 404, NO_INVITATION);
	if (rc != 0)
		return h_fail(r, rc);
	h_audit_logged(r, &ev);
	return 204;
}
