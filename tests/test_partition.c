/* test_partition.c - item blocks balanced by ratings (each row also
 * weighing a fixed number of ratings), checked against the optimal
 * contiguous split found by brute force, for several row weights. */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "cofi/partition.h"
#include "cofi/rng.h"

/* Smallest possible maximum block weight (row weight = ratings + a constant), by
 * trying every placement of the boundaries (small n and P). */
static cofi_idx best(const cofi_idx *w, int n, int P, int from)
{
    if (P == 1) {
        cofi_idx s = 0;
        for (int i = from; i < n; i++) s += w[i];
        return s;
    }
    cofi_idx b = COFI_IDX_MAX, s = 0;
    for (int cut = from; cut <= n; cut++) {
        if (cut > from) s += w[cut - 1];
        cofi_idx rest = best(w, n, P - 1, cut);
        cofi_idx m = s > rest ? s : rest;
        if (m < b) b = m;
    }
    return b;
}

int main(void)
{
    for (int trial = 0; trial < 500; trial++) {
        int n = 1 + (int)(cofi_rng_u64(5, 1, (uint64_t)trial, 0) % 12);
        int P = 1 + (int)(cofi_rng_u64(5, 2, (uint64_t)trial, 0) % 5);
        cofi_idx indptr[13], w[12], starts[7], maxw = 0;
        indptr[0] = 0;
        for (int i = 0; i < n; i++) {
            /* skewed: most rows small, some huge, some empty */
            uint64_t h = cofi_rng_u64(5, 3, (uint64_t)trial, (uint64_t)i);
            cofi_idx r = h % 4 == 0 ? (cofi_idx)(h % 1000) : (cofi_idx)(h % 7);
            indptr[i + 1] = indptr[i] + r;
        }
        /* row weights: none, 1, the items' own, the average row, a large one */
        const cofi_idx avg = indptr[n] / n;
        const cofi_idx weights[5] = {0, 1, COFI_ITEM_ROW_WEIGHT_MAX, avg, 5000};
        const cofi_idx per_row = weights[trial % 5];
        for (int i = 0; i < n; i++) {
            w[i] = indptr[i + 1] - indptr[i] + per_row;
            if (w[i] > maxw) maxw = w[i];
        }
        cofi_partition_rows_w(indptr, n, P, per_row, starts);
        /* the ranks' split weighs rows as the average, clamped to [1, 16] */
        const cofi_idx item_w = avg < 1 ? 1 : avg > COFI_ITEM_ROW_WEIGHT_MAX ? COFI_ITEM_ROW_WEIGHT_MAX : avg;
        CHECK(cofi_partition_item_weight(indptr, n) == item_w, "trial %d: item weight %ld, want %ld",
              trial, (long)cofi_partition_item_weight(indptr, n), (long)item_w);
        if (per_row == item_w) {
            cofi_idx s2[7];
            cofi_partition_rows(indptr, n, P, s2);
            CHECK(memcmp(s2, starts, (size_t)(P + 1) * sizeof *s2) == 0,
                  "trial %d: the ranks' split weighs rows %ld", trial, (long)item_w);
        }
        CHECK(starts[0] == 0 && starts[P] == n, "blocks cover all rows");
        cofi_idx worst = 0;
        for (int p = 0; p < P; p++) {
            CHECK(starts[p] <= starts[p + 1], "blocks in order");
            cofi_idx s = 0;
            for (cofi_idx i = starts[p]; i < starts[p + 1]; i++) s += w[i];
            if (s > worst) worst = s;
        }
        cofi_idx opt = best(w, n, P, 0), total = 0;
        for (int i = 0; i < n; i++) total += w[i];
        /* Each boundary is the row boundary nearest to p/P of the total
         * weight, found here by trying them all (in units of 1/P, with 2 of
         * slack for the integer target)... */
        for (int p = 1; p < P; p++) {
            long long near = -1, got = -1, pre = 0;
            for (int r = 0; r <= n; r++) {
                if (r > 0) pre += w[r - 1];
                long long d = llabs((long long)P * pre - (long long)p * total);
                if (near < 0 || d < near) near = d;
                if (r == starts[p]) got = d;
            }
            CHECK(got >= 0 && got <= near + 2 * P,
                  "trial %d (n %d, P %d): boundary %d at row %ld is %lld/P from its target, the nearest %lld/P",
                  trial, n, P, p, (long)starts[p], got, near);
        }
        /* ... so no block exceeds its share by more than one row, and none
         * is heavier than the optimal contiguous split's plus one row. */
        CHECK(worst <= total / P + maxw + 1 && worst <= opt + maxw,
              "trial %d (n %d, P %d): max block %ld, share %ld, optimum %ld, max row %ld", trial, n,
              P, (long)worst, (long)(total / P), (long)opt, (long)maxw);
    }
    /* A skewed matrix: one row with 60 ratings, twenty with 2 (average 4).
     * By ratings alone the popular row would be a block of its own (60 | 40);
     * with every row also weighing 4 (the ranks' split: the average), rows
     * 0-5 weigh 94 and rows 6-20 90; with every row weighing 16, rows 0-8
     * weigh 220 and rows 9-20 216. */
    {
        cofi_idx sk[22], st2[3];
        sk[0] = 0;
        sk[1] = 60;
        for (int i = 2; i <= 21; i++) sk[i] = sk[i - 1] + 2;
        cofi_partition_rows_w(sk, 21, 2, 0, st2);
        CHECK(st2[1] == 1, "skewed split by ratings at %ld, want 1 (60 | 40)", (long)st2[1]);
        cofi_partition_rows(sk, 21, 2, st2);
        CHECK(st2[1] == 6, "skewed split at %ld, want 6 (weights 94 | 90)", (long)st2[1]);
        cofi_partition_rows_w(sk, 21, 2, 16, st2);
        CHECK(st2[1] == 9, "skewed split at %ld, want 9 (weights 220 | 216)", (long)st2[1]);
    }
    /* Ten times the ratings (average 47): the ranks' split caps the row
     * weight at 16, so rows 0-1 weigh 652 and rows 2-20 684 (with 47, rows
     * 0-5 would weigh 982 and rows 6-20 1,005). */
    {
        cofi_idx sk[22], st2[3];
        sk[0] = 0;
        sk[1] = 600;
        for (int i = 2; i <= 21; i++) sk[i] = sk[i - 1] + 20;
        CHECK(COFI_ITEM_ROW_WEIGHT_MAX == 16, "the hand-computed case assumes a cap of 16");
        CHECK(cofi_partition_item_weight(sk, 21) == 16, "capped weight %ld",
              (long)cofi_partition_item_weight(sk, 21));
        cofi_partition_rows(sk, 21, 2, st2);
        CHECK(st2[1] == 2, "capped split at %ld, want 2 (weights 652 | 684)", (long)st2[1]);
        cofi_partition_rows_w(sk, 21, 2, 47, st2);
        CHECK(st2[1] == 6, "average-weight split at %ld, want 6 (weights 982 | 1005)", (long)st2[1]);
    }
    /* Uniform rows split evenly; more parts than rows leaves some empty. */
    cofi_idx ind[11], st[5];
    for (int i = 0; i <= 10; i++) ind[i] = 3 * i;
    cofi_partition_rows(ind, 10, 2, st);
    CHECK(st[1] == 5, "10 equal rows in 2 blocks split at 5, got %ld", (long)st[1]);
    cofi_partition_rows(ind, 2, 4, st);
    CHECK(st[0] == 0 && st[4] == 2, "2 rows over 4 ranks");
    cofi_idx used = 0;
    for (int p = 0; p < 4; p++) used += st[p + 1] - st[p];
    CHECK(used == 2, "every row owned once");
    cofi_partition_even(10, 3, st);
    CHECK(st[0] == 0 && st[1] == 3 && st[2] == 6 && st[3] == 10, "even split 10/3: %ld %ld", (long)st[1], (long)st[2]);
    return cofi_test_finish("test_partition");
}
