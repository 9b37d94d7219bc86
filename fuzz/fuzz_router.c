/*
 * fuzz_router.c - libFuzzer harness for the request layer below the
 * handlers: http_req_init() (routing path from PATH_INFO or REQUEST_URI
 * with mount_prefix, /v1 and trailing '/', query, Content-Length),
 * router_match() over the built-in table (patterns, captures with
 * copied literally), the list query parser (limit/offset/include_inactive),
 * util_form_get()/util_urldecode(), http_read_body() with and without a
 * length, and http_reply() with headers from the input.
 *
 * Input: lines "METHOD\nREQUEST_URI\nPATH_INFO\nQUERY_STRING\nCONTENT_TYPE\n
 * CONTENT_LENGTH\nFLAGS" then the body. An empty PATH_INFO, QUERY_STRING,
 * CONTENT_TYPE or CONTENT_LENGTH line leaves the parameter unset, except
 * when FLAGS holds 'q' (QUERY_STRING set to "").
 * Properties: no crash or leak; a match has the pattern's capture count and
 * captures without '/' or NUL; statuses are ones the server knows.
 */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "h_token_io.h"
#include "http.h"
#include "log.h"
#include "router.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct app app;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(TCLOG_ERROR);
	config_init(&app.cfg);
	free(app.cfg.mount_prefix);
	app.cfg.mount_prefix = strdup("/api");
	app.cfg.max_body_bytes = 4096;
	return 0;
}

/* Number of {x} captures in pattern. */
static size_t
ncaptures(const char *pattern)
{
	size_t n = 0;

	for (; *pattern; pattern++)
		n += *pattern == '{';
	return n;
}

static void
check_match(const char *method, const char *path)
{
	const struct route *rt;
	char *params[PARAM_MAX], allow[64];
	size_t i, np = 0;
	int st;

	rt = router_match(method, path, params, &np, &st, allow, sizeof(allow));
	if (rt == NULL) {
		if ((st != 404 && st != 405) || np != 0)
			abort();
		if (st == 405 && allow[0] == '\0')
			abort();
		return;
	}
	if (st != 200 || np != ncaptures(rt->pattern) || strcmp(rt->method, method) != 0)
		abort();
	for (i = 0; i < np; i++) {
		if (params[i] == NULL || params[i][0] == '\0' ||
		    strchr(params[i], '/') != NULL || strlen(params[i]) > PATH_MAX_LEN)
			abort();
		free(params[i]);
	}
}

static void
check_query(struct req *r)
{
	static const char *const keys[] = { "limit", "offset", "include_inactive",
	    "days", "user_email", "all", "token", "" };
	struct list_query q;
	size_t i;
	char *v;
	int bad, st;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		v = util_form_get(r->query, keys[i], &bad);
		if (v != NULL && bad)
			abort();
		free(v);
	}
	st = list_query_parse(r, &q, 50);
	if (st == 0 && (q.limit < 1 || q.limit > 1000))
		abort();
	if (st != 0 && st != 422)
		abort();
	json_object_put(r->out);
	r->out = NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lines l;
	struct mem m;
	struct http_io io;
	struct req r;
	char *envp[8], *e;
	size_t n = 0, i;
	int st;

	if (size > 16384 || lines_split(&l, data, size, 7) == -1)
		return 0;
	{
		static const char *const names[6] = { "REQUEST_METHOD", "REQUEST_URI",
		    "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE", "CONTENT_LENGTH" };

		for (i = 0; i < 6; i++) {
			if (i >= 2 && l.v[i][0] == '\0' &&
			    !(i == 3 && strchr(l.v[6], 'q') != NULL))
				continue;
			if (asprintf(&e, "%s=%s", names[i], l.v[i]) == -1)
				goto out;
			envp[n++] = e;
		}
	}
	envp[n] = NULL;
	memset(&m, 0, sizeof(m));
	m.in = l.rest;
	m.inlen = l.restlen;
	m.chunk = strchr(l.v[6], 'c') != NULL ? 7 : 0;
	memset(&io, 0, sizeof(io));
	io.envp = envp;
	io.read = mem_read;
	io.write = mem_write;
	io.ctx = &m;
	io.role = ROLE_RESPONDER;
	memset(&r, 0, sizeof(r));
	if ((st = http_req_init(&r, &app, &io)) == 0) {
		if (r.path == NULL || r.path[0] != '/' || r.query == NULL)
			abort();
		check_match(r.method, r.path);
		check_query(&r);
		st = http_read_body(&r, app.cfg.max_body_bytes);
		if (st == 0 && (r.body == NULL || r.bodylen > app.cfg.max_body_bytes ||
		    r.body[r.bodylen] != '\0'))
			abort();
		if (st != 0 && st != 400 && st != 413 && st != 500)
			abort();
		if (st == 0)
			st = 200;
		http_add_header(&r, l.v[4], l.v[5]);
	} else if (st != 400 && st != 414 && st != 500)
		abort();
	r.status = st;
	http_reply(&r);
	req_free(&r);
	check_match(l.v[0], l.v[1]);     /* the raw URI as a path, too */
out:
	for (i = 0; i < n; i++)
		free(envp[i]);
	lines_free(&l);
	return 0;
}
