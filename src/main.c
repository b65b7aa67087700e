/* main.c - the cofi executable: MPI setup, subcommand dispatch, exit codes.
 * Every rank runs the same command; errors are agreed across ranks inside
 * the commands, so all ranks return the same status and rank 0 prints the
 * one message. */
#include "cli.h"
#include "cofi/comm.h"
#include "cofi/error.h"
#include "cofi/h5io.h"
#include "cofi/peak.h"

#include <omp.h>
#include <stdio.h>
#include <string.h>

#ifndef COFI_VERSION
#define COFI_VERSION "0.1.0"
#endif

static const char help[] =
    "usage: cofi COMMAND [options]\n"
    "\n"
    "cofi trains a collaborative-filtering model (ratings ~ X W^T + b) with item rows\n"
    "split across MPI ranks and OpenMP threads inside each rank, reading and writing\n"
    "parallel HDF5.  Run it under mpirun or srun, e.g.\n"
    "  mpirun -np 4 cofi train ratings.h5 -o model.h5\n"
    "\n"
    "commands:\n"
    "  generate   synthetic ratings with known latent features\n"
    "  convert    text ratings (MovieLens, triplets, dense table) to a ratings file\n"
    "  train      fit X, W, b to a ratings file with Adam or gradient descent\n"
    "  predict    every user's top-K unrated items, or the dense matrix, to a file\n"
    "  recommend  print one user's best unrated items\n"
    "  bench      time training iterations on generated data against the FMA peak\n"
    "\n"
    "'cofi COMMAND --help' describes each command; 'cofi --version' names the\n"
    "version, the build and the MPI and HDF5 libraries.  Exit codes: 0 success,\n"
    "1 error, 2 bad command line, 75 stopped early by a signal or --max-time after\n"
    "writing a checkpoint.  Threads per rank: OMP_NUM_THREADS or --threads.\n"
    "\n"
    "environment: COFI_OPEN_TIMEOUT and COFI_CLOSE_TIMEOUT, the seconds HDF5's open\n"
    "of an input and close of an output may take on every rank before each rank exits\n"
    "1 (an I/O error on one node can stall them; defaults: a minute, and for a close\n"
    "at least 10 times the file's writing time; 0: no limit).  For parallel file\n"
    "systems: COFI_MPIIO_HINTS='KEY=VALUE;...' (MPI-IO hints for every file, e.g.\n"
    "striping_factor=8;striping_unit=4194304) and COFI_H5_ALIGN=SIZE[:THRESHOLD]\n"
    "(HDF5 objects of THRESHOLD bytes or more, default SIZE, start at multiples of\n"
    "SIZE, e.g. 4M).  Rank 0's environment is used on every rank.\n";

typedef int (*cmd_fn)(const cofi_comm *, int, char **);
static const struct {
    const char *name;
    cmd_fn fn;
} commands[] = {
    {"generate", cofi_cmd_generate},
    {"convert", cofi_cmd_convert},
    {"train", cofi_cmd_train},
    {"predict", cofi_cmd_predict},
    {"recommend", cofi_cmd_recommend},
    {"bench", cofi_cmd_bench},
};

/* The version and what this cofi was built with and runs on: what a bug
 * report or a published timing should quote. */
static void print_version(void)
{
    char mpi[256], h5[64];
    cofi_mpi_library(mpi, sizeof mpi);
    cofi_h5_library(h5, sizeof h5);
    printf("cofi %s\n", COFI_VERSION);
    printf("  build   %s (%s), %s, %s\n", cofi_build_type(),
           cofi_build_optimized() ? "optimized" : "NOT optimized: timings mean nothing",
           cofi_simd_target(), cofi_build_compiler());
    printf("  OpenMP  %d\n", _OPENMP);
    printf("  MPI     %s\n", mpi);
    printf("  HDF5    %s\n", h5);
}

int main(int argc, char **argv)
{
    cofi_comm c;
    c.rank = -1; /* unknown until MPI starts: then every rank prints */
    if (cofi_comm_init(&argc, &argv, &c) != COFI_OK) {
        if (c.rank <= 0) fprintf(stderr, "cofi: error: %s\n", cofi_error_message());
        cofi_comm_finalize();
        return COFI_EXIT_ERROR;
    }
    int code = COFI_EXIT_OK;
    const char *name = argc > 1 ? argv[1] : NULL;
    if (!name) {
        if (c.rank == 0) fprintf(stderr, "cofi: no command given (see 'cofi --help')\n");
        code = COFI_EXIT_USAGE;
    } else if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        if (c.rank == 0) fputs(help, stdout);
    } else if (!strcmp(name, "--version")) {
        if (c.rank == 0) print_version();
    } else {
        cmd_fn fn = NULL;
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
            if (!strcmp(name, commands[i].name)) fn = commands[i].fn;
        if (!fn) {
            if (c.rank == 0)
                fprintf(stderr, "cofi: unknown command '%s' (see 'cofi --help')\n", name);
            code = COFI_EXIT_USAGE;
        } else {
            char prog[64];
            snprintf(prog, sizeof prog, "cofi %s", name);
            cofi_error_set_program(prog);
            int rc = cofi_h5_setup(&c);
            if (rc == COFI_OK) rc = fn(&c, argc - 1, argv + 1);
            if (rc == COFI_CMD_STOPPED) {
                code = COFI_EXIT_STOPPED;
            } else if (rc == COFI_ERR_USAGE) {
                if (c.rank == 0)
                    fprintf(stderr, "cofi %s: %s (see 'cofi %s --help')\n", name,
                            cofi_error_message(), name);
                code = COFI_EXIT_USAGE;
            } else if (rc != COFI_OK) {
                if (c.rank == 0) fprintf(stderr, "%s: error: %s\n", prog, cofi_error_message());
                code = COFI_EXIT_ERROR;
            }
        }
    }
    fflush(stdout);
    cofi_h5_teardown();
    cofi_comm_finalize();
    return code;
}
