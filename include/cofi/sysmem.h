/* cofi/sysmem.h - what the machine has: memory, and this process's peak use. */
#ifndef COFI_SYSMEM_H
#define COFI_SYSMEM_H

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

#endif
