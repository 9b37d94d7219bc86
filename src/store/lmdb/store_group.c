/*
 * store_group.c - group commit of the catalog's durable writes.
 *
 * LMDB has one writer at a time, and a durable commit waits for the disk
 * (fdatasync of the pages, then of the meta page). A write that waits
 * for the writer lock while another commit is flushed can instead be
 * written by that lock's next holder, in one commit with every other
 * write that waited, so the disk is flushed once for all of them.
 *
 * The writes wait in a file, <database>/commitq, that the workers map:
 * GROUP_SLOTS slots under one robust process-shared mutex. A process
 * claims a slot (by locking the slot's own robust mutex, held until it
 * has its result), copies its write into it as an operation and its
 * data (a token's record, GROUP_DATA bytes at most) with its audit event,
 * marks it ready and asks LMDB for the writer lock. Whoever gets that
 * lock next (the leader) takes every ready slot, applies each (a write
 * refused before it writes anything, a taken name, fails alone; any other
 * failure fails them all), commits once and marks the slots done with
 * their results. Not in nested transactions: LMDB allocates 2 MiB for
 * each, in each environment (store_index.c). A
 * process whose slot is done when it gets the lock aborts that empty
 * transaction and returns the result: its write was flushed in the
 * leader's commit.
 *
 * A writer that finds a leader at work first waits on a futex in the
 * file for that leader to be done (up to WAIT_TIMES x WAIT_MS): the
 * leader may have taken its slot, and then it has its result without
 * queueing for the writer lock behind the other writers of that commit.
 *
 * A leader holds a robust mutex of its own from before its commit until
 * its slots are done: LMDB lets go of the writer lock in the commit, and
 * the next holder must not take those slots for orphans, nor find its own
 * slot still taken. So each writer takes the writer lock, then the
 * leader's mutex, then looks at its slot.
 *
 * Failures. The slots taken by a leader that died (the leader's mutex
 * says EOWNERDEAD) are taken again by the next leader, and applying a
 * write is idempotent (the token's id and jti say whether it is stored),
 * so a leader that died after its commit leaves no write applied twice.
 * A slot whose owner died is claimed again (EOWNERDEAD) unless a leader
 * holds it. A process without a slot (no file, all slots claimed, a
 * write larger than a slot) writes on its own, as before.
 *
 * Life. Workers map the file when they open the store (STORE_SERVE: before
 * their sandbox), as a file of the host's processes (store_shfile.c):
 * kept within its boot, emptied after one (the writes of that boot's
 * processes were answered to no one).
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "store_int.h"

#define GROUP_MAGIC	0x3270756f72676374ULL   /* "tcgroup2" */
#define GROUP_SLOTS	64
#define GROUP_DATA	16384
#define LEAD_PASSES	4               /* looks for ready slots a commit */

enum slot_state { SL_FREE, SL_READY, SL_TAKEN, SL_DONE };

struct group_slot {
	pthread_mutex_t		owner;  /* held by the process waiting on it */
	uint32_t		state;  /* enum slot_state, under the header's lock */
	int32_t			result; /* a STORE_* code once SL_DONE */
	uint32_t		op;     /* enum group_op */
	uint32_t		len;
	int32_t			has_ev;
	struct audit_event	ev;
	char			data[GROUP_DATA];
};

struct group_hdr {
	struct shfile_hdr f;
	/* for tests and the curious: group commits made, the writes in
	 * them, and the writes put in slots */
	uint64_t	commits, writes, queued;
	uint32_t	leading;        /* a leader has taken its slots */
	uint32_t	gen;            /* a futex: + 1 when a leader is done */
	pthread_mutex_t	lock;           /* the slots' states */
	pthread_mutex_t	lead;           /* held by a leader until its slots are
					 * done, past its commit (which ends
					 * the writer lock) */
};

#define HDR_SIZE	4096
#define FILE_SIZE	(HDR_SIZE + (size_t)GROUP_SLOTS * sizeof(struct group_slot))

struct group {
	struct group_hdr	*h;
	int			 fd;
};

static struct group_slot *
slot_in(struct group_hdr *h, size_t i)
{
	return (struct group_slot *)((char *)h + HDR_SIZE) + i;
}

static struct group_slot *
slot_at(struct group *g, size_t i)
{
	return slot_in(g->h, i);
}

static int
file_init(void *base)
{
	struct group_hdr *h = base;
	size_t i;
	int e;

	if ((e = shfile_mutex_init(&h->lock)) != 0 ||
	    (e = shfile_mutex_init(&h->lead)) != 0)
		return e;
	for (i = 0; i < GROUP_SLOTS; i++)
		if ((e = shfile_mutex_init(&slot_in(h, i)->owner)) != 0)
			return e;
	return 0;
}

void
group_open(struct store *s)
{
	static const struct shfile_hdr want = { GROUP_MAGIC, GROUP_SLOTS,
	    sizeof(struct group_slot), "" };
	char path[4096];
	struct group *g;

	if (snprintf(path, sizeof(path), "%s/commitq", s->dir) >= (int)sizeof(path) ||
	    (g = calloc(1, sizeof(*g))) == NULL)
		return;
	if ((g->h = shfile_open(path, FILE_SIZE, &want, file_init, &g->fd)) == NULL) {
		log_warn("store: no group commit file %s (%s): each write is "
		    "committed alone", path, strerror(errno));
		if (g->fd != -1)
			close(g->fd);
		free(g);
		return;
	}
	s->grp = g;
}

void
group_close(struct store *s)
{
	struct group *g = s->grp;

	if (g == NULL)
		return;
	munmap(g->h, FILE_SIZE);
	close(g->fd);                   /* and its lock */
	free(g);
	s->grp = NULL;
}

/* Take the header's lock; a holder that died left one state word at most. */
static void
hdr_lock(struct group *g)
{
	int died;

	(void)shfile_mutex_lock(&g->h->lock, &died);
}

static void
hdr_unlock(struct group *g)
{
	pthread_mutex_unlock(&g->h->lock);
}

/*
 * Claim a slot: lock its owner mutex and find it free (or done or ready
 * for an owner that died: nobody waits for that answer). A slot that a
 * leader holds is left to it. NULL when none can be had.
 */
static struct group_slot *
slot_claim(struct group *g)
{
	struct group_slot *sl;
	size_t i;
	int rc;

	for (i = 0; i < GROUP_SLOTS; i++) {
		sl = slot_at(g, i);
		if ((rc = pthread_mutex_trylock(&sl->owner)) == EOWNERDEAD)
			pthread_mutex_consistent(&sl->owner);
		else if (rc != 0)
			continue;
		hdr_lock(g);
		if (sl->state != SL_TAKEN) {
			sl->state = SL_FREE;
			hdr_unlock(g);
			return sl;
		}
		hdr_unlock(g);
		pthread_mutex_unlock(&sl->owner);
	}
	return NULL;
}

/* Write the slot's operation and its audit event in txn, once. */
static int
apply(struct store *s, MDB_txn *txn, const struct group_slot *sl)
{
	int rc, stored = 0;

	switch (sl->op) {
	case GROUP_TOKEN_ADD:
		rc = tx_token_add_record(s, txn, sl->data, sl->len, &stored);
		break;
	default:
		rc = STORE_INVALID;
	}
	if (rc == 0 && !stored && sl->has_ev)
		rc = audit_put(s, txn, &sl->ev);
	return rc;
}

/*
 * Mark the slots of idx done with their results, or with failed; or when
 * again, ready once more, for a leader with a larger map.
 */
static void
settle(struct store *s, struct group *g, const uint32_t *idx, const int *res,
    size_t n, int failed, int again)
{
	struct group_slot *sl;
	size_t i;

	hdr_lock(g);
	for (i = 0; i < n; i++) {
		sl = slot_at(g, idx[i]);
		if (again) {
			sl->state = SL_READY;
			continue;
		}
		sl->result = store_write_err(s->env, failed != 0 ? failed : res[i]);
		sl->state = SL_DONE;
	}
	if (failed == 0 && !again) {
		g->h->commits++;
		g->h->writes += n;
	}
	g->h->leading = 0;
	__atomic_add_fetch(&g->h->gen, 1, __ATOMIC_RELEASE);
	hdr_unlock(g);
	syscall(SYS_futex, &g->h->gen, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/*
 * While a leader is at work and sl is ready, wait (up to WAIT_MS a time)
 * for it to be done: it may have taken sl, and then sl's owner need not
 * take the writer lock at all. Returns 1 with sl done.
 */
#define WAIT_TIMES	4
#define WAIT_MS		20
static int
wait_leader(struct group *g, struct group_slot *sl)
{
	struct timespec ts = { 0, WAIT_MS * 1000000L };
	uint32_t gen, st;
	int i, leading;

	for (i = 0; i < WAIT_TIMES; i++) {
		hdr_lock(g);
		st = sl->state;
		leading = g->h->leading;
		gen = g->h->gen;
		hdr_unlock(g);
		if (st == SL_DONE)
			return 1;
		if (!leading || (st != SL_READY && st != SL_TAKEN))
			return 0;
		if (syscall(SYS_futex, &g->h->gen, FUTEX_WAIT, gen, &ts,
		    NULL, 0) == -1 && errno == ETIMEDOUT)
			return 0;
	}
	return 0;
}

/*
 * As the holder of the writer lock (txn, which this ends) and of the
 * leader's mutex (released here), write every ready slot (and the taken
 * ones of a leader that died, when orphans) and commit, the indexes
 * next (store_index.c), then mark them done. Returns 0, or MDB_MAP_FULL
 * with the slots ready again.
 */
static int
lead(struct store *s, struct group *g, MDB_txn *txn, int orphans)
{
	uint32_t idx[GROUP_SLOTS];
	int res[GROUP_SLOTS], rc, behind = 0, pass;
	struct group_slot *sl;
	size_t i, m, n = 0;

	s->ifull = 0;
	rc = index_begin(s, txn, 1);    /* failed: the slots fail with it */
	/* the slots made ready while the first ones were applied join too */
	for (pass = 0; pass < LEAD_PASSES; pass++) {
		m = n;
		hdr_lock(g);
		for (i = 0; i < GROUP_SLOTS; i++) {
			sl = slot_at(g, i);
			if (sl->state == SL_READY ||
			    (orphans && pass == 0 && sl->state == SL_TAKEN)) {
				sl->state = SL_TAKEN;
				idx[n++] = (uint32_t)i;
			}
		}
		g->h->leading = 1;
		hdr_unlock(g);
		for (i = m; i < n && rc == 0; i++) {
			res[i] = apply(s, txn, slot_at(g, idx[i]));
			if (res[i] != 0 && res[i] != STORE_EXISTS &&
			    res[i] != STORE_INVALID)
				rc = res[i];    /* txn holds part of it */
		}
		if (n == m || rc != 0)
			break;
	}
	if (rc == 0)
		rc = index_commit_with(s, txn, &behind);
	else {
		index_abort(s);
		mdb_txn_abort(txn);
	}
	settle(s, g, idx, res, n, rc, rc == MDB_MAP_FULL);
	pthread_mutex_unlock(&g->h->lead);
	if (behind)                     /* not under the leader's mutex */
		index_repair(s);
	return rc == MDB_MAP_FULL ? rc : 0;
}

/*
 * Have sl written through the writer lock: as the leader, or finding it
 * done by another's commit. *result is its STORE_* code.
 */
static void
write_through(struct store *s, struct group *g, struct group_slot *sl,
    int *result)
{
	MDB_txn *txn;
	int rc, tries, died;
	uint32_t st;

	for (tries = 0;; tries++) {
		/* the writer lock, then the leader's: a leader past its commit
		 * has this slot done or ready when it lets go of its mutex */
		died = 0;
		if ((rc = store_txn_begin(s->env, 0, &txn)) == 0)
			(void)shfile_mutex_lock(&g->h->lead, &died);
		hdr_lock(g);
		st = sl->state;
		/* withdrawn: a ready slot is taken by leaders under this lock
		 * only */
		if ((rc != 0 && st == SL_READY) || (rc == 0 &&
		    st == SL_READY && tries >= MAP_GROW_TRIES))
			sl->state = st = SL_FREE;
		*result = st == SL_DONE ? sl->result : rc != 0 ?
		    store_write_err(s->env, rc) : STORE_FULL;
		hdr_unlock(g);
		if (rc != 0)
			return; /* a taken slot is written and freed by its leader */
		/* done in another's commit, unless a leader died: then its
		 * slots are this one's to write, whatever this slot's state */
		if (st != SL_READY && !died) {
			pthread_mutex_unlock(&g->h->lead);
			mdb_txn_abort(txn);
			return;
		}
		if (lead(s, g, txn, died) == 0) {
			hdr_lock(g);
			if (sl->state == SL_DONE)
				*result = sl->result;
			hdr_unlock(g);
			return;
		}
		if (store_map_grow(s, s->ifull ? s->ienv : s->env) != 0)
			tries = MAP_GROW_TRIES;
	}
}

int
group_write(struct store *s, enum group_op op, const char *data, size_t len,
    const struct audit_event *ev, int *result)
{
	struct group *g = s->grp;
	struct group_slot *sl;

	if (g == NULL || len > GROUP_DATA || (sl = slot_claim(g)) == NULL)
		return 0;
	sl->op = op;
	sl->len = (uint32_t)len;
	memcpy(sl->data, data, len);
	if ((sl->has_ev = ev != NULL))
		sl->ev = *ev;
	hdr_lock(g);
	sl->state = SL_READY;
	g->h->queued++;
	hdr_unlock(g);
	if (wait_leader(g, sl)) {
		hdr_lock(g);
		*result = sl->result;
		hdr_unlock(g);
	} else
		write_through(s, g, sl, result);
	hdr_lock(g);
	if (sl->state == SL_DONE)
		sl->state = SL_FREE;
	hdr_unlock(g);
	pthread_mutex_unlock(&sl->owner);
	return 1;
}
