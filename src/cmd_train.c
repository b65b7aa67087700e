/* cmd_train.c - `cofi train`: read ratings, initialize, train, write the model. */
#include "cli.h"
#include "cofi/error.h"
#include "cofi/io.h"
#include "cofi/sysmem.h"
#include "cofi/train.h"

#include <math.h>
#include <omp.h>
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
    "  -o, --output MODEL        model file to write (HDF5)\n"
    "  -k, --features K          latent features (default 100)\n"
    "  -l, --lambda L            regularization, >= 0 (default 1.3)\n"
    "  -a, --learning-rate A     step size, > 0 (default 0.1)\n"
    "  -T, --iterations T        optimizer steps, >= 0 (default 100)\n"
    "      --optimizer NAME      adam (default) or gd (plain gradient descent)\n"
    "      --beta1 B1            Adam beta_1 (default 0.9)\n"
    "      --beta2 B2            Adam beta_2 (default 0.999)\n"
    "      --epsilon E           Adam epsilon (default 1e-7)\n"
    "      --seed S              seed of the N(0, 1) initial X, W, b (default 1)\n"
    "      --init FILE:GROUP     start from datasets X, W, b in GROUP of FILE, e.g. a\n"
    "                            model's /model (GROUP defaults to /model)\n"
    "      --print-every N       a progress row every N iterations (default 10; 0: none)\n"
    "      --comm MODE           allreduce (default) or overlap (nonblocking allreduce\n"
    "                            overlapped with the update of X); same results\n"
    "      --threads N           OpenMP threads per rank (default OMP_NUM_THREADS)\n"
    "  -h, --help                this text\n"
    "\n"
    "The progress table shows, for iteration t, the cost and train RMSE before step\n"
    "t + 1 (the last row: after the final step) and the seconds since training began.\n"
    "The summary splits time into compute, allreduce and I/O (min/mean/max over ranks).\n";

typedef struct {
    const char *ratings, *out, *init_file;
    char init_group[COFI_PATH_MAX];
    char init_path[COFI_PATH_MAX];
    int k_given;
    cofi_train_opts o;
} train_args;

static int parse_init(const cofi_cmd *cmd, const char *s, train_args *a)
{
    const char *colon = strrchr(s, ':');
    if (colon && colon[1] != '\0') {
        size_t n = (size_t)(colon - s);
        if (n == 0 || n >= sizeof a->init_path)
            return cli_usage(cmd, "--init needs FILE:GROUP, got '%s'", s);
        memcpy(a->init_path, s, n);
        a->init_path[n] = '\0';
        snprintf(a->init_group, sizeof a->init_group, "%s%s", colon[1] == '/' ? "" : "/",
                 colon + 1);
    } else {
        snprintf(a->init_path, sizeof a->init_path, "%.*s", (int)(colon ? colon - s : (long)strlen(s)), s);
        snprintf(a->init_group, sizeof a->init_group, "/model");
    }
    a->init_file = a->init_path;
    return COFI_OK;
}

static int parse_args(const cofi_cmd *cmd, int argc, char **argv, train_args *a, int *help_shown)
{
    static const struct option opts[] = {
        {"output", required_argument, 0, 'o'},     {"features", required_argument, 0, 'k'},
        {"lambda", required_argument, 0, 'l'},     {"learning-rate", required_argument, 0, 'a'},
        {"iterations", required_argument, 0, 'T'}, {"optimizer", required_argument, 0, 'O'},
        {"beta1", required_argument, 0, '1'},      {"beta2", required_argument, 0, '2'},
        {"epsilon", required_argument, 0, 'e'},    {"seed", required_argument, 0, 's'},
        {"init", required_argument, 0, 'i'},       {"print-every", required_argument, 0, 'p'},
        {"comm", required_argument, 0, 'c'},       {"threads", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
    int ch;
    optind = 1;
    while ((ch = cli_getopt(cmd, argc, argv, ":o:k:l:a:T:h", opts)) != -1) {
        int rc = COFI_OK;
        cofi_train_opts *o = &a->o;
        switch (ch) {
        case 'o': a->out = optarg; break;
        case 'k':
            rc = cli_idx(cmd, "--features", optarg, 1, 100000, &o->k);
            a->k_given = 1;
            break;
        case 'l': rc = cli_val(cmd, "--lambda", optarg, 0, 0, &o->lambda); break;
        case 'a': rc = cli_val(cmd, "--learning-rate", optarg, 0, 1, &o->optim.learning_rate); break;
        case 'T': rc = cli_idx(cmd, "--iterations", optarg, 0, COFI_IDX_MAX / 2, &o->iterations); break;
        case 'O':
            rc = cofi_optim_parse(optarg, &o->optim.kind);
            if (rc) rc = COFI_ERR_USAGE;
            break;
        case '1':
            rc = cli_val(cmd, "--beta1", optarg, 0, 0, &o->optim.beta1);
            if (!rc && o->optim.beta1 >= 1) rc = cli_usage(cmd, "--beta1 must be in [0, 1)");
            break;
        case '2':
            rc = cli_val(cmd, "--beta2", optarg, 0, 0, &o->optim.beta2);
            if (!rc && o->optim.beta2 >= 1) rc = cli_usage(cmd, "--beta2 must be in [0, 1)");
            break;
        case 'e': rc = cli_val(cmd, "--epsilon", optarg, 0, 1, &o->optim.epsilon); break;
        case 's': rc = cli_u64(cmd, "--seed", optarg, &o->seed); break;
        case 'i': rc = parse_init(cmd, optarg, a); break;
        case 'p': rc = cli_idx(cmd, "--print-every", optarg, 0, COFI_IDX_MAX, &o->print_every); break;
        case 'c':
            if (!strcmp(optarg, "allreduce")) o->comm_mode = COFI_COMM_ALLREDUCE;
            else if (!strcmp(optarg, "overlap")) o->comm_mode = COFI_COMM_OVERLAP;
            else rc = cli_usage(cmd, "--comm must be allreduce or overlap, got '%s'", optarg);
            break;
        case 't': rc = cli_threads(cmd, optarg); break;
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
    const char *inputs[] = {a->ratings, a->init_file, NULL};
    return cli_output_not_input(a->out, inputs);
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

/* Every option that produced the model, as root attributes. */
static int write_attrs(cofi_h5 *f, const train_args *a, const cofi_trainer *tr)
{
    const cofi_train_opts *o = &tr->opts;
    int rc = cofi_h5_attr_set_val(f, "/", "lambda", o->lambda);
    if (!rc) rc = cofi_h5_attr_set_val(f, "/", "learning_rate", o->optim.learning_rate);
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "iterations", tr->t);
    if (!rc) rc = cofi_h5_attr_set_str(f, "/", "optimizer", cofi_optim_name(o->optim.kind));
    if (!rc) rc = cofi_h5_attr_set_val(f, "/", "beta1", o->optim.beta1);
    if (!rc) rc = cofi_h5_attr_set_val(f, "/", "beta2", o->optim.beta2);
    if (!rc) rc = cofi_h5_attr_set_val(f, "/", "epsilon", o->optim.epsilon);
    if (!rc) rc = cofi_h5_attr_set_idx(f, "/", "seed", (cofi_idx)o->seed);
    if (!rc) rc = cofi_h5_attr_set_str(f, "/", "init", a->init_file ? a->init_path : "random");
    if (!rc && a->init_file) rc = cofi_h5_attr_set_str(f, "/", "init_group", a->init_group);
    if (!rc) rc = cofi_h5_attr_set_str(f, "/", "ratings", a->ratings);
    if (!rc && tr->history_len > 0) {
        rc = cofi_h5_attr_set_val(f, "/", "final_cost", tr->cost[tr->history_len - 1]);
        if (!rc) rc = cofi_h5_attr_set_val(f, "/", "final_train_rmse", tr->rmse[tr->history_len - 1]);
    }
    return rc;
}

int cofi_cmd_train(const cofi_comm *c, int argc, char **argv)
{
    cofi_cmd cmd = {c, "train"};
    train_args a;
    memset(&a, 0, sizeof a);
    a.o = cofi_train_defaults();
    int help_shown = 0;
    COFI_TRY(parse_args(&cmd, argc, argv, &a, &help_shown));
    if (help_shown) return COFI_OK;

    cofi_timers tm;
    memset(&tm, 0, sizeof tm);
    cofi_timer_start(&tm, COFI_TIME_TOTAL);
    cofi_ratings R;
    cofi_ids ids;
    cofi_model M;
    cofi_trainer tr;
    memset(&M, 0, sizeof M);
    memset(&tr, 0, sizeof tr);

    cofi_timer_start(&tm, COFI_TIME_IO);
    COFI_TRY(cofi_h5_check_output(c, a.out));
    int rc = cofi_read_ratings(c, a.ratings, &R, &ids);
    if (rc) return rc;
    if (a.init_file) {
        cofi_idx ni, nu, k;
        rc = cofi_read_param_dims(c, a.init_file, a.init_group, &ni, &nu, &k);
        if (!rc && (ni != R.n_items || nu != R.n_users))
            rc = cofi_error(COFI_ERR_FORMAT, "'%s': '%s' holds parameters for %" PRIidx " items x %"
                            PRIidx " users; '%s' has %" PRIidx " x %" PRIidx, a.init_file,
                            a.init_group, ni, nu, a.ratings, R.n_items, R.n_users);
        else if (!rc && a.k_given && k != a.o.k)
            rc = cofi_error(COFI_ERR_USAGE, "--features %" PRIidx " disagrees with k = %" PRIidx
                            " in '%s'", a.o.k, k, a.init_file);
        if (!rc) a.o.k = k;
    }
    if (!rc) {
        cofi_idx ld = cofi_padded(a.o.k);
        double bytes = 8.0 * (double)ld * ((double)R.n_local * 4 + (double)R.n_users * 3 +
                                           (double)R.n_users * (a.o.optim.kind == COFI_OPT_ADAM ? 2 : 0));
        rc = cofi_mem_check(bytes, "the model and its optimizer state");
    }
    if (!rc) rc = cofi_model_alloc(&M, R.n_items, R.n_users, a.o.k, R.item_begin, R.n_local);
    rc = cofi_agree(c, rc);
    if (!rc) {
        if (a.init_file) {
            rc = cofi_read_params(c, a.init_file, a.init_group, &M);
            if (!rc) rc = cofi_agree(c, check_finite(&M, a.init_file));
        } else {
            cofi_model_init_random(&M, a.o.seed);
        }
    }
    cofi_timer_stop(&tm, COFI_TIME_IO);
    if (!rc) rc = cofi_trainer_init(&tr, c, &R, &M, &a.o, &tm);
    if (!rc && c->rank == 0)
        printf("cofi train: %" PRIidx " items x %" PRIidx " users, %" PRIidx " ratings; k = %"
               PRIidx ", lambda = %g, %s lr = %g, %" PRIidx " iterations; %d rank%s x %d "
               "thread%s\n", R.n_items, R.n_users, R.nnz, a.o.k, a.o.lambda,
               cofi_optim_name(a.o.optim.kind), a.o.optim.learning_rate, a.o.iterations,
               c->size, c->size > 1 ? "s" : "", omp_get_max_threads(),
               omp_get_max_threads() > 1 ? "s" : "");
    if (!rc) rc = cofi_trainer_run(&tr);
    if (!rc) {
        cofi_timer_start(&tm, COFI_TIME_IO);
        cofi_h5 f;
        rc = cofi_h5_create(c, a.out, &f);
        if (!rc) {
            rc = cofi_write_model(&f, &M, &ids);
            if (!rc) rc = write_attrs(&f, &a, &tr);
            if (!rc) rc = cofi_h5_commit(&f);
            else cofi_h5_close(&f);
        }
        cofi_timer_stop(&tm, COFI_TIME_IO);
    }
    cofi_timer_stop(&tm, COFI_TIME_TOTAL);
    if (!rc) {
        if (c->rank == 0)
            printf("summary: %" PRId64 " iterations, final cost %.10g, train RMSE %.6f; model "
                   "written to '%s'\n", tr.t, tr.cost[tr.history_len - 1],
                   tr.rmse[tr.history_len - 1], a.out);
        rc = cli_print_times(c, &tm);
    }
    cofi_trainer_free(&tr);
    cofi_model_free(&M);
    cofi_ratings_free(&R);
    cofi_ids_free(&ids);
    return rc;
}
