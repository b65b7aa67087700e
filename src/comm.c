/* comm.c - the MPI wrappers: agreement on errors, sums, scans, broadcasts.
 * Nothing outside this file (and h5io.c, which hands MPI-IO its
 * communicator) calls MPI. */
#include "cofi/comm.h"
#include "cofi/cpucheck.h"
#include "cofi/error.h"
#include "cofi/sysmem.h"
#include "cofi/topk.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Largest piece handed to one MPI call: counts are ints in MPI-3. */
#define COFI_MPI_CHUNK ((cofi_idx)1 << 30)

int cofi_comm_init(int *argc, char ***argv, cofi_comm *c)
{
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return cofi_error(COFI_ERR_MPI, "MPI_Init_thread failed");
    *c = cofi_comm_wrap(MPI_COMM_WORLD);
    /* Batch logs should show progress as it happens. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (provided < MPI_THREAD_FUNNELED)
        return cofi_error(COFI_ERR_MPI, "the MPI library does not support threads "
                          "(MPI_THREAD_FUNNELED); rebuild MPI with thread support");
    /* Before any kernel runs: every rank's CPU against what the library was
     * compiled for (cofi/cpucheck.h; this file is compiled for any x86-64). */
    return cofi_agree(c, cofi_cpu_check(cofi_build_isa, c->rank));
}

int cofi_comm_finalize(void)
{
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
    return COFI_OK;
}

void cofi_mpi_library(char *buf, size_t len)
{
    char v[MPI_MAX_LIBRARY_VERSION_STRING] = "";
    int n = 0;
    if (len == 0) return;
    if (MPI_Get_library_version(v, &n) != MPI_SUCCESS) v[0] = '\0';
    v[strcspn(v, ",\n")] = '\0';
    snprintf(buf, len, "%s", v[0] ? v : "unknown MPI");
}

cofi_comm cofi_comm_wrap(MPI_Comm comm)
{
    cofi_comm c;
    c.comm = comm;
    MPI_Comm_rank(comm, &c.rank);
    MPI_Comm_size(comm, &c.size);
    return c;
}

/* (The name in parentheses: comm.h may define a macro of it for the analyzer.) */
int(cofi_agree)(const cofi_comm *c, int rc)
{
    int mine = rc != COFI_OK ? c->rank : INT_MAX, first = INT_MAX;
    MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, c->comm);
    if (first == INT_MAX) return COFI_OK;
    struct {
        int code;
        char msg[COFI_MSG_MAX];
    } pkt;
    memset(&pkt, 0, sizeof pkt);
    if (c->rank == first) {
        pkt.code = rc;
        snprintf(pkt.msg, sizeof pkt.msg, "%s", cofi_error_message());
        if (pkt.msg[0] == '\0')
            snprintf(pkt.msg, sizeof pkt.msg, "%s on rank %d", cofi_status_name(rc), first);
    }
    MPI_Bcast(&pkt, (int)sizeof pkt, MPI_BYTE, first, c->comm);
    cofi_error_set_message(pkt.code, pkt.msg);
    return pkt.code;
}

static int allreduce_chunked(const cofi_comm *c, void *buf, cofi_idx n, MPI_Datatype t,
                             size_t elem, MPI_Op op)
{
    char *p = buf;
    for (cofi_idx done = 0; done < n;) {
        cofi_idx m = n - done < COFI_MPI_CHUNK ? n - done : COFI_MPI_CHUNK;
        if (MPI_Allreduce(MPI_IN_PLACE, p + (size_t)done * elem, (int)m, t, op, c->comm) !=
            MPI_SUCCESS)
            return cofi_error(COFI_ERR_MPI, "MPI_Allreduce failed");
        done += m;
    }
    return COFI_OK;
}

int cofi_sum_val(const cofi_comm *c, cofi_val *buf, cofi_idx n)
{
    return allreduce_chunked(c, buf, n, COFI_MPI_VAL, sizeof *buf, MPI_SUM);
}
int cofi_sum_idx(const cofi_comm *c, cofi_idx *buf, cofi_idx n)
{
    return allreduce_chunked(c, buf, n, COFI_MPI_IDX, sizeof *buf, MPI_SUM);
}
int cofi_sum_u64(const cofi_comm *c, uint64_t *buf, cofi_idx n)
{
    return allreduce_chunked(c, buf, n, MPI_UINT64_T, sizeof *buf, MPI_SUM);
}
int cofi_max_idx(const cofi_comm *c, cofi_idx *buf, cofi_idx n)
{
    return allreduce_chunked(c, buf, n, COFI_MPI_IDX, sizeof *buf, MPI_MAX);
}
int cofi_max_val(const cofi_comm *c, cofi_val *buf, cofi_idx n)
{
    return allreduce_chunked(c, buf, n, COFI_MPI_VAL, sizeof *buf, MPI_MAX);
}
int cofi_min_val(const cofi_comm *c, cofi_val *buf, cofi_idx n)
{
    return allreduce_chunked(c, buf, n, COFI_MPI_VAL, sizeof *buf, MPI_MIN);
}

int cofi_exscan_idx(const cofi_comm *c, cofi_idx mine, cofi_idx *before, cofi_idx *total)
{
    cofi_idx b = 0, t = 0;
    MPI_Exscan(&mine, &b, 1, COFI_MPI_IDX, MPI_SUM, c->comm);
    if (c->rank == 0) b = 0; /* MPI_Exscan leaves rank 0's result undefined */
    MPI_Allreduce(&mine, &t, 1, COFI_MPI_IDX, MPI_SUM, c->comm);
    if (before) *before = b;
    if (total) *total = t;
    return COFI_OK;
}

int cofi_bcast(const cofi_comm *c, void *buf, size_t bytes, int root)
{
    char *p = buf;
    for (size_t done = 0; done < bytes || (bytes == 0 && done == 0);) {
        size_t m = bytes - done < (size_t)COFI_MPI_CHUNK ? bytes - done : (size_t)COFI_MPI_CHUNK;
        if (MPI_Bcast(p + done, (int)m, MPI_BYTE, root, c->comm) != MPI_SUCCESS)
            return cofi_error(COFI_ERR_MPI, "MPI_Bcast failed");
        done += m;
        if (bytes == 0) break;
    }
    return COFI_OK;
}

int cofi_barrier(const cofi_comm *c)
{
    return MPI_Barrier(c->comm) == MPI_SUCCESS ? COFI_OK
                                               : cofi_error(COFI_ERR_MPI, "MPI_Barrier failed");
}

int cofi_allgather_val(const cofi_comm *c, cofi_val mine, cofi_val *out)
{
    MPI_Allgather(&mine, 1, COFI_MPI_VAL, out, 1, COFI_MPI_VAL, c->comm);
    return COFI_OK;
}

int cofi_allgather_idx(const cofi_comm *c, cofi_idx mine, cofi_idx *out)
{
    MPI_Allgather(&mine, 1, COFI_MPI_IDX, out, 1, COFI_MPI_IDX, c->comm);
    return COFI_OK;
}

int cofi_stats(const cofi_comm *c, double v, double *min, double *mean, double *max)
{
    double in[2] = {v, -v}, mx[2], sum = 0;
    MPI_Allreduce(in, mx, 2, MPI_DOUBLE, MPI_MAX, c->comm);
    MPI_Allreduce(&v, &sum, 1, MPI_DOUBLE, MPI_SUM, c->comm);
    if (max) *max = mx[0];
    if (min) *min = -mx[1];
    if (mean) *mean = sum / c->size;
    return COFI_OK;
}

static int isum(const cofi_comm *c, void *buf, cofi_idx n, MPI_Datatype t, cofi_pending *p)
{
    if (n > INT_MAX)
        return cofi_error(COFI_ERR_VALUE, "reduction of %" PRIidx " values is too large for "
                          "one nonblocking call; use --comm allreduce", n);
    if (MPI_Iallreduce(MPI_IN_PLACE, buf, (int)n, t, MPI_SUM, c->comm, &p->req) != MPI_SUCCESS)
        return cofi_error(COFI_ERR_MPI, "MPI_Iallreduce failed");
    p->active = 1;
    return COFI_OK;
}

int cofi_isum_val(const cofi_comm *c, cofi_val *buf, cofi_idx n, cofi_pending *p)
{
    return isum(c, buf, n, COFI_MPI_VAL, p);
}

int cofi_sum_float(const cofi_comm *c, float *buf, cofi_idx n)
{
    return allreduce_chunked(c, buf, n, MPI_FLOAT, sizeof *buf, MPI_SUM);
}

int cofi_isum_float(const cofi_comm *c, float *buf, cofi_idx n, cofi_pending *p)
{
    return isum(c, buf, n, MPI_FLOAT, p);
}

/* int counts and displacements for a per-rank block layout. */
static int int_counts(const cofi_comm *c, const cofi_idx *counts, int *ic, int *id)
{
    cofi_idx off = 0;
    for (int r = 0; r < c->size; r++) {
        if (counts[r] > INT_MAX || off > INT_MAX)
            return cofi_error(COFI_ERR_VALUE, "a reduce-scatter block of %" PRIidx " values is "
                              "too large; use --comm allreduce", counts[r]);
        ic[r] = (int)counts[r];
        id[r] = (int)off;
        off += counts[r];
    }
    return COFI_OK;
}

static int reduce_scatter(const cofi_comm *c, const void *send, void *recv, const cofi_idx *counts,
                          MPI_Datatype t)
{
    int *ic = cofi_malloc((size_t)c->size, sizeof *ic, "counts");
    int *id = cofi_malloc((size_t)c->size, sizeof *id, "counts");
    int rc = ic && id ? int_counts(c, counts, ic, id) : COFI_ERR_NOMEM;
    if (!rc && MPI_Reduce_scatter(send, recv, ic, t, MPI_SUM, c->comm) != MPI_SUCCESS)
        rc = cofi_error(COFI_ERR_MPI, "MPI_Reduce_scatter failed");
    cofi_free(ic);
    cofi_free(id);
    return rc;
}

int cofi_reduce_scatter_val(const cofi_comm *c, const cofi_val *send, cofi_val *recv,
                            const cofi_idx *counts)
{
    return reduce_scatter(c, send, recv, counts, COFI_MPI_VAL);
}

int cofi_reduce_scatter_float(const cofi_comm *c, const float *send, float *recv,
                              const cofi_idx *counts)
{
    return reduce_scatter(c, send, recv, counts, MPI_FLOAT);
}

int cofi_allgather_blocks(const cofi_comm *c, const cofi_val *mine, cofi_val *all,
                          const cofi_idx *counts)
{
    int *ic = cofi_malloc((size_t)c->size, sizeof *ic, "counts");
    int *id = cofi_malloc((size_t)c->size, sizeof *id, "counts");
    int rc = ic && id ? int_counts(c, counts, ic, id) : COFI_ERR_NOMEM;
    if (!rc && MPI_Allgatherv(mine, ic[c->rank], COFI_MPI_VAL, all, ic, id, COFI_MPI_VAL,
                              c->comm) != MPI_SUCCESS)
        rc = cofi_error(COFI_ERR_MPI, "MPI_Allgatherv failed");
    cofi_free(ic);
    cofi_free(id);
    return rc;
}

int cofi_wait(cofi_pending *p)
{
    if (!p->active) return COFI_OK;
    p->active = 0;
    if (MPI_Wait(&p->req, MPI_STATUS_IGNORE) != MPI_SUCCESS)
        return cofi_error(COFI_ERR_MPI, "MPI_Wait failed");
    return COFI_OK;
}

/* Scratch space of the merge operation: allocated by the caller of the
 * reduction (where a failure can be agreed), used inside it. */
static cofi_scored *topk_scratch;

/* MPI operation: merge sorted K-lists pairwise; K from the datatype's size. */
static void topk_merge_op(void *in, void *inout, int *len, MPI_Datatype *type)
{
    int bytes = 0;
    MPI_Type_size(*type, &bytes);
    cofi_idx K = bytes / (int)sizeof(cofi_scored);
    cofi_scored *a = inout;
    const cofi_scored *b = in;
    for (int l = 0; l < *len; l++) cofi_topk_merge(a + l * K, b + l * K, K, a + l * K, topk_scratch);
}

static int topk_type(const cofi_comm *c, cofi_idx K, MPI_Datatype *t, MPI_Op *op)
{
    if ((size_t)K * sizeof(cofi_scored) > (size_t)INT_MAX)
        return cofi_error(COFI_ERR_VALUE, "--top %" PRIidx " is too large", K);
    topk_scratch = cofi_malloc((size_t)K, sizeof *topk_scratch, "top-K merge");
    int rc = cofi_agree(c, topk_scratch ? COFI_OK : COFI_ERR_NOMEM);
    if (rc) { /* another rank's allocation may have failed */
        cofi_free(topk_scratch);
        topk_scratch = NULL;
        return rc;
    }
    MPI_Type_contiguous((int)(K * (cofi_idx)sizeof(cofi_scored)), MPI_BYTE, t);
    MPI_Type_commit(t);
    MPI_Op_create(topk_merge_op, 1 /* commutative: a total order */, op);
    return COFI_OK;
}

static void topk_done(MPI_Datatype *t, MPI_Op *op)
{
    MPI_Op_free(op);
    MPI_Type_free(t);
    cofi_free(topk_scratch);
    topk_scratch = NULL;
}

int cofi_topk_reduce_scatter(const cofi_comm *c, const void *lists, cofi_idx n_users,
                             cofi_idx K, const cofi_idx *user_starts, void *mine)
{
    (void)n_users;
    MPI_Datatype t;
    MPI_Op op;
    int rc = topk_type(c, K, &t, &op);
    if (rc) return rc;
    int *counts = cofi_malloc((size_t)c->size, sizeof *counts, "counts");
    if (!counts) rc = COFI_ERR_NOMEM;
    else {
        for (int r = 0; r < c->size; r++) {
            cofi_idx n = user_starts[r + 1] - user_starts[r];
            if (n > INT_MAX) rc = cofi_error(COFI_ERR_VALUE, "too many users per rank");
            counts[r] = (int)n;
        }
    }
    rc = cofi_agree(c, rc);
    if (!rc && MPI_Reduce_scatter(lists, mine, counts, t, op, c->comm) != MPI_SUCCESS)
        rc = cofi_error(COFI_ERR_MPI, "MPI_Reduce_scatter failed");
    cofi_free(counts);
    topk_done(&t, &op);
    return rc;
}

int cofi_topk_reduce_root(const cofi_comm *c, void *lists, cofi_idx n, cofi_idx K)
{
    MPI_Datatype t;
    MPI_Op op;
    int rc = topk_type(c, K, &t, &op);
    if (rc) return rc;
    if (MPI_Reduce(c->rank == 0 ? MPI_IN_PLACE : lists, c->rank == 0 ? lists : NULL, (int)n, t,
                   op, 0, c->comm) != MPI_SUCCESS)
        rc = cofi_error(COFI_ERR_MPI, "MPI_Reduce failed");
    topk_done(&t, &op);
    return rc;
}

/* Displacements from counts, with a check that they fit MPI's ints. */
static int displs_of(const cofi_comm *c, const cofi_idx *cnt, size_t unit, int *icnt, int *disp)
{
    cofi_idx off = 0;
    for (int r = 0; r < c->size; r++) {
        cofi_idx bytes = cnt[r] * (cofi_idx)unit;
        if (bytes > INT_MAX || off > INT_MAX)
            return cofi_error(COFI_ERR_VALUE, "an exchange of more than 2 GiB per rank; use more "
                              "ranks");
        icnt[r] = (int)bytes;
        disp[r] = (int)off;
        off += bytes;
    }
    return COFI_OK;
}

int cofi_allgather_strings(const cofi_comm *c, const cofi_strings *mine, cofi_strings *all)
{
    memset(all, 0, sizeof *all);
    const int P = c->size;
    cofi_idx my[2] = {mine->n, mine->n ? mine->off[mine->n] : 0};
    cofi_idx *both = cofi_malloc((size_t)P * 2, sizeof *both, "id counts");
    int *icnt = cofi_malloc((size_t)P, sizeof *icnt, "id counts");
    int *disp = cofi_malloc((size_t)P, sizeof *disp, "id counts");
    cofi_idx *cn = cofi_malloc((size_t)P, sizeof *cn, "id counts");
    cofi_idx *cb = cofi_malloc((size_t)P, sizeof *cb, "id counts");
    int rc = both && icnt && disp && cn && cb ? COFI_OK : COFI_ERR_NOMEM;
    rc = cofi_agree(c, rc);
    if (!rc) MPI_Allgather(my, 2, COFI_MPI_IDX, both, 2, COFI_MPI_IDX, c->comm);
    cofi_idx n = 0, bytes = 0;
    for (int r = 0; !rc && r < P; r++) {
        cn[r] = both[2 * r];
        cb[r] = both[2 * r + 1];
        n += cn[r];
        bytes += cb[r];
    }
    if (!rc) {
        all->off = cofi_malloc((size_t)n + 1, sizeof *all->off, "ids");
        all->buf = cofi_malloc((size_t)bytes + 1, 1, "ids");
        rc = all->off && all->buf ? COFI_OK : COFI_ERR_NOMEM;
        if (!rc) rc = displs_of(c, cb, 1, icnt, disp);
        rc = cofi_agree(c, rc);
    }
    if (!rc) {
        MPI_Allgatherv(mine->buf, icnt[c->rank], MPI_BYTE, all->buf, icnt, disp, MPI_BYTE, c->comm);
        rc = cofi_agree(c, displs_of(c, cn, sizeof(cofi_idx), icnt, disp));
    }
    if (!rc) {
        /* Offsets: each rank's own, shifted by the bytes before it. */
        cofi_idx *tmp = cofi_malloc((size_t)n + 1, sizeof *tmp, "ids");
        rc = cofi_agree(c, tmp ? COFI_OK : COFI_ERR_NOMEM);
        if (!rc) {
            MPI_Allgatherv(mine->off, icnt[c->rank], MPI_BYTE, tmp, icnt, disp, MPI_BYTE, c->comm);
            cofi_idx k = 0, shift = 0;
            for (int r = 0; r < P; r++) {
                for (cofi_idx i = 0; i < cn[r]; i++) all->off[k + i] = tmp[k + i] + shift;
                k += cn[r];
                shift += cb[r];
            }
            all->off[n] = bytes;
            all->n = n;
        }
        cofi_free(tmp);
    }
    cofi_free(both);
    cofi_free(icnt);
    cofi_free(disp);
    cofi_free(cn);
    cofi_free(cb);
    if (rc) cofi_strings_free(all);
    return rc;
}

int cofi_exchange(const cofi_comm *c, const void *send, const cofi_idx *count, size_t rec_size,
                  void **recv, cofi_idx *nrecv)
{
    const int P = c->size;
    *recv = NULL;
    *nrecv = 0;
    cofi_idx *rcount = cofi_malloc((size_t)P, sizeof *rcount, "exchange counts");
    int *sc = cofi_malloc((size_t)P, sizeof *sc, "exchange counts");
    int *sd = cofi_malloc((size_t)P, sizeof *sd, "exchange counts");
    int *rcn = cofi_malloc((size_t)P, sizeof *rcn, "exchange counts");
    int *rd = cofi_malloc((size_t)P, sizeof *rd, "exchange counts");
    int rc = rcount && sc && sd && rcn && rd ? COFI_OK : COFI_ERR_NOMEM;
    rc = cofi_agree(c, rc);
    if (!rc) MPI_Alltoall(count, 1, COFI_MPI_IDX, rcount, 1, COFI_MPI_IDX, c->comm);
    cofi_idx total = 0;
    for (int r = 0; !rc && r < P; r++) total += rcount[r];
    if (!rc) {
        rc = displs_of(c, count, rec_size, sc, sd);
        if (!rc) rc = displs_of(c, rcount, rec_size, rcn, rd);
        if (!rc) {
            *recv = cofi_malloc((size_t)(total > 0 ? total : 1), rec_size, "exchanged records");
            if (!*recv) rc = COFI_ERR_NOMEM;
        }
        rc = cofi_agree(c, rc);
    }
    if (!rc) {
        MPI_Alltoallv(send, sc, sd, MPI_BYTE, *recv, rcn, rd, MPI_BYTE, c->comm);
        *nrecv = total;
    } else {
        cofi_free(*recv);
        *recv = NULL;
    }
    cofi_free(rcount);
    cofi_free(sc);
    cofi_free(sd);
    cofi_free(rcn);
    cofi_free(rd);
    return rc;
}

int cofi_busiest_node(const cofi_comm *c, int threads, int spin, const unsigned char *mask,
                      size_t nbytes, cofi_node_load *out)
{
    memset(out, 0, sizeof *out);
    MPI_Comm node;
    if (MPI_Comm_split_type(c->comm, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node) !=
        MPI_SUCCESS)
        return cofi_error(COFI_ERR_MPI, "MPI_Comm_split_type failed");
    /* The node's ranks may hold masks of different lengths: the longest. */
    unsigned long mine_len = mask ? (unsigned long)nbytes : 0, nb = 0;
    int ok = MPI_Allreduce(&mine_len, &nb, 1, MPI_UNSIGNED_LONG, MPI_MAX, node) == MPI_SUCCESS;
    unsigned char *all = NULL;
    int rc = COFI_OK;
    if (!ok) rc = cofi_error(COFI_ERR_MPI, "a reduction over a node's ranks failed");
    else if (!mask) rc = COFI_ERR_NOMEM; /* cofi_cpu_mask said why */
    else if (nb > INT_MAX) rc = cofi_error(COFI_ERR_NOMEM, "a CPU mask of %lu bytes", nb);
    else if (!(all = cofi_calloc(nb, 1, "a node's CPU mask"))) rc = COFI_ERR_NOMEM;
    if ((rc = cofi_agree(c, rc)) != COFI_OK) { /* before the node's next reduction */
        cofi_free(all);
        MPI_Comm_free(&node);
        return rc;
    }
    memcpy(all, mask, nbytes);
    int mine[2] = {threads, spin}, sums[2] = {0, 0}, ranks = 0;
    ok = MPI_Allreduce(MPI_IN_PLACE, all, (int)nb, MPI_BYTE, MPI_BOR, node) == MPI_SUCCESS &&
         MPI_Allreduce(mine, sums, 2, MPI_INT, MPI_SUM, node) == MPI_SUCCESS &&
         MPI_Comm_size(node, &ranks) == MPI_SUCCESS;
    MPI_Comm_free(&node);
    int cpus = 0;
    for (unsigned long b = 0; b < nb; b++)
        for (int i = 0; i < 8; i++) cpus += (all[b] >> i) & 1;
    cofi_free(all);
    if (!ok) return cofi_error(COFI_ERR_MPI, "a reduction over a node's ranks failed");
    struct {
        double v;
        int rank;
    } load = {sums[1] > 0 && sums[0] > cpus ? (double)sums[0] / (cpus > 0 ? cpus : 1) : 0.0,
              c->rank}, top;
    if (MPI_Allreduce(&load, &top, 1, MPI_DOUBLE_INT, MPI_MAXLOC, c->comm) != MPI_SUCCESS)
        return cofi_error(COFI_ERR_MPI, "MPI_Allreduce failed");
    if (top.v <= 0) return COFI_OK;
    int fig[3] = {ranks, sums[0], cpus};
    if (MPI_Bcast(fig, 3, MPI_INT, top.rank, c->comm) != MPI_SUCCESS)
        return cofi_error(COFI_ERR_MPI, "MPI_Bcast failed");
    out->ranks = fig[0], out->threads = fig[1], out->cpus = fig[2];
    return COFI_OK;
}

void cofi_abort(const cofi_comm *c, int code)
{
    MPI_Abort(c ? c->comm : MPI_COMM_WORLD, code);
}
