/* iq4_nl.c - IQ4_NL: 32 weights as 4-bit indices into the 16 non-uniform levels of
 * lqi_iq4_levels, x ~ d * level[q], one fp16 scale d (4.5 bits per weight). */
#include "quants/iq4.h"

#include <stddef.h>

#include "lq/fp16.h"
#include "quants/blocks.h"
#include "quants/dot_multi.h"
#include "quants/kquant_common.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/legacy_simd.h"
#endif

// ---- quantize ---------------------------------------------------------------------------

static void quantize_row_iq4_nl(const float *restrict x, block_iq4_nl *restrict y,
                                int64_t n_per_row, const float *qw)
{
    for (int64_t ib = 0; ib < n_per_row / QK4_NL; ++ib) {
        lqi_iq4_quantize_superblock(QK4_NL, x + QK4_NL * ib, qw ? qw + QK4_NL * ib : NULL, &y[ib].d,
                                    y[ib].qs, NULL, NULL);
    }
}

/* The bytes llama-quantize writes without an imatrix (ggml_quantize_chunk, 7 trial scales
 * each side), not ggml's quantize_row_iq4_nl_ref, which tries none and no file uses. */
void lqi_quantize_row_iq4_nl_ref(const float *restrict x, void *restrict y, int64_t k)
{
    quantize_row_iq4_nl(x, y, k, NULL);
}

/* No faster path: the fast-path slot of the type table takes the reference itself. */
void lqi_quantize_row_iq4_nl(const float *restrict x, void *restrict y, int64_t k)
{
    lqi_quantize_row_iq4_nl_ref(x, y, k);
}

size_t lqi_quantize_iq4_nl(const float *restrict src, void *restrict dst, int64_t nrow,
                           int64_t n_per_row, const float *imatrix)
{
    const size_t row_size = (size_t)(n_per_row / QK4_NL) * sizeof(block_iq4_nl);
    for (int64_t r = 0; r < nrow; ++r) {
        quantize_row_iq4_nl(src + r * n_per_row, (block_iq4_nl *)((char *)dst + r * row_size),
                            n_per_row, imatrix);
    }
    return (size_t)nrow * row_size;
}

// ---- dequantize and validate ------------------------------------------------------------

void lqi_dequantize_row_iq4_nl(const void *restrict vx, float *restrict y, int64_t k)
{
    const block_iq4_nl *x = vx;
    for (int64_t i = 0; i < k / QK4_NL; ++i, y += QK4_NL) {
        const float d = lq_fp16_to_fp32(x[i].d);
        for (int j = 0; j < QK4_NL / 2; ++j) {
            y[j] = d * lqi_iq4_levels[x[i].qs[j] & 0xf];
            y[j + QK4_NL / 2] = d * lqi_iq4_levels[x[i].qs[j] >> 4];
        }
    }
}

bool lqi_validate_iq4_nl(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_iq4_nl), 0, -1);
}

// ---- dot product with Q8_0 --------------------------------------------------------------

/* ggml's generic kernel: integer sums per block, one float multiply-add per block. */
static float dot_iq4_nl_q8_0_scalar(int64_t n, const block_iq4_nl *restrict x,
                                    const block_q8_0 *restrict y)
{
    float sumf = 0;
    for (int64_t ib = 0; ib < n / QK4_NL; ++ib) {
        const float d = lq_fp16_to_fp32(y[ib].d) * lq_fp16_to_fp32(x[ib].d);
        int sumi1 = 0, sumi2 = 0;
        for (int j = 0; j < QK4_NL / 2; ++j) {
            sumi1 += y[ib].qs[j] * lqi_iq4_levels[x[ib].qs[j] & 0xf];
            sumi2 += y[ib].qs[j + QK4_NL / 2] * lqi_iq4_levels[x[ib].qs[j] >> 4];
        }
        sumf += d * (sumi1 + sumi2);
    }
    return sumf;
}

#if LQI_X86
/* The block's 32 levels as int8, looked up by byte shuffle (the table fits one lane). */
static inline LQI_AVX2 __m256i iq4_nl_levels(const block_iq4_nl *x)
{
    const __m128i t = _mm_loadu_si128((const __m128i *)lqi_iq4_levels);
    return _mm256_shuffle_epi8(_mm256_set_m128i(t, t), lqi_nibbles32(x->qs));
}

/* Levels are -127..113, so the signed products are exact (lqi_dot_i8i8). */
LQI_LEGACY_DOT_KERNELS(iq4_nl_q8_0, block_iq4_nl, block_q8_0, iq4_nl_levels, lqi_dot_i8i8,
                       lqi_dot_i8i8_512, 0, LQI_DOT_NO_MIN_TERM)
#endif

void lqi_vec_dot_iq4_nl_q8_0(int64_t n, float *restrict s, const void *restrict x,
                             const void *restrict y)
{
    *s = LQI_SIMD_CALL(dot_iq4_nl_q8_0_avx512, dot_iq4_nl_q8_0_avx2, dot_iq4_nl_q8_0_scalar, n, x,
                       y);
}

LQI_DOT_MULTI_SCALAR_RET(dot_multi_iq4_nl_q8_0_scalar, dot_iq4_nl_q8_0_scalar, block_iq4_nl,
                         block_q8_0)

void lqi_vec_dot_multi_iq4_nl_q8_0(int64_t n, float *restrict s, const void *restrict x,
                                   const void *restrict y, size_t y_stride, int n_tok)
{
    LQI_SIMD_CALL(dot_multi_iq4_nl_q8_0_avx512, dot_multi_iq4_nl_q8_0_avx2,
                  dot_multi_iq4_nl_q8_0_scalar, n, s, x, y, y_stride, n_tok);
}
