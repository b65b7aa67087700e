/* peak.c - FMA peak, STREAM triad and row-gather loops for the benchmark, and
 * what the library was compiled with (build type, vector target, extensions),
 * since this file is compiled with the kernels' flags. */
#include "cofi/peak.h"
#include "cofi/cpucheck.h"
#include "cofi/error.h"
#include "cofi/partition.h"
#include "cofi/timer.h"
#include "dot.h"

#include <omp.h>
#include <stdlib.h>

const char *cofi_simd_target(void) { return cofi_simd_name(); }

/* What this file, compiled with the kernels' flags, was allowed to use. */
const unsigned cofi_build_isa = 0
#ifdef __AVX__
                                | COFI_ISA_AVX
#endif
#ifdef __AVX2__
                                | COFI_ISA_AVX2
#endif
#ifdef __FMA__
                                | COFI_ISA_FMA
#endif
#ifdef __BMI2__
                                | COFI_ISA_BMI2
#endif
#ifdef __AVX512F__
                                | COFI_ISA_AVX512F
#endif
#ifdef __AVX512DQ__
                                | COFI_ISA_AVX512DQ
#endif
#ifdef __AVX512BW__
                                | COFI_ISA_AVX512BW
#endif
#ifdef __AVX512VL__
                                | COFI_ISA_AVX512VL
#endif
    ;

#ifndef COFI_BUILD_TYPE
#define COFI_BUILD_TYPE "unknown"
#endif
const char *cofi_build_type(void) { return COFI_BUILD_TYPE[0] ? COFI_BUILD_TYPE : "none"; }

int cofi_build_optimized(void)
{
#ifdef __OPTIMIZE__
    return 1;
#else
    return 0;
#endif
}

const char *cofi_build_compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#else
    return "an unknown compiler";
#endif
}

/* Twelve independent FMA chains per thread hide the FMA latency. */
double cofi_peak_fma_gflops(void)
{
    const long reps = 2000000;
    double best = 0;
    for (int trial = 0; trial < 15; trial++) {
        double t0 = 0, t1 = 0;
        int threads = 1;
        volatile double sink = 0;
#pragma omp parallel reduction(+ : sink)
        {
#pragma omp single
            threads = omp_get_num_threads();
            cofi_vd a[12];
            const cofi_vd m = vd_set1(0.999999), c = vd_set1(1e-9);
            for (int i = 0; i < 12; i++) a[i] = vd_set1(1.0 + i);
#pragma omp barrier
#pragma omp master
            t0 = cofi_now();
            for (long r = 0; r < reps; r++)
                for (int i = 0; i < 12; i++) a[i] = vd_fma(a[i], m, c);
#pragma omp barrier
#pragma omp master
            t1 = cofi_now();
            cofi_vd s = vd_zero();
            for (int i = 0; i < 12; i++) s = vd_add(s, a[i]);
            sink += vd_sum(s);
        }
        double gf = 2.0 * 12 * COFI_VW * (double)reps * threads / (t1 - t0) / 1e9;
        if (gf > best) best = gf;
    }
    return best;
}

double cofi_stream_triad_gbs(size_t n)
{
    double *a = cofi_malloc(n, sizeof *a, "stream arrays");
    double *b = cofi_malloc(n, sizeof *b, "stream arrays");
    double *c = cofi_malloc(n, sizeof *c, "stream arrays");
    if (!a || !b || !c) {
        cofi_free(a), cofi_free(b), cofi_free(c);
        return 0;
    }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) a[i] = 0, b[i] = 1, c[i] = 2;
    double best = 0;
    for (int trial = 0; trial < 5; trial++) {
        double t0 = cofi_now();
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) a[i] = b[i] + 3.0 * c[i];
        double t = cofi_now() - t0;
        double gbs = 24.0 * (double)n / t / 1e9;
        if (gbs > best) best = gbs;
    }
    cofi_free(a), cofi_free(b), cofi_free(c);
    return best;
}

/* The sum of one row of ld values: a tree inside the row, so that rows are
 * independent of each other and only one add per row carries over. */
static inline cofi_vd row_sum(const cofi_val *row, cofi_idx ld)
{
    cofi_vd a = vd_load(row), b = vd_zero();
    cofi_idx f = COFI_VW;
    for (; f + COFI_VW < ld; f += 2 * COFI_VW) {
        a = vd_add(a, vd_load(row + f));
        b = vd_add(b, vd_load(row + f + COFI_VW));
    }
    if (f < ld) a = vd_add(a, vd_load(row + f));
    return vd_add(a, b);
}

/* One timing of the rows index[0..n) of A fetched and added up on every
 * thread; pf: each asked for ahead as the passes ask for theirs (dot.h). */
static double gather_once(const cofi_val *A, cofi_idx ld, const cofi_lidx *index, cofi_idx n, int pf)
{
    volatile double sink = 0;
    double t0 = 0, t1 = 0;
#pragma omp parallel reduction(+ : sink)
    {
        const int T = omp_get_num_threads(), t = omp_get_thread_num();
        const cofi_idx lo = cofi_partition_even_start(n, T, t), hi = cofi_partition_even_start(n, T, t + 1);
        cofi_vd s0 = vd_zero(), s1 = vd_zero(), s2 = vd_zero(), s3 = vd_zero();
#pragma omp barrier
#pragma omp master
        t0 = cofi_now();
        cofi_idx r = lo;
        for (; r + 3 < hi; r += 4) {
            if (pf && r + COFI_PREFETCH_AHEAD + 3 < hi)
                for (int q = 0; q < 4; q++)
                    cofi_prefetch_row(A + (cofi_idx)index[r + COFI_PREFETCH_AHEAD + q] * ld, ld);
            s0 = vd_add(s0, row_sum(A + (cofi_idx)index[r] * ld, ld));
            s1 = vd_add(s1, row_sum(A + (cofi_idx)index[r + 1] * ld, ld));
            s2 = vd_add(s2, row_sum(A + (cofi_idx)index[r + 2] * ld, ld));
            s3 = vd_add(s3, row_sum(A + (cofi_idx)index[r + 3] * ld, ld));
        }
        for (; r < hi; r++) s0 = vd_add(s0, row_sum(A + (cofi_idx)index[r] * ld, ld));
#pragma omp barrier
#pragma omp master
        t1 = cofi_now();
        sink += vd_sum(vd_add(vd_add(s0, s1), vd_add(s2, s3)));
    }
    return t1 - t0;
}

/* The fastest of 3 timings each with and without the prefetch: in cache the
 * prefetch only takes load slots, out of cache it hides latency. */
double cofi_row_gather_seconds(const cofi_val *A, cofi_idx ld, const cofi_lidx *index, cofi_idx n)
{
    double best = 0;
    for (int trial = 0; trial < 6; trial++) {
        double t = gather_once(A, ld, index, n, trial & 1);
        if (trial == 0 || t < best) best = t;
    }
    return best;
}
