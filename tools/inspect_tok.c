/* inspect_tok.c - the tokenizer line of the inspect view: tokenizer.ggml.model, the
 * pre-tokenizer and the token count of a GGUF file, or of what `quant convert` would write for
 * a Hugging Face folder (its tokenizer files converted in memory; a tokenizer convert would
 * refuse shows why). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inspect_priv.h"
#include "lq/gguf.h"
#include "lq/gguf_writer.h"
#include "lq/source.h"

static void from_gguf(struct iv_tokenizer *t, const lq_gguf *g)
{
    const char *model = NULL, *pre = NULL;
    const struct lq_gguf_value *toks = NULL;
    if (lq_gguf_get_str(g, "tokenizer.ggml.model", &model, NULL) != LQ_OK) {
        return;
    }
    snprintf(t->model, sizeof t->model, "%s", model);
    if (lq_gguf_get_str(g, "tokenizer.ggml.pre", &pre, NULL) == LQ_OK) {
        snprintf(t->pre, sizeof t->pre, "%s", pre);
    }
    if (lq_gguf_get_arr(g, "tokenizer.ggml.tokens", LQ_GGUF_STRING, &toks, NULL) == LQ_OK) {
        t->n_tokens = (int64_t)toks->v.arr.n;
    }
}

/* The folder's vocabulary keys written to memory and read back. */
static void from_folder(struct iv_tokenizer *t, const char *dir)
{
    struct lq_error err = {0};
    lq_gguf_writer *w = NULL;
    lq_gguf *g = NULL;
    size_t n = 0;
    void *buf = NULL;
    lq_status rc = lq_gguf_writer_open_memory(&w, &err);
    if (rc == LQ_OK && (rc = lq_source_write_hf_vocab(dir, w, &err)) == LQ_OK &&
        (rc = lq_gguf_writer_header_bytes(w, NULL, 0, &n, &err)) == LQ_OK) {
        buf = malloc(n);
        rc = buf ? lq_gguf_writer_header_bytes(w, buf, n, &n, &err) : LQ_E_NOMEM;
        rc = rc == LQ_OK ? lq_gguf_open_memory(buf, n, dir, &g, &err) : rc;
    }
    if (rc == LQ_OK) {
        from_gguf(t, g);
    } else {
        snprintf(t->error, sizeof t->error, "%s", rc == LQ_E_NOMEM ? "out of memory" : err.msg);
    }
    lq_gguf_free(g);
    free(buf);
    lq_gguf_writer_free(w);
}

void ivi_read_tokenizer(struct inspect_view *v)
{
    memset(&v->tok, 0, sizeof v->tok);
    if (v->kind == IV_GGUF) {
        from_gguf(&v->tok, v->impl);
    } else if (v->kind == IV_HF || (v->kind == IV_PYTORCH && v->meta)) {
        from_folder(&v->tok, v->path);
    }
}
