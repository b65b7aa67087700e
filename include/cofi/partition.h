/* cofi/partition.h - item rows split across ranks, balanced by ratings. */
#ifndef COFI_PARTITION_H
#define COFI_PARTITION_H

#include "cofi/types.h"

/* Split rows [0, n) into `nparts` contiguous blocks.  Row i weighs
 * (indptr[i+1] - indptr[i]) + 1: its ratings plus one for its own update, so
 * empty rows still spread out.  Block p is [starts[p], starts[p+1]); starts
 * has nparts + 1 entries, starts[0] = 0 and starts[nparts] = n.  A pure
 * function of indptr and nparts: every rank computes the same split. */
void cofi_partition_rows(const cofi_idx *indptr, cofi_idx n, int nparts, cofi_idx *starts);

/* Even split of n rows by count (used where rows have no weights yet). */
void cofi_partition_even(cofi_idx n, int nparts, cofi_idx *starts);

#endif
