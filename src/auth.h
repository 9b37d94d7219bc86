/*
 * auth.h - who is calling: a session JWT, a web-server-authenticated user
 * (REMOTE_USER with trust_remote_user), or an API token (API.md 3).
 */
#ifndef TC_AUTH_H
#define TC_AUTH_H

#include <stdint.h>
#include "store.h"

enum caller_kind {
	CALLER_NONE = 0,
	CALLER_SESSION,                 /* auth_method "jwt" */
	CALLER_REMOTE_USER,             /* auth_method "remote_user" */
	CALLER_API_TOKEN                /* auth_method "api_token" */
};

struct caller {
	int		 kind;
	struct user	 user;          /* read from the store on every request */
	int		 narrowed;      /* session narrowed to teams (may be empty) */
	struct strlist	 teams;         /* the narrowed team ids */
	char		 jti[UUID_LEN + 1];     /* session or token jti */
	int64_t		 exp_ms;        /* session expiry */
	struct token	 token;         /* the catalog record, for CALLER_API_TOKEN */
};

struct req;
struct app;

/*
 * Identify the caller of r from Authorization: Bearer (session or API-token
 * JWT) or REMOTE_USER. No credentials: returns 0 with kind CALLER_NONE.
 * Rejected credentials: returns 401 with r->out and WWW-Authenticate set
 * (error="invalid_token" when a token was presented), or 503 (507 when the
 * disk is full) on a store failure. A team API token sets narrowed with
 * its team in teams.
 */
int	 auth_identify(struct req *r);
const char *caller_method(const struct caller *);   /* "jwt", "remote_user", "api_token" */
int	 caller_is_admin(const struct caller *);        /* is_admin */
int	 caller_unnarrowed_admin(const struct caller *);/* is_admin and not narrowed */
void	 caller_free(struct caller *);
struct who;
/* The caller as policy.h sees it (pointers into c). */
void	 caller_who(const struct caller *c, struct who *w);

/*
 * Make a session JWT for user u (claims of API.md 3.1). teams == NULL: not
 * narrowed. Returns a malloc'd JWT (caller frees) and its lifetime in
 * seconds through *expires_in, or NULL.
 */
char	*auth_session_token(const struct app *a, const struct user *u,
	    const struct strlist *teams, unsigned minutes, unsigned *expires_in);

#endif
