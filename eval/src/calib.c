/* calib.c - calibration text: tokenizing, chunking and running it through the model. */
#include "lq/calib.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lq/file_io.h"
#include "lqi.h"

static lq_status read_text(const char *path, char **out, size_t *len, struct lq_error *err)
{
    *out = NULL;
    int fd;
    LQ_TRY(lq_input_open(path, false, &fd, err));
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return lqi_set_error(err, LQ_E_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    lq_status rc = LQ_OK;
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 1 << 16;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                rc = lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", path);
                goto cleanup;
            }
            buf = nb;
            cap = ncap;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            break;
        }
    }
    if (ferror(f)) {
        rc = lqi_set_error(err, LQ_E_IO, "%s: read error", path);
        goto cleanup;
    }
    *out = buf;
    *len = n;
    buf = NULL;
cleanup:
    free(buf);
    fclose(f);
    return rc;
}

lq_status lq_calib_load(const char *path, const lq_tokenizer *tok, int64_t n_ctx,
                        int64_t min_chunks, int64_t max_chunks, struct lq_calib *out,
                        struct lq_error *err)
{
    LQ_FAIL_IF(!path || !tok || !out || n_ctx < 2 || min_chunks < 1, err, LQ_E_INVALID_ARG,
               "calibration: bad arguments (context %lld, at least %lld chunks)",
               (long long)n_ctx, (long long)min_chunks);
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    LQ_TRY(read_text(path, &text, &len, err));
    lq_status rc = lq_tokenizer_encode(tok, text, len, LQ_TOKENIZE_ADD_SPECIAL, &ids, &n_ids, err);
    if (rc != LQ_OK) {
        goto cleanup;
    }
    int64_t n_chunks = (int64_t)n_ids / n_ctx;
    if (n_chunks < min_chunks) {
        rc = lqi_set_error(err, LQ_E_RANGE,
                           "%s: the text gives %zu tokens, %lld chunks of %lld; at least %lld "
                           "chunks (%lld tokens) are needed",
                           path, n_ids, (long long)n_chunks, (long long)n_ctx,
                           (long long)min_chunks, (long long)(min_chunks * n_ctx));
        goto cleanup;
    }
    if (max_chunks > 0 && n_chunks > max_chunks) {
        n_chunks = max_chunks;
    }
    out->path = lqi_strdup(path);
    if (!out->path) {
        rc = lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", path);
        goto cleanup;
    }
    /* the BOS of each chunk replaces a text token, as llama-perplexity does */
    const int32_t bos = lq_tokenizer_bos(tok);
    if (lq_tokenizer_add_bos(tok) && bos >= 0) {
        for (int64_t i = 0; i < n_chunks; i++) {
            ids[i * n_ctx] = bos;
        }
    }
    out->tokens = ids;
    ids = NULL;
    out->n_chunks = n_chunks;
    out->n_ctx = n_ctx;
    out->n_text_tokens = (int64_t)n_ids;
cleanup:
    lq_tokenizer_ids_free(ids);
    free(text);
    if (rc != LQ_OK) {
        lq_calib_free(out);
    }
    return rc;
}

void lq_calib_free(struct lq_calib *c)
{
    if (c) {
        lq_tokenizer_ids_free(c->tokens);
        lqi_free(c->path);
        memset(c, 0, sizeof *c);
    }
}

lq_status lq_calib_run(lq_model *m, const struct lq_calib *c, struct lq_error *err)
{
    LQ_FAIL_IF(!m || !c || !c->tokens, err, LQ_E_INVALID_ARG, "calibration: NULL argument");
    LQ_FAIL_IF(lq_model_n_ctx(m) < c->n_ctx || lq_model_n_batch(m) < c->n_ctx, err,
               LQ_E_INVALID_ARG,
               "calibration: chunks of %lld tokens need a model context and batch that large "
               "(%lld, %lld)", (long long)c->n_ctx, (long long)lq_model_n_ctx(m),
               (long long)lq_model_n_batch(m));
    for (int64_t i = 0; i < c->n_chunks; i++) {
        struct lq_batch b = { .tokens = c->tokens + i * c->n_ctx, .n_tokens = c->n_ctx };
        LQ_TRY(lq_model_forward(m, &b, err));
    }
    return LQ_OK;
}
