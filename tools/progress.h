/* progress.h - a one-line progress bar on a terminal (item i of n, bytes, rate, ETA); silent
 * when stderr is not a terminal. */
#ifndef LQ_PROGRESS_H
#define LQ_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

struct progress {
    bool enabled;
    double t0;
    uint64_t bytes_total;
    uint64_t bytes_done;
    const char *what;
};

double progress_now(void);
void progress_start(struct progress *p, const char *what, uint64_t bytes_total);
void progress_update(struct progress *p, int64_t i, int64_t n, uint64_t bytes_done,
                     const char *label);
/* A bar over work units rather than bytes: percentage, elapsed time and ETA. */
void progress_units(struct progress *p, int64_t done, int64_t total, const char *label);
void progress_end(struct progress *p);

#endif
