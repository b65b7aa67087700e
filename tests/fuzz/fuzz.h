/* fuzz.h - cofi's fuzz targets.
 *
 * Each target takes arbitrary bytes, runs one of cofi's input-facing
 * functions on them and aborts (after printing why) if a result breaks an
 * invariant; inputs that are merely invalid must be refused with a message.
 * Built two ways from the same sources:
 *   - with clang -fsanitize=fuzzer (tests/fuzz/CMakeLists.txt, tools/fuzz),
 *     COFI_FUZZ_LIBFUZZER is defined and COFI_FUZZ_ENTRY adds libFuzzer's
 *     LLVMFuzzerTestOneInput to each target;
 *   - in the normal build, test_fuzz_regressions links every target and
 *     replays the seed corpora and the regression inputs through them. */
#ifndef COFI_FUZZ_H
#define COFI_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "cofi/text.h"

/* The targets, one per text format and one for the ratings-file checks.
 * Each returns 0 (libFuzzer's convention) or aborts. */
int cofi_fuzz_movielens_100k(const uint8_t *data, size_t size);
int cofi_fuzz_movielens_csv(const uint8_t *data, size_t size);
int cofi_fuzz_movielens_dat(const uint8_t *data, size_t size);
int cofi_fuzz_triplets(const uint8_t *data, size_t size);
int cofi_fuzz_dense(const uint8_t *data, size_t size);
int cofi_fuzz_ratings_validate(const uint8_t *data, size_t size);

/* The text targets' shared body (fuzz_text.c): parse `data` as `fmt`, check
 * the triplets against the input, build the CSR and check it. */
int cofi_fuzz_text(enum cofi_text_format fmt, const uint8_t *data, size_t size);

/* Print "fuzz invariant violated: ..." and abort. */
void cofi_fuzz_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), noreturn));
#define FUZZ_CHECK(cond, ...)                                                  \
    do {                                                                       \
        if (!(cond)) cofi_fuzz_fail(__FILE__, __LINE__, __VA_ARGS__);          \
    } while (0)

#ifdef COFI_FUZZ_LIBFUZZER
#define COFI_FUZZ_ENTRY(fn)                                                    \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);              \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fn(data, size); }
#else
#define COFI_FUZZ_ENTRY(fn)
#endif

#endif
