/*
 * fuzz_common.h - helpers shared by the libFuzzer harnesses: splitting an
 * input into NUL-terminated lines, and an http_io over memory.
 */
#ifndef TC_FUZZ_COMMON_H
#define TC_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_LINES 8

struct lines {
	char	*buf;                   /* owned copy of the input, NUL-terminated */
	char	*v[FUZZ_LINES];         /* the first FUZZ_LINES - 1 '\n'-separated lines */
	char	*rest;                  /* what follows them (may hold NULs) */
	size_t	 restlen;
	size_t	 n;                     /* lines found */
};

/* Split data into up to nl lines and the rest. 0, or -1 when out of memory. */
static inline int
lines_split(struct lines *l, const uint8_t *data, size_t size, size_t nl)
{
	char *p, *end, *nlp;
	size_t i;

	memset(l, 0, sizeof(*l));
	if (nl > FUZZ_LINES || (l->buf = malloc(size + 1)) == NULL)
		return -1;
	memcpy(l->buf, data, size);
	l->buf[size] = '\0';
	p = l->buf;
	end = l->buf + size;
	for (i = 0; i < nl; i++) {
		l->v[i] = p;
		if ((nlp = memchr(p, '\n', (size_t)(end - p))) == NULL) {
			p = end;
			l->n = i + 1;
			for (i++; i < nl; i++)
				l->v[i] = end;          /* "" */
			break;
		}
		*nlp = '\0';
		p = nlp + 1;
		l->n = i + 1;
	}
	l->rest = p;
	l->restlen = (size_t)(end - p);
	return 0;
}

static inline void
lines_free(struct lines *l)
{
	free(l->buf);
	l->buf = NULL;
}

/* A body source and a response sink in memory for struct http_io. */
struct mem {
	const char	*in;
	size_t		 inlen, inpos;
	size_t		 outlen;        /* bytes written (content dropped) */
	int		 chunk;         /* at most this many bytes per read (>= 1) */
};

static inline int
mem_read(void *ctx, char *buf, int n)
{
	struct mem *m = ctx;
	size_t k = m->inlen - m->inpos;

	if (n < 0)
		return -1;
	if ((size_t)n < k)
		k = (size_t)n;
	if (m->chunk > 0 && k > (size_t)m->chunk)
		k = (size_t)m->chunk;
	memcpy(buf, m->in + m->inpos, k);
	m->inpos += k;
	return (int)k;
}

static inline int
mem_write(void *ctx, const char *buf, int n)
{
	struct mem *m = ctx;

	(void)buf;
	m->outlen += (size_t)n;
	return n;
}

#endif
