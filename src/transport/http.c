/*
 * http.c - one request: CGI/FastCGI parameters and the body turned into a
 * struct req, and the one writer of a response (http_reply). The parameters
 * and the byte streams come through struct http_io, so this file knows
 * nothing of libfcgi and the tests drive it from memory.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include <openssl/crypto.h>

#include "http.h"
#include "js.h"
#include "log.h"
#include "upath.h"
#include "util.h"

#define BODY_CHUNK	4096    /* first allocation when reading to EOF */

static const struct {
	int		 code;
	const char	*reason;
} reasons[] = {
	{ 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
	{ 204, "No Content" },
	{ 400, "Bad Request" }, { 401, "Unauthorized" }, { 403, "Forbidden" },
	{ 404, "Not Found" }, { 405, "Method Not Allowed" },
	{ 409, "Conflict" }, { 413, "Content Too Large" },
	{ 414, "URI Too Long" }, { 415, "Unsupported Media Type" },
	{ 422, "Unprocessable Content" }, { 429, "Too Many Requests" },
	{ 500, "Internal Server Error" }, { 503, "Service Unavailable" },
	{ 507, "Insufficient Storage" },
};

/* The reason phrase of status, or NULL for a status this server never sends. */
const char *
http_reason(int status)
{
	size_t	i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == status)
			return reasons[i].reason;
	return NULL;
}

/* NAME=value lookup in io->envp; the value is borrowed from envp. */
const char *
http_param(const struct req *r, const char *name)
{
	char	**e;
	size_t	  n = strlen(name);

	if (r->io == NULL || r->io->envp == NULL)
		return NULL;
	for (e = r->io->envp; *e != NULL; e++)   /* first byte: a cheap filter */
		if ((*e)[0] == name[0] && strncmp(*e, name, n) == 0 &&
		    (*e)[n] == '=')
			return *e + n + 1;
	return NULL;
}

/* A parameter that is set and not empty, else NULL. */
static const char *
param_nonempty(const struct req *r, const char *name)
{
	const char	*v = http_param(r, name);

	return v != NULL && *v != '\0' ? v : NULL;
}

/*
 * The raw routing path: PATH_INFO when set (decoded by the web server),
 * else REQUEST_URI up to '?' (as sent). Sets *start and *len into borrowed
 * memory and *mode to how upath_canon must read it, or *start NULL when
 * neither is set.
 */
static void
raw_path(const struct req *r, const char **start, size_t *len,
    enum upath_mode *mode)
{
	const char	*pi, *uri;

	*start = NULL;
	*len = 0;
	if ((pi = param_nonempty(r, "PATH_INFO")) != NULL) {
		*start = pi;
		*len = strlen(pi);
		*mode = UPATH_DECODED;
	} else if ((uri = http_param(r, "REQUEST_URI")) != NULL) {
		*start = uri;
		*len = strcspn(uri, "?#");
		*mode = UPATH_RAW;
	}
}

/* Drop the segment prefix pre from the canonical path p (in place). */
static void
strip_prefix(char *p, const char *pre)
{
	size_t	n = pre != NULL ? strlen(pre) : 0;

	while (n > 0 && pre[n - 1] == '/')
		n--;
	if (n == 0 || strncmp(p, pre, n) != 0 || (p[n] != '\0' && p[n] != '/'))
		return;
	if (p[n] == '\0')
		strcpy(p, "/");
	else
		memmove(p, p + n, strlen(p + n) + 1);
}

/*
 * Set r->path to the canonical routing path (upath_canon: decoded once,
 * dot segments resolved, "//" collapsed), with mount_prefix removed when
 * routing on REQUEST_URI, then a leading "/v1" segment and one trailing
 * '/' dropped. In the Authorizer role, which is never routed, r->path is
 * the path as sent, for the log line. Returns 0, 400 (no path, or one upath_canon refuses, named
 * in the detail) or 414 (longer than PATH_MAX_LEN), with r->out set.
 */
static int
init_path(struct req *r)
{
	enum upath_mode	 mode = UPATH_RAW;
	const char	*p, *why;
	char		*c, shown[128];
	size_t		 n;

	raw_path(r, &p, &n, &mode);
	if (p == NULL || n == 0 || p[0] != '/')
		return http_error(r, 400, "Invalid request path");
	if (n > PATH_MAX_LEN)
		return http_error(r, 414, "URI too long");
	if (r->io->role == ROLE_AUTHORIZER) {
		/* never routed: the door judges REQUEST_URI itself (h_authorizer,
		 * through upath_canon); r->path only names it in the log */
		if ((r->path = strndup(p, n)) == NULL)
			return http_error(r, 500, "Internal server error");
		return 0;
	}
	if (upath_canon(p, n, mode, &c, &why) == -1)
		return http_error(r, 400, "Invalid request path %s: %s",
		    upath_show(p, n, shown, sizeof(shown)), why);
	if (mode == UPATH_RAW)
		strip_prefix(c, r->app->cfg.mount_prefix);
	n = strlen(c);
	if (n >= 3 && strncmp(c, "/v1", 3) == 0 && (n == 3 || c[3] == '/')) {
		memmove(c, c + 3, n - 2);
		n -= 3;
		if (n == 0) {
			strcpy(c, "/");
			n = 1;
		}
	}
	if (n > 1 && c[n - 1] == '/')
		c[n - 1] = '\0';
	r->path = c;
	return 0;
}

/* r->query: QUERY_STRING, else what follows '?' in REQUEST_URI, else "". */
static int
init_query(struct req *r)
{
	const char	*q, *uri;

	if ((q = http_param(r, "QUERY_STRING")) == NULL) {
		uri = http_param(r, "REQUEST_URI");
		q = uri != NULL && strchr(uri, '?') != NULL ?
		    strchr(uri, '?') + 1 : "";
	}
	if ((r->query = strdup(q)) == NULL)
		return http_error(r, 500, "Internal server error");
	return 0;
}

/* Content type and length; a bad CONTENT_LENGTH is 400. */
static int
init_body_info(struct req *r)
{
	const char	*cl;

	r->content_type = param_nonempty(r, "CONTENT_TYPE");
	if ((cl = param_nonempty(r, "CONTENT_LENGTH")) != NULL &&
	    util_parse_uint(cl, 0, UINT64_MAX, &r->content_length) == -1)
		return http_error(r, 400, "Invalid Content-Length");
	r->body_too_large = r->content_length > r->app->cfg.max_body_bytes;
	return 0;
}

/*
 * Fill r (zeroed by the caller) from io: request id, start time, method,
 * routing path, query, content type and length. Returns 0, or 400, 414 or
 * 500 with r->out and r->status set. r owns path and query (req_free).
 */
/*
 * A request id for log lines: the process id and a counter, 16 hex digits,
 * unique among the workers of a host without drawing on the random
 * generator (which costs more than the rest of a check).
 */
static void
request_id(char id[17])
{
	static uint32_t counter;
	static uint32_t pid;

	static const char hex[] = "0123456789abcdef";
	uint64_t v;
	int i;

	if (pid == 0)
		pid = (uint32_t)getpid();
	v = (uint64_t)pid << 32 | ++counter;
	for (i = 15; i >= 0; i--, v >>= 4)      /* "%08x%08x", without printf */
		id[i] = hex[v & 0xf];
	id[16] = '\0';
}

int
http_req_init(struct req *r, const struct app *a, struct http_io *io)
{
	int	st;

	r->app = a;
	r->io = io;
	r->start_us = util_mono_us();
	request_id(r->id);
	if ((r->method = param_nonempty(r, "REQUEST_METHOD")) == NULL)
		return http_error(r, 400, "Missing request method");
	if ((st = init_path(r)) != 0 || (st = init_query(r)) != 0 ||
	    (st = init_body_info(r)) != 0)
		return st;
	return 0;
}

/*
 * Read exactly want bytes into buf. Returns 0, or 400 when the stream ends
 * early or fails.
 */
static int
read_exact(struct req *r, char *buf, size_t want)
{
	size_t	got = 0;
	int	n, chunk;

	while (got < want) {
		chunk = want - got > INT_MAX ? INT_MAX : (int)(want - got);
		n = r->io->read(r->io->ctx, buf + got, chunk);
		if (n <= 0 || n > chunk)
			return http_error(r, 400, "Incomplete request body");
		got += (size_t)n;
	}
	return 0;
}

/*
 * Read until EOF (no CONTENT_LENGTH) into a growing buffer, at most max + 1
 * bytes. Returns 0 with *out (caller frees, NUL-terminated) and *len, or
 * 413 (over max), 400 (read error) or 500.
 */
static int
read_to_eof(struct req *r, size_t max, char **out, size_t *len)
{
	char	*buf = NULL, *nb;
	size_t	 cap = 0, got = 0;
	int	 n, chunk, st = 0;

	for (;;) {
		if (got == cap) {
			if (cap > max) {
				st = http_error(r, 413, "Request body too large");
				goto out;
			}
			cap = cap == 0 ? BODY_CHUNK : cap * 2;
			if (cap > max + 1)
				cap = max + 1;
			if ((nb = realloc(buf, cap + 1)) == NULL) {
				st = http_error(r, 500, "Internal server error");
				goto out;
			}
			buf = nb;
		}
		chunk = cap - got > INT_MAX ? INT_MAX : (int)(cap - got);
		if ((n = r->io->read(r->io->ctx, buf + got, chunk)) == 0)
			break;
		if (n < 0 || n > chunk) {
			st = http_error(r, 400, "Incomplete request body");
			goto out;
		}
		got += (size_t)n;
	}
	if (got > max) {
		st = http_error(r, 413, "Request body too large");
		goto out;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	return st;
}

/*
 * Read the request body into r->body (owned, NUL-terminated) and r->bodylen:
 * exactly CONTENT_LENGTH bytes, or up to EOF when there is no length.
 * Returns 0, 413 (longer than max) or 400 (short or failed read). A second
 * call returns 0 without reading.
 */
int
http_read_body(struct req *r, size_t max)
{
	char	*buf;
	int	 st;

	if (r->body != NULL)
		return 0;
	if (max >= SIZE_MAX / 2)
		max = SIZE_MAX / 2;
	if (r->body_too_large || r->content_length > max)
		return http_error(r, 413, "Request body too large");
	if (param_nonempty(r, "CONTENT_LENGTH") == NULL)
		return read_to_eof(r, max, &r->body, &r->bodylen);
	if ((buf = malloc((size_t)r->content_length + 1)) == NULL)
		return http_error(r, 500, "Internal server error");
	if ((st = read_exact(r, buf, (size_t)r->content_length)) != 0) {
		free(buf);
		return st;
	}
	buf[r->content_length] = '\0';
	r->body = buf;
	r->bodylen = (size_t)r->content_length;
	return 0;
}

/* A copy of s in r->hbuf, or malloc'd when it does not fit there. */
static char *
hdr_copy(struct req *r, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p;

	if (n > sizeof(r->hbuf) - r->hused)
		return strdup(s);
	p = r->hbuf + r->hused;
	memcpy(p, s, n);
	r->hused += n;
	return p;
}

/* Free a copy made by hdr_copy. */
static void
hdr_free(struct req *r, char *p)
{
	if (p != NULL && (p < r->hbuf || p >= r->hbuf + sizeof(r->hbuf)))
		free(p);
}

/*
 * Add a copied response header. Dropped (and logged) when the name is empty
 * or holds CR, LF, ':' or a space, the value holds CR or LF (NUL cannot be
 * inside a C string), or HDR_MAX headers are already set.
 */
void
http_add_header(struct req *r, const char *name, const char *value)
{
	struct hdr	*h;

	if (name == NULL || value == NULL || *name == '\0' ||
	    strpbrk(name, "\r\n: ") != NULL || strpbrk(value, "\r\n") != NULL) {
		log_warn("req=%s: unsafe response header dropped", r->id);
		return;
	}
	if (r->nhdrs >= HDR_MAX) {
		log_warn("req=%s: too many response headers, %s dropped",
		    r->id, name);
		return;
	}
	h = &r->hdrs[r->nhdrs];
	h->name = hdr_copy(r, name);
	h->value = hdr_copy(r, value);
	if (h->name == NULL || h->value == NULL) {
		hdr_free(r, h->name);
		hdr_free(r, h->value);
		h->name = h->value = NULL;
		return;
	}
	r->nhdrs++;
}

/*
 * r->out = {"detail": <formatted>} (replacing any body), r->status =
 * status. Returns status.
 */
int
http_error(struct req *r, int status, const char *fmt, ...)
{
	char	msg[DETAIL_MAX * 2];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_put(r->out);
	r->out = js_detail(msg);
	r->status = status;
	return status;
}

/*
 * The response head is collected in one buffer and written with the body,
 * so that a small response is one write to the web server.
 */
struct out {
	struct req	*r;
	char		 buf[4096];
	size_t		 len;
	int		 failed;
};

/* Write what is buffered; after a failure writes nothing more. */
static void
out_flush(struct out *o)
{
	if (!o->failed && o->len > 0 &&
	    o->r->io->write(o->r->io->ctx, o->buf, (int)o->len) != (int)o->len)
		o->failed = 1;
	o->len = 0;
}

/* Append n bytes of s (written through when they do not fit). */
static void
out_put(struct out *o, const char *s, size_t n)
{
	if (o->failed || n == 0)
		return;
	if (n > sizeof(o->buf) - o->len) {
		out_flush(o);
		if (n > sizeof(o->buf)) {
			if (!o->failed && (n > INT_MAX || o->r->io->write(
			    o->r->io->ctx, s, (int)n) != (int)n))
				o->failed = 1;
			return;
		}
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
}

/* Append "Name: value\r\n". */
static void
out_header(struct out *o, const char *name, const char *value)
{
	out_put(o, name, strlen(name));
	out_put(o, ": ", 2);
	out_put(o, value, strlen(value));
	out_put(o, "\r\n", 2);
}

/*
 * Write the response: Status line, Content-Type when there is a body
 * (never for 204), Cache-Control, X-Content-Type-Options, r->hdrs, blank
 * line, r->out as compact JSON. A status this server does not know, or
 * none, is sent as 500. A failed write is logged; the worker goes on.
 */
void
http_reply(struct req *r)
{
	struct out	 o;
	char		 line[64];
	const char	*reason, *body;
	size_t		 i, blen;

	if ((reason = http_reason(r->status)) == NULL) {
		log_error("req=%s: unknown status %d sent as 500", r->id,
		    r->status);
		http_error(r, 500, "Internal server error");
		reason = http_reason(500);
	}
	if (r->status == 204) {
		json_object_put(r->out);
		r->out = NULL;
	}
	o.r = r;
	o.len = 0;
	o.failed = 0;
	snprintf(line, sizeof(line), "%d %s", r->status, reason);
	out_header(&o, "Status", line);
	if (r->out != NULL)
		out_header(&o, "Content-Type", "application/json");
	out_header(&o, "Cache-Control", "no-store");
	out_header(&o, "X-Content-Type-Options", "nosniff");
	for (i = 0; i < r->nhdrs; i++)
		out_header(&o, r->hdrs[i].name, r->hdrs[i].value);
	out_put(&o, "\r\n", 2);
	if (r->out != NULL && (body = json_object_to_json_string_length(r->out,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
	    &blen)) != NULL)
		out_put(&o, body, blen);
	out_flush(&o);
	if (o.failed)
		log_warn("req=%s: writing the response failed", r->id);
}

/* Free everything r owns and zero those fields (safe to call twice). */
void
req_free(struct req *r)
{
	size_t	i;

	free(r->path);
	free(r->query);
	if (r->body != NULL)
		OPENSSL_cleanse(r->body, r->bodylen);  /* may hold a password */
	free(r->body);
	json_object_put(r->json);
	for (i = 0; i < r->nparams && i < PARAM_MAX; i++)
		free(r->params[i]);
	json_object_put(r->out);
	for (i = 0; i < r->nhdrs && i < HDR_MAX; i++) {
		hdr_free(r, r->hdrs[i].name);
		hdr_free(r, r->hdrs[i].value);
	}
	r->hused = 0;
	r->path = r->query = r->body = NULL;
	r->json = r->out = NULL;
	r->nparams = r->nhdrs = 0;
	r->bodylen = 0;
}
