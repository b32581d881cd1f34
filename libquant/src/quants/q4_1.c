/* q4_1.c - Q4_1: 32 weights as 4-bit quants q with x ~ d * q + m, fp16 scale d and minimum m
 * (5 bits per weight). The affine form suits one-sided blocks better than Q4_0. */
#include "quants/legacy.h"

#include <float.h>
#include <math.h>

#include "lq/fp16.h"
#include "quants/dot_multi.h"
#include "quants/quant_common.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/legacy_simd.h"
#endif

// ---- reference quantizer ----------------------------------------------------------------

/* Quantizes one block given its range; x0 + 0.5 truncated rounds half up. */
static void q4_1_block(const float *restrict x, float min, float max, block_q4_1 *restrict y)
{
    const float d = (max - min) / ((1 << 4) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    y->d = lq_fp32_to_fp16(d);
    y->m = lq_fp32_to_fp16(min);
    for (int j = 0; j < QK4_1 / 2; ++j) {
        const uint8_t xi0 = (uint8_t)LQI_MIN(15, lqi_f2i8((x[j] - min) * id + 0.5f));
        const uint8_t xi1 = (uint8_t)LQI_MIN(15, lqi_f2i8((x[j + 16] - min) * id + 0.5f));
        y->qs[j] = (uint8_t)(xi0 | (xi1 << 4));
    }
}

void lqi_quantize_row_q4_1_ref(const float *restrict x, void *restrict vy, int64_t k)
{
    block_q4_1 *restrict y = vy;
    const int64_t nb = k / QK4_1;
    for (int64_t i = 0; i < nb; i++, x += QK4_1) {
        float min = FLT_MAX;
        float max = -FLT_MAX;
        for (int j = 0; j < QK4_1; j++) {
            if (x[j] < min) {
                min = x[j];
            }
            if (x[j] > max) {
                max = x[j];
            }
        }
        q4_1_block(x, min, max, &y[i]);
    }
}

// ---- importance-weighted quantizer ------------------------------------------------------

/* llama.cpp's quantize_row_q4_1_impl: make_qkx3_quants over 37 trial scales with weights
 * qw[j] * sqrt(sigma2 + x[j]^2). */
static void q4_1_row_impl(const float *restrict x, void *restrict vy, int64_t n_per_row,
                          const float *restrict qw)
{
    block_q4_1 *restrict y = vy;
    float weight[QK4_1];
    uint8_t L[QK4_1], Laux[QK4_1];
    const float sigma2 = lqi_row_sigma2(x, n_per_row);
    for (int64_t ib = 0; ib < n_per_row / QK4_1; ++ib) {
        const float *xb = x + QK4_1 * ib;
        lqi_block_weights(xb, qw + QK4_1 * ib, sigma2, QK4_1, weight);
        float min;
        float d =
            lqi_make_qkx3_quants(QK4_1, 15, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
        y[ib].d = lq_fp32_to_fp16(d);
        y[ib].m = lq_fp32_to_fp16(-min);
        for (int j = 0; j < 16; ++j) {
            y[ib].qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
        }
    }
}

size_t lqi_quantize_q4_1(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix)
{
    size_t row_size = (size_t)(n_per_row / QK4_1) * sizeof(block_q4_1);
    return lqi_quantize_rows_impl(lqi_quantize_row_q4_1_ref, q4_1_row_impl, row_size, src, dst,
                                  nrow, n_per_row, imatrix);
}

bool lqi_validate_q4_1(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_q4_1), 0, 2);
}

// ---- scalar dequantize and dot ----------------------------------------------------------

static void dequantize_q4_1_scalar(const block_q4_1 *restrict x, float *restrict y, int64_t k)
{
    for (int64_t i = 0; i < k / QK4_1; i++) {
        const float d = lq_fp16_to_fp32(x[i].d);
        const float m = lq_fp16_to_fp32(x[i].m);
        for (int j = 0; j < QK4_1 / 2; ++j) {
            y[i * QK4_1 + j] = (x[i].qs[j] & 0x0F) * d + m;
            y[i * QK4_1 + j + QK4_1 / 2] = (x[i].qs[j] >> 4) * d + m;
        }
    }
}

/* sum(x*y) = d_x d_y sum(q_x q_y) + m_x * (d_y sum(q_y)), the last factor being y's s. */
static float dot_q4_1_q8_1_scalar(int64_t n, const block_q4_1 *restrict x,
                                  const block_q8_1 *restrict y)
{
    float sumf = 0;
    for (int64_t ib = 0; ib < n / QK4_1; ++ib) {
        int sumi = 0;
        for (int j = 0; j < QK4_1 / 2; ++j) {
            sumi += (x[ib].qs[j] & 0x0F) * y[ib].qs[j];
            sumi += (x[ib].qs[j] >> 4) * y[ib].qs[j + QK4_1 / 2];
        }
        sumf += (lq_fp16_to_fp32(x[ib].d) * lq_fp16_to_fp32(y[ib].d)) * sumi +
                lq_fp16_to_fp32(x[ib].m) * lq_fp16_to_fp32(y[ib].s);
    }
    return sumf;
}

// ---- AVX2 / AVX-512 ---------------------------------------------------------------------

#if LQI_X86
/* The block's 32 quants (0..15) as bytes. */
static inline LQI_AVX2 __m256i q4_1_quants(const block_q4_1 *x)
{
    return lqi_nibbles32(x->qs);
}

/* The first element equal to v: the reference's strict-comparison scans keep the first
 * holder of the extreme, which only matters for the sign of a zero. */
static float first_equal(const float *x, float v)
{
    for (int j = 0; v == 0.0f && j < QK4_1; j++) {
        if (x[j] == v) {
            return x[j];
        }
    }
    return v;
}

static LQI_AVX2 void quantize_q4_1_avx2(const float *restrict x, block_q4_1 *restrict y, int64_t k)
{
    for (int64_t i = 0; i < k / QK4_1; i++, x += QK4_1) {
        __m256 mn = _mm256_loadu_ps(x);
        __m256 mx = mn;
        for (int p = 8; p < QK4_1; p += 8) {
            mn = _mm256_min_ps(mn, _mm256_loadu_ps(x + p));
            mx = _mm256_max_ps(mx, _mm256_loadu_ps(x + p));
        }
        float mins[8], maxs[8];
        _mm256_storeu_ps(mins, mn);
        _mm256_storeu_ps(maxs, mx);
        float min = mins[0], max = maxs[0];
        for (int l = 1; l < 8; l++) {
            min = LQI_MIN(min, mins[l]);
            max = LQI_MAX(max, maxs[l]);
        }
        min = first_equal(x, min);
        max = first_equal(x, max);
        const float d = (max - min) / ((1 << 4) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = lqi_f2h(d);
        y[i].m = lqi_f2h(min);
        __m256i q[4];
        for (int p = 0; p < 4; p++) {
            __m256 v = _mm256_sub_ps(_mm256_loadu_ps(x + 8 * p), _mm256_set1_ps(min));
            v = _mm256_add_ps(_mm256_mul_ps(v, _mm256_set1_ps(id)), _mm256_set1_ps(0.5f));
            q[p] = _mm256_min_epi32(_mm256_cvttps_epi32(v), _mm256_set1_epi32(15));
            q[p] = _mm256_max_epi32(q[p], _mm256_setzero_si256());
        }
        __m256i lo = _mm256_or_si256(q[0], _mm256_slli_epi32(q[2], 4));
        __m256i hi = _mm256_or_si256(q[1], _mm256_slli_epi32(q[3], 4));
        _mm_storeu_si128((__m128i *)y[i].qs, lqi_pack_u32_to_u8(lo, hi));
    }
}

static LQI_AVX2 void dequantize_q4_1_avx2(const block_q4_1 *restrict x, float *restrict y,
                                          int64_t k)
{
    for (int64_t i = 0; i < k / QK4_1; i++) {
        lqi_store_u8_affine(q4_1_quants(&x[i]), lqi_h2f(x[i].d), lqi_h2f(x[i].m), y + i * QK4_1);
    }
}

LQI_LEGACY_DOT_KERNELS(q4_1_q8_1, block_q4_1, block_q8_1, q4_1_quants, lqi_dot_u8i8,
                       lqi_dot_u8i8_512, 1, LQI_DOT_MIN_TERM)
#endif

// ---- dispatch ---------------------------------------------------------------------------

void lqi_quantize_row_q4_1(const float *restrict x, void *restrict y, int64_t k)
{
    LQI_SIMD_CALL(quantize_q4_1_avx2, quantize_q4_1_avx2, lqi_quantize_row_q4_1_ref, x, y, k);
}

void lqi_dequantize_row_q4_1(const void *restrict x, float *restrict y, int64_t k)
{
    LQI_SIMD_CALL(dequantize_q4_1_avx2, dequantize_q4_1_avx2, dequantize_q4_1_scalar, x, y, k);
}

void lqi_vec_dot_q4_1_q8_1(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y)
{
    *s = LQI_SIMD_CALL(dot_q4_1_q8_1_avx512, dot_q4_1_q8_1_avx2, dot_q4_1_q8_1_scalar, n, x, y);
}

LQI_DOT_MULTI_SCALAR_RET(dot_multi_q4_1_q8_1_scalar, dot_q4_1_q8_1_scalar, block_q4_1, block_q8_1)

void lqi_vec_dot_multi_q4_1_q8_1(int64_t n, float *restrict s, const void *restrict x,
                                 const void *restrict y, size_t y_stride, int n_tok)
{
    LQI_SIMD_CALL(dot_multi_q4_1_q8_1_avx512, dot_multi_q4_1_q8_1_avx2, dot_multi_q4_1_q8_1_scalar,
                  n, s, x, y, y_stride, n_tok);
}
