/*
 * h_common.c - what every handler shares: the one translation of STORE_*
 * and AUTH_* codes into answers (h_fail), the Bearer challenge, and the
 * audit events that writes store with their change.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "handlers.h"
#include "http.h"
#include "log.h"

/* RFC 6750: the challenge of every 401, with error="invalid_token" when a
 * presented token was rejected. The one place it is spelled. */
#define CHALLENGE	"Bearer realm=\"tokencat\""
#define CHALLENGE_BAD	CHALLENGE ", error=\"invalid_token\""

void
h_challenge(struct req *r, int invalid_token)
{
	http_add_header(r, "WWW-Authenticate",
	    invalid_token ? CHALLENGE_BAD : CHALLENGE);
}

/*
 * The one translation of an error code into an answer:
 *   AUTH_NONE, AUTH_COOKIE          401, plain challenge
 *   other AUTH_* refusals           401, error="invalid_token"
 *   STORE_NOTFOUND                  404 "Not found"
 *   STORE_EXISTS                    409 "Conflict"
 *   STORE_FULL                      507 "Insufficient storage"
 *   anything else                   503 "Service temporarily unavailable"
 * A store failure's cause is logged with the request id only; the answer
 * never names it. Returns the status.
 */
int
h_fail(struct req *r, int err)
{
	if (auth_is_refusal(err)) {
		h_challenge(r, err != AUTH_NONE && err != AUTH_COOKIE);
		return http_error(r, 401, "%s", auth_strerror(err));
	}
	switch (err) {
	case STORE_NOTFOUND:
		return http_error(r, 404, "Not found");
	case STORE_EXISTS:
		return http_error(r, 409, "Conflict");
	default:
		break;
	}
	log_error("req=%s: store: %s", r->id, store_strerror(err));
	if (err == STORE_FULL)
		return http_error(r, 507, "Insufficient storage");
	return http_error(r, 503, "Service temporarily unavailable");
}

void
h_audit_event(const struct req *r, struct audit_event *e, const char *action,
    const char *token_id, const char *target, const char *fmt, ...)
{
	va_list ap;

	memset(e, 0, sizeof(*e));
	snprintf(e->actor, sizeof(e->actor), "%s", r->caller->user.email);
	snprintf(e->action, sizeof(e->action), "%s", action);
	snprintf(e->token_id, sizeof(e->token_id), "%s", token_id ? token_id : "");
	snprintf(e->target_user, sizeof(e->target_user), "%s", target ? target : "");
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
}

void
h_audit_logged(const struct req *r, const struct audit_event *e)
{
	log_info("req=%s: audit %s by %s", r->id, e->action, e->actor);
}
