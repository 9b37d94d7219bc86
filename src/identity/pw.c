/*
 * pw.c - password hashing with scrypt (OpenSSL EVP_PBE_scrypt).
 * Encoded form: "scrypt$N$r$p$<salt hex>$<hash hex>", for example
 * "scrypt$32768$8$1$<32 hex digits>$<64 hex digits>".
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "pw.h"
#include "util.h"

#define PW_N        32768
#define PW_R        8
#define PW_P        1
#define PW_SALT     16                  /* bytes */
#define PW_KEY      32                  /* bytes */
#define PW_MAXMEM   (64ULL * 1024 * 1024)
#define PW_FIELDS   6                   /* scrypt, N, r, p, salt, hash */

/* The parameters and bytes of one encoded hash. */
struct pw_enc {
	uint64_t	N, r, p;
	unsigned char	salt[PW_SALT];
	unsigned char	key[PW_KEY];
};

/*
 * scrypt of password with salt and N, r, p into out (outlen bytes), using
 * at most PW_MAXMEM of memory. Returns 0, or -1 (library failure or
 * parameters needing more memory).
 */
static int
derive(const char *password, const unsigned char *salt, uint64_t N,
    uint64_t r, uint64_t p, unsigned char *out, size_t outlen)
{
	if (EVP_PBE_scrypt(password, strlen(password), salt, PW_SALT, N, r, p,
	    PW_MAXMEM, out, outlen) != 1)
		return -1;
	return 0;
}

/*
 * Hash password with a new random salt into out as
 * "scrypt$N$r$p$<salt hex>$<hash hex>". Returns 0, or -1 on a library
 * failure or a NULL password (out is then an empty string).
 */
int
pw_hash(const char *password, char out[PW_HASH_MAX])
{
	unsigned char	salt[PW_SALT], key[PW_KEY];
	char		salthex[PW_SALT * 2 + 1], keyhex[PW_KEY * 2 + 1];
	int		n, rc = -1;

	out[0] = '\0';
	if (password == NULL || util_random(salt, sizeof(salt)) == -1 ||
	    derive(password, salt, PW_N, PW_R, PW_P, key, sizeof(key)) == -1)
		goto out;
	util_hex(salt, sizeof(salt), salthex);
	util_hex(key, sizeof(key), keyhex);
	n = snprintf(out, PW_HASH_MAX, "scrypt$%d$%d$%d$%s$%s", PW_N, PW_R,
	    PW_P, salthex, keyhex);
	if (n < 0 || n >= PW_HASH_MAX) {
		out[0] = '\0';
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(keyhex, sizeof(keyhex));
	return rc;
}

/* Value of a lowercase hex digit (as util_hex() writes them), or -1. */
static int
hexval(char c)
{
	return c >= 'A' && c <= 'F' ? -1 : util_hexval(c);
}

/* Decode s, exactly 2n lowercase hex digits, into out[n]. 0 or -1. */
static int
unhex(const char *s, unsigned char *out, size_t n)
{
	size_t	i;
	int	hi, lo;

	if (strlen(s) != n * 2)
		return -1;
	for (i = 0; i < n; i++) {
		if ((hi = hexval(s[2 * i])) == -1 ||
		    (lo = hexval(s[2 * i + 1])) == -1)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/*
 * Split buf in place at each '$' into exactly PW_FIELDS fields (f[]).
 * Returns 0, or -1 for any other number of fields.
 */
static int
split(char *buf, char *f[PW_FIELDS])
{
	size_t	i = 0;
	char	*s = buf, *d;

	for (;;) {
		if (i == PW_FIELDS)
			return -1;
		f[i++] = s;
		if ((d = strchr(s, '$')) == NULL)
			break;
		*d = '\0';
		s = d + 1;
	}
	return i == PW_FIELDS ? 0 : -1;
}

/*
 * Parse encoded strictly into e: the "scrypt" tag, N a power of two in
 * 1024..1048576, r in 1..32, p in 1..16, a 16-byte salt and a 32-byte hash
 * in lowercase hex. Returns 0, or -1 if anything is off.
 */
static int
parse(const char *encoded, struct pw_enc *e)
{
	char	buf[PW_HASH_MAX], *f[PW_FIELDS];

	if (strlen(encoded) >= sizeof(buf))
		return -1;
	memcpy(buf, encoded, strlen(encoded) + 1);
	if (split(buf, f) == -1 || strcmp(f[0], "scrypt") != 0 ||
	    util_parse_uint(f[1], 1024, 1048576, &e->N) == -1 ||
	    (e->N & (e->N - 1)) != 0 ||
	    util_parse_uint(f[2], 1, 32, &e->r) == -1 ||
	    util_parse_uint(f[3], 1, 16, &e->p) == -1 ||
	    unhex(f[4], e->salt, sizeof(e->salt)) == -1 ||
	    unhex(f[5], e->key, sizeof(e->key)) == -1)
		return -1;
	return 0;
}

/*
 * 1 if password hashes to encoded with encoded's salt and parameters
 * (compared with CRYPTO_memcmp), 0 if not, if encoded is malformed, or if
 * scrypt fails (for instance parameters needing more than PW_MAXMEM).
 * The derived key and the parsed hash are wiped.
 */
int
pw_verify(const char *password, const char *encoded)
{
	struct pw_enc	e;
	unsigned char	key[PW_KEY];
	int		ok = 0;

	if (password == NULL || encoded == NULL || parse(encoded, &e) == -1)
		goto out;
	if (derive(password, e.salt, e.N, e.r, e.p, key, sizeof(key)) == -1)
		goto out;
	ok = CRYPTO_memcmp(key, e.key, sizeof(key)) == 0;
out:
	OPENSSL_cleanse(&e, sizeof(e));
	OPENSSL_cleanse(key, sizeof(key));
	return ok;
}

/*
 * Spend the time of one pw_verify() with the default parameters: hash
 * password with a fixed salt and throw the result away. For unknown users,
 * so that they answer in about the time of a wrong password.
 */
void
pw_dummy(const char *password)
{
	static const unsigned char	salt[PW_SALT] = "tokencat-dummy!";
	unsigned char			key[PW_KEY];

	(void)derive(password != NULL ? password : "", salt, PW_N, PW_R, PW_P,
	    key, sizeof(key));
	OPENSSL_cleanse(key, sizeof(key));
}
