/* partition.c - contiguous item blocks with balanced work. */
#include "cofi/partition.h"

/* Weight of rows [0, r): ratings plus rows, each row counted like `per_row` ratings. */
static inline cofi_idx prefix_weight(const cofi_idx *indptr, cofi_idx r, cofi_idx per_row)
{
    return indptr[r] - indptr[0] + r * per_row;
}

cofi_idx cofi_partition_avg_weight(const cofi_idx *indptr, cofi_idx n)
{
    cofi_idx w = n > 0 ? (indptr[n] - indptr[0]) / n : 1;
    return w < 1 ? 1 : w;
}

cofi_idx cofi_partition_item_weight(const cofi_idx *indptr, cofi_idx n)
{
    cofi_idx w = cofi_partition_avg_weight(indptr, n);
    return w > COFI_ITEM_ROW_WEIGHT_MAX ? COFI_ITEM_ROW_WEIGHT_MAX : w;
}

void cofi_partition_rows(const cofi_idx *indptr, cofi_idx n, int nparts, cofi_idx *starts)
{
    cofi_partition_rows_w(indptr, n, nparts, cofi_partition_item_weight(indptr, n), starts);
}

void cofi_partition_rows_w(const cofi_idx *indptr, cofi_idx n, int nparts, cofi_idx per_row,
                           cofi_idx *starts)
{
    cofi_idx total = prefix_weight(indptr, n, per_row);
    starts[0] = 0;
    for (int p = 1; p < nparts; p++) {
        /* Target boundary weight p * total / nparts, without overflow. */
        cofi_idx target = total / nparts * p + (total % nparts) * p / nparts;
        /* Smallest r with prefix_weight(r) >= target. */
        cofi_idx lo = 0, hi = n;
        while (lo < hi) {
            cofi_idx mid = lo + (hi - lo) / 2;
            if (prefix_weight(indptr, mid, per_row) < target) lo = mid + 1;
            else hi = mid;
        }
        /* Step back one row when that lands closer to the target. */
        if (lo > 0 && target - prefix_weight(indptr, lo - 1, per_row) < prefix_weight(indptr, lo, per_row) - target)
            lo--;
        if (lo < starts[p - 1]) lo = starts[p - 1];
        starts[p] = lo;
    }
    starts[nparts] = n;
}

cofi_idx cofi_partition_even_start(cofi_idx n, int nparts, int p)
{
    return n / nparts * p + (n % nparts) * p / nparts;
}

void cofi_partition_even(cofi_idx n, int nparts, cofi_idx *starts)
{
    for (int p = 0; p <= nparts; p++) starts[p] = cofi_partition_even_start(n, nparts, p);
}
