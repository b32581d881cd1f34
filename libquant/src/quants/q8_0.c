/* q8_0.c - Q8_0: 32 weights as int8 quants q with x ~ d * q, d = max|x| / 127 in fp16
 * (8.5 bits per weight). Also the activation type of the q4_0, q5_0 and q8_0 dots. */
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

void lqi_quantize_row_q8_0_ref(const float *restrict x, void *restrict vy, int64_t k)
{
    block_q8_0 *restrict y = vy;
    for (int64_t i = 0; i < k / QK8_0; i++) {
        y[i].d = lq_fp32_to_fp16(lqi_q8_block_ref(x + i * QK8_0, y[i].qs));
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
/* The block's 32 int8 quants. */
static inline LQI_AVX2 __m256i q8_0_quants(const block_q8_0 *x)
{
    return _mm256_loadu_si256((const __m256i *)x->qs);
}

static LQI_AVX2 void quantize_q8_0_avx2(const float *restrict x, block_q8_0 *restrict y, int64_t k)
{
    for (int64_t i = 0; i < k / QK8_0; i++) {
        __m256i q[4];
        y[i].d = lqi_f2h(lqi_q8_block_avx2(x + i * QK8_0, q));
        _mm256_storeu_si256((__m256i *)y[i].qs, lqi_pack_i32_to_i8(q[0], q[1], q[2], q[3]));
    }
}

static LQI_AVX2 void dequantize_q8_0_avx2(const block_q8_0 *restrict x, float *restrict y,
                                          int64_t k)
{
    for (int64_t i = 0; i < k / QK8_0; i++) {
        __m256i q = q8_0_quants(&x[i]);
        lqi_store_i8_scaled(q, lqi_h2f(x[i].d), y + i * QK8_0);
    }
}

LQI_LEGACY_DOT_KERNELS(q8_0_q8_0, block_q8_0, block_q8_0, q8_0_quants, lqi_dot_i8i8,
                       lqi_dot_i8i8_512, 0, LQI_DOT_NO_MIN_TERM)

/* lqi_dot_i8i8_512 with one vpdpbusd for its maddubs and madd: |x| times y with x's sign, summed
 * in fours. The same int32 lanes: maddubs never saturates here (|x| <= 128 and |y| <= 127 give
 * pairs of at most 32512 in magnitude), so the floats are the same bits. */
static inline LQI_AVX512_VNNI __m512 dot_i8i8_512_vnni(__m512i x, __m512i y)
{
    const __mmask64 neg = _mm512_movepi8_mask(x);
    const __m512i zero = _mm512_setzero_si512();
    const __m512i sy = _mm512_mask_sub_epi8(y, neg, zero, y);
    return _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(zero, _mm512_abs_epi8(x), sy));
}

LQI_LEGACY_DOT_AVX512_AS(dot_q8_0_q8_0_avx512_vnni, LQI_AVX512_VNNI, q8_0_q8_0, block_q8_0,
                         block_q8_0, q8_0_quants, dot_i8i8_512_vnni, 0, LQI_DOT_NO_MIN_TERM)

/* One row for decoding: the VNNI steps where the CPU has them. */
static float dot_q8_0_q8_0_avx512_best(int64_t n, const block_q8_0 *restrict x,
                                       const block_q8_0 *restrict y)
{
    return lqi_cpu_avx512_vnni() ? dot_q8_0_q8_0_avx512_vnni(n, x, y)
                                 : dot_q8_0_q8_0_avx512(n, x, y);
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
    *s = LQI_SIMD_CALL(dot_q8_0_q8_0_avx512_best, dot_q8_0_q8_0_avx2, dot_q8_0_q8_0_scalar, n, x,
                       y);
}

LQI_DOT_MULTI_SCALAR_RET(dot_multi_q8_0_q8_0_scalar, dot_q8_0_q8_0_scalar, block_q8_0, block_q8_0)

void lqi_vec_dot_multi_q8_0_q8_0(int64_t n, float *restrict s, const void *restrict x,
                                 const void *restrict y, size_t y_stride, int n_tok)
{
    LQI_SIMD_CALL(dot_multi_q8_0_q8_0_avx512, dot_multi_q8_0_q8_0_avx2, dot_multi_q8_0_q8_0_scalar,
                  n, s, x, y, y_stride, n_tok);
}
