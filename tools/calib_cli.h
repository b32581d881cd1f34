/* calib_cli.h - what `quant imatrix` and `quant gptq` share: the model, its tokenizer and the
 * calibration chunks. */
#ifndef LQ_CALIB_CLI_H
#define LQ_CALIB_CLI_H

#include "lq/calib.h"
#include "lq/model.h"
#include "lq/tokenizer.h"

struct calib_cli {
    lq_model *model;
    lq_tokenizer *tok;
    struct lq_calib calib;
};

/* Opens the model at path (GGUF), its tokenizer, and cuts the text file into chunks of n_ctx
 * tokens (at least min_chunks, at most max_chunks when > 0). On failure prints the error
 * prefixed with cmd and returns the exit code; 0 on success. */
int calib_cli_open(struct calib_cli *c, const char *cmd, const char *model_path,
                   const char *text_path, int64_t n_ctx, int64_t min_chunks, int64_t max_chunks,
                   int n_threads);

void calib_cli_close(struct calib_cli *c);

/* Fills err (code and printf-style message) and returns code, as the library's errors. */
lq_status cli_set_error(struct lq_error *err, lq_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
