/* model_hooks.c - the calibration hooks of the forward pass (lq/model_hooks.h). */
#include "forward_impl.h"

#include "lqi.h"

static const char *const weight_names[LQ_LW_COUNT] = {
    "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down", "attn_qkv",
};

const char *lq_layer_weight_name(enum lq_layer_weight w)
{
    return (unsigned)w < LQ_LW_COUNT ? weight_names[w] : NULL;
}

enum lq_hook_point lq_layer_weight_input(enum lq_layer_weight w)
{
    switch (w) {
    case LQ_LW_Q:
    case LQ_LW_K:
    case LQ_LW_V:
    case LQ_LW_QKV:
        return LQ_HOOK_ATTN_IN;
    case LQ_LW_O:
        return LQ_HOOK_ATTN_OUT;
    case LQ_LW_GATE:
    case LQ_LW_UP:
        return LQ_HOOK_FFN_IN;
    default:
        return LQ_HOOK_FFN_DOWN;
    }
}

void lq_model_set_observer(lq_model *m, lq_model_observer fn, void *user)
{
    if (m) {
        m->observer = fn;
        m->observer_user = fn ? user : NULL;
    }
}

lq_status lqi_observe(lq_model *m, int64_t il, enum lq_hook_point point, const float *x,
                      int64_t n, int64_t n_cols, struct lq_error *err)
{
    if (m->observer) {
        LQ_TRY(m->observer(m->observer_user, il, point, x, n, n_cols, err));
    }
    return lqi_stop_here(m, il, point);
}

lq_status lqi_stop_here(const lq_model *m, int64_t il, enum lq_hook_point point)
{
    return il + 1 == m->n_layer_run && (int64_t)point == m->stop_point ? LQI_STOPPED : LQ_OK;
}

void lq_model_set_expert_observer(lq_model *m, lq_model_expert_observer fn, void *user)
{
    if (m) {
        m->expert_observer = fn;
        m->expert_observer_user = fn ? user : NULL;
    }
}

lq_status lqi_observe_expert(lq_model *m, int64_t il, int64_t e, enum lq_hook_point point,
                             const float *x, const int64_t *route, int64_t n, int64_t n_cols,
                             struct lq_error *err)
{
    return m->expert_observer ? m->expert_observer(m->expert_observer_user, il, e, point, x,
                                                   route, n, n_cols, err)
                              : LQ_OK;
}

const char *lq_expert_weight_name(enum lq_layer_weight w)
{
    return w == LQ_LW_GATE ? "ffn_gate_exps"
           : w == LQ_LW_UP ? "ffn_up_exps"
           : w == LQ_LW_DOWN ? "ffn_down_exps"
                             : NULL;
}

/* The stack of expert matrices w, and its index in exp_views. */
static const struct lqi_weight *expert_stack(const struct lqi_layer *L, enum lq_layer_weight w,
                                             int *k)
{
    *k = w == LQ_LW_GATE ? 0 : w == LQ_LW_UP ? 1 : 2;
    return w == LQ_LW_GATE ? &L->gate_exps : w == LQ_LW_UP ? &L->up_exps : &L->down_exps;
}

struct lqi_weight lqi_expert_weight(const lq_model *m, const struct lqi_layer *L,
                                    enum lq_layer_weight w, int64_t e)
{
    int k;
    const struct lqi_weight *stack = expert_stack(L, w, &k);
    if (L->exp_views) {
        return L->exp_views[k * m->hp.n_expert + e];
    }
    /* rows e * n_out .. (e + 1) * n_out - 1 of the stack */
    struct lqi_weight x = *stack;
    x.data = stack->data + (size_t)e * (size_t)stack->n_out * stack->row_size;
    return x;
}

static lq_status check_expert_ref(const lq_model *m, int64_t il, enum lq_layer_weight w,
                                  int64_t e, struct lq_error *err)
{
    LQ_FAIL_IF(!m, err, LQ_E_INVALID_ARG, "expert weight: NULL model");
    LQ_FAIL_IF(m->hp.n_expert < 1 || !lq_expert_weight_name(w), err, LQ_E_INVALID_ARG,
               "expert weight: a %s model has no expert weight %d (%lld experts)",
               m->hp.family->name, (int)w, (long long)m->hp.n_expert);
    LQ_FAIL_IF(il < 0 || il >= m->hp.n_layer || e < 0 || e >= m->hp.n_expert, err,
               LQ_E_INVALID_ARG, "expert weight: no expert %lld of %lld in layer %lld of %lld",
               (long long)e, (long long)m->hp.n_expert, (long long)il, (long long)m->hp.n_layer);
    return LQ_OK;
}

lq_status lq_model_get_expert_weight(const lq_model *m, int64_t layer, enum lq_layer_weight w,
                                     int64_t expert, struct lq_model_tensor *out,
                                     struct lq_error *err)
{
    LQ_TRY(check_expert_ref(m, layer, w, expert, err));
    const struct lqi_weight x = lqi_expert_weight(m, &m->layers[layer], w, expert);
    *out = (struct lq_model_tensor){
        .type = x.type,
        .ne = { x.n_in, x.n_out, 1, 1 },
        .data = x.data,
        .nbytes = x.row_size * (size_t)x.n_out,
    };
    return LQ_OK;
}

lq_status lq_model_set_expert_weight(lq_model *m, int64_t layer, enum lq_layer_weight w,
                                     int64_t expert, enum lq_type type, const void *data,
                                     size_t nbytes, struct lq_error *err)
{
    LQ_TRY(check_expert_ref(m, layer, w, expert, err));
    LQ_FAIL_IF(!data, err, LQ_E_INVALID_ARG, "set_expert_weight: NULL data");
    LQ_FAIL_IF(!lq_type_traits_get(type), err, LQ_E_UNSUPPORTED,
               "set_expert_weight: unknown type %d", (int)type);
    struct lqi_layer *L = &m->layers[layer];
    struct lqi_weight nw = lqi_expert_weight(m, L, w, expert);
    nw.type = type;
    nw.data = data;
    const char *name = lq_expert_weight_name(w);
    LQ_FAIL_IF(!lqi_weight_setup(&nw), err, LQ_E_UNSUPPORTED,
               "set_expert_weight: blk.%lld.%s expert %lld: type %s cannot be used for %lld "
               "columns", (long long)layer, name, (long long)expert, lq_type_name(type),
               (long long)nw.n_in);
    LQ_FAIL_IF(nw.row_size * (size_t)nw.n_out != nbytes, err, LQ_E_INVALID_ARG,
               "set_expert_weight: blk.%lld.%s expert %lld: %zu bytes given, %s %lld x %lld "
               "needs %zu", (long long)layer, name, (long long)expert, nbytes,
               lq_type_name(type), (long long)nw.n_out, (long long)nw.n_in,
               nw.row_size * (size_t)nw.n_out);
    if (!L->exp_views) {
        const int64_t nx = m->hp.n_expert;
        struct lqi_weight *v = lqi_malloc((size_t)(3 * nx) * sizeof *v);
        LQ_FAIL_IF(!v, err, LQ_E_NOMEM, "set_expert_weight: out of memory");
        const enum lq_layer_weight ws[3] = { LQ_LW_GATE, LQ_LW_UP, LQ_LW_DOWN };
        for (int k = 0; k < 3; k++) {
            for (int64_t e = 0; e < nx; e++) {
                v[k * nx + e] = lqi_expert_weight(m, L, ws[k], e);
            }
        }
        L->exp_views = v;
    }
    int k;
    expert_stack(L, w, &k);
    L->exp_views[k * m->hp.n_expert + expert] = nw;
    return LQ_OK;
}

lq_status lq_model_set_stop_layer(lq_model *m, int64_t last, struct lq_error *err)
{
    LQ_FAIL_IF(!m, err, LQ_E_INVALID_ARG, "set_stop_layer: NULL model");
    LQ_FAIL_IF(last < -1 || last >= m->hp.n_layer, err, LQ_E_INVALID_ARG,
               "set_stop_layer: layer %lld outside -1 .. %lld", (long long)last,
               (long long)(m->hp.n_layer - 1));
    m->n_layer_run = last < 0 ? 0 : last + 1;
    m->stop_point = LQ_HOOK_N_POINTS;
    return LQ_OK;
}

lq_status lq_model_set_stop_point(lq_model *m, int64_t layer, enum lq_hook_point point,
                                  struct lq_error *err)
{
    LQ_FAIL_IF((unsigned)point > LQ_HOOK_N_POINTS, err, LQ_E_INVALID_ARG,
               "set_stop_point: hook point %d", (int)point);
    LQ_TRY(lq_model_set_stop_layer(m, layer, err));
    m->stop_point = point;
    return LQ_OK;
}

lq_status lq_model_set_start(lq_model *m, int64_t first, const float *x, struct lq_error *err)
{
    LQ_FAIL_IF(!m, err, LQ_E_INVALID_ARG, "set_start: NULL model");
    LQ_FAIL_IF(first < 0 || first >= m->hp.n_layer || (first > 0 && !x), err, LQ_E_INVALID_ARG,
               "set_start: layer %lld (of %lld) with %s residual stream", (long long)first,
               (long long)m->hp.n_layer, x ? "a" : "no");
    m->first_layer = first;
    m->start_x = x;
    return LQ_OK;
}

const float *lq_model_residual(const lq_model *m)
{
    return m ? m->st.x : NULL;
}

static struct lqi_weight *layer_weight(lq_model *m, int64_t il, enum lq_layer_weight w)
{
    struct lqi_layer *L = &m->layers[il];
    struct lqi_weight *ws[LQ_LW_COUNT] = {
        &L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down, &L->wqkv,
    };
    return ws[w];
}

bool lq_model_has_weight(const lq_model *m, enum lq_layer_weight w)
{
    return m && (unsigned)w < LQ_LW_COUNT && layer_weight((lq_model *)m, 0, w)->data != NULL;
}

int lq_model_n_layer_weights(const lq_model *m)
{
    int n = 0;
    for (int w = 0; w < LQ_LW_COUNT; w++) {
        n += lq_model_has_weight(m, (enum lq_layer_weight)w);
    }
    return n;
}

static lq_status check_ref(const lq_model *m, int64_t il, enum lq_layer_weight w,
                           struct lq_error *err)
{
    LQ_FAIL_IF(!m, err, LQ_E_INVALID_ARG, "layer weight: NULL model");
    LQ_FAIL_IF(il < 0 || il >= m->hp.n_layer || (unsigned)w >= LQ_LW_COUNT, err,
               LQ_E_INVALID_ARG, "layer weight: no weight %d in layer %lld of %lld", (int)w,
               (long long)il, (long long)m->hp.n_layer);
    LQ_FAIL_IF(!lq_model_has_weight(m, w), err, LQ_E_INVALID_ARG,
               "layer weight: a %s model has no %s weight", m->hp.family->name,
               weight_names[w]);
    return LQ_OK;
}

lq_status lq_model_get_weight(const lq_model *m, int64_t layer, enum lq_layer_weight w,
                              struct lq_model_tensor *out, struct lq_error *err)
{
    LQ_TRY(check_ref(m, layer, w, err));
    const struct lqi_weight *lw = layer_weight((lq_model *)m, layer, w);
    *out = (struct lq_model_tensor){
        .type = lw->type,
        .ne = { lw->n_in, lw->n_out, 1, 1 },
        .data = lw->data,
        .nbytes = lw->row_size * (size_t)lw->n_out,
    };
    return LQ_OK;
}

lq_status lq_model_set_weight(lq_model *m, int64_t layer, enum lq_layer_weight w,
                              enum lq_type type, const void *data, size_t nbytes,
                              struct lq_error *err)
{
    LQ_TRY(check_ref(m, layer, w, err));
    LQ_FAIL_IF(!data, err, LQ_E_INVALID_ARG, "set_weight: NULL data");
    struct lqi_weight *lw = layer_weight(m, layer, w);
    struct lqi_weight nw = *lw;
    nw.type = type;
    nw.data = data;
    LQ_FAIL_IF(!lq_type_traits_get(type), err, LQ_E_UNSUPPORTED, "set_weight: unknown type %d",
               (int)type);
    LQ_FAIL_IF(!lqi_weight_setup(&nw), err, LQ_E_UNSUPPORTED,
               "set_weight: blk.%lld.%s: type %s cannot be used for %lld columns",
               (long long)layer, weight_names[w], lq_type_name(type), (long long)nw.n_in);
    LQ_FAIL_IF(nw.row_size * (size_t)nw.n_out != nbytes, err, LQ_E_INVALID_ARG,
               "set_weight: blk.%lld.%s: %zu bytes given, %s %lld x %lld needs %zu",
               (long long)layer, weight_names[w], nbytes, lq_type_name(type),
               (long long)nw.n_out, (long long)nw.n_in, nw.row_size * (size_t)nw.n_out);
    *lw = nw;
    return LQ_OK;
}

static struct lqi_weight *model_weight(lq_model *m, enum lq_model_weight w)
{
    return w == LQ_MW_TOKEN_EMBD ? &m->tok_embd : w == LQ_MW_OUTPUT ? &m->output : NULL;
}

lq_status lq_model_get_model_weight(const lq_model *m, enum lq_model_weight w,
                                    struct lq_model_tensor *out, struct lq_error *err)
{
    const struct lqi_weight *lw = m ? model_weight((lq_model *)m, w) : NULL;
    LQ_FAIL_IF(!lw || !out, err, LQ_E_INVALID_ARG, "model weight: no weight %d", (int)w);
    *out = (struct lq_model_tensor){
        .type = lw->type,
        .ne = { lw->n_in, lw->n_out, 1, 1 },
        .data = lw->data,
        .nbytes = lw->row_size * (size_t)lw->n_out,
    };
    return LQ_OK;
}

lq_status lq_model_set_model_weight(lq_model *m, enum lq_model_weight w, enum lq_type type,
                                    const void *data, size_t nbytes, struct lq_error *err)
{
    struct lqi_weight *lw = m ? model_weight(m, w) : NULL;
    LQ_FAIL_IF(!lw || !data, err, LQ_E_INVALID_ARG, "model weight: no weight %d or NULL data",
               (int)w);
    LQ_FAIL_IF(!lq_type_traits_get(type), err, LQ_E_UNSUPPORTED, "set_weight: unknown type %d",
               (int)type);
    struct lqi_weight nw = *lw;
    nw.type = type;
    nw.data = data;
    LQ_FAIL_IF(!lqi_weight_setup(&nw) || (w == LQ_MW_TOKEN_EMBD && !nw.to_float &&
                                          type != LQ_TYPE_F32),
               err, LQ_E_UNSUPPORTED, "set_weight: type %s cannot be used for %lld columns",
               lq_type_name(type), (long long)nw.n_in);
    LQ_FAIL_IF(nw.row_size * (size_t)nw.n_out != nbytes, err, LQ_E_INVALID_ARG,
               "set_weight: %zu bytes given, %s %lld x %lld needs %zu", nbytes,
               lq_type_name(type), (long long)nw.n_out, (long long)nw.n_in,
               nw.row_size * (size_t)nw.n_out);
    *lw = nw;
    return LQ_OK;
}
