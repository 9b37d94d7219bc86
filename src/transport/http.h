/*
 * http.h - one request: the CGI/FastCGI parameters and body turned into a
 * struct req, and the one writer of status, headers and body (http_reply).
 * This layer does not include fcgiapp.h: main_fcgi.c hands it an http_io
 * whose read/write go to FCGX streams (FastCGI) or stdio (plain CGI).
 */
#ifndef TC_HTTP_H
#define TC_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include "app.h"

enum http_role { ROLE_RESPONDER = 1, ROLE_AUTHORIZER = 2 };

struct http_io {
	char	**envp;                 /* NAME=value parameters (borrowed) */
	/* read up to n body bytes; returns bytes read, 0 at end, < 0 on error */
	int	(*read)(void *ctx, char *buf, int n);
	/* write n bytes; returns n, or < 0 on error */
	int	(*write)(void *ctx, const char *buf, int n);
	void	*ctx;
	int	 role;                  /* enum http_role */
};

#define HDR_MAX     12
#define PARAM_MAX   3
#define PATH_MAX_LEN 2048           /* longer routing paths: 414 */

struct hdr {
	char	*name;
	char	*value;
};

struct route;
struct caller;

struct req {
	const struct app *app;
	struct http_io	*io;
	char		 id[17];        /* request id for log lines */
	int64_t		 start_us;      /* monotonic, for the duration in the log */

	/* request: strings borrowed from io->envp unless marked owned */
	const char	*method;
	char		*path;          /* owned: routing path, "/v1" and trailing '/' removed */
	char		*query;         /* owned: query string without '?', "" if none */
	const char	*content_type;  /* NULL if none */
	uint64_t	 content_length;
	int		 body_too_large; /* CONTENT_LENGTH over max_body_bytes */
	char		*body;          /* owned, NUL-terminated, NULL until read */
	size_t		 bodylen;
	struct json_object *json;   /* owned: the parsed JSON body, when the route takes one */

	/* route */
	const struct route *route;
	char		*params[PARAM_MAX];    /* owned: captured path segments */
	size_t		 nparams;

	/* who is calling: set by router_dispatch, which owns it, for the
	 * handler's run; NULL before and after */
	struct caller	*caller;

	/* response */
	int		 status;
	struct json_object *out;    /* owned: body, NULL = none */
	struct hdr	 hdrs[HDR_MAX];
	size_t		 nhdrs;
	char		 hbuf[1024];    /* where header names and values are copied */
	size_t		 hused;         /* (a longer one is malloc'd) */
};

/*
 * Fill r from io: method, routing path (PATH_INFO, else REQUEST_URI without
 * query and without cfg mount_prefix; then "/v1" prefix and trailing '/'
 * stripped), query, content type and length. Returns 0, or an HTTP status
 * (400 or 414; 500 when memory or randomness fails) with r->out set.
 */
int	 http_req_init(struct req *r, const struct app *a, struct http_io *io);
/* A parameter from io->envp ("HTTP_AUTHORIZATION", "REMOTE_ADDR", ...) or NULL. */
const char *http_param(const struct req *r, const char *name);
/* Read the body (at most max bytes, NUL-terminated into r->body). Returns 0, 413 or 400. */
int	 http_read_body(struct req *r, size_t max);
/* Add a response header (copied). Names/values with CR, LF or NUL are dropped. */
void	 http_add_header(struct req *r, const char *name, const char *value);
/* Set r->out = {"detail": ...} (printf format) and return status. */
int	 http_error(struct req *r, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/*
 * Write r->status, the standard headers (Content-Type when there is a body,
 * Cache-Control: no-store, X-Content-Type-Options: nosniff), r->hdrs and
 * r->out serialized by json-c. The only writer of a response.
 */
void	 http_reply(struct req *r);
/* The reason phrase of a status this server sends ("Not Found"), or NULL. */
const char *http_reason(int status);
/* Free everything the request owns. */
void	 req_free(struct req *r);

#endif
