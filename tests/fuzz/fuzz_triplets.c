/* fuzz_triplets.c - fuzz target: the triplets text format (item, user,
 * rating lines split on commas or whitespace, with an optional header).
 * fuzz_text.c checks the parse against the text and the CSR built from it. */
#include "fuzz.h"

int cofi_fuzz_triplets(const uint8_t *data, size_t size)
{
    return cofi_fuzz_text(COFI_TEXT_TRIPLETS, data, size);
}

COFI_FUZZ_ENTRY(cofi_fuzz_triplets)
