/* ratings.c - validation and the transposed index of a rank's ratings. */
#include "cofi/ratings.h"
#include "cofi/error.h"

#include <math.h>
#include <string.h>

int cofi_ratings_validate(const cofi_ratings *R, const char *path)
{
    /* The first bad row in item order gives the message, whatever the thread
     * count: scan serially (this runs once per file). */
    for (cofi_idx i = 0; i < R->n_local; i++) {
        cofi_idx gi = R->item_begin + i;
        for (cofi_idx r = R->indptr[i]; r < R->indptr[i + 1]; r++) {
            cofi_idx j = R->user[r];
            if (j < 0 || j >= R->n_users)
                return cofi_error(COFI_ERR_FORMAT,
                                  "'%s': user index %" PRIidx " of item %" PRIidx
                                  " is out of range [0, %" PRIidx ")",
                                  path, j, gi, R->n_users);
            if (r > R->indptr[i] && j <= R->user[r - 1])
                return cofi_error(COFI_ERR_FORMAT,
                                  "'%s': users of item %" PRIidx " are %s (user %" PRIidx
                                  " after %" PRIidx "); ratings must be sorted by item, "
                                  "then user, with no duplicate pairs",
                                  path, gi, j == R->user[r - 1] ? "duplicated" : "not sorted",
                                  j, R->user[r - 1]);
            if (!isfinite(R->rating[r]))
                return cofi_error(COFI_ERR_FORMAT,
                                  "'%s': rating of item %" PRIidx " by user %" PRIidx
                                  " is %g; ratings must be finite",
                                  path, gi, j, R->rating[r]);
        }
    }
    return COFI_OK;
}

int cofi_ratings_build_transpose(cofi_ratings *R)
{
    cofi_idx nu = R->n_users, nnz = R->nnz_local;
    R->tptr = cofi_calloc((size_t)nu + 1, sizeof *R->tptr, "user index");
    R->titem = cofi_malloc((size_t)nnz, sizeof *R->titem, "user index");
    R->tpos = cofi_malloc((size_t)nnz, sizeof *R->tpos, "user index");
    if (!R->tptr || !R->titem || !R->tpos) return COFI_ERR_NOMEM;
    for (cofi_idx r = 0; r < nnz; r++) R->tptr[R->user[r] + 1]++;
    for (cofi_idx j = 0; j < nu; j++) R->tptr[j + 1] += R->tptr[j];
    /* Filling in item order keeps each user's list sorted by item. */
    cofi_idx *next = cofi_malloc((size_t)nu + 1, sizeof *next, "user index");
    if (!next) return COFI_ERR_NOMEM;
    memcpy(next, R->tptr, ((size_t)nu + 1) * sizeof *next);
    for (cofi_idx i = 0; i < R->n_local; i++)
        for (cofi_idx r = R->indptr[i]; r < R->indptr[i + 1]; r++) {
            cofi_idx t = next[R->user[r]]++;
            R->titem[t] = i;
            R->tpos[t] = r;
        }
    cofi_free(next);
    return COFI_OK;
}

void cofi_ratings_free(cofi_ratings *R)
{
    cofi_free(R->indptr);
    cofi_free(R->user);
    cofi_free(R->rating);
    cofi_free(R->tptr);
    cofi_free(R->titem);
    cofi_free(R->tpos);
    memset(R, 0, sizeof *R);
}

int cofi_ratings_from_csr(cofi_idx n_items, cofi_idx n_users, const cofi_idx *indptr,
                          const cofi_idx *user, const cofi_val *rating, cofi_idx item_begin,
                          cofi_idx n_local, cofi_ratings *R)
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
    R->user = cofi_malloc((size_t)R->nnz_local, sizeof *R->user, "ratings");
    R->rating = cofi_malloc((size_t)R->nnz_local, sizeof *R->rating, "ratings");
    if (!R->indptr || !R->user || !R->rating) {
        cofi_ratings_free(R);
        return COFI_ERR_NOMEM;
    }
    for (cofi_idx i = 0; i <= n_local; i++)
        R->indptr[i] = indptr[item_begin + i] - indptr[item_begin];
    memcpy(R->user, user + R->nnz_begin, (size_t)R->nnz_local * sizeof *R->user);
    memcpy(R->rating, rating + R->nnz_begin, (size_t)R->nnz_local * sizeof *R->rating);
    int rc = cofi_ratings_build_transpose(R);
    if (rc) cofi_ratings_free(R);
    return rc;
}
