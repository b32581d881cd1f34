/* q4_k.c - Q4_K: 4-bit quants in 8 sub-blocks of 32 with 6-bit scales and mins
 * (llama.cpp's quantize_row_q4_K_ref / quantize_row_q4_K_impl, byte for byte). */
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

/* Final quants from the stored scales; byte l of each 32-byte chunk holds element l in its
 * low nibble and element l + 32 in its high nibble. */
static void q4_K_requantize_pack(const float *x, block_q4_K *y, uint8_t L[QK_K])
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
            L[32 * j + ii] = (uint8_t)LQI_MAX(0, LQI_MIN(15, l));
        }
    }
    uint8_t *q = y->qs;
    for (int j = 0; j < QK_K; j += 64) {
        for (int l = 0; l < 32; ++l) {
            q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
        }
        q += 32;
    }
}

/* Sub-block scales and mins with weights av_x + |x| (av_x the sub-block's RMS), then both
 * rounded to 6-bit multiples of their maximum / 63. */
static void q4_K_ref_block(const float *x, block_q4_K *y)
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
        scales[j] = lqi_make_qkx2_quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                         -1.f, 0.1f, 20, false);
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
    q4_K_requantize_pack(x, y, L);
}

void lqi_quantize_row_q4_K_ref(const float *restrict x, void *restrict vy, int64_t k)
{
    assert(k % QK_K == 0);
    block_q4_K *y = vy;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        q4_K_ref_block(x + i * QK_K, &y[i]);
    }
}

/* Importance-weighted block: weights qw * sqrt(sigma2 + x^2) with sigma2 = 2 <x^2>,
 * make_qkx3_quants per sub-block, scales and mins to 6 bits by make_qp_quants. */
static void q4_K_impl_block(const float *x, block_q4_K *y, const float *qw)
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
        scales[j] = lqi_make_qkx3_quants(32, 15, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                         -0.9f, 0.05f, 36, false);
    }
    float d_block = lqi_make_qp_quants(QK_K / 32, 63, scales, Ls, sw);
    float m_block = lqi_make_qp_quants(QK_K / 32, 63, mins, Lm, sw);
    lqi_pack_scale_min_k4(Ls, Lm, y->scales);
    y->d = lq_fp32_to_fp16(d_block);
    y->dmin = lq_fp32_to_fp16(m_block);
    q4_K_requantize_pack(x, y, L);
}

size_t lqi_quantize_q4_K(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix)
{
    assert(n_per_row % QK_K == 0);
    const int64_t nb = n_per_row / QK_K;
    const size_t row_size = (size_t)nb * sizeof(block_q4_K);
    if (!imatrix) {
        lqi_quantize_row_q4_K_ref(src, dst, nrow * n_per_row);
        return (size_t)nrow * row_size;
    }
    block_q4_K *y = dst;
    for (int64_t row = 0; row < nrow; ++row) {
        for (int64_t i = 0; i < nb; ++i) {
            q4_K_impl_block(src + row * n_per_row + i * QK_K, &y[row * nb + i], imatrix + i * QK_K);
        }
    }
    return (size_t)nrow * row_size;
}

// ---- dequantize and validate ------------------------------------------------------------

static void dequantize_row_q4_K_scalar(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_q4_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const uint8_t *q = x[i].qs;
        const float d = lq_fp16_to_fp32(x[i].d);
        const float min = lq_fp16_to_fp32(x[i].dmin);
        for (int is = 0; is < QK_K / 32; is += 2) {
            uint8_t sc, m;
            lqi_get_scale_min_k4(is + 0, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            lqi_get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; ++l) {
                *y++ = d1 * (q[l] & 0xF) - m1;
            }
            for (int l = 0; l < 32; ++l) {
                *y++ = d2 * (q[l] >> 4) - m2;
            }
            q += 32;
        }
    }
}

#if LQI_X86
/* y[0..31] = d * q - m for 32 unsigned quants; mul then sub, never fused, as the scalar. */
LQI_AVX2_NOFMA static inline void dequant32_u8(__m256i q, float d, float m, float *y)
{
    const __m256 vd = _mm256_set1_ps(d), vm = _mm256_set1_ps(m);
    __m128i h[2] = {_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)};
    for (int k = 0; k < 4; ++k) {
        __m128i b = k & 1 ? _mm_srli_si128(h[k / 2], 8) : h[k / 2];
        __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
        _mm256_storeu_ps(y + 8 * k, _mm256_sub_ps(_mm256_mul_ps(vd, f), vm));
    }
}

static LQI_AVX2_NOFMA void dequantize_row_q4_K_avx2(const void *restrict vx, float *restrict y,
                                                    int64_t k)
{
    const block_q4_K *x = vx;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d);
        const float min = lq_fp16_to_fp32(x[i].dmin);
        for (int c = 0; c < 4; ++c) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * c));
            uint8_t sc, m;
            lqi_get_scale_min_k4(2 * c, x[i].scales, &sc, &m);
            dequant32_u8(_mm256_and_si256(v, m4), d * sc, min * m, y);
            lqi_get_scale_min_k4(2 * c + 1, x[i].scales, &sc, &m);
            dequant32_u8(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4), d * sc, min * m, y + 32);
            y += 64;
        }
    }
}

#endif

void lqi_dequantize_row_q4_K(const void *restrict x, float *restrict y, int64_t k)
{
    LQI_SIMD_CALL(dequantize_row_q4_K_avx2, dequantize_row_q4_K_avx2, dequantize_row_q4_K_scalar, x,
                  y, k);
}

bool lqi_validate_q4_K(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_q4_K), offsetof(block_q4_K, d),
                                   offsetof(block_q4_K, dmin));
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: eight int32 lanes per block, the mins through the bsums. */
static void dot_q4_K_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                 const void *restrict vy)
{
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    float sums[8] = {0}, sumf = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        int8_t aux8[QK_K];
        for (int j = 0; j < QK_K / 64; ++j) {
            for (int l = 0; l < 32; ++l) {
                aux8[64 * j + l] = (int8_t)(x[i].qs[32 * j + l] & 0xF);
                aux8[64 * j + 32 + l] = (int8_t)(x[i].qs[32 * j + l] >> 4);
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
LQI_AVX2_NOFMA static inline void q4_K_prep(const block_q4_K *x, const block_q8_K *y,
                                            struct lqi_qk_prep *p)
{
    const __m256i m4 = _mm256_set1_epi8(0xF);
    for (int c = 0; c < 4; ++c) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * c));
        p->q[2 * c] = _mm256_and_si256(v, m4);
        p->q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
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

LQI_QK_DOT_KERNELS(q4_K, block_q4_K, q4_K_prep)
#endif

void lqi_vec_dot_q4_K_q8_K(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y)
{
    LQI_SIMD_CALL(dot_q4_K_q8_K_avx512, dot_q4_K_q8_K_avx2, dot_q4_K_q8_K_scalar, n, s, x, y);
}
