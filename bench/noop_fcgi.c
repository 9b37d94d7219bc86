/*
 * noop_fcgi.c - the baseline of bench/run.sh: a libfcgi responder that
 * answers every request 200 with a tiny JSON body and does nothing else.
 */
#include <fcgiapp.h>

int
main(void)
{
	FCGX_Request req;

	FCGX_Init();
	FCGX_InitRequest(&req, 0, 0);
	while (FCGX_Accept_r(&req) >= 0) {
		FCGX_PutS("Status: 200 OK\r\nContent-Type: application/json\r\n"
		    "Cache-Control: no-store\r\n\r\n{\"allowed\":true}", req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
