/*
 * store_pg_invite.c - invitations to teams in PostgreSQL (store.h):
 * one row per team and lowercased e-mail (002_invitations.sql). As in
 * the LMDB store, an expired invitation is neither read nor answered,
 * and a team's expired ones go when its next invitation is written.
 */
#include <stdlib.h>
#include <string.h>

#include "store_pg_int.h"
#include "store_pg_fn.h"

#define INV_COLS "team_id, email, role, invited_by, invited_at, expires_at"

static void
inv_row(const PGresult *r, int row, struct invitation *inv)
{
	memset(inv, 0, sizeof(*inv));
	pg_cpy(r, row, 0, inv->team_id, sizeof(inv->team_id));
	pg_cpy(r, row, 1, inv->email, sizeof(inv->email));
	inv->role = (int)pg_int(r, row, 2);
	pg_cpy(r, row, 3, inv->invited_by, sizeof(inv->invited_by));
	inv->invited_at = pg_int(r, row, 4);
	inv->expires_at = pg_int(r, row, 5);
}

/* 1 if team and email can name an invitation (else none can exist). */
static int
keys_ok(const char *team, const char *email)
{
	size_t len = strlen(email);

	return util_is_team_id(team) && len > 0 && len <= EMAIL_MAX;
}

static int
tx_invite_put(struct store *s, void *arg)
{
	const struct invitation *inv = arg;
	char lower[EMAIL_MAX + 1];
	struct pg_args a;
	PGresult *r;
	int rc;

	pga_init(&a);
	pga_str(&a, inv->team_id);
	/* the team's row locked: its invitations change one writer at a time */
	if ((r = pg_exec(s, "SELECT 1 FROM teams WHERE id = $1 FOR UPDATE", &a,
	    &rc)) == NULL)
		return rc;
	rc = PQntuples(r) == 1 ? 0 : STORE_NOTFOUND;
	PQclear(r);
	if (rc != 0)
		return rc;
	pga_int(&a, inv->invited_at);
	if ((rc = pg_do(s, "DELETE FROM invitations WHERE team_id = $1 AND "
	    "expires_at <= $2", &a)) != 0)
		return rc;
	util_lower(inv->email, lower, sizeof(lower));
	pga_init(&a);
	pga_str(&a, inv->team_id);
	pga_str(&a, lower);
	pga_int(&a, inv->role);
	pga_str(&a, inv->invited_by);
	pga_int(&a, inv->invited_at);
	pga_int(&a, inv->expires_at);
	return pg_do(s, "INSERT INTO invitations (" INV_COLS ") VALUES ($1, $2, "
	    "$3, $4, $5, $6) ON CONFLICT (team_id, email) DO UPDATE SET "
	    "role = EXCLUDED.role, invited_by = EXCLUDED.invited_by, "
	    "invited_at = EXCLUDED.invited_at, expires_at = EXCLUDED.expires_at",
	    &a);
}

int
pg_invite_put(struct store *s, const struct invitation *inv,
    const struct audit_event *ev)
{
	if (!keys_ok(inv->team_id, inv->email) ||
	    (inv->role != ROLE_MEMBER && inv->role != ROLE_OWNER) ||
	    inv->expires_at <= inv->invited_at)
		return STORE_INVALID;
	return pg_write(s, tx_invite_put, (void *)(uintptr_t)inv, ev);
}

struct one_arg {
	const char		*team, *user;
	char			 email[EMAIL_MAX + 1];  /* lowercase */
	int64_t			 now;
	int			 lock;  /* FOR UPDATE */
	struct invitation	 inv;   /* out */
	int			 role;  /* out: the role after an accept */
};

static void
one_init(struct one_arg *a, const char *team, const char *email,
    const char *user, int64_t now)
{
	memset(a, 0, sizeof(*a));
	a->team = team;
	util_lower(email, a->email, sizeof(a->email));
	a->user = user;
	a->now = now;
}

/* The pending invitation of a->email to a->team into a->inv. */
static int
pending(struct store *s, struct one_arg *o)
{
	struct pg_args a;
	PGresult *r;
	int rc;

	pga_init(&a);
	pga_str(&a, o->team);
	pga_str(&a, o->email);
	pga_int(&a, o->now);
	if ((r = pg_exec(s, o->lock ? "SELECT " INV_COLS " FROM invitations "
	    "WHERE team_id = $1 AND email = $2 AND expires_at > $3 FOR UPDATE" :
	    "SELECT " INV_COLS " FROM invitations WHERE team_id = $1 AND "
	    "email = $2 AND expires_at > $3", &a, &rc)) == NULL)
		return rc;
	if (PQntuples(r) == 1)
		inv_row(r, 0, &o->inv);
	else
		rc = STORE_NOTFOUND;
	PQclear(r);
	return rc;
}

static int
tx_invite_get(struct store *s, void *arg)
{
	return pending(s, arg);
}

int
pg_invite_get(struct store *s, const char *team_id, const char *email,
    int64_t now, struct invitation *out)
{
	struct one_arg a;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!keys_ok(team_id, email))
		return STORE_NOTFOUND;
	one_init(&a, team_id, email, NULL, now);
	if ((rc = pg_read(s, tx_invite_get, &a)) == 0)
		*out = a.inv;
	return rc;
}

struct list_arg {
	int			 by_team;
	const char		*key;
	int64_t			 now;
	struct invitation	*v;
	size_t			 n;
};

static int
tx_invite_list(struct store *s, void *arg)
{
	struct list_arg *l = arg;
	struct pg_args a;
	PGresult *r;
	int i, rc;

	pga_init(&a);
	pga_str(&a, l->key);
	pga_int(&a, l->now);
	if ((r = pg_exec(s, l->by_team ? "SELECT " INV_COLS " FROM invitations "
	    "WHERE team_id = $1 AND expires_at > $2 ORDER BY invited_at DESC, "
	    "team_id, email" : "SELECT " INV_COLS " FROM invitations WHERE "
	    "email = $1 AND expires_at > $2 ORDER BY invited_at DESC, team_id, "
	    "email", &a, &rc)) == NULL)
		return rc;
	free(l->v);                     /* a retry */
	l->n = 0;
	if ((l->v = calloc(PQntuples(r) + 1, sizeof(*l->v))) == NULL) {
		PQclear(r);
		return STORE_NOMEM;
	}
	for (i = 0; i < PQntuples(r); i++)
		inv_row(r, i, &l->v[l->n++]);
	PQclear(r);
	return 0;
}

int
pg_invite_list(struct store *s, int by_team, const char *key, int64_t now,
    struct invitation **out, size_t *n)
{
	struct list_arg l = { by_team, key, now, NULL, 0 };
	char lower[EMAIL_MAX + 1];
	int rc;

	*out = NULL;
	*n = 0;
	if (by_team ? !util_is_team_id(key) : strlen(key) == 0 ||
	    strlen(key) > EMAIL_MAX)
		return STORE_OK;
	if (!by_team) {
		util_lower(key, lower, sizeof(lower));
		l.key = lower;
	}
	if ((rc = pg_read(s, tx_invite_list, &l)) != 0) {
		free(l.v);
		return rc;
	}
	if (l.n == 0) {
		free(l.v);
		l.v = NULL;
	}
	*out = l.v;
	*n = l.n;
	return STORE_OK;
}

/* Remove the invitation of o (found by pending). */
static int
inv_del(struct store *s, struct one_arg *o)
{
	struct pg_args a;

	pga_init(&a);
	pga_str(&a, o->inv.team_id);
	pga_str(&a, o->inv.email);
	return pg_do(s, "DELETE FROM invitations WHERE team_id = $1 AND "
	    "email = $2", &a);
}

static int
tx_invite_del(struct store *s, void *arg)
{
	struct one_arg *o = arg;
	int rc;

	o->lock = 1;
	if ((rc = pending(s, o)) != 0)
		return rc;
	return inv_del(s, o);
}

int
pg_invite_del(struct store *s, const char *team_id, const char *email,
    int64_t now, const struct audit_event *ev)
{
	struct one_arg a;

	if (!keys_ok(team_id, email))
		return STORE_NOTFOUND;
	one_init(&a, team_id, email, NULL, now);
	return pg_write(s, tx_invite_del, &a, ev);
}

/*
 * The membership an accepted invitation gives: new with the invited role,
 * or an existing one raised to it (never lowered; joined_at kept). The
 * team's row is locked first, as every change of membership does
 * (store_pg_team.c).
 */
static int
tx_invite_accept(struct store *s, void *arg)
{
	struct one_arg *o = arg;
	struct pg_args a;
	PGresult *r;
	int rc, old = ROLE_NONE;

	pga_init(&a);
	pga_str(&a, o->team);
	if ((r = pg_exec(s, "SELECT 1 FROM teams WHERE id = $1 FOR UPDATE", &a,
	    &rc)) == NULL)
		return rc;
	rc = PQntuples(r) == 1 ? 0 : STORE_NOTFOUND;
	PQclear(r);
	if (rc != 0)
		return rc;
	o->lock = 1;
	if ((rc = pending(s, o)) != 0)
		return rc;
	pga_init(&a);
	pga_str(&a, o->user);
	if ((r = pg_exec(s, "SELECT 1 FROM users WHERE id = $1", &a, &rc)) == NULL)
		return rc;
	rc = PQntuples(r) == 1 ? 0 : STORE_NOTFOUND;
	PQclear(r);
	if (rc != 0)
		return rc;
	pga_init(&a);
	pga_str(&a, o->team);
	pga_str(&a, o->user);
	if ((r = pg_exec(s, "SELECT role FROM members WHERE team_id = $1 AND "
	    "user_id = $2", &a, &rc)) == NULL)
		return rc;
	if (PQntuples(r) == 1)
		old = (int)pg_int(r, 0, 0);
	PQclear(r);
	o->role = o->inv.role > old ? o->inv.role : old;
	if (o->role != old) {
		pga_int(&a, o->role);
		pga_int(&a, o->now);
		if ((rc = pg_do(s, "INSERT INTO members VALUES ($1, $2, $3, $4) "
		    "ON CONFLICT (team_id, user_id) DO UPDATE SET role = "
		    "EXCLUDED.role", &a)) != 0)
			return rc;
	}
	return inv_del(s, o);
}

int
pg_invite_accept(struct store *s, const char *team_id, const char *user_id,
    const char *email, int64_t now, int *role, const struct audit_event *ev)
{
	struct one_arg a;
	int rc;

	*role = ROLE_NONE;
	if (!keys_ok(team_id, email) || strlen(user_id) != UUID_LEN)
		return STORE_NOTFOUND;
	one_init(&a, team_id, email, user_id, now);
	if ((rc = pg_write(s, tx_invite_accept, &a, ev)) == 0)
		*role = a.role;
	return rc;
}
