/*
 * app.c - what a worker or the command line holds for its whole life: the
 * configuration, the open store and the signing key.
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "log.h"

/*
 * Load the config named by cfg_arg (config_path), set the log level, open
 * the store with store_flags and, if need_key, load the signing key.
 * Returns 0 (a owns everything; app_close), or -1 with a one-line message in
 * err and nothing left open.
 */
int
app_open(struct app *a, const char *cfg_arg, int store_flags, int need_key,
    char *err, size_t errsz)
{
	char	cerr[CONFIG_ERR_MAX];
	int	rc;

	memset(a, 0, sizeof(*a));
	config_init(&a->cfg);
	if (config_load(&a->cfg, config_path(cfg_arg), cerr) == -1) {
		snprintf(err, errsz, "%s", cerr);
		goto fail;
	}
	log_set_level(a->cfg.log_level);
	if ((rc = store_open(&a->st, a->cfg.database, a->cfg.map_size_mb,
	    store_flags)) != 0) {
		snprintf(err, errsz, "cannot open database %s: %s%s",
		    a->cfg.database, store_strerror(rc),
		    (store_flags & STORE_CREATE) ? "" :
		    " (run 'tokencat init' first?)");
		a->st = NULL;
		goto fail;
	}
	if (need_key && jws_key_load(a->cfg.signing_key_file, &a->key, err,
	    errsz) == -1)
		goto fail;
	return 0;
fail:
	app_close(a);
	return -1;
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
