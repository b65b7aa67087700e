/* ratings_io.c - the ratings file: parallel read of a rank's slice, checked,
 * and the collective write used by generate and convert. */
#include "cofi/io.h"
#include "cofi/error.h"
#include "cofi/partition.h"
#include "cofi/sysmem.h"

#include <stdio.h>
#include <string.h>

void cofi_ids_free(cofi_ids *ids)
{
    if (!ids) return;
    cofi_strings_free(&ids->items);
    cofi_strings_free(&ids->users);
}

static int read_ids(cofi_h5 *f, const char *name, cofi_idx global, cofi_idx begin, cofi_idx n,
                    cofi_strings *out)
{
    cofi_h5_info info;
    COFI_TRY(cofi_h5_info_of(f, name, &info));
    /* Files written by other tools may leave the ids out: use decimal indices. */
    if (!info.exists) return cofi_agree(f->comm, cofi_strings_numbered("", begin, n, out));
    if (info.ndims != 1 || info.dims[0] != global)
        return cofi_error(COFI_ERR_FORMAT, "'%s': dataset '%s' must hold %" PRIidx
                          " strings", f->path, name, global);
    return cofi_h5_read_strings(f, name, begin, n, out);
}

/* Attributes and dataset shapes of a ratings file: the same on every rank. */
static int read_header(cofi_h5 *f, cofi_idx *n_items, cofi_idx *n_users, cofi_idx *nnz)
{
    char fmt[64];
    int has = 0;
    COFI_TRY(cofi_h5_attr_exists(f, "/", "format", &has));
    if (!has)
        return cofi_error(COFI_ERR_FORMAT, "'%s' is not a cofi ratings file (no 'format' "
                          "attribute); make one with 'cofi convert' or 'cofi generate'", f->path);
    COFI_TRY(cofi_h5_attr_get_str(f, "/", "format", fmt, sizeof fmt));
    if (strcmp(fmt, "cofi-ratings") != 0)
        return cofi_error(COFI_ERR_FORMAT, "'%s' is not a cofi ratings file (format is '%s')",
                          f->path, fmt);
    cofi_idx version = 0;
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "version", &version));
    if (version < 1 || version > COFI_FORMAT_VERSION)
        return cofi_error(COFI_ERR_FORMAT, "'%s' has ratings format version %" PRIidx "; this "
                          "cofi reads version %d", f->path, version, COFI_FORMAT_VERSION);
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "n_items", n_items));
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "n_users", n_users));
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "nnz", nnz));
    if (*n_items < 1 || *n_users < 1 || *nnz < 0)
        return cofi_error(COFI_ERR_FORMAT, "'%s': bad sizes n_items = %" PRIidx ", n_users = %"
                          PRIidx ", nnz = %" PRIidx, f->path, *n_items, *n_users, *nnz);
    if (*nnz == 0) return cofi_error(COFI_ERR_FORMAT, "'%s' has no ratings", f->path);
    if ((*nnz - 1) / *n_users + 1 > *n_items)
        return cofi_error(COFI_ERR_FORMAT, "'%s': %" PRIidx " ratings cannot fit in %" PRIidx
                          " items x %" PRIidx " users", f->path, *nnz, *n_items, *n_users);
    static const struct {
        const char *name;
        int cls;
    } want[3] = {{"/ratings/indptr", COFI_H5_INT}, {"/ratings/user", COFI_H5_INT},
                 {"/ratings/rating", COFI_H5_FLOAT}};
    for (int d = 0; d < 3; d++) {
        cofi_h5_info info;
        COFI_TRY(cofi_h5_info_of(f, want[d].name, &info));
        cofi_idx len = d == 0 ? *n_items + 1 : *nnz;
        if (!info.exists)
            return cofi_error(COFI_ERR_FORMAT, "'%s': dataset '%s' is missing", f->path,
                              want[d].name);
        if (info.ndims != 1 || info.dims[0] != len)
            return cofi_error(COFI_ERR_FORMAT, "'%s': dataset '%s' must be 1-D with %" PRIidx
                              " entries (n_items = %" PRIidx ", nnz = %" PRIidx ")", f->path,
                              want[d].name, len, *n_items, *nnz);
        if (!(info.type_class == want[d].cls ||
              (want[d].cls == COFI_H5_FLOAT && info.type_class == COFI_H5_INT)))
            return cofi_error(COFI_ERR_FORMAT, "'%s': dataset '%s' must hold %s", f->path,
                              want[d].name, want[d].cls == COFI_H5_INT ? "integers" : "numbers");
    }
    return COFI_OK;
}

static int read_impl(const cofi_comm *c, const char *path, int given, cofi_idx item_begin,
                     cofi_idx n_local, cofi_ratings *R, cofi_ids *ids)
{
    memset(R, 0, sizeof *R);
    if (ids) memset(ids, 0, sizeof *ids);
    cofi_h5 f;
    COFI_TRY(cofi_h5_open(c, path, &f));
    cofi_idx n_items = 0, n_users = 0, nnz = 0, *indptr = NULL, *starts = NULL;
    int rc = read_header(&f, &n_items, &n_users, &nnz);
    rc = cofi_agree(c, rc);
    if (rc) goto done;

    /* Rank 0 reads and checks the row pointers; every rank gets them. */
    indptr = cofi_malloc((size_t)n_items + 1, sizeof *indptr, "row pointers");
    rc = cofi_agree(c, indptr ? COFI_OK : COFI_ERR_NOMEM);
    if (rc) goto done;
    rc = cofi_h5_read_idx(&f, "/ratings/indptr", 0, c->rank == 0 ? n_items + 1 : 0, indptr);
    if (rc) goto done;
    if (c->rank == 0) rc = cofi_indptr_validate(indptr, n_items, nnz, path);
    rc = cofi_agree(c, rc);
    if (rc) goto done;
    rc = cofi_bcast(c, indptr, ((size_t)n_items + 1) * sizeof *indptr, 0);
    if (rc) goto done;

    if (!given) {
        starts = cofi_malloc((size_t)c->size + 1, sizeof *starts, "partition");
        rc = cofi_agree(c, starts ? COFI_OK : COFI_ERR_NOMEM);
        if (rc) goto done;
        cofi_partition_rows(indptr, n_items, c->size, starts);
        item_begin = starts[c->rank];
        n_local = starts[c->rank + 1] - item_begin;
    } else if (item_begin < 0 || n_local < 0 || item_begin + n_local > n_items) {
        rc = cofi_error(COFI_ERR_FORMAT, "'%s' has %" PRIidx " items; expected at least %" PRIidx,
                        path, n_items, item_begin + n_local);
    }
    rc = cofi_agree(c, rc);
    if (rc) goto done;

    R->n_items = n_items;
    R->n_users = n_users;
    R->nnz = nnz;
    R->item_begin = item_begin;
    R->n_local = n_local;
    R->nnz_begin = indptr[item_begin];
    R->nnz_local = indptr[item_begin + n_local] - indptr[item_begin];
    /* What this rank will hold (CSR, transposed index, the trainer's
     * residuals) and the 64-bit arrays it is read through; refuse clearly
     * before allocating if it cannot fit. */
    cofi_idx *user = NULL;
    cofi_val *rating = NULL;
    rc = cofi_mem_check((double)R->nnz_local * (16 + 24) +
                        (double)(n_users + n_local) * 2 * sizeof(cofi_idx), "the ratings slice");
    if (!rc) {
        R->indptr = cofi_malloc((size_t)n_local + 1, sizeof *R->indptr, "ratings");
        user = cofi_malloc((size_t)R->nnz_local + 1, sizeof *user, "ratings");
        rating = cofi_malloc((size_t)R->nnz_local + 1, sizeof *rating, "ratings");
        if (!R->indptr || !user || !rating) rc = COFI_ERR_NOMEM;
    }
    rc = cofi_agree(c, rc);
    if (!rc) {
        for (cofi_idx i = 0; i <= n_local; i++) R->indptr[i] = indptr[item_begin + i] - R->nnz_begin;
        rc = cofi_h5_read_idx(&f, "/ratings/user", R->nnz_begin, R->nnz_local, user);
    }
    if (!rc) rc = cofi_h5_read_val(&f, "/ratings/rating", R->nnz_begin, R->nnz_local, 0, rating, 1);
    if (!rc) {
        rc = cofi_ratings_validate(R, user, rating, path);
        /* Ratings that are exactly floats (integer and half-star scales)
         * are kept as floats: the same values in half the bytes. */
        if (!rc) rc = cofi_ratings_store(R, user, rating, cofi_ratings_float_exact(rating, R->nnz_local));
        if (!rc) rc = cofi_ratings_build_transpose(R);
        rc = cofi_agree(c, rc);
    }
    cofi_free(user);
    cofi_free(rating);
    if (rc) goto done;

    if (ids) {
        rc = read_ids(&f, "/items/id", n_items, item_begin, n_local, &ids->items);
        rc = cofi_agree(c, rc);
        if (!rc) rc = read_ids(&f, "/users/id", n_users, 0, n_users, &ids->users);
        rc = cofi_agree(c, rc);
    }
done:
    cofi_h5_close(&f);
    cofi_free(indptr);
    cofi_free(starts);
    if (rc) {
        cofi_ratings_free(R);
        cofi_ids_free(ids);
    }
    return rc;
}

int cofi_read_ratings(const cofi_comm *c, const char *path, cofi_ratings *R, cofi_ids *ids)
{
    return read_impl(c, path, 0, 0, 0, R, ids);
}

int cofi_read_ratings_rows(const cofi_comm *c, const char *path, cofi_idx item_begin,
                           cofi_idx n_local, cofi_ratings *R, cofi_ids *ids)
{
    return read_impl(c, path, 1, item_begin, n_local, R, ids);
}

int cofi_write_ratings(cofi_h5 *f, const cofi_ratings_slice *s)
{
    const cofi_comm *c = f->comm;
    cofi_idx nnz_local = s->indptr[s->n_local], before = 0, nnz = 0;
    COFI_TRY(cofi_exscan_idx(c, nnz_local, &before, &nnz));
    /* Global row pointers: ours shifted by the ratings before us; the last
     * rank, whose block ends at n_items, also writes the final entry. */
    int last = c->rank == c->size - 1;
    cofi_idx nrows = s->n_local + (last ? 1 : 0);
    cofi_idx *gp = cofi_malloc((size_t)nrows + 1, sizeof *gp, "row pointers");
    int rc = cofi_agree(c, gp ? COFI_OK : COFI_ERR_NOMEM);
    if (rc) return rc;
    for (cofi_idx i = 0; i < nrows; i++) gp[i] = s->indptr[i] + before;
    if (last) gp[s->n_local] = nnz;
    rc = cofi_h5_write_idx(f, "/ratings/indptr", s->n_items + 1, 0, s->item_begin, nrows, gp, 1);
    cofi_free(gp);
    if (!rc) rc = cofi_h5_write_idx(f, "/ratings/user", nnz, 0, before, nnz_local, s->user, 1);
    if (!rc)
        rc = cofi_h5_write_val(f, "/ratings/rating", nnz, 0, before, nnz_local, s->rating, 1);
    if (!rc) rc = cofi_h5_write_strings(f, "/items/id", s->n_items, s->item_begin, s->item_ids);
    if (!rc) {
        cofi_strings none = {0, NULL, NULL};
        rc = cofi_h5_write_strings(f, "/users/id", s->n_users, 0,
                                   c->rank == 0 ? s->user_ids : &none);
    }
    if (!rc) rc = cofi_h5_attr_set_str(f, "/", "format", "cofi-ratings");
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "version", COFI_FORMAT_VERSION);
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "n_items", s->n_items);
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "n_users", s->n_users);
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "nnz", nnz);
    return rc;
}
