/*
 * sandbox.h - the worker's seccomp allow-list (Linux, libseccomp), in
 * the spirit of OpenBSD's pledge(2) in slowcgi and of kcgi's seccomp
 * sandbox: once the config, the store, the key, the zones and the
 * sockets are open, the worker gives up every system call that serving
 * does not need. Anything else kills the process (SIGSYS); opening a file
 * fails with EACCES instead, because libraries try files lazily and cope.
 */
#ifndef TC_SANDBOX_H
#define TC_SANDBOX_H

#include <stddef.h>

/* sandbox_enter() flags */
#define SANDBOX_CLIENT	0x1	/* may open stream sockets and connect:
				 * a PostgreSQL store that reconnects */

/*
 * Confine the calling process for the rest of its life (and no_new_privs
 * set): read, write and close existing descriptors, accept(2) on
 * listen_fd only (-1: on none), memory without PROT_EXEC, record locks,
 * fdatasync, time, random bytes, signals to itself and exit. With
 * SANDBOX_CLIENT also a stream socket (UNIX, IPv4 or IPv6) connected
 * anywhere, and what a client does on it; any other socket still kills.
 * Returns 0, or -1 with a sentence in err (nothing installed: the kernel
 * or the build has no seccomp filter).
 */
int	sandbox_enter(int listen_fd, int flags, char *err, size_t errsz);

#endif
