/*
 * store_copy.c - the whole catalog of one store into another, whatever
 * their backends (tokencat migrate), through store.h alone. Each record
 * is written by the function that writes it in service, so that the
 * destination's indexes and counters are built as they would have been;
 * nothing is derived again: ids, jti, token digests, password hashes and
 * times are copied as read. Uses are recorded again one by one, which
 * rebuilds their daily aggregates, windows and last_used.
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define PAGE		500
#define AUDIT_PAGE	5000            /* a page of the LMDB trail reads all before it */
#define COPY_STOP	-40150          /* store_empty: found one, stop the walk */

struct copy {
	struct store		*src, *dst;
	struct copy_counts	*n;
	int64_t			 now;
};

static int
copy_users(struct copy *c)
{
	struct user *v;
	uint64_t off = 0, total = 0;
	size_t i, n;
	int rc;

	do {
		if ((rc = store_user_list(c->src, off, PAGE, &v, &n, &total)) != 0)
			return rc;
		for (i = 0; i < n && rc == 0; i++)
			if ((rc = store_user_add(c->dst, &v[i], NULL)) == 0)
				c->n->users++;
		free(v);
		off += n;
	} while (rc == 0 && n > 0 && off < total);
	return rc;
}

/* The memberships of team id, each with its role and joined_at. */
static int
copy_members(struct copy *c, const char *id)
{
	struct membership *v;
	size_t i, n;
	int rc;

	if ((rc = store_team_members(c->src, id, &v, &n)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		if ((rc = store_member_load(c->dst, &v[i])) == 0)
			c->n->members++;
	free(v);
	return rc;
}

/* The pending invitations of team id (expired ones are gone already). */
static int
copy_invites(struct copy *c, const char *id)
{
	struct invitation *v;
	size_t i, n;
	int rc;

	if ((rc = store_invite_list(c->src, 1, id, c->now, &v, &n)) != 0)
		return rc;
	for (i = n; i > 0 && rc == 0; i--)      /* oldest first, as written */
		if ((rc = store_invite_put(c->dst, &v[i - 1], NULL)) == 0)
			c->n->invites++;
	free(v);
	return rc;
}

/* Teams with no owner first (store_team_add), then their members. */
static int
copy_teams(struct copy *c)
{
	struct team *v;
	size_t i, n;
	int rc;

	if ((rc = store_team_list(c->src, &v, &n)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++) {
		if ((rc = store_team_add(c->dst, &v[i], NULL, NULL)) != 0 ||
		    (rc = copy_members(c, v[i].id)) != 0)
			break;
		c->n->teams++;
		rc = copy_invites(c, v[i].id);
	}
	free(v);
	return rc;
}

/* Every token, revoked, deactivated and expired ones too. */
static int
copy_tokens(struct copy *c)
{
	struct token *v;
	uint64_t off = 0, total = 0;
	size_t i, n;
	int rc;

	do {
		if ((rc = store_token_list(c->src, TOKSET_ALL, NULL, 1, c->now,
		    off, PAGE, &v, &n, &total)) != 0)
			return rc;
		for (i = 0; i < n && rc == 0; i++)
			if ((rc = store_token_add(c->dst, &v[i], NULL)) == 0)
				c->n->tokens++;
		tokens_free(v, n);
		off += n;
	} while (rc == 0 && n > 0 && off < total);
	return rc;
}

static int
put_jti(const char *jti, int64_t exp_ms, void *arg)
{
	struct copy *c = arg;
	int rc;

	if ((rc = store_jti_revoke(c->dst, jti, exp_ms)) == 0)
		c->n->jtis++;
	return rc;
}

/*
 * The audit trail oldest first, so that events of the same millisecond
 * keep their order (the destination orders them as written).
 */
static int
copy_audit(struct copy *c)
{
	struct audit_event *v;
	uint64_t end, off, total;
	size_t n;
	int rc;

	if ((rc = store_audit_list(c->src, NULL, 0, 1, &v, &n, &total)) != 0)
		return rc;
	free(v);
	for (end = total; end > 0 && rc == 0; end = off) {
		off = end > AUDIT_PAGE ? end - AUDIT_PAGE : 0;
		if ((rc = store_audit_list(c->src, NULL, off, (uint32_t)(end - off),
		    &v, &n, &total)) != 0)
			return rc;
		while (n > 0 && rc == 0)
			if ((rc = store_audit_add(c->dst, &v[--n])) == 0)
				c->n->audit++;
		free(v);
	}
	return rc;
}

static int
put_use(const char *token_id, const struct use *u, void *arg)
{
	struct copy *c = arg;
	int rc;

	if ((rc = store_use_record(c->dst, token_id, u)) == 0)
		c->n->uses++;
	return rc;
}

static int
copy_jtis(struct copy *c)
{
	return store_jti_each(c->src, put_jti, c);
}

static int
copy_uses(struct copy *c)
{
	int rc = store_use_each(c->src, put_use, c);

	return rc != 0 ? rc : store_use_flush(c->dst);
}

/* Each kind in the order its references need: users before teams, ... */
static const struct {
	const char	*what;
	int		 (*fn)(struct copy *);
} steps[] = {
	{ "users", copy_users },
	{ "teams, members and invitations", copy_teams },
	{ "tokens", copy_tokens },
	{ "session revocations", copy_jtis },
	{ "audit trail", copy_audit },
	{ "uses", copy_uses },
};

int
store_copy(struct store *src, struct store *dst, struct copy_counts *n,
    const char **what)
{
	struct copy c = { src, dst, n, util_now_ms() };
	size_t i;
	int rc;

	memset(n, 0, sizeof(*n));
	*what = "snapshot";
	if ((rc = store_snapshot(src)) != 0)
		return rc;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]) && rc == 0; i++) {
		*what = steps[i].what;
		rc = steps[i].fn(&c);
	}
	store_snapshot_end(src);
	return rc;
}

static int
found(const char *a, int64_t b, void *arg)
{
	(void)a;
	(void)b;
	(void)arg;
	return COPY_STOP;
}

static int
found_use(const char *id, const struct use *u, void *arg)
{
	return found(id, u->at, arg);
}

/* Something counted by a listing: users, tokens, audit events. */
static int
any_listed(struct store *s, int *any)
{
	struct user *u;
	struct token *t;
	struct audit_event *e;
	size_t n;
	uint64_t nu, nt, na;
	int rc;

	if ((rc = store_user_list(s, 0, 1, &u, &n, &nu)) != 0)
		return rc;
	free(u);
	if ((rc = store_token_list(s, TOKSET_ALL, NULL, 1, util_now_ms(), 0, 1,
	    &t, &n, &nt)) != 0)
		return rc;
	tokens_free(t, n);
	if ((rc = store_audit_list(s, NULL, 0, 1, &e, &n, &na)) != 0)
		return rc;
	free(e);
	*any = nu + nt + na > 0;
	return 0;
}

int
store_empty(struct store *s, int *empty)
{
	struct team *t;
	size_t n;
	int rc, any;

	*empty = 0;
	if ((rc = any_listed(s, &any)) != 0 || any)
		return rc;
	if ((rc = store_team_list(s, &t, &n)) != 0)
		return rc;
	free(t);
	if (n > 0)
		return 0;
	if ((rc = store_jti_each(s, found, NULL)) != 0 ||
	    (rc = store_use_each(s, found_use, NULL)) != 0)
		return rc == COPY_STOP ? 0 : rc;
	*empty = 1;
	return 0;
}
