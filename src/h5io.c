/* h5io.c - every HDF5 call in cofi: collective opens, hyperslab reads and
 * writes by rows, strings, attributes, and atomic file replacement.
 *
 * Pattern (from the HDF5 parallel examples): every rank opens or creates the
 * file and each dataset with global dimensions, selects its own block of rows
 * as a hyperslab (or nothing) and transfers it independently (see
 * dxpl_independent); the status is agreed.  Metadata reads and writes are
 * collective, so every rank sees the same file structure. */
#define _GNU_SOURCE /* fallocate() */
#include "cofi/h5io.h"
#include "cofi/error.h"
#include "cofi/rng.h"
#include "cofi/sysmem.h"
#include "cofi/timer.h"

#include <hdf5.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ files */

static void h5_quiet(void)
{
    static int done = 0;
    if (!done) {
        /* cofi reports errors itself, once, from rank 0. */
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        done = 1;
    }
}

/* ------------------------------------------------------------ I/O tuning */

/* COFI_MPIIO_HINTS ("KEY=VALUE;KEY=VALUE...") become the MPI_Info of every
 * file cofi opens or creates; COFI_H5_ALIGN ("SIZE" or "SIZE:THRESHOLD")
 * makes HDF5 place each file object of THRESHOLD bytes or more (default:
 * SIZE) at a multiple of SIZE, e.g. the stripe size of a Lustre or GPFS
 * file, so that a large dataset's rows do not share a stripe with another
 * object.  Rank 0's environment decides for every rank (it is broadcast):
 * every rank then opens each file with the same hints, whatever the
 * launcher passed to the others. */
enum { IO_HINTS_MAX = 4096, IO_ALIGN_MAX = 128 };
static MPI_Info io_info = MPI_INFO_NULL;
static hsize_t io_align, io_align_min;
static char io_desc[IO_HINTS_MAX + 256];

/* Trim s (in place) of surrounding white space. */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = '\0';
    return s;
}

static int parse_hints(char *text)
{
    char *save = NULL;
    for (char *item = strtok_r(text, ";", &save); item; item = strtok_r(NULL, ";", &save)) {
        item = trim(item);
        if (!*item) continue;
        char *eq = strchr(item, '=');
        if (!eq)
            return cofi_error(COFI_ERR_VALUE, "COFI_MPIIO_HINTS: '%s' is not KEY=VALUE (hints are "
                              "separated by ';', e.g. striping_factor=8;romio_cb_write=enable)", item);
        *eq = '\0';
        char *key = trim(item), *val = trim(eq + 1);
        int ok = *key != '\0' && strlen(key) < MPI_MAX_INFO_KEY;
        for (const char *k = key; ok && *k; k++)
            ok = isalnum((unsigned char)*k) || *k == '_' || *k == '-' || *k == '.';
        if (!ok)
            return cofi_error(COFI_ERR_VALUE, "COFI_MPIIO_HINTS: '%s' is not a hint's name (letters, "
                              "digits, '_', '-' and '.', at most %d characters)", key,
                              MPI_MAX_INFO_KEY - 1);
        if (!*val || strlen(val) >= MPI_MAX_INFO_VAL)
            return cofi_error(COFI_ERR_VALUE, "COFI_MPIIO_HINTS: hint '%s' has %s value", key,
                              *val ? "too long a" : "no");
        if (io_info == MPI_INFO_NULL && MPI_Info_create(&io_info) != MPI_SUCCESS)
            return cofi_error(COFI_ERR_NOMEM, "cannot create an MPI_Info for COFI_MPIIO_HINTS");
        if (MPI_Info_set(io_info, key, val) != MPI_SUCCESS)
            return cofi_error(COFI_ERR_VALUE, "COFI_MPIIO_HINTS: MPI refused hint '%s=%s'", key, val);
        size_t n = strlen(io_desc);
        snprintf(io_desc + n, sizeof io_desc - n, "%s%s=%s", n ? "; " : "MPI-IO hints ", key, val);
    }
    return COFI_OK;
}

/* BYTES in the largest binary unit that divides it. */
static const char *whole_bytes(hsize_t bytes, char *buf, size_t n)
{
    static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (u < 4 && bytes >= 1024 && bytes % 1024 == 0) bytes /= 1024, u++;
    snprintf(buf, n, "%llu %s", (unsigned long long)bytes, unit[u]);
    return buf;
}

/* A whole number of bytes from "4M", "65536", "1.5K"... */
static int parse_bytes(const char *s, hsize_t *out)
{
    double v;
    if (cofi_parse_size(s, &v) != 0 || v < 1 || v > 1099511627776.0 || v != (double)(hsize_t)v)
        return -1;
    *out = (hsize_t)v;
    return 0;
}

static int parse_align(char *text)
{
    char *t = trim(text);
    if (!*t) return COFI_OK;
    char *colon = strchr(t, ':');
    if (colon) *colon = '\0';
    const char *a = trim(t), *m = colon ? trim(colon + 1) : NULL;
    if (parse_bytes(a, &io_align) != 0 || (m && parse_bytes(m, &io_align_min) != 0)) {
        io_align = io_align_min = 0;
        return cofi_error(COFI_ERR_VALUE, "COFI_H5_ALIGN: '%s%s%s' is not SIZE or SIZE:THRESHOLD in "
                          "whole bytes from 1 to 1T (K, M, G, T: binary units; e.g. 4M or 1M:64K)",
                          a, m ? ":" : "", m ? m : "");
    }
    if (!m) io_align_min = io_align;
    char b1[32], b2[32];
    size_t n = strlen(io_desc);
    snprintf(io_desc + n, sizeof io_desc - n, "%sHDF5 objects of %s or more at multiples of %s",
             n ? "; " : "", whole_bytes(io_align_min, b1, sizeof b1),
             whole_bytes(io_align, b2, sizeof b2));
    return COFI_OK;
}

int cofi_h5_setup(const cofi_comm *c)
{
    char hints[IO_HINTS_MAX], align[IO_ALIGN_MAX];
    int too_long[2] = {0, 0};
    hints[0] = align[0] = '\0';
    if (c->rank == 0) {
        const char *h = getenv("COFI_MPIIO_HINTS"), *a = getenv("COFI_H5_ALIGN");
        if (h) too_long[0] = snprintf(hints, sizeof hints, "%s", h) >= (int)sizeof hints;
        if (a) too_long[1] = snprintf(align, sizeof align, "%s", a) >= (int)sizeof align;
    }
    COFI_TRY(cofi_bcast(c, too_long, sizeof too_long, 0));
    COFI_TRY(cofi_bcast(c, hints, sizeof hints, 0));
    COFI_TRY(cofi_bcast(c, align, sizeof align, 0));
    if (too_long[0] || too_long[1])
        return cofi_error(COFI_ERR_VALUE, "%s is longer than %d characters",
                          too_long[0] ? "COFI_MPIIO_HINTS" : "COFI_H5_ALIGN",
                          (too_long[0] ? IO_HINTS_MAX : IO_ALIGN_MAX) - 1);
    /* The same text on every rank: the same verdict. */
    io_desc[0] = '\0';
    COFI_TRY(parse_hints(hints));
    return parse_align(align);
}

void cofi_h5_teardown(void)
{
    if (io_info != MPI_INFO_NULL) MPI_Info_free(&io_info);
    io_align = io_align_min = 0;
    io_desc[0] = '\0';
}

const char *cofi_h5_tuning(void) { return io_desc[0] ? io_desc : NULL; }

/* COFI_DEBUG: the hints the MPI library reports for an open file (what it
 * took of COFI_MPIIO_HINTS, and its defaults), from rank 0. */
static void debug_hints(const cofi_comm *c, hid_t id, const char *path)
{
    if (c->rank != 0 || !cofi_debug_enabled()) return;
    void *h = NULL;
    MPI_Info info;
    if (H5Fget_vfd_handle(id, H5P_DEFAULT, &h) < 0 || !h ||
        MPI_File_get_info(*(MPI_File *)h, &info) != MPI_SUCCESS)
        return;
    int n = 0;
    MPI_Info_get_nkeys(info, &n);
    fprintf(stderr, "cofi debug: MPI-IO hints of '%s' (%d):", path, n);
    for (int i = 0; i < n; i++) {
        char key[MPI_MAX_INFO_KEY + 1], val[MPI_MAX_INFO_VAL + 1];
        int flag = 0;
        MPI_Info_get_nthkey(info, i, key);
        MPI_Info_get(info, key, MPI_MAX_INFO_VAL, val, &flag);
        fprintf(stderr, " %s=%s", key, flag ? val : "?");
    }
    fputc('\n', stderr);
    MPI_Info_free(&info);
}

static hid_t fapl_mpio(const cofi_comm *c)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (fapl < 0) return fapl;
    H5Pset_fapl_mpio(fapl, c->comm, io_info);
    if (io_align) H5Pset_alignment(fapl, io_align_min, io_align);
    H5Pset_all_coll_metadata_ops(fapl, 1);
    H5Pset_coll_metadata_write(fapl, 1);
    return fapl;
}

static void handle_init(cofi_h5 *f, const cofi_comm *c, const char *path)
{
    memset(f, 0, sizeof *f);
    f->id = -1;
    f->comm = c;
    snprintf(f->path, sizeof f->path, "%s", path);
}

/* A watchdog for the steps HDF5 (1.10) runs as collectives of its own, where
 * an I/O error on some ranks only (one node's) sends the ranks into
 * different collectives, forever, and cofi cannot reach inside:
 * - closing a file being written: HDF5 flushes the metadata with collective
 *   writes and truncates the file with a broadcast.  Under ROMIO, gdb shows
 *   the ranks whose write worked waiting in the collective MPI_File_set_view
 *   of the metadata write and the failed rank in the truncation's MPI_Bcast.
 * - opening an input: rank 0 reads the superblock and broadcasts it.  Under
 *   ROMIO, a read error there leaves rank 0 in the barrier of the
 *   MPI_File_close of H5Fopen's cleanup and the others in the broadcast.
 * So those steps (and the agreement after them) run under an alarm: if they
 * have not returned in time, rank 0 removes the temporary file (if any) and
 * prints the error (prepared beforehand; the handler only calls unlink, write
 * and _exit), and every rank exits with code 1. */
static char watchdog_line[COFI_MSG_MAX + 256];
static size_t watchdog_len;
static char watchdog_tmp[COFI_PATH_MAX];
static struct sigaction watchdog_old;
static int watchdog_armed;

static void on_watchdog(int sig)
{
    (void)sig;
    if (watchdog_tmp[0]) unlink(watchdog_tmp);
    if (watchdog_len > 0) {
        ssize_t w = write(STDERR_FILENO, watchdog_line, watchdog_len);
        (void)w;
    }
    _exit(1);
}

/* Arm the alarm for `seconds` (0: no alarm, and watchdog_disarm does
 * nothing); rank 0 prints `message` if it fires.  The
 * other ranks wait WATCHDOG_GRACE seconds more, so that rank 0's alarm comes
 * first: mpirun stops the other ranks when one exits this way, and had it
 * stopped rank 0 first, the message would be lost and the temporary file
 * left. */
enum { WATCHDOG_GRACE = 2 };

static void watchdog_arm(const cofi_h5 *f, unsigned seconds, const char *message)
{
    watchdog_armed = seconds > 0;
    if (!watchdog_armed) return;
    watchdog_len = 0;
    watchdog_tmp[0] = '\0';
    if (f->comm->rank == 0) {
        snprintf(watchdog_tmp, sizeof watchdog_tmp, "%s", f->tmp);
        snprintf(watchdog_line, sizeof watchdog_line, "%s: error: %s\n", cofi_error_program(),
                 message);
        watchdog_len = strlen(watchdog_line);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_watchdog;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &watchdog_old);
    alarm(f->comm->rank == 0 ? seconds : seconds + WATCHDOG_GRACE);
}

static void watchdog_disarm(void)
{
    if (!watchdog_armed) return;
    watchdog_armed = 0;
    alarm(0);
    sigaction(SIGALRM, &watchdog_old, NULL);
}

/* Test hook (builds with COFI_FAULT_INJECTION): COFI_FAIL_OPEN_RANK=r makes
 * opening any input fail on rank r alone, as a file missing on one node
 * would. */
static int injected_open_failure(const cofi_comm *c)
{
#ifdef COFI_FAULT_INJECTION
    const char *r = getenv("COFI_FAIL_OPEN_RANK");
    return r && *r && atoi(r) == c->rank;
#else
    (void)c;
    return 0;
#endif
}

/* Test hook (builds with COFI_FAULT_INJECTION): COFI_FAIL_EXISTS_RANK=r
 * makes the objects and attributes of open files look absent on rank r
 * alone, as a read error that comes back as zeros would: those whose name
 * contains COFI_FAIL_EXISTS_NAME if set, else all. */
static int injected_absent(const cofi_comm *c, const char *name)
{
#ifdef COFI_FAULT_INJECTION
    const char *r = getenv("COFI_FAIL_EXISTS_RANK"), *n = getenv("COFI_FAIL_EXISTS_NAME");
    return r && *r && atoi(r) == c->rank && (!n || !*n || strstr(name, n));
#else
    (void)c;
    (void)name;
    return 0;
#endif
}

/* Rank-local checks that give a precise message before HDF5 is involved. */
static int check_readable(const char *path)
{
    struct stat st;
    if (strlen(path) >= COFI_PATH_MAX)
        return cofi_error(COFI_ERR_IO, "path '%.64s...' is too long", path);
    if (stat(path, &st) != 0)
        return cofi_error(COFI_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return cofi_error(COFI_ERR_IO, "cannot open '%s': it is a directory, not a file", path);
    if (!S_ISREG(st.st_mode))
        return cofi_error(COFI_ERR_IO, "cannot open '%s': not a regular file", path);
    if (access(path, R_OK) != 0)
        return cofi_error(COFI_ERR_IO, "cannot open '%s': %s", path, strerror(errno));
    if (st.st_size == 0)
        return cofi_error(COFI_ERR_FORMAT, "'%s' is empty; expected an HDF5 file", path);
    return COFI_OK;
}

/* Rank 0's probe of the signature: COFI_OK for an HDF5 file, else why not.
 * A file HDF5 does not take is read again directly, so that a read error
 * (a failing disk or node) is reported as one and not as a foreign file. */
static int probe_hdf5(const char *path)
{
#if H5_VERSION_GE(1, 12, 0)
    if (H5Fis_accessible(path, H5P_DEFAULT) > 0) return COFI_OK;
#else
    if (H5Fis_hdf5(path) > 0) return COFI_OK;
#endif
    char sig[8];
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? -1 : read(fd, sig, sizeof sig);
    int err = errno;
    if (fd >= 0) close(fd);
    if (n < 0)
        return cofi_error(COFI_ERR_IO, "cannot read '%s': %s", path, strerror(err));
    return cofi_error(COFI_ERR_FORMAT, "'%s' is not an HDF5 file (or is damaged)", path);
}

/* A limit in seconds from the environment variable `name`, if set: 0 means
 * none, and at most a day. */
static int timeout_from_env(const char *name, unsigned *seconds)
{
    const char *e = getenv(name);
    if (!e || !*e) return 0;
    long v = strtol(e, NULL, 10);
    *seconds = v > 0 ? (unsigned)(v < 86400 ? v : 86400) : 0;
    return 1;
}

/* The time HDF5's opening of an input may take (it reads the superblock and
 * a few object headers: milliseconds here): COFI_OPEN_TIMEOUT seconds if set
 * (0: no limit), else a minute. */
static unsigned open_timeout(void)
{
    unsigned v;
    return timeout_from_env("COFI_OPEN_TIMEOUT", &v) ? v : 60;
}

void cofi_h5_library(char *buf, size_t len)
{
    unsigned maj = 0, min = 0, rel = 0;
    if (len == 0) return;
    if (H5get_libversion(&maj, &min, &rel) < 0) snprintf(buf, len, "unknown HDF5");
    else snprintf(buf, len, "%u.%u.%u", maj, min, rel);
}

int cofi_h5_open(const cofi_comm *c, const char *path, cofi_h5 *f)
{
    h5_quiet();
    handle_init(f, c, path);
    int rc = injected_open_failure(c)
                 ? cofi_error(COFI_ERR_IO, "cannot open '%s' on rank %d: No such file or directory "
                              "(injected by COFI_FAIL_OPEN_RANK)", path, c->rank)
                 : check_readable(path);
    rc = cofi_agree(c, rc);
    if (rc) return rc;
    /* One rank probes the signature; a truncated or foreign file stops here. */
    rc = cofi_agree(c, c->rank == 0 ? probe_hdf5(path) : COFI_OK);
    if (rc) return rc;
    hid_t fapl = fapl_mpio(c);
    const unsigned limit = open_timeout();
    char msg[COFI_PATH_MAX + 160];
    snprintf(msg, sizeof msg, "cannot open '%s': opening it with HDF5 did not complete on every "
             "rank within %u s (an I/O error on some ranks?)", path, limit);
    watchdog_arm(f, limit, msg);
    hid_t id = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    rc = id < 0 ? cofi_error(COFI_ERR_FORMAT, "cannot open '%s' with HDF5 (an I/O error, or "
                             "the file is damaged or truncated)", path)
                : COFI_OK;
    rc = cofi_agree(c, rc);
    watchdog_disarm();
    if (rc) {
        if (id >= 0) H5Fclose(id);
        return rc;
    }
    f->id = id;
    debug_hints(c, id, path);
    return COFI_OK;
}


int cofi_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0) return 0;
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Rank 0 checks that the output can be written, with the OS's own reason. */
static int check_writable(const char *path, const char *tmp)
{
    struct stat st;
    if (strlen(path) + 32 >= COFI_PATH_MAX)
        return cofi_error(COFI_ERR_IO, "path '%.64s...' is too long", path);
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return cofi_error(COFI_ERR_IO, "cannot write '%s': it is a directory", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0) return cofi_error(COFI_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    close(fd);
    unlink(tmp);
    return COFI_OK;
}

int cofi_h5_check_output(const cofi_comm *c, const char *path)
{
    char tmp[COFI_PATH_MAX + 32];
    int rc = COFI_OK;
    if (c->rank == 0) {
        snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
        rc = check_writable(path, tmp);
    }
    return cofi_agree(c, rc);
}

int cofi_h5_create(const cofi_comm *c, const char *path, cofi_h5 *f)
{
    h5_quiet();
    handle_init(f, c, path);
    /* One temporary name for all ranks, unique to this run. */
    long pid = (long)getpid();
    cofi_bcast(c, &pid, sizeof pid, 0);
    snprintf(f->tmp, sizeof f->tmp, "%s.tmp-%ld", path, pid);
    int rc = COFI_OK;
    if (c->rank == 0) rc = check_writable(path, f->tmp);
    rc = cofi_agree(c, rc);
    if (rc) {
        f->tmp[0] = '\0';
        return rc;
    }
    hid_t fapl = fapl_mpio(c);
    hid_t id = H5Fcreate(f->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    H5Pclose(fapl);
    rc = id < 0 ? cofi_error(COFI_ERR_IO, "cannot create '%s'", f->tmp) : COFI_OK;
    rc = cofi_agree(c, rc);
    if (rc) {
        if (id >= 0) H5Fclose(id);
        if (c->rank == 0) unlink(f->tmp);
        f->tmp[0] = '\0';
        return rc;
    }
    f->id = id;
    f->created = cofi_now();
    debug_hints(c, id, path);
    return COFI_OK;
}

/* Disk space for the file's datasets, reserved before they are written.
 * Open MPI's MPI-IO (OMPIO, 4.1) prints a write that fails for lack of space
 * (ENOSPC, or EDQUOT past a quota) but returns MPI_SUCCESS from a collective
 * write, and HDF5 then reports the dataset written: a full disk would leave a
 * file with holes under the final name and exit 0.  So each dataset created
 * adds its size (and room for its header) to what the file needs, and rank 0
 * allocates that many bytes from the start of the file, plus a slack for the
 * rest of the metadata (attributes, groups), with fallocate() before HDF5
 * allocates the dataset: a lack of space is then an error here, and the
 * writes that follow land in blocks that exist.  HDF5 sets the file's size
 * to its end of allocation when it closes it, so the slack does not stay.
 * File systems without fallocate (EOPNOTSUPP: NFS before 4.2, older Lustre)
 * get the blocks allocated by writing, below. */
enum { RESERVE_SLACK = 64 << 10, RESERVE_PER_DATASET = 4 << 10 };

/* Allocate [from, to) of a file by writing, where fallocate() is not
 * supported (as posix_fallocate's fallback does): one zero byte in every
 * block that holds no data yet (a byte read back as non-zero is data: left
 * alone; beyond the end of the file nothing is), the last byte included so
 * the file reaches `to`.  Then fsync, since a network file system reports a
 * lack of space (or quota) only when its cached writes are flushed.  The
 * range lies past what HDF5 has allocated, so no data is there yet. */
static int reserve_by_writing(int fd, int64_t from, int64_t to)
{
    struct stat st;
    if (fstat(fd, &st) != 0) return errno;
    const int64_t bs = st.st_blksize > 0 ? (int64_t)st.st_blksize : 4096;
    for (int64_t at = from; at < to;) {
        const int64_t end = at - at % bs + bs < to ? at - at % bs + bs : to;
        const int64_t b = end - 1; /* the block's last byte in the range */
        unsigned char v = 0;
        if (b < (int64_t)st.st_size && pread(fd, &v, 1, (off_t)b) < 0) return errno;
        if (v == 0 && pwrite(fd, "", 1, (off_t)b) != 1) return errno ? errno : EIO;
        at = end;
    }
    return fsync(fd) != 0 ? errno : 0;
}

static int reserve_space(cofi_h5 *f)
{
    if (!f->tmp[0]) return COFI_OK;
    int rc = COFI_OK;
    const int64_t want = f->planned + RESERVE_SLACK + (int64_t)io_align;
    if (f->comm->rank == 0 && want > f->reserved) {
        int fd = open(f->tmp, O_RDWR);
        int e = fd < 0 ? errno : 0;
#ifdef COFI_FAULT_INJECTION
        /* COFI_FAIL_RESERVE=BYTES: a disk with BYTES free for this file;
         * =unsupported: a file system without fallocate. */
        const char *lim = getenv("COFI_FAIL_RESERVE");
        if (!e && lim && !strcmp(lim, "unsupported")) e = EOPNOTSUPP;
        else if (!e && lim && *lim && want > atoll(lim)) e = ENOSPC;
#endif
#if defined(__linux__)
        if (!e && fallocate(fd, 0, 0, (off_t)want) != 0) e = errno;
#else
        if (!e) e = EOPNOTSUPP;
#endif
        if (e == EOPNOTSUPP || e == ENOSYS) e = reserve_by_writing(fd, f->reserved, want);
        if (fd >= 0) close(fd);
        if (!e)
            f->reserved = want;
        else
            rc = cofi_error(COFI_ERR_IO, "cannot write '%s': %s (reserving %.3g MB for it)", f->path,
                            strerror(e), (double)want / 1e6);
    }
    return cofi_agree(f->comm, rc);
}

/* fsync a file or a directory by name (best effort for directories). */
static int sync_path(const char *path, int is_dir)
{
    int fd = open(path, is_dir ? O_RDONLY : O_RDWR);
    if (fd < 0) return is_dir ? 0 : -1;
    int r = fsync(fd);
    close(fd);
    return is_dir ? 0 : r;
}

/* The time a close may take: COFI_CLOSE_TIMEOUT seconds if set (0: no
 * limit), else at least a minute, and ten times as long as the file took to
 * write (a close flushes only metadata: milliseconds where its data took
 * seconds, on this machine). */
static unsigned close_timeout(const cofi_h5 *f)
{
    unsigned v;
    if (timeout_from_env("COFI_CLOSE_TIMEOUT", &v)) return v;
    double t = 10 * (cofi_now() - f->created);
    return t > 60 ? (unsigned)(t < 86400 ? t : 86400) : 60;
}

/* Can the closed file be opened and every object header and attribute in it
 * be read?  Rank 0 checks with HDF5's serial driver before the file is
 * renamed into place: under OMPIO, a metadata write that failed on one rank
 * while the file was closed was reported as success (the error only printed),
 * and the run exited 0 with a file HDF5 could not open.  Metadata only: a few
 * milliseconds. */
#if H5_VERSION_GE(1, 12, 0)
typedef H5O_info2_t visit_info;
#else
typedef H5O_info_t visit_info;
#endif
static herr_t visit_attr(hid_t obj, const char *name, const H5A_info_t *info, void *data)
{
    (void)info;
    (void)data;
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return -1;
    H5Aclose(a);
    return 0;
}

static herr_t visit_object(hid_t obj, const char *name, const visit_info *info, void *data)
{
    (void)info;
    (void)data;
    hid_t o = H5Oopen(obj, name, H5P_DEFAULT); /* "." is the root group */
    if (o < 0) return -1;
    herr_t rc = H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, visit_attr, NULL);
    H5Oclose(o);
    return rc < 0 ? -1 : 0;
}

static int readable_back(const char *path)
{
    hid_t id = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (id < 0) return 0;
#if H5_VERSION_GE(1, 12, 0)
    herr_t e = H5Ovisit3(id, H5_INDEX_NAME, H5_ITER_NATIVE, visit_object, NULL, H5O_INFO_BASIC);
#else
    herr_t e = H5Ovisit(id, H5_INDEX_NAME, H5_ITER_NATIVE, visit_object, NULL);
#endif
    return H5Fclose(id) >= 0 && e >= 0;
}

int cofi_h5_commit(cofi_h5 *f)
{
    const cofi_comm *c = f->comm;
    const unsigned limit = close_timeout(f);
    char msg[COFI_PATH_MAX + 160];
    snprintf(msg, sizeof msg, "cannot finish writing '%s': closing it did not complete on every "
             "rank within %u s (an I/O error on some ranks?)", f->path, limit);
    watchdog_arm(f, limit, msg);
    int rc = H5Fclose((hid_t)f->id) < 0
                 ? cofi_error(COFI_ERR_IO, "cannot finish writing '%s'", f->path)
                 : COFI_OK;
    f->id = -1;
    /* Every rank has closed (the agree is a barrier): the file is complete. */
    rc = cofi_agree(c, rc);
    watchdog_disarm();
    if (c->rank == 0) {
        if (rc == COFI_OK && !readable_back(f->tmp))
            rc = cofi_error(COFI_ERR_IO, "cannot finish writing '%s': the file written cannot be "
                            "read back (an I/O error on some ranks?)", f->path);
        if (rc == COFI_OK && sync_path(f->tmp, 0) != 0)
            rc = cofi_error(COFI_ERR_IO, "cannot write '%s': %s", f->path, strerror(errno));
        if (rc == COFI_OK && rename(f->tmp, f->path) != 0)
            rc = cofi_error(COFI_ERR_IO, "cannot rename '%s' to '%s': %s", f->tmp, f->path,
                            strerror(errno));
        if (rc == COFI_OK) {
            char dir[COFI_PATH_MAX];
            snprintf(dir, sizeof dir, "%s", f->path);
            sync_path(dirname(dir), 1);
        } else {
            unlink(f->tmp);
        }
    }
    rc = cofi_agree(c, rc);
    f->tmp[0] = '\0';
    return rc;
}

/* Giving up on a file being written, after an error the ranks agreed on: the
 * temporary file is removed first, and the close runs under the watchdog for
 * at most ABANDON_SECONDS (or COFI_CLOSE_TIMEOUT, if shorter), past which
 * rank 0 prints the error already agreed (the line main would print).  A
 * close that works takes milliseconds. */
enum { ABANDON_SECONDS = 10 };

static void close_abandoned(cofi_h5 *f)
{
    if (f->comm->rank == 0) unlink(f->tmp);
    unsigned limit = close_timeout(f);
    if (limit == 0 || limit > ABANDON_SECONDS) limit = ABANDON_SECONDS;
    watchdog_arm(f, limit, cofi_error_message()[0] ? cofi_error_message() : "writing failed");
    H5Fclose((hid_t)f->id);
    watchdog_disarm();
}

void cofi_h5_close(cofi_h5 *f)
{
    if (f->id >= 0 && f->tmp[0] && f->comm) close_abandoned(f);
    else if (f->id >= 0) H5Fclose((hid_t)f->id);
    f->id = -1;
    if (f->tmp[0] && f->comm) {
        cofi_barrier(f->comm);
        if (f->comm->rank == 0) unlink(f->tmp);
    }
    f->tmp[0] = '\0';
}

/* --------------------------------------------------------------- datasets */

static int class_of(hid_t type)
{
    switch (H5Tget_class(type)) {
    case H5T_INTEGER: return COFI_H5_INT;
    case H5T_FLOAT: return COFI_H5_FLOAT;
    case H5T_STRING: return COFI_H5_STRING;
    default: return COFI_H5_OTHER;
    }
}

/* Does every group along `name` exist (so H5Lexists can be asked)? */
static int link_exists(hid_t fid, const char *name)
{
    char part[COFI_PATH_MAX];
    size_t n = strlen(name);
    if (n == 0 || n >= sizeof part) return 0;
    for (size_t i = 1; i <= n; i++) {
        if (name[i] == '/' || name[i] == '\0') {
            memcpy(part, name, i);
            part[i] = '\0';
            htri_t e = H5Lexists(fid, part, H5P_DEFAULT);
            if (e <= 0) return e < 0 ? -1 : 0;
        }
    }
    return 1;
}

/* Whether `name` exists, or an error when that cannot be read (an I/O error
 * or a damaged file). */
static int exists_or_error(cofi_h5 *f, const char *name, int *exists)
{
    int e = injected_absent(f->comm, name) ? 0 : link_exists((hid_t)f->id, name);
    *exists = e > 0;
    return e < 0 ? cofi_error(COFI_ERR_FORMAT, "'%s': cannot read '%s' (an I/O error, or the "
                              "file is damaged)", f->path, name)
                 : COFI_OK;
}

/* Open dataset `name` for reading; a message if it is absent or unreadable.
 * Whether it exists is agreed (collective); the open is rank-local: the
 * caller agrees. */
static hid_t dset_open(cofi_h5 *f, const char *name, int *rc)
{
    int exists = 0;
    *rc = cofi_h5_exists(f, name, &exists);
    if (*rc) return -1;
    hid_t d = exists ? H5Dopen2((hid_t)f->id, name, H5P_DEFAULT) : -1;
    if (d < 0)
        *rc = exists ? cofi_error(COFI_ERR_FORMAT, "'%s': cannot open dataset '%s' (an I/O "
                                  "error, or the file is damaged)", f->path, name)
                     : cofi_error(COFI_ERR_FORMAT, "'%s': dataset '%s' is missing", f->path, name);
    return d;
}

/* Agree on a rank-local test of whether `what` exists (`rc` its error, if
 * any): an error on one rank is every rank's, and ranks that saw different
 * answers (a read error that made it look absent on some) stop with an
 * error rather than take different branches into different collectives. */
static int agree_exists(cofi_h5 *f, int rc, int *exists, const char *what)
{
    COFI_TRY(cofi_agree(f->comm, rc));
    cofi_idx seen[2] = {*exists ? 1 : 0, *exists ? 0 : 1};
    COFI_TRY(cofi_max_idx(f->comm, seen, 2));
    if (seen[0] && seen[1])
        return cofi_error(COFI_ERR_IO, "'%s': %s was found on some ranks and not on others (an "
                          "I/O error on some ranks?)", f->path, what);
    return COFI_OK;
}

int cofi_h5_exists(cofi_h5 *f, const char *name, int *exists)
{
    char what[COFI_PATH_MAX + 16];
    snprintf(what, sizeof what, "'%s'", name);
    return agree_exists(f, exists_or_error(f, name, exists), exists, what);
}

int cofi_h5_info_of(cofi_h5 *f, const char *name, cofi_h5_info *info)
{
    memset(info, 0, sizeof *info);
    int exists = 0;
    COFI_TRY(cofi_h5_exists(f, name, &exists));
    if (!exists) return COFI_OK;
    /* A group, not a dataset, is reported as absent; an object that cannot
     * be read is an error (every rank must take the same branch after). */
    hid_t d = H5Oopen((hid_t)f->id, name, H5P_DEFAULT);
    int rc = d < 0 ? cofi_error(COFI_ERR_FORMAT, "'%s': cannot read '%s' (an I/O error, or the "
                                "file is damaged)", f->path, name)
                   : COFI_OK;
    rc = cofi_agree(f->comm, rc);
    if (rc || H5Iget_type(d) != H5I_DATASET) {
        if (d >= 0) H5Oclose(d);
        return rc;
    }
    hid_t s = H5Dget_space(d), t = H5Dget_type(d);
    int nd = H5Sget_simple_extent_ndims(s);
    hsize_t dims[H5S_MAX_RANK] = {0};
    if (nd >= 0 && nd <= H5S_MAX_RANK) H5Sget_simple_extent_dims(s, dims, NULL);
    info->exists = 1;
    info->ndims = nd;
    for (int i = 0; i < 2 && i < nd; i++) info->dims[i] = (cofi_idx)dims[i];
    if (nd > 2) info->ndims = nd; /* callers reject it */
    info->type_class = class_of(t);
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    return COFI_OK;
}

/* Shape a dataset must have: 1-D (cols == 0) or 2-D with `cols` columns. */
static int check_shape(cofi_h5 *f, const char *name, hid_t d, cofi_idx cols, cofi_idx *rows)
{
    hid_t s = H5Dget_space(d);
    int nd = H5Sget_simple_extent_ndims(s);
    hsize_t dims[H5S_MAX_RANK] = {0};
    if (nd > 0 && nd <= H5S_MAX_RANK) H5Sget_simple_extent_dims(s, dims, NULL);
    H5Sclose(s);
    int want = cols > 0 ? 2 : 1;
    if (nd != want)
        return cofi_error(COFI_ERR_FORMAT, "'%s': dataset '%s' has %d dimensions; expected %d",
                          f->path, name, nd, want);
    if (cols > 0 && (cofi_idx)dims[1] != cols)
        return cofi_error(COFI_ERR_FORMAT, "'%s': dataset '%s' has %llu columns; expected %"
                          PRIidx, f->path, name, (unsigned long long)dims[1], cols);
    *rows = (cofi_idx)dims[0];
    return COFI_OK;
}

/* Raw data is read and written with independent transfers: each rank's rows
 * are one contiguous block of the file per dataset, the pattern independent
 * I/O suits.  Collective transfers are not safe against an I/O error on some
 * ranks only (a failing node): Open MPI's OMPIO returns success from a
 * collective write that failed (the data is silently lost), and under ROMIO
 * HDF5 1.10 returns from the failed rank without the collective call that
 * resets the file view, so the other ranks wait for it forever (reads and
 * writes alike).  An independent transfer reports its error under both, on
 * its own rank, and the ranks agree on it. */
static hid_t dxpl_independent(void)
{
    hid_t p = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(p, H5FD_MPIO_INDEPENDENT);
    return p;
}

/* Select rows [row0, row0 + nrows) (all columns up to cols) in a file space,
 * and the matching block of a memory buffer with row stride ld. */
static void select_rows(hid_t fs, hid_t *ms, int nd, cofi_idx row0, cofi_idx nrows,
                        cofi_idx cols, cofi_idx ld)
{
    if (nrows <= 0) {
        H5Sselect_none(fs);
        hsize_t one = 1;
        *ms = H5Screate_simple(1, &one, NULL);
        H5Sselect_none(*ms);
        return;
    }
    hsize_t start[2] = {(hsize_t)row0, 0}, count[2] = {(hsize_t)nrows, (hsize_t)cols};
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL);
    hsize_t mdims[2] = {(hsize_t)nrows, (hsize_t)(nd == 2 ? ld : 1)};
    *ms = H5Screate_simple(nd, mdims, NULL);
    if (nd == 2) {
        hsize_t mstart[2] = {0, 0};
        H5Sselect_hyperslab(*ms, H5S_SELECT_SET, mstart, NULL, count, NULL);
    }
}

/* ------------------------------------------------------------- checksums
 *
 * Every dataset cofi writes carries an attribute cofi_checksum (uint64): the
 * sum, modulo 2^64, over its elements n = 0, 1, ... in row-major order, of
 *   h = (n + 1) * 0x9e3779b97f4a7c15, then h = mix64(h ^ w) for each 8-byte
 *   little-endian word w of the element's bytes as stored (a string's last
 *   word zero-padded),
 * where mix64 is SplitMix64's finalizer (cofi/rng.h).  A sum of terms that
 * each depend on one element and its place can be taken by each rank over its
 * own rows, in any order and on any number of threads, and added across
 * ranks: the same checksum for any rank count.  Reads check it when the ranks
 * between them read the whole dataset (or one rank reads all of it): a block
 * lost in a write, a file damaged after it was written, or a read that
 * returned wrong data without an error (seen from OMPIO after an I/O error)
 * stops the run instead of training on wrong numbers.  Datasets without the
 * attribute (files written by other tools) are read unchecked.  tools/checksum
 * computes the same with numpy. */
#define CHECKSUM_ATTR "cofi_checksum"

static int attr_write(cofi_h5 *f, const char *obj, const char *name, hid_t filetype,
                      hid_t memtype, const void *v);
static int attr_read_num(cofi_h5 *f, const char *obj, const char *name, hid_t memtype,
                         int want, void *v);

static inline uint64_t element_hash(cofi_idx n, const unsigned char *p, size_t elem)
{
    uint64_t h = (uint64_t)(n + 1) * UINT64_C(0x9e3779b97f4a7c15);
    if (elem == 8) { /* a number: one word */
        uint64_t w;
        memcpy(&w, p, 8);
        return cofi_mix64(h ^ w);
    }
    for (size_t o = 0; o < elem; o += 8) {
        uint64_t w = 0;
        memcpy(&w, p + o, elem - o < 8 ? elem - o : 8);
        h = cofi_mix64(h ^ w);
    }
    return h;
}

/* The checksum terms of rows [row0, row0 + nrows) held in buf (row stride ld
 * elements of elem bytes; cols 0 for a 1-D dataset). */
static uint64_t checksum_rows(const void *buf, cofi_idx row0, cofi_idx nrows, cofi_idx cols,
                              cofi_idx ld, size_t elem)
{
    if (nrows <= 0 || !buf) return 0;
    const cofi_idx w = cols > 0 ? cols : 1, stride = cols > 0 ? ld : 1;
    const unsigned char *b = buf;
    uint64_t sum = 0;
#pragma omp parallel for schedule(static) reduction(+ : sum) if (nrows * w > 65536)
    for (cofi_idx r = 0; r < nrows; r++)
        for (cofi_idx c = 0; c < w; c++)
            sum += element_hash((row0 + r) * w + c, b + ((size_t)r * (size_t)stride + (size_t)c) * elem,
                                elem);
    return sum;
}

/* Record the checksum of a dataset just written (mine: this rank's terms). */
static int checksum_write(cofi_h5 *f, const char *name, uint64_t mine)
{
    COFI_TRY(cofi_sum_u64(f->comm, &mine, 1));
    return attr_write(f, name, CHECKSUM_ATTR, H5T_STD_U64LE, H5T_NATIVE_UINT64, &mine);
}

/* Check the rows each rank has read [row0, row0 + nrows) of a dataset of
 * `rows` rows against its checksum, if it has one.  Either a rank that read
 * every row checks on its own, or the ranks' terms are added when their rows
 * add up to the dataset (cofi's reads split rows without overlap). */
static int checksum_check(cofi_h5 *f, const char *name, cofi_idx rows, cofi_idx row0,
                          cofi_idx nrows, cofi_idx cols, const void *buf, cofi_idx ld,
                          size_t elem)
{
    int has = 0;
    COFI_TRY(cofi_h5_attr_exists(f, name, CHECKSUM_ATTR, &has));
    if (!has) return COFI_OK;
    uint64_t want = 0;
    COFI_TRY(attr_read_num(f, name, CHECKSUM_ATTR, H5T_NATIVE_UINT64, COFI_H5_INT, &want));
    const uint64_t mine = checksum_rows(buf, row0, nrows, cols, ld, elem);
    const int unread = nrows > 0 && !buf, whole = !unread && row0 == 0 && nrows == rows;
    uint64_t agg[4] = {whole ? 0 : (uint64_t)nrows, whole ? 0 : mine, (uint64_t)whole,
                       (uint64_t)unread};
    COFI_TRY(cofi_sum_u64(f->comm, agg, 4));
    int bad = whole ? mine != want
                    : agg[2] == 0 && agg[3] == 0 && agg[0] == (uint64_t)rows && agg[1] != want;
    return cofi_agree(f->comm, bad ? cofi_error(COFI_ERR_FORMAT, "'%s': dataset '%s' does not "
                                                "match its checksum (the file is damaged, or a "
                                                "read returned wrong data)", f->path, name)
                                   : COFI_OK);
}

/* Does file type t read into memtype without conversion?  (A checksum is of
 * the bytes as stored, so only such reads are checked.) */
static int stored_as(hid_t t, hid_t memtype)
{
    hid_t nt = H5Tget_native_type(t, H5T_DIR_DEFAULT);
    int same = nt >= 0 && H5Tequal(nt, memtype) > 0;
    if (nt >= 0) H5Tclose(nt);
    return same;
}

static int read_rows(cofi_h5 *f, const char *name, cofi_idx row0, cofi_idx nrows,
                     cofi_idx cols, void *buf, cofi_idx ld, hid_t memtype, int want_class)
{
    const cofi_comm *c = f->comm;
    int rc = COFI_OK, as_stored = 0;
    cofi_idx rows = 0;
    hid_t d = dset_open(f, name, &rc);
    if (d >= 0) {
        rc = check_shape(f, name, d, cols, &rows);
        if (!rc) {
            hid_t t = H5Dget_type(d);
            int cls = class_of(t);
            as_stored = stored_as(t, memtype);
            H5Tclose(t);
            if (cls != want_class && !(want_class == COFI_H5_FLOAT && cls == COFI_H5_INT))
                rc = cofi_error(COFI_ERR_FORMAT, "'%s': dataset '%s' has the wrong type; "
                                "expected %s", f->path, name,
                                want_class == COFI_H5_INT ? "integers" : "numbers");
        }
    }
    /* The shape and type are the same on every rank; the row range is ours. */
    if (rc) {
        if (d >= 0) H5Dclose(d);
        return cofi_agree(c, rc);
    }
    int nd = cols > 0 ? 2 : 1;
    int local = COFI_OK;
    if (nrows < 0 || row0 < 0 || row0 + nrows > rows) {
        local = cofi_error(COFI_ERR_FORMAT, "'%s': rows [%" PRIidx ", %" PRIidx ") of '%s' "
                           "are outside its %" PRIidx " rows", f->path, row0, row0 + nrows,
                           name, rows);
        nrows = 0;
    }
    hid_t fs = H5Dget_space(d), ms;
    select_rows(fs, &ms, nd, row0, nrows, cols, ld);
    hid_t x = dxpl_independent();
    double dummy;
    herr_t e = H5Dread(d, memtype, ms, fs, x, nrows > 0 && buf ? buf : (void *)&dummy);
    if (e < 0 && !local)
        local = cofi_error(COFI_ERR_FORMAT, "'%s': cannot read dataset '%s' (an I/O error, or "
                           "the file is damaged)",
                           f->path, name);
    H5Pclose(x);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(d);
    COFI_TRY(cofi_agree(c, local));
    return as_stored ? checksum_check(f, name, rows, row0, nrows, cols, buf, ld, H5Tget_size(memtype))
                     : COFI_OK;
}

int cofi_h5_read_val(cofi_h5 *f, const char *name, cofi_idx row0, cofi_idx nrows,
                     cofi_idx cols, cofi_val *buf, cofi_idx ld)
{
    return read_rows(f, name, row0, nrows, cols, buf, cols > 0 ? ld : 1, COFI_H5T_VAL,
                     COFI_H5_FLOAT);
}

int cofi_h5_read_idx(cofi_h5 *f, const char *name, cofi_idx row0, cofi_idx nrows,
                     cofi_idx *buf)
{
    return read_rows(f, name, row0, nrows, 0, buf, 1, COFI_H5T_IDX, COFI_H5_INT);
}

int cofi_h5_read_scalar_val(cofi_h5 *f, const char *name, cofi_val *v)
{
    int rc = COFI_OK;
    hid_t d = dset_open(f, name, &rc);
    if (d < 0) return cofi_agree(f->comm, rc);
    hid_t s = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(s);
    hid_t t = H5Dget_type(d);
    int cls = class_of(t), as_stored = stored_as(t, COFI_H5T_VAL);
    H5Tclose(t);
    if (n != 1 || (cls != COFI_H5_FLOAT && cls != COFI_H5_INT))
        rc = cofi_error(COFI_ERR_FORMAT, "'%s': dataset '%s' must hold one number", f->path,
                        name);
    else if (H5Dread(d, COFI_H5T_VAL, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) < 0)
        rc = cofi_error(COFI_ERR_FORMAT, "'%s': cannot read dataset '%s' (an I/O error, or the "
                        "file is damaged)", f->path, name);
    H5Sclose(s);
    H5Dclose(d);
    COFI_TRY(cofi_agree(f->comm, rc));
    return as_stored ? checksum_check(f, name, 1, 0, 1, 0, v, 1, sizeof *v) : COFI_OK;
}

/* With COFI_H5_ALIGN, what aligning a dataset may add to the file: up to
 * the alignment before its data (or before each chunk) when that is at
 * least the threshold, and before its header (reserved as if it were).
 * Reserving too much costs nothing: the file ends where HDF5's allocation
 * ends when it is closed. */
static int64_t align_slack(const hsize_t *dims, int nd, cofi_idx chunk_rows, cofi_idx chunk_cols,
                           double tsize)
{
    if (!io_align) return 0;
    double pieces = 1, piece = (double)dims[0] * (double)dims[1] * tsize;
    if (chunk_rows > 0 && dims[0] > 0) {
        const double cr = (double)chunk_rows < (double)dims[0] ? (double)chunk_rows : (double)dims[0];
        const double cc = nd == 2 && chunk_cols > 0 && (double)chunk_cols < (double)dims[1]
                              ? (double)chunk_cols : (double)dims[1];
        pieces = ceil((double)dims[0] / cr) * ceil((double)dims[1] / cc);
        piece = cr * cc * tsize;
    }
    return (int64_t)io_align * (1 + (piece >= (double)io_align_min ? (int64_t)pieces : 0));
}

static hid_t lcpl_parents(void)
{
    hid_t p = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(p, 1);
    return p;
}

/* Create a 1-D (cols 0) or 2-D dataset; chunked by chunk_rows x chunk_cols
 * when chunk_rows > 0.  Collective; returns the agreed status. */
static int dset_create(cofi_h5 *f, const char *name, cofi_idx global_rows, cofi_idx cols,
                       cofi_idx chunk_rows, cofi_idx chunk_cols, hid_t filetype, hid_t *out)
{
    int nd = cols > 0 ? 2 : 1;
    hsize_t dims[2] = {(hsize_t)global_rows, (hsize_t)(cols > 0 ? cols : 1)};
    /* Room for it on disk first (a parallel file's chunks are all allocated
     * at once; the last may reach past the dataset's end).  Reserved before
     * HDF5 allocates it, so that a file given up on here still has room for
     * the metadata HDF5 writes while closing it. */
    const double tsize = (double)H5Tget_size(filetype);
    double bytes = (double)dims[0] * (double)dims[1] * tsize;
    if (chunk_rows > 0 && global_rows > 0)
        bytes += (double)(chunk_rows < global_rows ? chunk_rows : global_rows) * (double)dims[1] * tsize;
    f->planned += (int64_t)bytes + RESERVE_PER_DATASET + align_slack(dims, nd, chunk_rows, chunk_cols, tsize);
    COFI_TRY(reserve_space(f));
    hid_t fs = H5Screate_simple(nd, dims, NULL);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    if (chunk_rows > 0 && global_rows > 0) {
        hsize_t ch[2] = {(hsize_t)(chunk_rows < global_rows ? chunk_rows : global_rows),
                         (hsize_t)(chunk_cols > 0 && chunk_cols < (cofi_idx)dims[1] ? chunk_cols
                                                                                  : (cofi_idx)dims[1])};
        H5Pset_chunk(dcpl, nd, ch);
    }
    hid_t lcpl = lcpl_parents();
    hid_t d = H5Dcreate2((hid_t)f->id, name, filetype, fs, lcpl, dcpl, H5P_DEFAULT);
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    H5Sclose(fs);
    int rc = d < 0 ? cofi_error(COFI_ERR_IO, "'%s': cannot create dataset '%s'", f->path, name)
                   : COFI_OK;
    rc = cofi_agree(f->comm, rc);
    if (rc && d >= 0) H5Dclose(d);
    *out = rc ? -1 : d;
    return rc;
}

/* Each rank writes its rows [row0, row0 + nrows) of an open dataset; the
 * status is agreed.  The transfer itself is independent (see
 * dxpl_independent). */
static int dset_write(cofi_h5 *f, const char *name, hid_t d, cofi_idx cols, cofi_idx row0,
                      cofi_idx nrows, const void *buf, cofi_idx ld, hid_t memtype)
{
    int nd = cols > 0 ? 2 : 1;
    hid_t fs = H5Dget_space(d);
    hsize_t dims[2] = {0, 0};
    H5Sget_simple_extent_dims(fs, dims, NULL);
    int local = COFI_OK;
    if (nrows < 0 || row0 < 0 || row0 + nrows > (cofi_idx)dims[0]) {
        local = cofi_error(COFI_ERR_INTERNAL, "writing rows [%" PRIidx ", %" PRIidx ") of '%s' "
                           "with %llu rows", row0, row0 + nrows, name, (unsigned long long)dims[0]);
        nrows = 0;
    }
    hid_t ms;
    select_rows(fs, &ms, nd, row0, nrows, cols > 0 ? cols : 1, cols > 0 ? ld : 1);
    hid_t x = dxpl_independent();
    double dummy = 0;
    herr_t e = H5Dwrite(d, memtype, ms, fs, x, nrows > 0 && buf ? buf : (const void *)&dummy);
    if (e < 0 && !local)
        local = cofi_error(COFI_ERR_IO, "'%s': cannot write dataset '%s' (an I/O error or a "
                           "full disk)", f->path, name);
    H5Pclose(x);
    H5Sclose(ms);
    H5Sclose(fs);
    return cofi_agree(f->comm, local);
}

static int write_rows(cofi_h5 *f, const char *name, cofi_idx global_rows, cofi_idx cols,
                      cofi_idx chunk_rows, cofi_idx row0, cofi_idx nrows, const void *buf,
                      cofi_idx ld, hid_t memtype, hid_t filetype)
{
    hid_t d;
    COFI_TRY(dset_create(f, name, global_rows, cols, chunk_rows, 0, filetype, &d));
    int rc = dset_write(f, name, d, cols, row0, nrows, buf, ld, memtype);
    if (H5Dclose(d) < 0 && !rc)
        rc = cofi_error(COFI_ERR_IO, "'%s': cannot write dataset '%s'", f->path, name);
    COFI_TRY(cofi_agree(f->comm, rc));
    return checksum_write(f, name, checksum_rows(buf, row0, nrows, cols, ld, H5Tget_size(memtype)));
}

int cofi_h5_dset_create(cofi_h5 *f, const char *name, cofi_idx rows, cofi_idx cols,
                        cofi_idx chunk_rows, cofi_idx chunk_cols, cofi_h5_dset *d)
{
    memset(d, 0, sizeof *d);
    d->f = f;
    d->rows = rows;
    d->cols = cols;
    snprintf(d->name, sizeof d->name, "%s", name);
    hid_t id;
    COFI_TRY(dset_create(f, name, rows, cols, chunk_rows, chunk_cols, COFI_H5T_VAL_FILE, &id));
    d->id = id;
    return COFI_OK;
}

int cofi_h5_dset_write(cofi_h5_dset *d, cofi_idx row0, cofi_idx nrows, const cofi_val *buf,
                       cofi_idx ld)
{
    COFI_TRY(dset_write(d->f, d->name, (hid_t)d->id, d->cols, row0, nrows, buf, ld, COFI_H5T_VAL));
    d->checksum += checksum_rows(buf, row0, nrows, d->cols, ld, sizeof *buf);
    return COFI_OK;
}

int cofi_h5_dset_close(cofi_h5_dset *d)
{
    int rc = H5Dclose((hid_t)d->id) < 0
                 ? cofi_error(COFI_ERR_IO, "'%s': cannot write dataset '%s'", d->f->path, d->name)
                 : COFI_OK;
    d->id = -1;
    COFI_TRY(cofi_agree(d->f->comm, rc));
    return checksum_write(d->f, d->name, d->checksum);
}

int cofi_h5_write_val(cofi_h5 *f, const char *name, cofi_idx global_rows, cofi_idx cols,
                      cofi_idx row0, cofi_idx nrows, const cofi_val *buf, cofi_idx ld)
{
    return write_rows(f, name, global_rows, cols, 0, row0, nrows, buf, ld, COFI_H5T_VAL,
                      COFI_H5T_VAL_FILE);
}

int cofi_h5_write_val_chunked(cofi_h5 *f, const char *name, cofi_idx global_rows,
                              cofi_idx cols, cofi_idx chunk_rows, cofi_idx row0,
                              cofi_idx nrows, const cofi_val *buf, cofi_idx ld)
{
    return write_rows(f, name, global_rows, cols, chunk_rows, row0, nrows, buf, ld,
                      COFI_H5T_VAL, COFI_H5T_VAL_FILE);
}

int cofi_h5_write_idx(cofi_h5 *f, const char *name, cofi_idx global_rows, cofi_idx cols,
                      cofi_idx row0, cofi_idx nrows, const cofi_idx *buf, cofi_idx ld)
{
    return write_rows(f, name, global_rows, cols, 0, row0, nrows, buf, ld, COFI_H5T_IDX,
                      COFI_H5T_IDX_FILE);
}

int cofi_h5_write_scalar_val(cofi_h5 *f, const char *name, cofi_val v)
{
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t lcpl = lcpl_parents();
    hid_t d = H5Dcreate2((hid_t)f->id, name, COFI_H5T_VAL_FILE, s, lcpl, H5P_DEFAULT,
                         H5P_DEFAULT);
    H5Pclose(lcpl);
    int rc = COFI_OK;
    if (d < 0) {
        rc = cofi_error(COFI_ERR_IO, "'%s': cannot create dataset '%s'", f->path, name);
    } else {
        /* Every rank has the same value: rank 0 writes it. */
        if (f->comm->rank == 0) {
            hid_t x = dxpl_independent();
            if (H5Dwrite(d, COFI_H5T_VAL, H5S_ALL, H5S_ALL, x, &v) < 0)
                rc = cofi_error(COFI_ERR_IO, "'%s': cannot write dataset '%s'", f->path, name);
            H5Pclose(x);
        }
        H5Dclose(d);
    }
    H5Sclose(s);
    COFI_TRY(cofi_agree(f->comm, rc));
    uint64_t sum = checksum_rows(&v, 0, 1, 0, 1, sizeof v); /* the same on every rank */
    return attr_write(f, name, CHECKSUM_ATTR, H5T_STD_U64LE, H5T_NATIVE_UINT64, &sum);
}

/* ---------------------------------------------------------------- strings */

static int valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p >> 5) == 6 ? 1 : (*p >> 4) == 14 ? 2 : (*p >> 3) == 30 ? 3 : -1;
        if (n < 0) return 0;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p >> 6) != 2) return 0;
    }
    return 1;
}

int cofi_h5_write_strings(cofi_h5 *f, const char *name, cofi_idx global_rows, cofi_idx row0,
                          const cofi_strings *local)
{
    const cofi_comm *c = f->comm;
    cofi_idx n = local ? local->n : 0;
    /* Width and character set are global properties of the dataset. */
    cofi_idx agg[2] = {local ? cofi_strings_maxlen(local) : 0, 0};
    for (cofi_idx i = 0; i < n; i++)
        if (!valid_utf8(local->buf + local->off[i])) agg[1] = 1;
    COFI_TRY(cofi_max_idx(c, agg, 2));
    size_t width = agg[0] > 0 ? (size_t)agg[0] : 1;
    char *packed = cofi_calloc((size_t)(n > 0 ? n : 1), width, "string buffer");
    int rc = cofi_agree(c, packed ? COFI_OK : COFI_ERR_NOMEM);
    if (rc) {
        cofi_free(packed);
        return rc;
    }
    for (cofi_idx i = 0; i < n; i++) {
        const char *s = local->buf + local->off[i];
        memcpy(packed + (size_t)i * width, s, strnlen(s, width));
    }
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, width);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    H5Tset_cset(t, agg[1] ? H5T_CSET_ASCII : H5T_CSET_UTF8);
    rc = write_rows(f, name, global_rows, 0, 0, row0, n, packed, 1, t, t);
    H5Tclose(t);
    cofi_free(packed);
    return rc;
}

/* Pack nrows strings given as (pointer, max length) into a cofi_strings. */
static int strings_from(cofi_strings *out, cofi_idx nrows, const char *const *ptrs,
                        const char *fixed, size_t width)
{
    size_t total = 0;
    for (cofi_idx i = 0; i < nrows; i++)
        total += (ptrs ? (ptrs[i] ? strlen(ptrs[i]) : 0) : strnlen(fixed + i * width, width)) + 1;
    out->n = nrows;
    out->off = cofi_malloc((size_t)nrows + 1, sizeof *out->off, "id strings");
    out->buf = cofi_malloc(total ? total : 1, 1, "id strings");
    if (!out->off || !out->buf) return COFI_ERR_NOMEM;
    size_t pos = 0;
    for (cofi_idx i = 0; i < nrows; i++) {
        const char *s = ptrs ? (ptrs[i] ? ptrs[i] : "") : fixed + i * width;
        size_t len = ptrs ? strlen(s) : strnlen(s, width);
        out->off[i] = (cofi_idx)pos;
        memcpy(out->buf + pos, s, len);
        out->buf[pos + len] = '\0';
        pos += len + 1;
    }
    out->off[nrows] = (cofi_idx)pos;
    return COFI_OK;
}

/* Strings of rows [row0, row0 + nrows), or (sparse) of rows at[0..nrows). */
static int read_strings_sel(cofi_h5 *f, const char *name, cofi_idx row0, cofi_idx nrows,
                            int sparse, const cofi_idx *at, cofi_strings *out)
{
    const cofi_comm *c = f->comm;
    memset(out, 0, sizeof *out);
    int rc = COFI_OK;
    cofi_idx rows = 0;
    hid_t d = dset_open(f, name, &rc);
    hid_t ft = -1;
    if (d >= 0) {
        rc = check_shape(f, name, d, 0, &rows);
        ft = H5Dget_type(d);
        if (!rc && class_of(ft) != COFI_H5_STRING)
            rc = cofi_error(COFI_ERR_FORMAT, "'%s': dataset '%s' must hold strings", f->path,
                            name);
    }
    if (rc) {
        if (ft >= 0) H5Tclose(ft);
        if (d >= 0) H5Dclose(d);
        return cofi_agree(c, rc);
    }
    int local = COFI_OK;
    if (nrows < 0 || (!sparse && (row0 < 0 || row0 + nrows > rows))) {
        local = cofi_error(COFI_ERR_FORMAT, "'%s': dataset '%s' has %" PRIidx " entries; "
                           "expected at least %" PRIidx, f->path, name, rows, row0 + nrows);
        nrows = 0;
    }
    for (cofi_idx i = 0; at && i < nrows && !local; i++)
        if (at[i] < 0 || at[i] >= rows)
            local = cofi_error(COFI_ERR_INTERNAL, "row %" PRIidx " of '%s' out of range", at[i], name);
    if (local) nrows = 0;
    int vl = H5Tis_variable_str(ft) > 0, nullpad = H5Tget_strpad(ft) == H5T_STR_NULLPAD;
    size_t width = vl ? sizeof(char *) : H5Tget_size(ft);
    hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, vl ? H5T_VARIABLE : width);
    H5Tset_strpad(mt, H5T_STR_NULLPAD);
    H5Tset_cset(mt, H5Tget_cset(ft));
    char *buf = cofi_calloc((size_t)(nrows > 0 ? nrows : 1), width, "id strings");
    hsize_t *coord = at && nrows > 0 ? cofi_malloc((size_t)nrows, sizeof *coord, "rows") : NULL;
    if ((!buf || (at && nrows > 0 && !coord)) && !local) local = COFI_ERR_NOMEM;
    if (local) nrows = 0;
    hid_t fs = H5Dget_space(d), ms;
    if (at && nrows > 0) {
        for (cofi_idx i = 0; i < nrows; i++) coord[i] = (hsize_t)at[i];
        H5Sselect_elements(fs, H5S_SELECT_SET, (size_t)nrows, coord);
        hsize_t n = (hsize_t)nrows;
        ms = H5Screate_simple(1, &n, NULL);
    } else {
        select_rows(fs, &ms, 1, row0, nrows, 1, 1);
    }
    hid_t x = dxpl_independent();
    char dummy[16];
    if (H5Dread(d, mt, ms, fs, x, nrows > 0 ? (void *)buf : (void *)dummy) < 0 && !local)
        local = cofi_error(COFI_ERR_FORMAT, "'%s': cannot read dataset '%s' (an I/O error, or "
                           "the file is damaged)", f->path, name);
    else if (!local)
        local = strings_from(out, nrows, vl ? (const char *const *)buf : NULL, buf, width);
    if (vl && nrows > 0) {
#if H5_VERSION_GE(1, 12, 0)
        H5Treclaim(mt, ms, x, buf);
#else
        H5Dvlen_reclaim(mt, ms, x, buf);
#endif
    }
    H5Pclose(x);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Tclose(mt);
    H5Tclose(ft);
    H5Dclose(d);
    rc = cofi_agree(c, local);
    /* Fixed-length, null-padded strings (read as stored) read by ranges are checked. */
    if (!rc && !sparse && !vl && nullpad) rc = checksum_check(f, name, rows, row0, nrows, 0, buf, 1, width);
    cofi_free(buf);
    cofi_free(coord);
    if (rc) cofi_strings_free(out);
    return rc;
}

int cofi_h5_read_strings(cofi_h5 *f, const char *name, cofi_idx row0, cofi_idx nrows,
                         cofi_strings *out)
{
    return read_strings_sel(f, name, row0, nrows, 0, NULL, out);
}

int cofi_h5_read_strings_at(cofi_h5 *f, const char *name, cofi_idx n, const cofi_idx *rows,
                            cofi_strings *out)
{
    return read_strings_sel(f, name, 0, n, 1, rows, out);
}

int cofi_h5_group(cofi_h5 *f, const char *name)
{
    int rc = COFI_OK;
    if (link_exists((hid_t)f->id, name) <= 0) {
        hid_t lcpl = lcpl_parents();
        hid_t g = H5Gcreate2((hid_t)f->id, name, lcpl, H5P_DEFAULT, H5P_DEFAULT);
        H5Pclose(lcpl);
        if (g < 0) rc = cofi_error(COFI_ERR_IO, "'%s': cannot create group '%s'", f->path, name);
        else H5Gclose(g);
    }
    return cofi_agree(f->comm, rc);
}

/* ------------------------------------------------------------- attributes */

static int attr_write(cofi_h5 *f, const char *obj, const char *name, hid_t filetype,
                      hid_t memtype, const void *v)
{
    int rc = COFI_OK;
    hid_t o = H5Oopen((hid_t)f->id, obj, H5P_DEFAULT);
    if (o < 0)
        return cofi_agree(f->comm, cofi_error(COFI_ERR_IO, "'%s': no object '%s'", f->path, obj));
    if (H5Aexists(o, name) > 0) H5Adelete(o, name);
    hid_t s = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(o, name, filetype, s, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, memtype, v) < 0)
        rc = cofi_error(COFI_ERR_IO, "'%s': cannot write attribute '%s'", f->path, name);
    if (a >= 0) H5Aclose(a);
    H5Sclose(s);
    H5Oclose(o);
    return cofi_agree(f->comm, rc);
}

int cofi_h5_attr_set_idx(cofi_h5 *f, const char *obj, const char *name, cofi_idx v)
{
    return attr_write(f, obj, name, COFI_H5T_IDX, COFI_H5T_IDX, &v);
}

int cofi_h5_attr_set_val(cofi_h5 *f, const char *obj, const char *name, cofi_val v)
{
    return attr_write(f, obj, name, COFI_H5T_VAL, COFI_H5T_VAL, &v);
}

int cofi_h5_attr_set_str(cofi_h5 *f, const char *obj, const char *name, const char *v)
{
    /* Variable-length UTF-8, the form h5py reads back as str. */
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, valid_utf8(v) ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
    int rc = attr_write(f, obj, name, t, t, &v);
    H5Tclose(t);
    return rc;
}

int cofi_h5_attr_exists(cofi_h5 *f, const char *obj, const char *name, int *exists)
{
    int has_obj = strcmp(obj, "/") == 0;
    int rc = has_obj ? COFI_OK : exists_or_error(f, obj, &has_obj);
    htri_t e = has_obj && !rc && !injected_absent(f->comm, name)
                   ? H5Aexists_by_name((hid_t)f->id, obj, name, H5P_DEFAULT)
                   : 0;
    if (e < 0)
        rc = cofi_error(COFI_ERR_FORMAT, "'%s': cannot read the attributes of '%s' (an I/O "
                        "error, or the file is damaged)", f->path, obj);
    *exists = e > 0;
    char what[2 * COFI_PATH_MAX];
    snprintf(what, sizeof what, "attribute '%s' of '%s'", name, obj);
    return agree_exists(f, rc, exists, what);
}

static int attr_read_error(const cofi_h5 *f, const char *name)
{
    return cofi_error(COFI_ERR_FORMAT, "'%s': cannot read attribute '%s' (an I/O error, or the "
                      "file is damaged)", f->path, name);
}

/* Open attribute `name` of `obj` for reading, with a clear message if absent. */
static hid_t attr_open(cofi_h5 *f, const char *obj, const char *name, int *rc)
{
    int ex = 0;
    *rc = cofi_h5_attr_exists(f, obj, name, &ex);
    if (*rc) return -1;
    if (!ex) {
        *rc = cofi_error(COFI_ERR_FORMAT, "'%s': attribute '%s' of '%s' is missing", f->path,
                         name, obj);
        return -1;
    }
    hid_t a = H5Aopen_by_name((hid_t)f->id, obj, name, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) *rc = attr_read_error(f, name);
    return a;
}

static int attr_read_num(cofi_h5 *f, const char *obj, const char *name, hid_t memtype,
                         int want, void *v)
{
    int rc = COFI_OK;
    hid_t a = attr_open(f, obj, name, &rc);
    if (a >= 0) {
        hid_t t = H5Aget_type(a), s = H5Aget_space(a);
        int cls = class_of(t);
        if (H5Sget_simple_extent_npoints(s) != 1 ||
            !(cls == want || (want == COFI_H5_FLOAT && cls == COFI_H5_INT)))
            rc = cofi_error(COFI_ERR_FORMAT, "'%s': attribute '%s' of '%s' must be one %s",
                            f->path, name, obj, want == COFI_H5_INT ? "integer" : "number");
        else if (H5Aread(a, memtype, v) < 0)
            rc = attr_read_error(f, name);
        H5Sclose(s);
        H5Tclose(t);
        H5Aclose(a);
    }
    return cofi_agree(f->comm, rc);
}

int cofi_h5_attr_get_idx(cofi_h5 *f, const char *obj, const char *name, cofi_idx *v)
{
    return attr_read_num(f, obj, name, COFI_H5T_IDX, COFI_H5_INT, v);
}

int cofi_h5_attr_get_val(cofi_h5 *f, const char *obj, const char *name, cofi_val *v)
{
    return attr_read_num(f, obj, name, COFI_H5T_VAL, COFI_H5_FLOAT, v);
}

int cofi_h5_attr_get_str(cofi_h5 *f, const char *obj, const char *name, char *buf,
                         size_t size)
{
    int rc = COFI_OK;
    buf[0] = '\0';
    hid_t a = attr_open(f, obj, name, &rc);
    if (a >= 0) {
        hid_t t = H5Aget_type(a);
        if (class_of(t) != COFI_H5_STRING) {
            rc = cofi_error(COFI_ERR_FORMAT, "'%s': attribute '%s' must be a string", f->path,
                            name);
        } else if (H5Tis_variable_str(t) > 0) {
            char *s = NULL;
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, H5T_VARIABLE);
            H5Tset_cset(mt, H5Tget_cset(t));
            if (H5Aread(a, mt, &s) < 0)
                rc = attr_read_error(f, name);
            else snprintf(buf, size, "%s", s ? s : "");
            if (s) H5free_memory(s);
            H5Tclose(mt);
        } else {
            size_t w = H5Tget_size(t);
            char *tmp = cofi_calloc(w + 1, 1, "attribute");
            if (!tmp) rc = COFI_ERR_NOMEM;
            else if (H5Aread(a, t, tmp) < 0)
                rc = attr_read_error(f, name);
            else snprintf(buf, size, "%s", tmp);
            cofi_free(tmp);
        }
        H5Tclose(t);
        H5Aclose(a);
    }
    return cofi_agree(f->comm, rc);
}
