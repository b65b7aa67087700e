/* cofi/error.h - error codes and messages.
 *
 * Every function that can fail returns an int: 0 (COFI_OK) on success, a
 * positive cofi_status otherwise.  The function that detects a failure records
 * one message with cofi_error(); callers pass the code up unchanged (COFI_TRY).
 * Messages are lowercase, quote the thing named and say what to do, e.g.
 *   cannot open 'ratings.h5': No such file or directory
 * The message lives in per-process storage; cofi_agree() (comm.h) makes the
 * first failing rank's message known to every rank. */
#ifndef COFI_ERROR_H
#define COFI_ERROR_H

#include <stdarg.h>

enum cofi_status {
    COFI_OK = 0,
    COFI_ERR_IO = 1,       /* file missing, unreadable, unwritable */
    COFI_ERR_FORMAT = 2,   /* file readable but its content is wrong */
    COFI_ERR_VALUE = 3,    /* an option or a value out of range */
    COFI_ERR_NOMEM = 4,    /* allocation failed or would not fit */
    COFI_ERR_MPI = 5,      /* an MPI call failed */
    COFI_ERR_INTERNAL = 6, /* a bug in cofi */
    COFI_ERR_USAGE = 7,    /* bad command line: exit code 2 */
    COFI_STATUS_COUNT
};

#define COFI_MSG_MAX 1024

/* Record a message for `code` (printf-style) and return `code`. The location
 * is kept for COFI_DEBUG=1 output. */
int cofi_error_at(int code, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#ifndef __clang_analyzer__
#define cofi_error(code, ...) cofi_error_at((code), __FILE__, __LINE__, __VA_ARGS__)
#else
/* For the static analyzer (tools/lint), which sees one file at a time: an
 * error's code is never COFI_OK, and cofi_error returns it. */
static inline int cofi_error_analyzed_(int code, int returned)
{
    if (code == 0 || returned != code) __builtin_unreachable();
    return code;
}
#define cofi_error(code, ...) \
    cofi_error_analyzed_((code), cofi_error_at((code), __FILE__, __LINE__, __VA_ARGS__))
#endif

/* The current message ("" when none) and its code. */
const char *cofi_error_message(void);
int cofi_error_code(void);
/* Replace the recorded message (used when agreeing across ranks). */
void cofi_error_set_message(int code, const char *msg);
void cofi_error_clear(void);
/* The program as error lines name it ("cofi train"; "cofi" until set). */
void cofi_error_set_program(const char *name);
const char *cofi_error_program(void);
/* COFI_DEBUG is set (and not 0): errors name their source line, and
 * h5io reports the MPI-IO hints of each file. */
int cofi_debug_enabled(void);
/* A name for a status code ("i/o error", ...). */
const char *cofi_status_name(int code);

/* Pass an error up: `COFI_TRY(read_thing(...));` */
#define COFI_TRY(expr)                                                         \
    do {                                                                       \
        int cofi_try_rc_ = (expr);                                             \
        if (cofi_try_rc_ != COFI_OK) return cofi_try_rc_;                      \
    } while (0)

/* Allocation that records a clear message on failure. Returns NULL then.
 * Sizes are checked for overflow. Memory is aligned to COFI_ALIGN; 256 KiB
 * or more is placed on 2 MiB huge pages where the kernel allows (error.c;
 * COFI_HUGEPAGES=0 turns that off). */
#include <stddef.h>
void *cofi_malloc(size_t count, size_t size, const char *what);
void *cofi_calloc(size_t count, size_t size, const char *what);
void cofi_free(void *p);

#endif
