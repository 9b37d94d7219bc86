/*
 * main_cli.c - tokencat, the operator's command line (OPERATIONS.md).
 * A table of commands; each parses its own words and options and calls the
 * same store, password and JWT code the worker uses.
 * Exit 0 on success, 1 on an error (one line saying what to do), 2 on wrong usage.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "app.h"
#include "auth.h"
#include "log.h"
#include "pw.h"
#include "util.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

#define EXIT_USAGE 2

static const char synopsis[] =
"usage: tokencat [-c FILE] init\n"
"       tokencat [-c FILE] user add EMAIL [--admin] [--full-name NAME]\n"
"       tokencat [-c FILE] user set EMAIL [--admin|--no-admin] [--enable|--disable] [--password]\n"
"       tokencat [-c FILE] user list\n"
"       tokencat [-c FILE] team add NAME [--owner EMAIL]\n"
"       tokencat [-c FILE] team member add TEAM_ID EMAIL [--role owner|member]\n"
"       tokencat [-c FILE] team member remove TEAM_ID EMAIL\n"
"       tokencat [-c FILE] invitation list EMAIL\n"
"       tokencat [-c FILE] invitation accept TEAM_ID EMAIL\n"
"       tokencat [-c FILE] invitation decline TEAM_ID EMAIL\n"
"       tokencat [-c FILE] session EMAIL [--teams ID[,ID...]] [--minutes N]\n"
"       tokencat [-c FILE] backup DEST_DIR\n"
"       tokencat [-c FILE] migrate DEST\n"
"       tokencat --version | --help\n";

struct cli {
	const char	*cfg_arg;
	struct app	 app;
	int		 open;
};

struct cmd {
	const char	*words[3];
	int		 nwords;
	int		 nargs;         /* positional arguments after the words */
	int		 need_key;
	int		 (*fn)(struct cli *, char **args, int nopt, char **opts);
	const char	*usage;
	const char	*help;
};

static void
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "tokencat: <message>" on stderr. */
static void
fail(const char *fmt, ...)
{
	va_list ap;

	fputs("tokencat: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int
usage_error(const struct cmd *c, const char *what)
{
	fail("%s", what);
	fprintf(stderr, "usage: %s\n", c != NULL ? c->usage : "see 'tokencat --help'");
	return EXIT_USAGE;
}

/* Open config, store (and key) for a command. 0 or 1. */
static int
cli_open(struct cli *cl, int flags, int need_key)
{
	char err[512];

	if (app_open(&cl->app, cl->cfg_arg, flags, need_key, err, sizeof(err)) == -1) {
		fail("%s", err);
		return 1;
	}
	cl->open = 1;
	return 0;
}

/* Read one password line from stdin into buf; 0 or 1 (message printed). */
static int
read_password(char *buf, size_t bufsz)
{
	size_t len;

	if (fgets(buf, (int)bufsz, stdin) == NULL) {
		fail("no password on standard input; pipe it in, e.g. "
		    "'printf %%s \"$PW\" | tokencat user add ...'");
		return 1;
	}
	len = strcspn(buf, "\r\n");
	if (buf[len] == '\0' && len == bufsz - 1) {
		fail("password too long; use at most %d characters", PW_MAX_LEN);
		return 1;
	}
	buf[len] = '\0';
	if (!util_utf8_valid(buf, len) || util_utf8_len(buf) < PW_MIN_LEN) {
		fail("password must be at least %d characters; choose a longer one",
		    PW_MIN_LEN);
		return 1;
	}
	return 0;
}

/* Look up a user by e-mail; 0 or 1 (message printed). */
static int
find_user(struct cli *cl, const char *email, struct user *u)
{
	int rc = store_user_by_email(cl->app.st, email, u);

	if (rc == STORE_NOTFOUND)
		fail("no user %s; add it with 'tokencat user add'", email);
	else if (rc != 0)
		fail("cannot read users: %s", store_strerror(rc));
	return rc != 0;
}

/* The value of option name in opts ("--name VALUE" pairs, flags alone). */
static const char *
opt_value(int nopt, char **opts, const char *name)
{
	int i;

	for (i = 0; i < nopt; i++)
		if (strcmp(opts[i], name) == 0)
			return i + 1 < nopt ? opts[i + 1] : NULL;
	return NULL;
}

static int
opt_flag(int nopt, char **opts, const char *name)
{
	int i;

	for (i = 0; i < nopt; i++)
		if (strcmp(opts[i], name) == 0)
			return 1;
	return 0;
}

/*
 * Fill e as an audit event of the command line (actor "tokencat(1)"); the
 * store write it is given to stores it with its change.
 */
static void
audit_event(struct audit_event *e, const char *action, const char *target,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
audit_event(struct audit_event *e, const char *action, const char *target,
    const char *fmt, ...)
{
	va_list ap;

	memset(e, 0, sizeof(*e));
	snprintf(e->actor, sizeof(e->actor), "tokencat(1)");
	snprintf(e->action, sizeof(e->action), "%s", action);
	snprintf(e->target_user, sizeof(e->target_user), "%s", target ? target : "");
	va_start(ap, fmt);
	vsnprintf(e->detail, sizeof(e->detail), fmt, ap);
	va_end(ap);
}

/* --- commands --- */

/*
 * init on PostgreSQL: the schema created or upgraded; then, if the
 * database holds no key fingerprint yet, the key file created when
 * missing and its fingerprint stored; else the key file must be the key
 * of that fingerprint (never created: the other hosts' key is copied).
 */
static int
init_pg(struct cli *cl)
{
	struct app *a = &cl->app;
	char err[1024], where[1024], fp[65], have[128];
	int rc, kc = 1;

	store_display(a->cfg.database, where, sizeof(where));
	if ((rc = store_open(&a->st, a->cfg.database, 0, STORE_CREATE)) != 0) {
		fail("cannot create or upgrade the schema of %s: %s; check that "
		    "PostgreSQL runs and the role may create tables", where,
		    store_strerror(rc));
		return 1;
	}
	cl->open = 1;
	rc = store_meta_get(a->st, "key_fingerprint", have, sizeof(have));
	if (rc != 0 && rc != STORE_NOTFOUND) {
		fail("cannot read the key fingerprint from %s: %s", where,
		    store_strerror(rc));
		return 1;
	}
	if ((rc == STORE_NOTFOUND && (kc = jws_key_create(a->cfg.signing_key_file,
	    err, sizeof(err))) == -1) ||
	    jws_key_load(a->cfg.signing_key_file, &a->key, err, sizeof(err)) == -1) {
		fail("%s%s", err, rc == 0 ? " (the database has a key already: "
		    "copy the key file of the other hosts)" : "");
		return 1;
	}
	if (jws_key_fingerprint(&a->key, fp) == -1) {
		fail("cannot compute the fingerprint of the signing key %s",
		    a->cfg.signing_key_file);
		return 1;
	}
	if (rc == 0 && strcmp(have, fp) != 0) {
		fail("the database %s belongs to another signing key than %s: "
		    "copy that key here instead", where, a->cfg.signing_key_file);
		return 1;
	}
	if (rc == STORE_NOTFOUND &&
	    (rc = store_meta_put(a->st, "key_fingerprint", fp)) != 0) {
		fail("cannot store the key fingerprint in %s: %s", where,
		    store_strerror(rc));
		return 1;
	}
	printf("database ready in %s\n", where);
	printf("%s %s\n", kc == 1 ? "signing key exists, kept:" :
	    "signing key created:", a->cfg.signing_key_file);
	return 0;
}

static int
cmd_init(struct cli *cl, char **args, int nopt, char **opts)
{
	char err[512];
	int rc;

	config_init(&cl->app.cfg);
	if (config_load(&cl->app.cfg, config_path(cl->cfg_arg), err) == -1) {
		fail("%s", err);
		return 1;
	}
	if (store_is_pg(cl->app.cfg.database))
		return init_pg(cl);
	if ((rc = store_open(&cl->app.st, cl->app.cfg.database,
	    cl->app.cfg.map_size_mb, STORE_CREATE)) != 0) {
		fail("cannot create database %s: %s; check that the parent directory "
		    "exists and is writable", cl->app.cfg.database, store_strerror(rc));
		return 1;
	}
	cl->open = 1;
	printf("database ready in %s\n", cl->app.cfg.database);
	rc = jws_key_create(cl->app.cfg.signing_key_file, err, sizeof(err));
	if (rc == -1) {
		fail("%s", err);
		return 1;
	}
	printf("%s %s\n", rc == 1 ? "signing key exists, kept:" : "signing key created:",
	    cl->app.cfg.signing_key_file);
	return 0;
}

static int
cmd_user_add(struct cli *cl, char **args, int nopt, char **opts)
{
	const char *name = opt_value(nopt, opts, "--full-name");
	char pw[PW_MAX_LEN + 2];
	struct audit_event ev;
	struct user u;
	int rc;

	memset(&u, 0, sizeof(u));
	if (!util_email_valid(args[0])) {
		fail("invalid e-mail address %s", args[0]);
		return 1;
	}
	if (name != NULL && (!util_utf8_valid(name, strlen(name)) ||
	    util_utf8_len(name) > 255)) {
		fail("full name must be at most 255 characters of UTF-8");
		return 1;
	}
	if (read_password(pw, sizeof(pw)) != 0)
		return 1;
	util_lower(args[0], u.email, sizeof(u.email));
	snprintf(u.full_name, sizeof(u.full_name), "%s", name ? name : "");
	rc = pw_hash(pw, u.pwhash);
	OPENSSL_cleanse(pw, sizeof(pw));
	if (rc == -1 || util_uuid4(u.id) == -1) {
		fail("cannot hash the password; is OpenSSL working?");
		return 1;
	}
	u.is_admin = opt_flag(nopt, opts, "--admin");
	u.is_active = 1;
	u.created_at = util_now_ms();
	audit_event(&ev, "user.create", u.email, "%s", u.is_admin ? "admin" : "user");
	if ((rc = store_user_add(cl->app.st, &u, &ev)) == STORE_EXISTS) {
		fail("user %s exists; use 'tokencat user set'", u.email);
		return 1;
	}
	if (rc != 0) {
		fail("cannot add user: %s", store_strerror(rc));
		return 1;
	}
	printf("%s\n", u.id);
	return 0;
}

static int
cmd_user_set(struct cli *cl, char **args, int nopt, char **opts)
{
	char pw[PW_MAX_LEN + 2];
	struct audit_event ev;
	struct user u;
	int rc;

	if (find_user(cl, args[0], &u) != 0)
		return 1;
	if (opt_flag(nopt, opts, "--admin"))
		u.is_admin = 1;
	if (opt_flag(nopt, opts, "--no-admin"))
		u.is_admin = 0;
	if (opt_flag(nopt, opts, "--enable"))
		u.is_active = 1;
	if (opt_flag(nopt, opts, "--disable"))
		u.is_active = 0;
	if (opt_flag(nopt, opts, "--password")) {
		if (read_password(pw, sizeof(pw)) != 0)
			return 1;
		rc = pw_hash(pw, u.pwhash);
		OPENSSL_cleanse(pw, sizeof(pw));
		if (rc == -1) {
			fail("cannot hash the password; is OpenSSL working?");
			return 1;
		}
	}
	audit_event(&ev, "user.update", u.email, "admin=%d active=%d%s", u.is_admin,
	    u.is_active, opt_flag(nopt, opts, "--password") ? " password" : "");
	if ((rc = store_user_put(cl->app.st, &u, &ev)) != 0) {
		fail("cannot update user %s: %s", u.email, store_strerror(rc));
		return 1;
	}
	printf("updated %s\n", u.email);
	return 0;
}

static int
cmd_user_list(struct cli *cl, char **args, int nopt, char **opts)
{
	struct user *v = NULL;
	uint64_t off = 0, total = 0;
	size_t i, n;
	int rc;

	do {
		if ((rc = store_user_list(cl->app.st, off, 1000, &v, &n, &total)) != 0) {
			fail("cannot list users: %s", store_strerror(rc));
			return 1;
		}
		for (i = 0; i < n; i++)
			printf("%s\t%s\t%s\t%s\t%s\n", v[i].email, v[i].id,
			    v[i].is_admin ? "admin" : "-",
			    v[i].is_active ? "active" : "disabled", v[i].full_name);
		free(v);
		off += n;
	} while (n > 0 && off < total);
	return 0;
}

static int
cmd_team_add(struct cli *cl, char **args, int nopt, char **opts)
{
	const char *owner = opt_value(nopt, opts, "--owner");
	struct audit_event ev;
	struct user u;
	struct team t;
	size_t len = strlen(args[0]);
	int rc;

	memset(&t, 0, sizeof(t));
	if (len == 0 || len >= sizeof(t.name) || !util_utf8_valid(args[0], len) ||
	    util_utf8_len(args[0]) > 255) {
		fail("team name must be 1 to 255 characters of UTF-8");
		return 1;
	}
	if (owner != NULL && find_user(cl, owner, &u) != 0)
		return 1;
	memcpy(t.name, args[0], len + 1);
	t.created_at = util_now_ms();
	if (util_team_id(t.id) == -1)
		return 1;
	audit_event(&ev, "team.create", owner, "%s %.200s", t.id, t.name);
	rc = store_team_add(cl->app.st, &t, owner != NULL ? u.id : NULL, &ev);
	if (rc == STORE_EXISTS)
		fail("team name %s is taken; choose another", t.name);
	else if (rc != 0)
		fail("cannot add team: %s", store_strerror(rc));
	else
		printf("%s\n", t.id);
	return rc != 0;
}

/* The team and user of a member command; 0 or 1. */
static int
member_target(struct cli *cl, char **args, struct team *t, struct user *u)
{
	int rc = store_team_get(cl->app.st, args[0], t);

	if (rc == STORE_NOTFOUND) {
		fail("no team %s; 'tokencat team add' prints the id of a new team", args[0]);
		return 1;
	}
	if (rc != 0) {
		fail("cannot read team: %s", store_strerror(rc));
		return 1;
	}
	return find_user(cl, args[1], u);
}

static int
cmd_member_add(struct cli *cl, char **args, int nopt, char **opts)
{
	const char *role = opt_value(nopt, opts, "--role");
	struct audit_event ev;
	struct team t;
	struct user u;
	int rc, r, created = 0;

	if (role == NULL)
		role = "member";
	if (strcmp(role, "owner") != 0 && strcmp(role, "member") != 0) {
		fail("--role must be owner or member");
		return EXIT_USAGE;
	}
	if (member_target(cl, args, &t, &u) != 0)
		return 1;
	r = strcmp(role, "owner") == 0 ? ROLE_OWNER : ROLE_MEMBER;
	audit_event(&ev, "team.member.add", u.email, "%s as %s", t.id, role);
	rc = store_member_set(cl->app.st, t.id, u.id, r, &created, &ev);
	if (rc == STORE_LASTOWNER)
		fail("cannot demote the last owner of team %s; add another owner first", t.id);
	else if (rc != 0)
		fail("cannot change membership: %s", store_strerror(rc));
	else {
		printf("%s %s as %s of %s\n", created ? "added" : "updated", u.email,
		    role, t.id);
	}
	return rc != 0;
}

static int
cmd_member_remove(struct cli *cl, char **args, int nopt, char **opts)
{
	struct audit_event ev;
	struct team t;
	struct user u;
	int rc;

	if (member_target(cl, args, &t, &u) != 0)
		return 1;
	audit_event(&ev, "team.member.remove", u.email, "%s", t.id);
	rc = store_member_del(cl->app.st, t.id, u.id, &ev);
	if (rc == STORE_LASTOWNER)
		fail("cannot remove the last owner of team %s; add another owner first", t.id);
	else if (rc == STORE_NOTFOUND)
		fail("%s is not a member of team %s", u.email, t.id);
	else if (rc != 0)
		fail("cannot change membership: %s", store_strerror(rc));
	else
		printf("removed %s from %s\n", u.email, t.id);
	return rc != 0;
}

/* --- invitations, answered for the invitee (API.md 8) --- */

/* A valid e-mail address in args[i], lowercased into out; 0 or 1. */
static int
invitee(char **args, int i, char out[EMAIL_MAX + 1])
{
	if (strlen(args[i]) > EMAIL_MAX || !util_email_valid(args[i])) {
		fail("invalid e-mail address %s", args[i]);
		return 1;
	}
	util_lower(args[i], out, EMAIL_MAX + 1);
	return 0;
}

/* invitation list EMAIL: the pending invitations of an e-mail address,
 * with or without an account. */
static int
cmd_invite_list(struct cli *cl, char **args, int nopt, char **opts)
{
	struct invitation *v = NULL;
	struct team t;
	char email[EMAIL_MAX + 1], at[TIME_LEN];
	size_t i, n = 0;
	int rc;

	(void)nopt;
	(void)opts;
	if (invitee(args, 0, email) != 0)
		return 1;
	if ((rc = store_invite_list(cl->app.st, 0, email, util_now_ms(), &v, &n)) != 0) {
		fail("cannot list invitations: %s", store_strerror(rc));
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (store_team_get(cl->app.st, v[i].team_id, &t) != 0)
			continue;
		util_time_fmt(v[i].expires_at, at);
		printf("%s\t%s\t%s\t%s\t%s\n", v[i].team_id, role_name(v[i].role),
		    v[i].invited_by, at, t.name);
	}
	free(v);
	return 0;
}

/* invitation accept TEAM_ID EMAIL: the user with that address joins. */
static int
cmd_invite_accept(struct cli *cl, char **args, int nopt, char **opts)
{
	struct audit_event ev;
	struct user u;
	int rc, role;

	(void)nopt;
	(void)opts;
	if (find_user(cl, args[1], &u) != 0)
		return 1;
	audit_event(&ev, "team.invite.accept", u.email, "%.40s", args[0]);
	rc = store_invite_accept(cl->app.st, args[0], u.id, u.email, util_now_ms(),
	    &role, &ev);
	if (rc == STORE_NOTFOUND)
		fail("no pending invitation of %s to team %s; 'tokencat invitation "
		    "list %s' shows them", u.email, args[0], u.email);
	else if (rc != 0)
		fail("cannot accept the invitation: %s", store_strerror(rc));
	else
		printf("%s joined %s as %s\n", u.email, args[0], role_name(role));
	return rc != 0;
}

/* invitation decline TEAM_ID EMAIL: the invitation is removed. */
static int
cmd_invite_decline(struct cli *cl, char **args, int nopt, char **opts)
{
	struct audit_event ev;
	char email[EMAIL_MAX + 1];
	int rc;

	(void)nopt;
	(void)opts;
	if (invitee(args, 1, email) != 0)
		return 1;
	audit_event(&ev, "team.invite.decline", email, "%.40s", args[0]);
	rc = store_invite_del(cl->app.st, args[0], email, util_now_ms(), &ev);
	if (rc == STORE_NOTFOUND)
		fail("no pending invitation of %s to team %s; 'tokencat invitation "
		    "list %s' shows them", email, args[0], email);
	else if (rc != 0)
		fail("cannot decline the invitation: %s", store_strerror(rc));
	else
		printf("%s declined %s\n", email, args[0]);
	return rc != 0;
}

/* Split "a,b" into teams, each a team u may narrow to. 0, 1 or EXIT_USAGE. */
static int
session_teams(struct cli *cl, const struct user *u, const char *spec,
    struct strlist *teams)
{
	char *copy = strdup(spec), *p, *save = NULL;
	struct team t;
	int rc = 0, role;

	for (p = strtok_r(copy, ",", &save); p != NULL && rc == 0;
	    p = strtok_r(NULL, ",", &save)) {
		if (store_team_get(cl->app.st, p, &t) != 0 || (!u->is_admin &&
		    store_member_get(cl->app.st, t.id, u->id, &role) != 0)) {
			fail("no team %s that %s belongs to; check 'tokencat team' ids",
			    p, u->email);
			rc = 1;
		} else if (strlist_add(teams, t.id) == -1)
			rc = 1;
	}
	free(copy);
	return rc;
}

static int
cmd_session(struct cli *cl, char **args, int nopt, char **opts)
{
	const char *spec = opt_value(nopt, opts, "--teams");
	const char *mins = opt_value(nopt, opts, "--minutes");
	struct strlist teams = { NULL, 0 };
	struct user u;
	uint64_t minutes = cl->app.cfg.session_minutes;
	unsigned expires_in;
	char *jwt;
	int rc = 1;

	if (mins != NULL && util_parse_uint(mins, 1, 525600, &minutes) == -1)
		return usage_error(NULL, "--minutes must be a number from 1 to 525600");
	if (find_user(cl, args[0], &u) != 0)
		return 1;
	if (!u.is_active) {
		fail("user %s is disabled; enable it with 'tokencat user set --enable'", u.email);
		return 1;
	}
	if (spec != NULL && session_teams(cl, &u, spec, &teams) != 0)
		goto out;
	jwt = auth_session_token(&cl->app, &u, spec != NULL ? &teams : NULL,
	    (unsigned)minutes, &expires_in);
	if (jwt == NULL) {
		fail("cannot sign the session; check the signing key");
		goto out;
	}
	printf("%s\n", jwt);
	OPENSSL_cleanse(jwt, strlen(jwt));
	free(jwt);
	rc = 0;
out:
	strlist_free(&teams);
	return rc;
}

/*
 * Copy the signing key file to dir/signing.key (mode 0600, never over an
 * existing file). Returns 0, or -1 with errno set.
 */
static int
copy_key(const char *from, const char *dir)
{
	char path[4096], buf[4096];
	FILE *in, *out;
	size_t n;
	int fd, bad = 0;

	if (snprintf(path, sizeof(path), "%s/signing.key", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((in = fopen(from, "rb")) == NULL)
		return -1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    (out = fdopen(fd, "wb")) == NULL) {
		if (fd != -1)
			close(fd);
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			bad = 1;
	if (ferror(in))
		bad = 1;
	OPENSSL_cleanse(buf, sizeof(buf));
	fclose(in);
	if (fflush(out) != 0 || fsync(fileno(out)) != 0)
		bad = 1;
	if (fclose(out) != 0 || bad) {
		unlink(path);
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return 0;
}

/*
 * backup DEST_DIR: the catalog, the usage environment and the signing key,
 * so that a config whose database is DEST_DIR serves from the copy.
 */
/*
 * 1 (said so) if the configured database is PostgreSQL, which pg_dump
 * backs up: checked before connecting, so the answer is the same with the
 * server down. 0 otherwise, or when the config is unreadable (the normal
 * open reports that).
 */
static int
backup_is_pg_dump(struct cli *cl)
{
	struct config cfg;
	char err[CONFIG_ERR_MAX];
	int pg;

	config_init(&cfg);
	pg = config_load(&cfg, config_path(cl->cfg_arg), err) == 0 &&
	    store_is_pg(cfg.database);
	if (pg)
		fail("a PostgreSQL database is not backed up by tokencat: use "
		    "pg_dump (e.g. pg_dump -Fc DBNAME > tokencat.dump), and keep "
		    "a copy of the signing key %s", cfg.signing_key_file);
	config_free(&cfg);
	return pg;
}

static int
cmd_backup(struct cli *cl, char **args, int nopt, char **opts)
{
	int rc;

	(void)nopt;
	(void)opts;
	if ((rc = store_backup(cl->app.st, args[0])) != 0) {
		fail("cannot back up to %s: %s; use a new or empty directory on a "
		    "disk with room", args[0], store_strerror(rc));
		return 1;
	}
	if (copy_key(cl->app.cfg.signing_key_file, args[0]) == -1) {
		fail("cannot copy the signing key %s to %s: %s",
		    cl->app.cfg.signing_key_file, args[0], strerror(errno));
		return 1;
	}
	printf("backup written to %s\n", args[0]);
	return 0;
}

/*
 * migrate DEST: the key of the catalog goes with it. On PostgreSQL the
 * database keeps its fingerprint (as init stores it): an empty database
 * initialized for another key is refused.
 */
static int
migrate_key_pg(struct store *dst, const char *where, const char *fp,
    const char *keyfile)
{
	char have[128];
	int rc;

	rc = store_meta_get(dst, "key_fingerprint", have, sizeof(have));
	if (rc == 0 && strcmp(have, fp) != 0) {
		fail("%s was initialized for another signing key than %s: "
		    "use a new database", where, keyfile);
		return 1;
	}
	if (rc == STORE_NOTFOUND)
		rc = store_meta_put(dst, "key_fingerprint", fp);
	if (rc != 0)
		fail("cannot store the key fingerprint in %s: %s", where,
		    store_strerror(rc));
	return rc != 0;
}

/*
 * An LMDB DEST gets a copy of the key file as DEST/signing.key, its
 * default signing_key_file (migrate_done); one there already must hold
 * the same key. Checked before DEST is opened, so a refusal creates
 * nothing.
 */
static int
migrate_key_file(const char *dest, const char *fp, const char *keyfile)
{
	char have[65], path[4096], err[512];
	struct jws_key k;
	int rc;

	snprintf(path, sizeof(path), "%s/signing.key", dest);
	if (access(path, F_OK) != 0)
		return 0;
	if (jws_key_load(path, &k, err, sizeof(err)) == -1) {
		fail("%s", err);
		return 1;
	}
	rc = jws_key_fingerprint(&k, have) == -1 || strcmp(have, fp) != 0;
	jws_key_wipe(&k);
	if (rc)
		fail("%s holds another signing key than %s: use a new directory",
		    path, keyfile);
	return rc;
}

/* After the copy: the key file for an LMDB DEST, and what was copied. */
static int
migrate_done(struct cli *cl, const char *dest, const char *where,
    const struct copy_counts *n)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/signing.key", dest);
	if (!store_is_pg(dest) && access(path, F_OK) != 0 &&
	    copy_key(cl->app.cfg.signing_key_file, dest) == -1) {
		fail("cannot copy the signing key %s to %s: %s",
		    cl->app.cfg.signing_key_file, dest, strerror(errno));
		return 1;
	}
	printf("migrated to %s: %llu users, %llu teams, %llu members, "
	    "%llu invitations, %llu tokens, %llu session revocations, "
	    "%llu audit events, %llu uses\n", where,
	    (unsigned long long)n->users, (unsigned long long)n->teams,
	    (unsigned long long)n->members, (unsigned long long)n->invites,
	    (unsigned long long)n->tokens, (unsigned long long)n->jtis,
	    (unsigned long long)n->audit, (unsigned long long)n->uses);
	if (store_is_pg(dest))
		printf("serve it with database = %s and signing_key_file = %s\n",
		    where, cl->app.cfg.signing_key_file);
	else
		printf("serve it with database = %s (its signing key is %s)\n",
		    dest, path);
	return 0;
}

/* 1 if dest names the configured database itself (message printed). */
static int
migrate_same(struct cli *cl, const char *dest)
{
	char a[4096], b[4096];
	const char *db = cl->app.cfg.database;

	if (strcmp(dest, db) == 0 || (!store_is_pg(dest) && !store_is_pg(db) &&
	    realpath(dest, a) != NULL && realpath(db, b) != NULL &&
	    strcmp(a, b) == 0)) {
		fail("%s is the configured database; name another one", dest);
		return 1;
	}
	return 0;
}

/* Open DEST, created if missing; 0 or 1 (message printed). */
static int
migrate_open(struct cli *cl, const char *dest, const char *where,
    struct store **dst)
{
	int rc, empty;

	if ((rc = store_open(dst, dest, cl->app.cfg.map_size_mb, STORE_CREATE |
	    STORE_BULK)) != 0) {
		*dst = NULL;
		fail("cannot open or create %s: %s%s", where, store_strerror(rc),
		    store_is_pg(dest) ? "; check that PostgreSQL runs and the "
		    "role may create tables" : "; check that the parent "
		    "directory exists and is writable");
		return 1;
	}
	if ((rc = store_empty(*dst, &empty)) != 0)
		fail("cannot read %s: %s", where, store_strerror(rc));
	else if (!empty)
		fail("%s is not empty: migrate only into a new, empty database",
		    where);
	return rc != 0 || !empty;
}

static int
cmd_migrate(struct cli *cl, char **args, int nopt, char **opts)
{
	const char *keyfile = cl->app.cfg.signing_key_file, *what;
	struct store *dst = NULL;
	struct copy_counts n;
	char where[1024], fp[65];
	int rc, pg = store_is_pg(args[0]);

	(void)nopt;
	(void)opts;
	store_display(args[0], where, sizeof(where));
	if (jws_key_fingerprint(&cl->app.key, fp) == -1) {
		fail("cannot compute the fingerprint of the signing key %s",
		    keyfile);
		return 1;
	}
	if (migrate_same(cl, args[0]) != 0 ||
	    (!pg && migrate_key_file(args[0], fp, keyfile) != 0) ||
	    migrate_open(cl, args[0], where, &dst) != 0 ||
	    (pg && migrate_key_pg(dst, where, fp, keyfile) != 0)) {
		store_close(dst);
		return 1;
	}
	if ((rc = store_copy(cl->app.st, dst, &n, &what)) != 0) {
		fail("cannot copy the %s to %s: %s; %s is partly written: drop "
		    "it and migrate again", what, where, store_strerror(rc), where);
		store_close(dst);
		return 1;
	}
	store_close(dst);
	return migrate_done(cl, args[0], where, &n);
}

static const struct cmd cmds[] = {
	{ { "init" }, 1, 0, 0, cmd_init, "tokencat [-c FILE] init",
	  "create the database and signing key (idempotent: never overwrites a key)" },
	{ { "user", "add" }, 2, 1, 0, cmd_user_add,
	  "tokencat [-c FILE] user add EMAIL [--admin] [--full-name NAME]",
	  "add a user; the password is one line on standard input" },
	{ { "user", "set" }, 2, 1, 0, cmd_user_set,
	  "tokencat [-c FILE] user set EMAIL [--admin|--no-admin] [--enable|--disable] [--password]",
	  "change a user; --password reads the new one from standard input" },
	{ { "user", "list" }, 2, 0, 0, cmd_user_list, "tokencat [-c FILE] user list",
	  "list users: e-mail, id, admin, state, full name" },
	{ { "team", "add" }, 2, 1, 0, cmd_team_add,
	  "tokencat [-c FILE] team add NAME [--owner EMAIL]",
	  "create a team and print its id" },
	{ { "team", "member", "add" }, 3, 2, 0, cmd_member_add,
	  "tokencat [-c FILE] team member add TEAM_ID EMAIL [--role owner|member]",
	  "add a member (default role member) or change a member's role" },
	{ { "team", "member", "remove" }, 3, 2, 0, cmd_member_remove,
	  "tokencat [-c FILE] team member remove TEAM_ID EMAIL",
	  "remove a member (never the last owner)" },
	{ { "invitation", "list" }, 2, 1, 0, cmd_invite_list,
	  "tokencat [-c FILE] invitation list EMAIL",
	  "list the pending invitations of an e-mail address: team id, role, "
	  "invited by, expiry, team name" },
	{ { "invitation", "accept" }, 2, 2, 0, cmd_invite_accept,
	  "tokencat [-c FILE] invitation accept TEAM_ID EMAIL",
	  "accept for the user: it joins the team with the invited role" },
	{ { "invitation", "decline" }, 2, 2, 0, cmd_invite_decline,
	  "tokencat [-c FILE] invitation decline TEAM_ID EMAIL",
	  "decline for the invitee: the invitation is removed" },
	{ { "session" }, 1, 1, 1, cmd_session,
	  "tokencat [-c FILE] session EMAIL [--teams ID[,ID...]] [--minutes N]",
	  "print a session JWT; --teams \"\" makes a public-only session" },
	{ { "backup" }, 1, 1, 0, cmd_backup, "tokencat [-c FILE] backup DEST_DIR",
	  "write a consistent, compacted copy of the database while it is in use" },
	{ { "migrate" }, 1, 1, 1, cmd_migrate, "tokencat [-c FILE] migrate DEST",
	  "copy the whole catalog into an empty database DEST: an LMDB "
	  "directory or a postgresql:// URI" },
};

/* Options each command accepts, and whether they take a value. */
static int
opt_known(const struct cmd *c, const char *o, int *takes_value)
{
	static const struct { const char *cmd, *opt; int value; } known[] = {
		{ "user add", "--admin", 0 }, { "user add", "--full-name", 1 },
		{ "user set", "--admin", 0 }, { "user set", "--no-admin", 0 },
		{ "user set", "--enable", 0 }, { "user set", "--disable", 0 },
		{ "user set", "--password", 0 }, { "team add", "--owner", 1 },
		{ "team member add", "--role", 1 }, { "session", "--teams", 1 },
		{ "session", "--minutes", 1 },
	};
	char name[32];
	size_t i;

	snprintf(name, sizeof(name), "%s%s%s%s%s", c->words[0],
	    c->nwords > 1 ? " " : "", c->nwords > 1 ? c->words[1] : "",
	    c->nwords > 2 ? " " : "", c->nwords > 2 ? c->words[2] : "");
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(known[i].cmd, name) == 0 && strcmp(known[i].opt, o) == 0) {
			*takes_value = known[i].value;
			return 1;
		}
	return 0;
}

/* Mutually exclusive flags of user set, and at least one of them. */
static int
check_user_set(const struct cmd *c, int nopt, char **opts)
{
	if (c->fn != cmd_user_set)
		return 0;
	if (nopt == 0)
		return usage_error(c, "user set needs at least one option");
	if ((opt_flag(nopt, opts, "--admin") && opt_flag(nopt, opts, "--no-admin")) ||
	    (opt_flag(nopt, opts, "--enable") && opt_flag(nopt, opts, "--disable")))
		return usage_error(c, "contradictory options");
	return 0;
}

/* Split argv after the command words into positional args and options. */
static int
split_args(const struct cmd *c, int argc, char **argv, char **args, char **opts,
    int *nopt)
{
	int i, nargs = 0, val;

	*nopt = 0;
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: %s\n  %s\n", c->usage, c->help);
			return -1;
		}
		if (strncmp(argv[i], "--", 2) == 0) {
			if (!opt_known(c, argv[i], &val))
				return usage_error(c, "unknown option");
			opts[(*nopt)++] = argv[i];
			if (val && ++i >= argc)
				return usage_error(c, "option needs a value");
			if (val)
				opts[(*nopt)++] = argv[i];
		} else if (nargs < c->nargs)
			args[nargs++] = argv[i];
		else
			return usage_error(c, "too many arguments");
	}
	if (nargs < c->nargs)
		return usage_error(c, "missing argument");
	return check_user_set(c, *nopt, opts);
}

/* The command whose words start argv, or NULL. */
static const struct cmd *
find_cmd(int argc, char **argv)
{
	size_t i;
	int w;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		for (w = 0; w < cmds[i].nwords; w++)
			if (w >= argc || strcmp(argv[w], cmds[i].words[w]) != 0)
				break;
		if (w == cmds[i].nwords)
			return &cmds[i];
	}
	return NULL;
}

static void
print_help(void)
{
	size_t i;

	fputs(synopsis, stdout);
	puts("\ncommands:");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		printf("  %-22s %s\n", cmds[i].usage + strlen("tokencat [-c FILE] "),
		    cmds[i].help);
	puts("\nThe config file is -c FILE, else $TOKENCAT_CONFIG, else "
	    SYSCONFDIR "/tokencat.conf.");
}

/* "tokencat user --help", "tokencat team member --help": the usage of every
 * command of the group. 1 if shown. */
static int
group_help(int argc, char **argv)
{
	size_t i;
	int w, nw = argc - 1, shown = 0;

	if (nw < 1 || nw > 2 || (strcmp(argv[nw], "--help") != 0 &&
	    strcmp(argv[nw], "-h") != 0))
		return 0;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		for (w = 0; w < nw && w < cmds[i].nwords; w++)
			if (strcmp(cmds[i].words[w], argv[w]) != 0)
				break;
		if (w == nw && nw < cmds[i].nwords) {
			printf("%s %s\n  %s\n", shown ? "      " : "usage:",
			    cmds[i].usage, cmds[i].help);
			shown = 1;
		}
	}
	return shown;
}

/* Run one command. Returns the exit status. */
static int
run(struct cli *cl, const struct cmd *c, int argc, char **argv)
{
	char *args[4], *opts[16];
	int nopt, rc;

	if (argc > 16)
		return usage_error(c, "too many arguments");
	if ((rc = split_args(c, argc, argv, args, opts, &nopt)) != 0)
		return rc == -1 ? 0 : rc;
	if (c->fn == cmd_backup && backup_is_pg_dump(cl))
		return 1;
	if (c->fn != cmd_init && cli_open(cl, 0, c->need_key) != 0)
		return 1;
	return c->fn(cl, args, nopt, opts);
}

int
main(int argc, char **argv)
{
	struct cli cl = { NULL };
	const struct cmd *c;
	int i = 1, rc;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		print_help();
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("tokencat %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc > 2 && strcmp(argv[1], "-c") == 0) {
		cl.cfg_arg = argv[2];
		i = 3;
	}
	if (i >= argc)
		return usage_error(NULL, "missing command");
	if ((c = find_cmd(argc - i, argv + i)) == NULL)
		return group_help(argc - i, argv + i) ? 0 :
		    usage_error(NULL, "unknown command");
	rc = run(&cl, c, argc - i - c->nwords, argv + i + c->nwords);
	if (cl.open)
		app_close(&cl.app);
	else
		config_free(&cl.app.cfg);
	return rc;
}
