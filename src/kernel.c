/* kernel.c - the gradient pass over a rank's ratings. */
#include "cofi/kernel.h"
#include "cofi/error.h"
#include "dot.h"

#include <string.h>

static inline void axpy_padded(cofi_val *restrict y, cofi_val a, const cofi_val *restrict x,
                               cofi_idx ld)
{
    for (cofi_idx f = 0; f < ld; f++) y[f] = COFI_FMA(a, x[f], y[f]);
}

static cofi_idx n_blocks(cofi_idx rows, cofi_idx bs) { return (rows + bs - 1) / bs; }

int cofi_kernel_ws_alloc(cofi_kernel_ws *ws, const cofi_ratings *R)
{
    memset(ws, 0, sizeof *ws);
    cofi_idx nb = n_blocks(R->n_local, COFI_ITEM_BLOCK);
    cofi_idx nu = n_blocks(R->n_users, COFI_USER_BLOCK);
    ws->n_partial = 2 * (nb > nu ? nb : nu) + 2;
    ws->resid = cofi_malloc((size_t)R->nnz_local, sizeof *ws->resid, "residuals");
    ws->partial = cofi_malloc((size_t)ws->n_partial, sizeof *ws->partial, "partial sums");
    if (!ws->resid || !ws->partial) {
        cofi_kernel_ws_free(ws);
        return COFI_ERR_NOMEM;
    }
    return COFI_OK;
}

void cofi_kernel_ws_free(cofi_kernel_ws *ws)
{
    cofi_free(ws->resid);
    cofi_free(ws->partial);
    memset(ws, 0, sizeof *ws);
}

/* Item pass: residuals, sse and |X|^2 per block; gX and gib when asked. */
static void item_pass(const cofi_ratings *R, const cofi_model *M, cofi_val lambda,
                      cofi_kernel_ws *ws, cofi_val *gX, cofi_val *gib)
{
    const cofi_idx ld = M->ld, nb = n_blocks(R->n_local, COFI_ITEM_BLOCK);
    const cofi_val *X = M->X, *W = M->W, *b = M->b;
    cofi_val *E = ws->resid, *part = ws->partial;
#pragma omp for schedule(dynamic, 1)
    for (cofi_idx blk = 0; blk < nb; blk++) {
        cofi_idx i0 = blk * COFI_ITEM_BLOCK;
        cofi_idx i1 = i0 + COFI_ITEM_BLOCK < R->n_local ? i0 + COFI_ITEM_BLOCK : R->n_local;
        cofi_val sse = 0, xsq = 0;
        for (cofi_idx i = i0; i < i1; i++) {
            const cofi_val *x = X + i * ld;
            const cofi_val base = M->mu + M->item_bias[i];
            cofi_val *g = gX ? gX + i * ld : NULL;
            cofi_val esum = 0;
            if (g) memset(g, 0, (size_t)ld * sizeof *g);
            for (cofi_idx r = R->indptr[i]; r < R->indptr[i + 1]; r++) {
                const cofi_idx j = R->user[r];
                const cofi_val *w = W + j * ld;
                const cofi_val e = cofi_dot_padded(x, w, ld) + b[j] + base - R->rating[r];
                E[r] = e;
                sse = COFI_FMA(e, e, sse);
                esum += e;
                if (g) axpy_padded(g, e, w, ld);
            }
            if (g) axpy_padded(g, lambda, x, ld);
            if (gib) gib[i] = esum;
            xsq += cofi_dot_padded(x, x, ld);
        }
        part[2 * blk] = sse;
        part[2 * blk + 1] = xsq;
    }
}

static void sum_partials(const cofi_kernel_ws *ws, cofi_idx nb, cofi_val sums[2])
{
    cofi_val a = 0, c = 0;
    for (cofi_idx blk = 0; blk < nb; blk++) {
        a += ws->partial[2 * blk];
        c += ws->partial[2 * blk + 1];
    }
    sums[0] = a;
    sums[1] = c;
}

void cofi_kernel_grad(const cofi_ratings *R, const cofi_model *M, cofi_val lambda,
                      cofi_kernel_ws *ws, cofi_val *gX, cofi_val *gW, cofi_val *gb,
                      cofi_val *gib, cofi_val sums[2])
{
    const cofi_idx k = M->k, ld = M->ld, nu = R->n_users;
    const cofi_idx nub = n_blocks(nu, COFI_USER_BLOCK);
    const cofi_val *X = M->X, *E = ws->resid;
#pragma omp parallel
    {
        item_pass(R, M, lambda, ws, gX, gib);
        /* (implicit barrier: all residuals are known) */
        cofi_val acc[ld];
#pragma omp for schedule(dynamic, 1)
        for (cofi_idx blk = 0; blk < nub; blk++) {
            cofi_idx j1 = (blk + 1) * COFI_USER_BLOCK < nu ? (blk + 1) * COFI_USER_BLOCK : nu;
            for (cofi_idx j = blk * COFI_USER_BLOCK; j < j1; j++) {
                cofi_val bsum = 0;
                memset(acc, 0, (size_t)ld * sizeof acc[0]);
                for (cofi_idx t = R->tptr[j]; t < R->tptr[j + 1]; t++) {
                    const cofi_val e = E[R->tpos[t]];
                    axpy_padded(acc, e, X + R->titem[t] * ld, ld);
                    bsum += e;
                }
                memcpy(gW + j * k, acc, (size_t)k * sizeof acc[0]);
                gb[j] = bsum;
            }
        }
    }
    sum_partials(ws, n_blocks(R->n_local, COFI_ITEM_BLOCK), sums);
}

void cofi_kernel_cost(const cofi_ratings *R, const cofi_model *M, cofi_kernel_ws *ws,
                      cofi_val sums[2])
{
#pragma omp parallel
    item_pass(R, M, 0.0, ws, NULL, NULL);
    sum_partials(ws, n_blocks(R->n_local, COFI_ITEM_BLOCK), sums);
}

cofi_val cofi_kernel_sumsq(const cofi_val *A, cofi_idx rows, cofi_idx k, cofi_idx lda,
                           cofi_kernel_ws *ws)
{
    /* Blocks of COFI_USER_BLOCK rows; the workspace has room for the users'
     * blocks and for the items' blocks. */
    const cofi_idx nb = n_blocks(rows, COFI_USER_BLOCK);
    cofi_val *part = ws->partial;
#pragma omp parallel for schedule(static)
    for (cofi_idx blk = 0; blk < nb; blk++) {
        cofi_idx r1 = (blk + 1) * COFI_USER_BLOCK < rows ? (blk + 1) * COFI_USER_BLOCK : rows;
        cofi_val s = 0;
        for (cofi_idx r = blk * COFI_USER_BLOCK; r < r1; r++)
            for (cofi_idx f = 0; f < k; f++) s += A[r * lda + f] * A[r * lda + f];
        part[blk] = s;
    }
    cofi_val s = 0;
    for (cofi_idx blk = 0; blk < nb; blk++) s += part[blk];
    return s;
}

void cofi_kernel_add_ridge(cofi_val *G, cofi_idx ldg, const cofi_val *P, cofi_idx ldp,
                           cofi_idx rows, cofi_idx k, cofi_val lambda)
{
#pragma omp parallel for schedule(static)
    for (cofi_idx r = 0; r < rows; r++)
        for (cofi_idx f = 0; f < k; f++) G[r * ldg + f] += lambda * P[r * ldp + f];
}
