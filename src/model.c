/* model.c - allocation and seeded initialization of the parameters. */
#include "cofi/model.h"
#include "cofi/error.h"
#include "cofi/rng.h"

#include <string.h>

int cofi_model_alloc(cofi_model *M, cofi_idx n_items, cofi_idx n_users, cofi_idx k,
                     cofi_idx item_begin, cofi_idx n_local)
{
    memset(M, 0, sizeof *M);
    M->n_items = n_items;
    M->n_users = n_users;
    M->k = k;
    M->ld = cofi_padded(k);
    M->item_begin = item_begin;
    M->n_local = n_local;
    M->clip_lo = -INFINITY;
    M->clip_hi = INFINITY;
    M->X = cofi_calloc((size_t)n_local * (size_t)M->ld, sizeof *M->X, "item features X");
    M->W = cofi_calloc((size_t)n_users * (size_t)M->ld, sizeof *M->W, "user features W");
    M->b = cofi_calloc((size_t)n_users, sizeof *M->b, "user bias b");
    M->item_bias = cofi_calloc((size_t)n_local, sizeof *M->item_bias, "item bias");
    if (!M->X || !M->W || !M->b || !M->item_bias) {
        cofi_model_free(M);
        return COFI_ERR_NOMEM;
    }
    return COFI_OK;
}

void cofi_model_free(cofi_model *M)
{
    cofi_free(M->X);
    cofi_free(M->W);
    cofi_free(M->b);
    cofi_free(M->item_bias);
    M->X = M->W = M->b = M->item_bias = NULL;
}

void cofi_model_init_random(cofi_model *M, uint64_t seed, cofi_val scale)
{
    cofi_idx k = M->k, ld = M->ld;
#pragma omp parallel for schedule(static)
    for (cofi_idx i = 0; i < M->n_local; i++)
        for (cofi_idx f = 0; f < k; f++)
            M->X[i * ld + f] =
                scale * cofi_rng_normal(seed, COFI_STREAM_X, (uint64_t)(M->item_begin + i), (uint64_t)f);
#pragma omp parallel for schedule(static)
    for (cofi_idx j = 0; j < M->n_users; j++) {
        for (cofi_idx f = 0; f < k; f++)
            M->W[j * ld + f] = scale * cofi_rng_normal(seed, COFI_STREAM_W, (uint64_t)j, (uint64_t)f);
        M->b[j] = scale * cofi_rng_normal(seed, COFI_STREAM_B, (uint64_t)j, 0);
    }
}
