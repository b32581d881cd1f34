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
 * expands the cache rows 0 .. n_kv - 1 to F32 for the attention loops: V as stored (row j,
 * kv_dim), K transposed (st->kf[c * n_ctx + j] for column c < kv_dim), so that one vector
 * load brings one dimension of consecutive keys. */
static void cache_update(lq_model *m, int64_t il, int64_t n_tok, int64_t pos)
{
    struct lqi_state *st = &m->st;
    const int64_t kv_dim = m->hp.n_head_kv * m->hp.n_embd_head, n_ctx = m->n_ctx;
    uint16_t *kc = st->kcache + (size_t)il * (size_t)n_ctx * (size_t)kv_dim;
    uint16_t *vc = st->vcache + (size_t)il * (size_t)n_ctx * (size_t)kv_dim;
    lq_fp32_to_fp16_row(st->k, kc + (size_t)pos * kv_dim, n_tok * kv_dim);
    lq_fp32_to_fp16_row(st->v, vc + (size_t)pos * kv_dim, n_tok * kv_dim);
    const int64_t n_kv = pos + n_tok;
    lq_fp16_to_fp32_row(vc, st->vf, n_kv * kv_dim);
    enum { JB = 64 }; /* keys per transposed block */
#pragma omp parallel for num_threads(m->n_threads) schedule(static) if (n_kv * kv_dim >= 1 << 16)
    for (int64_t j0 = 0; j0 < n_kv; j0 += JB) {
        float rows[JB * 8];
        const int64_t nj = n_kv - j0 < JB ? n_kv - j0 : JB;
        for (int64_t c0 = 0; c0 < kv_dim; c0 += 8) {
            const int64_t nc = kv_dim - c0 < 8 ? kv_dim - c0 : 8;
            for (int64_t j = 0; j < nj; j++) {
                lq_fp16_to_fp32_row(kc + (j0 + j) * kv_dim + c0, rows + j * 8, nc);
            }
            for (int64_t c = 0; c < nc; c++) {
                for (int64_t j = 0; j < nj; j++) {
                    st->kf[(c0 + c) * n_ctx + j0 + j] = rows[j * 8 + c];
                }
            }
        }
    }
}

/* The query heads of one token at position p that share KV head kvh (q, out: the first
 * head's vectors, the others following) against cache rows j0 .. p (j0 > 0 on a
 * sliding-window layer: llama.cpp's standard SWA masks keys with p - j >= n_swa). sc holds
 * n_ctx scores per head. */
static void attend_group(const lq_model *m, const float *q, float *out, int64_t p, int64_t j0,
                         int64_t kvh, float *sc, enum lq_simd_level level)
{
    const int64_t hd = m->hp.n_embd_head, n_ctx = m->n_ctx, g = m->hp.n_head / m->hp.n_head_kv;
    const int64_t kv_dim = m->hp.n_head_kv * hd, n = p + 1 - j0;
    const float scale = m->kq_scale, cap = m->hp.attn_softcap;
    const float *kt = m->st.kf + kvh * hd * n_ctx;
    const float *vf = m->st.vf + kvh * hd + j0 * kv_dim;
    if (!lqi_attn_scores_simd(sc, n_ctx, q, g, kt, n_ctx, hd, j0, p + 1, level)) {
        for (int64_t h = 0; h < g; h++) {
            for (int64_t j = j0; j <= p; j++) {
                float a = 0.0f;
                for (int64_t d = 0; d < hd; d++) {
                    a += q[h * hd + d] * kt[d * n_ctx + j];
                }
                sc[h * n_ctx + j - j0] = a;
            }
        }
    }
    for (int64_t h = 0; h < g; h++) {
        float *s = sc + h * n_ctx;
        for (int64_t j = 0; j < n; j++) {
            s[j] *= scale;
        }
        if (cap > 0) { /* Gemma 2: before the softmax (llama.cpp's build_attn_mha) */
            lqi_softcap(s, n, cap);
        }
        if (!lqi_attn_softmax_simd(s, n, level)) {
            lqi_softmax(s, n);
        }
    }
    if (lqi_attn_values_simd(out, sc, n_ctx, g, vf, kv_dim, hd, n, level)) {
        return;
    }
    for (int64_t h = 0; h < g; h++) {
        for (int64_t d = 0; d < hd; d++) {
            out[h * hd + d] = 0.0f;
        }
        for (int64_t j = 0; j < n; j++) {
            lqi_axpy_f32(out + h * hd, sc[h * n_ctx + j], vf + j * kv_dim, hd);
        }
    }
}

void lqi_attention(lq_model *m, int64_t il, int64_t n_tok, int64_t pos)
{
    cache_update(m, il, n_tok, pos);
    const struct lq_model_hparams *hp = &m->hp;
    const int64_t q_dim = hp->n_head * hp->n_embd_head;
    const int64_t group = hp->n_head / hp->n_head_kv;
    const int64_t n_pairs = n_tok * hp->n_head_kv;
    struct lqi_state *st = &m->st;
    const bool swa = m->layers[il].swa;
    const enum lq_simd_level level = lq_simd_level_get();
    /* one team only when there is real work (see lqi_matmul) */
    const bool big = (double)n_tok * (double)hp->n_head * (double)(pos + n_tok) *
                         (double)hp->n_embd_head >= 1 << 18;
#pragma omp parallel num_threads(m->n_threads) if (big)
    {
        float *sc = st->scores + (size_t)omp_get_thread_num() * (size_t)(group * m->n_ctx);
#pragma omp for schedule(dynamic, 4)
        for (int64_t i = 0; i < n_pairs; i++) {
            const int64_t t = i / hp->n_head_kv, g = i % hp->n_head_kv;
            const int64_t off = t * q_dim + g * group * hp->n_embd_head;
            const int64_t p = pos + t;
            const int64_t j0 = swa && p >= hp->n_swa ? p - hp->n_swa + 1 : 0;
            attend_group(m, st->q + off, st->att + off, p, j0, g, sc, level);
        }
    }
}
