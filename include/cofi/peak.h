/* cofi/peak.h - what the machine can do, measured in the same run as a
 * benchmark: the double-precision FMA peak and the STREAM triad bandwidth,
 * on the current OpenMP threads.  Plain C + OpenMP. */
#ifndef COFI_PEAK_H
#define COFI_PEAK_H

#include <stddef.h>

/* GFLOP/s of independent vector FMAs on every thread (an FMA is 2 flops). */
double cofi_peak_fma_gflops(void);
/* GB/s of a[i] = b[i] + s c[i] over arrays of n doubles (24 bytes per i), best of 5. */
double cofi_stream_triad_gbs(size_t n);
/* The vector target cofi was built for ("avx512", "avx2+fma", "scalar"). */
const char *cofi_simd_target(void);

#endif
