/* dot.h - the padded-row dot product, axpy and row prefetch shared by the kernels
 * (private).  ld is a multiple of 8 and rows are 64-byte aligned. */
#ifndef COFI_DOT_H
#define COFI_DOT_H

#include "simd.h"

/* Four vector accumulators, chunk c of the row going to accumulator c % 4,
 * combined as (a0 + a1) + (a2 + a3), then the lanes: the rounding depends
 * only on ld, never on threads, blocking or the call site. */
static inline __attribute__((always_inline)) cofi_val
cofi_dot_padded(const cofi_val *restrict a, const cofi_val *restrict b, cofi_idx ld)
{
    cofi_vd s0 = vd_zero(), s1 = vd_zero(), s2 = vd_zero(), s3 = vd_zero();
    cofi_idx f = 0;
    for (; f + 4 * COFI_VW <= ld; f += 4 * COFI_VW) {
        s0 = vd_fma(vd_load(a + f), vd_load(b + f), s0);
        s1 = vd_fma(vd_load(a + f + COFI_VW), vd_load(b + f + COFI_VW), s1);
        s2 = vd_fma(vd_load(a + f + 2 * COFI_VW), vd_load(b + f + 2 * COFI_VW), s2);
        s3 = vd_fma(vd_load(a + f + 3 * COFI_VW), vd_load(b + f + 3 * COFI_VW), s3);
    }
    if (f < ld) s0 = vd_fma(vd_load(a + f), vd_load(b + f), s0), f += COFI_VW;
    if (f < ld) s1 = vd_fma(vd_load(a + f), vd_load(b + f), s1), f += COFI_VW;
    if (f < ld) s2 = vd_fma(vd_load(a + f), vd_load(b + f), s2);
    return vd_sum(vd_add(vd_add(s0, s1), vd_add(s2, s3)));
}

/* y += a x over a padded row. */
static inline __attribute__((always_inline)) void
cofi_axpy_padded(cofi_val *restrict y, cofi_val a, const cofi_val *restrict x, cofi_idx ld)
{
    const cofi_vd va = vd_set1(a);
    for (cofi_idx f = 0; f < ld; f += COFI_VW) vd_store(y + f, vd_fma(va, vd_load(x + f), vd_load(y + f)));
}

/* Rows reached through an index (W rows by user in the item pass, X rows by
 * item in the user pass) are fetched this many ratings ahead: the hardware
 * cannot predict them.  Every other cache line of a row is asked for; the
 * L2's adjacent-line prefetch brings the rest (measured 3% faster than
 * asking for every line in cache, the same out of it). */
#define COFI_PREFETCH_AHEAD 8

static inline __attribute__((always_inline)) void cofi_prefetch_row(const cofi_val *row, cofi_idx ld)
{
    for (cofi_idx l = 0; l < ld; l += 16) __builtin_prefetch(row + l, 0, 3);
}

/* The model's prediction for local item i and user j. */
#define COFI_PREDICT(M, i, j)                                                   \
    (cofi_dot_padded((M)->X + (i) * (M)->ld, (M)->W + (j) * (M)->ld, (M)->ld) + \
     (M)->b[j] + ((M)->mu + (M)->item_bias[i]))

#endif
