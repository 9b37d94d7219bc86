/*
 * app.c - what a worker or the command line holds for its whole life: the
 * configuration, the open store and the signing key.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "log.h"

#define RETRY_FIRST_MS	100
#define RETRY_MAX_MS	5000

int
app_key_check(struct app *a, struct store *st, char *err, size_t errsz)
{
	char have[128], want[65];
	int rc;

	if (jws_key_fingerprint(&a->key, want) == -1) {
		snprintf(err, errsz, "cannot compute the fingerprint of the "
		    "signing key %s", a->cfg.signing_key_file);
		return -1;
	}
	if ((rc = store_meta_get(st, "key_fingerprint", have, sizeof(have))) ==
	    STORE_NOTFOUND) {
		snprintf(err, errsz, "the database holds no signing key "
		    "fingerprint: run 'tokencat init' first");
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errsz, "cannot read the key fingerprint from the "
		    "database: %s", store_strerror(rc));
		return -1;
	}
	if (strcmp(have, want) != 0) {
		snprintf(err, errsz, "the signing key %s is not the key of this "
		    "database (fingerprints differ): copy the key the other "
		    "hosts use", a->cfg.signing_key_file);
		return -1;
	}
	return 0;
}

/* Open the store of a->cfg into a->st; a STORE_* code, message in err. */
static int
open_store(struct app *a, int store_flags, char *err, size_t errsz)
{
	char where[1024];
	int rc, pg = store_is_pg(a->cfg.database);

	store_display(a->cfg.database, where, sizeof(where));
	if ((rc = store_open(&a->st, a->cfg.database, a->cfg.map_size_mb,
	    store_flags)) != 0) {
		a->st = NULL;
		if (pg && rc == STORE_NOTFOUND)
			snprintf(err, errsz, "the schema of database %s is older "
			    "than this program: run 'tokencat init'", where);
		else if (pg && rc == STORE_INVALID)
			snprintf(err, errsz, "the schema of database %s is newer "
			    "than this program: upgrade tokencat", where);
		else
			snprintf(err, errsz, "cannot open database %s: %s%s",
			    where, store_strerror(rc),
			    pg ? " (is PostgreSQL running and the URI right?)" :
			    (store_flags & STORE_CREATE) ? "" :
			    " (run 'tokencat init' first?)");
		return rc;
	}
	if (pg && app_key_check(a, a->st, err, errsz) == -1) {
		store_close(a->st);
		a->st = NULL;
		return STORE_INVALID;
	}
	return 0;
}

/*
 * Load the config named by cfg_arg (config_path), set the log level, open
 * the store with store_flags and, if asked or on PostgreSQL, load the
 * signing key. Returns 0 (a owns everything; app_close), or -1 with a
 * one-line message in err and nothing left open.
 */
int
app_open(struct app *a, const char *cfg_arg, int store_flags, int opts,
    char *err, size_t errsz)
{
	char	cerr[CONFIG_ERR_MAX];
	int	rc, pg;

	memset(a, 0, sizeof(*a));
	config_init(&a->cfg);
	if (config_load(&a->cfg, config_path(cfg_arg), cerr) == -1) {
		snprintf(err, errsz, "%s", cerr);
		goto fail;
	}
	log_set_level(a->cfg.log_level);
	pg = store_is_pg(a->cfg.database);
	if ((opts & APP_KEY || pg) && jws_key_load(a->cfg.signing_key_file,
	    &a->key, err, errsz) == -1)
		goto fail;
	a->store_flags = store_flags;
	if ((rc = open_store(a, store_flags, err, errsz)) != 0) {
		if (!(pg && rc == STORE_IO && (opts & APP_RETRY)))
			goto fail;
		log_warn("%s; answering 503 and retrying", err);
		a->backoff_ms = RETRY_FIRST_MS;
		a->retry_at = util_now_ms() + a->backoff_ms;
	}
	return 0;
fail:
	app_close(a);
	return -1;
}

int
app_store_retry(struct app *a, char *err, size_t errsz)
{
	int64_t now = util_now_ms();
	int rc;

	if (a->st != NULL)
		return 0;
	if (now < a->retry_at)
		return 1;
	if ((rc = open_store(a, a->store_flags, err, errsz)) == 0) {
		log_info("store: connected to PostgreSQL");
		return 0;
	}
	if (rc != STORE_IO)
		return -1;
	a->backoff_ms = a->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS :
	    a->backoff_ms * 2;
	a->retry_at = now + a->backoff_ms;
	return 1;
}

/* Close the store, wipe the key and free the config. Safe to call twice. */
void
app_close(struct app *a)
{
	store_close(a->st);
	a->st = NULL;
	jws_key_wipe(&a->key);
	config_free(&a->cfg);         /* zeroes it */
}
