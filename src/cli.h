/* cli.h - shared pieces of the command-line front end (private to cofi). */
#ifndef COFI_CLI_H
#define COFI_CLI_H

#include <getopt.h>

#include "cofi/comm.h"
#include "cofi/timer.h"
#include "cofi/types.h"

/* Process exit codes (documented in README). */
enum {
    COFI_EXIT_OK = 0,
    COFI_EXIT_ERROR = 1,
    COFI_EXIT_USAGE = 2,
    COFI_EXIT_STOPPED = 75 /* stopped early (signal or --max-time) after a checkpoint */
};

/* A command's return value when it stopped early on purpose (exit 75). */
#define COFI_CMD_STOPPED (-75)

typedef struct {
    const cofi_comm *comm;
    const char *name; /* "train", ... */
} cofi_cmd;

/* Record a usage error (printf-style) and return COFI_ERR_USAGE. */
int cli_usage(const cofi_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse option values; on a bad value record a usage error naming the option. */
int cli_idx(const cofi_cmd *cmd, const char *opt, const char *s, cofi_idx min, cofi_idx max,
            cofi_idx *out);
int cli_u64(const cofi_cmd *cmd, const char *opt, const char *s, uint64_t *out);
/* A finite number >= min (or > min when strict). */
int cli_val(const cofi_cmd *cmd, const char *opt, const char *s, double min, int strict,
            double *out);

/* Run getopt_long; on an unknown option or a missing argument record a usage
 * error and return '?'.  optstring must start with ':'. */
int cli_getopt(const cofi_cmd *cmd, int argc, char **argv, const char *optstring,
               const struct option *longopts);

/* Print help text from rank 0. */
void cli_help(const cofi_cmd *cmd, const char *text);

/* "--threads N": set the OpenMP thread count. */
int cli_threads(const cofi_cmd *cmd, const char *s);

/* Refuse an empty output path, or one that names one of the inputs or of the
 * other outputs (NULL-terminated lists, either may be NULL; empty entries
 * stand for options not given). */
int cli_check_output(const char *out, const char *const *inputs, const char *const *outputs);

/* Rank 0 prints the time breakdown (min / mean / max over ranks). */
int cli_print_times(const cofi_comm *c, const cofi_timers *t);

/* Collective.  Rank 0 warns on stderr, as CMD, when the ranks of a node run
 * more OpenMP threads than they have CPUs between them and a rank's threads
 * busy-wait (OMP_WAIT_POLICY is not passive, and the rank has no more threads
 * than CPUs of its own): each waiting thread then holds a CPU that another
 * rank's thread needs. */
int cli_check_load(const cofi_comm *c, const char *cmd);

int cofi_cmd_generate(const cofi_comm *c, int argc, char **argv);
int cofi_cmd_convert(const cofi_comm *c, int argc, char **argv);
int cofi_cmd_train(const cofi_comm *c, int argc, char **argv);
int cofi_cmd_predict(const cofi_comm *c, int argc, char **argv);
int cofi_cmd_recommend(const cofi_comm *c, int argc, char **argv);
int cofi_cmd_bench(const cofi_comm *c, int argc, char **argv);

#endif
