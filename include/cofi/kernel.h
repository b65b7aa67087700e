/* cofi/kernel.h - local cost and gradients: plain C + OpenMP, no MPI, no HDF5.
 *
 * For this rank's ratings (i, j, y) with residual e = y_hat[i][j] - y:
 *   sse      = sum e^2
 *   gX[i]    = sum_j e w_j + lambda r_i x_i        (complete: item rows are local;
 *                                                  r_i = n_i, the item's ratings,
 *                                                  with weighted regularization, else 1)
 *   gW[j]    = sum_i e x_i                          (this rank's part only)
 *   gb[j]    = sum_i e
 *   gib[i]   = sum_j e                              (item bias, when learned)
 * W is replicated, so its ridge goes in once: the users [reg_u0, reg_u1) of
 * the parameters (each rank names its own shard of the users) also get
 *   gW[j]   += lambda c_j w_j                       (c_j = user_weight[j], or 1)
 *   wreg     = sum_j c_j |w_j|^2
 * added in the user pass, so that the reduction sums them exactly once.
 *
 * Determinism: work is split in blocks of a fixed number of rows, whatever the
 * thread count; every sum runs in a fixed order (items in a row by user, users
 * by item through the transposed index, block partial sums serially).  The
 * results are bitwise the same for any OMP_NUM_THREADS. */
#ifndef COFI_KERNEL_H
#define COFI_KERNEL_H

#include "cofi/model.h"
#include "cofi/ratings.h"

#define COFI_ITEM_BLOCK 16
#define COFI_USER_BLOCK 32

typedef struct {
    cofi_val *resid;   /* nnz_local residuals of the last evaluation, in the
                        * transposed (user) order: rating r's at R->rpos[r] */
    float *resid32;    /* ... in single precision instead */
    cofi_val *partial; /* per-block partial sums: items' blocks */
    cofi_val *upartial; /* ... and the users' blocks' ridge sums */
    cofi_idx n_partial;
    cofi_val *acc;     /* one aligned row of ld values per thread */
    cofi_idx ld;
    int threads;       /* the passes run on this many threads */
    cofi_idx *iblk, *ublk; /* threads + 1 boundaries: each thread's item and
                            * user blocks (ublk points into iblk's allocation) */
    void *queues;      /* one work queue per thread (kernel.c) */
} cofi_kernel_ws;

/* For rows of ld values, on the current OpenMP thread count; single: keep
 * the residuals in float (--precision single). */
int cofi_kernel_ws_alloc(cofi_kernel_ws *ws, const cofi_ratings *R, cofi_idx ld, int single);
void cofi_kernel_ws_free(cofi_kernel_ws *ws);

/* Adam's step of X, taken in the item pass as each item's gradient row is
 * finished (item rows are local, so it needs nothing from other ranks): the
 * same operations as cofi_adam_step, so the same bits, without writing the
 * gradient and reading it back.  m and v (stride ld) are updated in place;
 * the stepped rows go to gX, because the user pass still reads the old X:
 * the caller swaps X and gX after cofi_kernel_grad.
 *
 * With mw set (one rank: W's gradient is complete without a reduction, and
 * the call adds every user's ridge), W's and b's steps are taken the same
 * way in the user pass, W and b in place (no other user's row is read
 * there), and gW and gb are not written.  b's gradient gets its ridge
 * lambda_b b_j first when lambda_b > 0, as the trainer adds it. */
typedef struct {
    cofi_val *m, *v;             /* X's moments */
    cofi_val *mw, *vw;           /* W's moments (stride ld), or NULL */
    cofi_val *mb, *vb;           /* b's moments */
    cofi_val lambda_b;
    cofi_val alpha, c1, c2, eps; /* as in cofi_adam_step for the step's t */
} cofi_kernel_adam;

typedef struct {
    cofi_val lambda; /* ridge on X, and on W's rows [reg_u0, reg_u1) */
    int weighted;    /* lambda * n_i per item (ALS-WR style) */
    cofi_idx reg_u0, reg_u1;      /* users whose ridge this call adds (may be empty) */
    const cofi_val *user_weight;  /* c_j by global user, NULL for all ones */
    const cofi_kernel_adam *adam; /* Adam's steps in the passes, or NULL */
} cofi_kernel_params;

/* The local sums every pass returns. */
enum {
    COFI_SUM_SSE,   /* sum e^2, the training objective's data term */
    COFI_SUM_XREG,  /* sum r_i |x_i|^2 */
    COFI_SUM_SSE_C, /* sum (clip(y_hat) - y)^2: the reported train RMSE */
    COFI_SUM_SAE_C, /* sum |clip(y_hat) - y|: the reported train MAE */
    COFI_SUM_WREG,  /* sum c_j |w_j|^2 over the users [reg_u0, reg_u1) */
    COFI_NSUMS
};

/* Gradients and sums.  gX has row stride ld; user j's gradient goes to
 * gW + j ldgw (k values, compact as it is communicated) and gb[j ldgb].
 * gib (item bias gradient, data term) may be NULL. */
void cofi_kernel_grad(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
                      cofi_kernel_ws *ws, cofi_val *gX, cofi_val *gW, cofi_idx ldgw, cofi_val *gb,
                      cofi_idx ldgb, cofi_val *gib, cofi_val sums[COFI_NSUMS]);

/* Only the sums (and the residuals in ws); the same values as the gradient
 * pass's, bit for bit. */
void cofi_kernel_cost(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
                      cofi_kernel_ws *ws, cofi_val sums[COFI_NSUMS]);

/* sum_r a_r^2 over n biases, in a fixed order (W's and X's norms come
 * from the passes). */
cofi_val cofi_kernel_sumsq(const cofi_val *a, cofi_idx n, cofi_kernel_ws *ws);

/* g[r ldg] += lambda a_r for r < n: a bias ridge into gradients of stride ldg. */
void cofi_kernel_add_ridge(cofi_val *g, cofi_idx ldg, const cofi_val *a, cofi_idx n, cofi_val lambda);

#endif
