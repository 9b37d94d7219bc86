/*
 * decide.h - the enforcement decision of API.md section 7, pure: the
 * request's facts and what the verifier and the store said go in, a
 * verdict comes out. Used by the FastCGI Authorizer role, GET /auth/check
 * and POST /auth/introspect (h_enforce.c gathers the facts).
 */
#ifndef TC_DECIDE_H
#define TC_DECIDE_H

#include <stdint.h>
#include "config.h"
#include "scope.h"
#include "store.h"

#define ADDR_MAX 64

struct decide_in {
	/* the request being authorized; path NULL for introspection, which
	 * stops after the identity checks (steps 1-4 and team membership) */
	const char		*method;
	const char		*path;          /* without the query */
	const char		*remote_addr;   /* REMOTE_ADDR */
	const char		*xff;           /* X-Forwarded-For, or NULL */
	int64_t			 now;           /* ms */
	/* what the verifier and the store said */
	int			 jws_rc;        /* JWS_OK, or why the JWT was refused */
	int			 is_api;        /* token_use is "api" */
	const char		*sub;           /* the JWT's sub */
	const struct token	*tok;           /* the record of the JWT's jti, or NULL */
	int			 hash_ok;       /* SHA-256 of the raw token = tok->hash */
	const struct user	*owner;         /* tok's owner, or NULL */
	int			 team_role;     /* owner's role in tok->team_id */
	uint32_t		 used[3];       /* store_use_window() with decide_caps() */
	int64_t			 frees_at[3];
};

struct verdict {
	int		 status;        /* 200, 401, 403 or 429 */
	char		 detail[256];
	unsigned	 retry_after;   /* seconds, with 429 */
	int		 record;        /* a catalog token: record this decision as a use */
	char		 client[ADDR_MAX];      /* the client address believed */
};

/* Apply the checks of API.md 7 in order. */
void	decide(const struct config *cfg, const struct decide_in *in, struct verdict *v);

/*
 * The client address: remote_addr, or when remote_addr is one of
 * trusted_proxies, the right-most X-Forwarded-For entry that is not.
 * Writes it into out (ADDR_MAX bytes).
 */
void	decide_client(const struct config *cfg, const char *remote_addr,
	    const char *xff, char out[ADDR_MAX]);

/* The usage limits of tok as window caps for store_use_window(). */
void	decide_caps(const struct token *tok, uint32_t cap[3]);

/* 1 if path is prefix or lies under it ("/a" covers "/a" and "/a/b", not "/ab"). */
int	decide_path_under(const char *path, const char *prefix);

#endif
