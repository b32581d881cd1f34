/* fit_model.c - what the memory estimate needs from a model: its shape and its tensors, as
 * a GGUF file stores them or as a conversion would write them. */
#include <stdio.h>
#include <string.h>

#include "lq/convert.h"
#include "lq/family.h"
#include "lq/fit.h"
#include "lqi.h"

/* The GGUF writer's (and llama.cpp's) default alignment of tensor data. */
#define FIT_ALIGN 32u

static void set_name(struct lq_fit_tensor *t, const char *name)
{
    snprintf(t->name, sizeof t->name, "%s", name);
}

static lq_status shape_from_source(const lq_source *src, const lq_gguf *g,
                                   struct lq_fit_shape *s, struct lq_error *err)
{
    const struct lq_llama_hparams *hp = lq_source_hparams(src);
    LQ_FAIL_IF(!hp || hp->n_layer <= 0 || hp->n_embd <= 0 || hp->n_head <= 0 ||
                   hp->n_head_kv <= 0 || hp->n_vocab <= 0,
               err, LQ_E_FORMAT, "%s: no layer count, width, head counts or vocabulary",
               lq_source_path(src));
    *s = (struct lq_fit_shape){
        .n_layer = hp->n_layer,
        .n_embd = hp->n_embd,
        .n_ff = hp->n_ff > 0 ? hp->n_ff : hp->n_ff_exp,
        .n_head = hp->n_head,
        .n_head_kv = hp->n_head_kv,
        .head_dim_k = hp->head_dim > 0 ? hp->head_dim : hp->n_embd / hp->n_head,
        .n_vocab = hp->n_vocab,
        .n_expert = hp->n_expert,
    };
    s->head_dim_v = s->head_dim_k;
    const struct lq_family *fam = lq_source_family(src);
    s->swa_pattern = fam ? fam->traits.swa_pattern : 0;
    const char *arch = NULL;
    if (g && lq_gguf_get_str(g, "general.architecture", &arch, NULL) == LQ_OK) {
        char key[160];
        int64_t v;
        snprintf(key, sizeof key, "%s.attention.value_length", arch);
        if (lq_gguf_get_i64(g, key, &v, NULL) == LQ_OK && v > 0) {
            s->head_dim_v = v;
        }
        snprintf(key, sizeof key, "%s.attention.sliding_window", arch);
        if (lq_gguf_get_i64(g, key, &v, NULL) == LQ_OK && v > 0) {
            s->n_swa = v;
        }
    }
    return LQ_OK;
}

static lq_status tensors_from_gguf(const lq_gguf *g, struct lq_fit_model *m,
                                   struct lq_error *err)
{
    const int64_t n = lq_gguf_n_tensors(g);
    m->tensors = lqi_calloc(n > 0 ? (size_t)n : 1, sizeof *m->tensors);
    LQ_FAIL_IF(!m->tensors, err, LQ_E_NOMEM, "fit: out of memory");
    for (int64_t i = 0; i < n; i++) {
        const struct lq_gguf_tensor_info *ti = lq_gguf_tensor(g, i);
        struct lq_fit_tensor *t = &m->tensors[i];
        set_name(t, ti->name);
        t->type = ti->type;
        t->n_dims = (int)ti->n_dims;
        for (int d = 0; d < 4; d++) {
            t->ne[d] = ti->ne[d];
        }
        t->offset = ti->offset;
        t->nbytes = ti->nbytes;
    }
    m->n_tensors = (size_t)n;
    m->file_bytes = lq_gguf_file_size(g);
    const char *ft = NULL;
    int64_t ftype;
    if (lq_gguf_get_i64(g, "general.file_type", &ftype, NULL) == LQ_OK) {
        ft = lq_ftype_name((enum lq_ftype)ftype);
    }
    snprintf(m->label, sizeof m->label, "%s", ft ? ft : "unknown");
    return LQ_OK;
}

static lq_status tensors_planned(const lq_source *src, enum lq_ftype ftype,
                                 struct lq_fit_model *m, struct lq_error *err)
{
    const int64_t n = lq_source_n_tensors(src);
    enum lq_type *types = lqi_calloc(n > 0 ? (size_t)n : 1, sizeof *types);
    m->tensors = lqi_calloc(n > 0 ? (size_t)n : 1, sizeof *m->tensors);
    lq_status s = types && m->tensors ? LQ_OK
                                      : lqi_set_error(err, LQ_E_NOMEM, "fit: out of memory");
    struct lq_convert_params cp = lq_convert_params_default();
    cp.ftype = ftype;
    cp.allow_requantize = true;
    if (s == LQ_OK) {
        s = lq_convert_plan(src, &cp, types, NULL, err);
    }
    uint64_t off = 0;
    for (int64_t i = 0; s == LQ_OK && i < n; i++) {
        const struct lq_source_tensor *st = lq_source_tensor(src, i);
        struct lq_fit_tensor *t = &m->tensors[i];
        set_name(t, st->name);
        t->type = types[i];
        t->n_dims = st->n_dims;
        uint64_t rows = 1;
        for (int d = 0; d < 4; d++) {
            t->ne[d] = d < st->n_dims ? st->ne[d] : 1;
            if (d > 0 && lqi_mul_overflow_u64(rows, (uint64_t)t->ne[d], &rows)) {
                s = lqi_set_error(err, LQ_E_RANGE, "%s: tensor %s is too large",
                                  lq_source_path(src), st->name);
            }
        }
        const size_t row = lq_row_size(t->type, t->ne[0]);
        if (s == LQ_OK && (row == 0 || lqi_mul_overflow_u64(rows, row, &t->nbytes))) {
            s = lqi_set_error(err, LQ_E_RANGE, "%s: tensor %s: no %s size",
                              lq_source_path(src), st->name, lq_type_name(t->type));
        }
        t->offset = off;
        if (s == LQ_OK && lqi_add_overflow_u64(off, (t->nbytes + FIT_ALIGN - 1) / FIT_ALIGN *
                                                        FIT_ALIGN, &off)) {
            s = lqi_set_error(err, LQ_E_RANGE, "%s: too large", lq_source_path(src));
        }
    }
    lqi_free(types);
    m->n_tensors = s == LQ_OK ? (size_t)n : 0;
    m->file_bytes = off;
    snprintf(m->label, sizeof m->label, "%s", lq_ftype_name(ftype));
    return s;
}

lq_status lq_fit_model_from_source(const lq_source *src, const lq_gguf *g, int ftype,
                                   struct lq_fit_model *out, struct lq_error *err)
{
    LQ_FAIL_IF(!src || !out, err, LQ_E_INVALID_ARG, "fit: NULL argument");
    LQ_FAIL_IF(ftype < 0 && !g, err, LQ_E_INVALID_ARG,
               "fit: %s: a model as stored needs its GGUF file", lq_source_path(src));
    memset(out, 0, sizeof *out);
    lq_status s = shape_from_source(src, g, &out->shape, err);
    if (s == LQ_OK) {
        s = ftype < 0 ? tensors_from_gguf(g, out, err)
                      : tensors_planned(src, (enum lq_ftype)ftype, out, err);
    }
    if (s != LQ_OK) {
        lq_fit_model_free(out);
    }
    return s;
}
