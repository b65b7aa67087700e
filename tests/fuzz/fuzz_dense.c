/* fuzz_dense.c - fuzz target: the dense text format (the notebook's table:
 * user names across the first row, item names down the first column, an
 * empty cell for a missing rating).  fuzz_text.c checks the parse against
 * the text and the CSR built from it. */
#include "fuzz.h"

int cofi_fuzz_dense(const uint8_t *data, size_t size)
{
    return cofi_fuzz_text(COFI_TEXT_DENSE, data, size);
}

COFI_FUZZ_ENTRY(cofi_fuzz_dense)
