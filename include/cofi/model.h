/* cofi/model.h - the parameters a rank holds.
 *
 * Prediction: y_hat[i][j] = mu + item_bias[i] + x_i . w_j + b[j].
 * X holds this rank's item rows only; W and b are replicated on every rank.
 * Rows of X and W are padded to ld = cofi_padded(k) values, aligned, with the
 * padding kept at zero, so kernels can run over whole padded rows. */
#ifndef COFI_MODEL_H
#define COFI_MODEL_H

#include <math.h>
#include <stdint.h>
#include "cofi/types.h"

typedef struct {
    cofi_idx n_items, n_users, k, ld;
    cofi_idx item_begin, n_local;
    cofi_val *X;         /* n_local x ld */
    cofi_val *W;         /* n_users x ld */
    cofi_val *b;         /* n_users */
    cofi_val mu;         /* global offset */
    cofi_val *item_bias; /* n_local */
    cofi_val clip_lo, clip_hi; /* reported predictions are clipped to [lo, hi] */
} cofi_model;

static inline cofi_val cofi_clip(const cofi_model *M, cofi_val y)
{
    return y < M->clip_lo ? M->clip_lo : y > M->clip_hi ? M->clip_hi : y;
}

/* Allocate a zeroed model for items [item_begin, item_begin + n_local). */
int cofi_model_alloc(cofi_model *M, cofi_idx n_items, cofi_idx n_users, cofi_idx k,
                     cofi_idx item_begin, cofi_idx n_local);
void cofi_model_free(cofi_model *M);

/* X, W, b drawn from N(0, scale^2), each value from (seed, its global index):
 * the same model whatever the rank count. */
void cofi_model_init_random(cofi_model *M, uint64_t seed, cofi_val scale);

#endif
