/*
 * store_invite.c - invitations to teams: a team owner's offer of a
 * membership, which the invitee accepts or declines (API.md 8).
 *
 * invites:      team id + SHA-256 hex of the lowercased e-mail -> record
 * invite_email: SHA-256 hex of the lowercased e-mail + team id -> record
 * record = {"team_id", "email", "role", "invited_by", "invited_at",
 *           "expires_at"}, the same in both.
 *
 * Keyed by e-mail, not by user, so that an invitation to an address
 * without an account is stored exactly like any other: nothing the
 * inviter sees depends on whether the account exists. E-mails are hashed
 * in keys to keep them fixed-length, as team names are in store_team.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define IKEY_LEN (TEAMID_LEN + SHA256_HEX)

/* SHA-256 hex of the lowercased e-mail: its part of the keys. */
static void
email_key(const char *email, char h[SHA256_HEX + 1])
{
	char lower[EMAIL_MAX + 1];

	util_lower(email, lower, sizeof(lower));
	util_sha256_hex(lower, strlen(lower), h);
}

/* Both keys of the invitation of email to team: by team, by e-mail. */
static void
inv_keys(const char *team, const char *email, char k1[IKEY_LEN], char k2[IKEY_LEN])
{
	char h[SHA256_HEX + 1];

	email_key(email, h);
	memcpy(k1, team, TEAMID_LEN);
	memcpy(k1 + TEAMID_LEN, h, SHA256_HEX);
	memcpy(k2, h, SHA256_HEX);
	memcpy(k2 + SHA256_HEX, team, TEAMID_LEN);
}

static struct json_object *
inv_json(const struct invitation *inv)
{
	struct json_object *o = json_object_new_object();
	char lower[EMAIL_MAX + 1];

	util_lower(inv->email, lower, sizeof(lower));
	json_object_object_add(o, "team_id", json_object_new_string(inv->team_id));
	json_object_object_add(o, "email", json_object_new_string(lower));
	json_object_object_add(o, "role", json_object_new_int(inv->role));
	json_object_object_add(o, "invited_by", json_object_new_string(inv->invited_by));
	json_object_object_add(o, "invited_at", json_object_new_int64(inv->invited_at));
	json_object_object_add(o, "expires_at", json_object_new_int64(inv->expires_at));
	return o;
}

static void
inv_from_json(struct json_object *o, struct invitation *inv)
{
	memset(inv, 0, sizeof(*inv));
	jcpy(o, "team_id", inv->team_id, sizeof(inv->team_id));
	jcpy(o, "email", inv->email, sizeof(inv->email));
	inv->role = (int)jint(o, "role");
	jcpy(o, "invited_by", inv->invited_by, sizeof(inv->invited_by));
	inv->invited_at = jint(o, "invited_at");
	inv->expires_at = jint(o, "expires_at");
}

/* Parse a stored record (not NUL-terminated) into inv. MDB_CORRUPTED if bad. */
static int
inv_parse(const MDB_val *v, struct invitation *inv)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;

	if (tok == NULL)
		return ENOMEM;
	o = json_tokener_parse_ex(tok, v->mv_data, (int)v->mv_size);
	json_tokener_free(tok);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return MDB_CORRUPTED;
	}
	inv_from_json(o, inv);
	json_object_put(o);
	return 0;
}

struct ilist {
	struct invitation	*v;
	size_t			 n, cap;
	int64_t			 now;
	int			 expired;       /* collect the expired ones instead */
};

static int
ilist_add(struct ilist *l, const struct invitation *inv)
{
	struct invitation *nv;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		if ((nv = reallocarray(l->v, l->cap, sizeof(*nv))) == NULL)
			return ENOMEM;
		l->v = nv;
	}
	l->v[l->n++] = *inv;
	return 0;
}

/*
 * Collect into l the records of db whose key starts with prefix (plen
 * bytes): the pending ones at l->now, or with l->expired the others.
 */
static int
scan(struct store *s, MDB_txn *txn, int db, const char *prefix, size_t plen,
    struct ilist *l)
{
	MDB_cursor *c;
	MDB_val k = { plen, (void *)(uintptr_t)prefix }, v;
	struct invitation inv;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->dbi[db], &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != IKEY_LEN || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		if ((rc = inv_parse(&v, &inv)) != 0)
			break;
		if ((inv.expires_at > l->now) == !l->expired &&
		    (rc = ilist_add(l, &inv)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Remove both records of inv. */
static int
inv_del(struct store *s, MDB_txn *txn, const struct invitation *inv)
{
	char k1[IKEY_LEN], k2[IKEY_LEN];
	int rc;

	inv_keys(inv->team_id, inv->email, k1, k2);
	if ((rc = db_del(s, txn, DB_INVITES, k1, IKEY_LEN)) != 0)
		return rc;
	rc = db_del(s, txn, DB_INVITE_EMAIL, k2, IKEY_LEN);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Remove the invitations of team that have expired at now. */
static int
purge_expired(struct store *s, MDB_txn *txn, const char *team, int64_t now)
{
	struct ilist l = { NULL, 0, 0, now, 1 };
	size_t i;
	int rc;

	rc = scan(s, txn, DB_INVITES, team, TEAMID_LEN, &l);
	for (i = 0; i < l.n && rc == 0; i++)
		rc = inv_del(s, txn, &l.v[i]);
	free(l.v);
	return rc;
}

static int
tx_invite_put(struct store *s, MDB_txn *txn, void *arg)
{
	const struct invitation *inv = arg;
	MDB_val key = { TEAMID_LEN, (void *)(uintptr_t)inv->team_id }, v;
	struct json_object *o;
	char k1[IKEY_LEN], k2[IKEY_LEN];
	int rc;

	if ((rc = mdb_get(txn, s->dbi[DB_TEAMS], &key, &v)) != 0 ||
	    (rc = purge_expired(s, txn, inv->team_id, inv->invited_at)) != 0)
		return rc;
	inv_keys(inv->team_id, inv->email, k1, k2);
	o = inv_json(inv);
	if ((rc = db_put_json(s, txn, DB_INVITES, k1, IKEY_LEN, o, 0)) == 0)
		rc = db_put_json(s, txn, DB_INVITE_EMAIL, k2, IKEY_LEN, o, 0);
	json_object_put(o);
	return rc;
}

int
lmdb_invite_put(struct store *s, const struct invitation *inv,
    const struct audit_event *ev)
{
	size_t len = strlen(inv->email);

	if (!util_is_team_id(inv->team_id) || len == 0 || len > EMAIL_MAX ||
	    (inv->role != ROLE_MEMBER && inv->role != ROLE_OWNER) ||
	    inv->expires_at <= inv->invited_at)
		return STORE_INVALID;
	if (s->no_invites)
		return STORE_RDONLY;
	return store_write_audited(s, tx_invite_put, (void *)(uintptr_t)inv, ev);
}

struct one_arg {
	const char		*team, *email, *user;
	int64_t			 now;
	struct invitation	 inv;   /* out */
	int			 role;  /* out: the role after an accept */
};

static void
one_init(struct one_arg *a, const char *team, const char *email, const char *user,
    int64_t now)
{
	memset(a, 0, sizeof(*a));
	a->team = team;
	a->email = email;
	a->user = user;
	a->now = now;
}

/* The pending invitation of a->email to a->team into a->inv. */
static int
pending(struct store *s, MDB_txn *txn, struct one_arg *a)
{
	char k1[IKEY_LEN], k2[IKEY_LEN];
	MDB_val key = { IKEY_LEN, k1 }, v;
	int rc;

	inv_keys(a->team, a->email, k1, k2);
	if ((rc = mdb_get(txn, s->dbi[DB_INVITES], &key, &v)) != 0 ||
	    (rc = inv_parse(&v, &a->inv)) != 0)
		return rc;
	return a->inv.expires_at > a->now ? 0 : MDB_NOTFOUND;
}

static int
tx_invite_get(struct store *s, MDB_txn *txn, void *arg)
{
	return pending(s, txn, arg);
}

/* 1 if team and email can name an invitation (else none can exist). */
static int
keys_ok(struct store *s, const char *team, const char *email)
{
	size_t len = strlen(email);

	return !s->no_invites && util_is_team_id(team) && len > 0 && len <= EMAIL_MAX;
}

int
lmdb_invite_get(struct store *s, const char *team_id, const char *email,
    int64_t now, struct invitation *out)
{
	struct one_arg a;
	int rc;

	one_init(&a, team_id, email, NULL, now);
	memset(out, 0, sizeof(*out));
	if (!keys_ok(s, team_id, email))
		return STORE_NOTFOUND;
	if ((rc = store_read(s, tx_invite_get, &a)) == 0)
		*out = a.inv;
	return rc;
}

struct list_arg {
	int		 by_team;
	char		 prefix[SHA256_HEX];
	size_t		 plen;
	struct ilist	 l;
};

static int
tx_invite_list(struct store *s, MDB_txn *txn, void *arg)
{
	struct list_arg *a = arg;

	return scan(s, txn, a->by_team ? DB_INVITES : DB_INVITE_EMAIL, a->prefix,
	    a->plen, &a->l);
}

/* Newest first, then by team and e-mail. */
static int
inv_cmp(const void *x, const void *y)
{
	const struct invitation *a = x, *b = y;
	int c;

	if (a->invited_at != b->invited_at)
		return a->invited_at > b->invited_at ? -1 : 1;
	if ((c = strcmp(a->team_id, b->team_id)) != 0)
		return c;
	return strcmp(a->email, b->email);
}

int
lmdb_invite_list(struct store *s, int by_team, const char *key, int64_t now,
    struct invitation **out, size_t *n)
{
	struct list_arg a;
	char h[SHA256_HEX + 1];
	int rc;

	*out = NULL;
	*n = 0;
	memset(&a, 0, sizeof(a));
	a.by_team = by_team;
	a.l.now = now;
	if (s->no_invites || (by_team ? !util_is_team_id(key) :
	    strlen(key) == 0 || strlen(key) > EMAIL_MAX))
		return STORE_OK;
	if (by_team) {
		memcpy(a.prefix, key, TEAMID_LEN);
		a.plen = TEAMID_LEN;
	} else {
		email_key(key, h);
		memcpy(a.prefix, h, SHA256_HEX);
		a.plen = SHA256_HEX;
	}
	if ((rc = store_read(s, tx_invite_list, &a)) != 0) {
		free(a.l.v);
		return rc;
	}
	if (a.l.n > 1)
		qsort(a.l.v, a.l.n, sizeof(*a.l.v), inv_cmp);
	*out = a.l.v;
	*n = a.l.n;
	return STORE_OK;
}

static int
tx_invite_del(struct store *s, MDB_txn *txn, void *arg)
{
	struct one_arg *a = arg;
	int rc;

	if ((rc = pending(s, txn, a)) != 0)
		return rc;
	return inv_del(s, txn, &a->inv);
}

int
lmdb_invite_del(struct store *s, const char *team_id, const char *email,
    int64_t now, const struct audit_event *ev)
{
	struct one_arg a;

	one_init(&a, team_id, email, NULL, now);
	if (!keys_ok(s, team_id, email))
		return STORE_NOTFOUND;
	return store_write_audited(s, tx_invite_del, &a, ev);
}

/*
 * The membership an accepted invitation gives: new with the invited role,
 * or an existing one raised to it (never lowered; joined_at kept).
 */
static int
tx_invite_accept(struct store *s, MDB_txn *txn, void *arg)
{
	struct one_arg *a = arg;
	MDB_val key = { UUID_LEN, (void *)(uintptr_t)a->user }, v;
	int64_t joined = a->now;
	int rc, old;

	if ((rc = pending(s, txn, a)) != 0 ||
	    (rc = mdb_get(txn, s->dbi[DB_USERS], &key, &v)) != 0)
		return rc;
	key.mv_size = TEAMID_LEN;
	key.mv_data = (void *)(uintptr_t)a->team;
	if ((rc = mdb_get(txn, s->dbi[DB_TEAMS], &key, &v)) != 0)
		return rc;
	rc = member_role_get(s, txn, a->team, a->user, &old, &joined);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	a->role = a->inv.role > old ? a->inv.role : old;
	if (rc == MDB_NOTFOUND)
		joined = a->now;
	if (a->role != old && (rc = member_put(s, txn, a->team, a->user, a->role,
	    joined)) != 0)
		return rc;
	return inv_del(s, txn, &a->inv);
}

int
lmdb_invite_accept(struct store *s, const char *team_id, const char *user_id,
    const char *email, int64_t now, int *role, const struct audit_event *ev)
{
	struct one_arg a;
	int rc;

	one_init(&a, team_id, email, user_id, now);
	*role = ROLE_NONE;
	if (!keys_ok(s, team_id, email) || strlen(user_id) != UUID_LEN)
		return STORE_NOTFOUND;
	if ((rc = store_write_audited(s, tx_invite_accept, &a, ev)) == 0)
		*role = a.role;
	return rc;
}
