/* iq3_xxs.c - IQ3_XXS: groups of 4 magnitudes on a 256-point grid, 7 stored sign bits per 8
 * values, a 4-bit scale per 32 and an fp16 per 256 (3.0625 bits per weight). Quantization
 * is llama.cpp's quantize_row_iq3_xxs_impl, byte for byte, with or without weights. */
#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "lq/fp16.h"
#include "quants/dot_multi.h"
#include "quants/iq3.h"
#include "quants/kquant_common.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/iq3_simd.h"
#endif

#define IQ3_XXS_EPS 1e-8f /* sub-blocks whose largest magnitude is below this are zero */

// ---- quantize ---------------------------------------------------------------------------

/* Magnitudes of 8 values and their minus signs; with an odd count, the value whose
 * weighted square is least takes the wrong sign, so that the eighth bit is implied. */
static uint8_t even_signs(const float *x, const float *weight, float *xval)
{
    int nflip = 0;
    unsigned s = 0;
    for (int i = 0; i < 8; ++i) {
        if (x[i] >= 0) {
            xval[i] = x[i];
        } else {
            xval[i] = -x[i];
            ++nflip;
            s |= 1u << i;
        }
    }
    if (nflip % 2) {
        int imin = 0;
        float min = weight[0] * x[0] * x[0];
        for (int i = 1; i < 8; ++i) {
            float ax = weight[i] * x[i] * x[i];
            if (ax < min) {
                min = ax;
                imin = i;
            }
        }
        xval[imin] = -xval[imin];
        s ^= 1u << imin;
    }
    return (uint8_t)(s & 127);
}

/* Importance weights of a sub-block: qw * sqrt(sigma2 + x^2), or x^2 without qw. */
static void sub_weights(const float *xb, const float *qw, float sigma2, float *weight, float *waux)
{
    for (int i = 0; i < 32; ++i) {
        weight[i] = qw ? qw[i] * sqrtf(sigma2 + xb[i] * xb[i]) : xb[i] * xb[i];
    }
    for (int i = 0; i < 32; ++i) {
        waux[i] = sqrtf(weight[i]);
    }
}

static void iq3_xxs_block(const float *x, void *vy, const float *qw)
{
    block_iq3_xxs *y = vy;
    const struct lqi_iq3_search search = {
        .grid = lqi_iq3_grid(256), .n_steps = 15, .start_on_grid = true, .refit_all = false};
    uint8_t q3[3 * QK_K / 8];
    uint32_t signs_scale[QK_K / 32] = {0};
    float scales[QK_K / 32], weight[32], waux[32], xval[32];
    memset(q3, 0, sizeof q3);
    y->d = lq_fp32_to_fp16(0.f);
    float sumx2 = 0;
    for (int i = 0; i < QK_K; ++i) {
        sumx2 += x[i] * x[i];
    }
    const float sigma2 = 2 * sumx2 / QK_K;
    float max_scale = 0;
    for (int ib = 0; ib < QK_K / 32; ++ib) {
        const float *xb = x + 32 * ib;
        sub_weights(xb, qw ? qw + 32 * ib : NULL, sigma2, weight, waux);
        uint8_t signs[4];
        for (int k = 0; k < 4; ++k) {
            signs[k] = even_signs(xb + 8 * k, weight + 8 * k, xval + 8 * k);
        }
        float max = xval[0];
        for (int i = 1; i < 32; ++i) {
            max = LQI_MAX(max, xval[i]);
        }
        if (max < IQ3_XXS_EPS) {
            scales[ib] = 0;
            continue;
        }
        uint16_t idx[8];
        float scale = lqi_iq3_search_block(&search, xval, weight, waux, idx);
        if (scale < 0) { /* never seen; kept as llama.cpp has it */
            scale = -scale;
            for (int k = 0; k < 4; ++k) {
                signs[k] = (uint8_t)(~signs[k] & 127);
            }
        }
        for (int k = 0; k < 8; ++k) {
            q3[8 * ib + k] = (uint8_t)idx[k];
        }
        signs_scale[ib] = (uint32_t)signs[0] | (uint32_t)signs[1] << 7 | (uint32_t)signs[2] << 14 |
                          (uint32_t)signs[3] << 21;
        scales[ib] = scale;
        max_scale = LQI_MAX(max_scale, scale);
    }
    if (!max_scale) {
        memset(y->qs, 0, sizeof y->qs);
        return;
    }
    const float d = max_scale / 31;
    y->d = lq_fp32_to_fp16(d * 1.0125f); /* llama.cpp's fudge factor */
    const float id = 1 / d;
    for (int ib = 0; ib < QK_K / 32; ++ib) {
        int l = lqi_nearest_int(0.5f * (id * scales[ib] - 1));
        signs_scale[ib] |= (uint32_t)LQI_MAX(0, LQI_MIN(15, l)) << 28;
        for (int b = 0; b < 4; ++b) {
            q3[QK_K / 4 + 4 * ib + b] = (uint8_t)(signs_scale[ib] >> 8 * b);
        }
    }
    memcpy(y->qs, q3, sizeof q3);
}

void lqi_quantize_row_iq3_xxs_ref(const float *restrict x, void *restrict y, int64_t k)
{
    lqi_qk_quantize_ref(iq3_xxs_block, sizeof(block_iq3_xxs), x, y, k);
}

size_t lqi_quantize_iq3_xxs(const float *restrict src, void *restrict dst, int64_t nrow,
                            int64_t n_per_row, const float *imatrix)
{
    return lqi_qk_quantize_rows(iq3_xxs_block, iq3_xxs_block, sizeof(block_iq3_xxs), src, dst, nrow,
                                n_per_row, imatrix);
}

// ---- dequantize and validate ------------------------------------------------------------

/* The word of sub-block ib: four 7-bit sign groups and the 4-bit scale on top. */
static uint32_t signs_scale_of(const block_iq3_xxs *x, int ib)
{
    const uint8_t *p = x->qs + QK_K / 4 + 4 * ib;
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Sub-block ib's 32 signed values and its word (signs and scale). */
static uint32_t sub_block(const block_iq3_xxs *x, const uint32_t *values, int ib, int8_t v[32])
{
    const uint32_t aux = signs_scale_of(x, ib);
    uint8_t signs[4];
    uint16_t idx[8];
    for (int l = 0; l < 4; ++l) {
        signs[l] = lqi_iq3_signs7((aux >> 7 * l) & 127);
    }
    for (int g = 0; g < 8; ++g) {
        idx[g] = x->qs[8 * ib + g];
    }
    lqi_iq3_signed32(values, idx, signs, v);
    return aux;
}

/* db * v is db * |v| negated: the same float as ggml's db * grid * -1. */
static void dequantize_iq3_xxs_scalar(const void *restrict vx, float *restrict y, int64_t k)
{
    const block_iq3_xxs *x = vx;
    const uint32_t *values = lqi_iq3_grid(256)->values;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d);
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            int8_t v[32];
            const uint32_t aux = sub_block(&x[i], values, ib, v);
            const float db = d * (0.5f + (aux >> 28)) * 0.5f;
            for (int j = 0; j < 32; ++j) {
                *y++ = db * v[j];
            }
        }
    }
}

bool lqi_validate_iq3_xxs(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_iq3_xxs), offsetof(block_iq3_xxs, d),
                                   -1);
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: integer sums per sub-block times its odd scale 2s + 1, the block's
 * total times d, and the factor 1/4 (the scale's 0.5 steps and dequantize's 0.5) at the end. */
static void dot_iq3_xxs_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                    const void *restrict vy)
{
    const block_iq3_xxs *x = vx;
    const block_q8_K *y = vy;
    const uint32_t *values = lqi_iq3_grid(256)->values;
    float sumf = 0.f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d) * y[i].d;
        int32_t bsum = 0;
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            int8_t v[32];
            const uint32_t aux = sub_block(&x[i], values, ib, v);
            int32_t sumi = 0;
            for (int j = 0; j < 32; ++j) {
                sumi += v[j] * y[i].qs[32 * ib + j];
            }
            bsum += sumi * (int32_t)(2 * (aux >> 28) + 1);
        }
        sumf += d * bsum;
    }
    *s = 0.25f * sumf;
}

#if LQI_X86
/* The weight side once per block: values + 64 and the scales; the 1/4 goes into xd (exact). */
static inline LQI_AVX2 void iq3_xxs_unpack(const block_iq3_xxs *x, struct lqi_qk_prep *p)
{
    const struct lqi_iq3_grid *g = lqi_iq3_grid(256);
    int16_t sc16[16];
    for (int ib = 0; ib < QK_K / 32; ++ib) {
        const uint32_t aux = signs_scale_of(x, ib);
        const __m256i neg = _mm256_setr_epi64x((long long)g->sign_masks[aux & 127],
                                               (long long)g->sign_masks[(aux >> 7) & 127],
                                               (long long)g->sign_masks[(aux >> 14) & 127],
                                               (long long)g->sign_masks[(aux >> 21) & 127]);
        const __m256i idx =
            _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(x->qs + 8 * ib)));
        p->q[ib] = lqi_iq3_biased32_masked(g->values, idx, neg);
        sc16[2 * ib] = sc16[2 * ib + 1] = (int16_t)(2 * (aux >> 28) + 1);
    }
    lqi_qk_biased_scales(sc16, LQI_IQ3_BIAS, 0.25f * lq_fp16_to_fp32(x->d), p);
}

LQI_QK_BIASED_DOT_KERNELS(iq3_xxs, block_iq3_xxs, iq3_xxs_unpack)

/* The dot's unpacking, less the bias, times the same db as the scalar path: the same floats. */
static LQI_AVX2 void dequantize_iq3_xxs_avx2(const void *restrict vx, float *restrict y, int64_t k)
{
    const block_iq3_xxs *x = vx;
    const __m256i bias = _mm256_set1_epi8(LQI_IQ3_BIAS);
    for (int64_t i = 0; i < k / QK_K; ++i) {
        struct lqi_qk_prep p;
        iq3_xxs_unpack(&x[i], &p);
        const float d = lq_fp16_to_fp32(x[i].d);
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            const float db = d * (0.5f + (signs_scale_of(&x[i], ib) >> 28)) * 0.5f;
            lqi_store_i8_scaled(_mm256_sub_epi8(p.q[ib], bias), db, y + QK_K * i + 32 * ib);
        }
    }
}
#endif

LQI_QK_DOT_ENTRY_POINTS(iq3_xxs)

void lqi_dequantize_row_iq3_xxs(const void *restrict x, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    LQI_SIMD_CALL(dequantize_iq3_xxs_avx2, dequantize_iq3_xxs_avx2, dequantize_iq3_xxs_scalar, x, y,
                  k);
}
