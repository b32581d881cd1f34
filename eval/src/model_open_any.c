/* model_open_any.c - lq_model_open_path: a model and tokenizer from any checkpoint kind. */
#include "lq/model_open_any.h"

#include "lq/gguf.h"
#include "lq/sniff.h"
#include "lqi.h"
#include "model_source.h"

static lq_status open_gguf(const char *path, const struct lq_model_params *params, lq_model **m,
                           lq_tokenizer **tok, struct lq_error *err)
{
    LQ_TRY(lq_model_open(path, params, m, err));
    if (!tok) {
        return LQ_OK;
    }
    lq_gguf *g = NULL;
    lq_status rc = lq_gguf_open(path, &g, err);
    if (rc == LQ_OK) {
        rc = lq_tokenizer_from_gguf(g, tok, err);
    }
    lq_gguf_free(g);
    if (rc != LQ_OK) {
        lq_model_free(*m);
        *m = NULL;
    }
    return rc;
}

lq_status lq_model_open_path(const char *path, const struct lq_model_params *params,
                             lq_model **m, lq_tokenizer **tok, struct lq_error *err)
{
    LQ_FAIL_IF(!path || !m, err, LQ_E_INVALID_ARG, "open model: NULL argument");
    *m = NULL;
    if (tok) {
        *tok = NULL;
    }
    enum lq_file_kind kind;
    LQ_TRY(lq_sniff_path(path, &kind, err));
    if (kind == LQ_FILE_GGUF) {
        return open_gguf(path, params, m, tok, err);
    }
    lq_status rc = lqi_model_open_any_source(path, params, m, tok, err);
    if (rc != LQ_OK && tok) {
        lq_tokenizer_free(*tok);
        *tok = NULL;
    }
    return rc;
}
