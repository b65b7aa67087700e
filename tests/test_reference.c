/* test_reference.c - cofi reproduces an independently computed trajectory.
 *
 * tests/data/seed_adam.h5 holds the notebook's model trained in numpy with
 * Keras-exact Adam: the ratings, the initial X, W, b, the cost before every
 * step and the final parameters.  Started from the same /init, cofi must
 * reproduce every cost to 1e-9 relative and the final X, W, b to 1e-8, at
 * this rank count, with 1 and 2 threads.  It also checks, in the same run:
 *   - the two thread counts give bitwise identical results;
 *   - the distributed run equals a one-rank run of the whole problem (done
 *     here on MPI_COMM_SELF) to 1e-10 relative;
 *   - W and b stay bitwise identical on every rank. */
#include "testutil.h"

#include <math.h>
#include <mpi.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cofi/partition.h"
#include "cofi/train.h"

typedef struct {
    cofi_idx n_items, n_users, k;
    double *X0, *W0, *b0, *Xf, *Wf, *bf, *cost;
    cofi_idx iterations;
    cofi_train_opts o;
    cofi_csr csr;
} reference;

static void load(const char *path, reference *ref)
{
    cofi_idx r, c, nnz;
    double *trip = tu_read_h5(path, "/ratings", &nnz, &c);
    ref->X0 = tu_read_h5(path, "/init/X", &ref->n_items, &ref->k);
    ref->W0 = tu_read_h5(path, "/init/W", &ref->n_users, &c);
    ref->b0 = tu_read_h5(path, "/init/b", &r, &c);
    ref->Xf = tu_read_h5(path, "/final/X", &r, &c);
    ref->Wf = tu_read_h5(path, "/final/W", &r, &c);
    ref->bf = tu_read_h5(path, "/final/b", &r, &c);
    ref->cost = tu_read_h5(path, "/cost", &ref->iterations, &c);
    tu_csr_from_triplets(ref->n_items, ref->n_users, nnz, trip, &ref->csr);
    free(trip);
    ref->o = cofi_train_defaults();
    ref->o.k = ref->k;
    ref->o.lambda = tu_attr_double(path, "lambda_");
    ref->o.optim.learning_rate = tu_attr_double(path, "learning_rate");
    ref->o.optim.beta1 = tu_attr_double(path, "beta_1");
    ref->o.optim.beta2 = tu_attr_double(path, "beta_2");
    ref->o.optim.epsilon = tu_attr_double(path, "epsilon");
    ref->o.iterations = ref->iterations;
    ref->o.print_every = 0;
}

static void ref_free(reference *ref)
{
    free(ref->X0);
    free(ref->W0);
    free(ref->b0);
    free(ref->Xf);
    free(ref->Wf);
    free(ref->bf);
    free(ref->cost);
    free(ref->csr.indptr);
    free(ref->csr.user);
    free(ref->csr.rating);
}

typedef struct {
    cofi_ratings R;
    cofi_model M;
    cofi_trainer tr;
    cofi_timers tm;
} run;

/* Train on `comm` from the reference's /init with `threads` threads. */
static void train(const reference *ref, const cofi_comm *c, int threads, run *out)
{
    omp_set_num_threads(threads);
    cofi_idx *starts = malloc(sizeof(cofi_idx) * (size_t)(c->size + 1));
    cofi_partition_rows(ref->csr.indptr, ref->n_items, c->size, starts);
    cofi_idx i0 = starts[c->rank], nl = starts[c->rank + 1] - i0;
    free(starts);
    memset(out, 0, sizeof *out);
    CHECK(cofi_ratings_from_csr(ref->n_items, ref->n_users, ref->csr.indptr, ref->csr.user,
                                ref->csr.rating, i0, nl, &out->R) == 0, "ratings slice");
    CHECK(cofi_model_alloc(&out->M, ref->n_items, ref->n_users, ref->k, i0, nl) == 0, "alloc");
    cofi_model *M = &out->M;
    for (cofi_idx i = 0; i < nl; i++)
        memcpy(M->X + i * M->ld, ref->X0 + (i0 + i) * ref->k, sizeof(double) * (size_t)ref->k);
    for (cofi_idx j = 0; j < ref->n_users; j++)
        memcpy(M->W + j * M->ld, ref->W0 + j * ref->k, sizeof(double) * (size_t)ref->k);
    memcpy(M->b, ref->b0, sizeof(double) * (size_t)ref->n_users);
    CHECK(cofi_trainer_init(&out->tr, c, &out->R, M, &ref->o, NULL, &out->tm) == 0, "trainer init");
    CHECK(cofi_trainer_run(&out->tr) == 0, "trainer run");
}

static void run_free(run *r)
{
    cofi_trainer_free(&r->tr);
    cofi_model_free(&r->M);
    cofi_ratings_free(&r->R);
}

/* Largest |X - ref| over local rows, relative to max |ref| (all ranks). */
static double x_err(const run *r, const double *refX, cofi_idx k, cofi_idx n_items)
{
    double err = 0, scale = 0;
    for (cofi_idx i = 0; i < n_items * k; i++) scale = fmax(scale, fabs(refX[i]));
    for (cofi_idx i = 0; i < r->M.n_local; i++)
        for (cofi_idx f = 0; f < k; f++)
            err = fmax(err, fabs(r->M.X[i * r->M.ld + f] - refX[(r->M.item_begin + i) * k + f]));
    MPI_Allreduce(MPI_IN_PLACE, &err, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return err / scale;
}

static double w_err(const run *r, const double *refW, const double *refb)
{
    const cofi_model *M = &r->M;
    double err = 0, scale = 0, berr = 0, bscale = 0;
    for (cofi_idx j = 0; j < M->n_users; j++) {
        for (cofi_idx f = 0; f < M->k; f++) {
            scale = fmax(scale, fabs(refW[j * M->k + f]));
            err = fmax(err, fabs(M->W[j * M->ld + f] - refW[j * M->k + f]));
        }
        bscale = fmax(bscale, fabs(refb[j]));
        berr = fmax(berr, fabs(M->b[j] - refb[j]));
    }
    return fmax(err / scale, berr / bscale);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    cofi_comm world = cofi_comm_wrap(MPI_COMM_WORLD), self = cofi_comm_wrap(MPI_COMM_SELF);
    const char *path = argc > 1 ? argv[1] : "seed_adam.h5";
    reference ref;
    load(path, &ref);
    CHECK(ref.iterations == 100 && ref.k == 100, "reference shape");

    run r1, r2, serial;
    train(&ref, &world, 1, &r1);
    train(&ref, &world, 2, &r2);
    train(&ref, &self, 2, &serial);

    /* 1. the reference trajectory, at both thread counts */
    const run *runs[2] = {&r1, &r2};
    for (int v = 0; v < 2; v++) {
        const run *r = runs[v];
        CHECK(r->tr.t == ref.iterations, "steps done %" PRId64, r->tr.t);
        double worst = 0;
        for (cofi_idx t = 0; t < ref.iterations; t++)
            worst = fmax(worst, cofi_relerr(r->tr.cost[t], ref.cost[t]));
        CHECK(worst <= 1e-9, "threads %d: cost trajectory off by %.3g relative (cost[0] %.12g vs %.12g)",
              v + 1, worst, r->tr.cost[0], ref.cost[0]);
        double ex = x_err(r, ref.Xf, ref.k, ref.n_items), ew = w_err(r, ref.Wf, ref.bf);
        CHECK(ex <= 1e-8, "threads %d: final X off by %.3g", v + 1, ex);
        CHECK(ew <= 1e-8, "threads %d: final W or b off by %.3g", v + 1, ew);
        if (world.rank == 0)
            printf("threads %d: cost rel err %.2e, X %.2e, W/b %.2e\n", v + 1, worst, ex, ew);
    }

    /* 2. thread count changes nothing, bitwise */
    const cofi_model *a = &r1.M, *b = &r2.M;
    CHECK(memcmp(a->X, b->X, sizeof(double) * (size_t)(a->n_local * a->ld)) == 0, "X differs 1 vs 2 threads");
    CHECK(memcmp(a->W, b->W, sizeof(double) * (size_t)(a->n_users * a->ld)) == 0, "W differs 1 vs 2 threads");
    CHECK(memcmp(a->b, b->b, sizeof(double) * (size_t)a->n_users) == 0, "b differs 1 vs 2 threads");
    CHECK(memcmp(r1.tr.cost, r2.tr.cost, sizeof(double) * (size_t)(ref.iterations + 1)) == 0,
          "cost differs 1 vs 2 threads");

    /* 3. rank count changes results only by round-off */
    double *Xs = malloc(sizeof(double) * (size_t)(ref.n_items * ref.k));
    for (cofi_idx i = 0; i < ref.n_items; i++)
        for (cofi_idx f = 0; f < ref.k; f++) Xs[i * ref.k + f] = serial.M.X[i * serial.M.ld + f];
    double *Ws = malloc(sizeof(double) * (size_t)(ref.n_users * ref.k));
    for (cofi_idx j = 0; j < ref.n_users; j++)
        for (cofi_idx f = 0; f < ref.k; f++) Ws[j * ref.k + f] = serial.M.W[j * serial.M.ld + f];
    double ex = x_err(&r1, Xs, ref.k, ref.n_items), ew = w_err(&r1, Ws, serial.M.b), ec = 0;
    for (cofi_idx t = 0; t <= ref.iterations; t++)
        ec = fmax(ec, cofi_relerr(r1.tr.cost[t], serial.tr.cost[t]));
    CHECK(ex <= 1e-10 && ew <= 1e-10 && ec <= 1e-10,
          "%d ranks vs 1 rank: X %.3g, W/b %.3g, cost %.3g (limit 1e-10)", world.size, ex, ew, ec);
    if (world.rank == 0)
        printf("%d ranks vs 1 rank: X %.2e, W/b %.2e, cost %.2e\n", world.size, ex, ew, ec);

    /* 4. replicated W and b are bitwise equal on all ranks */
    size_t nw = (size_t)(a->n_users * a->ld);
    double *W0 = malloc(sizeof(double) * (nw + (size_t)a->n_users));
    memcpy(W0, a->W, sizeof(double) * nw);
    memcpy(W0 + nw, a->b, sizeof(double) * (size_t)a->n_users);
    MPI_Bcast(W0, (int)(nw + (size_t)a->n_users), MPI_DOUBLE, 0, MPI_COMM_WORLD);
    CHECK(memcmp(W0, a->W, sizeof(double) * nw) == 0 &&
              memcmp(W0 + nw, a->b, sizeof(double) * (size_t)a->n_users) == 0,
          "rank %d: W or b differs from rank 0's copy", world.rank);

    free(W0);
    free(Xs);
    free(Ws);
    run_free(&r1);
    run_free(&r2);
    run_free(&serial);
    ref_free(&ref);
    int rc = cofi_test_finish_mpi("test_reference");
    MPI_Finalize();
    return rc;
}
