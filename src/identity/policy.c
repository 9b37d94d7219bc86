/*
 * policy.c - the visibility and permission rules as pure predicates.
 */
#include <string.h>

#include "policy.h"
#include "scope.h"

int
policy_unnarrowed_admin(const struct who *w)
{
	return w->is_admin && !w->narrowed;
}

int
policy_in_scope(const struct who *w, const char *team_id)
{
	return !w->narrowed || (w->teams != NULL && strlist_has(w->teams, team_id));
}

int
policy_may_read_token(const struct who *w, const struct token *t)
{
	return strcmp(t->owner_id, w->user_id) == 0 &&
	    (t->team_id[0] == '\0' || policy_in_scope(w, t->team_id));
}

int
policy_may_revoke_token(const struct who *w, const struct token *t, int team_role)
{
	if (policy_may_read_token(w, t))
		return 1;
	return t->team_id[0] != '\0' && team_role == ROLE_OWNER &&
	    policy_in_scope(w, t->team_id);
}

int
policy_may_view_team(const struct who *w, const char *team_id, int role)
{
	return policy_unnarrowed_admin(w) ||
	    (role != ROLE_NONE && policy_in_scope(w, team_id));
}

int
policy_may_manage_team(const struct who *w, const char *team_id, int role)
{
	return policy_in_scope(w, team_id) &&
	    (role == ROLE_OWNER || policy_unnarrowed_admin(w));
}

int
policy_team_bypass(const struct who *w, int delegated)
{
	return !delegated && policy_unnarrowed_admin(w);
}

int
policy_grants(const struct config *c, const struct who *w, int role, const char *perm)
{
	if (policy_unnarrowed_admin(w))
		return 1;
	return scope_perms_grant(&c->user_permissions, perm) ||
	    (role != ROLE_NONE && scope_perms_grant(&c->team_member_permissions, perm)) ||
	    (role == ROLE_OWNER && scope_perms_grant(&c->team_owner_permissions, perm));
}
