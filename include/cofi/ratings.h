/* cofi/ratings.h - one rank's slice of the ratings matrix.
 *
 * Rank p owns items [item_begin, item_begin + n_local): their ratings in CSR
 * (by item, users increasing) and a transposed index of the same ratings by
 * user, so user-side sums run in a fixed order without atomics. */
#ifndef COFI_RATINGS_H
#define COFI_RATINGS_H

#include "cofi/types.h"

#include <stdint.h>

typedef struct {
    /* global sizes */
    cofi_idx n_items, n_users, nnz;
    /* this rank's items and where their ratings sit in the file */
    cofi_idx item_begin, n_local;
    cofi_idx nnz_begin, nnz_local;
    /* CSR over local items: row i has ratings [indptr[i], indptr[i+1]) */
    cofi_idx *indptr;   /* n_local + 1, indptr[0] = 0 */
    cofi_lidx *user;    /* nnz_local, global user index */
    /* the ratings: in float when every rating is exactly a float (integer
     * and half-star scales are) or in single precision, else in double;
     * exactly one of the two is set.  Read them with cofi_rating(). */
    float *rating32;
    cofi_val *rating64;
    /* transposed index: user j's ratings here are t in [tptr[j], tptr[j+1]),
     * in increasing item order (or in the hashed order of
     * cofi_ratings_order_transpose), in local item titem[t]; the rating at
     * position r of user[] is at position rpos[r] of this order (the item
     * pass stores residuals there, so the user pass reads them in sequence). */
    cofi_idx *tptr;    /* n_users + 1 */
    cofi_lidx *titem;  /* nnz_local */
    cofi_lidx *rpos;   /* nnz_local */
} cofi_ratings;

static inline cofi_val cofi_rating(const cofi_ratings *R, cofi_idx r)
{
    return R->rating32 ? (cofi_val)R->rating32[r] : R->rating64[r];
}

/* Bytes the slice keeps per local rating (CSR, transposed index, row
 * pointers), not counting the trainer's residuals. */
double cofi_ratings_bytes(const cofi_ratings *R);

/* Check row pointers as read: indptr[0] = 0, never decreasing, ending at
 * nnz (n + 1 entries).  `path` names the file in the message. */
int cofi_indptr_validate(const cofi_idx *indptr, cofi_idx n, cofi_idx nnz, const char *path);
/* Check a slice as read (64-bit users, double ratings): user indices in
 * [0, n_users), strictly increasing in each row (sorted, no duplicate pairs),
 * ratings finite.  Messages name the file and the global item. */
int cofi_ratings_validate(const cofi_ratings *R, const cofi_idx *user, const cofi_val *rating,
                          const char *path);
/* Take the slice's ratings (nnz_local of them) into R's compact arrays:
 * users to 32 bits (n_users must fit), ratings to float when `to_float`.
 * Does not free the inputs. */
int cofi_ratings_store(cofi_ratings *R, const cofi_idx *user, const cofi_val *rating, int to_float);
/* Do all of these ratings survive a round trip through float? */
int cofi_ratings_float_exact(const cofi_val *rating, cofi_idx n);
/* Single precision: round double ratings to float (no-op if already float). */
int cofi_ratings_to_single(cofi_ratings *R);
/* This rank's part of a digest of the ratings: a sum over its ratings of a
 * 31-bit hash of (global item, user, value).  Summed over the ranks it does
 * not depend on how the items are split; it tells a restart whether it is
 * given the ratings its checkpoint was trained on. */
cofi_idx cofi_ratings_digest_local(const cofi_ratings *R);
/* Build tptr/titem/rpos from the CSR slice, each user's list in increasing
 * item order. */
int cofi_ratings_build_transpose(cofi_ratings *R);
/* The order in which the user pass visits a user's items.  In increasing
 * item order, at high density consecutive rows of X are a row or two apart
 * and the hardware's stream prefetch also fetches the rows in between that
 * the list skips.  With `hashed`, every user's list follows one order of the
 * items set by cofi_ratings_item_key of their global index (so the relative
 * order of two items is the same on any number of ranks); without, increasing
 * item order again.  Rebuilds titem and rpos; tptr is unchanged. */
int cofi_ratings_order_transpose(cofi_ratings *R, int hashed);
uint64_t cofi_ratings_item_key(cofi_idx global_item);
/* The density from which the hashed order is faster (measured, per
 * iteration: the same at 10% density, 3% faster at 20%, 7% at 30%, 13% at
 * 42%; slower on sparse power-law data, whose popular rows the increasing
 * order keeps together). */
#define COFI_HASHED_ORDER_DENSITY 0.25
/* Is the ratings matrix (nnz over n_items x n_users, the same on every rank)
 * at least that dense? */
int cofi_ratings_hashed_order_pays(const cofi_ratings *R);
void cofi_ratings_free(cofi_ratings *R);

/* Build a local slice from a global CSR held in memory (tests, benchmarks):
 * copies rows [item_begin, item_begin + n_local), stores the ratings in
 * float when they are exactly floats (or when force_float), and builds the
 * transpose. */
int cofi_ratings_from_csr(cofi_idx n_items, cofi_idx n_users, const cofi_idx *indptr,
                          const cofi_idx *user, const cofi_val *rating, cofi_idx item_begin,
                          cofi_idx n_local, cofi_ratings *R);
int cofi_ratings_from_csr_prec(cofi_idx n_items, cofi_idx n_users, const cofi_idx *indptr,
                               const cofi_idx *user, const cofi_val *rating, cofi_idx item_begin,
                               cofi_idx n_local, int force_float, cofi_ratings *R);

#endif
