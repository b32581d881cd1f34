/* model_gguf.c - opening a model from a GGUF file: general.architecture picks the family
 * (lq/family.h), llama.cpp's {arch}.* metadata keys become hyperparameters and the file's
 * tensors the weight source (views into the mapping). */
#include "forward_impl.h"

#include <stdio.h>
#include <string.h>

#include "lq/family.h"
#include "lq/gguf.h"
#include "lq/source.h"
#include "lqi.h"

// ---- the weight source --------------------------------------------------------------------

static bool gguf_find_tensor(void *user, const char *name, struct lq_model_tensor *out)
{
    const lq_gguf *g = user;
    const int64_t id = lq_gguf_find_tensor(g, name);
    if (id < 0) {
        return false;
    }
    const struct lq_gguf_tensor_info *ti = lq_gguf_tensor(g, id);
    out->type = ti->type;
    for (int i = 0; i < 4; i++) {
        out->ne[i] = ti->ne[i];
    }
    out->data = ti->data;
    out->nbytes = ti->nbytes;
    return true;
}

/* The model copied a tensor's bytes: its pages of the file map go back to the kernel. */
static void gguf_release(void *user, const void *data, size_t nbytes)
{
    const lq_gguf *g = user;
    for (int64_t id = 0; id < lq_gguf_n_tensors(g); id++) {
        const struct lq_gguf_tensor_info *ti = lq_gguf_tensor(g, id);
        if (ti->data == data && ti->nbytes == nbytes) {
            lq_gguf_release_tensor(g, id);
            return;
        }
    }
}

static void gguf_close(void *user)
{
    lq_gguf_free(user);
}

// ---- metadata -----------------------------------------------------------------------------

struct meta {
    const lq_gguf *g;
    const char *path;
    const char *arch; /* general.architecture: the keys' prefix */
    char key[128];
};

static const char *arch_key(struct meta *mt, const char *suffix)
{
    snprintf(mt->key, sizeof mt->key, "%s.%s", mt->arch, suffix);
    return mt->key;
}

/* An integer key; when absent, def (or an error naming the key when required). */
static lq_status get_int(struct meta *mt, const char *suffix, bool required, int64_t def,
                         int64_t *out, struct lq_error *err)
{
    const char *key = arch_key(mt, suffix);
    lq_status rc = lq_gguf_get_i64(mt->g, key, out, err);
    if (rc == LQ_E_NOT_FOUND && !required) {
        *out = def;
        lq_error_clear(err);
        return LQ_OK;
    }
    LQ_FAIL_IF(rc == LQ_E_NOT_FOUND, err, LQ_E_FORMAT, "%s: metadata key '%s' is missing",
               mt->path, key);
    if (rc != LQ_OK) {
        lqi_error_prefix(err, "%s: ", mt->path);
    }
    return rc;
}

static lq_status get_float(struct meta *mt, const char *key, float def, float *out,
                           struct lq_error *err)
{
    double v;
    lq_status rc = lq_gguf_get_f64(mt->g, key, &v, err);
    if (rc == LQ_E_NOT_FOUND) {
        *out = def;
        lq_error_clear(err);
        return LQ_OK;
    }
    if (rc != LQ_OK) {
        lqi_error_prefix(err, "%s: ", mt->path);
        return rc;
    }
    *out = (float)v;
    return LQ_OK;
}

/* RoPE scaling as llama.cpp's loader reads it: the factor (rope.scaling.factor, or the older
 * rope.scale_linear) divides positions unless the type is "none"; longrope (Phi-3) has no
 * factor, only its factor tensors and rope.scaling.attn_factor, which scales the rotated
 * q/k values. YaRN is refused rather than silently computed wrong. */
static lq_status get_rope_scaling(struct meta *mt, struct lq_model_hparams *hp,
                                  struct lq_error *err)
{
    const char *type = "linear";
    const char *key = arch_key(mt, "rope.scaling.type");
    lq_status rc = lq_gguf_get_str(mt->g, key, &type, err);
    LQ_FAIL_IF(rc != LQ_OK && rc != LQ_E_NOT_FOUND, err, rc, "%s: metadata key '%s' is not a string",
               mt->path, key);
    lq_error_clear(err);
    LQ_FAIL_IF(strcmp(type, "none") != 0 && strcmp(type, "linear") != 0 &&
                   strcmp(type, "longrope") != 0,
               err, LQ_E_UNSUPPORTED,
               "%s: rope scaling type '%s' is not supported (only none, linear and longrope)",
               mt->path, type);
    float factor;
    LQ_TRY(get_float(mt, arch_key(mt, "rope.scaling.factor"), 0.0f, &factor, err));
    if (factor == 0.0f) {
        LQ_TRY(get_float(mt, arch_key(mt, "rope.scale_linear"), 0.0f, &factor, err));
    }
    hp->rope_freq_scale = factor == 0.0f || strcmp(type, "none") == 0 ? 1.0f : 1.0f / factor;
    LQ_TRY(get_float(mt, arch_key(mt, "rope.scaling.attn_factor"), 1.0f, &hp->rope_attn_factor,
                     err));
    return get_int(mt, "rope.scaling.original_context_length", false, hp->n_ctx_train,
                   &hp->n_ctx_orig, err);
}

/* Mixture of experts: expert_count (0: dense), expert_used_count (1 .. expert_count) and
 * one expert's FFN size (expert_feed_forward_length, else feed_forward_length). */
static lq_status get_experts(struct meta *mt, struct lq_model_hparams *hp, struct lq_error *err)
{
    LQ_TRY(get_int(mt, "expert_count", false, 0, &hp->n_expert, err));
    LQ_FAIL_IF(hp->n_expert < 0 || hp->n_expert == 1 || hp->n_expert > LQ_MAX_EXPERTS, err,
               LQ_E_FORMAT, "%s: metadata key '%s' is %lld: must be 0 (dense) or 2 .. %d",
               mt->path, arch_key(mt, "expert_count"), (long long)hp->n_expert, LQ_MAX_EXPERTS);
    LQ_TRY(get_int(mt, "expert_used_count", hp->n_expert > 0, 0, &hp->n_expert_used, err));
    LQ_FAIL_IF(hp->n_expert > 0 && (hp->n_expert_used < 1 || hp->n_expert_used > hp->n_expert),
               err, LQ_E_FORMAT, "%s: metadata key '%s' is %lld: must be 1 .. %lld", mt->path,
               arch_key(mt, "expert_used_count"), (long long)hp->n_expert_used,
               (long long)hp->n_expert);
    return get_int(mt, "expert_feed_forward_length", false, hp->n_ff, &hp->n_ff_exp, err);
}

static lq_status get_dims(struct meta *mt, struct lq_model_hparams *hp, struct lq_error *err)
{
    LQ_TRY(get_int(mt, "context_length", true, 0, &hp->n_ctx_train, err));
    LQ_TRY(get_int(mt, "embedding_length", true, 0, &hp->n_embd, err));
    LQ_TRY(get_int(mt, "block_count", true, 0, &hp->n_layer, err));
    LQ_TRY(get_int(mt, "feed_forward_length", true, 0, &hp->n_ff, err));
    LQ_TRY(get_experts(mt, hp, err));
    LQ_TRY(get_int(mt, "attention.head_count", true, 0, &hp->n_head, err));
    LQ_FAIL_IF(hp->n_head <= 0, err, LQ_E_FORMAT, "%s: metadata key '%s' is %lld", mt->path,
               arch_key(mt, "attention.head_count"), (long long)hp->n_head);
    LQ_TRY(get_int(mt, "attention.head_count_kv", false, hp->n_head, &hp->n_head_kv, err));
    int64_t k_len, v_len;
    LQ_TRY(get_int(mt, "attention.key_length", false, hp->n_embd / hp->n_head, &k_len, err));
    LQ_TRY(get_int(mt, "attention.value_length", false, k_len, &v_len, err));
    LQ_FAIL_IF(k_len != v_len, err, LQ_E_UNSUPPORTED,
               "%s: key length %lld differs from value length %lld", mt->path, (long long)k_len,
               (long long)v_len);
    hp->n_embd_head = k_len;
    return get_int(mt, "rope.dimension_count", false, k_len, &hp->n_rot, err);
}

/* Fills hp from the file's metadata (n_vocab from token_embd.weight when the file has it). */
static lq_status read_hparams(struct meta *mt, struct lq_model_hparams *hp, struct lq_error *err)
{
    const char *arch = NULL;
    LQ_FAIL_IF(lq_gguf_get_str(mt->g, "general.architecture", &arch, err) != LQ_OK, err,
               LQ_E_FORMAT, "%s: metadata key 'general.architecture' is missing or not a string",
               mt->path);
    const struct lq_family *fam = lq_family_by_gguf_arch(arch);
    if (!fam) {
        char list[512];
        lq_family_list(list, sizeof list);
        return lqi_set_error(err, LQ_E_UNSUPPORTED,
                             "%s: architecture '%s' is not supported (supported: %s)", mt->path,
                             arch, list);
    }
    mt->arch = fam->gguf_arch;
    memset(hp, 0, sizeof *hp);
    hp->family = fam;
    LQ_TRY(get_dims(mt, hp, err));
    LQ_TRY(get_float(mt, arch_key(mt, "attention.layer_norm_rms_epsilon"), 1e-5f, &hp->norm_eps,
                     err));
    LQ_TRY(get_float(mt, arch_key(mt, "rope.freq_base"), 10000.0f, &hp->rope_freq_base, err));
    LQ_TRY(get_rope_scaling(mt, hp, err));
    hp->rope_type = fam->traits.rope_style;
    LQ_TRY(get_float(mt, arch_key(mt, "attn_logit_softcapping"), 0.0f, &hp->attn_softcap, err));
    LQ_TRY(get_float(mt, arch_key(mt, "final_logit_softcapping"), 0.0f, &hp->final_softcap,
                     err));
    LQ_TRY(get_float(mt, arch_key(mt, "rope.freq_base_swa"), hp->rope_freq_base,
                     &hp->rope_freq_base_swa, err));
    LQ_TRY(get_int(mt, "attention.sliding_window", false, 0, &hp->n_swa, err));
    LQ_FAIL_IF(hp->attn_softcap < 0 || hp->final_softcap < 0 || hp->n_swa < 0, err, LQ_E_FORMAT,
               "%s: negative soft-cap or sliding window", mt->path);
    const int64_t id = lq_gguf_find_tensor(mt->g, "token_embd.weight");
    LQ_FAIL_IF(id < 0 && lq_gguf_n_tensors(mt->g) > 0, err, LQ_E_FORMAT,
               "%s: tensor 'token_embd.weight' is missing", mt->path);
    hp->n_vocab = id >= 0 ? lq_gguf_tensor(mt->g, id)->ne[1] : 0;
    return LQ_OK;
}

/* BOS id and whether to add it: tokenizer.ggml.add_bos_token, defaulting (as llama.cpp) to
 * true for SentencePiece vocabularies and false for others. */
static void read_bos(struct meta *mt, struct lq_model_hparams *hp)
{
    uint64_t bos;
    hp->bos_token_id = lq_gguf_get_u64(mt->g, "tokenizer.ggml.bos_token_id", &bos, NULL) == LQ_OK &&
                               bos <= INT32_MAX
                           ? (int32_t)bos
                           : -1;
    const char *model = NULL;
    bool add;
    if (lq_gguf_get_bool(mt->g, "tokenizer.ggml.add_bos_token", &add, NULL) == LQ_OK) {
        hp->add_bos = add;
    } else {
        hp->add_bos = lq_gguf_get_str(mt->g, "tokenizer.ggml.model", &model, NULL) == LQ_OK &&
                      strcmp(model, "llama") == 0;
    }
    hp->add_bos = hp->add_bos && hp->bos_token_id >= 0;
}

lq_status lqi_model_hparams_gguf(const lq_gguf *g, const char *path,
                                 struct lq_model_hparams *hp, struct lq_error *err)
{
    struct meta mt = { .g = g, .path = path };
    LQ_TRY(read_hparams(&mt, hp, err));
    read_bos(&mt, hp);
    return LQ_OK;
}

lq_status lq_model_open(const char *path, const struct lq_model_params *params, lq_model **out,
                        struct lq_error *err)
{
    LQ_FAIL_IF(!path || !out, err, LQ_E_INVALID_ARG, "model: NULL argument");
    *out = NULL;
    /* the metadata and tensors go through the converter's validator first, so that eval
     * accepts exactly the files that convert and quantize accept */
    lq_source *checked = NULL;
    LQ_TRY(lq_source_open(path, &checked, err));
    lq_source_free(checked);
    lq_gguf *g = NULL;
    LQ_TRY(lq_gguf_open(path, &g, err));
    struct lq_model_hparams hp;
    lq_status rc = lqi_model_hparams_gguf(g, path, &hp, err);
    if (rc == LQ_OK && hp.n_vocab == 0) {
        rc = lqi_set_error(err, LQ_E_FORMAT, "%s: tensor 'token_embd.weight' is missing", path);
    }
    if (rc != LQ_OK) {
        lq_gguf_free(g);
        return rc;
    }
    const struct lq_model_source src = {
        .name = path, .user = g, .find_tensor = gguf_find_tensor, .close = gguf_close,
        .release = gguf_release
    };
    return lq_model_open_source(&hp, &src, params, out, err);
}
