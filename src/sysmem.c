/* sysmem.c - available memory and peak RSS, from /proc and getrusage; the
 * CPUs this process may run on, and what they are. */
#define _GNU_SOURCE /* sched_getaffinity() */
#include "cofi/sysmem.h"
#include "cofi/error.h"

#include <errno.h>
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

/* Set bit cpu of mask. */
static void mask_set(unsigned char *mask, size_t cpu) { mask[cpu / 8] |= (unsigned char)(1u << (cpu % 8)); }

int cofi_cpu_mask(unsigned char **maskp, size_t *nbytesp)
{
    *maskp = NULL, *nbytesp = 0;
    int n = 0;
#ifdef CPU_ALLOC
    /* glibc's cpu_set_t holds CPUs 0-1023; the kernel refuses a set smaller
     * than its own CPU count (EINVAL), so a larger machine gets a larger set. */
    long conf = sysconf(_SC_NPROCESSORS_CONF);
    for (int cpus = conf > CPU_SETSIZE ? (int)conf : CPU_SETSIZE; cpus <= COFI_CPU_MASK_MAX; cpus *= 2) {
        cpu_set_t *set = CPU_ALLOC(cpus);
        if (!set) {
            cofi_error(COFI_ERR_NOMEM, "out of memory for a set of %d CPUs", cpus);
            return -1;
        }
        const size_t size = CPU_ALLOC_SIZE(cpus);
        CPU_ZERO_S(size, set);
        if (sched_getaffinity(0, size, set) == 0) {
            unsigned char *mask = cofi_calloc(size, 1, "a CPU mask");
            if (!mask) {
                CPU_FREE(set);
                return -1;
            }
            for (size_t cpu = 0; cpu < size * 8; cpu++)
                if (CPU_ISSET_S(cpu, size, set)) mask_set(mask, cpu), n++;
            CPU_FREE(set);
            if (n > 0) {
                *maskp = mask, *nbytesp = size;
                return n;
            }
            cofi_free(mask);
            break;
        }
        CPU_FREE(set);
        if (errno != EINVAL) break;
    }
#endif
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    const size_t cpus = online > 0 ? (size_t)online : 1, size = (cpus + 7) / 8;
    unsigned char *mask = cofi_calloc(size, 1, "a CPU mask");
    if (!mask) return -1;
    for (size_t cpu = 0; cpu < cpus; cpu++) mask_set(mask, cpu);
    *maskp = mask, *nbytesp = size;
    return (int)cpus;
}

void cofi_cpu_describe(char *name, size_t n, double *l2_bytes)
{
    char line[512], *out = NULL;
    snprintf(name, n, "unknown");
    FILE *fp = fopen("/proc/cpuinfo", "r");
    while (fp && !out && fgets(line, sizeof line, fp))
        if (strncmp(line, "model name", 10) == 0 && (out = strchr(line, ':'))) out++;
    if (out) {
        while (*out == ' ' || *out == '\t') out++;
        size_t len = strcspn(out, "\n");
        while (len > 0 && out[len - 1] == ' ') len--;
        for (size_t i = 0; i < len; i++)
            if (out[i] < 0x20 || out[i] > 0x7e || out[i] == '"' || out[i] == '\\') out[i] = ' ';
        if (len > 0) snprintf(name, n, "%.*s", (int)len, out);
    }
    if (fp) fclose(fp);
    *l2_bytes = 0;
    for (int idx = 0; idx < 16 && *l2_bytes == 0; idx++) {
        char path[96], level[16] = "", type[32] = "", size[32] = "";
        const char *field[3] = {"level", "type", "size"};
        char *val[3] = {level, type, size};
        for (int f = 0; f < 3; f++) {
            snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/%s", idx, field[f]);
            FILE *c = fopen(path, "r");
            if (!c) break;
            if (!fgets(val[f], f == 0 ? (int)sizeof level : (int)sizeof type, c)) val[f][0] = '\0';
            fclose(c);
            val[f][strcspn(val[f], "\n")] = '\0';
        }
        double b;
        if (strcmp(level, "2") == 0 && strcmp(type, "Instruction") != 0 && cofi_parse_size(size, &b) == 0)
            *l2_bytes = b;
    }
}
