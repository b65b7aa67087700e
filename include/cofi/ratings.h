/* cofi/ratings.h - one rank's slice of the ratings matrix.
 *
 * Rank p owns items [item_begin, item_begin + n_local): their ratings in CSR
 * (by item, users increasing) and a transposed index of the same ratings by
 * user, so user-side sums run in a fixed order without atomics. */
#ifndef COFI_RATINGS_H
#define COFI_RATINGS_H

#include "cofi/types.h"

typedef struct {
    /* global sizes */
    cofi_idx n_items, n_users, nnz;
    /* this rank's items and where their ratings sit in the file */
    cofi_idx item_begin, n_local;
    cofi_idx nnz_begin, nnz_local;
    /* CSR over local items: row i has ratings [indptr[i], indptr[i+1]) */
    cofi_idx *indptr; /* n_local + 1, indptr[0] = 0 */
    cofi_idx *user;   /* nnz_local, global user index */
    cofi_val *rating; /* nnz_local */
    /* transposed index: user j's ratings here are t in [tptr[j], tptr[j+1]),
     * in increasing item order; rating t is at position tpos[t] of user[] and
     * rating[], in local item titem[t]. */
    cofi_idx *tptr;  /* n_users + 1 */
    cofi_idx *titem; /* nnz_local */
    cofi_idx *tpos;  /* nnz_local */
} cofi_ratings;

/* Check the local slice: user indices in [0, n_users), strictly increasing in
 * each row (sorted, no duplicate pairs), ratings finite.  Messages name the
 * file and the global item. */
int cofi_ratings_validate(const cofi_ratings *R, const char *path);
/* Build tptr/titem/tpos from the CSR slice. */
int cofi_ratings_build_transpose(cofi_ratings *R);
void cofi_ratings_free(cofi_ratings *R);

/* Build a local slice from a global CSR held in memory (tests, generate):
 * copies rows [item_begin, item_begin + n_local) and builds the transpose. */
int cofi_ratings_from_csr(cofi_idx n_items, cofi_idx n_users, const cofi_idx *indptr,
                          const cofi_idx *user, const cofi_val *rating, cofi_idx item_begin,
                          cofi_idx n_local, cofi_ratings *R);

#endif
