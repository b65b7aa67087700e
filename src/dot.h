/* dot.h - the padded-row dot product shared by the kernels (private). */
#ifndef COFI_DOT_H
#define COFI_DOT_H

#include "cofi/types.h"

/* Dot product of two padded rows (ld a multiple of 8) with eight independent
 * accumulators and explicit FMAs: vectorizes without -ffast-math, and the
 * rounding depends only on ld, never on threads, blocking or call site. */
static inline cofi_val cofi_dot_padded(const cofi_val *restrict a, const cofi_val *restrict b,
                                       cofi_idx ld)
{
    cofi_val s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (cofi_idx f = 0; f < ld; f += 8) {
        s0 = COFI_FMA(a[f], b[f], s0);
        s1 = COFI_FMA(a[f + 1], b[f + 1], s1);
        s2 = COFI_FMA(a[f + 2], b[f + 2], s2);
        s3 = COFI_FMA(a[f + 3], b[f + 3], s3);
        s4 = COFI_FMA(a[f + 4], b[f + 4], s4);
        s5 = COFI_FMA(a[f + 5], b[f + 5], s5);
        s6 = COFI_FMA(a[f + 6], b[f + 6], s6);
        s7 = COFI_FMA(a[f + 7], b[f + 7], s7);
    }
    return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7));
}

/* The model's prediction for local item i and user j. */
#define COFI_PREDICT(M, i, j)                                                   \
    (cofi_dot_padded((M)->X + (i) * (M)->ld, (M)->W + (j) * (M)->ld, (M)->ld) + \
     (M)->b[j] + ((M)->mu + (M)->item_bias[i]))

#endif
