/*
 * handlers.h - one file per resource (h_auth.c, h_tokens.c, ...). A handler
 * sees struct req with its caller already checked against the route flags,
 * sets r->out (or leaves it NULL for 204) and returns the HTTP status.
 * Handlers never call FCGX_* or MDB_*.
 */
#ifndef TC_HANDLERS_H
#define TC_HANDLERS_H

struct req;

/* h_auth.c */
int	h_health(struct req *);         /* GET /health */
int	h_login(struct req *);          /* POST /auth/login, /auth/email/login */
int	h_logout(struct req *);         /* POST /auth/logout */
int	h_me(struct req *);             /* GET /auth/me */
/* The User object of API.md 3.3: a new object, caller owns. */
struct user;
struct json_object *h_user_json(const struct user *);

/* h_tokens.c (bodies and TokenResponse in h_token_io.c) */
int	h_token_create(struct req *);   /* POST /tokens */
int	h_token_create_team(struct req *);      /* POST /tokens/teams/{team_id} */
int	h_token_list(struct req *);     /* GET /tokens */
int	h_token_get(struct req *);      /* GET /tokens/{id} */
int	h_token_update(struct req *);   /* PUT /tokens/{id} */
int	h_token_revoke(struct req *);   /* DELETE /tokens/{id} */
int	h_token_rotate(struct req *);   /* POST /tokens/{id}/rotate */

/* h_usage.c */
int	h_token_usage(struct req *);    /* GET /tokens/{id}/usage */

/* h_enforce.c: the enforcement point (API.md 7) */
int	h_auth_check(struct req *);     /* GET /auth/check */
int	h_introspect(struct req *);     /* POST /auth/introspect */
int	h_auth_revoke(struct req *);    /* POST /auth/revoke */
int	h_authorizer(struct req *);     /* the FastCGI Authorizer role */

/* h_teams.c (API.md 8) */
int	h_team_list(struct req *);      /* GET /teams */
int	h_team_create(struct req *);    /* POST /teams */
int	h_team_get(struct req *);       /* GET /teams/{id} */
int	h_team_members(struct req *);   /* GET /teams/{id}/members */
int	h_team_member_add(struct req *);        /* POST /teams/{id}/members */
int	h_team_member_remove(struct req *);     /* DELETE /teams/{id}/members/{email} */
int	h_token_team_list(struct req *);        /* GET /tokens/teams/{team_id} */
struct team;
/* The Team object of API.md 8 with the caller's role: new, caller owns. */
struct json_object *h_team_json(const struct team *, int role);
/*
 * Load team r->params[0] into t with the caller's role in it. need: 1 =
 * a member or an admin may read it, 2 = an owner or an un-narrowed admin
 * may change it. Returns 0, or the status answered: 403 H_NOT_SCOPED for
 * a team outside a narrowed session's scope (before the team is read),
 * 404, 403.
 */
int	h_team_load(struct req *, struct team *t, int *role, int need);
#define H_NOT_SCOPED	"Your session is not scoped to this team"

/* h_invites.c (API.md 8): invitations to teams */
int	h_my_invitations(struct req *);         /* GET /teams/invitations */
int	h_invitation_accept(struct req *);      /* POST /teams/invitations/{team}/accept */
int	h_invitation_decline(struct req *);     /* POST /teams/invitations/{team}/decline */
int	h_team_invitations(struct req *);       /* GET /teams/{id}/invitations */
int	h_team_invitation_withdraw(struct req *);       /* DELETE /teams/{id}/invitations/{email} */
/*
 * Invite email to team t with role (ROLE_*), by the caller: 202 with the
 * invitation, whether or not the e-mail has an account.
 */
int	h_invite(struct req *, const struct team *t, const char *email, int role);

/* h_admin.c: un-narrowed admins only (RF_ADMIN) */
int	h_admin_tokens(struct req *);   /* GET /tokens/admin/all */
int	h_admin_revoke(struct req *);   /* DELETE /tokens/admin/{id} */
int	h_admin_audit(struct req *);    /* GET /tokens/admin/audit */

/* h_users.c: un-narrowed admins only (RF_ADMIN) */
int	h_admin_users(struct req *);    /* GET /admin/users */
int	h_admin_user_create(struct req *);      /* POST /admin/users */
int	h_admin_user_update(struct req *);      /* PATCH /admin/users/{email} */

/* --- h_common.c: shared by every handler --- */

struct audit_event;
/*
 * The one translation of an error code into an answer: an AUTH_* refusal
 * is 401 with its sentence (auth_strerror) and the Bearer challenge; a
 * STORE_* code is 404, 409, 507 or 503 (cause logged, never shown).
 * Returns the status, with r->out set.
 */
int	h_fail(struct req *, int err);
/* Add the WWW-Authenticate challenge of a 401 (error="invalid_token" when
 * a presented token was rejected). */
void	h_challenge(struct req *, int invalid_token);
/*
 * Fill e as an audit event by the caller: action, token id and target
 * (NULL: none), detail. A store write given e stores it with its change.
 */
void	h_audit_event(const struct req *, struct audit_event *e, const char *action,
	    const char *token_id, const char *target, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));
/* The log line of an audit event that was stored. */
void	h_audit_logged(const struct req *, const struct audit_event *e);

#endif
