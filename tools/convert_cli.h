/* convert_cli.h - what `quant convert` and `quant quantize` share: their options, the
 * --tensor-type rules, the per-tensor report and the run itself. */
#ifndef LQ_CONVERT_CLI_H
#define LQ_CONVERT_CLI_H

#include <stdbool.h>

#include <jansson.h>

#include "cli_opts.h"
#include "lq/convert.h"

#define MAX_TYPE_RULES 64

struct type_rule {
    char *pattern;
    void *code; /* pcre2_code */
    int type;
};

struct convert_cli {
    const char *cmd;
    const char *in, *out;
    struct lq_convert_params params;
    const char *imatrix_path;
    bool stats, quiet, json;
    json_t *tensors; /* --json: the per-tensor summaries */
    struct type_rule rules[MAX_TYPE_RULES];
    int n_rules;
};

/* Fills the shared options of convert and quantize from the parsed command line: types,
 * --tensor-type rules (compiled), imatrix path, threads, flags. 0 or an exit code (2) after a
 * usage error. */
int convert_cli_from_args(struct convert_cli *c, const struct cli_args *a);

/* Runs the conversion and prints the summary; returns an exit code. */
int convert_cli_run(struct convert_cli *c);

void convert_cli_free(struct convert_cli *c);

#endif
