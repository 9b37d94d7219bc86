/*
 * auth.h - who is calling (API.md 3), as a function of plain inputs: the
 * Authorization header, REMOTE_USER and the Cookie header go in, a result
 * code and a caller come out. Nothing here knows HTTP requests or writes
 * an answer; h_fail() turns the codes into answers, in one place.
 *
 * There is one API-token verification (auth_api_token): the management
 * routes (through auth_identify) and the three enforcement doors use it.
 */
#ifndef TC_AUTH_H
#define TC_AUTH_H

#include <stdint.h>
#include <json-c/json.h>
#include "store.h"

struct app;

/*
 * Refusals: negative, outside the STORE_* range, so that one int carries
 * either. auth_strerror() gives the sentence of each (API.md 3).
 */
enum auth_err {
	AUTH_OK = 0,
	AUTH_NONE = -41001,             /* no credentials at all */
	AUTH_INVALID = -41002,          /* fails validation: malformed, bad signature,
	                                 * expired, wrong claims, unknown user or
	                                 * token, deactivated token */
	AUTH_REVOKED = -41003,          /* revoked token, logged-out session */
	AUTH_DISABLED = -41004,         /* the user is disabled */
	AUTH_COOKIE = -41005            /* a credential sent only as a cookie */
};

/* 1 if err is one of AUTH_NONE..AUTH_COOKIE. */
int	 auth_is_refusal(int err);
/* The reference API's sentence for an AUTH_* refusal ("Token has been revoked"). */
const char *auth_strerror(int err);

#define BEARER_MAX	16384   /* longer Authorization values are refused */

/*
 * The token of an Authorization value "Bearer <token>": the scheme in any
 * case, one or more spaces, then a token of 1..BEARER_MAX bytes with no
 * space or tab in it. Returns a pointer into h, or NULL. The one bearer
 * parser, for the management routes and the enforcement doors.
 */
const char *auth_bearer(const char *h);

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
	int		 team_role;     /* API token of a team: the owner's role there */
};

/* What a request presents (borrowed strings, NULL when absent). */
struct credentials {
	const char	*authorization; /* the Authorization header */
	const char	*remote_user;   /* REMOTE_USER; only read with trust_remote_user */
	const char	*cookie;        /* the Cookie header, for AUTH_COOKIE */
};

/*
 * Identify the caller from what it presents, at now (ms). A Bearer
 * Authorization wins; REMOTE_USER counts only with trust_remote_user, and
 * then a non-Bearer Authorization (the web server's own Basic login) is
 * left to the web server. Returns AUTH_OK with c filled (kind CALLER_NONE
 * when nothing was presented), an AUTH_* refusal, or a STORE_* error; c is
 * then zeroed. c must be zeroed on entry; free it with caller_free. A team
 * API token narrows the caller to its team.
 */
int	 auth_identify(const struct app *a, const struct credentials *cr,
	    int64_t now, struct caller *c);

/* Everything one verification of an API token found (auth_api_token). */
struct api_token {
	struct json_object *claims;     /* owned: the verified claims, read-only */
	unsigned char	 sha256[32];    /* of the raw token */
	int		 have_tok;      /* tok is this very token's record */
	struct token	 tok;
	int		 have_owner;
	struct user	 owner;         /* tok's owner */
	int		 team_role;     /* owner's role in tok's team (ROLE_NONE) */
};

/*
 * Verify raw as an API token: signature with the pinned algorithm, iss,
 * aud, exp, sub, jti and token_use "api"; then its catalog record (by
 * jti; it must hold the SHA-256 of raw and belong to sub, and be live:
 * AUTH_REVOKED when revoked, AUTH_INVALID when deactivated or expired);
 * then its owner (AUTH_DISABLED when disabled) and, for a team token, the
 * owner's role in the team (read, not judged), all from one snapshot of
 * the store. Returns AUTH_OK, an
 * AUTH_* refusal or a STORE_* error. Whenever the record was found,
 * have_tok is 1, so that a refusal is recorded as a use of it. out must
 * be zeroed; free it with api_token_free.
 */
int	 auth_api_token(const struct app *a, const char *raw, int64_t now,
	    struct api_token *out);
void	 api_token_free(struct api_token *);

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
