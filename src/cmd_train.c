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
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: cofi train RATINGS -o MODEL [options]\n"
    "\n"
    "Fit y_hat[i][j] = mu + item_bias[i] + x_i . w_j + b_j to the ratings by\n"
    "minimizing\n"
    "  J = 1/2 sum_rated (y_hat - y)^2 + lambda/2 (sum r_i |x_i|^2 + sum r_j |w_j|^2)\n"
    "      + lambda_bias/2 (|b|^2 + |item_bias|^2)\n"
    "(r = 1, or each row's number of ratings with --reg weighted).  Item rows are\n"
    "split across MPI ranks (balanced by their ratings plus a cost per item); W and\n"
    "b are replicated; one allreduce per iteration combines their gradients, the\n"
    "cost and the metrics.\n"
    "\n"
    "presets:\n"
    "      --preset NAME         default (tuned for held-out accuracy, see README:\n"
    "                            k 64, lambda 0.12 weighted, lambda-bias 1, mu mean,\n"
    "                            learned item bias, clip auto, Adam lr 0.05,\n"
    "                            100 iterations, init-scale 0.1) or\n"
    "                            seed (the notebook: k 100, lambda 1.3, Adam lr 0.1,\n"
    "                            100 iterations, no offsets, no item bias; reported\n"
    "                            RMSE and predictions clipped to the ratings' range);\n"
    "                            options given explicitly override the preset\n"
    "model:\n"
    "  -k, --features K          latent features\n"
    "  -l, --lambda L            ridge on X and W, >= 0\n"
    "      --reg MODE            plain or weighted (lambda times each row's ratings)\n"
    "      --lambda-bias L       ridge on user and learned item biases, >= 0\n"
    "      --mu MODE             global offset: zero or mean (of training ratings)\n"
    "      --item-bias MODE      zero, mean (each item's mean residual, fixed) or\n"
    "                            learned\n"
    "      --clip RANGE          auto (the training ratings' min and max), none, or\n"
    "                            LO,HI: reported and evaluated predictions are\n"
    "                            clipped to it\n"
    "  -a, --learning-rate A     step size, > 0\n"
    "  -T, --iterations T        optimizer steps in all, >= 0\n"
    "      --optimizer NAME      adam or gd (plain gradient descent)\n"
    "      --beta1 B1, --beta2 B2, --epsilon E\n"
    "                            Adam's constants (0.9, 0.999, 1e-7)\n"
    "      --seed S              seed of the random initial X, W, b (default 1)\n"
    "      --init-scale S        their standard deviation: N(0, S^2)\n"
    "      --init FILE:GROUP     start from datasets X, W, b in GROUP of FILE, e.g.\n"
    "                            a model's /model (GROUP defaults to /model)\n"
    "validation:\n"
    "      --test FILE           a ratings file converted on its own, matched by\n"
    "                            ids; pairs unknown to training are predicted from\n"
    "                            offsets\n"
    "      --holdout F           hold out a fraction F of the ratings, chosen by a\n"
    "                            hash of (item id, user id, seed): the same for any\n"
    "                            rank count\n"
    "      --eval-every N        validation RMSE and MAE every N iterations\n"
    "                            (default 10; needs --test or --holdout)\n"
    "      --patience N          stop after N evaluations without improvement\n"
    "                            (0: never; needs --test or --holdout); with\n"
    "                            validation the best model is saved, not the last\n"
    "checkpoints:\n"
    "      --checkpoint FILE     where checkpoints go (default MODEL with .ckpt.h5)\n"
    "      --checkpoint-every N  write one every N iterations (default 0: only when\n"
    "                            stopped by a signal or --max-time, and at the end\n"
    "                            if --checkpoint is given)\n"
    "      --restart FILE        continue from a checkpoint to --iterations (options\n"
    "                            are taken from it; giving a different one is an\n"
    "                            error)\n"
    "      --max-time SECONDS    stop with a checkpoint before this much wall time\n"
    "                            has passed since start (exit code 75)\n"
    "  On SIGTERM, SIGUSR1 or SIGINT the ranks agree to stop after the iteration,\n"
    "  write a checkpoint and exit with code 75.  A second signal kills at once.\n"
    "  A cost or checkpoint that is no longer finite (the learning rate is too\n"
    "  large) stops the run with exit code 1: no model, an earlier checkpoint kept.\n"
    "output:\n"
    "  -o, --output MODEL        model file to write (HDF5)\n"
    "      --print-every N       a progress row every N iterations (default 10;\n"
    "                            0: none)\n"
    "      --metrics FILE.json   record configuration, per-iteration times and\n"
    "                            metrics, the time split per rank, bytes\n"
    "                            communicated and peak memory\n"
    "performance:\n"
    "      --comm MODE           allreduce (default); overlap (nonblocking\n"
    "                            allreduce overlapped with the update of X, same\n"
    "                            results); sharded (reduce-scatter, Adam on this\n"
    "                            rank's 1/P of W and b, allgather: the allreduce's\n"
    "                            traffic, 1/P of its update work and optimizer\n"
    "                            state; equal up to round-off)\n"
    "      --precision P         double (default) or single: ratings, residuals and\n"
    "                            the communicated gradients in float (half the\n"
    "                            traffic); parameters and optimizer state stay\n"
    "                            double\n"
    "      --threads N           OpenMP threads per rank (default OMP_NUM_THREADS)\n"
    "  -h, --help                this text\n"
    "\n"
    "The progress table shows, for iteration t, the cost and the train RMSE and MAE\n"
    "(of clipped predictions) before step t + 1, validation RMSE and MAE when\n"
    "evaluated, and the seconds since training began; the last row is after the\n"
    "final step.  The summary splits time into compute, allreduce and I/O\n"
    "(min/mean/max over ranks).\n";

/* Options that change the result: a restart must not change them. */
enum {
    G_K, G_LAMBDA, G_LR, G_OPT, G_B1, G_B2, G_EPS, G_SEED, G_INIT, G_REG, G_LB, G_MU, G_IB,
    G_CLIP, G_EVAL, G_PATIENCE, G_TEST, G_HOLDOUT, G_SCALE, G_PREC, G_COUNT
};

typedef struct {
    const char *ratings, *out, *init_file, *restart, *metrics, *test;
    double holdout;
    char init_group[COFI_PATH_MAX];
    char init_path[COFI_PATH_MAX];
    char ckpt_path[COFI_PATH_MAX];
    int ckpt_given;
    cofi_idx ckpt_every;
    int given[G_COUNT];
    const char *preset; /* NULL unless --preset was given */
    cofi_train_opts o;
} train_args;

/* The default preset (chosen by the measurements in README, 'Accuracy'). */
#define COFI_DEFAULT_K 64
#define COFI_DEFAULT_LAMBDA 0.12
#define COFI_DEFAULT_WEIGHTED 1
#define COFI_DEFAULT_LAMBDA_BIAS 1.0
#define COFI_DEFAULT_LR 0.05
#define COFI_DEFAULT_ITERATIONS 100
#define COFI_DEFAULT_INIT_SCALE 0.1

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
    sigaction(SIGINT, &sa, NULL); /* Ctrl-C without mpirun (which sends SIGTERM) */
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

/* --clip auto | none | LO,HI */
static int parse_clip(const cofi_cmd *cmd, const char *s, cofi_train_opts *o)
{
    if (!strcmp(s, "auto")) return o->clip_mode = COFI_CLIP_AUTO, COFI_OK;
    if (!strcmp(s, "none")) return o->clip_mode = COFI_CLIP_NONE, COFI_OK;
    char *end;
    double lo = strtod(s, &end), hi = 0;
    if (end != s && *end == ',') {
        char *e2;
        hi = strtod(end + 1, &e2);
        if (e2 != end + 1 && *e2 == '\0' && isfinite(lo) && isfinite(hi) && lo < hi) {
            o->clip_mode = COFI_CLIP_RANGE;
            o->clip_lo = lo;
            o->clip_hi = hi;
            return COFI_OK;
        }
    }
    return cli_usage(cmd, "--clip must be auto, none or LO,HI with LO < HI, got '%s'", s);
}

/* The option values a preset stands for. */
static int apply_preset(const cofi_cmd *cmd, const char *name, cofi_train_opts *o)
{
    *o = cofi_train_defaults(); /* the notebook's model */
    if (!strcmp(name, "seed")) {
        o->clip_mode = COFI_CLIP_AUTO; /* reporting only: training is unchanged */
        return COFI_OK;
    }
    if (strcmp(name, "default"))
        return cli_usage(cmd, "--preset must be default or seed, got '%s'", name);
    /* Tuned on MovieLens for held-out RMSE (README, 'Accuracy'). */
    o->k = COFI_DEFAULT_K;
    o->lambda = COFI_DEFAULT_LAMBDA;
    o->weighted = COFI_DEFAULT_WEIGHTED;
    o->lambda_bias = COFI_DEFAULT_LAMBDA_BIAS;
    o->mu_mode = COFI_MU_MEAN;
    o->item_bias = COFI_BIAS_LEARNED;
    o->clip_mode = COFI_CLIP_AUTO;
    o->optim.learning_rate = COFI_DEFAULT_LR;
    o->iterations = COFI_DEFAULT_ITERATIONS;
    o->init_scale = COFI_DEFAULT_INIT_SCALE;
    return COFI_OK;
}

static int parse_args(const cofi_cmd *cmd, int argc, char **argv, train_args *a, int *help_shown)
{
    /* The preset first, so that explicit options override it wherever they are. */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "--preset") && i + 1 < argc) a->preset = argv[i + 1];
        else if (!strncmp(argv[i], "--preset=", 9)) a->preset = argv[i] + 9;
    }
    COFI_TRY(apply_preset(cmd, a->preset ? a->preset : "default", &a->o));
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
        {"metrics", required_argument, 0, 'J'},     {"preset", required_argument, 0, 'P'},
        {"test", required_argument, 0, 'V'},        {"holdout", required_argument, 0, 'H'},
        {"eval-every", required_argument, 0, 'v'},  {"patience", required_argument, 0, 'x'},
        {"mu", required_argument, 0, 'm'},          {"item-bias", required_argument, 0, 'I'},
        {"lambda-bias", required_argument, 0, 'B'}, {"reg", required_argument, 0, 'g'},
        {"clip", required_argument, 0, 'L'},        {"init-scale", required_argument, 0, 'S'},
        {"precision", required_argument, 0, 'q'},
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
            if (cofi_comm_mode_parse(optarg, &o->comm_mode)) rc = COFI_ERR_USAGE;
            break;
        case 'q':
            if (!strcmp(optarg, "single")) o->precision_single = 1;
            else if (!strcmp(optarg, "double")) o->precision_single = 0;
            else rc = cli_usage(cmd, "--precision must be double or single, got '%s'", optarg);
            a->given[G_PREC] = 1;
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
        case 'P': break; /* applied before parsing */
        case 'V':
            a->test = optarg;
            a->given[G_TEST] = 1;
            break;
        case 'H':
            rc = cli_val(cmd, "--holdout", optarg, 0, 1, &a->holdout);
            if (!rc && a->holdout >= 1) rc = cli_usage(cmd, "--holdout must be in (0, 1), got '%s'", optarg);
            a->given[G_HOLDOUT] = 1;
            break;
        case 'v':
            rc = cli_idx(cmd, "--eval-every", optarg, 1, COFI_IDX_MAX, &o->eval_every);
            a->given[G_EVAL] = 1;
            break;
        case 'x':
            rc = cli_idx(cmd, "--patience", optarg, 0, COFI_IDX_MAX, &o->patience);
            a->given[G_PATIENCE] = 1;
            break;
        case 'm':
            if (cofi_mu_mode_parse(optarg, &o->mu_mode) != COFI_OK) rc = COFI_ERR_USAGE;
            a->given[G_MU] = 1;
            break;
        case 'I':
            if (cofi_bias_mode_parse(optarg, &o->item_bias) != COFI_OK) rc = COFI_ERR_USAGE;
            a->given[G_IB] = 1;
            break;
        case 'B':
            rc = cli_val(cmd, "--lambda-bias", optarg, 0, 0, &o->lambda_bias);
            a->given[G_LB] = 1;
            break;
        case 'g':
            if (!strcmp(optarg, "plain")) o->weighted = 0;
            else if (!strcmp(optarg, "weighted")) o->weighted = 1;
            else rc = cli_usage(cmd, "--reg must be plain or weighted, got '%s'", optarg);
            a->given[G_REG] = 1;
            break;
        case 'L': rc = parse_clip(cmd, optarg, o); a->given[G_CLIP] = 1; break;
        case 'S':
            rc = cli_val(cmd, "--init-scale", optarg, 0, 0, &o->init_scale);
            a->given[G_SCALE] = 1;
            break;
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
    if (a->test && a->given[G_HOLDOUT])
        return cli_usage(cmd, "--test and --holdout cannot be combined");
    /* (a restart takes its validation data from the checkpoint) */
    if (!a->restart && !a->test && !a->given[G_HOLDOUT]) {
        if (a->given[G_PATIENCE] && a->o.patience > 0)
            return cli_usage(cmd, "--patience needs validation data: --test FILE or --holdout F");
        if (a->given[G_EVAL])
            return cli_usage(cmd, "--eval-every needs validation data: --test FILE or --holdout F");
    }
    if (!a->ckpt_given) {
        /* MODEL.h5 -> MODEL.ckpt.h5, anything else -> NAME.ckpt.h5 */
        size_t n = strlen(a->out);
        int h5 = n > 3 && strcmp(a->out + n - 3, ".h5") == 0;
        if (n + 9 >= sizeof a->ckpt_path) return cli_usage(cmd, "output path too long");
        snprintf(a->ckpt_path, sizeof a->ckpt_path, "%.*s.ckpt.h5", (int)(h5 ? n - 3 : n), a->out);
    }
    /* (the checkpoint may replace the one restarted from) */
    const char *init = a->init_file ? a->init_file : "", *test = a->test ? a->test : "";
    const char *inputs[] = {a->ratings, init, test, a->restart ? a->restart : "", NULL};
    const char *model[] = {a->out, NULL}, *outputs[] = {a->out, a->ckpt_path, NULL};
    COFI_TRY(cli_check_output(a->out, inputs, NULL));
    inputs[3] = NULL;
    COFI_TRY(cli_check_output(a->ckpt_path, inputs, model));
    inputs[3] = a->restart ? a->restart : "";
    return a->metrics ? cli_check_output(a->metrics, inputs, outputs) : COFI_OK;
}

/* On --restart the checkpoint's options rule; a given option must agree. */
static int merge_restart(const cofi_cmd *cmd, train_args *a, const cofi_checkpoint_info *ci)
{
    const cofi_train_opts *c = &ci->opts;
    cofi_train_opts *o = &a->o;
    /* preset: the option is one a preset sets, so a given --preset counts
     * as giving it when it is not given explicitly */
    struct {
        int g;
        int same;
        const char *name;
        int preset;
    } checks[] = {
        {G_K, o->k == c->k, "--features", 1},
        {G_LAMBDA, o->lambda == c->lambda, "--lambda", 1},
        {G_LR, o->optim.learning_rate == c->optim.learning_rate, "--learning-rate", 1},
        {G_OPT, o->optim.kind == c->optim.kind, "--optimizer", 0},
        {G_B1, o->optim.beta1 == c->optim.beta1, "--beta1", 0},
        {G_B2, o->optim.beta2 == c->optim.beta2, "--beta2", 0},
        {G_EPS, o->optim.epsilon == c->optim.epsilon, "--epsilon", 0},
        {G_SEED, o->seed == c->seed, "--seed", 0},
        {G_REG, o->weighted == c->weighted, "--reg", 1},
        {G_LB, o->lambda_bias == c->lambda_bias, "--lambda-bias", 1},
        {G_MU, o->mu_mode == c->mu_mode, "--mu", 1},
        {G_IB, o->item_bias == c->item_bias, "--item-bias", 1},
        {G_CLIP, o->clip_mode == c->clip_mode && (o->clip_mode != COFI_CLIP_RANGE ||
                 (o->clip_lo == c->clip_lo && o->clip_hi == c->clip_hi)), "--clip", 1},
        {G_EVAL, o->eval_every == c->eval_every, "--eval-every", 0},
        {G_PATIENCE, o->patience == c->patience, "--patience", 0},
        {G_TEST, a->test && !strcmp(a->test, ci->test), "--test", 0},
        {G_HOLDOUT, a->holdout == ci->holdout, "--holdout", 0},
        {G_PREC, o->precision_single == c->precision_single, "--precision", 0},
        /* (older checkpoints did not record it) */
        {G_SCALE, o->init_scale == c->init_scale || isnan(c->init_scale), "--init-scale", 1},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        if (checks[i].same) continue;
        if (a->given[checks[i].g])
            return cli_usage(cmd, "%s differs from the checkpoint '%s'; a restart continues the "
                             "run with its own options", checks[i].name, a->restart);
        if (a->preset && checks[i].preset)
            return cli_usage(cmd, "--preset %s sets %s to other than the checkpoint '%s' "
                             "has; a restart continues the run with its own options",
                             a->preset, checks[i].name, a->restart);
    }
    cofi_train_opts keep = *o;
    *o = *c;
    /* What may change on a restart: how far to go and how to report. */
    o->iterations = keep.iterations;
    o->print_every = keep.print_every;
    o->max_time = keep.max_time;
    o->comm_mode = keep.comm_mode;
    /* The same validation data as the run being continued. */
    a->holdout = ci->holdout;
    a->test = ci->test[0] ? ci->test : NULL;
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
    int ckpt_timed;     /* a checkpoint has been written (its time is known) */
    int64_t ckpt_step;  /* the steps the last checkpoint written holds; -1: none */
} run_ctx;

/* A checkpoint of the current state, unless some of it is no longer finite
 * (training diverged): then the run stops as diverged and an earlier
 * checkpoint on the path is left as it was. */
static int write_checkpoint(cofi_trainer *tr, run_ctx *x)
{
    int rc = cofi_agree(x->comm, cofi_trainer_finite(tr) ? COFI_OK : COFI_ERR_VALUE);
    if (rc) {
        cofi_error_clear();
        tr->stop = COFI_STOP_DIVERGED;
        return COFI_OK;
    }
    cofi_timer_start(x->tm, COFI_TIME_IO);
    rc = cofi_checkpoint_write(x->comm, x->a->ckpt_path, tr, x->ids, &x->prov);
    cofi_timer_stop(x->tm, COFI_TIME_IO);
    x->ckpt_timed = 1;
    if (!rc) x->ckpt_step = tr->t;
    return rc;
}

/* After every step: the periodic checkpoint.  Under --max-time, also one
 * after the first step, so the time a checkpoint takes is measured, not
 * guessed, before deciding when to stop. */
static int step_hook(cofi_trainer *tr, void *ctx)
{
    run_ctx *x = ctx;
    if (tr->t >= tr->opts.iterations) return COFI_OK;
    if ((x->a->ckpt_every > 0 && tr->t % x->a->ckpt_every == 0) ||
        (tr->opts.max_time > 0 && !x->ckpt_timed))
        return write_checkpoint(tr, x);
    return COFI_OK;
}

/* Validation pairs: held out of the training ratings, or from a --test file
 * matched by ids (moved to the ranks owning their items). */
static int load_validation(const cofi_comm *c, train_args *a, cofi_ratings *R, cofi_ids *ids,
                           cofi_pairs *val, int *have)
{
    *have = 0;
    if (a->holdout > 0) {
        int rc = cofi_split_holdout(R, &ids->items, &ids->users, a->holdout, a->o.seed, val);
        rc = cofi_agree(c, rc);
        if (rc) return rc;
        cofi_idx n[2] = {R->nnz_local, val->n};
        COFI_TRY(cofi_sum_idx(c, n, 2));
        R->nnz = n[0];
        if (c->rank == 0)
            printf("holdout: %" PRIidx " ratings for validation, %" PRIidx " for training\n", n[1],
                   n[0]);
        /* (the sums are the same on every rank, and so is the decision) */
        if (n[0] == 0 || n[1] == 0)
            return cofi_error(COFI_ERR_VALUE, "--holdout %g leaves no ratings for %s (%" PRIidx
                              " in all); %s", a->holdout, n[0] == 0 ? "training" : "validation",
                              n[0] + n[1], n[0] == 0 ? "use a smaller fraction" :
                              "use a larger fraction, or --test with a file of its own");
        *have = 1;
        return COFI_OK;
    }
    if (!a->test) return COFI_OK;
    cofi_strings all_items = {0};
    cofi_strmap im = {0}, um = {0};
    cofi_idx *starts = cofi_malloc((size_t)c->size + 1, sizeof *starts, "partition");
    int rc = cofi_agree(c, starts ? COFI_OK : COFI_ERR_NOMEM);
    if (!rc) rc = cofi_allgather_strings(c, &ids->items, &all_items);
    if (!rc) {
        rc = cofi_strmap_build(&im, &all_items);
        if (!rc) rc = cofi_strmap_build(&um, &ids->users);
        rc = cofi_agree(c, rc);
    }
    if (!rc) {
        cofi_allgather_idx(c, R->item_begin, starts);
        starts[c->size] = R->n_items;
        cofi_idx cnt[3];
        rc = cofi_read_pairs(c, a->test, &im, &um, starts, 0, val, cnt, NULL);
        if (!rc && c->rank == 0)
            printf("test '%s': %" PRIidx " ratings, %" PRIidx " with an item and %" PRIidx
                   " with a user not in training (predicted from offsets)\n", a->test, cnt[0],
                   cnt[1], cnt[2]);
        *have = !rc;
    }
    cofi_strmap_free(&im);
    cofi_strmap_free(&um);
    cofi_strings_free(&all_items);
    cofi_free(starts);
    return rc;
}

int cofi_cmd_train(const cofi_comm *c, int argc, char **argv)
{
    const double t_start = cofi_now();
    cofi_cmd cmd = {c, "train"};
    train_args a;
    memset(&a, 0, sizeof a);
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
    cofi_pairs val;
    memset(&R, 0, sizeof R);
    memset(&ids, 0, sizeof ids);
    memset(&M, 0, sizeof M);
    memset(&tr, 0, sizeof tr);
    memset(&val, 0, sizeof val);

    cofi_timer_start(&tm, COFI_TIME_IO);
    /* Every output, before any work: a stop on a signal writes the checkpoint. */
    COFI_TRY(cofi_h5_check_output(c, a.out));
    COFI_TRY(cofi_h5_check_output(c, a.ckpt_path));
    if (a.metrics) COFI_TRY(cofi_h5_check_output(c, a.metrics));
    int rc = COFI_OK;
    if (a.restart) {
        rc = cofi_checkpoint_read_info(c, a.restart, &ci);
        if (!rc) rc = merge_restart(&cmd, &a, &ci);
        if (rc) return rc;
    }
    rc = cofi_read_ratings(c, a.ratings, &R, &ids);
    if (rc) return rc;
    /* the file's ratings as read (before a holdout or single precision) */
    cofi_idx fp[2] = {R.nnz, cofi_ratings_digest_local(&R)};
    rc = cofi_sum_idx(c, fp + 1, 1);
    if (!rc && a.o.precision_single) rc = cofi_agree(c, cofi_ratings_to_single(&R));
    if (!rc && a.restart && (ci.n_items != R.n_items || ci.n_users != R.n_users))
        rc = cofi_error(COFI_ERR_FORMAT, "checkpoint '%s' is for %" PRIidx " items x %" PRIidx
                        " users; '%s' has %" PRIidx " x %" PRIidx, a.restart, ci.n_items,
                        ci.n_users, a.ratings, R.n_items, R.n_users);
    else if (!rc && a.restart && ci.has_digest && (fp[0] != ci.ratings_nnz || fp[1] != ci.ratings_digest))
        rc = cofi_error(COFI_ERR_FORMAT, "checkpoint '%s' was trained on other ratings than '%s' (%"
                        PRIidx " ratings there, %" PRIidx " here, or other values); restart with "
                        "the ratings it was trained on", a.restart, a.ratings, ci.ratings_nnz, fp[0]);
    int have_val = 0;
    if (!rc) rc = load_validation(c, &a, &R, &ids, &val, &have_val);
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
        double copies = 2 + states + (have_val ? 1 : 0);
        double bytes = 8.0 * (double)ld * ((double)R.n_local + (double)R.n_users) * copies;
        rc = cofi_mem_check(bytes, "the model and its optimizer state");
    }
    if (!rc) rc = cofi_model_alloc(&M, R.n_items, R.n_users, a.o.k, R.item_begin, R.n_local);
    rc = cofi_agree(c, rc);
    if (!rc && a.init_file) {
        rc = cofi_read_params(c, a.init_file, a.init_group, &M);
        if (!rc) rc = cofi_agree(c, check_finite(&M, a.init_file));
    } else if (!rc && !a.restart) {
        cofi_model_init_random(&M, a.o.seed, a.o.init_scale);
    }
    if (!rc) rc = cofi_trainer_init(&tr, c, &R, &M, &a.o, have_val ? &val : NULL, &tm);
    if (!rc && a.restart) rc = cofi_checkpoint_read_state(c, a.restart, &tr);
    else if (!rc) rc = cofi_trainer_prepare(&tr, !a.init_file);
    cofi_timer_stop(&tm, COFI_TIME_IO);

    run_ctx x = {c, &a, &ids,
                 {a.ratings, a.init_file, a.init_file ? a.init_group : NULL, a.test, a.holdout,
                  fp[0], fp[1]},
                 &tm, 0, -1};
    tr.hook = step_hook;
    tr.hook_ctx = &x;
    if (!rc && c->rank == 0) {
        printf("cofi train: %" PRIidx " items x %" PRIidx " users, %" PRIidx " ratings; %d "
               "rank%s x %d thread%s\n", R.n_items, R.n_users, R.nnz, c->size,
               c->size > 1 ? "s" : "", omp_get_max_threads(), omp_get_max_threads() > 1 ? "s" : "");
        printf("  model: k = %" PRIidx ", lambda = %g (%s); mu %s = %.4f, item bias %s\n", a.o.k,
               a.o.lambda, a.o.weighted ? "weighted" : "plain", cofi_mu_mode_name(a.o.mu_mode),
               M.mu, cofi_bias_mode_name(a.o.item_bias));
        printf("  optimizer: %s, lr = %g, %" PRIidx " iterations\n",
               cofi_optim_name(a.o.optim.kind), a.o.optim.learning_rate, a.o.iterations);
        if (cofi_h5_tuning()) printf("  I/O: %s\n", cofi_h5_tuning());
        if (a.restart)
            printf("restarting from '%s' at iteration %" PRId64 "\n", a.restart, tr.t);
    }
    if (!rc) rc = cli_check_load(c, "cofi train");
    int64_t steps_before = tr.t;
    if (!rc) rc = cofi_trainer_run(&tr);

    int stopped = !rc && (tr.stop == COFI_STOP_SIGNAL || tr.stop == COFI_STOP_TIME);
    if (stopped) {
        rc = write_checkpoint(&tr, &x);
        if (!rc && tr.stop == COFI_STOP_DIVERGED) stopped = 0;
        else if (!rc && c->rank == 0)
            printf("stopped at iteration %" PRId64 " of %" PRIidx " (%s); checkpoint written to "
                   "'%s'; continue with: --restart %s\n", tr.t, tr.opts.iterations,
                   tr.stop == COFI_STOP_SIGNAL ? "signal" : "--max-time", a.ckpt_path, a.ckpt_path);
    } else if (!rc && tr.stop != COFI_STOP_DIVERGED) {
        /* The checkpoint continues the run: the last parameters.  The model
         * file gets the best ones when there is validation. */
        if (a.ckpt_given) rc = write_checkpoint(&tr, &x);
    }
    if (!rc && !stopped && tr.stop != COFI_STOP_DIVERGED) {
        cofi_trainer_keep_best(&tr);
        cofi_timer_start(&tm, COFI_TIME_IO);
        cofi_h5 f;
        if (!rc) rc = cofi_h5_create(c, a.out, &f);
        if (!rc) {
            rc = cofi_write_model(&f, &M, &ids);
            if (!rc) rc = cofi_write_run_attrs(&f, &tr, &x.prov);
            if (!rc) rc = cofi_h5_commit(&f);
            else cofi_h5_close(&f);
        }
        cofi_timer_stop(&tm, COFI_TIME_IO);
    }
    cofi_timer_stop(&tm, COFI_TIME_TOTAL);
    if (!rc && a.metrics) {
        cofi_metrics_info mi = {a.ratings,
                                tr.stop == COFI_STOP_DIVERGED ? NULL : stopped ? a.ckpt_path : a.out,
                                steps_before};
        rc = cofi_metrics_write(c, a.metrics, &tr, &tm, &mi);
    }
    const int diverged = !rc && tr.stop == COFI_STOP_DIVERGED;
    if (diverged) {
        /* Every rank took this decision from reduced values. */
        cofi_idx h = tr.history_len - 1;
        char what[96], kept[COFI_MSG_MAX / 2] = "";
        if (!isfinite(tr.cost[h]))
            snprintf(what, sizeof what, "the cost at iteration %" PRIidx " is %s", h,
                     isnan(tr.cost[h]) ? "NaN" : "infinite");
        else
            snprintf(what, sizeof what, "the parameters after iteration %" PRId64
                     " are not all finite", tr.t);
        /* A checkpoint holds the parameters of the step after it was
         * written; the cost at them is known only at that step. */
        if (x.ckpt_step >= 0 && x.ckpt_step < (int64_t)h)
            snprintf(kept, sizeof kept, "; the checkpoint '%.300s' holds iteration %" PRId64
                     " (cost %.10g)", a.ckpt_path, x.ckpt_step, tr.cost[x.ckpt_step]);
        else if (x.ckpt_step >= 0)
            snprintf(kept, sizeof kept, "; the checkpoint '%.300s' holds iteration %" PRId64
                     ", already diverging", a.ckpt_path, x.ckpt_step);
        rc = cofi_error(COFI_ERR_VALUE, "training diverged: %s; no model written%s; try a "
                        "smaller --learning-rate (this run: %g)%s", what, kept,
                        tr.opts.optim.learning_rate, a.metrics ? "; the metrics file has the "
                        "cost history" : "");
    }
    if (!rc && !stopped && c->rank == 0) {
        cofi_idx h = tr.history_len - 1;
        printf("summary: %" PRId64 " iterations%s\n  final cost %.10g, train RMSE %.6f, MAE "
               "%.6f\n", tr.t, tr.stop == COFI_STOP_EARLY ? " (stopped early: no improvement)" : "",
               tr.cost[h], tr.rmse[h], tr.mae[h]);
        if (have_val)
            printf("  best validation RMSE %.6f at iteration %" PRId64 " (saved)\n", tr.best_val,
                   tr.best_step);
        printf("  model written to '%s'\n", a.out);
    }
    if (!rc || diverged) {
        int trc = cli_print_times(c, &tm);
        if (!rc) rc = trc;
    }
    cofi_trainer_free(&tr);
    cofi_model_free(&M);
    cofi_ratings_free(&R);
    cofi_ids_free(&ids);
    cofi_pairs_free(&val);
    if (!rc && stopped) return COFI_CMD_STOPPED;
    return rc;
}
