/* forward_attn.c - the KV cache and causal grouped-query attention.
 *
 * K and V are rounded to F16 when stored (llama.cpp's default cache type f16); scores,
 * softmax and the weighted sum of V run in F32 on those rounded values, with the softmax
 * scale 1/sqrt(n_embd_head) applied to each dot product (1 for a family that scaled q). */
#include "forward_impl.h"

#include <math.h>
#include <omp.h>

#include "lq/fp16.h"

/* Writes this batch's K and V rows into layer il's cache at pos (rounding to F16), then
 * expands the cache rows 0 .. n_kv - 1 to F32 for the attention loops. */
static void cache_update(lq_model *m, int64_t il, int64_t n_tok, int64_t pos)
{
    struct lqi_state *st = &m->st;
    const int64_t kv_dim = m->hp.n_head_kv * m->hp.n_embd_head;
    uint16_t *kc = st->kcache + (size_t)il * (size_t)m->n_ctx * (size_t)kv_dim;
    uint16_t *vc = st->vcache + (size_t)il * (size_t)m->n_ctx * (size_t)kv_dim;
    lq_fp32_to_fp16_row(st->k, kc + (size_t)pos * kv_dim, n_tok * kv_dim);
    lq_fp32_to_fp16_row(st->v, vc + (size_t)pos * kv_dim, n_tok * kv_dim);
    const int64_t n_kv = pos + n_tok;
#pragma omp parallel for num_threads(m->n_threads) schedule(static) if (n_kv * kv_dim >= 1 << 16)
    for (int64_t j = 0; j < n_kv; j++) {
        lq_fp16_to_fp32_row(kc + j * kv_dim, st->kf + j * kv_dim, kv_dim);
        lq_fp16_to_fp32_row(vc + j * kv_dim, st->vf + j * kv_dim, kv_dim);
    }
}

/* One query head of one token at position p against cache rows j0 .. p (j0 > 0 on a
 * sliding-window layer: llama.cpp's standard SWA masks keys with p - j >= n_swa). */
static void attend_one(const lq_model *m, const float *q, float *out, int64_t p, int64_t j0,
                       int64_t kvh, float *sc)
{
    const int64_t hd = m->hp.n_embd_head;
    const int64_t kv_dim = m->hp.n_head_kv * hd;
    const float scale = m->kq_scale, cap = m->hp.attn_softcap;
    const float *kf = m->st.kf + kvh * hd;
    const float *vf = m->st.vf + kvh * hd;
    for (int64_t j = j0; j <= p; j++) {
        sc[j - j0] = lqi_dot_f32(q, kf + j * kv_dim, hd) * scale;
    }
    if (cap > 0) { /* Gemma 2: before the softmax (llama.cpp's build_attn_mha) */
        lqi_softcap(sc, p + 1 - j0, cap);
    }
    lqi_softmax(sc, p + 1 - j0);
    for (int64_t d = 0; d < hd; d++) {
        out[d] = 0.0f;
    }
    for (int64_t j = j0; j <= p; j++) {
        lqi_axpy_f32(out, sc[j - j0], vf + j * kv_dim, hd);
    }
}

void lqi_attention(lq_model *m, int64_t il, int64_t n_tok, int64_t pos)
{
    cache_update(m, il, n_tok, pos);
    const struct lq_model_hparams *hp = &m->hp;
    const int64_t q_dim = hp->n_head * hp->n_embd_head;
    const int64_t group = hp->n_head / hp->n_head_kv;
    const int64_t n_pairs = n_tok * hp->n_head;
    struct lqi_state *st = &m->st;
    const bool swa = m->layers[il].swa;
    /* one team only when there is real work (see lqi_matmul) */
    const bool big = (double)n_pairs * (double)(pos + n_tok) * (double)hp->n_embd_head >= 1 << 18;
#pragma omp parallel num_threads(m->n_threads) if (big)
    {
        float *sc = st->scores + (size_t)omp_get_thread_num() * (size_t)m->n_ctx;
#pragma omp for schedule(dynamic, 4)
        for (int64_t i = 0; i < n_pairs; i++) {
            const int64_t t = i / hp->n_head, h = i % hp->n_head;
            const int64_t off = t * q_dim + h * hp->n_embd_head;
            const int64_t p = pos + t;
            const int64_t j0 = swa && p >= hp->n_swa ? p - hp->n_swa + 1 : 0;
            attend_one(m, st->q + off, st->att + off, p, j0, h / group, sc);
        }
    }
}
