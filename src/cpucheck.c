/* cpucheck.c - the CPU against the extensions the library was compiled for
 * (see cofi/cpucheck.h).  Compiled for any x86-64. */
#include "cofi/cpucheck.h"
#include "cofi/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    unsigned bit;
    const char *name;
} isa_names[] = {
    {COFI_ISA_AVX, "avx"},           {COFI_ISA_AVX2, "avx2"},
    {COFI_ISA_FMA, "fma"},           {COFI_ISA_BMI2, "bmi2"},
    {COFI_ISA_AVX512F, "avx512f"},   {COFI_ISA_AVX512DQ, "avx512dq"},
    {COFI_ISA_AVX512BW, "avx512bw"}, {COFI_ISA_AVX512VL, "avx512vl"},
};

/* __builtin_cpu_supports takes only a literal. */
static int cpu_has(unsigned bit)
{
#if defined(__x86_64__) || defined(__i386__)
    switch (bit) {
    case COFI_ISA_AVX: return __builtin_cpu_supports("avx");
    case COFI_ISA_AVX2: return __builtin_cpu_supports("avx2");
    case COFI_ISA_FMA: return __builtin_cpu_supports("fma");
    case COFI_ISA_BMI2: return __builtin_cpu_supports("bmi2");
    case COFI_ISA_AVX512F: return __builtin_cpu_supports("avx512f");
    case COFI_ISA_AVX512DQ: return __builtin_cpu_supports("avx512dq");
    case COFI_ISA_AVX512BW: return __builtin_cpu_supports("avx512bw");
    case COFI_ISA_AVX512VL: return __builtin_cpu_supports("avx512vl");
    default: return 1;
    }
#else
    (void)bit;
    return 1;
#endif
}

/* The test hook: is `name` listed in COFI_FAIL_CPU for this rank? */
static int pretend_missing(const char *name, int rank)
{
#ifdef COFI_FAULT_INJECTION
    const char *list = getenv("COFI_FAIL_CPU"), *only = getenv("COFI_FAIL_CPU_RANK");
    if (!list || (only && *only && atoi(only) != rank)) return 0;
    const size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ',')) return 1;
    return 0;
#else
    (void)name, (void)rank;
    return 0;
#endif
}

int cofi_cpu_check(unsigned isa, int rank)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
#endif
    char missing[128] = "";
    size_t len = 0;
    for (size_t i = 0; i < sizeof isa_names / sizeof isa_names[0]; i++) {
        if (!(isa & isa_names[i].bit)) continue;
        if (cpu_has(isa_names[i].bit) && !pretend_missing(isa_names[i].name, rank)) continue;
        int w = snprintf(missing + len, sizeof missing - len, "%s%s", len ? ", " : "",
                         isa_names[i].name);
        if (w > 0 && (size_t)w < sizeof missing - len) len += (size_t)w;
    }
    if (len == 0) return COFI_OK;
    return cofi_error(COFI_ERR_VALUE, "the CPU of rank %d lacks %s, which this cofi was compiled to "
                      "use (built with -march=native on another CPU?). Rebuild it on a node like "
                      "this one, or with -DCOFI_ARCH=<the oldest CPU it must run on, e.g. "
                      "x86-64-v3>", rank, missing);
}
