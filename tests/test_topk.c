/* test_topk.c - the top-K kernel and the K-list merge against a brute-force
 * sort of every score, with rated items excluded, ties, K beyond the unrated
 * items, item slices merged as ranks would be, at several thread counts. */
#include "testutil.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "cofi/rng.h"
#include "cofi/topk.h"

enum { NI = 37, NU = 23, K_FEAT = 5 };

static double Xd[NI][K_FEAT], Wd[NU][K_FEAT], bd[NU], ibd[NI], mu = 0.25;
static int rated[NI][NU];

/* Brute force: every unrated item's score, sorted by (score desc, item asc). */
typedef struct {
    double s;
    long i;
} pair;
static int cmp(const void *a, const void *b)
{
    const pair *p = a, *q = b;
    if (p->s != q->s) return p->s > q->s ? -1 : 1;
    return p->i < q->i ? -1 : 1;
}
static double score(int i, int j)
{
    double s = 0;
    for (int f = 0; f < K_FEAT; f++) s += Xd[i][f] * Wd[j][f];
    return s + bd[j] + mu + ibd[i];
}

/* A model and ratings slice for items [i0, i1). */
static void slice(int i0, int i1, cofi_model *M, cofi_ratings *R)
{
    cofi_model_alloc(M, NI, NU, K_FEAT, i0, i1 - i0);
    for (int i = i0; i < i1; i++) {
        for (int f = 0; f < K_FEAT; f++) M->X[(i - i0) * M->ld + f] = Xd[i][f];
        M->item_bias[i - i0] = ibd[i];
    }
    for (int j = 0; j < NU; j++) {
        for (int f = 0; f < K_FEAT; f++) M->W[j * M->ld + f] = Wd[j][f];
        M->b[j] = bd[j];
    }
    M->mu = mu;
    double trip[3 * NI * NU];
    cofi_idx n = 0;
    for (int i = 0; i < NI; i++)
        for (int j = 0; j < NU; j++)
            if (rated[i][j]) trip[3 * n] = i, trip[3 * n + 1] = j, trip[3 * n + 2] = 1, n++;
    cofi_csr c;
    tu_csr_from_triplets(NI, NU, n, trip, &c);
    cofi_ratings_from_csr(NI, NU, c.indptr, c.user, c.rating, i0, i1 - i0, R);
    cofi_csr_free(&c);
}

static void check_lists(const cofi_scored *lists, cofi_idx K, const char *what)
{
    for (int j = 0; j < NU; j++) {
        pair all[NI];
        int n = 0;
        for (int i = 0; i < NI; i++)
            if (!rated[i][j]) all[n].s = score(i, j), all[n].i = i, n++;
        qsort(all, (size_t)n, sizeof *all, cmp);
        const cofi_scored *l = lists + j * K;
        CHECK(cofi_topk_count(l, K) == (n < K ? n : K), "%s: user %d count %ld, want %d", what, j,
              (long)cofi_topk_count(l, K), n < K ? n : (int)K);
        for (cofi_idx r = 0; r < K; r++) {
            if (r < n) {
                CHECK(l[r].item == all[r].i, "%s: user %d rank %ld item %ld, want %ld", what, j,
                      (long)r, (long)l[r].item, all[r].i);
                CHECK(fabs(l[r].score - all[r].s) <= 1e-12 * fmax(1, fabs(all[r].s)),
                      "%s: user %d rank %ld score", what, j, (long)r);
            } else {
                CHECK(l[r].item == -1 && l[r].score == -INFINITY, "%s: empty slot", what);
            }
        }
    }
}

int main(void)
{
    for (int i = 0; i < NI; i++) {
        for (int f = 0; f < K_FEAT; f++) Xd[i][f] = cofi_rng_normal(3, 1, i, f);
        ibd[i] = 0.1 * cofi_rng_normal(3, 2, i, 0);
        for (int j = 0; j < NU; j++) rated[i][j] = cofi_rng_uniform(3, 3, i, j) < 0.4;
    }
    for (int j = 0; j < NU; j++) {
        for (int f = 0; f < K_FEAT; f++) Wd[j][f] = cofi_rng_normal(3, 4, j, f);
        bd[j] = cofi_rng_normal(3, 5, j, 0);
    }
    /* Ties: items 30..33 are copies of item 4, so equal scores must be
     * ordered by item index.  User 7 rated all but two items. */
    for (int i = 30; i < 34; i++) {
        memcpy(Xd[i], Xd[4], sizeof Xd[4]);
        ibd[i] = ibd[4];
    }
    for (int i = 0; i < NI; i++) rated[i][7] = i != 5 && i != 31;
    rated[30][1] = rated[31][1] = rated[32][1] = rated[33][1] = rated[4][1] = 0;

    cofi_idx Ks[] = {1, 3, 10, NI + 5};
    for (size_t kk = 0; kk < sizeof Ks / sizeof Ks[0]; kk++) {
        cofi_idx K = Ks[kk];
        cofi_scored *ref = malloc(sizeof *ref * (size_t)(NU * K));
        for (int threads = 1; threads <= 3; threads++) {
            omp_set_num_threads(threads);
            cofi_model M;
            cofi_ratings R;
            slice(0, NI, &M, &R);
            cofi_scored *lists = malloc(sizeof *lists * (size_t)(NU * K));
            cofi_topk_local(&M, &R, K, 0, NU, lists);
            char what[64];
            snprintf(what, sizeof what, "K=%ld threads=%d", (long)K, threads);
            check_lists(lists, K, what);
            if (threads == 1) memcpy(ref, lists, sizeof *ref * (size_t)(NU * K));
            else CHECK(!memcmp(ref, lists, sizeof *ref * (size_t)(NU * K)), "%s: not bitwise", what);
            /* A subset of users */
            cofi_topk_local(&M, &R, K, 5, 9, lists);
            CHECK(!memcmp(ref + 5 * K, lists, sizeof *ref * (size_t)(4 * K)), "%s: user range", what);
            free(lists);
            cofi_model_free(&M);
            cofi_ratings_free(&R);
        }
        /* Item slices (as on 1..5 ranks), merged pairwise in rank order and in
         * reverse: the same lists as one slice. */
        for (int parts = 2; parts <= 5; parts++) {
            cofi_scored *acc = malloc(sizeof *acc * (size_t)(NU * K));
            cofi_scored *rev = malloc(sizeof *rev * (size_t)(NU * K));
            cofi_scored *part = malloc(sizeof *part * (size_t)(NU * K));
            for (int p = 0; p < parts; p++) {
                for (int dir = 0; dir < 2; dir++) {
                    int q = dir ? parts - 1 - p : p;
                    cofi_model M;
                    cofi_ratings R;
                    slice(NI * q / parts, NI * (q + 1) / parts, &M, &R);
                    cofi_topk_local(&M, &R, K, 0, NU, part);
                    cofi_scored *dst = dir ? rev : acc;
                    if (p == 0) memcpy(dst, part, sizeof *part * (size_t)(NU * K));
                    else
                        for (int j = 0; j < NU; j++) {
                            cofi_scored scratch[NI + 8];
                            cofi_topk_merge(dst + j * K, part + j * K, K, dst + j * K, scratch);
                        }
                    cofi_model_free(&M);
                    cofi_ratings_free(&R);
                }
            }
            CHECK(!memcmp(acc, ref, sizeof *ref * (size_t)(NU * K)), "K=%ld: %d slices merged", (long)K, parts);
            CHECK(!memcmp(rev, ref, sizeof *ref * (size_t)(NU * K)), "K=%ld: %d slices merged in reverse", (long)K, parts);
            free(acc), free(rev), free(part);
        }
        free(ref);
    }
    return cofi_test_finish("test_topk");
}
