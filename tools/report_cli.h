/* report_cli.h - what `quant report` and `quant check` share: the progress bar over the
 * whole matrix, the type list, number options and the summary table on stdout. */
#ifndef LQ_REPORT_CLI_H
#define LQ_REPORT_CLI_H

#include <stdio.h>

#include <jansson.h>

#include "lq/report.h"
#include "progress.h"

/* on_progress for lq_report_params; user is a struct progress started by the caller. */
void report_cli_progress(void *user, const struct lq_report_progress *p);

/* Adds each job of a comma-separated list ("q8_0,q4_k_m"); 0 or an exit code after a
 * message. */
int report_cli_add_types(const char *cmd, lq_report *r, const char *list);

/* Parses a number >= lo for option `name`; 0 or an exit code after a message. */
int report_cli_number(const char *cmd, const char *name, const char *arg, long long lo,
                      long long *out);

/* One line per type: size, bpw, PPL, ΔPPL, KLD, top-1, worst tensor. */
void report_cli_print_table(const lq_report *r, FILE *f);

/* The --json "reference" and "entries" keys of report and check --update: each row's sizes,
 * times and figures (keys in README.md). */
void report_cli_json_entries(const lq_report *r, json_t *doc);

#endif
