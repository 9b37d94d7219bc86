/*
 * noop_fcgi.c - the baseline of bench/run.sh: a libfcgi responder that
 * answers every request 200 with a tiny JSON body and does nothing else.
 * With NOOP_CLOSE_AT_ONCE=1 in its environment it also ends each
 * connection as tokencat.fcgi does (main_fcgi.c: close_at_once_if_read),
 * without libfcgi's lingering close: the transport tokencat uses, doing
 * nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>

int
main(void)
{
	FCGX_Request req;
	const char *v = getenv("NOOP_CLOSE_AT_ONCE");
	int at_once = v != NULL && strcmp(v, "1") == 0;

	FCGX_Init();
	FCGX_InitRequest(&req, 0, 0);
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutS("Status: 200 OK\r\nContent-Type: application/json\r\n"
		    "Cache-Control: no-store\r\n\r\n{\"allowed\":true}", req.out);
		if (at_once && FCGX_GetChar(req.in) == EOF &&
		    FCGX_HasSeenEOF(req.in) == EOF)
			FCGX_Detach(&req);
		FCGX_Finish_r(&req);
	}
	return 0;
}
