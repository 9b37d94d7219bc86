/*
 * main_fcgi.c - tokencat.fcgi, the worker: load the config, open the store
 * and the key once, then answer FastCGI Responder and Authorizer requests
 * one at a time until SIGTERM/SIGINT. Started without a FastCGI socket on
 * fd 0 it answers one plain CGI request. Nothing a client sends ends the
 * loop; the store holds no transaction between requests. Before the first
 * request it confines itself (sandbox.h) unless the config says
 * sandbox = off.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>
#include <poll.h>

#include <fcgiapp.h>
#include <fastcgi.h>

#include "app.h"
#include "http.h"
#include "log.h"
#include "router.h"
#include "sandbox.h"
#include "tz.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

extern char **environ;

static volatile sig_atomic_t stop;

/* SIGTERM/SIGINT: finish the current request, then leave the loop. */
static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
	FCGX_ShutdownPending();
}

/*
 * SIGPIPE ignored (a gone client is a failed write, not a death);
 * SIGTERM/SIGINT without SA_RESTART so a blocked accept returns.
 */
static void
signals_init(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal;
	sa.sa_flags = 0;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/* http_io over the FCGX streams of a FastCGI request (ctx), counting the
 * body bytes its handler read. */
struct fcgi_conn {
	FCGX_Request	*q;
	uint64_t	 body_read;
};

static int
fcgi_read(void *ctx, char *buf, int n)
{
	struct fcgi_conn *c = ctx;
	int		 got = FCGX_GetStr(buf, n, c->q->in);

	if (got == 0 && FCGX_GetError(c->q->in) != 0)
		return -1;
	c->body_read += (uint64_t)got;
	return got;
}

static int
fcgi_write(void *ctx, const char *buf, int n)
{
	struct fcgi_conn *c = ctx;

	return FCGX_PutStr(buf, n, c->q->out);
}

/* http_io over stdin/stdout for plain CGI. */
static int
cgi_read(void *ctx, char *buf, int n)
{
	size_t	got;

	(void)ctx;
	got = fread(buf, 1, (size_t)n, stdin);
	if (got == 0 && ferror(stdin))
		return -1;
	return (int)got;
}

static int
cgi_write(void *ctx, const char *buf, int n)
{
	(void)ctx;
	return fwrite(buf, 1, (size_t)n, stdout) == (size_t)n ? n : -1;
}

/*
 * The listening socket is non-blocking (set once, before the sandbox; the
 * workers of a door share it, and accepted connections do not inherit
 * O_NONBLOCK): a worker under load accepts without another system call,
 * and libfcgi's accept returns -EAGAIN when no connection waits. Then the
 * worker waits here for one. Recorded uses are written in batches
 * (store_use_record): while some are pending, the wait ends after
 * USE_FLUSH_MS and they are written, so an idle worker does not hold them
 * until its next request; so does a worker still waiting for PostgreSQL,
 * to try again (app_store_retry). A signal ends the wait too.
 */
static void
wait_for_connection(const struct app *a)
{
	struct pollfd pfd = { FCGI_LISTENSOCK_FILENO, POLLIN, 0 };
	int timeout = a->st == NULL || store_use_pending(a->st) > 0 ?
	    USE_FLUSH_MS : -1;

	if (poll(&pfd, 1, timeout) == 0 && a->st != NULL)
		store_use_flush(a->st);         /* idle: write pending uses */
}

static int
listen_nonblocking(void)
{
	int fl = fcntl(FCGI_LISTENSOCK_FILENO, F_GETFL);

	return fl == -1 ? -1 :
	    fcntl(FCGI_LISTENSOCK_FILENO, F_SETFL, fl | O_NONBLOCK);
}

/*
 * After the answer: a request read to its end (its stdin's EOF record
 * seen) leaves nothing unread that could turn the close into a reset, so
 * the connection is closed at once (FCGX_Detach: no shutdown on close),
 * not by libfcgi's lingering close, which shuts down, then waits in poll
 * and read for the web server to close first. Anything left unread keeps
 * the lingering close. Only a Responder whose body (content_length, as
 * serve() returned it) was read whole is looked at: the web server ends
 * its stdin with an empty record right after the body, so reading it
 * cannot wait on a client; an Authorizer may get no stdin at all.
 */
static void
close_at_once_if_read(struct fcgi_conn *c, int role, uint64_t content_length)
{
	if (role != ROLE_RESPONDER || c->body_read != content_length)
		return;
	if (FCGX_GetChar(c->q->in) == EOF && FCGX_HasSeenEOF(c->q->in) == EOF)
		FCGX_Detach(c->q);
}

/* The role named by FCGI_ROLE in envp ("AUTHORIZER"), else the Responder. */
static int
role_of(char **envp)
{
	const char	*role = FCGX_GetParam("FCGI_ROLE", envp);

	return role != NULL && strcmp(role, "AUTHORIZER") == 0 ?
	    ROLE_AUTHORIZER : ROLE_RESPONDER;
}

/*
 * Answer one request on io: parse, route, reply, log one line, free.
 * Without a store (PostgreSQL not reached yet) every request is 503.
 * Method and path in the log line are escaped by log.h. Returns the
 * request's CONTENT_LENGTH as http_req_init read it (0 when none).
 */
static uint64_t
serve(const struct app *a, struct http_io *io)
{
	struct req	 r;
	int64_t		 end_us;
	uint64_t	 content_length;
	int		 st;

	memset(&r, 0, sizeof(r));
	if ((st = http_req_init(&r, a, io)) == 0)
		st = a->st != NULL ? router_dispatch(&r) :
		    http_error(&r, 503, "Service temporarily unavailable");
	r.status = st;
	http_reply(&r);
	end_us = util_mono_us();
	log_info("req=%s %s %s %d %.2fms", r.id,
	    r.method != NULL ? r.method : "-", r.path != NULL ? r.path : "-",
	    r.status, (double)(end_us - r.start_us) / 1000.0);
	content_length = r.content_length;
	req_free(&r);
	return content_length;
}

/*
 * Plain CGI: one request over environ, stdin and stdout. What the request
 * left unread on stdin (a body refused by its Content-Length, or never
 * needed) is read and dropped before returning, up to CGI_DRAIN_MAX bytes:
 * Apache's mod_cgid passes stdin and stdout over one socket, and drops the
 * answer of a program that exits with input unread.
 */
#define CGI_DRAIN_MAX	((size_t)64 << 20)

static void
serve_cgi(const struct app *a)
{
	struct http_io	io;
	char		buf[8192];
	size_t		n, total = 0;

	memset(&io, 0, sizeof(io));
	io.envp = environ;
	io.read = cgi_read;
	io.write = cgi_write;
	io.role = ROLE_RESPONDER;
	(void)serve(a, &io);
	if (fflush(stdout) != 0)
		log_warn("writing the CGI response failed");
	while (total < CGI_DRAIN_MAX && (n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		total += n;
}

static int	confine(const struct app *, int);

/*
 * Before a request: connect to PostgreSQL if the worker is still waiting
 * for it, and once the store is open confine the worker (sandbox.h), only
 * once; a worker that waits for PostgreSQL at start answers 503 unconfined
 * until then, because libpq's first connection reads files (the password
 * file, the user database) that the sandbox denies. listen_fd as for
 * confine(). 0, or 1 when the worker must end (logged): the server
 * answered but cannot be served, or the sandbox could not be entered.
 */
static int
ready(struct app *a, int listen_fd, int *confined)
{
	char err[1024];

	if (a->st == NULL && app_store_retry(a, err, sizeof(err)) == -1) {
		log_error("%s", err);
		return 1;
	}
	if (a->st != NULL && !*confined) {
		if (confine(a, listen_fd) == -1)
			return 1;
		*confined = 1;
	}
	return 0;
}

/*
 * The FastCGI loop: one request at a time until a signal asks to stop.
 * Returns 0 after a requested stop, 1 if accepting fails otherwise or the
 * store, once reached, cannot be served.
 */
static int
serve_fcgi(struct app *a)
{
	FCGX_Request	q;
	struct fcgi_conn c;
	struct http_io	io;
	int		rc = 0, confined = 0;

	if (FCGX_InitRequest(&q, 0, 0) != 0) {
		log_error("cannot initialize the FastCGI request");
		return 1;
	}
	if (listen_nonblocking() == -1) {
		log_error("cannot make the FastCGI socket non-blocking: %s",
		    strerror(errno));
		FCGX_Free(&q, 1);
		return 1;
	}
	while (!stop) {
		if (ready(a, FCGI_LISTENSOCK_FILENO, &confined) != 0) {
			FCGX_Free(&q, 1);
			return 1;
		}
		if ((rc = FCGX_Accept_r(&q)) == -EAGAIN || rc == -EWOULDBLOCK ||
		    rc == -EINTR) {
			wait_for_connection(a);
			continue;
		}
		if (rc < 0)
			break;
		if (ready(a, FCGI_LISTENSOCK_FILENO, &confined) != 0) {
			FCGX_Finish_r(&q);
			FCGX_Free(&q, 1);
			return 1;
		}
		memset(&io, 0, sizeof(io));
		io.envp = q.envp;
		c.q = &q;
		c.body_read = 0;
		io.read = fcgi_read;
		io.write = fcgi_write;
		io.ctx = &c;
		io.role = role_of(q.envp);
		close_at_once_if_read(&c, io.role, serve(a, &io));
		FCGX_Finish_r(&q);
		if (a->st != NULL && store_use_due(a->st, util_now_ms()))
			store_use_flush(a->st);
	}
	FCGX_Free(&q, 1);
	if (stop)
		return 0;
	log_error("accepting FastCGI connections failed: %s",
	    rc < 0 && rc > -1000 ? strerror(-rc) : "FastCGI error");
	return 1;
}

/*
 * Open now what serving would open later, then enter the sandbox (or log
 * why not): every zone file (tz.h) for the time windows; glibc's own zone
 * (/etc/localtime, read by the first gmtime_r or timegm); OpenSSL's DRBG
 * and configuration, and HMAC through libjwt, with a JWT signed and
 * verified. listen_fd is the FastCGI socket (-1 for CGI). One line says
 * which, at info level (debug for CGI: a process per request). Returns 0,
 * or -1 when sandbox = on and the sandbox cannot be entered: a worker that
 * was asked to confine itself does not serve unconfined.
 */
static int
confine(const struct app *a, int listen_fd)
{
	struct json_object	*claims, *got = NULL;
	unsigned char		 rnd[16];
	char			 err[256], *jwt;
	int			 n, level = listen_fd < 0 ? TCLOG_DEBUG : TCLOG_INFO;

	if (!a->cfg.sandbox) {
		log_msg(level, "sandbox off (sandbox = off in the config)");
		return 0;
	}
	if ((n = tz_preload()) == -1)
		log_warn("sandbox: cannot read %s: %s; time windows in a zone "
		    "other than UTC will deny", TZ_DIR, strerror(errno));
	tzset();
	(void)util_random(rnd, sizeof(rnd));
	if ((claims = json_object_new_object()) != NULL) {
		json_object_object_add(claims, "sub", json_object_new_string("-"));
		if ((jwt = jws_sign(&a->key, a->cfg.issuer, a->cfg.audience,
		    claims)) != NULL)
			(void)jws_verify(&a->key, jwt, a->cfg.issuer,
			    a->cfg.audience, NULL, 0, &got);
		json_object_put(got);
		free(jwt);
		json_object_put(claims);
	}
	if (sandbox_enter(listen_fd, store_is_pg(a->cfg.database) ?
	    SANDBOX_CLIENT : 0, err, sizeof(err)) == -1) {
		log_error("%s; set sandbox = off to run without it", err);
		return -1;
	}
	log_msg(level, "sandbox on: seccomp allow-list installed, %d zones read",
	    n);
	return 0;
}

/* The synopsis, also the man page's. */
static void
usage(FILE *f)
{
	fprintf(f, "usage: tokencat.fcgi [-c FILE] [-h] [-V]\n");
}

/* tokencat.fcgi [-c FILE] [-h] [-V]: exit 0 after SIGTERM/SIGINT or one CGI
 * request, 1 when the config, store or key cannot be opened, 2 on bad usage. */
int
main(int argc, char *argv[])
{
	struct app	 app;
	const char	*cfg = NULL;
	char		 err[1024];
	int		 ch, rc = 0, confined = 0;

	while ((ch = getopt(argc, argv, "c:hV")) != -1) {
		switch (ch) {
		case 'c':
			cfg = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("tokencat.fcgi %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (FCGX_Init() != 0) {
		log_error("cannot initialize libfcgi");
		return 1;
	}
	if (app_open(&app, cfg, STORE_SERVE, APP_KEY | APP_RETRY, err,
	    sizeof(err)) == -1) {
		log_error("%s", err);
		return 1;
	}
	signals_init();
	if (FCGX_IsCGI()) {
		app.retry_at = 0;
		if (ready(&app, -1, &confined) != 0) {
			app_close(&app);
			return 1;
		}
		serve_cgi(&app);
	}
	else
		rc = serve_fcgi(&app);
	app_close(&app);
	return rc;
}
