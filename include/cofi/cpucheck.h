/* cpucheck.h - does this CPU have the instruction-set extensions the
 * library was compiled for?
 *
 * Built with -march=native (or -DCOFI_ARCH=...), the kernels may use
 * extensions that another node lacks: a login node with AVX-512 building for
 * AVX2 compute nodes, say.  There the first kernel would die of SIGILL without
 * a word.  cofi_comm_init() calls this check right after MPI_Init and agrees
 * on its outcome, so every rank exits 1 with one message naming what is
 * missing.  This file, comm.c and error.c (the code that runs before and
 * during the check) are compiled for any x86-64 (src/CMakeLists.txt). */
#ifndef COFI_CPUCHECK_H
#define COFI_CPUCHECK_H

/* The extensions the library's optimized code was compiled to use, as bits. */
enum {
    COFI_ISA_AVX = 1u << 0,
    COFI_ISA_AVX2 = 1u << 1,
    COFI_ISA_FMA = 1u << 2,
    COFI_ISA_BMI2 = 1u << 3,
    COFI_ISA_AVX512F = 1u << 4,
    COFI_ISA_AVX512DQ = 1u << 5,
    COFI_ISA_AVX512BW = 1u << 6,
    COFI_ISA_AVX512VL = 1u << 7,
};
/* Data, not code, so that code compiled for any x86-64 may read it (defined
 * in peak.c, which is compiled with the kernels' flags). */
extern const unsigned cofi_build_isa;

/* COFI_OK, or an error naming the extensions in `isa` this CPU lacks.
 * `rank` is only for the test hook COFI_FAIL_CPU=NAME[,NAME...] (builds with
 * COFI_FAULT_INJECTION): the named extensions count as missing, on rank
 * COFI_FAIL_CPU_RANK only if that is set. */
int cofi_cpu_check(unsigned isa, int rank);

#endif
