/* gptq_st_write.c - a GPTQ model folder: packed layers and other tensors in one safetensors
 * file, AutoGPTQ's quantize_config.json, and config.json with its quantization_config. */
#include "lq/gptq_st.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomic_file.h"
#include "lq/fp16.h"
#include "lqi.h"

struct lq_gptq_st {
    struct lq_gptq_st_config cfg; /* strings point at owned copies */
    lq_st_writer *st;
    void **owned; /* buffers the safetensors writer borrows */
    size_t n_owned, cap_owned;
};

struct lq_gptq_st_config lq_gptq_st_config_from_params(const struct lq_gptq_params *p)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%g", (double)p->damp); /* 0.01f -> 0.01, not 0.0099999998 */
    return (struct lq_gptq_st_config){
        .bits = p->bits, .group_size = p->group_size, .damp_percent = strtod(buf, NULL),
        .desc_act = p->act_order, .static_groups = p->static_groups, .sym = p->sym,
        .true_sequential = true, .model_name_or_path = NULL, .model_file_base_name = NULL,
    };
}

void lq_gptq_st_free(lq_gptq_st *w)
{
    if (!w) {
        return;
    }
    for (size_t i = 0; i < w->n_owned; i++) {
        lqi_free(w->owned[i]);
    }
    lqi_free(w->owned);
    lqi_free((char *)w->cfg.model_name_or_path);
    lqi_free((char *)w->cfg.model_file_base_name);
    lq_st_writer_free(w->st);
    lqi_free(w);
}

lq_status lq_gptq_st_new(const struct lq_gptq_st_config *cfg, lq_gptq_st **out,
                         struct lq_error *err)
{
    LQ_FAIL_IF(!cfg || !out, err, LQ_E_INVALID_ARG, "gptq writer: NULL argument");
    *out = NULL;
    lq_gptq_st *w = lqi_calloc(1, sizeof *w);
    LQ_FAIL_IF(!w, err, LQ_E_NOMEM, "gptq writer: out of memory");
    w->cfg = *cfg;
    w->cfg.model_name_or_path = cfg->model_name_or_path ? lqi_strdup(cfg->model_name_or_path)
                                                        : NULL;
    w->cfg.model_file_base_name =
        lqi_strdup(cfg->model_file_base_name ? cfg->model_file_base_name : "model");
    lq_status rc = lq_st_writer_new(&w->st, err);
    if (rc == LQ_OK && (!w->cfg.model_file_base_name ||
                        (cfg->model_name_or_path && !w->cfg.model_name_or_path))) {
        rc = lqi_set_error(err, LQ_E_NOMEM, "gptq writer: out of memory");
    }
    if (rc != LQ_OK) {
        lq_gptq_st_free(w);
        return rc;
    }
    *out = w;
    return LQ_OK;
}

/* Takes ownership of p (freed with the writer); frees it at once if it cannot be kept. */
static lq_status keep(lq_gptq_st *w, void *p, struct lq_error *err)
{
    if (w->n_owned == w->cap_owned) {
        size_t cap = w->cap_owned ? 2 * w->cap_owned : 16;
        void **grown = lqi_realloc(w->owned, cap * sizeof *grown);
        if (!grown) {
            lqi_free(p);
            return lqi_set_error(err, LQ_E_NOMEM, "gptq writer: out of memory");
        }
        w->owned = grown;
        w->cap_owned = cap;
    }
    w->owned[w->n_owned++] = p;
    return LQ_OK;
}

lq_status lq_gptq_st_add_tensor(lq_gptq_st *w, const struct lq_st_wtensor *t,
                                struct lq_error *err)
{
    LQ_FAIL_IF(!w, err, LQ_E_INVALID_ARG, "gptq writer: NULL writer");
    return lq_st_writer_add(w->st, t, err);
}

lq_status lq_gptq_st_add_f16(lq_gptq_st *w, const char *name, int ndims, const int64_t *shape,
                             const float *data, struct lq_error *err)
{
    LQ_FAIL_IF(!w || !name || (ndims > 0 && !shape) || ndims < 0 ||
                   ndims > LQ_ST_WRITER_MAX_DIMS,
               err, LQ_E_INVALID_ARG, "gptq writer: bad tensor '%s'", name ? name : "(null)");
    struct lq_st_wtensor t = { .name = name, .dtype = "F16", .ndims = ndims };
    uint64_t count = 1;
    for (int d = 0; d < ndims; d++) {
        LQ_FAIL_IF(shape[d] < 0 || lqi_mul_overflow_u64(count, (uint64_t)shape[d], &count) ||
                       count > SIZE_MAX / 2,
                   err, LQ_E_INVALID_ARG, "gptq writer: tensor '%s': bad shape", name);
        t.shape[d] = shape[d];
    }
    LQ_FAIL_IF(count > 0 && !data, err, LQ_E_INVALID_ARG, "gptq writer: '%s': NULL data",
               name);
    unsigned char *h = lqi_malloc((size_t)count * 2);
    LQ_FAIL_IF(!h, err, LQ_E_NOMEM, "gptq writer: tensor '%s': out of memory", name);
    LQ_TRY(keep(w, h, err));
    for (uint64_t i = 0; i < count; i++) {
        lqi_wr_u16(h + 2 * i, lq_fp32_to_fp16(data[i]));
    }
    t.data = h;
    t.nbytes = (size_t)count * 2;
    return lq_st_writer_add(w->st, &t, err);
}

// ---- layers -------------------------------------------------------------------------------------

/* Adds one of a layer's tensors: <prefix>.<suffix>, a view into the layer's packed buffer. */
static lq_status add_part(lq_gptq_st *w, const char *prefix, const char *suffix,
                          const char *dtype, int ndims, const int64_t *shape, const void *data,
                          struct lq_error *err)
{
    char name[1024];
    LQ_FAIL_IF((size_t)snprintf(name, sizeof name, "%s.%s", prefix, suffix) >= sizeof name, err,
               LQ_E_INVALID_ARG, "gptq writer: layer name '%s' too long", prefix);
    struct lq_st_wtensor t = { .name = name, .dtype = dtype, .ndims = ndims, .data = data };
    size_t count = 1;
    for (int d = 0; d < ndims; d++) {
        t.shape[d] = shape[d];
        count *= (size_t)shape[d];
    }
    t.nbytes = count * (strcmp(dtype, "F16") == 0 ? 2 : 4);
    return lq_st_writer_add(w->st, &t, err);
}

lq_status lq_gptq_st_add_layer(lq_gptq_st *w, const char *prefix,
                               const struct lq_gptq_result *res, int64_t nrows, int64_t ncols,
                               struct lq_error *err)
{
    LQ_FAIL_IF(!w || !prefix || !res, err, LQ_E_INVALID_ARG, "gptq writer: NULL argument");
    struct lq_gptq_layout l = { w->cfg.bits, w->cfg.group_size, nrows, ncols };
    lq_status rc = lq_gptq_layout_check(&l, err);
    if (rc != LQ_OK) {
        lqi_error_prefix(err, "layer '%s': ", prefix);
        return rc;
    }
    int64_t qw[2], qz[2], sc[2];
    lq_gptq_layout_shapes(&l, qw, qz, sc);
    size_t nqw = (size_t)(qw[0] * qw[1]) * 4, nqz = (size_t)(qz[0] * qz[1]) * 4;
    size_t nsc = (size_t)(sc[0] * sc[1]) * 2, ngi = (size_t)ncols * 4;
    unsigned char *buf = lqi_malloc(nqw + nqz + nsc + ngi);
    LQ_FAIL_IF(!buf, err, LQ_E_NOMEM, "gptq writer: layer '%s': out of memory", prefix);
    LQ_TRY(keep(w, buf, err));
    struct lq_gptq_tensors t = { buf, buf + nqw, buf + nqw + nqz, buf + nqw + nqz + nsc };
    rc = lq_gptq_pack(res, &l, &t, err);
    if (rc != LQ_OK) {
        lqi_error_prefix(err, "layer '%s': ", prefix);
        return rc;
    }
    LQ_TRY(add_part(w, prefix, "qweight", "I32", 2, qw, t.qweight, err));
    LQ_TRY(add_part(w, prefix, "qzeros", "I32", 2, qz, t.qzeros, err));
    LQ_TRY(add_part(w, prefix, "scales", "F16", 2, sc, t.scales, err));
    return add_part(w, prefix, "g_idx", "I32", 1, &ncols, t.g_idx, err);
}

// ---- configs ------------------------------------------------------------------------------------

/* AutoGPTQ's BaseQuantizeConfig.to_dict, keys in its order. */
static json_t *quant_config(const struct lq_gptq_st_config *c)
{
    json_t *o = json_object();
    if (!o) {
        return NULL;
    }
    json_object_set_new(o, "bits", json_integer(c->bits));
    json_object_set_new(o, "group_size", json_integer(c->group_size));
    json_object_set_new(o, "damp_percent", json_real(c->damp_percent));
    json_object_set_new(o, "desc_act", json_boolean(c->desc_act));
    json_object_set_new(o, "static_groups", json_boolean(c->static_groups));
    json_object_set_new(o, "sym", json_boolean(c->sym));
    json_object_set_new(o, "true_sequential", json_boolean(c->true_sequential));
    json_object_set_new(o, "model_name_or_path", c->model_name_or_path
                                                     ? json_string(c->model_name_or_path)
                                                     : json_null());
    json_object_set_new(o, "model_file_base_name", json_string(c->model_file_base_name));
    json_object_set_new(o, "quant_method", json_string("gptq"));
    json_object_set_new(o, "checkpoint_format", json_string("gptq"));
    return o;
}

/* Dumps a JSON value with a 2-space indent (as json.dump(indent=2)) to path atomically. */
static lq_status write_json(const char *path, const json_t *v, struct lq_error *err)
{
    char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    LQ_FAIL_IF(!text, err, LQ_E_NOMEM, "%s: cannot format JSON", path);
    size_t n = strlen(text);
    lq_status rc = lqi_atomic_write_buf(path, text, n, err);
    free(text);
    return rc;
}

/* <dir>/<name> into buf (of size n). */
static lq_status join_path(char *buf, size_t n, const char *dir, const char *name,
                           const char *ext, struct lq_error *err)
{
    LQ_FAIL_IF((size_t)snprintf(buf, n, "%s/%s%s", dir, name, ext) >= n, err,
               LQ_E_INVALID_ARG, "gptq writer: path '%s/%s%s' too long", dir, name, ext);
    return LQ_OK;
}

static lq_status write_model_config(const char *dir, const char *config_json, json_t *qc,
                                    struct lq_error *err)
{
    json_error_t jerr;
    json_t *cfg = json_loads(config_json, JSON_REJECT_DUPLICATES, &jerr);
    LQ_FAIL_IF(!cfg, err, LQ_E_FORMAT, "config.json: line %d column %d: %s", jerr.line,
               jerr.column, jerr.text);
    lq_status rc = LQ_OK;
    char path[4096];
    if (!json_is_object(cfg)) {
        rc = lqi_set_error(err, LQ_E_FORMAT, "config.json: not a JSON object");
        goto out_free_cfg;
    }
    json_object_set(cfg, "quantization_config", qc);
    json_object_set_new(cfg, "torch_dtype", json_string("float16"));
    rc = join_path(path, sizeof path, dir, "config", ".json", err);
    if (rc == LQ_OK) {
        rc = write_json(path, cfg, err);
    }
out_free_cfg:
    json_decref(cfg);
    return rc;
}

lq_status lq_gptq_st_write(lq_gptq_st *w, const char *dir, const char *config_json,
                           struct lq_error *err)
{
    LQ_FAIL_IF(!w || !dir, err, LQ_E_INVALID_ARG, "gptq writer: NULL argument");
    char path[4096];
    LQ_TRY(join_path(path, sizeof path, dir, w->cfg.model_file_base_name, ".safetensors", err));
    LQ_TRY(lq_st_writer_write(w->st, path, err));
    json_t *qc = quant_config(&w->cfg);
    LQ_FAIL_IF(!qc, err, LQ_E_NOMEM, "gptq writer: out of memory");
    lq_status rc = join_path(path, sizeof path, dir, "quantize_config", ".json", err);
    if (rc == LQ_OK) {
        rc = write_json(path, qc, err);
    }
    if (rc == LQ_OK && config_json) {
        rc = write_model_config(dir, config_json, qc, err);
    }
    json_decref(qc);
    return rc;
}
