/* forward.c - the forward pass over a batch of tokens, one function for every family of
 * lq/family.h with its traits as branches (llama.cpp's llm_build_llama, llm_build_qwen2,
 * llm_build_qwen3, llm_build_phi3):
 *
 *   x = token_embd[tokens]
 *   per layer:  n = rmsnorm(x) * attn_norm
 *               q, k, v = wq · n + bq, wk · n + bk, wv · n + bv   (fused: one wqkv · n, split;
 *                                                                   biases when the file has them)
 *               q, k = rmsnorm_per_head(q) * q_norm, ... * k_norm (attn_qk_norm)
 *               q, k = rope(q), rope(k)     (interleaved or NEOX pairs; rope factors; longrope's
 *                                            attention factor scales the rotated values)
 *               x += wo · attention(q, k, v)
 *               n = rmsnorm(x) * ffn_norm
 *               x += w_down · (silu(w_gate · n) * (w_up · n))    (fused: w_up · n holds gate, up)
 *                    or the experts' weighted sum (mixture of experts: forward_moe.c)
 *   logits = output · (rmsnorm(x) * output_norm)
 */
#include "forward_impl.h"

#include <math.h>
#include <string.h>

#include "lqi.h"

// ---- pieces of a block --------------------------------------------------------------------

/* st->xb = rmsnorm(rows of x) * w, for n rows. */
static void norm_rows(lq_model *m, float *y, const float *x, const float *w, int64_t n)
{
    const int64_t e = m->hp.n_embd;
#pragma omp parallel for num_threads(m->n_threads) schedule(static) if (n * e >= 1 << 16)
    for (int64_t t = 0; t < n; t++) {
        lqi_rmsnorm(y + t * e, x + t * e, w, e, m->hp.norm_eps);
    }
}

void lqi_project(lq_model *m, const float *x, int64_t n, int count,
                 const struct lqi_weight *const *ws, float *const *ys)
{
    struct lqi_acts *a = &m->st.acts;
    for (int i = 0; i < count; i++) {
        if (i == 0 || !lqi_acts_fit(a, ws[i])) {
            lqi_acts_convert(a, ws[i], x, n, m->n_threads);
        }
        lqi_matmul(ys[i], ws[i], a, m->n_threads);
    }
}

/* y = x · w^T for n rows. */
static void project(lq_model *m, float *y, const struct lqi_weight *w, const float *x, int64_t n)
{
    lqi_project(m, x, n, 1, &w, &y);
}

static void add_rows(float *x, const float *d, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        x[i] += d[i];
    }
}

/* rows (n, dim) += bias, when the layer has the bias. */
static void add_bias(float *rows, const float *bias, int64_t n, int64_t dim)
{
    for (int64_t t = 0; bias && t < n; t++) {
        add_rows(rows + t * dim, bias, dim);
    }
}

/* Splits a fused projection's rows (q, then k, then v per token) into st->q, st->k, st->v. */
static void split_qkv(lq_model *m, int64_t n)
{
    struct lqi_state *st = &m->st;
    const int64_t q_dim = m->hp.n_head * m->hp.n_embd_head;
    const int64_t kv_dim = m->hp.n_head_kv * m->hp.n_embd_head;
    const int64_t row = q_dim + 2 * kv_dim;
    for (int64_t t = 0; t < n; t++) {
        const float *r = st->qkv + t * row;
        memcpy(st->q + t * q_dim, r, (size_t)q_dim * sizeof(float));
        memcpy(st->k + t * kv_dim, r + q_dim, (size_t)kv_dim * sizeof(float));
        memcpy(st->v + t * kv_dim, r + q_dim + kv_dim, (size_t)kv_dim * sizeof(float));
    }
}

/* q, k, v of the batch from the normed input st->xb. */
static void project_qkv(lq_model *m, const struct lqi_layer *L, int64_t n)
{
    struct lqi_state *st = &m->st;
    const int64_t q_dim = m->hp.n_head * m->hp.n_embd_head;
    const int64_t kv_dim = m->hp.n_head_kv * m->hp.n_embd_head;
    if (m->tr.fused_qkv) {
        project(m, st->qkv, &L->wqkv, st->xb, n);
        split_qkv(m, n);
        return;
    }
    const struct lqi_weight *ws[] = { &L->wq, &L->wk, &L->wv };
    float *const ys[] = { st->q, st->k, st->v };
    lqi_project(m, st->xb, n, 3, ws, ys);
    add_bias(st->q, L->bq, n, q_dim);
    add_bias(st->k, L->bk, n, kv_dim);
    add_bias(st->v, L->bv, n, kv_dim);
}

/* In place: each head vector of n_heads heads = rmsnorm(head) * w (Qwen3's q/k norms). */
static void norm_heads(float *x, const float *w, int64_t n_heads, int64_t hd, float eps)
{
    for (int64_t h = 0; h < n_heads; h++) {
        lqi_rmsnorm(x + h * hd, x + h * hd, w, hd, eps);
    }
}

/* Per token: the q/k norms (when the family has them), RoPE by the token's position (the
 * cos/sin scaled by longrope's attention factor, as ggml's rope scales them by mscale), and
 * Phi-3's q scaling. */
static void position_qk(lq_model *m, const struct lqi_layer *L, int64_t n, int64_t pos)
{
    const struct lq_model_hparams *hp = &m->hp;
    const int64_t hd = hp->n_embd_head;
    struct lqi_state *st = &m->st;
    const float mscale = hp->rope_attn_factor;
    const float q_scale = m->tr.attn_scale_q ? 1.0f / sqrtf((float)hd) : 1.0f;
#pragma omp parallel for num_threads(m->n_threads) schedule(static) if (n >= 16)
    for (int64_t t = 0; t < n; t++) {
        float *q = st->q + t * hp->n_head * hd, *k = st->k + t * hp->n_head_kv * hd;
        if (L->q_norm) {
            norm_heads(q, L->q_norm, hp->n_head, hd, hp->norm_eps);
            norm_heads(k, L->k_norm, hp->n_head_kv, hd, hp->norm_eps);
        }
        float *cs = st->rope + t * hp->n_rot;
        /* Gemma 3's sliding-window layers rotate with their own base, unscaled */
        const bool local = L->swa && m->tr.swa_rope_base;
        lqi_rope_cache(cs, pos + t, hp->n_rot, local ? hp->rope_freq_base_swa : hp->rope_freq_base,
                       local ? 1.0f : hp->rope_freq_scale, m->rope_freqs);
        for (int64_t i = 0; mscale != 1.0f && i < hp->n_rot; i++) {
            cs[i] *= mscale;
        }
        for (int64_t h = 0; h < hp->n_head; h++) {
            lqi_rope_apply(q + h * hd, cs, hp->n_rot, hp->rope_type);
        }
        for (int64_t h = 0; h < hp->n_head_kv; h++) {
            lqi_rope_apply(k + h * hd, cs, hp->n_rot, hp->rope_type);
        }
        for (int64_t i = 0; q_scale != 1.0f && i < hp->n_head * hd; i++) {
            q[i] *= q_scale;
        }
    }
}

static lq_status attn_block(lq_model *m, int64_t il, int64_t n, int64_t pos,
                            struct lq_error *err)
{
    const struct lqi_layer *L = &m->layers[il];
    struct lqi_state *st = &m->st;
    const int64_t n_q = m->hp.n_head * m->hp.n_embd_head;
    norm_rows(m, st->xb, st->x, L->attn_norm, n);
    LQ_TRY(lqi_observe(m, il, LQ_HOOK_ATTN_IN, st->xb, n, m->hp.n_embd, err));
    project_qkv(m, L, n);
    position_qk(m, L, n, pos);
    lqi_attention(m, il, n, pos);
    LQ_TRY(lqi_observe(m, il, LQ_HOOK_ATTN_OUT, st->att, n, n_q, err));
    project(m, st->proj, &L->wo, st->att, n);
    if (L->post_attn_norm) {
        norm_rows(m, st->proj, st->proj, L->post_attn_norm, n);
    }
    add_rows(st->x, st->proj, n * m->hp.n_embd);
    return LQ_OK;
}

static lq_status ffn_block(lq_model *m, int64_t il, int64_t n, struct lq_error *err)
{
    const struct lqi_layer *L = &m->layers[il];
    struct lqi_state *st = &m->st;
    const int64_t n_ff = m->hp.n_ff;
    norm_rows(m, st->xb, st->x, L->ffn_norm, n);
    LQ_TRY(lqi_observe(m, il, LQ_HOOK_FFN_IN, st->xb, n, m->hp.n_embd, err));
    if (m->hp.n_expert > 0) { /* mixture of experts (forward_moe.c) */
        return lqi_moe_ffn(m, il, n, err);
    }
    /* fused (Phi-3): each row of w_up · n is the gate's n_ff values, then the up's */
    const int64_t up_row = m->tr.fused_gate_up ? 2 * n_ff : n_ff;
    if (m->tr.fused_gate_up) {
        project(m, st->up, &L->w_up, st->xb, n);
        for (int64_t t = 0; t < n; t++) {
            memcpy(st->gate + t * n_ff, st->up + t * up_row, (size_t)n_ff * sizeof(float));
        }
    } else {
        const struct lqi_weight *ws[] = { &L->w_gate, &L->w_up };
        float *const ys[] = { st->gate, st->up };
        lqi_project(m, st->xb, n, 2, ws, ys);
    }
    const int64_t up_off = m->tr.fused_gate_up ? n_ff : 0;
#pragma omp parallel for num_threads(m->n_threads) schedule(static) if (n * n_ff >= 1 << 16)
    for (int64_t t = 0; t < n; t++) {
        if (m->tr.activation == LQ_ACT_GELU_TANH) {
            lqi_geglu(st->gate + t * n_ff, st->up + t * up_row + up_off, n_ff);
        } else {
            lqi_swiglu(st->gate + t * n_ff, st->up + t * up_row + up_off, n_ff);
        }
    }
    LQ_TRY(lqi_observe(m, il, LQ_HOOK_FFN_DOWN, st->gate, n, n_ff, err));
    project(m, st->proj, &L->w_down, st->gate, n);
    if (L->post_ffw_norm) {
        norm_rows(m, st->proj, st->proj, L->post_ffw_norm, n);
    }
    add_rows(st->x, st->proj, n * m->hp.n_embd);
    return LQ_OK;
}

// ---- the whole pass -----------------------------------------------------------------------

static lq_status check_batch(const lq_model *m, const struct lq_batch *b, struct lq_error *err)
{
    LQ_FAIL_IF(!b || !b->tokens, err, LQ_E_INVALID_ARG, "forward: NULL batch or tokens");
    LQ_FAIL_IF(b->n_tokens < 1 || b->n_tokens > m->n_batch, err, LQ_E_INVALID_ARG,
               "forward: %lld tokens, batch holds 1 .. %lld", (long long)b->n_tokens,
               (long long)m->n_batch);
    LQ_FAIL_IF(b->pos < 0 || b->pos > m->n_past || b->pos > m->n_ctx - b->n_tokens, err,
               LQ_E_INVALID_ARG,
               "forward: positions %lld .. %lld outside the context (%lld filled of %lld)",
               (long long)b->pos, (long long)(b->pos + b->n_tokens - 1), (long long)m->n_past,
               (long long)m->n_ctx);
    LQ_FAIL_IF(b->n_out < 0 || b->n_out > b->n_tokens || (b->n_out > 0 && !b->logits), err,
               LQ_E_INVALID_ARG, "forward: n_out %lld of %lld tokens (logits %s)",
               (long long)b->n_out, (long long)b->n_tokens, b->logits ? "given" : "NULL");
    for (int64_t t = 0; t < b->n_tokens; t++) {
        LQ_FAIL_IF(b->tokens[t] < 0 || b->tokens[t] >= m->hp.n_vocab, err, LQ_E_INVALID_ARG,
                   "forward: token %lld is %d, vocabulary has %lld", (long long)t,
                   (int)b->tokens[t], (long long)m->hp.n_vocab);
    }
    return LQ_OK;
}

/* The one check of every caller's logits (eval, KLD, generate, report, imatrix): a NaN/Inf
 * would turn the metrics into NaN or pick arbitrary tokens, so it stops the run naming the
 * position. LQ_E_RANGE: the model's weights make it overflow (or hold NaN/Inf). */
static lq_status check_logits(const lq_model *m, const struct lq_batch *b, struct lq_error *err)
{
    const int64_t nv = m->hp.n_vocab, n = b->n_out * nv;
    for (int64_t k = 0; k < n; k++) {
        if (!isfinite(b->logits[k])) {
            const int64_t pos = b->pos + b->n_tokens - b->n_out + k / nv;
            return lqi_set_error(err, LQ_E_RANGE,
                                 "%s: logit %lld at position %lld is %s (the weights overflow "
                                 "or hold NaN/Inf)", m->src_name, (long long)(k % nv),
                                 (long long)pos, isnan(b->logits[k]) ? "NaN" : "Inf");
        }
    }
    return LQ_OK;
}

lq_status lq_model_forward(lq_model *m, const struct lq_batch *b, struct lq_error *err)
{
    LQ_FAIL_IF(!m, err, LQ_E_INVALID_ARG, "forward: NULL model");
    LQ_TRY(check_batch(m, b, err));
    struct lqi_state *st = &m->st;
    const int64_t n = b->n_tokens, e = m->hp.n_embd;
    if (m->start_x) {
        memcpy(st->x, m->start_x, (size_t)(n * e) * sizeof(float));
    } else {
        for (int64_t t = 0; t < n; t++) {
            lqi_weight_row(&m->tok_embd, b->tokens[t], st->x + t * e);
        }
        if (m->tr.embd_scale) { /* Gemma: llama.cpp's ggml_scale by sqrtf(n_embd) */
            const float s = sqrtf((float)e);
            for (int64_t k = 0; k < n * e; k++) {
                st->x[k] *= s;
            }
        }
    }
    /* Rows past pos are about to be rewritten: a failure below must not leave them valid. */
    m->n_past = b->pos;
    const int64_t n_run = m->n_layer_run > 0 ? m->n_layer_run : m->hp.n_layer;
    lq_status rc = LQ_OK;
    for (int64_t il = m->first_layer; il < n_run && rc == LQ_OK; il++) {
        rc = attn_block(m, il, n, b->pos, err);
        rc = rc == LQ_OK ? ffn_block(m, il, n, err) : rc;
    }
    if (rc == LQI_STOPPED) {
        return LQ_OK; /* a calibration stop point: the rest of the layer is not wanted */
    }
    LQ_TRY(rc);
    m->n_past = b->pos + n;
    if (b->n_out > 0 && n_run == m->hp.n_layer) {
        const float *last = st->x + (n - b->n_out) * e;
        norm_rows(m, st->xb, last, m->output_norm, b->n_out);
        project(m, b->logits, &m->output, st->xb, b->n_out);
        if (m->hp.final_softcap > 0) {
            lqi_softcap(b->logits, b->n_out * m->hp.n_vocab, m->hp.final_softcap);
        }
        LQ_TRY(check_logits(m, b, err));
    }
    return LQ_OK;
}
