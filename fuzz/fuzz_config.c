/*
 * fuzz_config.c - libFuzzer harness for the tokencat.conf parser:
 * config_parse() on the input as a whole buffer (the parser takes a
 * buffer, config.h), then again with a "database = ..." line prepended so
 * that the post-parse defaults are reached, and once through
 * config_load() from a temporary file (the file path's read loop).
 * Properties: no crash or leak; an error message is NUL-terminated and
 * starts with the file name; a successful parse holds database,
 * signing_key_file, issuer, audience and a mount_prefix without a
 * trailing '/', and numbers inside the ranges of the key table.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char tmpl[64];

static void
remove_tmp(void)
{
	(void)unlink(tmpl);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int fd;

	(void)argc;
	(void)argv;
	log_set_level(TCLOG_ERROR);
	snprintf(tmpl, sizeof(tmpl), "/tmp/tc-fuzz-conf-XXXXXX");
	if ((fd = mkstemp(tmpl)) == -1)
		abort();
	close(fd);
	atexit(remove_tmp);
	return 0;
}

static void
check(const struct config *c, int rc, const char *err, const char *fname)
{
	size_t n;

	if (rc != 0) {
		if (rc != -1 || memchr(err, '\0', CONFIG_ERR_MAX) == NULL ||
		    strncmp(err, fname, strlen(fname)) != 0)
			abort();
		return;
	}
	if (c->database == NULL || c->signing_key_file == NULL || c->issuer == NULL ||
	    c->audience == NULL || c->mount_prefix == NULL)
		abort();
	n = strlen(c->mount_prefix);
	if (n > 0 && (c->mount_prefix[0] != '/' || c->mount_prefix[n - 1] == '/'))
		abort();
	if (c->session_minutes < 1 || c->session_minutes > 525600 ||
	    c->max_token_days < 1 || c->max_token_days > 36500 ||
	    c->max_body_bytes < 1024 || c->max_body_bytes > 16777216 ||
	    c->map_size_mb < 1 || c->map_size_mb > 1048576 ||
	    c->login_max_failures < 1 || c->login_lockout_minutes < 1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char pre[] = "database = /tmp/fuzz-db\n";
	struct config c;
	char err[CONFIG_ERR_MAX], *buf;
	FILE *f;
	int rc;

	if (size > 65536)
		return 0;
	config_init(&c);
	rc = config_parse(&c, (const char *)data, size, "fuzz.conf", err);
	check(&c, rc, err, "fuzz.conf");
	config_free(&c);

	if ((buf = malloc(sizeof(pre) + size)) == NULL)
		return 0;
	memcpy(buf, pre, sizeof(pre) - 1);
	memcpy(buf + sizeof(pre) - 1, data, size);
	config_init(&c);
	rc = config_parse(&c, buf, sizeof(pre) - 1 + size, "x.conf", err);
	check(&c, rc, err, "x.conf");
	config_free(&c);

	/* the file leg reads into a 1 MiB buffer: only one input in eight */
	if (size < 4096 && size % 8 == 0 && (f = fopen(tmpl, "wb")) != NULL) {
		fwrite(buf, 1, sizeof(pre) - 1 + size, f);
		fclose(f);
		config_init(&c);
		rc = config_load(&c, tmpl, err);
		check(&c, rc, err, rc == 0 ? "" : strncmp(err, "cannot", 6) == 0 ? "cannot" : tmpl);
		config_free(&c);
	}
	free(buf);
	return 0;
}
