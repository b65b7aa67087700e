/* generate.c - the synthetic-data kernel (no MPI, no HDF5). */
#include "cofi/generate.h"
#include "cofi/rng.h"

#include <math.h>

cofi_gen_params cofi_gen_defaults(void)
{
    cofi_gen_params p = {0, 0, 3, 0.5, 0.5, 1, 1, 1.0, 5.0, 0.0, 1.0};
    return p;
}

void cofi_gen_prepare(cofi_gen_params *p)
{
    p->zipf_mean = 1.0;
    if (p->zipf > 0 && p->n_items > 0) {
        double h = 0;
        for (cofi_idx r = p->n_items; r >= 1; r--) h += pow((double)r, -p->zipf);
        p->zipf_mean = h / (double)p->n_items;
    }
}

double cofi_gen_density(const cofi_gen_params *p, cofi_idx i)
{
    double d = 1.0 - p->missing;
    /* Power-law popularity: item i weighs (i + 1)^-zipf relative to the mean
     * weight, so the expected density stays 1 - missing until items saturate. */
    if (p->zipf > 0) d *= pow((double)i + 1.0, -p->zipf) / p->zipf_mean;
    return d < 0 ? 0 : d > 1 ? 1 : d;
}

/* Calls emit(j) for each user j who rated item i, in increasing order. */
#define FOR_EACH_RATER(p, i, j, BODY)                                                  \
    do {                                                                               \
        const double dens_ = cofi_gen_density((p), (i));                               \
        if (dens_ >= 1.0) {                                                            \
            for (cofi_idx j = 0; j < (p)->n_users; j++) { BODY; }                      \
        } else if (dens_ > 0.0) {                                                      \
            const double lq_ = log1p(-dens_);                                          \
            cofi_idx j = -1;                                                           \
            for (uint64_t n_ = 0;; n_++) {                                             \
                double u_ = cofi_rng_uniform((p)->seed, COFI_STREAM_MASK, (uint64_t)(i), n_); \
                double skip_ = floor(log(u_) / lq_);                                   \
                if (skip_ >= (double)((p)->n_users - j)) break;                        \
                j += (cofi_idx)skip_ + 1;                                              \
                if (j >= (p)->n_users) break;                                          \
                BODY;                                                                  \
            }                                                                          \
        }                                                                              \
    } while (0)

void cofi_gen_count(const cofi_gen_params *p, cofi_idx i0, cofi_idx i1, cofi_idx *counts)
{
#pragma omp parallel for schedule(dynamic, 64)
    for (cofi_idx i = i0; i < i1; i++) {
        cofi_idx n = 0;
        FOR_EACH_RATER(p, i, j, n++);
        counts[i - i0] = n;
    }
}

void cofi_gen_truth_X(const cofi_gen_params *p, cofi_idx i0, cofi_idx i1, cofi_val *X)
{
    const cofi_idx r = p->true_features;
#pragma omp parallel for schedule(static)
    for (cofi_idx i = i0; i < i1; i++)
        for (cofi_idx f = 0; f < r; f++)
            X[(i - i0) * r + f] = cofi_rng_normal(p->seed, COFI_STREAM_TRUE_X, (uint64_t)i, (uint64_t)f);
}

void cofi_gen_truth_W(const cofi_gen_params *p, cofi_val *W)
{
    const cofi_idx r = p->true_features;
#pragma omp parallel for schedule(static)
    for (cofi_idx j = 0; j < p->n_users; j++)
        for (cofi_idx f = 0; f < r; f++)
            W[j * r + f] = cofi_rng_normal(p->seed, COFI_STREAM_TRUE_W, (uint64_t)j, (uint64_t)f);
}

void cofi_gen_fill(const cofi_gen_params *p, cofi_idx i0, cofi_idx i1, const cofi_idx *indptr,
                   const cofi_val *X, const cofi_val *W, cofi_idx *user, cofi_val *rating)
{
    const cofi_idx r = p->true_features;
#pragma omp parallel for schedule(dynamic, 64)
    for (cofi_idx i = i0; i < i1; i++) {
        cofi_idx pos = indptr[i - i0];
        const cofi_val *x = X + (i - i0) * r;
        FOR_EACH_RATER(p, i, j, {
            const cofi_val *w = W + j * r;
            double y = 0;
            for (cofi_idx f = 0; f < r; f++) y += x[f] * w[f];
            y += p->noise * cofi_rng_normal(p->seed, COFI_STREAM_NOISE, (uint64_t)i, (uint64_t)j);
            if (p->round) {
                y = round(y);
                y = y < p->lo ? p->lo : y > p->hi ? p->hi : y;
            }
            user[pos] = j;
            rating[pos] = y;
            pos++;
        });
    }
}
