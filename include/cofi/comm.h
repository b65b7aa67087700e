/* cofi/comm.h - every MPI call cofi makes lives behind these wrappers
 * (src/comm.c).  Math kernels never include this header. */
#ifndef COFI_COMM_H
#define COFI_COMM_H

#include <mpi.h>
#include "cofi/types.h"

typedef struct {
    MPI_Comm comm;
    int rank;
    int size;
} cofi_comm;

/* MPI_Init_thread(FUNNELED) and the world communicator; stdout line-buffered. */
int cofi_comm_init(int *argc, char ***argv, cofi_comm *c);
int cofi_comm_finalize(void);
/* The MPI library's own name and version, up to its first comma (e.g.
 * "Open MPI v4.1.4"), into buf. */
void cofi_mpi_library(char *buf, size_t len);
/* A communicator view of an existing MPI_Comm (for tests and embedding). */
cofi_comm cofi_comm_wrap(MPI_Comm comm);

/* Agree on an outcome (collective).  Every rank passes its own status; all
 * get back the status of the lowest failing rank (COFI_OK if none), and that
 * rank's message becomes every rank's message, so rank 0 can print it.  Call
 * before any collective that a failure on one rank would leave hanging. */
int cofi_agree(const cofi_comm *c, int rc);
#ifdef __clang_analyzer__
/* For the static analyzer (tools/lint), which sees one file at a time: a
 * rank's own failure is never agreed away. */
static inline int cofi_agree_analyzed_(const cofi_comm *c, int rc)
{
    int agreed = (cofi_agree)(c, rc);
    if (rc != 0 && agreed == 0) __builtin_unreachable();
    return agreed;
}
#define cofi_agree(c, rc) cofi_agree_analyzed_((c), (rc))
#endif

/* In-place sums across ranks (split into int-sized pieces when large). */
int cofi_sum_val(const cofi_comm *c, cofi_val *buf, cofi_idx n);
int cofi_sum_idx(const cofi_comm *c, cofi_idx *buf, cofi_idx n);
/* Unsigned sums, modulo 2^64 (checksums). */
int cofi_sum_u64(const cofi_comm *c, uint64_t *buf, cofi_idx n);
int cofi_max_idx(const cofi_comm *c, cofi_idx *buf, cofi_idx n);
int cofi_max_val(const cofi_comm *c, cofi_val *buf, cofi_idx n);
int cofi_min_val(const cofi_comm *c, cofi_val *buf, cofi_idx n);
/* Exclusive prefix sum of `mine` over ranks, and the total. */
int cofi_exscan_idx(const cofi_comm *c, cofi_idx mine, cofi_idx *before, cofi_idx *total);
int cofi_bcast(const cofi_comm *c, void *buf, size_t bytes, int root);
int cofi_barrier(const cofi_comm *c);
/* Gather one value per rank on every rank (out has c->size entries). */
int cofi_allgather_val(const cofi_comm *c, cofi_val mine, cofi_val *out);
int cofi_allgather_idx(const cofi_comm *c, cofi_idx mine, cofi_idx *out);

/* min, mean and max of one value across ranks. */
int cofi_stats(const cofi_comm *c, double v, double *min, double *mean, double *max);

/* Nonblocking in-place sum, for overlapping the gradient reduction with local
 * work.  n must fit in an int. */
typedef struct {
    MPI_Request req;
    int active;
} cofi_pending;
int cofi_isum_val(const cofi_comm *c, cofi_val *buf, cofi_idx n, cofi_pending *p);
int cofi_wait(cofi_pending *p);

/* The same in single precision (--precision single). */
int cofi_sum_float(const cofi_comm *c, float *buf, cofi_idx n);
int cofi_isum_float(const cofi_comm *c, float *buf, cofi_idx n, cofi_pending *p);

/* Sum across ranks of send[0..sum(counts)), rank r keeping block r (counts[r]
 * values, at the offset of the blocks before it) in recv. */
int cofi_reduce_scatter_val(const cofi_comm *c, const cofi_val *send, cofi_val *recv,
                            const cofi_idx *counts);
int cofi_reduce_scatter_float(const cofi_comm *c, const float *send, float *recv,
                              const cofi_idx *counts);
/* Every rank's block (counts[r] values) concatenated in rank order, on all. */
int cofi_allgather_blocks(const cofi_comm *c, const cofi_val *mine, cofi_val *all,
                          const cofi_idx *counts);

/* Top-K lists (cofi_scored, topk.h), merged across ranks by a reduction
 * whose operation merges two sorted K-lists.  Every rank passes lists for all
 * n_users users; afterwards rank r holds the merged lists of users
 * [user_starts[r], user_starts[r + 1]) in `mine`.  No rank ever holds more
 * than K entries per user. */
int cofi_topk_reduce_scatter(const cofi_comm *c, const void *lists, cofi_idx n_users,
                             cofi_idx K, const cofi_idx *user_starts, void *mine);
/* The same for a few users, merged onto rank 0 only (lists: n x K). */
int cofi_topk_reduce_root(const cofi_comm *c, void *lists, cofi_idx n, cofi_idx K);

/* Every rank's strings, concatenated in rank order, on every rank. */
#include "cofi/text.h"
int cofi_allgather_strings(const cofi_comm *c, const cofi_strings *mine, cofi_strings *all);

/* Exchange fixed-size records: send[dest] holds count[dest] records for rank
 * dest, stored back to back in rank order.  On return *recv (cofi_malloc'd)
 * holds the records sent to this rank, in source-rank order, *nrecv of them. */
int cofi_exchange(const cofi_comm *c, const void *send, const cofi_idx *count, size_t rec_size,
                  void **recv, cofi_idx *nrecv);

/* The job's most loaded node: how many of its ranks run there, their
 * threads in all, and the CPUs they may use between them (the union of
 * their masks from cofi_cpu_mask, which may differ in length; a NULL mask
 * is an out-of-memory error, agreed by every rank).  threads and mask are
 * this rank's; spin: this rank's threads busy-wait.  Every rank gets the
 * figures of the node with the highest threads per CPU among those where a
 * rank spins (all zero when no node has more threads than CPUs and a
 * spinning rank). */
typedef struct {
    int ranks, threads, cpus;
} cofi_node_load;
int cofi_busiest_node(const cofi_comm *c, int threads, int spin, const unsigned char *mask,
                      size_t nbytes, cofi_node_load *out);

/* Abort every rank: only for a state in which agreeing is impossible. */
void cofi_abort(const cofi_comm *c, int code);

#endif
