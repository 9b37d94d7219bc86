/*
 * store_shfile.c - the files that the processes of a host map together:
 * the admission table (store_admit.c) and the group commit file
 * (store_group.c).
 *
 * Each process holds a shared flock on such a file while it maps it. The
 * one that gets the flock exclusively (no other process has the file)
 * keeps a file of this boot with the expected magic and shape: another
 * process may have made it a moment ago, as flock's change from
 * exclusive to shared is not atomic, and the robust mutexes of processes
 * that died in this boot say so. It makes the file anew otherwise: a file
 * of an earlier boot may hold the locks of processes that no longer exist.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store_int.h"

void
shfile_boot_id(char boot[SHFILE_BOOT])
{
	ssize_t n = 0;
	int fd;

	memset(boot, 0, SHFILE_BOOT);
	if ((fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC)) != -1) {
		n = read(fd, boot, SHFILE_BOOT - 1);
		close(fd);
	}
	if (n < 36)
		memset(boot, 0, SHFILE_BOOT);
}

/* The file of fd (size bytes) mapped when it has want's magic and shape. */
static struct shfile_hdr *
file_map(int fd, size_t size, const struct shfile_hdr *want)
{
	struct shfile_hdr *h;
	struct stat sb;

	if (fstat(fd, &sb) == -1 || sb.st_size != (off_t)size)
		return NULL;
	h = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return NULL;
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != want->magic ||
	    h->nslots != want->nslots || h->slot_size != want->slot_size) {
		munmap(h, size);
		return NULL;
	}
	return h;
}

/* Make the file of fd (held exclusively) anew, zeroed; init sets up what
 * follows the header, then the magic is written last. NULL (errno). */
static struct shfile_hdr *
file_make(int fd, size_t size, const struct shfile_hdr *want,
    const char boot[SHFILE_BOOT], int (*init)(void *))
{
	struct shfile_hdr *h;
	int e;

	if (ftruncate(fd, 0) == -1)
		return NULL;
	if ((e = posix_fallocate(fd, 0, (off_t)size)) != 0) {
		/* emptied, or without its magic: no process maps it */
		if (ftruncate(fd, 0) == -1)
			log_debug("store: shared file not emptied: %s",
			    strerror(errno));
		errno = e;
		return NULL;
	}
	h = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (h == MAP_FAILED)
		return NULL;
	if ((e = init(h)) != 0) {
		munmap(h, size);
		errno = e;
		return NULL;
	}
	h->nslots = want->nslots;
	h->slot_size = want->slot_size;
	memcpy(h->boot, boot, SHFILE_BOOT);
	__atomic_store_n(&h->magic, want->magic, __ATOMIC_RELEASE);
	return h;
}

void *
shfile_open(const char *path, size_t size, const struct shfile_hdr *want,
    int (*init)(void *), int *fdp)
{
	struct shfile_hdr *h = NULL;
	char boot[SHFILE_BOOT];
	int e = 0;

	if ((*fdp = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1)
		return NULL;
	shfile_boot_id(boot);
	if (flock(*fdp, LOCK_EX | LOCK_NB) == 0) {
		if ((h = file_map(*fdp, size, want)) != NULL && (boot[0] == '\0' ||
		    memcmp(h->boot, boot, SHFILE_BOOT) != 0)) {
			munmap(h, size);
			h = NULL;
		}
		if (h == NULL && (h = file_make(*fdp, size, want, boot, init)) == NULL)
			e = errno;
		(void)flock(*fdp, LOCK_SH);     /* others may map it now */
	} else if (flock(*fdp, LOCK_SH) == -1)
		e = errno;
	else if ((h = file_map(*fdp, size, want)) == NULL)
		e = EINVAL;             /* none made, or not of this shape */
	errno = e;
	return h;
}

int
shfile_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t ma;
	int e;

	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	e = pthread_mutex_init(m, &ma);
	pthread_mutexattr_destroy(&ma);
	return e;
}

int
shfile_mutex_lock(pthread_mutex_t *m, int *died)
{
	int rc = pthread_mutex_lock(m);

	*died = rc == EOWNERDEAD;
	if (*died) {
		pthread_mutex_consistent(m);
		rc = 0;
	}
	return rc;
}
