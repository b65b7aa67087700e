/* cofi/partition.h - item rows split across ranks, balanced by work. */
#ifndef COFI_PARTITION_H
#define COFI_PARTITION_H

#include "cofi/types.h"

/* What an item row's own work costs, in ratings: its Adam step, its
 * features and gradient row in the item pass and, through the transposed
 * index, its features' share of the caches in the user pass.  It is taken
 * as the average ratings per item, at least 1 and at most this cap.
 * Measured as the weight that balances 2 ranks: on power-law data out of
 * cache (7.3 million ratings, 100,000 x 20,000, zipf 1, average 72) the
 * slower rank's compute time over the faster's was 1.01-1.13 with 16 at
 * k = 16, 64 and 128, 1.35-1.6 with 0 (ratings alone: the rank with most of
 * the rows is slower) and 2.1-3.2 with 72 (the rank with the popular rows
 * is); on MovieLens latest-small in cache (average 10) it was 1.06-1.16
 * with 10 and 1.31-1.36 with 16. */
#define COFI_ITEM_ROW_WEIGHT_MAX 16

/* The average ratings per row of rows [0, n) of indptr, at least 1. */
cofi_idx cofi_partition_avg_weight(const cofi_idx *indptr, cofi_idx n);

/* The weight of an item row in ratings for rows [0, n) of indptr:
 * the average ratings per row, clamped to [1, COFI_ITEM_ROW_WEIGHT_MAX]. */
cofi_idx cofi_partition_item_weight(const cofi_idx *indptr, cofi_idx n);

/* Split item rows [0, n) into `nparts` contiguous blocks of balanced work:
 * row i weighs its ratings plus cofi_partition_item_weight().  On uniform
 * data this is a split by ratings.  Block p is [starts[p], starts[p+1]);
 * starts has nparts + 1 entries, starts[0] = 0 and starts[nparts] = n.  A
 * pure function of indptr and nparts: every rank computes the same split. */
void cofi_partition_rows(const cofi_idx *indptr, cofi_idx n, int nparts, cofi_idx *starts);

/* The same with each row weighing its ratings plus row_weight (>= 0). */
void cofi_partition_rows_w(const cofi_idx *indptr, cofi_idx n, int nparts, cofi_idx row_weight,
                           cofi_idx *starts);

/* Even split of n rows by count (used where rows have no weights yet). */
void cofi_partition_even(cofi_idx n, int nparts, cofi_idx *starts);
/* Its starts[p] alone. */
cofi_idx cofi_partition_even_start(cofi_idx n, int nparts, int p);

#endif
