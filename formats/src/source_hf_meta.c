/* source_hf_meta.c - the GGUF metadata of a converted Hugging Face folder, key for key and in
 * the order llama.cpp's converter writes it: general.architecture, the rope attention factor
 * Phi-3's extra tensors add, general.type and names, the family's key list (lq/family.h)
 * with general.file_type in its place, the family's extra keys, the quantization version,
 * then the tokenizer. Values were validated when the folder was opened. */
#include <stdio.h>
#include <string.h>

#include "lqi.h"
#include "source_impl.h"

struct keys {
    const struct lq_source *s;
    lq_gguf_writer *w;
    const char *arch;
};

static lq_status put_u32(const struct keys *k, const char *suffix, int64_t v,
                         struct lq_error *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", k->arch, suffix);
    return lq_gguf_writer_set_u32(k->w, key, (uint32_t)v, err);
}

static lq_status put_f32(const struct keys *k, const char *suffix, double v,
                         struct lq_error *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", k->arch, suffix);
    return lq_gguf_writer_set_f32(k->w, key, (float)v, err);
}

static lq_status put_str(const struct keys *k, const char *suffix, const char *v,
                         struct lq_error *err)
{
    char key[128];
    snprintf(key, sizeof key, "%s.%s", k->arch, suffix);
    return lq_gguf_writer_set_str(k->w, key, v, err);
}

/* config.json values that llama.cpp writes only when present (and not null). */
static bool has_i64(const struct lq_source *s, const char *key, int64_t *v)
{
    return lq_hf_config_i64(s->hf, key, v, NULL) == LQ_OK;
}

static bool has_f64(const struct lq_source *s, const char *key, double *v)
{
    return lq_hf_config_f64(s->hf, key, v, NULL) == LQ_OK;
}

/* A rope_scaling / rope_parameters member ("factor"). */
static bool rope_f64(const struct lq_source *s, const char *member, double *v)
{
    char key[96];
    snprintf(key, sizeof key, "%s.%s", lqi_source_rope_object(s), member);
    return has_f64(s, key, v);
}

static lq_status rope_scaling_keys(const struct keys *k, struct lq_error *err)
{
    const struct lq_source *s = k->s;
    double v;
    switch (s->rope.kind) {
    case LQ_ROPE_SCALING_LINEAR:
        if (!rope_f64(s, "factor", &v)) {
            return LQ_OK;
        }
        LQ_TRY(put_str(k, "rope.scaling.type", "linear", err));
        return put_f32(k, "rope.scaling.factor", v, err);
    case LQ_ROPE_SCALING_YARN:
        if (!rope_f64(s, "factor", &v)) {
            return LQ_OK;
        }
        LQ_TRY(put_str(k, "rope.scaling.type", "yarn", err));
        LQ_TRY(put_f32(k, "rope.scaling.factor", v, err));
        LQ_TRY(put_u32(k, "rope.scaling.original_context_length", s->rope.original_context, err));
        static const struct { const char *member, *alt, *suffix; } yarn[] = {
            { "extrapolation_factor", NULL, "rope.scaling.yarn_ext_factor" },
            { "attention_factor", "attn_factor", "rope.scaling.yarn_attn_factor" },
            { "beta_fast", NULL, "rope.scaling.yarn_beta_fast" },
            { "beta_slow", NULL, "rope.scaling.yarn_beta_slow" },
        };
        for (size_t i = 0; i < sizeof yarn / sizeof yarn[0]; i++) {
            if (rope_f64(s, yarn[i].member, &v) || (yarn[i].alt && rope_f64(s, yarn[i].alt, &v))) {
                LQ_TRY(put_f32(k, yarn[i].suffix, v, err));
            }
        }
        return LQ_OK;
    case LQ_ROPE_SCALING_LONGROPE: return put_str(k, "rope.scaling.type", "longrope", err);
    default: return LQ_OK; /* none; llama3 is the rope_freqs tensor */
    }
}

/* llama.cpp's TextModel.set_gguf_parameters, for the keys these families have. */
static lq_status text_model_keys(const struct keys *k, struct lq_error *err)
{
    const struct lq_source *s = k->s;
    int64_t v;
    double f;
    LQ_TRY(put_u32(k, "block_count", s->hp.n_layer, err));
    if (has_i64(s, "max_position_embeddings", &v)) {
        LQ_TRY(put_u32(k, "context_length", v, err));
    }
    LQ_TRY(put_u32(k, "embedding_length", s->hp.n_embd, err));
    LQ_TRY(put_u32(k, "feed_forward_length", s->hp.n_ff, err));
    LQ_TRY(put_u32(k, "attention.head_count", s->hp.n_head, err));
    if (has_i64(s, "num_key_value_heads", &v)) {
        LQ_TRY(put_u32(k, "attention.head_count_kv", v, err));
    }
    LQ_TRY(rope_scaling_keys(k, err));
    const bool gemma3 = s->family->keys == LQ_KEYS_GEMMA3;
    if (has_f64(s, "rope_theta", &f) || (gemma3 && (f = 1e6, true))) { /* Gemma3's default */
        LQ_TRY(put_f32(k, "rope.freq_base", f, err));
    }
    if (gemma3 && has_f64(s, "rope_local_base_freq", &f)) {
        LQ_TRY(put_f32(k, "rope.freq_base_swa", f, err));
    }
    if (has_f64(s, "rms_norm_eps", &f)) {
        LQ_TRY(put_f32(k, "attention.layer_norm_rms_epsilon", f, err));
    }
    if (s->hp.n_expert > 0) {
        LQ_TRY(put_u32(k, "expert_count", s->hp.n_expert, err));
        if (has_i64(s, "num_experts_per_tok", &v)) {
            LQ_TRY(put_u32(k, "expert_used_count", v, err));
        }
    }
    if (has_i64(s, "head_dim", &v)) {
        LQ_TRY(put_u32(k, "attention.key_length", v, err));
        LQ_TRY(put_u32(k, "attention.value_length", v, err));
    }
    return lq_gguf_writer_set_u32(k->w, "general.file_type", 0, err); /* set by the writer */
}

/* llama.cpp's Gemma2Model.set_gguf_parameters. */
static lq_status gemma2_keys(const struct keys *k, struct lq_error *err)
{
    const struct lq_source *s = k->s;
    double f;
    LQ_TRY(put_u32(k, "context_length", s->hp.n_ctx_train, err));
    LQ_TRY(put_u32(k, "embedding_length", s->hp.n_embd, err));
    LQ_TRY(put_u32(k, "block_count", s->hp.n_layer, err));
    LQ_TRY(put_u32(k, "feed_forward_length", s->hp.n_ff, err));
    LQ_TRY(put_u32(k, "attention.head_count", s->hp.n_head, err));
    LQ_TRY(put_u32(k, "attention.head_count_kv", s->hp.n_head_kv, err));
    LQ_TRY(put_f32(k, "attention.layer_norm_rms_epsilon", s->hp.norm_eps, err));
    LQ_TRY(put_u32(k, "attention.key_length", s->hp.head_dim, err));
    LQ_TRY(put_u32(k, "attention.value_length", s->hp.head_dim, err));
    LQ_TRY(lq_gguf_writer_set_u32(k->w, "general.file_type", 0, err)); /* set by the writer */
    if (has_f64(s, "attn_logit_softcapping", &f)) {
        LQ_TRY(put_f32(k, "attn_logit_softcapping", f, err));
    }
    if (has_f64(s, "final_logit_softcapping", &f)) {
        LQ_TRY(put_f32(k, "final_logit_softcapping", f, err));
    }
    return put_u32(k, "attention.sliding_window", s->sliding_window, err);
}

/* llama.cpp's Gemma3Model.set_gguf_parameters after the text-model list: the final soft-cap
 * when set, the window unless every layer is global (sliding_window_pattern 1). */
static lq_status gemma3_keys(const struct keys *k, struct lq_error *err)
{
    const struct lq_source *s = k->s;
    double f;
    int64_t pattern = 0;
    LQ_TRY(text_model_keys(k, err));
    if (has_f64(s, "final_logit_softcapping", &f) && f != 0) {
        LQ_TRY(put_f32(k, "final_logit_softcapping", f, err));
    }
    if (!has_i64(s, "sliding_window_pattern", &pattern) || pattern != 1) {
        LQ_TRY(put_u32(k, "attention.sliding_window", s->sliding_window, err));
    }
    return LQ_OK;
}

/* llama.cpp's Phi3MiniModel.set_gguf_parameters. */
static lq_status phi3_keys(const struct keys *k, struct lq_error *err)
{
    const struct lq_source *s = k->s;
    LQ_TRY(put_u32(k, "context_length", s->hp.n_ctx_train, err));
    LQ_TRY(put_u32(k, "rope.scaling.original_context_length", s->rope.original_context, err));
    LQ_TRY(put_u32(k, "embedding_length", s->hp.n_embd, err));
    LQ_TRY(put_u32(k, "feed_forward_length", s->hp.n_ff, err));
    LQ_TRY(put_u32(k, "block_count", s->hp.n_layer, err));
    LQ_TRY(put_u32(k, "attention.head_count", s->hp.n_head, err));
    LQ_TRY(put_u32(k, "attention.head_count_kv", s->hp.n_head_kv, err));
    LQ_TRY(put_f32(k, "attention.layer_norm_rms_epsilon", s->hp.norm_eps, err));
    LQ_TRY(put_u32(k, "rope.dimension_count", s->hp.n_rot, err));
    LQ_TRY(put_f32(k, "rope.freq_base", s->hp.rope_freq_base, err));
    LQ_TRY(lq_gguf_writer_set_u32(k->w, "general.file_type", 0, err)); /* set by the writer */
    return put_u32(k, "attention.sliding_window", s->sliding_window, err);
}

lq_status lqi_source_meta_hf(const struct lq_source *s, lq_gguf_writer *w, struct lq_error *err)
{
    const struct lq_family *f = s->family;
    const struct keys k = { .s = s, .w = w, .arch = f->gguf_arch };
    int64_t v;
    LQ_TRY(lq_gguf_writer_set_str(w, "general.architecture", f->gguf_arch, err));
    if (s->rope.kind == LQ_ROPE_SCALING_LONGROPE) { /* added with the factor tensors */
        LQ_TRY(put_f32(&k, "rope.scaling.attn_factor", s->rope.attn_factor, err));
    }
    LQ_TRY(lq_gguf_writer_set_str(w, "general.type", "model", err));
    LQ_TRY(lqi_source_write_hf_names(s, w, err));
    switch (f->keys) {
    case LQ_KEYS_PHI3: LQ_TRY(phi3_keys(&k, err)); break;
    case LQ_KEYS_GEMMA2: LQ_TRY(gemma2_keys(&k, err)); break;
    case LQ_KEYS_GEMMA3: LQ_TRY(gemma3_keys(&k, err)); break;
    default: LQ_TRY(text_model_keys(&k, err)); break;
    }
    if ((f->extra_keys & LQ_EXTRA_EXPERT_FF) && has_i64(s, "moe_intermediate_size", &v)) {
        LQ_TRY(put_u32(&k, "expert_feed_forward_length", v, err));
    }
    if (f->extra_keys & LQ_EXTRA_VOCAB_SIZE) {
        LQ_TRY(put_u32(&k, "vocab_size", s->hp.n_vocab, err));
    }
    if (f->extra_keys & LQ_EXTRA_ROPE_DIMS) {
        LQ_TRY(put_u32(&k, "rope.dimension_count", s->hp.n_rot, err));
    }
    LQ_TRY(lq_gguf_writer_set_u32(w, "general.quantization_version", 2, err));
    return lqi_source_write_tokenizer_as(s, f->tokenizer_json_only ? LQI_TOK_JSON_ONLY : 0u, w,
                                         err);
}
