/* model_state.c - the KV cache and scratch buffers of the forward pass, carved from one
 * allocation (llm.c style): one layout function runs twice, first to size, then to carve. */
#include "forward_impl.h"

#include "lqi.h"

struct plan {
    unsigned char *base; /* NULL while sizing */
    uint64_t total;
    bool overflow;
};

/* Reserves a * b elements of elem bytes, 64-byte aligned; returns the carved pointer. */
static void *carve(struct plan *p, int64_t a, int64_t b, uint64_t elem)
{
    uint64_t n, end;
    if (lqi_mul_overflow_u64((uint64_t)a, (uint64_t)b, &n) ||
        lqi_mul_overflow_u64(n, elem, &n) || lqi_add_overflow_u64(n, 63, &n)) {
        p->overflow = true;
        return NULL;
    }
    n &= ~(uint64_t)63;
    const uint64_t off = p->total;
    if (lqi_add_overflow_u64(off, n, &end)) {
        p->overflow = true;
        return NULL;
    }
    p->total = end;
    return p->base ? p->base + off : NULL;
}

static int64_t max3(int64_t a, int64_t b, int64_t c)
{
    const int64_t ab = a > b ? a : b;
    return ab > c ? ab : c;
}

/* Bytes of the widest converted activation row any weight needs. Never below F32 rows (the
 * widest any kernel takes), so lq_model_set_weight can swap in weights of any type. */
static uint64_t acts_row_max(const lq_model *m)
{
    size_t mx = lqi_acts_row_size(&m->output, m->output.n_in);
    for (int64_t il = 0; il < m->hp.n_layer; il++) {
        const struct lqi_layer *L = &m->layers[il];
        const struct lqi_weight *ws[LQI_LAYER_N_WEIGHTS];
        lqi_layer_weights(L, ws);
        for (int i = 0; i < LQI_LAYER_N_WEIGHTS; i++) {
            if (!ws[i]->data) {
                continue; /* not in this family's layout */
            }
            size_t r = lqi_acts_row_size(ws[i], ws[i]->n_in);
            r = r > (size_t)ws[i]->n_in * sizeof(float) ? r : (size_t)ws[i]->n_in * sizeof(float);
            mx = r > mx ? r : mx;
        }
    }
    return mx;
}

static void layout(lq_model *m, struct plan *p)
{
    const struct lq_model_hparams *hp = &m->hp;
    struct lqi_state *st = &m->st;
    const int64_t nb = m->n_batch, q_dim = hp->n_head * hp->n_embd_head;
    const int64_t kv_dim = hp->n_head_kv * hp->n_embd_head;
    const int64_t n_ff = hp->n_ff_exp > hp->n_ff ? hp->n_ff_exp : hp->n_ff;
    const int64_t max_in = max3(hp->n_embd, n_ff, q_dim);
    st->x = carve(p, nb, hp->n_embd, sizeof(float));
    st->xb = carve(p, nb, hp->n_embd, sizeof(float));
    st->proj = carve(p, nb, hp->n_embd, sizeof(float));
    st->q = carve(p, nb, q_dim, sizeof(float));
    st->att = carve(p, nb, q_dim, sizeof(float));
    st->k = carve(p, nb, kv_dim, sizeof(float));
    st->v = carve(p, nb, kv_dim, sizeof(float));
    st->gate = carve(p, nb, n_ff, sizeof(float));
    st->up = carve(p, nb, (m->tr.fused_gate_up ? 2 : 1) * n_ff, sizeof(float));
    if (hp->n_expert > 0) {
        st->router = carve(p, nb, hp->n_expert, sizeof(float));
        st->sel = carve(p, nb, hp->n_expert_used, sizeof(int32_t));
        st->sel_w = carve(p, nb, hp->n_expert_used, sizeof(float));
        st->rows = carve(p, nb, 1, sizeof(int64_t));
        st->xe = carve(p, nb, hp->n_embd, sizeof(float));
        st->exp_out = carve(p, nb * hp->n_expert_used, hp->n_embd, sizeof(float));
    }
    st->qkv = m->tr.fused_qkv ? carve(p, nb, q_dim + 2 * kv_dim, sizeof(float)) : NULL;
    st->kf = carve(p, m->n_ctx, kv_dim, sizeof(float));
    st->vf = carve(p, m->n_ctx, kv_dim, sizeof(float));
    st->scores = carve(p, m->n_threads * (hp->n_head / hp->n_head_kv), m->n_ctx, sizeof(float));
    /* per thread: an activation row (conversion) or the GEMM's decoded panels */
    st->acts.scratch_stride = lqi_gemm_scratch_floats(nb, max_in);
    st->acts.scratch = carve(p, m->n_threads, st->acts.scratch_stride, sizeof(float));
    st->rope = carve(p, nb, hp->n_rot, sizeof(float));
    st->acts.buf = carve(p, nb, (int64_t)acts_row_max(m), 1);
    st->acts.pack = carve(p, lqi_gemm_pack_floats(nb, max_in), 1, sizeof(float));
    st->kcache = carve(p, hp->n_layer * m->n_ctx, kv_dim, sizeof(uint16_t));
    st->vcache = carve(p, hp->n_layer * m->n_ctx, kv_dim, sizeof(uint16_t));
}

lq_status lqi_model_alloc_state(lq_model *m, struct lq_error *err)
{
    struct plan p = { 0 };
    layout(m, &p);
    LQ_FAIL_IF(p.overflow || p.total > SIZE_MAX / 2, err, LQ_E_RANGE,
               "%s: run state for context %lld and batch %lld is too large", m->src_name,
               (long long)m->n_ctx, (long long)m->n_batch);
    m->state_mem = lqi_calloc(1, (size_t)p.total);
    LQ_FAIL_IF(!m->state_mem, err, LQ_E_NOMEM,
               "%s: out of memory for the KV cache and scratch (%llu bytes)", m->src_name,
               (unsigned long long)p.total);
    p.base = m->state_mem;
    p.total = 0;
    layout(m, &p);
    m->n_past = 0;
    return LQ_OK;
}
