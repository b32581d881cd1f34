/* q5_k.c - Q5_K: 5-bit quants in 8 sub-blocks of 32 with 6-bit scales and mins
 * (llama.cpp's quantize_row_q5_K_ref / quantize_row_q5_K_impl, byte for byte). */
#include <assert.h>
#include <math.h>
#include <stddef.h>

#include "lq/fp16.h"
#include "quants/kquant_common.h"
#include "quants/kquants.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/kquant_simd.h"
#endif

// ---- quantize ---------------------------------------------------------------------------

/* Final quants from the stored scales. The low nibbles pack as in Q4_K; the fifth bit of
 * element 64c + l goes to qh[l % 32] bit 2c (l < 32) or 2c + 1 (l >= 32). */
static void q5_K_requantize_pack(const float *x, block_q5_K *y, uint8_t L[QK_K])
{
    for (int j = 0; j < QK_K / 32; ++j) {
        uint8_t sc, m;
        lqi_get_scale_min_k4(j, y->scales, &sc, &m);
        const float d = lq_fp16_to_fp32(y->d) * sc;
        if (!d) {
            continue;
        }
        const float dm = lq_fp16_to_fp32(y->dmin) * m;
        for (int ii = 0; ii < 32; ++ii) {
            int l = lqi_nearest_int((x[32 * j + ii] + dm) / d);
            L[32 * j + ii] = (uint8_t)LQI_MAX(0, LQI_MIN(31, l));
        }
    }
    uint8_t *ql = y->qs;
    memset(y->qh, 0, QK_K / 8);
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < QK_K; n += 64) {
        for (int j = 0; j < 32; ++j) {
            int l1 = L[n + j], l2 = L[n + j + 32];
            if (l1 > 15) {
                l1 -= 16;
                y->qh[j] |= m1;
            }
            if (l2 > 15) {
                l2 -= 16;
                y->qh[j] |= m2;
            }
            ql[j] = (uint8_t)(l1 | (l2 << 4));
        }
        m1 = (uint8_t)(m1 << 2);
        m2 = (uint8_t)(m2 << 2);
        ql += 32;
    }
}

static void q5_K_ref_block(const float *x, block_q5_K *y)
{
    uint8_t L[QK_K], Laux[32], ls[8], lm[8];
    float weights[32], mins[QK_K / 32], scales[QK_K / 32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; ++j) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; ++l) {
            sum_x2 += x[32 * j + l] * x[32 * j + l];
        }
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; ++l) {
            weights[l] = av_x + fabsf(x[32 * j + l]);
        }
        scales[j] = lqi_make_qkx2_quants(32, 31, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                         -0.5f, 0.1f, 15, false);
        max_scale = scales[j] > max_scale ? scales[j] : max_scale;
        max_min = mins[j] > max_min ? mins[j] : max_min;
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < QK_K / 32; ++j) {
        ls[j] = (uint8_t)lqi_nearest_int(inv_scale * scales[j]);
        lm[j] = (uint8_t)lqi_nearest_int(inv_min * mins[j]);
        ls[j] = LQI_MIN(63, ls[j]);
        lm[j] = LQI_MIN(63, lm[j]);
    }
    lqi_pack_scale_min_k4(ls, lm, y->scales);
    y->d = lq_fp32_to_fp16(max_scale / 63.f);
    y->dmin = lq_fp32_to_fp16(max_min / 63.f);
    q5_K_requantize_pack(x, y, L);
}

void lqi_quantize_row_q5_K_ref(const float *restrict x, void *restrict vy, int64_t k)
{
    assert(k % QK_K == 0);
    block_q5_K *y = vy;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        q5_K_ref_block(x + i * QK_K, &y[i]);
    }
}

/* Importance-weighted block, as Q4_K's with 31 levels; unlike Q4_K, ggml clamps the packed
 * scale and min to 63 here. */
static void q5_K_impl_block(const float *x, block_q5_K *y, const float *qw)
{
    uint8_t L[QK_K], Laux[32], Ls[QK_K / 32], Lm[QK_K / 32];
    float weights[32], sw[QK_K / 32], mins[QK_K / 32], scales[QK_K / 32];
    const float sigma2 = 2 * lqi_sum_x2_qk(x) / QK_K;
    for (int j = 0; j < QK_K / 32; ++j) {
        for (int l = 0; l < 32; ++l) {
            weights[l] = qw[32 * j + l] * sqrtf(sigma2 + x[32 * j + l] * x[32 * j + l]);
        }
        float sumw = 0;
        for (int l = 0; l < 32; ++l) {
            sumw += weights[l];
        }
        sw[j] = sumw;
        scales[j] = lqi_make_qkx3_quants(32, 31, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                         -0.9f, 0.05f, 36, false);
    }
    float d_block = lqi_make_qp_quants(QK_K / 32, 63, scales, Ls, sw);
    float m_block = lqi_make_qp_quants(QK_K / 32, 63, mins, Lm, sw);
    for (int j = 0; j < QK_K / 32; ++j) {
        Ls[j] = LQI_MIN(63, Ls[j]);
        Lm[j] = LQI_MIN(63, Lm[j]);
    }
    lqi_pack_scale_min_k4(Ls, Lm, y->scales);
    y->d = lq_fp32_to_fp16(d_block);
    y->dmin = lq_fp32_to_fp16(m_block);
    q5_K_requantize_pack(x, y, L);
}

size_t lqi_quantize_q5_K(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix)
{
    assert(n_per_row % QK_K == 0);
    const int64_t nb = n_per_row / QK_K;
    const size_t row_size = (size_t)nb * sizeof(block_q5_K);
    if (!imatrix) {
        lqi_quantize_row_q5_K_ref(src, dst, nrow * n_per_row);
        return (size_t)nrow * row_size;
    }
    block_q5_K *y = dst;
    for (int64_t row = 0; row < nrow; ++row) {
        for (int64_t i = 0; i < nb; ++i) {
            q5_K_impl_block(src + row * n_per_row + i * QK_K, &y[row * nb + i], imatrix + i * QK_K);
        }
    }
    return (size_t)nrow * row_size;
}

// ---- dequantize and validate ------------------------------------------------------------

void lqi_dequantize_row_q5_K(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_q5_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        const float d = lq_fp16_to_fp32(x[i].d);
        const float min = lq_fp16_to_fp32(x[i].dmin);
        uint8_t u1 = 1, u2 = 2;
        for (int is = 0; is < QK_K / 32; is += 2) {
            uint8_t sc, m;
            lqi_get_scale_min_k4(is + 0, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            lqi_get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; ++l) {
                *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            }
            for (int l = 0; l < 32; ++l) {
                *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            }
            ql += 32;
            u1 = (uint8_t)(u1 << 2);
            u2 = (uint8_t)(u2 << 2);
        }
    }
}

bool lqi_validate_q5_K(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_q5_K), offsetof(block_q5_K, d),
                                   offsetof(block_q5_K, dmin));
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: eight int32 lanes per block, the mins through the bsums. */
static void dot_q5_K_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                 const void *restrict vy)
{
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    float sums[8] = {0}, sumf = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        int8_t aux8[QK_K];
        for (int j = 0; j < QK_K / 64; ++j) {
            for (int l = 0; l < 32; ++l) {
                uint8_t q = x[i].qs[32 * j + l], h = x[i].qh[l];
                aux8[64 * j + l] = (int8_t)((q & 0xF) + (h & (1u << (2 * j)) ? 16 : 0));
                aux8[64 * j + 32 + l] = (int8_t)((q >> 4) + (h & (2u << (2 * j)) ? 16 : 0));
            }
        }
        uint8_t sc[8], mn[8];
        for (int j = 0; j < 8; ++j) {
            lqi_get_scale_min_k4(j, x[i].scales, &sc[j], &mn[j]);
        }
        int sumi = 0;
        for (int j = 0; j < QK_K / 16; ++j) {
            sumi += y[i].bsums[j] * mn[j / 2];
        }
        int32_t aux32[8] = {0};
        for (int j = 0; j < QK_K / 8; ++j) {
            for (int l = 0; l < 8; ++l) {
                aux32[l] += sc[j / 4] * (int16_t)(y[i].qs[8 * j + l] * aux8[8 * j + l]);
            }
        }
        const float d = lq_fp16_to_fp32(x[i].d) * y[i].d;
        for (int l = 0; l < 8; ++l) {
            sums[l] += d * aux32[l];
        }
        const float dmin = lq_fp16_to_fp32(x[i].dmin) * y[i].d;
        sumf -= dmin * sumi;
    }
    for (int l = 0; l < 8; ++l) {
        sumf += sums[l];
    }
    *s = sumf;
}

#if LQI_X86
LQI_AVX2_NOFMA static inline void q5_K_prep(const block_q5_K *x, const block_q8_K *y,
                                            struct lqi_qk_prep *p)
{
    const __m256i m4 = _mm256_set1_epi8(0xF), sixteen = _mm256_set1_epi8(16);
    const __m256i hm = _mm256_loadu_si256((const __m256i *)x->qh);
    for (int g = 0; g < 8; ++g) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * (g / 2)));
        __m256i lo =
            g & 1 ? _mm256_and_si256(_mm256_srli_epi16(v, 4), m4) : _mm256_and_si256(v, m4);
        __m256i bit = _mm256_set1_epi8((char)(1u << g));
        __m256i h = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit);
        p->q[g] = _mm256_or_si256(lo, _mm256_and_si256(h, sixteen));
    }
    int summ = 0;
    for (int g = 0; g < 8; ++g) {
        uint8_t sc, m;
        lqi_get_scale_min_k4(g, x->scales, &sc, &m);
        p->sc16[2 * g] = p->sc16[2 * g + 1] = sc;
        summ += m * (y->bsums[2 * g] + y->bsums[2 * g + 1]);
    }
    p->d = lq_fp16_to_fp32(x->d) * y->d;
    p->off = lq_fp16_to_fp32(x->dmin) * y->d * (float)summ;
}

LQI_QK_DOT_KERNELS(q5_K, block_q5_K, q5_K_prep)
#endif

void lqi_vec_dot_q5_K_q8_K(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y)
{
    LQI_SIMD_CALL(dot_q5_K_q8_K_avx512, dot_q5_K_q8_K_avx2, dot_q5_K_q8_K_scalar, n, s, x, y);
}
