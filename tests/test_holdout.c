/* test_holdout.c - the --holdout split is the same at every rank count.
 *
 * A generated ratings matrix is split on this run's ranks (each rank its own
 * items, cofi_split_holdout) and on one process over the whole matrix; the
 * held-out (item, user) pairs gathered from all ranks must be exactly the
 * serial ones, training and validation must partition the ratings, the
 * fraction must be within 5 sigma, and each rank's rebuilt transposed index
 * must describe its remaining ratings. */
#include "testutil.h"

#include <math.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "cofi/pairs.h"
#include "cofi/partition.h"
#include "cofi/rng.h"

enum { NI = 300, NU = 97 };

static void names(cofi_strings *s, const char *prefix, cofi_idx n)
{
    s->n = n;
    s->off = malloc(sizeof(cofi_idx) * (size_t)(n + 1));
    s->buf = malloc((size_t)n * 24);
    cofi_idx pos = 0;
    for (cofi_idx i = 0; i < n; i++) {
        s->off[i] = pos;
        pos += sprintf(s->buf + pos, "%s%ld", prefix, (long)i) + 1;
    }
    s->off[n] = pos;
}

/* Held-out flags of every rating, in global CSR order. */
static void split(const cofi_csr *c, const cofi_strings *items, const cofi_strings *users,
                  cofi_idx i0, cofi_idx nl, double frac, unsigned char *held, cofi_idx *kept)
{
    cofi_ratings R;
    CHECK(cofi_ratings_from_csr(NI, NU, c->indptr, c->user, c->rating, i0, nl, &R) == 0, "slice");
    cofi_strings local = {nl, NULL, NULL};
    local.off = items->off + i0;
    local.buf = items->buf;
    cofi_pairs val;
    CHECK(cofi_split_holdout(&R, &local, users, frac, 42, &val) == 0, "split");
    /* mark held-out pairs; check the kept ones are the rest, in order */
    for (cofi_idx v = 0; v < val.n; v++) {
        cofi_idx gi = i0 + val.item[v], r;
        for (r = c->indptr[gi]; r < c->indptr[gi + 1] && c->user[r] != val.user[v]; r++) {}
        CHECK(r < c->indptr[gi + 1] && c->rating[r] == val.rating[v], "held-out pair exists");
        if (r < c->indptr[gi + 1]) held[r] = 1;
    }
    cofi_idx k = 0;
    for (cofi_idx i = 0; i < nl; i++) {
        cofi_idx gi = i0 + i, q = R.indptr[i];
        for (cofi_idx r = c->indptr[gi]; r < c->indptr[gi + 1]; r++)
            if (!held[r]) {
                CHECK(q < R.indptr[i + 1] && R.user[q] == c->user[r], "kept ratings in order");
                q++;
            }
        CHECK(q == R.indptr[i + 1], "kept count of item %ld", (long)gi);
        k += R.indptr[i + 1] - R.indptr[i];
    }
    /* the transposed index describes the kept ratings: rpos sends each to
     * a distinct place in its user's list, which names its item, in item order */
    CHECK(R.tptr[NU] == R.nnz_local, "transposed index size");
    char *seen = calloc((size_t)R.nnz_local + 1, 1);
    for (cofi_idx i = 0; i < R.n_local; i++)
        for (cofi_idx r = R.indptr[i]; r < R.indptr[i + 1]; r++) {
            cofi_idx t = R.rpos[r], j = R.user[r];
            int ok = t >= R.tptr[j] && t < R.tptr[j + 1] && R.titem[t] == i && !seen[t];
            CHECK(ok, "transposed index");
            if (ok) seen[t] = 1;
        }
    for (cofi_idx j = 0; j < NU; j++)
        for (cofi_idx t = R.tptr[j] + 1; t < R.tptr[j + 1]; t++)
            CHECK(R.titem[t - 1] < R.titem[t], "user %ld's ratings in item order", (long)j);
    free(seen);
    *kept = k;
    cofi_pairs_free(&val);
    cofi_ratings_free(&R);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* a ratings matrix with ~40% density */
    double *trip = malloc(sizeof(double) * 3 * NI * NU);
    cofi_idx nnz = 0;
    for (cofi_idx i = 0; i < NI; i++)
        for (cofi_idx j = 0; j < NU; j++)
            if (cofi_rng_uniform(7, 1, (uint64_t)i, (uint64_t)j) < 0.4) {
                trip[3 * nnz] = (double)i, trip[3 * nnz + 1] = (double)j;
                trip[3 * nnz + 2] = 1 + (double)(cofi_rng_u64(7, 2, i, j) % 5);
                nnz++;
            }
    cofi_csr c;
    tu_csr_from_triplets(NI, NU, nnz, trip, &c);
    free(trip);
    cofi_strings items, users;
    names(&items, "item-", NI);
    names(&users, "user:", NU);
    const double frac = 0.2;

    /* serial reference over the whole matrix */
    unsigned char *ref = calloc((size_t)nnz, 1), *mine = calloc((size_t)nnz, 1);
    cofi_idx kept_ref, kept;
    split(&c, &items, &users, 0, NI, frac, ref, &kept_ref);
    cofi_idx nval = nnz - kept_ref;
    double sd = sqrt(nnz * frac * (1 - frac));
    CHECK(fabs((double)nval - nnz * frac) < 5 * sd, "held out %ld of %ld", (long)nval, (long)nnz);
    /* each ref flag equals the pure pick function of the ids */
    for (cofi_idx i = 0; i < NI; i++)
        for (cofi_idx r = c.indptr[i]; r < c.indptr[i + 1]; r++)
            CHECK(ref[r] == cofi_holdout_pick(items.buf + items.off[i], users.buf + users.off[c.user[r]], 42, frac),
                  "pick function");

    /* this rank's items, as the trainer splits them */
    cofi_idx starts[65];
    cofi_partition_rows(c.indptr, NI, size, starts);
    split(&c, &items, &users, starts[rank], starts[rank + 1] - starts[rank], frac, mine, &kept);
    MPI_Allreduce(MPI_IN_PLACE, mine, (int)nnz, MPI_UNSIGNED_CHAR, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(MPI_IN_PLACE, &kept, 1, MPI_INT64_T, MPI_SUM, MPI_COMM_WORLD);
    CHECK(memcmp(mine, ref, (size_t)nnz) == 0, "%d ranks: held-out set differs from 1 rank", size);
    CHECK(kept == kept_ref, "%d ranks: %ld kept, 1 rank %ld", size, (long)kept, (long)kept_ref);
    /* another seed, another split */
    CHECK(cofi_holdout_pick("item-1", "user:2", 42, 0.5) != cofi_holdout_pick("item-1", "user:2", 43, 0.5) ||
              cofi_holdout_pick("item-3", "user:4", 42, 0.5) != cofi_holdout_pick("item-3", "user:4", 43, 0.5) ||
              cofi_holdout_pick("item-5", "user:6", 42, 0.5) != cofi_holdout_pick("item-5", "user:6", 43, 0.5),
          "the seed changes the split");
    free(ref), free(mine);
    cofi_strings_free(&items);
    cofi_strings_free(&users);
    cofi_csr_free(&c);
    int rc = cofi_test_finish_mpi("test_holdout");
    MPI_Finalize();
    return rc;
}
