/* eio_preload.c - a test helper (LD_PRELOAD) that makes every write to a file
 * cofi is writing fail with EIO on one MPI rank, as an I/O error on one node
 * would: COFI_TEST_EIO_RANK=r.  It matches cofi's temporary output names
 * (FILE.tmp-PID, also once unlinked) and wraps the write calls MPI-IO and
 * HDF5 use.  Used by test_faults. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static int fails(int fd)
{
    const char *r = getenv("COFI_TEST_EIO_RANK"), *me = getenv("OMPI_COMM_WORLD_RANK");
    if (!r || !*r || !me || atoi(r) != atoi(me)) return 0;
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0) return 0;
    path[n] = '\0';
    const char *m = strstr(path, ".tmp-");
    if (!m) return 0;
    for (m += 5; *m >= '0' && *m <= '9'; m++) {}
    return *m == '\0' || !strcmp(m, " (deleted)");
}

#define WRAP(ret, name, params, args)                                          \
    ret name params                                                            \
    {                                                                          \
        static ret(*real) params;                                              \
        if (!real) *(void **)&real = dlsym(RTLD_NEXT, #name);                  \
        if (fails(fd)) {                                                       \
            errno = EIO;                                                       \
            return -1;                                                         \
        }                                                                      \
        return real args;                                                      \
    }

WRAP(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n))
WRAP(ssize_t, pwrite, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
WRAP(ssize_t, pwrite64, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
WRAP(ssize_t, writev, (int fd, const struct iovec *v, int c), (fd, v, c))
WRAP(ssize_t, pwritev, (int fd, const struct iovec *v, int c, off_t o), (fd, v, c, o))
WRAP(ssize_t, pwritev64, (int fd, const struct iovec *v, int c, off_t o), (fd, v, c, o))
