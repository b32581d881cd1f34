/* calib_cli.c - model, tokenizer and calibration text for `quant imatrix` / `quant gptq`. */
#include "calib_cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lq/model_open_any.h"

int calib_cli_open(struct calib_cli *c, const char *cmd, const char *model_path,
                   const char *text_path, int64_t n_ctx, int64_t min_chunks, int64_t max_chunks,
                   int n_threads)
{
    memset(c, 0, sizeof *c);
    struct lq_error err = { 0 };
    struct lq_model_params mp = lq_model_params_default();
    mp.n_threads = n_threads;
    mp.n_ctx = n_ctx;
    mp.n_batch = n_ctx;
    if (lq_model_open_path(model_path, &mp, &c->model, &c->tok, &err) != LQ_OK ||
        lq_calib_load(text_path, c->tok, n_ctx, min_chunks, max_chunks, &c->calib, &err) !=
            LQ_OK) {
        calib_cli_close(c);
        return cli_fail(cmd, &err);
    }
    return LQ_EXIT_OK;
}

void calib_cli_close(struct calib_cli *c)
{
    lq_calib_free(&c->calib);
    lq_tokenizer_free(c->tok);
    lq_model_free(c->model);
    memset(c, 0, sizeof *c);
}

lq_status cli_set_error(struct lq_error *err, lq_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}
