/* cofi/train.h - the training loop: kernel -> one reduction -> updates.
 *
 * Each iteration: every rank evaluates its items' residuals, cost and
 * gradients (kernel.h) and, every eval_every iterations, its validation pairs;
 * one sum across ranks combines the W and b gradients, the cost terms, the
 * metrics and the stop votes, packed in one buffer; then the optimizer
 * updates the local rows of X (and item biases) and the replicated W and b.
 * Terms of the replicated W and b (their ridge and its cost) are added once,
 * after the sum. */
#ifndef COFI_TRAIN_H
#define COFI_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "cofi/comm.h"
#include "cofi/kernel.h"
#include "cofi/model.h"
#include "cofi/optim.h"
#include "cofi/pairs.h"
#include "cofi/ratings.h"
#include "cofi/timer.h"

enum cofi_comm_mode {
    COFI_COMM_ALLREDUCE = 0, /* blocking allreduce, then all updates */
    COFI_COMM_OVERLAP = 1,   /* nonblocking allreduce overlapped with the X update */
    COFI_COMM_SHARDED = 2,   /* reduce-scatter, Adam on a 1/P shard of W and b, allgather */
    COFI_COMM_MODE_COUNT
};
const char *cofi_comm_mode_name(enum cofi_comm_mode m);
int cofi_comm_mode_parse(const char *s, enum cofi_comm_mode *m);

enum cofi_mu_mode { COFI_MU_ZERO = 0, COFI_MU_MEAN = 1 };
enum cofi_bias_mode { COFI_BIAS_ZERO = 0, COFI_BIAS_MEAN = 1, COFI_BIAS_LEARNED = 2 };
enum cofi_clip_mode { COFI_CLIP_NONE = 0, COFI_CLIP_AUTO = 1, COFI_CLIP_RANGE = 2 };

typedef struct {
    cofi_idx k;
    cofi_val lambda;         /* ridge on X and W */
    int weighted;            /* ridge lambda * n on each row (n: its ratings) */
    cofi_val lambda_bias;    /* ridge on b and a learned item bias */
    enum cofi_mu_mode mu_mode;
    enum cofi_bias_mode item_bias;
    enum cofi_clip_mode clip_mode;
    cofi_val clip_lo, clip_hi; /* COFI_CLIP_RANGE */
    cofi_optim_params optim;
    cofi_idx iterations;    /* total steps to reach */
    uint64_t seed;
    cofi_val init_scale;    /* random X, W, b ~ N(0, init_scale^2) */
    enum cofi_comm_mode comm_mode;
    int precision_single;   /* ratings, residuals and communicated gradients in float */
    cofi_idx print_every;   /* progress row every N iterations; 0 = none */
    cofi_idx eval_every;    /* validation every N iterations (with validation pairs) */
    cofi_idx patience;      /* stop after N evaluations without improvement; 0 = never */
    double max_time;        /* seconds; stop with a checkpoint before; 0 = none */
    double clock_start;     /* cofi_now() when the budget started; 0 = at run start */
    /* set asynchronously (signal handler) to ask for a clean stop */
    volatile sig_atomic_t *stop_flag;
} cofi_train_opts;

/* The notebook's model: k = 100, lambda = 1.3, Adam lr 0.1, 100 iterations,
 * no offsets, no item bias, unregularized user bias, no clipping. */
cofi_train_opts cofi_train_defaults(void);

/* Why the loop ended. */
enum cofi_stop_reason {
    COFI_STOP_DONE = 0,   /* all iterations */
    COFI_STOP_SIGNAL = 1, /* a rank got SIGTERM/SIGUSR1 */
    COFI_STOP_TIME = 2,   /* --max-time */
    COFI_STOP_EARLY = 3,  /* validation stopped improving (patience) */
    COFI_STOP_DIVERGED = 4 /* the cost or the parameters are no longer finite */
};

typedef struct cofi_trainer cofi_trainer;
/* Called on every rank after each step (t = steps done); returns a status. */
typedef int (*cofi_step_hook)(cofi_trainer *tr, void *ctx);

/* A copy of the parameters (the best model under validation). */
typedef struct {
    cofi_val *X, *W, *b, *item_bias;
} cofi_param_copy;

struct cofi_trainer {
    const cofi_comm *comm;
    const cofi_ratings *R;
    cofi_model *M;
    const cofi_pairs *val;    /* validation pairs (local items), or NULL */
    cofi_train_opts opts;
    int64_t t;                /* optimizer steps taken */
    /* Rows [w0, w1) of W and b are updated here (all of them, or this
     * rank's shard with --comm sharded); their optimizer state is kept. */
    cofi_idx w0, w1;
    cofi_idx *ushard;         /* P + 1: the users' shards */
    cofi_val *state_X[COFI_OPTIM_MAX_STATE]; /* optimizer state, same layout as X (ld) */
    cofi_val *state_W[COFI_OPTIM_MAX_STATE]; /* ... of rows [w0, w1) of W (ld) */
    cofi_val *state_b[COFI_OPTIM_MAX_STATE]; /* ... of b[w0..w1) */
    cofi_val *state_ib[COFI_OPTIM_MAX_STATE]; /* ... of a learned item bias */
    cofi_val *gX;             /* n_local x ld: X's gradient, or X's stepped rows
                                 (swapped with X: see x_stepped) */
    int x_stepped;            /* this iteration's item pass took X's Adam step */
    int wb_stepped;           /* ... and its user pass W's and b's */
    cofi_val *gib;            /* n_local: item bias gradient */
    cofi_val *buf;            /* n_users rows [gradient of w_j (k) | of b_j], then scalars */
    cofi_idx buf_len;
    float *buf32;             /* the same in float (--precision single) */
    cofi_val *shard;          /* --comm sharded: this rank's summed block, then the
                                 allgathered rows [w_j | b_j] and scalars */
    cofi_val *user_count;     /* n_users: ratings per user over all ranks */
    cofi_val nnz_train;       /* ratings trained on, all ranks */
    cofi_kernel_ws ws;
    cofi_val *cost;           /* cost[t]: J before step t + 1 (history_cap slots) */
    cofi_val *rmse;           /* clipped train RMSE at the same points */
    cofi_val *mae;            /* clipped train MAE */
    cofi_val *val_rmse;       /* validation RMSE (NaN where not evaluated) */
    cofi_val *val_mae;
    double *iter_seconds;     /* wall time of each step taken in this run */
    cofi_idx history_len;     /* entries of cost/rmse filled */
    cofi_idx history_cap;     /* slots of the history arrays: they grow with the run,
                               * not with --iterations, which may be far more than
                               * a --max-time or signal-stopped run takes */
    double elapsed_before;    /* training seconds before a restart */
    enum cofi_stop_reason stop;
    /* early stopping */
    cofi_val best_val;        /* best validation RMSE so far (INFINITY: none) */
    int64_t best_step;        /* steps taken at the best model */
    cofi_idx bad_evals;       /* evaluations since the best */
    cofi_param_copy best;     /* the best parameters (with validation) */
    int final_pending;        /* a finished run's final evaluation, not yet
                               * counted for the best (cofi_trainer_keep_best) */
    cofi_param_copy cand;     /* --comm sharded: the parameters evaluated this iteration */
    cofi_timers *timers;
    cofi_step_hook hook;
    void *hook_ctx;
};

/* Allocate the trainer's state (collective: sums user counts).  val may be
 * NULL.  On dense data it puts R's user lists in the hashed order
 * (cofi_ratings_order_transpose). */
int cofi_trainer_init(cofi_trainer *tr, const cofi_comm *c, cofi_ratings *R,
                      cofi_model *M, const cofi_train_opts *o, const cofi_pairs *val,
                      cofi_timers *timers);
void cofi_trainer_free(cofi_trainer *tr);

/* For a new run (not a restart): set mu, the item biases and the clip range
 * from the training data as the options say, and when zero_cold is set, zero
 * the rows of X and of W and b of items and users without training ratings,
 * so they are predicted from the offsets alone. */
int cofi_trainer_prepare(cofi_trainer *tr, int zero_cold);

/* Run until opts.iterations steps are done or a stop is agreed.  Prints the
 * progress table from rank 0 when print_every > 0.  Ends with one more
 * evaluation so cost[t] holds J at the final parameters.  The model keeps
 * the last parameters (what a checkpoint must hold to continue the run). */
int cofi_trainer_run(cofi_trainer *tr);

/* 1 when this rank's parameters (X, W, b, item biases) and optimizer state
 * are all finite, as a checkpoint must be to continue from; 0 otherwise. */
int cofi_trainer_finite(const cofi_trainer *tr);

/* 1 when --patience evaluations in a row have not improved on the best:
 * the run stops (or, restarted from such a checkpoint, takes no step). */
int cofi_trainer_patience_spent(const cofi_trainer *tr);

/* Bytes one gradient exchange sums: n_users (k + 1) gradient values and the
 * global sums, 8 bytes each; with --precision single 4 bytes per gradient
 * value and two floats per sum. */
double cofi_trainer_payload_bytes(const cofi_trainer *tr);

/* With validation, replace the model's parameters by the best ones seen
 * (what the model file holds), counting the final evaluation of a finished
 * run first; returns 1 if the model now holds the best parameters, 0 without
 * validation.  A checkpoint written before it continues the run as an
 * uninterrupted one would, whose evaluations are on --eval-every's grid. */
int cofi_trainer_keep_best(cofi_trainer *tr);

/* Room for n entries of history (this rank; agree on the result). */
int cofi_trainer_history_reserve(cofi_trainer *tr, cofi_idx n);

/* Copy the parameters (X, W, b, item_bias) from one place to another. */
void cofi_param_save(const cofi_model *M, cofi_param_copy *dst);
void cofi_param_load(cofi_model *M, const cofi_param_copy *src);

#endif
