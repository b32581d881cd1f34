/* calib_gptq.c - true-sequential GPTQ over the layers of a model (lq_calib_gptq). */
#include "lq/calib.h"

#include <string.h>

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
               "gptq: layer %lld: %lld input columns observed, Hessian has %lld", (long long)layer,
               (long long)n_cols, (long long)lq_hessian_ncols(t->h));
    return lq_hessian_add(t->h, x, n_rows, err);
}

/* The current weight (dense: expert -1) as F32 into *buf (grown as needed). */
static lq_status weight_f32(const lq_model *m, int64_t layer, enum lq_layer_weight w,
                            int64_t expert, float **buf, struct lq_model_tensor *t,
                            struct lq_error *err)
{
    LQ_TRY(expert < 0 ? lq_model_get_weight(m, layer, w, t, err)
                      : lq_model_get_expert_weight(m, layer, w, expert, t, err));
    const struct lq_type_traits *tr = lq_type_traits_get(t->type);
    LQ_FAIL_IF(!tr || !tr->to_float, err, LQ_E_UNSUPPORTED,
               "gptq: blk.%lld.%s: type %s cannot be decoded", (long long)layer,
               expert < 0 ? lq_layer_weight_name(w) : lq_expert_weight_name(w),
               lq_type_name(t->type));
    float *nb = lqi_realloc(*buf, (size_t)(t->ne[0] * t->ne[1]) * sizeof(float));
    LQ_FAIL_IF(!nb, err, LQ_E_NOMEM, "gptq: out of memory");
    *buf = nb;
    tr->to_float(t->data, nb, t->ne[0] * t->ne[1]);
    return LQ_OK;
}

/* Where the passes of one layer start: the token embeddings (until a layer's output has been
 * cached) or, per chunk, the cached residual stream entering the layer, computed through the
 * quantized layers before it. */
struct gptq_run {
    lq_model *m;
    const struct lq_calib *c;
    int64_t layer;
    float *cache; /* (n_chunks, n_ctx, n_embd) */
    bool cached;  /* cache holds the inputs of `layer` */
    struct replaced *replaced; /* the model's own weights of `layer` that a sink replaced */
    int64_t n_replaced, cap_replaced;
};

/* A weight of the current layer as the model had it before the sink's result replaced it. */
struct replaced {
    enum lq_layer_weight which;
    int64_t expert; /* -1: dense */
    struct lq_model_tensor own;
};

/* Makes the forward pass use the sink's result for a weight, remembering the model's own. */
static lq_status replace_weight(struct gptq_run *r, enum lq_layer_weight which, int64_t expert,
                                const struct lq_model_tensor *own,
                                const struct lq_model_tensor *use, struct lq_error *err)
{
    if (r->n_replaced == r->cap_replaced) {
        const int64_t cap = r->cap_replaced ? 2 * r->cap_replaced : 16;
        struct replaced *n = lqi_realloc(r->replaced, (size_t)cap * sizeof *n);
        LQ_FAIL_IF(!n, err, LQ_E_NOMEM, "gptq: out of memory");
        r->replaced = n;
        r->cap_replaced = cap;
    }
    r->replaced[r->n_replaced++] = (struct replaced){which, expert, *own};
    return expert < 0 ? lq_model_set_weight(r->m, r->layer, which, use->type, use->data,
                                            use->nbytes, err)
                      : lq_model_set_expert_weight(r->m, r->layer, which, expert, use->type,
                                                   use->data, use->nbytes, err);
}

/* Gives the model its own weights of the current layer back: once the layer's output is
 * cached for the next one (or the run ends) nothing reads the sink's buffers again, and the
 * sink may release them. Restoring a view the model gave out cannot fail on its shape; the
 * first failure is kept. */
static lq_status restore_weights(struct gptq_run *r, lq_status rc, struct lq_error *err)
{
    for (int64_t i = r->n_replaced - 1; i >= 0; i--) {
        const struct replaced *x = &r->replaced[i];
        struct lq_error e2 = {0};
        const lq_status s =
            x->expert < 0
                ? lq_model_set_weight(r->m, r->layer, x->which, x->own.type, x->own.data,
                                      x->own.nbytes, &e2)
                : lq_model_set_expert_weight(r->m, r->layer, x->which, x->expert, x->own.type,
                                             x->own.data, x->own.nbytes, &e2);
        if (s != LQ_OK && rc == LQ_OK) {
            rc = s;
            if (err) {
                *err = e2;
            }
        }
    }
    r->n_replaced = 0;
    return rc;
}

/* Runs every chunk up to `point` of the run's layer; LQ_HOOK_N_POINTS runs the whole layer
 * and stores its output as the chunk's cached input for the next layer. */
static lq_status run_chunks(struct gptq_run *r, enum lq_hook_point point, struct lq_error *err)
{
    const int64_t rows = r->c->n_ctx, e = lq_model_get_hparams(r->m)->n_embd;
    LQ_TRY(lq_model_set_stop_point(r->m, r->layer, point, err));
    for (int64_t i = 0; i < r->c->n_chunks; i++) {
        float *x = r->cache + i * rows * e;
        LQ_TRY(lq_model_set_start(r->m, r->cached ? r->layer : 0, r->cached ? x : NULL, err));
        struct lq_batch b = {.tokens = r->c->tokens + i * rows, .n_tokens = rows};
        LQ_TRY(lq_model_forward(r->m, &b, err));
        if (point == LQ_HOOK_N_POINTS) {
            memcpy(x, lq_model_residual(r->m), (size_t)(rows * e) * sizeof(float));
        }
    }
    r->cached = r->cached || point == LQ_HOOK_N_POINTS;
    return LQ_OK;
}

/* Collects the Hessian of one projection group of a layer and quantizes its weights. */
static lq_status do_group(struct gptq_run *r, enum lq_hook_point point, lq_calib_quantize_fn fn,
                          void *user, float **wbuf, struct lq_error *err)
{
    struct lq_model_tensor t;
    enum lq_layer_weight first = LQ_LW_COUNT;
    for (int w = 0; w < LQ_LW_COUNT && first == LQ_LW_COUNT; w++) {
        if (lq_layer_weight_input((enum lq_layer_weight)w) == point &&
            lq_model_has_weight(r->m, (enum lq_layer_weight)w)) {
            first = (enum lq_layer_weight)w;
        }
    }
    if (first == LQ_LW_COUNT) { /* the FFN of a mixture of experts: do_expert_group */
        return LQ_OK;
    }
    LQ_TRY(lq_model_get_weight(r->m, r->layer, first, &t, err));
    struct hessian_tap tp = {.layer = r->layer, .point = point};
    LQ_TRY(lq_hessian_new(t.ne[0], &tp.h, err));
    lq_model_set_observer(r->m, tap, &tp);
    lq_status rc = run_chunks(r, point, err);
    lq_model_set_observer(r->m, NULL, NULL);
    for (int w = first; w < LQ_LW_COUNT && rc == LQ_OK; w++) {
        const enum lq_layer_weight lw = (enum lq_layer_weight)w;
        if (lq_layer_weight_input(lw) != point || !lq_model_has_weight(r->m, lw)) {
            continue;
        }
        rc = weight_f32(r->m, r->layer, lw, -1, wbuf, &t, err);
        struct lq_model_tensor use = {0};
        if (rc == LQ_OK) {
            rc = fn(user, r->layer, lw, -1, *wbuf, t.ne[1], t.ne[0], tp.h, &use, err);
        }
        if (rc == LQ_OK && use.data) {
            rc = replace_weight(r, lw, -1, &t, &use, err);
        }
    }
    lq_hessian_free(tp.h);
    return rc;
}

/* Each expert's Hessian from the rows routed to it. */
struct expert_tap {
    lq_hessian **h; /* (n_expert) */
    int64_t layer;
    enum lq_hook_point point;
};

static lq_status tap_expert(void *user, int64_t layer, int64_t expert, enum lq_hook_point point,
                            const float *x, const int64_t *route, int64_t n_rows, int64_t n_cols,
                            struct lq_error *err)
{
    (void)route;
    struct expert_tap *t = user;
    if (layer != t->layer || point != t->point) {
        return LQ_OK;
    }
    LQ_FAIL_IF(n_cols != lq_hessian_ncols(t->h[expert]), err, LQ_E_INVALID_ARG,
               "gptq: layer %lld expert %lld: %lld input columns observed, Hessian has %lld",
               (long long)layer, (long long)expert, (long long)n_cols,
               (long long)lq_hessian_ncols(t->h[expert]));
    return lq_hessian_add(t->h[expert], x, n_rows, err);
}

/* The experts' matrices whose input is `point` (gate and up: the FFN input; down: each
 * expert's SwiGLU output), each quantized from its own Hessian. The passes stop once every
 * expert has run (the stop after LQ_HOOK_FFN_DOWN of a mixture-of-experts layer). */
static lq_status do_expert_group(struct gptq_run *r, enum lq_hook_point point,
                                 lq_calib_quantize_fn fn, void *user, float **wbuf,
                                 struct lq_error *err)
{
    const struct lq_model_hparams *hp = lq_model_get_hparams(r->m);
    const int64_t nx = hp->n_expert;
    const int64_t ncols = point == LQ_HOOK_FFN_IN ? hp->n_embd : hp->n_ff_exp;
    struct expert_tap tp = {.layer = r->layer, .point = point};
    tp.h = lqi_calloc((size_t)nx, sizeof *tp.h);
    LQ_FAIL_IF(!tp.h, err, LQ_E_NOMEM, "gptq: out of memory");
    lq_status rc = LQ_OK;
    for (int64_t e = 0; e < nx && rc == LQ_OK; e++) {
        rc = lq_hessian_new(ncols, &tp.h[e], err);
    }
    if (rc == LQ_OK) {
        lq_model_set_expert_observer(r->m, tap_expert, &tp);
        rc = run_chunks(r, LQ_HOOK_FFN_DOWN, err);
        lq_model_set_expert_observer(r->m, NULL, NULL);
    }
    const enum lq_layer_weight ws[3] = {LQ_LW_GATE, LQ_LW_UP, LQ_LW_DOWN};
    for (int k = 0; k < 3 && rc == LQ_OK; k++) {
        if (lq_layer_weight_input(ws[k]) != point) {
            continue;
        }
        for (int64_t e = 0; e < nx && rc == LQ_OK; e++) {
            struct lq_model_tensor t, use = {0};
            rc = weight_f32(r->m, r->layer, ws[k], e, wbuf, &t, err);
            if (rc == LQ_OK) {
                rc = fn(user, r->layer, ws[k], e, *wbuf, t.ne[1], t.ne[0], tp.h[e], &use, err);
            }
            if (rc == LQ_OK && use.data) {
                rc = replace_weight(r, ws[k], e, &t, &use, err);
            }
        }
    }
    for (int64_t e = 0; e < nx; e++) {
        lq_hessian_free(tp.h[e]);
    }
    lqi_free(tp.h);
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
    const int64_t e = lq_model_get_hparams(m)->n_embd;
    float *wbuf = NULL;
    struct gptq_run r = {.m = m, .c = c};
    r.cache = lqi_malloc((size_t)(c->n_chunks * c->n_ctx * e) * sizeof(float));
    LQ_FAIL_IF(!r.cache, err, LQ_E_NOMEM, "gptq: out of memory for the inputs of %lld tokens",
               (long long)(c->n_chunks * c->n_ctx));
    lq_status rc = LQ_OK;
    for (int64_t il = first; il < end && rc == LQ_OK; il++) {
        r.layer = il;
        for (int p = 0; p < LQ_HOOK_N_POINTS && rc == LQ_OK; p++) {
            rc = do_group(&r, (enum lq_hook_point)p, fn, user, &wbuf, err);
            if (rc == LQ_OK && lq_model_get_hparams(m)->n_expert > 0 &&
                (p == LQ_HOOK_FFN_IN || p == LQ_HOOK_FFN_DOWN)) {
                rc = do_expert_group(&r, (enum lq_hook_point)p, fn, user, &wbuf, err);
            }
        }
        if (rc == LQ_OK && il + 1 < end) {
            rc = run_chunks(&r, LQ_HOOK_N_POINTS, err);
        }
        rc = restore_weights(&r, rc, err);
    }
    lq_model_set_stop_layer(m, -1, NULL);
    lq_model_set_start(m, 0, NULL, NULL);
    lqi_free(r.cache);
    lqi_free(r.replaced);
    lqi_free(wbuf);
    return rc;
}
