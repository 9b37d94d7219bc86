/*
 * jws.c - signed JWTs through libjwt 1.10.2 with the checks libjwt leaves
 * to its caller: the header is read here first so that only "alg": "HS256"
 * (and "typ": "JWT" when present) ever reaches jwt_decode(), the algorithm
 * of the decoded token is required to be HS256 again, and the registered
 * claims sub, jti, iat, exp, iss, aud and token_use are required and checked.
 *
 * The signing key lives in a file of its own (see jws_key_create()).
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jwt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jws.h"
#include "util.h"

#define JWS_TOKEN_MAX   8192    /* longer tokens are refused unread */
#define JWS_KEY_MIN     32      /* bytes of key material at least */
#define JWS_KEY_RAND    32      /* random bytes in a new key file */
#define JWS_JSON_DEPTH  16      /* nesting allowed in the header */
#define JWS_ALG         "HS256"

/* snprintf into err when there is room for it. */
static void
seterr(char *err, size_t errsz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

/* Write all n bytes of buf to fd, retrying on EINTR. 0 or -1 with errno. */
static int
write_all(int fd, const char *buf, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = write(fd, buf, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Create a new key file at path: 32 random bytes as 64 lowercase hex digits
 * and a newline, mode 0600, created with O_EXCL so an existing file (or a
 * symbolic link) is never followed or overwritten. Returns 0, 1 when the
 * file already exists (untouched), or -1 with err set (a half-written file
 * is removed).
 */
int
jws_key_create(const char *path, char *err, size_t errsz)
{
	unsigned char	raw[JWS_KEY_RAND];
	char		hex[JWS_KEY_RAND * 2 + 2];
	int		fd = -1, rc = -1;

	if (util_random(raw, sizeof(raw)) == -1) {
		seterr(err, errsz, "%s: no random bytes (RAND_bytes failed)",
		    path);
		goto out;
	}
	util_hex(raw, sizeof(raw), hex);
	hex[JWS_KEY_RAND * 2] = '\n';
	hex[JWS_KEY_RAND * 2 + 1] = '\0';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY,
	    0600);
	if (fd == -1) {
		if (errno == EEXIST)
			rc = 1;
		else
			seterr(err, errsz, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (write_all(fd, hex, JWS_KEY_RAND * 2 + 1) == -1 || fsync(fd) == -1 ||
	    close(fd) == -1) {
		seterr(err, errsz, "%s: %s", path, strerror(errno));
		fd = -1;
		(void)unlink(path);
		goto out;
	}
	fd = -1;
	rc = 0;
out:
	if (fd != -1)
		(void)close(fd);
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(hex, sizeof(hex));
	return rc;
}

/*
 * Read fd into buf until end of file or max + 1 bytes (buf holds max + 1),
 * so that a file that grew past max is seen: *len == max + 1 then.
 * Returns 0 with *len set, or -1 with errno.
 */
static int
read_upto(int fd, unsigned char *buf, size_t max, size_t *len)
{
	ssize_t	r;

	*len = 0;
	while (*len <= max) {
		r = read(fd, buf + *len, max + 1 - *len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0)
			break;
		*len += (size_t)r;
	}
	return 0;
}

/*
 * Check the opened key file: a regular file, no permission for others,
 * not bigger than JWS_KEY_MAX. Returns 0 or -1 with err set.
 */
static int
key_file_ok(int fd, const char *path, char *err, size_t errsz)
{
	struct stat	st;

	if (fstat(fd, &st) == -1) {
		seterr(err, errsz, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		seterr(err, errsz, "%s: not a regular file", path);
		return -1;
	}
	if (st.st_mode & 007) {
		seterr(err, errsz, "%s: signing key is accessible by others "
		    "(mode %04o); run: chmod 600 %s",
		    path, (unsigned)(st.st_mode & 07777), path);
		return -1;
	}
	if (st.st_size > JWS_KEY_MAX) {
		seterr(err, errsz, "%s: signing key file is larger than %d "
		    "bytes", path, JWS_KEY_MAX);
		return -1;
	}
	return 0;
}

/*
 * Load the key in path into k: the file's bytes with trailing white space
 * removed, JWS_KEY_MIN..JWS_KEY_MAX bytes, the file not accessible by
 * others. Returns 0, or -1 with err set (says what to do) and k emptied.
 * The read buffer is wiped on every path.
 */
int
jws_key_load(const char *path, struct jws_key *k, char *err, size_t errsz)
{
	unsigned char	buf[JWS_KEY_MAX + 1];
	size_t		len = 0;
	int		fd = -1, rc = -1;

	jws_key_wipe(k);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		seterr(err, errsz, "%s: %s%s", path, strerror(errno),
		    errno == ENOENT ? "; run: tokencat init" : "");
		goto out;
	}
	if (key_file_ok(fd, path, err, errsz) == -1)
		goto out;
	if (read_upto(fd, buf, JWS_KEY_MAX, &len) == -1) {
		seterr(err, errsz, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (len > JWS_KEY_MAX) {
		seterr(err, errsz, "%s: signing key file is larger than %d "
		    "bytes", path, JWS_KEY_MAX);
		goto out;
	}
	while (len > 0 && isspace(buf[len - 1]))
		len--;
	if (len < JWS_KEY_MIN) {
		seterr(err, errsz, "%s: signing key is too short (%zu bytes, "
		    "at least %d needed)", path, len, JWS_KEY_MIN);
		goto out;
	}
	memcpy(k->key, buf, len);
	k->len = len;
	rc = 0;
out:
	if (fd != -1)
		(void)close(fd);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/* Wipe the key material of k (NULL-safe). */
void
jws_key_wipe(struct jws_key *k)
{
	if (k == NULL)
		return;
	OPENSSL_cleanse(k->key, sizeof(k->key));
	k->len = 0;
}

/* Add a string member key = s to o. 0, or -1 when out of memory. */
static int
add_str(struct json_object *o, const char *key, const char *s)
{
	struct json_object	*v;

	if ((v = json_object_new_string(s)) == NULL)
		return -1;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/*
 * Sign a copy of claims, with iss and aud set (replacing any there), with
 * HS256 and k. The claims object stays the caller's. Returns a malloc'd
 * compact JWT (caller frees with free()), or NULL on a library or
 * allocation failure or if the token would be longer than jws_verify()
 * accepts.
 */
char *
jws_sign(const struct jws_key *k, const char *iss, const char *aud,
    struct json_object *claims)
{
	struct json_object	*c = NULL;
	jwt_t			*jwt = NULL;
	const char		*js;
	char			*tok = NULL;

	if (k == NULL || k->len < JWS_KEY_MIN || k->len > JWS_KEY_MAX ||
	    iss == NULL || aud == NULL ||
	    !json_object_is_type(claims, json_type_object))
		return NULL;
	if (json_object_deep_copy(claims, &c, NULL) != 0 ||
	    add_str(c, "iss", iss) == -1 || add_str(c, "aud", aud) == -1)
		goto out;
	if ((js = json_object_to_json_string_ext(c,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) == NULL)
		goto out;
	if (jwt_new(&jwt) != 0 || jwt_add_grants_json(jwt, js) != 0 ||
	    jwt_set_alg(jwt, JWT_ALG_HS256, k->key, (int)k->len) != 0)
		goto out;
	if ((tok = jwt_encode_str(jwt)) != NULL &&
	    strlen(tok) > JWS_TOKEN_MAX) {
		free(tok);
		tok = NULL;
	}
out:
	jwt_free(jwt);
	json_object_put(c);
	return tok;
}

/* Value 0..63 of a base64url character, or -1. */
static int
b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/*
 * Decode n base64url characters (no padding) of s into a new NUL-terminated
 * buffer (caller frees); *outlen gets the byte count. NULL for a character
 * outside the alphabet, an impossible length (n % 4 == 1) or no memory.
 */
static char *
b64url_decode(const char *s, size_t n, size_t *outlen)
{
	char		*out;
	uint32_t	 acc = 0;
	size_t		 i, o = 0;
	int		 v, bits = 0;

	if (n % 4 == 1 || (out = malloc(n / 4 * 3 + 3)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		if ((v = b64url_val((unsigned char)s[i])) == -1) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/*
 * Check the shape of token: at most JWS_TOKEN_MAX bytes of base64url
 * characters in three dot-separated parts, the first two not empty.
 * Sets *hlen to the length of the header part. JWS_OK or JWS_MALFORMED.
 */
static int
token_shape(const char *token, size_t *hlen)
{
	size_t	i, n, dots = 0, d[2] = { 0, 0 };

	if (token == NULL || (n = strnlen(token, JWS_TOKEN_MAX + 1)) == 0 ||
	    n > JWS_TOKEN_MAX)
		return JWS_MALFORMED;
	for (i = 0; i < n; i++) {
		if (token[i] == '.') {
			if (dots == 2)
				return JWS_MALFORMED;
			d[dots++] = i;
		} else if (b64url_val((unsigned char)token[i]) == -1)
			return JWS_MALFORMED;
	}
	if (dots != 2 || d[0] == 0 || d[1] == d[0] + 1)
		return JWS_MALFORMED;
	*hlen = d[0];
	return JWS_OK;
}

/*
 * Parse n bytes of JSON text into a new object (caller puts): one
 * document, nesting at most JWS_JSON_DEPTH, nothing after it. NULL if bad.
 */
static struct json_object *
parse_object(const char *s, size_t n)
{
	struct json_tokener	*tok;
	struct json_object	*o = NULL;

	if (n > INT_MAX ||
	    (tok = json_tokener_new_ex(JWS_JSON_DEPTH)) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, s, (int)n);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != n ||
	    !json_object_is_type(o, json_type_object))) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/*
 * Check the JOSE header (the first hlen bytes of token) before libjwt sees
 * the token: a JSON object, "typ" absent or "JWT", no "crit" (no extension
 * is understood here), and "alg" exactly "HS256". Returns JWS_OK,
 * JWS_MALFORMED or JWS_BADALG.
 */
static int
check_header(const char *token, size_t hlen)
{
	struct json_object	*h = NULL, *v;
	char			*js;
	size_t			 n;
	int			 rc = JWS_MALFORMED;

	if ((js = b64url_decode(token, hlen, &n)) == NULL ||
	    (h = parse_object(js, n)) == NULL)
		goto out;
	if (json_object_object_get_ex(h, "typ", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "JWT") != 0))
		goto out;
	if (json_object_object_get_ex(h, "crit", NULL))
		goto out;
	rc = JWS_BADALG;
	if (!json_object_object_get_ex(h, "alg", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), JWS_ALG) != 0)
		goto out;
	rc = JWS_OK;
out:
	json_object_put(h);
	free(js);
	return rc;
}

/* The string claim key of c, or NULL when absent or not a string. */
static const char *
claim_str(struct json_object *c, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(c, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* Integer claim key of c into *out. 0, or -1 if absent or not an integer. */
static int
claim_int(struct json_object *c, const char *key, int64_t *out)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(c, key, &v) ||
	    !json_object_is_type(v, json_type_int))
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

/*
 * The "aud" claim of c names aud: a string equal to it, or an array with a
 * string equal to it. JWS_OK, JWS_BADAUD, or JWS_MISSING (absent, or
 * neither a string nor an array).
 */
static int
check_aud(struct json_object *c, const char *aud)
{
	struct json_object	*v, *e;
	size_t			 i, n;

	if (!json_object_object_get_ex(c, "aud", &v))
		return JWS_MISSING;
	if (json_object_is_type(v, json_type_string))
		return strcmp(json_object_get_string(v), aud) == 0 ?
		    JWS_OK : JWS_BADAUD;
	if (!json_object_is_type(v, json_type_array))
		return JWS_MISSING;
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		e = json_object_array_get_idx(v, i);
		if (json_object_is_type(e, json_type_string) &&
		    strcmp(json_object_get_string(e), aud) == 0)
			return JWS_OK;
	}
	return JWS_BADAUD;
}

/*
 * Check the claims of a token whose signature verified: sub and jti
 * non-empty strings, iat and exp integers, iss and token_use strings, aud
 * present (JWS_MISSING otherwise); then iss, aud, token_use (when want_use
 * is not NULL) against the wanted values; then time: exp > now, and nbf
 * (optional, an integer) <= now. Returns JWS_OK or the first failure.
 */
static int
check_claims(struct json_object *c, const char *iss, const char *aud,
    const char *want_use, int64_t now)
{
	const char	*sub, *jti, *ciss, *use;
	int64_t		 iat, exp, nbf;
	int		 rc;

	sub = claim_str(c, "sub");
	jti = claim_str(c, "jti");
	ciss = claim_str(c, "iss");
	use = claim_str(c, "token_use");
	if (sub == NULL || *sub == '\0' || jti == NULL || *jti == '\0' ||
	    ciss == NULL || use == NULL || claim_int(c, "iat", &iat) == -1 ||
	    claim_int(c, "exp", &exp) == -1)
		return JWS_MISSING;
	if ((rc = check_aud(c, aud)) != JWS_OK)
		return rc;
	if (strcmp(ciss, iss) != 0)
		return JWS_BADISS;
	if (want_use != NULL && strcmp(use, want_use) != 0)
		return JWS_BADUSE;
	if (json_object_object_get_ex(c, "nbf", NULL)) {
		if (claim_int(c, "nbf", &nbf) == -1)
			return JWS_MISSING;
		if (nbf > now)
			return JWS_EXPIRED;
	}
	if (exp <= now)
		return JWS_EXPIRED;
	return JWS_OK;
}

/*
 * Verify token with k at time now (seconds): shape and header checked here
 * (alg pinned to HS256 before libjwt reads the token), signature by
 * jwt_decode(), the decoded alg required to be HS256 again, then the claims
 * (check_claims()). On JWS_OK *claims is a new object with every claim
 * (caller puts it); on any failure *claims is NULL and nothing is held.
 */
static int jws_verify_libjwt(const struct jws_key *, const char *, const char *,
    const char *, const char *, int64_t, struct json_object **,
    const unsigned char *);

/*
 * A per-process cache of signatures already verified: SHA-256 of the token
 * -> the decoded claims, for the one key the cache was filled with (a
 * call with another key empties it). A signature's validity depends on
 * nothing else, so a hit skips libjwt (decode, HMAC, JSON) but never the
 * claim checks, which depend on the time and the caller. Direct-mapped,
 * small.
 */
#define SIG_CACHE 256

static struct sig_entry {
	unsigned char		 digest[32];
	struct json_object	*claims;
} sig_cache[SIG_CACHE];
static struct jws_key sig_cache_key;    /* the key of every cached entry */

/* SHA-256 of token; zeros if libcrypto fails (never a cache hit then). */
static void
token_digest(const char *token, unsigned char out[32])
{
	static EVP_MD *sha256;          /* fetched once: a fetch per call costs */
	unsigned int n = 0;

	if (sha256 == NULL)
		sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (sha256 == NULL || EVP_Digest(token, strlen(token), out, &n, sha256,
	    NULL) != 1 || n != 32)
		memset(out, 0, 32);
}

/* Empty the cache unless it holds entries of key k. */
static void
sig_cache_for(const struct jws_key *k)
{
	size_t i;

	if (sig_cache_key.len == k->len &&
	    CRYPTO_memcmp(sig_cache_key.key, k->key, k->len) == 0)
		return;
	for (i = 0; i < SIG_CACHE; i++) {
		json_object_put(sig_cache[i].claims);
		sig_cache[i].claims = NULL;
	}
	OPENSSL_cleanse(&sig_cache_key, sizeof(sig_cache_key));
	memcpy(sig_cache_key.key, k->key, k->len);
	sig_cache_key.len = k->len;
}

/*
 * The cached claims of digest (a new reference, or NULL). They are shared
 * with the cache: callers only read claims (jws.h), never change them.
 */
static struct json_object *
sig_lookup(const unsigned char digest[32])
{
	static const unsigned char zero[32];
	struct sig_entry *e = &sig_cache[digest[0]];

	if (e->claims == NULL || CRYPTO_memcmp(e->digest, digest, 32) != 0 ||
	    CRYPTO_memcmp(digest, zero, 32) == 0)
		return NULL;
	return json_object_get(e->claims);
}

static void
sig_store(const unsigned char digest[32], struct json_object *claims)
{
	struct sig_entry *e = &sig_cache[digest[0]];
	struct json_object *copy = NULL;

	if (json_object_deep_copy(claims, &copy, NULL) != 0)
		return;
	json_object_put(e->claims);
	memcpy(e->digest, digest, 32);
	e->claims = copy;
}

int
jws_verify(const struct jws_key *k, const char *token, const char *iss,
    const char *aud, const char *want_use, int64_t now,
    struct json_object **claims)
{
	unsigned char digest[32];

	return jws_verify_digest(k, token, iss, aud, want_use, now, claims, digest);
}

int
jws_verify_digest(const struct jws_key *k, const char *token, const char *iss,
    const char *aud, const char *want_use, int64_t now,
    struct json_object **claims, unsigned char digest[32])
{
	struct json_object *hit;
	int rc;

	memset(digest, 0, 32);
	if (claims == NULL)
		return JWS_INTERNAL;
	*claims = NULL;
	if (k == NULL || k->len < JWS_KEY_MIN || k->len > JWS_KEY_MAX ||
	    iss == NULL || aud == NULL || token == NULL || strlen(token) > JWS_TOKEN_MAX)
		return jws_verify_libjwt(k, token, iss, aud, want_use, now, claims, NULL);
	token_digest(token, digest);
	sig_cache_for(k);
	if ((hit = sig_lookup(digest)) == NULL)
		return jws_verify_libjwt(k, token, iss, aud, want_use, now, claims, digest);
	if ((rc = check_claims(hit, iss, aud, want_use, now)) != JWS_OK) {
		json_object_put(hit);
		return rc;
	}
	*claims = hit;
	return JWS_OK;
}

/*
 * The full verification through libjwt (see jws_verify). When digest is
 * not NULL, a token whose signature verifies is remembered in the cache.
 */
static int
jws_verify_libjwt(const struct jws_key *k, const char *token, const char *iss,
    const char *aud, const char *want_use, int64_t now,
    struct json_object **claims, const unsigned char *digest)
{
	struct json_object	*c = NULL;
	jwt_t			*jwt = NULL;
	char			*js = NULL;
	size_t			 hlen;
	int			 rc = JWS_INTERNAL;

	if (claims == NULL)
		return JWS_INTERNAL;
	*claims = NULL;
	if (k == NULL || k->len < JWS_KEY_MIN || k->len > JWS_KEY_MAX ||
	    iss == NULL || aud == NULL)
		goto out;
	if ((rc = token_shape(token, &hlen)) != JWS_OK ||
	    (rc = check_header(token, hlen)) != JWS_OK)
		goto out;
	rc = JWS_BADSIG;
	if (jwt_decode(&jwt, token, k->key, (int)k->len) != 0) {
		jwt = NULL;
		goto out;
	}
	rc = JWS_BADALG;
	if (jwt_get_alg(jwt) != JWT_ALG_HS256)
		goto out;
	rc = JWS_MALFORMED;
	if ((js = jwt_get_grants_json(jwt, NULL)) == NULL ||
	    (c = parse_object(js, strlen(js))) == NULL)
		goto out;
	if ((rc = check_claims(c, iss, aud, want_use, now)) != JWS_OK &&
	    rc != JWS_EXPIRED && rc != JWS_BADUSE)
		goto out;
	if (digest != NULL)             /* the signature holds: remember it */
		sig_store(digest, c);
	if (rc != JWS_OK)
		goto out;
	*claims = c;
	c = NULL;
out:
	json_object_put(c);
	free(js);
	jwt_free(jwt);
	return rc;
}

/* A short English text for a JWS_* code, for logs. Never NULL. */
const char *
jws_strerror(int err)
{
	switch (err) {
	case JWS_OK:
		return "ok";
	case JWS_MALFORMED:
		return "malformed token";
	case JWS_BADSIG:
		return "bad signature";
	case JWS_BADALG:
		return "algorithm not allowed";
	case JWS_EXPIRED:
		return "token expired or not yet valid";
	case JWS_BADISS:
		return "wrong issuer";
	case JWS_BADAUD:
		return "wrong audience";
	case JWS_MISSING:
		return "required claim missing or of the wrong type";
	case JWS_BADUSE:
		return "wrong token_use";
	case JWS_INTERNAL:
		return "internal error";
	default:
		return "unknown error";
	}
}

int
jws_key_fingerprint(const struct jws_key *k, char out[65])
{
	unsigned char	mac[EVP_MAX_MD_SIZE];
	unsigned int	len = 0;

	out[0] = '\0';
	if (k->len == 0 || HMAC(EVP_sha256(), k->key, (int)k->len,
	    (const unsigned char *)JWS_FP_LABEL, sizeof(JWS_FP_LABEL) - 1, mac,
	    &len) == NULL || len != 32)
		return -1;
	util_hex(mac, len, out);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}
