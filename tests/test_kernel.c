/* test_kernel.c - the gradient kernel against a naive dense reference and
 * against finite differences of the cost, for several k (padding), with
 * offsets, plain and count-weighted ridge, clipped metrics, on item slices
 * that mimic ranks, at several thread counts and ways of handing out the
 * blocks (bitwise equal to one thread), with the user pass in increasing and
 * in hashed item order; the hashed order's index against its definition. */
#include "testutil.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cofi/error.h"
#include "cofi/kernel.h"
#include "cofi/optim.h"
#include "cofi/rng.h"

typedef struct {
    cofi_idx ni, nu, k;
    int *mask;       /* ni x nu */
    double *Y;       /* ni x nu */
    double *X, *W, *b, *ib, mu, lambda;
    int weighted;          /* ridge lambda * n per row */
    double lo, hi;         /* clip range of the reported metrics */
} dense;

static double count_item(const dense *d, cofi_idx i)
{
    double n = 0;
    for (cofi_idx j = 0; j < d->nu; j++) n += d->mask[i * d->nu + j];
    return d->weighted ? n : 1.0;
}
static double count_user(const dense *d, cofi_idx j)
{
    double n = 0;
    for (cofi_idx i = 0; i < d->ni; i++) n += d->mask[i * d->nu + j];
    return d->weighted ? n : 1.0;
}

static double uni(uint64_t a, uint64_t b) { return cofi_rng_uniform(99, 7, a, b); }

static void make(dense *d, cofi_idx ni, cofi_idx nu, cofi_idx k)
{
    d->ni = ni, d->nu = nu, d->k = k;
    d->mask = calloc((size_t)(ni * nu), sizeof(int));
    d->Y = calloc((size_t)(ni * nu), sizeof(double));
    d->X = malloc(sizeof(double) * (size_t)(ni * k));
    d->W = malloc(sizeof(double) * (size_t)(nu * k));
    d->b = malloc(sizeof(double) * (size_t)nu);
    d->ib = malloc(sizeof(double) * (size_t)ni);
    for (cofi_idx i = 0; i < ni; i++)
        for (cofi_idx j = 0; j < nu; j++) {
            /* item 2 has no ratings; user 1 has none: both must work */
            d->mask[i * nu + j] = i != 2 && j != 1 && uni(i, j) < 0.55;
            d->Y[i * nu + j] = 1 + floor(5 * uni(i + 100, j));
        }
    for (cofi_idx n = 0; n < ni * k; n++) d->X[n] = uni(1000, n) - 0.5;
    for (cofi_idx n = 0; n < nu * k; n++) d->W[n] = uni(2000, n) - 0.5;
    for (cofi_idx j = 0; j < nu; j++) d->b[j] = uni(3000, j);
    for (cofi_idx i = 0; i < ni; i++) d->ib[i] = uni(4000, i) - 0.5;
    d->mu = 0.3;
    d->lambda = 0.7;
    d->weighted = 0;
    d->lo = 1.5;
    d->hi = 4.5;
}

static void dense_free(dense *d)
{
    free(d->mask), free(d->Y), free(d->X), free(d->W), free(d->b), free(d->ib);
}

/* J by the textbook double loop; also the clipped squared and absolute
 * errors when asked. */
static double naive_cost_clip(const dense *d, double *ssec, double *saec)
{
    double J = 0, a = 0, c = 0;
    for (cofi_idx i = 0; i < d->ni; i++)
        for (cofi_idx j = 0; j < d->nu; j++) {
            if (!d->mask[i * d->nu + j]) continue;
            double p = d->mu + d->ib[i] + d->b[j];
            for (cofi_idx f = 0; f < d->k; f++) p += d->X[i * d->k + f] * d->W[j * d->k + f];
            J += 0.5 * (p - d->Y[i * d->nu + j]) * (p - d->Y[i * d->nu + j]);
            double pc = p < d->lo ? d->lo : p > d->hi ? d->hi : p;
            a += (pc - d->Y[i * d->nu + j]) * (pc - d->Y[i * d->nu + j]);
            c += fabs(pc - d->Y[i * d->nu + j]);
        }
    double r = 0;
    for (cofi_idx i = 0; i < d->ni; i++)
        for (cofi_idx f = 0; f < d->k; f++) r += count_item(d, i) * d->X[i * d->k + f] * d->X[i * d->k + f];
    for (cofi_idx j = 0; j < d->nu; j++)
        for (cofi_idx f = 0; f < d->k; f++) r += count_user(d, j) * d->W[j * d->k + f] * d->W[j * d->k + f];
    if (ssec) *ssec = a;
    if (saec) *saec = c;
    return J + 0.5 * d->lambda * r;
}
static double naive_cost(const dense *d) { return naive_cost_clip(d, NULL, NULL); }

/* Full gradients: gX (ni x k), gW (nu x k, with lambda W), gb, gib. */
static void naive_grad(const dense *d, double *gX, double *gW, double *gb, double *gib)
{
    memset(gW, 0, sizeof(double) * (size_t)(d->nu * d->k));
    memset(gb, 0, sizeof(double) * (size_t)d->nu);
    for (cofi_idx i = 0; i < d->ni; i++) {
        gib[i] = 0;
        for (cofi_idx f = 0; f < d->k; f++)
            gX[i * d->k + f] = d->lambda * count_item(d, i) * d->X[i * d->k + f];
        for (cofi_idx j = 0; j < d->nu; j++) {
            if (!d->mask[i * d->nu + j]) continue;
            double p = d->mu + d->ib[i] + d->b[j];
            for (cofi_idx f = 0; f < d->k; f++) p += d->X[i * d->k + f] * d->W[j * d->k + f];
            double e = p - d->Y[i * d->nu + j];
            for (cofi_idx f = 0; f < d->k; f++) {
                gX[i * d->k + f] += e * d->W[j * d->k + f];
                gW[j * d->k + f] += e * d->X[i * d->k + f];
            }
            gb[j] += e;
            gib[i] += e;
        }
    }
    for (cofi_idx j = 0; j < d->nu; j++)
        for (cofi_idx f = 0; f < d->k; f++)
            gW[j * d->k + f] += d->lambda * count_user(d, j) * d->W[j * d->k + f];
}

/* The dense problem's rows [i0, i0 + nl) as cofi structures. */
static void slice(const dense *d, cofi_idx i0, cofi_idx nl, cofi_ratings *R, cofi_model *M)
{
    cofi_csr c;
    double *trip = malloc(sizeof(double) * 3 * (size_t)(d->ni * d->nu));
    cofi_idx nnz = 0;
    for (cofi_idx i = 0; i < d->ni; i++)
        for (cofi_idx j = 0; j < d->nu; j++)
            if (d->mask[i * d->nu + j]) {
                trip[3 * nnz] = (double)i, trip[3 * nnz + 1] = (double)j;
                trip[3 * nnz + 2] = d->Y[i * d->nu + j];
                nnz++;
            }
    tu_csr_from_triplets(d->ni, d->nu, nnz, trip, &c);
    free(trip);
    CHECK(cofi_ratings_from_csr(d->ni, d->nu, c.indptr, c.user, c.rating, i0, nl, R) == 0, "slice");
    cofi_csr_free(&c);
    CHECK(cofi_model_alloc(M, d->ni, d->nu, d->k, i0, nl) == 0, "alloc");
    for (cofi_idx i = 0; i < nl; i++) {
        memcpy(M->X + i * M->ld, d->X + (i0 + i) * d->k, sizeof(double) * (size_t)d->k);
        M->item_bias[i] = d->ib[i0 + i];
    }
    for (cofi_idx j = 0; j < d->nu; j++)
        memcpy(M->W + j * M->ld, d->W + j * d->k, sizeof(double) * (size_t)d->k);
    memcpy(M->b, d->b, sizeof(double) * (size_t)d->nu);
    M->mu = d->mu;
    M->clip_lo = d->lo;
    M->clip_hi = d->hi;
}

/* How the blocks reach the threads: as cofi hands them out; with every
 * block in the last thread's range, so the others can only take them from
 * its back; or from inside another parallel region, where the team (of 1)
 * is not the one the ranges were made for.  Results must not change. */
enum { SPLIT_NORMAL, SPLIT_STEAL, SPLIT_NESTED };

/* Kernel over `parts` item slices, summed as the trainer's allreduce would. */
static void kernel_all(const dense *d, int parts, int split, int hashed, double *gX, double *gW,
                       double *gb, double *gib, double *J, double *ssec, double *saec)
{
    cofi_idx k = d->k;
    double *uw = malloc(sizeof(double) * (size_t)d->nu);
    for (cofi_idx j = 0; j < d->nu; j++) uw[j] = count_user(d, j);
    memset(gW, 0, sizeof(double) * (size_t)(d->nu * k));
    memset(gb, 0, sizeof(double) * (size_t)d->nu);
    double sse = 0, xsq = 0, wsq = 0;
    *ssec = *saec = 0;
    double *pw = malloc(sizeof(double) * (size_t)(d->nu * k)), *pb = malloc(sizeof(double) * (size_t)d->nu);
    for (int p = 0; p < parts; p++) {
        cofi_idx i0 = d->ni * p / parts, i1 = d->ni * (p + 1) / parts;
        cofi_ratings R;
        cofi_model M;
        cofi_kernel_ws ws;
        /* each slice also adds W's ridge for its share of the users, as
         * each rank does for its shard */
        const cofi_kernel_params kp = {d->lambda, d->weighted, d->nu * p / parts, d->nu * (p + 1) / parts,
                                       d->weighted ? uw : NULL, NULL};
        slice(d, i0, i1 - i0, &R, &M);
        if (hashed) CHECK(cofi_ratings_order_transpose(&R, 1) == 0, "hashed order");
        cofi_kernel_ws_alloc(&ws, &R, M.ld, 0);
        if (split == SPLIT_STEAL)
            for (int t = 0; t < ws.threads; t++) ws.iblk[t] = ws.ublk[t] = 0;
        /* kernels need 64-byte aligned rows, as cofi allocates them */
        double *gx = cofi_calloc((size_t)((i1 - i0) * M.ld + 1), sizeof(double), "gx"), s[COFI_NSUMS];
        if (split == SPLIT_NESTED) {
            omp_set_max_active_levels(1);
#pragma omp parallel num_threads(2)
#pragma omp single
            {
                CHECK(omp_get_active_level() == 1 && omp_get_num_threads() == 2,
                      "called from inside an active team of 2 (level %d, %d threads)",
                      omp_get_active_level(), omp_get_num_threads());
                cofi_kernel_grad(&R, &M, &kp, &ws, gx, pw, k, pb, 1, gib + i0, s);
            }
        } else {
            cofi_kernel_grad(&R, &M, &kp, &ws, gx, pw, k, pb, 1, gib + i0, s);
        }
        for (cofi_idx i = 0; i < i1 - i0; i++) {
            memcpy(gX + (i0 + i) * k, gx + i * M.ld, sizeof(double) * (size_t)k);
            for (cofi_idx f = k; f < M.ld; f++)
                CHECK(gx[i * M.ld + f] == 0, "padding of gX must stay zero");
        }
        for (cofi_idx n = 0; n < d->nu * k; n++) gW[n] += pw[n];
        for (cofi_idx j = 0; j < d->nu; j++) gb[j] += pb[j];
        sse += s[COFI_SUM_SSE];
        xsq += s[COFI_SUM_XREG];
        *ssec += s[COFI_SUM_SSE_C];
        *saec += s[COFI_SUM_SAE_C];
        wsq += s[COFI_SUM_WREG];
        if (p == 0) {
            /* the cost-only pass agrees with the gradient pass */
            double s2[COFI_NSUMS];
            cofi_kernel_cost(&R, &M, &kp, &ws, s2);
            CHECK(!memcmp(s2, s, sizeof s2), "cost pass differs from gradient pass");
        }
        cofi_free(gx);
        cofi_kernel_ws_free(&ws);
        cofi_model_free(&M);
        cofi_ratings_free(&R);
    }
    *J = 0.5 * sse + 0.5 * d->lambda * (xsq + wsq);
    free(pw);
    free(pb);
    free(uw);
}

static void test_shape(cofi_idx ni, cofi_idx nu, cofi_idx k, int weighted)
{
    dense d;
    make(&d, ni, nu, k);
    d.weighted = weighted;
    size_t nx = (size_t)(ni * k), nw = (size_t)(nu * k);
    double *rX = malloc(sizeof(double) * nx), *rW = malloc(sizeof(double) * nw);
    double *rb = malloc(sizeof(double) * (size_t)nu), *rib = malloc(sizeof(double) * (size_t)ni);
    naive_grad(&d, rX, rW, rb, rib);
    double rssec, rsaec, rJ = naive_cost_clip(&d, &rssec, &rsaec);

    double *gX = malloc(sizeof(double) * nx), *gW = malloc(sizeof(double) * nw);
    double *gb = malloc(sizeof(double) * (size_t)nu), *gib = malloc(sizeof(double) * (size_t)ni);
    double *gX1 = malloc(sizeof(double) * nx), *gW1 = malloc(sizeof(double) * nw), J1 = 0;
    double *gb1 = malloc(sizeof(double) * (size_t)nu), *gib1 = malloc(sizeof(double) * (size_t)ni);
    double ssec1 = 0, saec1 = 0;
    for (int hashed = 0; hashed <= 1; hashed++)
    for (int parts = 1; parts <= 4; parts++) {
        for (int run = 1; run <= 7; run++) {
            /* 1-3 threads as handed out, then 2-3 stealing, 2-3 nested */
            const int threads = run <= 3 ? run : 2 + (run - 4) % 2;
            const int split = run <= 3 ? SPLIT_NORMAL : run <= 5 ? SPLIT_STEAL : SPLIT_NESTED;
            omp_set_num_threads(threads);
            double J, ssec, saec;
            kernel_all(&d, parts, split, hashed, gX, gW, gb, gib, &J, &ssec, &saec);
            char what[112];
            snprintf(what, sizeof what, "k=%ld w=%d hashed=%d parts=%d threads=%d split=%d J", (long)k,
                     weighted, hashed, parts, threads, split);
            CHECK_CLOSE(J, rJ, 1e-12, what);
            CHECK_CLOSE(ssec, rssec, 1e-12, "clipped squared error");
            CHECK_CLOSE(saec, rsaec, 1e-12, "clipped absolute error");
            CHECK(cofi_max_relerr(gX, rX, (cofi_idx)nx) < 1e-12, "%s: gX %.3g", what, cofi_max_relerr(gX, rX, (cofi_idx)nx));
            CHECK(cofi_max_relerr(gW, rW, (cofi_idx)nw) < 1e-12, "%s: gW %.3g", what, cofi_max_relerr(gW, rW, (cofi_idx)nw));
            CHECK(cofi_max_relerr(gb, rb, nu) < 1e-12, "%s: gb", what);
            CHECK(cofi_max_relerr(gib, rib, ni) < 1e-12, "%s: item bias gradient", what);
            if (threads == 1) {
                memcpy(gX1, gX, sizeof(double) * nx);
                memcpy(gW1, gW, sizeof(double) * nw);
                memcpy(gb1, gb, sizeof(double) * (size_t)nu);
                memcpy(gib1, gib, sizeof(double) * (size_t)ni);
                J1 = J, ssec1 = ssec, saec1 = saec;
            } else {
                CHECK(J == J1 && ssec == ssec1 && saec == saec1 && !memcmp(gX, gX1, sizeof(double) * nx) &&
                          !memcmp(gW, gW1, sizeof(double) * nw) && !memcmp(gb, gb1, sizeof(double) * (size_t)nu) &&
                          !memcmp(gib, gib1, sizeof(double) * (size_t)ni),
                      "%s: not bitwise equal to 1 thread", what);
            }
        }
    }

    /* Central differences of the naive cost, for every coordinate kind. */
    const double h = 1e-5;
    double *targets[4] = {d.X, d.W, d.b, d.ib};
    const double *grads[4] = {rX, rW, rb, rib};
    cofi_idx sizes[4] = {(cofi_idx)nx, (cofi_idx)nw, nu, ni};
    const char *names[4] = {"X", "W", "b", "item_bias"};
    for (int v = 0; v < 4; v++)
        for (cofi_idx n = 0; n < sizes[v]; n += 1 + sizes[v] / 9) {
            double save = targets[v][n];
            targets[v][n] = save + h;
            double jp = naive_cost(&d);
            targets[v][n] = save - h;
            double jm = naive_cost(&d);
            targets[v][n] = save;
            double fd = (jp - jm) / (2 * h);
            CHECK(fabs(fd - grads[v][n]) <= 1e-6 * fmax(1.0, fabs(fd)),
                  "finite difference d%s[%ld]: %.10g vs gradient %.10g", names[v], (long)n, fd,
                  grads[v][n]);
        }
    /* And the kernel itself against the differences (the naive gradient was
     * already matched to 1e-12 above; this closes the loop on the formula). */
    omp_set_num_threads(1);
    double J, ssec, saec;
    kernel_all(&d, 3, SPLIT_NORMAL, 1, gX, gW, gb, gib, &J, &ssec, &saec);
    for (cofi_idx n = 0; n < (cofi_idx)nw; n += 1 + (cofi_idx)nw / 7) {
        double save = d.W[n];
        d.W[n] = save + h;
        double jp = naive_cost(&d);
        d.W[n] = save - h;
        double jm = naive_cost(&d);
        d.W[n] = save;
        CHECK(fabs((jp - jm) / (2 * h) - gW[n]) <= 1e-6 * fmax(1.0, fabs(gW[n])), "kernel dW[%ld]", (long)n);
    }
    free(rX), free(rW), free(rb), free(rib), free(gX), free(gW), free(gb), free(gib);
    free(gX1), free(gW1), free(gb1), free(gib1);
    dense_free(&d);
}

/* The hashed order of the user lists: each rating still found at its
 * position, every position used once, each user's items in increasing key
 * of their global index on every slice, and the increasing order restored
 * exactly. */
static void test_order(cofi_idx ni, cofi_idx nu, int parts)
{
    dense d;
    make(&d, ni, nu, 2);
    for (int p = 0; p < parts; p++) {
        cofi_idx i0 = ni * p / parts, i1 = ni * (p + 1) / parts;
        cofi_ratings R;
        cofi_model M;
        slice(&d, i0, i1 - i0, &R, &M);
        const cofi_idx n = R.nnz_local;
        cofi_lidx *titem0 = malloc(sizeof *titem0 * (size_t)(n + 1));
        cofi_lidx *rpos0 = malloc(sizeof *rpos0 * (size_t)(n + 1));
        char *seen = calloc((size_t)(n + 1), 1);
        memcpy(titem0, R.titem, sizeof *titem0 * (size_t)n);
        memcpy(rpos0, R.rpos, sizeof *rpos0 * (size_t)n);
        CHECK(cofi_ratings_order_transpose(&R, 1) == 0, "hashed order");
        int bad_pos = 0, bad_seen = 0, bad_key = 0;
        for (cofi_idx i = 0; i < R.n_local; i++)
            for (cofi_idx r = R.indptr[i]; r < R.indptr[i + 1]; r++) {
                cofi_idx t = R.rpos[r], j = R.user[r];
                if (t < R.tptr[j] || t >= R.tptr[j + 1] || R.titem[t] != i) bad_pos++;
                else if (seen[t]++) bad_seen++;
            }
        for (cofi_idx j = 0; j < nu; j++)
            for (cofi_idx t = R.tptr[j] + 1; t < R.tptr[j + 1]; t++)
                if (!(cofi_ratings_item_key(i0 + R.titem[t - 1]) < cofi_ratings_item_key(i0 + R.titem[t])))
                    bad_key++;
        CHECK(bad_pos == 0 && bad_seen == 0, "%ld x %ld, part %d: %d ratings not at their position, %d positions twice",
              (long)ni, (long)nu, p, bad_pos, bad_seen);
        CHECK(bad_key == 0, "%ld x %ld, part %d: %d user-list neighbours out of key order", (long)ni,
              (long)nu, p, bad_key);
        CHECK(cofi_ratings_order_transpose(&R, 0) == 0, "increasing order");
        CHECK(!memcmp(titem0, R.titem, sizeof *titem0 * (size_t)n) &&
                  !memcmp(rpos0, R.rpos, sizeof *rpos0 * (size_t)n),
              "%ld x %ld, part %d: increasing order not restored", (long)ni, (long)nu, p);
        free(titem0), free(rpos0), free(seen);
        cofi_model_free(&M);
        cofi_ratings_free(&R);
    }
    dense_free(&d);
    /* the rule: at least a quarter of the pairs rated */
    cofi_ratings q = {.n_items = 10, .n_users = 10, .nnz = 25};
    CHECK(cofi_ratings_hashed_order_pays(&q), "25 of 100 pairs: hashed");
    q.nnz = 24;
    CHECK(!cofi_ratings_hashed_order_pays(&q), "24 of 100 pairs: increasing");
}

/* Adam's steps taken in the passes (kp.adam) against the kernel's gradients
 * followed by cofi_adam_step, as the trainer takes them: two steps (the
 * second from nonzero moments), X's alone and, as on one rank, with W's and
 * b's (b's ridge added first).  Bitwise the same parameters and moments, the
 * padding still zero, the old X left as it was, every entry of the stepped
 * rows written, and the sums (and without W's step gW, gb and the item-bias
 * gradient) unchanged, on 1-3 threads. */
static void test_fused_adam(cofi_idx ni, cofi_idx nu, cofi_idx k, int with_wb)
{
    dense d;
    make(&d, ni, nu, k);
    const cofi_optim_params o = {COFI_OPT_ADAM, 0.05, 0.9, 0.999, 1e-7};
    const double lambda_b = 0.3;
    for (int threads = 1; threads <= 3; threads++) {
        omp_set_num_threads(threads);
        cofi_ratings R;
        cofi_model M;
        cofi_kernel_ws ws;
        slice(&d, 0, ni, &R, &M);
        cofi_kernel_ws_alloc(&ws, &R, M.ld, 0);
        const cofi_idx ld = M.ld, nx = ni * ld, nw = nu * ld;
        double *const own[3] = {M.X, M.W, M.b};
        double *x[2], *m[2], *v[2], *g[2], *w[2], *mw[2], *vw[2], *bb[2], *mb[2], *vb[2];
        double *gw[2], *gb[2], *gib[2], s[2][COFI_NSUMS];
        for (int q = 0; q < 2; q++) {
            x[q] = cofi_calloc((size_t)nx, sizeof(double), "x");
            m[q] = cofi_calloc((size_t)nx, sizeof(double), "m");
            v[q] = cofi_calloc((size_t)nx, sizeof(double), "v");
            g[q] = cofi_calloc((size_t)nx, sizeof(double), "g");
            w[q] = cofi_calloc((size_t)nw, sizeof(double), "w");
            mw[q] = cofi_calloc((size_t)nw, sizeof(double), "mw");
            vw[q] = cofi_calloc((size_t)nw, sizeof(double), "vw");
            bb[q] = calloc((size_t)nu, sizeof(double));
            mb[q] = calloc((size_t)nu, sizeof(double));
            vb[q] = calloc((size_t)nu, sizeof(double));
            gw[q] = calloc((size_t)(nu * k), sizeof(double));
            gb[q] = calloc((size_t)nu, sizeof(double));
            gib[q] = malloc(sizeof(double) * (size_t)ni);
            memcpy(x[q], M.X, sizeof(double) * (size_t)nx);
            memcpy(w[q], M.W, sizeof(double) * (size_t)nw);
            memcpy(bb[q], M.b, sizeof(double) * (size_t)nu);
        }
        for (int64_t t = 1; t <= 2; t++) {
            cofi_kernel_params kp = {d.lambda, 0, 0, nu, NULL, NULL};
            /* 0: the gradients, then Adam's steps on them */
            M.X = x[0], M.W = w[0], M.b = bb[0];
            cofi_kernel_grad(&R, &M, &kp, &ws, g[0], gw[0], k, gb[0], 1, gib[0], s[0]);
            const cofi_optim_block bx = {x[0], ld, g[0], ld, {m[0], v[0]}, ld, ni, k};
            cofi_adam_step(&o, t, &bx);
            if (with_wb) {
                cofi_kernel_add_ridge(gb[0], 1, bb[0], nu, lambda_b);
                const cofi_optim_block bw = {w[0], ld, gw[0], k, {mw[0], vw[0]}, ld, nu, k};
                const cofi_optim_block bbias = {bb[0], 1, gb[0], 1, {mb[0], vb[0]}, 1, nu, 1};
                cofi_adam_step(&o, t, &bw);
                cofi_adam_step(&o, t, &bbias);
            }
            /* 1: the steps in the passes, X's stepped rows to g[1] */
            const cofi_kernel_adam ka = {m[1], v[1], with_wb ? mw[1] : NULL, with_wb ? vw[1] : NULL,
                                         mb[1], vb[1], lambda_b, cofi_adam_alpha(&o, t), 1.0 - o.beta1,
                                         1.0 - o.beta2, o.epsilon};
            kp.adam = &ka;
            M.X = x[1], M.W = w[1], M.b = bb[1];
            memset(g[1], 0xff, sizeof(double) * (size_t)nx); /* NaNs: every entry must be written */
            double *before = malloc(sizeof(double) * (size_t)nx);
            memcpy(before, x[1], sizeof(double) * (size_t)nx);
            cofi_kernel_grad(&R, &M, &kp, &ws, g[1], gw[1], k, gb[1], 1, gib[1], s[1]);
            CHECK(!memcmp(before, x[1], sizeof(double) * (size_t)nx), "k=%ld threads=%d step %ld: the old X changed",
                  (long)k, threads, (long)t);
            free(before);
            CHECK(!memcmp(s[0], s[1], sizeof s[0]) && !memcmp(gib[0], gib[1], sizeof(double) * (size_t)ni),
                  "k=%ld wb=%d threads=%d step %ld: the fused pass changed the sums or the item-bias gradient",
                  (long)k, with_wb, threads, (long)t);
            if (!with_wb)
                CHECK(!memcmp(gw[0], gw[1], sizeof(double) * (size_t)(nu * k)) &&
                          !memcmp(gb[0], gb[1], sizeof(double) * (size_t)nu),
                      "k=%ld threads=%d step %ld: the fused pass changed gW or gb", (long)k, threads, (long)t);
            CHECK(!memcmp(x[0], g[1], sizeof(double) * (size_t)nx) && !memcmp(m[0], m[1], sizeof(double) * (size_t)nx) &&
                      !memcmp(v[0], v[1], sizeof(double) * (size_t)nx),
                  "k=%ld wb=%d threads=%d step %ld: X, m or v differ from cofi_adam_step's", (long)k, with_wb,
                  threads, (long)t);
            /* without W's step both sides keep W and b as they were */
            CHECK(!memcmp(w[0], w[1], sizeof(double) * (size_t)nw) && !memcmp(mw[0], mw[1], sizeof(double) * (size_t)nw) &&
                      !memcmp(vw[0], vw[1], sizeof(double) * (size_t)nw) && !memcmp(bb[0], bb[1], sizeof(double) * (size_t)nu) &&
                      !memcmp(mb[0], mb[1], sizeof(double) * (size_t)nu) && !memcmp(vb[0], vb[1], sizeof(double) * (size_t)nu),
                  "k=%ld wb=%d threads=%d step %ld: W, b or their moments differ from cofi_adam_step's", (long)k,
                  with_wb, threads, (long)t);
            int moved = 0, moved_w = 0, moved_b = 0;
            for (cofi_idx n = 0; n < nx; n++) moved += x[1][n] != g[1][n];
            for (cofi_idx n = 0; n < nw; n++) moved_w += w[1][n] != own[1][n];
            for (cofi_idx n = 0; n < nu; n++) moved_b += bb[1][n] != own[2][n];
            CHECK(moved > 0 && (with_wb ? moved_w > 0 && moved_b > 0 : moved_w + moved_b == 0),
                  "k=%ld wb=%d step %ld: X, W and b moved %d, %d and %d", (long)k, with_wb, (long)t, moved, moved_w,
                  moved_b);
            /* the caller's swap: the stepped rows become X */
            double *tmp = x[1];
            x[1] = g[1], g[1] = tmp;
        }
        M.X = own[0], M.W = own[1], M.b = own[2];
        for (int q = 0; q < 2; q++) {
            cofi_free(x[q]), cofi_free(m[q]), cofi_free(v[q]), cofi_free(g[q]);
            cofi_free(w[q]), cofi_free(mw[q]), cofi_free(vw[q]);
            free(bb[q]), free(mb[q]), free(vb[q]), free(gw[q]), free(gb[q]), free(gib[q]);
        }
        cofi_kernel_ws_free(&ws);
        cofi_model_free(&M);
        cofi_ratings_free(&R);
    }
    omp_set_num_threads(1);
    dense_free(&d);
}

int main(void)
{
    test_order(57, 31, 1);
    test_order(57, 31, 3);
    test_order(200, 9, 4);
    for (int w = 0; w <= 1; w++) {
        test_shape(13, 7, 5, w);  /* k padded to 8 */
        test_shape(40, 33, 8, w); /* exact multiple */
        test_shape(9, 50, 17, w); /* padded to 24, many user blocks */
        test_shape(5, 3, 1, w);
        test_shape(70, 11, 3, w); /* several item blocks */
        /* every row length with its own compiled kernel (16, 32, 64, 104, 128) */
        test_shape(9, 7, 16, w);
        test_shape(8, 6, 30, w);
        test_shape(12, 9, 64, w);
        test_shape(20, 15, 100, w);
        test_shape(10, 11, 128, w);
        test_shape(6, 5, 129, w); /* beyond them: the general loops */
    }
    /* the compiled row lengths with and without padding, and the general loops */
    for (int wb = 0; wb <= 1; wb++) {
        test_fused_adam(70, 11, 64, wb);
        test_fused_adam(20, 15, 100, wb);
        test_fused_adam(13, 7, 5, wb);
        test_fused_adam(6, 5, 129, wb);
    }
    return cofi_test_finish("test_kernel");
}
