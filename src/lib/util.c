/*
 * util.c - small helpers shared by every layer: random ids, hex, SHA-256,
 * time stamps, strict number parsing, UTF-8, e-mail and form decoding.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "util.h"

/* Free every string of l and the array; l becomes empty. NULL-safe. */
void
strlist_free(struct strlist *l)
{
	size_t	i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Append a copy of s to l. Returns 0, or -1 when out of memory (l unchanged). */
int
strlist_add(struct strlist *l, const char *s)
{
	char	**nv, *dup;

	if ((dup = strdup(s)) == NULL)
		return -1;
	if ((nv = reallocarray(l->v, l->n + 1, sizeof(*nv))) == NULL) {
		free(dup);
		return -1;
	}
	nv[l->n++] = dup;
	l->v = nv;
	return 0;
}

/* 1 if l holds a string equal to s. */
int
strlist_has(const struct strlist *l, const char *s)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i], s) == 0)
			return 1;
	return 0;
}

/* Fill buf with n cryptographically strong random bytes. 0 or -1. */
int
util_random(void *buf, size_t n)
{
	if (n > INT_MAX)
		return -1;
	if (n == 0)
		return 0;
	return RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

/* Random RFC 4122 version 4 UUID, lowercase with dashes. 0 or -1. */
int
util_uuid4(char out[UUID_LEN + 1])
{
	unsigned char	b[16];
	char		hex[33];

	if (util_random(b, sizeof(b)) == -1)
		return -1;
	b[6] = (b[6] & 0x0f) | 0x40;    /* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;    /* variant 10xx */
	util_hex(b, sizeof(b), hex);
	memcpy(out, hex, 8);
	out[8] = '-';
	memcpy(out + 9, hex + 8, 4);
	out[13] = '-';
	memcpy(out + 14, hex + 12, 4);
	out[18] = '-';
	memcpy(out + 19, hex + 16, 4);
	out[23] = '-';
	memcpy(out + 24, hex + 20, 12);
	out[UUID_LEN] = '\0';
	return 0;
}

/*
 * RFC 9562 version 7 UUID: the Unix time in ms (48 bits, big-endian), the
 * version, then 74 random bits; lowercase with dashes. 0 or -1. Ids made
 * later sort after (by the ms), so an index keyed by them grows at its end.
 */
int
util_uuid7(char out[UUID_LEN + 1])
{
	uint64_t ms = (uint64_t)util_now_ms();
	unsigned char b[16];
	char hex[33];
	int i;

	if (util_random(b, sizeof(b)) == -1)
		return -1;
	for (i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (b[6] & 0x0f) | 0x70;    /* version 7 */
	b[8] = (b[8] & 0x3f) | 0x80;    /* variant 10xx */
	util_hex(b, sizeof(b), hex);
	snprintf(out, UUID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8,
	    hex + 12, hex + 16, hex + 20);
	return 0;
}

/* Random team id: 16 random bytes as 32 lowercase hex. 0 or -1. */
int
util_team_id(char out[TEAMID_LEN + 1])
{
	unsigned char	b[TEAMID_LEN / 2];

	if (util_random(b, sizeof(b)) == -1)
		return -1;
	util_hex(b, sizeof(b), out);
	return 0;
}

/* 1 if c is a lowercase hex digit. */
static int
is_lhex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* 1 if s is a lowercase UUID with version 4 and the RFC 4122 variant. */
int
util_is_uuid(const char *s)
{
	size_t	i;

	if (s == NULL || strlen(s) != UUID_LEN)
		return 0;
	for (i = 0; i < UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!is_lhex(s[i]))
			return 0;
	}
	return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

/* 1 if s is exactly 32 lowercase hex digits. */
int
util_is_team_id(const char *s)
{
	size_t	i;

	if (s == NULL)
		return 0;
	for (i = 0; i < TEAMID_LEN; i++)
		if (!is_lhex(s[i]))
			return 0;
	return s[TEAMID_LEN] == '\0';
}

/* Lowercase hex of in[0..n) into out (2n + 1 bytes, NUL-terminated). */
void
util_hex(const void *in, size_t n, char *out)
{
	static const char	 digits[] = "0123456789abcdef";
	const unsigned char	*p = in;
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* SHA-256 of data[0..n) as 64 lowercase hex digits. */
void
util_sha256_hex(const void *data, size_t n, char out[SHA256_HEX + 1])
{
	unsigned char	md[32];
	unsigned int	mdlen = 0;

	static EVP_MD *sha256;          /* fetched once: a fetch per call costs */

	if (sha256 == NULL && (sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		abort();
	if (EVP_Digest(data, n, md, &mdlen, sha256, NULL) != 1 ||
	    mdlen != sizeof(md)) {
		/* Cannot happen with a working libcrypto; never return junk. */
		abort();
	}
	util_hex(md, sizeof(md), out);
}

/* Constant-time comparison of two n-byte buffers. 1 if equal. */
int
util_ct_eq(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

/* Monotonic microseconds, for durations. */
int64_t
util_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Wall-clock milliseconds since the epoch. */
int64_t
util_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The n low decimal digits of v (0 <= v), zero-padded, at out. */
static void
put_digits(char *out, int64_t v, int n)
{
	while (n-- > 0) {
		out[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

/*
 * Format ms since the epoch as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) into out;
 * years 0 to 9999 by arithmetic, others through gmtime_r.
 */
void
util_time_fmt(int64_t ms, char out[TIME_LEN])
{
	int64_t		secs = ms / 1000, frac = ms % 1000, days, sod;
	int64_t		era, doe, yoe, doy, mp, y, m, d;
	time_t		t;
	struct tm	tm;
	size_t		n;

	if (frac < 0) {                 /* floor for times before 1970 */
		frac += 1000;
		secs--;
	}
	/* days to civil (H. Hinnant's algorithm): no libc calls on the hot path */
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	days += 719468;
	era = (days >= 0 ? days : days - 146096) / 146097;
	doe = days - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (m <= 2);
	if (y >= 0 && y <= 9999) {
		put_digits(out, y, 4);
		out[4] = '-';
		put_digits(out + 5, m, 2);
		out[7] = '-';
		put_digits(out + 8, d, 2);
		out[10] = 'T';
		put_digits(out + 11, sod / 3600, 2);
		out[13] = ':';
		put_digits(out + 14, sod / 60 % 60, 2);
		out[16] = ':';
		put_digits(out + 17, sod % 60, 2);
		out[19] = '.';
		put_digits(out + 20, frac, 3);
		out[23] = 'Z';
		out[24] = '\0';
		return;
	}
	t = (time_t)secs;
	if (gmtime_r(&t, &tm) == NULL) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_mday = 1;
		tm.tm_year = 70;
		frac = 0;
	}
	n = strftime(out, TIME_LEN - 6, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, TIME_LEN - n, ".%03dZ", (int)frac);
}

/* Read exactly n decimal digits at *pp into *v and advance. 0 or -1. */
static int
digits(const char **pp, int n, int *v)
{
	const char	*p = *pp;
	int		 i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		*v = *v * 10 + (p[i] - '0');
	}
	*pp = p + n;
	return 0;
}

/* Number of days in month mon (1..12) of year y. */
static int
month_days(int y, int mon)
{
	static const int	dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30,
				    31, 30, 31};

	if (mon == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[mon - 1];
}

/* Parse the date-time part of RFC 3339 ("YYYY-MM-DDTHH:MM:SS") into tm. */
static int
parse_datetime(const char **pp, struct tm *tm)
{
	const char	*p = *pp;
	int		 y, mo, d, h, mi, s;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
		return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) ||
	    *p++ != ':' || digits(&p, 2, &s))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) ||
	    h > 23 || mi > 59 || s > 60)
		return -1;
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = y - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	tm->tm_hour = h;
	tm->tm_min = mi;
	tm->tm_sec = s;
	*pp = p;
	return 0;
}

/*
 * Parse RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" into ms
 * since the epoch. Fraction digits beyond milliseconds are truncated.
 * Returns 0, or -1 for anything malformed.
 */
int
util_time_parse(const char *s, int64_t *ms)
{
	const char	*p = s;
	struct tm	 tm;
	int		 frac = 0, nfrac = 0, oh, om, sign;
	int64_t		 off = 0;
	time_t		 t;

	if (s == NULL || parse_datetime(&p, &tm) == -1)
		return -1;
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, nfrac++)
			if (nfrac < 3)
				frac = frac * 10 + (*p - '0');
		if (nfrac == 0)
			return -1;
		for (; nfrac < 3; nfrac++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
		off = sign * (int64_t)(oh * 3600 + om * 60);
	} else
		return -1;
	if (*p != '\0')
		return -1;
	if ((t = timegm(&tm)) == (time_t)-1 && tm.tm_year != 69)
		return -1;
	*ms = ((int64_t)t - off) * 1000 + frac;
	return 0;
}

/*
 * Parse all of s as a decimal number in [min, max]: digits only (leading
 * zeros allowed), no sign, no blanks, no overflow. 0 with *out set, or -1.
 */
int
util_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0;
	unsigned	d;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/*
 * Length of the UTF-8 sequence starting at s[0..n), or 0 if it is invalid
 * (bad lead byte, truncated, bad continuation, overlong, surrogate, > U+10FFFF).
 */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t		len, i;
	uint32_t	cp;

	if (s[0] < 0x80)
		return s[0] != 0;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* 1 if s[0..n) is valid UTF-8 without NUL, overlongs or surrogates. */
int
util_utf8_valid(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, len;

	while (i < n) {
		if ((len = utf8_seq(p + i, n - i)) == 0)
			return 0;
		i += len;
	}
	return 1;
}

/* Number of code points of a valid UTF-8 string (bytes that are not continuations). */
size_t
util_utf8_len(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* 1 if c may appear in the local part of an address. */
static int
email_local_ok(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("\"<>,;()\\@", c) == NULL;
}

/* 1 if d[0..n) is dot-separated labels of [A-Za-z0-9-], no '-' at label edges. */
static int
email_domain_ok(const char *d, size_t n)
{
	size_t	i, start = 0;

	for (i = 0; i <= n; i++) {
		if (i == n || d[i] == '.') {
			if (i == start || i - start > 63 || d[start] == '-' ||
			    d[i - 1] == '-')
				return 0;
			start = i + 1;
		} else if (!isalnum((unsigned char)d[i]) && d[i] != '-')
			return 0;
	}
	return 1;
}

/* 1 if s looks like local@domain (see util.h). */
int
util_email_valid(const char *s)
{
	const char	*at;
	size_t		 len, i;

	if (s == NULL || (len = strlen(s)) == 0 || len > EMAIL_MAX)
		return 0;
	if ((at = strchr(s, '@')) == NULL || at == s)
		return 0;
	for (i = 0; s + i < at; i++)
		if (!email_local_ok((unsigned char)s[i]))
			return 0;
	return email_domain_ok(at + 1, len - (size_t)(at + 1 - s));
}

/* ASCII-lowercase copy of s into out[outsz], always NUL-terminated when outsz > 0. */
char *
util_lower(const char *s, char *out, size_t outsz)
{
	size_t	i;

	if (outsz == 0)
		return out;
	for (i = 0; s[i] != '\0' && i + 1 < outsz; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[i] = '\0';
	return out;
}

/* 1 if a and b are equal ignoring ASCII case. */
int
util_ieq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

/* Value 0..15 of hex digit c (either case), or -1. */
int
util_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode s[0..n) ('+' is a space, %XX a byte) into a new string the caller
 * frees. NULL for a malformed escape, a NUL byte (raw or %00), or ENOMEM.
 */
char *
util_urldecode(const char *s, size_t n)
{
	char	*out, *q;
	size_t	 i;
	int	 hi, lo;

	if (n == SIZE_MAX || (out = malloc(n + 1)) == NULL)
		return NULL;
	for (i = 0, q = out; i < n; i++) {
		if (s[i] == '+')
			*q++ = ' ';
		else if (s[i] == '%') {
			if (n - i < 3 || (hi = util_hexval(s[i + 1])) < 0 ||
			    (lo = util_hexval(s[i + 2])) < 0 || (hi | lo) == 0)
				goto bad;
			*q++ = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '\0')
			goto bad;
		else
			*q++ = s[i];
	}
	*q = '\0';
	return out;
bad:
	free(out);
	return NULL;
}

/*
 * Look up key in the form string qs ("a=1&b=2"). The first pair whose
 * decoded name equals key wins; a pair without '=' has the empty value.
 * Returns the decoded value (caller frees) or NULL; *bad = 1 when the
 * value is present but cannot be decoded.
 */
char *
util_form_get(const char *qs, const char *key, int *bad)
{
	const char	*p, *end, *eq;
	char		*name, *val;
	size_t		 klen;
	int		 match;

	*bad = 0;
	for (p = qs; p != NULL && *p != '\0'; p = *end ? end + 1 : end) {
		end = p + strcspn(p, "&");
		eq = memchr(p, '=', (size_t)(end - p));
		klen = (size_t)((eq != NULL ? eq : end) - p);
		if ((name = util_urldecode(p, klen)) == NULL)
			continue;
		match = strcmp(name, key) == 0;
		free(name);
		if (!match)
			continue;
		if (eq == NULL)
			val = strdup("");
		else if ((val = util_urldecode(eq + 1,
		    (size_t)(end - eq - 1))) == NULL)
			*bad = 1;
		return val;
	}
	return NULL;
}
