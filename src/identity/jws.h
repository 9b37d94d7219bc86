/*
 * jws.h - signed JWTs through libjwt 1.10.2, with the checks libjwt does not
 * make: the algorithm is pinned (HS256), and iss, aud, exp, jti and
 * token_use are required and checked here.
 */
#ifndef TC_JWS_H
#define TC_JWS_H

#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define JWS_KEY_MAX 256

struct jws_key {
	unsigned char	key[JWS_KEY_MAX];
	size_t		len;
};

enum jws_err {
	JWS_OK = 0,
	JWS_MALFORMED = -1,     /* not three base64url parts, bad JSON, typ not JWT */
	JWS_BADSIG = -2,        /* signature does not verify with the key */
	JWS_BADALG = -3,        /* alg is not the pinned one (none, RS256, HS512, ...) */
	JWS_EXPIRED = -4,       /* exp <= now */
	JWS_BADISS = -5,
	JWS_BADAUD = -6,
	JWS_MISSING = -7,       /* sub, jti, iat, exp, iss, aud or token_use missing or of the wrong type */
	JWS_BADUSE = -8,        /* token_use not the wanted one */
	JWS_INTERNAL = -9       /* allocation or library failure */
};

/*
 * Create a new key file at path: 32 bytes from RAND_bytes written as 64 hex
 * characters and a newline, mode 0600, O_EXCL. Returns 0, 1 if the file
 * already exists (never overwritten), or -1 with err set.
 */
int	jws_key_create(const char *path, char *err, size_t errsz);
/*
 * Load a key: the file's bytes with trailing white space removed; at least
 * 32 bytes; refused if readable or writable by others (mode & 007).
 * Returns 0 or -1 with err set (says what to do).
 */
int	jws_key_load(const char *path, struct jws_key *k, char *err, size_t errsz);
void	jws_key_wipe(struct jws_key *k);   /* OPENSSL_cleanse */
/*
 * The key's fingerprint: HMAC-SHA256 of the fixed label JWS_FP_LABEL
 * with the key, as 64 lowercase hex digits. It tells keys apart without
 * revealing anything of them (stored in a shared database, so that a host
 * with another key refuses to start). 0, or -1.
 */
#define JWS_FP_LABEL	"tokencat key fingerprint v1"
int	jws_key_fingerprint(const struct jws_key *k, char out[65]);

/*
 * Sign claims (copied; iss and aud are added here) with HS256.
 * Returns a malloc'd compact JWT (caller frees) or NULL.
 */
char	*jws_sign(const struct jws_key *k, const char *iss, const char *aud,
	    struct json_object *claims);

/*
 * Verify token: signature with k, alg must be HS256, typ JWT if present,
 * iss == iss, aud == aud (string, or array containing it), exp > now (seconds),
 * and sub, jti (strings), iat, exp (integers), token_use (string) present.
 * want_use ("session", "api") must equal token_use when not NULL.
 * On JWS_OK *claims holds every claim (the caller puts it; it may be shared
 * with the verified-signature cache, so it is read-only).
 */
int	jws_verify(const struct jws_key *k, const char *token, const char *iss,
	    const char *aud, const char *want_use, int64_t now,
	    struct json_object **claims);
/*
 * jws_verify that also puts the SHA-256 of token (the catalog's digest of
 * a raw token) in sha256, so that a caller needs no second digest; all
 * zeros when the token was refused before it was digested.
 */
int	jws_verify_digest(const struct jws_key *k, const char *token,
	    const char *iss, const char *aud, const char *want_use, int64_t now,
	    struct json_object **claims, unsigned char sha256[32]);
const char *jws_strerror(int err);

#endif
