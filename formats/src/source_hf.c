/* source_hf.c - a Hugging Face Llama folder (safetensors or pytorch_model.bin) as a source:
 * config.json -> hyper-parameters and llama.* keys, tensors renamed to GGUF with their q/k
 * rows permuted, tensor shapes checked against the config. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lq/llama_map.h"
#include "lqi.h"
#include "source_impl.h"

static lq_status config_i64(const struct lq_source *s, const char *key, int64_t *out,
                            struct lq_error *err)
{
    lq_status rc = lq_hf_config_i64(s->hf, key, out, err);
    if (rc == LQ_E_NOT_FOUND) {
        return lqi_set_error(err, LQ_E_FORMAT, "%s/config.json: required key '%s' is missing",
                             s->path, key);
    }
    return rc;
}

/* The family row of config.json's architectures[0] (else model_type); unknown ones are
 * refused with the list of supported families, generated from the table. */
static lq_status find_family(struct lq_source *s, struct lq_error *err)
{
    const char *arch = NULL, *mt = NULL;
    lq_hf_config_str(s->hf, "architectures.0", &arch, NULL);
    lq_hf_config_str(s->hf, "model_type", &mt, NULL);
    s->family = lq_family_by_hf(arch, mt);
    if (!s->family) {
        char list[1024];
        lq_family_list(list, sizeof list);
        return lqi_set_error(err, LQ_E_UNSUPPORTED,
                             "%s/config.json: architecture '%s' (model_type '%s') is not "
                             "supported; supported families: %s",
                             s->path, arch ? arch : "(none)", mt ? mt : "(none)", list);
    }
    return LQ_OK;
}

/* An optional key: its default when absent, an error naming it when of the wrong kind. */
static lq_status opt_i64(const struct lq_source *s, const char *key, int64_t *v,
                         struct lq_error *err)
{
    lq_status rc = lq_hf_config_i64(s->hf, key, v, err);
    if (rc == LQ_E_NOT_FOUND) {
        lq_error_clear(err);
        return LQ_OK;
    }
    return rc;
}

static lq_status opt_f64(const struct lq_source *s, const char *key, double *v,
                         struct lq_error *err)
{
    lq_status rc = lq_hf_config_f64(s->hf, key, v, err);
    if (rc == LQ_E_NOT_FOUND) {
        lq_error_clear(err);
        return LQ_OK;
    }
    return rc;
}

/* config.json's key names, for the validator's messages (file in buf). */
static struct lqi_hparam_keys hf_keys(const struct lq_source *s, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s/config.json", s->path);
    struct lqi_hparam_keys k = {
        .file = buf, .n_vocab = "vocab_size", .n_embd = "hidden_size",
        .n_layer = "num_hidden_layers", .n_ff = "intermediate_size",
        .n_head = "num_attention_heads", .n_head_kv = "num_key_value_heads",
        .head_dim = "head_dim", .n_ctx_train = "max_position_embeddings",
        .rope_freq_base = "rope_theta", .norm_eps = "rms_norm_eps",
        .n_expert = lq_hf_config_has(s->hf, "num_experts") ? "num_experts" : "num_local_experts",
        .n_expert_used = "num_experts_per_tok",
        .n_ff_exp = lq_hf_config_has(s->hf, "moe_intermediate_size") ? "moe_intermediate_size"
                                                                      : "intermediate_size",
        .head_dim_implied = !lq_hf_config_has(s->hf, "head_dim"),
    };
    return k;
}

static lq_status read_rope(struct lq_source *s, struct lq_error *err);

/* Phi-3's rotary dimensions: partial_rotary_factor x hidden_size / heads, as llama.cpp
 * computes them (Phi-4-mini rotates 3/4 of each head). */
static lq_status partial_rotary(struct lq_source *s, const struct lqi_hparam_keys *k,
                                struct lq_error *err)
{
    double pct = 1.0;
    if (s->family->keys != LQ_KEYS_PHI3) {
        return LQ_OK;
    }
    LQ_TRY(opt_f64(s, "partial_rotary_factor", &pct, err));
    LQ_FAIL_IF(!(pct > 0 && pct <= 1), err, LQ_E_FORMAT,
               "%s: partial_rotary_factor is %g: must be in (0, 1]", k->file, pct);
    if (s->hp.n_head > 0) {
        s->hp.n_rot = (int64_t)(pct * (double)s->hp.n_embd) / s->hp.n_head;
    }
    return LQ_OK;
}

/* Mixture-of-experts counts (llama.cpp's converter: num_local_experts or num_experts, and
 * num_experts_per_tok) and one expert's FFN size (moe_intermediate_size, Qwen-MoE). Values
 * out of int range become -1, which the range check refuses by name. */
static lq_status read_experts(struct lq_source *s, const struct lqi_hparam_keys *k,
                              struct lq_error *err)
{
    int64_t n = 0, used = 0;
    LQ_TRY(opt_i64(s, k->n_expert, &n, err));
    LQ_TRY(opt_i64(s, k->n_expert_used, &used, err));
    s->hp.n_expert = n >= 0 && n <= LQ_MAX_EXPERTS ? (int)n : -1;
    s->hp.n_expert_used = used >= 0 && used <= LQ_MAX_EXPERTS ? (int)used : -1;
    s->hp.n_ff_exp = s->hp.n_ff;
    return opt_i64(s, "moe_intermediate_size", &s->hp.n_ff_exp, err);
}

static lq_status read_hparams(struct lq_source *s, struct lq_error *err)
{
    struct lq_llama_hparams *hp = &s->hp;
    LQ_TRY(find_family(s, err));
    LQ_TRY(config_i64(s, "hidden_size", &hp->n_embd, err));
    LQ_TRY(config_i64(s, "num_hidden_layers", &hp->n_layer, err));
    LQ_TRY(config_i64(s, "intermediate_size", &hp->n_ff, err));
    LQ_TRY(config_i64(s, "num_attention_heads", &hp->n_head, err));
    LQ_TRY(config_i64(s, "vocab_size", &hp->n_vocab, err));
    hp->n_head_kv = hp->n_head;
    LQ_TRY(opt_i64(s, "num_key_value_heads", &hp->n_head_kv, err));
    hp->head_dim = hp->n_head > 0 ? hp->n_embd / hp->n_head : 0;
    LQ_TRY(opt_i64(s, "head_dim", &hp->head_dim, err));
    int64_t q_dim, kv_dim; /* what the shape checks and the maps compute from them */
    LQ_FAIL_IF(hp->n_head > INT32_MAX || lqi_mul_overflow_i64(hp->n_head, hp->head_dim, &q_dim) ||
                   lqi_mul_overflow_i64(hp->n_head_kv, hp->head_dim, &kv_dim),
               err, LQ_E_FORMAT,
               "%s/config.json: num_attention_heads %lld x head_dim %lld overflows 64 bits",
               s->path, (long long)hp->n_head, (long long)hp->head_dim);
    hp->n_rot = hp->head_dim;
    hp->n_ctx_train = 2048;
    LQ_TRY(opt_i64(s, "max_position_embeddings", &hp->n_ctx_train, err));
    hp->rope_freq_base = 10000.0;
    LQ_TRY(opt_f64(s, "rope_theta", &hp->rope_freq_base, err));
    hp->norm_eps = 1e-6;
    LQ_TRY(opt_f64(s, "rms_norm_eps", &hp->norm_eps, err));
    bool tied = false;
    lq_hf_config_bool(s->hf, "tie_word_embeddings", &tied, NULL);
    hp->tied_embeddings = tied;
    char file[4096];
    const struct lqi_hparam_keys k = hf_keys(s, file, sizeof file);
    LQ_TRY(read_experts(s, &k, err));
    LQ_TRY(partial_rotary(s, &k, err));
    LQ_TRY(lqi_source_check_ranges(hp, &k, err));
    LQ_TRY(opt_i64(s, "sliding_window", &s->sliding_window, err));
    LQ_FAIL_IF(s->sliding_window < 0 || s->sliding_window > UINT32_MAX, err, LQ_E_FORMAT,
               "%s: sliding_window is %lld: must be 0 .. %u", file,
               (long long)s->sliding_window, UINT32_MAX);
    return read_rope(s, err);
}

/* One source tensor from a safetensors-style info (shape in file order, outermost first). */
lq_status lqi_source_add_hf_tensor(struct lq_source *s, const char *src_name, const char *file,
                            int lq_type, const char *dtype, uint32_t n_dims,
                            const int64_t *shape, const void *data, size_t nbytes,
                            struct lq_error *err)
{
    struct lq_family_tensor_map m;
    LQ_TRY(lq_family_map_hf_name(s->family, src_name, (int)s->hp.n_head, (int)s->hp.n_head_kv,
                                 &m, err));
    if (m.skip) {
        return LQ_OK;
    }
    LQ_FAIL_IF(lq_type != LQ_TYPE_F32 && lq_type != LQ_TYPE_F16 && lq_type != LQ_TYPE_BF16, err,
               LQ_E_UNSUPPORTED, "%s: tensor '%s': dtype %s is not a float type (F32/F16/BF16)",
               file, src_name, dtype);
    LQ_FAIL_IF(n_dims < 1 || n_dims > 4, err, LQ_E_UNSUPPORTED,
               "%s: tensor '%s': %u dimensions", file, src_name, n_dims);
    if (m.expert >= 0) {
        const struct lqi_hf_part part = { src_name, file, lq_type, n_dims, shape, data, nbytes };
        return lqi_source_add_expert(s, &m, &part, err);
    }
    struct lq_source_tensor *t = &s->tensors[s->n_tensors];
    s->names[s->n_tensors] = lqi_strdup(m.gguf_name);
    LQ_FAIL_IF(!s->names[s->n_tensors], err, LQ_E_NOMEM, "out of memory");
    const char *nm = s->names[s->n_tensors];
    LQ_FAIL_IF(lqi_name_index_insert(&s->index, nm, strlen(nm), s->n_tensors) >= 0, err,
               LQ_E_FORMAT, "%s: tensor '%s' appears twice", file, src_name);
    s->n_tensors++;
    t->name = s->names[s->n_tensors - 1];
    t->src_name = src_name;
    t->file = file;
    t->n_dims = (int)n_dims;
    for (int d = 0; d < 4; d++) {
        t->ne[d] = d < (int)n_dims ? shape[n_dims - 1 - d] : 1;
    }
    t->type = (enum lq_type)lq_type;
    t->data = data;
    t->nbytes = nbytes;
    t->permute_heads = m.permute_heads;
    t->add_one = m.row && (m.row->flags & LQ_FT_ADD_ONE);
    return LQ_OK;
}

const char *lqi_source_rope_object(const struct lq_source *s)
{
    return lq_hf_config_has(s->hf, "rope_parameters") ? "rope_parameters" : "rope_scaling";
}

/* rope_scaling's type as llama.cpp's converter reads it; an unknown one is ignored there (a
 * warning), and here. */
static enum lq_rope_scaling rope_kind(const struct lq_source *s, const char **name)
{
    char key[64];
    const char *obj = lqi_source_rope_object(s);
    snprintf(key, sizeof key, "%s.rope_type", obj);
    if (lq_hf_config_str(s->hf, key, name, NULL) != LQ_OK) {
        snprintf(key, sizeof key, "%s.type", obj);
        if (lq_hf_config_str(s->hf, key, name, NULL) != LQ_OK) {
            *name = "none";
            return LQ_ROPE_SCALING_NONE;
        }
    }
    static const struct { const char *name; enum lq_rope_scaling kind; } kinds[] = {
        { "linear", LQ_ROPE_SCALING_LINEAR }, { "llama3", LQ_ROPE_SCALING_LLAMA3 },
        { "yarn", LQ_ROPE_SCALING_YARN },     { "longrope", LQ_ROPE_SCALING_LONGROPE },
        { "su", LQ_ROPE_SCALING_LONGROPE },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcasecmp(*name, kinds[i].name) == 0) {
            return kinds[i].kind;
        }
    }
    return LQ_ROPE_SCALING_NONE;
}

/* A rope scaling member ("factor"), as config.json spells it, for messages. */
static const char *rope_key(const struct lq_source *s, const char *member, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s.%s", lqi_source_rope_object(s), member);
    return buf;
}

static lq_status llama3_factors(struct lq_source *s, const struct lqi_hparam_keys *k,
                                struct lq_error *err)
{
    double factor = 8, lo = 1, hi = 4;
    int64_t orig = 8192;
    char kf[64], kl[64], kh[64], ko[80];
    LQ_TRY(opt_f64(s, rope_key(s, "factor", kf, sizeof kf), &factor, err));
    LQ_TRY(opt_f64(s, rope_key(s, "low_freq_factor", kl, sizeof kl), &lo, err));
    LQ_TRY(opt_f64(s, rope_key(s, "high_freq_factor", kh, sizeof kh), &hi, err));
    LQ_TRY(opt_i64(s, rope_key(s, "original_max_position_embeddings", ko, sizeof ko), &orig,
                   err));
    LQ_TRY(lqi_source_check_real(k, kf, factor, err));
    LQ_TRY(lqi_source_check_real(k, kl, lo, err));
    LQ_TRY(lqi_source_check_real(k, kh, hi, err));
    LQ_FAIL_IF(!(hi > lo), err, LQ_E_FORMAT, "%s: %s %g must exceed low_freq_factor %g",
               k->file, kh, hi, lo);
    LQ_FAIL_IF(orig <= 0 || orig > INT32_MAX, err, LQ_E_FORMAT,
               "%s: %s is %lld: must be 1 .. %d", k->file, ko, (long long)orig, INT32_MAX);
    int n = (int)s->hp.n_rot / 2;
    s->rope_freqs = lqi_malloc((size_t)n * sizeof(float));
    LQ_FAIL_IF(!s->rope_freqs, err, LQ_E_NOMEM, "out of memory");
    lq_llama3_rope_factors((float)s->hp.rope_freq_base, (int)s->hp.n_rot, (float)factor,
                           (float)lo, (float)hi, (int)orig, s->rope_freqs);
    for (int i = 0; i < n; i++) { /* the inputs are sane; their combination must be too */
        LQ_FAIL_IF(!isfinite(s->rope_freqs[i]) || !(s->rope_freqs[i] > 0), err, LQ_E_FORMAT,
                   "%s: rope_scaling gives rope factor %d = %g", k->file, i,
                   (double)s->rope_freqs[i]);
    }
    return LQ_OK;
}

/* One of longrope's factor lists: n_rot / 2 positive float32 values. */
static lq_status longrope_list(struct lq_source *s, const struct lqi_hparam_keys *k,
                               const char *member, float **out, struct lq_error *err)
{
    char key[64], elem[96];
    rope_key(s, member, key, sizeof key);
    int64_t n = 0;
    lq_status rc = lq_hf_config_len(s->hf, key, &n, err);
    LQ_FAIL_IF(rc == LQ_E_NOT_FOUND, err, LQ_E_FORMAT, "%s: %s is missing (longrope needs "
               "long_factor and short_factor)", k->file, key);
    LQ_TRY(rc);
    LQ_FAIL_IF(n != s->hp.n_rot / 2, err, LQ_E_FORMAT,
               "%s: %s has %lld factors, the rotary dimensions %lld need %lld", k->file, key,
               (long long)n, (long long)s->hp.n_rot, (long long)(s->hp.n_rot / 2));
    *out = lqi_malloc((size_t)(n ? n : 1) * sizeof(float));
    LQ_FAIL_IF(!*out, err, LQ_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        double v;
        snprintf(elem, sizeof elem, "%s.%lld", key, (long long)i);
        rc = lq_hf_config_f64(s->hf, elem, &v, err);
        LQ_FAIL_IF(rc == LQ_E_NOT_FOUND, err, LQ_E_FORMAT, "%s: %s is null", k->file, elem);
        LQ_TRY(rc);
        LQ_TRY(lqi_source_check_real(k, elem, v, err));
        (*out)[i] = (float)v;
    }
    return LQ_OK;
}

/* Phi-3's longrope: both factor lists and the attention factor llama.cpp derives from the
 * context extension (sqrt(1 + ln(scale) / ln(original context))). */
static lq_status longrope(struct lq_source *s, const struct lqi_hparam_keys *k,
                          struct lq_error *err)
{
    char key[64];
    if (!lq_hf_config_has(s->hf, rope_key(s, "long_factor", key, sizeof key))) {
        s->rope.kind = LQ_ROPE_SCALING_NONE; /* llama.cpp writes nothing without the factors */
        return LQ_OK;
    }
    LQ_TRY(longrope_list(s, k, "long_factor", &s->rope.factors_long, err));
    LQ_TRY(longrope_list(s, k, "short_factor", &s->rope.factors_short, err));
    double scale = (double)s->hp.n_ctx_train / (double)s->rope.original_context;
    s->rope.attn_factor = scale > 1.0 ? sqrt(1.0 + log(scale) / log((double)s->rope.original_context))
                                      : 1.0;
    return LQ_OK;
}

/* config.json's rope scaling: its kind (which the family must accept), the original context,
 * and the values each kind needs, checked. */
static lq_status read_rope(struct lq_source *s, struct lq_error *err)
{
    char file[4096], key[80];
    const struct lqi_hparam_keys k = hf_keys(s, file, sizeof file);
    const char *name = NULL;
    s->rope.kind = rope_kind(s, &name);
    LQ_FAIL_IF(!(s->family->traits.rope_scalings & LQ_ROPE_SCALING_BIT(s->rope.kind)), err,
               LQ_E_UNSUPPORTED, "%s: rope scaling '%s' is not supported for %s models", file,
               name, s->family->name);
    /* inside the scaling object, else top level (Phi-3 keeps it there) */
    s->rope.original_context = 0;
    rope_key(s, "original_max_position_embeddings", key, sizeof key);
    LQ_TRY(opt_i64(s, key, &s->rope.original_context, err));
    if (s->rope.original_context == 0) {
        snprintf(key, sizeof key, "original_max_position_embeddings");
        LQ_TRY(opt_i64(s, key, &s->rope.original_context, err));
    }
    const bool need_orig = s->family->keys == LQ_KEYS_PHI3 || s->rope.kind == LQ_ROPE_SCALING_YARN;
    LQ_FAIL_IF(need_orig && s->rope.original_context == 0, err, LQ_E_FORMAT,
               "%s: original_max_position_embeddings is missing (%s needs it)", file,
               s->rope.kind == LQ_ROPE_SCALING_YARN ? "yarn rope scaling" : s->family->name);
    LQ_FAIL_IF(s->rope.original_context < 0 || s->rope.original_context > UINT32_MAX, err,
               LQ_E_FORMAT, "%s: %s is %lld: must be 1 .. %u", file, key,
               (long long)s->rope.original_context, UINT32_MAX);
    double factor = 1;
    switch (s->rope.kind) {
    case LQ_ROPE_SCALING_LLAMA3: return llama3_factors(s, &k, err);
    case LQ_ROPE_SCALING_LONGROPE: return longrope(s, &k, err);
    case LQ_ROPE_SCALING_NONE: return LQ_OK;
    default: /* linear / yarn: metadata only */
        rope_key(s, "factor", key, sizeof key);
        LQ_TRY(opt_f64(s, key, &factor, err));
        return lqi_source_check_real(&k, key, factor, err);
    }
}

/* A tensor generated from config.json (rope factors): listed first, as llama.cpp's
 * converter writes its extra tensors before the checkpoint's. */
static lq_status add_generated(struct lq_source *s, const char *name, int64_t n,
                               struct lq_error *err)
{
    LQ_FAIL_IF(lqi_name_index_insert(&s->index, name, strlen(name), s->n_tensors) >= 0, err,
               LQ_E_FORMAT, "%s: %s is both a tensor and generated from rope_scaling", s->path,
               name);
    struct lq_source_tensor *t = &s->tensors[s->n_tensors++];
    t->name = name;
    t->src_name = "(rope_scaling in config.json)";
    t->file = s->path;
    t->n_dims = 1;
    t->ne[0] = n;
    t->ne[1] = t->ne[2] = t->ne[3] = 1;
    t->type = LQ_TYPE_F32;
    t->nbytes = (size_t)n * sizeof(float);
    return LQ_OK;
}

static lq_status add_rope_tensors(struct lq_source *s, struct lq_error *err)
{
    const int64_t n = s->hp.n_rot / 2;
    if (s->rope_freqs) {
        LQ_TRY(add_generated(s, "rope_freqs.weight", n, err));
    }
    if (s->rope.factors_long) {
        LQ_TRY(add_generated(s, "rope_factors_long.weight", n, err));
        LQ_TRY(add_generated(s, "rope_factors_short.weight", n, err));
    }
    return LQ_OK;
}

/* llama.cpp's converter order: generated tensors, then each shard (sorted by file name) in
 * name order. */
static int cmp_hf_order(const void *a, const void *b)
{
    const struct lq_source_tensor *x = a, *y = b;
    if (!x->data != !y->data) {
        return x->data ? 1 : -1;
    }
    if (!x->data) { /* generated: as added (rope_factors_long before _short) */
        return strcmp(x->name, y->name);
    }
    int c = strcmp(x->order_file ? x->order_file : x->file, y->order_file ? y->order_file : y->file);
    c = c ? c : strcmp(x->order_name ? x->order_name : x->src_name,
                       y->order_name ? y->order_name : y->src_name);
    return c ? c : x->order_rank - y->order_rank;
}

static lq_status add_safetensors(struct lq_source *s, struct lq_error *err)
{
    int64_t n = lq_hf_n_tensors(s->hf);
    LQ_TRY(lqi_source_alloc(s, n + 2, err)); /* + generated rope factors */
    s->deq = lqi_calloc((size_t)(n ? n : 1), sizeof *s->deq);
    LQ_FAIL_IF(!s->deq, err, LQ_E_NOMEM, "out of memory");
    for (int64_t i = 0; i < n; i++) {
        const struct lq_st_tensor_info *ti = lq_hf_tensor(s->hf, i);
        const size_t len = strlen(ti->name);
        if (len > 8 && strcmp(ti->name + len - 8, ".qweight") == 0) {
            LQ_TRY(lqi_source_add_gptq(s, i, err));
            continue;
        }
        if (lqi_source_gptq_part(ti->name)) {
            continue;
        }
        LQ_TRY(lqi_source_add_hf_tensor(s, ti->name, lq_hf_tensor_file(s->hf, i), ti->lq_type, ti->dtype_name,
                          ti->n_dims, ti->shape, ti->data, ti->nbytes, err));
    }
    snprintf(s->describe, sizeof s->describe, "Hugging Face folder, %lld safetensors file%s%s",
             (long long)lq_hf_n_shards(s->hf), lq_hf_n_shards(s->hf) == 1 ? "" : "s",
             s->n_deq ? ", GPTQ layers dequantized to F32" : "");
    return LQ_OK;
}

lq_status lqi_source_open_hf(struct lq_source *s, bool pytorch, struct lq_error *err)
{
    s->kind = pytorch ? LQ_SOURCE_HF_PYTORCH : LQ_SOURCE_HF_SAFETENSORS;
    LQ_TRY(pytorch ? lq_hf_open_config(s->path, &s->hf, err) : lq_hf_open(s->path, &s->hf, err));
    LQ_TRY(read_hparams(s, err));
    if (pytorch) {
        LQ_TRY(lqi_source_add_pytorch(s, err));
    } else {
        LQ_TRY(add_safetensors(s, err));
    }
    LQ_TRY(add_rope_tensors(s, err));
    LQ_TRY(lqi_source_finish_experts(s, err));
    qsort(s->tensors, (size_t)s->n_tensors, sizeof *s->tensors, cmp_hf_order);
    lqi_source_reindex(s);
    s->hp.tied_embeddings = s->hp.tied_embeddings || lq_source_find_tensor(s, "output.weight") < 0;
    char file[4096];
    const struct lqi_hparam_keys k = hf_keys(s, file, sizeof file);
    return lqi_source_check_hparams(s, &k, err);
}
