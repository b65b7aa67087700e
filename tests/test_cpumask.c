/* test_cpumask.c - the CPUs a process may run on (cofi_cpu_mask) and their
 * union over a node's ranks (cofi_busiest_node), on this machine and on
 * machines with more than glibc's 1,024 CPUs.  The larger machines are
 * sched_getaffinity wrapped at link time (-Wl,--wrap): it refuses a set too
 * small for its CPU count (EINVAL), as the kernel does, and reports CPUs
 * chosen by the test.  Expected masks and unions are built here from those
 * choices; this machine's mask is checked against /proc/self/status. */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <mpi.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cofi/comm.h"
#include "cofi/error.h"
#include "cofi/sysmem.h"

enum { REAL, BIG, NEVER };
static int mode = REAL;
/* BIG: the kernel's CPU count, and the CPUs this rank may use */
static int big_cpus;
static int big_list[8], big_n;

int __real_sched_getaffinity(pid_t pid, size_t size, cpu_set_t *set);
int __wrap_sched_getaffinity(pid_t pid, size_t size, cpu_set_t *set);
int __wrap_sched_getaffinity(pid_t pid, size_t size, cpu_set_t *set)
{
    if (mode == REAL) return __real_sched_getaffinity(pid, size, set);
    if (mode == NEVER || size * 8 < (size_t)big_cpus) {
        errno = EINVAL;
        return -1;
    }
    CPU_ZERO_S(size, set);
    for (int i = 0; i < big_n; i++) CPU_SET_S((size_t)big_list[i], size, set);
    return 0;
}

static int bit(const unsigned char *mask, size_t nbytes, int cpu)
{
    return (size_t)cpu / 8 < nbytes && (mask[cpu / 8] >> (cpu % 8) & 1);
}

/* Cpus_allowed_list of /proc/self/status ("0-3,8,10-11") into want[]. */
static int proc_allowed(unsigned char *want, int max)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[65536];
    int n = -1;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "Cpus_allowed_list:", 18) != 0) continue;
        n = 0;
        for (char *p = line + 18; *p && *p != '\n';) {
            while (*p == ' ' || *p == '\t' || *p == ',') p++;
            if (!*p || *p == '\n') break;
            long a = strtol(p, &p, 10), b = a;
            if (*p == '-') b = strtol(p + 1, &p, 10);
            for (long c = a; c <= b && c < max; c++) want[c] = 1, n++;
        }
    }
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    cofi_comm c = cofi_comm_wrap(MPI_COMM_WORLD);
    const int r = c.rank, P = c.size;
    unsigned char *mask;
    size_t nb;
    enum { MAXCPU = 1 << 16 };
    unsigned char *want = calloc(MAXCPU, 1);

    /* This machine: the CPUs the kernel lists for the process. */
    int n = cofi_cpu_mask(&mask, &nb), wn = proc_allowed(want, MAXCPU);
    CHECK(n > 0 && n == wn, "this machine: %d CPUs, /proc/self/status lists %d", n, wn);
    CHECK(nb >= 128, "this machine: a mask of %zu bytes, glibc's cpu_set_t has 128", nb);
    int same = 1;
    for (int cpu = 0; cpu < MAXCPU; cpu++) same &= bit(mask, nb, cpu) == want[cpu];
    CHECK(same, "this machine: the mask differs from Cpus_allowed_list");
    cofi_free(mask);

    /* 4,096 CPUs: odd ranks may use 5, 2000 + r and 4095; even ranks' kernel
     * knows 1,024 CPUs and lets them use 5 and r. */
    mode = BIG;
    big_cpus = r % 2 ? 4096 : 1024;
    big_n = 0;
    big_list[big_n++] = 5;
    if (r % 2) big_list[big_n++] = 2000 + r, big_list[big_n++] = 4095;
    else if (r != 5) big_list[big_n++] = r;
    n = cofi_cpu_mask(&mask, &nb);
    CHECK(n == big_n, "rank %d, %d CPUs known: %d CPUs found, %d allowed", r, big_cpus, n, big_n);
    CHECK(nb * 8 >= (size_t)big_cpus && nb * 8 < 2 * (size_t)big_cpus + 1024,
          "rank %d: a mask of %zu bytes for %d CPUs", r, nb, big_cpus);
    int count = 0;
    for (size_t cpu = 0; cpu < nb * 8; cpu++) count += bit(mask, nb, (int)cpu);
    CHECK(count == big_n, "rank %d: %d bits set, %d CPUs allowed", r, count, big_n);
    for (int i = 0; i < big_n; i++)
        CHECK(bit(mask, nb, big_list[i]), "rank %d: CPU %d missing", r, big_list[i]);

    /* The node's union: every rank of this test runs on one node.  Built
     * here from each rank's list; 2 spinning threads per rank. */
    memset(want, 0, MAXCPU);
    int ucpus = 0;
    for (int q = 0; q < P; q++) {
        int l[3] = {5, q % 2 ? 2000 + q : q, q % 2 ? 4095 : 5};
        for (int i = 0; i < 3; i++)
            if (!want[l[i]]) want[l[i]] = 1, ucpus++;
    }
    cofi_node_load load;
    int rc = cofi_busiest_node(&c, 2, 1, mask, nb, &load);
    CHECK(rc == COFI_OK, "busiest_node: %s", cofi_error_message());
    if (2 * P > ucpus)
        CHECK(load.ranks == P && load.threads == 2 * P && load.cpus == ucpus,
              "%d ranks x 2 threads on %d CPUs: reported %d ranks, %d threads, %d CPUs", P, ucpus,
              load.ranks, load.threads, load.cpus);
    else
        CHECK(load.ranks == 0 && load.threads == 0 && load.cpus == 0,
              "%d ranks x 2 threads on %d CPUs: reported a load (%d, %d, %d)", P, ucpus, load.ranks,
              load.threads, load.cpus);
    /* Not spinning: no load whatever the counts. */
    rc = cofi_busiest_node(&c, 64, 0, mask, nb, &load);
    CHECK(rc == COFI_OK && load.threads == 0, "64 passive threads per rank: reported %d threads",
          load.threads);
    cofi_free(mask);

    /* No affinity at all: every online CPU. */
    mode = NEVER;
    const long online = sysconf(_SC_NPROCESSORS_ONLN);
    n = cofi_cpu_mask(&mask, &nb);
    CHECK(n == online, "no affinity: %d CPUs, %ld online", n, online);
    count = 0;
    for (long cpu = 0; cpu < online; cpu++) count += bit(mask, nb, (int)cpu);
    CHECK(count == online && !bit(mask, nb, (int)online), "no affinity: CPUs 0-%ld not set alone",
          online - 1);
    cofi_free(mask);

    /* A rank without a mask (out of memory): every rank gets the error. */
    mode = REAL;
    n = cofi_cpu_mask(&mask, &nb);
    CHECK(n > 0 && mask, "this machine's mask, again: %d CPUs", n);
    const int lacking = P - 1;
    if (r == lacking) cofi_error(COFI_ERR_NOMEM, "no mask on rank %d", r);
    rc = cofi_busiest_node(&c, 1, 1, r == lacking ? NULL : mask, r == lacking ? 0 : nb, &load);
    char expect[64];
    snprintf(expect, sizeof expect, "no mask on rank %d", lacking);
    CHECK(rc == COFI_ERR_NOMEM && strcmp(cofi_error_message(), expect) == 0,
          "a rank without a mask: rank %d got %d '%s'", r, rc, cofi_error_message());
    cofi_free(mask);
    free(want);
    int fail = cofi_test_finish_mpi("test_cpumask");
    MPI_Finalize();
    return fail;
}
