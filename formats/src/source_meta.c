/* source_meta.c - GGUF metadata for converted checkpoints: general.* names, llama.* keys,
 * and the tokenizer (SentencePiece tokenizer.model, Hugging Face tokenizer.json, llama2.c
 * tok512.bin) as llama.cpp's converter writes them. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/spm_model.h"
#include "lqi.h"
#include "source_impl.h"

/* llama.cpp's size label: "6.8M", "8.0B" (two significant digits at least). */
void lqi_size_label(int64_t n, char *buf, size_t cap)
{
    double v;
    const char *suffix;
    if (n > 1000000000000LL) {
        v = n * 1e-12, suffix = "T";
    } else if (n > 1000000000LL) {
        v = n * 1e-9, suffix = "B";
    } else if (n > 1000000LL) {
        v = n * 1e-6, suffix = "M";
    } else {
        v = n * 1e-3, suffix = "K";
    }
    char whole[32];
    snprintf(whole, sizeof whole, "%.0f", v);
    int fix = 2 - (int)strlen(whole);
    snprintf(buf, cap, "%.*f%s", fix > 0 ? fix : 0, v, suffix);
}

int64_t lqi_source_total_params(const struct lq_source *s)
{
    int64_t n = 0;
    for (int64_t i = 0; i < s->n_tensors; i++) {
        const struct lq_source_tensor *t = &s->tensors[i];
        if (!t->data) { /* generated rope factors are not parameters */
            continue;
        }
        n += t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
    }
    return n;
}

void lqi_source_size_label(const struct lq_source *s, char *buf, size_t cap)
{
    /* gguf-py's size_label: "<experts>x<shared + one expert's parameters>" for
     * mixture-of-experts models, else the total */
    int64_t shared = 0, per_expert = 0, n_stacks = 0, sum_experts = 0;
    for (int64_t i = 0; i < s->n_tensors; i++) {
        const struct lq_source_tensor *t = &s->tensors[i];
        const int64_t n = t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
        if (!t->data) {
            continue;
        }
        if (strstr(t->name, "_exps.")) {
            per_expert += n / t->ne[2];
            sum_experts += t->ne[2];
            n_stacks++;
        } else {
            shared += n;
        }
    }
    if (n_stacks == 0) {
        lqi_size_label(shared, buf, cap);
        return;
    }
    char size[32];
    lqi_size_label(shared + per_expert, size, sizeof size);
    snprintf(buf, cap, "%lldx%s", (long long)(sum_experts / n_stacks), size);
}

lq_status lqi_source_write_names(const struct lq_source *s, lq_gguf_writer *w, const char *stem,
                                 struct lq_error *err)
{
    /* "tiny-llama-6L": words joined by '-'; trailing words that start with a digit are the
     * fine-tune tag, the rest the base name; the display name title-cases the words */
    char name[256], base[256], tag[256], label[32];
    size_t n = strlen(stem) < sizeof base - 1 ? strlen(stem) : sizeof base - 1;
    memcpy(base, stem, n);
    base[n] = '\0';
    tag[0] = '\0';
    char *dash = strrchr(base, '-');
    if (dash && isdigit((unsigned char)dash[1])) {
        snprintf(tag, sizeof tag, "%s", dash + 1);
        *dash = '\0';
    }
    size_t j = 0;
    bool start = true;
    for (size_t i = 0; stem[i] && j < sizeof name - 1; i++) {
        char c = stem[i] == '-' || stem[i] == '_' ? ' ' : stem[i];
        name[j++] = start && isalpha((unsigned char)c) ? (char)toupper((unsigned char)c) : c;
        start = c == ' ';
    }
    name[j] = '\0';
    lqi_size_label(lqi_source_total_params(s), label, sizeof label);
    LQ_TRY(lq_gguf_writer_set_str(w, "general.architecture", "llama", err));
    LQ_TRY(lq_gguf_writer_set_str(w, "general.type", "model", err));
    LQ_TRY(lq_gguf_writer_set_str(w, "general.name", name, err));
    if (tag[0]) {
        LQ_TRY(lq_gguf_writer_set_str(w, "general.finetune", tag, err));
    }
    LQ_TRY(lq_gguf_writer_set_str(w, "general.basename", base, err));
    return lq_gguf_writer_set_str(w, "general.size_label", label, err);
}

lq_status lqi_source_write_llama_keys(const struct lq_source *s, lq_gguf_writer *w,
                                      struct lq_error *err)
{
    const struct lq_llama_hparams *hp = &s->hp;
    LQ_TRY(lq_gguf_writer_set_u32(w, "llama.block_count", (uint32_t)hp->n_layer, err));
    LQ_TRY(lq_gguf_writer_set_u32(w, "llama.context_length", (uint32_t)hp->n_ctx_train, err));
    LQ_TRY(lq_gguf_writer_set_u32(w, "llama.embedding_length", (uint32_t)hp->n_embd, err));
    LQ_TRY(lq_gguf_writer_set_u32(w, "llama.feed_forward_length", (uint32_t)hp->n_ff, err));
    LQ_TRY(lq_gguf_writer_set_u32(w, "llama.attention.head_count", (uint32_t)hp->n_head, err));
    LQ_TRY(lq_gguf_writer_set_u32(w, "llama.attention.head_count_kv", (uint32_t)hp->n_head_kv,
                                  err));
    LQ_TRY(lq_gguf_writer_set_f32(w, "llama.rope.freq_base", (float)hp->rope_freq_base, err));
    LQ_TRY(lq_gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", (float)hp->norm_eps,
                                  err));
    LQ_TRY(lq_gguf_writer_set_u32(w, "llama.attention.key_length", (uint32_t)hp->head_dim, err));
    LQ_TRY(lq_gguf_writer_set_u32(w, "llama.attention.value_length", (uint32_t)hp->head_dim,
                                  err));
    LQ_TRY(lq_gguf_writer_set_u32(w, "llama.vocab_size", (uint32_t)hp->n_vocab, err));
    return lq_gguf_writer_set_u32(w, "llama.rope.dimension_count", (uint32_t)hp->n_rot, err);
}
