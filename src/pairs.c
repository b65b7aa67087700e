/* pairs.c - scoring pairs, and the deterministic holdout split. */
#include "cofi/pairs.h"
#include "cofi/error.h"
#include "cofi/rng.h"
#include "cofi/strmap.h"
#include "dot.h"

#include <math.h>
#include <string.h>

#define PAIR_BLOCK 256

int cofi_pairs_alloc(cofi_pairs *p, cofi_idx n, int with_pos)
{
    memset(p, 0, sizeof *p);
    p->n = n;
    size_t m = (size_t)(n > 0 ? n : 1);
    p->item = cofi_malloc(m, sizeof *p->item, "pairs");
    p->user = cofi_malloc(m, sizeof *p->user, "pairs");
    p->rating = cofi_malloc(m, sizeof *p->rating, "pairs");
    if (with_pos) p->pos = cofi_malloc(m, sizeof *p->pos, "pairs");
    if (!p->item || !p->user || !p->rating || (with_pos && !p->pos)) {
        cofi_pairs_free(p);
        return COFI_ERR_NOMEM;
    }
    return COFI_OK;
}

void cofi_pairs_free(cofi_pairs *p)
{
    cofi_free(p->item);
    cofi_free(p->user);
    cofi_free(p->rating);
    cofi_free(p->pos);
    memset(p, 0, sizeof *p);
}

static inline cofi_val predict_one(const cofi_model *M, cofi_idx i, cofi_idx j)
{
    cofi_val y;
    if (i >= 0 && j >= 0) y = COFI_PREDICT(M, i, j);
    else if (i >= 0) y = M->mu + M->item_bias[i];
    else if (j >= 0) y = M->b[j] + M->mu;
    else y = M->mu;
    return cofi_clip(M, y);
}

void cofi_pairs_predict(const cofi_model *M, const cofi_pairs *p, cofi_val *out)
{
#pragma omp parallel for schedule(static)
    for (cofi_idx r = 0; r < p->n; r++) out[r] = predict_one(M, p->item[r], p->user[r]);
}

void cofi_pairs_eval(const cofi_model *M, const cofi_pairs *p, cofi_val sums[3])
{
    const cofi_idx nb = (p->n + PAIR_BLOCK - 1) / PAIR_BLOCK;
    cofi_val sse = 0, sae = 0;
    /* Block partial sums, added in block order: thread-count independent. */
#pragma omp parallel
    {
#pragma omp for ordered schedule(static, 1)
        for (cofi_idx blk = 0; blk < nb; blk++) {
            cofi_val a = 0, c = 0;
            cofi_idx r1 = (blk + 1) * PAIR_BLOCK < p->n ? (blk + 1) * PAIR_BLOCK : p->n;
            for (cofi_idx r = blk * PAIR_BLOCK; r < r1; r++) {
                cofi_val e = predict_one(M, p->item[r], p->user[r]) - p->rating[r];
                a = COFI_FMA(e, e, a);
                c += fabs(e);
            }
#pragma omp ordered
            {
                sse += a;
                sae += c;
            }
        }
    }
    sums[0] = sse;
    sums[1] = sae;
    sums[2] = (cofi_val)p->n;
}

int cofi_holdout_pick(const char *item_id, const char *user_id, uint64_t seed, double fraction)
{
    uint64_t h = cofi_rng_u64(seed, COFI_STREAM_HOLDOUT, cofi_hash_str(item_id),
                              cofi_hash_str(user_id));
    return ((double)(h >> 11) + 0.5) * 0x1.0p-53 < fraction;
}

int cofi_split_holdout(cofi_ratings *R, const cofi_strings *item_ids, const cofi_strings *user_ids,
                       double fraction, uint64_t seed, cofi_pairs *val)
{
    memset(val, 0, sizeof *val);
    unsigned char *out = cofi_malloc((size_t)(R->nnz_local > 0 ? R->nnz_local : 1), 1, "holdout");
    if (!out) return COFI_ERR_NOMEM;
    cofi_idx nval = 0;
#pragma omp parallel for schedule(dynamic, 16) reduction(+ : nval)
    for (cofi_idx i = 0; i < R->n_local; i++)
        for (cofi_idx r = R->indptr[i]; r < R->indptr[i + 1]; r++) {
            out[r] = (unsigned char)cofi_holdout_pick(item_ids->buf + item_ids->off[i],
                                                      user_ids->buf + user_ids->off[R->user[r]],
                                                      seed, fraction);
            nval += out[r];
        }
    int rc = cofi_pairs_alloc(val, nval, 0);
    if (rc) {
        cofi_free(out);
        return rc;
    }
    /* Compact the CSR in place, in order; held-out ratings go to val. */
    cofi_idx w = 0, v = 0;
    for (cofi_idx i = 0; i < R->n_local; i++) {
        cofi_idx r0 = R->indptr[i], r1 = R->indptr[i + 1];
        R->indptr[i] = w;
        for (cofi_idx r = r0; r < r1; r++) {
            if (out[r]) {
                val->item[v] = i;
                val->user[v] = R->user[r];
                val->rating[v] = cofi_rating(R, r);
                v++;
            } else {
                R->user[w] = R->user[r];
                if (R->rating32) R->rating32[w] = R->rating32[r];
                else R->rating64[w] = R->rating64[r];
                w++;
            }
        }
    }
    R->indptr[R->n_local] = w;
    R->nnz_local = w;
    cofi_free(out);
    cofi_free(R->tptr);
    cofi_free(R->titem);
    cofi_free(R->rpos);
    R->tptr = NULL;
    R->titem = R->rpos = NULL;
    return cofi_ratings_build_transpose(R);
}
