/* convert_cli.h - what `quant convert` and `quant quantize` share: their options, the
 * --tensor-type rules, the per-tensor report and the run itself. */
#ifndef LQ_CONVERT_CLI_H
#define LQ_CONVERT_CLI_H

#include <stdbool.h>

#include <jansson.h>

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

/* Handles one shared option (getopt's val and optarg). Returns 0 when handled, 1 when the
 * option is not a shared one, or an exit code (2) after printing a usage error. */
int convert_cli_option(struct convert_cli *c, int opt, const char *arg);

/* Runs the conversion and prints the summary; returns an exit code. */
int convert_cli_run(struct convert_cli *c);

void convert_cli_free(struct convert_cli *c);

/* getopt_long values of the shared options */
enum {
    OPT_PURE = 1000,
    OPT_OUTPUT_TENSOR_TYPE,
    OPT_TOKEN_EMBEDDING_TYPE,
    OPT_TENSOR_TYPE,
    OPT_IMATRIX,
    OPT_THREADS,
    OPT_STATS,
    OPT_ALLOW_REQUANTIZE,
    OPT_ALLOW_NONFINITE,
    OPT_QUIET,
    OPT_JSON,
    OPT_PROGRESS,
};

#define CONVERT_CLI_LONG_OPTIONS                                                           \
    { "pure", no_argument, NULL, OPT_PURE },                                               \
    { "output-tensor-type", required_argument, NULL, OPT_OUTPUT_TENSOR_TYPE },             \
    { "token-embedding-type", required_argument, NULL, OPT_TOKEN_EMBEDDING_TYPE },         \
    { "tensor-type", required_argument, NULL, OPT_TENSOR_TYPE },                           \
    { "imatrix", required_argument, NULL, OPT_IMATRIX },                                   \
    { "threads", required_argument, NULL, OPT_THREADS },                                   \
    { "stats", no_argument, NULL, OPT_STATS },                                             \
    { "allow-requantize", no_argument, NULL, OPT_ALLOW_REQUANTIZE },                       \
    { "allow-nonfinite", no_argument, NULL, OPT_ALLOW_NONFINITE },                         \
    { "quiet", no_argument, NULL, OPT_QUIET },                                             \
    { "json", no_argument, NULL, OPT_JSON },                                               \
    { "progress", no_argument, NULL, OPT_PROGRESS }

#define CONVERT_CLI_HELP                                                                   \
    "  --pure                      every quantizable tensor gets the default type\n"      \
    "  --output-tensor-type T      type of output.weight\n"                               \
    "  --token-embedding-type T    type of token_embd.weight\n"                           \
    "  --tensor-type REGEX=T       type of tensors whose name matches REGEX (repeatable)\n" \
    "  --imatrix FILE              importance matrix (llama.cpp imatrix GGUF)\n"          \
    "  --threads N                 threads for quantization (default: all cores)\n"       \
    "  --stats                     per-tensor error table (RMSE, max error, rel. RMSE, SNR)\n" \
    "  --allow-requantize          allow quantizing tensors that are already quantized\n" \
    "  --allow-nonfinite           quantize NaN/Inf weights instead of refusing them\n"   \
    "  -q, --quiet                 no progress bar or summary\n"                         \
    "  --json                      print the result as JSON on stdout (README.md)\n"     \
    "  --progress                  progress lines even when stderr is not a terminal\n"

#endif
