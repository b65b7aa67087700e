/* cofi/pairs.h - (item, user, rating) pairs scored against a model: the
 * validation split, a --test file, predict --pairs.  Plain C + OpenMP.
 *
 * A pair's item is a local row of the model (this rank owns the item) or -1
 * when the item is not in the training data; its user is a user index or -1
 * likewise.  The prediction is clip(mu + item_bias[i] + x_i . w_j + b_j) with
 * the terms of an unknown item or user left out: an unknown item is predicted
 * as clip(mu + b_j), an unknown user as clip(mu + item_bias[i]), both unknown
 * as clip(mu).  (Items and users that are known but have no training ratings
 * have zero features and biases, so the full formula gives the same.) */
#ifndef COFI_PAIRS_H
#define COFI_PAIRS_H

#include <stdint.h>

#include "cofi/model.h"
#include "cofi/ratings.h"
#include "cofi/text.h"

typedef struct {
    cofi_idx n;
    cofi_idx *item;   /* local item row, or -1 */
    cofi_idx *user;   /* user index, or -1 */
    cofi_val *rating;
    cofi_idx *pos;    /* position in the source file (predict --pairs), may be NULL */
} cofi_pairs;

int cofi_pairs_alloc(cofi_pairs *p, cofi_idx n, int with_pos);
void cofi_pairs_free(cofi_pairs *p);

/* Clipped predictions of every pair into out[n]. */
void cofi_pairs_predict(const cofi_model *M, const cofi_pairs *p, cofi_val *out);

/* Sums for the metrics: [0] sum of squared errors, [1] sum of absolute
 * errors, [2] the number of pairs; fixed order, any thread count. */
void cofi_pairs_eval(const cofi_model *M, const cofi_pairs *p, cofi_val sums[3]);

/* Is the rating of (item id, user id) held out?  A hash of both ids and the
 * seed, below `fraction`: the same split for any rank count. */
int cofi_holdout_pick(const char *item_id, const char *user_id, uint64_t seed, double fraction);

/* Move the held-out ratings of R (local items, ids from the ratings file)
 * into val and rebuild R's CSR and transposed index without them.  R->nnz
 * (global) is left to the caller, which must sum the local counts. */
int cofi_split_holdout(cofi_ratings *R, const cofi_strings *item_ids, const cofi_strings *user_ids,
                       double fraction, uint64_t seed, cofi_pairs *val);

#endif
