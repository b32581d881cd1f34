/* tq2_0.c - TQ2_0: ternary values, t + 1 in 2 bits each (2.0625 bits per weight).
 * llama.cpp's quantize_row_tq2_0_ref, byte for byte. */
#include <assert.h>
#include <stddef.h>

#include "lq/fp16.h"
#include "quants/dot_multi.h"
#include "quants/kquant_common.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/kquant_simd.h"
#endif
#include "quants/ternary.h"

// ---- quantize ---------------------------------------------------------------------------

static void tq2_0_block(const float *x, void *vy, const float *qw)
{
    (void)qw;
    block_tq2_0 *y = vy;
    const float d = lqi_tq_amax(x);
    const float id = d ? 1.0f / d : 0.0f;
    y->d = lq_fp32_to_fp16(d);
    for (int j = 0; j < QK_K / 4; j += 32) {
        for (int m = 0; m < 32; ++m) {
            unsigned q = 0;
            for (int n = 0; n < 4; ++n) {
                q += (unsigned)(lqi_trit(x[4 * j + 32 * n + m] * id) & 3) << 2 * n;
            }
            y->qs[j + m] = (uint8_t)q;
        }
    }
}

void lqi_quantize_row_tq2_0_ref(const float *restrict x, void *restrict y, int64_t k)
{
    lqi_qk_quantize_ref(tq2_0_block, sizeof(block_tq2_0), x, y, k);
}

/* llama.cpp ignores importance weights for TQ2_0. */
size_t lqi_quantize_tq2_0(const float *restrict src, void *restrict dst, int64_t nrow,
                          int64_t n_per_row, const float *imatrix)
{
    (void)imatrix;
    return lqi_qk_quantize_rows(tq2_0_block, tq2_0_block, sizeof(block_tq2_0), src, dst, nrow,
                                n_per_row, NULL);
}

// ---- dequantize and validate ------------------------------------------------------------

/* Value 128j + 32n + m as -1, 0, 1 (or 2 from a byte llama.cpp would not write). */
static inline int tq2_value(const block_tq2_0 *x, int e)
{
    const int j = e / 128, n = (e % 128) / 32, m = e % 32;
    return ((x->qs[32 * j + m] >> 2 * n) & 3) - 1;
}

void lqi_dequantize_row_tq2_0(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_tq2_0 *x = vx;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d);
        for (int e = 0; e < QK_K; ++e) {
            *y++ = (float)tq2_value(&x[i], e) * d;
        }
    }
}

bool lqi_validate_tq2_0(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_tq2_0), offsetof(block_tq2_0, d), -1);
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: an exact integer sum per block, times d_y * d_x. */
static void dot_tq2_0_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                  const void *restrict vy)
{
    const block_tq2_0 *x = vx;
    const block_q8_K *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        int32_t sumi = 0;
        for (int e = 0; e < QK_K; ++e) {
            sumi += y[i].qs[e] * tq2_value(&x[i], e);
        }
        sumf += (float)sumi * (y[i].d * lq_fp16_to_fp32(x[i].d));
    }
    *s = sumf;
}

#if LQI_X86
/* t + 1 enters the integer dot; scale 1, and the 1 comes back out through the sums. */
static const int16_t unit_scales[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

/* The weight side once per block: the stored t + 1 (0..2) as unsigned quants, scale 1
 * everywhere and the 1 back out through the activation sums. */
static inline LQI_AVX2 void tq2_0_unpack_simd(const block_tq2_0 *x, struct lqi_qk_prep *p)
{
    const __m256i m3 = _mm256_set1_epi8(3);
    for (int j = 0; j < 2; ++j) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * j));
        for (int n = 0; n < 4; ++n) {
            p->q[4 * j + n] = _mm256_and_si256(_mm256_srli_epi16(v, 2 * n), m3);
        }
    }
    lqi_qk_biased_scales(unit_scales, 1, lq_fp16_to_fp32(x->d), p);
}

LQI_QK_BIASED_DOT_KERNELS(tq2_0, block_tq2_0, tq2_0_unpack_simd)
#endif

LQI_QK_DOT_ENTRY_POINTS(tq2_0)
