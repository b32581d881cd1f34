/* source_llama2c.c - a llama2.c checkpoint (stories260K.bin) as a source: F32 tensors already
 * in GGUF's rotary layout, hyper-parameters from its header, and its tokenizer (tokenizer.bin
 * or tok<vocab>.bin beside it) written as a SentencePiece-style vocabulary. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "lqi.h"
#include "source_impl.h"

lq_status lqi_source_open_llama2c(struct lq_source *s, struct lq_error *err)
{
    s->kind = LQ_SOURCE_LLAMA2C;
    s->family = lq_family_by_gguf_arch("llama");
    LQ_TRY(lq_llama2c_open(s->path, &s->l2c, err));
    const struct lq_llama2c_config *c = lq_llama2c_config(s->l2c);
    struct lq_llama_hparams *hp = &s->hp;
    hp->n_vocab = c->vocab_size;
    hp->n_embd = c->dim;
    hp->n_layer = c->n_layers;
    hp->n_ff = c->hidden_dim;
    hp->n_head = c->n_heads;
    hp->n_head_kv = c->n_kv_heads;
    hp->head_dim = c->head_size;
    hp->n_rot = c->head_size;
    hp->n_ctx_train = c->seq_len;
    hp->rope_freq_base = 10000.0f; /* llama2.c's run.c */
    hp->norm_eps = 1e-5f;
    hp->tied_embeddings = c->shared_classifier;
    int64_t n = lq_llama2c_n_tensors(s->l2c);
    LQ_TRY(lqi_source_alloc(s, n, err));
    for (int64_t i = 0; i < n; i++) {
        const struct lq_llama2c_tensor *lt = lq_llama2c_tensor(s->l2c, i);
        struct lq_source_tensor *t = &s->tensors[i];
        t->name = lt->name;
        t->src_name = lt->name;
        t->file = s->path;
        t->n_dims = (int)lt->n_dims;
        memcpy(t->ne, lt->ne, sizeof t->ne);
        t->type = LQ_TYPE_F32;
        t->nbytes = lt->nbytes;
        t->data = lt->data;
    }
    s->n_tensors = n;
    lqi_source_reindex(s);
    const struct lqi_hparam_keys k = {
        .file = s->path, .n_vocab = "vocab_size", .n_embd = "dim", .n_layer = "n_layers",
        .n_ff = "hidden_dim", .n_head = "n_heads", .n_head_kv = "n_kv_heads",
        .head_dim = "dim / n_heads", .n_ctx_train = "seq_len",
        .rope_freq_base = "rope theta (fixed)", .norm_eps = "norm epsilon (fixed)",
        .head_dim_implied = true,
    };
    LQ_TRY(lqi_source_check_hparams(s, &k, err));
    snprintf(s->describe, sizeof s->describe, "llama2.c checkpoint, F32");
    return LQ_OK;
}

/* The caller's tokenizer, else tokenizer.bin, else tok<vocab>.bin in the checkpoint's
 * folder. */
static lq_status find_vocab(const struct lq_source *s, char *path, size_t cap,
                            struct lq_error *err)
{
    if (s->vocab_path) {
        const int n = snprintf(path, cap, "%s", s->vocab_path);
        LQ_FAIL_IF(n < 0 || (size_t)n >= cap, err, LQ_E_INVALID_ARG,
                   "%s: tokenizer path is too long", s->path);
        return LQ_OK;
    }
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", s->path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    struct stat st;
    int n = snprintf(path, cap, "%s/tokenizer.bin", dir);
    if (n > 0 && (size_t)n < cap && stat(path, &st) == 0) {
        return LQ_OK;
    }
    n = snprintf(path, cap, "%s/tok%lld.bin", dir, (long long)s->hp.n_vocab);
    LQ_FAIL_IF(n < 0 || (size_t)n >= cap || stat(path, &st) != 0, err, LQ_E_NOT_FOUND,
               "%s: no tokenizer beside it (looked for tokenizer.bin and tok%lld.bin)", s->path,
               (long long)s->hp.n_vocab);
    return LQ_OK;
}

lq_status lqi_source_meta_llama2c(const struct lq_source *s, lq_gguf_writer *w,
                                  struct lq_error *err)
{
    char vpath[4096], stem[256];
    LQ_TRY(find_vocab(s, vpath, sizeof vpath, err));
    const char *base = strrchr(s->path, '/') ? strrchr(s->path, '/') + 1 : s->path;
    snprintf(stem, sizeof stem, "%s", base);
    char *dot = strrchr(stem, '.');
    if (dot) {
        *dot = '\0';
    }
    LQ_TRY(lqi_source_write_names(s, w, stem, err));
    LQ_TRY(lqi_source_write_llama_keys(s, w, err));
    lq_llama2c_vocab *v = NULL;
    LQ_TRY(lq_llama2c_vocab_open(vpath, (int32_t)s->hp.n_vocab, &v, err));
    uint64_t n = (uint64_t)lq_llama2c_vocab_n(v);
    lq_status rc;
    if ((rc = lq_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama", err)) ||
        (rc = lq_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", lq_llama2c_vocab_texts(v),
                                         n, err)) ||
        (rc = lq_gguf_writer_set_arr(w, "tokenizer.ggml.scores", LQ_GGUF_FLOAT32,
                                     lq_llama2c_vocab_scores(v), n, err)) ||
        (rc = lq_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", LQ_GGUF_INT32,
                                     lq_llama2c_vocab_types(v), n, err)) ||
        (rc = lq_gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0, err)) ||
        (rc = lq_gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1, err)) ||
        (rc = lq_gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2, err))) {
        /* error already set */
    }
    lq_llama2c_vocab_free(v);
    return rc;
}
