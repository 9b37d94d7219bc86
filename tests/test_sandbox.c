/*
 * test_sandbox.c - the worker's seccomp filter (sandbox.h), the one
 * production installs: each row runs one system call in a forked child
 * that has entered the sandbox, and says how the child must end: killed
 * by SIGSYS (forbidden), or exiting with the call's result (allowed, or
 * refused with EACCES: opening files).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "sandbox.h"

#define NROWS(a)	(sizeof(a) / sizeof((a)[0]))

#if defined(__SANITIZE_ADDRESS__)
#define ASAN	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN	1
#endif
#endif
#ifndef ASAN
#define ASAN	0
#endif

/* Descriptors opened before the sandbox, as the worker's are. */
struct fds {
	int	listen;         /* a non-blocking UNIX listening socket */
	int	other;          /* a non-blocking UNIX socket, not listening */
	int	file;           /* a temporary file, read-write */
	int	pipe[2];
};

static struct fds	fds;
static char		sockpath[64], filepath[64];
static int		confine_flags;  /* sandbox_enter() flags of the rows */

static void
setup(void)
{
	struct sockaddr_un	sun;

	snprintf(sockpath, sizeof(sockpath), "/tmp/tc-sbx-%ld.sock", (long)getpid());
	snprintf(filepath, sizeof(filepath), "/tmp/tc-sbx-%ld.dat", (long)getpid());
	unlink(sockpath);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sockpath);
	fds.listen = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	cr_assert_geq(fds.listen, 0);
	cr_assert_eq(bind(fds.listen, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(listen(fds.listen, 4), 0);
	fds.other = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	cr_assert_geq(fds.other, 0);
	fds.file = open(filepath, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fds.file, 0);
	cr_assert_eq(write(fds.file, "0123456789", 10), 10);
	cr_assert_eq(pipe(fds.pipe), 0);
}

static void
teardown(void)
{
	unlink(sockpath);
	unlink(filepath);
}

TestSuite(sandbox, .init = setup, .fini = teardown);

/* How a row's child must end. */
enum end {
	KILLED,         /* SIGSYS */
	RETURNS,        /* the call succeeded */
	EACCESS,        /* the call failed with EACCES */
};

struct row {
	const char	*what;
	long		(*call)(void);  /* the result, or -errno */
	enum end	 end;
	int		 asan_allows;   /* allowed in sanitizer builds */
};

/*
 * Fork a child that enters the sandbox and makes row's call; its exit
 * status is 0 when the call succeeded, else the errno (255: no sandbox).
 */
static int
run_confined(const struct row *r)
{
	char	err[256];
	pid_t	pid;
	long	rc;
	int	st;

	fflush(NULL);
	if ((pid = fork()) == 0) {
		if (sandbox_enter(fds.listen, confine_flags, err,
		    sizeof(err)) == -1) {
			(void)!write(2, err, strlen(err));
			_exit(255);
		}
		rc = r->call();
		_exit(rc >= 0 ? 0 : rc < -254 ? 254 : (int)-rc);
	}
	cr_assert_gt(pid, 0);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return st;
}

static void
check(const struct row *r)
{
	int	st = run_confined(r);

	cr_assert(!WIFEXITED(st) || WEXITSTATUS(st) != 255,
	    "%s: the sandbox could not be entered", r->what);
	if (r->end == KILLED && !(ASAN && r->asan_allows))
		cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS,
		    "%s: not killed by SIGSYS (status %#x)", r->what, st);
	else if (r->end == EACCESS)
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == EACCES,
		    "%s: not refused with EACCES (status %#x)", r->what, st);
	else if (r->end == RETURNS)
		cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		    "%s: failed or killed (status %#x)", r->what, st);
}

/* The result of a libc call: its value, or -errno. */
#define RES(x)	({ long _r = (long)(x); _r < 0 ? -(long)errno : _r; })

/* --- forbidden: the process dies --- */

static long
do_execve(void)
{
	char *const argv[] = { (char *)(uintptr_t)"/bin/true", NULL };

	return RES(execve("/bin/true", argv, argv + 1));
}

static long
do_execveat(void)
{
	char *const argv[] = { (char *)(uintptr_t)"true", NULL };

	return RES(syscall(SYS_execveat, AT_FDCWD, "/bin/true", argv, argv + 1, 0));
}

static long do_socket_inet(void) { return RES(socket(AF_INET, SOCK_STREAM, 0)); }
static long do_socket_unix(void) { return RES(socket(AF_UNIX, SOCK_DGRAM, 0)); }
static long do_socketpair(void)
{
	int sv[2];

	return RES(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
}

static long
do_connect(void)
{
	struct sockaddr_un	sun;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sockpath);
	return RES(connect(fds.other, (struct sockaddr *)&sun, sizeof(sun)));
}

static long
do_bind(void)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	return RES(bind(fds.other, (struct sockaddr *)&sin, sizeof(sin)));
}

static long do_listen(void) { return RES(listen(fds.other, 1)); }
static long do_accept_other(void) { return RES(accept(fds.other, NULL, NULL)); }
static long do_ptrace(void) { return RES(ptrace(PTRACE_TRACEME, 0, NULL, NULL)); }
static long do_fork(void) { return RES(fork()); }
static long do_vfork(void) { return RES(syscall(SYS_vfork)); }
static long do_clone3(void) { return RES(syscall(SYS_clone3, NULL, 0)); }
static long do_kill_parent(void) { return RES(kill(getppid(), 0)); }
static long do_unlink(void) { return RES(unlink(filepath)); }
static long do_mkdir(void) { return RES(mkdir("/tmp/tc-sbx-never", 0700)); }
static long do_rename(void) { return RES(rename(filepath, "/tmp/tc-sbx-x")); }
static long do_chmod(void) { return RES(chmod(filepath, 0666)); }
static long do_ftruncate(void) { return RES(ftruncate(fds.file, 0)); }
static long do_setuid(void) { return RES(setuid(0)); }
static long do_memfd(void) { return RES(syscall(SYS_memfd_create, "x", 0)); }
static long do_dup(void) { return RES(dup(fds.file)); }
static long do_fcntl_dupfd(void) { return RES(fcntl(fds.file, F_DUPFD, 10)); }
static long do_fcntl_setfl(void) { return RES(fcntl(fds.file, F_SETFL, O_APPEND)); }
static long do_fsync(void) { return RES(fsync(fds.file)); }
static long do_statfs_path(void)
{
	struct statfs	sf;

	return RES(statfs("/", &sf));
}
static long do_ioctl_tiocsti(void)
{
	char c = 'x';

	return RES(ioctl(0, TIOCSTI, &c));
}

static long
do_setsockopt_other(void)
{
	int one = 1;

	return RES(setsockopt(fds.listen, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)));
}

static long
do_mmap_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? -(long)errno : 0;
}

static long
do_mprotect_exec(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return -(long)errno;
	return RES(mprotect(p, 4096, PROT_READ | PROT_EXEC));
}

static long do_x32_getpid(void) { return RES(syscall(0x40000000 | SYS_getpid)); }

static long	do_rcvtimeo(void);

static const struct row forbidden[] = {
	{ "execve", do_execve, KILLED, 0 },
	{ "execveat", do_execveat, KILLED, 0 },
	{ "socket(AF_INET)", do_socket_inet, KILLED, 0 },
	{ "socket(AF_UNIX)", do_socket_unix, KILLED, 0 },
	{ "socketpair", do_socketpair, KILLED, 0 },
	{ "connect", do_connect, KILLED, 0 },
	{ "bind", do_bind, KILLED, 0 },
	{ "listen", do_listen, KILLED, 0 },
	{ "accept on another descriptor", do_accept_other, KILLED, 0 },
	{ "setsockopt SO_RCVTIMEO", do_rcvtimeo, KILLED, 0 },
	{ "ptrace", do_ptrace, KILLED, 1 },
	{ "fork", do_fork, KILLED, 0 },
	{ "vfork", do_vfork, KILLED, 0 },
	{ "clone3", do_clone3, KILLED, 0 },
	{ "kill of another process", do_kill_parent, KILLED, 0 },
	{ "unlink", do_unlink, KILLED, 0 },
	{ "mkdir", do_mkdir, KILLED, 0 },
	{ "rename", do_rename, KILLED, 0 },
	{ "chmod", do_chmod, KILLED, 0 },
	{ "ftruncate", do_ftruncate, KILLED, 0 },
	{ "setuid", do_setuid, KILLED, 0 },
	{ "memfd_create", do_memfd, KILLED, 0 },
	{ "dup", do_dup, KILLED, 0 },
	{ "fcntl(F_DUPFD)", do_fcntl_dupfd, KILLED, 0 },
	{ "fcntl(F_SETFL)", do_fcntl_setfl, KILLED, 0 },
	{ "fsync (LMDB uses fdatasync)", do_fsync, KILLED, 0 },
	{ "statfs by path", do_statfs_path, KILLED, 0 },
	{ "ioctl(TIOCSTI)", do_ioctl_tiocsti, KILLED, 0 },
	{ "setsockopt(SO_REUSEADDR)", do_setsockopt_other, KILLED, 0 },
	{ "mmap with PROT_EXEC", do_mmap_exec, KILLED, 0 },
	{ "mprotect to PROT_EXEC", do_mprotect_exec, KILLED, 0 },
	{ "an x32 system call", do_x32_getpid, KILLED, 0 },
};

Test(sandbox, forbidden_calls_kill_the_process)
{
	size_t	i;

	for (i = 0; i < NROWS(forbidden); i++)
		check(&forbidden[i]);
}

/* --- files: never opened, EACCES --- */

static long do_open(void) { return RES(open("/etc/hostname", O_RDONLY)); }
static long do_openat_new(void)
{
	return RES(openat(AT_FDCWD, "/tmp/tc-sbx-new", O_WRONLY | O_CREAT, 0600));
}

static long
do_fopen(void)
{
	FILE *f = fopen("/etc/passwd", "r");

	if (f != NULL)
		fclose(f);
	return f != NULL ? 0 : -(long)errno;
}

static const struct row files[] = {
	{ "open", do_open, EACCESS, 0 },
	{ "openat with O_CREAT", do_openat_new, EACCESS, 0 },
	{ "fopen", do_fopen, EACCESS, 0 },
};

Test(sandbox, opening_a_file_fails_with_eacces, .disabled = ASAN)
{
	size_t	i;

	for (i = 0; i < NROWS(files); i++)
		check(&files[i]);
}

/* --- what serving needs: allowed --- */

static long
do_pipe_io(void)
{
	char	c;

	if (write(fds.pipe[1], "x", 1) != 1 || read(fds.pipe[0], &c, 1) != 1)
		return -(long)errno;
	return c == 'x' ? 0 : -EIO;
}

static long
do_file_io(void)
{
	char		buf[4];
	struct stat	st;

	if (pwrite(fds.file, "ab", 2, 2) != 2 ||
	    pread(fds.file, buf, 4, 0) != 4 || fstat(fds.file, &st) != 0 ||
	    lseek(fds.file, 0, SEEK_END) != 10 || fdatasync(fds.file) != 0)
		return -(long)errno;
	return memcmp(buf, "01ab", 4) == 0 ? 0 : -EIO;
}

static long
do_locks(void)
{
	struct flock	fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_len = 1;
	if (fcntl(fds.file, F_SETLK, &fl) != 0 || fcntl(fds.file, F_GETLK,
	    &fl) != 0)
		return -(long)errno;
	return 0;
}

static long
do_memory(void)
{
	char	*p, *q;

	if ((p = malloc(1 << 22)) == NULL)      /* mmap */
		return -ENOMEM;
	memset(p, 1, 1 << 22);
	if ((q = realloc(p, 1 << 23)) == NULL)  /* mremap */
		return -ENOMEM;
	free(q);
	p = mmap(NULL, 1 << 16, PROT_READ, MAP_SHARED, fds.file, 0);
	if (p == MAP_FAILED || munmap(p, 1 << 16) != 0)
		return -(long)errno;
	return 0;
}

static long
do_time_random(void)
{
	struct timespec	ts;
	struct timeval	tv;
	unsigned char	b[16];

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0 ||
	    clock_gettime(CLOCK_REALTIME, &ts) != 0 ||
	    gettimeofday(&tv, NULL) != 0 || getrandom(b, sizeof(b), 0) != 16 ||
	    getpid() <= 0)
		return -(long)errno;
	return 0;
}

/* What a worker does with no connection waiting: accept, then poll. */
static long
do_accept_listener(void)
{
	struct pollfd	pfd = { fds.listen, POLLIN, 0 };
	long		rc = RES(accept(fds.listen, NULL, NULL));

	if (rc != -EAGAIN)
		return rc < 0 ? rc : -EIO;
	return RES(poll(&pfd, 1, 0));
}

/* The accept timeout of before: no longer needed, so denied. */
static long
do_rcvtimeo(void)
{
	struct timeval	tv = { 0, 100000 };

	return RES(setsockopt(fds.listen, SOL_SOCKET, SO_RCVTIMEO, &tv,
	    sizeof(tv)));
}

static long
do_signals(void)
{
	sigset_t	set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
	    raise(SIGTERM) != 0 ||
	    sigprocmask(SIG_UNBLOCK, &set, NULL) != 0)
		return -(long)errno;
	return -EIO;            /* SIGTERM ends the child before this */
}

static long
do_poll_close(void)
{
	struct pollfd	pfd = { fds.pipe[0], POLLIN, 0 };

	if (poll(&pfd, 1, 0) < 0 || close(fds.pipe[0]) != 0)
		return -(long)errno;
	return 0;
}

static const struct row allowed[] = {
	{ "read and write", do_pipe_io, RETURNS, 0 },
	{ "pread, pwrite, fstat, lseek, fdatasync", do_file_io, RETURNS, 0 },
	{ "fcntl record locks", do_locks, RETURNS, 0 },
	{ "malloc, realloc, a shared read-only map", do_memory, RETURNS, 0 },
	{ "clocks, getrandom, getpid", do_time_random, RETURNS, 0 },
	{ "accept on the listening socket, then poll on it", do_accept_listener,
	    RETURNS, 0 },
	{ "poll and close", do_poll_close, RETURNS, 0 },
};

Test(sandbox, what_serving_needs_is_allowed)
{
	size_t	i;

	for (i = 0; i < NROWS(allowed); i++)
		check(&allowed[i]);
}

Test(sandbox, a_signal_to_itself_is_delivered)
{
	struct row	r = { "raise(SIGTERM)", do_signals, RETURNS, 0 };
	int		st = run_confined(&r);

	cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "status %#x", st);
}

Test(sandbox, without_a_listener_accept_kills)
{
	struct row	r = { "accept", do_accept_listener, KILLED, 0 };
	char		err[256];
	pid_t		pid;
	int		st;

	if ((pid = fork()) == 0) {
		if (sandbox_enter(-1, 0, err, sizeof(err)) == -1)
			_exit(255);
		_exit((int)r.call());
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_expect(WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS, "status %#x", st);
}

/* --- SANDBOX_CLIENT (a PostgreSQL store): what libpq does to reconnect --- */

/* A new stream socket, non-blocking, connected to our listener, as libpq. */
static long
do_client_connect(void)
{
	struct sockaddr_un	sun;
	int			fd, one = 1, fl;
	char			c = 'x';

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -(long)errno;
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -(long)errno;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sockpath);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one)) < 0 ||
	    send(fd, &c, 1, MSG_NOSIGNAL) != 1)
		return -(long)errno;
	return RES(close(fd));
}

static long do_socket_inet6(void) { return RES(socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0)); }
static long do_socket_udp(void) { return RES(socket(AF_INET, SOCK_DGRAM, 0)); }
static long do_socket_raw(void) { return RES(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)); }
static long do_socket_netlink(void) { return RES(socket(AF_NETLINK, SOCK_RAW, 0)); }

static const struct row client[] = {
	{ "stream socket, fcntl, connect, setsockopt, send", do_client_connect,
	    RETURNS, 0 },
	{ "socket(AF_INET6, SOCK_STREAM)", do_socket_inet6, RETURNS, 0 },
	{ "socket(AF_INET, SOCK_STREAM)", do_socket_inet, RETURNS, 0 },
	{ "socket(AF_INET, SOCK_DGRAM)", do_socket_udp, KILLED, 0 },
	{ "socket(AF_UNIX, SOCK_DGRAM)", do_socket_unix, KILLED, 0 },
	{ "socket(AF_INET, SOCK_RAW)", do_socket_raw, KILLED, 0 },
	{ "socket(AF_NETLINK)", do_socket_netlink, KILLED, 0 },
	{ "bind", do_bind, KILLED, 0 },
	{ "listen", do_listen, KILLED, 0 },
	{ "execve", do_execve, KILLED, 0 },
	{ "fork", do_fork, KILLED, 0 },
	{ "ptrace", do_ptrace, KILLED, 1 },
};

Test(sandbox, a_client_connects_on_streams_only)
{
	size_t	i;

	confine_flags = SANDBOX_CLIENT;
	for (i = 0; i < NROWS(client); i++)
		check(&client[i]);
	confine_flags = 0;
}
