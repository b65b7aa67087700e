/* cofi/rng.h - counter-based random numbers.
 *
 * A value is a pure function of (seed, stream, a, b): no state, no dependence
 * on the rank, the thread or the clock.  X[i][f] is drawn from (seed,
 * COFI_STREAM_X, i, f) whichever rank owns row i, so a model or a generated
 * dataset is the same on 1 rank or 64.  The hash chains the SplitMix64
 * finalizer, which passes BigCrush as a counter-based generator. */
#ifndef COFI_RNG_H
#define COFI_RNG_H

#include <math.h>
#include <stdint.h>

enum cofi_stream {
    COFI_STREAM_X = 1,       /* initial item features */
    COFI_STREAM_W = 2,       /* initial user features */
    COFI_STREAM_B = 3,       /* initial user bias */
    COFI_STREAM_TRUE_X = 11, /* generate: true item features */
    COFI_STREAM_TRUE_W = 12, /* generate: true user features */
    COFI_STREAM_MASK = 13,   /* generate: which users rated an item */
    COFI_STREAM_NOISE = 14,  /* generate: rating noise */
    COFI_STREAM_HOLDOUT = 21 /* train/validation split */
};

static inline uint64_t cofi_mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static inline uint64_t cofi_rng_u64(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b)
{
    uint64_t h = cofi_mix64(seed + UINT64_C(0x9e3779b97f4a7c15));
    h = cofi_mix64(h ^ (stream * UINT64_C(0xd1b54a32d192ed03)));
    h = cofi_mix64(h + a * UINT64_C(0x9e3779b97f4a7c15));
    return cofi_mix64(h ^ (b + UINT64_C(0x632be59bd9b4e019)));
}

/* Uniform in the open interval (0, 1). */
static inline double cofi_rng_uniform(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b)
{
    return ((double)(cofi_rng_u64(seed, stream, a, b) >> 11) + 0.5) * 0x1.0p-53;
}

/* Standard normal by Box-Muller from two independent uniforms. */
static inline double cofi_rng_normal(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b)
{
    uint64_t h = cofi_rng_u64(seed, stream, a, b);
    double u1 = ((double)(h >> 11) + 0.5) * 0x1.0p-53;
    double u2 = ((double)(cofi_mix64(h ^ UINT64_C(0x5851f42d4c957f2d)) >> 11) + 0.5) * 0x1.0p-53;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925286766559 * u2);
}

#endif
