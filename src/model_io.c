/* model_io.c - model parameters in HDF5: /model/... written collectively,
 * and read back (as a model, or as --init starting values). */
#include "cofi/io.h"
#include "cofi/error.h"

#include <stdio.h>
#include <string.h>

int cofi_write_model(cofi_h5 *f, const cofi_model *M, const cofi_ids *ids)
{
    const cofi_comm *c = f->comm;
    const int root = c->rank == 0;
    /* X and item_bias by item-row hyperslabs; the replicated W and b once, by rank 0. */
    int rc = cofi_h5_write_val(f, "/model/X", M->n_items, M->k, M->item_begin, M->n_local,
                               M->X, M->ld);
    if (!rc) rc = cofi_h5_write_val(f, "/model/W", M->n_users, M->k, 0, root ? M->n_users : 0,
                                    M->W, M->ld);
    if (!rc) rc = cofi_h5_write_val(f, "/model/b", M->n_users, 0, 0, root ? M->n_users : 0,
                                    M->b, 1);
    if (!rc) rc = cofi_h5_write_scalar_val(f, "/model/mu", M->mu);
    if (!rc) rc = cofi_h5_write_val(f, "/model/item_bias", M->n_items, 0, M->item_begin,
                                    M->n_local, M->item_bias, 1);
    if (!rc && ids) {
        cofi_strings none = {0, NULL, NULL};
        rc = cofi_h5_write_strings(f, "/items/id", M->n_items, M->item_begin, &ids->items);
        if (!rc) rc = cofi_h5_write_strings(f, "/users/id", M->n_users, 0,
                                            root ? &ids->users : &none);
    }
    if (!rc) rc = cofi_h5_attr_set_str(f, "/", "format", "cofi-model");
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "version", COFI_FORMAT_VERSION);
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "n_items", M->n_items);
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "n_users", M->n_users);
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "features", M->k);
    return rc;
}

static void join(char *out, size_t size, const char *group, const char *name)
{
    size_t n = strlen(group);
    snprintf(out, size, "%s%s%s", group, n && group[n - 1] == '/' ? "" : "/", name);
}

static int param_dims(cofi_h5 *f, const char *group, cofi_idx *n_items, cofi_idx *n_users,
                      cofi_idx *k)
{
    char nx[COFI_PATH_MAX], nw[COFI_PATH_MAX], nb[COFI_PATH_MAX];
    join(nx, sizeof nx, group, "X");
    join(nw, sizeof nw, group, "W");
    join(nb, sizeof nb, group, "b");
    cofi_h5_info ix, iw, ib;
    COFI_TRY(cofi_h5_info_of(f, nx, &ix));
    COFI_TRY(cofi_h5_info_of(f, nw, &iw));
    COFI_TRY(cofi_h5_info_of(f, nb, &ib));
    const char *missing = !ix.exists ? nx : !iw.exists ? nw : !ib.exists ? nb : NULL;
    if (missing)
        return cofi_error(COFI_ERR_FORMAT, "'%s': dataset '%s' is missing (expected X, W and b "
                          "in group '%s')", f->path, missing, group);
    if (ix.ndims != 2 || iw.ndims != 2 || ib.ndims != 1 || ix.dims[1] != iw.dims[1] ||
        ib.dims[0] != iw.dims[0] || ix.dims[1] < 1)
        return cofi_error(COFI_ERR_FORMAT, "'%s': X, W and b in '%s' must be n_items x k, "
                          "n_users x k and n_users", f->path, group);
    if (ix.type_class != COFI_H5_FLOAT || iw.type_class != COFI_H5_FLOAT ||
        ib.type_class != COFI_H5_FLOAT)
        return cofi_error(COFI_ERR_FORMAT, "'%s': X, W and b in '%s' must hold floating-point "
                          "numbers", f->path, group);
    *n_items = ix.dims[0];
    *n_users = iw.dims[0];
    *k = ix.dims[1];
    return COFI_OK;
}

int cofi_read_param_dims(const cofi_comm *c, const char *path, const char *group,
                         cofi_idx *n_items, cofi_idx *n_users, cofi_idx *k)
{
    cofi_h5 f;
    COFI_TRY(cofi_h5_open(c, path, &f));
    int rc = param_dims(&f, group, n_items, n_users, k);
    cofi_h5_close(&f);
    return rc; /* the same on every rank: it depends only on metadata */
}

int cofi_read_params(const cofi_comm *c, const char *path, const char *group, cofi_model *M)
{
    cofi_h5 f;
    COFI_TRY(cofi_h5_open(c, path, &f));
    cofi_idx ni = 0, nu = 0, k = 0;
    int rc = param_dims(&f, group, &ni, &nu, &k);
    if (!rc && (ni != M->n_items || nu != M->n_users || k != M->k))
        rc = cofi_error(COFI_ERR_FORMAT, "'%s': parameters in '%s' are for %" PRIidx " items x %"
                        PRIidx " users with k = %" PRIidx "; this run has %" PRIidx " x %" PRIidx
                        " with k = %" PRIidx, path, group, ni, nu, k, M->n_items, M->n_users,
                        M->k);
    char name[COFI_PATH_MAX];
    if (!rc) {
        join(name, sizeof name, group, "X");
        rc = cofi_h5_read_val(&f, name, M->item_begin, M->n_local, k, M->X, M->ld);
    }
    if (!rc) {
        join(name, sizeof name, group, "W");
        rc = cofi_h5_read_val(&f, name, 0, nu, k, M->W, M->ld);
    }
    if (!rc) {
        join(name, sizeof name, group, "b");
        rc = cofi_h5_read_val(&f, name, 0, nu, 0, M->b, 1);
    }
    int has = 0;
    if (!rc) {
        join(name, sizeof name, group, "mu");
        rc = cofi_h5_exists(&f, name, &has);
        if (!rc && has) rc = cofi_h5_read_scalar_val(&f, name, &M->mu);
    }
    if (!rc) {
        join(name, sizeof name, group, "item_bias");
        rc = cofi_h5_exists(&f, name, &has);
        if (!rc && has) rc = cofi_h5_read_val(&f, name, M->item_begin, M->n_local, 0, M->item_bias, 1);
    }
    /* The clip range of a model written by cofi train. */
    int lo = 0, hi = 0;
    if (!rc) rc = cofi_h5_attr_exists(&f, "/", "clip_min", &lo);
    if (!rc) rc = cofi_h5_attr_exists(&f, "/", "clip_max", &hi);
    if (!rc && lo && hi) {
        rc = cofi_h5_attr_get_val(&f, "/", "clip_min", &M->clip_lo);
        if (!rc) rc = cofi_h5_attr_get_val(&f, "/", "clip_max", &M->clip_hi);
    }
    cofi_h5_close(&f);
    return rc;
}
