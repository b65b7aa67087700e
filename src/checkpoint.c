/* checkpoint.c - writing and reading a trainer's full state, and the run
 * attributes shared by model files and checkpoints. */
#include "cofi/checkpoint.h"
#include "cofi/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const mu_names[] = {"zero", "mean"};
static const char *const bias_names[] = {"zero", "mean", "learned"};
static const char *const clip_names[] = {"none", "auto", "range"};

const char *cofi_mu_mode_name(enum cofi_mu_mode m) { return mu_names[m]; }
const char *cofi_bias_mode_name(enum cofi_bias_mode m) { return bias_names[m]; }
const char *cofi_clip_mode_name(enum cofi_clip_mode m) { return clip_names[m]; }

int cofi_mu_mode_parse(const char *s, enum cofi_mu_mode *m)
{
    for (int i = 0; i < 2; i++)
        if (!strcmp(s, mu_names[i])) return *m = (enum cofi_mu_mode)i, COFI_OK;
    return cofi_error(COFI_ERR_USAGE, "--mu must be zero or mean, got '%s'", s);
}

int cofi_bias_mode_parse(const char *s, enum cofi_bias_mode *m)
{
    for (int i = 0; i < 3; i++)
        if (!strcmp(s, bias_names[i])) return *m = (enum cofi_bias_mode)i, COFI_OK;
    return cofi_error(COFI_ERR_USAGE, "--item-bias must be zero, mean or learned, got '%s'", s);
}

int cofi_write_run_attrs(cofi_h5 *f, const cofi_trainer *tr, const cofi_provenance *p)
{
    const cofi_train_opts *o = &tr->opts;
    const cofi_model *M = tr->M;
    struct {
        const char *name;
        cofi_val v;
    } vals[] = {{"lambda", o->lambda},
                {"lambda_bias", o->lambda_bias},
                {"learning_rate", o->optim.learning_rate},
                {"beta1", o->optim.beta1},
                {"beta2", o->optim.beta2},
                {"epsilon", o->optim.epsilon},
                {"elapsed", tr->elapsed_before},
                {"clip_min", M->clip_lo},
                {"clip_max", M->clip_hi},
                {"clip_range_min", o->clip_lo},
                {"clip_range_max", o->clip_hi},
                {"holdout", p->holdout},
                {"init_scale", o->init_scale},
                {"best_val_rmse", tr->best_val}};
    struct {
        const char *name;
        cofi_idx v;
    } idxs[] = {{"iterations", tr->t},
                {"iterations_target", o->iterations},
                {"seed", (cofi_idx)o->seed},
                {"weighted_reg", o->weighted},
                {"eval_every", o->eval_every},
                {"patience", o->patience},
                {"best_iteration", tr->best_step},
                {"bad_evals", tr->bad_evals},
                {"stopped_early", tr->stop == COFI_STOP_EARLY},
                {"ratings_nnz", p->ratings_nnz},
                {"ratings_digest", p->ratings_digest}};
    struct {
        const char *name;
        const char *v;
    } strs[] = {{"optimizer", cofi_optim_name(o->optim.kind)},
                {"comm", cofi_comm_mode_name(o->comm_mode)},
                {"precision", o->precision_single ? "single" : "double"},
                {"mu_mode", cofi_mu_mode_name(o->mu_mode)},
                {"item_bias_mode", cofi_bias_mode_name(o->item_bias)},
                {"clip_mode", cofi_clip_mode_name(o->clip_mode)},
                {"init", p->init ? p->init : "random"},
                {"init_group", p->init_group ? p->init_group : ""},
                {"ratings", p->ratings ? p->ratings : ""},
                {"test", p->test ? p->test : ""}};
    int rc = COFI_OK;
    for (size_t i = 0; i < sizeof vals / sizeof vals[0] && !rc; i++)
        rc = cofi_h5_attr_set_val(f, "/", vals[i].name, vals[i].v);
    for (size_t i = 0; i < sizeof idxs / sizeof idxs[0] && !rc; i++)
        rc = cofi_h5_attr_set_idx(f, "/", idxs[i].name, idxs[i].v);
    for (size_t i = 0; i < sizeof strs / sizeof strs[0] && !rc; i++)
        rc = cofi_h5_attr_set_str(f, "/", strs[i].name, strs[i].v);
    if (!rc && tr->history_len > 0) {
        cofi_idx h = tr->history_len - 1;
        rc = cofi_h5_attr_set_val(f, "/", "final_cost", tr->cost[h]);
        if (!rc) rc = cofi_h5_attr_set_val(f, "/", "final_train_rmse", tr->rmse[h]);
        if (!rc) rc = cofi_h5_attr_set_val(f, "/", "final_train_mae", tr->mae[h]);
        if (!rc) rc = cofi_h5_attr_set_val(f, "/", "final_val_rmse", tr->val_rmse[h]);
    }
    return rc;
}

static const char *const opt_x[COFI_OPTIM_MAX_STATE] = {"/optimizer/X_m", "/optimizer/X_v"};
static const char *const opt_w[COFI_OPTIM_MAX_STATE] = {"/optimizer/W_m", "/optimizer/W_v"};
static const char *const opt_b[COFI_OPTIM_MAX_STATE] = {"/optimizer/b_m", "/optimizer/b_v"};
static const char *const opt_ib[COFI_OPTIM_MAX_STATE] = {"/optimizer/item_bias_m", "/optimizer/item_bias_v"};
static const char *const hist_names[5] = {"/train/cost", "/train/rmse", "/train/mae",
                                          "/train/val_rmse", "/train/val_mae"};

static cofi_val *hist(const cofi_trainer *tr, int i)
{
    cofi_val *h[5] = {tr->cost, tr->rmse, tr->mae, tr->val_rmse, tr->val_mae};
    return h[i];
}

int cofi_checkpoint_write(const cofi_comm *c, const char *path, const cofi_trainer *tr,
                          const cofi_ids *ids, const cofi_provenance *p)
{
    const cofi_model *M = tr->M;
    const int root = c->rank == 0;
    const cofi_idx nu_root = root ? M->n_users : 0;
    const int sharded = tr->opts.comm_mode == COFI_COMM_SHARDED;
    const cofi_idx ws_rows = sharded || root ? tr->w1 - tr->w0 : 0;
    cofi_h5 f;
    COFI_TRY(cofi_h5_create(c, path, &f));
    int rc = cofi_write_model(&f, M, ids);
    if (!rc) rc = cofi_write_run_attrs(&f, tr, p);
    if (!rc) rc = cofi_h5_attr_set_idx(&f, "/", "checkpoint", 1);
    if (!rc) rc = cofi_h5_attr_set_idx(&f, "/", "step", tr->t);
    const int nstate = cofi_optim_nstate(tr->opts.optim.kind);
    for (int s = 0; s < nstate && s < COFI_OPTIM_MAX_STATE && !rc; s++) {
        rc = cofi_h5_write_val(&f, opt_x[s], M->n_items, M->k, M->item_begin, M->n_local,
                               tr->state_X[s], M->ld);
        /* W's and b's state: rows [w0, w1) here (a shard with --comm sharded,
         * else every row, written once by rank 0) */
        if (!rc) rc = cofi_h5_write_val(&f, opt_w[s], M->n_users, M->k, tr->w0, ws_rows, tr->state_W[s], M->ld);
        if (!rc) rc = cofi_h5_write_val(&f, opt_b[s], M->n_users, 0, tr->w0, ws_rows, tr->state_b[s], 1);
        if (!rc) rc = cofi_h5_write_val(&f, opt_ib[s], M->n_items, 0, M->item_begin, M->n_local,
                                        tr->state_ib[s], 1);
    }
    /* The history of the steps taken.  The entry at t, if any, is the final
     * evaluation of a finished run, which is not history, or the evaluation
     * that stopped a run early, which is: a restart does not train on. */
    cofi_idx h = tr->t < tr->history_len && tr->stop != COFI_STOP_EARLY ? tr->t : tr->history_len;
    for (int i = 0; i < 5 && !rc; i++)
        rc = cofi_h5_write_val(&f, hist_names[i], h, 0, 0, root ? h : 0, hist(tr, i), 1);
    if (!rc && tr->val && tr->best_step >= 0) {
        rc = cofi_h5_write_val(&f, "/best/X", M->n_items, M->k, M->item_begin, M->n_local,
                               tr->best.X, M->ld);
        if (!rc) rc = cofi_h5_write_val(&f, "/best/W", M->n_users, M->k, 0, nu_root, tr->best.W, M->ld);
        if (!rc) rc = cofi_h5_write_val(&f, "/best/b", M->n_users, 0, 0, nu_root, tr->best.b, 1);
        if (!rc) rc = cofi_h5_write_val(&f, "/best/item_bias", M->n_items, 0, M->item_begin,
                                        M->n_local, tr->best.item_bias, 1);
    }
    if (!rc) return cofi_h5_commit(&f);
    cofi_h5_close(&f);
    return rc;
}

static int get_str_enum(cofi_h5 *f, const char *name, const char *const *names, int n, int *out)
{
    char buf[64];
    COFI_TRY(cofi_h5_attr_get_str(f, "/", name, buf, sizeof buf));
    for (int i = 0; i < n; i++)
        if (!strcmp(buf, names[i])) return *out = i, COFI_OK;
    return cofi_error(COFI_ERR_FORMAT, "'%s': attribute '%s' has an unknown value '%s'", f->path,
                      name, buf);
}

static int get_checkpoint_attrs(cofi_h5 *f, cofi_checkpoint_info *info)
{
    cofi_train_opts *o = &info->opts;
    char buf[64];
    cofi_idx v = 0;
    int is_ckpt = 0, e = 0;
    COFI_TRY(cofi_h5_attr_exists(f, "/", "checkpoint", &is_ckpt));
    if (!is_ckpt)
        return cofi_error(COFI_ERR_FORMAT, "'%s' is not a cofi checkpoint (no 'checkpoint' "
                          "attribute); write one with 'cofi train --checkpoint FILE'", f->path);
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "n_items", &info->n_items));
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "n_users", &info->n_users));
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "features", &o->k));
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "lambda", &o->lambda));
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "lambda_bias", &o->lambda_bias));
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "learning_rate", &o->optim.learning_rate));
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "beta1", &o->optim.beta1));
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "beta2", &o->optim.beta2));
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "epsilon", &o->optim.epsilon));
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "clip_range_min", &o->clip_lo));
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "clip_range_max", &o->clip_hi));
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "holdout", &info->holdout));
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "seed", &v));
    o->seed = (uint64_t)v;
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "weighted_reg", &v));
    o->weighted = (int)v;
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "eval_every", &o->eval_every));
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "patience", &o->patience));
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "iterations_target", &o->iterations));
    COFI_TRY(cofi_h5_attr_get_idx(f, "/", "step", &v));
    info->step = v;
    COFI_TRY(cofi_h5_attr_get_val(f, "/", "elapsed", &info->elapsed));
    COFI_TRY(cofi_h5_attr_get_str(f, "/", "optimizer", buf, sizeof buf));
    if (cofi_optim_parse(buf, &o->optim.kind) != COFI_OK)
        return cofi_error(COFI_ERR_FORMAT, "'%s': unknown optimizer '%s'", f->path, buf);
    COFI_TRY(cofi_h5_attr_get_str(f, "/", "comm", buf, sizeof buf));
    if (cofi_comm_mode_parse(buf, &o->comm_mode) != COFI_OK)
        return cofi_error(COFI_ERR_FORMAT, "'%s': unknown comm mode '%s'", f->path, buf);
    COFI_TRY(cofi_h5_attr_get_str(f, "/", "precision", buf, sizeof buf));
    o->precision_single = strcmp(buf, "single") == 0;
    COFI_TRY(get_str_enum(f, "mu_mode", mu_names, 2, &e));
    o->mu_mode = (enum cofi_mu_mode)e;
    COFI_TRY(get_str_enum(f, "item_bias_mode", bias_names, 3, &e));
    o->item_bias = (enum cofi_bias_mode)e;
    COFI_TRY(get_str_enum(f, "clip_mode", clip_names, 3, &e));
    o->clip_mode = (enum cofi_clip_mode)e;
    COFI_TRY(cofi_h5_attr_get_str(f, "/", "test", info->test, sizeof info->test));
    int has_scale = 0;
    COFI_TRY(cofi_h5_attr_exists(f, "/", "init_scale", &has_scale));
    o->init_scale = NAN; /* not recorded by older checkpoints */
    if (has_scale) COFI_TRY(cofi_h5_attr_get_val(f, "/", "init_scale", &o->init_scale));
    COFI_TRY(cofi_h5_attr_exists(f, "/", "ratings_digest", &info->has_digest));
    if (info->has_digest) {
        COFI_TRY(cofi_h5_attr_get_idx(f, "/", "ratings_nnz", &info->ratings_nnz));
        COFI_TRY(cofi_h5_attr_get_idx(f, "/", "ratings_digest", &info->ratings_digest));
    }
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
    const int nstate = cofi_optim_nstate(tr->opts.optim.kind);
    for (int s = 0; s < nstate && s < COFI_OPTIM_MAX_STATE && !rc; s++) {
        rc = cofi_h5_read_val(&f, opt_x[s], M->item_begin, M->n_local, M->k, tr->state_X[s], M->ld);
        if (!rc) rc = cofi_h5_read_val(&f, opt_w[s], tr->w0, tr->w1 - tr->w0, M->k, tr->state_W[s], M->ld);
        if (!rc) rc = cofi_h5_read_val(&f, opt_b[s], tr->w0, tr->w1 - tr->w0, 0, tr->state_b[s], 1);
        if (!rc) rc = cofi_h5_read_val(&f, opt_ib[s], M->item_begin, M->n_local, 0, tr->state_ib[s], 1);
    }
    cofi_idx h = info.step;
    if (!rc && h > tr->opts.iterations)
        rc = cofi_error(COFI_ERR_VALUE, "'%s' has taken %" PRIidx " steps, more than the %" PRIidx
                        " asked for", path, h, tr->opts.iterations);
    /* stopped_early says the run stopped early (files from before it was
     * written: patience decides, below).  Stopped at an evaluation of step t,
     * its parameters not stepped (--comm allreduce), the run keeps that
     * evaluation as entry t: the history is one entry longer than step. */
    int has_flag = 0;
    cofi_idx stopped = 0;
    if (!rc) rc = cofi_h5_attr_exists(&f, "/", "stopped_early", &has_flag);
    if (!rc && has_flag) rc = cofi_h5_attr_get_idx(&f, "/", "stopped_early", &stopped);
    cofi_h5_info hi;
    if (!rc) rc = cofi_h5_info_of(&f, hist_names[0], &hi);
    if (!rc && (stopped || !has_flag) && hi.exists && hi.ndims == 1 && hi.dims[0] == h + 1) h++;
    if (!rc) rc = cofi_agree(c, cofi_trainer_history_reserve(tr, h + 1));
    for (int i = 0; i < 5 && !rc; i++) rc = cofi_h5_read_val(&f, hist_names[i], 0, h, 0, hist(tr, i), 1);
    cofi_val best_val = INFINITY;
    cofi_idx best_step = -1, bad = 0;
    if (!rc) rc = cofi_h5_attr_get_val(&f, "/", "best_val_rmse", &best_val);
    if (!rc) rc = cofi_h5_attr_get_idx(&f, "/", "best_iteration", &best_step);
    if (!rc) rc = cofi_h5_attr_get_idx(&f, "/", "bad_evals", &bad);
    if (!rc && tr->val && best_step >= 0) {
        rc = cofi_h5_read_val(&f, "/best/X", M->item_begin, M->n_local, M->k, tr->best.X, M->ld);
        if (!rc) rc = cofi_h5_read_val(&f, "/best/W", 0, M->n_users, M->k, tr->best.W, M->ld);
        if (!rc) rc = cofi_h5_read_val(&f, "/best/b", 0, M->n_users, 0, tr->best.b, 1);
        if (!rc) rc = cofi_h5_read_val(&f, "/best/item_bias", M->item_begin, M->n_local, 0,
                                       tr->best.item_bias, 1);
    }
    if (!rc) {
        tr->t = info.step;
        tr->history_len = h;
        tr->elapsed_before = info.elapsed;
        tr->best_val = best_val;
        tr->best_step = best_step;
        tr->bad_evals = bad;
        /* the run stopped early: nothing to continue (cofi_trainer_run) */
        if (has_flag ? stopped != 0 : cofi_trainer_patience_spent(tr)) tr->stop = COFI_STOP_EARLY;
    }
    cofi_h5_close(&f);
    return rc;
}
