/* sysmem.c - available memory and peak RSS, from /proc and getrusage. */
#include "cofi/sysmem.h"
#include "cofi/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

double cofi_mem_available(void)
{
    const char *lim = getenv("COFI_MEM_LIMIT");
    if (lim && *lim) {
        char *end;
        double v = strtod(lim, &end);
        if (*end == 'K' || *end == 'k') v *= 1024.0;
        else if (*end == 'M' || *end == 'm') v *= 1048576.0;
        else if (*end == 'G' || *end == 'g') v *= 1073741824.0;
        else if (*end == 'T' || *end == 't') v *= 1099511627776.0;
        return v;
    }
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

int cofi_mem_check(double bytes, const char *what)
{
    double avail = cofi_mem_available();
    if (avail > 0 && bytes > avail)
        return cofi_error(COFI_ERR_NOMEM, "%s needs %.2f GiB on one rank but only %.2f GiB "
                          "of memory is available; use more ranks (or nodes)", what,
                          bytes / 1073741824.0, avail / 1073741824.0);
    return COFI_OK;
}

double cofi_peak_rss(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)ru.ru_maxrss * 1024.0; /* Linux reports KiB */
}
