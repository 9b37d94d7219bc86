/*
 * log.h - one line per message to stderr (the web server's error log).
 * Every formatted line is escaped before it is written: control characters
 * and bytes >= 0x7f become \xNN and a backslash becomes \\, so nothing from
 * a request can forge a log line. Never pass a token or a password to these functions.
 */
#ifndef TC_LOG_H
#define TC_LOG_H

enum log_level { TCLOG_ERROR = 0, TCLOG_WARN, TCLOG_INFO, TCLOG_DEBUG };

void	log_set_level(int);
int	log_get_level(void);
/* "error", "warn", "info", "debug" -> level; -1 if unknown. */
int	log_level_parse(const char *);
void	log_msg(int level, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

#define log_error(...)	log_msg(TCLOG_ERROR, __VA_ARGS__)
#define log_warn(...)	log_msg(TCLOG_WARN, __VA_ARGS__)
#define log_info(...)	log_msg(TCLOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(TCLOG_DEBUG, __VA_ARGS__)

/* Escape s into buf the same way lines are escaped (for tests). Returns buf. */
char	*log_escape(const char *s, char *buf, size_t bufsz);

#endif
