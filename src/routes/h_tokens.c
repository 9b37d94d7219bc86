/*
 * h_tokens.c - the token lifecycle (API.md 4, 5, 5.1-5.3): POST /tokens and
 * /tokens/teams/{team_id}, GET /tokens, GET/PUT/DELETE /tokens/{id} and
 * POST /tokens/{id}/rotate. Bodies are read and answers and JWTs written
 * by h_token_io.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "h_token_io.h"
#include "auth.h"
#include "handlers.h"
#include "http.h"
#include "js.h"
#include "log.h"
#include "policy.h"
#include "scope.h"
#include "util.h"

#define NOT_FOUND	"Token not found"
#define DUP_NAME	"A token with this name already exists. Please choose a different name."
#define DAY_MS		86400000LL

/* Private refusals of edit callbacks (store_token_edit returns them as is). */
enum { EDIT_FOREIGN = 1, EDIT_NOOP = 2, EDIT_REVIVE = 3, EDIT_DEAD = 4 };

/* The token a rotation replaces, and who rotates it. */
struct rotate_arg {
	const char	*old_id;
	const struct who *w;
	const char	*by;
	int64_t		 now;
};

/* 404 for anything that is not the caller's own token. */
static int
not_found(struct req *r)
{
	return http_error(r, 404, NOT_FOUND);
}

/*
 * What a store result means for a token: a taken name is 409 DUP_NAME, an
 * unknown or foreign token 404 "Token not found"; everything else is
 * h_fail's.
 */
static int
write_error(struct req *r, int rc)
{
	if (rc == STORE_EXISTS)
		return http_error(r, 409, DUP_NAME);
	if (rc == STORE_NOTFOUND || rc == EDIT_FOREIGN)
		return not_found(r);
	return h_fail(r, rc);
}

/* --- create --- */

/*
 * The owner of a new token: the caller, or the target of an admin
 * delegation (API.md 5.3). Returns 0 with *owner filled, or a status.
 */
static int
resolve_owner(struct req *r, const char *email, struct user *owner, int *delegated)
{
	int rc;

	*delegated = 0;
	*owner = r->caller->user;
	if (email == NULL || util_ieq(email, r->caller->user.email))
		return 0;
	if (!r->caller->user.is_admin)
		return http_error(r, 403, "Admin access required to create tokens for other users");
	if (r->caller->narrowed)
		return http_error(r, 403, "Admin-delegated token creation requires "
		    "un-narrowed admin access. Your session is narrowed to specific teams.");
	if (!util_email_valid(email))
		return http_error(r, 422, "user_email: invalid e-mail address");
	if ((rc = store_user_by_email(r->app->st, email, owner)) == STORE_NOTFOUND)
		return http_error(r, 400, "user_email: user not found");
	if (rc != 0)
		return h_fail(r, rc);
	*delegated = 1;
	return 0;
}

/* The only team of owner, if exactly one and the session may use it; "" else. */
static int
inherit_team(struct req *r, const struct user *owner, char team[TEAMID_LEN + 1])
{
	struct membership *m = NULL;
	size_t n = 0;
	int rc;

	team[0] = '\0';
	if ((rc = store_user_teams(r->app->st, owner->id, &m, &n)) != 0)
		return h_fail(r, rc);
	if (n == 1 && (!r->caller->narrowed || strlist_has(&r->caller->teams, m[0].team_id)))
		memcpy(team, m[0].team_id, TEAMID_LEN + 1);
	free(m);
	return 0;
}

/*
 * Decide the token's team (API.md 5.1): the named team must exist and have
 * the owner as a member, except an un-narrowed admin creating for itself.
 */
static int
resolve_team(struct req *r, const struct token_input *in, const struct user *owner,
    int delegated, char team[TEAMID_LEN + 1])
{
	struct team t;
	struct who w;
	int rc, role;

	if (in->team_id == NULL)
		return inherit_team(r, owner, team);
	if (r->caller->narrowed && !strlist_has(&r->caller->teams, in->team_id))
		return http_error(r, 403, "Your session is not scoped to this team");
	if ((rc = store_team_get(r->app->st, in->team_id, &t)) == STORE_NOTFOUND)
		return http_error(r, 400, "team_id: team not found");
	if (rc != 0)
		return h_fail(r, rc);
	caller_who(r->caller, &w);
	if (!policy_team_bypass(&w, delegated)) {
		rc = store_member_get(r->app->st, t.id, owner->id, &role);
		if (rc == STORE_NOTFOUND)
			return http_error(r, 400,
			    "team_id: the token owner is not a member of this team");
		if (rc != 0)
			return h_fail(r, rc);
	}
	memcpy(team, t.id, TEAMID_LEN + 1);
	return 0;
}

/* Expiry policy: required unless configured otherwise, at most max_token_days. */
static int
check_expiry(struct req *r, const struct token_input *in)
{
	const struct config *c = &r->app->cfg;

	if (in->expires_in_days == 0 && c->require_token_expiration)
		return http_error(r, 400, "expires_in_days: required (tokens must expire)");
	if (in->expires_in_days > c->max_token_days)
		return http_error(r, 400, "expires_in_days: must be at most %u days",
		    c->max_token_days);
	return 0;
}

/*
 * Containment (API.md 5.1, 6.1): every permission of scope must be within
 * the effective permissions of the token's owner-to-be w in the context of
 * team (may be ""): "*" for an un-narrowed admin, else user_permissions
 * plus the sets of w's role in team. w is the caller's session when it
 * makes, edits or rotates its own token (a narrowed admin is no admin
 * then), and the target user for an admin's delegation. Returns 0, 400
 * naming the permission, or a store status.
 */
static int
check_containment(struct req *r, struct json_object *scope,
    const struct who *w, const char *team)
{
	struct json_object *perms;
	size_t i;
	int rc, role = ROLE_NONE;

	if (scope == NULL || !json_object_object_get_ex(scope, "permissions", &perms) ||
	    policy_unnarrowed_admin(w))
		return 0;
	if (team[0] != '\0') {
		rc = store_member_get(r->app->st, team, w->user_id, &role);
		if (rc != 0 && rc != STORE_NOTFOUND)
			return h_fail(r, rc);
	}
	for (i = 0; i < json_object_array_length(perms); i++) {
		const char *want = json_object_get_string(json_object_array_get_idx(perms, i));

		if (!policy_grants(&r->app->cfg, w, role, want))
			return http_error(r, 400, "Cannot grant permission '%.255s' - not "
			    "in your effective permissions.", want);
	}
	return 0;
}

/* The caller's own containment: its session is the owner-to-be. */
static int
own_containment(struct req *r, struct json_object *scope, const char *team)
{
	struct who w;

	caller_who(r->caller, &w);
	return check_containment(r, scope, &w, team);
}

/*
 * Fill the record of a new token from the input (t->scope and t->tags are
 * new references). Returns 0, or -1 when memory or randomness fails; t can
 * be token_free()d either way.
 */
static int
fill_token(struct token *t, const struct token_input *in, const struct user *owner,
    const char *creator)
{
	memset(t, 0, sizeof(*t));
	/* the jti is time-ordered: the jti index of a create is appended to
	 * (the id is a UUID v4, as API.md has it) */
	if (util_uuid4(t->id) == -1 || util_uuid7(t->jti) == -1)
		return -1;
	memcpy(t->owner_id, owner->id, sizeof(t->owner_id));
	memcpy(t->owner_email, owner->email, sizeof(t->owner_email));
	snprintf(t->created_by, sizeof(t->created_by), "%s", creator);
	t->created_at = util_now_ms();
	if (in->expires_in_days > 0)
		t->expires_at = t->created_at + (int64_t)in->expires_in_days * DAY_MS;
	t->is_active = in->is_active != 0;
	t->name = strdup(in->name);
	t->description = in->description ? strdup(in->description) : NULL;
	t->scope = json_object_get(in->scope);
	t->tags = json_object_get(in->tags);
	return t->name == NULL || (in->description && !t->description) ? -1 : 0;
}

/* token_edit_fn of a rotation: the caller's live token is revoked "Rotated". */
static int
ed_rotate(struct token *t, void *arg)
{
	const struct rotate_arg *a = arg;

	if (!policy_may_read_token(a->w, t))
		return EDIT_FOREIGN;
	if (!token_live(t, a->now))
		return EDIT_DEAD;
	return token_mark_revoked(t, a->by, "Rotated", a->now);
}

/*
 * Sign t, store it with its audit event (or, for a rotation, revoke
 * rot->old_id and store it, in one transaction) and answer 201
 * TokenCreateResponse.
 */
static int
issue_token(struct req *r, struct token *t, const struct user *owner,
    struct rotate_arg *rot)
{
	struct audit_event ev;
	char *jwt;
	int rc;

	if ((jwt = h_token_jwt(r->app, t, owner)) == NULL)
		return http_error(r, 503, "Service temporarily unavailable");
	util_sha256_hex(jwt, strlen(jwt), t->hash);
	if (rot != NULL)
		h_audit_event(r, &ev, "token.rotate", t->id, t->owner_email,
		    "replaces %s", rot->old_id);
	else
		h_audit_event(r, &ev, strcmp(t->owner_email, t->created_by) != 0 ?
		    "token.create.delegated" : "token.create", t->id, t->owner_email,
		    "%.200s", t->name);
	rc = rot == NULL ? store_token_add(r->app->st, t, &ev) :
	    store_token_rotate(r->app->st, rot->old_id, ed_rotate, rot, t, &ev);
	if (rc == EDIT_DEAD)
		rc = http_error(r, 400, "Only an active token can be rotated");
	else if (rc != 0)
		rc = write_error(r, rc);
	if (rc != 0)
		goto out;
	h_audit_logged(r, &ev);
	r->out = json_object_new_object();
	json_object_object_add(r->out, "token", h_token_json(t));
	js_add_str(r->out, "access_token", jwt);
	rc = 201;
out:
	OPENSSL_cleanse(jwt, strlen(jwt));
	free(jwt);
	return rc;
}

/*
 * POST /tokens, and POST /tokens/teams/{team_id} with path_team, which wins
 * over anything in the body's team_id. Containment is judged for the
 * owner-to-be: the caller's session, or the target of a delegation (an
 * admin cannot hand a non-admin more than the non-admin may hold).
 */
static int
create(struct req *r, const char *path_team)
{
	struct token_input in;
	struct user owner;
	struct token t;
	struct who w;
	int rc, delegated;

	memset(&t, 0, sizeof(t));
	if ((rc = token_input_parse(r, &in, TI_CREATE |
	    (path_team != NULL ? TI_PATH_TEAM : 0))) != 0)
		return rc;
	if (path_team != NULL)
		in.team_id = path_team;
	if ((rc = resolve_owner(r, in.user_email, &owner, &delegated)) != 0 ||
	    (rc = check_expiry(r, &in)) != 0)
		goto out;
	if (fill_token(&t, &in, &owner, r->caller->user.email) == -1) {
		rc = http_error(r, 503, "Service temporarily unavailable");
		goto out;
	}
	if (delegated) {
		memset(&w, 0, sizeof(w));
		w.user_id = owner.id;
		w.is_admin = owner.is_admin;
	} else
		caller_who(r->caller, &w);
	if ((rc = resolve_team(r, &in, &owner, delegated, t.team_id)) != 0 ||
	    (rc = check_containment(r, t.scope, &w, t.team_id)) != 0)
		goto out;
	rc = issue_token(r, &t, &owner, NULL);
out:
	token_free(&t);
	token_input_free(&in);
	return rc;
}

/* POST /tokens: 201 TokenCreateResponse (API.md 5.1). */
int
h_token_create(struct req *r)
{
	return create(r, NULL);
}

/* POST /tokens/teams/{team_id}: create() with the path team; 404 for an unknown team. */
int
h_token_create_team(struct req *r)
{
	struct team t;
	int rc;

	if ((rc = store_team_get(r->app->st, r->params[0], &t)) == STORE_NOTFOUND)
		return http_error(r, 404, "Team not found");
	return rc != 0 ? h_fail(r, rc) : create(r, r->params[0]);
}

/* --- list and read --- */

/* The caller's teams whose tokens it sees: all, or the narrowed ones. */
static int
caller_teams(struct req *r, struct strlist *teams)
{
	struct membership *m = NULL;
	size_t i, n = 0;
	int rc;

	if ((rc = store_user_teams(r->app->st, r->caller->user.id, &m, &n)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		if (!r->caller->narrowed || strlist_has(&r->caller->teams, m[i].team_id))
			rc = strlist_add(teams, m[i].team_id) == -1 ? STORE_NOMEM : 0;
	free(m);
	return rc;
}

/* GET /tokens: a page of the caller's tokens and those of its teams in
 * scope; a narrowed session's own tokens of other teams are not shown. */
int
h_token_list(struct req *r)
{
	struct strlist teams = { NULL, 0 };
	struct list_query q;
	struct token *v = NULL;
	uint64_t total = 0;
	size_t n = 0;
	int rc;

	if ((rc = list_query_parse(r, &q, 50)) != 0)
		return rc;
	if ((rc = caller_teams(r, &teams)) == 0)
		rc = store_token_list_visible(r->app->st, r->caller->user.id, &teams,
		    r->caller->narrowed ? &r->caller->teams : NULL, q.include_inactive,
		    util_now_ms(), q.offset, q.limit, &v, &n, &total);
	strlist_free(&teams);
	if (rc != 0)
		return h_fail(r, rc);
	r->out = h_token_list_json(v, n, total, &q);
	tokens_free(v, n);
	return 200;
}

/* GET /tokens/{id}: the caller's own token (of a team in scope), else 404
 * (API.md 9.5). */
int
h_token_get(struct req *r)
{
	struct token t;
	struct who w;
	int rc;

	if (!util_is_uuid(r->params[0]))
		return not_found(r);
	if ((rc = store_token_get(r->app->st, r->params[0], &t)) != 0)
		return rc == STORE_NOTFOUND ? not_found(r) : h_fail(r, rc);
	caller_who(r->caller, &w);
	if (!policy_may_read_token(&w, &t))
		rc = not_found(r);
	else {
		r->out = h_token_json(&t);
		rc = 200;
	}
	token_free(&t);
	return rc;
}

/* --- update --- */

struct update_arg {
	const struct who	*w;
	const struct token_input *in;
	struct audit_event	*ev;    /* its detail: the name as written */
};

/* Replace *dst with a copy of src (NULL keeps NULL). */
static int
set_str(char **dst, const char *src)
{
	char *c = src ? strdup(src) : NULL;

	if (src != NULL && c == NULL)
		return -1;
	free(*dst);
	*dst = c;
	return 0;
}

/* Replace *dst with a new reference to src. */
static void
set_json(struct json_object **dst, struct json_object *src)
{
	json_object_put(*dst);
	*dst = json_object_get(src);
}

/* token_edit_fn for PUT: owner (and scope) check, then the given fields. */
static int
ed_update(struct token *t, void *arg)
{
	const struct update_arg *a = arg;
	const struct token_input *in = a->in;

	if (!policy_may_read_token(a->w, t))
		return EDIT_FOREIGN;
	if (in->is_active == 1 && t->is_revoked)
		return EDIT_REVIVE;
	if ((in->name != NULL && set_str(&t->name, in->name) == -1) ||
	    (in->has_description && set_str(&t->description, in->description) == -1))
		return STORE_NOMEM;
	if (in->scope != NULL)
		set_json(&t->scope, in->scope);
	if (in->tags != NULL)
		set_json(&t->tags, in->tags);
	if (in->is_active != -1)
		t->is_active = in->is_active;
	snprintf(a->ev->detail, sizeof(a->ev->detail), "%.200s", t->name);
	return 0;
}

/*
 * Containment of a new scope in the context of the token's team: the token
 * is read first (404 unless the caller owns it). Returns 0 or a status.
 */
static int
update_containment(struct req *r, struct json_object *scope)
{
	struct token t;
	struct who w;
	int rc;

	if ((rc = store_token_get(r->app->st, r->params[0], &t)) != 0)
		return write_error(r, rc);
	caller_who(r->caller, &w);
	if (!policy_may_read_token(&w, &t))
		rc = not_found(r);
	else
		rc = own_containment(r, scope, t.team_id);
	token_free(&t);
	return rc;
}

/*
 * PUT /tokens/{id} (API.md 5.2): the given fields change in one write;
 * 200 TokenResponse of the record as written.
 */
int
h_token_update(struct req *r)
{
	struct token_input in;
	struct audit_event ev;
	struct who w;
	struct update_arg a = { &w, &in, &ev };
	struct token t;
	int rc;

	caller_who(r->caller, &w);
	if (!util_is_uuid(r->params[0]))
		return not_found(r);
	if ((rc = token_input_parse(r, &in, 0)) != 0)
		return rc;
	if (in.scope != NULL && (rc = update_containment(r, in.scope)) != 0)
		goto out;
	h_audit_event(r, &ev, "token.update", r->params[0], r->caller->user.email,
	    "%s", "");
	rc = store_token_edit(r->app->st, r->params[0], ed_update, &a, &t, &ev);
	if (rc == EDIT_REVIVE)
		rc = http_error(r, 400, "is_active: a revoked token cannot be reactivated");
	else if (rc != 0)
		rc = write_error(r, rc);
	else {
		h_audit_logged(r, &ev);
		r->out = h_token_json(&t);
		token_free(&t);
		rc = 200;
	}
out:
	token_input_free(&in);
	return rc;
}

/* --- revoke --- */

struct revoke_arg {
	char		 as[UUID_LEN + 1];      /* owner id the caller may act for */
	char		 owner_email[EMAIL_MAX + 1];    /* for the audit trail */
	const char	*by;
	const char	*reason;
};

/* token_edit_fn for DELETE: owner check; the first revocation is kept. */
static int
ed_revoke(struct token *t, void *arg)
{
	const struct revoke_arg *a = arg;

	if (strcmp(t->owner_id, a->as) != 0)
		return EDIT_FOREIGN;
	if (t->is_revoked)
		return EDIT_NOOP;
	return token_mark_revoked(t, a->by, a->reason, util_now_ms());
}

/*
 * May the caller revoke token r->params[0] (API.md 5)? Its owner may, and
 * an owner (role) of the token's team within the session's scope. Sets
 * a->as and a->owner_email from the token. Returns 0, 404 for an unknown
 * or foreign token, or a store status.
 */
static int
revoke_allowed(struct req *r, struct revoke_arg *a)
{
	struct token t;
	struct who w;
	int rc, role = ROLE_NONE;

	if ((rc = store_token_get(r->app->st, r->params[0], &t)) != 0)
		return write_error(r, rc);
	if (t.team_id[0] != '\0')
		rc = store_member_get(r->app->st, t.team_id, r->caller->user.id, &role);
	caller_who(r->caller, &w);
	if (rc != 0 && rc != STORE_NOTFOUND)
		rc = h_fail(r, rc);
	else if (!policy_may_revoke_token(&w, &t, rc == 0 ? role : ROLE_NONE))
		rc = not_found(r);
	else {
		memcpy(a->as, t.owner_id, sizeof(a->as));
		memcpy(a->owner_email, t.owner_email, sizeof(a->owner_email));
		rc = 0;
	}
	token_free(&t);
	return rc;
}

/*
 * DELETE /tokens/{id}, optional body {"reason"}: 204 whether this call
 * revoked the token or it was revoked before (the first revocation is kept).
 */
int
h_token_revoke(struct req *r)
{
	struct revoke_arg a;
	struct audit_event ev;
	char detail[DETAIL_MAX];
	int rc;

	memset(&a, 0, sizeof(a));
	a.by = r->caller->user.email;
	if (!util_is_uuid(r->params[0]))
		return not_found(r);
	if (r->json != NULL &&
	    js_get_str(r->json, "reason", 0, 255, &a.reason, detail) == JS_BAD)
		return http_error(r, 422, "%s", detail);
	if (a.reason == NULL)
		a.reason = "Revoked by user";
	if ((rc = revoke_allowed(r, &a)) != 0)
		return rc;
	h_audit_event(r, &ev, "token.revoke", r->params[0], a.owner_email,
	    "%.200s", a.reason);
	rc = store_token_edit(r->app->st, r->params[0], ed_revoke, &a, NULL, &ev);
	if (rc == EDIT_NOOP)
		return 204;
	if (rc != 0)
		return write_error(r, rc);
	h_audit_logged(r, &ev);
	return 204;
}

/* --- rotation --- */

/*
 * The replacement of old for owner: same name, description, team, scope
 * and tags; new id, jti and secret; days from now, or old's expiry if 0.
 */
static int
successor(struct req *r, const struct token *old, const struct user *owner,
    int64_t days, struct token *t)
{
	struct token_input in;

	memset(&in, 0, sizeof(in));
	in.name = old->name;
	in.description = old->description;
	in.expires_in_days = (uint64_t)days;
	in.is_active = 1;
	in.scope = old->scope;
	in.tags = old->tags;
	if (fill_token(t, &in, owner, r->caller->user.email) == -1)
		return -1;
	memcpy(t->team_id, old->team_id, sizeof(t->team_id));
	if (days == 0)
		t->expires_at = old->expires_at;
	return 0;
}

/*
 * POST /tokens/{id}/rotate: a live token of the caller is revoked "Rotated"
 * and replaced in one write; 201 TokenCreateResponse of the successor. Its
 * permissions are checked for containment again, against what the owner's
 * session may grant now (400 naming the first one it may not).
 */
int
h_token_rotate(struct req *r)
{
	struct who w;
	struct rotate_arg a = { r->params[0], &w, r->caller->user.email,
	    util_now_ms() };
	struct token old, t;
	struct user owner;
	char detail[DETAIL_MAX];
	int64_t days = 0;
	int rc;

	memset(&t, 0, sizeof(t));
	caller_who(r->caller, &w);
	if (!util_is_uuid(r->params[0]))
		return not_found(r);
	if (r->json != NULL && js_get_int(r->json, "expires_in_days", 1, 36500, &days,
	    detail) == JS_BAD)
		return http_error(r, 422, "%s", detail);
	if (days > r->app->cfg.max_token_days)
		return http_error(r, 400, "expires_in_days: must be at most %u days",
		    r->app->cfg.max_token_days);
	if ((rc = store_token_get(r->app->st, r->params[0], &old)) != 0)
		return write_error(r, rc);
	if (!policy_may_read_token(&w, &old))
		rc = not_found(r);
	else if (!token_live(&old, a.now))
		rc = http_error(r, 400, "Only an active token can be rotated");
	else if ((rc = store_user_get(r->app->st, old.owner_id, &owner)) != 0)
		rc = h_fail(r, rc);
	else if ((rc = own_containment(r, old.scope, old.team_id)) != 0)
		;       /* a demoted owner cannot mint what it may no longer hold */
	else if (successor(r, &old, &owner, days, &t) == -1)
		rc = http_error(r, 503, "Service temporarily unavailable");
	else
		rc = issue_token(r, &t, &owner, &a);
	token_free(&t);
	token_free(&old);
	return rc;
}
