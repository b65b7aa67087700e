/* test_fuzz_regressions.c - replay the fuzz targets' inputs without libFuzzer.
 *
 *   test_fuzz_regressions FUZZ_DIR [TARGET FILE...]
 *
 * Runs every file of FUZZ_DIR/corpus/<target>/ (the seed corpora) and
 * FUZZ_DIR/regressions/<target>/ (inputs that once broke a target) through
 * the target's function (tests/fuzz/fuzz_<target>.c), in name order.  A
 * target aborts on a broken invariant, and the sanitizer build catches
 * memory errors and leaks, so the normal test suite keeps every input a
 * fuzzer found fixed.  With TARGET FILE... it runs just those files (to
 * reproduce a crash from tools/fuzz). */
#include "fuzz/fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    const char *name;
    int (*run)(const uint8_t *, size_t);
} target;

static const target targets[] = {
    {"movielens_100k", cofi_fuzz_movielens_100k},
    {"movielens_csv", cofi_fuzz_movielens_csv},
    {"movielens_dat", cofi_fuzz_movielens_dat},
    {"triplets", cofi_fuzz_triplets},
    {"dense", cofi_fuzz_dense},
    {"ratings_validate", cofi_fuzz_ratings_validate},
};
#define N_TARGETS (sizeof targets / sizeof targets[0])

/* Read a whole file; NULL (with a message) on failure. */
static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open '%s': %s\n", path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap) break;
        uint8_t *b = realloc(buf, 2 * cap);
        if (!b) free(buf);
        buf = b;
        cap *= 2;
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        fprintf(stderr, "cannot read '%s'\n", path);
        free(buf);
        return NULL;
    }
    *len = n;
    return buf;
}

static int run_file(const target *t, const char *path)
{
    size_t len = 0;
    uint8_t *data = slurp(path, &len);
    if (!data) return 1;
    t->run(data, len); /* aborts on a broken invariant */
    free(data);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir (missing dir: none), in name order.  Returns the
 * number of files run, or -1 after a read failure; *failed counts those. */
static long run_dir(const target *t, const char *dir, int *failed)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    char **names = NULL;
    size_t n = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *names);
            if (!nn) break;
            names = nn;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n > 0) qsort(names, n, sizeof *names, by_name);
    long ran = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(dir) + strlen(names[i]) + 2;
        char *path = malloc(len);
        snprintf(path, len, "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            *failed += run_file(t, path);
            ran++;
        }
        free(path);
        free(names[i]);
    }
    free(names);
    return ran;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FUZZ_DIR [TARGET FILE...]\n", argv[0]);
        return 2;
    }
    int failed = 0;
    if (argc > 2) {
        const target *t = NULL;
        for (size_t k = 0; k < N_TARGETS; k++)
            if (strcmp(argv[2], targets[k].name) == 0) t = &targets[k];
        if (!t) {
            fprintf(stderr, "unknown target '%s'\n", argv[2]);
            return 2;
        }
        for (int i = 3; i < argc; i++) failed += run_file(t, argv[i]);
        printf("%s: %d files, %d unreadable\n", t->name, argc - 3, failed);
        return failed ? 1 : 0;
    }
    long total = 0;
    int empty = 0;
    for (size_t k = 0; k < N_TARGETS; k++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/corpus/%s", argv[1], targets[k].name);
        long seeds = run_dir(&targets[k], dir, &failed);
        snprintf(dir, sizeof dir, "%s/regressions/%s", argv[1], targets[k].name);
        long regressions = run_dir(&targets[k], dir, &failed);
        printf("%-18s %4ld corpus files, %3ld regression inputs: ok\n", targets[k].name, seeds,
               regressions);
        if (seeds == 0) {
            fprintf(stderr, "FAIL: no corpus for %s in %s/corpus/%s\n", targets[k].name, argv[1],
                    targets[k].name);
            empty++;
        }
        total += seeds + regressions;
    }
    printf("test_fuzz_regressions: %ld inputs replayed, %d unreadable, %d targets without corpus\n",
           total, failed, empty);
    return failed || empty ? 1 : 0;
}
