/* cofi/io.h - cofi's file layouts (version 1), on top of h5io.
 *
 * Ratings file:
 *   /ratings/indptr int64 [n_items + 1]   row pointers
 *   /ratings/user   int64 [nnz]           0-based users, increasing in a row
 *   /ratings/rating float64 [nnz]         sorted by item, then user; no duplicates
 *   /items/id, /users/id  strings         original ids or names
 *   root attributes n_items, n_users, nnz, format = "cofi-ratings", version = 1
 *   (cofi generate adds /truth/X [n_items x r] and /truth/W [n_users x r])
 *
 * Model file:
 *   /model/X float64 [n_items x k], /model/W float64 [n_users x k],
 *   /model/b float64 [n_users], /model/mu float64 scalar,
 *   /model/item_bias float64 [n_items]
 *   /items/id, /users/id
 *   root attributes: format = "cofi-model", version = 1, and every option that
 *   produced the model.
 *   y_hat[i][j] = mu + item_bias[i] + X[i] . W[j] + b[j]
 */
#ifndef COFI_IO_H
#define COFI_IO_H

#include "cofi/h5io.h"
#include "cofi/model.h"
#include "cofi/ratings.h"
#include "cofi/text.h"

#define COFI_FORMAT_VERSION 1

typedef struct {
    cofi_strings items; /* ids of this rank's items, in order */
    cofi_strings users; /* ids of every user */
} cofi_ids;

void cofi_ids_free(cofi_ids *ids);

/* Read a ratings file: the item rows are split across c's ranks balanced by
 * ratings; each rank reads only its slice (collective hyperslab reads) and
 * validates it.  ids may be NULL.  On error every rank returns the same
 * status and nothing is left allocated. */
int cofi_read_ratings(const cofi_comm *c, const char *path, cofi_ratings *R, cofi_ids *ids);

/* Like cofi_read_ratings, but with the item split given (item_begin, n_local
 * per rank) instead of computed, e.g. to match a model's rows. */
int cofi_read_ratings_rows(const cofi_comm *c, const char *path, cofi_idx item_begin,
                           cofi_idx n_local, cofi_ratings *R, cofi_ids *ids);

/* This rank's part of a ratings file being written. */
typedef struct {
    cofi_idx n_items, n_users;
    cofi_idx item_begin, n_local;  /* this rank's rows */
    const cofi_idx *indptr;        /* n_local + 1 local offsets, indptr[0] = 0 */
    const cofi_idx *user;
    const cofi_val *rating;
    const cofi_strings *item_ids;  /* n_local ids */
    const cofi_strings *user_ids;  /* all users' ids (rank 0's are written) */
} cofi_ratings_slice;

/* Write the ratings layout into an open file (from cofi_h5_create). */
int cofi_write_ratings(cofi_h5 *f, const cofi_ratings_slice *s);

/* Write /model/... and the ids of a model into an open file. */
int cofi_write_model(cofi_h5 *f, const cofi_model *M, const cofi_ids *ids);

/* Read X, W, b (and mu, item_bias when present) from `group` of `path` into
 * an allocated model whose sizes they must match (k is checked too). */
int cofi_read_params(const cofi_comm *c, const char *path, const char *group, cofi_model *M);

/* Size of the parameters stored in `group` of `path`: n_items, n_users, k. */
int cofi_read_param_dims(const cofi_comm *c, const char *path, const char *group,
                         cofi_idx *n_items, cofi_idx *n_users, cofi_idx *k);

/* Pairs from a ratings file matched by id to a model or training set.
 * Every rank reads a contiguous block of `path`, looks each (item id, user
 * id) up in items (all item ids, global order) and users, and sends the pair
 * to the rank owning its item under the split `starts` (nparts + 1 entries);
 * a pair whose item is unknown stays on the rank that read it.  out->item is
 * then a local row (or -1), out->user a user index (or -1), out->pos the
 * pair's position in path (with_pos).  counts: [0] pairs, [1] with an unknown
 * item, [2] with an unknown user (over all ranks).  read_starts (nparts + 1,
 * may be NULL) receives the positions each rank read. */
#include "cofi/pairs.h"
#include "cofi/strmap.h"
int cofi_read_pairs(const cofi_comm *c, const char *path, const cofi_strmap *items,
                    const cofi_strmap *users, const cofi_idx *starts, int with_pos,
                    cofi_pairs *out, cofi_idx counts[3], cofi_idx *read_starts);

#endif
