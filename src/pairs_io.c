/* pairs_io.c - pairs of another ratings file, matched by id and moved to the
 * ranks that own their items. */
#include "cofi/io.h"
#include "cofi/error.h"

#include <string.h>

typedef struct {
    cofi_idx item; /* global item of the model, or -1 */
    cofi_idx user; /* or -1 */
    cofi_val rating;
    cofi_idx pos;
} pair_rec;

/* The rank whose block of starts holds item gi. */
static int owner_of(const cofi_idx *starts, int P, cofi_idx gi)
{
    int lo = 0, hi = P - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (starts[mid] <= gi) lo = mid;
        else hi = mid - 1;
    }
    return lo; /* the last block starting at or before gi: it holds gi */
}

int cofi_read_pairs(const cofi_comm *c, const char *path, const cofi_strmap *items,
                    const cofi_strmap *users, const cofi_idx *starts, int with_pos,
                    cofi_pairs *out, cofi_idx counts[3], cofi_idx *read_starts)
{
    memset(out, 0, sizeof *out);
    const int P = c->size;
    cofi_ratings T;
    cofi_ids tid;
    COFI_TRY(cofi_read_ratings(c, path, &T, &tid));
    pair_rec *rec = cofi_malloc((size_t)(T.nnz_local > 0 ? T.nnz_local : 1), sizeof *rec, "pairs");
    pair_rec *sorted = cofi_malloc((size_t)(T.nnz_local > 0 ? T.nnz_local : 1), sizeof *rec, "pairs");
    cofi_idx *cnt = cofi_calloc((size_t)P, sizeof *cnt, "pair counts");
    cofi_idx *at = cofi_calloc((size_t)P + 1, sizeof *at, "pair counts");
    int *dest = cofi_malloc((size_t)(T.nnz_local > 0 ? T.nnz_local : 1), sizeof *dest, "pairs");
    int rc = rec && sorted && cnt && at && dest ? COFI_OK : COFI_ERR_NOMEM;
    rc = cofi_agree(c, rc);
    cofi_idx stat[3] = {T.nnz_local, 0, 0};
    if (!rc) {
        /* Look up each item once, then each rating's user. */
        for (cofi_idx i = 0; i < T.n_local; i++) {
            cofi_idx gi = cofi_strmap_find(items, tid.items.buf + tid.items.off[i]);
            int d = gi >= 0 ? owner_of(starts, P, gi) : c->rank;
            for (cofi_idx r = T.indptr[i]; r < T.indptr[i + 1]; r++) {
                cofi_idx u = cofi_strmap_find(users, tid.users.buf + tid.users.off[T.user[r]]);
                rec[r] = (pair_rec){gi, u, cofi_rating(&T, r), T.nnz_begin + r};
                dest[r] = d;
                cnt[d]++;
                stat[1] += gi < 0;
                stat[2] += u < 0;
            }
        }
        for (int d = 0; d < P; d++) at[d + 1] = at[d] + cnt[d];
        for (cofi_idx r = 0; r < T.nnz_local; r++) sorted[at[dest[r]]++] = rec[r];
        if (read_starts) {
            cofi_idx b = T.nnz_begin;
            cofi_allgather_idx(c, b, read_starts);
            read_starts[P] = T.nnz;
        }
        rc = cofi_sum_idx(c, stat, 3);
    }
    pair_rec *got = NULL;
    cofi_idx n = 0;
    if (!rc) rc = cofi_exchange(c, sorted, cnt, sizeof *sorted, (void **)&got, &n);
    if (!rc) rc = cofi_agree(c, cofi_pairs_alloc(out, n, with_pos));
    if (!rc) {
        for (cofi_idx r = 0; r < n; r++) {
            out->item[r] = got[r].item >= 0 ? got[r].item - starts[c->rank] : -1;
            out->user[r] = got[r].user;
            out->rating[r] = got[r].rating;
            if (with_pos) out->pos[r] = got[r].pos;
        }
        memcpy(counts, stat, sizeof stat);
    }
    cofi_free(got);
    cofi_free(rec);
    cofi_free(sorted);
    cofi_free(cnt);
    cofi_free(at);
    cofi_free(dest);
    cofi_ratings_free(&T);
    cofi_ids_free(&tid);
    if (rc) cofi_pairs_free(out);
    return rc;
}
