/* fuzz_movielens_100k.c - fuzz target: the movielens-100k text format
 * (MovieLens 100K u.data: user, item, rating and timestamp separated by tabs
 * or any whitespace).  fuzz_text.c checks the parse against the text and the
 * CSR built from it. */
#include "fuzz.h"

int cofi_fuzz_movielens_100k(const uint8_t *data, size_t size)
{
    return cofi_fuzz_text(COFI_TEXT_MOVIELENS_100K, data, size);
}

COFI_FUZZ_ENTRY(cofi_fuzz_movielens_100k)
