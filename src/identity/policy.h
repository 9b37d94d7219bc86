/*
 * policy.h - who may see and change what (API.md 3, 5, 8), as pure
 * predicates over the caller and the records: the handlers ask, the tables
 * of tests/test_policy.c pin the answers.
 */
#ifndef TC_POLICY_H
#define TC_POLICY_H

#include "config.h"
#include "store.h"

struct who {
	const char		*user_id;
	int			 is_admin;
	int			 narrowed;      /* session narrowed to teams */
	const struct strlist	*teams;         /* the narrowed team ids */
};

/* An un-narrowed admin. */
int	policy_unnarrowed_admin(const struct who *);
/* team_id is within the session's narrowing (always, when not narrowed). */
int	policy_in_scope(const struct who *, const char *team_id);
/* Read, edit, rotate a token or see its usage: its owner only, and only
 * within the session's scope for a team token (others get 404). */
int	policy_may_read_token(const struct who *, const struct token *);
/* Revoke a token: its owner (as for reading), or an owner (role) of the
 * token's team in scope. */
int	policy_may_revoke_token(const struct who *, const struct token *, int team_role);
/* See a team and its tokens: a member in scope, or an un-narrowed admin. */
int	policy_may_view_team(const struct who *, const char *team_id, int role);
/* Manage a team's members and invitations: an owner in scope, or an
 * un-narrowed admin. */
int	policy_may_manage_team(const struct who *, const char *team_id, int role);
/* Name a team the owner does not belong to: an un-narrowed admin, for itself. */
int	policy_team_bypass(const struct who *, int delegated);
/*
 * Containment (API.md 6.1): the caller's effective permissions in a team
 * context (role there, ROLE_NONE for none) grant perm: "*" for an
 * un-narrowed admin, else user_permissions plus the role's sets.
 */
int	policy_grants(const struct config *, const struct who *, int role, const char *perm);

#endif
