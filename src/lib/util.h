/*
 * util.h - small helpers shared by every layer: random ids, hex, SHA-256,
 * time stamps, strict number parsing, UTF-8 and e-mail checks.
 * Nothing here allocates unless the comment says so.
 */
#ifndef TC_UTIL_H
#define TC_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define UUID_LEN    36          /* "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx" */
#define TEAMID_LEN  32          /* 32 lowercase hex */
#define SHA256_HEX  64
#define TIME_LEN    32          /* buffer size for util_time_fmt() */
#define EMAIL_MAX   254

struct strlist {                /* a growable list of owned strings */
	char	**v;
	size_t	  n;
};

void	 strlist_free(struct strlist *);
int	 strlist_add(struct strlist *, const char *);   /* copies; -1 on ENOMEM */
int	 strlist_has(const struct strlist *, const char *);

/* Fill buf with n bytes from RAND_bytes. Returns 0, or -1 (caller must fail the request). */
int	 util_random(void *buf, size_t n);
/* Random UUID v4, lowercase with dashes, NUL-terminated (37 bytes). Returns 0 or -1. */
int	 util_uuid4(char out[UUID_LEN + 1]);
/* Time-ordered UUID v7 (RFC 9562): ms since the epoch, then random. */
int	 util_uuid7(char out[UUID_LEN + 1]);
/* Random team id: 16 random bytes as 32 lowercase hex (33 bytes). Returns 0 or -1. */
int	 util_team_id(char out[TEAMID_LEN + 1]);
int	 util_is_uuid(const char *);     /* 1 if lowercase UUID v4 with dashes */
int	 util_is_team_id(const char *);  /* 1 if exactly 32 lowercase hex digits */
/* Value 0..15 of the hex digit c (either case), or -1. */
int	 util_hexval(char c);
/* Lowercase hex of n bytes into out (2n+1 bytes). */
void	 util_hex(const void *in, size_t n, char *out);
/* SHA-256 of data as 64 lowercase hex (65 bytes). */
void	 util_sha256_hex(const void *data, size_t n, char out[SHA256_HEX + 1]);
/* Constant-time equality of two n-byte buffers (CRYPTO_memcmp). 1 if equal. */
int	 util_ct_eq(const void *, const void *, size_t n);

/* The monotonic clock in microseconds (CLOCK_MONOTONIC): durations. */
int64_t	 util_mono_us(void);
/* Wall clock in milliseconds since the epoch (CLOCK_REALTIME). */
int64_t	 util_now_ms(void);
/* RFC 3339 UTC with millisecond fraction and Z: "2026-11-22T08:42:41.123Z". */
void	 util_time_fmt(int64_t ms, char out[TIME_LEN]);
/* Parse RFC 3339 (Z or +hh:mm offset, optional fraction) into ms. 0 ok, -1 bad. */
int	 util_time_parse(const char *, int64_t *ms);

/*
 * Parse a whole decimal string into [min, max]: no sign, no spaces, no
 * trailing junk, no overflow. Returns 0 and sets *out, or -1.
 * The one way numbers from the network or the config are parsed.
 */
int	 util_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* 1 if s[0..n) is valid UTF-8 with no NUL and no overlong forms or surrogates. */
int	 util_utf8_valid(const char *s, size_t n);
/* Number of code points in a valid UTF-8 string. */
size_t	 util_utf8_len(const char *s);
/* 1 if s looks like an e-mail address: local@domain, <= 254 bytes, no spaces or controls,
 * domain has a dot-free or dotted label form of [A-Za-z0-9-.]. */
int	 util_email_valid(const char *s);
/* ASCII lowercase copy into out (outsz bytes, truncating safely). Returns out. */
char	*util_lower(const char *s, char *out, size_t outsz);
/* 1 if a and b are equal ignoring ASCII case. */
int	 util_ieq(const char *a, const char *b);

/* Percent-decode a query component (also '+' -> ' ') into a new malloc'd string.
 * Returns NULL for bad escapes or an embedded NUL (%00). Caller frees. */
char	*util_urldecode(const char *s, size_t n);
/*
 * Find key in an application/x-www-form-urlencoded string (query or body).
 * Returns a malloc'd decoded value (caller frees), NULL if absent, and sets
 * *bad = 1 when the value is present but undecodable.
 */
char	*util_form_get(const char *qs, const char *key, int *bad);

#endif
