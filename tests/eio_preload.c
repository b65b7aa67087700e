/* eio_preload.c - a test helper (LD_PRELOAD) that makes I/O fail with EIO on
 * one MPI rank, COFI_TEST_EIO_RANK=r, as an I/O error on one node would:
 * - every write to a file cofi is writing (its temporary output names,
 *   FILE.tmp-PID, also once unlinked), after the first
 *   COFI_TEST_EIO_WRITE_AFTER (default 0);
 * - or, with COFI_TEST_EIO_READ=TEXT, every read of a file whose path
 *   contains TEXT after the first COFI_TEST_EIO_AFTER (default 0) reads.
 * It wraps the read and write calls MPI-IO and HDF5 use.  Used by
 * test_faults. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

/* The path of an open file descriptor on the chosen rank, or NULL. */
static const char *path_on_rank(int fd, char *path, size_t size)
{
    const char *r = getenv("COFI_TEST_EIO_RANK"), *me = getenv("OMPI_COMM_WORLD_RANK");
    if (!r || !*r || !me || atoi(r) != atoi(me)) return NULL;
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, size - 1);
    if (n <= 0) return NULL;
    path[n] = '\0';
    return path;
}

static int read_fails(int fd)
{
    static long reads;
    char path[4096];
    const char *pat = getenv("COFI_TEST_EIO_READ"), *after = getenv("COFI_TEST_EIO_AFTER");
    if (!pat || !*pat || !path_on_rank(fd, path, sizeof path) || !strstr(path, pat)) return 0;
    return ++reads > (after ? atol(after) : 0);
}

static int fails(int fd)
{
    static long writes;
    char path[4096];
    const char *pat = getenv("COFI_TEST_EIO_READ"), *after = getenv("COFI_TEST_EIO_WRITE_AFTER");
    if ((pat && *pat) || !path_on_rank(fd, path, sizeof path)) return 0;
    const char *m = strstr(path, ".tmp-");
    if (!m) return 0;
    for (m += 5; *m >= '0' && *m <= '9'; m++) {}
    if (*m != '\0' && strcmp(m, " (deleted)") != 0) return 0;
    return ++writes > (after ? atol(after) : 0);
}

#define WRAP(ret, name, params, args, test)                                    \
    ret name params                                                            \
    {                                                                          \
        static ret(*real) params;                                              \
        if (!real) *(void **)&real = dlsym(RTLD_NEXT, #name);                  \
        if (test(fd)) {                                                        \
            errno = EIO;                                                       \
            return -1;                                                         \
        }                                                                      \
        return real args;                                                      \
    }

WRAP(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n), fails)
WRAP(ssize_t, pwrite, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o), fails)
WRAP(ssize_t, pwrite64, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o), fails)
WRAP(ssize_t, writev, (int fd, const struct iovec *v, int c), (fd, v, c), fails)
WRAP(ssize_t, pwritev, (int fd, const struct iovec *v, int c, off_t o), (fd, v, c, o), fails)
WRAP(ssize_t, pwritev64, (int fd, const struct iovec *v, int c, off_t o), (fd, v, c, o), fails)
WRAP(ssize_t, read, (int fd, void *b, size_t n), (fd, b, n), read_fails)
WRAP(ssize_t, pread, (int fd, void *b, size_t n, off_t o), (fd, b, n, o), read_fails)
WRAP(ssize_t, pread64, (int fd, void *b, size_t n, off_t o), (fd, b, n, o), read_fails)
WRAP(ssize_t, readv, (int fd, const struct iovec *v, int c), (fd, v, c), read_fails)
WRAP(ssize_t, preadv, (int fd, const struct iovec *v, int c, off_t o), (fd, v, c, o), read_fails)
WRAP(ssize_t, preadv64, (int fd, const struct iovec *v, int c, off_t o), (fd, v, c, o), read_fails)
