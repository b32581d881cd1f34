/*
 * progress.h - the progress display of the long quant commands (convert, quantize, eval,
 * imatrix, gptq, report, check): one line with a bar, the count, the rate and the ETA.
 *
 * Where it goes (stderr only, so stdout keeps results and --json documents clean):
 *   - stderr is a terminal: a bar redrawn in place ("\r" ... ESC[K), fitted to the terminal's
 *     width (TIOCGWINSZ, else $COLUMNS, else 80; the line never exceeds width - 1 columns,
 *     the label is cut first, then the bar), at most PROGRESS_TTY_HZ times a second;
 *   - stderr is not a terminal: nothing, unless --progress asked for it; then plain
 *     newline-terminated lines (no "\r", no escape codes), at most one every
 *     PROGRESS_PLAIN_SECONDS, and the final state;
 *   - -q/--quiet: nothing.
 * Redraws are rate-limited with the monotonic clock; the last state is always drawn by
 * progress_end.
 */
#ifndef LQ_PROGRESS_H
#define LQ_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROGRESS_TTY_HZ 5
#define PROGRESS_PLAIN_SECONDS 2.0

/* The process-wide choice from the command line. */
enum progress_mode {
    PROGRESS_AUTO = 0,  /* a bar on a terminal, nothing otherwise */
    PROGRESS_FORCE = 1, /* --progress: a bar on a terminal, plain lines otherwise */
    PROGRESS_QUIET = 2, /* -q/--quiet: nothing */
};

void progress_set_mode(enum progress_mode m);

struct progress {
    bool enabled;         /* anything is drawn */
    bool plain;           /* newline-terminated lines instead of a bar */
    double t0;            /* progress_start's time */
    double last_draw;     /* time of the last line drawn; < 0: none yet */
    bool pending;         /* an update not drawn yet (rate limit) */
    bool drawn;           /* a bar line is on the terminal (ended by progress_end) */
    uint64_t bytes_total; /* 0: a bar over units (progress_units) */
    uint64_t bytes_done;
    int64_t done, total;
    const char *what; /* "convert" */
    const char *unit; /* units' name in the rate ("chunks"); NULL: "it" */
    char label[128];  /* what is being worked on ("blk.3.ffn_up.weight") */
};

double progress_now(void);

/* Starts a bar named `what` over bytes_total bytes (0: over units). */
void progress_start(struct progress *p, const char *what, uint64_t bytes_total);

/* Item i of n done, bytes_done of bytes_total bytes so far. */
void progress_update(struct progress *p, int64_t i, int64_t n, uint64_t bytes_done,
                     const char *label);

/* `done` of `total` work units finished. */
void progress_units(struct progress *p, int64_t done, int64_t total, const char *label);

/* Draws the last state if the rate limit held it back and ends the line. */
void progress_end(struct progress *p);

/* Formats one bar line of at most width - 1 columns into buf (cap >= width); for tests and
 * the drawing itself. now is progress_now()'s time. */
void progress_format(const struct progress *p, double now, int width, char *buf, size_t cap);

/* Width of the terminal on stderr: TIOCGWINSZ, else $COLUMNS, else 80. */
int progress_term_width(void);

#endif
