/*
 * test_policy.c - the visibility and permission rules, one row per case.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

#define ME    "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
#define OTHER "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
#define T1    "11111111111111111111111111111111"
#define T2    "22222222222222222222222222222222"

/* A caller: admin?, narrowed to "" (nothing), T1, or not narrowed (NULL). */
static void
mkwho(struct who *w, struct strlist *l, int admin, const char *narrow)
{
	memset(l, 0, sizeof(*l));
	if (narrow != NULL && *narrow != '\0')
		strlist_add(l, narrow);
	*w = (struct who){ ME, admin, narrow != NULL, l };
}

static const struct {
	const char *name;
	int admin;
	const char *narrow;
	const char *owner, *team;
	int role;               /* the caller's role in the token's team */
	int read, revoke;
} token_rows[] = {
	{ "own token", 0, NULL, ME, "", ROLE_NONE, 1, 1 },
	{ "own team token", 0, NULL, ME, T1, ROLE_MEMBER, 1, 1 },
	{ "other's token", 0, NULL, OTHER, "", ROLE_NONE, 0, 0 },
	{ "admin, other's token", 1, NULL, OTHER, "", ROLE_NONE, 0, 0 },
	{ "member of the token's team", 0, NULL, OTHER, T1, ROLE_MEMBER, 0, 0 },
	{ "owner of the token's team", 0, NULL, OTHER, T1, ROLE_OWNER, 0, 1 },
	{ "team owner, narrowed to it", 0, T1, OTHER, T1, ROLE_OWNER, 0, 1 },
	{ "team owner, narrowed elsewhere", 0, T2, OTHER, T1, ROLE_OWNER, 0, 0 },
	{ "team owner, public-only session", 0, "", OTHER, T1, ROLE_OWNER, 0, 0 },
	{ "own team token, narrowed to its team", 0, T1, ME, T1, ROLE_MEMBER, 1, 1 },
	{ "own team token, narrowed elsewhere", 0, T2, ME, T1, ROLE_MEMBER, 0, 0 },
	{ "own team token, public-only session", 0, "", ME, T1, ROLE_OWNER, 0, 0 },
	{ "own team token, admin narrowed elsewhere", 1, T2, ME, T1, ROLE_OWNER, 0, 0 },
	{ "own team-less token, public-only session", 0, "", ME, "", ROLE_NONE, 1, 1 },
	{ "own team-less token, narrowed", 0, T2, ME, "", ROLE_NONE, 1, 1 },
};

Test(policy, tokens)
{
	size_t i;

	for (i = 0; i < sizeof(token_rows) / sizeof(token_rows[0]); i++) {
		struct who w;
		struct strlist l;
		struct token t;

		memset(&t, 0, sizeof(t));
		mkwho(&w, &l, token_rows[i].admin, token_rows[i].narrow);
		snprintf(t.owner_id, sizeof(t.owner_id), "%s", token_rows[i].owner);
		snprintf(t.team_id, sizeof(t.team_id), "%s", token_rows[i].team);
		cr_expect_eq(policy_may_read_token(&w, &t), token_rows[i].read, "%s: read",
		    token_rows[i].name);
		cr_expect_eq(policy_may_revoke_token(&w, &t, token_rows[i].role),
		    token_rows[i].revoke, "%s: revoke", token_rows[i].name);
		strlist_free(&l);
	}
}

static const struct {
	const char *name;
	int admin;
	const char *narrow;
	int role;
	int view, manage, bypass, bypass_delegated;
} team_rows[] = {
	{ "member", 0, NULL, ROLE_MEMBER, 1, 0, 0, 0 },
	{ "owner", 0, NULL, ROLE_OWNER, 1, 1, 0, 0 },
	{ "stranger", 0, NULL, ROLE_NONE, 0, 0, 0, 0 },
	{ "member, narrowed to the team", 0, T1, ROLE_MEMBER, 1, 0, 0, 0 },
	{ "member, narrowed elsewhere", 0, T2, ROLE_MEMBER, 0, 0, 0, 0 },
	{ "admin stranger", 1, NULL, ROLE_NONE, 1, 1, 1, 0 },
	{ "narrowed admin stranger", 1, "", ROLE_NONE, 0, 0, 0, 0 },
	{ "narrowed admin, owner", 1, T1, ROLE_OWNER, 1, 1, 0, 0 },
	{ "owner, narrowed elsewhere", 0, T2, ROLE_OWNER, 0, 0, 0, 0 },
	{ "owner, public-only session", 0, "", ROLE_OWNER, 0, 0, 0, 0 },
	{ "narrowed admin, owner elsewhere", 1, T2, ROLE_OWNER, 0, 0, 0, 0 },
};

Test(policy, teams)
{
	size_t i;

	for (i = 0; i < sizeof(team_rows) / sizeof(team_rows[0]); i++) {
		struct who w;
		struct strlist l;

		mkwho(&w, &l, team_rows[i].admin, team_rows[i].narrow);
		cr_expect_eq(policy_may_view_team(&w, T1, team_rows[i].role), team_rows[i].view,
		    "%s: view", team_rows[i].name);
		cr_expect_eq(policy_may_manage_team(&w, T1, team_rows[i].role),
		    team_rows[i].manage, "%s: manage", team_rows[i].name);
		cr_expect_eq(policy_team_bypass(&w, 0), team_rows[i].bypass, "%s: bypass",
		    team_rows[i].name);
		cr_expect_eq(policy_team_bypass(&w, 1), team_rows[i].bypass_delegated,
		    "%s: bypass when delegating", team_rows[i].name);
		strlist_free(&l);
	}
}

static const char conf_text[] =
    "database = /nonexistent\n"
    "user_permissions = tools.read\n"
    "team_member_permissions = teams.read\n"
    "team_owner_permissions = teams.manage tools.*\n";

static const struct {
	int admin;
	const char *narrow;
	int role;
	const char *perm;
	int ok;
} grant_rows[] = {
	{ 0, NULL, ROLE_NONE, "tools.read", 1 },
	{ 0, NULL, ROLE_NONE, "servers.use", 1 },      /* implied by tools.read (6.1) */
	{ 0, NULL, ROLE_NONE, "servers.read", 0 },
	{ 0, NULL, ROLE_NONE, "teams.read", 0 },
	{ 0, NULL, ROLE_MEMBER, "teams.read", 1 },
	{ 0, NULL, ROLE_MEMBER, "teams.manage", 0 },
	{ 0, NULL, ROLE_OWNER, "teams.manage", 1 },
	{ 0, NULL, ROLE_OWNER, "tools.execute", 1 },
	{ 0, NULL, ROLE_MEMBER, "tools.execute", 0 },
	{ 1, NULL, ROLE_NONE, "anything.at_all", 1 },
	{ 1, "", ROLE_NONE, "anything.at_all", 0 },
	{ 1, "", ROLE_NONE, "tools.read", 1 },
};

Test(policy, containment)
{
	struct config c;
	char err[CONFIG_ERR_MAX];
	size_t i;

	config_init(&c);
	cr_assert_eq(config_parse(&c, conf_text, strlen(conf_text), "t.conf", err), 0,
	    "%s", err);
	for (i = 0; i < sizeof(grant_rows) / sizeof(grant_rows[0]); i++) {
		struct who w;
		struct strlist l;

		mkwho(&w, &l, grant_rows[i].admin, grant_rows[i].narrow);
		cr_expect_eq(policy_grants(&c, &w, grant_rows[i].role, grant_rows[i].perm),
		    grant_rows[i].ok, "row %zu: %s", i, grant_rows[i].perm);
		strlist_free(&l);
	}
	config_free(&c);
}
