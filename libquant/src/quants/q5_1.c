/* q5_1.c - Q5_1: 32 weights as 5-bit quants q with x ~ d * q + m, fp16 scale and minimum
 * (6 bits per weight); bits packed as Q5_0. */
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

/* Unlike Q4_1 there is no clamp: the largest value gives x0 + 0.5 = 31.5 -> 31, and any
 * float excess past 32 would wrap exactly as llama.cpp's uint8_t cast does. */
void lqi_quantize_row_q5_1_ref(const float *restrict x, void *restrict vy, int64_t k)
{
    block_q5_1 *restrict y = vy;
    const int64_t nb = k / QK5_1;
    for (int64_t i = 0; i < nb; i++, x += QK5_1) {
        float min = FLT_MAX;
        float max = -FLT_MAX;
        for (int j = 0; j < QK5_1; j++) {
            if (x[j] < min) {
                min = x[j];
            }
            if (x[j] > max) {
                max = x[j];
            }
        }
        const float d = (max - min) / ((1 << 5) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = lq_fp32_to_fp16(d);
        y[i].m = lq_fp32_to_fp16(min);
        uint8_t L[QK5_1];
        for (int j = 0; j < QK5_1; ++j) {
            L[j] = lqi_f2u8((x[j] - min) * id + 0.5f);
        }
        lqi_q5_pack(L, y[i].qs, y[i].qh);
    }
}

// ---- importance-weighted quantizer ------------------------------------------------------

/* llama.cpp's quantize_row_q5_1_impl: make_qkx3_quants (nmax 31) with weights
 * qw[j] * sqrt(sigma2 + x[j]^2). */
static void q5_1_row_impl(const float *restrict x, void *restrict vy, int64_t n_per_row,
                          const float *restrict qw)
{
    block_q5_1 *restrict y = vy;
    float weight[QK5_1];
    uint8_t L[QK5_1], Laux[QK5_1];
    const float sigma2 = lqi_row_sigma2(x, n_per_row);
    for (int64_t ib = 0; ib < n_per_row / QK5_1; ++ib) {
        const float *xb = x + QK5_1 * ib;
        lqi_block_weights(xb, qw + QK5_1 * ib, sigma2, QK5_1, weight);
        float min;
        float d =
            lqi_make_qkx3_quants(QK5_1, 31, xb, weight, L, &min, Laux, -0.9f, 0.05f, 36, false);
        y[ib].d = lq_fp32_to_fp16(d);
        y[ib].m = lq_fp32_to_fp16(-min);
        lqi_q5_pack(L, y[ib].qs, y[ib].qh);
    }
}

size_t lqi_quantize_q5_1(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix)
{
    size_t row_size = (size_t)(n_per_row / QK5_1) * sizeof(block_q5_1);
    return lqi_quantize_rows_impl(lqi_quantize_row_q5_1_ref, q5_1_row_impl, row_size, src, dst,
                                  nrow, n_per_row, imatrix);
}

bool lqi_validate_q5_1(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_q5_1), 0, 2);
}

/* No vectorised quantizer: the reference is the fast path. */
void lqi_quantize_row_q5_1(const float *restrict x, void *restrict y, int64_t k)
{
    lqi_quantize_row_q5_1_ref(x, y, k);
}

// ---- scalar dequantize and dot ----------------------------------------------------------

static void dequantize_q5_1_scalar(const block_q5_1 *restrict x, float *restrict y, int64_t k)
{
    for (int64_t i = 0; i < k / QK5_1; i++) {
        const float d = lq_fp16_to_fp32(x[i].d);
        const float m = lq_fp16_to_fp32(x[i].m);
        const uint32_t qh = lqi_q5_high_bits(x[i].qh);
        for (int j = 0; j < QK5_1 / 2; ++j) {
            const int x0 = (x[i].qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
            const int x1 = (x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            y[i * QK5_1 + j] = x0 * d + m;
            y[i * QK5_1 + j + QK5_1 / 2] = x1 * d + m;
        }
    }
}

static float dot_q5_1_q8_1_scalar(int64_t n, const block_q5_1 *restrict x,
                                  const block_q8_1 *restrict y)
{
    float sumf = 0;
    for (int64_t ib = 0; ib < n / QK5_1; ++ib) {
        const uint32_t qh = lqi_q5_high_bits(x[ib].qh);
        int sumi = 0;
        for (int j = 0; j < QK5_1 / 2; ++j) {
            const int x0 = (x[ib].qs[j] & 0x0F) | (((qh >> j) & 1) << 4);
            const int x1 = (x[ib].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            sumi += x0 * y[ib].qs[j] + x1 * y[ib].qs[j + QK5_1 / 2];
        }
        sumf += (lq_fp16_to_fp32(x[ib].d) * lq_fp16_to_fp32(y[ib].d)) * sumi +
                lq_fp16_to_fp32(x[ib].m) * lq_fp16_to_fp32(y[ib].s);
    }
    return sumf;
}

// ---- AVX2 / AVX-512 ---------------------------------------------------------------------

#if LQI_X86
/* The block's 32 quants (0..31) as bytes. */
static inline LQI_AVX2 __m256i q5_1_quants(const block_q5_1 *x)
{
    __m256i hi = _mm256_and_si256(lqi_bits32(x->qh), _mm256_set1_epi8(0x10));
    return _mm256_or_si256(lqi_nibbles32(x->qs), hi);
}

static LQI_AVX2 void dequantize_q5_1_avx2(const block_q5_1 *restrict x, float *restrict y,
                                          int64_t k)
{
    for (int64_t i = 0; i < k / QK5_1; i++) {
        lqi_store_u8_affine(q5_1_quants(&x[i]), lqi_h2f(x[i].d), lqi_h2f(x[i].m), y + i * QK5_1);
    }
}

LQI_LEGACY_DOT_KERNELS(q5_1_q8_1, block_q5_1, block_q8_1, q5_1_quants, lqi_dot_u8i8,
                       lqi_dot_u8i8_512, 1, LQI_DOT_MIN_TERM)
#endif

// ---- dispatch ---------------------------------------------------------------------------

void lqi_dequantize_row_q5_1(const void *restrict x, float *restrict y, int64_t k)
{
    LQI_SIMD_CALL(dequantize_q5_1_avx2, dequantize_q5_1_avx2, dequantize_q5_1_scalar, x, y, k);
}

void lqi_vec_dot_q5_1_q8_1(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y)
{
    *s = LQI_SIMD_CALL(dot_q5_1_q8_1_avx512, dot_q5_1_q8_1_avx2, dot_q5_1_q8_1_scalar, n, x, y);
}

LQI_DOT_MULTI_SCALAR_RET(dot_multi_q5_1_q8_1_scalar, dot_q5_1_q8_1_scalar, block_q5_1, block_q8_1)

void lqi_vec_dot_multi_q5_1_q8_1(int64_t n, float *restrict s, const void *restrict x,
                                 const void *restrict y, size_t y_stride, int n_tok)
{
    LQI_SIMD_CALL(dot_multi_q5_1_q8_1_avx512, dot_multi_q5_1_q8_1_avx2, dot_multi_q5_1_q8_1_scalar,
                  n, s, x, y, y_stride, n_tok);
}
