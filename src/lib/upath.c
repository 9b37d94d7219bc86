/*
 * upath.c - request paths in their one canonical form (see upath.h):
 * decoded once, dot segments resolved (RFC 3986 5.2.4), "//" collapsed,
 * and whatever could change meaning under a second decoding refused.
 */
#include <stdlib.h>
#include <string.h>

#include "upath.h"
#include "util.h"

/* The byte of the escape "%XX" at s (s[0] == '%', 3 bytes readable), or -1. */
static int
escape_at(const char *s, size_t left)
{
	int	hi, lo;

	if (left < 3 || (hi = util_hexval(s[1])) < 0 ||
	    (lo = util_hexval(s[2])) < 0)
		return -1;
	return hi << 4 | lo;
}

/*
 * One decoding pass of s[0..n) into out (n + 1 bytes). Returns 0, or -1
 * with *why for a malformed escape or an encoded '/', '\' or NUL.
 */
static int
decode_once(const char *s, size_t n, char *out, const char **why)
{
	size_t	i, o = 0;
	int	c;

	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if ((c = escape_at(s + i, n - i)) < 0) {
			*why = "malformed percent-encoding";
			return -1;
		}
		if (c == '/' || c == '\\') {
			*why = "encoded slash";
			return -1;
		}
		if (c == 0) {
			*why = "encoded NUL";
			return -1;
		}
		out[o++] = (char)c;
		i += 2;
	}
	out[o] = '\0';
	return 0;
}

/*
 * 1 if the segment s[0..n) would be "." or ".." after one more decoding
 * pass, i.e. it is made of '.' and "%2e" only and holds at least one
 * escape (a plain "." or ".." is resolved, not refused).
 */
static int
encoded_dot_segment(const char *s, size_t n)
{
	size_t	i, dots = 0, escapes = 0;

	for (i = 0; i < n; i++, dots++) {
		if (s[i] == '.')
			continue;
		if (escape_at(s + i, n - i) != '.')
			return 0;
		escapes++;
		i += 2;
	}
	return escapes > 0 && dots <= 2;
}

/*
 * After the decoding pass: refuse a NUL (PATH_INFO cannot hold one, but a
 * decoded one can), an escape that would decode to '/', '\' or NUL, and an
 * encoded dot segment. Returns 0 or -1 with *why.
 */
static int
still_encoded(const char *p, const char **why)
{
	const char	*seg, *q;
	size_t		 n;
	int		 c;

	for (q = p; *q != '\0'; q++)
		if (*q == '%' && ((c = escape_at(q, strlen(q))) == '/' ||
		    c == '\\' || c == 0)) {
			*why = c == 0 ? "encoded NUL" : "encoded slash";
			return -1;
		}
	for (seg = p; *seg != '\0'; seg += n) {
		seg += *seg == '/';
		n = strcspn(seg, "/");
		if (encoded_dot_segment(seg, n)) {
			*why = "encoded dot segment";
			return -1;
		}
	}
	return 0;
}

/*
 * Remove dot segments and empty segments of the decoded path in (which
 * starts with '/') into out (strlen(in) + 1 bytes). Returns 0, or -1 with
 * *why when ".." would climb above the root.
 */
static int
resolve(const char *in, char *out, const char **why)
{
	const char	*seg = in;
	size_t		 o = 0, n;
	int		 trailing = 0;

	for (;;) {
		while (*seg == '/')
			seg++;
		if ((n = strcspn(seg, "/")) == 0) {
			trailing |= seg > in && seg[-1] == '/';
			break;
		}
		trailing = 1;
		if (n == 2 && seg[0] == '.' && seg[1] == '.') {
			if (o == 0) {
				*why = "climbs above /";
				return -1;
			}
			while (out[--o] != '/')
				;
		} else if (!(n == 1 && seg[0] == '.')) {
			out[o++] = '/';
			memcpy(out + o, seg, n);
			o += n;
			trailing = 0;
		}
		seg += n;
	}
	if (o == 0 || trailing)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

int
upath_canon(const char *s, size_t n, enum upath_mode mode, char **out,
    const char **why)
{
	char	*dec = NULL, *res = NULL;

	*out = NULL;
	if (n == 0 || s[0] != '/') {
		*why = "not an absolute path";
		return -1;
	}
	if (memchr(s, '\0', n) != NULL) {
		*why = "NUL";
		return -1;
	}
	if ((dec = malloc(n + 1)) == NULL || (res = malloc(n + 2)) == NULL)
		goto nomem;
	if (mode == UPATH_RAW) {
		if (decode_once(s, n, dec, why) == -1 ||
		    still_encoded(dec, why) == -1)
			goto fail;
	} else {
		memcpy(dec, s, n);
		dec[n] = '\0';
	}
	if (resolve(dec, res, why) == -1)
		goto fail;
	free(dec);
	*out = res;
	return 0;
nomem:
	*why = "out of memory";
fail:
	free(dec);
	free(res);
	return -1;
}

char *
upath_show(const char *s, size_t n, char *buf, size_t bufsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t	i, o = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c > 0x20 && c < 0x7f) {
			if (o + 1 > bufsz - 4)
				break;
			buf[o++] = (char)c;
		} else {
			if (o + 3 > bufsz - 4)
				break;
			buf[o++] = '%';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		}
	}
	if (i < n) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o] = '\0';
	return buf;
}
