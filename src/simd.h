/* simd.h - the vector operations of cofi's kernels (private).
 *
 * One lane type per build: AVX-512 (8 doubles), AVX2 with FMA (4) or plain C
 * (1).  Rows of X and W are padded to multiples of 8 doubles and aligned to
 * 64 bytes, so a row is a whole number of vectors on every target.  All
 * multiply-adds are explicit FMAs (the build uses -ffp-contract=off), so a
 * given computation rounds the same way wherever it is inlined, whatever the
 * thread count or the blocking. */
#ifndef COFI_SIMD_H
#define COFI_SIMD_H

#include "cofi/types.h"

#if defined(__AVX512F__)
#include <immintrin.h>
#define COFI_VW 8
typedef __m512d cofi_vd;
static inline cofi_vd vd_load(const cofi_val *p) { return _mm512_load_pd(p); }
static inline void vd_store(cofi_val *p, cofi_vd v) { _mm512_store_pd(p, v); }
static inline cofi_vd vd_set1(cofi_val x) { return _mm512_set1_pd(x); }
static inline cofi_vd vd_zero(void) { return _mm512_setzero_pd(); }
static inline cofi_vd vd_fma(cofi_vd a, cofi_vd b, cofi_vd c) { return _mm512_fmadd_pd(a, b, c); }
static inline cofi_vd vd_add(cofi_vd a, cofi_vd b) { return _mm512_add_pd(a, b); }
static inline cofi_vd vd_sub(cofi_vd a, cofi_vd b) { return _mm512_sub_pd(a, b); }
static inline cofi_vd vd_mul(cofi_vd a, cofi_vd b) { return _mm512_mul_pd(a, b); }
static inline cofi_vd vd_div(cofi_vd a, cofi_vd b) { return _mm512_div_pd(a, b); }
static inline cofi_vd vd_sqrt(cofi_vd a) { return _mm512_sqrt_pd(a); }
static inline cofi_val vd_sum(cofi_vd v)
{
    __m256d h = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
    __m128d q = _mm_add_pd(_mm256_castpd256_pd128(h), _mm256_extractf128_pd(h, 1));
    return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define COFI_VW 4
typedef __m256d cofi_vd;
static inline cofi_vd vd_load(const cofi_val *p) { return _mm256_load_pd(p); }
static inline void vd_store(cofi_val *p, cofi_vd v) { _mm256_store_pd(p, v); }
static inline cofi_vd vd_set1(cofi_val x) { return _mm256_set1_pd(x); }
static inline cofi_vd vd_zero(void) { return _mm256_setzero_pd(); }
static inline cofi_vd vd_fma(cofi_vd a, cofi_vd b, cofi_vd c) { return _mm256_fmadd_pd(a, b, c); }
static inline cofi_vd vd_add(cofi_vd a, cofi_vd b) { return _mm256_add_pd(a, b); }
static inline cofi_vd vd_sub(cofi_vd a, cofi_vd b) { return _mm256_sub_pd(a, b); }
static inline cofi_vd vd_mul(cofi_vd a, cofi_vd b) { return _mm256_mul_pd(a, b); }
static inline cofi_vd vd_div(cofi_vd a, cofi_vd b) { return _mm256_div_pd(a, b); }
static inline cofi_vd vd_sqrt(cofi_vd a) { return _mm256_sqrt_pd(a); }
static inline cofi_val vd_sum(cofi_vd v)
{
    __m128d q = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(q, _mm_unpackhi_pd(q, q)));
}
#else
#include <math.h>
#define COFI_VW 1
typedef cofi_val cofi_vd;
static inline cofi_vd vd_load(const cofi_val *p) { return *p; }
static inline void vd_store(cofi_val *p, cofi_vd v) { *p = v; }
static inline cofi_vd vd_set1(cofi_val x) { return x; }
static inline cofi_vd vd_zero(void) { return 0.0; }
static inline cofi_vd vd_fma(cofi_vd a, cofi_vd b, cofi_vd c) { return COFI_FMA(a, b, c); }
static inline cofi_vd vd_add(cofi_vd a, cofi_vd b) { return a + b; }
static inline cofi_vd vd_sub(cofi_vd a, cofi_vd b) { return a - b; }
static inline cofi_vd vd_mul(cofi_vd a, cofi_vd b) { return a * b; }
static inline cofi_vd vd_div(cofi_vd a, cofi_vd b) { return a / b; }
static inline cofi_vd vd_sqrt(cofi_vd a) { return sqrt(a); }
static inline cofi_val vd_sum(cofi_vd v) { return v; }
#endif

/* x clamped to [lo, hi] (lo <= hi) without a branch: a comparison the
 * branch predictor cannot learn costs more than the two instructions.
 * Written in the operand order of maxsd and minsd, so compilers emit those
 * (a nested ?: compiled to compares and jumps). */
static inline cofi_val sd_clamp(cofi_val x, cofi_val lo, cofi_val hi)
{
    x = x > lo ? x : lo;
    return x < hi ? x : hi;
}

/* The name of the vector target, for reports. */
static inline const char *cofi_simd_name(void)
{
    return COFI_VW == 8 ? "avx512" : COFI_VW == 4 ? "avx2+fma" : "scalar";
}

#endif
