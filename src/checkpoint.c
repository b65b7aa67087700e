/* checkpoint.c - writing and reading a trainer's full state. */
#include "cofi/checkpoint.h"
#include "cofi/error.h"

#include <stdio.h>
#include <string.h>

static const char *comm_mode_name(enum cofi_comm_mode m)
{
    return m == COFI_COMM_OVERLAP ? "overlap" : "allreduce";
}

int cofi_write_run_attrs(cofi_h5 *f, const cofi_trainer *tr, const cofi_provenance *p)
{
    const cofi_train_opts *o = &tr->opts;
    int rc = cofi_h5_attr_set_val(f, "/", "lambda", o->lambda);
    if (!rc) rc = cofi_h5_attr_set_val(f, "/", "learning_rate", o->optim.learning_rate);
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "iterations", tr->t);
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "iterations_target", o->iterations);
    if (!rc) rc = cofi_h5_attr_set_str(f, "/", "optimizer", cofi_optim_name(o->optim.kind));
    if (!rc) rc = cofi_h5_attr_set_val(f, "/", "beta1", o->optim.beta1);
    if (!rc) rc = cofi_h5_attr_set_val(f, "/", "beta2", o->optim.beta2);
    if (!rc) rc = cofi_h5_attr_set_val(f, "/", "epsilon", o->optim.epsilon);
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "seed", (cofi_idx)o->seed);
    if (!rc) rc = cofi_h5_attr_set_str(f, "/", "comm", comm_mode_name(o->comm_mode));
    if (!rc) rc = cofi_h5_attr_set_val(f, "/", "elapsed", tr->elapsed_before);
    if (!rc) rc = cofi_h5_attr_set_str(f, "/", "init", p->init ? p->init : "random");
    if (!rc && p->init_group) rc = cofi_h5_attr_set_str(f, "/", "init_group", p->init_group);
    if (!rc && p->ratings) rc = cofi_h5_attr_set_str(f, "/", "ratings", p->ratings);
    if (!rc && tr->history_len > 0) {
        rc = cofi_h5_attr_set_val(f, "/", "final_cost", tr->cost[tr->history_len - 1]);
        if (!rc)
            rc = cofi_h5_attr_set_val(f, "/", "final_train_rmse", tr->rmse[tr->history_len - 1]);
    }
    return rc;
}

int cofi_checkpoint_write(const cofi_comm *c, const char *path, const cofi_trainer *tr,
                          const cofi_ids *ids, const cofi_provenance *p)
{
    const cofi_model *M = tr->M;
    const int root = c->rank == 0;
    const cofi_idx nu_root = root ? M->n_users : 0;
    cofi_h5 f;
    COFI_TRY(cofi_h5_create(c, path, &f));
    int rc = cofi_write_model(&f, M, ids);
    if (!rc) rc = cofi_write_run_attrs(&f, tr, p);
    if (!rc) rc = cofi_h5_attr_set_idx(&f, "/", "checkpoint", 1);
    if (!rc) rc = cofi_h5_attr_set_idx(&f, "/", "step", tr->t);
    static const char *const xs[2] = {"/optimizer/X_m", "/optimizer/X_v"};
    static const char *const ws[2] = {"/optimizer/W_m", "/optimizer/W_v"};
    static const char *const bs[2] = {"/optimizer/b_m", "/optimizer/b_v"};
    for (int s = 0; s < cofi_optim_nstate(tr->opts.optim.kind) && !rc; s++) {
        rc = cofi_h5_write_val(&f, xs[s], M->n_items, M->k, M->item_begin, M->n_local,
                               tr->state_X[s], M->ld);
        if (!rc) rc = cofi_h5_write_val(&f, ws[s], M->n_users, M->k, 0, nu_root, tr->state_W[s], M->ld);
        if (!rc) rc = cofi_h5_write_val(&f, bs[s], M->n_users, 0, 0, nu_root, tr->state_b[s], 1);
    }
    /* The cost history of the steps taken (the entry at t, if any, is the
     * final evaluation of a finished run and is not history). */
    cofi_idx h = tr->t < tr->history_len ? tr->t : tr->history_len;
    if (!rc) rc = cofi_h5_write_val(&f, "/train/cost", h, 0, 0, root ? h : 0, tr->cost, 1);
    if (!rc) rc = cofi_h5_write_val(&f, "/train/rmse", h, 0, 0, root ? h : 0, tr->rmse, 1);
    if (!rc) return cofi_h5_commit(&f);
    cofi_h5_close(&f);
    return rc;
}

static int get_checkpoint_attrs(cofi_h5 *f, cofi_checkpoint_info *info)
{
    cofi_train_opts *o = &info->opts;
    char buf[64];
    cofi_idx v = 0;
    int is_ckpt = 0;
    COFI_TRY(cofi_h5_attr_exists(f, "/", "checkpoint", &is_ckpt));
    if (!is_ckpt)
        return cofi_error(COFI_ERR_FORMAT, "'%s' is not a cofi checkpoint (no 'checkpoint' "
                          "attribute); write one with 'cofi train --checkpoint FILE'", f->path);
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "n_items", &info->n_items));
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "n_users", &info->n_users));
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "features", &o->k));
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "lambda", &o->lambda));
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "learning_rate", &o->optim.learning_rate));
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "beta1", &o->optim.beta1));
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "beta2", &o->optim.beta2));
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "epsilon", &o->optim.epsilon));
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "seed", &v));
    o->seed = (uint64_t)v;
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "iterations_target", &o->iterations));
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "step", &v));
    info->step = v;
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "elapsed", &info->elapsed));
    COFI_TRY(cofi_h5_attr_get_str(f, "/", "optimizer", buf, sizeof buf));
    if (cofi_optim_parse(buf, &o->optim.kind) != COFI_OK)
        return cofi_error(COFI_ERR_FORMAT, "'%s': unknown optimizer '%s'", f->path, buf);
    COFI_TRY(cofi_h5_attr_get_str(f, "/", "comm", buf, sizeof buf));
    o->comm_mode = strcmp(buf, "overlap") == 0 ? COFI_COMM_OVERLAP : COFI_COMM_ALLREDUCE;
    if (o->k < 1 || info->step < 0 || info->n_items < 1 || info->n_users < 1)
        return cofi_error(COFI_ERR_FORMAT, "'%s': damaged checkpoint attributes", f->path);
    return COFI_OK;
}

int cofi_checkpoint_read_info(const cofi_comm *c, const char *path, cofi_checkpoint_info *info)
{
    memset(info, 0, sizeof *info);
    info->opts = cofi_train_defaults();
    cofi_h5 f;
    COFI_TRY(cofi_h5_open(c, path, &f));
    int rc = get_checkpoint_attrs(&f, info); /* metadata only: same on every rank */
    cofi_h5_close(&f);
    return rc;
}

int cofi_checkpoint_read_state(const cofi_comm *c, const char *path, cofi_trainer *tr)
{
    cofi_model *M = tr->M;
    COFI_TRY(cofi_read_params(c, path, "/model", M));
    cofi_checkpoint_info info;
    cofi_h5 f;
    COFI_TRY(cofi_h5_open(c, path, &f));
    int rc = get_checkpoint_attrs(&f, &info);
    static const char *const xs[2] = {"/optimizer/X_m", "/optimizer/X_v"};
    static const char *const ws[2] = {"/optimizer/W_m", "/optimizer/W_v"};
    static const char *const bs[2] = {"/optimizer/b_m", "/optimizer/b_v"};
    for (int s = 0; s < cofi_optim_nstate(tr->opts.optim.kind) && !rc; s++) {
        rc = cofi_h5_read_val(&f, xs[s], M->item_begin, M->n_local, M->k, tr->state_X[s], M->ld);
        if (!rc) rc = cofi_h5_read_val(&f, ws[s], 0, M->n_users, M->k, tr->state_W[s], M->ld);
        if (!rc) rc = cofi_h5_read_val(&f, bs[s], 0, M->n_users, 0, tr->state_b[s], 1);
    }
    cofi_idx h = info.step;
    if (!rc && h > tr->opts.iterations)
        rc = cofi_error(COFI_ERR_VALUE, "'%s' has taken %" PRIidx " steps, more than the %" PRIidx
                        " asked for", path, h, tr->opts.iterations);
    if (!rc) rc = cofi_h5_read_val(&f, "/train/cost", 0, h, 0, tr->cost, 1);
    if (!rc) rc = cofi_h5_read_val(&f, "/train/rmse", 0, h, 0, tr->rmse, 1);
    if (!rc) {
        tr->t = info.step;
        tr->history_len = h;
        tr->elapsed_before = info.elapsed;
    }
    cofi_h5_close(&f);
    return rc;
}
