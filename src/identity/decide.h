/*
 * decide.h - the enforcement decision of API.md section 7: the request's
 * facts and what the token verification and the store said go in, a
 * verdict comes out. No store, no I/O; the time-window check reads a
 * zone's local time through TZ (see scope.h). Used by the FastCGI Authorizer role, GET
 * /auth/check and POST /auth/introspect (h_enforce.c gathers the facts).
 */
#ifndef TC_DECIDE_H
#define TC_DECIDE_H

#include <stdint.h>
#include "config.h"
#include "scope.h"
#include "store.h"

#define ADDR_MAX 64

struct decide_in {
	/* the request being authorized; path and path_refused both NULL for
	 * introspection, which stops after identity and team membership */
	const char		*method;
	const char		*path;          /* canonical (upath_canon) */
	const char		*path_refused;  /* upath_canon's reason, when it refused */
	const char		*shown_path;    /* the refused path, printable (upath_show) */
	const char		*remote_addr;   /* REMOTE_ADDR */
	const char		*xff;           /* X-Forwarded-For, or NULL */
	int64_t			 now;           /* ms */
	/* what the verification and the store said */
	int			 auth;          /* auth_api_token(): AUTH_OK or a refusal */
	const struct token	*tok;           /* the token's record when found, else NULL */
	const struct user	*owner;         /* tok's owner, or NULL */
	int			 team_role;     /* owner's role in tok->team_id */
	int			 counted;       /* used[] and frees_at[] are filled */
	uint32_t		 used[WIN__MAX];        /* allowed uses in each window */
	int64_t			 frees_at[WIN__MAX];
};

struct verdict {
	int		 status;        /* 200, 401, 403 or 429 */
	int		 auth;          /* with 401: the AUTH_* refusal */
	char		 detail[256];
	unsigned	 retry_after;   /* seconds, with 429 */
	int		 record;        /* a catalog token: record this decision as a use */
	char		 client[ADDR_MAX];      /* the client address believed */
};

/*
 * Apply the checks of API.md 7 in order: identity (401) -> team membership
 * (403) -> the request path (403 when upath_canon refused it) -> IP (403)
 * -> time window (403) -> server_id (403) -> permission by the rule table,
 * within both the token's permissions and its owner's current effective
 * permissions (403) -> usage limits (429), when in->counted.
 */
void	decide(const struct config *cfg, const struct decide_in *in, struct verdict *v);
/* The usage-limit step alone, on a verdict of 200 (after store_use_admit). */
void	decide_limits(const struct decide_in *in, struct verdict *v);

/*
 * The client address: remote_addr, or when remote_addr is one of
 * trusted_proxies, the right-most X-Forwarded-For entry that is not.
 * Writes it into out (ADDR_MAX bytes).
 */
void	decide_client(const struct config *cfg, const char *remote_addr,
	    const char *xff, char out[ADDR_MAX]);

/* The usage limits of tok as window caps (0 = none). 1 if it has any. */
int	decide_caps(const struct token *tok, uint32_t cap[WIN__MAX]);

/*
 * 1 if tok, owned by owner (whose role in tok's team is team_role), may
 * exercise perm now: tok's permissions grant it (none: unrestricted) and
 * so do the owner's current effective permissions (API.md 6.1): an admin
 * holds all, anybody else user_permissions plus the sets of the role.
 */
int	decide_token_grants(const struct config *cfg, const struct token *tok,
	    const struct user *owner, int team_role, const char *perm);

/* 1 if path is prefix or lies under it ("/a" covers "/a" and "/a/b", not "/ab"). */
int	decide_path_under(const char *path, const char *prefix);

#endif
