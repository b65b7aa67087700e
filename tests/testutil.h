/* testutil.h - minimal assertion helpers for cofi's C tests.
 * A failed check prints file:line and the message and counts a failure;
 * the test keeps going so one run reports every broken check. */
#ifndef COFI_TESTUTIL_H
#define COFI_TESTUTIL_H

#include <stdio.h>
#include "cofi/types.h"

extern long cofi_test_failures;
extern long cofi_test_checks;

void cofi_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define CHECK(cond, ...)                                                       \
    do {                                                                       \
        cofi_test_checks++;                                                    \
        if (!(cond)) cofi_test_fail(__FILE__, __LINE__, __VA_ARGS__);          \
    } while (0)

/* |a - b| <= rtol * max(|a|, |b|, floor) */
int cofi_close(double a, double b, double rtol, double floor);
#define CHECK_CLOSE(a, b, rtol, what)                                          \
    do {                                                                       \
        double ca_ = (a), cb_ = (b);                                           \
        CHECK(cofi_close(ca_, cb_, (rtol), 1e-300), "%s: %.17g vs %.17g (rel %.3g > %.3g)", \
              (what), ca_, cb_, cofi_relerr(ca_, cb_), (double)(rtol));        \
    } while (0)
double cofi_relerr(double a, double b);
/* Largest |a_i - b_i| / max(max_i |b_i|, tiny) over n values: a normwise error. */
double cofi_max_relerr(const double *a, const double *b, cofi_idx n);

/* Print a summary line and return the process exit code (0 when all passed). */
int cofi_test_finish(const char *name);
/* MPI version: failures summed across ranks; rank 0 prints. */
int cofi_test_finish_mpi(const char *name);

#endif

/* Serial HDF5 helpers for tests (each rank reads the whole dataset). */
/* Read a float dataset, any rank <= 2; *rows, *cols get its shape (cols 1 for
 * 1-D).  Returns a malloc'd buffer or NULL (a failure is recorded). */
double *tu_read_h5(const char *path, const char *name, cofi_idx *rows, cofi_idx *cols);
double tu_attr_double(const char *path, const char *name);

/* A global CSR built from (item, user, rating) triplets, any order. */
#include "cofi/text.h"
int tu_csr_from_triplets(cofi_idx n_items, cofi_idx n_users, cofi_idx nnz, const double *trip,
                         cofi_csr *out);
