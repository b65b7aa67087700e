/* gd.c - plain gradient descent. */
#include "cofi/optim.h"

void cofi_gd_step(const cofi_optim_params *o, int64_t t, const cofi_optim_block *blk)
{
    (void)t;
    const cofi_val lr = o->learning_rate;
    const cofi_idx cols = blk->cols;
#pragma omp parallel for schedule(static)
    for (cofi_idx r = 0; r < blk->rows; r++) {
        cofi_val *restrict p = blk->P + r * blk->ldp;
        const cofi_val *restrict g = blk->G + r * blk->ldg;
        for (cofi_idx f = 0; f < cols; f++) p[f] -= lr * g[f];
    }
}
