/*
 * store.c - the LMDB backend (store_lmdb_ops, store_ops.h): the
 * environment, transactions with map growth, and the records other than
 * tokens: users, teams, memberships, session
 * revocations and login failures. Tokens are in store_token.c.
 *
 * Records are JSON documents (json-c) so fields can be added without a
 * migration; keys are fixed-length ids or lowercase names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log.h"
#include "store_int.h"

#define MAP_MAX_BYTES	((size_t)1 << 40)	/* 1 TiB */

static const char *const dbi_names[DB__MAX] = {
	"meta", "users", "user_email", "teams", "team_name", "members",
	"user_teams", "tokens", "jti_rev", "login", "audit",
	"invites", "invite_email"
};

const char *
store_strerror(int err)
{
	switch (err) {
	case STORE_OK:		return "success";
	case STORE_NOTFOUND:	return "not found";
	case STORE_EXISTS:	return "already exists";
	case STORE_LASTOWNER:	return "last owner of the team";
	case STORE_FULL:	return "database full (disk full or map cannot grow)";
	case STORE_RDONLY:	return "database not writable";
	case STORE_NOMEM:	return "out of memory";
	case STORE_INVALID:	return "invalid input";
	default:		return "database failure";
	}
}

const char *
role_name(int role)
{
	return role == ROLE_OWNER ? "owner" : role == ROLE_MEMBER ? "member" : NULL;
}

/* Translate an LMDB or errno code into a STORE_* code (logging the unusual). */
static int
map_err(int rc)
{
	if (rc == 0 || (rc <= -40001 && rc >= -40199))	/* STORE_* and private codes */
		return rc;
	switch (rc) {
	case MDB_NOTFOUND:	return STORE_NOTFOUND;
	case MDB_KEYEXIST:	return STORE_EXISTS;
	case ENOSPC:
	case MDB_MAP_FULL:	return STORE_FULL;
	case EACCES:
	case EROFS:
	case EPERM:		return STORE_RDONLY;
	case ENOMEM:		return STORE_NOMEM;
	default:
		log_error("store: %s", mdb_strerror(rc));
		return STORE_IO;
	}
}

int
store_map_grow(struct store *s, MDB_env *env)
{
	MDB_envinfo info;
	const char *dir = NULL;
	size_t size;

	store_read_cache_drop(s);       /* no transaction may be open */
	mdb_env_info(env, &info);
	if (info.me_mapsize >= MAP_MAX_BYTES)
		return MDB_MAP_FULL;
	size = info.me_mapsize * 2;
	(void)mdb_env_get_path(env, &dir);
	log_info("store: growing the map of %s to %zu MiB",
	    dir != NULL ? dir : "?", size >> 20);
	return mdb_env_set_mapsize(env, size);
}

int
store_txn_begin(MDB_env *env, unsigned flags, MDB_txn **txn)
{
	int rc = mdb_txn_begin(env, NULL, flags, txn);

	if (rc == MDB_MAP_RESIZED) {
		if ((rc = mdb_env_set_mapsize(env, 0)) == 0)
			rc = mdb_txn_begin(env, NULL, flags, txn);
	}
	return rc;
}

static int
rslot(const struct store *s, MDB_env *env)
{
	return env == s->env ? RS_MAIN : env == s->uenv ? RS_USAGE : RS_INDEX;
}

/*
 * A read transaction on env: the cached one renewed (its reader slot kept,
 * see LMDB's mdb_txn_reset), or a fresh one when the cached one is in use
 * or cannot be renewed. *cached says which; end it with read_end().
 */
int
store_read_begin(struct store *s, MDB_env *env, MDB_txn **txn, int *cached)
{
	int i = rslot(s, env), rc;

	*cached = 0;
	if (i != RS_USAGE && s->snap) {         /* inside store_snapshot */
		*txn = s->rtxn[i];
		*cached = 2;
		return 0;
	}
	if (!s->rbusy[i] && s->rtxn[i] != NULL) {
		if ((rc = mdb_txn_renew(s->rtxn[i])) == 0) {
			s->rbusy[i] = *cached = 1;
			*txn = s->rtxn[i];
			return 0;
		}
		mdb_txn_abort(s->rtxn[i]);      /* e.g. the map was resized */
		s->rtxn[i] = NULL;
	}
	if ((rc = store_txn_begin(env, MDB_RDONLY, txn)) == 0 && !s->rbusy[i] &&
	    s->rtxn[i] == NULL) {
		s->rtxn[i] = *txn;
		s->rbusy[i] = *cached = 1;
	}
	return rc;
}

void
store_read_end(struct store *s, MDB_env *env, MDB_txn *txn, int cached)
{
	if (cached == 2)                        /* store_snapshot_end's */
		return;
	if (!cached) {
		mdb_txn_abort(txn);
		return;
	}
	mdb_txn_reset(txn);
	s->rbusy[rslot(s, env)] = 0;
}

/* Drop the cached read transactions (before the map grows or at close). */
void
store_read_cache_drop(struct store *s)
{
	int i;

	for (i = 0; i < RS__MAX; i++) {
		if (s->rtxn[i] != NULL && !s->rbusy[i])
			mdb_txn_abort(s->rtxn[i]);
		if (!s->rbusy[i])
			s->rtxn[i] = NULL;
	}
}

/* The index environment when it is one of its own. */
static MDB_env *
own_ienv(const struct store *s)
{
	return s->ienv != s->env ? s->ienv : NULL;
}

int
lmdb_snapshot(struct store *s)
{
	MDB_txn *txn, *itxn;
	int rc, cached, icached = 1;

	if (s->snap)
		return STORE_OK;
	if ((rc = store_read_begin(s, s->env, &txn, &cached)) != 0)
		return map_err(rc);
	/* the indexes after the catalog: they hold all it holds */
	if (cached && own_ienv(s) != NULL &&
	    (rc = store_read_begin(s, s->ienv, &itxn, &icached)) != 0) {
		store_read_end(s, s->env, txn, cached);
		return map_err(rc);
	}
	if (!cached || !icached) {      /* the cached one is busy: no snapshot */
		if (own_ienv(s) != NULL && cached)
			store_read_end(s, s->ienv, itxn, icached);
		store_read_end(s, s->env, txn, cached);
		return STORE_OK;
	}
	s->snap = 1;
	return STORE_OK;
}

void
lmdb_snapshot_end(struct store *s)
{
	if (!s->snap)
		return;
	s->snap = 0;
	store_read_end(s, s->env, s->rtxn[RS_MAIN], 1);
	if (own_ienv(s) != NULL)
		store_read_end(s, s->ienv, s->rtxn[RS_INDEX], 1);
}

int
store_read_env(struct store *s, MDB_env *env, txn_fn fn, void *arg)
{
	MDB_txn *txn;
	int rc, cached;

	if (env == NULL)                /* no usage environment (read-only) */
		return STORE_RDONLY;
	if ((rc = store_read_begin(s, env, &txn, &cached)) != 0)
		return map_err(rc);
	rc = fn(s, txn, arg);
	store_read_end(s, env, txn, cached);
	return map_err(rc);
}

/* See store_int.h: asks through env's open descriptor, as the sandboxed
 * worker names no path. */
int
store_write_err(MDB_env *env, int rc)
{
	struct statvfs vfs;
	mdb_filehandle_t fd;

	if (rc == EIO && mdb_env_get_fd(env, &fd) == 0 && fstatvfs(fd, &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize < ((uint64_t)1 << 20))
		return STORE_FULL;
	return map_err(rc);
}

/*
 * Run fn in a write transaction of env and commit; when fn succeeds and ev
 * is not NULL, the audit event ev is written in the same transaction, so
 * that a change and its event are one durable commit.
 */
static int
write_txn(struct store *s, MDB_env *env, txn_fn fn, void *arg,
    const struct audit_event *ev, int idx)
{
	MDB_txn *txn;
	int rc, tries, behind = 0;

	if (env == NULL || (s->rdonly && env == s->env))
		return STORE_RDONLY;
	for (tries = 0; tries < MAP_GROW_TRIES; tries++) {
		if ((rc = store_txn_begin(env, 0, &txn)) != 0)
			return map_err(rc);
		s->ifull = 0;
		/* with idx, the indexes too, committed after (store_index.c) */
		if ((idx && (rc = index_begin(s, txn, 1)) != 0) ||
		    (rc = fn(s, txn, arg)) != 0 ||
		    (ev != NULL && (rc = audit_put(s, txn, ev)) != 0)) {
			if (idx)
				index_abort(s);
			mdb_txn_abort(txn);
		} else
			rc = idx ? index_commit_with(s, txn, &behind) :
			    mdb_txn_commit(txn);
		if (rc == MDB_MAP_FULL &&
		    store_map_grow(s, s->ifull ? s->ienv : env) == 0)
			continue;
		if (behind)
			index_repair(s);
		return store_write_err(env, rc);
	}
	return STORE_FULL;
}

int
store_read(struct store *s, txn_fn fn, void *arg)
{
	return store_read_env(s, s->env, fn, arg);
}

int
store_write_env(struct store *s, MDB_env *env, txn_fn fn, void *arg)
{
	return write_txn(s, env, fn, arg, NULL, 0);
}

int
store_write(struct store *s, txn_fn fn, void *arg)
{
	return write_txn(s, s->env, fn, arg, NULL, 0);
}

int
store_write_audited(struct store *s, txn_fn fn, void *arg,
    const struct audit_event *ev)
{
	return write_txn(s, s->env, fn, arg, ev, 0);
}

int
store_write_index(struct store *s, txn_fn fn, void *arg,
    const struct audit_event *ev)
{
	return write_txn(s, s->env, fn, arg, ev, 1);
}

int
store_read_index(struct store *s, txn_fn fn, void *arg)
{
	MDB_txn *txn;
	int rc, cached;

	if ((rc = store_read_begin(s, s->env, &txn, &cached)) != 0)
		return map_err(rc);
	if ((rc = index_begin(s, txn, 0)) == 0) {
		rc = fn(s, txn, arg);
		index_abort(s);
	}
	store_read_end(s, s->env, txn, cached);
	return map_err(rc);
}

/*
 * Open every named database, creating the missing ones. A catalog of
 * schema 1 has its token indexes in it: they are dropped, and made again
 * in the index environment (store_index.c).
 */
static int
open_dbis(struct store *s, MDB_txn *txn, void *arg)
{
	static const char schema[] = "2";
	MDB_val k = { 6, (void *)(uintptr_t)"schema" },
	    v = { sizeof(schema) - 1, (void *)(uintptr_t)schema }, have;
	size_t i;
	int rc;

	(void)arg;
	for (i = 0; i < DB__MAX; i++)
		if ((rc = mdb_dbi_open(txn, dbi_names[i], MDB_CREATE, &s->dbi[i])) != 0)
			return rc;
	if ((rc = index_drop_old(s, txn)) != 0)
		return rc;
	if ((rc = mdb_get(txn, s->dbi[DB_META], &k, &have)) == 0 &&
	    have.mv_size == v.mv_size && memcmp(have.mv_data, schema, v.mv_size) == 0)
		return 0;               /* nothing written: no flush */
	return rc == 0 || rc == MDB_NOTFOUND ?
	    mdb_put(txn, s->dbi[DB_META], &k, &v, 0) : rc;
}

/* Create dir (0700) when asked to, and say whether a database is there. */
static int
prepare_dir(const char *dir, int flags)
{
	char path[4096];
	struct stat st;

	if ((flags & STORE_CREATE) && mkdir(dir, 0700) == -1 && errno != EEXIST)
		return errno;
	if (stat(dir, &st) == -1)
		return errno;
	if (!S_ISDIR(st.st_mode))
		return ENOTDIR;
	if (snprintf(path, sizeof(path), "%s/data.mdb", dir) >= (int)sizeof(path))
		return ENAMETOOLONG;
	if (!(flags & STORE_CREATE) && access(path, F_OK) == -1)
		return MDB_NOTFOUND;
	return 0;
}

/* (Re)create s->env and open it in dir with flags. Returns an LMDB code. */
static int
env_open(struct store *s, const char *dir, size_t map_mb, unsigned flags)
{
	int rc;

	if (s->env != NULL)
		mdb_env_close(s->env);
	s->env = NULL;
	if ((rc = mdb_env_create(&s->env)) != 0)
		return rc;
	/* and the token indexes of schema 1 (store_index.c) */
	mdb_env_set_maxdbs(s->env, DB__MAX + 8);
	mdb_env_set_maxreaders(s->env, 512);
	mdb_env_set_mapsize(s->env, map_mb << 20);
	return mdb_env_open(s->env, dir, MDB_NOTLS | flags, 0600);
}

/* The named databases of a read-only environment (they must exist). */
static int
open_dbis_ro(struct store *s)
{
	MDB_txn *txn;
	int i, rc;

	if ((rc = store_txn_begin(s->env, MDB_RDONLY, &txn)) != 0)
		return rc;
	for (i = 0; i < DB__MAX; i++) {
		rc = mdb_dbi_open(txn, dbi_names[i], 0, &s->dbi[i]);
		if (rc == MDB_NOTFOUND && i >= DB_FIRST_ADDED) {
			s->no_invites = 1;      /* older than invitations */
			break;
		}
		if (rc != 0) {
			mdb_txn_abort(txn);
			return rc;
		}
	}
	return mdb_txn_commit(txn);     /* keeps the handles */
}

/*
 * A database the process may not write (permissions, a read-only mount)
 * is opened read-only, without its lock file if that cannot be written
 * either: reads are served, every write fails with STORE_RDONLY (503).
 */
static int
open_rdonly(struct store *s, const char *dir, size_t map_mb)
{
	int rc;

	if ((rc = env_open(s, dir, map_mb, MDB_RDONLY)) == EACCES || rc == EROFS)
		rc = env_open(s, dir, map_mb, MDB_RDONLY | MDB_NOLOCK);
	if (rc != 0)
		return rc;
	s->rdonly = 1;
	log_warn("store: %s is not writable: serving reads only, every write "
	    "is refused (503)", dir);
	return 0;
}

int
lmdb_open(struct store **sp, const char *dir, size_t map_mb, int flags)
{
	struct store *s;
	int rc, dead = 0;

	*sp = NULL;
	if ((rc = prepare_dir(dir, flags)) != 0)
		return rc == MDB_NOTFOUND || rc == ENOENT ? STORE_NOTFOUND : map_err(rc);
	if ((s = calloc(1, sizeof(*s))) == NULL || (s->dir = strdup(dir)) == NULL) {
		free(s);
		return STORE_NOMEM;
	}
	s->ops = &store_lmdb_ops;
	rc = env_open(s, dir, map_mb, flags & STORE_BULK ? MDB_NOSYNC : 0);
	if ((rc == EACCES || rc == EROFS) && !(flags & STORE_CREATE))
		rc = open_rdonly(s, dir, map_mb);
	if (rc != 0)
		goto fail;
	if (s->rdonly) {
		if ((rc = open_dbis_ro(s)) != 0 ||
		    (rc = index_open_rdonly(s, map_mb)) != 0)
			goto fail;
		if ((rc = usage_open(s, map_mb, flags & STORE_SERVE)) != 0 &&
		    rc != STORE_RDONLY) {
			lmdb_close(s);
			return rc;
		}
		*sp = s;
		return STORE_OK;
	}
	mdb_reader_check(s->env, &dead);
	if (dead > 0)
		log_warn("store: cleared %d stale reader slot(s)", dead);
	if ((rc = store_write(s, open_dbis, NULL)) != 0 ||
	    (rc = map_err(index_open(s, map_mb))) != 0 ||
	    (rc = usage_open(s, map_mb, flags & STORE_SERVE)) != 0) {
		lmdb_close(s);
		return rc;
	}
	if (flags & STORE_SERVE)
		group_open(s);
	*sp = s;
	return STORE_OK;
fail:
	lmdb_close(s);
	return map_err(rc);
}

void
lmdb_close(struct store *s)
{
	if (s == NULL)
		return;
	memset(s->rbusy, 0, sizeof(s->rbusy));
	store_read_cache_drop(s);
	usage_close(s);
	group_close(s);
	index_close(s);
	if (s->env != NULL) {
		if (!s->rdonly)
			mdb_env_sync(s->env, 1);        /* for STORE_BULK */
		mdb_env_close(s->env);
	}
	free(s->dir);
	free(s);
}

int
lmdb_backup(struct store *s, const char *dest)
{
	char path[4096];
	int rc;

	if (mkdir(dest, 0700) == -1 && errno != EEXIST)
		return map_err(errno);
	if ((rc = mdb_env_copy2(s->env, dest, MDB_CP_COMPACT)) != 0)
		return map_err(rc);
	/* the copy holds password hashes: readable by the owner only */
	if (snprintf(path, sizeof(path), "%s/data.mdb", dest) < (int)sizeof(path) &&
	    chmod(path, 0600) == -1)
		return map_err(errno);
	if (s->uenv == NULL)
		return STORE_OK;
	/* the uses, their statistics and last_used: <dest>/usage */
	if (snprintf(path, sizeof(path), "%s/usage", dest) >= (int)sizeof(path))
		return STORE_IO;
	lmdb_use_flush(s);
	if (mkdir(path, 0700) == -1)
		return map_err(errno);
	if ((rc = mdb_env_copy2(s->uenv, path, MDB_CP_COMPACT)) != 0)
		return map_err(rc);
	if (snprintf(path, sizeof(path), "%s/usage/data.mdb", dest) <
	    (int)sizeof(path) && chmod(path, 0600) == -1)
		return map_err(errno);
	return STORE_OK;
}

/* --- the meta database: settings of the database itself --- */

struct meta_arg {
	const char	*key, *value;
	char		*out;
	size_t		 outsz;
};

/* Keys of the meta database other than "schema" (kept by open_dbis) and
 * "index" (store_index.c). */
static int
meta_key_ok(const char *key)
{
	size_t n = strlen(key);

	return n > 0 && n < 128 && strcmp(key, "schema") != 0 &&
	    strcmp(key, "index") != 0;
}

static int
tx_meta_get(struct store *s, MDB_txn *txn, void *arg)
{
	struct meta_arg *m = arg;

	return db_get_str(s, txn, DB_META, m->key, strlen(m->key), m->out,
	    m->outsz);
}

int
lmdb_meta_get(struct store *s, const char *key, char *out, size_t outsz)
{
	struct meta_arg m = { key, NULL, out, outsz };

	if (outsz > 0)
		out[0] = '\0';
	if (!meta_key_ok(key))
		return STORE_NOTFOUND;
	return store_read(s, tx_meta_get, &m);
}

static int
tx_meta_put(struct store *s, MDB_txn *txn, void *arg)
{
	struct meta_arg *m = arg;

	return db_put(s, txn, DB_META, m->key, strlen(m->key), m->value,
	    strlen(m->value), 0);
}

int
lmdb_meta_put(struct store *s, const char *key, const char *value)
{
	struct meta_arg m = { key, value, NULL, 0 };

	if (!meta_key_ok(key))
		return STORE_INVALID;
	if (s->rdonly)
		return STORE_RDONLY;
	return store_write(s, tx_meta_put, &m);
}

/* --- small typed helpers over MDB_val --- */

int
db_put(struct store *s, MDB_txn *txn, int db, const void *k, size_t kl,
    const void *v, size_t vl, unsigned flags)
{
	MDB_val key = { kl, (void *)(uintptr_t)k }, val = { vl, (void *)(uintptr_t)v };

	return mdb_put(txn, s->dbi[db], &key, &val, flags);
}

int
db_del(struct store *s, MDB_txn *txn, int db, const void *k, size_t kl)
{
	MDB_val key = { kl, (void *)(uintptr_t)k };

	return mdb_del(txn, s->dbi[db], &key, NULL);
}

int
db_get_str(struct store *s, MDB_txn *txn, int db, const void *k, size_t kl,
    char *out, size_t outsz)
{
	return dbi_get_str(txn, s->dbi[db], k, kl, out, outsz);
}

int
dbi_get_str(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kl, char *out,
    size_t outsz)
{
	MDB_val key = { kl, (void *)(uintptr_t)k }, val;
	int rc;

	if ((rc = mdb_get(txn, dbi, &key, &val)) != 0)
		return rc;
	if (val.mv_size >= outsz)
		return MDB_CORRUPTED;
	memcpy(out, val.mv_data, val.mv_size);
	out[val.mv_size] = '\0';
	return 0;
}

int
db_get_json(struct store *s, MDB_txn *txn, int db, const void *k, size_t kl,
    struct json_object **out)
{
	MDB_val key = { kl, (void *)(uintptr_t)k }, val;
	struct json_tokener *tok;
	int rc;

	*out = NULL;
	if ((rc = mdb_get(txn, s->dbi[db], &key, &val)) != 0)
		return rc;
	if ((tok = json_tokener_new()) == NULL)
		return ENOMEM;
	*out = json_tokener_parse_ex(tok, val.mv_data, (int)val.mv_size);
	json_tokener_free(tok);
	if (*out == NULL || !json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		return MDB_CORRUPTED;
	}
	return 0;
}

int
db_put_json(struct store *s, MDB_txn *txn, int db, const void *k, size_t kl,
    struct json_object *obj, unsigned flags)
{
	size_t len;
	const char *str = json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN, &len);

	if (str == NULL)
		return ENOMEM;
	return db_put(s, txn, db, k, kl, str, len, flags);
}

const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int64_t
jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_int64(v);
}

void
jcpy(struct json_object *o, const char *key, char *out, size_t outsz)
{
	const char *v = jstr(o, key);

	snprintf(out, outsz, "%s", v != NULL ? v : "");
}

/* --- users --- */

static struct json_object *
user_to_json(const struct user *u)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "id", json_object_new_string(u->id));
	json_object_object_add(o, "email", json_object_new_string(u->email));
	json_object_object_add(o, "full_name", json_object_new_string(u->full_name));
	json_object_object_add(o, "pwhash", json_object_new_string(u->pwhash));
	json_object_object_add(o, "is_admin", json_object_new_boolean(u->is_admin));
	json_object_object_add(o, "is_active", json_object_new_boolean(u->is_active));
	json_object_object_add(o, "created_at", json_object_new_int64(u->created_at));
	return o;
}

static void
user_from_json(struct json_object *o, struct user *u)
{
	memset(u, 0, sizeof(*u));
	jcpy(o, "id", u->id, sizeof(u->id));
	jcpy(o, "email", u->email, sizeof(u->email));
	jcpy(o, "full_name", u->full_name, sizeof(u->full_name));
	jcpy(o, "pwhash", u->pwhash, sizeof(u->pwhash));
	u->is_admin = jint(o, "is_admin") != 0;
	u->is_active = jint(o, "is_active") != 0;
	u->created_at = jint(o, "created_at");
}

/* Write u: the record, and the e-mail index when add is set (NOOVERWRITE). */
static int
user_write(struct store *s, MDB_txn *txn, const struct user *u, int add)
{
	struct json_object *o;
	int rc;

	if (add && (rc = db_put(s, txn, DB_USER_EMAIL, u->email, strlen(u->email),
	    u->id, UUID_LEN, MDB_NOOVERWRITE)) != 0)
		return rc;
	o = user_to_json(u);
	rc = db_put_json(s, txn, DB_USERS, u->id, UUID_LEN, o,
	    add ? MDB_NOOVERWRITE : 0);
	json_object_put(o);
	return rc;
}

static int
tx_user_add(struct store *s, MDB_txn *txn, void *arg)
{
	return user_write(s, txn, arg, 1);
}

int
lmdb_user_add(struct store *s, const struct user *u,
    const struct audit_event *ev)
{
	if (strlen(u->id) != UUID_LEN)
		return STORE_INVALID;
	return store_write_audited(s, tx_user_add, (void *)(uintptr_t)u, ev);
}

static int
tx_user_put(struct store *s, MDB_txn *txn, void *arg)
{
	const struct user *u = arg;
	MDB_val k = { UUID_LEN, (void *)(uintptr_t)u->id }, v;
	int rc;

	if ((rc = mdb_get(txn, s->dbi[DB_USERS], &k, &v)) != 0)
		return rc;
	return user_write(s, txn, u, 0);
}

int
lmdb_user_put(struct store *s, const struct user *u,
    const struct audit_event *ev)
{
	return store_write_audited(s, tx_user_put, (void *)(uintptr_t)u, ev);
}

struct user_get {
	const char	*id;
	const char	*email;
	struct user	*out;
};

/*
 * The last user decoded, kept with the stored bytes it came from: the
 * record is read every time, and its decoding reused only while those
 * bytes are unchanged (a disabled or demoted user counts at once).
 */
static struct {
	char		*raw;
	size_t		 len;
	struct user	 u;
} user_memo;

static int
user_cached(const MDB_val *v, struct user *out)
{
	if (user_memo.raw == NULL || user_memo.len != v->mv_size ||
	    memcmp(user_memo.raw, v->mv_data, v->mv_size) != 0)
		return 0;
	*out = user_memo.u;
	return 1;
}

static void
user_cache(const MDB_val *v, const struct user *u)
{
	char *copy = malloc(v->mv_size);

	if (copy == NULL)
		return;
	memcpy(copy, v->mv_data, v->mv_size);
	free(user_memo.raw);
	user_memo.raw = copy;
	user_memo.len = v->mv_size;
	user_memo.u = *u;
}

static int
tx_user_get(struct store *s, MDB_txn *txn, void *arg)
{
	struct user_get *g = arg;
	struct json_object *o;
	MDB_val v;
	char id[UUID_LEN + 1], lower[EMAIL_MAX + 1];
	int rc;

	if (g->email != NULL) {
		util_lower(g->email, lower, sizeof(lower));
		if ((rc = db_get_str(s, txn, DB_USER_EMAIL, lower, strlen(lower),
		    id, sizeof(id))) != 0)
			return rc;
	} else {
		if (strlen(g->id) != UUID_LEN)
			return MDB_NOTFOUND;
		memcpy(id, g->id, UUID_LEN + 1);
	}
	if (strlen(id) != UUID_LEN)
		return MDB_NOTFOUND;
	if ((rc = mdb_get(txn, s->dbi[DB_USERS], &(MDB_val){ UUID_LEN, id }, &v)) != 0)
		return rc;
	if (user_cached(&v, g->out))
		return 0;
	if ((rc = db_get_json(s, txn, DB_USERS, id, UUID_LEN, &o)) != 0)
		return rc;
	user_from_json(o, g->out);
	json_object_put(o);
	user_cache(&v, g->out);
	return 0;
}

int
lmdb_user_get(struct store *s, const char *id, struct user *out)
{
	struct user_get g = { id, NULL, out };

	return store_read(s, tx_user_get, &g);
}

int
lmdb_user_by_email(struct store *s, const char *email, struct user *out)
{
	struct user_get g = { NULL, email, out };

	if (strlen(email) > EMAIL_MAX)
		return STORE_NOTFOUND;
	return store_read(s, tx_user_get, &g);
}

struct user_page {
	uint64_t	 offset;
	uint32_t	 limit;
	struct user	*v;
	size_t		 n;
	uint64_t	 total;
};

/* Walk the e-mail index: skip offset, load up to limit users. */
static int
tx_user_list(struct store *s, MDB_txn *txn, void *arg)
{
	struct user_page *p = arg;
	struct user_get g;
	MDB_cursor *c;
	MDB_val k, v;
	MDB_stat st;
	uint64_t i = 0;
	char id[UUID_LEN + 1];
	int rc;

	if ((rc = mdb_stat(txn, s->dbi[DB_USER_EMAIL], &st)) != 0)
		return rc;
	p->total = st.ms_entries;
	if ((p->v = calloc(p->limit ? p->limit : 1, sizeof(*p->v))) == NULL)
		return ENOMEM;
	if ((rc = mdb_cursor_open(txn, s->dbi[DB_USER_EMAIL], &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && p->n < p->limit;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT), i++) {
		if (i < p->offset || v.mv_size != UUID_LEN)
			continue;
		memcpy(id, v.mv_data, UUID_LEN);
		id[UUID_LEN] = '\0';
		g = (struct user_get){ id, NULL, &p->v[p->n] };
		if ((rc = tx_user_get(s, txn, &g)) != 0)
			break;
		p->n++;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int
lmdb_user_list(struct store *s, uint64_t offset, uint32_t limit,
    struct user **out, size_t *n, uint64_t *total)
{
	struct user_page p = { offset, limit, NULL, 0, 0 };
	int rc = store_read(s, tx_user_list, &p);

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

struct jti_arg {
	const char	*jti;
	int64_t		 exp;
	int		 found;
};

static int
tx_jti_revoke(struct store *s, MDB_txn *txn, void *arg)
{
	struct jti_arg *a = arg;

	return db_put(s, txn, DB_JTI_REV, a->jti, strlen(a->jti), &a->exp,
	    sizeof(a->exp), 0);
}

int
lmdb_jti_revoke(struct store *s, const char *jti, int64_t exp_ms)
{
	struct jti_arg a = { jti, exp_ms, 0 };

	if (*jti == '\0' || strlen(jti) > 256)
		return STORE_INVALID;
	return store_write(s, tx_jti_revoke, &a);
}

static int
tx_jti_get(struct store *s, MDB_txn *txn, void *arg)
{
	struct jti_arg *a = arg;
	MDB_val k = { strlen(a->jti), (void *)(uintptr_t)a->jti }, v;
	int rc = mdb_get(txn, s->dbi[DB_JTI_REV], &k, &v);

	a->found = rc == 0;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int
lmdb_jti_revoked(struct store *s, const char *jti)
{
	struct jti_arg a = { jti, 0, 0 };
	int rc;

	if (*jti == '\0' || strlen(jti) > 256)
		return 0;
	if ((rc = store_read(s, tx_jti_get, &a)) != 0)
		return rc;
	return a.found;
}

/* --- login failures: value is {count, last_ms} --- */

struct login_rec {
	uint32_t	count;
	uint32_t	pad;
	int64_t		last;
};

struct login_arg {
	char		 email[EMAIL_MAX + 1];
	int64_t		 now, window;
	unsigned	 max;
	struct login_rec rec;
	int		 reset;
};

static int
tx_login_get(struct store *s, MDB_txn *txn, void *arg)
{
	struct login_arg *a = arg;
	MDB_val k = { strlen(a->email), a->email }, v;
	int rc = mdb_get(txn, s->dbi[DB_LOGIN], &k, &v);

	memset(&a->rec, 0, sizeof(a->rec));
	if (rc == 0 && v.mv_size == sizeof(a->rec))
		memcpy(&a->rec, v.mv_data, sizeof(a->rec));
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static int
tx_login_update(struct store *s, MDB_txn *txn, void *arg)
{
	struct login_arg *a = arg;
	int rc;

	if (a->reset) {
		rc = db_del(s, txn, DB_LOGIN, a->email, strlen(a->email));
		return rc == MDB_NOTFOUND ? 0 : rc;
	}
	if ((rc = tx_login_get(s, txn, a)) != 0)
		return rc;
	if (a->rec.count > 0 && a->now - a->rec.last >= a->window)
		a->rec.count = 0;
	if (a->rec.count < UINT32_MAX)
		a->rec.count++;
	a->rec.last = a->now;
	return db_put(s, txn, DB_LOGIN, a->email, strlen(a->email), &a->rec,
	    sizeof(a->rec), 0);
}

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

int
lmdb_login_get(struct store *s, const char *email, unsigned *count,
    int64_t *last)
{
	struct login_arg a;
	int rc;

	*count = 0;
	*last = 0;
	if (login_arg(&a, email) == -1)
		return 0;
	if ((rc = store_read(s, tx_login_get, &a)) == 0) {
		*count = a.rec.count;
		*last = a.rec.last;
	}
	return rc;
}

#define LOGIN_LOCKED (-40102)           /* private: abort, nothing written */

/* store_login_attempt's transaction: the lock check and the count together. */
static int
tx_login_attempt(struct store *s, MDB_txn *txn, void *arg)
{
	struct login_arg *a = arg;
	int rc;

	if ((rc = tx_login_get(s, txn, a)) != 0)
		return rc;
	if (a->rec.count >= a->max && a->now - a->rec.last < a->window)
		return LOGIN_LOCKED;
	return tx_login_update(s, txn, a);
}

int
lmdb_login_attempt(struct store *s, const char *email, int64_t now,
    int64_t window_ms, unsigned max, unsigned *count, int64_t *last_ms,
    int *locked)
{
	struct login_arg a;
	int rc;

	*count = 0;
	*last_ms = 0;
	*locked = 0;
	if (login_arg(&a, email) == -1)
		return 0;
	a.now = now;
	a.window = window_ms;
	a.max = max;
	rc = store_write(s, tx_login_attempt, &a);
	if (rc == LOGIN_LOCKED) {
		*locked = 1;
		rc = 0;
	}
	*count = a.rec.count;
	*last_ms = a.rec.last;
	return rc;
}

int
lmdb_login_reset(struct store *s, const char *email)
{
	struct login_arg a;

	if (login_arg(&a, email) == -1)
		return 0;
	a.reset = 1;
	return store_write(s, tx_login_update, &a);
}

struct jti_walk {
	jti_each_fn	 fn;
	void		*arg;
};

/* Every revocation of DB_JTI_REV to w->fn; its own code stops the walk. */
static int
tx_jti_each(struct store *s, MDB_txn *txn, void *arg)
{
	struct jti_walk *w = arg;
	MDB_cursor *c;
	MDB_val k, v;
	char jti[257];
	int64_t exp;
	int rc;

	if ((rc = mdb_cursor_open(txn, s->dbi[DB_JTI_REV], &c)) != 0)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size >= sizeof(jti) || v.mv_size != sizeof(exp))
			continue;       /* not ours: lmdb_jti_revoke never writes it */
		memcpy(jti, k.mv_data, k.mv_size);
		jti[k.mv_size] = '\0';
		memcpy(&exp, v.mv_data, sizeof(exp));
		if ((rc = w->fn(jti, exp, w->arg)) != 0)
			break;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int
lmdb_jti_each(struct store *s, jti_each_fn fn, void *arg)
{
	struct jti_walk w = { fn, arg };

	return store_read(s, tx_jti_each, &w);
}
