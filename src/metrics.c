/* metrics.c - the JSON metrics file of a training run. */
#include "cofi/metrics.h"
#include "cofi/error.h"
#include "cofi/h5io.h"
#include "cofi/sysmem.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef COFI_VERSION
#define COFI_VERSION "0.1.0"
#endif

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* JSON has no NaN or Infinity: write null. */
static void json_num(FILE *f, double v)
{
    if (isfinite(v)) fprintf(f, "%.17g", v);
    else fputs("null", f);
}

static void json_array(FILE *f, const double *v, int n)
{
    fputc('[', f);
    for (int i = 0; i < n; i++) {
        if (i) fputs(", ", f);
        json_num(f, v[i]);
    }
    fputc(']', f);
}

static void json_stats(FILE *f, const double *v, int n)
{
    double mn = INFINITY, mx = -INFINITY, sum = 0;
    for (int i = 0; i < n; i++) {
        mn = fmin(mn, v[i]);
        mx = fmax(mx, v[i]);
        sum += v[i];
    }
    fputs("{\"min\": ", f);
    json_num(f, mn);
    fputs(", \"mean\": ", f);
    json_num(f, sum / n);
    fputs(", \"max\": ", f);
    json_num(f, mx);
    fputc('}', f);
}

static const char *stop_name(enum cofi_stop_reason r)
{
    return r == COFI_STOP_SIGNAL ? "signal" : r == COFI_STOP_TIME ? "max-time"
         : r == COFI_STOP_EARLY ? "early" : r == COFI_STOP_DIVERGED ? "diverged" : "done";
}

int cofi_metrics_write(const cofi_comm *c, const char *path, const cofi_trainer *tr,
                       const cofi_timers *tm, const cofi_metrics_info *info)
{
    const int P = c->size;
    enum { N_PER = COFI_TIME_COUNT + 3 };
    double *all = cofi_malloc((size_t)P * N_PER, sizeof *all, "metrics");
    int rc = cofi_agree(c, all ? COFI_OK : COFI_ERR_NOMEM);
    if (rc) {
        cofi_free(all);
        return rc;
    }
    /* Per-rank figures: timers, peak RSS, items, ratings (one allgather each). */
    double mine[N_PER];
    for (int i = 0; i < COFI_TIME_COUNT; i++) mine[i] = tm->elapsed[i];
    mine[COFI_TIME_COUNT] = cofi_peak_rss();
    mine[COFI_TIME_COUNT + 1] = (double)tr->R->n_local;
    mine[COFI_TIME_COUNT + 2] = (double)tr->R->nnz_local;
    for (int v = 0; v < N_PER; v++) cofi_allgather_val(c, mine[v], all + (size_t)v * P);
    if (c->rank == 0) {
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.tmp-%ld", path, (long)getpid());
        FILE *f = fopen(tmp, "w");
        if (!f) {
            rc = cofi_error(COFI_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        } else {
            const cofi_train_opts *o = &tr->opts;
            const cofi_model *M = tr->M;
            double payload = cofi_trainer_payload_bytes(tr);
            int64_t steps = tr->t - info->steps_before;
            fprintf(f, "{\n  \"cofi_version\": \"%s\",\n  \"command\": \"train\",\n", COFI_VERSION);
            fprintf(f, "  \"ranks\": %d,\n  \"threads\": %d,\n", P, omp_get_max_threads());
            fprintf(f, "  \"config\": {\"features\": %" PRIidx ", \"lambda\": ", M->k);
            json_num(f, o->lambda);
            fprintf(f, ", \"learning_rate\": ");
            json_num(f, o->optim.learning_rate);
            fprintf(f, ", \"optimizer\": \"%s\", \"iterations\": %" PRIidx ", \"seed\": %" PRIu64
                    ", \"comm\": \"%s\", \"precision\": \"%s\", \"io\": ",
                    cofi_optim_name(o->optim.kind), o->iterations, o->seed,
                    cofi_comm_mode_name(o->comm_mode), o->precision_single ? "single" : "double");
            if (cofi_h5_tuning()) json_str(f, cofi_h5_tuning());
            else fputs("null", f);
            fputs("},\n", f);
            fprintf(f, "  \"data\": {\"ratings\": ");
            json_str(f, info->ratings ? info->ratings : "");
            fprintf(f, ", \"n_items\": %" PRIidx ", \"n_users\": %" PRIidx ", \"nnz\": %" PRIidx
                    "},\n", tr->R->n_items, tr->R->n_users, tr->R->nnz);
            fprintf(f, "  \"output\": ");
            if (info->output) json_str(f, info->output);
            else fputs("null", f);
            fprintf(f, ",\n  \"iterations\": [");
            for (int64_t t = info->steps_before; t < tr->t; t++) {
                fprintf(f, "%s\n    {\"iter\": %" PRId64 ", \"seconds\": ", t > info->steps_before ? "," : "", t);
                json_num(f, tr->iter_seconds[t]);
                fputs(", \"cost\": ", f);
                json_num(f, tr->cost[t]);
                fputs(", \"train_rmse\": ", f);
                json_num(f, tr->rmse[t]);
                fputs(", \"train_mae\": ", f);
                json_num(f, tr->mae[t]);
                fputs(", \"val_rmse\": ", f);
                json_num(f, tr->val_rmse[t]);
                fputs(", \"val_mae\": ", f);
                json_num(f, tr->val_mae[t]);
                fputc('}', f);
            }
            fprintf(f, "\n  ],\n  \"time\": {");
            for (int i = 0; i < COFI_TIME_COUNT; i++) {
                fprintf(f, "%s\"%s\": ", i ? ", " : "", cofi_timer_names[i]);
                json_stats(f, all + (size_t)i * P, P);
            }
            fprintf(f, "},\n  \"per_rank\": {");
            for (int i = 0; i < COFI_TIME_COUNT; i++) {
                fprintf(f, "\"%s\": ", cofi_timer_names[i]);
                json_array(f, all + (size_t)i * P, P);
                fputs(", ", f);
            }
            fputs("\"peak_rss_bytes\": ", f);
            json_array(f, all + (size_t)COFI_TIME_COUNT * P, P);
            fputs(", \"items\": ", f);
            json_array(f, all + (size_t)(COFI_TIME_COUNT + 1) * P, P);
            fputs(", \"ratings\": ", f);
            json_array(f, all + (size_t)(COFI_TIME_COUNT + 2) * P, P);
            fprintf(f, "},\n  \"communication\": {\"allreduce_calls\": %" PRId64
                    ", \"payload_bytes_per_iteration\": %.0f, \"payload_bytes_total\": %.0f, "
                    "\"ring_bytes_sent_per_rank_total\": %.0f},\n",
                    steps, payload, payload * (double)steps,
                    2.0 * (P - 1) / P * payload * (double)steps);
            fputs("  \"peak_rss_bytes\": ", f);
            json_stats(f, all + (size_t)COFI_TIME_COUNT * P, P);
            cofi_idx h = tr->history_len;
            fprintf(f, ",\n  \"final\": {\"cost\": ");
            json_num(f, h > 0 ? tr->cost[h - 1] : NAN);
            fputs(", \"train_rmse\": ", f);
            json_num(f, h > 0 ? tr->rmse[h - 1] : NAN);
            fputs(", \"train_mae\": ", f);
            json_num(f, h > 0 ? tr->mae[h - 1] : NAN);
            fputs(", \"val_rmse\": ", f);
            json_num(f, h > 0 ? tr->val_rmse[h - 1] : NAN);
            fputs(", \"best_val_rmse\": ", f);
            json_num(f, tr->best_val);
            fprintf(f, ", \"best_iteration\": %" PRId64, tr->best_step);
            fprintf(f, ", \"iterations\": %" PRId64 ", \"stop\": \"%s\"}\n}\n", tr->t,
                    stop_name(tr->stop));
            if (fclose(f) != 0 || rename(tmp, path) != 0) {
                rc = cofi_error(COFI_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
                unlink(tmp);
            }
        }
    }
    cofi_free(all);
    return cofi_agree(c, rc);
}
