/*
 * tz.c - IANA time zones in memory (see tz.h): the TZif files under
 * TZ_DIR parsed into transition tables (RFC 8536), the POSIX TZ string of
 * their footer for the times after the last transition, and the leap
 * seconds of the "right/" zones, evaluated as glibc's localtime_r does.
 *
 * One table for the process, names sorted for bsearch; the names of one
 * file (links) share its data. Not thread-safe: the worker is
 * single-threaded.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tz.h"

#define TZ_FILE_MAX	(256 * 1024)    /* the largest TZif is under 4 KiB */
#define TZ_DEPTH_MAX	4               /* right/America/Argentina/X */
#define HDR_LEN		44

struct ttype {
	int32_t		utoff;          /* seconds east of UTC */
	int		isdst;
};

struct leap {
	int64_t		at;
	int32_t		corr;           /* seconds, cumulative */
};

/* One rule of a POSIX TZ string: Jn, n or Mm.w.d, then /time. */
struct trule {
	char		kind;           /* 'J', 'D' (zero-based n) or 'M' */
	int		n, m, w, d;
	int32_t		secs;           /* local time of the change */
};

struct posix_tz {
	int32_t		std, dst;       /* seconds east of UTC */
	int		has_dst;
	struct trule	r[2];           /* DST starts, DST ends */
};

struct zdata {
	dev_t		 dev;
	ino_t		 ino;
	int64_t		*at;            /* transitions, ascending */
	unsigned char	*idx;           /* type of each transition */
	size_t		 nat;
	struct ttype	*ty;
	size_t		 nty, first;    /* first: the type before at[0] */
	struct leap	*leap;
	size_t		 nleap;
	int		 has_ptz;       /* footer: after at[nat - 1] */
	struct posix_tz	 ptz;
};

struct zname {
	char		*name;          /* canonical: no repeated '/' */
	struct zdata	*d;
};

static struct {
	struct zname	 *v;
	size_t		  n, cap;
	struct zdata	**data;
	size_t		  nd, capd;
	int		  sealed;       /* tz_preload() ran: no more files */
} tzt;

/* --- POSIX TZ strings (the TZif footer) --- */

/* A zone abbreviation: "<...>" of [A-Za-z0-9+-], or letters; 3 or more. */
static int
ptz_name(const char **pp)
{
	const char	*p = *pp, *s;

	if (*p == '<') {
		for (s = ++p; isalnum((unsigned char)*p) || *p == '+' || *p == '-'; p++)
			;
		if (*p != '>' || p - s < 3)
			return -1;
		p++;
	} else {
		for (s = p; isalpha((unsigned char)*p); p++)
			;
		if (p - s < 3)
			return -1;
	}
	*pp = p;
	return 0;
}

/* [+-]hh[:mm[:ss]], hh at most maxh, into signed seconds. 0 or -1. */
static int
ptz_hms(const char **pp, int maxh, int32_t *out)
{
	const char	*p = *pp;
	int		 neg = 0, v[3] = { 0, 0, 0 }, i;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (i = 0; i < 3; i++) {
		if (i > 0) {
			if (*p != ':')
				break;
			p++;
		}
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++)
			if (v[i] < 1000)
				v[i] = v[i] * 10 + (*p - '0');
	}
	if (v[0] > maxh || v[1] > 59 || v[2] > 59)
		return -1;
	*out = (neg ? -1 : 1) * (v[0] * 3600 + v[1] * 60 + v[2]);
	*pp = p;
	return 0;
}

/* A decimal number in [min, max] at *pp. 0 or -1. */
static int
ptz_num(const char **pp, int min, int max, int *out)
{
	const char	*p = *pp;
	int		 v = 0;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++)
		if (v <= max)
			v = v * 10 + (*p - '0');
	if (v < min || v > max)
		return -1;
	*out = v;
	*pp = p;
	return 0;
}

/* Jn, n or Mm.w.d, then an optional /time (default 02:00:00). */
static int
ptz_rule(const char **pp, struct trule *r)
{
	const char	*p = *pp;

	memset(r, 0, sizeof(*r));
	if (*p == 'J') {
		p++;
		r->kind = 'J';
		if (ptz_num(&p, 1, 365, &r->n) == -1)
			return -1;
	} else if (*p == 'M') {
		p++;
		r->kind = 'M';
		if (ptz_num(&p, 1, 12, &r->m) == -1 || *p++ != '.' ||
		    ptz_num(&p, 1, 5, &r->w) == -1 || *p++ != '.' ||
		    ptz_num(&p, 0, 6, &r->d) == -1)
			return -1;
	} else {
		r->kind = 'D';
		if (ptz_num(&p, 0, 365, &r->n) == -1)
			return -1;
	}
	r->secs = 7200;
	if (*p == '/') {
		p++;
		if (ptz_hms(&p, 167, &r->secs) == -1)
			return -1;
	}
	*pp = p;
	return 0;
}

/* std offset [dst [offset] [,rule,rule]] into z. 0 or -1. */
static int
ptz_parse(const char *s, struct posix_tz *z)
{
	const char	*p = s;
	int32_t		 off;

	memset(z, 0, sizeof(*z));
	if (ptz_name(&p) == -1 || ptz_hms(&p, 24, &off) == -1)
		return -1;
	z->std = -off;                  /* POSIX offsets count westward */
	if (*p == '\0')
		return 0;
	if (ptz_name(&p) == -1)
		return -1;
	z->has_dst = 1;
	z->dst = z->std + 3600;
	if (*p != ',' && *p != '\0') {
		if (ptz_hms(&p, 24, &off) == -1)
			return -1;
		z->dst = -off;
	}
	if (*p == '\0') {               /* glibc's default: M3.2.0,M11.1.0 */
		z->r[0] = (struct trule){ 'M', 0, 3, 2, 0, 7200 };
		z->r[1] = (struct trule){ 'M', 0, 11, 1, 0, 7200 };
		return 0;
	}
	if (*p++ != ',' || ptz_rule(&p, &z->r[0]) == -1 || *p++ != ',' ||
	    ptz_rule(&p, &z->r[1]) == -1 || *p != '\0')
		return -1;
	return 0;
}

static int
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The UTC instant at which rule r falls in year y, its time being local
 * time at offset off (seconds east). */
static int64_t
rule_change(const struct trule *r, int64_t y, int32_t off)
{
	static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	int64_t	jan1 = days_from_civil(y, 1, 1), day, first;
	int	wday, len, dd, i;

	switch (r->kind) {
	case 'J':                       /* 1..365, February 29 never counted */
		day = r->n - 1 + (is_leap(y) && r->n >= 60);
		break;
	case 'D':                       /* 0..365, February 29 counted */
		day = r->n;
		break;
	default:                        /* day d of week w (5: the last) */
		first = days_from_civil(y, r->m, 1);
		wday = (int)(((first + 4) % 7 + 7) % 7);        /* 0 = Sunday */
		len = mdays[r->m - 1] + (r->m == 2 && is_leap(y));
		dd = (r->d - wday + 7) % 7;
		for (i = 1; i < r->w && dd + 7 < len; i++)
			dd += 7;
		day = first - jan1 + dd;
		break;
	}
	return (jan1 + day) * 86400 + r->secs - off;
}

/*
 * The broken-down UTC time of t, by arithmetic (H. Hinnant's civil from
 * days): gmtime_r would apply the leap seconds of a "right/" zone in TZ.
 */
static void
civil(int64_t t, struct tm *tm)
{
	int64_t	days = t / 86400, sod = t % 86400, era, doe, yoe, doy, mp, y;

	if (sod < 0) {
		sod += 86400;
		days--;
	}
	memset(tm, 0, sizeof(*tm));
	tm->tm_hour = (int)(sod / 3600);
	tm->tm_min = (int)(sod / 60 % 60);
	tm->tm_sec = (int)(sod % 60);
	tm->tm_wday = (int)(((days + 4) % 7 + 7) % 7);  /* 1970-01-01: Thursday */
	era = (days + 719468 >= 0 ? days + 719468 : days + 719468 - 146096) / 146097;
	doe = days + 719468 - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	tm->tm_mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->tm_mon = (int)(mp < 10 ? mp + 2 : mp - 10);
	y = yoe + era * 400 + (tm->tm_mon <= 1);
	tm->tm_year = (int)(y - 1900);
	tm->tm_yday = (int)(days - days_from_civil(y, 1, 1));
}

/* Offset and DST flag of t under z, with the year of t in UTC (glibc). */
static void
ptz_eval(const struct posix_tz *z, int64_t t, int32_t *off, int *dst)
{
	struct tm	tm;
	int64_t		y, c0, c1;

	*off = z->std;
	*dst = 0;
	if (!z->has_dst)
		return;
	civil(t, &tm);
	y = (int64_t)tm.tm_year + 1900;
	c0 = rule_change(&z->r[0], y, z->std);
	c1 = rule_change(&z->r[1], y, z->dst);
	*dst = c0 > c1 ? (t < c1 || t >= c0) : (t >= c0 && t < c1);
	if (*dst)
		*off = z->dst;
}

/* --- TZif --- */

struct hdr {
	char		ver;
	uint32_t	isut, isstd, leap, time, type, chars;
};

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* The header at p[0..len): its counts, within sane bounds. 0 or -1. */
static int
hdr_read(const unsigned char *p, size_t len, struct hdr *h)
{
	if (len < HDR_LEN || memcmp(p, "TZif", 4) != 0)
		return -1;
	h->ver = (char)p[4];
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	if (h->type == 0 || h->type > 256 || h->time > 65536 ||
	    h->leap > 65536 || h->chars > 65536 ||
	    (h->isut != 0 && h->isut != h->type) ||
	    (h->isstd != 0 && h->isstd != h->type))
		return -1;
	return 0;
}

/* Length of the data block after h with tsz-byte times. */
static size_t
block_len(const struct hdr *h, size_t tsz)
{
	return h->time * (tsz + 1) + h->type * 6 + h->chars +
	    h->leap * (tsz + 4) + h->isstd + h->isut;
}

static void
zdata_free(struct zdata *z)
{
	if (z == NULL)
		return;
	free(z->at);
	free(z->idx);
	free(z->ty);
	free(z->leap);
	free(z);
}

/*
 * Parse the TZif file buf[0..len): the version 2+ data when there is
 * one (64-bit times and the footer), else the version 1 data. Returns
 * a new zdata, or NULL when the file is not TZif or is damaged.
 */
static struct zdata *
tzif_parse(const unsigned char *buf, size_t len)
{
	struct zdata		*z;
	struct hdr		 h;
	const unsigned char	*p, *end;
	size_t			 off = HDR_LEN, tsz = 4, blen, i;
	char			 foot[128];

	if (hdr_read(buf, len, &h) == -1)
		return NULL;
	if (h.ver >= '2') {
		blen = block_len(&h, 4);
		if (len - off < blen || hdr_read(buf + off + blen,
		    len - off - blen, &h) == -1)
			return NULL;
		off += blen + HDR_LEN;
		tsz = 8;
	}
	blen = block_len(&h, tsz);
	if (len - off < blen || (z = calloc(1, sizeof(*z))) == NULL)
		return NULL;
	z->nat = h.time;
	z->nty = h.type;
	z->nleap = h.leap;
	z->at = calloc(z->nat + 1, sizeof(*z->at));
	z->idx = calloc(z->nat + 1, 1);
	z->ty = calloc(z->nty, sizeof(*z->ty));
	z->leap = calloc(z->nleap + 1, sizeof(*z->leap));
	if (z->at == NULL || z->idx == NULL || z->ty == NULL || z->leap == NULL)
		goto bad;
	p = buf + off;
	for (i = 0; i < z->nat; i++, p += tsz)
		z->at[i] = tsz == 8 ? be64(p) : (int32_t)be32(p);
	for (i = 0; i < z->nat; i++, p++) {
		if (*p >= z->nty || (i > 0 && z->at[i] <= z->at[i - 1]))
			goto bad;
		z->idx[i] = *p;
	}
	for (i = 0; i < z->nty; i++, p += 6) {
		z->ty[i].utoff = (int32_t)be32(p);
		z->ty[i].isdst = p[4] != 0;
	}
	p += h.chars;
	for (i = 0; i < z->nleap; i++, p += tsz + 4) {
		z->leap[i].at = tsz == 8 ? be64(p) : (int32_t)be32(p);
		z->leap[i].corr = (int32_t)be32(p + tsz);
	}
	p += h.isstd + h.isut;
	/* the footer: "\n" POSIX-TZ-string "\n"; empty means none */
	end = buf + len;
	if (tsz == 8 && p < end && *p == '\n') {
		for (i = 0, p++; p < end && *p != '\n' && i < sizeof(foot) - 1; )
			foot[i++] = (char)*p++;
		foot[i] = '\0';
		z->has_ptz = p < end && *p == '\n' && i > 0 &&
		    ptz_parse(foot, &z->ptz) == 0;
	}
	/* before the first transition: the first standard-time type */
	for (z->first = 0; z->first < z->nty && z->ty[z->first].isdst; z->first++)
		;
	if (z->first == z->nty)
		z->first = 0;
	return z;
bad:
	zdata_free(z);
	return NULL;
}

/* --- the table --- */

/*
 * The canonical form of name (repeated '/' collapsed) into out, after
 * the syntax of tz.h. 0 or -1.
 */
static int
canon(const char *name, char out[TZ_NAME_MAX + 1])
{
	size_t	n = strlen(name), i, o = 0;

	if (n == 0 || n > TZ_NAME_MAX || name[0] == '/' ||
	    strstr(name, "..") != NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (!isalnum((unsigned char)name[i]) &&
		    strchr("_+-/", name[i]) == NULL)
			return -1;
		if (name[i] == '/' && o > 0 && out[o - 1] == '/')
			continue;
		out[o++] = name[i];
	}
	out[o] = '\0';
	return 0;
}

static int
zname_cmp(const void *a, const void *b)
{
	return strcmp(((const struct zname *)a)->name,
	    ((const struct zname *)b)->name);
}

/* The data of canonical name, or NULL. */
static struct zdata *
find(const char *cname)
{
	struct zname	key = { (char *)(uintptr_t)cname, NULL }, *z;

	if (tzt.n == 0)
		return NULL;
	z = bsearch(&key, tzt.v, tzt.n, sizeof(*tzt.v), zname_cmp);
	return z != NULL ? z->d : NULL;
}

/* Add canonical name for d, keeping the names sorted. 0 or -1 (ENOMEM). */
static int
add_name(const char *cname, struct zdata *d)
{
	struct zname	*v;
	size_t		 lo = 0, hi = tzt.n, mid;
	char		*s;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(tzt.v[mid].name, cname) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < tzt.n && strcmp(tzt.v[lo].name, cname) == 0)
		return 0;
	if (tzt.n == tzt.cap) {
		v = reallocarray(tzt.v, tzt.cap ? tzt.cap * 2 : 64, sizeof(*v));
		if (v == NULL)
			return -1;
		tzt.v = v;
		tzt.cap = tzt.cap ? tzt.cap * 2 : 64;
	}
	if ((s = strdup(cname)) == NULL)
		return -1;
	memmove(tzt.v + lo + 1, tzt.v + lo, (tzt.n - lo) * sizeof(*tzt.v));
	tzt.v[lo].name = s;
	tzt.v[lo].d = d;
	tzt.n++;
	return 0;
}

/*
 * The data of the TZif file at path: shared with an earlier name of the
 * same file, else read, parsed and kept. NULL if it is not a regular
 * TZif file (or on ENOMEM).
 */
static struct zdata *
load(const char *path)
{
	struct zdata	**dv, *z = NULL;
	struct stat	  st;
	unsigned char	 *buf = NULL;
	size_t		  i, got = 0;
	ssize_t		  r;
	int		  fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size < HDR_LEN || st.st_size > TZ_FILE_MAX)
		goto out;
	for (i = 0; i < tzt.nd; i++)
		if (tzt.data[i]->dev == st.st_dev && tzt.data[i]->ino == st.st_ino) {
			z = tzt.data[i];
			goto out;
		}
	if ((buf = malloc((size_t)st.st_size)) == NULL)
		goto out;
	while (got < (size_t)st.st_size && (r = read(fd, buf + got,
	    (size_t)st.st_size - got)) > 0)
		got += (size_t)r;
	if (tzt.nd == tzt.capd) {
		dv = reallocarray(tzt.data, tzt.capd ? tzt.capd * 2 : 64,
		    sizeof(*dv));
		if (dv == NULL)
			goto out;
		tzt.data = dv;
		tzt.capd = tzt.capd ? tzt.capd * 2 : 64;
	}
	if ((z = tzif_parse(buf, got)) == NULL)
		goto out;
	z->dev = st.st_dev;
	z->ino = st.st_ino;
	tzt.data[tzt.nd++] = z;
out:
	free(buf);
	close(fd);
	return z;
}

/* The data of name (any form): from the table, else (before tz_preload)
 * from its file. NULL if it is no zone. */
static struct zdata *
lookup(const char *name)
{
	char		 cname[TZ_NAME_MAX + 1], path[sizeof(TZ_DIR) + TZ_NAME_MAX + 1];
	struct zdata	*z;

	if (canon(name, cname) == -1)
		return NULL;
	if ((z = find(cname)) != NULL || tzt.sealed)
		return z;
	snprintf(path, sizeof(path), "%s/%s", TZ_DIR, cname);
	if ((z = load(path)) != NULL && add_name(cname, z) == -1)
		return NULL;
	return z;
}

/* Add every zone under TZ_DIR/rel (rel "" for the top), depth levels deep. */
static void
walk(const char *rel, int depth)
{
	char		 name[TZ_NAME_MAX + 2], cname[TZ_NAME_MAX + 1];
	char		 path[sizeof(TZ_DIR) + TZ_NAME_MAX + 2];
	struct dirent	*e;
	struct stat	 st;
	struct zdata	*z;
	DIR		*d;

	snprintf(path, sizeof(path), "%s/%s", TZ_DIR, rel);
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || snprintf(name, sizeof(name), "%s%s%s",
		    rel, *rel ? "/" : "", e->d_name) >= (int)sizeof(name) - 1 ||
		    canon(name, cname) == -1)
			continue;       /* zone.tab, tzdata.zi, too long */
		snprintf(path, sizeof(path), "%s/%s", TZ_DIR, cname);
		if (stat(path, &st) == -1)
			continue;
		if (S_ISDIR(st.st_mode) && depth > 1)
			walk(cname, depth - 1);
		else if (S_ISREG(st.st_mode) && (z = load(path)) != NULL)
			(void)add_name(cname, z);
	}
	closedir(d);
}

int
tz_preload(void)
{
	DIR	*d;

	if ((d = opendir(TZ_DIR)) == NULL)
		return -1;
	closedir(d);
	walk("", TZ_DEPTH_MAX);
	tzt.sealed = 1;
	return (int)tzt.n;
}

int
tz_valid(const char *name)
{
	return strcmp(name, "UTC") == 0 || lookup(name) != NULL;
}

/*
 * localtime_r's result for t in zone z (glibc's __tzfile_compute): the
 * type of the last transition at or before t; before the first, the
 * first standard-time type; from the last on, the footer's rule. Leap
 * seconds ("right/" zones) are taken off, and a leap second itself is
 * written as second 60.
 */
int
tz_localtime(const char *name, time_t t, struct tm *tm)
{
	const struct zdata	*z;
	int32_t			 off, corr = 0;
	int			 dst, hit = 0;
	size_t			 lo, hi, mid, i;

	if (strcmp(name, "UTC") == 0) {
		civil(t, tm);
		tm->tm_zone = NULL;
		return 0;
	}
	if ((z = lookup(name)) == NULL)
		return -1;
	if (z->nat == 0 || t < z->at[0]) {
		off = z->ty[z->first].utoff;
		dst = z->ty[z->first].isdst;
	} else if (t >= z->at[z->nat - 1] && z->has_ptz)
		ptz_eval(&z->ptz, t, &off, &dst);
	else {
		lo = 0;                 /* at[lo] <= t < at[hi] */
		hi = z->nat;
		while (hi - lo > 1) {
			mid = lo + (hi - lo) / 2;
			if (z->at[mid] <= t)
				lo = mid;
			else
				hi = mid;
		}
		off = z->ty[z->idx[lo]].utoff;
		dst = z->ty[z->idx[lo]].isdst;
	}
	for (i = z->nleap; i > 0 && t < z->leap[i - 1].at; i--)
		;
	if (i > 0) {
		i--;
		corr = z->leap[i].corr;
		if (t == z->leap[i].at &&
		    corr > (i == 0 ? 0 : z->leap[i - 1].corr)) {
			hit = 1;
			for (; i > 0 && z->leap[i].at == z->leap[i - 1].at + 1 &&
			    z->leap[i].corr == z->leap[i - 1].corr + 1; i--)
				hit++;
		}
	}
	civil((int64_t)t + off - corr, tm);
	tm->tm_sec += hit;
	tm->tm_isdst = dst;
	tm->tm_gmtoff = off;
	tm->tm_zone = NULL;
	return 0;
}
