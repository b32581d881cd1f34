/* progress.c - terminal progress bar. */
#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void progress_start(struct progress *p, const char *what, uint64_t bytes_total)
{
    p->enabled = isatty(STDERR_FILENO);
    p->t0 = progress_now();
    p->bytes_total = bytes_total;
    p->bytes_done = 0;
    p->what = what;
}

void progress_update(struct progress *p, int64_t i, int64_t n, uint64_t bytes_done,
                     const char *label)
{
    if (!p->enabled) {
        return;
    }
    double el = progress_now() - p->t0;
    double rate = el > 0 ? bytes_done / el : 0;
    double frac = p->bytes_total ? (double)bytes_done / (double)p->bytes_total : (double)i / n;
    double eta = frac > 0 ? el * (1 - frac) / frac : 0;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int k = 0; k < 30; k++) {
        bar[k] = k < fill ? '#' : '.';
    }
    bar[30] = '\0';
    char esc[256]; /* labels are tensor names from the file */
    fprintf(stderr, "\r%s [%s] %lld/%lld %7.1f MiB %6.1f MiB/s ETA %4.0fs %-36.36s", p->what, bar,
            (long long)i, (long long)n, bytes_done / 1048576.0, rate / 1048576.0, eta,
            cli_esc(label, esc, sizeof esc));
    fflush(stderr);
}

void progress_end(struct progress *p)
{
    if (p->enabled) {
        fprintf(stderr, "\n");
    }
}

void progress_units(struct progress *p, int64_t done, int64_t total, const char *label)
{
    if (!p->enabled || total <= 0) {
        return;
    }
    double el = progress_now() - p->t0;
    double frac = (double)done / (double)total;
    double eta = frac > 0 ? el * (1 - frac) / frac : 0;
    char bar[31];
    int fill = (int)(frac * 30);
    for (int k = 0; k < 30; k++) {
        bar[k] = k < fill ? '#' : '.';
    }
    bar[30] = '\0';
    char esc[256];
    fprintf(stderr, "\r%s [%s] %3.0f%% %6.0fs ETA %5.0fs  %-40.40s", p->what, bar, 100 * frac, el,
            eta, cli_esc(label, esc, sizeof esc));
    fflush(stderr);
}
