/*
 * pw.h - password hashing with scrypt (EVP_PBE_scrypt) and a per-user
 * random salt. Encoded form: "scrypt$N$r$p$<salt hex>$<hash hex>".
 */
#ifndef TC_PW_H
#define TC_PW_H

#define PW_HASH_MAX 192
#define PW_MIN_LEN  12          /* for accounts made over HTTP and by the CLI */
#define PW_MAX_LEN  1024

/* Hash password into out. Returns 0, or -1 on a library failure. */
int	pw_hash(const char *password, char out[PW_HASH_MAX]);
/* 1 if password matches encoded (constant-time compare), 0 if not or encoded is malformed. */
int	pw_verify(const char *password, const char *encoded);
/* Spend the time of one verification without a hash, so that an unknown user
 * answers in about the time of a wrong password. */
void	pw_dummy(const char *password);

#endif
