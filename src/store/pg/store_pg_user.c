/*
 * store_pg_user.c - users, session revocations, login failures and the
 * audit trail in PostgreSQL, with the semantics of store.c and
 * store_audit.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_pg_int.h"
#include "store_pg_fn.h"

/* --- users --- */

void
pg_user_row(const PGresult *r, int row, int col, struct user *u)
{
	memset(u, 0, sizeof(*u));
	pg_cpy(r, row, col, u->id, sizeof(u->id));
	pg_cpy(r, row, col + 1, u->email, sizeof(u->email));
	pg_cpy(r, row, col + 2, u->full_name, sizeof(u->full_name));
	pg_cpy(r, row, col + 3, u->pwhash, sizeof(u->pwhash));
	u->is_admin = pg_bool(r, row, col + 4);
	u->is_active = pg_bool(r, row, col + 5);
	u->created_at = pg_int(r, row, col + 6);
}

static int
tx_user_add(struct store *s, void *arg)
{
	const struct user *u = arg;
	struct pg_args a;

	pga_init(&a);
	pga_str(&a, u->id);
	pga_str(&a, u->email);
	pga_str(&a, u->full_name);
	pga_str(&a, u->pwhash);
	pga_bool(&a, u->is_admin);
	pga_bool(&a, u->is_active);
	pga_int(&a, u->created_at);
	return pg_do(s, "INSERT INTO users (" USER_COLS ") VALUES "
	    "($1, $2, $3, $4, $5, $6, $7)", &a);
}

int
pg_user_add(struct store *s, const struct user *u, const struct audit_event *ev)
{
	if (strlen(u->id) != UUID_LEN)
		return STORE_INVALID;
	return pg_write(s, tx_user_add, (void *)(uintptr_t)u, ev);
}

/* The e-mail cannot change: it is not written. */
static int
tx_user_put(struct store *s, void *arg)
{
	const struct user *u = arg;
	struct pg_args a;
	PGresult *r;
	int rc;

	pga_init(&a);
	pga_str(&a, u->id);
	pga_str(&a, u->full_name);
	pga_str(&a, u->pwhash);
	pga_bool(&a, u->is_admin);
	pga_bool(&a, u->is_active);
	pga_int(&a, u->created_at);
	if ((r = pg_exec(s, "UPDATE users SET full_name = $2, pwhash = $3, "
	    "is_admin = $4, is_active = $5, created_at = $6 WHERE id = $1",
	    &a, &rc)) == NULL)
		return rc;
	rc = strcmp(PQcmdTuples(r), "1") == 0 ? 0 : STORE_NOTFOUND;
	PQclear(r);
	return rc;
}

int
pg_user_put(struct store *s, const struct user *u, const struct audit_event *ev)
{
	return pg_write(s, tx_user_put, (void *)(uintptr_t)u, ev);
}

struct user_get {
	const char	*sql;
	const char	*key;
	struct user	*out;
};

static int
tx_user_get(struct store *s, void *arg)
{
	struct user_get *g = arg;
	struct pg_args a;
	PGresult *r;
	int rc;

	pga_init(&a);
	pga_str(&a, g->key);
	if ((r = pg_exec(s, g->sql, &a, &rc)) == NULL)
		return rc;
	if (PQntuples(r) == 1)
		pg_user_row(r, 0, 0, g->out);
	else
		rc = STORE_NOTFOUND;
	PQclear(r);
	return rc;
}

int
pg_user_get(struct store *s, const char *id, struct user *out)
{
	struct user_get g = { "SELECT " USER_COLS " FROM users WHERE id = $1",
	    id, out };

	if (strlen(id) != UUID_LEN)
		return STORE_NOTFOUND;
	return pg_read(s, tx_user_get, &g);
}

int
pg_user_by_email(struct store *s, const char *email, struct user *out)
{
	char lower[EMAIL_MAX + 1];
	struct user_get g = { "SELECT " USER_COLS " FROM users WHERE email = $1",
	    lower, out };

	if (strlen(email) > EMAIL_MAX)
		return STORE_NOTFOUND;
	util_lower(email, lower, sizeof(lower));
	return pg_read(s, tx_user_get, &g);
}

struct user_page {
	uint64_t	 offset;
	uint32_t	 limit;
	struct user	*v;
	size_t		 n;
	uint64_t	 total;
};

/* One statement: the total and the page from the same snapshot. */
static int
tx_user_list(struct store *s, void *arg)
{
	struct user_page *p = arg;
	struct pg_args a;
	PGresult *r;
	int i, rc;

	pga_init(&a);
	pga_int(&a, p->limit);
	pga_int(&a, (int64_t)(p->offset > INT64_MAX ? INT64_MAX : p->offset));
	if ((r = pg_exec(s, "WITH c AS (SELECT count(*) AS n FROM users) "
	    "SELECT c.n, u.* FROM c LEFT JOIN LATERAL (SELECT " USER_COLS
	    " FROM users ORDER BY email LIMIT $1 OFFSET $2) u ON true "
	    "ORDER BY u.email", &a, &rc)) == NULL)
		return rc;
	free(p->v);
	p->n = 0;
	if ((p->v = calloc(PQntuples(r) + 1, sizeof(*p->v))) == NULL) {
		PQclear(r);
		return STORE_NOMEM;
	}
	for (i = 0; i < PQntuples(r); i++) {
		p->total = (uint64_t)pg_int(r, i, 0);
		if (!PQgetisnull(r, i, 1))
			pg_user_row(r, i, 1, &p->v[p->n++]);
	}
	PQclear(r);
	return 0;
}

int
pg_user_list(struct store *s, uint64_t offset, uint32_t limit,
    struct user **out, size_t *n, uint64_t *total)
{
	struct user_page p = { offset, limit, NULL, 0, 0 };
	int rc = pg_read(s, tx_user_list, &p);

	if (rc != 0) {
		free(p.v);
		p.v = NULL;
		p.n = 0;
	}
	*out = p.v;
	*n = p.n;
	*total = p.total;
	return rc;
}

/* --- session revocations --- */

#define JTI_KEEP_MS	86400000LL      /* kept this long after the session expired */

struct jti_arg {
	const char	*jti;
	int64_t		 exp;
	int		 found;
};

/*
 * The revocation, and the end of others whose session expired more than
 * JTI_KEEP_MS ago: the signature check refuses an expired session before
 * its jti is looked up, so they answer nothing any more (LMDB keeps them).
 */
static int
tx_jti_revoke(struct store *s, void *arg)
{
	struct jti_arg *j = arg;
	struct pg_args a;
	int rc;

	pga_init(&a);
	pga_str(&a, j->jti);
	pga_int(&a, j->exp);
	if ((rc = pg_do(s, "INSERT INTO jti_revoked VALUES ($1, $2) ON CONFLICT "
	    "(jti) DO UPDATE SET exp_ms = EXCLUDED.exp_ms", &a)) != 0)
		return rc;
	pga_init(&a);
	pga_str(&a, j->jti);
	pga_int(&a, util_now_ms() - JTI_KEEP_MS);
	return pg_do(s, "DELETE FROM jti_revoked WHERE jti <> $1 AND exp_ms > 0 "
	    "AND exp_ms < $2", &a);
}

int
pg_jti_revoke(struct store *s, const char *jti, int64_t exp_ms)
{
	struct jti_arg j = { jti, exp_ms, 0 };

	if (*jti == '\0' || strlen(jti) > 256)
		return STORE_INVALID;
	return pg_write(s, tx_jti_revoke, &j, NULL);
}

static int
tx_jti_get(struct store *s, void *arg)
{
	struct jti_arg *j = arg;
	struct pg_args a;
	PGresult *r;
	int rc;

	pga_init(&a);
	pga_str(&a, j->jti);
	if ((r = pg_exec(s, "SELECT 1 FROM jti_revoked WHERE jti = $1", &a,
	    &rc)) == NULL)
		return rc;
	j->found = PQntuples(r) > 0;
	PQclear(r);
	return 0;
}

int
pg_jti_revoked(struct store *s, const char *jti)
{
	struct jti_arg j = { jti, 0, 0 };
	int rc;

	if (*jti == '\0' || strlen(jti) > 256)
		return 0;
	if ((rc = pg_read(s, tx_jti_get, &j)) != 0)
		return rc;
	return j.found;
}

/* --- login failures --- */

struct login_arg {
	char		 email[EMAIL_MAX + 1];
	int64_t		 now, window;
	unsigned	 max;
	unsigned	 count;
	int64_t		 last;
	int		 locked;
};

/* Prepare a login_arg for email; -1 if the address cannot be a key. */
static int
login_arg(struct login_arg *a, const char *email)
{
	memset(a, 0, sizeof(*a));
	if (*email == '\0' || strlen(email) > EMAIL_MAX)
		return -1;
	util_lower(email, a->email, sizeof(a->email));
	return 0;
}

static int
tx_login_get(struct store *s, void *arg)
{
	struct login_arg *l = arg;
	struct pg_args a;
	PGresult *r;
	int rc;

	pga_init(&a);
	pga_str(&a, l->email);
	if ((r = pg_exec(s, "SELECT count, last_ms FROM login_failures "
	    "WHERE email = $1", &a, &rc)) == NULL)
		return rc;
	if (PQntuples(r) == 1) {
		l->count = (unsigned)pg_int(r, 0, 0);
		l->last = pg_int(r, 0, 1);
	}
	PQclear(r);
	return 0;
}

int
pg_login_get(struct store *s, const char *email, unsigned *count, int64_t *last)
{
	struct login_arg l;
	int rc;

	*count = 0;
	*last = 0;
	if (login_arg(&l, email) == -1)
		return 0;
	if ((rc = pg_read(s, tx_login_get, &l)) == 0) {
		*count = l.count;
		*last = l.last;
	}
	return rc;
}

static int
tx_login_attempt(struct store *s, void *arg)
{
	struct login_arg *l = arg;
	struct pg_args a;
	PGresult *r;
	int rc;

	pga_init(&a);
	pga_str(&a, l->email);
	pga_int(&a, l->now);
	pga_int(&a, l->window);
	pga_int(&a, l->max);
	if ((r = pg_exec(s, "SELECT o_count, o_last, o_locked FROM "
	    "tc_login_attempt($1, $2, $3, $4)", &a, &rc)) == NULL)
		return rc;
	if (PQntuples(r) == 1) {
		l->count = (unsigned)pg_int(r, 0, 0);
		l->last = pg_int(r, 0, 1);
		l->locked = pg_bool(r, 0, 2);
	} else
		rc = STORE_IO;
	PQclear(r);
	return rc;
}

int
pg_login_attempt(struct store *s, const char *email, int64_t now,
    int64_t window_ms, unsigned max, unsigned *count, int64_t *last_ms,
    int *locked)
{
	struct login_arg l;
	int rc;

	*count = 0;
	*last_ms = 0;
	*locked = 0;
	if (login_arg(&l, email) == -1)
		return 0;
	l.now = now;
	l.window = window_ms;
	l.max = max;
	if ((rc = pg_write(s, tx_login_attempt, &l, NULL)) == 0) {
		*count = l.count;
		*last_ms = l.last;
		*locked = l.locked;
	}
	return rc;
}

static int
tx_login_reset(struct store *s, void *arg)
{
	struct login_arg *l = arg;
	struct pg_args a;

	pga_init(&a);
	pga_str(&a, l->email);
	return pg_do(s, "DELETE FROM login_failures WHERE email = $1", &a);
}

int
pg_login_reset(struct store *s, const char *email)
{
	struct login_arg l;

	if (login_arg(&l, email) == -1)
		return 0;
	return pg_write(s, tx_login_reset, &l, NULL);
}

/* --- the audit trail --- */

/*
 * Copy src into out as valid UTF-8: the fields were cut to their size
 * by bytes (snprintf), maybe inside a character, and PostgreSQL refuses
 * invalid text; such bytes become '?'.
 */
static void
utf8_fix(const char *src, char *out, size_t outsz)
{
	size_t i = 0, o = 0, len;
	unsigned char c;

	while (src[i] != '\0' && o + 1 < outsz) {
		c = (unsigned char)src[i];
		len = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (strnlen(src + i, len) < len || !util_utf8_valid(src + i, len) ||
		    o + len >= outsz) {
			out[o++] = '?';
			i++;
			continue;
		}
		memcpy(out + o, src + i, len);
		o += len;
		i += len;
	}
	out[o] = '\0';
}

int
pg_audit_put(struct store *s, const struct audit_event *ev)
{
	struct audit_event e;
	struct pg_args a;

	utf8_fix(ev->actor, e.actor, sizeof(e.actor));
	utf8_fix(ev->action, e.action, sizeof(e.action));
	utf8_fix(ev->token_id, e.token_id, sizeof(e.token_id));
	utf8_fix(ev->target_user, e.target_user, sizeof(e.target_user));
	utf8_fix(ev->detail, e.detail, sizeof(e.detail));
	pga_init(&a);
	pga_int(&a, ev->at != 0 ? ev->at : util_now_ms());
	pga_str(&a, e.actor);
	pga_str(&a, e.action);
	pga_str(&a, e.token_id);
	pga_str(&a, e.target_user);
	pga_str(&a, e.detail);
	return pg_do(s, "INSERT INTO audit (at, actor, action, token_id, "
	    "target_user, detail) VALUES ($1, $2, $3, $4, $5, $6)", &a);
}

static int
tx_audit_add(struct store *s, void *arg)
{
	return pg_audit_put(s, arg);
}

int
pg_audit_add(struct store *s, const struct audit_event *e)
{
	return pg_write(s, tx_audit_add, (void *)(uintptr_t)e, NULL);
}

struct audit_page {
	const char		*user;          /* lowercase, or NULL */
	uint64_t		 offset;
	uint32_t		 limit;
	struct audit_event	*v;
	size_t			 n;
	uint64_t		 total;
};

static int
tx_audit_list(struct store *s, void *arg)
{
	struct audit_page *p = arg;
	struct audit_event *e;
	struct pg_args a;
	PGresult *r;
	int i, rc;

	pga_init(&a);
	pga_str(&a, p->user);
	pga_int(&a, p->limit);
	pga_int(&a, (int64_t)(p->offset > INT64_MAX ? INT64_MAX : p->offset));
	if ((r = pg_exec(s, "WITH s AS (SELECT * FROM audit WHERE $1::text IS NULL "
	    "OR lower(actor COLLATE \"C\") = $1 "
	    "OR lower(target_user COLLATE \"C\") = $1), "
	    "c AS (SELECT count(*) AS n FROM s) "
	    "SELECT c.n, e.at, e.actor, e.action, e.token_id, e.target_user, "
	    "e.detail FROM c LEFT JOIN LATERAL (SELECT * FROM s "
	    "ORDER BY at DESC, seq DESC LIMIT $2 OFFSET $3) e ON true "
	    "ORDER BY e.at DESC, e.seq DESC", &a, &rc)) == NULL)
		return rc;
	free(p->v);
	p->n = 0;
	if ((p->v = calloc(PQntuples(r) + 1, sizeof(*p->v))) == NULL) {
		PQclear(r);
		return STORE_NOMEM;
	}
	for (i = 0; i < PQntuples(r); i++) {
		p->total = (uint64_t)pg_int(r, i, 0);
		if (PQgetisnull(r, i, 1))
			continue;
		e = &p->v[p->n++];
		e->at = pg_int(r, i, 1);
		pg_cpy(r, i, 2, e->actor, sizeof(e->actor));
		pg_cpy(r, i, 3, e->action, sizeof(e->action));
		pg_cpy(r, i, 4, e->token_id, sizeof(e->token_id));
		pg_cpy(r, i, 5, e->target_user, sizeof(e->target_user));
		pg_cpy(r, i, 6, e->detail, sizeof(e->detail));
	}
	PQclear(r);
	return 0;
}

int
pg_audit_list(struct store *s, const char *user_email, uint64_t offset,
    uint32_t limit, struct audit_event **out, size_t *n, uint64_t *total)
{
	char lower[EMAIL_MAX + 1];
	struct audit_page p = { NULL, offset, limit, NULL, 0, 0 };
	int rc;

	if (user_email != NULL) {
		util_lower(user_email, lower, sizeof(lower));
		p.user = lower;
	}
	if (user_email != NULL && strlen(user_email) > EMAIL_MAX)   /* none */
		rc = (p.v = calloc(1, sizeof(*p.v))) != NULL ? 0 : STORE_NOMEM;
	else
		rc = pg_read(s, tx_audit_list, &p);
	if (rc != 0) {
		free(p.v);
		p.v = NULL;
		p.n = 0;
		p.total = 0;
	}
	*out = p.v;
	*n = p.n;
	*total = p.total;
	return rc;
}

struct jti_walk {
	jti_each_fn	 fn;
	void		*arg;
};

/* Few rows: revocations older than JTI_KEEP_MS are dropped as others come. */
static int
tx_jti_each(struct store *s, void *arg)
{
	struct jti_walk *w = arg;
	PGresult *r;
	int i, rc;

	if ((r = pg_exec(s, "SELECT jti, exp_ms FROM jti_revoked ORDER BY jti",
	    NULL, &rc)) == NULL)
		return rc;
	for (i = 0; i < PQntuples(r) && rc == 0; i++)
		rc = w->fn(PQgetvalue(r, i, 0), pg_int(r, i, 1), w->arg);
	PQclear(r);
	return rc;
}

int
pg_jti_each(struct store *s, jti_each_fn fn, void *arg)
{
	struct jti_walk w = { fn, arg };

	return pg_read(s, tx_jti_each, &w);
}
