/*
 * fuzz_scope.c - libFuzzer harness for the scope parsers of scope.c
 * (API.md 6) and the small parsers of util.c they rest on.
 *
 * Input: first byte selects the parser, the rest is its text:
 *   'i'  "NET\nADDR": scope_ipnet_parse(NET), scope_addr_parse(ADDR),
 *        scope_ipnet_contains (a parsed address must lie in its own /32,
 *        /128 net and in any net parsed from its own text);
 *   'p'  "HELD\nWANTED": scope_perm_valid, scope_perm_grants (a valid
 *        permission grants itself; "*" grants every valid one);
 *   't'  JSON time_restrictions; scope_timewin_parse, then
 *        scope_timewin_allows at instants from the input;
 *   'l'  JSON usage_limits: scope_limits_parse;
 *   's'  JSON scope object: scope_normalize, whose output must itself
 *        normalize to the same text (idempotent);
 *   'u'  util_time_parse, util_parse_uint, util_utf8_valid,
 *        util_email_valid, util_urldecode on the text;
 *   'z'  scope_tz_valid (the zone name check that opens files);
 *   'x'  "REMOTE_ADDR\nX-FORWARDED-FOR": decide_client() with trusted
 *        proxies 127.0.0.1, 10.0.0.0/8 and ::1 (the client is the peer,
 *        or an address that parses and occurs in the header).
 * Properties: no crash or leak, and the stated ones.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "decide.h"
#include "js.h"
#include "log.h"
#include "scope.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct config cfg;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char conf[] = "database = /x\ntrusted_proxies = 127.0.0.1 10.0.0.0/8 ::1\n";
	char err[CONFIG_ERR_MAX];

	(void)argc;
	(void)argv;
	log_set_level(TCLOG_ERROR);
	config_init(&cfg);
	if (config_parse(&cfg, conf, sizeof(conf) - 1, "fuzz", err) != 0)
		abort();
	return 0;
}

static void
xff_case(const char *remote, const char *xff)
{
	struct ipnet a;
	char out[ADDR_MAX];

	decide_client(&cfg, remote, xff, out);
	if (memchr(out, '\0', sizeof(out)) == NULL)
		abort();
	if (strncmp(out, remote, ADDR_MAX - 1) == 0)
		return;
	if (scope_addr_parse(out, &a) != 0 || strstr(xff, out) == NULL)
		abort();
}

static void
ip_case(char *a, char *b)
{
	struct ipnet net, addr, self;

	if (scope_ipnet_parse(a, &net) == 0) {
		if ((net.family != 4 && net.family != 6) ||
		    net.prefix > (net.family == 4 ? 32u : 128u))
			abort();
	}
	if (scope_addr_parse(b, &addr) == 0) {
		if (addr.prefix != (addr.family == 4 ? 32u : 128u))
			abort();
		if (scope_ipnet_parse(b, &self) != 0 || !scope_ipnet_contains(&self, &addr))
			abort();
		if (scope_ipnet_parse(a, &net) == 0)
			(void)scope_ipnet_contains(&net, &addr);
	}
}

static void
perm_case(const char *a, const char *b)
{
	int va = scope_perm_valid(a), vb = scope_perm_valid(b);

	if (va && !scope_perm_grants(a, a))
		abort();
	if (vb && !scope_perm_grants("*", b))
		abort();
	if (va && vb)
		(void)scope_perm_grants(a, b);
}

static void
json_case(int mode, const char *s, size_t n)
{
	char detail[DETAIL_MAX], d2[DETAIL_MAX];
	struct json_object *o, *norm = NULL, *again = NULL;
	struct timewin tw;
	struct limits l;
	uint64_t t = 0;
	size_t i;

	if ((o = js_parse(s, n, detail)) == NULL)
		return;
	switch (mode) {
	case 't':
		if (scope_timewin_parse(o, &tw, detail) == 0) {
			for (i = 0; i < n && i < 8; i++)
				t = t << 8 | (unsigned char)s[i];
			(void)scope_timewin_allows(&tw, (time_t)(t % 4102444800ULL));
			(void)scope_timewin_allows(&tw, (time_t)1750000000);
			(void)scope_timewin_allows(&tw, (time_t)0);
		} else if (memchr(detail, '\0', DETAIL_MAX) == NULL)
			abort();
		break;
	case 'l':
		if (scope_limits_parse(o, &l, detail) == 0 &&
		    (l.per_minute > 1000000000 || l.per_hour > 1000000000 ||
		    l.per_day > 1000000000))
			abort();
		break;
	default:
		if (scope_normalize(o, &norm, detail) == 0) {
			if (norm == NULL || scope_normalize(norm, &again, d2) != 0 ||
			    strcmp(json_object_to_json_string(norm),
			    json_object_to_json_string(again)) != 0)
				abort();
		} else if (norm != NULL)
			abort();
		json_object_put(norm);
		json_object_put(again);
		break;
	}
	json_object_put(o);
}

static void
util_case(const char *s, size_t n)
{
	int64_t ms;
	uint64_t v;
	char *d;

	(void)util_time_parse(s, &ms);
	if (util_parse_uint(s, 0, UINT64_MAX, &v) == 0 && util_parse_uint(s, v, v, &v) != 0)
		abort();
	if (util_utf8_valid(s, n))
		(void)util_utf8_len(s);
	(void)util_email_valid(s);
	if ((d = util_urldecode(s, n)) != NULL) {
		if (strlen(d) > n)
			abort();
		free(d);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf, *nl, *b;
	size_t n;

	if (size < 1 || size > 8192 || (buf = malloc(size)) == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	n = size - 1;
	nl = memchr(buf, '\n', n);
	b = "";
	if (nl != NULL) {
		*nl = '\0';
		b = nl + 1;
	}
	switch (data[0]) {
	case 'i':
		ip_case(buf, b);
		break;
	case 'p':
		perm_case(buf, b);
		break;
	case 't':
	case 'l':
	case 's':
		if (nl != NULL)
			*nl = '\n';
		json_case(data[0], buf, n);
		break;
	case 'z':
		(void)scope_tz_valid(buf);
		break;
	case 'x':
		xff_case(buf, b);
		break;
	default:
		if (nl != NULL)
			*nl = '\n';
		util_case(buf, strlen(buf));
		break;
	}
	free(buf);
	return 0;
}
