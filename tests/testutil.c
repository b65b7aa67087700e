#include "testutil.h"

#include <math.h>
#include <mpi.h>
#include <stdarg.h>

long cofi_test_failures = 0;
long cofi_test_checks = 0;

void cofi_test_fail(const char *file, int line, const char *fmt, ...)
{
    cofi_test_failures++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

double cofi_relerr(double a, double b)
{
    double d = fabs(a - b), s = fmax(fabs(a), fabs(b));
    return s > 0 ? d / s : d;
}

int cofi_close(double a, double b, double rtol, double floor)
{
    if (isnan(a) || isnan(b)) return 0;
    double s = fmax(fmax(fabs(a), fabs(b)), floor);
    return fabs(a - b) <= rtol * s;
}

double cofi_max_relerr(const double *a, const double *b, cofi_idx n)
{
    double scale = 0, err = 0;
    for (cofi_idx i = 0; i < n; i++) scale = fmax(scale, fabs(b[i]));
    for (cofi_idx i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (isnan(d)) return INFINITY;
        err = fmax(err, d);
    }
    return scale > 0 ? err / scale : err;
}

int cofi_test_finish(const char *name)
{
    printf("%s: %ld checks, %ld failed\n", name, cofi_test_checks, cofi_test_failures);
    return cofi_test_failures == 0 && cofi_test_checks > 0 ? 0 : 1;
}

int cofi_test_finish_mpi(const char *name)
{
    long loc[2] = {cofi_test_failures, cofi_test_checks}, tot[2];
    MPI_Allreduce(loc, tot, 2, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (rank == 0)
        printf("%s (%d ranks): %ld checks, %ld failed\n", name, size, tot[1], tot[0]);
    return tot[0] == 0 && tot[1] > 0 ? 0 : 1;
}
