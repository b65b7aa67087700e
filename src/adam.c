/* adam.c - Adam, in the exact arithmetic order of Keras 3. */
#include "cofi/optim.h"

#include <math.h>
#include <omp.h>

cofi_val cofi_adam_alpha(const cofi_optim_params *o, int64_t t)
{
    const cofi_val step = (cofi_val)t;
    return o->learning_rate * sqrt(1.0 - pow(o->beta2, step)) / (1.0 - pow(o->beta1, step));
}

void cofi_adam_step(const cofi_optim_params *o, int64_t t, const cofi_optim_block *blk)
{
    const cofi_val b1 = o->beta1, b2 = o->beta2, eps = o->epsilon;
    const cofi_val alpha = cofi_adam_alpha(o, t);
    const cofi_val c1 = 1.0 - b1, c2 = 1.0 - b2;
    const cofi_idx cols = blk->cols;
    /* Rows of X and W are read by every thread in the gradient passes, so on
     * more than one thread a row to update is usually also in another core's
     * cache: ask for it for writing a few rows ahead, so that the other
     * copies are dropped while earlier rows are computed (measured on 2
     * threads: 6% faster per iteration at 10^5 ratings, k = 64 and 128). */
    enum { AHEAD = 6 };
    const int prefetch = omp_get_max_threads() > 1 && cols * (cofi_idx)sizeof(cofi_val) >= 64;
#pragma omp parallel for schedule(static)
    for (cofi_idx r = 0; r < blk->rows; r++) {
        if (prefetch && r + AHEAD < blk->rows) {
            const char *ahead = (const char *)(blk->P + (r + AHEAD) * blk->ldp);
            for (cofi_idx b = 0; b < cols * (cofi_idx)sizeof(cofi_val); b += 64)
                __builtin_prefetch(ahead + b, 1, 3);
        }
        cofi_val *restrict p = blk->P + r * blk->ldp;
        const cofi_val *restrict g = blk->G + r * blk->ldg;
        cofi_val *restrict m = blk->S[0] + r * blk->lds;
        cofi_val *restrict v = blk->S[1] + r * blk->lds;
        for (cofi_idx f = 0; f < cols; f++) {
            m[f] += (g[f] - m[f]) * c1;
            v[f] += (g[f] * g[f] - v[f]) * c2;
            p[f] -= (m[f] * alpha) / (sqrt(v[f]) + eps);
        }
    }
}
