/*
 * store_team.c - teams and memberships.
 *
 * teams:      team id (32 hex)          -> {"id", "name", "created_at"}
 * team_name:  SHA-256 hex of lowercased name -> team id (names are unique)
 * members:    team id + user id         -> {"role", "joined_at"}
 * user_teams: user id + team id         -> {"role", "joined_at"}
 * Names are hashed in keys because LMDB keys stop at 511 bytes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define MKEY_LEN (TEAMID_LEN + UUID_LEN)

/* Key of the name index: SHA-256 hex of the ASCII-lowercased name. */
static void
name_key(const char *name, char out[SHA256_HEX + 1])
{
	char lower[NAME_MAX_BYTES];

	util_lower(name, lower, sizeof(lower));
	util_sha256_hex(lower, strlen(lower), out);
}

static int
exists(struct store *s, MDB_txn *txn, int db, const void *k, size_t kl)
{
	MDB_val key = { kl, (void *)(uintptr_t)k }, v;

	return mdb_get(txn, s->dbi[db], &key, &v);
}

/* Write both halves of a membership (store_int.h). */
int
member_put(struct store *s, MDB_txn *txn, const char *team, const char *user,
    int role, int64_t joined)
{
	struct json_object *o = json_object_new_object();
	char k1[MKEY_LEN], k2[MKEY_LEN];
	int rc;

	json_object_object_add(o, "role", json_object_new_int(role));
	json_object_object_add(o, "joined_at", json_object_new_int64(joined));
	memcpy(k1, team, TEAMID_LEN);
	memcpy(k1 + TEAMID_LEN, user, UUID_LEN);
	memcpy(k2, user, UUID_LEN);
	memcpy(k2 + UUID_LEN, team, TEAMID_LEN);
	if ((rc = db_put_json(s, txn, DB_MEMBERS, k1, MKEY_LEN, o, 0)) == 0)
		rc = db_put_json(s, txn, DB_USER_TEAMS, k2, MKEY_LEN, o, 0);
	json_object_put(o);
	return rc;
}

struct team_arg {
	const struct team *t;
	const char	*owner;
};

static int
tx_team_add(struct store *s, MDB_txn *txn, void *arg)
{
	struct team_arg *a = arg;
	struct json_object *o;
	char nk[SHA256_HEX + 1];
	int rc;

	if (a->owner != NULL && (rc = exists(s, txn, DB_USERS, a->owner, UUID_LEN)) != 0)
		return rc;
	name_key(a->t->name, nk);
	if ((rc = db_put(s, txn, DB_TEAM_NAME, nk, SHA256_HEX, a->t->id,
	    TEAMID_LEN, MDB_NOOVERWRITE)) != 0)
		return rc;
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(a->t->id));
	json_object_object_add(o, "name", json_object_new_string(a->t->name));
	json_object_object_add(o, "created_at", json_object_new_int64(a->t->created_at));
	rc = db_put_json(s, txn, DB_TEAMS, a->t->id, TEAMID_LEN, o, MDB_NOOVERWRITE);
	json_object_put(o);
	if (rc == 0 && a->owner != NULL)
		rc = member_put(s, txn, a->t->id, a->owner, ROLE_OWNER, a->t->created_at);
	return rc;
}

int
lmdb_team_add(struct store *s, const struct team *t, const char *owner_id,
    const struct audit_event *ev)
{
	struct team_arg a = { t, owner_id };

	if (!util_is_team_id(t->id) || (owner_id != NULL && strlen(owner_id) != UUID_LEN))
		return STORE_INVALID;
	return store_write_audited(s, tx_team_add, &a, ev);
}

/*
 * Visit the records of db whose key starts with prefix (plen bytes).
 * fn gets the key suffix and the parsed record; a non-zero return stops.
 */
/* Parse a stored JSON value (not NUL-terminated). NULL if corrupt. */
static struct json_object *
parse_val(const MDB_val *v)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;

	if (tok == NULL)
		return NULL;
	o = json_tokener_parse_ex(tok, v->mv_data, (int)v->mv_size);
	json_tokener_free(tok);
	return o;
}

typedef int (*visit_fn)(const char *suffix, struct json_object *rec, void *arg);

static int
visit_prefix(struct store *s, MDB_txn *txn, int db, const char *prefix,
    size_t plen, visit_fn fn, void *arg)
{
	MDB_cursor *c;
	MDB_val k = { plen, (void *)(uintptr_t)prefix }, v;
	struct json_object *o;
	char suffix[UUID_LEN + 1];
	int rc;

	if ((rc = mdb_cursor_open(txn, s->dbi[db], &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != MKEY_LEN || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		memcpy(suffix, (char *)k.mv_data + plen, MKEY_LEN - plen);
		suffix[MKEY_LEN - plen] = '\0';
		if ((o = parse_val(&v)) == NULL) {
			rc = MDB_CORRUPTED;
			break;
		}
		rc = fn(suffix, o, arg);
		json_object_put(o);
		if (rc != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

struct mlist {
	const char		*id;    /* the fixed half of the key */
	int			 by_team;
	struct membership	*v;
	size_t			 n, cap;
	unsigned		 owners;
};

/* visit_fn: append one membership to an mlist. */
static int
ml_add(const char *suffix, struct json_object *rec, void *arg)
{
	struct mlist *m = arg;
	struct membership *e, *nv;

	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 8;
		if ((nv = reallocarray(m->v, m->cap, sizeof(*nv))) == NULL)
			return ENOMEM;
		m->v = nv;
	}
	e = &m->v[m->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->team_id, m->by_team ? m->id : suffix, TEAMID_LEN);
	memcpy(e->user_id, m->by_team ? suffix : m->id, UUID_LEN);
	e->role = (int)jint(rec, "role");
	e->joined_at = jint(rec, "joined_at");
	if (e->role == ROLE_OWNER)
		m->owners++;
	return 0;
}

static int
tx_members(struct store *s, MDB_txn *txn, void *arg)
{
	struct mlist *m = arg;

	return visit_prefix(s, txn, m->by_team ? DB_MEMBERS : DB_USER_TEAMS, m->id,
	    m->by_team ? TEAMID_LEN : UUID_LEN, ml_add, m);
}

static int
members_list(struct store *s, const char *id, int by_team,
    struct membership **out, size_t *n)
{
	struct mlist m = { id, by_team, NULL, 0, 0, 0 };
	int rc = store_read(s, tx_members, &m);

	if (rc != 0) {
		free(m.v);
		m.v = NULL;
		m.n = 0;
	}
	*out = m.v;
	*n = m.n;
	return rc;
}

int
lmdb_user_teams(struct store *s, const char *user_id, struct membership **out,
    size_t *n)
{
	*out = NULL;
	*n = 0;
	if (strlen(user_id) != UUID_LEN)
		return STORE_OK;
	return members_list(s, user_id, 0, out, n);
}

int
lmdb_team_members(struct store *s, const char *team_id, struct membership **out,
    size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!util_is_team_id(team_id))
		return STORE_NOTFOUND;
	return members_list(s, team_id, 1, out, n);
}

/* Load the team record into out and count its members. */
static int
tx_team_get(struct store *s, MDB_txn *txn, void *arg)
{
	struct team *t = arg;
	struct json_object *o;
	struct mlist m = { t->id, 1, NULL, 0, 0, 0 };
	int rc;

	if ((rc = db_get_json(s, txn, DB_TEAMS, t->id, TEAMID_LEN, &o)) != 0)
		return rc;
	jcpy(o, "name", t->name, sizeof(t->name));
	t->created_at = jint(o, "created_at");
	json_object_put(o);
	rc = tx_members(s, txn, &m);
	t->member_count = (uint32_t)m.n;
	free(m.v);
	return rc;
}

int
lmdb_team_get(struct store *s, const char *id, struct team *out)
{
	memset(out, 0, sizeof(*out));
	if (!util_is_team_id(id))
		return STORE_NOTFOUND;
	memcpy(out->id, id, TEAMID_LEN + 1);
	return store_read(s, tx_team_get, out);
}

struct tlist {
	struct team	*v;
	size_t		 n;
};

static int
tx_team_list(struct store *s, MDB_txn *txn, void *arg)
{
	struct tlist *l = arg;
	MDB_cursor *c;
	MDB_val k, v;
	MDB_stat st;
	int rc;

	if ((rc = mdb_stat(txn, s->dbi[DB_TEAMS], &st)) != 0)
		return rc;
	if ((l->v = calloc(st.ms_entries + 1, sizeof(*l->v))) == NULL)
		return ENOMEM;
	if ((rc = mdb_cursor_open(txn, s->dbi[DB_TEAMS], &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && l->n < st.ms_entries;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != TEAMID_LEN)
			continue;
		memcpy(l->v[l->n].id, k.mv_data, TEAMID_LEN);
		if ((rc = tx_team_get(s, txn, &l->v[l->n])) != 0)
			break;
		l->n++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
team_cmp(const void *a, const void *b)
{
	return strcmp(((const struct team *)a)->name, ((const struct team *)b)->name);
}

int
lmdb_team_list(struct store *s, struct team **out, size_t *n)
{
	struct tlist l = { NULL, 0 };
	int rc = store_read(s, tx_team_list, &l);

	if (rc != 0) {
		free(l.v);
		l.v = NULL;
		l.n = 0;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), team_cmp);
	*out = l.v;
	*n = l.n;
	return rc;
}

struct member_arg {
	const char	*team, *user;
	int		 role;          /* new role; ROLE_NONE = remove */
	int		 created;       /* out */
	int		 old;           /* out: previous role */
	int64_t		 now;
};

/* The role of user in team, and when it joined (store_int.h). */
int
member_role_get(struct store *s, MDB_txn *txn, const char *team, const char *user,
    int *role, int64_t *joined)
{
	struct json_object *o;
	char k[MKEY_LEN];
	int rc;

	memcpy(k, team, TEAMID_LEN);
	memcpy(k + TEAMID_LEN, user, UUID_LEN);
	*role = ROLE_NONE;
	if ((rc = db_get_json(s, txn, DB_MEMBERS, k, MKEY_LEN, &o)) != 0)
		return rc;
	*role = (int)jint(o, "role");
	if (joined != NULL)
		*joined = jint(o, "joined_at");
	json_object_put(o);
	return 0;
}

/* Read the current role of a->user in a->team into a->old. */
static int
member_role(struct store *s, MDB_txn *txn, struct member_arg *a)
{
	return member_role_get(s, txn, a->team, a->user, &a->old, NULL);
}

/* MDB_KEYEXIST-free check: is a->user the only owner of a->team? */
static int
last_owner(struct store *s, MDB_txn *txn, struct member_arg *a, int *last)
{
	struct mlist m = { a->team, 1, NULL, 0, 0, 0 };
	int rc = tx_members(s, txn, &m);

	free(m.v);
	*last = a->old == ROLE_OWNER && m.owners <= 1;
	return rc;
}

static int
tx_member_set(struct store *s, MDB_txn *txn, void *arg)
{
	struct member_arg *a = arg;
	int rc, last;

	if ((rc = exists(s, txn, DB_TEAMS, a->team, TEAMID_LEN)) != 0 ||
	    (rc = exists(s, txn, DB_USERS, a->user, UUID_LEN)) != 0)
		return rc;
	rc = member_role(s, txn, a);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	a->created = rc == MDB_NOTFOUND;
	if (!a->created && a->role != ROLE_OWNER) {
		if ((rc = last_owner(s, txn, a, &last)) != 0)
			return rc;
		if (last)
			return STORE_LASTOWNER;
	}
	return member_put(s, txn, a->team, a->user, a->role, a->now);
}

static int
tx_member_del(struct store *s, MDB_txn *txn, void *arg)
{
	struct member_arg *a = arg;
	char k[MKEY_LEN];
	int rc, last;

	if ((rc = member_role(s, txn, a)) != 0)
		return rc;
	if ((rc = last_owner(s, txn, a, &last)) != 0)
		return rc;
	if (last)
		return STORE_LASTOWNER;
	memcpy(k, a->team, TEAMID_LEN);
	memcpy(k + TEAMID_LEN, a->user, UUID_LEN);
	if ((rc = db_del(s, txn, DB_MEMBERS, k, MKEY_LEN)) != 0)
		return rc;
	memcpy(k, a->user, UUID_LEN);
	memcpy(k + UUID_LEN, a->team, TEAMID_LEN);
	return db_del(s, txn, DB_USER_TEAMS, k, MKEY_LEN);
}

/* Keep the joined_at of an existing membership when only the role changes. */
static int
tx_member_set_keep(struct store *s, MDB_txn *txn, void *arg)
{
	struct member_arg *a = arg;
	struct json_object *o;
	char k[MKEY_LEN];

	memcpy(k, a->team, TEAMID_LEN);
	memcpy(k + TEAMID_LEN, a->user, UUID_LEN);
	if (db_get_json(s, txn, DB_MEMBERS, k, MKEY_LEN, &o) == 0) {
		a->now = jint(o, "joined_at");
		json_object_put(o);
	}
	return tx_member_set(s, txn, a);
}

static int
member_ids_ok(const char *team, const char *user)
{
	return util_is_team_id(team) && strlen(user) == UUID_LEN;
}

int
lmdb_member_set(struct store *s, const char *team_id, const char *user_id,
    int role, int *created, const struct audit_event *ev)
{
	struct member_arg a = { team_id, user_id, role, 0, 0, util_now_ms() };
	int rc;

	if (!member_ids_ok(team_id, user_id) || (role != ROLE_OWNER && role != ROLE_MEMBER))
		return STORE_INVALID;
	rc = store_write_audited(s, tx_member_set_keep, &a, ev);
	if (created != NULL)
		*created = a.created;
	return rc;
}

int
lmdb_member_del(struct store *s, const char *team_id, const char *user_id,
    const struct audit_event *ev)
{
	struct member_arg a = { team_id, user_id, ROLE_NONE, 0, 0, 0 };

	if (!member_ids_ok(team_id, user_id))
		return STORE_NOTFOUND;
	return store_write_audited(s, tx_member_del, &a, ev);
}

static int
tx_member_get(struct store *s, MDB_txn *txn, void *arg)
{
	return member_role(s, txn, arg);
}

int
lmdb_member_get(struct store *s, const char *team_id, const char *user_id, int *role)
{
	struct member_arg a = { team_id, user_id, ROLE_NONE, 0, 0, 0 };
	int rc;

	*role = ROLE_NONE;
	if (!member_ids_ok(team_id, user_id))
		return STORE_NOTFOUND;
	if ((rc = store_read(s, tx_member_get, &a)) == 0)
		*role = a.old;
	return rc;
}

/* tokencat migrate: m as it was, once its team and user exist. */
static int
tx_member_load(struct store *s, MDB_txn *txn, void *arg)
{
	const struct membership *m = arg;
	int role, rc;

	if ((rc = exists(s, txn, DB_TEAMS, m->team_id, TEAMID_LEN)) != 0 ||
	    (rc = exists(s, txn, DB_USERS, m->user_id, UUID_LEN)) != 0)
		return rc;
	rc = member_role_get(s, txn, m->team_id, m->user_id, &role, NULL);
	if (rc == 0)
		return STORE_EXISTS;
	if (rc != MDB_NOTFOUND)
		return rc;
	return member_put(s, txn, m->team_id, m->user_id, m->role, m->joined_at);
}

int
lmdb_member_load(struct store *s, const struct membership *m)
{
	if (!member_ids_ok(m->team_id, m->user_id) ||
	    (m->role != ROLE_OWNER && m->role != ROLE_MEMBER))
		return STORE_INVALID;
	return store_write(s, tx_member_load, (void *)(uintptr_t)m);
}
