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

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

double *tu_read_h5(const char *path, const char *name, cofi_idx *rows, cofi_idx *cols)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) {
        cofi_test_fail(__FILE__, __LINE__, "cannot open %s", path);
        return NULL;
    }
    hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
    if (d < 0) {
        cofi_test_fail(__FILE__, __LINE__, "no dataset %s in %s", name, path);
        H5Fclose(f);
        return NULL;
    }
    hid_t s = H5Dget_space(d);
    hsize_t dims[2] = {1, 1};
    int nd = H5Sget_simple_extent_ndims(s);
    H5Sget_simple_extent_dims(s, dims, NULL);
    *rows = (cofi_idx)dims[0];
    *cols = nd == 2 ? (cofi_idx)dims[1] : 1;
    double *buf = malloc(sizeof(double) * (size_t)(*rows) * (size_t)(*cols) + 8);
    H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
    return buf;
}

double tu_attr_double(const char *path, const char *name)
{
    double v = NAN;
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return v;
    hid_t a = H5Aopen(f, name, H5P_DEFAULT);
    if (a >= 0) {
        H5Aread(a, H5T_NATIVE_DOUBLE, &v);
        H5Aclose(a);
    }
    H5Fclose(f);
    return v;
}

int tu_csr_from_triplets(cofi_idx n_items, cofi_idx n_users, cofi_idx nnz, const double *trip,
                         cofi_csr *out)
{
    out->n_items = n_items;
    out->n_users = n_users;
    out->nnz = nnz;
    out->indptr = calloc((size_t)n_items + 1, sizeof(cofi_idx));
    out->user = malloc(sizeof(cofi_idx) * (size_t)nnz + 8);
    out->rating = malloc(sizeof(double) * (size_t)nnz + 8);
    cofi_idx *fill = calloc((size_t)n_items + 1, sizeof(cofi_idx));
    for (cofi_idx r = 0; r < nnz; r++) out->indptr[(cofi_idx)trip[3 * r] + 1]++;
    for (cofi_idx i = 0; i < n_items; i++) out->indptr[i + 1] += out->indptr[i];
    memcpy(fill, out->indptr, sizeof(cofi_idx) * (size_t)n_items);
    for (cofi_idx r = 0; r < nnz; r++) {
        cofi_idx i = (cofi_idx)trip[3 * r], p = fill[i]++;
        out->user[p] = (cofi_idx)trip[3 * r + 1];
        out->rating[p] = trip[3 * r + 2];
    }
    /* insertion sort of each row by user (tests use small rows) */
    for (cofi_idx i = 0; i < n_items; i++)
        for (cofi_idx p = out->indptr[i] + 1; p < out->indptr[i + 1]; p++)
            for (cofi_idx q = p; q > out->indptr[i] && out->user[q - 1] > out->user[q]; q--) {
                cofi_idx tu = out->user[q];
                out->user[q] = out->user[q - 1];
                out->user[q - 1] = tu;
                double tr = out->rating[q];
                out->rating[q] = out->rating[q - 1];
                out->rating[q - 1] = tr;
            }
    free(fill);
    return 0;
}
