/*
 * store_pg_cache.c - a worker's cache of what checks read (pg_token_auth)
 * and the change feed that keeps it true.
 *
 * The cache maps a jti to the row of store_token_auth's statement (the
 * token, its owner, the owner's team role) as PostgreSQL sent it; a hit
 * parses that row again, so that a hit and a miss give the same record.
 * It is direct-mapped: PGC_SLOTS slots, a jti goes to one slot by its
 * hash, and a newer row takes the slot of an older one.
 *
 * The feed is a second connection of the worker that LISTENs on the
 * channel tokencat_auth, which triggers on tokens, users and members
 * notify at each commit that changes them (003_change_feed.sql). Before
 * every use of the cache, pgc_usable reads what the feed received without
 * waiting (PQconsumeInput never blocks: libpq keeps its socket
 * non-blocking): any notification drops the whole cache. A row is stored
 * only after such a poll and is read by one statement after it, so a
 * change committed after that statement's snapshot notifies, and the
 * notification is seen at the next poll, before the row is used again.
 *
 * The feed connects with the store (STORE_SERVE, in a worker before its
 * sandbox: the first connection reads the password file) and reconnects
 * with PQreset, which keeps what the first one read. Without a feed (not
 * connected, lost, the server down) the cache is empty and every check
 * reads through; a worker tries the feed again at most once a second, and
 * only while its main connection is up.
 * A row is also forgotten PGC_TTL_MS after it was read: should the feed
 * die silently (a network that drops packets without a reset), no check
 * answers from a row older than that.
 *
 * A notification reaches the other workers some time after the commit:
 * the server signals their feed's sessions, which then send it. A client
 * that changed a token through one worker and at once sends a check to
 * another of the same host must not be answered from that worker's old
 * row, so the host keeps a change counter besides: a shared memory object
 * (/dev/shm/tokencat-<SHA-256 of conninfo>, 0600, of the workers' user)
 * mapped by every store opened on that conninfo. pg_write adds one after
 * each commit, before its caller answers, and pgc_usable drops the cache
 * when the counter moved. The feed carries the changes of other hosts
 * (and of SQL run by hand); the counter those of this one, at once. A
 * worker that cannot have the counter keeps no cache.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store_pg_int.h"
#include "util.h"

#define PGC_SLOTS	1024            /* a power of 2 */
#define PGC_TTL_MS	1000
#define PGC_RETRY_MS	1000
#define PGC_CHANNEL	"tokencat_auth"

struct pgc_slot {
	PGresult	*r;             /* NULL: empty */
	int64_t		 at_ms;         /* monotonic time it was read */
};

struct pg_cache {
	struct pgc_slot	 slot[PGC_SLOTS];
	PGconn		*feed;
	int		 listening;     /* 0: no feed, so no cache */
	int		 ended;         /* the server ended the feed's session */
	int64_t		 retry_ms;      /* no new try of the feed before */
	uint64_t	 seen;          /* the host's change counter at the last poll */
};

static int64_t
mono_ms(void)
{
	return util_mono_us() / 1000;
}

/* FNV-1a of the jti: its slot. */
static struct pgc_slot *
slot_of(struct pg_cache *c, const char *jti)
{
	uint32_t h = 2166136261u;

	for (; *jti != '\0'; jti++)
		h = (h ^ (unsigned char)*jti) * 16777619u;
	return &c->slot[h & (PGC_SLOTS - 1)];
}

static void
drop_all(struct pg_cache *c)
{
	size_t i;

	for (i = 0; i < PGC_SLOTS; i++) {
		PQclear(c->slot[i].r);
		c->slot[i].r = NULL;
	}
}

/* No feed, no cache, until the next try. */
static void
feed_lost(struct pg_cache *c)
{
	c->listening = 0;
	c->retry_ms = mono_ms() + PGC_RETRY_MS;
	drop_all(c);
}

/*
 * An error the server sends to a connection that runs no query ends its
 * session (FATAL: a shutdown, pg_terminate_backend): libpq passes it here
 * as a notice, and sees the connection closed only at a later read.
 */
static void
feed_notice(void *arg, const PGresult *r)
{
	struct pg_cache *c = arg;
	const char *sev = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);

	if (sev != NULL && (strcmp(sev, "ERROR") == 0 ||
	    strcmp(sev, "FATAL") == 0 || strcmp(sev, "PANIC") == 0)) {
		c->ended = 1;
		log_error("store: change feed: %s", PQresultErrorMessage(r));
	}
}

/*
 * LISTEN on the feed just (re)connected. The cache starts empty: nothing
 * in it may have been read before the LISTEN, whose notifications this
 * connection would have missed.
 */
static void
feed_listen(struct pg_cache *c)
{
	PGresult *r;

	feed_lost(c);
	if (PQstatus(c->feed) != CONNECTION_OK) {
		log_error("store: change feed: %s", PQerrorMessage(c->feed));
		return;
	}
	c->ended = 0;
	r = PQexec(c->feed, "LISTEN " PGC_CHANNEL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		log_error("store: change feed: LISTEN: %s",
		    PQerrorMessage(c->feed));
		PQclear(r);
		return;
	}
	PQclear(r);
	c->listening = 1;
	log_info("store: change feed connected: checks use the cache");
}

/* --- the host's change counter --- */

void
pgc_changes_name(struct store *s, const char *conninfo)
{
	char hex[SHA256_HEX + 1];

	util_sha256_hex(conninfo, strlen(conninfo), hex);
	snprintf(s->changes_name, sizeof(s->changes_name), "/tokencat-%.32s", hex);
}

/*
 * Map the counter; create it if create. Only one of the workers' own
 * user, that nobody else may write, is used. 0, or -1 with errno set.
 */
static int
changes_map(struct store *s, int create)
{
	struct stat sb;
	void *p;
	int fd, e;

	fd = shm_open(s->changes_name, O_RDWR | O_NOFOLLOW | O_CLOEXEC |
	    (create ? O_CREAT : 0), 0600);
	if (fd == -1)
		return -1;
	if (fstat(fd, &sb) == -1)
		goto fail;
	if (create && (sb.st_uid != geteuid() || (sb.st_mode & 077) != 0)) {
		errno = EPERM;
		goto fail;
	}
	/* every opener asks for the same size: a race of two is harmless */
	if (sb.st_size < (off_t)sizeof(uint64_t) && (!create ||
	    ftruncate(fd, sizeof(uint64_t)) == -1)) {
		if (!create)
			errno = ENOENT;
		goto fail;
	}
	p = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED,
	    fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	close(fd);
	s->changes = p;
	return 0;
fail:
	e = errno;
	close(fd);
	errno = e;
	return -1;
}

void
pgc_changed(struct store *s)
{
	/* a CLI may run before any worker made the counter: look each time */
	if (s->changes == NULL && (s->serve || changes_map(s, 0) == -1))
		return;
	__atomic_add_fetch(s->changes, 1, __ATOMIC_SEQ_CST);
}

static void
changes_unmap(struct store *s)
{
	if (s->changes != NULL)
		munmap(s->changes, sizeof(uint64_t));
	s->changes = NULL;
}

/* --- the cache and its feed --- */

int
pgc_init(struct store *s, const char *conninfo)
{
	const char *const keys[] = { "connect_timeout", "application_name",
	    "dbname", NULL };
	const char *const vals[] = { "5", "tokencat feed", conninfo, NULL };
	struct pg_cache *c;

	if (changes_map(s, 1) == -1) {
		log_error("store: no change counter /dev/shm%s (%s): checks read "
		    "through, without a cache", s->changes_name, strerror(errno));
		return STORE_OK;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return STORE_NOMEM;
	c->seen = __atomic_load_n(s->changes, __ATOMIC_SEQ_CST);
	if ((c->feed = PQconnectdbParams(keys, vals, 1)) == NULL) {
		free(c);
		return STORE_NOMEM;
	}
	PQsetNoticeReceiver(c->feed, feed_notice, c);
	feed_listen(c);
	s->cache = c;
	return STORE_OK;
}

void
pgc_close(struct store *s)
{
	changes_unmap(s);
	if (s->cache == NULL)
		return;
	drop_all(s->cache);
	PQfinish(s->cache->feed);
	free(s->cache);
	s->cache = NULL;
}

int
pgc_usable(struct store *s)
{
	struct pg_cache *c = s->cache;
	PGnotify *n;
	uint64_t now;
	int changed = 0, read;

	if (c == NULL || s->snap)
		return 0;
	/* this host's changes, before what the feed says of others' */
	if ((now = __atomic_load_n(s->changes, __ATOMIC_SEQ_CST)) != c->seen) {
		c->seen = now;
		drop_all(c);
	}
	if (!c->listening) {
		if (mono_ms() < c->retry_ms || PQstatus(s->conn) != CONNECTION_OK)
			return 0;       /* the server is away: read through */
		PQreset(c->feed);
		feed_listen(c);
		return c->listening;
	}
	if ((read = PQconsumeInput(c->feed)) == 1)
		while ((n = PQnotifies(c->feed)) != NULL) {     /* parses */
			changed = 1;
			PQfreemem(n);
		}
	if (!read || c->ended || PQstatus(c->feed) != CONNECTION_OK) {
		log_error("store: change feed lost, checks read through until "
		    "it is back%s%s", c->ended ? "" : ": ",
		    c->ended ? "" : PQerrorMessage(c->feed));
		feed_lost(c);
		return 0;
	}
	if (changed)
		drop_all(c);
	return 1;
}

PGresult *
pgc_get(struct store *s, const char *jti, int jti_col)
{
	struct pgc_slot *e = slot_of(s->cache, jti);

	if (e->r == NULL)
		return NULL;
	if (mono_ms() - e->at_ms >= PGC_TTL_MS ||
	    strcmp(PQgetvalue(e->r, 0, jti_col), jti) != 0)
		return NULL;
	return e->r;
}

void
pgc_put(struct store *s, const char *jti, PGresult *r)
{
	struct pgc_slot *e = slot_of(s->cache, jti);

	PQclear(e->r);
	e->r = r;
	e->at_ms = mono_ms();
}
