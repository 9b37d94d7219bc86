/*
 * store_index.c - the token indexes (store_token.c) in an environment of
 * their own, <database>/index/<boot id>/, opened with MDB_NOSYNC.
 *
 * The indexes are a cache of the tokens database: all they hold can be
 * made again from it. Kept in the catalog, they made a durable create
 * write five more B-trees (four of them at random places), about three
 * times the pages of the token and its audit event alone, and a durable
 * commit costs about its pages. Here they cost no flush: each write of
 * tokens writes the indexes in a transaction of their own, begun under
 * the catalog's writer lock and committed just after the catalog's.
 *
 * Both count those writes in a generation: IDB_STATE here, "index" in the
 * catalog's meta database, with an epoch drawn at random for each catalog
 * so that the indexes of another catalog never pass for its own. The
 * indexes are made again from the tokens, under the writer lock, when the
 * generations differ: a process that died between the two commits, or a
 * second commit that failed, left them a write behind. A failed first
 * commit leaves them as they were: the index transaction is aborted. A process
 * that dies leaves its writes in the page cache, so within one boot the
 * environment stays sound; a crash of the host may tear it (no sync), so
 * each boot has a directory of its own, and the first process of a boot
 * removes those of earlier ones and makes the indexes again.
 *
 * Readers take the catalog's read transaction first and the indexes'
 * second. Between a writer's two commits a reader may miss the entries of
 * that write (its token appears a moment later), and an entry written
 * after the reader's catalog snapshot names a record the reader does not
 * find: it skips it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "log.h"
#include "store_int.h"

static const char *const idb_names[IDB__MAX] = {
	"tok_jti", "tok_name", "tok_idx", "tok_cnt", "tok_exp", "state"
};

/* The generation: the catalog's epoch and its count of index writes. */
struct istate {
	uint64_t	epoch, gen;
};

static const char state_key[] = "index";

static int make_current(struct store *, MDB_txn *, unsigned);

/* How s->itxn is held, for index_abort. */
enum { IK_NONE, IK_READ, IK_CACHED, IK_SAME, IK_WRITE };

/* The catalog's generation in txn; MDB_NOTFOUND before index_open made one. */
static int
main_state(struct store *s, MDB_txn *txn, struct istate *st)
{
	MDB_val k = { sizeof(state_key) - 1, (void *)(uintptr_t)state_key }, v;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = mdb_get(txn, s->dbi[DB_META], &k, &v)) != 0)
		return rc;
	if (v.mv_size != sizeof(*st))
		return MDB_CORRUPTED;
	memcpy(st, v.mv_data, sizeof(*st));
	return 0;
}

/* 1 when the indexes of itxn are those of the catalog's txn. */
static int
current(struct store *s, MDB_txn *txn, MDB_txn *itxn)
{
	MDB_val k = { sizeof(state_key) - 1, (void *)(uintptr_t)state_key }, v;
	struct istate m;

	if (main_state(s, txn, &m) != 0 ||
	    mdb_get(itxn, s->idbi[IDB_STATE], &k, &v) != 0 || v.mv_size != sizeof(m))
		return 0;
	return memcmp(v.mv_data, &m, sizeof(m)) == 0;
}

static int
put_state(struct store *s, MDB_txn *txn, MDB_dbi dbi, const struct istate *st)
{
	MDB_val k = { sizeof(state_key) - 1, (void *)(uintptr_t)state_key },
	    v = { sizeof(*st), (void *)(uintptr_t)st };

	return mdb_put(txn, dbi, &k, &v, 0);
}

/* Empty the indexes of itxn and fill them from the tokens of txn. */
static int
rebuild(struct store *s, MDB_txn *txn, MDB_txn *itxn)
{
	struct istate st;
	size_t n = 0;
	int i, rc;

	for (i = 0; i < IDB__MAX; i++)
		if ((rc = mdb_drop(itxn, s->idbi[i], 0)) != 0)
			return rc;
	if ((rc = main_state(s, txn, &st)) != 0 && rc != MDB_NOTFOUND)
		return rc;
	s->itxn = itxn;
	rc = tx_token_index_all(s, txn, &n);
	s->itxn = NULL;
	if (rc == 0)
		rc = put_state(s, itxn, s->idbi[IDB_STATE], &st);
	if (rc == 0 && n > 0)
		log_info("store: the token indexes were made again from %zu "
		    "tokens", n);
	return rc;
}

/*
 * Keep SPARE_PAGES allocated on disk past the indexes' last page, a chunk
 * at a time (FALLOC_FL_KEEP_SIZE: LMDB's pages go there as written). The
 * indexes are committed after the catalog: with room kept, a full disk
 * fails the write here, before anything is committed, and not the
 * indexes of a change already stored. 0, or ENOSPC and the like.
 */
#define SPARE_PAGES	64
static int
reserve(struct store *s)
{
	MDB_envinfo info;
	MDB_stat st;
	mdb_filehandle_t fd;
	off_t need;

	if (s->ireserved < 0 || mdb_env_info(s->ienv, &info) != 0 ||
	    mdb_env_stat(s->ienv, &st) != 0 || mdb_env_get_fd(s->ienv, &fd) != 0)
		return 0;
	need = (off_t)(info.me_last_pgno + 1 + SPARE_PAGES) * st.ms_psize;
	if (need <= s->ireserved)
		return 0;
	need += (off_t)SPARE_PAGES * st.ms_psize;
	if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, need) == -1) {
		if (errno != EOPNOTSUPP && errno != ENOSYS)
			return errno;
		s->ireserved = -1;      /* not on this file system */
		return 0;
	}
	s->ireserved = need;
	return 0;
}

int
index_begin(struct store *s, MDB_txn *txn, int write)
{
	MDB_txn *itxn;
	int rc, cached;

	s->itxn = NULL;
	s->ikind = IK_NONE;
	if (s->ienv == NULL)
		return STORE_IO;
	if (s->ienv == s->env) {                /* an older, read-only catalog */
		s->itxn = txn;
		s->ikind = IK_SAME;
		return write ? STORE_RDONLY : 0;
	}
	if (!write) {
		if ((rc = store_read_begin(s, s->ienv, &itxn, &cached)) != 0)
			return rc;
		s->itxn = itxn;
		s->ikind = cached ? IK_CACHED : IK_READ;
		s->icached = cached;
		return 0;
	}
	if ((rc = reserve(s)) != 0 || (rc = store_txn_begin(s->ienv, 0, &itxn)) != 0)
		return rc;
	if (!current(s, txn, itxn) && (rc = rebuild(s, txn, itxn)) != 0) {
		if (rc == MDB_MAP_FULL)
			s->ifull = 1;
		mdb_txn_abort(itxn);
		return rc;
	}
	s->itxn = itxn;
	s->ikind = IK_WRITE;
	return 0;
}

void
index_abort(struct store *s)
{
	switch (s->ikind) {
	case IK_WRITE:
		mdb_txn_abort(s->itxn);
		break;
	case IK_READ:
	case IK_CACHED:
		store_read_end(s, s->ienv, s->itxn, s->icached);
		break;
	default:
		break;
	}
	s->itxn = NULL;
	s->ikind = IK_NONE;
}

int
index_commit_with(struct store *s, MDB_txn *txn, int *behind)
{
	struct istate st;
	int rc;

	*behind = 0;
	if ((rc = main_state(s, txn, &st)) != 0 && rc != MDB_NOTFOUND)
		goto fail;
	st.gen++;
	if ((rc = put_state(s, txn, s->dbi[DB_META], &st)) != 0)
		goto fail;
	if ((rc = put_state(s, s->itxn, s->idbi[IDB_STATE], &st)) != 0) {
		if (rc == MDB_MAP_FULL)
			s->ifull = 1;
		goto fail;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		index_abort(s);
		return rc;
	}
	/* the change is stored: indexes that fail now are behind */
	rc = mdb_txn_commit(s->itxn);
	s->itxn = NULL;
	s->ikind = IK_NONE;
	if (rc != 0) {
		log_warn("store: the token indexes could not be written (%s): "
		    "making them again", mdb_strerror(rc));
		*behind = 1;
	}
	return 0;
fail:
	index_abort(s);
	mdb_txn_abort(txn);
	return rc;
}

void
index_repair(struct store *s)
{
	MDB_txn *txn;
	int rc;

	if ((rc = store_txn_begin(s->env, 0, &txn)) == 0) {
		rc = make_current(s, txn, 0);
		mdb_txn_abort(txn);
	}
	if (rc != 0)
		log_error("store: the token indexes could not be made again (%s): "
		    "the next write tries again", mdb_strerror(rc));
}

/* --- opening --- */

static int
open_idbis(struct store *s, MDB_txn *itxn, unsigned flags)
{
	int i, rc;

	for (i = 0; i < IDB__MAX; i++)
		if ((rc = mdb_dbi_open(itxn, idb_names[i], flags, &s->idbi[i])) != 0)
			return rc;
	return 0;
}

/* <dir>/index/<this boot's id> into path, and that boot id into boot. */
static int
index_path(const struct store *s, char *path, size_t size, char boot[SHFILE_BOOT])
{
	shfile_boot_id(boot);
	boot[strcspn(boot, "\n")] = '\0';
	if (boot[0] == '\0')
		snprintf(boot, SHFILE_BOOT, "unknown");
	return snprintf(path, size, "%s/index/%s", s->dir, boot) >= (int)size ?
	    ENAMETOOLONG : 0;
}

/* Remove dir/name/{data,lock}.mdb and dir/name. */
static void
remove_env_dir(const char *dir, const char *name)
{
	char p[4096];

	if (snprintf(p, sizeof(p), "%s/%s/data.mdb", dir, name) < (int)sizeof(p))
		(void)unlink(p);
	if (snprintf(p, sizeof(p), "%s/%s/lock.mdb", dir, name) < (int)sizeof(p))
		(void)unlink(p);
	if (snprintf(p, sizeof(p), "%s/%s", dir, name) < (int)sizeof(p))
		(void)rmdir(p);
}

/* The directories of earlier boots in <dir>/index: no process of theirs
 * is left, and a crash may have torn what they hold. */
static void
remove_earlier(const struct store *s, const char *boot)
{
	char dir[4096];
	struct dirent *e;
	DIR *d;

	if (snprintf(dir, sizeof(dir), "%s/index", s->dir) >= (int)sizeof(dir) ||
	    (d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' && strcmp(e->d_name, boot) != 0) {
			log_info("store: removing the token indexes of an earlier "
			    "boot, %s/%s", dir, e->d_name);
			remove_env_dir(dir, e->d_name);
		}
	closedir(d);
}

static int
env_make(struct store *s, const char *path, size_t map_mb, unsigned flags)
{
	int rc;

	if ((rc = mdb_env_create(&s->ienv)) != 0) {
		s->ienv = NULL;
		return rc;
	}
	mdb_env_set_maxdbs(s->ienv, IDB__MAX + 1);
	mdb_env_set_maxreaders(s->ienv, 512);
	mdb_env_set_mapsize(s->ienv, map_mb << 20);
	if ((rc = mdb_env_open(s->ienv, path, MDB_NOTLS | flags, 0600)) != 0) {
		mdb_env_close(s->ienv);
		s->ienv = NULL;
	}
	return rc;
}

/* The catalog's first generation, with an epoch of its own. */
static int
tx_state_init(struct store *s, MDB_txn *txn, void *arg)
{
	struct istate st;
	int rc;

	(void)arg;
	if ((rc = main_state(s, txn, &st)) != MDB_NOTFOUND)
		return rc;
	if (RAND_bytes((unsigned char *)&st.epoch, sizeof(st.epoch)) != 1)
		return STORE_IO;
	st.gen = 0;
	return put_state(s, txn, s->dbi[DB_META], &st);
}

/* The indexes of itxn made current from the catalog's txn, committed. */
static int
make_current(struct store *s, MDB_txn *txn, unsigned iflags)
{
	MDB_txn *itxn;
	int rc, tries;

	for (tries = 0; tries < MAP_GROW_TRIES; tries++) {
		if ((rc = store_txn_begin(s->ienv, iflags, &itxn)) != 0)
			return rc;
		if ((rc = open_idbis(s, itxn, MDB_CREATE)) == 0 &&
		    (current(s, txn, itxn) || (rc = rebuild(s, txn, itxn)) == 0))
			rc = mdb_txn_commit(itxn);
		else
			mdb_txn_abort(itxn);
		if (rc != MDB_MAP_FULL || store_map_grow(s, s->ienv) != 0)
			return rc;
	}
	return MDB_MAP_FULL;
}

int
index_open(struct store *s, size_t map_mb)
{
	char path[4096], boot[SHFILE_BOOT], *slash;
	MDB_txn *txn, *itxn;
	int rc, dead = 0, cur = 0;

	if ((rc = index_path(s, path, sizeof(path), boot)) != 0)
		return rc;
	slash = strrchr(path, '/');             /* <dir>/index, then the boot's */
	*slash = '\0';
	rc = mkdir(path, 0700) == -1 && errno != EEXIST ? errno : 0;
	*slash = '/';
	if (rc != 0)
		return rc;
	remove_earlier(s, boot);
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return errno;
	if ((rc = env_make(s, path, map_mb, MDB_NOSYNC | MDB_NOMETASYNC)) != 0)
		return rc;
	mdb_reader_check(s->ienv, &dead);
	/* the handles (and the databases, in a new directory) */
	if ((rc = store_txn_begin(s->ienv, 0, &itxn)) != 0)
		return rc;
	if ((rc = open_idbis(s, itxn, MDB_CREATE)) != 0) {
		mdb_txn_abort(itxn);
		return rc;
	}
	if ((rc = mdb_txn_commit(itxn)) != 0)
		return rc;
	/* current, as another process left them: no writer lock at all */
	if ((rc = store_txn_begin(s->env, MDB_RDONLY, &txn)) != 0)
		return rc;
	if ((rc = store_txn_begin(s->ienv, MDB_RDONLY, &itxn)) == 0) {
		cur = current(s, txn, itxn);
		mdb_txn_abort(itxn);
	}
	mdb_txn_abort(txn);
	if (rc != 0 || cur)
		return rc;
	/* else under the writer lock, where no index write is half done */
	if ((rc = store_txn_begin(s->env, 0, &txn)) != 0)
		return rc;
	if ((rc = tx_state_init(s, txn, NULL)) != 0 ||
	    (rc = make_current(s, txn, 0)) != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);     /* writes only a new generation */
}

/* A catalog of schema 1 keeps its indexes (all but IDB_STATE, under the
 * same names): use them where they are. */
static int
open_in_catalog(struct store *s, MDB_txn *txn)
{
	int i, rc;

	for (i = 0; i < IDB_STATE; i++)
		if ((rc = mdb_dbi_open(txn, idb_names[i], 0, &s->idbi[i])) != 0)
			return rc;
	s->ienv = s->env;
	return 0;
}

int
index_drop_old(struct store *s, MDB_txn *txn)
{
	MDB_dbi old;
	int i, rc;

	(void)s;
	for (i = 0; i < IDB_STATE; i++) {
		if ((rc = mdb_dbi_open(txn, idb_names[i], 0, &old)) == 0)
			rc = mdb_drop(txn, old, 1);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
	}
	return 0;
}

/* This boot's indexes, read-only, when they are those of the catalog. */
static int
open_this_boot(struct store *s, MDB_txn *txn, size_t map_mb)
{
	char path[4096], boot[SHFILE_BOOT];
	MDB_txn *itxn;
	int rc;

	if ((rc = index_path(s, path, sizeof(path), boot)) != 0)
		return rc;
	if ((rc = env_make(s, path, map_mb, MDB_RDONLY)) == EACCES || rc == EROFS)
		rc = env_make(s, path, map_mb, MDB_RDONLY | MDB_NOLOCK);
	if (rc != 0)
		return rc;
	if ((rc = store_txn_begin(s->ienv, MDB_RDONLY, &itxn)) == 0) {
		if ((rc = open_idbis(s, itxn, 0)) == 0 && !current(s, txn, itxn))
			rc = MDB_NOTFOUND;
		if (rc == 0)
			rc = mdb_txn_commit(itxn);      /* keeps the handles */
		else
			mdb_txn_abort(itxn);
	}
	if (rc != 0) {
		mdb_env_close(s->ienv);
		s->ienv = NULL;
	}
	return rc;
}

/* A private copy of the indexes, made from txn, in a new directory of
 * TMPDIR removed at once: the open environment lives on in its files,
 * until the process ends (a sandboxed one removes nothing). */
static int
open_private(struct store *s, MDB_txn *txn, size_t map_mb)
{
	const char *tmp = getenv("TMPDIR");
	char path[4096], *slash;
	int rc;

	if (snprintf(path, sizeof(path), "%s/tokencat-index-XXXXXX",
	    tmp != NULL && *tmp == '/' ? tmp : "/tmp") >= (int)sizeof(path))
		return ENAMETOOLONG;
	if (mkdtemp(path) == NULL)
		return errno;
	rc = env_make(s, path, map_mb, MDB_NOSYNC | MDB_NOMETASYNC);
	slash = strrchr(path, '/');
	*slash = '\0';
	remove_env_dir(path, slash + 1);
	*slash = '/';
	if (rc != 0)
		return rc;
	log_warn("store: the token indexes of %s are not at hand: made a "
	    "private copy in %s (removed)", s->dir, path);
	return make_current(s, txn, 0);
}

int
index_open_rdonly(struct store *s, size_t map_mb)
{
	MDB_txn *txn;
	int rc;

	if ((rc = store_txn_begin(s->env, MDB_RDONLY, &txn)) != 0)
		return rc;
	if ((rc = open_in_catalog(s, txn)) == 0) {
		rc = mdb_txn_commit(txn);               /* keeps the handles */
		return rc;
	}
	if ((rc = open_this_boot(s, txn, map_mb)) != 0)
		rc = open_private(s, txn, map_mb);
	mdb_txn_abort(txn);
	return rc;
}

void
index_close(struct store *s)
{
	if (s->ienv != NULL && s->ienv != s->env)
		mdb_env_close(s->ienv);
	s->ienv = NULL;
}
