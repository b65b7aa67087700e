/* cli.c - option parsing helpers shared by the subcommands. */
#include "cli.h"
#include "cofi/error.h"
#include "cofi/h5io.h"
#include "cofi/sysmem.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cli_usage(const cofi_cmd *cmd, const char *fmt, ...)
{
    char msg[COFI_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return cofi_error(COFI_ERR_USAGE, "%s", msg);
}

int cli_idx(const cofi_cmd *cmd, const char *opt, const char *s, cofi_idx min, cofi_idx max,
            cofi_idx *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max) {
        if (max == COFI_IDX_MAX)
            return cli_usage(cmd, "%s must be an integer >= %" PRIidx ", got '%s'", opt, min, s);
        return cli_usage(cmd, "%s must be an integer in [%" PRIidx ", %" PRIidx "], got '%s'",
                         opt, min, max, s);
    }
    *out = (cofi_idx)v;
    return COFI_OK;
}

int cli_u64(const cofi_cmd *cmd, const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end != '\0' || s[0] == '-')
        return cli_usage(cmd, "%s must be a non-negative integer, got '%s'", opt, s);
    *out = (uint64_t)v;
    return COFI_OK;
}

int cli_val(const cofi_cmd *cmd, const char *opt, const char *s, double min, int strict,
            double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || !isfinite(v) || v < min || (strict && v == min))
        return cli_usage(cmd, "%s must be a number %s %g, got '%s'", opt, strict ? ">" : ">=",
                         min, s);
    *out = v;
    return COFI_OK;
}

int cli_getopt(const cofi_cmd *cmd, int argc, char **argv, const char *optstring,
               const struct option *longopts)
{
    int idx = 0;
    int prev = optind;
    int ch = getopt_long(argc, argv, optstring, longopts, &idx);
    if (ch == '?') {
        const char *arg = prev < argc ? argv[prev] : "?";
        if (optopt && !(arg[0] == '-' && arg[1] == '-'))
            cli_usage(cmd, "unknown option '-%c'", optopt);
        else
            cli_usage(cmd, "unknown option '%s'", arg);
    } else if (ch == ':') {
        cli_usage(cmd, "option '%s' needs a value", prev < argc ? argv[prev] : "?");
        ch = '?';
    }
    return ch;
}

void cli_help(const cofi_cmd *cmd, const char *text)
{
    if (cmd->comm->rank == 0) fputs(text, stdout);
}

int cli_threads(const cofi_cmd *cmd, const char *s)
{
    cofi_idx n = 1;
    COFI_TRY(cli_idx(cmd, "--threads", s, 1, 4096, &n));
    omp_set_num_threads((int)n);
    return COFI_OK;
}

static int names_same(const char *a, const char *b)
{
    return b[0] && (strcmp(a, b) == 0 || cofi_same_file(a, b));
}

int cli_check_output(const char *out, const char *const *inputs, const char *const *outputs)
{
    if (!out[0]) return cofi_error(COFI_ERR_USAGE, "an output path is empty");
    for (int i = 0; inputs && inputs[i]; i++)
        if (names_same(out, inputs[i]))
            return cofi_error(COFI_ERR_USAGE, "output '%s' is also an input; choose another "
                              "output name", out);
    for (int i = 0; outputs && outputs[i]; i++)
        if (names_same(out, outputs[i]))
            return cofi_error(COFI_ERR_USAGE, "'%s' is named for two outputs; give each its own "
                              "name", out);
    return COFI_OK;
}

int cli_print_times(const cofi_comm *c, const cofi_timers *t)
{
    double mn[COFI_TIME_COUNT], me[COFI_TIME_COUNT], mx[COFI_TIME_COUNT];
    for (int i = 0; i < COFI_TIME_COUNT; i++)
        COFI_TRY(cofi_stats(c, t->elapsed[i], &mn[i], &me[i], &mx[i]));
    if (c->rank == 0) {
        printf("%-12s %10s %10s %10s   (%d rank%s x %d thread%s)\n", "time (s)", "min", "mean",
               "max", c->size, c->size > 1 ? "s" : "", omp_get_max_threads(),
               omp_get_max_threads() > 1 ? "s" : "");
        for (int i = 0; i < COFI_TIME_COUNT; i++)
            printf("  %-10s %10.4f %10.4f %10.4f\n", cofi_timer_names[i], mn[i], me[i], mx[i]);
    }
    return COFI_OK;
}

int cli_check_load(const cofi_comm *c, const char *cmd)
{
    const int threads = omp_get_max_threads();
    const char *policy = getenv("OMP_WAIT_POLICY");
    unsigned char *mask;
    size_t nbytes;
    const int cpus = cofi_cpu_mask(&mask, &nbytes);
    /* A rank with more threads than CPUs of its own (bound to fewer cores)
     * is seen by its OpenMP runtime, which then stops spinning; threads
     * spread over CPUs that other ranks use too are not. */
    const int passive = policy && strcasecmp(policy, "passive") == 0;
    const int spin = threads > 1 && threads <= cpus && !passive;
    cofi_node_load n;
    const int rc = cofi_busiest_node(c, threads, spin, mask, nbytes, &n);
    cofi_free(mask);
    if (rc) return rc;
    if (c->rank == 0 && n.threads > 0)
        fprintf(stderr,
                "%s: warning: %d OpenMP threads (%d rank%s) share %d CPU%s on one node\n"
                "  and busy-wait: iterations can be tens of times slower.  Use at most %d\n"
                "  thread%s per node in all (OMP_NUM_THREADS or --threads), or set\n"
                "  OMP_WAIT_POLICY=passive.\n",
                cmd, n.threads, n.ranks, n.ranks > 1 ? "s" : "", n.cpus, n.cpus > 1 ? "s" : "",
                n.cpus, n.cpus > 1 ? "s" : "");
    return COFI_OK;
}
