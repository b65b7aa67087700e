/* error.c - the per-process error message and checked allocation. */
#define _DEFAULT_SOURCE /* madvise */
#include "cofi/error.h"
#include "cofi/types.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int g_code = COFI_OK;
static char g_msg[COFI_MSG_MAX];
static char g_where[128];

int cofi_error_at(int code, const char *file, int line, const char *fmt, ...)
{
    /* Keep the first message: it names the cause; later ones are fallout. */
    if (g_code != COFI_OK) return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    g_code = code;
    const char *base = strrchr(file, '/');
    snprintf(g_where, sizeof g_where, "%s:%d", base ? base + 1 : file, line);
    if (cofi_debug_enabled())
        fprintf(stderr, "cofi debug: error %d at %s: %s\n", code, g_where, g_msg);
    return code;
}

int cofi_debug_enabled(void)
{
    const char *d = getenv("COFI_DEBUG");
    return d && *d && strcmp(d, "0") != 0;
}

static char g_prog[64] = "cofi";
void cofi_error_set_program(const char *name) { snprintf(g_prog, sizeof g_prog, "%s", name); }
const char *cofi_error_program(void) { return g_prog; }

const char *cofi_error_message(void) { return g_msg; }
int cofi_error_code(void) { return g_code; }

void cofi_error_set_message(int code, const char *msg)
{
    g_code = code;
    snprintf(g_msg, sizeof g_msg, "%s", msg ? msg : "");
}

void cofi_error_clear(void)
{
    g_code = COFI_OK;
    g_msg[0] = '\0';
    g_where[0] = '\0';
}

const char *cofi_status_name(int code)
{
    static const char *names[COFI_STATUS_COUNT] = {
        "success", "i/o error", "format error", "bad value",
        "out of memory", "mpi error", "internal error", "usage error"};
    if (code < 0 || code >= COFI_STATUS_COUNT) return "unknown error";
    return names[code];
}

/* Builds with -DCOFI_FAULT_INJECTION=ON (the default when the tests are
 * built) can make the n-th allocation fail (COFI_FAIL_ALLOC=n, counted per
 * process; COFI_FAIL_ALLOC_RANK restricts it to one MPI rank, read from the
 * launcher's environment) to check that a failure on one rank stops all
 * ranks cleanly.  Without it the hook compiles to nothing. */
static long fail_countdown(void)
{
#ifdef COFI_FAULT_INJECTION
    static int init = 0;
    static long left = -1;
    if (!init) {
        init = 1;
        const char *n = getenv("COFI_FAIL_ALLOC");
        const char *r = getenv("COFI_FAIL_ALLOC_RANK");
        const char *me = getenv("OMPI_COMM_WORLD_RANK");
        if (!me) me = getenv("PMI_RANK");
        if (n && (!r || (me && strcmp(r, me) == 0))) left = atol(n);
    }
    if (left < 0) return 1;
    return left--;
#else
    return 1;
#endif
}

/* Large arrays on huge pages: the passes reach rows of X and W, and the
 * residual slots, at random, and with 4 KiB pages nearly every such access
 * misses the first-level TLB.  An allocation of COFI_HUGE_MIN bytes or more
 * starts on a COFI_HUGE_PAGE boundary, is rounded up to whole huge pages and
 * is advised for transparent huge pages (which a kernel whose THP mode is
 * "madvise" gives only to advised memory).  At 10^6 ratings an iteration
 * measured 7-10% faster on one core; elsewhere from noise to 9% (README,
 * "The AMD host again").  COFI_HUGEPAGES=0 turns this off. */
#define COFI_HUGE_MIN ((size_t)256 << 10)
#define COFI_HUGE_PAGE ((size_t)2 << 20)

/* n rounded up to a multiple of a (the caller keeps n + a from overflowing) */
static size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

static int huge_pages_wanted(size_t bytes)
{
#ifdef MADV_HUGEPAGE
    if (bytes < COFI_HUGE_MIN || bytes > SIZE_MAX - COFI_HUGE_PAGE) return 0;
    const char *e = getenv("COFI_HUGEPAGES");
    return !(e && strcmp(e, "0") == 0);
#else
    (void)bytes;
    return 0;
#endif
}

void *cofi_malloc(size_t count, size_t size, const char *what)
{
    if (size != 0 && count > (SIZE_MAX - COFI_ALIGN) / size) {
        cofi_error(COFI_ERR_NOMEM, "cannot allocate %s: %zu x %zu bytes overflows",
                   what, count, size);
        return NULL;
    }
    size_t bytes = count * size;
    bytes = round_up(bytes, COFI_ALIGN);
    if (bytes == 0) bytes = COFI_ALIGN;
    void *p = NULL;
    const int huge = huge_pages_wanted(bytes);
    if (huge) bytes = round_up(bytes, COFI_HUGE_PAGE);
    if (fail_countdown() == 0 || posix_memalign(&p, huge ? COFI_HUGE_PAGE : COFI_ALIGN, bytes) != 0) {
        cofi_error(COFI_ERR_NOMEM, "out of memory allocating %s (%.1f MiB)", what,
                   (double)bytes / 1048576.0);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    /* advice only: a kernel without THP refuses it, and the pages stay small */
    if (huge) (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
    return p;
}

void *cofi_calloc(size_t count, size_t size, const char *what)
{
    void *p = cofi_malloc(count, size, what);
    if (p) memset(p, 0, count * size);
    return p;
}

void cofi_free(void *p) { free(p); }
