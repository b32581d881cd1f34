/* mxfp4.c - MXFP4: 32 E2M1 values under one E8M0 power-of-two scale (4.25 bits per
 * weight). llama.cpp's quantize_row_mxfp4_ref, byte for byte. */
#include "quants/mxfp4.h"

#include <math.h>

#include "lq/fp16.h"
#include "quants/blocks.h"
#include "quants/dot_multi.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/simd_x86.h"
#endif

const int8_t lqi_mxfp4_levels[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// ---- quantize ---------------------------------------------------------------------------

/* The code whose value times e is nearest x; the first of equal errors wins. */
static int nearest_code(float x, float e)
{
    int best = 0;
    float best_err = fabsf(lqi_mxfp4_levels[0] * e - x);
    for (int i = 1; i < 16; i++) {
        float err = fabsf(lqi_mxfp4_levels[i] * e - x);
        if (err < best_err) {
            best = i;
            best_err = err;
        }
    }
    return best;
}

/* The exponent byte for max |x| = amax > 0: e = floor(log2 amax) - 2 + 127, so that
 * amax / 2^(e - 127) falls in [4, 8), the top E2M1 binade; through the float -> int
 * conversion x86-64 llama.cpp performs: out of range (an infinite amax) gives 0, negative
 * values wrap. */
static uint8_t e8m0_of(float amax)
{
    const float f = floorf(log2f(amax)) - 2 + 127;
    const int e = (f > -2147483648.f && f < 2147483648.f) ? (int)f : INT32_MIN;
    return (uint8_t)((unsigned)e & 0xFF);
}

void lqi_quantize_row_mxfp4_ref(const float *restrict x, void *restrict vy, int64_t k)
{
    block_mxfp4 *y = vy;
    for (int64_t i = 0; i < k / QK_MXFP4; i++) {
        const float *xb = x + i * QK_MXFP4;
        float amax = 0.0f;
        for (int j = 0; j < QK_MXFP4; j++) {
            if (amax < fabsf(xb[j])) {
                amax = fabsf(xb[j]);
            }
        }
        const uint8_t e = amax > 0.0f ? e8m0_of(amax) : 0;
        const float d = lqi_e8m0_half(e);
        y[i].e = e;
        for (int j = 0; j < QK_MXFP4 / 2; ++j) {
            y[i].qs[j] =
                (uint8_t)(nearest_code(xb[j], d) | nearest_code(xb[QK_MXFP4 / 2 + j], d) << 4);
        }
    }
}

void lqi_quantize_row_mxfp4(const float *restrict x, void *restrict y, int64_t k)
{
    lqi_quantize_row_mxfp4_ref(x, y, k);
}

/* llama.cpp ignores importance weights for MXFP4. */
size_t lqi_quantize_mxfp4(const float *restrict src, void *restrict dst, int64_t nrow,
                          int64_t n_per_row, const float *imatrix)
{
    (void)imatrix;
    lqi_quantize_row_mxfp4_ref(src, dst, nrow * n_per_row);
    return (size_t)nrow * (size_t)(n_per_row / QK_MXFP4) * sizeof(block_mxfp4);
}

// ---- dequantize and validate ------------------------------------------------------------

void lqi_dequantize_row_mxfp4(const void *restrict vx, float *restrict y, int64_t k)
{
    const block_mxfp4 *x = vx;
    for (int64_t i = 0; i < k / QK_MXFP4; i++) {
        const float d = lqi_e8m0_half(x[i].e);
        for (int j = 0; j < QK_MXFP4 / 2; ++j) {
            y[i * QK_MXFP4 + j] = lqi_mxfp4_levels[x[i].qs[j] & 0x0F] * d;
            y[i * QK_MXFP4 + j + QK_MXFP4 / 2] = lqi_mxfp4_levels[x[i].qs[j] >> 4] * d;
        }
    }
}

/* ggml_validate_row_data: whole blocks and no NaN scale (e = 0xFF). */
bool lqi_validate_mxfp4(const void *data, size_t nbytes)
{
    if (nbytes % sizeof(block_mxfp4) != 0) {
        return false;
    }
    const unsigned char *p = data;
    for (size_t off = 0; off < nbytes; off += sizeof(block_mxfp4)) {
        if (p[off] == 0xFF) {
            return false;
        }
    }
    return true;
}

// ---- dot product with Q8_0 --------------------------------------------------------------

/* ggml's generic kernel: an integer sum per block times d_y * scale, summed in float. */
static float dot_mxfp4_q8_0_scalar(int64_t n, const block_mxfp4 *restrict x,
                                   const block_q8_0 *restrict y)
{
    float sumf = 0;
    for (int64_t ib = 0; ib < n / QK_MXFP4; ++ib) {
        const float d = lq_fp16_to_fp32(y[ib].d) * lqi_e8m0_half(x[ib].e);
        int sumi1 = 0, sumi2 = 0;
        for (int j = 0; j < QK_MXFP4 / 2; ++j) {
            sumi1 += y[ib].qs[j] * lqi_mxfp4_levels[x[ib].qs[j] & 0xf];
            sumi2 += y[ib].qs[j + QK_MXFP4 / 2] * lqi_mxfp4_levels[x[ib].qs[j] >> 4];
        }
        sumf += d * (sumi1 + sumi2);
    }
    return sumf;
}

#if LQI_X86
/* The block's 32 values (2 x E2M1, int8 in -12..12) in element order, by table lookup. */
static inline LQI_AVX2 __m256i mxfp4_values(const block_mxfp4 *x)
{
    const __m128i lv = _mm_loadu_si128((const __m128i *)lqi_mxfp4_levels);
    return _mm256_shuffle_epi8(_mm256_set_m128i(lv, lv), lqi_nibbles32(x->qs));
}

/* Q8_0 activations are within -127..127 (d = max|y| / 127), so the sign trick of
 * lqi_dot_i8i8 is exact. */
static LQI_AVX2 float dot_mxfp4_q8_0_avx2(int64_t n, const block_mxfp4 *restrict x,
                                          const block_q8_0 *restrict y)
{
    __m256 acc = _mm256_setzero_ps();
    for (int64_t ib = 0; ib < n / QK_MXFP4; ++ib) {
        const __m256i qy = _mm256_loadu_si256((const __m256i *)y[ib].qs);
        const __m256 d = _mm256_set1_ps(lqi_h2f(y[ib].d) * lqi_e8m0_half(x[ib].e));
        acc = _mm256_fmadd_ps(d, lqi_dot_i8i8(mxfp4_values(&x[ib]), qy), acc);
    }
    return lqi_hsum_f32x8(acc);
}

/* The same per activation row, each weight block looked up once: the same operations in
 * the same order for every row, so each equals dot_mxfp4_q8_0_avx2's. */
static LQI_AVX2 void dot_multi_mxfp4_q8_0_avx2(int64_t n, float *restrict s,
                                               const void *restrict vx, const void *restrict vy,
                                               size_t y_stride, int n_tok)
{
    const block_mxfp4 *x = vx;
    __m256 acc[LQ_VEC_DOT_MULTI_MAX];
    for (int t = 0; t < n_tok; ++t) {
        acc[t] = _mm256_setzero_ps();
    }
    for (int64_t ib = 0; ib < n / QK_MXFP4; ++ib) {
        const __m256i qx = mxfp4_values(&x[ib]);
        const float dx = lqi_e8m0_half(x[ib].e);
        for (int t = 0; t < n_tok; ++t) {
            const block_q8_0 *y = (const block_q8_0 *)LQI_MULTI_ROW(vy, y_stride, t) + ib;
            const __m256i qy = _mm256_loadu_si256((const __m256i *)y->qs);
            const __m256 d = _mm256_set1_ps(lqi_h2f(y->d) * dx);
            acc[t] = _mm256_fmadd_ps(d, lqi_dot_i8i8(qx, qy), acc[t]);
        }
    }
    for (int t = 0; t < n_tok; ++t) {
        s[t] = lqi_hsum_f32x8(acc[t]);
    }
}
#endif

void lqi_vec_dot_mxfp4_q8_0(int64_t n, float *restrict s, const void *restrict x,
                            const void *restrict y)
{
    *s = LQI_SIMD_CALL(dot_mxfp4_q8_0_avx2, dot_mxfp4_q8_0_avx2, dot_mxfp4_q8_0_scalar, n, x, y);
}

LQI_DOT_MULTI_SCALAR_RET(dot_multi_mxfp4_q8_0_scalar, dot_mxfp4_q8_0_scalar, block_mxfp4,
                         block_q8_0)

void lqi_vec_dot_multi_mxfp4_q8_0(int64_t n, float *restrict s, const void *restrict x,
                                  const void *restrict y, size_t y_stride, int n_tok)
{
    LQI_SIMD_CALL(dot_multi_mxfp4_q8_0_avx2, dot_multi_mxfp4_q8_0_avx2, dot_multi_mxfp4_q8_0_scalar,
                  n, s, x, y, y_stride, n_tok);
}
