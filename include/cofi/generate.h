/* cofi/generate.h - synthetic ratings with known latent features.
 *
 * The notebook's data: true item features x_i and user features w_j drawn
 * from N(0, 1) with r = true_features columns; rating = x_i . w_j + noise *
 * N(0, 1), rounded and clipped to [1, 5] (unless round = 0); each (item, user)
 * is kept with probability 1 - missing.  Which users rated item i is drawn by
 * geometric skips over the users, O(ratings) work, from (seed, i) alone, so
 * any rank can generate any item and the file is the same for every rank
 * count.  Plain C + OpenMP. */
#ifndef COFI_GENERATE_H
#define COFI_GENERATE_H

#include <stdint.h>
#include "cofi/types.h"

typedef struct {
    cofi_idx n_items, n_users, true_features;
    double noise;    /* standard deviation of the added noise */
    double missing;  /* fraction of (item, user) pairs left unrated */
    uint64_t seed;
    int round;       /* round and clip to [lo, hi] */
    double lo, hi;
    double zipf;     /* item i's popularity ~ (i + 1)^-zipf; 0 = uniform */
    double zipf_mean; /* set by cofi_gen_prepare */
} cofi_gen_params;

cofi_gen_params cofi_gen_defaults(void);
/* Precompute what the density needs; call after setting the fields. */
void cofi_gen_prepare(cofi_gen_params *p);

/* Probability that item i is rated by a given user. */
double cofi_gen_density(const cofi_gen_params *p, cofi_idx i);

/* Ratings of items [i0, i1): counts[i - i0]. */
void cofi_gen_count(const cofi_gen_params *p, cofi_idx i0, cofi_idx i1, cofi_idx *counts);

/* True features: rows [i0, i1) of X (n x r) and all of W (n_users x r). */
void cofi_gen_truth_X(const cofi_gen_params *p, cofi_idx i0, cofi_idx i1, cofi_val *X);
void cofi_gen_truth_W(const cofi_gen_params *p, cofi_val *W);

/* Users and ratings of items [i0, i1) into CSR arrays with local row
 * pointers indptr (from cofi_gen_count); X holds rows [i0, i1) of the truth. */
void cofi_gen_fill(const cofi_gen_params *p, cofi_idx i0, cofi_idx i1, const cofi_idx *indptr,
                   const cofi_val *X, const cofi_val *W, cofi_idx *user, cofi_val *rating);

#endif
