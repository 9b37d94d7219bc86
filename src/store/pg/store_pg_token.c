/*
 * store_pg_token.c - token records in PostgreSQL.
 *
 * The uniqueness of held names (active and not revoked, per owner and
 * team) is the partial unique index tokens_held_name: racing creates on
 * any number of hosts get one winner, the others a unique violation,
 * which is STORE_EXISTS. Listings are one statement each, the total and
 * the page from the same snapshot, newest first (created_at desc, id).
 * last_used comes from token_last, kept by the uses (store_pg_usage.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg_int.h"
#include "store_pg_fn.h"

#define TOK_COLS "t.id, t.jti, t.hash, t.owner_id, t.owner_email, t.team_id, " \
	"t.name, t.description, t.created_by, t.created_at, t.expires_at, " \
	"t.is_active, t.is_revoked, t.revoked_at, t.revoked_by, " \
	"t.revocation_reason, t.scope, t.tags"
#define TOK_NCOLS 18

/* Parse stored JSON of the type wanted; NULL if it is not. */
static struct json_object *
json_col(const PGresult *r, int row, int col, json_type type)
{
	struct json_object *o;

	if (PQgetisnull(r, row, col))
		return NULL;
	o = json_tokener_parse(PQgetvalue(r, row, col));
	if (o != NULL && !json_object_is_type(o, type)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

/* Fill t from the TOK_COLS starting at col (and last_used after them when
 * with_last). Members are new copies owned by t. */
static int
token_row(const PGresult *r, int row, int col, int with_last, struct token *t)
{
	memset(t, 0, sizeof(*t));
	pg_cpy(r, row, col, t->id, sizeof(t->id));
	pg_cpy(r, row, col + 1, t->jti, sizeof(t->jti));
	pg_cpy(r, row, col + 2, t->hash, sizeof(t->hash));
	pg_cpy(r, row, col + 3, t->owner_id, sizeof(t->owner_id));
	pg_cpy(r, row, col + 4, t->owner_email, sizeof(t->owner_email));
	pg_cpy(r, row, col + 5, t->team_id, sizeof(t->team_id));
	t->name = pg_dup(r, row, col + 6);
	t->description = pg_dup(r, row, col + 7);
	pg_cpy(r, row, col + 8, t->created_by, sizeof(t->created_by));
	t->created_at = pg_int(r, row, col + 9);
	t->expires_at = pg_int(r, row, col + 10);
	t->is_active = pg_bool(r, row, col + 11);
	t->is_revoked = pg_bool(r, row, col + 12);
	t->revoked_at = pg_int(r, row, col + 13);
	t->revoked_by = pg_dup(r, row, col + 14);
	t->revocation_reason = pg_dup(r, row, col + 15);
	t->scope = json_col(r, row, col + 16, json_type_object);
	t->tags = json_col(r, row, col + 17, json_type_array);
	if (with_last)
		t->last_used = pg_int(r, row, col + TOK_NCOLS);
	if (t->name == NULL || t->scope == NULL || t->tags == NULL) {
		token_free(t);
		log_error("store: token %s: unreadable record", t->id);
		return STORE_IO;
	}
	return 0;
}

static const char *
json_text(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
}

static int
tx_token_add(struct store *s, void *arg)
{
	const struct token *t = arg;
	struct pg_args a;

	pga_init(&a);
	pga_str(&a, t->id);
	pga_str(&a, t->jti);
	pga_str(&a, t->hash);
	pga_str(&a, t->owner_id);
	pga_str(&a, t->owner_email);
	pga_str(&a, t->team_id);
	pga_str(&a, t->name);
	pga_str(&a, t->description);
	pga_str(&a, t->created_by);
	pga_int(&a, t->created_at);
	pga_int(&a, t->expires_at);
	pga_bool(&a, t->is_active);
	pga_bool(&a, t->is_revoked);
	pga_int(&a, t->revoked_at);
	pga_str(&a, t->revoked_by);
	pga_str(&a, t->revocation_reason);
	pga_str(&a, json_text(t->scope));
	pga_str(&a, json_text(t->tags));
	return pg_do(s, "INSERT INTO tokens (id, jti, hash, owner_id, owner_email, "
	    "team_id, name, description, created_by, created_at, expires_at, "
	    "is_active, is_revoked, revoked_at, revoked_by, revocation_reason, "
	    "scope, tags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
	    "$12, $13, $14, $15, $16, $17, $18)", &a);
}

int
pg_token_add(struct store *s, const struct token *t, const struct audit_event *ev)
{
	if (strlen(t->id) != UUID_LEN || strlen(t->owner_id) != UUID_LEN ||
	    t->jti[0] == '\0' || t->name == NULL || t->scope == NULL ||
	    t->tags == NULL)
		return STORE_INVALID;
	if (t->team_id[0] != '\0' && !util_is_team_id(t->team_id))
		return STORE_INVALID;
	return pg_write(s, tx_token_add, (void *)(uintptr_t)t, ev);
}

struct tok_get {
	const char	*sql;
	const char	*key;
	int		 with_last;
	struct token	*out;
};

static int
tx_token_get(struct store *s, void *arg)
{
	struct tok_get *g = arg;
	struct pg_args a;
	PGresult *r;
	int rc;

	pga_init(&a);
	pga_str(&a, g->key);
	if ((r = pg_exec(s, g->sql, &a, &rc)) == NULL)
		return rc;
	if (PQntuples(r) == 1)
		rc = token_row(r, 0, 0, g->with_last, g->out);
	else
		rc = STORE_NOTFOUND;
	PQclear(r);
	return rc;
}

int
pg_token_get(struct store *s, const char *id, struct token *out)
{
	struct tok_get g = { "SELECT " TOK_COLS ", coalesce(l.last_used, 0) "
	    "FROM tokens t LEFT JOIN token_last l ON l.token_id = t.id "
	    "WHERE t.id = $1", id, 1, out };

	memset(out, 0, sizeof(*out));
	if (strlen(id) != UUID_LEN)
		return STORE_NOTFOUND;
	pgu_flush(s);                   /* this process's uses first */
	return pg_read(s, tx_token_get, &g);
}

/* As the LMDB store: the check path needs no last_used. */
int
pg_token_by_jti(struct store *s, const char *jti, struct token *out)
{
	struct tok_get g = { "SELECT " TOK_COLS " FROM tokens t WHERE t.jti = $1",
	    jti, 0, out };

	memset(out, 0, sizeof(*out));
	if (*jti == '\0' || strlen(jti) > 256)
		return STORE_NOTFOUND;
	return pg_read(s, tx_token_get, &g);
}

struct tok_auth {
	const char	*jti;
	PGresult	*r;             /* the row read, 0 or 1 */
};

/* The token of a jti, its owner and the owner's role: one statement. */
static int
tx_token_auth(struct store *s, void *arg)
{
	struct tok_auth *g = arg;
	struct pg_args a;
	int rc;

	pga_init(&a);
	pga_str(&a, g->jti);
	g->r = pg_exec_prepared(s, "token_auth", "SELECT " TOK_COLS ", "
	    "u.id, u.email, u.full_name, u.pwhash, u.is_admin, u.is_active, "
	    "u.created_at, m.role FROM tokens t "
	    "LEFT JOIN users u ON u.id = t.owner_id "
	    "LEFT JOIN members m ON m.team_id = t.team_id AND "
	    "m.user_id = t.owner_id WHERE t.jti = $1", &a, &s->auth_gen, &rc);
	return rc;
}

/* The record of tx_token_auth's row. */
static int
auth_row(const PGresult *r, struct token_auth *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	out->team_role = ROLE_NONE;
	if (PQntuples(r) != 1)
		return STORE_NOTFOUND;
	if ((rc = token_row(r, 0, 0, 0, &out->tok)) != 0)
		return rc;
	if (!PQgetisnull(r, 0, TOK_NCOLS)) {
		pg_user_row(r, 0, TOK_NCOLS, &out->owner);
		out->have_owner = 1;
		if (!PQgetisnull(r, 0, TOK_NCOLS + USER_NCOLS))
			out->team_role = (int)pg_int(r, 0,
			    TOK_NCOLS + USER_NCOLS);
	}
	return STORE_OK;
}

/*
 * From the worker's cache while the change feed says nothing changed
 * (store_pg_cache.c); else one statement, hence one snapshot, without a
 * transaction around it, prepared once per connection: a check pays no
 * parsing or planning. A row read is cached only if the feed was polled
 * just before.
 */
int
pg_token_auth(struct store *s, const char *jti, struct token_auth *out)
{
	struct tok_auth g = { jti, NULL };
	PGresult *hit;
	int rc, cache;

	memset(out, 0, sizeof(*out));
	if (*jti == '\0' || strlen(jti) > 256)
		return STORE_NOTFOUND;
	cache = pgc_usable(s);
	if (cache && (hit = pgc_get(s, jti, 1)) != NULL)
		return auth_row(hit, out);
	if ((rc = pg_read(s, tx_token_auth, &g)) != 0)
		return rc;
	rc = auth_row(g.r, out);
	if (cache && rc == STORE_OK)
		pgc_put(s, jti, g.r);
	else
		PQclear(g.r);
	return rc;
}

struct tok_edit {
	const char	*id;
	token_edit_fn	 fn;
	void		*arg;
	struct token	*out;
	int		 fn_rc;         /* the callback's own refusal */
};

/* Read the record locked, let fn change it, write what fn may change. */
static int
tx_token_edit(struct store *s, void *arg)
{
	struct tok_edit *e = arg;
	struct tok_get g = { "SELECT " TOK_COLS " FROM tokens t WHERE t.id = $1 "
	    "FOR UPDATE", e->id, 0, NULL };
	struct token cur;
	struct pg_args a;
	int rc;

	g.out = &cur;
	if (strlen(e->id) != UUID_LEN)
		return STORE_NOTFOUND;
	if ((rc = tx_token_get(s, &g)) != 0)
		return rc;
	if ((e->fn_rc = e->fn(&cur, e->arg)) != 0) {
		token_free(&cur);
		return e->fn_rc;
	}
	pga_init(&a);
	pga_str(&a, cur.id);
	pga_str(&a, cur.name);
	pga_str(&a, cur.description);
	pga_str(&a, json_text(cur.scope));
	pga_str(&a, json_text(cur.tags));
	pga_bool(&a, cur.is_active);
	pga_int(&a, cur.expires_at);
	pga_bool(&a, cur.is_revoked);
	pga_int(&a, cur.revoked_at);
	pga_str(&a, cur.revoked_by);
	pga_str(&a, cur.revocation_reason);
	rc = pg_do(s, "UPDATE tokens SET name = $2, description = $3, scope = $4, "
	    "tags = $5, is_active = $6, expires_at = $7, is_revoked = $8, "
	    "revoked_at = $9, revoked_by = $10, revocation_reason = $11 "
	    "WHERE id = $1", &a);
	if (rc == 0 && e->out != NULL) {
		token_free(e->out);     /* a retry */
		*e->out = cur;
	} else
		token_free(&cur);
	return rc;
}

int
pg_token_edit(struct store *s, const char *id, token_edit_fn fn, void *arg,
    struct token *out, const struct audit_event *ev)
{
	struct tok_edit e = { id, fn, arg, out, 0 };
	int rc;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	rc = pg_write(s, tx_token_edit, &e, ev);
	if (rc != 0 && out != NULL)
		token_free(out);
	else if (out != NULL && pg_use_last(s, out->id, &out->last_used) != 0)
		out->last_used = 0;
	return e.fn_rc != 0 ? e.fn_rc : rc;
}

struct tok_rotate {
	struct tok_edit		 edit;
	const struct token	*newt;
};

static int
tx_token_rotate(struct store *s, void *arg)
{
	struct tok_rotate *r = arg;
	int rc;

	if ((rc = tx_token_edit(s, &r->edit)) != 0)
		return rc;
	return tx_token_add(s, (void *)(uintptr_t)r->newt);
}

int
pg_token_rotate(struct store *s, const char *old_id, token_edit_fn fn,
    void *arg, const struct token *newt, const struct audit_event *ev)
{
	struct tok_rotate r = { { old_id, fn, arg, NULL, 0 }, newt };
	int rc;

	if (strlen(newt->id) != UUID_LEN || newt->name == NULL ||
	    newt->scope == NULL || newt->tags == NULL)
		return STORE_INVALID;
	rc = pg_write(s, tx_token_rotate, &r, ev);
	return r.edit.fn_rc != 0 ? r.edit.fn_rc : rc;
}

/* --- listing --- */

/*
 * Which tokens a listing reads: $1 a key, $2 a text[] of teams, $7 a
 * text[] of the teams a narrowed session keeps of the owner's own tokens
 * (with the team-less ones); the unused ones are NULL and fold away in
 * the plan made with the values.
 */
static const char *const set_where[] = {
	"($1::text IS NULL AND $2::text[] IS NULL AND $7::text[] IS NULL)",
	"(t.owner_id = $1 AND $2::text[] IS NULL AND $7::text[] IS NULL)",
	"(t.team_id = $1 AND $2::text[] IS NULL AND $7::text[] IS NULL)",
	"((t.owner_id = $1 AND ($7::text[] IS NULL OR t.team_id = '' OR "
	    "t.team_id = ANY($7::text[]))) OR t.team_id = ANY($2::text[]))"
};
#define SET_VISIBLE 3

struct tok_page {
	int		 set;
	const char	*key;
	const char	*teams;         /* an array literal of team ids */
	const char	*scope;         /* the same, or NULL: not narrowed */
	int		 include_inactive;
	int64_t		 now;
	uint64_t	 offset;
	uint32_t	 limit;
	struct token	*v;
	size_t		 n;
	uint64_t	 total;
};

static int
tx_token_list(struct store *s, void *arg)
{
	struct tok_page *p = arg;
	struct pg_args a;
	PGresult *r;
	char sql[1536];
	int i, rc = 0;

	snprintf(sql, sizeof(sql), "WITH s AS (SELECT * FROM tokens t WHERE %s "
	    "AND ($3::boolean OR (t.is_active AND NOT t.is_revoked AND "
	    "(t.expires_at = 0 OR t.expires_at > $4)))), "
	    "c AS (SELECT count(*) AS n FROM s) "
	    "SELECT c.n, p.* FROM c LEFT JOIN LATERAL (SELECT " TOK_COLS ", "
	    "coalesce(l.last_used, 0) AS last_used FROM s t LEFT JOIN token_last l "
	    "ON l.token_id = t.id ORDER BY t.created_at DESC, t.id "
	    "LIMIT $5 OFFSET $6) p ON true ORDER BY p.created_at DESC, p.id",
	    set_where[p->set]);
	pga_init(&a);
	pga_str(&a, p->key);
	pga_str(&a, p->teams);
	pga_bool(&a, p->include_inactive);
	pga_int(&a, p->now);
	pga_int(&a, p->limit);
	pga_int(&a, (int64_t)(p->offset > INT64_MAX ? INT64_MAX : p->offset));
	pga_str(&a, p->scope);
	if ((r = pg_exec(s, sql, &a, &rc)) == NULL)
		return rc;
	tokens_free(p->v, p->n);        /* a retry */
	p->n = 0;
	if ((p->v = calloc(PQntuples(r) + 1, sizeof(*p->v))) == NULL) {
		PQclear(r);
		return STORE_NOMEM;
	}
	for (i = 0; i < PQntuples(r) && rc == 0; i++) {
		p->total = (uint64_t)pg_int(r, i, 0);
		if (!PQgetisnull(r, i, 1) &&
		    (rc = token_row(r, i, 1, 1, &p->v[p->n])) == 0)
			p->n++;
	}
	PQclear(r);
	return rc;
}

static int
token_page(struct store *s, struct tok_page *p, struct token **out, size_t *n,
    uint64_t *total)
{
	int rc;

	pgu_flush(s);                   /* this process's uses first */
	if ((rc = pg_read(s, tx_token_list, p)) != 0) {
		tokens_free(p->v, p->n);
		return rc;
	}
	*out = p->v;
	*n = p->n;
	*total = p->total;
	return STORE_OK;
}

int
pg_token_list(struct store *s, enum tokset set, const char *key,
    int include_inactive, int64_t now, uint64_t offset, uint32_t limit,
    struct token **out, size_t *n, uint64_t *total)
{
	struct tok_page p = { (int)set, NULL, NULL, NULL, include_inactive,
	    now, offset, limit, NULL, 0, 0 };

	*out = NULL;
	*n = 0;
	*total = 0;
	if (set == TOKSET_OWNER && (key == NULL || strlen(key) != UUID_LEN))
		return STORE_OK;
	if (set == TOKSET_TEAM && (key == NULL || !util_is_team_id(key)))
		return STORE_OK;
	if (set != TOKSET_ALL)
		p.key = key;
	return token_page(s, &p, out, n, total);
}

/* An array literal of the team ids of l (malformed ones left out: 32 hex
 * need no quoting). NULL when out of memory. */
static char *
team_array(const struct strlist *l)
{
	char *arr, *w;
	size_t i;

	if ((arr = w = malloc(2 + l->n * (TEAMID_LEN + 1) + 1)) == NULL)
		return NULL;
	*w++ = '{';
	for (i = 0; i < l->n; i++) {
		if (!util_is_team_id(l->v[i]))
			continue;
		if (w[-1] != '{')
			*w++ = ',';
		memcpy(w, l->v[i], TEAMID_LEN);
		w += TEAMID_LEN;
	}
	*w++ = '}';
	*w = '\0';
	return arr;
}

int
pg_token_list_visible(struct store *s, const char *owner_id,
    const struct strlist *teams, const struct strlist *scope,
    int include_inactive, int64_t now, uint64_t offset, uint32_t limit,
    struct token **out, size_t *n, uint64_t *total)
{
	struct tok_page p = { SET_VISIBLE, owner_id, NULL, NULL,
	    include_inactive, now, offset, limit, NULL, 0, 0 };
	char *arr, *sarr = NULL;
	int rc;

	*out = NULL;
	*n = 0;
	*total = 0;
	if (strlen(owner_id) != UUID_LEN)
		return STORE_OK;
	if ((arr = team_array(teams)) == NULL ||
	    (scope != NULL && (sarr = team_array(scope)) == NULL)) {
		free(arr);
		return STORE_NOMEM;
	}
	p.teams = arr;
	p.scope = sarr;
	rc = token_page(s, &p, out, n, total);
	free(arr);
	free(sarr);
	return rc;
}
