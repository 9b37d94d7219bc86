/*
 * store_admit.c - the admission table of the tokens with usage limits.
 *
 * Admitting a use of a limited token must be exact across the workers of
 * the host: count its windows and add the use as one step. In a write
 * transaction of the usage environment, that step made every such check
 * wait on LMDB's one writer lock and write pages. The table takes it in
 * shared memory instead: a file, <database>/usage/admit, that every
 * process of the catalog maps, with a slot per token in use. A slot holds
 * the allowed uses of its token in the buckets of the three windows
 * (use_pending.h) as rings, and one robust process-shared mutex guards the
 * table. An admission is a hash probe and a few additions under that lock,
 * without a system call; the use then goes into the process's batch like
 * any other (store_use_record) and is written within USE_FLUSH_MS.
 *
 * Exactness. A slot is made under the usage environment's write lock and
 * filled from the buckets stored there, plus the process's own pending
 * ones; from then on every use admitted for its token is counted in it at
 * once. A slot is given to another token only when every use it admitted
 * has been written (unflushed == 0), or when its newest use has left the
 * day window (a process that died with uses in its batch lost them), so a
 * slot made again reads all of them from the stored buckets. When no slot
 * can be had, the use is admitted in a write transaction as before
 * (store_usage.c: tx_admit), which looks for a slot first under that same
 * write lock.
 *
 * Life. Workers map the table when they open the store (STORE_SERVE:
 * before their sandbox), other processes at their first admission, as a
 * file of the host's processes (store_shfile.c): kept within its boot,
 * made again after one, when the uses of the processes of that boot are
 * counted again from the stored buckets as slots are made. A table that
 * cannot be made (a full disk) is
 * left empty, and the process keeps its lock: then no process of the host
 * uses a table until all of them are gone, and every admission takes the
 * write transaction, so the processes never count two ways at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "store_int.h"
#include "use_pending.h"
#include "util.h"

#define ADMIT_MAGIC	0x3174696d64616374ULL   /* "tcadmit1" */
#define ADMIT_SLOTS	2048
#define ADMIT_PROBE	32              /* slots a token may take, from its hash */

/* A ring a level, long enough for every bucket of its window (60 s / 1 s,
 * 3600 s / 60 s, 86400 s / 900 s, each + 1 for the bucket counted whole). */
static const unsigned ring_len[WIN__MAX] = { 64, 64, 128 };
static const unsigned ring_off[WIN__MAX] = { 0, 64, 128 };
#define RING_TOTAL	256

struct ring_ent {
	uint32_t	bn;             /* bucket number: its start / its width */
	uint32_t	n;              /* allowed uses in it */
};

struct admit_slot {
	char		id[UUID_LEN];   /* all zero: free */
	uint32_t	unflushed;      /* admitted uses not yet written */
	int64_t		last;           /* ms of the newest admitted use */
	struct ring_ent	r[RING_TOTAL];
};

struct admit_hdr {
	struct shfile_hdr	f;
	pthread_mutex_t		lock;
};

#define HDR_SIZE	4096
#define TABLE_SIZE	(HDR_SIZE + (size_t)ADMIT_SLOTS * sizeof(struct admit_slot))

/* This process's mapping, and its batch's uses admitted through slots. */
struct admit {
	struct admit_hdr	*h;             /* NULL: no table on this host */
	struct admit_slot	*slot;
	int			 fd;
	struct {
		uint32_t	 slot, n;
		char		 id[UUID_LEN];
	}			 mine[USE_BATCH];
	size_t			 nmine;
};

static int
table_init(void *base)
{
	return shfile_mutex_init(&((struct admit_hdr *)base)->lock);
}

int
admit_open(struct store *s)
{
	static const struct shfile_hdr want = { ADMIT_MAGIC, ADMIT_SLOTS,
	    sizeof(struct admit_slot), "" };
	char path[4096];
	struct admit *a;

	if (s->adm_tried)
		return STORE_OK;
	if (snprintf(path, sizeof(path), "%s/usage/admit", s->dir) >= (int)sizeof(path))
		return STORE_IO;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return STORE_NOMEM;
	s->adm_tried = 1;
	a->h = shfile_open(path, TABLE_SIZE, &want, table_init, &a->fd);
	if (a->fd == -1) {
		log_warn("store: no admission table %s (%s): usage limits are "
		    "counted in the usage database", path, strerror(errno));
		free(a);
		return STORE_OK;
	}
	if (a->h == NULL)               /* the file and its lock are kept */
		log_warn("store: no admission table in %s (%s): usage limits "
		    "are counted in the usage database", path, strerror(errno));
	s->adm = a;
	return STORE_OK;
}

void
admit_close(struct store *s)
{
	struct admit *a = s->adm;

	if (a == NULL)
		return;
	if (a->h != NULL)
		munmap(a->h, TABLE_SIZE);
	close(a->fd);                   /* and its lock */
	free(a);
	s->adm = NULL;
}

int
admit_usable(const struct store *s)
{
	return s->adm != NULL && s->adm->h != NULL;
}

/*
 * Take the table's lock. A process that died holding it left at most one
 * slot's counts half added, by one use: go on with it, and say so.
 */
static int
table_lock(struct admit *a)
{
	int died, rc = shfile_mutex_lock(&a->h->lock, &died);

	if (died)
		log_warn("store: a process died in the admission table; going on");
	return rc;
}

static struct admit_slot *
slot_at(struct admit *a, size_t i)
{
	return (struct admit_slot *)((char *)a->h + HDR_SIZE) + i;
}

/* Whether slot sl may be given to another token at now. */
static int
slot_free(const struct admit_slot *sl, int64_t now)
{
	return sl->id[0] == '\0' || sl->unflushed == 0 ||
	    now - sl->last > use_window_ms[WIN__MAX - 1] + use_bucket_ms[WIN__MAX - 1];
}

/*
 * The slot of id, or when make, a new one for it (*made = 1): an empty
 * slot of its probe run, else the one longest unused that may be given
 * (slot_free). NULL when there is none. Under the table's lock.
 */
static struct admit_slot *
slot_find(struct admit *a, const char *id, int64_t now, int make, int *made,
    uint32_t *index)
{
	struct admit_slot *sl, *pick = NULL;
	uint32_t h = usage_id_hash(id), i, at, pick_at = 0;

	for (i = 0; i < ADMIT_PROBE; i++) {
		at = (h + i) % ADMIT_SLOTS;
		sl = slot_at(a, at);
		if (memcmp(sl->id, id, UUID_LEN) == 0) {
			*index = at;
			return sl;
		}
		if (make && slot_free(sl, now) && (pick == NULL ||
		    (pick->id[0] != '\0' && (sl->id[0] == '\0' || sl->last < pick->last)))) {
			pick = sl;
			pick_at = at;
		}
	}
	if (pick != NULL) {
		memset(pick, 0, sizeof(*pick));
		memcpy(pick->id, id, UUID_LEN);
		*made = 1;
		*index = pick_at;
	}
	return pick;
}

/* Add n uses to bucket bn of level in sl. */
static void
ring_add(struct admit_slot *sl, int level, uint32_t bn, uint32_t n)
{
	struct ring_ent *e = &sl->r[ring_off[level] + bn % ring_len[level]];

	if (e->bn == bn)
		e->n += n;
	else if (e->bn < bn) {          /* the bucket left its window */
		e->bn = bn;
		e->n = n;
	}
}

static void
seed_bucket(void *arg, int level, int64_t start, uint32_t n)
{
	ring_add(arg, level, (uint32_t)(start / use_bucket_ms[level]), n);
}

/*
 * Count the windows of sl at now, as store_use_window does: buckets from
 * the one holding now - span on, each whole, up to cap; oldest[] gets the
 * start of the oldest counted bucket.
 */
static void
slot_count(const struct admit_slot *sl, int64_t now, const uint32_t cap[WIN__MAX],
    uint32_t count[WIN__MAX], int64_t oldest[WIN__MAX])
{
	const struct ring_ent *e;
	uint64_t sum;
	uint32_t from, old;
	unsigned i;
	int level;

	for (level = 0; level < WIN__MAX; level++) {
		if (cap[level] == 0)
			continue;
		from = (uint32_t)((now - use_window_ms[level]) / use_bucket_ms[level]);
		sum = 0;
		old = UINT32_MAX;
		for (i = 0; i < ring_len[level]; i++) {
			e = &sl->r[ring_off[level] + i];
			if (e->n == 0 || e->bn < from)
				continue;
			sum += e->n;
			if (e->bn < old)
				old = e->bn;
		}
		count[level] = sum >= cap[level] ? cap[level] : (uint32_t)sum;
		oldest[level] = sum > 0 ? (int64_t)old * use_bucket_ms[level] : 0;
	}
}

/* Note in the process's batch one use admitted through slot index. */
static void
mine_add(struct admit *a, uint32_t index, const char *id)
{
	size_t i;

	for (i = 0; i < a->nmine; i++)
		if (a->mine[i].slot == index && memcmp(a->mine[i].id, id, UUID_LEN) == 0)
			break;
	if (i == a->nmine) {
		if (a->nmine == USE_BATCH)
			return;         /* cannot happen: a batch holds USE_BATCH */
		a->mine[i].slot = index;
		a->mine[i].n = 0;
		memcpy(a->mine[i].id, id, UUID_LEN);
		a->nmine++;
	}
	a->mine[i].n++;
}

int
admit_decide(struct store *s, MDB_txn *txn, const char *id,
    const uint32_t cap[WIN__MAX], uint32_t count[WIN__MAX],
    int64_t oldest[WIN__MAX], int64_t *now, int *admitted, int *decided)
{
	struct admit *a = s->adm;
	struct admit_slot *sl;
	uint32_t index = 0;
	int i, made = 0, rc;

	*decided = *admitted = 0;
	if (!admit_usable(s))
		return 0;
	if (table_lock(a) != 0)
		return STORE_IO;
	*now = util_now_ms();
	if ((sl = slot_find(a, id, *now, txn != NULL, &made, &index)) == NULL) {
		pthread_mutex_unlock(&a->h->lock);
		return 0;
	}
	if (made && (rc = usage_seed(s, txn, id, *now, seed_bucket, sl)) != 0) {
		memset(sl, 0, sizeof(*sl));
		pthread_mutex_unlock(&a->h->lock);
		return rc;
	}
	slot_count(sl, *now, cap, count, oldest);
	*admitted = 1;
	for (i = 0; i < WIN__MAX; i++)
		if (cap[i] > 0 && count[i] >= cap[i])
			*admitted = 0;
	if (*admitted) {
		for (i = 0; i < WIN__MAX; i++) {
			ring_add(sl, i, (uint32_t)(*now / use_bucket_ms[i]), 1);
			count[i] += cap[i] > 0;
		}
		sl->last = *now;
		sl->unflushed++;
		mine_add(a, index, id);
	}
	pthread_mutex_unlock(&a->h->lock);
	*decided = 1;
	return 0;
}

int
admit_window(struct store *s, const char *id, int64_t now,
    const uint32_t cap[WIN__MAX], uint32_t count[WIN__MAX], int64_t oldest[WIN__MAX])
{
	struct admit *a = s->adm;
	struct admit_slot *sl;
	uint32_t index;
	int made = 0;

	if (!admit_usable(s) || table_lock(a) != 0)
		return 0;
	if ((sl = slot_find(a, id, now, 0, &made, &index)) != NULL)
		slot_count(sl, now, cap, count, oldest);
	pthread_mutex_unlock(&a->h->lock);
	return sl != NULL;
}

void
admit_written(struct store *s)
{
	struct admit *a = s->adm;
	struct admit_slot *sl;
	size_t i;

	if (a == NULL || a->nmine == 0)
		return;
	if (!admit_usable(s) || table_lock(a) != 0) {
		a->nmine = 0;
		return;
	}
	for (i = 0; i < a->nmine; i++) {
		sl = slot_at(a, a->mine[i].slot);
		if (memcmp(sl->id, a->mine[i].id, UUID_LEN) != 0)
			continue;       /* given away after its day: counted out */
		sl->unflushed -= a->mine[i].n < sl->unflushed ? a->mine[i].n :
		    sl->unflushed;
	}
	pthread_mutex_unlock(&a->h->lock);
	a->nmine = 0;
}
