/*
 * fuzz_token_input.c - libFuzzer harness for the token create/update body:
 * the bytes are parsed by js_parse() (the router's strict parser) and, when
 * they are a JSON object, read by token_input_parse() with the create rules
 * and with the update rules (h_token_io.c), which validates every field and
 * normalizes the scope (scope_normalize). Also feeds the object to the
 * other body readers that need no store (js_get_* helpers).
 * Properties: no crash, no leak, and a refusal always leaves r->out set to
 * a {"detail": str} object with status 422.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "h_token_io.h"
#include "http.h"
#include "js.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct app app;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(TCLOG_ERROR);
	config_init(&app.cfg);
	return 0;
}

/* token_input_parse on o with the create (1) or update (0) rules. */
static void
one(struct json_object *o, int create)
{
	struct token_input in;
	struct json_object *d;
	struct req r;
	int st;

	memset(&r, 0, sizeof(r));
	r.app = &app;
	r.json = json_object_get(o);
	st = token_input_parse(&r, &in, create);
	if (st == 0) {
		if (create && (in.name == NULL || in.scope == NULL || in.tags == NULL))
			abort();        /* the create rules promise these */
		token_input_free(&in);
	} else if (st != 422 || r.out == NULL ||
	    !json_object_object_get_ex(r.out, "detail", &d) ||
	    !json_object_is_type(d, json_type_string))
		abort();
	req_free(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char detail[DETAIL_MAX];
	struct json_object *o, *v;
	const char *s;
	int64_t n;
	int b;

	if (size > 65536)
		return 0;
	if ((o = js_parse((const char *)data, size, detail)) == NULL) {
		if (memchr(detail, '\0', DETAIL_MAX) == NULL)
			abort();
		return 0;
	}
	if (json_object_is_type(o, json_type_object)) {
		one(o, 1);
		one(o, 0);
		(void)js_get_str(o, "email", 1, 254, &s, detail);
		(void)js_get_int(o, "days", 1, 3650, &n, detail);
		(void)js_get_bool(o, "is_admin", &b, detail);
		(void)js_get_type(o, "teams", json_type_array, &v, detail);
	}
	json_object_put(o);
	return 0;
}
