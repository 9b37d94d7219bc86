/*
 * log.c - one escaped line per message on stderr (the web server's error
 * log). A line is written with a single write(2) so lines of concurrent
 * workers do not interleave.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define LOG_MSG_MAX	2048    /* formatted message, before escaping */
#define LOG_LINE_MAX	(LOG_MSG_MAX * 4 + 64)

static int	log_level = TCLOG_INFO;

static const char *const level_names[] = { "error", "warn", "info", "debug" };

/* Set the most verbose level that is still written. */
void
log_set_level(int level)
{
	if (level < TCLOG_ERROR)
		level = TCLOG_ERROR;
	if (level > TCLOG_DEBUG)
		level = TCLOG_DEBUG;
	log_level = level;
}

/* The current level. */
int
log_get_level(void)
{
	return log_level;
}

/* "error", "warn", "info" or "debug" -> its level; -1 for anything else. */
int
log_level_parse(const char *s)
{
	int	i;

	for (i = TCLOG_ERROR; i <= TCLOG_DEBUG; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	return -1;
}

/*
 * Copy s into buf[bufsz] with bytes < 0x20 and >= 0x7f written as \xNN and
 * a backslash as "\\", so no input can forge a line or a terminal escape.
 * Truncates between (never inside) escapes; always NUL-terminates when
 * bufsz > 0. Returns buf.
 */
char *
log_escape(const char *s, char *buf, size_t bufsz)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p;
	size_t			 o = 0;

	if (bufsz == 0)
		return buf;
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f) {
			if (bufsz - o < 5)
				break;
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 0x0f];
		} else if (*p == '\\') {
			if (bufsz - o < 3)
				break;
			buf[o++] = '\\';
			buf[o++] = '\\';
		} else {
			if (bufsz - o < 2)
				break;
			buf[o++] = (char)*p;
		}
	}
	buf[o] = '\0';
	return buf;
}

/*
 * Format a message (truncated at LOG_MSG_MAX bytes), escape it and write
 * "tokencat[<pid>]: <level>: <message>\n" to stderr, if level is enabled.
 */
void
log_msg(int level, const char *fmt, ...)
{
	char	msg[LOG_MSG_MAX], line[LOG_LINE_MAX];
	va_list	ap;
	int	n;
	size_t	len;
	ssize_t	w;

	if (level > log_level || level < TCLOG_ERROR)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n = snprintf(line, sizeof(line), "tokencat[%ld]: %s: ",
	    (long)getpid(), level_names[level]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	len = (size_t)n;
	log_escape(msg, line + len, sizeof(line) - len - 1);
	len += strlen(line + len);
	line[len++] = '\n';
	w = write(STDERR_FILENO, line, len);
	(void)w;        /* nowhere left to report a failed log write */
}
