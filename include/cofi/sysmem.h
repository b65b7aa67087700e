/* cofi/sysmem.h - what the machine has: memory and CPUs, and this process's
 * peak use. */
#ifndef COFI_SYSMEM_H
#define COFI_SYSMEM_H

#include <stddef.h>

/* Bytes of memory available to this process now (MemAvailable), or a
 * negative value when unknown.  COFI_MEM_LIMIT (bytes, with optional K/M/G/T
 * suffix) overrides it, e.g. for tests. */
double cofi_mem_available(void);
/* COFI_ERR_NOMEM with a message naming the figure if `bytes` for `what`
 * cannot fit in the memory available; COFI_OK otherwise. */
int cofi_mem_check(double bytes, const char *what);
/* A size such as 4096, 500M or 2G (K, M, G, T: powers of 1024) in bytes;
 * 0 on success, -1 if it does not parse or is not positive. */
int cofi_parse_size(const char *s, double *bytes);
/* Peak resident set size of this process, in bytes. */
double cofi_peak_rss(void);
/* The CPUs this process may run on (its affinity, else every online CPU) as
 * a bit mask (CPU n: bit n % 8 of byte n / 8), allocated (cofi_free) into
 * *mask with its length in *nbytes: at least glibc's 1,024 CPUs, more when
 * the kernel knows more (up to COFI_CPU_MASK_MAX).  Returns how many CPUs,
 * or -1 with the error set if memory runs out (*mask NULL). */
int cofi_cpu_mask(unsigned char **mask, size_t *nbytes);
#define COFI_CPU_MASK_MAX (1 << 22)
/* What a benchmark should say of the CPU it ran on: the name of this
 * process's CPU (/proc/cpuinfo's first "model name", "unknown" without one)
 * into name (n bytes; printable ASCII without quotes or backslashes, so it
 * can stand in JSON), and the bytes of CPU 0's level-2 cache from sysfs
 * (0 when unknown). */
void cofi_cpu_describe(char *name, size_t n, double *l2_bytes);

#endif
