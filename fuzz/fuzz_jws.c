/*
 * fuzz_jws.c - libFuzzer harness for the Authorization/JWT path: jws.c's
 * jws_verify() (shape, JOSE header, alg pinning, libjwt decode, claims) on
 * tokens that are either raw input or built and correctly signed from a
 * fuzzed header and payload, so that the claim checks are reached too.
 *
 * Input: first byte selects the mode, the rest is its data:
 *   'r'  the rest is the token, verified as is (also through the
 *        verified-signature cache, by verifying it twice);
 *   's'  "HEADER-JSON\nCLAIMS-JSON": base64url-encoded and signed with
 *        HMAC-SHA256 under the harness key, then verified;
 *   'j'  CLAIMS-JSON signed by jws_sign() and verified (round trip).
 * Properties: no crash or leak; a second verification gives the same
 * answer (cache); an accepted token has an HS256 header (read by json-c,
 * non-strict: a parser differential with libjwt's jansson shows here),
 * the configured iss and aud, integer iat and exp > now, non-empty sub
 * and jti, and the wanted token_use.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jws.h"
#include "js.h"
#include "log.h"

#define ISS	"tokencat"
#define AUD	"tokencat-api"
#define NOW	1750000000LL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct jws_key key;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(TCLOG_ERROR);
	memcpy(key.key, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 64);
	key.len = 64;
	return 0;
}

/* base64url of in[0..n) without padding into a new string. */
static char *
b64url(const unsigned char *in, size_t n)
{
	static const char al[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(n / 3 * 4 + 5), *q = out;
	size_t i;
	uint32_t v;

	if (out == NULL)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*q++ = al[v >> 18 & 63]; *q++ = al[v >> 12 & 63];
		*q++ = al[v >> 6 & 63]; *q++ = al[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		*q++ = al[v >> 18 & 63]; *q++ = al[v >> 12 & 63];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		*q++ = al[v >> 18 & 63]; *q++ = al[v >> 12 & 63];
		*q++ = al[v >> 6 & 63];
	}
	*q = '\0';
	return out;
}

/* A string member of o, or NULL. */
static const char *
str_of(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* What an accepted token must satisfy (see the file comment). */
static void
check_accepted(struct json_object *c, const char *want_use, const char *hdr, size_t hlen)
{
	struct json_object *v, *h;
	const char *s;

	if (c == NULL || (s = str_of(c, "iss")) == NULL || strcmp(s, ISS) != 0)
		abort();
	if (!json_object_object_get_ex(c, "aud", &v))
		abort();
	if (!json_object_object_get_ex(c, "exp", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) <= NOW)
		abort();
	if (!json_object_object_get_ex(c, "iat", &v) || !json_object_is_type(v, json_type_int))
		abort();
	if ((s = str_of(c, "sub")) == NULL || *s == '\0' ||
	    (s = str_of(c, "jti")) == NULL || *s == '\0')
		abort();
	if (want_use != NULL && ((s = str_of(c, "token_use")) == NULL || strcmp(s, want_use) != 0))
		abort();
	if (hdr != NULL) {
		h = json_tokener_parse(hdr);    /* lenient on purpose */
		(void)hlen;
		if (h == NULL || (s = str_of(h, "alg")) == NULL || strcmp(s, "HS256") != 0)
			abort();
		json_object_put(h);
	}
}

/* Verify token for each wanted use, twice (the second through the cache). */
static void
verify(const char *token, const char *hdr, size_t hlen)
{
	static const char *const uses[3] = { NULL, "session", "api" };
	struct json_object *c;
	int i, rc, rc2;

	for (i = 0; i < 3; i++) {
		rc = jws_verify(&key, token, ISS, AUD, uses[i], NOW, &c);
		if (rc == JWS_OK)
			check_accepted(c, uses[i], hdr, hlen);
		else if (c != NULL || jws_strerror(rc) == NULL)
			abort();
		json_object_put(c);
		rc2 = jws_verify(&key, token, ISS, AUD, uses[i], NOW, &c);
		if (rc2 != rc)
			abort();        /* the signature cache changed the answer */
		json_object_put(c);
	}
}

/* Mode 's': sign header and claims (raw JSON texts) with HMAC-SHA256. */
static void
signed_token(const char *hdr, size_t hlen, const char *claims, size_t clen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char *h = b64url((const unsigned char *)hdr, hlen);
	char *p = b64url((const unsigned char *)claims, clen);
	char *in = NULL, *sig = NULL, *tok = NULL;

	if (h == NULL || p == NULL || asprintf(&in, "%s.%s", h, p) == -1) {
		in = NULL;
		goto out;
	}
	if (HMAC(EVP_sha256(), key.key, (int)key.len, (unsigned char *)in, strlen(in),
	    mac, &maclen) == NULL || (sig = b64url(mac, maclen)) == NULL ||
	    asprintf(&tok, "%s.%s", in, sig) == -1) {
		tok = NULL;
		goto out;
	}
	verify(tok, hdr, hlen);
out:
	free(h);
	free(p);
	free(in);
	free(sig);
	free(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char detail[DETAIL_MAX], *buf, *nl, *tok;
	struct json_object *c, *v;
	size_t n;

	if (size < 1 || size > 12000 || (buf = malloc(size)) == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	n = size - 1;
	switch (data[0]) {
	case 's':
		if (memchr(buf, '\0', n) != NULL || (nl = memchr(buf, '\n', n)) == NULL)
			break;
		*nl = '\0';
		signed_token(buf, (size_t)(nl - buf), nl + 1, n - (size_t)(nl + 1 - buf));
		break;
	case 'j':
		if ((c = js_parse(buf, n, detail)) == NULL)
			break;
		if (json_object_is_type(c, json_type_object) &&
		    (tok = jws_sign(&key, ISS, AUD, c)) != NULL) {
			verify(tok, NULL, 0);
			if (jws_verify(&key, tok, ISS, AUD, NULL, NOW, &v) == JWS_BADALG)
				abort();        /* our own tokens carry the pinned alg */
			json_object_put(v);
			free(tok);
		}
		json_object_put(c);
		break;
	default:
		verify(buf, NULL, 0);
		break;
	}
	free(buf);
	return 0;
}
