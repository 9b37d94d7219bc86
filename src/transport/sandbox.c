/*
 * sandbox.c - the worker's seccomp allow-list (see sandbox.h), built with
 * libseccomp. The list is what `strace -f` showed the workers of the
 * black-box suite doing after the point where main_fcgi.c calls
 * sandbox_enter() (serving both roles and CGI, growing both LMDB maps,
 * writing batched uses, a full disk), plus what a path the suite does not
 * take needs for certain: abort(), clock fallbacks when the vDSO has
 * none, free() and realloc() of large blocks. Every suite then runs with
 * the filter on, and the black-box runner counts a worker that died of
 * SIGSYS as a failure.
 *
 * Default action: kill the process (SIGSYS; the web server logs the
 * death and starts another worker). Opening a file fails with EACCES
 * instead, as in OpenSSH's and kcgi's seccomp sandboxes: a library that
 * tries a file late (glibc for /etc/localtime, OpenSSL for its config)
 * gets an error it handles, and nothing is opened.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sched.h>

#include <seccomp.h>

#include "sandbox.h"

/* Built with AddressSanitizer (gcc: __SANITIZE_ADDRESS__, clang: feature). */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_ASAN	1
#endif
#endif

/*
 * Built with -DSANDBOX_AUDIT, a call off the list is allowed and logged by
 * the kernel instead ("audit: type=1326 ... comm=\"tokencat.fcgi\" ...
 * syscall=N" in dmesg), and so is opening a file: how to find what a new
 * code path needs without strace in the way (as under LeakSanitizer).
 */
#ifdef SANDBOX_AUDIT
#define SANDBOX_DENY		SCMP_ACT_LOG
#else
#define SANDBOX_DENY		SCMP_ACT_KILL_PROCESS
#endif

/* Allowed whatever their arguments. */
static const int plain[] = {
	/* descriptors the worker holds: FastCGI connections, LMDB's files,
	 * stderr (the log) and, for CGI, stdin and stdout */
	SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(write),
	SCMP_SYS(writev), SCMP_SYS(pwrite64), SCMP_SYS(lseek),
	SCMP_SYS(close), SCMP_SYS(fdatasync),
	/* room kept in the token indexes' file (store_index.c) */
	SCMP_SYS(fallocate),
	/* glibc's fstat() (AT_EMPTY_PATH); write_err's fstatvfs() */
	SCMP_SYS(newfstatat), SCMP_SYS(fstatfs),
	/* libfcgi (Debian's, with poll): a connection's data, its close */
	SCMP_SYS(poll), SCMP_SYS(shutdown),
	/* memory (mmap and mprotect below: never executable); mremap and
	 * madvise for realloc() and free() of large blocks */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(madvise),
	/* LMDB's process-shared mutexes */
	SCMP_SYS(futex),
	/* time (the vDSO's fallbacks), random bytes (OpenSSL's DRBG),
	 * the pid of log lines, gettid for raise() */
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(getrandom), SCMP_SYS(getpid), SCMP_SYS(gettid),
	/* glibc's qsort() asks for the size of memory */
	SCMP_SYS(sysinfo),
	/* signals: SIGTERM's handler, abort() */
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigaction), SCMP_SYS(restart_syscall),
	SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* fcntl(2) commands: LMDB's record locks (its reader table's pids). */
static const int fcntl_cmds[] = {
	F_GETLK, F_SETLK, F_SETLKW,
};

/* Add one rule; on failure say which in err. 0 or -1. */
static int
rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned n,
    const struct scmp_arg_cmp *cmp, char *err, size_t errsz)
{
	int	rc;

	if ((rc = seccomp_rule_add_array(ctx, action, nr, n, cmp)) == 0)
		return 0;
	snprintf(err, errsz, "sandbox: cannot add the rule for system call "
	    "%d: %s", nr, strerror(-rc));
	return -1;
}

#ifdef SANDBOX_ASAN
/* prctl(2) options of LeakSanitizer's StopTheWorld (PR_SET_DUMPABLE:
 * only when the process is not dumpable). */
static const int asan_prctl[] = {
	PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_SET_PTRACER, PR_SET_PDEATHSIG,
};

/*
 * In sanitizer builds only (test builds, never installed): what their
 * runtime needs on top. At exit LeakSanitizer starts a helper that shares
 * the worker's memory (clone with CLONE_VM, never a fork), lists
 * /proc/PID/task and ptraces the worker while it scans; a report reads
 * /proc/self/maps and the binaries (opened read-only). Found by taking
 * each out in turn from a worker made to leak (LD_PRELOAD): without any
 * one of them the report is lost, and the worker killed or left spinning
 * while it waits for its dead helper. 0 or -1 with err.
 */
static int
sanitizer_rules(scmp_filter_ctx ctx, char *err, size_t errsz)
{
	static const int	 plain_asan[] = {
		SCMP_SYS(ptrace), SCMP_SYS(wait4), SCMP_SYS(sched_yield),
		SCMP_SYS(sigaltstack), SCMP_SYS(getppid), SCMP_SYS(getdents),
		SCMP_SYS(readlink),
	};
	struct scmp_arg_cmp	 c[1];
	size_t			 i;

	for (i = 0; i < sizeof(plain_asan) / sizeof(plain_asan[0]); i++)
		if (rule(ctx, SCMP_ACT_ALLOW, plain_asan[i], 0, NULL, err,
		    errsz) == -1)
			return -1;
	c[0] = SCMP_A0_64(SCMP_CMP_MASKED_EQ, CLONE_VM, CLONE_VM);
	if (rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, c, err, errsz) == -1)
		return -1;
	for (i = 0; i < sizeof(asan_prctl) / sizeof(asan_prctl[0]); i++) {
		c[0] = SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)asan_prctl[i]);
		if (rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1, c, err,
		    errsz) == -1)
			return -1;
	}
	c[0] = SCMP_A2_32(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, 0);
	if (rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1, c, err, errsz) == -1)
		return -1;
	c[0] = SCMP_A1_32(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, 0);
	return rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open), 1, c, err, errsz);
}
#endif

/* fcntl(2) commands of libpq on its own sockets (non-blocking, CLOEXEC). */
static const int client_fcntl[] = {
	F_GETFL, F_SETFL, F_GETFD, F_SETFD,
};

/* Socket families a client may open (SANDBOX_CLIENT). */
static const int client_af[] = {
	AF_UNIX, AF_INET, AF_INET6,
};

/*
 * SANDBOX_CLIENT: what libpq does when it connects again (PQreset) after
 * the server went away, seen with strace in the PostgreSQL fault tests:
 * a stream socket of the three families (SOCK_NONBLOCK and SOCK_CLOEXEC
 * allowed; a datagram or raw socket kills), connect, its options, and
 * send and receive on it. The server's address cannot be checked here:
 * a filter sees no memory behind a pointer. 0 or -1 with err.
 */
static int
client_rules(scmp_filter_ctx ctx, char *err, size_t errsz)
{
	static const int	 plain_client[] = {
		SCMP_SYS(connect), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
		SCMP_SYS(getsockname), SCMP_SYS(getpeername),
		SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg),
		SCMP_SYS(recvmsg),
	};
	struct scmp_arg_cmp	 c[2];
	size_t			 i;

	for (i = 0; i < sizeof(plain_client) / sizeof(plain_client[0]); i++)
		if (rule(ctx, SCMP_ACT_ALLOW, plain_client[i], 0, NULL, err,
		    errsz) == -1)
			return -1;
	for (i = 0; i < sizeof(client_af) / sizeof(client_af[0]); i++) {
		c[0] = SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)client_af[i]);
		c[1] = SCMP_A1_32(SCMP_CMP_MASKED_EQ,
		    ~(uint32_t)(SOCK_NONBLOCK | SOCK_CLOEXEC), SOCK_STREAM);
		if (rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2, c, err,
		    errsz) == -1)
			return -1;
	}
	for (i = 0; i < sizeof(client_fcntl) / sizeof(client_fcntl[0]); i++) {
		c[0] = SCMP_A1_32(SCMP_CMP_EQ, (uint32_t)client_fcntl[i]);
		if (rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, c, err,
		    errsz) == -1)
			return -1;
	}
	return 0;
}

/* The allow-list into ctx (see the file's comment). 0 or -1 with err. */
static int
rules(scmp_filter_ctx ctx, int listen_fd, int flags, char *err, size_t errsz)
{
	struct scmp_arg_cmp	c[2];
	size_t			i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (rule(ctx, SCMP_ACT_ALLOW, plain[i], 0, NULL, err, errsz) == -1)
			return -1;
	/* memory, never executable */
	c[0] = SCMP_A2_32(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
	if (rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1, c, err, errsz) == -1 ||
	    rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1, c, err, errsz) == -1)
		return -1;
	/* abort(): SIGABRT to its own thread */
	c[0] = SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)getpid());
	if (rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1, c, err, errsz) == -1)
		return -1;
#if defined(SANDBOX_ASAN)
	if (sanitizer_rules(ctx, err, errsz) == -1)
		return -1;
#elif !defined(SANDBOX_AUDIT)
	/* no file is opened: EACCES, not death (see the file's comment) */
	if (rule(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 0, NULL, err,
	    errsz) == -1 || rule(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(open),
	    0, NULL, err, errsz) == -1)
		return -1;
#endif
	/* connections come from the FastCGI listening socket only */
	c[0] = SCMP_A0_32(SCMP_CMP_EQ, (uint32_t)listen_fd);
	if (listen_fd >= 0 && rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(accept), 1,
	    c, err, errsz) == -1)
		return -1;
	if ((flags & SANDBOX_CLIENT) && client_rules(ctx, err, errsz) == -1)
		return -1;
	/* libfcgi's TCP_NODELAY */
	c[0] = SCMP_A1_32(SCMP_CMP_EQ, IPPROTO_TCP);
	c[1] = SCMP_A2_32(SCMP_CMP_EQ, TCP_NODELAY);
	if (rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(setsockopt), 2, c, err,
	    errsz) == -1)
		return -1;
	for (i = 0; i < sizeof(fcntl_cmds) / sizeof(fcntl_cmds[0]); i++) {
		c[0] = SCMP_A1_32(SCMP_CMP_EQ, (uint32_t)fcntl_cmds[i]);
		if (rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1, c, err,
		    errsz) == -1)
			return -1;
	}
	/* stdio asks whether a descriptor is a terminal (CGI by hand) */
	c[0] = SCMP_A1_32(SCMP_CMP_EQ, TCGETS);
	if (rule(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, c, err, errsz) == -1)
		return -1;
	return 0;
}

int
sandbox_enter(int listen_fd, int flags, char *err, size_t errsz)
{
	scmp_filter_ctx	ctx;
	int		rc = -1, lrc;

	if ((ctx = seccomp_init(SANDBOX_DENY)) == NULL) {
		snprintf(err, errsz, "sandbox: no seccomp filter that kills "
		    "the process here (Linux before 4.14, or run by valgrind)");
		return -1;
	}
	/* another architecture's system calls (int 0x80, x32): death too */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS) != 0) {
		snprintf(err, errsz, "sandbox: cannot set the action for "
		    "other architectures");
		goto out;
	}
	if (rules(ctx, listen_fd, flags, err, errsz) == -1)
		goto out;
	if ((lrc = seccomp_load(ctx)) != 0) {
		snprintf(err, errsz, "sandbox: the kernel refused the seccomp "
		    "filter: %s", strerror(-lrc));
		goto out;
	}
	rc = 0;
out:
	seccomp_release(ctx);
	return rc;
}
