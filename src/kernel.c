/* kernel.c - the gradient pass over a rank's ratings. */
#include "cofi/kernel.h"
#include "cofi/error.h"
#include "dot.h"

#include <math.h>
#include <string.h>

static cofi_idx n_blocks(cofi_idx rows, cofi_idx bs) { return (rows + bs - 1) / bs; }

int cofi_kernel_ws_alloc(cofi_kernel_ws *ws, const cofi_ratings *R, int single)
{
    memset(ws, 0, sizeof *ws);
    cofi_idx nb = n_blocks(R->n_local, COFI_ITEM_BLOCK);
    cofi_idx nu = n_blocks(R->n_users, COFI_USER_BLOCK);
    ws->n_partial = COFI_NSUMS * (nb > nu ? nb : nu) + COFI_NSUMS;
    size_t n = (size_t)(R->nnz_local > 0 ? R->nnz_local : 1);
    if (single) ws->resid32 = cofi_malloc(n, sizeof *ws->resid32, "residuals");
    else ws->resid = cofi_malloc(n, sizeof *ws->resid, "residuals");
    ws->partial = cofi_malloc((size_t)ws->n_partial, sizeof *ws->partial, "partial sums");
    if ((!ws->resid && !ws->resid32) || !ws->partial) {
        cofi_kernel_ws_free(ws);
        return COFI_ERR_NOMEM;
    }
    return COFI_OK;
}

void cofi_kernel_ws_free(cofi_kernel_ws *ws)
{
    cofi_free(ws->resid);
    cofi_free(ws->resid32);
    cofi_free(ws->partial);
    memset(ws, 0, sizeof *ws);
}

/* Item pass: residuals and the sums per block; gX and gib when asked.
 * rf: ratings in float; ef: residuals in float (both constants after
 * inlining, so each combination compiles to its own loop). */
static inline __attribute__((always_inline)) void
item_pass_impl(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
               cofi_kernel_ws *ws, cofi_val *gX, cofi_val *gib, const int rf, const int ef)
{
    const cofi_idx ld = M->ld, nb = n_blocks(R->n_local, COFI_ITEM_BLOCK);
    const cofi_val *X = M->X, *W = M->W, *b = M->b;
    const cofi_val lo = M->clip_lo, hi = M->clip_hi;
    cofi_val *E = ws->resid, *part = ws->partial;
    float *E32 = ws->resid32;
    const float *y32 = R->rating32;
    const cofi_val *y64 = R->rating64;
#pragma omp for schedule(dynamic, 1)
    for (cofi_idx blk = 0; blk < nb; blk++) {
        cofi_idx i0 = blk * COFI_ITEM_BLOCK;
        cofi_idx i1 = i0 + COFI_ITEM_BLOCK < R->n_local ? i0 + COFI_ITEM_BLOCK : R->n_local;
        cofi_val sse = 0, xreg = 0, ssec = 0, saec = 0;
        for (cofi_idx i = i0; i < i1; i++) {
            const cofi_val *x = X + i * ld;
            const cofi_val base = M->mu + M->item_bias[i];
            cofi_val *g = gX ? gX + i * ld : NULL;
            cofi_val esum = 0;
            if (g) memset(g, 0, (size_t)ld * sizeof *g);
            for (cofi_idx r = R->indptr[i]; r < R->indptr[i + 1]; r++) {
                const cofi_idx j = R->user[r];
                const cofi_val *w = W + j * ld;
                const cofi_val y = rf ? (cofi_val)y32[r] : y64[r];
                const cofi_val yhat = cofi_dot_padded(x, w, ld) + b[j] + base;
                const cofi_val e = yhat - y;
                const cofi_val ec = (yhat < lo ? lo : yhat > hi ? hi : yhat) - y;
                if (ef) E32[r] = (float)e;
                else E[r] = e;
                sse = COFI_FMA(e, e, sse);
                ssec = COFI_FMA(ec, ec, ssec);
                saec += fabs(ec);
                esum += e;
                if (g) cofi_axpy_padded(g, e, w, ld);
            }
            const cofi_val ri = p->weighted ? (cofi_val)(R->indptr[i + 1] - R->indptr[i]) : 1.0;
            if (g) cofi_axpy_padded(g, p->lambda * ri, x, ld);
            if (gib) gib[i] = esum;
            xreg += ri * cofi_dot_padded(x, x, ld);
        }
        cofi_val *out = part + COFI_NSUMS * blk;
        out[COFI_SUM_SSE] = sse;
        out[COFI_SUM_XREG] = xreg;
        out[COFI_SUM_SSE_C] = ssec;
        out[COFI_SUM_SAE_C] = saec;
    }
}

static void item_pass(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
                      cofi_kernel_ws *ws, cofi_val *gX, cofi_val *gib)
{
    if (ws->resid32) item_pass_impl(R, M, p, ws, gX, gib, 1, 1);
    else if (R->rating32) item_pass_impl(R, M, p, ws, gX, gib, 1, 0);
    else item_pass_impl(R, M, p, ws, gX, gib, 0, 0);
}

static void sum_partials(const cofi_kernel_ws *ws, cofi_idx nb, cofi_val sums[COFI_NSUMS])
{
    for (int s = 0; s < COFI_NSUMS; s++) sums[s] = 0;
    for (cofi_idx blk = 0; blk < nb; blk++)
        for (int s = 0; s < COFI_NSUMS; s++) sums[s] += ws->partial[COFI_NSUMS * blk + s];
}

void cofi_kernel_grad(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
                      cofi_kernel_ws *ws, cofi_val *gX, cofi_val *gW, cofi_idx ldgw, cofi_val *gb,
                      cofi_idx ldgb, cofi_val *gib, cofi_val sums[COFI_NSUMS])
{
    const cofi_idx k = M->k, ld = M->ld, nu = R->n_users;
    const cofi_idx nub = n_blocks(nu, COFI_USER_BLOCK);
    const cofi_val *X = M->X, *E = ws->resid;
    const float *E32 = ws->resid32;
#pragma omp parallel
    {
        item_pass(R, M, p, ws, gX, gib);
        /* (implicit barrier: all residuals are known) */
        /* one aligned accumulator row per thread */
        cofi_val *acc = cofi_malloc((size_t)ld, sizeof *acc, "accumulator");
#pragma omp for schedule(dynamic, 1)
        for (cofi_idx blk = 0; blk < nub; blk++) {
            cofi_idx j1 = (blk + 1) * COFI_USER_BLOCK < nu ? (blk + 1) * COFI_USER_BLOCK : nu;
            for (cofi_idx j = blk * COFI_USER_BLOCK; j < j1; j++) {
                cofi_val bsum = 0;
                memset(acc, 0, (size_t)ld * sizeof acc[0]);
                for (cofi_idx t = R->tptr[j]; t < R->tptr[j + 1]; t++) {
                    const cofi_val e = E32 ? (cofi_val)E32[R->tpos[t]] : E[R->tpos[t]];
                    cofi_axpy_padded(acc, e, X + R->titem[t] * ld, ld);
                    bsum += e;
                }
                memcpy(gW + j * ldgw, acc, (size_t)k * sizeof acc[0]);
                gb[j * ldgb] = bsum;
            }
        }
        cofi_free(acc);
    }
    sum_partials(ws, n_blocks(R->n_local, COFI_ITEM_BLOCK), sums);
}

void cofi_kernel_cost(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
                      cofi_kernel_ws *ws, cofi_val sums[COFI_NSUMS])
{
#pragma omp parallel
    item_pass(R, M, p, ws, NULL, NULL);
    sum_partials(ws, n_blocks(R->n_local, COFI_ITEM_BLOCK), sums);
}

cofi_val cofi_kernel_sumsq(const cofi_val *A, cofi_idx rows, cofi_idx k, cofi_idx lda,
                           const cofi_val *w, cofi_kernel_ws *ws)
{
    /* Blocks of COFI_USER_BLOCK rows; the workspace has room for the users'
     * blocks and for the items' blocks. */
    const cofi_idx nb = n_blocks(rows, COFI_USER_BLOCK);
    cofi_val *part = ws->partial;
#pragma omp parallel for schedule(static)
    for (cofi_idx blk = 0; blk < nb; blk++) {
        cofi_idx r1 = (blk + 1) * COFI_USER_BLOCK < rows ? (blk + 1) * COFI_USER_BLOCK : rows;
        cofi_val s = 0;
        for (cofi_idx r = blk * COFI_USER_BLOCK; r < r1; r++) {
            cofi_val q = 0;
            for (cofi_idx f = 0; f < k; f++) q += A[r * lda + f] * A[r * lda + f];
            s += w ? w[r] * q : q;
        }
        part[blk] = s;
    }
    cofi_val s = 0;
    for (cofi_idx blk = 0; blk < nb; blk++) s += part[blk];
    return s;
}

void cofi_kernel_add_ridge(cofi_val *G, cofi_idx ldg, const cofi_val *P, cofi_idx ldp,
                           cofi_idx rows, cofi_idx k, cofi_val lambda, const cofi_val *w)
{
#pragma omp parallel for schedule(static)
    for (cofi_idx r = 0; r < rows; r++) {
        const cofi_val l = w ? lambda * w[r] : lambda;
        for (cofi_idx f = 0; f < k; f++) G[r * ldg + f] += l * P[r * ldp + f];
    }
}
