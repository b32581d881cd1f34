/* calib_gptq.c - true-sequential GPTQ over the layers of a model (lq_calib_gptq). */
#include "lq/calib.h"

#include "lqi.h"

struct hessian_tap {
    lq_hessian *h;
    int64_t layer;
    enum lq_hook_point point;
};

static lq_status tap(void *user, int64_t layer, enum lq_hook_point point, const float *x,
                     int64_t n_rows, int64_t n_cols, struct lq_error *err)
{
    struct hessian_tap *t = user;
    if (layer != t->layer || point != t->point) {
        return LQ_OK;
    }
    LQ_FAIL_IF(n_cols != lq_hessian_ncols(t->h), err, LQ_E_INVALID_ARG,
               "gptq: layer %lld: %lld input columns observed, Hessian has %lld",
               (long long)layer, (long long)n_cols, (long long)lq_hessian_ncols(t->h));
    return lq_hessian_add(t->h, x, n_rows, err);
}

/* The current weight as F32 into *buf (grown as needed). */
static lq_status weight_f32(const lq_model *m, int64_t layer, enum lq_layer_weight w,
                            float **buf, struct lq_model_tensor *t, struct lq_error *err)
{
    LQ_TRY(lq_model_get_weight(m, layer, w, t, err));
    const struct lq_type_traits *tr = lq_type_traits_get(t->type);
    LQ_FAIL_IF(!tr || !tr->to_float, err, LQ_E_UNSUPPORTED,
               "gptq: blk.%lld.%s: type %s cannot be decoded", (long long)layer,
               lq_layer_weight_name(w), lq_type_name(t->type));
    float *nb = lqi_realloc(*buf, (size_t)(t->ne[0] * t->ne[1]) * sizeof(float));
    LQ_FAIL_IF(!nb, err, LQ_E_NOMEM, "gptq: out of memory");
    *buf = nb;
    tr->to_float(t->data, nb, t->ne[0] * t->ne[1]);
    return LQ_OK;
}

/* Collects the Hessian of one projection group of a layer and quantizes its weights. */
static lq_status do_group(lq_model *m, const struct lq_calib *c, int64_t layer,
                          enum lq_hook_point point, lq_calib_quantize_fn fn, void *user,
                          float **wbuf, struct lq_error *err)
{
    struct lq_model_tensor t;
    enum lq_layer_weight first = LQ_LW_COUNT;
    for (int w = 0; w < LQ_LW_COUNT && first == LQ_LW_COUNT; w++) {
        if (lq_layer_weight_input((enum lq_layer_weight)w) == point) {
            first = (enum lq_layer_weight)w;
        }
    }
    LQ_TRY(lq_model_get_weight(m, layer, first, &t, err));
    struct hessian_tap tp = { .layer = layer, .point = point };
    LQ_TRY(lq_hessian_new(t.ne[0], &tp.h, err));
    lq_model_set_observer(m, tap, &tp);
    lq_status rc = lq_calib_run(m, c, err);
    lq_model_set_observer(m, NULL, NULL);
    for (int w = first; w < LQ_LW_COUNT && rc == LQ_OK; w++) {
        const enum lq_layer_weight lw = (enum lq_layer_weight)w;
        if (lq_layer_weight_input(lw) != point) {
            continue;
        }
        rc = weight_f32(m, layer, lw, wbuf, &t, err);
        struct lq_model_tensor use = { 0 };
        if (rc == LQ_OK) {
            rc = fn(user, layer, lw, *wbuf, t.ne[1], t.ne[0], tp.h, &use, err);
        }
        if (rc == LQ_OK && use.data) {
            rc = lq_model_set_weight(m, layer, lw, use.type, use.data, use.nbytes, err);
        }
    }
    lq_hessian_free(tp.h);
    return rc;
}

lq_status lq_calib_gptq(lq_model *m, const struct lq_calib *c, int64_t first, int64_t n,
                        lq_calib_quantize_fn fn, void *user, struct lq_error *err)
{
    LQ_FAIL_IF(!m || !c || !fn, err, LQ_E_INVALID_ARG, "gptq: NULL argument");
    const int64_t n_layer = lq_model_get_hparams(m)->n_layer;
    LQ_FAIL_IF(first < 0 || first >= n_layer, err, LQ_E_INVALID_ARG,
               "gptq: first layer %lld outside 0 .. %lld", (long long)first,
               (long long)(n_layer - 1));
    const int64_t end = n <= 0 || n > n_layer - first ? n_layer : first + n;
    float *wbuf = NULL;
    lq_status rc = LQ_OK;
    for (int64_t il = first; il < end && rc == LQ_OK; il++) {
        rc = lq_model_set_stop_layer(m, il, err);
        for (int p = 0; p < LQ_HOOK_N_POINTS && rc == LQ_OK; p++) {
            rc = do_group(m, c, il, (enum lq_hook_point)p, fn, user, &wbuf, err);
        }
    }
    lq_model_set_stop_layer(m, -1, NULL);
    lqi_free(wbuf);
    return rc;
}
