/*
 * router.h - the route table: method + path pattern -> handler, with the
 * route's requirements as flags, checked once in router_dispatch():
 * 404, 405 + Allow, 401/403 (caller), 413, 415, 400 (body).
 */
#ifndef TC_ROUTER_H
#define TC_ROUTER_H

#include <stddef.h>

struct req;

enum route_flags {
	RF_AUTH    = 1 << 0,    /* any authenticated caller, API tokens included */
	RF_SESSION = 1 << 1,    /* interactive session (jwt, remote_user); API token: 403 */
	RF_BODY    = 1 << 2,    /* a JSON object body is required */
	RF_OPTBODY = 1 << 3,    /* a JSON object body is optional (empty allowed) */
	RF_FORM    = 1 << 4,    /* a form body is accepted too (not parsed here) */
	RF_ADMIN   = 1 << 5     /* un-narrowed admin (403 messages of API.md 5) */
};

typedef int (*handler_fn)(struct req *);

struct route {
	const char	*method;
	const char	*pattern;       /* "/tokens/{id}/usage": {x} captures one segment */
	handler_fn	 fn;
	unsigned	 flags;
};

/*
 * Find the route for method and path. Literal segments win over captures.
 * Returns the route and fills params (malloc'd copies of the segments; the
 * caller frees them), or NULL with *status 404, or 405 and the allowed
 * methods in allow ("GET, PUT, DELETE").
 */
const struct route *router_match(const char *method, const char *path,
	    char **params, size_t *nparams, int *status, char *allow, size_t allowsz);

/*
 * router_match over the table tab[0..n) instead of the built-in one (tests
 * use it to check ranking with rows the built-in table does not have yet).
 */
const struct route *router_match_in(const struct route *tab, size_t n,
	    const char *method, const char *path, char **params,
	    size_t *nparams, int *status, char *allow, size_t allowsz);

/* Route r, check the route's flags, run the handler. Returns the status; r->out set. */
int	router_dispatch(struct req *r);

#endif
