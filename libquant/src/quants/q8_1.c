/* q8_1.c - Q8_1: Q8_0 plus s = d * sum(q) in fp16 (9 bits per weight). An activation type:
 * the q4_1 and q5_1 dots need the block sum of y to apply x's minimum, and s saves them
 * recomputing it. llama.cpp writes no Q8_1 tensors and has no dot with Q8_1 on the left. */
#include "quants/legacy.h"

#include <math.h>

#include "lq/fp16.h"
#include "quants/quant_common.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/simd_x86.h"
#endif

// ---- reference quantizer ----------------------------------------------------------------

void lqi_quantize_row_q8_1_ref(const float *restrict x, void *restrict vy, int64_t k)
{
    block_q8_1 *restrict y = vy;
    for (int64_t i = 0; i < k / QK8_1; i++) {
        const float d = lqi_q8_block_ref(x + i * QK8_1, y[i].qs);
        int sum = 0;
        for (int j = 0; j < QK8_1; ++j) {
            sum += y[i].qs[j];
        }
        y[i].d = lq_fp32_to_fp16(d);
        y[i].s = lq_fp32_to_fp16(sum * d);
    }
}

/* No importance-weighted variant exists for an activation type: the reference bytes. */
size_t lqi_quantize_q8_1(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix)
{
    (void)imatrix;
    lqi_quantize_row_q8_1_ref(src, dst, nrow * n_per_row);
    return (size_t)nrow * (size_t)(n_per_row / QK8_1) * sizeof(block_q8_1);
}

/* ggml has no Q8_1 case; both fp16 fields are checked, as for the other _1 types. */
bool lqi_validate_q8_1(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_q8_1), 0, 2);
}

static void dequantize_q8_1_scalar(const block_q8_1 *restrict x, float *restrict y, int64_t k)
{
    for (int64_t i = 0; i < k / QK8_1; i++) {
        const float d = lq_fp16_to_fp32(x[i].d);
        for (int j = 0; j < QK8_1; ++j) {
            y[i * QK8_1 + j] = x[i].qs[j] * d;
        }
    }
}

// ---- AVX2 -------------------------------------------------------------------------------

#if LQI_X86
/* As quantize_q8_0_avx2 (same bytes as the reference), plus the exact integer block sum. */
static LQI_AVX2 void quantize_q8_1_avx2(const float *restrict x, block_q8_1 *restrict y, int64_t k)
{
    for (int64_t i = 0; i < k / QK8_1; i++) {
        __m256i q[4];
        const float d = lqi_q8_block_avx2(x + i * QK8_1, q);
        __m256i sum = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
        y[i].d = lqi_f2h(d);
        y[i].s = lqi_f2h(lqi_hsum_i32x8(sum) * d);
        _mm256_storeu_si256((__m256i *)y[i].qs, lqi_pack_i32_to_i8(q[0], q[1], q[2], q[3]));
    }
}

static LQI_AVX2 void dequantize_q8_1_avx2(const block_q8_1 *restrict x, float *restrict y,
                                          int64_t k)
{
    for (int64_t i = 0; i < k / QK8_1; i++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)x[i].qs);
        lqi_store_i8_scaled(q, lqi_h2f(x[i].d), y + i * QK8_1);
    }
}
#endif

// ---- dispatch ---------------------------------------------------------------------------

void lqi_quantize_row_q8_1(const float *restrict x, void *restrict y, int64_t k)
{
    LQI_SIMD_CALL(quantize_q8_1_avx2, quantize_q8_1_avx2, lqi_quantize_row_q8_1_ref, x, y, k);
}

void lqi_dequantize_row_q8_1(const void *restrict x, float *restrict y, int64_t k)
{
    LQI_SIMD_CALL(dequantize_q8_1_avx2, dequantize_q8_1_avx2, dequantize_q8_1_scalar, x, y, k);
}
