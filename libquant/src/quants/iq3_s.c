/* iq3_s.c - IQ3_S: groups of 4 magnitudes on a 512-point grid, one sign bit per value, a
 * 4-bit scale per 32 and an fp16 per 256 (3.4375 bits per weight). Quantization is
 * llama.cpp's quantize_row_iq3_s_impl, byte for byte, with or without weights. */
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

// ---- quantize ---------------------------------------------------------------------------

/* Magnitudes of 8 values and their minus signs (bit i for value i). */
static uint8_t split_signs(const float *x, float *xval)
{
    unsigned s = 0;
    for (int i = 0; i < 8; ++i) {
        if (x[i] >= 0) {
            xval[i] = x[i];
        } else {
            xval[i] = -x[i];
            s |= 1u << i;
        }
    }
    return (uint8_t)s;
}

/* llama.cpp advances its index and sign cursors only past sub-blocks that are not all zero,
 * so the ones after an all-zero sub-block land early in qs and signs (qh and the scales keep
 * their places). The bytes are the format's as files hold them, so this is kept. */
static void iq3_s_block(const float *x, void *vy, const float *qw)
{
    block_iq3_s *y = vy;
    const struct lqi_iq3_search search = {
        .grid = lqi_iq3_grid(512), .n_steps = 9, .start_on_grid = false, .refit_all = true};
    memset(y, 0, sizeof *y);
    y->d = lq_fp32_to_fp16(0.f);
    uint8_t *qs = y->qs, *signs = y->signs;
    float scales[QK_K / 32], weight[32], waux[32], xval[32];
    float sumx2 = 0;
    for (int i = 0; i < QK_K; ++i) {
        sumx2 += x[i] * x[i];
    }
    const float sigma2 = 2 * sumx2 / QK_K;
    float max_scale = 0;
    for (int ib = 0; ib < QK_K / 32; ++ib) {
        const float *xb = x + 32 * ib;
        for (int i = 0; i < 32; ++i) {
            weight[i] = qw ? qw[32 * ib + i] * sqrtf(sigma2 + xb[i] * xb[i]) : xb[i] * xb[i];
        }
        for (int i = 0; i < 32; ++i) {
            waux[i] = sqrtf(weight[i]);
        }
        uint8_t bsigns[4];
        for (int k = 0; k < 4; ++k) {
            bsigns[k] = split_signs(xb + 8 * k, xval + 8 * k);
        }
        float max = xval[0];
        for (int i = 1; i < 32; ++i) {
            max = LQI_MAX(max, xval[i]);
        }
        if (!max) {
            scales[ib] = 0;
            continue;
        }
        uint16_t idx[8];
        float scale = lqi_iq3_search_block(&search, xval, weight, waux, idx);
        if (scale < 0) { /* never seen; kept as llama.cpp has it */
            scale = -scale;
            for (int k = 0; k < 4; ++k) {
                bsigns[k] = (uint8_t)~bsigns[k];
            }
        }
        for (int k = 0; k < 8; ++k) {
            qs[k] = (uint8_t)(idx[k] & 255);
            y->qh[ib] |= (uint8_t)((idx[k] >> 8) << k);
        }
        qs += 8;
        memcpy(signs, bsigns, 4);
        signs += 4;
        scales[ib] = scale;
        max_scale = LQI_MAX(max_scale, scale);
    }
    if (!max_scale) {
        return;
    }
    const float d = max_scale / 31;
    y->d = lq_fp32_to_fp16(d * 1.033f); /* llama.cpp's fudge factor */
    const float id = 1 / d;
    for (int ib = 0; ib < QK_K / 32; ib += 2) {
        int l1 = lqi_nearest_int(0.5f * (id * scales[ib + 0] - 1));
        int l2 = lqi_nearest_int(0.5f * (id * scales[ib + 1] - 1));
        l1 = LQI_MAX(0, LQI_MIN(15, l1));
        l2 = LQI_MAX(0, LQI_MIN(15, l2));
        y->scales[ib / 2] = (uint8_t)(l1 | (l2 << 4));
    }
}

void lqi_quantize_row_iq3_s_ref(const float *restrict x, void *restrict y, int64_t k)
{
    lqi_qk_quantize_ref(iq3_s_block, sizeof(block_iq3_s), x, y, k);
}

size_t lqi_quantize_iq3_s(const float *restrict src, void *restrict dst, int64_t nrow,
                          int64_t n_per_row, const float *imatrix)
{
    return lqi_qk_quantize_rows(iq3_s_block, iq3_s_block, sizeof(block_iq3_s), src, dst, nrow,
                                n_per_row, imatrix);
}

// ---- dequantize and validate ------------------------------------------------------------

/* Odd 4-bit scale 2s + 1 of sub-block ib. */
static int scale_of(const block_iq3_s *x, int ib)
{
    return 1 + 2 * ((x->scales[ib / 2] >> 4 * (ib % 2)) & 0xf);
}

/* Grid index of group g (0..63): 8 bits from qs, the ninth from qh. */
static uint16_t index_of(const block_iq3_s *x, int g)
{
    return (uint16_t)(x->qs[g] | (((x->qh[g / 8] >> (g % 8)) & 1) << 8));
}

/* Sub-block ib's 32 signed values. */
static void sub_block(const block_iq3_s *x, const uint32_t *values, int ib, int8_t v[32])
{
    uint16_t idx[8];
    for (int g = 0; g < 8; ++g) {
        idx[g] = index_of(x, 8 * ib + g);
    }
    lqi_iq3_signed32(values, idx, x->signs + 4 * ib, v);
}

/* db * v is db * |v| negated: the same float as ggml's db * grid * -1. */
static void dequantize_iq3_s_scalar(const void *restrict vx, float *restrict y, int64_t k)
{
    const block_iq3_s *x = vx;
    const uint32_t *values = lqi_iq3_grid(512)->values;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d);
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            int8_t v[32];
            sub_block(&x[i], values, ib, v);
            const float db = d * scale_of(&x[i], ib);
            for (int j = 0; j < 32; ++j) {
                *y++ = db * v[j];
            }
        }
    }
}

bool lqi_validate_iq3_s(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_iq3_s), offsetof(block_iq3_s, d), -1);
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: integer sums per sub-block times its odd scale, the block's total
 * times d. */
static void dot_iq3_s_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                  const void *restrict vy)
{
    const block_iq3_s *x = vx;
    const block_q8_K *y = vy;
    const uint32_t *values = lqi_iq3_grid(512)->values;
    float sumf = 0.f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d) * y[i].d;
        int32_t bsum = 0;
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            int8_t v[32];
            sub_block(&x[i], values, ib, v);
            int32_t sumi = 0;
            for (int j = 0; j < 32; ++j) {
                sumi += v[j] * y[i].qs[32 * ib + j];
            }
            bsum += sumi * scale_of(&x[i], ib);
        }
        sumf += d * bsum;
    }
    *s = sumf;
}

#if LQI_X86
/* The weight side once per block: values + 64 and the scales. */
static inline LQI_AVX2 void iq3_s_unpack(const block_iq3_s *x, struct lqi_qk_prep *p)
{
    const uint32_t *values = lqi_iq3_grid(512)->values;
    const __m256i shifts = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    int16_t sc16[16];
    for (int ib = 0; ib < QK_K / 32; ++ib) {
        const __m256i lo = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(x->qs + 8 * ib)));
        const __m256i hi = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(x->qh[ib]), shifts),
                                            _mm256_set1_epi32(1));
        const __m256i idx = _mm256_or_si256(lo, _mm256_slli_epi32(hi, 8));
        p->q[ib] = lqi_iq3_biased32(values, idx, x->signs + 4 * ib);
        sc16[2 * ib] = sc16[2 * ib + 1] = (int16_t)scale_of(x, ib);
    }
    lqi_qk_biased_scales(sc16, LQI_IQ3_BIAS, lq_fp16_to_fp32(x->d), p);
}

LQI_QK_BIASED_DOT_KERNELS(iq3_s, block_iq3_s, iq3_s_unpack)

/* The dot's unpacking, less the bias, times the same db as the scalar path: the same floats. */
static LQI_AVX2 void dequantize_iq3_s_avx2(const void *restrict vx, float *restrict y, int64_t k)
{
    const block_iq3_s *x = vx;
    const __m256i bias = _mm256_set1_epi8(LQI_IQ3_BIAS);
    for (int64_t i = 0; i < k / QK_K; ++i) {
        struct lqi_qk_prep p;
        iq3_s_unpack(&x[i], &p);
        const float d = lq_fp16_to_fp32(x[i].d);
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            const float db = d * scale_of(&x[i], ib);
            lqi_store_i8_scaled(_mm256_sub_epi8(p.q[ib], bias), db, y + QK_K * i + 32 * ib);
        }
    }
}
#endif

LQI_QK_DOT_ENTRY_POINTS(iq3_s)

void lqi_dequantize_row_iq3_s(const void *restrict x, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    LQI_SIMD_CALL(dequantize_iq3_s_avx2, dequantize_iq3_s_avx2, dequantize_iq3_s_scalar, x, y, k);
}
