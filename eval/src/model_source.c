/* model_source.c - a model straight from a checkpoint that is not GGUF (a Hugging Face
 * folder, a llama2.c checkpoint), read through lq_source without converting it.
 *
 * The hyperparameters and the tokenizer come from the very metadata `quant convert` would
 * write into the GGUF file (built in memory and read back with the GGUF reader), so the
 * model and its token ids are those of the converted file. Weights stay memory-mapped in
 * their stored type (F32/F16/BF16); only tensors whose GGUF bytes differ from the stored ones
 * are copied: the q/k projections of Hugging Face checkpoints, whose rows are permuted into
 * GGUF's rotary layout, and generated tensors (Llama 3 rope_freqs). */
#include <stdlib.h>

#include "forward_impl.h"
#include "lq/gguf_writer.h"
#include "lq/source.h"
#include "lqi.h"

/* The weight source handed to lq_model_open_source. */
struct src_view {
    lq_source *src;
    void **copies; /* per tensor: its GGUF-order bytes when they are not the mapping's */
};

static bool view_find(void *user, const char *name, struct lq_model_tensor *out)
{
    const struct src_view *v = user;
    const int64_t id = lq_source_find_tensor(v->src, name);
    if (id < 0) {
        return false;
    }
    const struct lq_source_tensor *t = lq_source_tensor(v->src, id);
    out->type = t->type;
    for (int i = 0; i < 4; i++) {
        out->ne[i] = t->ne[i];
    }
    out->data = v->copies[id] ? v->copies[id] : t->data;
    out->nbytes = t->nbytes;
    return true;
}

static void view_close(void *user)
{
    struct src_view *v = user;
    if (!v) {
        return;
    }
    for (int64_t i = 0; v->copies && i < lq_source_n_tensors(v->src); i++) {
        lqi_free(v->copies[i]);
    }
    lqi_free(v->copies);
    lq_source_free(v->src);
    lqi_free(v);
}

/* Copies the tensors whose GGUF bytes are not the stored bytes (see the file comment). */
static lq_status make_copies(struct src_view *v, struct lq_error *err)
{
    const int64_t n = lq_source_n_tensors(v->src);
    v->copies = lqi_calloc((size_t)(n > 0 ? n : 1), sizeof *v->copies);
    LQ_FAIL_IF(!v->copies, err, LQ_E_NOMEM, "%s: out of memory", lq_source_path(v->src));
    for (int64_t i = 0; i < n; i++) {
        const struct lq_source_tensor *t = lq_source_tensor(v->src, i);
        if (t->permute_heads <= 0 && !t->add_one && t->data && !t->parts) {
            continue;
        }
        v->copies[i] = lqi_malloc(t->nbytes ? t->nbytes : 1);
        LQ_FAIL_IF(!v->copies[i], err, LQ_E_NOMEM, "%s: out of memory for tensor '%s'",
                   lq_source_path(v->src), t->name);
        LQ_TRY(lq_source_read_raw(v->src, i, v->copies[i], err));
    }
    return LQ_OK;
}

/* The GGUF metadata of the converted model, as an in-memory GGUF (bytes in *buf, which must
 * outlive *meta). */
static lq_status source_metadata(const lq_source *src, lq_gguf **meta, void **buf,
                                 struct lq_error *err)
{
    lq_gguf_writer *w = NULL;
    size_t n = 0;
    LQ_TRY(lq_gguf_writer_open_memory(&w, err));
    lq_status rc = lq_source_write_metadata(src, w, err);
    if (rc == LQ_OK) {
        rc = lq_gguf_writer_header_bytes(w, NULL, 0, &n, err);
    }
    if (rc == LQ_OK) {
        *buf = lqi_malloc(n);
        rc = *buf ? lq_gguf_writer_header_bytes(w, *buf, n, &n, err)
                  : lqi_set_error(err, LQ_E_NOMEM, "%s: out of memory", lq_source_path(src));
    }
    if (rc == LQ_OK) {
        rc = lq_gguf_open_memory(*buf, n, lq_source_path(src), meta, err);
    }
    lq_gguf_writer_free(w);
    return rc;
}

/* Hyperparameters and (when tok is not NULL) the tokenizer from the metadata; the vocabulary
 * size from token_embd.weight. */
static lq_status read_meta(const lq_source *src, struct lq_model_hparams *hp, lq_tokenizer **tok,
                           struct lq_error *err)
{
    lq_gguf *meta = NULL;
    void *buf = NULL;
    lq_status rc = source_metadata(src, &meta, &buf, err);
    if (rc == LQ_OK) {
        rc = lqi_model_hparams_gguf(meta, lq_source_path(src), hp, err);
    }
    const int64_t id = lq_source_find_tensor(src, "token_embd.weight");
    if (rc == LQ_OK && id < 0) {
        rc = lqi_set_error(err, LQ_E_FORMAT, "%s: it has no token embedding",
                           lq_source_path(src));
    }
    if (rc == LQ_OK) {
        hp->n_vocab = lq_source_tensor(src, id)->ne[1];
    }
    if (rc == LQ_OK && tok) {
        rc = lq_tokenizer_from_gguf(meta, tok, err);
    }
    lq_gguf_free(meta);
    lqi_free(buf);
    return rc;
}

lq_status lqi_model_open_checkpoint(const char *path, const char *tok_path,
                                    const struct lq_model_params *params, lq_model **m,
                                    lq_tokenizer **tok, struct lq_error *err)
{
    struct src_view *v = lqi_calloc(1, sizeof *v);
    LQ_FAIL_IF(!v, err, LQ_E_NOMEM, "%s: out of memory", path);
    struct lq_model_hparams hp;
    lq_status rc = lq_source_open(path, &v->src, err);
    if (rc == LQ_OK && tok_path) {
        rc = lq_source_set_tokenizer(v->src, tok_path, err);
    }
    if (rc == LQ_OK) {
        rc = read_meta(v->src, &hp, tok, err);
    }
    if (rc == LQ_OK) {
        rc = make_copies(v, err);
    }
    if (rc != LQ_OK) {
        view_close(v);
        return rc;
    }
    const struct lq_model_source ms = {
        .name = path, .user = v, .find_tensor = view_find, .close = view_close
    };
    rc = lq_model_open_source(&hp, &ms, params, m, err);
    if (rc != LQ_OK && tok) {
        lq_tokenizer_free(*tok);
        *tok = NULL;
    }
    return rc;
}
