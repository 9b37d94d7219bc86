/*
 * use_pending.h - what both backends share about uses waiting in the
 * process to be written in a batch (store.h: store_use_record): the
 * bucket widths of the three windows, a pending use with copies of its
 * strings and a key time of its own, and the per-bucket counts that let
 * a process count its own pending uses in its windows at once.
 */
#ifndef TC_USE_PENDING_H
#define TC_USE_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Width of a bucket (ms) and span of the window it counts, per level:
 * 1 s for the minute, 60 s for the hour, 900 s for the day. */
extern const int64_t	use_bucket_ms[WIN__MAX];
extern const int64_t	use_window_ms[WIN__MAX];

/* One use waiting to be written: copies of everything it points to. */
struct pending_use {
	char		 id[UUID_LEN + 1];
	struct use	 u;
	int64_t		 at_us;         /* key time: u.at in µs, see below */
	char		 method[16], addr[64];
	char		 path[PATH_KEY_MAX + 1];
	char		 agent[256];
};

/*
 * The pending allowed uses of a token in one bucket: counted as they are
 * recorded, read by the windows and added to the bucket when written.
 */
struct pending_bucket {
	char		 id[UUID_LEN + 1];
	int		 level;
	int64_t		 start, at;             /* ms: bucket start, latest use */
	uint32_t	 n;
};

/*
 * Copy use u of token id, at `at` (ms), into e with copies of its strings
 * (cut to their fields). e->at_us is at in µs with the clock's µs; a use
 * of the same millisecond as the process's last (*last_us) takes the next
 * µs instead, and after that millisecond's last its first, so that keys
 * of one process do not repeat up to 1,000 uses a millisecond (uses that
 * tokencat migrate replays come with their own millisecond).
 */
void	pending_use_set(struct pending_use *e, const char *id,
	    const struct use *u, int64_t at, int64_t *last_us);
/* Count an allowed use of id at `at` in its three buckets of b[*nb]
 * (room for cap; 3 a use). */
void	pending_bucket_count(struct pending_bucket *b, size_t *nb, size_t cap,
	    const char *id, int64_t at);
/*
 * Add the pending buckets of id to the window counts of each level with a
 * cap at `now`; oldest[] holds the start of the oldest bucket counted so
 * far (0 = none).
 */
void	pending_bucket_window(const struct pending_bucket *b, size_t nb,
	    const char *id, int64_t now, const uint32_t cap[WIN__MAX],
	    uint32_t count[WIN__MAX], int64_t oldest[WIN__MAX]);
/* Turn the oldest counted bucket of each full window into when it leaves
 * (frees_at[] in, the oldest starts; out, when a use is allowed again). */
void	use_frees_from_oldest(const uint32_t cap[WIN__MAX],
	    const uint32_t count[WIN__MAX], int64_t frees_at[WIN__MAX]);

#endif
