/* fuzz_movielens_dat.c - fuzz target: the movielens-dat text format
 * (MovieLens 1M/10M ratings.dat: user::item::rating::timestamp).
 * fuzz_text.c checks the parse against the text and the CSR built from it. */
#include "fuzz.h"

int cofi_fuzz_movielens_dat(const uint8_t *data, size_t size)
{
    return cofi_fuzz_text(COFI_TEXT_MOVIELENS_DAT, data, size);
}

COFI_FUZZ_ENTRY(cofi_fuzz_movielens_dat)
