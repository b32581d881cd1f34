/* lqt_pty.h - runs the `quant` program with its stderr on a pseudo-terminal of a given width
 * (what a user's terminal shows: progress bars), stdout to a file. */
#ifndef LQ_TEST_PTY_H
#define LQ_TEST_PTY_H

#include "lqt_run.h"

/* Runs LQ_QUANT_BIN with args (NULL-terminated, without the program name) on a terminal of
 * `cols` columns with output post-processing off (so "\n" stays "\n"); r.err holds every
 * byte the terminal received, r.out the captured stdout. $COLUMNS is removed from the
 * child's environment so that only the terminal's size counts. Free with lqt_run_free. */
struct lqt_run lqt_run_quant_pty(const char *const *args, int cols, double max_seconds);

/* Checks the progress redraws in a terminal's bytes: every line drawn after a "\r" (escape
 * sequences removed) is at most cols - 1 columns wide, and there are at most
 * hz * seconds + 2 of them. Returns the number of redraws. */
int lqt_pty_check_redraws(const char *tty, int cols, double seconds, double hz);

#endif
