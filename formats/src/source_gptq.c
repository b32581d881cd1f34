/* source_gptq.c - GPTQ v1 layers of a Hugging Face folder (qweight, qzeros, scales, g_idx;
 * lq/gptq_st.h) seen as ordinary F32 weights: each layer is dequantized once, at open time,
 * into a buffer the source owns. */
#include <stdio.h>
#include <string.h>

#include "lq/gptq_st.h"
#include "lqi.h"
#include "source_impl.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

bool lqi_source_gptq_part(const char *name)
{
    return ends_with(name, ".qzeros") || ends_with(name, ".scales") || ends_with(name, ".g_idx");
}

/* quantization_config in config.json, else quantize_config.json (AutoGPTQ's own file). */
static lq_status gptq_config(struct lq_source *s, int64_t *bits, int64_t *group,
                             struct lq_error *err)
{
    const char *method = "gptq";
    if (lq_hf_config_i64(s->hf, "quantization_config.bits", bits, NULL) == LQ_OK) {
        lq_hf_config_str(s->hf, "quantization_config.quant_method", &method, NULL);
        *group = -1;
        lq_hf_config_i64(s->hf, "quantization_config.group_size", group, NULL);
    } else {
        LQ_FAIL_IF(lq_hf_json_i64(s->hf, "quantize_config.json", "bits", bits, NULL) != LQ_OK, err,
                   LQ_E_FORMAT,
                   "%s: qweight tensors but no \"bits\" in config.json's quantization_config "
                   "or in quantize_config.json",
                   s->path);
        *group = -1;
        lq_hf_json_i64(s->hf, "quantize_config.json", "group_size", group, NULL);
    }
    LQ_FAIL_IF(strcmp(method, "gptq") != 0, err, LQ_E_UNSUPPORTED,
               "%s/config.json: quant_method '%s' is not supported (only gptq)", s->path, method);
    const char *fmt = "gptq";
    lq_hf_config_str(s->hf, "quantization_config.checkpoint_format", &fmt, NULL);
    LQ_FAIL_IF(strcmp(fmt, "gptq") != 0, err, LQ_E_UNSUPPORTED,
               "%s/config.json: checkpoint_format '%s' is not supported (only gptq, v1)", s->path,
               fmt);
    return LQ_OK;
}

/* Finds prefix + suffix with the dtype and shape the layout implies. */
static lq_status part(struct lq_source *s, const char *prefix, const char *suffix,
                      enum lq_st_dtype dtype, const int64_t *shape, uint32_t n_dims,
                      const void **data, struct lq_error *err)
{
    char name[256];
    snprintf(name, sizeof name, "%s%s", prefix, suffix);
    const int64_t id = lq_hf_find_tensor(s->hf, name);
    LQ_FAIL_IF(id < 0, err, LQ_E_FORMAT, "%s: GPTQ layer '%s' has no '%s'", s->path, prefix, name);
    const struct lq_st_tensor_info *ti = lq_hf_tensor(s->hf, id);
    bool ok = ti->dtype == dtype && ti->n_dims == n_dims;
    for (uint32_t d = 0; ok && d < n_dims; d++) {
        ok = ti->shape[d] == shape[d];
    }
    LQ_FAIL_IF(!ok, err, LQ_E_FORMAT,
               "%s: tensor '%s' is %s [%lld, %lld], the layout needs %s [%lld%s%lld]",
               lq_hf_tensor_file(s->hf, id), name, ti->dtype_name, (long long)ti->shape[0],
               (long long)(ti->n_dims > 1 ? ti->shape[1] : 1), dtype == LQ_ST_F16 ? "F16" : "I32",
               (long long)shape[0], n_dims > 1 ? ", " : " ",
               (long long)(n_dims > 1 ? shape[1] : 1));
    *data = ti->data;
    return LQ_OK;
}

/* Dequantizes <prefix>.qweight (tensor i) and adds it as <prefix>.weight. */
lq_status lqi_source_add_gptq(struct lq_source *s, int64_t i, struct lq_error *err)
{
    const struct lq_st_tensor_info *qi = lq_hf_tensor(s->hf, i);
    char prefix[256];
    snprintf(prefix, sizeof prefix, "%.*s", (int)(strlen(qi->name) - strlen("qweight")), qi->name);
    int64_t bits, group;
    LQ_TRY(gptq_config(s, &bits, &group, err));
    char name[272];
    snprintf(name, sizeof name, "%sg_idx", prefix);
    const int64_t gi = lq_hf_find_tensor(s->hf, name);
    LQ_FAIL_IF(gi < 0 || qi->n_dims != 2 || lq_hf_tensor(s->hf, gi)->n_dims != 1, err, LQ_E_FORMAT,
               "%s: GPTQ layer '%s' needs a 2-d qweight and a 1-d g_idx",
               lq_hf_tensor_file(s->hf, i), prefix);
    struct lq_gptq_layout l = {.bits = (int)bits,
                               .group_size = group,
                               .nrows = qi->shape[1],
                               .ncols = lq_hf_tensor(s->hf, gi)->shape[0]};
    LQ_TRY(lq_gptq_layout_check(&l, err));
    int64_t qw[2], qz[2], sc[2];
    lq_gptq_layout_shapes(&l, qw, qz, sc);
    struct lq_gptq_tensors t;
    LQ_TRY(part(s, prefix, "qweight", LQ_ST_I32, qw, 2, (const void **)&t.qweight, err));
    LQ_TRY(part(s, prefix, "qzeros", LQ_ST_I32, qz, 2, (const void **)&t.qzeros, err));
    LQ_TRY(part(s, prefix, "scales", LQ_ST_F16, sc, 2, (const void **)&t.scales, err));
    LQ_TRY(part(s, prefix, "g_idx", LQ_ST_I32, &l.ncols, 1, (const void **)&t.g_idx, err));
    snprintf(name, sizeof name, "%sweight", prefix);
    struct lqi_source_deq *d = &s->deq[s->n_deq];
    d->w = lqi_malloc((size_t)(l.nrows * l.ncols) * sizeof(float));
    d->name = lqi_strdup(name);
    s->n_deq++;
    LQ_FAIL_IF(!d->w || !d->name, err, LQ_E_NOMEM, "%s: out of memory", prefix);
    lq_status rc = lq_gptq_st_dequantize(&t, &l, d->w, err);
    if (rc != LQ_OK) {
        lqi_error_prefix(err, "%s: ", prefix);
        return rc;
    }
    const int64_t shape[2] = {l.nrows, l.ncols};
    return lqi_source_add_hf_tensor(s, d->name, lq_hf_tensor_file(s->hf, i), LQ_TYPE_F32, "F32", 2,
                                    shape, d->w, (size_t)(l.nrows * l.ncols) * sizeof(float), err);
}
