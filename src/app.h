/*
 * app.h - what a worker or the command line holds for its whole life:
 * the configuration, the open store and the signing key.
 */
#ifndef TC_APP_H
#define TC_APP_H

#include "config.h"
#include "store.h"
#include "jws.h"

struct app {
	struct config	 cfg;
	struct store	*st;            /* NULL: PostgreSQL not reached yet (APP_RETRY) */
	struct jws_key	 key;
	int		 store_flags;   /* of app_open, for app_store_retry */
	int64_t		 retry_at;      /* ms: next app_store_retry attempt */
	int64_t		 backoff_ms;
};

#define APP_KEY		0x1     /* load the signing key (always with PostgreSQL) */
#define APP_RETRY	0x2     /* a PostgreSQL server out of reach is retried */

/*
 * Load the config (config_path(cfg_arg)), open the store (flags for
 * store_open) and, with APP_KEY or on PostgreSQL, load the signing key.
 * On PostgreSQL the key's fingerprint must be the one the database holds
 * (`tokencat init` stores it). With APP_RETRY a PostgreSQL server that
 * cannot be reached leaves a->st NULL: app_store_retry connects later.
 * Returns 0, or -1 with a one-line message in err saying what to do.
 */
int	app_open(struct app *a, const char *cfg_arg, int store_flags, int opts,
	    char *err, size_t errsz);
/*
 * With a->st NULL, try to connect again once its backoff has passed
 * (100 ms doubling to 5 s). Returns 0 when a->st is open, 1 while the
 * server is still out of reach, -1 (message in err) when it answered but
 * cannot be served: an older schema or another key.
 */
int	app_store_retry(struct app *a, char *err, size_t errsz);
/*
 * The fingerprint of a->key against the one st holds: 0 if equal, -1
 * with a one-line message in err otherwise (absent: run `tokencat init`).
 */
int	app_key_check(struct app *a, struct store *st, char *err, size_t errsz);
void	app_close(struct app *a);

#endif
