/*
 * config.h - the tokencat.conf file (OPERATIONS.md): "key = value" lines,
 * '#' comments, repeatable keys collect into lists. Parsed from a buffer by
 * a table of {name, type, min, max} rows; errors read
 *   tokencat.conf:12: unknown key "mapszie"
 */
#ifndef TC_CONFIG_H
#define TC_CONFIG_H

#include <stddef.h>
#include "util.h"
#include "scope.h"

struct rule {                   /* rule = METHOD PATH-PREFIX PERMISSION */
	char	 method[16];    /* "GET", ..., or "*" */
	char	*prefix;        /* starts with '/' */
	char	*perm;          /* a valid permission (scope.h) */
};

struct config {
	char		*database;              /* required */
	char		*signing_key_file;      /* default <database>/signing.key */
	char		*issuer;                /* "tokencat" */
	char		*audience;              /* "tokencat-api" */
	unsigned	 session_minutes;       /* 60, 1..525600 */
	int		 require_token_expiration; /* 1 */
	unsigned	 max_token_days;        /* 365, 1..36500 */
	char		*mount_prefix;          /* "" ; no trailing slash after parsing */
	struct ipnet	*trusted_proxies;       /* parsed addresses/CIDRs */
	size_t		 ntrusted_proxies;
	int		 trust_remote_user;     /* 0 */
	struct strlist	 user_permissions;      /* documented defaults */
	struct strlist	 team_member_permissions;
	struct strlist	 team_owner_permissions;
	struct rule	*rules;
	size_t		 nrules;
	struct strlist	 server_scope_allow;    /* default {"/health"} */
	int		 allow_team_creation;   /* 1 */
	unsigned	 login_max_failures;    /* 5, 1..1000 */
	unsigned	 login_lockout_minutes; /* 15, 1..10080 */
	size_t		 max_body_bytes;        /* 65536, 1024..16777216 */
	size_t		 map_size_mb;           /* 1024, 1..1048576 */
	int		 sandbox;               /* 1: the worker's seccomp filter */
	int		 log_level;             /* TCLOG_INFO */
};

#define CONFIG_ERR_MAX 512

/* Defaults for every key (database NULL). */
void	config_init(struct config *);
void	config_free(struct config *);
/*
 * Parse buf[0..len) named fname (used in messages) into c, which must come
 * from config_init(). Returns 0, or -1 with "fname:line: ..." in err.
 * Also fails when database is missing ("fname: missing required key \"database\"").
 */
int	config_parse(struct config *c, const char *buf, size_t len,
	    const char *fname, char *err);
/* Read the file at path and config_parse() it. Returns 0 or -1 with err set. */
int	config_load(struct config *c, const char *path, char *err);
/* The config file to use: arg (from -c) if set, else $TOKENCAT_CONFIG, else SYSCONFDIR "/tokencat.conf". */
const char *config_path(const char *arg);

#endif
