/*
 * test_config.c - config.c: defaults, every key good and bad, the exact
 * error sentences with file:line, repeatable keys, rules, comments, and
 * config_load()/config_path() on real files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "config.h"
#include "store.h"
#include "log.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))
#define FNAME		"tokencat.conf"

static struct config	cfg;
static char		err[CONFIG_ERR_MAX];

/* Parse text (NUL-terminated) into the fresh global cfg. Returns config_parse(). */
static int
parse(const char *text)
{
	config_free(&cfg);
	config_init(&cfg);
	strcpy(err, "untouched");
	return config_parse(&cfg, text, strlen(text), FNAME, err);
}

static void
teardown(void)
{
	config_free(&cfg);
}

TestSuite(config, .fini = teardown);

/* --- defaults --- */

Test(config, defaults)
{
	static const char *const user[] = { "servers.read", "servers.use",
	    "tools.read", "tools.execute", "resources.read", "prompts.read" };
	size_t	i;

	config_init(&cfg);
	cr_expect_null(cfg.database);
	cr_expect_null(cfg.signing_key_file);
	cr_expect_str_eq(cfg.issuer, "tokencat");
	cr_expect_str_eq(cfg.audience, "tokencat-api");
	cr_expect_eq(cfg.session_minutes, 60);
	cr_expect_eq(cfg.require_token_expiration, 1);
	cr_expect_eq(cfg.max_token_days, 365);
	cr_expect_str_eq(cfg.mount_prefix, "");
	cr_expect_eq(cfg.ntrusted_proxies, 0);
	cr_expect_eq(cfg.trust_remote_user, 0);
	cr_assert_eq(cfg.user_permissions.n, NROWS(user));
	for (i = 0; i < NROWS(user); i++)
		cr_expect_str_eq(cfg.user_permissions.v[i], user[i]);
	cr_assert_eq(cfg.team_member_permissions.n, 1);
	cr_expect_str_eq(cfg.team_member_permissions.v[0], "teams.read");
	cr_assert_eq(cfg.team_owner_permissions.n, 2);
	cr_expect_str_eq(cfg.team_owner_permissions.v[0], "teams.read");
	cr_expect_str_eq(cfg.team_owner_permissions.v[1], "teams.manage");
	cr_expect_eq(cfg.nrules, 0);
	cr_assert_eq(cfg.server_scope_allow.n, 1);
	cr_expect_str_eq(cfg.server_scope_allow.v[0], "/health");
	cr_expect_eq(cfg.allow_team_creation, 1);
	cr_expect_eq(cfg.login_max_failures, 5);
	cr_expect_eq(cfg.login_lockout_minutes, 15);
	cr_expect_eq(cfg.max_body_bytes, 65536);
	cr_expect_eq(cfg.map_size_mb, 1024);
	cr_expect_eq(cfg.sandbox, 1);
	cr_expect_eq(cfg.log_level, TCLOG_INFO);
}

Test(config, minimal_file_keeps_defaults)
{
	cr_assert_eq(parse("database = /var/lib/tokencat\n"), 0, "%s", err);
	cr_expect_str_eq(cfg.database, "/var/lib/tokencat");
	cr_expect_str_eq(cfg.signing_key_file, "/var/lib/tokencat/signing.key");
	cr_expect_str_eq(cfg.issuer, "tokencat");
	cr_expect_eq(cfg.session_minutes, 60);
	cr_expect_eq(cfg.user_permissions.n, 6);
	cr_expect_eq(cfg.server_scope_allow.n, 1);
}

/* --- every key, good values --- */

Test(config, every_key)
{
	static const char text[] =
	    "# tokencat.conf\n"
	    "database = /srv/tc\n"
	    "signing_key_file = /etc/tc/key\n"
	    "issuer = https://tc.example\n"
	    "audience = my-api\n"
	    "session_minutes = 525600\n"
	    "require_token_expiration = no\n"
	    "max_token_days = 36500\n"
	    "mount_prefix = /api/v1/\n"
	    "trusted_proxies = 127.0.0.1\n"
	    "trust_remote_user = on\n"
	    "user_permissions = tools.read tools:execute\n"
	    "team_member_permissions = teams.read\n"
	    "team_owner_permissions = teams.*\n"
	    "rule = GET /files files.read\n"
	    "server_scope_allow = /auth/check\n"
	    "allow_team_creation = false\n"
	    "login_max_failures = 1000\n"
	    "login_lockout_minutes = 10080\n"
	    "max_body_bytes = 16777216\n"
	    "map_size_mb = 1048576\n"
	    "sandbox = off\n"
	    "log_level = debug\n";

	cr_assert_eq(parse(text), 0, "%s", err);
	cr_expect_str_eq(cfg.database, "/srv/tc");
	cr_expect_str_eq(cfg.signing_key_file, "/etc/tc/key");
	cr_expect_str_eq(cfg.issuer, "https://tc.example");
	cr_expect_str_eq(cfg.audience, "my-api");
	cr_expect_eq(cfg.session_minutes, 525600);
	cr_expect_eq(cfg.require_token_expiration, 0);
	cr_expect_eq(cfg.max_token_days, 36500);
	cr_expect_str_eq(cfg.mount_prefix, "/api/v1");
	cr_assert_eq(cfg.ntrusted_proxies, 1);
	cr_expect_eq(cfg.trusted_proxies[0].family, 4);
	cr_expect_eq(cfg.trust_remote_user, 1);
	cr_assert_eq(cfg.user_permissions.n, 2);
	cr_expect_str_eq(cfg.user_permissions.v[1], "tools:execute");
	cr_assert_eq(cfg.team_member_permissions.n, 1);
	cr_assert_eq(cfg.team_owner_permissions.n, 1);
	cr_expect_str_eq(cfg.team_owner_permissions.v[0], "teams.*");
	cr_assert_eq(cfg.nrules, 1);
	cr_expect_str_eq(cfg.rules[0].method, "GET");
	cr_assert_eq(cfg.server_scope_allow.n, 1);
	cr_expect_str_eq(cfg.server_scope_allow.v[0], "/auth/check");
	cr_expect_eq(cfg.allow_team_creation, 0);
	cr_expect_eq(cfg.login_max_failures, 1000);
	cr_expect_eq(cfg.login_lockout_minutes, 10080);
	cr_expect_eq(cfg.max_body_bytes, 16777216);
	cr_expect_eq(cfg.map_size_mb, 1048576);
	cr_expect_eq(cfg.sandbox, 0);
	cr_expect_eq(cfg.log_level, TCLOG_DEBUG);
}

/* Numeric keys: the lowest and highest accepted value of each. */
static const struct { const char *line; size_t off; int sz; uint64_t v; } num_rows[] = {
#define U(f)	offsetof(struct config, f), (int)sizeof(((struct config *)0)->f)
	{ "session_minutes = 1", U(session_minutes), 1 },
	{ "session_minutes = 0525600", U(session_minutes), 525600 },
	{ "max_token_days = 1", U(max_token_days), 1 },
	{ "max_token_days = 36500", U(max_token_days), 36500 },
	{ "login_max_failures = 1", U(login_max_failures), 1 },
	{ "login_max_failures = 1000", U(login_max_failures), 1000 },
	{ "login_lockout_minutes = 1", U(login_lockout_minutes), 1 },
	{ "login_lockout_minutes = 10080", U(login_lockout_minutes), 10080 },
	{ "max_body_bytes = 1024", U(max_body_bytes), 1024 },
	{ "max_body_bytes = 16777216", U(max_body_bytes), 16777216 },
	{ "map_size_mb = 1", U(map_size_mb), 1 },
	{ "map_size_mb = 1048576", U(map_size_mb), 1048576 },
#undef U
};

Test(config, numbers_in_range_rows)
{
	char		text[256];
	const char	*p;
	uint64_t	v;
	size_t		i;

	for (i = 0; i < NROWS(num_rows); i++) {
		snprintf(text, sizeof(text), "database = /d\n%s\n",
		    num_rows[i].line);
		cr_assert_eq(parse(text), 0, "row %zu: %s", i, err);
		p = (const char *)&cfg + num_rows[i].off;
		if (num_rows[i].sz == sizeof(unsigned))
			v = *(const unsigned *)(const void *)p;
		else
			v = *(const size_t *)(const void *)p;
		cr_expect_eq(v, num_rows[i].v, "row %zu", i);
	}
}

static const struct { const char *val; int v; } bool_rows[] = {
	{ "true", 1 }, { "yes", 1 }, { "on", 1 }, { "1", 1 },
	{ "false", 0 }, { "no", 0 }, { "off", 0 }, { "0", 0 },
};

Test(config, bool_rows)
{
	char	text[128];
	size_t	i;

	for (i = 0; i < NROWS(bool_rows); i++) {
		snprintf(text, sizeof(text), "database=/d\ntrust_remote_user = %s\n"
		    "allow_team_creation = %s\n", bool_rows[i].val,
		    bool_rows[i].val);
		cr_assert_eq(parse(text), 0, "row %zu: %s", i, err);
		cr_expect_eq(cfg.trust_remote_user, bool_rows[i].v, "row %zu", i);
		cr_expect_eq(cfg.allow_team_creation, bool_rows[i].v, "row %zu", i);
	}
}

static const struct { const char *val; int lv; } level_rows[] = {
	{ "error", TCLOG_ERROR }, { "warn", TCLOG_WARN },
	{ "info", TCLOG_INFO }, { "debug", TCLOG_DEBUG },
};

Test(config, log_level_rows)
{
	char	text[128];
	size_t	i;

	for (i = 0; i < NROWS(level_rows); i++) {
		snprintf(text, sizeof(text), "database=/d\nlog_level = %s\n",
		    level_rows[i].val);
		cr_assert_eq(parse(text), 0, "row %zu: %s", i, err);
		cr_expect_eq(cfg.log_level, level_rows[i].lv, "row %zu", i);
	}
}

static const struct { const char *val, *out; } mount_rows[] = {
	{ "", "" }, { "/", "" }, { "//", "" }, { "/api", "/api" },
	{ "/api/", "/api" }, { "/a/b//", "/a/b" },
};

Test(config, mount_prefix_rows)
{
	char	text[128];
	size_t	i;

	for (i = 0; i < NROWS(mount_rows); i++) {
		snprintf(text, sizeof(text), "database=/d\nmount_prefix = %s\n",
		    mount_rows[i].val);
		cr_assert_eq(parse(text), 0, "row %zu: %s", i, err);
		cr_expect_str_eq(cfg.mount_prefix, mount_rows[i].out, "row %zu", i);
	}
}

Test(config, signing_key_default_follows_database)
{
	cr_assert_eq(parse("database = /db/\n"), 0, "%s", err);
	cr_expect_str_eq(cfg.signing_key_file, "/db/signing.key");
	cr_assert_eq(parse("signing_key_file = /k\ndatabase = /db\n"), 0, "%s",
	    err);
	cr_expect_str_eq(cfg.signing_key_file, "/k");
}

/* --- lists and repeatable keys --- */

Test(config, permission_lists)
{
	cr_assert_eq(parse("database=/d\n"
	    "user_permissions =   tools.read\t prompts.read  tools.read\n"
	    "team_member_permissions =\n"
	    "team_owner_permissions = *\n"), 0, "%s", err);
	cr_assert_eq(cfg.user_permissions.n, 2);       /* duplicate dropped */
	cr_expect_str_eq(cfg.user_permissions.v[0], "tools.read");
	cr_expect_str_eq(cfg.user_permissions.v[1], "prompts.read");
	cr_expect_eq(cfg.team_member_permissions.n, 0); /* empty set allowed */
	cr_assert_eq(cfg.team_owner_permissions.n, 1);
	cr_expect_str_eq(cfg.team_owner_permissions.v[0], "*");
}

Test(config, trusted_proxies_repeatable)
{
	cr_assert_eq(parse("database=/d\n"
	    "trusted_proxies = 10.0.0.0/8 192.168.1.1, ::1\n"
	    "trusted_proxies = 2001:db8::/32,172.16.0.0/12\n"), 0, "%s", err);
	cr_assert_eq(cfg.ntrusted_proxies, 5);
	cr_expect_eq(cfg.trusted_proxies[0].family, 4);
	cr_expect_eq(cfg.trusted_proxies[0].prefix, 8);
	cr_expect_eq(cfg.trusted_proxies[0].addr[0], 10);
	cr_expect_eq(cfg.trusted_proxies[1].prefix, 32);
	cr_expect_eq(cfg.trusted_proxies[1].addr[3], 1);
	cr_expect_eq(cfg.trusted_proxies[2].family, 6);
	cr_expect_eq(cfg.trusted_proxies[2].prefix, 128);
	cr_expect_eq(cfg.trusted_proxies[3].family, 6);
	cr_expect_eq(cfg.trusted_proxies[3].prefix, 32);
	cr_expect_eq(cfg.trusted_proxies[4].prefix, 12);
}

Test(config, rules_repeatable)
{
	cr_assert_eq(parse("database=/d\n"
	    "rule = GET /files/ files.read\n"
	    "rule =\t*   /admin   admin.*\n"
	    "rule = PROPFIND /dav dav:read\n"), 0, "%s", err);
	cr_assert_eq(cfg.nrules, 3);
	cr_expect_str_eq(cfg.rules[0].method, "GET");
	cr_expect_str_eq(cfg.rules[0].prefix, "/files/");
	cr_expect_str_eq(cfg.rules[0].perm, "files.read");
	cr_expect_str_eq(cfg.rules[1].method, "*");
	cr_expect_str_eq(cfg.rules[1].prefix, "/admin");
	cr_expect_str_eq(cfg.rules[1].perm, "admin.*");
	cr_expect_str_eq(cfg.rules[2].method, "PROPFIND");
	cr_expect_str_eq(cfg.rules[2].perm, "dav:read");
}

Test(config, rule_method_of_15_letters)
{
	cr_assert_eq(parse("database=/d\nrule = ABCDEFGHIJKLMNO / a.b\n"), 0,
	    "%s", err);
	cr_expect_str_eq(cfg.rules[0].method, "ABCDEFGHIJKLMNO");
}

Test(config, server_scope_allow_replaces_then_appends)
{
	cr_assert_eq(parse("database=/d\n"
	    "server_scope_allow = /auth/check\n"
	    "server_scope_allow = /mcp /tools/\n"
	    "server_scope_allow = /mcp\n"), 0, "%s", err);
	cr_assert_eq(cfg.server_scope_allow.n, 3);
	cr_expect_str_eq(cfg.server_scope_allow.v[0], "/auth/check");
	cr_expect_str_eq(cfg.server_scope_allow.v[1], "/mcp");
	cr_expect_str_eq(cfg.server_scope_allow.v[2], "/tools/");
	cr_expect_eq(strlist_has(&cfg.server_scope_allow, "/health"), 0);
}

/* --- syntax: comments, blanks, spacing --- */

static const struct { const char *text, *issuer; } syntax_rows[] = {
	{ "issuer = a#b\n", "a#b" },
	{ "issuer = a #b\n", "a" },
	{ "issuer = a\t# comment\n", "a" },
	{ "issuer=a\n", "a" },
	{ "  issuer\t=\t a b  \n", "a b" },
	{ "issuer = a=b\n", "a=b" },
	{ "issuer = x\r\n", "x" },
	{ "issuer = x", "x" },                          /* no final newline */
	{ "# issuer = no\nissuer = yes\n", "yes" },
	{ "   # indented = comment\nissuer = y\n", "y" },
	{ "\n\n \t \nissuer = z\n\n", "z" },
	{ "#\nissuer = a#b #c # d\n", "a#b" },
};

Test(config, syntax_rows)
{
	char	text[256];
	size_t	i;

	for (i = 0; i < NROWS(syntax_rows); i++) {
		snprintf(text, sizeof(text), "database = /d\n%s",
		    syntax_rows[i].text);
		cr_assert_eq(parse(text), 0, "row %zu: %s", i, err);
		cr_expect_str_eq(cfg.issuer, syntax_rows[i].issuer, "row %zu", i);
	}
}

/* --- every error, with its exact sentence --- */

static const struct { const char *text, *err; } bad_rows[] = {
	/* structure */
	{ "database = /d\nmapszie = 5\n",
	  "tokencat.conf:2: unknown key \"mapszie\"" },
	{ "Database = /d\n", "tokencat.conf:1: unknown key \"Database\"" },
	{ "\n\n# x\n\n\n\ndatabase /d\n", "tokencat.conf:7: line has no '='" },
	{ "database\n", "tokencat.conf:1: line has no '='" },
	{ "database # = /d\n", "tokencat.conf:1: line has no '='" },
	{ " = /d\n", "tokencat.conf:1: line has no key before '='" },
	{ "database = /a\ndatabase = /b\n",
	  "tokencat.conf:2: key \"database\" given twice (first on line 1)" },
	{ "database=/d\nlog_level = info\n\nlog_level = info\n",
	  "tokencat.conf:4: key \"log_level\" given twice (first on line 2)" },
	{ "database=/d\nuser_permissions = a.b\nuser_permissions = c.d\n",
	  "tokencat.conf:3: key \"user_permissions\" given twice (first on line 2)" },
	{ "", "tokencat.conf: missing required key \"database\"" },
	{ "# nothing\nissuer = x\n",
	  "tokencat.conf: missing required key \"database\"" },
	/* strings */
	{ "database =\n", "tokencat.conf:1: bad value for \"database\": must not be empty" },
	{ "database = /d\nissuer = # c\n",
	  "tokencat.conf:2: bad value for \"issuer\": must not be empty" },
	{ "database = /d\naudience =\n",
	  "tokencat.conf:2: bad value for \"audience\": must not be empty" },
	{ "database = /d\nsigning_key_file =\n",
	  "tokencat.conf:2: bad value for \"signing_key_file\": must not be empty" },
	/* numbers */
	{ "database = /d\n\n# c\nsession_minutes = 0\n",
	  "tokencat.conf:4: bad value for \"session_minutes\": must be an integer from 1 to 525600" },
	{ "session_minutes = 525601\n",
	  "tokencat.conf:1: bad value for \"session_minutes\": must be an integer from 1 to 525600" },
	{ "session_minutes = -1\n",
	  "tokencat.conf:1: bad value for \"session_minutes\": must be an integer from 1 to 525600" },
	{ "session_minutes = +5\n",
	  "tokencat.conf:1: bad value for \"session_minutes\": must be an integer from 1 to 525600" },
	{ "session_minutes = 5 min\n",
	  "tokencat.conf:1: bad value for \"session_minutes\": must be an integer from 1 to 525600" },
	{ "session_minutes =\n",
	  "tokencat.conf:1: bad value for \"session_minutes\": must be an integer from 1 to 525600" },
	{ "session_minutes = 0x10\n",
	  "tokencat.conf:1: bad value for \"session_minutes\": must be an integer from 1 to 525600" },
	{ "session_minutes = 18446744073709551617\n",
	  "tokencat.conf:1: bad value for \"session_minutes\": must be an integer from 1 to 525600" },
	{ "max_token_days = 0\n",
	  "tokencat.conf:1: bad value for \"max_token_days\": must be an integer from 1 to 36500" },
	{ "max_token_days = 36501\n",
	  "tokencat.conf:1: bad value for \"max_token_days\": must be an integer from 1 to 36500" },
	{ "login_max_failures = 0\n",
	  "tokencat.conf:1: bad value for \"login_max_failures\": must be an integer from 1 to 1000" },
	{ "login_max_failures = 1001\n",
	  "tokencat.conf:1: bad value for \"login_max_failures\": must be an integer from 1 to 1000" },
	{ "login_lockout_minutes = 0\n",
	  "tokencat.conf:1: bad value for \"login_lockout_minutes\": must be an integer from 1 to 10080" },
	{ "login_lockout_minutes = 10081\n",
	  "tokencat.conf:1: bad value for \"login_lockout_minutes\": must be an integer from 1 to 10080" },
	{ "max_body_bytes = 1023\n",
	  "tokencat.conf:1: bad value for \"max_body_bytes\": must be an integer from 1024 to 16777216" },
	{ "max_body_bytes = 16777217\n",
	  "tokencat.conf:1: bad value for \"max_body_bytes\": must be an integer from 1024 to 16777216" },
	{ "map_size_mb = 0\n",
	  "tokencat.conf:1: bad value for \"map_size_mb\": must be an integer from 1 to 1048576" },
	{ "map_size_mb = 1048577\n",
	  "tokencat.conf:1: bad value for \"map_size_mb\": must be an integer from 1 to 1048576" },
	/* booleans */
	{ "require_token_expiration = maybe\n",
	  "tokencat.conf:1: bad value for \"require_token_expiration\": must be true or false (or yes/no, on/off, 1/0)" },
	{ "trust_remote_user = TRUE\n",
	  "tokencat.conf:1: bad value for \"trust_remote_user\": must be true or false (or yes/no, on/off, 1/0)" },
	{ "allow_team_creation =\n",
	  "tokencat.conf:1: bad value for \"allow_team_creation\": must be true or false (or yes/no, on/off, 1/0)" },
	{ "allow_team_creation = 2\n",
	  "tokencat.conf:1: bad value for \"allow_team_creation\": must be true or false (or yes/no, on/off, 1/0)" },
	{ "sandbox = disabled\n",
	  "tokencat.conf:1: bad value for \"sandbox\": must be true or false (or yes/no, on/off, 1/0)" },
	/* permission lists */
	{ "user_permissions = servers.read bad!perm\n",
	  "tokencat.conf:1: bad value for \"user_permissions\": \"bad!perm\" is not a permission" },
	{ "team_member_permissions = teams\n",
	  "tokencat.conf:1: bad value for \"team_member_permissions\": \"teams\" is not a permission" },
	{ "team_owner_permissions = teams.read,teams.manage\n",
	  "tokencat.conf:1: bad value for \"team_owner_permissions\": \"teams.read,teams.manage\" is not a permission" },
	/* addresses */
	{ "trusted_proxies = 10.0.0.0/8, 999.1.1.1\n",
	  "tokencat.conf:1: bad value for \"trusted_proxies\": \"999.1.1.1\" is not an IP address or CIDR" },
	{ "trusted_proxies = 10.0.0.0/33\n",
	  "tokencat.conf:1: bad value for \"trusted_proxies\": \"10.0.0.0/33\" is not an IP address or CIDR" },
	{ "trusted_proxies = localhost\n",
	  "tokencat.conf:1: bad value for \"trusted_proxies\": \"localhost\" is not an IP address or CIDR" },
	{ "trusted_proxies = ,\n",
	  "tokencat.conf:1: bad value for \"trusted_proxies\": must list IP addresses or CIDRs" },
	/* rules */
	{ "rule = GET /x\n",
	  "tokencat.conf:1: bad value for \"rule\": must be METHOD PATH-PREFIX PERMISSION" },
	{ "rule = GET /x a.b c.d\n",
	  "tokencat.conf:1: bad value for \"rule\": must be METHOD PATH-PREFIX PERMISSION" },
	{ "rule =\n",
	  "tokencat.conf:1: bad value for \"rule\": must be METHOD PATH-PREFIX PERMISSION" },
	{ "rule = get /x a.b\n",
	  "tokencat.conf:1: bad value for \"rule\": method \"get\" must be * or an uppercase HTTP method" },
	{ "rule = ABCDEFGHIJKLMNOP /x a.b\n",
	  "tokencat.conf:1: bad value for \"rule\": method \"ABCDEFGHIJKLMNOP\" must be * or an uppercase HTTP method" },
	{ "rule = G3T /x a.b\n",
	  "tokencat.conf:1: bad value for \"rule\": method \"G3T\" must be * or an uppercase HTTP method" },
	{ "rule = ** /x a.b\n",
	  "tokencat.conf:1: bad value for \"rule\": method \"**\" must be * or an uppercase HTTP method" },
	{ "rule = GET x a.b\n",
	  "tokencat.conf:1: bad value for \"rule\": path prefix \"x\" must start with '/'" },
	{ "rule = GET /x tools\n",
	  "tokencat.conf:1: bad value for \"rule\": \"tools\" is not a permission" },
	{ "database=/d\nrule = GET /a a.b\nrule = GET /b 1.x\n",
	  "tokencat.conf:3: bad value for \"rule\": \"1.x\" is not a permission" },
	/* server_scope_allow */
	{ "server_scope_allow = health\n",
	  "tokencat.conf:1: bad value for \"server_scope_allow\": path prefix \"health\" must start with '/'" },
	{ "server_scope_allow = /a b\n",
	  "tokencat.conf:1: bad value for \"server_scope_allow\": path prefix \"b\" must start with '/'" },
	{ "server_scope_allow =\n",
	  "tokencat.conf:1: bad value for \"server_scope_allow\": must list path prefixes starting with '/'" },
	/* log_level, mount_prefix */
	{ "log_level = verbose\n",
	  "tokencat.conf:1: bad value for \"log_level\": must be error, warn, info or debug" },
	{ "log_level = INFO\n",
	  "tokencat.conf:1: bad value for \"log_level\": must be error, warn, info or debug" },
	{ "mount_prefix = api\n",
	  "tokencat.conf:1: bad value for \"mount_prefix\": must be empty or a path starting with '/'" },
	{ "mount_prefix = /a b\n",
	  "tokencat.conf:1: bad value for \"mount_prefix\": must be empty or a path starting with '/'" },
};

Test(config, bad_rows)
{
	size_t	i;

	for (i = 0; i < NROWS(bad_rows); i++) {
		cr_expect_eq(parse(bad_rows[i].text), -1, "row %zu", i);
		cr_expect_str_eq(err, bad_rows[i].err, "row %zu", i);
	}
}

Test(config, nul_byte_names_its_line)
{
	static const char text[] = "database = /d\n\nissuer = x\0y\n";

	config_init(&cfg);
	cr_expect_eq(config_parse(&cfg, text, sizeof(text) - 1, FNAME, err), -1);
	cr_expect_str_eq(err, "tokencat.conf:3: line contains a NUL byte");
}

Test(config, only_len_bytes_are_read)
{
	static const char text[] = "database = /d\nbogus = 1\n";

	config_init(&cfg);
	cr_expect_eq(config_parse(&cfg, text, 14, FNAME, err), 0, "%s", err);
	cr_expect_str_eq(cfg.database, "/d");
}

/* --- files and the path --- */

static char	tmpdir[64];

/* Write text into tmpdir/name; returns the path (static buffer). */
static const char *
write_file(const char *name, const char *text, size_t len)
{
	static char	path[128];
	int		fd;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static void
files_setup(void)
{
	strcpy(tmpdir, "/tmp/tc-test-config.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void
files_teardown(void)
{
	char	cmd[128];

	config_free(&cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	cr_expect_eq(system(cmd), 0);
}

Test(config_files, load_good_and_bad, .init = files_setup,
    .fini = files_teardown)
{
	const char	*path;
	char		 expect[CONFIG_ERR_MAX], *big;

	path = write_file("ok.conf", "database = /d\nmap_size_mb = 8\n", 30);
	config_init(&cfg);
	cr_assert_eq(config_load(&cfg, path, err), 0, "%s", err);
	cr_expect_eq(cfg.map_size_mb, 8);
	config_free(&cfg);

	path = write_file("bad.conf", "database = /d\nmapszie = 8\n", 26);
	config_init(&cfg);
	cr_expect_eq(config_load(&cfg, path, err), -1);
	snprintf(expect, sizeof(expect), "%s:2: unknown key \"mapszie\"", path);
	cr_expect_str_eq(err, expect);
	config_free(&cfg);

	snprintf(expect, sizeof(expect), "%s/missing.conf", tmpdir);
	config_init(&cfg);
	cr_expect_eq(config_load(&cfg, expect, err), -1);
	snprintf(expect, sizeof(expect), "cannot read %s/missing.conf: "
	    "No such file or directory", tmpdir);
	cr_expect_str_eq(err, expect);
	config_free(&cfg);

	big = malloc(1024 * 1024 + 1);
	cr_assert_not_null(big);
	memset(big, '#', 1024 * 1024 + 1);
	path = write_file("big.conf", big, 1024 * 1024 + 1);
	config_init(&cfg);
	cr_expect_eq(config_load(&cfg, path, err), -1);
	snprintf(expect, sizeof(expect), "cannot read %s: file is larger than 1 MiB",
	    path);
	cr_expect_str_eq(err, expect);
	config_free(&cfg);

	memcpy(big + 1024 * 1024 - 15, "\ndatabase = /d\n", 15);
	path = write_file("max.conf", big, 1024 * 1024);        /* exactly 1 MiB */
	config_init(&cfg);
	cr_expect_eq(config_load(&cfg, path, err), 0, "%s", err);
	cr_expect_str_eq(cfg.database, "/d");
	free(big);
}

Test(config_files, missing_file_message)
{
	config_init(&cfg);
	cr_expect_eq(config_load(&cfg, "/nonexistent/tokencat.conf", err), -1);
	cr_expect_str_eq(err, "cannot read /nonexistent/tokencat.conf: "
	    "No such file or directory");
	config_free(&cfg);
}

Test(config_files, config_path_order)
{
	const char	*p;
	size_t		 n;

	cr_assert_eq(unsetenv("TOKENCAT_CONFIG"), 0);
	p = config_path(NULL);
	n = strlen(p);
	cr_expect(p[0] == '/' && n > 14 &&
	    strcmp(p + n - 14, "/tokencat.conf") == 0, "%s", p);
#ifdef SYSCONFDIR
	cr_expect_str_eq(p, SYSCONFDIR "/tokencat.conf");
#endif
	cr_expect_str_eq(config_path(""), p);
	cr_assert_eq(setenv("TOKENCAT_CONFIG", "/env/tc.conf", 1), 0);
	cr_expect_str_eq(config_path(NULL), "/env/tc.conf");
	cr_expect_str_eq(config_path("/arg/tc.conf"), "/arg/tc.conf");
	cr_assert_eq(setenv("TOKENCAT_CONFIG", "", 1), 0);
	cr_expect_str_eq(config_path(NULL), p);
	unsetenv("TOKENCAT_CONFIG");
}

Test(config, postgresql_needs_signing_key_file)
{
	char shown[256];

	cr_assert_eq(parse("database = postgresql://tc@db/tc\n"), -1);
	cr_expect(strstr(err, "signing_key_file") != NULL, "%s", err);
	cr_assert_eq(parse("database = postgres://tc@db/tc\n"), -1);
	cr_assert_eq(parse("database = postgresql://tc@db/tc\n"
	    "signing_key_file = /etc/tokencat/signing.key\n"), 0, "%s", err);
	cr_expect(store_is_pg(cfg.database));
	cr_expect_str_eq(cfg.signing_key_file, "/etc/tokencat/signing.key");
	/* a path, even one that says postgresql, is LMDB's */
	cr_assert_eq(parse("database = /var/lib/postgresql://x\n"), 0, "%s", err);
	cr_expect(!store_is_pg(cfg.database));
	/* a URI's password is never shown */
	store_display("postgresql://tc:s3cret@db.example.com:5432/tc?sslmode=require",
	    shown, sizeof(shown));
	cr_expect_str_eq(shown, "postgresql://tc@db.example.com:5432/tc?sslmode=require");
	store_display("postgres://tc@db/tc", shown, sizeof(shown));
	cr_expect_str_eq(shown, "postgres://tc@db/tc");
	store_display("/var/lib/tokencat", shown, sizeof(shown));
	cr_expect_str_eq(shown, "/var/lib/tokencat");
}
