/*
 * store_token.c - token records and their indexes.
 *
 * In the catalog, durable:
 * tokens:   token id -> JSON record (never the raw token: only its SHA-256)
 *
 * In the index environment (store_index.c), made again from the records
 * when in doubt, through s->itxn:
 * tok_jti:  jti -> token id
 * tok_name: owner id + team id (or 32 '-') + SHA-256 hex of the name -> token id,
 *           only for "held" tokens (is_active and not revoked): the
 *           uniqueness of active names, checked with MDB_NOOVERWRITE inside
 *           the write transaction.
 * tok_idx:  set + (INT64_MAX - created_at, big-endian) + id -> expires_at,
 *           newest first within a set.
 * tok_cnt:  set -> number of entries (uint64), so totals cost O(1).
 * tok_exp:  held set + expires_at (big-endian) + id -> "", to count the
 *           expired tokens of a held set without reading the set.
 *
 * A set is one of "A" (every token), "O<owner id>", "T<team id>",
 * "P<owner id><team id>" (an owner's tokens in a team, counted so that the
 * union of own and team tokens has a total); the same letter in lowercase
 * is the held subset of that set.
 */
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define SET_MAX		(1 + UUID_LEN + TEAMID_LEN)
#define SUFFIX_LEN	(8 + UUID_LEN)  /* index key after the set: time, id */
#define IDX_KEY_MAX	(SET_MAX + 8 + UUID_LEN)
#define NAME_KEY_LEN	(UUID_LEN + TEAMID_LEN + SHA256_HEX)

/* --- the index databases, through s->itxn --- */

static int
ix_put(struct store *s, int db, const void *k, size_t kl, const void *v,
    size_t vl, unsigned flags)
{
	MDB_val key = { kl, (void *)(uintptr_t)k }, val = { vl, (void *)(uintptr_t)v };
	int rc = mdb_put(s->itxn, s->idbi[db], &key, &val, flags);

	if (rc == MDB_MAP_FULL)
		s->ifull = 1;
	return rc;
}

static int
ix_del(struct store *s, int db, const void *k, size_t kl)
{
	MDB_val key = { kl, (void *)(uintptr_t)k };

	return mdb_del(s->itxn, s->idbi[db], &key, NULL);
}

static int
ix_get(struct store *s, int db, const void *k, size_t kl, MDB_val *v)
{
	MDB_val key = { kl, (void *)(uintptr_t)k };

	return mdb_get(s->itxn, s->idbi[db], &key, v);
}

static int
ix_cursor(struct store *s, int db, MDB_cursor **c)
{
	return mdb_cursor_open(s->itxn, s->idbi[db], c);
}

void
token_free(struct token *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->description);
	free(t->revoked_by);
	free(t->revocation_reason);
	json_object_put(t->scope);
	json_object_put(t->tags);
	t->name = t->description = t->revoked_by = t->revocation_reason = NULL;
	t->scope = t->tags = NULL;
}

int
token_mark_revoked(struct token *t, const char *by, const char *reason, int64_t at)
{
	char *b = strdup(by), *r = strdup(reason);

	if (b == NULL || r == NULL) {
		free(b);
		free(r);
		return STORE_NOMEM;
	}
	free(t->revoked_by);
	free(t->revocation_reason);
	t->revoked_by = b;
	t->revocation_reason = r;
	t->is_revoked = 1;
	t->is_active = 0;
	t->revoked_at = at;
	return 0;
}

void
tokens_free(struct token *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		token_free(&v[i]);
	free(v);
}

int
token_live(const struct token *t, int64_t now)
{
	return t->is_active && !t->is_revoked &&
	    (t->expires_at == 0 || t->expires_at > now);
}

/* A token holds its name and its place in the held sets while this is true. */
static int
token_held(const struct token *t)
{
	return t->is_active && !t->is_revoked;
}

static void
add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v != NULL ? json_object_new_string(v) : NULL);
}

static struct json_object *
token_to_json(const struct token *t)
{
	struct json_object *o = json_object_new_object();

	add_str(o, "id", t->id);
	add_str(o, "jti", t->jti);
	add_str(o, "hash", t->hash);
	add_str(o, "owner_id", t->owner_id);
	add_str(o, "owner_email", t->owner_email);
	add_str(o, "team_id", t->team_id);
	add_str(o, "name", t->name);
	add_str(o, "description", t->description);
	add_str(o, "created_by", t->created_by);
	json_object_object_add(o, "created_at", json_object_new_int64(t->created_at));
	json_object_object_add(o, "expires_at", json_object_new_int64(t->expires_at));
	json_object_object_add(o, "is_active", json_object_new_boolean(t->is_active));
	json_object_object_add(o, "is_revoked", json_object_new_boolean(t->is_revoked));
	json_object_object_add(o, "revoked_at", json_object_new_int64(t->revoked_at));
	add_str(o, "revoked_by", t->revoked_by);
	add_str(o, "revocation_reason", t->revocation_reason);
	json_object_object_add(o, "scope", json_object_get(t->scope));
	json_object_object_add(o, "tags", json_object_get(t->tags));
	return o;
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* Fill t from a record; members are new copies owned by t. */
static int
token_from_json(struct json_object *o, struct token *t)
{
	struct json_object *v;

	memset(t, 0, sizeof(*t));
	jcpy(o, "id", t->id, sizeof(t->id));
	jcpy(o, "jti", t->jti, sizeof(t->jti));
	jcpy(o, "hash", t->hash, sizeof(t->hash));
	jcpy(o, "owner_id", t->owner_id, sizeof(t->owner_id));
	jcpy(o, "owner_email", t->owner_email, sizeof(t->owner_email));
	jcpy(o, "team_id", t->team_id, sizeof(t->team_id));
	jcpy(o, "created_by", t->created_by, sizeof(t->created_by));
	t->name = strdup(jstr(o, "name") ? jstr(o, "name") : "");
	t->description = dup_or_null(jstr(o, "description"));
	t->created_at = jint(o, "created_at");
	t->expires_at = jint(o, "expires_at");
	t->is_active = jint(o, "is_active") != 0;
	t->is_revoked = jint(o, "is_revoked") != 0;
	t->revoked_at = jint(o, "revoked_at");
	t->revoked_by = dup_or_null(jstr(o, "revoked_by"));
	t->revocation_reason = dup_or_null(jstr(o, "revocation_reason"));
	t->scope = json_object_object_get_ex(o, "scope", &v) && v != NULL ?
	    json_object_get(v) : json_object_new_object();
	t->tags = json_object_object_get_ex(o, "tags", &v) && v != NULL ?
	    json_object_get(v) : json_object_new_array();
	if (t->name == NULL) {
		token_free(t);
		return ENOMEM;
	}
	return 0;
}

/* --- sets, counters and index entries --- */

#define NSETS 4

/*
 * Write set i (0 = all, 1 = owner, 2 = team, 3 = owner in team) of t into
 * out; returns its length, 0 if t has none.
 */
static size_t
set_name(const struct token *t, int i, int held, char out[SET_MAX])
{
	static const char letters[] = "AOTP";

	if (i >= 2 && t->team_id[0] == '\0')
		return 0;
	out[0] = held ? (char)(letters[i] - 'A' + 'a') : letters[i];
	switch (i) {
	case 0:
		return 1;
	case 1:
		memcpy(out + 1, t->owner_id, UUID_LEN);
		return 1 + UUID_LEN;
	case 2:
		memcpy(out + 1, t->team_id, TEAMID_LEN);
		return 1 + TEAMID_LEN;
	default:
		memcpy(out + 1, t->owner_id, UUID_LEN);
		memcpy(out + 1 + UUID_LEN, t->team_id, TEAMID_LEN);
		return 1 + UUID_LEN + TEAMID_LEN;
	}
}

/* key = set + be64(value) + id; returns the key length. */
static size_t
set_key(char *key, const char *set, size_t sl, uint64_t value, const char *id)
{
	uint64_t be = htobe64(value);

	memcpy(key, set, sl);
	memcpy(key + sl, &be, 8);
	memcpy(key + sl + 8, id, UUID_LEN);
	return sl + 8 + UUID_LEN;
}

static int
count_add(struct store *s, const char *set, size_t sl, int delta)
{
	MDB_val v;
	uint64_t n = 0;
	int rc = ix_get(s, IDB_CNT, set, sl, &v);

	if (rc == 0 && v.mv_size == sizeof(n))
		memcpy(&n, v.mv_data, sizeof(n));
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	n = delta < 0 ? (n > 0 ? n - 1 : 0) : n + 1;
	return ix_put(s, IDB_CNT, set, sl, &n, sizeof(n), 0);
}

/* Add (add = 1) or remove t's entries in one set. */
static int
set_entry(struct store *s, const struct token *t, const char *set,
    size_t sl, int held, int add)
{
	char key[IDX_KEY_MAX];
	uint64_t exp = htobe64((uint64_t)t->expires_at);
	size_t kl = set_key(key, set, sl, (uint64_t)(INT64_MAX - t->created_at), t->id);
	int rc;

	rc = add ? ix_put(s, IDB_IDX, key, kl, &exp, sizeof(exp), 0) :
	    ix_del(s, IDB_IDX, key, kl);
	if (rc != 0 || (rc = count_add(s, set, sl, add ? 1 : -1)) != 0)
		return rc;
	if (!held || t->expires_at == 0)
		return 0;
	kl = set_key(key, set, sl, (uint64_t)t->expires_at, t->id);
	return add ? ix_put(s, IDB_EXP, key, kl, "", 0, 0) :
	    ix_del(s, IDB_EXP, key, kl);
}

static void
name_key(const struct token *t, char key[NAME_KEY_LEN])
{
	char hex[SHA256_HEX + 1];

	memcpy(key, t->owner_id, UUID_LEN);
	if (t->team_id[0] != '\0')
		memcpy(key + UUID_LEN, t->team_id, TEAMID_LEN);
	else
		memset(key + UUID_LEN, '-', TEAMID_LEN);
	util_sha256_hex(t->name, strlen(t->name), hex);
	memcpy(key + UUID_LEN + TEAMID_LEN, hex, SHA256_HEX);
}

/* Add or remove every index entry of t: sets, held sets and the held name. */
static int
index_token(struct store *s, const struct token *t, int add)
{
	char set[SET_MAX], nk[NAME_KEY_LEN];
	size_t sl;
	int i, rc;

	for (i = 0; i < NSETS; i++) {
		if ((sl = set_name(t, i, 0, set)) == 0)
			continue;
		if ((rc = set_entry(s, t, set, sl, 0, add)) != 0)
			return rc;
		if (!token_held(t))
			continue;
		set_name(t, i, 1, set);
		if ((rc = set_entry(s, t, set, sl, 1, add)) != 0)
			return rc;
	}
	if (!token_held(t))
		return 0;
	name_key(t, nk);
	if (!add)
		return ix_del(s, IDB_NAME, nk, NAME_KEY_LEN);
	rc = ix_put(s, IDB_NAME, nk, NAME_KEY_LEN, t->id, UUID_LEN, MDB_NOOVERWRITE);
	return rc == MDB_KEYEXIST ? STORE_EXISTS : rc;
}

static int
record_put(struct store *s, MDB_txn *txn, const struct token *t, unsigned flags)
{
	struct json_object *o = token_to_json(t);
	int rc = db_put_json(s, txn, DB_TOKENS, t->id, UUID_LEN, o, flags);

	json_object_put(o);
	return rc;
}

static int
tx_token_add(struct store *s, MDB_txn *txn, void *arg)
{
	const struct token *t = arg;
	int rc;

	if ((rc = record_put(s, txn, t, MDB_NOOVERWRITE)) != 0 ||
	    (rc = ix_put(s, IDB_JTI, t->jti, strlen(t->jti), t->id, UUID_LEN,
	    MDB_NOOVERWRITE)) != 0)
		return rc;
	return index_token(s, t, 1);
}

/* The token of a record (its JSON, len bytes) into t: 0, STORE_INVALID
 * when it is not one, or ENOMEM. */
static int
record_decode(const char *rec, size_t len, struct token *t)
{
	struct json_tokener *tok;
	struct json_object *o;
	int rc;

	if ((tok = json_tokener_new()) == NULL)
		return ENOMEM;
	o = json_tokener_parse_ex(tok, rec, (int)len);
	json_tokener_free(tok);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return STORE_INVALID;
	}
	rc = token_from_json(o, t);
	json_object_put(o);
	return rc;
}

/* STORE_EXISTS when t cannot be added, its jti or (held) its name taken. */
static int
add_conflict(struct store *s, const struct token *t)
{
	char nk[NAME_KEY_LEN];
	MDB_val v;
	int rc;

	if ((rc = ix_get(s, IDB_JTI, t->jti, strlen(t->jti), &v)) != MDB_NOTFOUND)
		return rc == 0 ? STORE_EXISTS : rc;
	if (!token_held(t))
		return 0;
	name_key(t, nk);
	rc = ix_get(s, IDB_NAME, nk, NAME_KEY_LEN, &v);
	return rc == 0 ? STORE_EXISTS : rc == MDB_NOTFOUND ? 0 : rc;
}

int
tx_token_add_record(struct store *s, MDB_txn *txn, const char *rec, size_t len,
    int *stored)
{
	struct json_object *have;
	struct token t;
	int rc;

	*stored = 0;
	if ((rc = record_decode(rec, len, &t)) != 0)
		return rc;
	if ((rc = db_get_json(s, txn, DB_TOKENS, t.id, UUID_LEN, &have)) == 0) {
		/* added by a leader that died after its commit: the id is new
		 * to each token, and the jti says it is this one */
		*stored = jstr(have, "jti") != NULL && strcmp(jstr(have, "jti"), t.jti) == 0;
		rc = *stored ? 0 : STORE_EXISTS;
		json_object_put(have);
	} else if (rc == MDB_NOTFOUND && (rc = add_conflict(s, &t)) == 0)
		rc = tx_token_add(s, txn, &t);
	token_free(&t);
	return rc;
}

int
tx_token_index_all(struct store *s, MDB_txn *txn, size_t *n)
{
	struct token t;
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->dbi[DB_TOKENS], &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if ((rc = record_decode(v.mv_data, v.mv_size, &t)) != 0) {
			if (rc == STORE_INVALID)
				rc = MDB_CORRUPTED;
			break;
		}
		/* two held tokens of one name, or one jti, cannot have been
		 * written: the first one is kept */
		if ((rc = ix_put(s, IDB_JTI, t.jti, strlen(t.jti), t.id, UUID_LEN,
		    MDB_NOOVERWRITE)) == MDB_KEYEXIST)
			rc = 0;
		if (rc == 0 && (rc = index_token(s, &t, 1)) == STORE_EXISTS)
			rc = 0;
		token_free(&t);
		if (rc != 0)
			break;
		(*n)++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int
lmdb_token_add(struct store *s, const struct token *t,
    const struct audit_event *ev)
{
	struct json_object *o;
	const char *rec;
	size_t len;
	int rc, done;

	if (strlen(t->id) != UUID_LEN || strlen(t->owner_id) != UUID_LEN ||
	    t->jti[0] == '\0' || t->name == NULL || t->scope == NULL || t->tags == NULL)
		return STORE_INVALID;
	if (t->team_id[0] != '\0' && !util_is_team_id(t->team_id))
		return STORE_INVALID;
	if (s->grp != NULL && (o = token_to_json(t)) != NULL) {
		rec = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
		done = rec != NULL && group_write(s, GROUP_TOKEN_ADD, rec, len, ev, &rc);
		json_object_put(o);
		if (done)
			return rc;
	}
	return store_write_index(s, tx_token_add, (void *)(uintptr_t)t, ev);
}

struct tok_get {
	const char	*id;
	const char	*jti;
	struct token	*out;
};

/*
 * A per-process cache of decoded records: the record is still read from
 * the store every time, and a cached decoding is used only when the stored
 * bytes are identical to the ones it was decoded from (so every change
 * counts at once). It saves the JSON parse on the check path and for
 * the pages of a listing. Direct-mapped on a hash of the id.
 */
#define DECODED_MAX 1024

static struct decoded {
	char		 id[UUID_LEN + 1];
	char		*raw;
	size_t		 len;
	struct token	 tok;
} decoded[DECODED_MAX];

/* A copy of t owning its strings; the JSON members are shared (read-only). */
static int
token_copy(struct token *out, const struct token *t)
{
	*out = *t;
	out->name = strdup(t->name);
	out->description = dup_or_null(t->description);
	out->revoked_by = dup_or_null(t->revoked_by);
	out->revocation_reason = dup_or_null(t->revocation_reason);
	out->scope = json_object_get(t->scope);
	out->tags = json_object_get(t->tags);
	if (out->name == NULL || (t->description && !out->description) ||
	    (t->revoked_by && !out->revoked_by) ||
	    (t->revocation_reason && !out->revocation_reason)) {
		token_free(out);
		return ENOMEM;
	}
	return 0;
}

/* The cache slot of id: FNV-1a of its characters. */
static struct decoded *
decoded_slot(const char *id)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < UUID_LEN && id[i] != '\0'; i++)
		h = (h ^ (unsigned char)id[i]) * 16777619u;
	return &decoded[h % DECODED_MAX];
}

/* Remember the decoding of raw for id (best effort). */
static void
decoded_put(const char *id, const MDB_val *raw, const struct token *t)
{
	struct decoded *d = decoded_slot(id);
	char *copy = malloc(raw->mv_size);

	if (copy == NULL)
		return;
	free(d->raw);
	token_free(&d->tok);
	memcpy(copy, raw->mv_data, raw->mv_size);
	if (token_copy(&d->tok, t) != 0) {
		free(copy);
		d->raw = NULL;
		d->id[0] = '\0';
		return;
	}
	memcpy(d->id, id, UUID_LEN + 1);
	d->raw = copy;
	d->len = raw->mv_size;
}

static struct decoded *
decoded_get(const char *id, const MDB_val *raw)
{
	struct decoded *d = decoded_slot(id);

	if (d->raw == NULL || d->len != raw->mv_size || memcmp(d->id, id, UUID_LEN) != 0 ||
	    memcmp(d->raw, raw->mv_data, raw->mv_size) != 0)
		return NULL;
	return d;
}

static int
load_token(struct store *s, MDB_txn *txn, const char *id, struct token *out)
{
	MDB_val k = { UUID_LEN, (void *)(uintptr_t)id }, v;
	struct decoded *d;
	int rc;

	if (strlen(id) != UUID_LEN)
		return MDB_NOTFOUND;
	if ((rc = mdb_get(txn, s->dbi[DB_TOKENS], &k, &v)) != 0)
		return rc;
	if ((d = decoded_get(id, &v)) != NULL)
		return token_copy(out, &d->tok);
	if ((rc = record_decode(v.mv_data, v.mv_size, out)) == STORE_INVALID)
		return MDB_CORRUPTED;
	if (rc == 0)
		decoded_put(id, &v, out);
	return rc;
}

static int
tx_token_get(struct store *s, MDB_txn *txn, void *arg)
{
	struct tok_get *g = arg;
	char id[UUID_LEN + 1];
	int rc;

	if (g->jti == NULL)
		return load_token(s, txn, g->id, g->out);
	if (*g->jti == '\0' || strlen(g->jti) > 256)
		return MDB_NOTFOUND;
	if ((rc = dbi_get_str(s->itxn, s->idbi[IDB_JTI], g->jti, strlen(g->jti),
	    id, sizeof(id))) != 0 ||
	    (rc = load_token(s, txn, id, g->out)) != 0)
		return rc;
	/* the record has the last word: an index is a cache */
	if (strcmp(g->out->jti, g->jti) != 0) {
		token_free(g->out);
		return MDB_NOTFOUND;
	}
	return 0;
}

/* Fill last_used from the usage environment (best effort: 0 on failure). */
static void
fill_last_used(struct store *s, struct token *t)
{
	if (lmdb_use_last(s, t->id, &t->last_used) != 0)
		t->last_used = 0;
}

int
lmdb_token_get(struct store *s, const char *id, struct token *out)
{
	struct tok_get g = { id, NULL, out };
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_read(s, tx_token_get, &g)) == 0)
		fill_last_used(s, out);
	return rc;
}

int
lmdb_token_by_jti(struct store *s, const char *jti, struct token *out)
{
	struct tok_get g = { NULL, jti, out };

	memset(out, 0, sizeof(*out));
	return store_read_index(s, tx_token_get, &g);
}

struct tok_edit {
	const char	*id;
	token_edit_fn	 fn;
	void		*arg;
	struct token	*out;
	int		 fn_rc;         /* the callback's own refusal */
};

#define EDIT_REFUSED (-40100)

/* Re-index: drop the old entries, write the changed record, add the new ones. */
static int
tx_token_edit(struct store *s, MDB_txn *txn, void *arg)
{
	struct tok_edit *e = arg;
	struct token old, cur;
	int rc;

	if (e->out != NULL)             /* a retry after growing the map */
		token_free(e->out);
	if ((rc = load_token(s, txn, e->id, &old)) != 0)
		return rc;
	if ((rc = load_token(s, txn, e->id, &cur)) != 0)
		goto out_old;
	if ((e->fn_rc = e->fn(&cur, e->arg)) != 0) {
		rc = EDIT_REFUSED;
		goto out;
	}
	if ((rc = index_token(s, &old, 0)) == 0 &&
	    (rc = record_put(s, txn, &cur, 0)) == 0)
		rc = index_token(s, &cur, 1);
out:
	if (rc == 0 && e->out != NULL)
		*e->out = cur;
	else
		token_free(&cur);
out_old:
	token_free(&old);
	return rc;
}

int
lmdb_token_edit(struct store *s, const char *id, token_edit_fn fn, void *arg,
    struct token *out, const struct audit_event *ev)
{
	struct tok_edit e = { id, fn, arg, out, 0 };
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	rc = store_write_index(s, tx_token_edit, &e, ev);
	if (rc != 0 && out != NULL)
		token_free(out);
	else if (out != NULL)
		fill_last_used(s, out);
	return e.fn_rc != 0 ? e.fn_rc : rc;
}

struct tok_rotate {
	struct tok_edit		 edit;
	const struct token	*newt;
};

static int
tx_token_rotate(struct store *s, MDB_txn *txn, void *arg)
{
	struct tok_rotate *r = arg;
	int rc;

	if ((rc = tx_token_edit(s, txn, &r->edit)) != 0)
		return rc;
	return tx_token_add(s, txn, (void *)(uintptr_t)r->newt);
}

int
lmdb_token_rotate(struct store *s, const char *old_id, token_edit_fn fn, void *arg,
    const struct token *newt, const struct audit_event *ev)
{
	struct tok_rotate r = { { old_id, fn, arg, NULL, 0 }, newt };
	int rc;

	if (strlen(newt->id) != UUID_LEN || newt->name == NULL || newt->scope == NULL ||
	    newt->tags == NULL)
		return STORE_INVALID;
	rc = store_write_index(s, tx_token_rotate, &r, ev);
	return r.edit.fn_rc != 0 ? r.edit.fn_rc : rc;
}

/* --- listing --- */

struct tok_page {
	char		 set[SET_MAX];
	size_t		 sl;
	int		 held_only;
	int64_t		 now;
	uint64_t	 offset;
	uint32_t	 limit;
	struct token	*v;
	size_t		 n;
	uint64_t	 total;
};

static uint64_t
count_get(struct store *s, const char *set, size_t sl)
{
	MDB_val v;
	uint64_t n = 0;

	if (ix_get(s, IDB_CNT, set, sl, &v) == 0 && v.mv_size == sizeof(n))
		memcpy(&n, v.mv_data, sizeof(n));
	return n;
}

/* Number of held tokens of the set whose expiry is at or before now. */
static int
count_expired(struct store *s, struct tok_page *p, uint64_t *n)
{
	MDB_cursor *c;
	MDB_val k, v;
	char key[IDX_KEY_MAX];
	uint64_t be;
	int rc;

	*n = 0;
	k.mv_size = set_key(key, p->set, p->sl, 0, "000000000000000000000000000000000000");
	k.mv_data = key;
	if ((rc = ix_cursor(s, IDB_EXP, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != p->sl + 8 + UUID_LEN || memcmp(k.mv_data, p->set, p->sl))
			break;
		memcpy(&be, (char *)k.mv_data + p->sl, 8);
		if ((int64_t)be64toh(be) > p->now)
			break;
		(*n)++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* 1 if the index entry (value = big-endian expires_at) is expired at now. */
static int
entry_expired(const MDB_val *v, int64_t now)
{
	uint64_t be;
	int64_t exp;

	if (v->mv_size != 8)
		return 0;
	memcpy(&be, v->mv_data, 8);
	exp = (int64_t)be64toh(be);
	return exp != 0 && exp <= now;
}

/* Tokens of the set p->set counted for a listing (held and unexpired, or all). */
static int
set_total(struct store *s, struct tok_page *p, uint64_t *total)
{
	uint64_t expired = 0;
	int rc;

	*total = count_get(s, p->set, p->sl);
	if (p->held_only && (rc = count_expired(s, p, &expired)) != 0)
		return rc;
	*total = *total > expired ? *total - expired : 0;
	return 0;
}

static int
tx_token_list(struct store *s, MDB_txn *txn, void *arg)
{
	struct tok_page *p = arg;
	MDB_cursor *c;
	MDB_val k = { p->sl, p->set }, v;
	char id[UUID_LEN + 1];
	uint64_t skip = 0;
	int rc;

	if ((rc = set_total(s, p, &p->total)) != 0)
		return rc;
	if ((p->v = calloc(p->limit ? p->limit : 1, sizeof(*p->v))) == NULL)
		return ENOMEM;
	if ((rc = ix_cursor(s, IDB_IDX, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && p->n < p->limit;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != p->sl + 8 + UUID_LEN || memcmp(k.mv_data, p->set, p->sl))
			break;
		if (p->held_only && entry_expired(&v, p->now))
			continue;
		if (skip++ < p->offset)
			continue;
		memcpy(id, (char *)k.mv_data + p->sl + 8, UUID_LEN);
		id[UUID_LEN] = '\0';
		/* not found: written after txn began (store_index.c) */
		if ((rc = load_token(s, txn, id, &p->v[p->n])) == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			break;
		p->n++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int
lmdb_token_list(struct store *s, enum tokset set, const char *key,
    int include_inactive, int64_t now, uint64_t offset, uint32_t limit,
    struct token **out, size_t *n, uint64_t *total)
{
	struct tok_page p;
	struct token probe;
	int rc;

	memset(&p, 0, sizeof(p));
	memset(&probe, 0, sizeof(probe));
	*out = NULL;
	*n = 0;
	*total = 0;
	if (set == TOKSET_OWNER && (key == NULL || strlen(key) != UUID_LEN))
		return STORE_OK;
	if (set == TOKSET_TEAM && (key == NULL || !util_is_team_id(key)))
		return STORE_OK;
	if (set == TOKSET_OWNER)
		memcpy(probe.owner_id, key, UUID_LEN);
	else if (set == TOKSET_TEAM)
		memcpy(probe.team_id, key, TEAMID_LEN);
	p.held_only = !include_inactive;
	p.sl = set_name(&probe, (int)set, p.held_only, p.set);
	p.now = now;
	p.offset = offset;
	p.limit = limit;
	if ((rc = store_read_index(s, tx_token_list, &p)) != 0) {
		tokens_free(p.v, p.n);
		return rc;
	}
	uses_fill_last(s, p.v, p.n);
	*out = p.v;
	*n = p.n;
	*total = p.total;
	return STORE_OK;
}

/* --- own and team tokens together (GET /tokens) --- */

struct keyvec {
	char	(*v)[SUFFIX_LEN];
	size_t	  n, cap;
};

struct tok_visible {
	struct tok_page		 page;          /* held_only, now, offset, limit, out */
	const char		*owner;
	const struct strlist	*teams;
	const struct strlist	*scope;         /* NULL: every own token */
	struct strlist		 outside;       /* teams of own tokens not in scope */
	struct keyvec		 kv;
};

/*
 * 1 if the own token of index suffix sfx belongs to a team of
 * w->outside: its entry is in that team's owner set ("P"/"p").
 */
static int
own_outside(struct store *s, const struct tok_visible *w, const char *sfx)
{
	char key[SET_MAX + SUFFIX_LEN];
	MDB_val v;
	size_t i;

	key[0] = w->page.held_only ? 'p' : 'P';
	memcpy(key + 1, w->owner, UUID_LEN);
	memcpy(key + SET_MAX, sfx, SUFFIX_LEN);
	for (i = 0; i < w->outside.n; i++) {
		memcpy(key + 1 + UUID_LEN, w->outside.v[i], TEAMID_LEN);
		if (ix_get(s, IDB_IDX, key, sizeof(key), &v) == 0)
			return 1;
	}
	return 0;
}

/*
 * Append the first `want` listed index suffixes of set w->page.set to
 * w->kv; with own, not those of own tokens of teams outside the scope.
 */
static int
collect(struct store *s, struct tok_visible *w, uint64_t want, int own)
{
	struct tok_page *p = &w->page;
	struct keyvec *kv = &w->kv;
	MDB_cursor *c;
	MDB_val k = { p->sl, p->set }, v;
	uint64_t got = 0;
	int rc;

	if ((rc = ix_cursor(s, IDB_IDX, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0 && got < want;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != p->sl + SUFFIX_LEN || memcmp(k.mv_data, p->set, p->sl))
			break;
		if (p->held_only && entry_expired(&v, p->now))
			continue;
		if (own && w->outside.n > 0 &&
		    own_outside(s, w, (char *)k.mv_data + p->sl))
			continue;
		if (kv->n == kv->cap) {
			size_t ncap = kv->cap ? kv->cap * 2 : 64;
			void *nv = reallocarray(kv->v, ncap, SUFFIX_LEN);

			if (nv == NULL) {
				rc = ENOMEM;
				break;
			}
			kv->v = nv;
			kv->cap = ncap;
		}
		memcpy(kv->v[kv->n++], (char *)k.mv_data + p->sl, SUFFIX_LEN);
		got++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
suffix_cmp(const void *a, const void *b)
{
	return memcmp(a, b, SUFFIX_LEN);
}

/* Add set i of the probe token (owner and/or team filled) to the union. */
static int
visit_set(struct store *s, struct tok_visible *w, const struct token *probe,
    int i, int sign)
{
	struct tok_page *p = &w->page;
	uint64_t n;
	int rc;

	p->sl = set_name(probe, i, p->held_only, p->set);
	if ((rc = set_total(s, p, &n)) != 0)
		return rc;
	p->total = sign > 0 ? p->total + n : (p->total > n ? p->total - n : 0);
	return sign > 0 ? collect(s, w, p->offset + p->limit, i == 1) : 0;
}

/*
 * The teams outside w->scope that hold tokens of w->owner, into
 * w->outside: the counters of its owner-in-team sets, "P<owner><team>".
 */
static int
find_outside(struct store *s, struct tok_visible *w)
{
	char prefix[1 + UUID_LEN], team[TEAMID_LEN + 1];
	MDB_val k = { sizeof(prefix), prefix }, v;
	MDB_cursor *c;
	int rc;

	prefix[0] = 'P';
	memcpy(prefix + 1, w->owner, UUID_LEN);
	if ((rc = ix_cursor(s, IDB_CNT, &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size < sizeof(prefix) ||
		    memcmp(k.mv_data, prefix, sizeof(prefix)) != 0)
			break;
		if (k.mv_size != SET_MAX)
			continue;
		memcpy(team, (char *)k.mv_data + sizeof(prefix), TEAMID_LEN);
		team[TEAMID_LEN] = '\0';
		if (!strlist_has(w->scope, team) && strlist_add(&w->outside, team) == -1) {
			rc = ENOMEM;
			break;
		}
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The own tokens of w->owner in the union, less those of teams outside the scope. */
static int
visit_own(struct store *s, struct tok_visible *w)
{
	struct token probe;
	size_t i;
	int rc;

	memset(&probe, 0, sizeof(probe));
	memcpy(probe.owner_id, w->owner, UUID_LEN);
	if ((w->scope != NULL && (rc = find_outside(s, w)) != 0) ||
	    (rc = visit_set(s, w, &probe, 1, 1)) != 0)
		return rc;
	for (i = 0; i < w->outside.n; i++) {
		memcpy(probe.team_id, w->outside.v[i], TEAMID_LEN);
		if ((rc = visit_set(s, w, &probe, 3, -1)) != 0)
			return rc;
	}
	return 0;
}

static int
tx_token_visible(struct store *s, MDB_txn *txn, void *arg)
{
	struct tok_visible *w = arg;
	struct tok_page *p = &w->page;
	struct token probe;
	char id[UUID_LEN + 1];
	size_t i, j, n;
	int rc;

	if ((rc = visit_own(s, w)) != 0)
		return rc;
	memset(&probe, 0, sizeof(probe));
	memcpy(probe.owner_id, w->owner, UUID_LEN);
	for (i = 0; i < w->teams->n; i++) {
		if (!util_is_team_id(w->teams->v[i]))
			continue;
		memcpy(probe.team_id, w->teams->v[i], TEAMID_LEN);
		if ((rc = visit_set(s, w, &probe, 2, 1)) != 0 ||
		    (rc = visit_set(s, w, &probe, 3, -1)) != 0)
			return rc;
	}
	if (w->kv.n > 1)
		qsort(w->kv.v, w->kv.n, SUFFIX_LEN, suffix_cmp);
	for (i = j = 0; i < w->kv.n; i++)       /* a token in two sets counts once */
		if (j == 0 || memcmp(w->kv.v[j - 1], w->kv.v[i], SUFFIX_LEN) != 0)
			memmove(w->kv.v[j++], w->kv.v[i], SUFFIX_LEN);
	if ((p->v = calloc(p->limit ? p->limit : 1, sizeof(*p->v))) == NULL)
		return ENOMEM;
	for (n = p->offset; n < j && p->n < p->limit; n++) {
		memcpy(id, w->kv.v[n] + 8, UUID_LEN);
		id[UUID_LEN] = '\0';
		/* not found: written after txn began (store_index.c) */
		if ((rc = load_token(s, txn, id, &p->v[p->n])) == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			return rc;
		p->n++;
	}
	return 0;
}

int
lmdb_token_list_visible(struct store *s, const char *owner_id,
    const struct strlist *teams, const struct strlist *scope, int include_inactive,
    int64_t now, uint64_t offset, uint32_t limit, struct token **out, size_t *n,
    uint64_t *total)
{
	struct tok_visible w;
	int rc;

	memset(&w, 0, sizeof(w));
	*out = NULL;
	*n = 0;
	*total = 0;
	if (strlen(owner_id) != UUID_LEN)
		return STORE_OK;
	w.owner = owner_id;
	w.teams = teams;
	w.scope = scope;
	w.page.held_only = !include_inactive;
	w.page.now = now;
	w.page.offset = offset;
	w.page.limit = limit;
	rc = store_read_index(s, tx_token_visible, &w);
	free(w.kv.v);
	strlist_free(&w.outside);
	if (rc != 0) {
		tokens_free(w.page.v, w.page.n);
		return rc;
	}
	uses_fill_last(s, w.page.v, w.page.n);
	*out = w.page.v;
	*n = w.page.n;
	*total = w.page.total;
	return STORE_OK;
}
