/* q8_0.c - Q8_0: 32 weights as int8 quants q with x ~ d * q, d = max|x| / 127 in fp16
 * (8.5 bits per weight). Also the activation type of the q4_0, q5_0 and q8_0 dots. */
#include "quants/legacy.h"

#include <math.h>

#include "lq/fp16.h"
#include "quants/quant_common.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/simd_x86.h"
#endif

// ---- reference quantizer ----------------------------------------------------------------

void lqi_quantize_row_q8_0_ref(const float *restrict x, void *restrict vy, int64_t k)
{
    block_q8_0 *restrict y = vy;
    const int64_t nb = k / QK8_0;
    for (int64_t i = 0; i < nb; i++, x += QK8_0) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) {
            amax = LQI_MAX(amax, fabsf(x[j]));
        }
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = lq_fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; ++j) {
            y[i].qs[j] = lqi_f2i8(roundf(x[j] * id));
        }
    }
}

/* llama.cpp ignores importance weights for Q8_0: the plain reference bytes either way. */
size_t lqi_quantize_q8_0(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix)
{
    (void)imatrix;
    lqi_quantize_row_q8_0_ref(src, dst, nrow * n_per_row);
    return (size_t)nrow * (size_t)(n_per_row / QK8_0) * sizeof(block_q8_0);
}

bool lqi_validate_q8_0(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_q8_0), 0, -1);
}

// ---- scalar dequantize and dot ----------------------------------------------------------

static void dequantize_q8_0_scalar(const block_q8_0 *restrict x, float *restrict y, int64_t k)
{
    for (int64_t i = 0; i < k / QK8_0; i++) {
        const float d = lq_fp16_to_fp32(x[i].d);
        for (int j = 0; j < QK8_0; ++j) {
            y[i * QK8_0 + j] = x[i].qs[j] * d;
        }
    }
}

static float dot_q8_0_q8_0_scalar(int64_t n, const block_q8_0 *restrict x,
                                  const block_q8_0 *restrict y)
{
    float sumf = 0;
    for (int64_t ib = 0; ib < n / QK8_0; ++ib) {
        int sumi = 0;
        for (int j = 0; j < QK8_0; j++) {
            sumi += x[ib].qs[j] * y[ib].qs[j];
        }
        sumf += sumi * (lq_fp16_to_fp32(x[ib].d) * lq_fp16_to_fp32(y[ib].d));
    }
    return sumf;
}

// ---- AVX2 / AVX-512 ---------------------------------------------------------------------

#if LQI_X86
/* Same bytes as the reference: max|x| is exact in any order, x*id is the same product, and
 * lqi_roundf_i32 rounds halves away from zero like roundf. */
static LQI_AVX2 void quantize_q8_0_avx2(const float *restrict x, block_q8_0 *restrict y, int64_t k)
{
    for (int64_t i = 0; i < k / QK8_0; i++, x += QK8_0) {
        const float d = lqi_absmax32(x) / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = lqi_f2h(d);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int p = 0; p < 4; p++) {
            q[p] = lqi_roundf_i32(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * p), vid));
        }
        __m256i packed = lqi_pack_i32_to_i8(q[0], q[1], q[2], q[3]);
        _mm256_storeu_si256((__m256i *)y[i].qs, packed);
    }
}

static LQI_AVX2 void dequantize_q8_0_avx2(const block_q8_0 *restrict x, float *restrict y,
                                          int64_t k)
{
    for (int64_t i = 0; i < k / QK8_0; i++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)x[i].qs);
        lqi_store_i8_scaled(q, lqi_h2f(x[i].d), y + i * QK8_0);
    }
}

static LQI_AVX2 float dot_q8_0_q8_0_avx2(int64_t n, const block_q8_0 *restrict x,
                                         const block_q8_0 *restrict y)
{
    __m256 acc = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < n / QK8_0; ++ib) {
        __m256i qx = _mm256_loadu_si256((const __m256i *)x[ib].qs);
        __m256i qy = _mm256_loadu_si256((const __m256i *)y[ib].qs);
        __m256 d = _mm256_set1_ps(lqi_h2f(x[ib].d) * lqi_h2f(y[ib].d));
        acc = _mm256_fmadd_ps(d, lqi_dot_i8i8(qx, qy), acc);
    }
    return lqi_hsum_f32x8(acc);
}

static LQI_AVX512 float dot_q8_0_q8_0_avx512(int64_t n, const block_q8_0 *restrict x,
                                             const block_q8_0 *restrict y)
{
    const int64_t nb = n / QK8_0;
    __m512 acc = _mm512_setzero_ps();
    int64_t ib = 0;
    for (; ib + 1 < nb; ib += 2) {
        __m512i qx = lqi_join256(_mm256_loadu_si256((const __m256i *)x[ib].qs),
                                 _mm256_loadu_si256((const __m256i *)x[ib + 1].qs));
        __m512i qy = lqi_join256(_mm256_loadu_si256((const __m256i *)y[ib].qs),
                                 _mm256_loadu_si256((const __m256i *)y[ib + 1].qs));
        __m512 d = lqi_scale2(lqi_h2f(x[ib].d) * lqi_h2f(y[ib].d),
                              lqi_h2f(x[ib + 1].d) * lqi_h2f(y[ib + 1].d));
        acc = _mm512_fmadd_ps(d, lqi_dot_i8i8_512(qx, qy), acc);
    }
    float sum = _mm512_reduce_add_ps(acc);
    return ib < nb ? sum + dot_q8_0_q8_0_avx2(QK8_0, x + ib, y + ib) : sum;
}
#endif

// ---- dispatch ---------------------------------------------------------------------------

void lqi_quantize_row_q8_0(const float *restrict x, void *restrict y, int64_t k)
{
    LQI_SIMD_CALL(quantize_q8_0_avx2, quantize_q8_0_avx2, lqi_quantize_row_q8_0_ref, x, y, k);
}

void lqi_dequantize_row_q8_0(const void *restrict x, float *restrict y, int64_t k)
{
    LQI_SIMD_CALL(dequantize_q8_0_avx2, dequantize_q8_0_avx2, dequantize_q8_0_scalar, x, y, k);
}

void lqi_vec_dot_q8_0_q8_0(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y)
{
    *s = LQI_SIMD_CALL(dot_q8_0_q8_0_avx512, dot_q8_0_q8_0_avx2, dot_q8_0_q8_0_scalar, n, x, y);
}
