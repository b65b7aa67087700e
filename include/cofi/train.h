/* cofi/train.h - the training loop: kernel -> one reduction -> updates.
 *
 * Each iteration: every rank evaluates its items' residuals, cost and
 * gradients (kernel.h); one sum across ranks combines the W and b gradients,
 * the cost terms and the stop votes, packed in one buffer; then the
 * optimizer updates the local rows of X and the replicated W and b.  The
 * lambda*W gradient and lambda/2 |W|^2 are added once, after the sum. */
#ifndef COFI_TRAIN_H
#define COFI_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "cofi/comm.h"
#include "cofi/kernel.h"
#include "cofi/model.h"
#include "cofi/optim.h"
#include "cofi/ratings.h"
#include "cofi/timer.h"

enum cofi_comm_mode {
    COFI_COMM_ALLREDUCE = 0, /* blocking allreduce, then all updates */
    COFI_COMM_OVERLAP = 1,   /* nonblocking allreduce overlapped with the X update */
    COFI_COMM_MODE_COUNT
};

typedef struct {
    cofi_idx k;
    cofi_val lambda;
    cofi_optim_params optim;
    cofi_idx iterations;    /* total steps to reach */
    uint64_t seed;
    enum cofi_comm_mode comm_mode;
    cofi_idx print_every;   /* progress row every N iterations; 0 = none */
    double max_time;        /* seconds; stop with a checkpoint before; 0 = none */
    double clock_start;     /* cofi_now() when the budget started; 0 = at run start */
    /* set asynchronously (signal handler) to ask for a clean stop */
    volatile sig_atomic_t *stop_flag;
} cofi_train_opts;

cofi_train_opts cofi_train_defaults(void);

/* Why the loop ended. */
enum cofi_stop_reason { COFI_STOP_DONE = 0, COFI_STOP_SIGNAL = 1, COFI_STOP_TIME = 2 };

typedef struct cofi_trainer cofi_trainer;
/* Called on every rank after each step (t = steps done); returns a status. */
typedef int (*cofi_step_hook)(cofi_trainer *tr, void *ctx);

struct cofi_trainer {
    const cofi_comm *comm;
    const cofi_ratings *R;
    cofi_model *M;
    cofi_train_opts opts;
    int64_t t;                /* optimizer steps taken */
    cofi_val *state_X[2];     /* optimizer state, same layout as X (ld) */
    cofi_val *state_W[2];     /* ... as W (ld) */
    cofi_val *state_b[2];
    cofi_val *gX;             /* n_local x ld */
    cofi_val *buf;            /* [gW (n_users x k) | gb | sse | x_sq | stop | time] */
    cofi_idx buf_len;
    cofi_kernel_ws ws;
    cofi_val *cost;           /* cost[t]: J before step t + 1 (iterations + 1 slots) */
    cofi_val *rmse;           /* train RMSE at the same points */
    double *iter_seconds;     /* wall time of each step taken in this run (0 before a restart) */
    cofi_idx history_len;     /* entries of cost/rmse filled */
    double elapsed_before;    /* training seconds before a restart */
    enum cofi_stop_reason stop;
    cofi_timers *timers;
    cofi_step_hook hook;
    void *hook_ctx;
};

int cofi_trainer_init(cofi_trainer *tr, const cofi_comm *c, const cofi_ratings *R,
                      cofi_model *M, const cofi_train_opts *o, cofi_timers *timers);
void cofi_trainer_free(cofi_trainer *tr);

/* Run until opts.iterations steps are done or a stop is agreed.  Prints the
 * progress table from rank 0 when print_every > 0.  Ends with one more
 * evaluation so cost[t] holds J at the final parameters. */
int cofi_trainer_run(cofi_trainer *tr);

/* J and train RMSE at the current parameters (collective). */
int cofi_trainer_evaluate(cofi_trainer *tr, cofi_val *cost, cofi_val *rmse);

#endif
