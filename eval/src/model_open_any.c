/* model_open_any.c - lq_model_open_path: a model and tokenizer from any checkpoint kind. */
#include "lq/model_open_any.h"

#include "lq/gguf.h"
#include "lq/sniff.h"
#include "lqi.h"
#include "model_impl.h"

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

/* Every id the tokenizer can produce must have an embedding row: otherwise the file's text
 * would reach the forward pass as an out-of-range token, a defect of the file. */
static lq_status check_vocab(const char *path, lq_model **m, lq_tokenizer **tok,
                             struct lq_error *err)
{
    const int64_t rows = lq_model_get_hparams(*m)->n_vocab;
    const int32_t n = lq_tokenizer_n_vocab(*tok);
    if (n <= rows) {
        return LQ_OK;
    }
    lq_model_free(*m);
    lq_tokenizer_free(*tok);
    *m = NULL;
    *tok = NULL;
    return lqi_set_error(err, LQ_E_FORMAT,
                         "%s: the tokenizer has %d tokens but token_embd.weight has %lld rows",
                         path, n, (long long)rows);
}

static lq_status open_any(const char *path, const char *tok_path,
                          const struct lq_model_params *params, lq_model **m,
                          lq_tokenizer **tok, struct lq_error *err);

lq_status lq_model_open_path_tokenizer(const char *path, const char *tok_path,
                                       const struct lq_model_params *params, lq_model **m,
                                       lq_tokenizer **tok, struct lq_error *err)
{
    LQ_TRY(open_any(path, tok_path, params, m, tok, err));
    return tok ? check_vocab(path, m, tok, err) : LQ_OK;
}

static lq_status open_any(const char *path, const char *tok_path,
                          const struct lq_model_params *params, lq_model **m,
                          lq_tokenizer **tok, struct lq_error *err)
{
    LQ_FAIL_IF(!path || !m, err, LQ_E_INVALID_ARG, "open model: NULL argument");
    *m = NULL;
    if (tok) {
        *tok = NULL;
    }
    enum lq_file_kind kind;
    LQ_TRY(lq_sniff_path(path, &kind, err));
    if (kind != LQ_FILE_GGUF) {
        return lqi_model_open_checkpoint(path, tok_path, params, m, tok, err);
    }
    LQ_FAIL_IF(tok_path, err, LQ_E_UNSUPPORTED,
               "%s: a separate tokenizer file applies only to llama2.c checkpoints (a GGUF "
               "file has its own)", tok_path);
    return open_gguf(path, params, m, tok, err);
}

lq_status lq_model_open_path(const char *path, const struct lq_model_params *params,
                             lq_model **m, lq_tokenizer **tok, struct lq_error *err)
{
    return lq_model_open_path_tokenizer(path, NULL, params, m, tok, err);
}
