/* cofi/topk.h - the K best unrated items per user: plain C + OpenMP.
 *
 * Each rank scores its own items for every user, blocked so a block of W
 * rows and a block of X rows stay in cache, skipping the items a user rated
 * (through the transposed index: no lookups).  The per-rank lists are then
 * merged across ranks (comm.h) without gathering scores anywhere.
 *
 * Lists are ranked by the raw (unclipped) score.  Order: a higher score is better; equal scores are ordered by item index,
 * lower first.  That total order makes the lists the same for any thread or
 * rank count.  Unfilled slots (a user with fewer than K unrated items) hold
 * item -1 and score -infinity. */
#ifndef COFI_TOPK_H
#define COFI_TOPK_H

#include "cofi/model.h"
#include "cofi/ratings.h"

typedef struct {
    cofi_val score;
    cofi_idx item; /* global item index, -1 for an empty slot */
} cofi_scored;

static inline int cofi_scored_better(cofi_scored a, cofi_scored b)
{
    return a.score > b.score || (a.score == b.score && a.item >= 0 &&
                                 (b.item < 0 || a.item < b.item));
}

/* lists: (u1 - u0) x K, each sorted best first, for users [u0, u1) over this
 * rank's items.  R gives the rated pairs to skip (same item rows as M). */
void cofi_topk_local(const cofi_model *M, const cofi_ratings *R, cofi_idx K, cofi_idx u0,
                     cofi_idx u1, cofi_scored *lists);

/* out = the K best of two sorted K-lists (out may alias a); scratch holds
 * K entries. */
void cofi_topk_merge(const cofi_scored *a, const cofi_scored *b, cofi_idx K, cofi_scored *out,
                     cofi_scored *scratch);

/* Clipped predictions of local items [i0, i1) for every user into out (row
 * stride ldo), blocked over users so a block of W stays in cache. */
void cofi_scores_dense(const cofi_model *M, cofi_idx i0, cofi_idx i1, cofi_val *out, cofi_idx ldo);

/* Number of filled slots in a sorted list. */
cofi_idx cofi_topk_count(const cofi_scored *list, cofi_idx K);

#endif
