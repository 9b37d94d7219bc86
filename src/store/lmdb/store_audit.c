/*
 * store_audit.c - the audit trail: one durable record per event.
 *
 * audit: be64(at ms) + be32(pid) + be32(sequence) -> JSON of the event,
 * so that a cursor walked backwards yields the newest first.
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store_int.h"

#define AKEY_LEN 16

static struct json_object *
event_json(const struct audit_event *e)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "at", json_object_new_int64(e->at));
	json_object_object_add(o, "actor", json_object_new_string(e->actor));
	json_object_object_add(o, "action", json_object_new_string(e->action));
	json_object_object_add(o, "token_id", json_object_new_string(e->token_id));
	json_object_object_add(o, "target_user", json_object_new_string(e->target_user));
	json_object_object_add(o, "detail", json_object_new_string(e->detail));
	return o;
}

static void
event_from_json(struct json_object *o, struct audit_event *e)
{
	memset(e, 0, sizeof(*e));
	e->at = jint(o, "at");
	jcpy(o, "actor", e->actor, sizeof(e->actor));
	jcpy(o, "action", e->action, sizeof(e->action));
	jcpy(o, "token_id", e->token_id, sizeof(e->token_id));
	jcpy(o, "target_user", e->target_user, sizeof(e->target_user));
	jcpy(o, "detail", e->detail, sizeof(e->detail));
}

int
audit_put(struct store *s, MDB_txn *txn, const struct audit_event *ev)
{
	static uint32_t seq;
	struct audit_event e = *ev;
	struct json_object *o;
	uint64_t at;
	uint32_t pid = htobe32((uint32_t)getpid()), n = htobe32(++seq);
	char key[AKEY_LEN];
	int rc;

	if (e.at == 0)
		e.at = util_now_ms();
	o = event_json(&e);
	at = htobe64((uint64_t)e.at);
	memcpy(key, &at, 8);
	memcpy(key + 8, &pid, 4);
	memcpy(key + 12, &n, 4);
	rc = db_put_json(s, txn, DB_AUDIT, key, AKEY_LEN, o, 0);
	json_object_put(o);
	return rc;
}

static int
tx_audit_add(struct store *s, MDB_txn *txn, void *arg)
{
	return audit_put(s, txn, arg);
}

int
lmdb_audit_add(struct store *s, const struct audit_event *e)
{
	return store_write(s, tx_audit_add, (void *)(uintptr_t)e);
}

struct audit_page {
	const char		*user;
	uint64_t		 offset;
	uint32_t		 limit;
	struct audit_event	*v;
	size_t			 n;
	uint64_t		 total;
};

/* 1 if e concerns user (actor or target), or no user filter. */
static int
matches(const struct audit_event *e, const char *user)
{
	return user == NULL || util_ieq(e->actor, user) || util_ieq(e->target_user, user);
}

static int
tx_audit_list(struct store *s, MDB_txn *txn, void *arg)
{
	struct audit_page *p = arg;
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	struct audit_event e;
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if (tok == NULL || (p->v = calloc(p->limit ? p->limit : 1, sizeof(*p->v))) == NULL) {
		json_tokener_free(tok);
		return ENOMEM;
	}
	if ((rc = mdb_cursor_open(txn, s->dbi[DB_AUDIT], &c)) != 0) {
		json_tokener_free(tok);
		return rc;
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_LAST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_PREV)) {
		json_tokener_reset(tok);
		if ((o = json_tokener_parse_ex(tok, v.mv_data, (int)v.mv_size)) == NULL)
			continue;
		event_from_json(o, &e);
		json_object_put(o);
		if (!matches(&e, p->user))
			continue;
		if (p->total++ >= p->offset && p->n < p->limit)
			p->v[p->n++] = e;
	}
	mdb_cursor_close(c);
	json_tokener_free(tok);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int
lmdb_audit_list(struct store *s, const char *user_email, uint64_t offset,
    uint32_t limit, struct audit_event **out, size_t *n, uint64_t *total)
{
	struct audit_page p = { user_email, offset, limit, NULL, 0, 0 };
	int rc = store_read(s, tx_audit_list, &p);

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
