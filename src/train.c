/* train.c - the training loop: kernel, one reduction, optimizer updates,
 * progress table, and the agreed stop. */
#include "cofi/train.h"
#include "cofi/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Scalars after the gradients in the reduction buffer. */
enum { SLOT_SSE, SLOT_XSQ, SLOT_STOP, SLOT_TIME, SLOT_CKPT, N_SLOTS };

cofi_train_opts cofi_train_defaults(void)
{
    cofi_train_opts o;
    memset(&o, 0, sizeof o);
    o.k = 100;
    o.lambda = 1.3;
    o.optim = cofi_optim_defaults();
    o.iterations = 100;
    o.seed = 1;
    o.comm_mode = COFI_COMM_ALLREDUCE;
    o.print_every = 10;
    return o;
}

int cofi_trainer_init(cofi_trainer *tr, const cofi_comm *c, const cofi_ratings *R,
                      cofi_model *M, const cofi_train_opts *o, cofi_timers *timers)
{
    memset(tr, 0, sizeof *tr);
    tr->comm = c;
    tr->R = R;
    tr->M = M;
    tr->opts = *o;
    tr->timers = timers;
    const size_t nx = (size_t)M->n_local * (size_t)M->ld;
    const size_t nw = (size_t)M->n_users * (size_t)M->ld;
    int rc = COFI_OK;
    for (int s = 0; s < cofi_optim_nstate(o->optim.kind) && !rc; s++) {
        tr->state_X[s] = cofi_calloc(nx, sizeof(cofi_val), "optimizer state for X");
        tr->state_W[s] = cofi_calloc(nw, sizeof(cofi_val), "optimizer state for W");
        tr->state_b[s] = cofi_calloc((size_t)M->n_users, sizeof(cofi_val), "optimizer state");
        if (!tr->state_X[s] || !tr->state_W[s] || !tr->state_b[s]) rc = COFI_ERR_NOMEM;
    }
    tr->buf_len = M->n_users * (M->k + 1) + N_SLOTS;
    if (!rc) {
        tr->gX = cofi_calloc(nx, sizeof(cofi_val), "gradient of X");
        tr->buf = cofi_calloc((size_t)tr->buf_len, sizeof(cofi_val), "gradient of W");
        tr->cost = cofi_calloc((size_t)o->iterations + 1, sizeof(cofi_val), "cost history");
        tr->rmse = cofi_calloc((size_t)o->iterations + 1, sizeof(cofi_val), "cost history");
        tr->iter_seconds = cofi_calloc((size_t)o->iterations + 1, sizeof(double), "timings");
        if (!tr->gX || !tr->buf || !tr->cost || !tr->rmse || !tr->iter_seconds) rc = COFI_ERR_NOMEM;
    }
    if (!rc) rc = cofi_kernel_ws_alloc(&tr->ws, R);
    rc = cofi_agree(c, rc);
    if (rc) cofi_trainer_free(tr);
    return rc;
}

void cofi_trainer_free(cofi_trainer *tr)
{
    for (int s = 0; s < 2; s++) {
        cofi_free(tr->state_X[s]);
        cofi_free(tr->state_W[s]);
        cofi_free(tr->state_b[s]);
        tr->state_X[s] = tr->state_W[s] = tr->state_b[s] = NULL;
    }
    cofi_free(tr->gX);
    cofi_free(tr->buf);
    cofi_free(tr->cost);
    cofi_free(tr->rmse);
    cofi_free(tr->iter_seconds);
    tr->gX = tr->buf = tr->cost = tr->rmse = NULL;
    tr->iter_seconds = NULL;
    cofi_kernel_ws_free(&tr->ws);
}

static void print_header(const cofi_trainer *tr)
{
    if (tr->comm->rank != 0 || tr->opts.print_every <= 0) return;
    printf("%8s  %18s  %12s  %10s\n", "iter", "cost", "train_rmse", "seconds");
}

static void print_row(const cofi_trainer *tr, cofi_idx iter, cofi_val cost, cofi_val rmse,
                      double secs)
{
    if (tr->comm->rank != 0 || tr->opts.print_every <= 0) return;
    printf("%8" PRIidx "  %18.10g  %12.6f  %10.3f\n", iter, cost, rmse, secs);
}

/* Step number t + 1 on local X rows. */
static void update_X(cofi_trainer *tr)
{
    const cofi_model *M = tr->M;
    cofi_optim_block blk = {M->X, M->ld, tr->gX, M->ld, {tr->state_X[0], tr->state_X[1]},
                            M->ld, M->n_local, M->k};
    cofi_optim_step(tr->opts.optim.kind)(&tr->opts.optim, tr->t + 1, &blk);
}

/* Step number t + 1 on the replicated W and b (gradients in the buffer). */
static void update_Wb(cofi_trainer *tr)
{
    const cofi_model *M = tr->M;
    cofi_optim_step_fn step = cofi_optim_step(tr->opts.optim.kind);
    cofi_optim_block bw = {M->W, M->ld, tr->buf, M->k, {tr->state_W[0], tr->state_W[1]},
                           M->ld, M->n_users, M->k};
    step(&tr->opts.optim, tr->t + 1, &bw);
    cofi_optim_block bb = {M->b, 1, tr->buf + M->n_users * M->k, 1,
                           {tr->state_b[0], tr->state_b[1]}, 1, M->n_users, 1};
    step(&tr->opts.optim, tr->t + 1, &bb);
}

/* Whole-model cost from the reduced sums; adds lambda*W to the W gradient
 * (when grad is set): W is replicated, so this happens once, not per rank. */
static cofi_val finish_cost(cofi_trainer *tr, cofi_val sse, cofi_val xsq, int grad)
{
    const cofi_model *M = tr->M;
    cofi_val wsq = cofi_kernel_sumsq(M->W, M->n_users, M->k, M->ld, &tr->ws);
    if (grad) cofi_kernel_add_ridge(tr->buf, M->k, M->W, M->ld, M->n_users, M->k, tr->opts.lambda);
    return 0.5 * sse + 0.5 * tr->opts.lambda * (xsq + wsq);
}

int cofi_trainer_evaluate(cofi_trainer *tr, cofi_val *cost, cofi_val *rmse)
{
    cofi_val s[2];
    cofi_timer_start(tr->timers, COFI_TIME_COMPUTE);
    cofi_kernel_cost(tr->R, tr->M, &tr->ws, s);
    cofi_timer_stop(tr->timers, COFI_TIME_COMPUTE);
    cofi_timer_start(tr->timers, COFI_TIME_ALLREDUCE);
    COFI_TRY(cofi_sum_val(tr->comm, s, 2));
    cofi_timer_stop(tr->timers, COFI_TIME_ALLREDUCE);
    *cost = finish_cost(tr, s[0], s[1], 0);
    *rmse = sqrt(s[0] / (double)tr->R->nnz);
    return COFI_OK;
}

int cofi_trainer_run(cofi_trainer *tr)
{
    const cofi_comm *c = tr->comm;
    const cofi_model *M = tr->M;
    const cofi_train_opts *o = &tr->opts;
    cofi_val *tail = tr->buf + M->n_users * (M->k + 1);
    const double start = cofi_now();
    const double budget_start = o->clock_start > 0 ? o->clock_start : start;
    /* Until a checkpoint has been timed, reading the inputs stands in for it. */
    double prev_mean = 0, slowest = 0, ckpt_secs = tr->timers->elapsed[COFI_TIME_IO];
    const int64_t first_step = tr->t;
    tr->stop = COFI_STOP_DONE;
    print_header(tr);

    while (tr->t < o->iterations) {
        const double iter_start = cofi_now();
        /* 1. local cost and gradients */
        cofi_timer_start(tr->timers, COFI_TIME_COMPUTE);
        cofi_val sums[2];
        cofi_kernel_grad(tr->R, M, o->lambda, &tr->ws, tr->gX, tr->buf,
                         tr->buf + M->n_users * M->k, NULL, sums);
        tail[SLOT_SSE] = sums[0];
        tail[SLOT_XSQ] = sums[1];
        tail[SLOT_STOP] = o->stop_flag && *o->stop_flag ? 1.0 : 0.0;
        tail[SLOT_TIME] = cofi_now() - budget_start;
        tail[SLOT_CKPT] = ckpt_secs;
        cofi_timer_stop(tr->timers, COFI_TIME_COMPUTE);

        /* 2. the one reduction of the iteration (X's update needs none of it) */
        if (o->comm_mode == COFI_COMM_OVERLAP) {
            cofi_pending p;
            COFI_TRY(cofi_isum_val(c, tr->buf, tr->buf_len, &p));
            cofi_timer_start(tr->timers, COFI_TIME_COMPUTE);
            update_X(tr);
            cofi_timer_stop(tr->timers, COFI_TIME_COMPUTE);
            cofi_timer_start(tr->timers, COFI_TIME_ALLREDUCE);
            COFI_TRY(cofi_wait(&p));
            cofi_timer_stop(tr->timers, COFI_TIME_ALLREDUCE);
        } else {
            cofi_timer_start(tr->timers, COFI_TIME_ALLREDUCE);
            COFI_TRY(cofi_sum_val(c, tr->buf, tr->buf_len));
            cofi_timer_stop(tr->timers, COFI_TIME_ALLREDUCE);
        }

        /* 3. global cost, then the updates */
        cofi_timer_start(tr->timers, COFI_TIME_COMPUTE);
        cofi_val cost = finish_cost(tr, tail[SLOT_SSE], tail[SLOT_XSQ], 1);
        cofi_val rmse = sqrt(tail[SLOT_SSE] / (double)tr->R->nnz);
        tr->cost[tr->t] = cost;
        tr->rmse[tr->t] = rmse;
        tr->history_len = tr->t + 1;
        if (o->comm_mode != COFI_COMM_OVERLAP) update_X(tr);
        update_Wb(tr);
        cofi_timer_stop(tr->timers, COFI_TIME_COMPUTE);

        /* Decisions below use only reduced values: every rank takes the same. */
        double mean_time = tail[SLOT_TIME] / c->size;
        if (o->print_every > 0 && tr->t % o->print_every == 0)
            print_row(tr, tr->t, cost, rmse, tr->elapsed_before + (cofi_now() - start));
        tr->iter_seconds[tr->t] = cofi_now() - iter_start;
        tr->t++;

        if (tr->hook) {
            double h0 = cofi_now();
            COFI_TRY(tr->hook(tr, tr->hook_ctx));
            if (cofi_now() - h0 > ckpt_secs) ckpt_secs = cofi_now() - h0;
        }
        if (tail[SLOT_STOP] > 0) {
            tr->stop = COFI_STOP_SIGNAL;
            break;
        }
        if (o->max_time > 0) {
            /* Stop while there is room for three more iterations and twice
             * the checkpoint time.  The first interval includes start-up, so
             * it does not count as an iteration's time. */
            if (tr->t > first_step + 1 && mean_time - prev_mean > slowest)
                slowest = mean_time - prev_mean;
            if (mean_time + 3 * slowest + 2 * tail[SLOT_CKPT] / c->size + 0.01 >= o->max_time &&
                tr->t < o->iterations) {
                tr->stop = COFI_STOP_TIME;
                break;
            }
        }
        prev_mean = mean_time;
    }

    if (tr->stop == COFI_STOP_DONE) {
        cofi_val cost, rmse;
        COFI_TRY(cofi_trainer_evaluate(tr, &cost, &rmse));
        tr->cost[tr->t] = cost;
        tr->rmse[tr->t] = rmse;
        tr->history_len = tr->t + 1;
        double secs = tr->elapsed_before + (cofi_now() - start);
        print_row(tr, tr->t, cost, rmse, secs);
    }
    tr->elapsed_before += cofi_now() - start;
    return COFI_OK;
}
