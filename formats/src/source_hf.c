/* source_hf.c - a Hugging Face Llama folder (safetensors or pytorch_model.bin) as a source:
 * config.json -> hyper-parameters and llama.* keys, tensors renamed to GGUF with their q/k
 * rows permuted, tensor shapes checked against the config. */
#include <math.h>
#include <stdio.h>
#include <string.h>

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
        .head_dim_implied = !lq_hf_config_has(s->hf, "head_dim"),
    };
    return k;
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
    return lqi_source_check_ranges(hp, &k, err);
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
    return LQ_OK;
}

static lq_status add_rope_freqs(struct lq_source *s, struct lq_error *err)
{
    const char *type = NULL;
    if (lq_hf_config_str(s->hf, "rope_scaling.rope_type", &type, NULL) != LQ_OK &&
        lq_hf_config_str(s->hf, "rope_scaling.type", &type, NULL) != LQ_OK) {
        return LQ_OK;
    }
    if (strcmp(type, "llama3") != 0) { /* linear/yarn scaling are metadata only */
        double factor = 1;
        char file[4096];
        const struct lqi_hparam_keys k = hf_keys(s, file, sizeof file);
        LQ_TRY(opt_f64(s, "rope_scaling.factor", &factor, err));
        return lqi_source_check_real(&k, "rope_scaling.factor", factor, err);
    }
    double factor = 8, lo = 1, hi = 4;
    int64_t orig = 8192;
    LQ_TRY(opt_f64(s, "rope_scaling.factor", &factor, err));
    LQ_TRY(opt_f64(s, "rope_scaling.low_freq_factor", &lo, err));
    LQ_TRY(opt_f64(s, "rope_scaling.high_freq_factor", &hi, err));
    LQ_TRY(opt_i64(s, "rope_scaling.original_max_position_embeddings", &orig, err));
    char file[4096];
    const struct lqi_hparam_keys k = hf_keys(s, file, sizeof file);
    LQ_TRY(lqi_source_check_real(&k, "rope_scaling.factor", factor, err));
    LQ_TRY(lqi_source_check_real(&k, "rope_scaling.low_freq_factor", lo, err));
    LQ_TRY(lqi_source_check_real(&k, "rope_scaling.high_freq_factor", hi, err));
    LQ_FAIL_IF(!(hi > lo), err, LQ_E_FORMAT,
               "%s: rope_scaling.high_freq_factor %g must exceed low_freq_factor %g", file, hi,
               lo);
    LQ_FAIL_IF(orig <= 0 || orig > INT32_MAX, err, LQ_E_FORMAT,
               "%s: rope_scaling.original_max_position_embeddings is %lld: must be 1 .. %d",
               file, (long long)orig, INT32_MAX);
    int n = (int)s->hp.n_rot / 2;
    s->rope_freqs = lqi_malloc((size_t)n * sizeof(float));
    LQ_FAIL_IF(!s->rope_freqs, err, LQ_E_NOMEM, "out of memory");
    lq_llama3_rope_factors((float)s->hp.rope_freq_base, (int)s->hp.n_rot, (float)factor,
                           (float)lo, (float)hi, (int)orig, s->rope_freqs);
    for (int i = 0; i < n; i++) { /* the inputs are sane; their combination must be too */
        LQ_FAIL_IF(!isfinite(s->rope_freqs[i]) || !(s->rope_freqs[i] > 0), err, LQ_E_FORMAT,
                   "%s: rope_scaling gives rope factor %d = %g", file, i,
                   (double)s->rope_freqs[i]);
    }
    LQ_FAIL_IF(lqi_name_index_insert(&s->index, "rope_freqs.weight", 17, s->n_tensors) >= 0, err,
               LQ_E_FORMAT, "%s: rope_freqs.weight is both a tensor and generated from "
               "rope_scaling", s->path);
    struct lq_source_tensor *t = &s->tensors[s->n_tensors++];
    t->name = "rope_freqs.weight";
    t->src_name = "(rope_scaling in config.json)";
    t->file = s->path;
    t->n_dims = 1;
    t->ne[0] = n;
    t->ne[1] = t->ne[2] = t->ne[3] = 1;
    t->type = LQ_TYPE_F32;
    t->nbytes = (size_t)n * sizeof(float);
    return LQ_OK;
}

static lq_status add_safetensors(struct lq_source *s, struct lq_error *err)
{
    int64_t n = lq_hf_n_tensors(s->hf);
    LQ_TRY(lqi_source_alloc(s, n + 1, err));
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
    LQ_TRY(add_rope_freqs(s, err));
    s->hp.tied_embeddings = s->hp.tied_embeddings || lq_source_find_tensor(s, "output.weight") < 0;
    char file[4096];
    const struct lqi_hparam_keys k = hf_keys(s, file, sizeof file);
    return lqi_source_check_hparams(s, &k, err);
}
