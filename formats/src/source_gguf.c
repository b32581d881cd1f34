/* source_gguf.c - a GGUF file as a source: its tensors, hyper-parameters and metadata. */
#include <stdio.h>
#include <string.h>

#include "lqi.h"
#include "source_impl.h"

/* "<arch>.<suffix>" as an integer, or `def` when absent. */
static int64_t arch_i64(const lq_gguf *g, const char *arch, const char *suffix, int64_t def)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int64_t v;
    return lq_gguf_get_i64(g, key, &v, NULL) == LQ_OK ? v : def;
}

static double arch_f64(const lq_gguf *g, const char *arch, const char *suffix, double def)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    double v;
    return lq_gguf_get_f64(g, key, &v, NULL) == LQ_OK ? v : def;
}

static void read_hparams(struct lq_source *s)
{
    const lq_gguf *g = s->gguf;
    const char *arch = "llama";
    lq_gguf_get_str(g, "general.architecture", &arch, NULL);
    s->family = lq_family_by_gguf_arch(arch);
    struct lq_llama_hparams *hp = &s->hp;
    hp->n_embd = arch_i64(g, arch, "embedding_length", 0);
    hp->n_layer = arch_i64(g, arch, "block_count", 0);
    hp->n_ff = arch_i64(g, arch, "feed_forward_length", 0);
    hp->n_head = arch_i64(g, arch, "attention.head_count", 0);
    hp->n_head_kv = arch_i64(g, arch, "attention.head_count_kv", hp->n_head);
    hp->head_dim = hp->n_head ? arch_i64(g, arch, "attention.key_length", hp->n_embd / hp->n_head)
                              : 0;
    hp->n_rot = arch_i64(g, arch, "rope.dimension_count", hp->head_dim);
    hp->n_ctx_train = arch_i64(g, arch, "context_length", 0);
    const int64_t n_exp = arch_i64(g, arch, "expert_count", 0);
    const int64_t n_used = arch_i64(g, arch, "expert_used_count", 0);
    /* out-of-range counts become -1, which the range check refuses by name */
    hp->n_expert = n_exp >= 0 && n_exp <= LQ_MAX_EXPERTS ? (int)n_exp : -1;
    hp->n_expert_used = n_used >= 0 && n_used <= LQ_MAX_EXPERTS ? (int)n_used : -1;
    hp->n_ff_exp = arch_i64(g, arch, "expert_feed_forward_length", hp->n_ff);
    hp->rope_freq_base = arch_f64(g, arch, "rope.freq_base", 10000.0);
    hp->norm_eps = arch_f64(g, arch, "attention.layer_norm_rms_epsilon", 1e-5);
    hp->tied_embeddings = lq_gguf_find_tensor(g, "output.weight") < 0;
    /* llama.cpp sizes the vocabulary by the token list, whatever llama.vocab_size says */
    int64_t tok = lq_gguf_find_key(g, "tokenizer.ggml.tokens");
    hp->n_vocab = tok >= 0 && lq_gguf_value(g, tok)->type == LQ_GGUF_ARRAY
                      ? (int64_t)lq_gguf_value(g, tok)->v.arr.n
                      : arch_i64(g, arch, "vocab_size", 0);
}

/* A GGUF of a family the table knows, with tensors, goes through the validator (other
 * architectures and vocabulary-only files are copied as they are). */
static lq_status check_hparams(const struct lq_source *s, struct lq_error *err)
{
    if (!s->family || s->n_tensors == 0) {
        return LQ_OK;
    }
    const char *arch = s->family->gguf_arch;
    char vocab_key[96];
    snprintf(vocab_key, sizeof vocab_key, "%s.vocab_size", arch);
    const bool listed = lq_gguf_find_key(s->gguf, "tokenizer.ggml.tokens") >= 0;
    int64_t declared;
    if (listed && lq_gguf_get_i64(s->gguf, vocab_key, &declared, NULL) == LQ_OK) {
        LQ_FAIL_IF(declared != s->hp.n_vocab, err, LQ_E_FORMAT,
                   "%s: %s is %lld but tokenizer.ggml.tokens has %lld entries", s->path,
                   vocab_key, (long long)declared, (long long)s->hp.n_vocab);
    }
    /* the keys as this file spells them ("qwen2.block_count") */
    static const char *const suffixes[] = {
        "embedding_length", "block_count", "feed_forward_length", "attention.head_count",
        "attention.head_count_kv", "attention.key_length", "context_length", "rope.freq_base",
        "attention.layer_norm_rms_epsilon", "expert_count", "expert_used_count",
        "expert_feed_forward_length",
    };
    char names[12][96];
    for (size_t i = 0; i < 12; i++) {
        snprintf(names[i], sizeof names[i], "%s.%s", arch, suffixes[i]);
    }
    const struct lqi_hparam_keys k = {
        .file = s->path,
        .n_vocab = listed ? "the tokenizer.ggml.tokens count" : vocab_key,
        .n_embd = names[0], .n_layer = names[1], .n_ff = names[2], .n_head = names[3],
        .n_head_kv = names[4], .head_dim = names[5], .n_ctx_train = names[6],
        .rope_freq_base = names[7], .norm_eps = names[8], .n_expert = names[9],
        .n_expert_used = names[10],
        .n_ff_exp = lq_gguf_find_key(s->gguf, names[11]) >= 0 ? names[11] : names[2],
        .head_dim_implied = lq_gguf_find_key(s->gguf, names[5]) < 0,
    };
    return lqi_source_check_hparams(s, &k, err);
}

lq_status lqi_source_open_gguf(struct lq_source *s, struct lq_error *err)
{
    s->kind = LQ_SOURCE_GGUF;
    LQ_TRY(lq_gguf_open(s->path, &s->gguf, err));
    int64_t n = lq_gguf_n_tensors(s->gguf);
    LQ_TRY(lqi_source_alloc(s, n, err));
    for (int64_t i = 0; i < n; i++) {
        const struct lq_gguf_tensor_info *ti = lq_gguf_tensor(s->gguf, i);
        /* what a GGUF output can hold, checked here so that the error names this file */
        LQ_FAIL_IF(ti->n_dims == 0, err, LQ_E_FORMAT, "%s: tensor '%s' has no dimensions",
                   s->path, ti->name);
        LQ_FAIL_IF(strlen(ti->name) > LQ_GGUF_MAX_NAME, err, LQ_E_FORMAT,
                   "%s: tensor name '%.*s...' is longer than %d bytes", s->path, 32, ti->name,
                   LQ_GGUF_MAX_NAME);
        struct lq_source_tensor *t = &s->tensors[i];
        t->name = ti->name;
        t->src_name = ti->name;
        t->file = s->path;
        t->n_dims = (int)ti->n_dims;
        memcpy(t->ne, ti->ne, sizeof t->ne);
        t->type = ti->type;
        t->nbytes = ti->nbytes;
        t->data = ti->data;
    }
    s->n_tensors = n;
    lqi_source_reindex(s);
    read_hparams(s);
    LQ_TRY(check_hparams(s, err));
    snprintf(s->describe, sizeof s->describe, "GGUF v%u, %lld tensors", lq_gguf_version(s->gguf),
             (long long)n);
    return LQ_OK;
}

lq_status lqi_source_meta_gguf(const struct lq_source *s, lq_gguf_writer *w, struct lq_error *err)
{
    const lq_gguf *g = s->gguf;
    for (int64_t i = 0; i < lq_gguf_n_kv(g); i++) {
        const char *key = lq_gguf_key(g, i);
        if (strcmp(key, "general.file_type") == 0 ||
            strcmp(key, "general.quantization_version") == 0 || strncmp(key, "split.", 6) == 0) {
            continue;
        }
        LQ_TRY(lq_gguf_writer_set_value(w, key, lq_gguf_value(g, i), err));
    }
    return LQ_OK;
}
