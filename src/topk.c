/* topk.c - blocked scoring with per-user bounded heaps. */
#include "cofi/topk.h"
#include "cofi/error.h"
#include "dot.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Users per task and items per block: a 64-user block of W and a 128-item
 * block of X (k = 100: 53 KB and 106 KB) stay in L2 while they are scored. */
#define USER_BLOCK 64
#define ITEM_BLOCK 128

/* A min-heap of the K best so far; heap[0] is the worst kept. */
static void heap_push(cofi_scored *heap, cofi_idx *n, cofi_idx K, cofi_scored s)
{
    if (*n < K) {
        cofi_idx i = (*n)++;
        while (i > 0) {
            cofi_idx p = (i - 1) / 2;
            if (!cofi_scored_better(heap[p], s)) break;
            heap[i] = heap[p];
            i = p;
        }
        heap[i] = s;
        return;
    }
    if (!cofi_scored_better(s, heap[0])) return;
    cofi_idx i = 0;
    for (;;) {
        cofi_idx l = 2 * i + 1, r = l + 1, w = i;
        cofi_scored ws = s;
        if (l < K && cofi_scored_better(ws, heap[l])) w = l, ws = heap[l];
        if (r < K && cofi_scored_better(ws, heap[r])) w = r;
        if (w == i) break;
        heap[i] = heap[w];
        i = w;
    }
    heap[i] = s;
}

static int cmp_best_first(const void *pa, const void *pb)
{
    cofi_scored a = *(const cofi_scored *)pa, b = *(const cofi_scored *)pb;
    return cofi_scored_better(a, b) ? -1 : cofi_scored_better(b, a) ? 1 : 0;
}

void cofi_topk_local(const cofi_model *M, const cofi_ratings *R, cofi_idx K, cofi_idx u0,
                     cofi_idx u1, cofi_scored *lists)
{
    const cofi_idx nu = u1 - u0, nblk = (nu + USER_BLOCK - 1) / USER_BLOCK;
    const cofi_scored empty = {-INFINITY, -1};
#pragma omp parallel
    {
        cofi_idx fill[USER_BLOCK], cursor[USER_BLOCK];
        cofi_val score[ITEM_BLOCK];
#pragma omp for schedule(dynamic, 1)
        for (cofi_idx blk = 0; blk < nblk; blk++) {
            const cofi_idx j0 = u0 + blk * USER_BLOCK;
            const cofi_idx j1 = j0 + USER_BLOCK < u1 ? j0 + USER_BLOCK : u1;
            for (cofi_idx j = j0; j < j1; j++) {
                fill[j - j0] = 0;
                cursor[j - j0] = R->tptr[j];
            }
            for (cofi_idx i0 = 0; i0 < M->n_local; i0 += ITEM_BLOCK) {
                const cofi_idx i1 = i0 + ITEM_BLOCK < M->n_local ? i0 + ITEM_BLOCK : M->n_local;
                for (cofi_idx j = j0; j < j1; j++) {
                    cofi_scored *heap = lists + (j - u0) * K;
                    cofi_idx *cur = &cursor[j - j0];
                    for (cofi_idx i = i0; i < i1; i++) score[i - i0] = COFI_PREDICT(M, i, j);
                    for (cofi_idx i = i0; i < i1; i++) {
                        /* The user's rated items here, in increasing order. */
                        if (*cur < R->tptr[j + 1] && R->titem[*cur] == i) {
                            (*cur)++;
                            continue;
                        }
                        cofi_scored s = {score[i - i0], M->item_begin + i};
                        heap_push(heap, &fill[j - j0], K, s);
                    }
                }
            }
            for (cofi_idx j = j0; j < j1; j++) {
                cofi_scored *list = lists + (j - u0) * K;
                for (cofi_idx n = fill[j - j0]; n < K; n++) list[n] = empty;
                qsort(list, (size_t)fill[j - j0], sizeof *list, cmp_best_first);
            }
        }
    }
}

void cofi_topk_merge(const cofi_scored *a, const cofi_scored *b, cofi_idx K, cofi_scored *out,
                     cofi_scored *scratch)
{
    /* Merge from the front into the scratch list, then copy (out may be a). */
    cofi_idx ia = 0, ib = 0;
    for (cofi_idx n = 0; n < K; n++)
        scratch[n] = cofi_scored_better(a[ia], b[ib]) || (a[ia].item >= 0 && b[ib].item < 0) ? a[ia++]
                                                                                              : b[ib++];
    memcpy(out, scratch, sizeof *scratch * (size_t)K);
}

void cofi_scores_dense(const cofi_model *M, cofi_idx i0, cofi_idx i1, cofi_val *out, cofi_idx ldo)
{
    const cofi_idx nu = M->n_users;
#pragma omp parallel for schedule(static) collapse(2)
    for (cofi_idx j0 = 0; j0 < nu; j0 += USER_BLOCK)
        for (cofi_idx i = i0; i < i1; i++) {
            const cofi_idx j1 = j0 + USER_BLOCK < nu ? j0 + USER_BLOCK : nu;
            for (cofi_idx j = j0; j < j1; j++)
                out[(i - i0) * ldo + j] = cofi_clip(M, COFI_PREDICT(M, i, j));
        }
}

cofi_idx cofi_topk_count(const cofi_scored *list, cofi_idx K)
{
    cofi_idx n = 0;
    while (n < K && list[n].item >= 0) n++;
    return n;
}
