/*
 * test_router.c - the web layer: router_match (route table, 404/405 + Allow,
 * capture decoding), http_req_init (routing path, query, length), body
 * reading, response bytes, router_dispatch's checks that need no handler,
 * and auth_identify against a real LMDB store in a mkdtemp() directory.
 * Parsers are table-driven: one row per case with input and expected outcome.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "app.h"
#include "auth.h"
#include "handlers.h"
#include "http.h"
#include "js.h"
#include "router.h"
#include "store.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

static struct app app;

static void
app_setup(void)
{
	memset(&app, 0, sizeof(app));
	config_init(&app.cfg);
}

static void
app_teardown(void)
{
	config_free(&app.cfg);
}

static void
set_prefix(const char *p)
{
	free(app.cfg.mount_prefix);
	app.cfg.mount_prefix = strdup(p);
	cr_assert_not_null(app.cfg.mount_prefix);
}

/* --- a memory http_io: body in, response out --- */

struct mem {
	const char	*in;
	size_t		 inlen, pos;
	int		 rfail, wfail;
	char		 out[8192];
	size_t		 outlen;
};

/* Reads at most 5 bytes at a time, so callers must loop. */
static int
mem_read(void *ctx, char *buf, int n)
{
	struct mem	*m = ctx;
	size_t		 k = m->inlen - m->pos;

	if (m->rfail)
		return -1;
	if (k > (size_t)n)
		k = (size_t)n;
	if (k > 5)
		k = 5;
	memcpy(buf, m->in + m->pos, k);
	m->pos += k;
	return (int)k;
}

static int
mem_write(void *ctx, const char *buf, int n)
{
	struct mem	*m = ctx;

	if (m->wfail || m->outlen + (size_t)n >= sizeof(m->out))
		return -1;
	memcpy(m->out + m->outlen, buf, (size_t)n);
	m->outlen += (size_t)n;
	m->out[m->outlen] = '\0';
	return n;
}

static void
io_init(struct http_io *io, struct mem *m, char **envp, const char *body)
{
	memset(io, 0, sizeof(*io));
	memset(m, 0, sizeof(*m));
	m->in = body != NULL ? body : "";
	m->inlen = strlen(m->in);
	io->envp = envp;
	io->read = mem_read;
	io->write = mem_write;
	io->ctx = m;
	io->role = ROLE_RESPONDER;
}

/* The detail string of r->out, or "" */
static const char *
detail_of(const struct req *r)
{
	struct json_object	*d;

	if (r->out == NULL || !json_object_object_get_ex(r->out, "detail", &d))
		return "";
	return json_object_get_string(d);
}

/* The value of response header name, or NULL. */
static const char *
hdr_of(const struct req *r, const char *name)
{
	size_t	i;

	for (i = 0; i < r->nhdrs; i++)
		if (strcmp(r->hdrs[i].name, name) == 0)
			return r->hdrs[i].value;
	return NULL;
}

/* --- router_match --- */

struct match_row {
	const char	*method, *path;
	int		 status;
	handler_fn	 fn;
	const char	*param;         /* expected capture, NULL if none */
	const char	*allow;         /* for 405 */
};

static const struct match_row match_rows[] = {
	{ "GET", "/health", 200, h_health, NULL, NULL },
	{ "POST", "/auth/login", 200, h_login, NULL, NULL },
	{ "POST", "/auth/email/login", 200, h_login, NULL, NULL },
	{ "POST", "/auth/logout", 200, h_logout, NULL, NULL },
	{ "GET", "/auth/me", 200, h_me, NULL, NULL },
	{ "POST", "/tokens", 200, h_token_create, NULL, NULL },
	{ "GET", "/tokens", 200, h_token_list, NULL, NULL },
	{ "GET", "/tokens/abc", 200, h_token_get, "abc", NULL },
	{ "PUT", "/tokens/abc", 200, h_token_update, "abc", NULL },
	{ "DELETE", "/tokens/abc", 200, h_token_revoke, "abc", NULL },
	{ "GET", "/tokens/admin", 200, h_token_get, "admin", NULL },
	/* captures are copied as they are: the path is canonical already
	 * (http_req_init decoded it once with upath_canon) */
	{ "GET", "/tokens/a%20b", 200, h_token_get, "a%20b", NULL },
	{ "GET", "/tokens/a+b", 200, h_token_get, "a+b", NULL },
	{ "GET", "/tokens/a b", 200, h_token_get, "a b", NULL },
	{ "GET", "/tokens/a%2fb", 200, h_token_get, "a%2fb", NULL },
	{ "GET", "/tokens/%zz", 200, h_token_get, "%zz", NULL },
	{ "GET", "/tokens/\xc3\xa9", 200, h_token_get, "\xc3\xa9", NULL },
	/* an empty capture is no capture */
	{ "GET", "/tokens/", 404, NULL, NULL, NULL },
	{ "DELETE", "/tokens//x", 404, NULL, NULL, NULL },
	/* unknown paths */
	{ "GET", "/", 404, NULL, NULL, NULL },
	{ "GET", "", 404, NULL, NULL, NULL },
	{ "GET", "/nope", 404, NULL, NULL, NULL },
	{ "GET", "/Health", 404, NULL, NULL, NULL },
	{ "GET", "/health/", 404, NULL, NULL, NULL },
	{ "GET", "//health", 404, NULL, NULL, NULL },
	{ "GET", "/auth", 404, NULL, NULL, NULL },
	{ "GET", "/tokens/x/y", 404, NULL, NULL, NULL },
	/* the literal admin routes win over /tokens/{id}/... */
	{ "GET", "/tokens/admin/all", 200, h_admin_tokens, NULL, NULL },
	{ "GET", "/tokens/admin/audit", 200, h_admin_audit, NULL, NULL },
	{ "POST", "/tokens/admin/all", 405, NULL, NULL, "GET" },
	{ "GET", "/v1/tokens", 404, NULL, NULL, NULL },
	{ "GET", "/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s", 404, NULL, NULL, NULL },
	/* wrong method: 405 with the methods of the winning pattern */
	{ "DELETE", "/health", 405, NULL, NULL, "GET" },
	{ "HEAD", "/health", 405, NULL, NULL, "GET" },
	{ "PATCH", "/tokens", 405, NULL, NULL, "GET, POST" },
	{ "get", "/tokens", 405, NULL, NULL, "GET, POST" },
	{ "POST", "/tokens/abc", 405, NULL, NULL, "GET, PUT, DELETE" },
	{ "POST", "/tokens/a%2fb", 405, NULL, NULL, "GET, PUT, DELETE" },
	{ "GET", "/auth/login", 405, NULL, NULL, "POST" },
	{ "GET", "/auth/email/login", 405, NULL, NULL, "POST" },
	{ "GET", "/auth/logout", 405, NULL, NULL, "POST" },
	{ "POST", "/auth/me", 405, NULL, NULL, "GET" },
	/* the invitee's literal /teams/invitations is never a team id */
	{ "GET", "/teams/invitations", 200, h_my_invitations, NULL, NULL },
	{ "POST", "/teams/invitations", 405, NULL, NULL, "GET" },
	{ "POST", "/teams/invitations/t1/accept", 200, h_invitation_accept, "t1", NULL },
	{ "POST", "/teams/invitations/t1/decline", 200, h_invitation_decline, "t1", NULL },
	{ "GET", "/teams/invitations/t1/accept", 405, NULL, NULL, "POST" },
	{ "GET", "/teams/t1", 200, h_team_get, "t1", NULL },
	{ "GET", "/teams/t1/invitations", 200, h_team_invitations, "t1", NULL },
	{ "POST", "/teams/t1/invitations", 405, NULL, NULL, "GET" },
	{ "GET", "/teams/t1/invitations/a@b.c", 405, NULL, NULL, "DELETE" },
};

Test(router, match_table)
{
	const struct match_row	*t;
	const struct route	*rt;
	char			*params[PARAM_MAX], allow[64];
	size_t			 i, n;
	int			 st;

	/* twice each row: the second answer of a path is router_match's cache */
	for (i = 0; i < 2 * NROWS(match_rows); i++) {
		t = &match_rows[i / 2];
		st = -1;
		rt = router_match(t->method, t->path, params, &n, &st, allow,
		    sizeof(allow));
		cr_assert_eq(st, t->status, "%s %s: status %d", t->method,
		    t->path, st);
		if (t->status != 200) {
			cr_assert_null(rt, "%s %s", t->method, t->path);
			cr_assert_eq(n, 0, "%s %s", t->method, t->path);
		} else {
			cr_assert_not_null(rt, "%s %s", t->method, t->path);
			cr_assert_eq(rt->fn, t->fn, "%s %s", t->method, t->path);
			cr_assert_str_eq(rt->method, t->method);
			cr_assert_eq(n, t->param != NULL ? 1u : 0u,
			    "%s %s", t->method, t->path);
			if (t->param != NULL)
				cr_assert_str_eq(params[0], t->param,
				    "%s %s", t->method, t->path);
			while (n > 0)
				free(params[--n]);
		}
		if (t->allow != NULL)
			cr_assert_str_eq(allow, t->allow, "%s %s", t->method,
			    t->path);
	}
}

/*
 * Literal segments beat captures, compared left to right, with a table that
 * has the admin and team rows of API.md 5 (the handlers are stand-ins: only
 * the identity of the row matters).
 */
static int h_a(struct req *r) { (void)r; return 200; }
static int h_b(struct req *r) { (void)r; return 200; }
static int h_c(struct req *r) { (void)r; return 200; }
static int h_d(struct req *r) { (void)r; return 200; }
static int h_e(struct req *r) { (void)r; return 200; }
static int h_f(struct req *r) { (void)r; return 200; }
static int h_g(struct req *r) { (void)r; return 200; }

static const struct route rank_table[] = {
	{ "GET",    "/tokens/{id}",              h_a, 0 },
	{ "GET",    "/tokens/{id}/usage",        h_b, 0 },
	{ "POST",   "/tokens/{id}/rotate",       h_c, 0 },
	{ "DELETE", "/tokens/admin/{id}",        h_d, 0 },
	{ "GET",    "/tokens/admin/all",         h_e, 0 },
	{ "GET",    "/tokens/teams/{team_id}",   h_f, 0 },
	{ "POST",   "/tokens/teams/{team_id}",   h_g, 0 },
};

static const struct match_row rank_rows[] = {
	{ "GET", "/tokens/admin/all", 200, h_e, NULL, NULL },
	{ "GET", "/tokens/admin", 200, h_a, "admin", NULL },
	{ "GET", "/tokens/abc/usage", 200, h_b, "abc", NULL },
	{ "GET", "/tokens/teams/usage", 200, h_f, "usage", NULL },
	{ "POST", "/tokens/teams/t1", 200, h_g, "t1", NULL },
	{ "POST", "/tokens/abc/rotate", 200, h_c, "abc", NULL },
	{ "DELETE", "/tokens/admin/abc", 200, h_d, "abc", NULL },
	/* the winning pattern decides 405, not a lower-ranked one */
	{ "DELETE", "/tokens/admin/all", 405, NULL, NULL, "GET" },
	{ "GET", "/tokens/admin/usage", 405, NULL, NULL, "DELETE" },
	{ "POST", "/tokens/admin/rotate", 405, NULL, NULL, "DELETE" },
	{ "PUT", "/tokens/teams/t1", 405, NULL, NULL, "GET, POST" },
	{ "GET", "/tokens/abc/rotate", 405, NULL, NULL, "POST" },
	{ "GET", "/tokens/a/b/c", 404, NULL, NULL, NULL },
};

Test(router, literal_beats_capture)
{
	const struct match_row	*t;
	const struct route	*rt;
	char			*params[PARAM_MAX], allow[64];
	size_t			 i, n;
	int			 st;

	for (i = 0; i < NROWS(rank_rows); i++) {
		t = &rank_rows[i];
		rt = router_match_in(rank_table, NROWS(rank_table), t->method,
		    t->path, params, &n, &st, allow, sizeof(allow));
		cr_assert_eq(st, t->status, "%s %s: %d", t->method, t->path, st);
		if (t->status == 200) {
			cr_assert_eq(rt->fn, t->fn, "%s %s", t->method, t->path);
			cr_assert_eq(n, t->param != NULL ? 1u : 0u);
			if (t->param != NULL)
				cr_assert_str_eq(params[0], t->param);
			while (n > 0)
				free(params[--n]);
		} else
			cr_assert_null(rt);
		if (t->allow != NULL)
			cr_assert_str_eq(allow, t->allow, "%s %s", t->method,
			    t->path);
	}
}

/* Captures are limited to 256 decoded bytes. */
Test(router, capture_length)
{
	static const struct {
		size_t	len;
		int	status;
	} rows[] = { { 1, 200 }, { 256, 200 }, { 600, 200 },
	    { PATH_MAX_LEN, 200 }, { PATH_MAX_LEN + 1, 404 } };
	char		 path[PATH_MAX_LEN + 16], *params[PARAM_MAX], allow[64];
	const struct route *rt;
	size_t		 i, n;
	int		 st;

	for (i = 0; i < NROWS(rows); i++) {
		memcpy(path, "/tokens/", 8);
		memset(path + 8, 'x', rows[i].len);
		path[8 + rows[i].len] = '\0';
		rt = router_match("GET", path, params, &n, &st, allow,
		    sizeof(allow));
		cr_assert_eq(st, rows[i].status, "len %zu", rows[i].len);
		if (rt != NULL) {
			cr_assert_eq(strlen(params[0]), rows[i].len);
			free(params[0]);
		}
	}
}

/* --- http_req_init --- */

struct init_row {
	char		*env[8];
	const char	*prefix;
	int		 status;
	const char	*path, *query;
	uint64_t	 clen;
	int		 too_large;
	const char	*ctype;
};

static const struct init_row init_rows[] = {
	/* PATH_INFO wins over REQUEST_URI */
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/tokens",
	    "REQUEST_URI=/api/other?q=1", NULL }, "/api", 0, "/tokens", "q=1",
	    0, 0, NULL },
	/* empty PATH_INFO: REQUEST_URI */
	{ { "REQUEST_METHOD=GET", "PATH_INFO=", "REQUEST_URI=/auth/me", NULL },
	    "", 0, "/auth/me", "", 0, 0, NULL },
	/* mount_prefix stripped at a segment boundary only */
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/api/tokens?x=1", NULL },
	    "/api", 0, "/tokens", "x=1", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/apix/tokens", NULL },
	    "/api", 0, "/apix/tokens", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/api", NULL },
	    "/api", 0, "/", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/api?a=b", NULL },
	    "/api", 0, "/", "a=b", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/api/", NULL },
	    "/api", 0, "/", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/api/v1/tokens/", NULL },
	    "/api", 0, "/tokens", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/tokens", NULL },
	    "/api", 0, "/tokens", "", 0, 0, NULL },
	/* the prefix is not applied to PATH_INFO */
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/api/tokens", NULL },
	    "/api", 0, "/api/tokens", "", 0, 0, NULL },
	/* /v1 and trailing slash */
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/v1/tokens/", NULL },
	    "", 0, "/tokens", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/v1/tokens/abc", NULL },
	    "", 0, "/tokens/abc", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/v1", NULL },
	    "", 0, "/", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/v1/", NULL },
	    "", 0, "/", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/v1x/tokens", NULL },
	    "", 0, "/v1x/tokens", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/v1/v1/tokens", NULL },
	    "", 0, "/v1/tokens", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/", NULL },
	    "", 0, "/", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/tokens//", NULL },
	    "", 0, "/tokens", "", 0, 0, NULL },
	/* REQUEST_URI is canonicalized (decoded once, dot segments, "//")
	 * before the prefix is stripped; PATH_INFO is not decoded again */
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/api/tokens/%41b?x", NULL },
	    "/api", 0, "/tokens/Ab", "x", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/api/x/../tokens", NULL },
	    "/api", 0, "/tokens", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/api/../tokens", NULL },
	    "/api", 0, "/tokens", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/api/%2e%2e/api/auth/me", NULL },
	    "/api", 0, "/auth/me", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=//api//tokens/./x", NULL },
	    "/api", 0, "/tokens/x", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/tokens/%2e%2e", NULL },
	    "", 0, "/tokens/%2e%2e", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/tokens/x/../admin/all", NULL },
	    "", 0, "/tokens/admin/all", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/tokens/a%2Fb?x", NULL },
	    "", 400, NULL, NULL, 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/tokens/%252e%252e", NULL },
	    "", 400, NULL, NULL, 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/../tokens", NULL },
	    "", 400, NULL, NULL, 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/tokens/%zz", NULL },
	    "", 400, NULL, NULL, 0, 0, NULL },
	/* QUERY_STRING wins over the query in REQUEST_URI */
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/tokens?a=1",
	    "QUERY_STRING=b=2", NULL }, "", 0, "/tokens", "b=2", 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/tokens?a=1",
	    "QUERY_STRING=", NULL }, "", 0, "/tokens", "", 0, 0, NULL },
	/* content type and length */
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/tokens", "CONTENT_LENGTH=12",
	    "CONTENT_TYPE=application/json", NULL }, "", 0, "/tokens", "", 12, 0,
	    "application/json" },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/tokens", "CONTENT_LENGTH=",
	    "CONTENT_TYPE=", NULL }, "", 0, "/tokens", "", 0, 0, NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/tokens", "CONTENT_LENGTH=65536",
	    NULL }, "", 0, "/tokens", "", 65536, 0, NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/tokens", "CONTENT_LENGTH=65537",
	    NULL }, "", 0, "/tokens", "", 65537, 1, NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/tokens",
	    "CONTENT_LENGTH=18446744073709551615", NULL }, "", 0, "/tokens", "",
	    UINT64_MAX, 1, NULL },
	/* rejections */
	{ { "PATH_INFO=/tokens", NULL }, "", 400, NULL, NULL, 0, 0, NULL },
	{ { "REQUEST_METHOD=", "PATH_INFO=/tokens", NULL }, "", 400, NULL, NULL,
	    0, 0, NULL },
	{ { "REQUEST_METHOD=GET", NULL }, "", 400, NULL, NULL, 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=", NULL }, "", 400, NULL, NULL,
	    0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=tokens", NULL }, "", 400, NULL,
	    NULL, 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=?x=1", NULL }, "", 400, NULL,
	    NULL, 0, 0, NULL },
	{ { "REQUEST_METHOD=GET", "PATH_INFO=tokens", NULL }, "", 400, NULL,
	    NULL, 0, 0, NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/t", "CONTENT_LENGTH=abc", NULL },
	    "", 400, NULL, NULL, 0, 0, NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/t", "CONTENT_LENGTH=-1", NULL },
	    "", 400, NULL, NULL, 0, 0, NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/t", "CONTENT_LENGTH= 5", NULL },
	    "", 400, NULL, NULL, 0, 0, NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/t", "CONTENT_LENGTH=5x", NULL },
	    "", 400, NULL, NULL, 0, 0, NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/t",
	    "CONTENT_LENGTH=18446744073709551616", NULL }, "", 400, NULL, NULL,
	    0, 0, NULL },
};

TestSuite(http, .init = app_setup, .fini = app_teardown);

Test(http, req_init_table)
{
	const struct init_row	*t;
	struct http_io		 io;
	struct mem		 m;
	struct req		 r;
	size_t			 i, k;
	int			 st;

	for (i = 0; i < NROWS(init_rows); i++) {
		t = &init_rows[i];
		set_prefix(t->prefix);
		io_init(&io, &m, (char **)(uintptr_t)t->env, NULL);
		memset(&r, 0, sizeof(r));
		st = http_req_init(&r, &app, &io);
		cr_assert_eq(st, t->status, "row %zu: %d", i, st);
		cr_assert_eq(strlen(r.id), 16, "row %zu", i);
		for (k = 0; k < 16; k++)
			cr_assert(strchr("0123456789abcdef", r.id[k]) != NULL);
		if (t->status != 0) {
			cr_assert_eq(r.status, t->status, "row %zu", i);
			cr_assert_str_neq(detail_of(&r), "", "row %zu", i);
		} else {
			cr_assert_str_eq(r.path, t->path, "row %zu", i);
			cr_assert_str_eq(r.query, t->query, "row %zu", i);
			cr_assert_eq(r.content_length, t->clen, "row %zu", i);
			cr_assert_eq(r.body_too_large, t->too_large, "row %zu", i);
			if (t->ctype == NULL)
				cr_assert_null(r.content_type, "row %zu", i);
			else
				cr_assert_str_eq(r.content_type, t->ctype);
		}
		req_free(&r);
	}
}

Test(http, req_init_messages)
{
	char		*env1[] = { "PATH_INFO=/t", NULL };
	char		*env2[] = { "REQUEST_METHOD=POST", "PATH_INFO=/t",
			    "CONTENT_LENGTH=x", NULL };
	struct http_io	 io;
	struct mem	 m;
	struct req	 r;

	io_init(&io, &m, env1, NULL);
	memset(&r, 0, sizeof(r));
	cr_assert_eq(http_req_init(&r, &app, &io), 400);
	cr_assert_str_eq(detail_of(&r), "Missing request method");
	req_free(&r);
	io_init(&io, &m, env2, NULL);
	memset(&r, 0, sizeof(r));
	cr_assert_eq(http_req_init(&r, &app, &io), 400);
	cr_assert_str_eq(detail_of(&r), "Invalid Content-Length");
	req_free(&r);
}

/* Paths up to PATH_MAX_LEN are routed; longer ones are 414. */
Test(http, path_length)
{
	static char	 uri[PATH_MAX_LEN + 64];
	char		*env[] = { "REQUEST_METHOD=GET", uri, NULL };
	static const struct {
		size_t	len;
		int	status;
	} rows[] = { { PATH_MAX_LEN, 0 }, { PATH_MAX_LEN + 1, 414 } };
	struct http_io	 io;
	struct mem	 m;
	struct req	 r;
	size_t		 i;

	for (i = 0; i < NROWS(rows); i++) {
		strcpy(uri, "REQUEST_URI=/");
		memset(uri + 13, 'a', rows[i].len - 1);
		strcpy(uri + 12 + rows[i].len, "?q=1");
		io_init(&io, &m, env, NULL);
		memset(&r, 0, sizeof(r));
		cr_assert_eq(http_req_init(&r, &app, &io), rows[i].status);
		if (rows[i].status == 414)
			cr_assert_str_eq(detail_of(&r), "URI too long");
		else
			cr_assert_eq(strlen(r.path), rows[i].len);
		req_free(&r);
	}
}

Test(http, request_ids_differ)
{
	char		*env[] = { "REQUEST_METHOD=GET", "PATH_INFO=/", NULL };
	struct http_io	 io;
	struct mem	 m;
	struct req	 a, b;

	io_init(&io, &m, env, NULL);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	cr_assert_eq(http_req_init(&a, &app, &io), 0);
	cr_assert_eq(http_req_init(&b, &app, &io), 0);
	cr_assert_str_neq(a.id, b.id);
	cr_assert_gt(a.start_us, 0);
	req_free(&a);
	req_free(&b);
}

/* --- http_read_body --- */

struct body_row {
	const char	*clen;          /* NULL: no CONTENT_LENGTH */
	const char	*in;
	size_t		 max;
	int		 rfail;
	int		 status;
	const char	*body;
};

static const struct body_row body_rows[] = {
	{ "5", "hello", 100, 0, 0, "hello" },
	{ "5", "hello world", 100, 0, 0, "hello" },
	{ "0", "ignored", 100, 0, 0, "" },
	{ "13", "{\"a\":\"bcdef\"}", 13, 0, 0, "{\"a\":\"bcdef\"}" },
	{ NULL, "read to the end", 100, 0, 0, "read to the end" },
	{ NULL, "", 100, 0, 0, "" },
	{ NULL, "exactly10!", 10, 0, 0, "exactly10!" },
	/* rejections */
	{ "10", "hello", 100, 0, 400, NULL },
	{ "5", "hello", 100, 1, 400, NULL },
	{ NULL, "eleven byte", 10, 0, 413, NULL },
	{ NULL, "hello", 100, 1, 400, NULL },
	{ "6", "hello!", 5, 0, 413, NULL },
};

Test(http, read_body_table)
{
	const struct body_row	*t;
	char			 clen[64];
	char			*env[] = { "REQUEST_METHOD=POST", "PATH_INFO=/t",
				    clen, NULL };
	struct http_io		 io;
	struct mem		 m;
	struct req		 r;
	size_t			 i;

	for (i = 0; i < NROWS(body_rows); i++) {
		t = &body_rows[i];
		if (t->clen != NULL)
			snprintf(clen, sizeof(clen), "CONTENT_LENGTH=%s", t->clen);
		else
			snprintf(clen, sizeof(clen), "X=1");
		io_init(&io, &m, env, t->in);
		m.rfail = t->rfail;
		memset(&r, 0, sizeof(r));
		cr_assert_eq(http_req_init(&r, &app, &io), 0, "row %zu", i);
		cr_assert_eq(http_read_body(&r, t->max), t->status, "row %zu", i);
		if (t->status == 0) {
			cr_assert_str_eq(r.body, t->body, "row %zu", i);
			cr_assert_eq(r.bodylen, strlen(t->body), "row %zu", i);
		} else {
			cr_assert_null(r.body, "row %zu", i);
			cr_assert_eq(r.status, t->status);
		}
		req_free(&r);
	}
}

/* A body announced over max_body_bytes is refused without being read. */
Test(http, read_body_too_large_unread)
{
	char		*env[] = { "REQUEST_METHOD=POST", "PATH_INFO=/t",
			    "CONTENT_LENGTH=70000", NULL };
	struct http_io	 io;
	struct mem	 m;
	struct req	 r;

	io_init(&io, &m, env, "abc");
	memset(&r, 0, sizeof(r));
	cr_assert_eq(http_req_init(&r, &app, &io), 0);
	cr_assert(r.body_too_large);
	cr_assert_eq(http_read_body(&r, 1000000), 413);
	cr_assert_str_eq(detail_of(&r), "Request body too large");
	cr_assert_eq(m.pos, 0);
	req_free(&r);
}

/* --- headers, errors, replies --- */

Test(http, add_header_filters)
{
	struct req	r;
	size_t		i;
	char		name[16];

	memset(&r, 0, sizeof(r));
	http_add_header(&r, "X-Ok", "fine");
	http_add_header(&r, "X-Bad", "a\r\nSet-Cookie: x");
	http_add_header(&r, "X-Bad", "a\nb");
	http_add_header(&r, "X-Bad\r\nX", "v");
	http_add_header(&r, "X:Bad", "v");
	http_add_header(&r, "", "v");
	http_add_header(&r, NULL, "v");
	http_add_header(&r, "X-Null", NULL);
	cr_assert_eq(r.nhdrs, 1);
	cr_assert_str_eq(r.hdrs[0].name, "X-Ok");
	cr_assert_str_eq(r.hdrs[0].value, "fine");
	for (i = 0; i < HDR_MAX + 3; i++) {
		snprintf(name, sizeof(name), "X-%zu", i);
		http_add_header(&r, name, "v");
	}
	cr_assert_eq(r.nhdrs, HDR_MAX);
	req_free(&r);
}

Test(http, error_sets_detail)
{
	struct req	r;

	memset(&r, 0, sizeof(r));
	cr_assert_eq(http_error(&r, 422, "%s: must be %d", "name", 7), 422);
	cr_assert_eq(r.status, 422);
	cr_assert_str_eq(detail_of(&r), "name: must be 7");
	cr_assert_eq(http_error(&r, 404, "Token not found"), 404);
	cr_assert_str_eq(detail_of(&r), "Token not found");
	req_free(&r);
}

Test(http, reason_phrases)
{
	static const int	used[] = { 200, 201, 202, 204, 400, 401, 403, 404,
				    405, 409, 413, 414, 415, 422, 429, 500,
				    503, 507 };
	size_t			i;

	for (i = 0; i < NROWS(used); i++)
		cr_assert_not_null(http_reason(used[i]), "%d", used[i]);
	cr_assert_null(http_reason(0));
	cr_assert_null(http_reason(299));
	cr_assert_str_eq(http_reason(405), "Method Not Allowed");
	cr_assert_str_eq(http_reason(202), "Accepted");
}

/* A reply written into memory. */
static void
reply_into(struct req *r, struct http_io *io, struct mem *m)
{
	io_init(io, m, NULL, NULL);
	r->io = io;
	http_reply(r);
}

Test(http, reply_201_with_body)
{
	struct http_io	io;
	struct mem	m;
	struct req	r;

	memset(&r, 0, sizeof(r));
	r.status = 201;
	r.out = json_object_new_object();
	js_add_str(r.out, "id", "a/b\"c");
	js_add_int(r.out, "n", 3);
	http_add_header(&r, "Location", "/tokens/x");
	reply_into(&r, &io, &m);
	cr_assert_str_eq(m.out,
	    "Status: 201 Created\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Location: /tokens/x\r\n"
	    "\r\n"
	    "{\"id\":\"a/b\\\"c\",\"n\":3}");
	req_free(&r);
}

Test(http, reply_204_has_no_body)
{
	struct http_io	io;
	struct mem	m;
	struct req	r;

	memset(&r, 0, sizeof(r));
	r.status = 204;
	r.out = js_detail("dropped");
	reply_into(&r, &io, &m);
	cr_assert_str_eq(m.out,
	    "Status: 204 No Content\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "\r\n");
	req_free(&r);
}

Test(http, reply_unknown_status_is_500)
{
	struct http_io	io;
	struct mem	m;
	struct req	r;

	memset(&r, 0, sizeof(r));
	reply_into(&r, &io, &m);
	cr_assert_str_eq(m.out,
	    "Status: 500 Internal Server Error\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "\r\n"
	    "{\"detail\":\"Internal server error\"}");
	req_free(&r);
}

Test(http, reply_write_failure_is_survived)
{
	struct http_io	io;
	struct mem	m;
	struct req	r;

	memset(&r, 0, sizeof(r));
	r.status = 200;
	r.out = js_detail("x");
	io_init(&io, &m, NULL, NULL);
	m.wfail = 1;
	r.io = &io;
	http_reply(&r);
	cr_assert_eq(m.outlen, 0);
	req_free(&r);
}

/* --- router_dispatch: the checks that come before any handler --- */

struct dispatch {
	struct http_io	io;
	struct mem	m;
	struct req	r;
	struct caller	c;              /* identify()'s */
};

/* Init, dispatch and reply one request; returns the status. */
static int
dispatch(struct dispatch *d, char **env, const char *body, int role)
{
	int	st;

	io_init(&d->io, &d->m, env, body);
	d->io.role = role;
	memset(&d->r, 0, sizeof(d->r));
	if ((st = http_req_init(&d->r, &app, &d->io)) == 0)
		st = router_dispatch(&d->r);
	cr_assert_eq(d->r.status, st);
	http_reply(&d->r);
	return st;
}

Test(http, dispatch_405_reply_bytes)
{
	char		*env[] = { "REQUEST_METHOD=PATCH",
			    "REQUEST_URI=/v1/tokens/abc/", NULL };
	struct dispatch	 d;

	cr_assert_eq(dispatch(&d, env, NULL, ROLE_RESPONDER), 405);
	cr_assert_str_eq(d.m.out,
	    "Status: 405 Method Not Allowed\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Allow: GET, PUT, DELETE\r\n"
	    "\r\n"
	    "{\"detail\":\"Method not allowed\"}");
	req_free(&d.r);
}

#define API_TOKEN_MSG "Token management requires an interactive session " \
	"(JWT from web login or SSO). API tokens cannot create, list, or " \
	"revoke other tokens."

struct dispatch_row {
	char		*env[8];
	const char	*body;
	int		 role;
	int		 status;
	const char	*detail;
	const char	*www_auth;      /* expected WWW-Authenticate, or NULL */
};

#define WA	"Bearer realm=\"tokencat\""
#define WA_BAD	"Bearer realm=\"tokencat\", error=\"invalid_token\""

static const struct dispatch_row dispatch_rows[] = {
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/nope", NULL }, NULL,
	    ROLE_RESPONDER, 404, "Not found", NULL },
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/tokens/a/b", NULL }, NULL,
	    ROLE_RESPONDER, 404, "Not found", NULL },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/tokens/a%2fb", NULL }, NULL,
	    ROLE_RESPONDER, 400, "Invalid request path /tokens/a%2fb: encoded slash",
	    NULL },
	/* no credentials on a session route */
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/tokens", NULL }, NULL,
	    ROLE_RESPONDER, 401, "Authorization token required", WA },
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/auth/me", NULL }, NULL,
	    ROLE_RESPONDER, 401, "Authorization token required", WA },
	/* REMOTE_USER is ignored without trust_remote_user */
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/auth/me",
	    "REMOTE_USER=a@example.com", NULL }, NULL,
	    ROLE_RESPONDER, 401, "Authorization token required", WA },
	/* malformed Authorization values */
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/tokens",
	    "HTTP_AUTHORIZATION=Basic dXNlcjpwdw==", NULL }, NULL,
	    ROLE_RESPONDER, 401, "Invalid authentication credentials", WA_BAD },
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/tokens",
	    "HTTP_AUTHORIZATION=Bearer", NULL }, NULL,
	    ROLE_RESPONDER, 401, "Invalid authentication credentials", WA_BAD },
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/tokens",
	    "HTTP_AUTHORIZATION=Bearer ", NULL }, NULL,
	    ROLE_RESPONDER, 401, "Invalid authentication credentials", WA_BAD },
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/tokens",
	    "HTTP_AUTHORIZATION=Bearer a b", NULL }, NULL,
	    ROLE_RESPONDER, 401, "Invalid authentication credentials", WA_BAD },
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/tokens",
	    "HTTP_AUTHORIZATION=Bearerx.y.z", NULL }, NULL,
	    ROLE_RESPONDER, 401, "Invalid authentication credentials", WA_BAD },
	{ { "REQUEST_METHOD=GET", "PATH_INFO=/tokens",
	    "HTTP_AUTHORIZATION=", NULL }, NULL,
	    ROLE_RESPONDER, 401, "Invalid authentication credentials", WA_BAD },
	/* body checks on POST /auth/login (no caller needed) */
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login",
	    "CONTENT_LENGTH=70000", NULL }, NULL,
	    ROLE_RESPONDER, 413, "Request body too large", NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login",
	    "CONTENT_TYPE=text/plain", "CONTENT_LENGTH=2", NULL }, "{}",
	    ROLE_RESPONDER, 415, "Content-Type must be application/json", NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login",
	    "CONTENT_TYPE=application/jsonx", "CONTENT_LENGTH=2", NULL }, "{}",
	    ROLE_RESPONDER, 415, "Content-Type must be application/json", NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login",
	    "CONTENT_TYPE=application/x-www-form-urlencoded",
	    "CONTENT_LENGTH=3", NULL }, "a=b",
	    ROLE_RESPONDER, 415, "Content-Type must be application/json", NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login",
	    "CONTENT_TYPE=text/plain", "CONTENT_LENGTH=0", NULL }, "",
	    ROLE_RESPONDER, 415, "Content-Type must be application/json", NULL },
	/* a body must say it is JSON: no Content-Type is 415 too (a cross-site
	 * form or Blob sends none without a preflight) */
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login",
	    "CONTENT_LENGTH=2", NULL }, "{}",
	    ROLE_RESPONDER, 415, "Content-Type must be application/json", NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login", NULL }, "{}",
	    ROLE_RESPONDER, 415, "Content-Type must be application/json", NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login",
	    "CONTENT_LENGTH=0", NULL }, "",
	    ROLE_RESPONDER, 415, "Content-Type must be application/json", NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login",
	    "CONTENT_TYPE=application/json", "CONTENT_LENGTH=0", NULL }, "",
	    ROLE_RESPONDER, 400, "Request body required", NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login",
	    "CONTENT_TYPE=application/json", NULL }, "",
	    ROLE_RESPONDER, 400, "Request body required", NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login",
	    "CONTENT_TYPE=application/json", "CONTENT_LENGTH=10", NULL }, "{}",
	    ROLE_RESPONDER, 400, "Incomplete request body", NULL },
	/* accepted types reach the parser: invalid JSON is 400, not 415 */
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login",
	    "CONTENT_TYPE=application/json; charset=utf-8",
	    "CONTENT_LENGTH=1", NULL }, "{",
	    ROLE_RESPONDER, 400, NULL, NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login",
	    "CONTENT_TYPE=APPLICATION/JSON", "CONTENT_LENGTH=1", NULL }, "{",
	    ROLE_RESPONDER, 400, NULL, NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login",
	    "CONTENT_TYPE=application/json", "CONTENT_LENGTH=3", NULL }, "nul",
	    ROLE_RESPONDER, 400, NULL, NULL },
	/* valid JSON that is not an object */
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login",
	    "CONTENT_TYPE=application/json", "CONTENT_LENGTH=3", NULL }, "[1]",
	    ROLE_RESPONDER, 422, "body: must be a JSON object", NULL },
	{ { "REQUEST_METHOD=POST", "PATH_INFO=/auth/login",
	    "CONTENT_TYPE=application/json", "CONTENT_LENGTH=4", NULL }, "\"x\"\n",
	    ROLE_RESPONDER, 422, "body: must be a JSON object", NULL },
	/* the Authorizer role never reaches the API routes: /health is not
	 * answered, the request is a decision, and without a token it is 401 */
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/health", NULL }, NULL,
	    ROLE_AUTHORIZER, 401, "Authorization token required", WA },
	{ { "REQUEST_METHOD=GET", "REQUEST_URI=/health",
	    "HTTP_AUTHORIZATION=Bearer x.y.z", NULL }, NULL,
	    ROLE_AUTHORIZER, 401, "Invalid authentication credentials", WA_BAD },
};

Test(http, dispatch_table)
{
	const struct dispatch_row	*t;
	struct dispatch			 d;
	const char			*wa;
	size_t				 i;

	for (i = 0; i < NROWS(dispatch_rows); i++) {
		t = &dispatch_rows[i];
		cr_assert_eq(dispatch(&d, (char **)(uintptr_t)t->env, t->body,
		    t->role), t->status, "row %zu: %d %s", i, d.r.status,
		    detail_of(&d.r));
		if (t->detail != NULL)
			cr_assert_str_eq(detail_of(&d.r), t->detail, "row %zu", i);
		else
			cr_assert_str_neq(detail_of(&d.r), "", "row %zu", i);
		wa = hdr_of(&d.r, "WWW-Authenticate");
		if (t->www_auth == NULL)
			cr_assert_null(wa, "row %zu", i);
		else
			cr_assert_str_eq(wa, t->www_auth, "row %zu", i);
		cr_assert_null(d.r.json, "row %zu", i);
		cr_assert(strncmp(d.m.out, "Status: ", 8) == 0);
		req_free(&d.r);
	}
}

/* --- auth_identify against a real store --- */

static char	 dbdir[64];

static void
rmtree(const char *dir)
{
	char		 p[512];
	DIR		*dp;
	struct dirent	*e;

	if ((dp = opendir(dir)) == NULL)
		return;
	while ((e = readdir(dp)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(dp);
	rmdir(dir);
}

static void
store_setup(void)
{
	app_setup();
	strcpy(dbdir, "/tmp/tc-router-XXXXXX");
	cr_assert_not_null(mkdtemp(dbdir));
	cr_assert_eq(store_open(&app.st, dbdir, 1, STORE_CREATE), 0);
	memset(app.key.key, 'k', 32);
	app.key.len = 32;
}

static void
store_teardown(void)
{
	store_close(app.st);
	app.st = NULL;
	rmtree(dbdir);
	app_teardown();
}

/* Add a user; returns its id in id. */
static void
add_user(const char *email, int active, int admin, char id[UUID_LEN + 1])
{
	struct user	u;

	memset(&u, 0, sizeof(u));
	cr_assert_eq(util_uuid4(u.id), 0);
	snprintf(u.email, sizeof(u.email), "%s", email);
	snprintf(u.full_name, sizeof(u.full_name), "Test");
	u.is_active = active;
	u.is_admin = admin;
	u.created_at = util_now_ms();
	cr_assert_eq(store_user_add(app.st, &u, NULL), 0);
	strcpy(id, u.id);
}

/*
 * auth_identify with what one extra parameter presents ("NAME=value":
 * HTTP_AUTHORIZATION, REMOTE_USER or HTTP_COOKIE) into d->c (zeroed
 * first; caller_free it). Returns auth_identify's code.
 */
static int
identify(struct dispatch *d, const char *extra)
{
	struct credentials cr = { NULL, NULL, NULL };
	const char *v = strchr(extra, '=');

	cr_assert_not_null(v);
	v++;
	if (strncmp(extra, "HTTP_AUTHORIZATION=", 19) == 0)
		cr.authorization = v;
	else if (strncmp(extra, "REMOTE_USER=", 12) == 0)
		cr.remote_user = v;
	else if (strncmp(extra, "HTTP_COOKIE=", 12) == 0)
		cr.cookie = v;
	memset(&d->c, 0, sizeof(d->c));
	return auth_identify(&app, &cr, util_now_ms(), &d->c);
}

TestSuite(auth, .init = store_setup, .fini = store_teardown);

Test(auth, remote_user)
{
	struct dispatch	d;
	char		id[UUID_LEN + 1], off[UUID_LEN + 1];

	add_user("ann@example.com", 1, 1, id);
	add_user("off@example.com", 0, 0, off);
	app.cfg.trust_remote_user = 1;

	cr_assert_eq(identify(&d, "REMOTE_USER=ANN@example.com"), 0);
	cr_assert_eq(d.c.kind, CALLER_REMOTE_USER);
	cr_assert_str_eq(d.c.user.id, id);
	cr_assert_str_eq(caller_method(&d.c), "remote_user");
	cr_assert(caller_unnarrowed_admin(&d.c));
	caller_free(&d.c);

	cr_assert_eq(identify(&d, "REMOTE_USER=off@example.com"), AUTH_DISABLED);
	cr_assert_eq(d.c.kind, CALLER_NONE);
	caller_free(&d.c);

	cr_assert_eq(identify(&d, "REMOTE_USER=who@example.com"), AUTH_INVALID);
	caller_free(&d.c);

	cr_assert_eq(identify(&d, "REMOTE_USER="), 0);
	cr_assert_eq(d.c.kind, CALLER_NONE);
	caller_free(&d.c);

	app.cfg.trust_remote_user = 0;
	cr_assert_eq(identify(&d, "REMOTE_USER=ann@example.com"), 0);
	cr_assert_eq(d.c.kind, CALLER_NONE);
	caller_free(&d.c);
}

/* A credential sent only as a cookie is named as such; other cookies are not. */
Test(auth, cookie_only)
{
	struct dispatch	d;

	cr_assert_eq(identify(&d, "HTTP_COOKIE=jwt_token=abc"), AUTH_COOKIE);
	cr_assert_eq(identify(&d, "HTTP_COOKIE=a=1; access_token=abc"), AUTH_COOKIE);
	cr_assert_eq(identify(&d, "HTTP_COOKIE=theme=dark; x_jwt_token=1"), 0);
	cr_assert_eq(d.c.kind, CALLER_NONE);
	cr_assert_eq(identify(&d, "HTTP_COOKIE="), 0);
}

/* h_fail: each refusal's status, sentence and challenge, in one place. */
Test(auth, refusals_answered_once)
{
	static const struct {
		int		 err, status;
		const char	*detail, *challenge;
	} rows[] = {
		{ AUTH_NONE, 401, "Authorization token required", WA },
		{ AUTH_INVALID, 401, "Invalid authentication credentials", WA_BAD },
		{ AUTH_REVOKED, 401, "Token has been revoked", WA_BAD },
		{ AUTH_DISABLED, 401, "Account disabled", WA_BAD },
		{ AUTH_COOKIE, 401, "Cookie authentication not allowed for API "
		    "requests. Use Authorization header.", WA },
		{ STORE_NOTFOUND, 404, "Not found", NULL },
		{ STORE_EXISTS, 409, "Conflict", NULL },
		{ STORE_FULL, 507, "Insufficient storage", NULL },
		{ STORE_IO, 503, "Service temporarily unavailable", NULL },
		{ STORE_RDONLY, 503, "Service temporarily unavailable", NULL },
		{ STORE_INVALID, 503, "Service temporarily unavailable", NULL },
	};
	struct req	r;
	size_t		i;

	for (i = 0; i < NROWS(rows); i++) {
		memset(&r, 0, sizeof(r));
		cr_assert_eq(h_fail(&r, rows[i].err), rows[i].status, "row %zu", i);
		cr_assert_str_eq(detail_of(&r), rows[i].detail, "row %zu", i);
		if (rows[i].challenge != NULL)
			cr_assert_str_eq(hdr_of(&r, "WWW-Authenticate"),
			    rows[i].challenge, "row %zu", i);
		else
			cr_assert_null(hdr_of(&r, "WWW-Authenticate"), "row %zu", i);
		req_free(&r);
	}
}

/* "HTTP_AUTHORIZATION=Bearer <jwt>" for claims signed with app.key. */
static void
bearer_for(struct json_object *claims, char *out, size_t outsz, char **raw)
{
	char	*jwt = jws_sign(&app.key, app.cfg.issuer, app.cfg.audience,
		    claims);

	cr_assert_not_null(jwt);
	snprintf(out, outsz, "HTTP_AUTHORIZATION=Bearer %s", jwt);
	if (raw != NULL)
		*raw = jwt;
	else
		free(jwt);
}

Test(auth, session_tokens)
{
	struct dispatch		 d;
	struct strlist		 teams = { NULL, 0 };
	struct user		 u;
	struct json_object	*c;
	char			 id[UUID_LEN + 1], h[4096], *jwt;
	unsigned		 exp_in = 0;

	add_user("bob@example.com", 1, 1, id);
	cr_assert_eq(store_user_get(app.st, id, &u), 0);

	/* plain session */
	jwt = auth_session_token(&app, &u, NULL, 60, &exp_in);
	cr_assert_not_null(jwt);
	cr_assert_eq(exp_in, 3600);
	snprintf(h, sizeof(h), "HTTP_AUTHORIZATION=bearer   %s", jwt);
	free(jwt);
	cr_assert_eq(identify(&d, h), 0);
	cr_assert_eq(d.c.kind, CALLER_SESSION);
	cr_assert_str_eq(caller_method(&d.c), "jwt");
	cr_assert_str_eq(d.c.user.email, "bob@example.com");
	cr_assert(!d.c.narrowed);
	cr_assert(caller_unnarrowed_admin(&d.c));
	cr_assert(util_is_uuid(d.c.jti));
	cr_assert_gt(d.c.exp_ms, util_now_ms());

	/* after logout the same JWT is refused */
	cr_assert_eq(store_jti_revoke(app.st, d.c.jti,
	    d.c.exp_ms), 0);
	caller_free(&d.c);
	cr_assert_eq(identify(&d, h), AUTH_REVOKED);
	caller_free(&d.c);

	/* narrowed session: teams kept, admin narrowed */
	cr_assert_eq(strlist_add(&teams, "0123456789abcdef0123456789abcdef"), 0);
	jwt = auth_session_token(&app, &u, &teams, 5, &exp_in);
	snprintf(h, sizeof(h), "HTTP_AUTHORIZATION=Bearer %s", jwt);
	free(jwt);
	cr_assert_eq(identify(&d, h), 0);
	cr_assert(d.c.narrowed);
	cr_assert_eq(d.c.teams.n, 1);
	cr_assert(caller_is_admin(&d.c));
	cr_assert(!caller_unnarrowed_admin(&d.c));
	caller_free(&d.c);
	strlist_free(&teams);

	/* an empty teams list is a public-only (narrowed) session */
	jwt = auth_session_token(&app, &u, &teams, 5, NULL);
	snprintf(h, sizeof(h), "HTTP_AUTHORIZATION=Bearer %s", jwt);
	free(jwt);
	cr_assert_eq(identify(&d, h), 0);
	cr_assert(d.c.narrowed);
	cr_assert_eq(d.c.teams.n, 0);
	caller_free(&d.c);

	/* unknown user, wrong token_use, disabled user */
	c = json_object_new_object();
	js_add_str(c, "sub", "00000000-0000-4000-8000-000000000000");
	js_add_str(c, "jti", "11111111-1111-4111-8111-111111111111");
	js_add_int(c, "iat", util_now_ms() / 1000);
	js_add_int(c, "exp", util_now_ms() / 1000 + 60);
	js_add_str(c, "token_use", "session");
	bearer_for(c, h, sizeof(h), NULL);
	cr_assert_eq(identify(&d, h), AUTH_INVALID);
	caller_free(&d.c);
	js_add_str(c, "sub", id);
	js_add_str(c, "token_use", "refresh");
	bearer_for(c, h, sizeof(h), NULL);
	cr_assert_eq(identify(&d, h), AUTH_INVALID);
	caller_free(&d.c);
	js_add_str(c, "token_use", "session");
	bearer_for(c, h, sizeof(h), NULL);
	cr_assert_eq(identify(&d, h), 0);
	caller_free(&d.c);
	u.is_active = 0;
	cr_assert_eq(store_user_put(app.st, &u, NULL), 0);
	cr_assert_eq(identify(&d, h), AUTH_DISABLED);
	cr_assert_eq(d.c.kind, CALLER_NONE);
	caller_free(&d.c);
	json_object_put(c);

	/* a forged signature */
	memset(app.key.key, 'z', 32);
	jwt = auth_session_token(&app, &u, NULL, 60, NULL);
	memset(app.key.key, 'k', 32);
	snprintf(h, sizeof(h), "HTTP_AUTHORIZATION=Bearer %s", jwt);
	free(jwt);
	cr_assert_eq(identify(&d, h), AUTH_INVALID);
	caller_free(&d.c);
}

/* Store an API token record for raw JWT jwt of owner; returns its jti in c. */
static void
add_api_token(const char *owner, const char *email, const char *jti,
    const char *jwt, int active, int64_t expires_at, const char *team)
{
	struct token	t;

	memset(&t, 0, sizeof(t));
	cr_assert_eq(util_uuid4(t.id), 0);
	strcpy(t.jti, jti);
	util_sha256_hex(jwt, strlen(jwt), t.hash);
	strcpy(t.owner_id, owner);
	strcpy(t.owner_email, email);
	strcpy(t.team_id, team);
	t.name = strdup(t.id);
	strcpy(t.created_by, email);
	t.created_at = util_now_ms();
	t.expires_at = expires_at;
	t.is_active = active;
	t.scope = json_object_new_object();
	t.tags = json_object_new_array();
	cr_assert_eq(store_token_add(app.st, &t, NULL), 0);
	token_free(&t);
}

/* Claims of an API token for sub with jti. */
static struct json_object *
api_claims(const char *sub, const char *jti)
{
	struct json_object	*c = json_object_new_object();

	js_add_str(c, "sub", sub);
	js_add_str(c, "jti", jti);
	js_add_int(c, "iat", util_now_ms() / 1000);
	js_add_int(c, "exp", util_now_ms() / 1000 + 3600);
	js_add_str(c, "token_use", "api");
	return c;
}

Test(auth, api_tokens)
{
	struct dispatch		 d;
	struct json_object	*c;
	char			 id[UUID_LEN + 1], other[UUID_LEN + 1];
	char			 jti[UUID_LEN + 1], h[4096], *raw;
	int64_t			 now = util_now_ms();
	static const char	 team[] = "0123456789abcdef0123456789abcdef";

	add_user("cat@example.com", 1, 0, id);
	add_user("dan@example.com", 1, 0, other);

	/* a live token */
	cr_assert_eq(util_uuid4(jti), 0);
	c = api_claims(id, jti);
	bearer_for(c, h, sizeof(h), &raw);
	add_api_token(id, "cat@example.com", jti, raw, 1, now + 3600000, "");
	free(raw);
	json_object_put(c);
	cr_assert_eq(identify(&d, h), 0);
	cr_assert_eq(d.c.kind, CALLER_API_TOKEN);
	cr_assert_str_eq(caller_method(&d.c), "api_token");
	cr_assert_str_eq(d.c.token.jti, jti);
	cr_assert_str_eq(d.c.user.id, id);
	cr_assert(!d.c.narrowed);
	caller_free(&d.c);

	/* the same jti with a different raw token (hash mismatch) */
	c = api_claims(id, jti);
	js_add_str(c, "extra", "x");
	bearer_for(c, h, sizeof(h), NULL);
	json_object_put(c);
	cr_assert_eq(identify(&d, h), AUTH_INVALID);
	caller_free(&d.c);

	/* no record for the jti */
	cr_assert_eq(util_uuid4(jti), 0);
	c = api_claims(id, jti);
	bearer_for(c, h, sizeof(h), NULL);
	json_object_put(c);
	cr_assert_eq(identify(&d, h), AUTH_INVALID);
	caller_free(&d.c);

	/* inactive record */
	cr_assert_eq(util_uuid4(jti), 0);
	c = api_claims(id, jti);
	bearer_for(c, h, sizeof(h), &raw);
	add_api_token(id, "cat@example.com", jti, raw, 0, now + 3600000, "");
	free(raw);
	json_object_put(c);
	cr_assert_eq(identify(&d, h), AUTH_INVALID);
	caller_free(&d.c);

	/* record expired (the store, not the JWT, is authoritative) */
	cr_assert_eq(util_uuid4(jti), 0);
	c = api_claims(id, jti);
	bearer_for(c, h, sizeof(h), &raw);
	add_api_token(id, "cat@example.com", jti, raw, 1, now - 1000, "");
	free(raw);
	json_object_put(c);
	cr_assert_eq(identify(&d, h), AUTH_INVALID);
	caller_free(&d.c);

	/* sub differs from the record's owner */
	cr_assert_eq(util_uuid4(jti), 0);
	c = api_claims(other, jti);
	bearer_for(c, h, sizeof(h), &raw);
	add_api_token(id, "cat@example.com", jti, raw, 1, 0, "");
	free(raw);
	json_object_put(c);
	cr_assert_eq(identify(&d, h), AUTH_INVALID);
	caller_free(&d.c);

	/* a team token narrows the caller to its team */
	cr_assert_eq(util_uuid4(jti), 0);
	c = api_claims(id, jti);
	bearer_for(c, h, sizeof(h), &raw);
	add_api_token(id, "cat@example.com", jti, raw, 1, 0, team);
	free(raw);
	json_object_put(c);
	cr_assert_eq(identify(&d, h), 0);
	cr_assert(d.c.narrowed);
	cr_assert_eq(d.c.teams.n, 1);
	cr_assert_str_eq(d.c.teams.v[0], team);
	caller_free(&d.c);
}

/* API tokens are refused on session routes with the exact 403 text. */
Test(auth, api_token_on_session_route)
{
	struct dispatch		 d;
	struct json_object	*c;
	char			 id[UUID_LEN + 1], jti[UUID_LEN + 1], h[4096];
	char			*raw, *env[] = { "REQUEST_METHOD=GET",
				    "PATH_INFO=/v1/tokens", h, NULL };

	add_user("eve@example.com", 1, 1, id);
	cr_assert_eq(util_uuid4(jti), 0);
	c = api_claims(id, jti);
	bearer_for(c, h, sizeof(h), &raw);
	add_api_token(id, "eve@example.com", jti, raw, 1, 0, "");
	free(raw);
	json_object_put(c);
	cr_assert_eq(dispatch(&d, env, NULL, ROLE_RESPONDER), 403);
	cr_assert_str_eq(detail_of(&d.r), API_TOKEN_MSG);
	req_free(&d.r);
}
