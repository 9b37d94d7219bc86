/*
 * store_pg_team.c - teams and memberships in PostgreSQL.
 *
 * Team names are unique ASCII-case-insensitively through teams.name_key,
 * lowercased here with util_lower as the LMDB store does (PostgreSQL's
 * lower() follows the database's locale). A change of membership locks
 * the team's row first, so that two owners demoting each other at once
 * on two hosts cannot leave a team without an owner.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_pg_int.h"
#include "store_pg_fn.h"

struct team_arg {
	const struct team	*t;
	const char		*owner;
};

/* STORE_NOTFOUND unless the row of sql ($1 = id) exists. */
static int
exists(struct store *s, const char *sql, const char *id)
{
	struct pg_args a;
	PGresult *r;
	int rc;

	pga_init(&a);
	pga_str(&a, id);
	if ((r = pg_exec(s, sql, &a, &rc)) == NULL)
		return rc;
	rc = PQntuples(r) > 0 ? 0 : STORE_NOTFOUND;
	PQclear(r);
	return rc;
}

static int
member_insert(struct store *s, const char *team, const char *user, int role,
    int64_t joined)
{
	struct pg_args a;

	pga_init(&a);
	pga_str(&a, team);
	pga_str(&a, user);
	pga_int(&a, role);
	pga_int(&a, joined);
	return pg_do(s, "INSERT INTO members VALUES ($1, $2, $3, $4)", &a);
}

static int
tx_team_add(struct store *s, void *arg)
{
	struct team_arg *ta = arg;
	char key[NAME_MAX_BYTES];
	struct pg_args a;
	int rc;

	if (ta->owner != NULL && (rc = exists(s,
	    "SELECT 1 FROM users WHERE id = $1", ta->owner)) != 0)
		return rc;
	util_lower(ta->t->name, key, sizeof(key));
	pga_init(&a);
	pga_str(&a, ta->t->id);
	pga_str(&a, ta->t->name);
	pga_str(&a, key);
	pga_int(&a, ta->t->created_at);
	if ((rc = pg_do(s, "INSERT INTO teams VALUES ($1, $2, $3, $4)", &a)) != 0)
		return rc;
	if (ta->owner == NULL)
		return 0;
	return member_insert(s, ta->t->id, ta->owner, ROLE_OWNER,
	    ta->t->created_at);
}

int
pg_team_add(struct store *s, const struct team *t, const char *owner_id,
    const struct audit_event *ev)
{
	struct team_arg ta = { t, owner_id };

	if (!util_is_team_id(t->id) || (owner_id != NULL &&
	    strlen(owner_id) != UUID_LEN))
		return STORE_INVALID;
	return pg_write(s, tx_team_add, &ta, ev);
}

#define TEAM_SELECT "SELECT t.id, t.name, t.created_at, (SELECT count(*) " \
	"FROM members m WHERE m.team_id = t.id) FROM teams t "

static void
team_row(const PGresult *r, int row, struct team *t)
{
	memset(t, 0, sizeof(*t));
	pg_cpy(r, row, 0, t->id, sizeof(t->id));
	pg_cpy(r, row, 1, t->name, sizeof(t->name));
	t->created_at = pg_int(r, row, 2);
	t->member_count = (uint32_t)pg_int(r, row, 3);
}

struct tlist {
	const char	*id;            /* one team, or NULL for all */
	struct team	*v;
	size_t		 n;
};

static int
tx_teams(struct store *s, void *arg)
{
	struct tlist *l = arg;
	struct pg_args a;
	PGresult *r;
	int i, rc;

	pga_init(&a);
	if (l->id != NULL)
		pga_str(&a, l->id);
	if ((r = pg_exec(s, l->id != NULL ? TEAM_SELECT "WHERE t.id = $1" :
	    TEAM_SELECT "ORDER BY t.name, t.id", &a, &rc)) == NULL)
		return rc;
	free(l->v);
	l->n = 0;
	if ((l->v = calloc(PQntuples(r) + 1, sizeof(*l->v))) == NULL) {
		PQclear(r);
		return STORE_NOMEM;
	}
	for (i = 0; i < PQntuples(r); i++)
		team_row(r, i, &l->v[l->n++]);
	PQclear(r);
	return 0;
}

int
pg_team_get(struct store *s, const char *id, struct team *out)
{
	struct tlist l = { id, NULL, 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	if (!util_is_team_id(id))
		return STORE_NOTFOUND;
	if ((rc = pg_read(s, tx_teams, &l)) == 0) {
		if (l.n == 1)
			*out = l.v[0];
		else
			rc = STORE_NOTFOUND;
	}
	free(l.v);
	return rc;
}

int
pg_team_list(struct store *s, struct team **out, size_t *n)
{
	struct tlist l = { NULL, NULL, 0 };
	int rc = pg_read(s, tx_teams, &l);

	if (rc != 0) {
		free(l.v);
		l.v = NULL;
		l.n = 0;
	}
	*out = l.v;
	*n = l.n;
	return rc;
}

struct member_arg {
	const char	*team, *user;
	int		 role;          /* new role; ROLE_NONE = remove */
	int		 created;       /* out */
	int		 old;           /* out: the role before */
};

/* The current role of a->user in a->team into a->old; STORE_NOTFOUND if none. */
static int
member_role(struct store *s, struct member_arg *m)
{
	struct pg_args a;
	PGresult *r;
	int rc;

	m->old = ROLE_NONE;
	pga_init(&a);
	pga_str(&a, m->team);
	pga_str(&a, m->user);
	if ((r = pg_exec(s, "SELECT role FROM members WHERE team_id = $1 AND "
	    "user_id = $2", &a, &rc)) == NULL)
		return rc;
	if (PQntuples(r) == 1)
		m->old = (int)pg_int(r, 0, 0);
	else
		rc = STORE_NOTFOUND;
	PQclear(r);
	return rc;
}

/* STORE_LASTOWNER if m->user is the only owner of the team. */
static int
not_last_owner(struct store *s, struct member_arg *m)
{
	struct pg_args a;
	PGresult *r;
	int rc;

	if (m->old != ROLE_OWNER)
		return 0;
	pga_init(&a);
	pga_str(&a, m->team);
	if ((r = pg_exec(s, "SELECT count(*) FROM members WHERE team_id = $1 "
	    "AND role = 2", &a, &rc)) == NULL)
		return rc;
	rc = pg_int(r, 0, 0) <= 1 ? STORE_LASTOWNER : 0;
	PQclear(r);
	return rc;
}

/* The team's row, locked until the end of the transaction. */
static int
lock_team(struct store *s, const char *team)
{
	return exists(s, "SELECT 1 FROM teams WHERE id = $1 FOR UPDATE", team);
}

static int
tx_member_set(struct store *s, void *arg)
{
	struct member_arg *m = arg;
	struct pg_args a;
	int rc;

	if ((rc = lock_team(s, m->team)) != 0 ||
	    (rc = exists(s, "SELECT 1 FROM users WHERE id = $1", m->user)) != 0)
		return rc;
	if ((rc = member_role(s, m)) == STORE_NOTFOUND) {
		m->created = 1;
		return member_insert(s, m->team, m->user, m->role, util_now_ms());
	}
	if (rc != 0)
		return rc;
	if (m->role != ROLE_OWNER && (rc = not_last_owner(s, m)) != 0)
		return rc;
	pga_init(&a);
	pga_str(&a, m->team);
	pga_str(&a, m->user);
	pga_int(&a, m->role);
	return pg_do(s, "UPDATE members SET role = $3 WHERE team_id = $1 AND "
	    "user_id = $2", &a);        /* joined_at is kept */
}

static int
member_ids_ok(const char *team, const char *user)
{
	return util_is_team_id(team) && strlen(user) == UUID_LEN;
}

int
pg_member_set(struct store *s, const char *team_id, const char *user_id,
    int role, int *created, const struct audit_event *ev)
{
	struct member_arg m = { team_id, user_id, role, 0, 0 };
	int rc;

	if (!member_ids_ok(team_id, user_id) ||
	    (role != ROLE_OWNER && role != ROLE_MEMBER))
		return STORE_INVALID;
	rc = pg_write(s, tx_member_set, &m, ev);
	if (created != NULL)
		*created = rc == 0 && m.created;
	return rc;
}

static int
tx_member_del(struct store *s, void *arg)
{
	struct member_arg *m = arg;
	struct pg_args a;
	int rc;

	if ((rc = lock_team(s, m->team)) != 0 || (rc = member_role(s, m)) != 0 ||
	    (rc = not_last_owner(s, m)) != 0)
		return rc;
	pga_init(&a);
	pga_str(&a, m->team);
	pga_str(&a, m->user);
	return pg_do(s, "DELETE FROM members WHERE team_id = $1 AND user_id = $2",
	    &a);
}

int
pg_member_del(struct store *s, const char *team_id, const char *user_id,
    const struct audit_event *ev)
{
	struct member_arg m = { team_id, user_id, ROLE_NONE, 0, 0 };

	if (!member_ids_ok(team_id, user_id))
		return STORE_NOTFOUND;
	return pg_write(s, tx_member_del, &m, ev);
}

static int
tx_member_get(struct store *s, void *arg)
{
	return member_role(s, arg);
}

int
pg_member_get(struct store *s, const char *team_id, const char *user_id,
    int *role)
{
	struct member_arg m = { team_id, user_id, ROLE_NONE, 0, 0 };
	int rc;

	*role = ROLE_NONE;
	if (!member_ids_ok(team_id, user_id))
		return STORE_NOTFOUND;
	if ((rc = pg_read(s, tx_member_get, &m)) == 0)
		*role = m.old;
	return rc;
}

struct mlist {
	const char		*sql;
	const char		*id;
	struct membership	*v;
	size_t			 n;
};

static int
tx_members(struct store *s, void *arg)
{
	struct mlist *l = arg;
	struct membership *e;
	struct pg_args a;
	PGresult *r;
	int i, rc;

	pga_init(&a);
	pga_str(&a, l->id);
	if ((r = pg_exec(s, l->sql, &a, &rc)) == NULL)
		return rc;
	free(l->v);
	l->n = 0;
	if ((l->v = calloc(PQntuples(r) + 1, sizeof(*l->v))) == NULL) {
		PQclear(r);
		return STORE_NOMEM;
	}
	for (i = 0; i < PQntuples(r); i++) {
		e = &l->v[l->n++];
		pg_cpy(r, i, 0, e->team_id, sizeof(e->team_id));
		pg_cpy(r, i, 1, e->user_id, sizeof(e->user_id));
		e->role = (int)pg_int(r, i, 2);
		e->joined_at = pg_int(r, i, 3);
	}
	PQclear(r);
	return 0;
}

static int
members_list(struct store *s, struct mlist *l, struct membership **out,
    size_t *n)
{
	int rc = pg_read(s, tx_members, l);

	if (rc != 0) {
		free(l->v);
		l->v = NULL;
		l->n = 0;
	}
	*out = l->v;
	*n = l->n;
	return rc;
}

int
pg_user_teams(struct store *s, const char *user_id, struct membership **out,
    size_t *n)
{
	struct mlist l = { "SELECT team_id, user_id, role, joined_at FROM members "
	    "WHERE user_id = $1 ORDER BY team_id", user_id, NULL, 0 };

	*out = NULL;
	*n = 0;
	if (strlen(user_id) != UUID_LEN)
		return STORE_OK;
	return members_list(s, &l, out, n);
}

int
pg_team_members(struct store *s, const char *team_id, struct membership **out,
    size_t *n)
{
	struct mlist l = { "SELECT team_id, user_id, role, joined_at FROM members "
	    "WHERE team_id = $1 ORDER BY user_id", team_id, NULL, 0 };

	*out = NULL;
	*n = 0;
	if (!util_is_team_id(team_id))
		return STORE_NOTFOUND;
	return members_list(s, &l, out, n);
}

/* tokencat migrate: m as it was; the foreign keys find a missing team or user. */
static int
tx_member_load(struct store *s, void *arg)
{
	const struct membership *m = arg;

	return member_insert(s, m->team_id, m->user_id, m->role, m->joined_at);
}

int
pg_member_load(struct store *s, const struct membership *m)
{
	if (!member_ids_ok(m->team_id, m->user_id) ||
	    (m->role != ROLE_OWNER && m->role != ROLE_MEMBER))
		return STORE_INVALID;
	return pg_write(s, tx_member_load, (void *)(uintptr_t)m, NULL);
}
