/* fuzz_movielens_csv.c - fuzz target: the movielens-csv text format
 * (MovieLens ratings.csv: the header userId,movieId,rating,timestamp, then
 * comma-separated lines).  fuzz_text.c checks the parse against the text and
 * the CSR built from it. */
#include "fuzz.h"

int cofi_fuzz_movielens_csv(const uint8_t *data, size_t size)
{
    return cofi_fuzz_text(COFI_TEXT_MOVIELENS_CSV, data, size);
}

COFI_FUZZ_ENTRY(cofi_fuzz_movielens_csv)
