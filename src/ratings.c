/* ratings.c - validation, compact storage and the transposed index of a
 * rank's ratings. */
#include "cofi/ratings.h"
#include "cofi/error.h"
#include "cofi/rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int cofi_indptr_validate(const cofi_idx *p, cofi_idx n, cofi_idx nnz, const char *path)
{
    if (p[0] != 0)
        return cofi_error(COFI_ERR_FORMAT, "'%s': /ratings/indptr[0] is %" PRIidx "; must be 0",
                          path, p[0]);
    for (cofi_idx i = 0; i < n; i++)
        if (p[i + 1] < p[i])
            return cofi_error(COFI_ERR_FORMAT, "'%s': /ratings/indptr decreases at item %" PRIidx
                              " (%" PRIidx " then %" PRIidx ")", path, i, p[i], p[i + 1]);
    if (p[n] != nnz)
        return cofi_error(COFI_ERR_FORMAT, "'%s': /ratings/indptr ends at %" PRIidx
                          "; nnz is %" PRIidx, path, p[n], nnz);
    return COFI_OK;
}

int cofi_ratings_validate(const cofi_ratings *R, const cofi_idx *user, const cofi_val *rating,
                          const char *path)
{
    /* The first bad row in item order gives the message, whatever the thread
     * count: scan serially (this runs once per file). */
    for (cofi_idx i = 0; i < R->n_local; i++) {
        cofi_idx gi = R->item_begin + i;
        for (cofi_idx r = R->indptr[i]; r < R->indptr[i + 1]; r++) {
            cofi_idx j = user[r];
            if (j < 0 || j >= R->n_users)
                return cofi_error(COFI_ERR_FORMAT,
                                  "'%s': user index %" PRIidx " of item %" PRIidx
                                  " is out of range [0, %" PRIidx ")",
                                  path, j, gi, R->n_users);
            if (r > R->indptr[i] && j <= user[r - 1])
                return cofi_error(COFI_ERR_FORMAT,
                                  "'%s': users of item %" PRIidx " are %s (user %" PRIidx
                                  " after %" PRIidx "); ratings must be sorted by item, "
                                  "then user, with no duplicate pairs",
                                  path, gi, j == user[r - 1] ? "duplicated" : "not sorted",
                                  j, user[r - 1]);
            if (!isfinite(rating[r]))
                return cofi_error(COFI_ERR_FORMAT,
                                  "'%s': rating of item %" PRIidx " by user %" PRIidx
                                  " is %g; ratings must be finite",
                                  path, gi, j, rating[r]);
        }
    }
    return COFI_OK;
}

int cofi_ratings_float_exact(const cofi_val *rating, cofi_idx n)
{
    for (cofi_idx r = 0; r < n; r++)
        if ((cofi_val)(float)rating[r] != rating[r]) return 0;
    return 1;
}

int cofi_ratings_store(cofi_ratings *R, const cofi_idx *user, const cofi_val *rating, int to_float)
{
    const cofi_idx n = R->nnz_local;
    if (R->n_users > COFI_LIDX_MAX || n > COFI_LIDX_MAX)
        return cofi_error(COFI_ERR_VALUE, "%" PRIidx " users and %" PRIidx " ratings on one rank: "
                          "at most %d of each are supported per rank; use more ranks",
                          R->n_users, n, COFI_LIDX_MAX);
    size_t m = (size_t)(n > 0 ? n : 1);
    R->user = cofi_malloc(m, sizeof *R->user, "ratings");
    if (to_float) R->rating32 = cofi_malloc(m, sizeof *R->rating32, "ratings");
    else R->rating64 = cofi_malloc(m, sizeof *R->rating64, "ratings");
    if (!R->user || (to_float ? !R->rating32 : !R->rating64)) return COFI_ERR_NOMEM;
    for (cofi_idx r = 0; r < n; r++) R->user[r] = (cofi_lidx)user[r];
    if (to_float)
        for (cofi_idx r = 0; r < n; r++) R->rating32[r] = (float)rating[r];
    else
        memcpy(R->rating64, rating, (size_t)n * sizeof *rating);
    return COFI_OK;
}

int cofi_ratings_to_single(cofi_ratings *R)
{
    if (R->rating32) return COFI_OK;
    R->rating32 = cofi_malloc((size_t)(R->nnz_local > 0 ? R->nnz_local : 1), sizeof *R->rating32,
                              "ratings");
    if (!R->rating32) return COFI_ERR_NOMEM;
    for (cofi_idx r = 0; r < R->nnz_local; r++) R->rating32[r] = (float)R->rating64[r];
    cofi_free(R->rating64);
    R->rating64 = NULL;
    return COFI_OK;
}

/* A local item and the key that places it in the hashed order. */
typedef struct {
    uint64_t key;
    cofi_idx item;
} keyed_item;

/* Fill titem and rpos from tptr, visiting the local items in the order of
 * `order` (NULL: increasing), so each user's list is in that order. */
static int fill_transpose(cofi_ratings *R, const keyed_item *order)
{
    const cofi_idx nu = R->n_users;
    cofi_idx *next = cofi_malloc((size_t)nu + 1, sizeof *next, "user index");
    if (!next) return COFI_ERR_NOMEM;
    memcpy(next, R->tptr, ((size_t)nu + 1) * sizeof *next);
    for (cofi_idx n = 0; n < R->n_local; n++) {
        const cofi_idx i = order ? order[n].item : n;
        for (cofi_idx r = R->indptr[i]; r < R->indptr[i + 1]; r++) {
            cofi_idx t = next[R->user[r]]++;
            R->titem[t] = (cofi_lidx)i;
            R->rpos[r] = (cofi_lidx)t;
        }
    }
    cofi_free(next);
    return COFI_OK;
}

int cofi_ratings_build_transpose(cofi_ratings *R)
{
    cofi_idx nu = R->n_users, nnz = R->nnz_local;
    R->tptr = cofi_calloc((size_t)nu + 1, sizeof *R->tptr, "user index");
    R->titem = cofi_malloc((size_t)(nnz > 0 ? nnz : 1), sizeof *R->titem, "user index");
    R->rpos = cofi_malloc((size_t)(nnz > 0 ? nnz : 1), sizeof *R->rpos, "user index");
    if (!R->tptr || !R->titem || !R->rpos) return COFI_ERR_NOMEM;
    for (cofi_idx r = 0; r < nnz; r++) R->tptr[R->user[r] + 1]++;
    for (cofi_idx j = 0; j < nu; j++) R->tptr[j + 1] += R->tptr[j];
    return fill_transpose(R, NULL);
}

uint64_t cofi_ratings_item_key(cofi_idx global_item)
{
    return cofi_mix64((uint64_t)global_item + UINT64_C(0x9e3779b97f4a7c15));
}

static int cmp_keyed(const void *a, const void *b)
{
    const keyed_item *x = a, *y = b;
    return x->key < y->key ? -1 : x->key > y->key;
}

int cofi_ratings_order_transpose(cofi_ratings *R, int hashed)
{
    if (!hashed) return fill_transpose(R, NULL);
    const cofi_idx nl = R->n_local;
    keyed_item *ki = cofi_malloc((size_t)(nl > 0 ? nl : 1), sizeof *ki, "item order");
    if (!ki) return COFI_ERR_NOMEM;
    /* the mix is a bijection: no two items share a key */
    for (cofi_idx i = 0; i < nl; i++) ki[i].key = cofi_ratings_item_key(R->item_begin + i), ki[i].item = i;
    qsort(ki, (size_t)nl, sizeof *ki, cmp_keyed);
    int rc = fill_transpose(R, ki);
    cofi_free(ki);
    return rc;
}

int cofi_ratings_hashed_order_pays(const cofi_ratings *R)
{
    return (double)R->nnz >= COFI_HASHED_ORDER_DENSITY * (double)R->n_items * (double)R->n_users;
}

double cofi_ratings_bytes(const cofi_ratings *R)
{
    double per = sizeof *R->user + (R->rating32 ? sizeof(float) : sizeof(cofi_val)) +
                 sizeof *R->titem + sizeof *R->rpos;
    double rows = (double)(R->n_local + 1 + R->n_users + 1) * sizeof(cofi_idx);
    return R->nnz_local > 0 ? per + rows / (double)R->nnz_local : per;
}

void cofi_ratings_free(cofi_ratings *R)
{
    cofi_free(R->indptr);
    cofi_free(R->user);
    cofi_free(R->rating32);
    cofi_free(R->rating64);
    cofi_free(R->tptr);
    cofi_free(R->titem);
    cofi_free(R->rpos);
    memset(R, 0, sizeof *R);
}

int cofi_ratings_from_csr_prec(cofi_idx n_items, cofi_idx n_users, const cofi_idx *indptr,
                               const cofi_idx *user, const cofi_val *rating, cofi_idx item_begin,
                               cofi_idx n_local, int force_float, cofi_ratings *R)
{
    memset(R, 0, sizeof *R);
    R->n_items = n_items;
    R->n_users = n_users;
    R->nnz = indptr[n_items] - indptr[0];
    R->item_begin = item_begin;
    R->n_local = n_local;
    R->nnz_begin = indptr[item_begin] - indptr[0];
    R->nnz_local = indptr[item_begin + n_local] - indptr[item_begin];
    R->indptr = cofi_malloc((size_t)n_local + 1, sizeof *R->indptr, "ratings");
    int rc = R->indptr ? COFI_OK : COFI_ERR_NOMEM;
    if (!rc) {
        for (cofi_idx i = 0; i <= n_local; i++)
            R->indptr[i] = indptr[item_begin + i] - indptr[item_begin];
        const cofi_val *y = rating + R->nnz_begin;
        rc = cofi_ratings_store(R, user + R->nnz_begin, y,
                                force_float || cofi_ratings_float_exact(rating, R->nnz));
    }
    if (!rc) rc = cofi_ratings_build_transpose(R);
    if (rc) cofi_ratings_free(R);
    return rc;
}

int cofi_ratings_from_csr(cofi_idx n_items, cofi_idx n_users, const cofi_idx *indptr,
                          const cofi_idx *user, const cofi_val *rating, cofi_idx item_begin,
                          cofi_idx n_local, cofi_ratings *R)
{
    return cofi_ratings_from_csr_prec(n_items, n_users, indptr, user, rating, item_begin, n_local,
                                      0, R);
}

cofi_idx cofi_ratings_digest_local(const cofi_ratings *R)
{
    cofi_idx sum = 0;
    for (cofi_idx i = 0; i < R->n_local; i++)
        for (cofi_idx r = R->indptr[i]; r < R->indptr[i + 1]; r++) {
            double y = cofi_rating(R, r);
            uint64_t bits;
            memcpy(&bits, &y, sizeof bits);
            uint64_t h = cofi_rng_u64(0x636f6669, (uint64_t)(R->item_begin + i), (uint64_t)R->user[r], bits);
            sum += (cofi_idx)(h >> 33);
        }
    return sum;
}
