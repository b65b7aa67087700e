/* cofi/timer.h - wall-clock timers, an enum with a table of names. */
#ifndef COFI_TIMER_H
#define COFI_TIMER_H

#include <time.h>

enum cofi_timer {
    COFI_TIME_COMPUTE,   /* kernels and optimizer updates */
    COFI_TIME_ALLREDUCE, /* gradient reduction (waiting for it, when overlapped) */
    COFI_TIME_IO,        /* reading ratings, writing models and checkpoints */
    COFI_TIME_TOTAL,     /* the whole command */
    COFI_TIME_COUNT
};

static const char *const cofi_timer_names[COFI_TIME_COUNT] = {"compute", "allreduce", "io",
                                                              "total"};

typedef struct {
    double elapsed[COFI_TIME_COUNT];
    double started[COFI_TIME_COUNT];
} cofi_timers;

static inline double cofi_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static inline void cofi_timer_start(cofi_timers *t, enum cofi_timer which)
{
    t->started[which] = cofi_now();
}

static inline double cofi_timer_stop(cofi_timers *t, enum cofi_timer which)
{
    double d = cofi_now() - t->started[which];
    t->elapsed[which] += d;
    return d;
}

#endif
