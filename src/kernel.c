/* kernel.c - the gradient pass over a rank's ratings. */
#include "cofi/kernel.h"
#include "cofi/error.h"
#include "cofi/partition.h"
#include "dot.h"

#include <math.h>
#include <omp.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

static cofi_idx n_blocks(cofi_idx rows, cofi_idx bs) { return (rows + bs - 1) / bs; }

/* A thread's blocks still to take, [front, back), packed in one word so that
 * the owner (from the front) and a thread out of work (from the back) claim
 * a block with one compare-and-swap.  One cache line each. */
typedef struct {
    _Alignas(64) _Atomic uint64_t fb;
} block_queue;

static uint64_t fb_pack(cofi_idx f, cofi_idx b) { return (uint64_t)b << 32 | (uint64_t)(uint32_t)f; }

static int queue_take(block_queue *q, int from_back, cofi_idx *blk)
{
    uint64_t v = atomic_load_explicit(&q->fb, memory_order_acquire);
    for (;;) {
        const cofi_idx f = (cofi_idx)(v & 0xffffffffu), b = (cofi_idx)(v >> 32);
        if (f >= b) return 0;
        const uint64_t w = from_back ? fb_pack(f, b - 1) : fb_pack(f + 1, b);
        if (atomic_compare_exchange_weak_explicit(&q->fb, &v, w, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            *blk = from_back ? b - 1 : f;
            return 1;
        }
    }
}

/* Each thread's contiguous range of row blocks, balanced by ratings plus
 * row_weight per block: out[t] to out[t + 1].  The same range every
 * iteration keeps a thread on the same rows in every pass, so the rows it
 * writes (gradients, residuals) and the rows the optimizer then updates
 * mostly stay in its core's caches.  row_weight < 0: the average ratings
 * per block. */
static int thread_ranges(const cofi_idx *ptr, cofi_idx rows, cofi_idx bs, cofi_idx row_weight,
                         int threads, cofi_idx *out)
{
    const cofi_idx nb = n_blocks(rows, bs);
    cofi_idx *bptr = cofi_malloc((size_t)nb + 1, sizeof *bptr, "block pointers");
    if (!bptr) return COFI_ERR_NOMEM;
    for (cofi_idx b = 0; b < nb; b++) bptr[b] = ptr[b * bs];
    bptr[nb] = ptr[rows];
    if (row_weight < 0) row_weight = cofi_partition_avg_weight(bptr, nb);
    cofi_partition_rows_w(bptr, nb, threads, row_weight, out);
    cofi_free(bptr);
    return COFI_OK;
}

int cofi_kernel_ws_alloc(cofi_kernel_ws *ws, const cofi_ratings *R, cofi_idx ld, int single)
{
    memset(ws, 0, sizeof *ws);
    ws->ld = ld;
    ws->threads = omp_get_max_threads();
    cofi_idx nb = n_blocks(R->n_local, COFI_ITEM_BLOCK);
    cofi_idx nu = n_blocks(R->n_users, COFI_USER_BLOCK);
    /* the item blocks' sums (or cofi_kernel_sumsq's blocks), then the user
     * blocks' ridge sums */
    const cofi_idx item_part = COFI_NSUMS * (nb > nu ? nb : nu) + COFI_NSUMS;
    ws->n_partial = item_part + nu;
    size_t n = (size_t)(R->nnz_local > 0 ? R->nnz_local : 1);
    if (single) ws->resid32 = cofi_malloc(n, sizeof *ws->resid32, "residuals");
    else ws->resid = cofi_malloc(n, sizeof *ws->resid, "residuals");
    ws->partial = cofi_malloc((size_t)ws->n_partial, sizeof *ws->partial, "partial sums");
    ws->acc = cofi_malloc((size_t)ws->threads * (size_t)ld, sizeof *ws->acc, "accumulators");
    const size_t nr = (size_t)ws->threads + 1;
    ws->iblk = cofi_malloc(2 * nr, sizeof *ws->iblk, "thread ranges");
    ws->queues = cofi_malloc((size_t)ws->threads, sizeof(block_queue), "work queues");
    if (ws->queues)
        for (int t = 0; t < ws->threads; t++) atomic_init(&((block_queue *)ws->queues)[t].fb, 0);
    if ((!ws->resid && !ws->resid32) || !ws->partial || !ws->acc || !ws->iblk || !ws->queues) {
        cofi_kernel_ws_free(ws);
        return COFI_ERR_NOMEM;
    }
    ws->ublk = ws->iblk + nr;
    ws->upartial = ws->partial + item_part;
    /* item blocks weigh like the ranks' item rows; user blocks (whose own
     * work is a gradient row) as an average block */
    if (thread_ranges(R->indptr, R->n_local, COFI_ITEM_BLOCK,
                      cofi_partition_item_weight(R->indptr, R->n_local) * COFI_ITEM_BLOCK,
                      ws->threads, ws->iblk) ||
        thread_ranges(R->tptr, R->n_users, COFI_USER_BLOCK, -1, ws->threads, ws->ublk)) {
        cofi_kernel_ws_free(ws);
        return COFI_ERR_NOMEM;
    }
    return COFI_OK;
}

void cofi_kernel_ws_free(cofi_kernel_ws *ws)
{
    cofi_free(ws->resid);
    cofi_free(ws->resid32);
    cofi_free(ws->acc);
    cofi_free(ws->partial);
    cofi_free(ws->iblk);
    cofi_free(ws->queues);
    memset(ws, 0, sizeof *ws);
}

/* Rows of these padded lengths get their own compiled copy of the passes,
 * with the row held in vector registers; other lengths take the general
 * loops.  Both compute the same sums in the same order (dot.h). */
#define COFI_LD_CASES(X) X(8) X(16) X(32) X(64) X(104) X(128)
enum { NV_MAX = 128 / COFI_VW };

/* The residual slot a later rating will write: the item pass scatters
 * residuals into the user pass's order. */
static inline __attribute__((always_inline)) void prefetch_resid(const cofi_kernel_ws *ws, cofi_idx t,
                                                                 const int ef)
{
    if (ef) __builtin_prefetch(ws->resid32 + t, 1, 3);
    else __builtin_prefetch(ws->resid + t, 1, 3);
}

/* Adam's step on one vector of X's row (cofi_adam_step's operations in its
 * order): m and v in place, the stepped parameters to out. */
static inline __attribute__((always_inline)) void adam_vec(const cofi_kernel_adam *A, cofi_vd g, cofi_vd x,
                                                           cofi_val *m, cofi_val *v, cofi_val *out)
{
    const cofi_vd mm = vd_add(vd_load(m), vd_mul(vd_sub(g, vd_load(m)), vd_set1(A->c1)));
    const cofi_vd vv = vd_add(vd_load(v), vd_mul(vd_sub(vd_mul(g, g), vd_load(v)), vd_set1(A->c2)));
    vd_store(m, mm);
    vd_store(v, vv);
    vd_store(out, vd_sub(x, vd_div(vd_mul(mm, vd_set1(A->alpha)), vd_add(vd_sqrt(vv), vd_set1(A->eps)))));
}

/* ... and on one value: the same operations. */
static inline void adam_scalar(const cofi_kernel_adam *A, cofi_val g, cofi_val *m, cofi_val *v, cofi_val *x)
{
    *m += (g - *m) * A->c1;
    *v += (g * g - *v) * A->c2;
    *x -= (*m * A->alpha) / (sqrt(*v) + A->eps);
}

/* One item: residuals, the four sums and, when grad, its gradient row (or,
 * with p->adam, its stepped row).
 * rf: ratings in float; ef: residuals in float; LD: the padded row length
 * as a compile-time constant, or 0 to use M->ld. */
static inline __attribute__((always_inline)) void
item_row(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
         cofi_kernel_ws *ws, cofi_idx i, cofi_val *gX, cofi_val *gib, cofi_val *sum,
         const int rf, const int ef, const int grad, const cofi_idx LD)
{
    const cofi_idx ld = LD ? LD : M->ld;
    const cofi_val *x = M->X + i * ld, *W = M->W, *b = M->b;
    const cofi_val lo = M->clip_lo, hi = M->clip_hi;
    const cofi_val base = M->mu + M->item_bias[i];
    const float *y32 = R->rating32;
    const cofi_val *y64 = R->rating64;
    cofi_val *E = ws->resid;
    float *E32 = ws->resid32;
    cofi_val *g = grad ? gX + i * ld : NULL;
    (void)y32, (void)y64, (void)E, (void)E32;
    cofi_val sse = sum[0], ssec = sum[2], saec = sum[3], esum = 0;
    const int NV = (int)(LD / COFI_VW);
    cofi_vd xv[NV_MAX], gv[NV_MAX];
    if (LD) {
        for (int c = 0; c < NV; c++) {
            xv[c] = vd_load(x + c * COFI_VW);
            gv[c] = vd_zero();
        }
    } else if (grad) {
        memset(g, 0, (size_t)ld * sizeof *g);
    }
    const cofi_idx rend = R->indptr[i + 1];
    cofi_idx r = R->indptr[i];
    /* Scalar work of one rating once its dot product is known. */
#define COFI_RATING_TAIL(RR, JJ, DOT, EOUT)                                                 \
    do {                                                                                    \
        const cofi_val y_ = rf ? (cofi_val)y32[RR] : y64[RR];                               \
        const cofi_val yhat_ = (DOT) + b[JJ] + base;                                        \
        const cofi_val e_ = yhat_ - y_;                                                     \
        const cofi_val ec_ = sd_clamp(yhat_, lo, hi) - y_;                                  \
        if (ef) E32[R->rpos[RR]] = (float)e_;                                               \
        else E[R->rpos[RR]] = e_;                                                           \
        sse = COFI_FMA(e_, e_, sse);                                                        \
        ssec = COFI_FMA(ec_, ec_, ssec);                                                    \
        saec += fabs(ec_);                                                                  \
        esum += e_;                                                                         \
        EOUT = e_;                                                                          \
    } while (0)
    if (LD && r + 1 < rend) {
        /* Two ratings at a time, software-pipelined: the dot products of the
         * next pair are issued before the gradient terms of this one, whose
         * residuals are then long known.  Each rating's sums and gradient
         * terms still go in rating order. */
#define COFI_DOT2(W0, W1, D0, D1)                                                      \
    do {                                                                             \
        cofi_vd a_[4] = {vd_zero(), vd_zero(), vd_zero(), vd_zero()};                \
        cofi_vd q_[4] = {vd_zero(), vd_zero(), vd_zero(), vd_zero()};                \
        for (int c = 0; c < NV; c++) {                                               \
            a_[c & 3] = vd_fma(xv[c], vd_load((W0) + c * COFI_VW), a_[c & 3]);       \
            q_[c & 3] = vd_fma(xv[c], vd_load((W1) + c * COFI_VW), q_[c & 3]);       \
        }                                                                            \
        D0 = vd_sum(vd_add(vd_add(a_[0], a_[1]), vd_add(a_[2], a_[3])));             \
        D1 = vd_sum(vd_add(vd_add(q_[0], q_[1]), vd_add(q_[2], q_[3])));             \
    } while (0)
#define COFI_GRAD2(W0, W1, E0, E1)                                                     \
    do {                                                                             \
        const cofi_vd v0_ = vd_set1(E0), v1_ = vd_set1(E1);                          \
        for (int c = 0; c < NV; c++) {                                               \
            gv[c] = vd_fma(v0_, vd_load((W0) + c * COFI_VW), gv[c]);                 \
            gv[c] = vd_fma(v1_, vd_load((W1) + c * COFI_VW), gv[c]);                 \
        }                                                                            \
    } while (0)
#define COFI_PREFETCH2(RR)                                                             \
    do {                                                                             \
        if ((RR) + 1 + COFI_PREFETCH_AHEAD < rend) {                                 \
            cofi_prefetch_row(W + R->user[(RR) + COFI_PREFETCH_AHEAD] * ld, ld);          \
            cofi_prefetch_row(W + R->user[(RR) + 1 + COFI_PREFETCH_AHEAD] * ld, ld);      \
            prefetch_resid(ws, R->rpos[(RR) + COFI_PREFETCH_AHEAD], ef);             \
            prefetch_resid(ws, R->rpos[(RR) + 1 + COFI_PREFETCH_AHEAD], ef);         \
        }                                                                            \
    } while (0)
        cofi_idx j0 = R->user[r], j1 = R->user[r + 1];
        const cofi_val *w0 = W + j0 * ld, *w1 = W + j1 * ld;
        cofi_val d0, d1, e0, e1;
        COFI_PREFETCH2(r);
        COFI_DOT2(w0, w1, d0, d1);
        COFI_RATING_TAIL(r, j0, d0, e0);
        COFI_RATING_TAIL(r + 1, j1, d1, e1);
        for (r += 2; r + 1 < rend; r += 2) {
            COFI_PREFETCH2(r);
            const cofi_idx n0 = R->user[r], n1 = R->user[r + 1];
            const cofi_val *u0 = W + n0 * ld, *u1 = W + n1 * ld;
            cofi_val f0, f1;
            COFI_DOT2(u0, u1, f0, f1);
            if (grad) COFI_GRAD2(w0, w1, e0, e1);
            COFI_RATING_TAIL(r, n0, f0, e0);
            COFI_RATING_TAIL(r + 1, n1, f1, e1);
            w0 = u0, w1 = u1;
        }
        if (grad) COFI_GRAD2(w0, w1, e0, e1);
#undef COFI_PREFETCH2
#undef COFI_DOT2
#undef COFI_GRAD2
    }
    for (; r < rend; r++) {
        const cofi_idx j = R->user[r];
        const cofi_val *w = W + j * ld;
        cofi_val dot;
        if (r + COFI_PREFETCH_AHEAD < rend) {
            cofi_prefetch_row(W + R->user[r + COFI_PREFETCH_AHEAD] * ld, ld);
            prefetch_resid(ws, R->rpos[r + COFI_PREFETCH_AHEAD], ef);
        }
        if (LD) {
            cofi_vd a[4] = {vd_zero(), vd_zero(), vd_zero(), vd_zero()};
            for (int c = 0; c < NV; c++) a[c & 3] = vd_fma(xv[c], vd_load(w + c * COFI_VW), a[c & 3]);
            dot = vd_sum(vd_add(vd_add(a[0], a[1]), vd_add(a[2], a[3])));
        } else {
            dot = cofi_dot_padded(x, w, ld);
        }
        cofi_val e;
        COFI_RATING_TAIL(r, j, dot, e);
        if (grad) {
            if (LD) {
                const cofi_vd ve = vd_set1(e);
                for (int c = 0; c < NV; c++) gv[c] = vd_fma(ve, vd_load(w + c * COFI_VW), gv[c]);
            } else {
                cofi_axpy_padded(g, e, w, ld);
            }
        }
    }
#undef COFI_RATING_TAIL
    const cofi_val ri = p->weighted ? (cofi_val)(R->indptr[i + 1] - R->indptr[i]) : 1.0;
    cofi_val xx;
    if (LD) {
        if (grad) {
            const cofi_vd vl = vd_set1(p->lambda * ri);
            if (p->adam) {
                cofi_val *m = p->adam->m + i * ld, *v = p->adam->v + i * ld;
                for (int c = 0; c < NV; c++)
                    adam_vec(p->adam, vd_fma(vl, xv[c], gv[c]), xv[c], m + c * COFI_VW, v + c * COFI_VW,
                             g + c * COFI_VW);
            } else {
                for (int c = 0; c < NV; c++) vd_store(g + c * COFI_VW, vd_fma(vl, xv[c], gv[c]));
            }
        }
        cofi_vd a[4] = {vd_zero(), vd_zero(), vd_zero(), vd_zero()};
        for (int c = 0; c < NV; c++) a[c & 3] = vd_fma(xv[c], xv[c], a[c & 3]);
        xx = vd_sum(vd_add(vd_add(a[0], a[1]), vd_add(a[2], a[3])));
    } else {
        if (grad) cofi_axpy_padded(g, p->lambda * ri, x, ld);
        if (grad && p->adam) {
            cofi_val *m = p->adam->m + i * ld, *v = p->adam->v + i * ld;
            for (cofi_idx f = 0; f < ld; f += COFI_VW)
                adam_vec(p->adam, vd_load(g + f), vd_load(x + f), m + f, v + f, g + f);
        }
        xx = cofi_dot_padded(x, x, ld);
    }
    if (gib) gib[i] = esum;
    sum[0] = sse;
    sum[1] += ri * xx;
    sum[2] = ssec;
    sum[3] = saec;
}

/* One block of items with a fixed row length. */
static inline __attribute__((always_inline)) void
item_block(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
           cofi_kernel_ws *ws, cofi_idx blk, cofi_val *gX, cofi_val *gib, const int rf,
           const int ef, const cofi_idx LD)
{
    cofi_idx i0 = blk * COFI_ITEM_BLOCK;
    cofi_idx i1 = i0 + COFI_ITEM_BLOCK < R->n_local ? i0 + COFI_ITEM_BLOCK : R->n_local;
    cofi_val sum[4] = {0, 0, 0, 0};
    for (cofi_idx i = i0; i < i1; i++) {
        if (gX) item_row(R, M, p, ws, i, gX, gib, sum, rf, ef, 1, LD);
        else item_row(R, M, p, ws, i, NULL, gib, sum, rf, ef, 0, LD);
    }
    cofi_val *out = ws->partial + COFI_NSUMS * blk;
    out[COFI_SUM_SSE] = sum[0];
    out[COFI_SUM_XREG] = sum[1];
    out[COFI_SUM_SSE_C] = sum[2];
    out[COFI_SUM_SAE_C] = sum[3];
}

/* One block with the row length's compiled copy. */
static inline __attribute__((always_inline)) void
item_block_any(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
               cofi_kernel_ws *ws, cofi_idx blk, cofi_val *gX, cofi_val *gib, const int rf,
               const int ef)
{
    switch (M->ld) {
#define CASE(L) case L: item_block(R, M, p, ws, blk, gX, gib, rf, ef, L); break;
        COFI_LD_CASES(CASE)
#undef CASE
    default: item_block(R, M, p, ws, blk, gX, gib, rf, ef, 0);
    }
}

/* The blocks of a pass, each handed to exactly one thread of the team: a
 * thread takes its own range from the front, then what is left of the other
 * threads' ranges from their back.  Which thread takes a block never changes
 * a result: every block's sums and rows are its own.  A team of another size
 * than the ranges were made for splits the blocks evenly instead. */
typedef struct {
    block_queue *q; /* NULL: the even split [next, end) */
    int T, t, v;    /* team size, this thread, the queue being taken from (t + v) */
    cofi_idx next, end;
} block_iter;

static void block_iter_start(block_iter *it, const cofi_kernel_ws *ws, const cofi_idx *ranges,
                             cofi_idx nb)
{
    it->T = omp_get_num_threads();
    it->t = omp_get_thread_num();
    it->v = 0;
    /* (a queue holds block numbers in 32 bits) */
    it->q = it->T == ws->threads && nb < ((cofi_idx)1 << 32) ? ws->queues : NULL;
    if (it->q) {
        atomic_store_explicit(&it->q[it->t].fb, fb_pack(ranges[it->t], ranges[it->t + 1]),
                              memory_order_release);
    } else {
        it->next = cofi_partition_even_start(nb, it->T, it->t);
        it->end = cofi_partition_even_start(nb, it->T, it->t + 1);
    }
}

static int block_iter_next(block_iter *it, cofi_idx *blk)
{
    if (!it->q) {
        if (it->next >= it->end) return 0;
        *blk = it->next++;
        return 1;
    }
    for (; it->v < it->T; it->v++)
        if (queue_take(&it->q[(it->t + it->v) % it->T], it->v > 0, blk)) return 1;
    return 0;
}

/* Item pass: residuals and the sums per block; gX and gib when asked. */
static inline __attribute__((always_inline)) void
item_pass_impl(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
               cofi_kernel_ws *ws, cofi_val *gX, cofi_val *gib, const int rf, const int ef)
{
    block_iter it;
    cofi_idx blk;
    block_iter_start(&it, ws, ws->iblk, n_blocks(R->n_local, COFI_ITEM_BLOCK));
    while (block_iter_next(&it, &blk)) item_block_any(R, M, p, ws, blk, gX, gib, rf, ef);
}

static void item_pass(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
                      cofi_kernel_ws *ws, cofi_val *gX, cofi_val *gib)
{
    if (ws->resid32) item_pass_impl(R, M, p, ws, gX, gib, 1, 1);
    else if (R->rating32) item_pass_impl(R, M, p, ws, gX, gib, 1, 0);
    else item_pass_impl(R, M, p, ws, gX, gib, 0, 0);
}

/* c_j |w_j|^2 of user j, in the order of the gradient pass and the cost pass. */
static inline __attribute__((always_inline)) cofi_val
user_reg(const cofi_model *M, const cofi_kernel_params *p, cofi_idx j, cofi_idx ld)
{
    const cofi_val *w = M->W + j * ld, q = cofi_dot_padded(w, w, ld);
    return p->user_weight ? p->user_weight[j] * q : q;
}

/* The sum of user_reg over block blk's users that are in [reg_u0, reg_u1). */
static cofi_val user_reg_block(const cofi_model *M, const cofi_kernel_params *p, cofi_idx blk)
{
    cofi_idx j0 = blk * COFI_USER_BLOCK, j1 = j0 + COFI_USER_BLOCK;
    if (j0 < p->reg_u0) j0 = p->reg_u0;
    if (j1 > p->reg_u1) j1 = p->reg_u1;
    cofi_val s = 0;
    for (cofi_idx j = j0; j < j1; j++) s += user_reg(M, p, j, M->ld);
    return s;
}

/* One block of users: their gradients through the transposed index, and
 * the ridge of those in [reg_u0, reg_u1). */
static inline __attribute__((always_inline)) void
user_block(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
           const cofi_kernel_ws *ws, cofi_idx blk, cofi_val *acc, cofi_val *gW, cofi_idx ldgw,
           cofi_val *gb, cofi_idx ldgb, const int ef, const cofi_idx LD)
{
    const cofi_idx ld = LD ? LD : M->ld, k = M->k, nu = R->n_users;
    const cofi_val *X = M->X, *E = ws->resid;
    const float *E32 = ws->resid32;
    const int NV = (int)(LD / COFI_VW);
    cofi_idx j1 = (blk + 1) * COFI_USER_BLOCK < nu ? (blk + 1) * COFI_USER_BLOCK : nu;
    cofi_val reg = 0;
    for (cofi_idx j = blk * COFI_USER_BLOCK; j < j1; j++) {
        cofi_val bsum = 0;
        cofi_vd av[NV_MAX];
        if (LD)
            for (int c = 0; c < NV; c++) av[c] = vd_zero();
        else
            memset(acc, 0, (size_t)ld * sizeof acc[0]);
        const cofi_idx tend = R->tptr[j + 1];
        for (cofi_idx t = R->tptr[j]; t < tend; t++) {
            if (t + COFI_PREFETCH_AHEAD < tend) cofi_prefetch_row(X + R->titem[t + COFI_PREFETCH_AHEAD] * ld, ld);
            /* the item pass left the residuals in this order: read in sequence */
            const cofi_val e = ef ? (cofi_val)E32[t] : E[t];
            const cofi_val *x = X + R->titem[t] * ld;
            if (LD) {
                const cofi_vd ve = vd_set1(e);
                for (int c = 0; c < NV; c++) av[c] = vd_fma(ve, vd_load(x + c * COFI_VW), av[c]);
            } else {
                cofi_axpy_padded(acc, e, x, ld);
            }
            bsum += e;
        }
        if (j >= p->reg_u0 && j < p->reg_u1) {
            const cofi_val *w = M->W + j * ld;
            const cofi_val l = p->user_weight ? p->lambda * p->user_weight[j] : p->lambda;
            reg += user_reg(M, p, j, ld);
            if (LD) {
                const cofi_vd vl = vd_set1(l);
                for (int c = 0; c < NV; c++) av[c] = vd_fma(vl, vd_load(w + c * COFI_VW), av[c]);
            } else {
                cofi_axpy_padded(acc, l, w, ld);
            }
        }
        const cofi_kernel_adam *A = p->adam;
        if (A && A->mw) {
            cofi_val *w = M->W + j * ld, *m = A->mw + j * ld, *v = A->vw + j * ld;
            if (LD)
                for (int c = 0; c < NV; c++)
                    adam_vec(A, av[c], vd_load(w + c * COFI_VW), m + c * COFI_VW, v + c * COFI_VW, w + c * COFI_VW);
            else
                for (cofi_idx f = 0; f < ld; f += COFI_VW)
                    adam_vec(A, vd_load(acc + f), vd_load(w + f), m + f, v + f, w + f);
            adam_scalar(A, A->lambda_b > 0 ? bsum + A->lambda_b * M->b[j] : bsum, A->mb + j, A->vb + j, M->b + j);
            continue;
        }
        if (LD)
            for (int c = 0; c < NV; c++) vd_store(acc + c * COFI_VW, av[c]);
        memcpy(gW + j * ldgw, acc, (size_t)k * sizeof acc[0]);
        gb[j * ldgb] = bsum;
    }
    ws->upartial[blk] = reg;
}

static inline __attribute__((always_inline)) void
user_block_any(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
               const cofi_kernel_ws *ws, cofi_idx blk, cofi_val *acc, cofi_val *gW, cofi_idx ldgw,
               cofi_val *gb, cofi_idx ldgb, const int ef)
{
    switch (M->ld) {
#define CASE(L) case L: user_block(R, M, p, ws, blk, acc, gW, ldgw, gb, ldgb, ef, L); break;
        COFI_LD_CASES(CASE)
#undef CASE
    default: user_block(R, M, p, ws, blk, acc, gW, ldgw, gb, ldgb, ef, 0);
    }
}

static inline __attribute__((always_inline)) void
user_pass_impl(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
               const cofi_kernel_ws *ws, cofi_val *acc, cofi_val *gW, cofi_idx ldgw, cofi_val *gb,
               cofi_idx ldgb, const int ef)
{
    block_iter it;
    cofi_idx blk;
    block_iter_start(&it, ws, ws->ublk, n_blocks(R->n_users, COFI_USER_BLOCK));
    while (block_iter_next(&it, &blk)) user_block_any(R, M, p, ws, blk, acc, gW, ldgw, gb, ldgb, ef);
}

/* The item blocks' sums, then the user blocks' ridge sum, each in block order. */
static void sum_partials(const cofi_kernel_ws *ws, const cofi_ratings *R, cofi_val sums[COFI_NSUMS])
{
    const cofi_idx nb = n_blocks(R->n_local, COFI_ITEM_BLOCK), nu = n_blocks(R->n_users, COFI_USER_BLOCK);
    for (int s = 0; s < COFI_NSUMS; s++) sums[s] = 0;
    for (cofi_idx blk = 0; blk < nb; blk++)
        for (int s = 0; s < COFI_SUM_WREG; s++) sums[s] += ws->partial[COFI_NSUMS * blk + s];
    for (cofi_idx blk = 0; blk < nu; blk++) sums[COFI_SUM_WREG] += ws->upartial[blk];
}

void cofi_kernel_grad(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
                      cofi_kernel_ws *ws, cofi_val *gX, cofi_val *gW, cofi_idx ldgw, cofi_val *gb,
                      cofi_idx ldgb, cofi_val *gib, cofi_val sums[COFI_NSUMS])
{
#pragma omp parallel num_threads(ws->threads)
    {
        item_pass(R, M, p, ws, gX, gib);
#pragma omp barrier
        /* all residuals are known */
        cofi_val *acc = ws->acc + (size_t)omp_get_thread_num() * (size_t)ws->ld;
        if (ws->resid32) user_pass_impl(R, M, p, ws, acc, gW, ldgw, gb, ldgb, 1);
        else user_pass_impl(R, M, p, ws, acc, gW, ldgw, gb, ldgb, 0);
    }
    sum_partials(ws, R, sums);
}

void cofi_kernel_cost(const cofi_ratings *R, const cofi_model *M, const cofi_kernel_params *p,
                      cofi_kernel_ws *ws, cofi_val sums[COFI_NSUMS])
{
    const cofi_idx nu = n_blocks(R->n_users, COFI_USER_BLOCK);
#pragma omp parallel num_threads(ws->threads)
    {
        item_pass(R, M, p, ws, NULL, NULL);
#pragma omp for schedule(static)
        for (cofi_idx blk = 0; blk < nu; blk++) ws->upartial[blk] = user_reg_block(M, p, blk);
    }
    sum_partials(ws, R, sums);
}

cofi_val cofi_kernel_sumsq(const cofi_val *a, cofi_idx n, cofi_kernel_ws *ws)
{
    /* Blocks of COFI_USER_BLOCK entries; the workspace has room for the
     * users' blocks and for the items' blocks. */
    const cofi_idx nb = n_blocks(n, COFI_USER_BLOCK);
    cofi_val *part = ws->partial;
#pragma omp parallel for schedule(static)
    for (cofi_idx blk = 0; blk < nb; blk++) {
        cofi_idx r1 = (blk + 1) * COFI_USER_BLOCK < n ? (blk + 1) * COFI_USER_BLOCK : n;
        cofi_val s = 0;
        for (cofi_idx r = blk * COFI_USER_BLOCK; r < r1; r++) s += a[r] * a[r];
        part[blk] = s;
    }
    cofi_val s = 0;
    for (cofi_idx blk = 0; blk < nb; blk++) s += part[blk];
    return s;
}

void cofi_kernel_add_ridge(cofi_val *g, cofi_idx ldg, const cofi_val *a, cofi_idx n, cofi_val lambda)
{
#pragma omp parallel for schedule(static)
    for (cofi_idx r = 0; r < n; r++) g[r * ldg] += lambda * a[r];
}
