/* lqt_run.h - runs the `quant` program from a test: arguments, captured output, exit status,
 * a wall-clock limit (a hang fails the test instead of stalling ctest), and an optional signal
 * sent part-way through (interrupted-run tests). */
#ifndef LQ_TEST_RUN_H
#define LQ_TEST_RUN_H

#include <stdbool.h>

struct lqt_run {
    int code;       /* exit status; 128 + signal when the child died of a signal */
    bool signaled;  /* the child died of a signal (a crash, or the one we sent) */
    bool timed_out; /* killed after max_seconds */
    double seconds; /* wall time */
    char *out;      /* captured stdout, NUL-terminated */
    char *err;      /* captured stderr, NUL-terminated */
};

struct lqt_run_opts {
    double max_seconds;     /* 0: 300 s */
    int send_signal;        /* 0: none; else sent after signal_after seconds */
    double signal_after;    /* seconds */
    const char *stdin_path; /* NULL: /dev/null */
    int max_mb;             /* 0: none; else the child's address space (RLIMIT_AS) in MiB, or
                             * under AddressSanitizer (which reserves terabytes of address
                             * space) its resident memory, through ASAN_OPTIONS hard_rss_limit_mb */
    /* With send_signal: wait (past signal_after) until this folder holds an entry whose name
     * contains ".tmp." before sending it, so an interruption lands while an output is being
     * written. NULL: signal_after alone decides. */
    const char *signal_on_tmp_in;
};

/* Runs LQ_QUANT_BIN with args (NULL-terminated, without the program name). Never fails the
 * test by itself; free with lqt_run_free. */
struct lqt_run lqt_run_quant(const char *const *args, const struct lqt_run_opts *opts);
void lqt_run_free(struct lqt_run *r);

/* True when stderr holds a sanitizer report or a crash trace: never acceptable. */
bool lqt_run_sanitizer_report(const struct lqt_run *r);

/* Fails the test unless the run exited with code and (when given) stderr contains in_stderr;
 * the message shows the arguments and stderr. */
void lqt_expect_exit(const struct lqt_run *r, const char *const *args, int code,
                     const char *in_stderr);

#endif
