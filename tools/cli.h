/* cli.h - what the quant subcommands share: exit codes and messages (options: cli_opts.h). */
#ifndef LQ_CLI_H
#define LQ_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lq/core.h"

/* Exit codes of every subcommand (documented in README.md). */
enum {
    LQ_EXIT_OK = 0,       /* success (for `quant check`: every tolerance held) */
    LQ_EXIT_FAIL = 1,     /* runtime failure (for `quant check`: a regression) */
    LQ_EXIT_USAGE = 2,    /* bad command line (for `quant check`: bad baseline) */
    LQ_EXIT_BADINPUT = 3, /* an input file is malformed or unsupported */
};

/* Propagates a failing lq_status from a helper of a subcommand. */
#define LQ_TRY_CLI(expr)                                                                           \
    do {                                                                                           \
        lq_status rc_ = (expr);                                                                    \
        if (rc_ != LQ_OK) {                                                                        \
            return rc_;                                                                            \
        }                                                                                          \
    } while (0)

/* Prints "quant <cmd>: <message>" (escaped: messages quote names from files) for a library
 * error and maps it to an exit code. */
int cli_fail(const char *cmd, const struct lq_error *err);

/* Maps a status to an exit code (format/unsupported/range -> 3, others -> 1). */
int cli_exit_code(lq_status s);

/* Prints "quant <cmd>: <formatted>" to stderr and returns LQ_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Terminal-safe text (cli_escape.c): the one escaper of strings from files in human-readable
 * output. C0 controls (ESC included) and DEL become \xNN, C1 controls U+0080..U+009F \u00NN,
 * bytes that are not UTF-8 \xNN; keep_layout keeps newlines and tabs. cli_escape writes the
 * NUL-terminated result into buf (cut at a whole character when cap is short) and returns the
 * full escaped length; cli_esc does a whole C string and returns buf, for printf. */
size_t cli_escape(const char *s, size_t len, bool keep_layout, char *buf, size_t cap);
const char *cli_esc(const char *s, char *buf, size_t cap);
void cli_put_escaped(FILE *f, const char *s, size_t len, bool keep_layout);
/* Refuses (usage error, exit 2, before anything runs) an output that is also one of the
 * inputs, same path or same file (st_dev/st_ino), so a run cannot read what it overwrites.
 * The inputs follow out, NULL-terminated; a NULL input is skipped only as the terminator, so
 * pass "" for an absent one. Returns LQ_EXIT_OK when out is NULL or distinct. */
int cli_refuse_input_as_output(const char *cmd, const char *out, ...);

/* The subcommands (tools/cmd_<name>.c). */
int cmd_inspect(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_imatrix(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_fit(int argc, char **argv);
int cmd_optimize(int argc, char **argv);
int cmd_gptq(int argc, char **argv);

#endif
