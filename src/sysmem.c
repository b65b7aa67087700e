/* sysmem.c - available memory and peak RSS, from /proc and getrusage; the
 * CPUs this process may run on. */
#define _GNU_SOURCE /* sched_getaffinity() */
#include "cofi/sysmem.h"
#include "cofi/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sched.h>
#include <unistd.h>

int cofi_parse_size(const char *s, double *bytes)
{
    static const char units[] = "KMGT";
    static const double scale[] = {1024.0, 1048576.0, 1073741824.0, 1099511627776.0};
    char *end;
    double v = strtod(s, &end), mult = 1;
    for (int u = 0; u < 4 && end != s; u++)
        if (*end == units[u] || *end == units[u] + ('a' - 'A')) {
            mult = scale[u];
            end++;
            break;
        }
    if (end == s || *end != '\0' || !(v > 0) || !isfinite(v)) return -1;
    *bytes = v * mult;
    return 0;
}

double cofi_mem_available(void)
{
    const char *lim = getenv("COFI_MEM_LIMIT");
    double v;
    if (lim && *lim && cofi_parse_size(lim, &v) == 0) return v;
    FILE *fp = fopen("/proc/meminfo", "r");
    if (!fp) return -1;
    char line[256];
    double kb = -1;
    while (fgets(line, sizeof line, fp))
        if (strncmp(line, "MemAvailable:", 13) == 0) {
            kb = strtod(line + 13, NULL);
            break;
        }
    fclose(fp);
    return kb < 0 ? -1 : kb * 1024.0;
}

/* BYTES in the largest binary unit that keeps it at 1 or more. */
static const char *human_bytes(double bytes, char *buf, size_t n)
{
    static const char *const unit[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (u < 4 && bytes >= 1024.0) bytes /= 1024.0, u++;
    snprintf(buf, n, u ? "%.2f %s" : "%.0f %s", bytes, unit[u]);
    return buf;
}

int cofi_mem_check(double bytes, const char *what)
{
    double avail = cofi_mem_available();
    char need[32], have[32];
    if (avail > 0 && bytes > avail)
        return cofi_error(COFI_ERR_NOMEM, "%s needs %s on one rank but only %s "
                          "of memory is available; use more ranks (or nodes)", what,
                          human_bytes(bytes, need, sizeof need), human_bytes(avail, have, sizeof have));
    return COFI_OK;
}

double cofi_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_maxrss * 1024.0; /* Linux reports KiB */
}

int cofi_cpu_mask(unsigned char *mask, size_t nbytes)
{
    memset(mask, 0, nbytes);
    const int bits = (int)(nbytes * 8);
    int n = 0;
#ifdef CPU_ISSET
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        for (int cpu = 0; cpu < CPU_SETSIZE && cpu < bits; cpu++)
            if (CPU_ISSET(cpu, &set)) mask[cpu / 8] |= (unsigned char)(1u << (cpu % 8)), n++;
        if (n > 0) return n;
    }
#endif
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    for (int cpu = 0; cpu < (online > 0 ? online : 1) && cpu < bits; cpu++)
        mask[cpu / 8] |= (unsigned char)(1u << (cpu % 8)), n++;
    return n;
}
