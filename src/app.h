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
	struct store	*st;
	struct jws_key	 key;
};

/*
 * Load the config (config_path(cfg_arg)), open the store (flags for
 * store_open) and load the signing key. Returns 0, or -1 with a one-line
 * message in err saying what to do.
 */
int	app_open(struct app *a, const char *cfg_arg, int store_flags, int need_key,
	    char *err, size_t errsz);
void	app_close(struct app *a);

#endif
