/* train.c - the training loop: kernel, one reduction, optimizer updates,
 * validation and early stopping, progress table, and the agreed stop. */
#include "cofi/train.h"
#include "cofi/error.h"
#include "cofi/partition.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Scalars after the gradients in the reduction buffer. */
enum {
    SLOT_SSE,     /* training squared error (objective) */
    SLOT_XREG,    /* sum r_i |x_i|^2 */
    SLOT_SSE_C,   /* clipped squared error (reported RMSE) */
    SLOT_SAE_C,   /* clipped absolute error (reported MAE) */
    SLOT_IBREG,   /* |item_bias|^2 of learned item biases */
    SLOT_WREG,    /* sum r_j |w_j|^2 over this rank's shard of users */
    SLOT_BREG,    /* |b|^2 over this rank's shard of users */
    SLOT_VAL_SSE, /* validation sums, on evaluation iterations */
    SLOT_VAL_SAE,
    SLOT_VAL_N,
    SLOT_STOP,    /* ranks asked to stop (signal) */
    SLOT_TIME,    /* seconds since the budget started */
    SLOT_CKPT,    /* slowest checkpoint write */
    N_SLOTS
};

static const char *const comm_names[COFI_COMM_MODE_COUNT] = {"allreduce", "overlap", "sharded"};

const char *cofi_comm_mode_name(enum cofi_comm_mode m) { return comm_names[m]; }

int cofi_comm_mode_parse(const char *s, enum cofi_comm_mode *m)
{
    for (int i = 0; i < COFI_COMM_MODE_COUNT; i++)
        if (!strcmp(s, comm_names[i])) return *m = (enum cofi_comm_mode)i, COFI_OK;
    return cofi_error(COFI_ERR_USAGE, "--comm must be allreduce, overlap or sharded, got '%s'", s);
}

cofi_train_opts cofi_train_defaults(void)
{
    cofi_train_opts o;
    memset(&o, 0, sizeof o);
    o.k = 100;
    o.lambda = 1.3;
    o.lambda_bias = 0;
    o.mu_mode = COFI_MU_ZERO;
    o.item_bias = COFI_BIAS_ZERO;
    o.clip_mode = COFI_CLIP_NONE;
    o.optim = cofi_optim_defaults();
    o.iterations = 100;
    o.seed = 1;
    o.init_scale = 1.0;
    o.comm_mode = COFI_COMM_ALLREDUCE;
    o.print_every = 10;
    o.eval_every = 10;
    return o;
}

static int copy_alloc(cofi_param_copy *p, const cofi_model *M)
{
    p->X = cofi_calloc((size_t)(M->n_local * M->ld), sizeof(cofi_val), "best model");
    p->W = cofi_calloc((size_t)(M->n_users * M->ld), sizeof(cofi_val), "best model");
    p->b = cofi_calloc((size_t)M->n_users, sizeof(cofi_val), "best model");
    p->item_bias = cofi_calloc((size_t)M->n_local, sizeof(cofi_val), "best model");
    return p->X && p->W && p->b && p->item_bias ? COFI_OK : COFI_ERR_NOMEM;
}

void cofi_param_save(const cofi_model *M, cofi_param_copy *dst)
{
    memcpy(dst->X, M->X, sizeof(cofi_val) * (size_t)(M->n_local * M->ld));
    memcpy(dst->W, M->W, sizeof(cofi_val) * (size_t)(M->n_users * M->ld));
    memcpy(dst->b, M->b, sizeof(cofi_val) * (size_t)M->n_users);
    memcpy(dst->item_bias, M->item_bias, sizeof(cofi_val) * (size_t)M->n_local);
}

void cofi_param_load(cofi_model *M, const cofi_param_copy *src)
{
    memcpy(M->X, src->X, sizeof(cofi_val) * (size_t)(M->n_local * M->ld));
    memcpy(M->W, src->W, sizeof(cofi_val) * (size_t)(M->n_users * M->ld));
    memcpy(M->b, src->b, sizeof(cofi_val) * (size_t)M->n_users);
    memcpy(M->item_bias, src->item_bias, sizeof(cofi_val) * (size_t)M->n_local);
}

static int all_finite(const cofi_val *a, cofi_idx rows, cofi_idx cols, cofi_idx ld)
{
    int ok = 1;
    for (cofi_idx r = 0; r < rows; r++)
        for (cofi_idx f = 0; f < cols; f++) ok &= isfinite(a[r * ld + f]) != 0;
    return ok;
}

int cofi_trainer_finite(const cofi_trainer *tr)
{
    const cofi_model *M = tr->M;
    const cofi_idx k = M->k, ld = M->ld, nw = tr->w1 - tr->w0;
    int ok = all_finite(M->X, M->n_local, k, ld) && all_finite(M->W, M->n_users, k, ld) &&
             all_finite(M->b, M->n_users, 1, 1) && all_finite(M->item_bias, M->n_local, 1, 1);
    for (int s = 0; s < cofi_optim_nstate(tr->opts.optim.kind) && ok; s++)
        ok = all_finite(tr->state_X[s], M->n_local, k, ld) &&
             all_finite(tr->state_W[s], nw, k, ld) && all_finite(tr->state_b[s], nw, 1, 1) &&
             (!tr->state_ib[s] || all_finite(tr->state_ib[s], M->n_local, 1, 1));
    return ok;
}

/* Count the evaluation of step t for early stopping (a NaN one does not
 * count); 1 when it is the best so far.  Copying the parameters is the
 * caller's. */
static int count_eval(cofi_trainer *tr, cofi_idx t)
{
    const cofi_val v = tr->val_rmse[t];
    if (isnan(v)) return 0;
    if (v < tr->best_val) {
        tr->best_val = v;
        tr->best_step = t;
        tr->bad_evals = 0;
        return 1;
    }
    tr->bad_evals++;
    return 0;
}

int cofi_trainer_patience_spent(const cofi_trainer *tr)
{
    return tr->val && tr->opts.patience > 0 && tr->bad_evals >= tr->opts.patience;
}

double cofi_trainer_payload_bytes(const cofi_trainer *tr)
{
    const double ng = (double)(tr->buf_len - N_SLOTS);
    /* in single precision each sum goes as two floats (pack_single) */
    return tr->opts.precision_single ? 4.0 * (ng + 2.0 * N_SLOTS) : 8.0 * (double)tr->buf_len;
}

int cofi_trainer_keep_best(cofi_trainer *tr)
{
    if (!tr->val) return 0;
    if (tr->final_pending) { /* the finished run's final evaluation */
        tr->final_pending = 0;
        if (count_eval(tr, tr->t)) return 1; /* the model holds the best parameters */
    }
    if (tr->best_step < 0) return 0;
    cofi_param_load(tr->M, &tr->best);
    return 1;
}

/* Grow one history array to cap slots: the new ones are zero (NaN for
 * validation, where "not evaluated" is NaN). */
static int grow(void *arr, size_t elem, cofi_idx old_cap, cofi_idx cap, int nan_fill)
{
    char **a = (char **)arr;
    char *p = cofi_malloc((size_t)cap, elem, "history");
    if (!p) return COFI_ERR_NOMEM;
    if (*a) memcpy(p, *a, (size_t)old_cap * elem);
    if (nan_fill)
        for (cofi_idx i = old_cap; i < cap; i++) ((cofi_val *)(void *)p)[i] = NAN;
    else
        memset(p + (size_t)old_cap * elem, 0, (size_t)(cap - old_cap) * elem);
    cofi_free(*a);
    *a = p;
    return COFI_OK;
}

int cofi_trainer_history_reserve(cofi_trainer *tr, cofi_idx n)
{
    if (n <= tr->history_cap) return COFI_OK;
    cofi_idx cap = tr->history_cap > 0 ? 2 * tr->history_cap : 1024;
    if (cap < n) cap = n;
    const cofi_idx old = tr->history_cap;
    int rc = grow(&tr->cost, sizeof(cofi_val), old, cap, 0);
    if (!rc) rc = grow(&tr->rmse, sizeof(cofi_val), old, cap, 0);
    if (!rc) rc = grow(&tr->mae, sizeof(cofi_val), old, cap, 0);
    if (!rc) rc = grow(&tr->val_rmse, sizeof(cofi_val), old, cap, 1);
    if (!rc) rc = grow(&tr->val_mae, sizeof(cofi_val), old, cap, 1);
    if (!rc) rc = grow(&tr->iter_seconds, sizeof(double), old, cap, 0);
    /* (an array that grew already is kept; history_cap stays the smallest) */
    if (!rc) tr->history_cap = cap;
    return rc;
}

int cofi_trainer_init(cofi_trainer *tr, const cofi_comm *c, cofi_ratings *R,
                      cofi_model *M, const cofi_train_opts *o, const cofi_pairs *val,
                      cofi_timers *timers)
{
    memset(tr, 0, sizeof *tr);
    tr->comm = c;
    tr->R = R;
    tr->M = M;
    tr->val = val;
    tr->opts = *o;
    tr->timers = timers;
    tr->best_val = INFINITY;
    tr->best_step = -1;
    const cofi_idx k = M->k, nu = M->n_users;
    const int sharded = o->comm_mode == COFI_COMM_SHARDED;
    int rc = COFI_OK;
    tr->ushard = cofi_malloc((size_t)c->size + 1, sizeof *tr->ushard, "user shards");
    if (!tr->ushard) rc = COFI_ERR_NOMEM;
    else cofi_partition_even(nu, c->size, tr->ushard);
    tr->w0 = sharded && tr->ushard ? tr->ushard[c->rank] : 0;
    tr->w1 = sharded && tr->ushard ? tr->ushard[c->rank + 1] : nu;
    const size_t nx = (size_t)M->n_local * (size_t)M->ld;
    const size_t nws = (size_t)(tr->w1 - tr->w0);
    const size_t nl = (size_t)M->n_local;
    for (int s = 0; s < cofi_optim_nstate(o->optim.kind) && !rc; s++) {
        tr->state_X[s] = cofi_calloc(nx, sizeof(cofi_val), "optimizer state for X");
        tr->state_W[s] = cofi_calloc(nws * (size_t)M->ld + 1, sizeof(cofi_val), "optimizer state for W");
        tr->state_b[s] = cofi_calloc(nws + 1, sizeof(cofi_val), "optimizer state");
        tr->state_ib[s] = cofi_calloc(nl + 1, sizeof(cofi_val), "optimizer state");
        if (!tr->state_X[s] || !tr->state_W[s] || !tr->state_b[s] || !tr->state_ib[s])
            rc = COFI_ERR_NOMEM;
    }
    tr->buf_len = nu * (k + 1) + N_SLOTS;
    if (!rc) {
        tr->gX = cofi_calloc(nx, sizeof(cofi_val), "gradient of X");
        tr->gib = cofi_calloc(nl + 1, sizeof(cofi_val), "gradient of item bias");
        tr->buf = cofi_calloc((size_t)tr->buf_len, sizeof(cofi_val), "gradient of W");
        tr->user_count = cofi_calloc((size_t)nu, sizeof(cofi_val), "user counts");
        if (!tr->gX || !tr->gib || !tr->buf || !tr->user_count) rc = COFI_ERR_NOMEM;
    }
    if (!rc) rc = cofi_trainer_history_reserve(tr, 1); /* the first 1024 slots */
    if (!rc && o->precision_single) {
        tr->buf32 = cofi_calloc((size_t)(tr->buf_len + N_SLOTS), sizeof(float), "gradient buffer");
        if (!tr->buf32) rc = COFI_ERR_NOMEM;
    }
    if (!rc && sharded) {
        tr->shard = cofi_calloc((size_t)(nws * (size_t)(k + 1)) + 2 * N_SLOTS, sizeof(cofi_val),
                                "gradient shard");
        if (!tr->shard) rc = COFI_ERR_NOMEM;
        if (!rc && val) rc = copy_alloc(&tr->cand, M);
    }
    if (!rc && val) rc = copy_alloc(&tr->best, M);
    /* the user pass's order (see cofi_ratings_order_transpose): hashed on
     * dense data, where it is faster; the same rule on every rank */
    if (!rc && cofi_ratings_hashed_order_pays(R)) rc = cofi_ratings_order_transpose(R, 1);
    if (!rc) rc = cofi_kernel_ws_alloc(&tr->ws, R, M->ld, o->precision_single);
    rc = cofi_agree(c, rc);
    if (!rc) {
        /* Ratings per user over all ranks (weighted ridge, cold users), and
         * the number of training ratings. */
        for (cofi_idx j = 0; j < nu; j++)
            tr->user_count[j] = (cofi_val)(R->tptr[j + 1] - R->tptr[j]);
        tr->nnz_train = (cofi_val)R->nnz_local;
        rc = cofi_sum_val(c, tr->user_count, nu);
        if (!rc) rc = cofi_sum_val(c, &tr->nnz_train, 1);
    }
    if (rc) cofi_trainer_free(tr);
    return rc;
}

void cofi_trainer_free(cofi_trainer *tr)
{
    for (int s = 0; s < 2; s++) {
        cofi_free(tr->state_X[s]);
        cofi_free(tr->state_W[s]);
        cofi_free(tr->state_b[s]);
        cofi_free(tr->state_ib[s]);
        tr->state_X[s] = tr->state_W[s] = tr->state_b[s] = tr->state_ib[s] = NULL;
    }
    cofi_val **bufs[] = {&tr->gX, &tr->gib, &tr->buf, &tr->user_count, &tr->cost, &tr->rmse,
                         &tr->mae, &tr->val_rmse, &tr->val_mae, &tr->best.X, &tr->best.W,
                         &tr->best.b, &tr->best.item_bias, &tr->cand.X, &tr->cand.W,
                         &tr->cand.b, &tr->cand.item_bias, &tr->shard};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
        cofi_free(*bufs[i]);
        *bufs[i] = NULL;
    }
    cofi_free(tr->iter_seconds);
    cofi_free(tr->buf32);
    cofi_free(tr->ushard);
    tr->iter_seconds = NULL;
    tr->buf32 = NULL;
    tr->ushard = NULL;
    cofi_kernel_ws_free(&tr->ws);
}

int cofi_trainer_prepare(cofi_trainer *tr, int zero_cold)
{
    const cofi_ratings *R = tr->R;
    cofi_model *M = tr->M;
    const cofi_train_opts *o = &tr->opts;
    /* sum and extremes of the training ratings */
    cofi_val s[1] = {0}, lo[1] = {INFINITY}, hi[1] = {-INFINITY};
    for (cofi_idx r = 0; r < R->nnz_local; r++) {
        const cofi_val y = cofi_rating(R, r);
        s[0] += y;
        lo[0] = fmin(lo[0], y);
        hi[0] = fmax(hi[0], y);
    }
    COFI_TRY(cofi_sum_val(tr->comm, s, 1));
    COFI_TRY(cofi_min_val(tr->comm, lo, 1));
    COFI_TRY(cofi_max_val(tr->comm, hi, 1));
    M->mu = o->mu_mode == COFI_MU_MEAN && tr->nnz_train > 0 ? s[0] / tr->nnz_train : 0.0;
    if (o->clip_mode == COFI_CLIP_AUTO) M->clip_lo = lo[0], M->clip_hi = hi[0];
    else if (o->clip_mode == COFI_CLIP_RANGE) M->clip_lo = o->clip_lo, M->clip_hi = o->clip_hi;
    else M->clip_lo = -INFINITY, M->clip_hi = INFINITY;
    for (cofi_idx i = 0; i < R->n_local; i++) {
        if (o->item_bias == COFI_BIAS_ZERO) {
            M->item_bias[i] = 0;
        } else if (o->item_bias == COFI_BIAS_MEAN) {
            cofi_val sum = 0, n = (cofi_val)(R->indptr[i + 1] - R->indptr[i]);
            for (cofi_idx r = R->indptr[i]; r < R->indptr[i + 1]; r++) sum += cofi_rating(R, r) - M->mu;
            M->item_bias[i] = n + o->lambda_bias > 0 ? sum / (n + o->lambda_bias) : 0;
        }
    }
    if (zero_cold) {
        for (cofi_idx i = 0; i < R->n_local; i++)
            if (R->indptr[i + 1] == R->indptr[i]) {
                memset(M->X + i * M->ld, 0, sizeof(cofi_val) * (size_t)M->ld);
                M->item_bias[i] = 0;
            }
        for (cofi_idx j = 0; j < M->n_users; j++)
            if (tr->user_count[j] == 0) {
                memset(M->W + j * M->ld, 0, sizeof(cofi_val) * (size_t)M->ld);
                M->b[j] = 0;
            }
    }
    return COFI_OK;
}

static void print_header(const cofi_trainer *tr)
{
    if (tr->comm->rank != 0 || tr->opts.print_every <= 0) return;
    /* 79 columns with the validation columns, 57 without */
    printf("%7s  %15s  %10s %10s", "iter", "cost", "train_rmse", "train_mae");
    if (tr->val) printf(" %10s %10s", "val_rmse", "val_mae");
    printf(" %9s\n", "seconds");
}

static void print_row(const cofi_trainer *tr, cofi_idx t, double secs)
{
    if (tr->comm->rank != 0 || tr->opts.print_every <= 0) return;
    printf("%7" PRIidx "  %15.10g  %10.6f %10.6f", t, tr->cost[t], tr->rmse[t], tr->mae[t]);
    if (tr->val) {
        if (isnan(tr->val_rmse[t])) printf(" %10s %10s", "-", "-");
        else printf(" %10.6f %10.6f", tr->val_rmse[t], tr->val_mae[t]);
    }
    printf(" %9.3f\n", secs);
}

static void step(cofi_trainer *tr, cofi_val *P, cofi_idx ldp, const cofi_val *G, cofi_idx ldg,
                 cofi_val **S, cofi_idx lds, cofi_idx rows, cofi_idx cols)
{
    cofi_optim_block blk = {P, ldp, G, ldg, {S[0], S[1]}, lds, rows, cols};
    cofi_optim_step(tr->opts.optim.kind)(&tr->opts.optim, tr->t + 1, &blk);
}

/* Step t + 1 on this rank's rows: X, and a learned item bias. */
static void update_local(cofi_trainer *tr)
{
    cofi_model *M = tr->M;
    if (!tr->x_stepped) step(tr, M->X, M->ld, tr->gX, M->ld, tr->state_X, M->ld, M->n_local, M->k);
    if (tr->opts.item_bias == COFI_BIAS_LEARNED) {
        for (cofi_idx i = 0; i < M->n_local; i++)
            tr->gib[i] += tr->opts.lambda_bias * M->item_bias[i];
        step(tr, M->item_bias, 1, tr->gib, 1, tr->state_ib, 1, M->n_local, 1);
    }
}

/* Step t + 1 on rows [w0, w1) of W and b, from summed gradient rows G
 * (stride k + 1: w_j then b_j, first row w0).  W's ridge is in G already
 * (the kernel adds it on the rank whose shard holds the user); b's goes in
 * here, once. */
static void update_Wb(cofi_trainer *tr, cofi_val *G)
{
    cofi_model *M = tr->M;
    const cofi_train_opts *o = &tr->opts;
    const cofi_idx k = M->k, w0 = tr->w0, n = tr->w1 - tr->w0;
    if (tr->wb_stepped) return;
    if (o->lambda_bias > 0)
        cofi_kernel_add_ridge(G + k, k + 1, M->b + w0, n, o->lambda_bias);
    step(tr, M->W + w0 * M->ld, M->ld, G, k + 1, tr->state_W, M->ld, n, k);
    step(tr, M->b + w0, 1, G + k, k + 1, tr->state_b, 1, n, 1);
}

/* The whole cost from the reduced scalars. */
static cofi_val cost_of(const cofi_trainer *tr, const cofi_val *tail)
{
    const cofi_train_opts *o = &tr->opts;
    return 0.5 * tail[SLOT_SSE] + 0.5 * o->lambda * (tail[SLOT_XREG] + tail[SLOT_WREG]) +
           0.5 * o->lambda_bias * (tail[SLOT_BREG] + tail[SLOT_IBREG]);
}

/* |b|^2 over this rank's shard of the users (0 without b's ridge): taken
 * before the gradient pass, which may step b. */
static cofi_val b_ridge_sum(cofi_trainer *tr)
{
    const cofi_idx u0 = tr->ushard[tr->comm->rank], un = tr->ushard[tr->comm->rank + 1] - u0;
    return tr->opts.lambda_bias > 0 ? cofi_kernel_sumsq(tr->M->b + u0, un, &tr->ws) : 0;
}

/* Local scalars of an evaluation at the current parameters (breg: their
 * b_ridge_sum). */
static void local_scalars(cofi_trainer *tr, const cofi_val *sums, cofi_val breg, int with_val,
                          cofi_val *tail)
{
    const cofi_model *M = tr->M;
    tail[SLOT_SSE] = sums[COFI_SUM_SSE];
    tail[SLOT_XREG] = sums[COFI_SUM_XREG];
    tail[SLOT_SSE_C] = sums[COFI_SUM_SSE_C];
    tail[SLOT_SAE_C] = sums[COFI_SUM_SAE_C];
    tail[SLOT_IBREG] = tr->opts.item_bias == COFI_BIAS_LEARNED && tr->opts.lambda_bias > 0
                           ? cofi_kernel_sumsq(M->item_bias, M->n_local, &tr->ws)
                           : 0;
    /* The replicated W and b: each rank adds its shard of users, so the sum
     * counts every user once (W's from the kernel, which has the same shard). */
    tail[SLOT_WREG] = sums[COFI_SUM_WREG];
    tail[SLOT_BREG] = breg;
    tail[SLOT_VAL_SSE] = tail[SLOT_VAL_SAE] = tail[SLOT_VAL_N] = 0;
    if (with_val) {
        cofi_val v[3];
        cofi_pairs_eval(M, tr->val, v);
        tail[SLOT_VAL_SSE] = v[0], tail[SLOT_VAL_SAE] = v[1], tail[SLOT_VAL_N] = v[2];
    }
}

/* Record the metrics of evaluation point t from reduced scalars.  A cost
 * that is no longer finite (too large a step) marks the run diverged; it is
 * reduced, so every rank marks it at the same point.  Returns 1 then. */
static int record(cofi_trainer *tr, cofi_idx t, cofi_val cost, const cofi_val *tail)
{
    cofi_val n = tr->nnz_train > 0 ? tr->nnz_train : 1;
    tr->cost[t] = cost;
    if (!isfinite(cost)) tr->stop = COFI_STOP_DIVERGED;
    tr->rmse[t] = sqrt(tail[SLOT_SSE_C] / n);
    tr->mae[t] = tail[SLOT_SAE_C] / n;
    if (tail[SLOT_VAL_N] > 0) {
        tr->val_rmse[t] = sqrt(tail[SLOT_VAL_SSE] / tail[SLOT_VAL_N]);
        tr->val_mae[t] = tail[SLOT_VAL_SAE] / tail[SLOT_VAL_N];
    } else {
        tr->val_rmse[t] = tr->val_mae[t] = NAN;
    }
    tr->history_len = t + 1;
    return tr->stop == COFI_STOP_DIVERGED;
}

/* Test hook (builds with COFI_FAULT_INJECTION): COFI_STOP_AFTER=n makes rank
 * COFI_STOP_RANK (default 0) ask for a stop, as a signal to it would, in the
 * iteration that takes the n-th step: a test can stop a run at a step of its
 * choosing.  Without it the hook compiles to nothing. */
static int injected_stop(const cofi_trainer *tr)
{
#ifdef COFI_FAULT_INJECTION
    const char *n = getenv("COFI_STOP_AFTER"), *r = getenv("COFI_STOP_RANK");
    return n && tr->t + 1 == (cofi_idx)atoll(n) && tr->comm->rank == (r ? atoi(r) : 0);
#else
    (void)tr;
    return 0;
#endif
}

/* Early stopping bookkeeping at an evaluation point; returns 1 to stop.
 * A new best is copied from the model, unless `saved` already holds the
 * evaluated parameters (the caller then keeps that copy as the best). */
static int track_best(cofi_trainer *tr, cofi_idx t, const cofi_param_copy *saved)
{
    if (!tr->val || isnan(tr->val_rmse[t])) return 0;
    if (count_eval(tr, t)) {
        if (!saved) cofi_param_save(tr->M, &tr->best);
        return 0;
    }
    return cofi_trainer_patience_spent(tr);
}

/* --precision single: gradients as floats, each scalar as a float pair
 * (hi, lo) so that sums keep about double accuracy. */
static void pack_single(const cofi_val *g, cofi_idx ng, const cofi_val *sc, int nsc, float *out)
{
#pragma omp parallel for schedule(static)
    for (cofi_idx i = 0; i < ng; i++) out[i] = (float)g[i];
    for (int s = 0; s < nsc; s++) {
        float hi = (float)sc[s];
        out[ng + 2 * s] = hi;
        out[ng + 2 * s + 1] = (float)(sc[s] - (cofi_val)hi);
    }
}

static void unpack_single(const float *in, cofi_idx ng, int nsc, cofi_val *g, cofi_val *sc)
{
#pragma omp parallel for schedule(static)
    for (cofi_idx i = 0; i < ng; i++) g[i] = (cofi_val)in[i];
    for (int s = 0; s < nsc; s++) sc[s] = (cofi_val)in[ng + 2 * s] + (cofi_val)in[ng + 2 * s + 1];
}

/* Allreduce (blocking or overlapped with the local update) of the gradient
 * buffer; on return tr->buf holds the sums.  *local_done tells whether the
 * local rows were updated meanwhile. */
static int reduce_all(cofi_trainer *tr, int overlap, int *local_done)
{
    const cofi_comm *c = tr->comm;
    const cofi_idx ng = tr->buf_len - N_SLOTS;
    cofi_val *tail = tr->buf + ng;
    const int single = tr->opts.precision_single;
    const cofi_idx n = single ? ng + 2 * N_SLOTS : tr->buf_len;
    *local_done = 0;
    if (single) pack_single(tr->buf, ng, tail, N_SLOTS, tr->buf32);
    if (overlap) {
        cofi_pending p;
        COFI_TRY(single ? cofi_isum_float(c, tr->buf32, n, &p) : cofi_isum_val(c, tr->buf, n, &p));
        cofi_timer_start(tr->timers, COFI_TIME_COMPUTE);
        update_local(tr);
        cofi_timer_stop(tr->timers, COFI_TIME_COMPUTE);
        *local_done = 1;
        cofi_timer_start(tr->timers, COFI_TIME_ALLREDUCE);
        COFI_TRY(cofi_wait(&p));
    } else {
        cofi_timer_start(tr->timers, COFI_TIME_ALLREDUCE);
        COFI_TRY(single ? cofi_sum_float(c, tr->buf32, n) : cofi_sum_val(c, tr->buf, n));
    }
    cofi_timer_stop(tr->timers, COFI_TIME_ALLREDUCE);
    if (single) unpack_single(tr->buf32, ng, N_SLOTS, tr->buf, tail);
    return COFI_OK;
}

/* --comm sharded: reduce-scatter the gradient rows (the scalars ride with
 * the last rank's block), update this rank's shard of W and b, allgather the
 * updated rows and the scalars.  The same traffic as an allreduce, with 1/P
 * of the W and b update and of its optimizer state per rank.  On return W
 * and b are updated everywhere and the scalars are at the end of tr->buf. */
static int reduce_sharded(cofi_trainer *tr)
{
    const cofi_comm *c = tr->comm;
    cofi_model *M = tr->M;
    const int P = c->size, last = c->rank == P - 1;
    const cofi_idx k = M->k, ng = tr->buf_len - N_SLOTS, rows = tr->w1 - tr->w0;
    const int single = tr->opts.precision_single;
    cofi_idx counts[P];
    for (int r = 0; r < P; r++)
        counts[r] = (tr->ushard[r + 1] - tr->ushard[r]) * (k + 1) +
                    (r == P - 1 ? (single ? 2 : 1) * N_SLOTS : 0);
    cofi_timer_start(tr->timers, COFI_TIME_ALLREDUCE);
    if (single) {
        pack_single(tr->buf, ng, tr->buf + ng, N_SLOTS, tr->buf32);
        /* the float block lands at the start of buf32's tail room */
        float *mine = tr->buf32 + tr->buf_len + N_SLOTS - counts[c->rank];
        COFI_TRY(cofi_reduce_scatter_float(c, tr->buf32, mine, counts));
        unpack_single(mine, rows * (k + 1), last ? N_SLOTS : 0, tr->shard, tr->shard + rows * (k + 1));
    } else {
        COFI_TRY(cofi_reduce_scatter_val(c, tr->buf, tr->shard, counts));
    }
    cofi_timer_stop(tr->timers, COFI_TIME_ALLREDUCE);
    cofi_timer_start(tr->timers, COFI_TIME_COMPUTE);
    update_Wb(tr, tr->shard);
    /* the updated rows, packed as [w_j | b_j], then (last rank) the scalars */
    for (cofi_idx j = 0; j < rows; j++) {
        memcpy(tr->shard + j * (k + 1), M->W + (tr->w0 + j) * M->ld, sizeof(cofi_val) * (size_t)k);
        tr->shard[j * (k + 1) + k] = M->b[tr->w0 + j];
    }
    cofi_timer_stop(tr->timers, COFI_TIME_COMPUTE);
    for (int r = 0; r < P; r++)
        counts[r] = (tr->ushard[r + 1] - tr->ushard[r]) * (k + 1) + (r == P - 1 ? N_SLOTS : 0);
    cofi_timer_start(tr->timers, COFI_TIME_ALLREDUCE);
    COFI_TRY(cofi_allgather_blocks(c, tr->shard, tr->buf, counts));
    cofi_timer_stop(tr->timers, COFI_TIME_ALLREDUCE);
    cofi_timer_start(tr->timers, COFI_TIME_COMPUTE);
#pragma omp parallel for schedule(static)
    for (cofi_idx j = 0; j < M->n_users; j++) {
        memcpy(M->W + j * M->ld, tr->buf + j * (k + 1), sizeof(cofi_val) * (size_t)k);
        M->b[j] = tr->buf[j * (k + 1) + k];
    }
    cofi_timer_stop(tr->timers, COFI_TIME_COMPUTE);
    return COFI_OK;
}

int cofi_trainer_run(cofi_trainer *tr)
{
    const cofi_comm *c = tr->comm;
    cofi_model *M = tr->M;
    const cofi_train_opts *o = &tr->opts;
    /* W's ridge and |W|^2 for this rank's shard of the users, once over all ranks */
    const cofi_kernel_params kp = {o->lambda, o->weighted, tr->ushard[c->rank], tr->ushard[c->rank + 1],
                                   o->weighted ? tr->user_count : NULL, NULL};
    const cofi_idx k = M->k;
    cofi_val *tail = tr->buf + M->n_users * (k + 1);
    const int learn_ib = o->item_bias == COFI_BIAS_LEARNED;
    const int sharded = o->comm_mode == COFI_COMM_SHARDED;
    const double start = cofi_now();
    const double budget_start = o->clock_start > 0 ? o->clock_start : start;
    /* Until a checkpoint has been timed, reading the inputs stands in for it. */
    double prev_mean = 0, slowest = 0, ckpt_secs = tr->timers->elapsed[COFI_TIME_IO];
    const int64_t first_step = tr->t;
    if (tr->stop == COFI_STOP_EARLY) {
        /* restarted from the checkpoint of a run that stopped early: it ended
         * there, as an uninterrupted run would have */
        if (c->rank == 0)
            printf("the run stopped early at iteration %" PRId64 " (no improvement in %" PRIidx
                   " evaluations): nothing to continue\n", tr->t, o->patience);
        return COFI_OK;
    }
    tr->stop = COFI_STOP_DONE;
    print_header(tr);

    while (tr->t < o->iterations) {
        /* room for this step's entry and the final evaluation's (every rank
         * has the same t and capacity, so all of them agree here or none) */
        if (tr->t + 2 > tr->history_cap)
            COFI_TRY(cofi_agree(c, cofi_trainer_history_reserve(tr, tr->t + 2)));
        const double iter_start = cofi_now();
        const int eval_now = tr->val && o->eval_every > 0 && tr->t % o->eval_every == 0;
        /* 1. local cost, gradients and metrics */
        cofi_timer_start(tr->timers, COFI_TIME_COMPUTE);
        cofi_val sums[COFI_NSUMS];
        /* X's Adam step goes into the item pass, except where the step may
         * not be taken or X must be kept first: an evaluation iteration
         * (early stopping, the best model).  The overlapped and the sharded
         * exchanges update X before the cost is known as well. */
        cofi_kernel_params kpt = kp;
        cofi_kernel_adam ka;
        const cofi_val breg = b_ridge_sum(tr);
        tr->x_stepped = o->optim.kind == COFI_OPT_ADAM && !eval_now;
        /* On one rank W's gradient needs no reduction, so W's and b's steps
         * go into the user pass the same way. */
        tr->wb_stepped = tr->x_stepped && c->size == 1 && !sharded;
        if (tr->x_stepped) {
            ka = (cofi_kernel_adam){tr->state_X[0], tr->state_X[1], NULL, NULL, NULL, NULL, o->lambda_bias,
                                    cofi_adam_alpha(&o->optim, tr->t + 1), 1.0 - o->optim.beta1,
                                    1.0 - o->optim.beta2, o->optim.epsilon};
            if (tr->wb_stepped) {
                ka.mw = tr->state_W[0], ka.vw = tr->state_W[1];
                ka.mb = tr->state_b[0], ka.vb = tr->state_b[1];
            }
            kpt.adam = &ka;
        }
        cofi_kernel_grad(tr->R, M, &kpt, &tr->ws, tr->gX, tr->buf, k + 1, tr->buf + k, k + 1,
                         learn_ib ? tr->gib : NULL, sums);
        if (tr->x_stepped) { /* the user pass has read the old X */
            cofi_val *x = M->X;
            M->X = tr->gX;
            tr->gX = x;
        }
        local_scalars(tr, sums, breg, eval_now, tail);
        tail[SLOT_STOP] = (o->stop_flag && *o->stop_flag) || injected_stop(tr) ? 1.0 : 0.0;
        tail[SLOT_TIME] = cofi_now() - budget_start;
        tail[SLOT_CKPT] = ckpt_secs;
        cofi_timer_stop(tr->timers, COFI_TIME_COMPUTE);

        int stop_early = 0;
        if (sharded) {
            /* 2s. Parameters are updated inside the exchange, so keep the ones
             * being evaluated in case they turn out best. */
            if (eval_now) cofi_param_save(M, &tr->cand);
            cofi_timer_start(tr->timers, COFI_TIME_COMPUTE);
            update_local(tr);
            cofi_timer_stop(tr->timers, COFI_TIME_COMPUTE);
            COFI_TRY(reduce_sharded(tr));
            if (!record(tr, tr->t, cost_of(tr, tail), tail) && eval_now) {
                cofi_param_copy now = tr->cand;
                cofi_val before = tr->best_val;
                stop_early = track_best(tr, tr->t, &now);
                if (tr->best_val < before) { /* the candidate became the best */
                    tr->cand = tr->best;
                    tr->best = now;
                }
            }
        } else {
            /* 2. the one reduction of the iteration.  Local rows need none of
             * it, so they may be updated meanwhile -- except on an evaluation
             * iteration, where they may become the best model first. */
            int local_done;
            COFI_TRY(reduce_all(tr, o->comm_mode == COFI_COMM_OVERLAP && !eval_now, &local_done));
            /* 3. global cost and metrics; early stopping; then the updates.
             * Decisions use only reduced values: every rank takes the same. */
            cofi_timer_start(tr->timers, COFI_TIME_COMPUTE);
            const int diverged_now = record(tr, tr->t, cost_of(tr, tail), tail);
            stop_early = !diverged_now && eval_now && track_best(tr, tr->t, NULL);
            if (!stop_early && !diverged_now) {
                if (!local_done) update_local(tr);
                update_Wb(tr, tr->buf);
            }
            cofi_timer_stop(tr->timers, COFI_TIME_COMPUTE);
        }
        double mean_time = tail[SLOT_TIME] / c->size;
        const int diverged = tr->stop == COFI_STOP_DIVERGED;
        if ((o->print_every > 0 && tr->t % o->print_every == 0) || stop_early || diverged)
            print_row(tr, tr->t, tr->elapsed_before + (cofi_now() - start));
        if (diverged) break;
        if (stop_early) {
            /* With --comm sharded the step was taken; the best model is kept. */
            if (sharded) tr->t++;
            tr->stop = COFI_STOP_EARLY;
            break;
        }
        tr->iter_seconds[tr->t] = cofi_now() - iter_start;
        tr->t++;

        if (tr->hook) {
            double h0 = cofi_now();
            COFI_TRY(tr->hook(tr, tr->hook_ctx));
            if (cofi_now() - h0 > ckpt_secs) ckpt_secs = cofi_now() - h0;
            if (tr->stop == COFI_STOP_DIVERGED) break; /* found by the hook */
        }
        if (tail[SLOT_STOP] > 0) {
            tr->stop = COFI_STOP_SIGNAL;
            break;
        }
        if (o->max_time > 0) {
            /* Stop while there is room for three more iterations, twice the
             * slowest checkpoint and, for the machine's noise, 2% of the
             * budget but at least 0.25 s: a stall of the scheduler or the
             * file system on a loaded node does not shrink with the budget
             * (a 2 s budget once ended at 2.016 s under ctest -j2).  The
             * first interval includes start-up, so it does not count as an
             * iteration's time. */
            if (tr->t > first_step + 1 && mean_time - prev_mean > slowest)
                slowest = mean_time - prev_mean;
            const double noise = fmax(0.02 * o->max_time, 0.25);
            double reserve = 3 * slowest + 2 * tail[SLOT_CKPT] / c->size + noise;
            if (mean_time + reserve >= o->max_time && tr->t < o->iterations) {
                tr->stop = COFI_STOP_TIME;
                break;
            }
        }
        prev_mean = mean_time;
    }

    if (tr->stop == COFI_STOP_DONE) {
        /* The final parameters: cost, metrics and validation, one reduction. */
        if (tr->t + 1 > tr->history_cap)
            COFI_TRY(cofi_agree(c, cofi_trainer_history_reserve(tr, tr->t + 1)));
        cofi_val sums[COFI_NSUMS], s[N_SLOTS];
        cofi_timer_start(tr->timers, COFI_TIME_COMPUTE);
        cofi_kernel_cost(tr->R, M, &kp, &tr->ws, sums);
        local_scalars(tr, sums, b_ridge_sum(tr), tr->val != NULL, s);
        cofi_timer_stop(tr->timers, COFI_TIME_COMPUTE);
        cofi_timer_start(tr->timers, COFI_TIME_ALLREDUCE);
        COFI_TRY(cofi_sum_val(c, s, SLOT_VAL_N + 1));
        cofi_timer_stop(tr->timers, COFI_TIME_ALLREDUCE);
        /* It counts for the best model only once a checkpoint of the run's
         * end has been written (cofi_trainer_keep_best): a restart that runs
         * on must find what an uninterrupted run has at this step, which
         * evaluates here only when the step is on its --eval-every grid. */
        if (!record(tr, tr->t, cost_of(tr, s), s)) tr->final_pending = tr->val != NULL;
        print_row(tr, tr->t, tr->elapsed_before + (cofi_now() - start));
    }
    tr->elapsed_before += cofi_now() - start;
    return COFI_OK;
}
