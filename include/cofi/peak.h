/* cofi/peak.h - what the machine can do, measured in the same run as a
 * benchmark: the double-precision FMA peak, the STREAM triad bandwidth and
 * the time of a pass's row fetches alone, on the current OpenMP threads.
 * Plain C + OpenMP. */
#ifndef COFI_PEAK_H
#define COFI_PEAK_H

#include "cofi/types.h"

#include <stddef.h>

/* GFLOP/s of independent vector FMAs on every thread (an FMA is 2 flops),
 * the best of 15 loops of about 3 ms: the fraction of peak divides by it, so
 * a loop that catches a slow moment must not set it (with the best of 3 it
 * once read 94 GFLOP/s against 112-114 in the runs before and after). */
double cofi_peak_fma_gflops(void);
/* GB/s of a[i] = b[i] + s c[i] over arrays of n doubles (24 bytes per i), best of 5. */
double cofi_stream_triad_gbs(size_t n);
/* Seconds to fetch the rows of A (row stride ld, a multiple of 8) named by
 * index[0..n) on every thread (split evenly) and add them up: the row
 * traffic of a gradient pass without its arithmetic.  The best of 3 runs
 * each with and without software prefetch. */
double cofi_row_gather_seconds(const cofi_val *A, cofi_idx ld, const cofi_lidx *index, cofi_idx n);
/* The vector target cofi was built for ("avx512", "avx2+fma", "scalar"). */
const char *cofi_simd_target(void);
/* CMake's build type of the library ("Release", "Debug", ...), and whether
 * the compiler optimized it (a Debug build's timings say nothing about the
 * machine). */
const char *cofi_build_type(void);
int cofi_build_optimized(void);
/* The compiler that built the library ("gcc 12.2.0"). */
const char *cofi_build_compiler(void);

#endif
