/*
 * fuzz_request.c - libFuzzer harness for a whole request through the
 * worker's code path without the FastCGI socket: http_req_init(),
 * router_dispatch() (flags, caller, body) and every handler, against a
 * real LMDB store in a temporary directory (on /dev/shm when there is one)
 * holding an admin, alice (owner of team "red"), bob, an API token of
 * alice's and session tokens. State accumulates from input to input, as
 * in a live worker.
 *
 * Input: lines "FLAGS\nMETHOD\nURI\nCONTENT_TYPE\nXFF\nEXTRA" then the
 * body; EXTRA is more NAME=value parameters separated by tabs (at most 8:
 * HTTP_X_ORIGINAL_URI, PATH_INFO, QUERY_STRING, HTTP_USER_AGENT, ...).
 * FLAGS: 'a' alice's session, 'A' the admin's, 'n' alice narrowed to red,
 * 't' alice's API token, 'b' bob's session, 'r' REMOTE_USER=alice with
 * trust_remote_user, 'z' the Authorizer role, 'l' no Content-Length.
 * REMOTE_ADDR is 127.0.0.1, a trusted proxy, so XFF is walked.
 * In URI and body, "@T" becomes the API token's id, "@M" team red's id,
 * "@K" the API token itself.
 * Requests that would spend a full scrypt (a login for an unknown e-mail,
 * creating or re-passwording a user) are skipped: they cost ~0.1 s each.
 * Properties: no crash or leak; never a 5xx (the store is healthy); every
 * status is one the server knows; every error has a {"detail": str} body.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fuzz_common.h"
#include "app.h"
#include "auth.h"
#include "h_token_io.h"
#include "http.h"
#include "log.h"
#include "router.h"
#include "scope.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define PW	"fuzz-password-0001"

static struct app app;
static char dir[64];
static struct user admin, alice, bob;
static char red[TEAMID_LEN + 1];
static char *s_alice, *s_admin, *s_narrow, *s_bob, *api_tok;
static char api_id[UUID_LEN + 1];

/* A cheap scrypt hash (N=1024, r=1) of PW so that logins cost little. */
static void
cheap_hash(char out[PW_HASH_MAX])
{
	static const unsigned char salt[16] = "fuzz-salt-012345";
	unsigned char key[32];
	char sh[33], kh[65];

	if (EVP_PBE_scrypt(PW, strlen(PW), salt, 16, 1024, 1, 1, 0, key, 32) != 1)
		abort();
	util_hex(salt, 16, sh);
	util_hex(key, 32, kh);
	snprintf(out, PW_HASH_MAX, "scrypt$1024$1$1$%s$%s", sh, kh);
}

static void
mkuser(struct user *u, const char *email, int is_admin, const char *hash)
{
	memset(u, 0, sizeof(*u));
	if (util_uuid4(u->id) != 0)
		abort();
	snprintf(u->email, sizeof(u->email), "%s", email);
	snprintf(u->full_name, sizeof(u->full_name), "Fuzz %s", email);
	snprintf(u->pwhash, sizeof(u->pwhash), "%s", hash);
	u->is_admin = is_admin;
	u->is_active = 1;
	u->created_at = util_now_ms();
	if (store_user_add(app.st, u, NULL) != STORE_OK)
		abort();
}

static void
cleanup(void)
{
	char cmd[128];

	store_close(app.st);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_request: could not remove %s\n", dir);
}

/* One request; returns the status, *out (caller puts) the body if wanted. */
static void refresh(void);
static int run(char **envp, const char *body, size_t blen, int role,
    struct json_object **out);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct team t;
	char hash[PW_HASH_MAX];
	struct stat st;
	int created;

	(void)argc;
	(void)argv;
	log_set_level(TCLOG_ERROR);
	snprintf(dir, sizeof(dir), "%s/tc-fuzz-req-XXXXXX",
	    stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp");
	if (mkdtemp(dir) == NULL)
		abort();
	config_init(&app.cfg);
	app.cfg.database = strdup(dir);
	app.cfg.max_body_bytes = 8192;
	app.cfg.login_max_failures = 1000;
	if ((app.cfg.trusted_proxies = calloc(1, sizeof(struct ipnet))) == NULL ||
	    scope_ipnet_parse("127.0.0.0/8", app.cfg.trusted_proxies) != 0)
		abort();
	app.cfg.ntrusted_proxies = 1;
	free(app.cfg.mount_prefix);
	app.cfg.mount_prefix = strdup("/api");
	if (store_open(&app.st, dir, 1, STORE_CREATE) != STORE_OK)
		abort();
	atexit(cleanup);
	memset(app.key.key, 'k', 32);
	app.key.len = 32;
	cheap_hash(hash);
	mkuser(&admin, "admin@example.com", 1, hash);
	mkuser(&alice, "alice@example.com", 0, hash);
	mkuser(&bob, "bob@example.com", 0, hash);
	memset(&t, 0, sizeof(t));
	if (util_team_id(t.id) != 0)
		abort();
	snprintf(t.name, sizeof(t.name), "red");
	t.created_at = util_now_ms();
	if (store_team_add(app.st, &t, alice.id, NULL) != STORE_OK ||
	    store_member_set(app.st, t.id, bob.id, ROLE_MEMBER, &created, NULL) != STORE_OK)
		abort();
	memcpy(red, t.id, sizeof(red));
	refresh();
	return 0;
}

static int
run(char **envp, const char *body, size_t blen, int role, struct json_object **out)
{
	struct mem m;
	struct http_io io;
	struct req r;
	struct json_object *d;
	int st;

	memset(&m, 0, sizeof(m));
	m.in = body;
	m.inlen = blen;
	memset(&io, 0, sizeof(io));
	io.envp = envp;
	io.read = mem_read;
	io.write = mem_write;
	io.ctx = &m;
	io.role = role;
	memset(&r, 0, sizeof(r));
	if ((st = http_req_init(&r, &app, &io)) == 0)
		st = router_dispatch(&r);
	r.status = st;
	if (http_reason(st) == NULL || st >= 500) {
		fprintf(stderr, "fuzz_request: status %d: %s\n", st,
		    r.out ? json_object_to_json_string(r.out) : "(no body)");
		abort();
	}
	if (st >= 400 && (r.out == NULL || !json_object_object_get_ex(r.out, "detail", &d) ||
	    !json_object_is_type(d, json_type_string)))
		abort();
	if (out != NULL)
		*out = json_object_get(r.out);
	http_reply(&r);
	req_free(&r);
	store_use_flush(app.st);
	return st;
}

/*
 * (Re)make the sessions and alice's API token, and put the three users
 * back as they were made, so that a fuzzed logout, revocation, demotion
 * or disabling does not leave the rest of the run unauthenticated.
 */
static void
refresh(void)
{
	static unsigned gen;
	struct strlist narrow = { NULL, 0 };
	struct json_object *o, *v, *tok;
	char *env[8], auth[4200], clen[32], body[96];
	unsigned ex;

	if (store_user_put(app.st, &admin, NULL) != 0 || store_user_put(app.st, &alice, NULL) != 0 ||
	    store_user_put(app.st, &bob, NULL) != 0)
		abort();
	free(s_alice);
	free(s_admin);
	free(s_bob);
	free(s_narrow);
	free(api_tok);
	strlist_add(&narrow, red);
	s_alice = auth_session_token(&app, &alice, NULL, 525600, &ex);
	s_admin = auth_session_token(&app, &admin, NULL, 525600, &ex);
	s_bob = auth_session_token(&app, &bob, NULL, 525600, &ex);
	s_narrow = auth_session_token(&app, &alice, &narrow, 525600, &ex);
	strlist_free(&narrow);
	if (!s_alice || !s_admin || !s_bob || !s_narrow)
		abort();
	/* alice's API token, made through the real route */
	snprintf(body, sizeof(body), "{\"name\":\"fuzz-api-%u\",\"expires_in_days\":30}", gen++);
	snprintf(auth, sizeof(auth), "HTTP_AUTHORIZATION=Bearer %s", s_alice);
	snprintf(clen, sizeof(clen), "CONTENT_LENGTH=%zu", strlen(body));
	env[0] = "REQUEST_METHOD=POST";
	env[1] = "REQUEST_URI=/api/tokens";
	env[2] = "CONTENT_TYPE=application/json";
	env[3] = clen;
	env[4] = auth;
	env[5] = NULL;
	if (run(env, body, strlen(body), ROLE_RESPONDER, &o) != 201 ||
	    !json_object_object_get_ex(o, "access_token", &v) ||
	    !json_object_object_get_ex(o, "token", &tok) ||
	    !json_object_object_get_ex(tok, "id", &tok))
		abort();
	api_tok = strdup(json_object_get_string(v));
	snprintf(api_id, sizeof(api_id), "%s", json_object_get_string(tok));
	json_object_put(o);
}

/* s with "@T", "@M", "@K" replaced (a new string), or NULL. */
static char *
subst(const char *s, size_t n, size_t *outlen)
{
	size_t cap = n + 1, i, o = 0, add;
	const char *rep;
	char *out;

	for (i = 0; i + 1 < n; i++)
		if (s[i] == '@' && (s[i + 1] == 'T' || s[i + 1] == 'M' || s[i + 1] == 'K'))
			cap += strlen(api_tok);
	if ((out = malloc(cap)) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		rep = NULL;
		if (s[i] == '@' && i + 1 < n)
			rep = s[i + 1] == 'T' ? api_id : s[i + 1] == 'M' ? red :
			    s[i + 1] == 'K' ? api_tok : NULL;
		if (rep != NULL) {
			add = strlen(rep);
			memcpy(out + o, rep, add);
			o += add;
			i++;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* 1 if the request would run a full-cost scrypt (see the file comment). */
static int
expensive(const char *method, const char *uri, const char *body)
{
	if (strstr(uri, "login") != NULL)
		return strstr(body, "alice@example.com") == NULL &&
		    strstr(body, "admin@example.com") == NULL;
	return strstr(uri, "users") != NULL && strcmp(method, "GET") != 0 &&
	    strstr(body, "password") != NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lines l;
	char *uri = NULL, *body = NULL, *env[24], *e, *x, *save = NULL;
	const char *flags, *tok = NULL;
	size_t ulen, blen, n = 0, i;
	int role;

	static unsigned count;

	if (size > 12000 || lines_split(&l, data, size, 6) == -1)
		return 0;
	if (++count % 256 == 0)
		refresh();
	flags = l.v[0];
	if ((uri = subst(l.v[2], strlen(l.v[2]), &ulen)) == NULL ||
	    (body = subst(l.rest, l.restlen, &blen)) == NULL)
		goto out;
	if (memchr(body, '\0', blen) == NULL && expensive(l.v[1], uri, body))
		goto out;
	if (memchr(body, '\0', blen) != NULL && strstr(uri, "login") != NULL)
		goto out;
	tok = strchr(flags, 't') ? api_tok : strchr(flags, 'A') ? s_admin :
	    strchr(flags, 'n') ? s_narrow : strchr(flags, 'b') ? s_bob :
	    strchr(flags, 'a') ? s_alice : NULL;
	app.cfg.trust_remote_user = strchr(flags, 'r') != NULL;
	role = strchr(flags, 'z') ? ROLE_AUTHORIZER : ROLE_RESPONDER;
#define ADD(...) do { if (asprintf(&e, __VA_ARGS__) == -1) goto out; env[n++] = e; } while (0)
	ADD("REQUEST_METHOD=%s", l.v[1]);
	ADD("REQUEST_URI=%s", uri);
	ADD("REMOTE_ADDR=127.0.0.1");
	if (l.v[3][0] != '\0')
		ADD("CONTENT_TYPE=%s", l.v[3]);
	if (l.v[4][0] != '\0')
		ADD("HTTP_X_FORWARDED_FOR=%s", l.v[4]);
	if (!strchr(flags, 'l'))
		ADD("CONTENT_LENGTH=%zu", blen);
	if (tok != NULL)
		ADD("HTTP_AUTHORIZATION=Bearer %s", tok);
	if (app.cfg.trust_remote_user)
		ADD("REMOTE_USER=alice@example.com");
	if (role == ROLE_AUTHORIZER)
		ADD("FCGI_ROLE=AUTHORIZER");
	for (x = strtok_r(l.v[5], "\t", &save); x != NULL && n < 22;
	    x = strtok_r(NULL, "\t", &save))
		if (strchr(x, '=') != NULL)
			ADD("%s", x);
#undef ADD
	env[n] = NULL;
	(void)run(env, body, blen, role, NULL);
out:
	for (i = 0; i < n; i++)
		free(env[i]);
	free(uri);
	free(body);
	lines_free(&l);
	return 0;
}
