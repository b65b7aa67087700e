/* peak.c - FMA peak and STREAM triad loops for the benchmark. */
#include "cofi/peak.h"
#include "cofi/error.h"
#include "cofi/timer.h"
#include "simd.h"

#include <omp.h>
#include <stdlib.h>

const char *cofi_simd_target(void) { return cofi_simd_name(); }

/* Twelve independent FMA chains per thread hide the FMA latency. */
double cofi_peak_fma_gflops(void)
{
    const long reps = 2000000;
    double best = 0;
    for (int trial = 0; trial < 3; trial++) {
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
