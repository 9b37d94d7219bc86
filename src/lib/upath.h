/*
 * upath.h - the one canonical form of a request path, made before anything
 * is matched against it (API.md 1 and 7): the router, the rule table,
 * server_id and server_scope_allow all see only what upath_canon() wrote.
 *
 * Canonical: starts with '/', no "//", no "." or ".." segment, no NUL, no
 * percent-encoding left of a slash, NUL or dot segment. Prefixes are then
 * matched by whole segments (decide_path_under).
 */
#ifndef TC_UPATH_H
#define TC_UPATH_H

#include <stddef.h>

enum upath_mode {
	UPATH_RAW = 0,          /* a URI path as sent (REQUEST_URI, X-Original-URI):
	                         * percent-decoded once here */
	UPATH_DECODED = 1       /* already decoded by the web server (PATH_INFO,
	                         * RFC 3875 4.1.5): not decoded again */
};

/*
 * Canonicalize the path s[0..n) (no query, no fragment) into a new string
 * *out (malloc'd, caller frees):
 *  1. in UPATH_RAW mode, decode every %XX once; a malformed escape, an
 *     encoded '/' or '\' (%2F, %5C) or a NUL (%00) is refused;
 *  2. refuse what is still encoded after that one pass: a '%XX' that would
 *     decode to '/', '\', NUL or '.' (a double encoding such as %252e);
 *  3. collapse runs of '/';
 *  4. remove "." segments and resolve ".." segments (RFC 3986 5.2.4); a
 *     ".." above the root is refused, not clamped.
 * A trailing '/' is kept ("/a/" stays "/a/"; "/a/." becomes "/a/").
 * Returns 0, or -1 with *why set to a static phrase such as "encoded
 * slash" (for a detail naming the path) and *out NULL. ENOMEM: -1 with
 * *why "out of memory".
 */
int	upath_canon(const char *s, size_t n, enum upath_mode mode, char **out,
	    const char **why);

/*
 * A path for a message or log line: s[0..n) with every byte outside
 * printable ASCII (space included) written as %XX, cut at bufsz - 4 bytes
 * with "..." after. Returns buf (always NUL-terminated; bufsz >= 4).
 */
char	*upath_show(const char *s, size_t n, char *buf, size_t bufsz);

#endif
