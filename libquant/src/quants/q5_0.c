/* q5_0.c - Q5_0: 32 weights as 5-bit quants q with x ~ d * (q - 16), one fp16 scale
 * (5.5 bits per weight). Low four bits packed as Q4_0, fifth bits in a 32-bit mask qh. */
#include "quants/legacy.h"

#include <math.h>

#include "lq/fp16.h"
#include "quants/dot_multi.h"
#include "quants/quant_common.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/legacy_simd.h"
#endif

// ---- reference quantizer ----------------------------------------------------------------

void lqi_quantize_row_q5_0_ref(const float *restrict x, void *restrict vy, int64_t k)
{
    block_q5_0 *restrict y = vy;
    const int64_t nb = k / QK5_0;
    for (int64_t i = 0; i < nb; i++, x += QK5_0) {
        float amax = 0.0f;
        float max = 0.0f;
        for (int j = 0; j < QK5_0; j++) {
            if (amax < fabsf(x[j])) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        const float d = max / -16;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = lq_fp32_to_fp16(d);
        uint8_t L[QK5_0];
        for (int j = 0; j < QK5_0; ++j) {
            L[j] = (uint8_t)LQI_MIN(31, lqi_f2i8(x[j] * id + 16.5f));
        }
        lqi_q5_pack(L, y[i].qs, y[i].qh);
    }
}

// ---- importance-weighted quantizer ------------------------------------------------------

/* llama.cpp's quantize_row_q5_0_impl: make_qx_quants (nmax 16, rmse_type 1) with weights
 * qw[j] * sqrt(sigma2 + x[j]^2). */
static void q5_0_row_impl(const float *restrict x, void *restrict vy, int64_t n_per_row,
                          const float *restrict qw)
{
    block_q5_0 *restrict y = vy;
    float weight[QK5_0];
    int8_t L[QK5_0];
    const float sigma2 = lqi_row_sigma2(x, n_per_row);
    for (int64_t ib = 0; ib < n_per_row / QK5_0; ++ib) {
        const float *xb = x + QK5_0 * ib;
        lqi_block_weights(xb, qw + QK5_0 * ib, sigma2, QK5_0, weight);
        float d = lqi_make_qx_quants(QK5_0, 16, xb, L, 1, weight);
        y[ib].d = lq_fp32_to_fp16(d);
        lqi_q5_pack((const uint8_t *)L, y[ib].qs, y[ib].qh);
    }
}

size_t lqi_quantize_q5_0(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix)
{
    size_t row_size = (size_t)(n_per_row / QK5_0) * sizeof(block_q5_0);
    return lqi_quantize_rows_impl(lqi_quantize_row_q5_0_ref, q5_0_row_impl, row_size, src, dst,
                                  nrow, n_per_row, imatrix);
}

bool lqi_validate_q5_0(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_q5_0), 0, -1);
}

/* No vectorised quantizer: the reference is the fast path. */
void lqi_quantize_row_q5_0(const float *restrict x, void *restrict y, int64_t k)
{
    lqi_quantize_row_q5_0_ref(x, y, k);
}

// ---- scalar dequantize and dot ----------------------------------------------------------

static void dequantize_q5_0_scalar(const block_q5_0 *restrict x, float *restrict y, int64_t k)
{
    for (int64_t i = 0; i < k / QK5_0; i++) {
        const float d = lq_fp16_to_fp32(x[i].d);
        const uint32_t qh = lqi_q5_high_bits(x[i].qh);
        for (int j = 0; j < QK5_0 / 2; ++j) {
            const int x0 = ((x[i].qs[j] & 0x0F) | (((qh >> j) & 1) << 4)) - 16;
            const int x1 = ((x[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            y[i * QK5_0 + j] = x0 * d;
            y[i * QK5_0 + j + QK5_0 / 2] = x1 * d;
        }
    }
}

static float dot_q5_0_q8_0_scalar(int64_t n, const block_q5_0 *restrict x,
                                  const block_q8_0 *restrict y)
{
    float sumf = 0;
    for (int64_t ib = 0; ib < n / QK5_0; ++ib) {
        const uint32_t qh = lqi_q5_high_bits(x[ib].qh);
        int sumi = 0;
        for (int j = 0; j < QK5_0 / 2; ++j) {
            const int x0 = ((x[ib].qs[j] & 0x0F) | (((qh >> j) & 1) << 4)) - 16;
            const int x1 = ((x[ib].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            sumi += x0 * y[ib].qs[j] + x1 * y[ib].qs[j + QK5_0 / 2];
        }
        sumf += sumi * (lq_fp16_to_fp32(x[ib].d) * lq_fp16_to_fp32(y[ib].d));
    }
    return sumf;
}

// ---- AVX2 / AVX-512 ---------------------------------------------------------------------

#if LQI_X86
/* The block's 32 quants q - 16 as int8. */
static inline LQI_AVX2 __m256i q5_0_quants(const block_q5_0 *x)
{
    __m256i hi = _mm256_and_si256(lqi_bits32(x->qh), _mm256_set1_epi8(0x10));
    return _mm256_sub_epi8(_mm256_or_si256(lqi_nibbles32(x->qs), hi), _mm256_set1_epi8(16));
}

static LQI_AVX2 void dequantize_q5_0_avx2(const block_q5_0 *restrict x, float *restrict y,
                                          int64_t k)
{
    for (int64_t i = 0; i < k / QK5_0; i++) {
        lqi_store_i8_scaled(q5_0_quants(&x[i]), lqi_h2f(x[i].d), y + i * QK5_0);
    }
}

LQI_LEGACY_DOT_KERNELS(q5_0_q8_0, block_q5_0, block_q8_0, q5_0_quants, lqi_dot_i8i8,
                       lqi_dot_i8i8_512, 0, LQI_DOT_NO_MIN_TERM)
#endif

// ---- dispatch ---------------------------------------------------------------------------

void lqi_dequantize_row_q5_0(const void *restrict x, float *restrict y, int64_t k)
{
    LQI_SIMD_CALL(dequantize_q5_0_avx2, dequantize_q5_0_avx2, dequantize_q5_0_scalar, x, y, k);
}

void lqi_vec_dot_q5_0_q8_0(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y)
{
    *s = LQI_SIMD_CALL(dot_q5_0_q8_0_avx512, dot_q5_0_q8_0_avx2, dot_q5_0_q8_0_scalar, n, x, y);
}

LQI_DOT_MULTI_SCALAR_RET(dot_multi_q5_0_q8_0_scalar, dot_q5_0_q8_0_scalar, block_q5_0, block_q8_0)

void lqi_vec_dot_multi_q5_0_q8_0(int64_t n, float *restrict s, const void *restrict x,
                                 const void *restrict y, size_t y_stride, int n_tok)
{
    LQI_SIMD_CALL(dot_multi_q5_0_q8_0_avx512, dot_multi_q5_0_q8_0_avx2, dot_multi_q5_0_q8_0_scalar,
                  n, s, x, y, y_stride, n_tok);
}
