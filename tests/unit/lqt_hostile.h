/* lqt_hostile.h - the generated corpus of hostile inputs (issue 11): each case crafts an input
 * in a scratch folder and names the `quant` command to run on it; the runner checks that the
 * command refuses it properly. Every class of defect keeps its cases in its own test file
 * (tests/unit/test_hostile_<class>.c) so a fixed class stays fixed. */
#ifndef LQ_TEST_HOSTILE_H
#define LQ_TEST_HOSTILE_H

#include <stddef.h>

#define LQT_HOSTILE_MAX_ARGS 31
#define LQT_HOSTILE_BUF 8192

struct lqt_hostile_case {
    const char *name; /* "<class>/<variant>", e.g. "nonfinite/f16-folder-nan" */
    /* Crafts the input under dir (a fresh empty folder) and writes the quant arguments into
     * args (without the program name, NULL-terminated, at most LQT_HOSTILE_MAX_ARGS); strings
     * may live in buf (LQT_HOSTILE_BUF bytes, lqt_hostile_str appends there). */
    void (*make)(const char *dir, const char **args, char *buf);
    int want_exit;        /* the exit code the command must return */
    const char *want_msg; /* a substring its stderr must hold, or NULL */
    double max_seconds;   /* killed past this, and the case fails; 0: 30 s */
};

/* Runs every case in its own scratch folder and fails the test listing each case that:
 * exited otherwise than want_exit, lacked want_msg, printed a sanitizer report, crashed, ran
 * past max_seconds, or (when want_exit != 0) left a new file in the scratch folder (a partial
 * output or a temporary). Cases with want_exit == 0 may create files but no temporaries. */
void lqt_hostile_run(const struct lqt_hostile_case *cases, size_t n);

/* lqt_hostile_run with each command's memory limited to max_mb MiB (see lqt_run_opts): a
 * command that needs more fails (it gets no memory, or is killed by the sanitizer). */
void lqt_hostile_run_limited(const struct lqt_hostile_case *cases, size_t n, int max_mb);

/* The same checks without failing the test: the number of cases that failed (each printed). */
size_t lqt_hostile_failures(const struct lqt_hostile_case *cases, size_t n);

/* Appends a printf-formatted string to a case's buf and returns it (for args). */
const char *lqt_hostile_str(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
