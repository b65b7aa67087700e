/* cofi/metrics.h - a machine-readable record of a run for scaling studies.
 *
 * `cofi train --metrics FILE.json` writes (rank 0, atomically) a JSON object:
 *   cofi_version, command, ranks, threads, config {...}, data {...},
 *   iterations: [{iter, seconds, cost, train_rmse}, ...]   (this run's steps),
 *   time: {compute|allreduce|io|total: {min, mean, max}}   (over ranks),
 *   per_rank: {compute, allreduce, io, total, peak_rss_bytes, items, ratings: [...]},
 *   communication: {allreduce_calls, payload_bytes_per_iteration, payload_bytes_total,
 *                   ring_bytes_sent_per_rank_total},
 *   peak_rss_bytes: {min, mean, max}, final: {cost, train_rmse, iterations, stop}. */
#ifndef COFI_METRICS_H
#define COFI_METRICS_H

#include "cofi/train.h"

typedef struct {
    const char *ratings;
    const char *output;
    int64_t steps_before; /* steps taken before this run (restart) */
} cofi_metrics_info;

/* Collective: gathers per-rank figures, rank 0 writes `path`. */
int cofi_metrics_write(const cofi_comm *c, const char *path, const cofi_trainer *tr,
                       const cofi_timers *tm, const cofi_metrics_info *info);

#endif
