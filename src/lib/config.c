/*
 * config.c - tokencat.conf (OPERATIONS.md): "key = value" lines parsed by a
 * table of {name, type, repeatable, min, max, offset} rows, one setter per
 * type. Errors name the file and line:
 *   tokencat.conf:12: unknown key "mapszie"
 *   tokencat.conf:3: bad value for "session_minutes": must be an integer from 1 to 525600
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "store.h"
#include "log.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/usr/local/etc"
#endif

#define CONFIG_FILE_MAX	(1024 * 1024)
#define WHY_MAX		256
#define BLANKS		" \t\r\v\f"

enum ktype {
	K_STR,          /* non-empty string (char *) */
	K_UINT,         /* unsigned in [min, max] */
	K_SIZE,         /* size_t in [min, max] */
	K_BOOL,         /* int 0/1 */
	K_PERMS,        /* space-separated permissions (struct strlist) */
	K_ADDRS,        /* trusted_proxies: addresses/CIDRs */
	K_RULE,         /* rule = METHOD PATH-PREFIX PERMISSION */
	K_PATHS,        /* path prefixes (struct strlist), first use replaces default */
	K_LOGLEVEL,     /* error|warn|info|debug */
	K_MOUNT         /* "" or "/..." without trailing '/' */
};

struct key {
	const char	*name;
	enum ktype	 type;
	int		 repeat;        /* may be given more than once */
	uint64_t	 min, max;
	size_t		 off;           /* field in struct config */
};

#define F(f)	offsetof(struct config, f)

static const struct key keys[] = {
	{ "database", K_STR, 0, 0, 0, F(database) },
	{ "signing_key_file", K_STR, 0, 0, 0, F(signing_key_file) },
	{ "issuer", K_STR, 0, 0, 0, F(issuer) },
	{ "audience", K_STR, 0, 0, 0, F(audience) },
	{ "session_minutes", K_UINT, 0, 1, 525600, F(session_minutes) },
	{ "require_token_expiration", K_BOOL, 0, 0, 0,
	    F(require_token_expiration) },
	{ "max_token_days", K_UINT, 0, 1, 36500, F(max_token_days) },
	{ "mount_prefix", K_MOUNT, 0, 0, 0, F(mount_prefix) },
	{ "trusted_proxies", K_ADDRS, 1, 0, 0, F(trusted_proxies) },
	{ "trust_remote_user", K_BOOL, 0, 0, 0, F(trust_remote_user) },
	{ "user_permissions", K_PERMS, 0, 0, 0, F(user_permissions) },
	{ "team_member_permissions", K_PERMS, 0, 0, 0,
	    F(team_member_permissions) },
	{ "team_owner_permissions", K_PERMS, 0, 0, 0,
	    F(team_owner_permissions) },
	{ "rule", K_RULE, 1, 0, 0, F(rules) },
	{ "server_scope_allow", K_PATHS, 1, 0, 0, F(server_scope_allow) },
	{ "allow_team_creation", K_BOOL, 0, 0, 0, F(allow_team_creation) },
	{ "login_max_failures", K_UINT, 0, 1, 1000, F(login_max_failures) },
	{ "login_lockout_minutes", K_UINT, 0, 1, 10080,
	    F(login_lockout_minutes) },
	{ "max_body_bytes", K_SIZE, 0, 1024, 16777216, F(max_body_bytes) },
	{ "map_size_mb", K_SIZE, 0, 1, 1048576, F(map_size_mb) },
	{ "sandbox", K_BOOL, 0, 0, 0, F(sandbox) },
	{ "log_level", K_LOGLEVEL, 0, 0, 0, F(log_level) },
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

static const char *const def_user_perms[] = { "servers.read", "servers.use",
    "tools.read", "tools.execute", "resources.read", "prompts.read", NULL };
static const char *const def_member_perms[] = { "teams.read", NULL };
static const char *const def_owner_perms[] = { "teams.read", "teams.manage",
    NULL };
static const char *const def_scope_allow[] = { "/health", NULL };

/* Add every string of the NULL-terminated list v to l. 0 or -1 (ENOMEM). */
static int
add_all(struct strlist *l, const char *const *v)
{
	for (; *v != NULL; v++)
		if (strlist_add(l, *v) == -1)
			return -1;
	return 0;
}

/*
 * Set every key to its default (database and signing_key_file NULL).
 * A failed strdup leaves a NULL string that config_parse() reports as
 * "out of memory"; a failed list entry only shortens a default permission
 * set (fails closed).
 */
void
config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->issuer = strdup("tokencat");
	c->audience = strdup("tokencat-api");
	c->session_minutes = 60;
	c->require_token_expiration = 1;
	c->max_token_days = 365;
	c->mount_prefix = strdup("");
	c->allow_team_creation = 1;
	c->login_max_failures = 5;
	c->login_lockout_minutes = 15;
	c->max_body_bytes = 65536;
	c->map_size_mb = 1024;
	c->sandbox = 1;
	c->log_level = TCLOG_INFO;
	(void)add_all(&c->user_permissions, def_user_perms);
	(void)add_all(&c->team_member_permissions, def_member_perms);
	(void)add_all(&c->team_owner_permissions, def_owner_perms);
	(void)add_all(&c->server_scope_allow, def_scope_allow);
}

/* Free everything c owns and zero it. NULL-safe. */
void
config_free(struct config *c)
{
	size_t	i;

	if (c == NULL)
		return;
	free(c->database);
	free(c->signing_key_file);
	free(c->issuer);
	free(c->audience);
	free(c->mount_prefix);
	free(c->trusted_proxies);
	strlist_free(&c->user_permissions);
	strlist_free(&c->team_member_permissions);
	strlist_free(&c->team_owner_permissions);
	strlist_free(&c->server_scope_allow);
	for (i = 0; i < c->nrules; i++) {
		free(c->rules[i].prefix);
		free(c->rules[i].perm);
	}
	free(c->rules);
	memset(c, 0, sizeof(*c));
}

/* Pointer to the field of c that k describes. */
static void *
field(struct config *c, const struct key *k)
{
	return (char *)c + k->off;
}

/* Replace the string at *dst by a copy of v. 0 or -1 (ENOMEM). */
static int
set_string(char **dst, const char *v)
{
	char	*s;

	if ((s = strdup(v)) == NULL)
		return -1;
	free(*dst);
	*dst = s;
	return 0;
}

/* K_STR: any non-empty value. */
static int
set_str(struct config *c, const struct key *k, char *v, char *why, int first)
{
	if (*v == '\0') {
		snprintf(why, WHY_MAX, "must not be empty");
		return -1;
	}
	if (set_string(field(c, k), v) == -1) {
		snprintf(why, WHY_MAX, "out of memory");
		return -1;
	}
	return 0;
}

/* K_UINT and K_SIZE: a decimal number in [k->min, k->max] (util_parse_uint). */
static int
set_num(struct config *c, const struct key *k, char *v, char *why, int first)
{
	uint64_t	n;

	if (util_parse_uint(v, k->min, k->max, &n) == -1) {
		snprintf(why, WHY_MAX, "must be an integer from %llu to %llu",
		    (unsigned long long)k->min, (unsigned long long)k->max);
		return -1;
	}
	if (k->type == K_UINT)
		*(unsigned *)field(c, k) = (unsigned)n;
	else
		*(size_t *)field(c, k) = (size_t)n;
	return 0;
}

/* K_BOOL: true/false, yes/no, on/off, 1/0 (lowercase). */
static int
set_bool(struct config *c, const struct key *k, char *v, char *why, int first)
{
	static const char *const t[] = { "true", "yes", "on", "1" };
	static const char *const f[] = { "false", "no", "off", "0" };
	size_t	i;

	for (i = 0; i < 4; i++) {
		if (strcmp(v, t[i]) == 0 || strcmp(v, f[i]) == 0) {
			*(int *)field(c, k) = strcmp(v, t[i]) == 0;
			return 0;
		}
	}
	snprintf(why, WHY_MAX, "must be true or false (or yes/no, on/off, 1/0)");
	return -1;
}

/* K_PERMS: space-separated permissions replacing the default set (may be empty). */
static int
set_perms(struct config *c, const struct key *k, char *v, char *why, int first)
{
	struct strlist	 l = { NULL, 0 }, *dst = field(c, k);
	char		*w, *save = NULL;

	for (w = strtok_r(v, BLANKS, &save); w != NULL;
	    w = strtok_r(NULL, BLANKS, &save)) {
		if (!scope_perm_valid(w)) {
			snprintf(why, WHY_MAX, "\"%s\" is not a permission", w);
			goto fail;
		}
		if (!strlist_has(&l, w) && strlist_add(&l, w) == -1) {
			snprintf(why, WHY_MAX, "out of memory");
			goto fail;
		}
	}
	strlist_free(dst);
	*dst = l;
	return 0;
fail:
	strlist_free(&l);
	return -1;
}

/* K_ADDRS: one or more addresses/CIDRs separated by blanks or commas, appended. */
static int
set_addrs(struct config *c, const struct key *k, char *v, char *why, int first)
{
	struct ipnet	 net, *nv;
	char		*w, *save = NULL;
	int		 any = 0;

	for (w = strtok_r(v, BLANKS ",", &save); w != NULL;
	    w = strtok_r(NULL, BLANKS ",", &save), any = 1) {
		if (scope_ipnet_parse(w, &net) == -1) {
			snprintf(why, WHY_MAX,
			    "\"%s\" is not an IP address or CIDR", w);
			return -1;
		}
		nv = reallocarray(c->trusted_proxies, c->ntrusted_proxies + 1,
		    sizeof(*nv));
		if (nv == NULL) {
			snprintf(why, WHY_MAX, "out of memory");
			return -1;
		}
		nv[c->ntrusted_proxies++] = net;
		c->trusted_proxies = nv;
	}
	if (!any)
		snprintf(why, WHY_MAX, "must list IP addresses or CIDRs");
	return any ? 0 : -1;
}

/* 1 if m is "*" or 1..15 uppercase ASCII letters. */
static int
method_valid(const char *m)
{
	size_t	i;

	if (strcmp(m, "*") == 0)
		return 1;
	for (i = 0; m[i] != '\0'; i++)
		if (m[i] < 'A' || m[i] > 'Z')
			return 0;
	return i >= 1 && i <= 15;
}

/* K_RULE: exactly "METHOD PATH-PREFIX PERMISSION", appended to c->rules. */
static int
set_rule(struct config *c, const struct key *k, char *v, char *why, int first)
{
	char		*w[4], *save = NULL;
	struct rule	*nv, r;
	int		 n;

	for (n = 0; n < 4; n++)
		w[n] = strtok_r(n == 0 ? v : NULL, BLANKS, &save);
	if (w[2] == NULL || w[3] != NULL) {
		snprintf(why, WHY_MAX, "must be METHOD PATH-PREFIX PERMISSION");
		return -1;
	}
	if (!method_valid(w[0])) {
		snprintf(why, WHY_MAX,
		    "method \"%s\" must be * or an uppercase HTTP method", w[0]);
		return -1;
	}
	if (w[1][0] != '/') {
		snprintf(why, WHY_MAX, "path prefix \"%s\" must start with '/'",
		    w[1]);
		return -1;
	}
	if (!scope_perm_valid(w[2])) {
		snprintf(why, WHY_MAX, "\"%s\" is not a permission", w[2]);
		return -1;
	}
	memset(&r, 0, sizeof(r));
	snprintf(r.method, sizeof(r.method), "%s", w[0]);
	r.prefix = strdup(w[1]);
	r.perm = strdup(w[2]);
	nv = reallocarray(c->rules, c->nrules + 1, sizeof(*nv));
	if (r.prefix == NULL || r.perm == NULL || nv == NULL) {
		free(r.prefix);
		free(r.perm);
		snprintf(why, WHY_MAX, "out of memory");
		return -1;
	}
	nv[c->nrules++] = r;
	c->rules = nv;
	return 0;
}

/* K_PATHS: blank-separated path prefixes starting with '/'; the first line replaces the default. */
static int
set_paths(struct config *c, const struct key *k, char *v, char *why, int first)
{
	struct strlist	*dst = field(c, k);
	char		*w, *save = NULL;
	int		 any = 0;

	if (first)
		strlist_free(dst);
	for (w = strtok_r(v, BLANKS, &save); w != NULL;
	    w = strtok_r(NULL, BLANKS, &save), any = 1) {
		if (w[0] != '/') {
			snprintf(why, WHY_MAX,
			    "path prefix \"%s\" must start with '/'", w);
			return -1;
		}
		if (!strlist_has(dst, w) && strlist_add(dst, w) == -1) {
			snprintf(why, WHY_MAX, "out of memory");
			return -1;
		}
	}
	if (!any)
		snprintf(why, WHY_MAX, "must list path prefixes starting with '/'");
	return any ? 0 : -1;
}

/* K_LOGLEVEL: error, warn, info or debug. */
static int
set_loglevel(struct config *c, const struct key *k, char *v, char *why,
    int first)
{
	int	lv;

	if ((lv = log_level_parse(v)) == -1) {
		snprintf(why, WHY_MAX, "must be error, warn, info or debug");
		return -1;
	}
	*(int *)field(c, k) = lv;
	return 0;
}

/* K_MOUNT: empty, or a path starting with '/' without blanks; trailing '/' dropped. */
static int
set_mount(struct config *c, const struct key *k, char *v, char *why, int first)
{
	size_t	n = strlen(v);

	if ((n > 0 && v[0] != '/') || strpbrk(v, BLANKS) != NULL) {
		snprintf(why, WHY_MAX,
		    "must be empty or a path starting with '/'");
		return -1;
	}
	while (n > 0 && v[n - 1] == '/')
		v[--n] = '\0';
	if (set_string(field(c, k), v) == -1) {
		snprintf(why, WHY_MAX, "out of memory");
		return -1;
	}
	return 0;
}

typedef int (*setter)(struct config *, const struct key *, char *, char *, int);

static const setter setters[] = {
	[K_STR] = set_str, [K_UINT] = set_num, [K_SIZE] = set_num,
	[K_BOOL] = set_bool, [K_PERMS] = set_perms, [K_ADDRS] = set_addrs,
	[K_RULE] = set_rule, [K_PATHS] = set_paths,
	[K_LOGLEVEL] = set_loglevel, [K_MOUNT] = set_mount,
};

/* Strip leading and trailing blanks of s in place; returns the new start. */
static char *
trim(char *s)
{
	size_t	n;

	s += strspn(s, BLANKS);
	n = strlen(s);
	while (n > 0 && strchr(BLANKS, s[n - 1]) != NULL)
		s[--n] = '\0';
	return s;
}

/* Cut line at a '#' that starts the line or follows a blank. */
static void
strip_comment(char *line)
{
	char	*p;

	for (p = line; (p = strchr(p, '#')) != NULL; p++) {
		if (p == line || strchr(BLANKS, p[-1]) != NULL) {
			*p = '\0';
			return;
		}
	}
}

/* Index of the keys[] row named name, or NKEYS. */
static size_t
find_key(const char *name)
{
	size_t	i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			break;
	return i;
}

/*
 * Parse one line (NUL-terminated, without '\n') into c. seen[i] holds the
 * line where keys[i] was last set (0 = not yet). Returns 0, or -1 with err
 * set to "fname:lineno: ...".
 */
static int
parse_line(struct config *c, char *line, unsigned lineno, unsigned *seen,
    const char *fname, char *err)
{
	char	*eq, *key, *val, why[WHY_MAX];
	size_t	 i;

	strip_comment(line);
	line = trim(line);
	if (*line == '\0')
		return 0;
	if ((eq = strchr(line, '=')) == NULL) {
		snprintf(err, CONFIG_ERR_MAX, "%s:%u: line has no '='",
		    fname, lineno);
		return -1;
	}
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	if (*key == '\0') {
		snprintf(err, CONFIG_ERR_MAX, "%s:%u: line has no key before '='",
		    fname, lineno);
		return -1;
	}
	if ((i = find_key(key)) == NKEYS) {
		snprintf(err, CONFIG_ERR_MAX, "%s:%u: unknown key \"%.64s\"",
		    fname, lineno, key);
		return -1;
	}
	if (seen[i] != 0 && !keys[i].repeat) {
		snprintf(err, CONFIG_ERR_MAX, "%s:%u: key \"%s\" given twice "
		    "(first on line %u)", fname, lineno, key, seen[i]);
		return -1;
	}
	if (setters[keys[i].type](c, &keys[i], val, why, seen[i] == 0) == -1) {
		snprintf(err, CONFIG_ERR_MAX, "%s:%u: bad value for \"%s\": %s",
		    fname, lineno, key, why);
		return -1;
	}
	seen[i] = lineno;
	return 0;
}

/*
 * After all lines: require database, default signing_key_file to
 * <database>/signing.key (required with PostgreSQL), and catch
 * allocation failures of config_init().
 */
static int
finish(struct config *c, const char *fname, char *err)
{
	size_t	n;

	if (c->database == NULL) {
		snprintf(err, CONFIG_ERR_MAX,
		    "%s: missing required key \"database\"", fname);
		return -1;
	}
	if (c->signing_key_file == NULL && store_is_pg(c->database)) {
		snprintf(err, CONFIG_ERR_MAX, "%s: \"signing_key_file\" is "
		    "required when \"database\" is a PostgreSQL URI (every host "
		    "reads the same key)", fname);
		return -1;
	}
	if (c->signing_key_file == NULL) {
		n = strlen(c->database);
		if (asprintf(&c->signing_key_file, "%s%ssigning.key",
		    c->database, n > 0 && c->database[n - 1] == '/' ? "" : "/")
		    == -1)
			c->signing_key_file = NULL;
	}
	if (c->signing_key_file == NULL || c->issuer == NULL ||
	    c->audience == NULL || c->mount_prefix == NULL) {
		snprintf(err, CONFIG_ERR_MAX, "%s: out of memory", fname);
		return -1;
	}
	return 0;
}

/*
 * Parse buf[0..len) (see config.h). On failure c may be partly filled;
 * the caller still owns it and calls config_free().
 */
int
config_parse(struct config *c, const char *buf, size_t len,
    const char *fname, char *err)
{
	unsigned	 seen[NKEYS], lineno = 0;
	const char	*nul;
	char		*copy, *line, *next;
	int		 rc = -1;

	memset(seen, 0, sizeof(seen));
	if ((nul = memchr(buf, '\0', len)) != NULL) {
		for (lineno = 1; (nul = memrchr(buf, '\n',
		    (size_t)(nul - buf))) != NULL; lineno++)
			;
		snprintf(err, CONFIG_ERR_MAX, "%s:%u: line contains a NUL byte",
		    fname, lineno);
		return -1;
	}
	if ((copy = malloc(len + 1)) == NULL) {
		snprintf(err, CONFIG_ERR_MAX, "%s: out of memory", fname);
		return -1;
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	for (line = copy; line != NULL; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (parse_line(c, line, ++lineno, seen, fname, err) == -1)
			goto out;
	}
	rc = finish(c, fname, err);
out:
	free(copy);
	return rc;
}

/*
 * Read the whole file at path (at most CONFIG_FILE_MAX bytes) into a new
 * buffer (*out, caller frees) of *len bytes. 0, or -1 with errno set
 * (EFBIG when the file is too large).
 */
static int
read_file(const char *path, char **out, size_t *len)
{
	char	*buf;
	size_t	 n = 0;
	ssize_t	 r;
	int	 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if ((buf = malloc(CONFIG_FILE_MAX + 1)) == NULL)
		goto fail;
	while (n <= CONFIG_FILE_MAX) {
		r = read(fd, buf + n, CONFIG_FILE_MAX + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n > CONFIG_FILE_MAX) {
		errno = EFBIG;
		goto fail;
	}
	close(fd);
	*out = buf;
	*len = n;
	return 0;
fail:
	saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return -1;
}

/* Read path and config_parse() it under that name. 0, or -1 with err set. */
int
config_load(struct config *c, const char *path, char *err)
{
	char	*buf = NULL;
	size_t	 len;
	int	 rc;

	if (read_file(path, &buf, &len) == -1) {
		snprintf(err, CONFIG_ERR_MAX, "cannot read %s: %s", path,
		    errno == EFBIG ? "file is larger than 1 MiB" :
		    strerror(errno));
		return -1;
	}
	rc = config_parse(c, buf, len, path, err);
	free(buf);
	return rc;
}

/* -c argument, else $TOKENCAT_CONFIG, else SYSCONFDIR "/tokencat.conf" (empty = unset). */
const char *
config_path(const char *arg)
{
	const char	*env;

	if (arg != NULL && *arg != '\0')
		return arg;
	if ((env = getenv("TOKENCAT_CONFIG")) != NULL && *env != '\0')
		return env;
	return SYSCONFDIR "/tokencat.conf";
}
