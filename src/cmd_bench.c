/* cmd_bench.c - `cofi bench`: the training iteration on generated data, with
 * the machine's own limits measured in the same run. */
#include "cli.h"
#include "cofi/error.h"
#include "cofi/generate.h"
#include "cofi/partition.h"
#include "cofi/peak.h"
#include "cofi/sysmem.h"
#include "cofi/train.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: cofi bench --ratings N --items I --users U [options]\n"
    "\n"
    "Time training iterations on synthetic data generated in memory (each rank its\n"
    "items, split as cofi train splits a file) and report, on rank 0: seconds per\n"
    "iteration (median after the warm-up), ratings per second, GFLOP/s (6k flops per\n"
    "rating: a dot product and two axpys), the fraction of the double-precision FMA\n"
    "peak and the STREAM triad bandwidth measured by small loops in the same run on\n"
    "the same ranks and threads (the peak before and after the timed iterations, the\n"
    "better kept), the time the rows both passes fetch by index take\n"
    "to fetch alone (the same rows, only summed), the allreduce's bytes per second,\n"
    "the bytes stored per rating and the peak RSS per rank, with the name and L2\n"
    "size of rank 0's CPU.  The last line is the same as JSON ('BENCH {...}').\n"
    "\n"
    "      --ratings N        expected number of ratings (sets the density)\n"
    "      --items I          items\n"
    "      --users U          users\n"
    "  -k, --features K       latent features (default 64)\n"
    "      --zipf S           power-law item popularity (default 0: uniform)\n"
    "  -T, --iterations T     timed iterations (default 10) after --warmup W\n"
    "                         (default 2)\n"
    "      --comm MODE        allreduce, overlap or sharded (see cofi train --help)\n"
    "      --precision P      double (default) or single (ratings, residuals and\n"
    "                         communicated gradients in float32)\n"
    "      --no-peak          skip the peak, STREAM and row-fetch loops\n"
    "      --seed S           data seed (default 1)\n"
    "      --threads N        OpenMP threads per rank\n"
    "  -h, --help             this text\n";

static double median(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
            double t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
    return n == 0 ? NAN : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Generate this rank's share of the data, balanced as the trainer splits a file. */
static int generate_local(const cofi_comm *c, cofi_gen_params *p, int single, cofi_ratings *R)
{
    const int P = c->size;
    cofi_idx n = p->n_items, *ev = cofi_malloc((size_t)P + 1, sizeof *ev, "partition");
    cofi_idx *counts = cofi_calloc((size_t)n + 1, sizeof *counts, "counts");
    cofi_idx *starts = cofi_malloc((size_t)P + 1, sizeof *starts, "partition");
    int rc = cofi_agree(c, ev && counts && starts ? COFI_OK : COFI_ERR_NOMEM);
    if (rc) goto done;
    /* Count ratings per item in even blocks, share them, split them as a file is split. */
    cofi_partition_even(n, P, ev);
    cofi_gen_count(p, ev[c->rank], ev[c->rank + 1], counts + 1 + ev[c->rank]);
    rc = cofi_sum_idx(c, counts + 1, n);
    if (rc) goto done;
    for (cofi_idx i = 0; i < n; i++) counts[i + 1] += counts[i];
    cofi_partition_rows(counts, n, P, starts);
    cofi_idx i0 = starts[c->rank], nl = starts[c->rank + 1] - i0;
    memset(R, 0, sizeof *R);
    R->n_items = n;
    R->n_users = p->n_users;
    R->nnz = counts[n];
    R->item_begin = i0;
    R->n_local = nl;
    R->nnz_begin = counts[i0];
    R->nnz_local = counts[i0 + nl] - counts[i0];
    R->indptr = cofi_malloc((size_t)nl + 1, sizeof *R->indptr, "ratings");
    cofi_idx *user = cofi_malloc((size_t)R->nnz_local + 1, sizeof *user, "ratings");
    cofi_val *rating = cofi_malloc((size_t)R->nnz_local + 1, sizeof *rating, "ratings");
    cofi_val *Xt = cofi_malloc((size_t)(nl * p->true_features + 1), sizeof *Xt, "truth");
    cofi_val *Wt = cofi_malloc((size_t)(p->n_users * p->true_features), sizeof *Wt, "truth");
    rc = R->indptr && user && rating && Xt && Wt ? COFI_OK : COFI_ERR_NOMEM;
    rc = cofi_agree(c, rc);
    if (!rc) {
        for (cofi_idx i = 0; i <= nl; i++) R->indptr[i] = counts[i0 + i] - counts[i0];
        cofi_gen_truth_X(p, i0, i0 + nl, Xt);
        cofi_gen_truth_W(p, Wt);
        cofi_gen_fill(p, i0, i0 + nl, R->indptr, Xt, Wt, user, rating);
        rc = cofi_ratings_store(R, user, rating, single || cofi_ratings_float_exact(rating, R->nnz_local));
        if (!rc) rc = cofi_ratings_build_transpose(R);
        rc = cofi_agree(c, rc);
    }
    cofi_free(user);
    cofi_free(rating);
    cofi_free(Xt);
    cofi_free(Wt);
done:
    cofi_free(ev);
    cofi_free(counts);
    cofi_free(starts);
    return rc;
}

int cofi_cmd_bench(const cofi_comm *c, int argc, char **argv)
{
    cofi_cmd cmd = {c, "bench"};
    static const struct option opts[] = {
        {"ratings", required_argument, 0, 'n'},  {"items", required_argument, 0, 'I'},
        {"users", required_argument, 0, 'U'},    {"features", required_argument, 0, 'k'},
        {"zipf", required_argument, 0, 'z'},     {"iterations", required_argument, 0, 'T'},
        {"warmup", required_argument, 0, 'w'},   {"comm", required_argument, 0, 'c'},
        {"precision", required_argument, 0, 'p'}, {"no-peak", no_argument, 0, 'P'},
        {"seed", required_argument, 0, 's'},     {"threads", required_argument, 0, 't'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    cofi_gen_params g = cofi_gen_defaults();
    cofi_train_opts o = cofi_train_defaults();
    o.k = 64;
    o.lambda = 0.1;
    o.print_every = 0;
    o.init_scale = 0.1;
    o.mu_mode = COFI_MU_MEAN;
    cofi_idx nnz_want = 0, T = 10, warm = 2;
    int peak = 1, single = 0;
    int ch;
    optind = 1;
    while ((ch = cli_getopt(&cmd, argc, argv, ":k:T:h", opts)) != -1) {
        int rc = COFI_OK;
        switch (ch) {
        case 'n': rc = cli_idx(&cmd, "--ratings", optarg, 1, COFI_IDX_MAX, &nnz_want); break;
        case 'I': rc = cli_idx(&cmd, "--items", optarg, 1, COFI_IDX_MAX, &g.n_items); break;
        case 'U': rc = cli_idx(&cmd, "--users", optarg, 1, COFI_IDX_MAX, &g.n_users); break;
        case 'k': rc = cli_idx(&cmd, "--features", optarg, 1, 100000, &o.k); break;
        case 'z': rc = cli_val(&cmd, "--zipf", optarg, 0, 0, &g.zipf); break;
        case 'T': rc = cli_idx(&cmd, "--iterations", optarg, 1, 1000000, &T); break;
        case 'w': rc = cli_idx(&cmd, "--warmup", optarg, 0, 1000000, &warm); break;
        case 'c':
            if (cofi_comm_mode_parse(optarg, &o.comm_mode)) rc = COFI_ERR_USAGE;
            break;
        case 'p':
            if (!strcmp(optarg, "single")) single = 1;
            else if (strcmp(optarg, "double")) rc = cli_usage(&cmd, "--precision must be double or single");
            break;
        case 'P': peak = 0; break;
        case 's': rc = cli_u64(&cmd, "--seed", optarg, &g.seed); break;
        case 't': rc = cli_threads(&cmd, optarg); break;
        case 'h': cli_help(&cmd, help); return COFI_OK;
        default: return COFI_ERR_USAGE;
        }
        if (rc) return rc;
    }
    if (optind < argc) return cli_usage(&cmd, "unexpected argument '%s'", argv[optind]);
    if (!nnz_want || !g.n_items || !g.n_users)
        return cli_usage(&cmd, "--ratings, --items and --users are required");
    double density = (double)nnz_want / ((double)g.n_items * (double)g.n_users);
    if (density > 1) return cli_usage(&cmd, "--ratings is more than --items x --users");
    g.missing = 1.0 - density;
    g.noise = 0.5;
    cofi_gen_prepare(&g);
    o.precision_single = single;
    COFI_TRY(cli_check_load(c, "cofi bench"));

    cofi_ratings R;
    cofi_model M;
    cofi_trainer tr;
    cofi_timers tm;
    memset(&tm, 0, sizeof tm);
    memset(&M, 0, sizeof M);
    memset(&tr, 0, sizeof tr);
    double t0 = cofi_now();
    COFI_TRY(generate_local(c, &g, single, &R));
    double gen_secs = cofi_now() - t0;
    o.iterations = warm + T;
    int rc = cofi_model_alloc(&M, R.n_items, R.n_users, o.k, R.item_begin, R.n_local);
    rc = cofi_agree(c, rc);
    if (!rc) {
        cofi_model_init_random(&M, 1, o.init_scale);
        rc = cofi_trainer_init(&tr, c, &R, &M, &o, NULL, &tm);
    }
    if (!rc) rc = cofi_trainer_prepare(&tr, 1);
    /* The FMA peak is measured before the timed iterations as well as after
     * them, and the better is kept: a slow moment of a shared machine that
     * covers one set of loops would lower the peak and flatter the fraction. */
    rc = cofi_agree(c, rc);
    double fma_before = 0;
    if (!rc && peak) {
        cofi_barrier(c);
        cofi_val v = cofi_peak_fma_gflops();
        rc = cofi_sum_val(c, &v, 1);
        fma_before = v;
    }
    memset(&tm, 0, sizeof tm);
    if (!rc) rc = cofi_trainer_run(&tr);
    if (!rc && tr.stop == COFI_STOP_DIVERGED) /* decided from reduced values: on every rank */
        rc = cofi_error(COFI_ERR_VALUE, "training diverged at iteration %" PRId64 " (the cost is "
                        "not finite), so the timings would not be of a full run", tr.t);
    if (rc) goto done;

    /* Memory of the run itself, before the STREAM arrays. */
    double rss = cofi_peak_rss();
    /* The machine's limits, measured now, on every rank at once. */
    double fma = 0, fma_after = 0, triad = 0, rows_s = 0;
    if (peak) {
        cofi_barrier(c);
        fma = cofi_peak_fma_gflops();
        cofi_barrier(c);
        triad = cofi_stream_triad_gbs((size_t)1 << 23);
        cofi_val lim[2] = {fma, triad};
        rc = cofi_sum_val(c, lim, 2);
        fma_after = lim[0], triad = lim[1];
        fma = fma_after > fma_before ? fma_after : fma_before;
        /* The rows the two passes fetch by index (W's by user in the item
         * pass, X's by item in the user pass), fetched alone. */
        cofi_barrier(c);
        rows_s = cofi_row_gather_seconds(M.W, M.ld, R.user, R.nnz_local) +
                 cofi_row_gather_seconds(M.X, M.ld, R.titem, R.nnz_local);
        cofi_stats(c, rows_s, NULL, NULL, &rows_s);
    }
    double it[COFI_TIME_COUNT];
    /* per-iteration figures from rank 0's clock (the ranks meet every iteration) */
    double *secs = cofi_malloc((size_t)T, sizeof *secs, "timings");
    if (!secs) rc = COFI_ERR_NOMEM;
    rc = cofi_agree(c, rc);
    if (rc) goto done;
    for (cofi_idx t = 0; t < T; t++) secs[t] = tr.iter_seconds[warm + t];
    double med = median(secs, (int)T);
    cofi_free(secs);
    cofi_bcast(c, &med, sizeof med, 0);
    for (int i = 0; i < COFI_TIME_COUNT; i++) {
        double mx;
        cofi_stats(c, tm.elapsed[i] / (double)(warm + T), NULL, NULL, &mx);
        it[i] = mx;
    }
    double rss_max, bpr_max;
    double bpr = cofi_ratings_bytes(&R) + (single ? sizeof(float) : sizeof(cofi_val));
    cofi_stats(c, rss, NULL, NULL, &rss_max);
    cofi_stats(c, bpr, NULL, NULL, &bpr_max);
    if (c->rank == 0) {
        const double flops = 6.0 * (double)o.k * (double)R.nnz;
        const double gflops = flops / med / 1e9;
        const double payload = c->size > 1 ? cofi_trainer_payload_bytes(&tr) : 0.0;
        const double model_bytes = (double)R.nnz * (bpr_max + 2.0 * 8.0 * (double)M.ld);
        printf("cofi bench: %" PRIidx " ratings (%" PRIidx " items x %" PRIidx " users, zipf %g), "
               "k = %" PRIidx "\n  %s, %s; %d rank%s x %d thread%s, %s; generated in %.2f s\n",
               R.nnz, R.n_items, R.n_users, g.zipf, o.k, cofi_comm_mode_name(o.comm_mode),
               single ? "single" : "double", c->size, c->size > 1 ? "s" : "",
               omp_get_max_threads(), omp_get_max_threads() > 1 ? "s" : "", cofi_simd_target(),
               gen_secs);
        char cpu[128];
        double l2;
        cofi_cpu_describe(cpu, sizeof cpu, &l2);
        if (l2 > 0) printf("  CPU (rank 0): %.50s, L2 %.0f KiB\n", cpu, l2 / 1024);
        else printf("  CPU (rank 0): %.50s\n", cpu);
        if (!cofi_build_optimized())
            printf("  warning: cofi built without optimization (%s): timings mean nothing\n",
                   cofi_build_type());
        printf("  seconds per iteration (median of %" PRIidx ")  %.6f\n", T, med);
        printf("  ratings per second                   %.4g\n", (double)R.nnz / med);
        printf("  GFLOP/s (6k flops per rating)        %.3f\n", gflops);
        if (peak) {
            printf("  FMA peak GFLOP/s (measured)          %.2f  -> %.1f%% of peak\n", fma,
                   100 * gflops / fma);
            if (fabs(fma_before - fma_after) > 0.1 * fma)
                printf("  note: peak %.1f GFLOP/s before the run, %.1f after: the machine's\n"
                       "  speed changed; compare the medians of several runs\n",
                       fma_before, fma_after);
            printf("  STREAM triad GB/s (measured)         %.2f  -> rows-model %.2f GB/s, %.1f%%\n",
                   triad, model_bytes / med / 1e9, 100 * model_bytes / med / 1e9 / triad);
            printf("  row fetches alone s (measured)       %.6f  -> %.1f%% of an iteration\n", rows_s,
                   100 * rows_s / med);
        }
        printf("  compute / allreduce s per iteration  %.6f / %.6f (max over ranks)\n",
               it[COFI_TIME_COMPUTE], it[COFI_TIME_ALLREDUCE]);
        printf("  allreduce payload                    %.0f bytes -> %.3g bytes/s\n", payload,
               it[COFI_TIME_ALLREDUCE] > 0 ? payload / it[COFI_TIME_ALLREDUCE] : 0.0);
        printf("  bytes stored per rating              %.1f (beyond the model)\n", bpr_max);
        printf("  peak RSS per rank                    %.1f MiB (max)\n", rss_max / 1048576.0);
        printf("BENCH {\"nnz\": %" PRIidx ", \"items\": %" PRIidx ", \"users\": %" PRIidx
               ", \"zipf\": %g, \"k\": %" PRIidx ", \"ranks\": %d, \"threads\": %d, \"comm\": \"%s\", "
               "\"precision\": \"%s\", \"simd\": \"%s\", \"build\": \"%s\", \"sec_per_iter\": %.9g, "
               "\"ratings_per_sec\": %.6g, \"gflops\": %.6g, \"peak_gflops\": %.6g, "
               "\"peak_gflops_before\": %.6g, \"peak_gflops_after\": %.6g, "
               "\"peak_fraction\": %.6g, \"triad_gbs\": %.6g, \"model_gbs\": %.6g, "
               "\"rows_sec\": %.9g, \"compute_sec\": %.9g, \"allreduce_sec\": %.9g, "
               "\"allreduce_bytes\": %.0f, \"allreduce_bytes_per_sec\": %.6g, \"bytes_per_rating\": %.3f, "
               "\"peak_rss_bytes\": %.0f, \"final_rmse\": %.9g, \"cpu\": \"%s\", \"l2_bytes\": %.0f}\n",
               R.nnz, R.n_items, R.n_users, g.zipf, o.k, c->size, omp_get_max_threads(),
               cofi_comm_mode_name(o.comm_mode), single ? "single" : "double", cofi_simd_target(),
               cofi_build_type(), med, (double)R.nnz / med, gflops, fma, fma_before, fma_after,
               peak ? gflops / fma : 0.0,
               triad, model_bytes / med / 1e9, rows_s, it[COFI_TIME_COMPUTE],
               it[COFI_TIME_ALLREDUCE], payload,
               it[COFI_TIME_ALLREDUCE] > 0 ? payload / it[COFI_TIME_ALLREDUCE] : 0.0, bpr_max,
               rss_max, tr.rmse[tr.history_len - 1], cpu, l2);
    }
done:
    cofi_trainer_free(&tr);
    cofi_model_free(&M);
    cofi_ratings_free(&R);
    return rc;
}
