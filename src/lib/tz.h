/*
 * tz.h - IANA time zones from the TZif files under /usr/share/zoneinfo
 * (RFC 8536), held in memory: a zone's local time needs neither a file
 * nor a switch of the process's TZ. The worker reads every zone once,
 * with tz_preload(), before it confines itself (sandbox.h); elsewhere a
 * zone is read the first time it is named and kept.
 *
 * A zone name is "UTC" or 1..63 bytes of [A-Za-z0-9_+-/] that do not start
 * with '/' and hold no ".."; repeated slashes count as one.
 */
#ifndef TC_TZ_H
#define TC_TZ_H

#include <time.h>

#define TZ_DIR		"/usr/share/zoneinfo"
#define TZ_NAME_MAX	63

/*
 * Read every zone under TZ_DIR now; from then on no lookup opens a file
 * (a zone that was not there is unknown until the process restarts).
 * Returns the number of zone names, or -1 with errno set when TZ_DIR
 * cannot be read.
 */
int	tz_preload(void);
/* 1 if name is a zone (a TZif file under TZ_DIR, or "UTC"), else 0. */
int	tz_valid(const char *name);
/*
 * The broken-down local time of t in zone name into *tm, as localtime_r
 * with TZ=":name" would give it (tm_zone is left NULL). 0, or -1 when the
 * zone is unknown.
 */
int	tz_localtime(const char *name, time_t t, struct tm *tm);

#endif
