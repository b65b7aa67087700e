/* cofi/types.h - the one place where index and value widths are fixed.
 *
 * Every count that can pass 2^31 (ratings, items * features, offsets into a
 * file) is a cofi_idx.  Values are cofi_val.  The matching MPI and HDF5
 * datatypes and printf formats are defined next to them so they can never
 * drift apart.  The MPI/HDF5 names are macros: this header includes neither
 * mpi.h nor hdf5.h, so math kernels that include it stay free of both. */
#ifndef COFI_TYPES_H
#define COFI_TYPES_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>

typedef int64_t cofi_idx;   /* items, users, ratings, offsets */
typedef double cofi_val;    /* ratings, parameters, gradients */
/* Per-rating indices within one rank (a user, a local item, a position among
 * the rank's ratings): 32 bits keep the ratings compact.  Global counts stay
 * cofi_idx; a rank with more than COFI_LIDX_MAX users or ratings is refused
 * with a message. */
typedef int32_t cofi_lidx;
#define COFI_LIDX_MAX INT32_MAX

#define COFI_IDX_MAX INT64_MAX
#define PRIidx PRId64       /* printf("%" PRIidx, (cofi_idx)n) */

#define COFI_MPI_IDX MPI_INT64_T
#define COFI_MPI_VAL MPI_DOUBLE
#define COFI_H5T_IDX H5T_NATIVE_INT64
#define COFI_H5T_VAL H5T_NATIVE_DOUBLE
#define COFI_H5T_IDX_FILE H5T_STD_I64LE
#define COFI_H5T_VAL_FILE H5T_IEEE_F64LE

/* Rows of X and W are padded to a multiple of COFI_PAD values and start on a
 * COFI_ALIGN byte boundary, so SIMD loops over a row need no remainder code. */
#define COFI_PAD 8
#define COFI_ALIGN 64

/* a * b + c, fused when the target has FMA (one rounding), else two
 * roundings; either way the same in every code path of one build.  cofi
 * compiles with -ffp-contract=off so the compiler never fuses on its own. */
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define COFI_FMA(a, b, c) __builtin_fma((a), (b), (c))
#else
#define COFI_FMA(a, b, c) ((a) * (b) + (c))
#endif

static inline cofi_idx cofi_padded(cofi_idx k)
{
    return (k + COFI_PAD - 1) / COFI_PAD * COFI_PAD;
}

#endif
