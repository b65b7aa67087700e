/* cmd_train.c - `cofi train`: read ratings, initialize (or restart from a
 * checkpoint), train with periodic checkpoints, stop cleanly on a signal or
 * a time budget, write the model. */
#include "cli.h"
#include "cofi/checkpoint.h"
#include "cofi/error.h"
#include "cofi/io.h"
#include "cofi/metrics.h"
#include "cofi/sysmem.h"
#include "cofi/train.h"

#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: cofi train RATINGS -o MODEL [options]\n"
    "\n"
    "Fit y_hat[i][j] = x_i . w_j + b_j to the ratings by minimizing\n"
    "  J = 1/2 sum_rated (y_hat - y)^2 + lambda/2 (|X|^2 + |W|^2)\n"
    "Item rows are split across MPI ranks (balanced by ratings); W and b are\n"
    "replicated; one allreduce per iteration combines their gradients and the cost.\n"
    "\n"
    "model:\n"
    "  -k, --features K          latent features (default 100)\n"
    "  -l, --lambda L            regularization, >= 0 (default 1.3)\n"
    "  -a, --learning-rate A     step size, > 0 (default 0.1)\n"
    "  -T, --iterations T        optimizer steps in all, >= 0 (default 100)\n"
    "      --optimizer NAME      adam (default) or gd (plain gradient descent)\n"
    "      --beta1 B1            Adam beta_1 (default 0.9)\n"
    "      --beta2 B2            Adam beta_2 (default 0.999)\n"
    "      --epsilon E           Adam epsilon (default 1e-7)\n"
    "      --seed S              seed of the N(0, 1) initial X, W, b (default 1)\n"
    "      --init FILE:GROUP     start from datasets X, W, b in GROUP of FILE, e.g. a\n"
    "                            model's /model (GROUP defaults to /model)\n"
    "checkpoints:\n"
    "      --checkpoint FILE     where checkpoints go (default MODEL with .ckpt.h5)\n"
    "      --checkpoint-every N  write one every N iterations (default 0: only when\n"
    "                            stopping early, and at the end if --checkpoint is given)\n"
    "      --restart FILE        continue from a checkpoint to --iterations (options are\n"
    "                            taken from it; giving a different one is an error)\n"
    "      --max-time SECONDS    stop with a checkpoint before this much wall time has\n"
    "                            passed since start (exit code 75)\n"
    "  On SIGTERM or SIGUSR1 the ranks agree to stop after the current iteration,\n"
    "  write a checkpoint and exit with code 75.  A second signal kills at once.\n"
    "output:\n"
    "  -o, --output MODEL        model file to write (HDF5)\n"
    "      --print-every N       a progress row every N iterations (default 10; 0: none)\n"
    "      --metrics FILE.json   record configuration, per-iteration times, the time split\n"
    "                            per rank, bytes communicated and peak memory (JSON)\n"
    "      --comm MODE           allreduce (default) or overlap (nonblocking allreduce\n"
    "                            overlapped with the update of X); same results\n"
    "      --threads N           OpenMP threads per rank (default OMP_NUM_THREADS)\n"
    "  -h, --help                this text\n"
    "\n"
    "The progress table shows, for iteration t, the cost and train RMSE before step\n"
    "t + 1 (the last row: after the final step) and the seconds since training began.\n"
    "The summary splits time into compute, allreduce and I/O (min/mean/max over ranks).\n";

/* Options that change the result: a restart must not change them. */
enum { G_K, G_LAMBDA, G_LR, G_OPT, G_B1, G_B2, G_EPS, G_SEED, G_INIT, G_COUNT };

typedef struct {
    const char *ratings, *out, *init_file, *restart, *metrics;
    char init_group[COFI_PATH_MAX];
    char init_path[COFI_PATH_MAX];
    char ckpt_path[COFI_PATH_MAX];
    int ckpt_given;
    cofi_idx ckpt_every;
    int given[G_COUNT];
    cofi_train_opts o;
} train_args;

static volatile sig_atomic_t stop_requested = 0;
static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART | SA_RESETHAND; /* a second signal acts as usual */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

static int parse_init(const cofi_cmd *cmd, const char *s, train_args *a)
{
    const char *colon = strrchr(s, ':');
    size_t n = colon && colon[1] != '\0' ? (size_t)(colon - s) : strlen(s);
    if (colon && colon[1] == '\0') n--;
    if (n == 0 || n >= sizeof a->init_path)
        return cli_usage(cmd, "--init needs FILE or FILE:GROUP, got '%s'", s);
    memcpy(a->init_path, s, n);
    a->init_path[n] = '\0';
    if (colon && colon[1] != '\0')
        snprintf(a->init_group, sizeof a->init_group, "%s%s", colon[1] == '/' ? "" : "/", colon + 1);
    else
        snprintf(a->init_group, sizeof a->init_group, "/model");
    a->init_file = a->init_path;
    return COFI_OK;
}

static int parse_args(const cofi_cmd *cmd, int argc, char **argv, train_args *a, int *help_shown)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},      {"features", required_argument, 0, 'k'},
        {"lambda", required_argument, 0, 'l'},      {"learning-rate", required_argument, 0, 'a'},
        {"iterations", required_argument, 0, 'T'},  {"optimizer", required_argument, 0, 'O'},
        {"beta1", required_argument, 0, '1'},       {"beta2", required_argument, 0, '2'},
        {"epsilon", required_argument, 0, 'e'},     {"seed", required_argument, 0, 's'},
        {"init", required_argument, 0, 'i'},        {"print-every", required_argument, 0, 'p'},
        {"comm", required_argument, 0, 'c'},        {"threads", required_argument, 0, 't'},
        {"checkpoint", required_argument, 0, 'C'},  {"checkpoint-every", required_argument, 0, 'E'},
        {"restart", required_argument, 0, 'R'},     {"max-time", required_argument, 0, 'M'},
        {"metrics", required_argument, 0, 'J'},
        {"help", no_argument, 0, 'h'},              {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = cli_getopt(cmd, argc, argv, ":o:k:l:a:T:h", opts)) != -1) {
        int rc = COFI_OK;
        cofi_train_opts *o = &a->o;
        switch (ch) {
        case 'o': a->out = optarg; break;
        case 'k':
            rc = cli_idx(cmd, "--features", optarg, 1, 100000, &o->k);
            a->given[G_K] = 1;
            break;
        case 'l':
            rc = cli_val(cmd, "--lambda", optarg, 0, 0, &o->lambda);
            a->given[G_LAMBDA] = 1;
            break;
        case 'a':
            rc = cli_val(cmd, "--learning-rate", optarg, 0, 1, &o->optim.learning_rate);
            a->given[G_LR] = 1;
            break;
        case 'T': rc = cli_idx(cmd, "--iterations", optarg, 0, COFI_IDX_MAX / 4, &o->iterations); break;
        case 'O':
            if (cofi_optim_parse(optarg, &o->optim.kind) != COFI_OK) rc = COFI_ERR_USAGE;
            a->given[G_OPT] = 1;
            break;
        case '1':
            rc = cli_val(cmd, "--beta1", optarg, 0, 0, &o->optim.beta1);
            if (!rc && o->optim.beta1 >= 1) rc = cli_usage(cmd, "--beta1 must be in [0, 1)");
            a->given[G_B1] = 1;
            break;
        case '2':
            rc = cli_val(cmd, "--beta2", optarg, 0, 0, &o->optim.beta2);
            if (!rc && o->optim.beta2 >= 1) rc = cli_usage(cmd, "--beta2 must be in [0, 1)");
            a->given[G_B2] = 1;
            break;
        case 'e':
            rc = cli_val(cmd, "--epsilon", optarg, 0, 1, &o->optim.epsilon);
            a->given[G_EPS] = 1;
            break;
        case 's':
            rc = cli_u64(cmd, "--seed", optarg, &o->seed);
            a->given[G_SEED] = 1;
            break;
        case 'i':
            rc = parse_init(cmd, optarg, a);
            a->given[G_INIT] = 1;
            break;
        case 'p': rc = cli_idx(cmd, "--print-every", optarg, 0, COFI_IDX_MAX, &o->print_every); break;
        case 'c':
            if (!strcmp(optarg, "allreduce")) o->comm_mode = COFI_COMM_ALLREDUCE;
            else if (!strcmp(optarg, "overlap")) o->comm_mode = COFI_COMM_OVERLAP;
            else rc = cli_usage(cmd, "--comm must be allreduce or overlap, got '%s'", optarg);
            break;
        case 't': rc = cli_threads(cmd, optarg); break;
        case 'C':
            if (strlen(optarg) >= sizeof a->ckpt_path) rc = cli_usage(cmd, "--checkpoint path too long");
            snprintf(a->ckpt_path, sizeof a->ckpt_path, "%s", optarg);
            a->ckpt_given = 1;
            break;
        case 'E': rc = cli_idx(cmd, "--checkpoint-every", optarg, 0, COFI_IDX_MAX, &a->ckpt_every); break;
        case 'R': a->restart = optarg; break;
        case 'J': a->metrics = optarg; break;
        case 'M': rc = cli_val(cmd, "--max-time", optarg, 0, 1, &o->max_time); break;
        case 'h':
            cli_help(cmd, help);
            *help_shown = 1;
            return COFI_OK;
        default: return COFI_ERR_USAGE;
        }
        if (rc) return rc;
    }
    if (optind >= argc) return cli_usage(cmd, "a ratings file is required");
    if (optind + 1 < argc) return cli_usage(cmd, "unexpected argument '%s'", argv[optind + 1]);
    a->ratings = argv[optind];
    if (!a->out) return cli_usage(cmd, "an output file is required (-o MODEL)");
    if (a->restart && a->given[G_INIT])
        return cli_usage(cmd, "--init and --restart cannot be combined");
    if (!a->ckpt_given) {
        /* MODEL.h5 -> MODEL.ckpt.h5, anything else -> NAME.ckpt.h5 */
        size_t n = strlen(a->out);
        int h5 = n > 3 && strcmp(a->out + n - 3, ".h5") == 0;
        if (n + 9 >= sizeof a->ckpt_path) return cli_usage(cmd, "output path too long");
        snprintf(a->ckpt_path, sizeof a->ckpt_path, "%.*s.ckpt.h5", (int)(h5 ? n - 3 : n), a->out);
    }
    const char *inputs[] = {a->ratings, a->init_file ? a->init_file : "", a->restart ? a->restart : "", NULL};
    COFI_TRY(cli_output_not_input(a->out, inputs));
    const char *inputs2[] = {a->ratings, a->init_file ? a->init_file : "", a->out, NULL};
    COFI_TRY(cli_output_not_input(a->ckpt_path, inputs2));
    const char *inputs3[] = {a->ratings, a->init_file ? a->init_file : "", a->out, a->ckpt_path,
                             a->restart ? a->restart : "", NULL};
    return a->metrics ? cli_output_not_input(a->metrics, inputs3) : COFI_OK;
}

/* On --restart the checkpoint's options rule; a given option must agree. */
static int merge_restart(const cofi_cmd *cmd, train_args *a, const cofi_checkpoint_info *ci)
{
    const cofi_train_opts *c = &ci->opts;
    cofi_train_opts *o = &a->o;
    struct {
        int g;
        int same;
        const char *name;
    } checks[] = {
        {G_K, o->k == c->k, "--features"},
        {G_LAMBDA, o->lambda == c->lambda, "--lambda"},
        {G_LR, o->optim.learning_rate == c->optim.learning_rate, "--learning-rate"},
        {G_OPT, o->optim.kind == c->optim.kind, "--optimizer"},
        {G_B1, o->optim.beta1 == c->optim.beta1, "--beta1"},
        {G_B2, o->optim.beta2 == c->optim.beta2, "--beta2"},
        {G_EPS, o->optim.epsilon == c->optim.epsilon, "--epsilon"},
        {G_SEED, o->seed == c->seed, "--seed"},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        if (a->given[checks[i].g] && !checks[i].same)
            return cli_usage(cmd, "%s differs from the checkpoint '%s'; a restart continues the "
                             "run with its own options", checks[i].name, a->restart);
    cofi_train_opts keep = *o;
    *o = *c;
    /* What may change on a restart: how far to go and how to report. */
    o->iterations = keep.iterations;
    o->print_every = keep.print_every;
    o->max_time = keep.max_time;
    o->comm_mode = keep.comm_mode;
    if (o->iterations < ci->step)
        return cli_usage(cmd, "the checkpoint '%s' has already taken %" PRId64 " steps; "
                         "--iterations %" PRIidx " is fewer", a->restart, ci->step, o->iterations);
    return COFI_OK;
}

static int check_finite(const cofi_model *M, const char *what)
{
    for (cofi_idx i = 0; i < M->n_local; i++)
        for (cofi_idx f = 0; f < M->k; f++)
            if (!isfinite(M->X[i * M->ld + f]))
                return cofi_error(COFI_ERR_FORMAT, "%s: X[%" PRIidx "][%" PRIidx "] is not finite",
                                  what, M->item_begin + i, f);
    for (cofi_idx j = 0; j < M->n_users; j++) {
        for (cofi_idx f = 0; f < M->k; f++)
            if (!isfinite(M->W[j * M->ld + f]))
                return cofi_error(COFI_ERR_FORMAT, "%s: W[%" PRIidx "][%" PRIidx "] is not finite",
                                  what, j, f);
        if (!isfinite(M->b[j]))
            return cofi_error(COFI_ERR_FORMAT, "%s: b[%" PRIidx "] is not finite", what, j);
    }
    return COFI_OK;
}

typedef struct {
    const cofi_comm *comm;
    train_args *a;
    const cofi_ids *ids;
    cofi_provenance prov;
    cofi_timers *tm;
} run_ctx;

static int write_checkpoint(cofi_trainer *tr, run_ctx *x)
{
    cofi_timer_start(x->tm, COFI_TIME_IO);
    int rc = cofi_checkpoint_write(x->comm, x->a->ckpt_path, tr, x->ids, &x->prov);
    cofi_timer_stop(x->tm, COFI_TIME_IO);
    return rc;
}

/* After every step: the periodic checkpoint. */
static int step_hook(cofi_trainer *tr, void *ctx)
{
    run_ctx *x = ctx;
    if (x->a->ckpt_every > 0 && tr->t % x->a->ckpt_every == 0 && tr->t < tr->opts.iterations)
        return write_checkpoint(tr, x);
    return COFI_OK;
}

int cofi_cmd_train(const cofi_comm *c, int argc, char **argv)
{
    const double t_start = cofi_now();
    cofi_cmd cmd = {c, "train"};
    train_args a;
    memset(&a, 0, sizeof a);
    a.o = cofi_train_defaults();
    int help_shown = 0;
    COFI_TRY(parse_args(&cmd, argc, argv, &a, &help_shown));
    if (help_shown) return COFI_OK;
    install_signals();
    a.o.stop_flag = &stop_requested;
    a.o.clock_start = t_start;

    cofi_timers tm;
    memset(&tm, 0, sizeof tm);
    cofi_timer_start(&tm, COFI_TIME_TOTAL);
    cofi_ratings R;
    cofi_ids ids;
    cofi_model M;
    cofi_trainer tr;
    cofi_checkpoint_info ci;
    memset(&R, 0, sizeof R);
    memset(&ids, 0, sizeof ids);
    memset(&M, 0, sizeof M);
    memset(&tr, 0, sizeof tr);

    cofi_timer_start(&tm, COFI_TIME_IO);
    COFI_TRY(cofi_h5_check_output(c, a.out));
    int rc = COFI_OK;
    if (a.restart) {
        rc = cofi_checkpoint_read_info(c, a.restart, &ci);
        if (!rc) rc = merge_restart(&cmd, &a, &ci);
        if (rc) return rc;
    }
    rc = cofi_read_ratings(c, a.ratings, &R, &ids);
    if (rc) return rc;
    if (a.restart && (ci.n_items != R.n_items || ci.n_users != R.n_users))
        rc = cofi_error(COFI_ERR_FORMAT, "checkpoint '%s' is for %" PRIidx " items x %" PRIidx
                        " users; '%s' has %" PRIidx " x %" PRIidx, a.restart, ci.n_items,
                        ci.n_users, a.ratings, R.n_items, R.n_users);
    if (!rc && a.init_file) {
        cofi_idx ni, nu, k;
        rc = cofi_read_param_dims(c, a.init_file, a.init_group, &ni, &nu, &k);
        if (!rc && (ni != R.n_items || nu != R.n_users))
            rc = cofi_error(COFI_ERR_FORMAT, "'%s': '%s' holds parameters for %" PRIidx " items x %"
                            PRIidx " users; '%s' has %" PRIidx " x %" PRIidx, a.init_file,
                            a.init_group, ni, nu, a.ratings, R.n_items, R.n_users);
        else if (!rc && a.given[G_K] && k != a.o.k)
            rc = cofi_error(COFI_ERR_USAGE, "--features %" PRIidx " disagrees with k = %" PRIidx
                            " in '%s'", a.o.k, k, a.init_file);
        if (!rc) a.o.k = k;
    }
    if (!rc) {
        cofi_idx ld = cofi_padded(a.o.k);
        double states = a.o.optim.kind == COFI_OPT_ADAM ? 2 : 0;
        double bytes = 8.0 * (double)ld * ((double)R.n_local * (2 + states) +
                                           (double)R.n_users * (2 + states));
        rc = cofi_mem_check(bytes, "the model and its optimizer state");
    }
    if (!rc) rc = cofi_model_alloc(&M, R.n_items, R.n_users, a.o.k, R.item_begin, R.n_local);
    rc = cofi_agree(c, rc);
    if (!rc && a.init_file) {
        rc = cofi_read_params(c, a.init_file, a.init_group, &M);
        if (!rc) rc = cofi_agree(c, check_finite(&M, a.init_file));
    } else if (!rc && !a.restart) {
        cofi_model_init_random(&M, a.o.seed);
    }
    if (!rc) rc = cofi_trainer_init(&tr, c, &R, &M, &a.o, &tm);
    if (!rc && a.restart) rc = cofi_checkpoint_read_state(c, a.restart, &tr);
    cofi_timer_stop(&tm, COFI_TIME_IO);

    run_ctx x = {c, &a, &ids, {a.ratings, a.init_file, a.init_file ? a.init_group : NULL}, &tm};
    tr.hook = step_hook;
    tr.hook_ctx = &x;
    if (!rc && c->rank == 0) {
        printf("cofi train: %" PRIidx " items x %" PRIidx " users, %" PRIidx " ratings; k = %"
               PRIidx ", lambda = %g, %s lr = %g, %" PRIidx " iterations; %d rank%s x %d "
               "thread%s\n", R.n_items, R.n_users, R.nnz, a.o.k, a.o.lambda,
               cofi_optim_name(a.o.optim.kind), a.o.optim.learning_rate, a.o.iterations,
               c->size, c->size > 1 ? "s" : "", omp_get_max_threads(),
               omp_get_max_threads() > 1 ? "s" : "");
        if (a.restart)
            printf("restarting from '%s' at iteration %" PRId64 "\n", a.restart, tr.t);
    }
    int64_t steps_before = tr.t;
    if (!rc) rc = cofi_trainer_run(&tr);

    int stopped = !rc && tr.stop != COFI_STOP_DONE;
    if (stopped) {
        rc = write_checkpoint(&tr, &x);
        if (!rc && c->rank == 0)
            printf("stopped at iteration %" PRId64 " of %" PRIidx " (%s); checkpoint written to "
                   "'%s'; continue with: --restart %s\n", tr.t, tr.opts.iterations,
                   tr.stop == COFI_STOP_SIGNAL ? "signal" : "--max-time", a.ckpt_path, a.ckpt_path);
    } else if (!rc) {
        cofi_timer_start(&tm, COFI_TIME_IO);
        cofi_h5 f;
        rc = cofi_h5_create(c, a.out, &f);
        if (!rc) {
            rc = cofi_write_model(&f, &M, &ids);
            if (!rc) rc = cofi_write_run_attrs(&f, &tr, &x.prov);
            if (!rc) rc = cofi_h5_commit(&f);
            else cofi_h5_close(&f);
        }
        cofi_timer_stop(&tm, COFI_TIME_IO);
        if (!rc && a.ckpt_given) rc = write_checkpoint(&tr, &x);
    }
    cofi_timer_stop(&tm, COFI_TIME_TOTAL);
    if (!rc && a.metrics) {
        cofi_metrics_info mi = {a.ratings, stopped ? a.ckpt_path : a.out, steps_before};
        rc = cofi_metrics_write(c, a.metrics, &tr, &tm, &mi);
    }
    if (!rc && !stopped && c->rank == 0)
        printf("summary: %" PRId64 " iterations, final cost %.10g, train RMSE %.6f; model "
               "written to '%s'\n", tr.t, tr.cost[tr.history_len - 1],
               tr.rmse[tr.history_len - 1], a.out);
    if (!rc) rc = cli_print_times(c, &tm);
    cofi_trainer_free(&tr);
    cofi_model_free(&M);
    cofi_ratings_free(&R);
    cofi_ids_free(&ids);
    if (!rc && stopped) return COFI_CMD_STOPPED;
    return rc;
}
