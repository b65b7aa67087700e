/* test_alloc.c - where cofi_malloc puts arrays, as the kernel reports it in
 * /proc/self/smaps: under 256 KiB on COFI_ALIGN and not advised; 256 KiB and
 * more on a 2 MiB boundary, rounded up to whole 2 MiB (all of it writable)
 * and eligible for transparent huge pages; with COFI_HUGEPAGES=0 not
 * advised; cofi_calloc zeroes what was asked for. */
#define _DEFAULT_SOURCE /* setenv */
#include "testutil.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cofi/error.h"

enum { KiB = 1024 };
#define HUGE_PAGE ((size_t)2 << 20)

/* The kernel's THP mode: the bracketed word of its setting ("always",
 * "madvise", "never"), or "none" without THP. */
static void thp_mode(char *out, size_t n)
{
    snprintf(out, n, "none");
    FILE *fp = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    if (!fp) return;
    char line[256];
    if (fgets(line, sizeof line, fp)) {
        char *a = strchr(line, '['), *b = a ? strchr(a, ']') : NULL;
        if (a && b && (size_t)(b - a) < n) {
            memcpy(out, a + 1, (size_t)(b - a - 1));
            out[b - a - 1] = '\0';
        }
    }
    fclose(fp);
}

/* The mapping holding p: its end, and its THPeligible value (-1 when the
 * kernel does not report it).  Returns 0 when no mapping holds p. */
static int vma_of(const void *p, uintptr_t *end, int *eligible)
{
    FILE *fp = fopen("/proc/self/smaps", "r");
    if (!fp) return 0;
    char line[512];
    int in = 0, found = 0;
    *eligible = -1;
    const uintptr_t a = (uintptr_t)p;
    while (fgets(line, sizeof line, fp)) {
        uintmax_t lo, hi;
        char dash;
        if (sscanf(line, "%jx%c%jx", &lo, &dash, &hi) == 3 && dash == '-' && strchr(line, ':') &&
            line[0] != ' ' && strncmp(line, "THP", 3) != 0) {
            if (found) break; /* the next mapping */
            in = a >= (uintptr_t)lo && a < (uintptr_t)hi;
            if (in) *end = (uintptr_t)hi, found = 1;
        } else if (in && strncmp(line, "THPeligible:", 12) == 0) {
            *eligible = atoi(line + 12);
        }
    }
    fclose(fp);
    return found;
}

/* Allocate `bytes` and check its placement; huge: 1 expected on huge pages,
 * 0 not.  Writes every byte cofi_malloc says it holds. */
static void check_placement(size_t bytes, int huge, const char *mode, const char *what)
{
    unsigned char *p = cofi_malloc(bytes, 1, what);
    CHECK(p != NULL, "%s: %zu bytes allocated", what, bytes);
    if (!p) return;
    CHECK((uintptr_t)p % COFI_ALIGN == 0, "%s: aligned to %d bytes", what, COFI_ALIGN);
    uintptr_t end = 0;
    int eligible = -1;
    CHECK(vma_of(p, &end, &eligible), "%s: /proc/self/smaps lists its mapping", what);
    if (huge) {
        CHECK((uintptr_t)p % HUGE_PAGE == 0, "%s: starts on a 2 MiB boundary (%p)", what, (void *)p);
        const size_t rounded = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
        CHECK(end >= (uintptr_t)p + rounded, "%s: its mapping holds %zu bytes from it", what, rounded);
        memset(p, 0xa5, rounded); /* a sanitizer build sees an overrun here */
        CHECK(p[rounded - 1] == 0xa5, "%s: the last byte of the rounded size is written", what);
    } else {
        memset(p, 0xa5, bytes);
    }
    if (eligible >= 0 && strcmp(mode, "never") != 0 && strcmp(mode, "none") != 0) {
        if (huge)
            CHECK(eligible == 1, "%s: THPeligible 1 (mode %s), got %d", what, mode, eligible);
        else if (strcmp(mode, "madvise") == 0)
            CHECK(eligible == 0, "%s: not advised (THPeligible 0, mode madvise), got %d", what, eligible);
    }
    cofi_free(p);
}

int main(void)
{
    char mode[32];
    thp_mode(mode, sizeof mode);
    printf("THP mode: %s\n", mode);

    /* the small one first: later frees may leave advised memory in the heap */
    check_placement(100 * KiB, 0, mode, "100 KiB");
    check_placement(256 * KiB - 64, 0, mode, "256 KiB - 64");
    check_placement(256 * KiB, 1, mode, "256 KiB");
    check_placement(300 * KiB, 1, mode, "300 KiB");
    check_placement(5 * HUGE_PAGE + 8, 1, mode, "10 MiB + 8");

    setenv("COFI_HUGEPAGES", "0", 1);
    check_placement(300 * KiB, 0, mode, "300 KiB with COFI_HUGEPAGES=0");
    unsetenv("COFI_HUGEPAGES");

    /* cofi_calloc zeroes the count x size asked for, on huge pages too */
    {
        const size_t n = 40000; /* 320,000 bytes */
        double *z = cofi_calloc(n, sizeof *z, "zeros");
        CHECK(z != NULL && (uintptr_t)z % HUGE_PAGE == 0, "calloc of 320,000 bytes on a 2 MiB boundary");
        if (z) {
            size_t nonzero = 0;
            for (size_t i = 0; i < n; i++) nonzero += z[i] != 0.0;
            CHECK(nonzero == 0, "calloc: %zu of %zu values not zero", nonzero, n);
        }
        cofi_free(z);
    }

    /* a size that overflows is refused with a message, not rounded */
    CHECK(cofi_malloc(SIZE_MAX / 8, 16, "too much") == NULL, "an overflowing size is refused");
    return cofi_test_finish("test_alloc");
}
