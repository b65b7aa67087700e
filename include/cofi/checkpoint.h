/* cofi/checkpoint.h - everything needed to continue a run exactly.
 *
 * A checkpoint is a model file (/model/..., /items/id, /users/id, so predict
 * and --init accept it) plus:
 *   /optimizer/X_m, /optimizer/X_v   float64 [n_items x k]  (Adam moments)
 *   /optimizer/W_m, /optimizer/W_v   float64 [n_users x k]
 *   /optimizer/b_m, /optimizer/b_v   float64 [n_users]
 *   /optimizer/item_bias_m, _v       float64 [n_items]      (learned item bias)
 *   /train/cost, rmse, mae, val_rmse, val_mae  float64 [steps]  (history)
 *   /best/X, /best/W, /best/b, /best/item_bias  the best model under validation
 *   root attributes: every option that affects the result, `step` (optimizer
 *   steps taken), `iterations_target`, `elapsed`, `checkpoint = 1`.
 * It does not depend on the rank count: X rows and their moments are written
 * and read as item-row hyperslabs, so a run may restart on any number of
 * ranks.  Written under a temporary name and renamed only when complete. */
#ifndef COFI_CHECKPOINT_H
#define COFI_CHECKPOINT_H

#include "cofi/io.h"
#include "cofi/train.h"

/* Where a run came from, recorded in model and checkpoint attributes. */
typedef struct {
    const char *ratings;
    const char *init;       /* "random" or FILE */
    const char *init_group; /* or NULL */
    const char *test;       /* --test FILE or NULL */
    double holdout;         /* --holdout fraction, 0 = none */
    cofi_idx ratings_nnz;   /* the ratings file's count and digest (summed cofi_ratings_digest_local) */
    cofi_idx ratings_digest;
} cofi_provenance;

/* Names of the option values, as stored in files. */
const char *cofi_mu_mode_name(enum cofi_mu_mode m);
const char *cofi_bias_mode_name(enum cofi_bias_mode m);
const char *cofi_clip_mode_name(enum cofi_clip_mode m);
int cofi_mu_mode_parse(const char *s, enum cofi_mu_mode *m);
int cofi_bias_mode_parse(const char *s, enum cofi_bias_mode *m);

/* Root attributes describing the run: options, steps done, final figures. */
int cofi_write_run_attrs(cofi_h5 *f, const cofi_trainer *tr, const cofi_provenance *p);

/* Write a checkpoint of the trainer's current state (collective). */
int cofi_checkpoint_write(const cofi_comm *c, const char *path, const cofi_trainer *tr,
                          const cofi_ids *ids, const cofi_provenance *p);

/* What a checkpoint says about the run: options, sizes and steps taken. */
typedef struct {
    cofi_train_opts opts;
    cofi_idx n_items, n_users;
    int64_t step;
    double elapsed;
    char test[4096];  /* the --test file of the run, "" if none */
    double holdout;   /* its --holdout fraction, 0 if none */
    int has_digest;   /* the checkpoint names its ratings' count and digest */
    cofi_idx ratings_nnz, ratings_digest;
} cofi_checkpoint_info;
int cofi_checkpoint_read_info(const cofi_comm *c, const char *path, cofi_checkpoint_info *info);

/* Load parameters, optimizer state and history into an initialized trainer
 * (same options and sizes as the checkpoint's), for this rank's items. */
int cofi_checkpoint_read_state(const cofi_comm *c, const char *path, cofi_trainer *tr);

#endif
