/* iq4_xs.c - IQ4_XS: super-blocks of 256 weights as 4-bit indices into the 16 levels of
 * lqi_iq4_levels, x ~ d * (ls - 32) * level[q] with one fp16 d and a 6-bit scale ls per 32
 * (4.25 bits per weight). */
#include "quants/iq4.h"

#include <stddef.h>

#include "lq/fp16.h"
#include "quants/dot_multi.h"
#include "quants/kquant_common.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/simd_x86.h"
#endif

// ---- quantize ---------------------------------------------------------------------------

static void quantize_row_iq4_xs(const float *restrict x, block_iq4_xs *restrict y,
                                int64_t n_per_row, const float *qw)
{
    for (int64_t i = 0; i < n_per_row / QK_K; ++i) {
        lqi_iq4_quantize_superblock(QK_K, x + QK_K * i, qw ? qw + QK_K * i : NULL, &y[i].d, y[i].qs,
                                    &y[i].scales_h, y[i].scales_l);
    }
}

void lqi_quantize_row_iq4_xs_ref(const float *restrict x, void *restrict y, int64_t k)
{
    quantize_row_iq4_xs(x, y, k, NULL);
}

size_t lqi_quantize_iq4_xs(const float *restrict src, void *restrict dst, int64_t nrow,
                           int64_t n_per_row, const float *imatrix)
{
    const size_t row_size = (size_t)(n_per_row / QK_K) * sizeof(block_iq4_xs);
    for (int64_t r = 0; r < nrow; ++r) {
        quantize_row_iq4_xs(src + r * n_per_row, (block_iq4_xs *)((char *)dst + r * row_size),
                            n_per_row, imatrix);
    }
    return (size_t)nrow * row_size;
}

// ---- dequantize and validate ------------------------------------------------------------

void lqi_dequantize_row_iq4_xs(const void *restrict vx, float *restrict y, int64_t k)
{
    const block_iq4_xs *x = vx;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d);
        const uint8_t *qs = x[i].qs;
        for (int ib = 0; ib < QK_K / 32; ++ib, y += 32, qs += 16) {
            const float dl = d * lqi_iq4_xs_scale(&x[i], ib);
            for (int j = 0; j < 16; ++j) {
                y[j] = dl * lqi_iq4_levels[qs[j] & 0xf];
                y[j + 16] = dl * lqi_iq4_levels[qs[j] >> 4];
            }
        }
    }
}

bool lqi_validate_iq4_xs(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_iq4_xs), 0, -1);
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: integer sums per sub-block of 32, then one float multiply-add
 * each with its scale d * d8 * (ls - 32). */
static void dot_iq4_xs_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                   const void *restrict vy)
{
    const block_iq4_xs *x = vx;
    const block_q8_K *y = vy;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d4d8 = lq_fp16_to_fp32(x[i].d) * y[i].d;
        const uint8_t *qs = x[i].qs;
        const int8_t *q8 = y[i].qs;
        for (int ib = 0; ib < QK_K / 32; ++ib, qs += 16, q8 += 32) {
            const float dl = d4d8 * lqi_iq4_xs_scale(&x[i], ib);
            int sumi1 = 0, sumi2 = 0;
            for (int j = 0; j < 16; ++j) {
                sumi1 += q8[j] * lqi_iq4_levels[qs[j] & 0xf];
                sumi2 += q8[j + 16] * lqi_iq4_levels[qs[j] >> 4];
            }
            sumf += dl * (sumi1 + sumi2);
        }
    }
    *s = sumf;
}

#if LQI_X86
/* The weight side of one super-block, unpacked once for every activation row: the levels
 * of each sub-block of 32 as int8 and its signed scale as int16 in every lane. */
struct iq4_xs_w {
    __m256i q[8];
    __m256i sc[8];
};

static inline LQI_AVX2 void iq4_xs_unpack(const block_iq4_xs *x, struct iq4_xs_w *w)
{
    const __m128i t = _mm_loadu_si128((const __m128i *)lqi_iq4_levels);
    const __m256i table = _mm256_set_m128i(t, t);
    for (int ib = 0; ib < 8; ++ib) {
        w->q[ib] = _mm256_shuffle_epi8(table, lqi_nibbles32(x->qs + 16 * ib));
        w->sc[ib] = _mm256_set1_epi16((short)lqi_iq4_xs_scale(x, ib));
    }
}

/* Integer dot of a super-block with 256 int8 activations, in 8 int32 lanes. Exact: a
 * level times an activation is at most 127 * 127 (Q8_K stays within -127..127), a pair of
 * them fits int16, and 8 sub-blocks times 32 of scale keep the lanes far inside int32. */
static inline LQI_AVX2 __m256i iq4_xs_idot(const struct iq4_xs_w *w, const int8_t *y)
{
    __m256i acc = _mm256_setzero_si256();
    for (int ib = 0; ib < 8; ++ib) {
        const __m256i q = w->q[ib];
        const __m256i yv = _mm256_loadu_si256((const __m256i *)(y + 32 * ib));
        const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(yv, q));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, w->sc[ib]));
    }
    return acc;
}

/* The single-row dot is this with n_tok = 1, so every row's result is the same bits. */
static LQI_AVX2 void dot_multi_iq4_xs_q8_K_avx2(int64_t n, float *restrict s,
                                                const void *restrict vx, const void *restrict vy,
                                                size_t y_stride, int n_tok)
{
    const block_iq4_xs *x = vx;
    __m256 acc[LQ_VEC_DOT_MULTI_MAX];
    for (int t = 0; t < n_tok; ++t) {
        acc[t] = _mm256_setzero_ps();
    }
    for (int64_t i = 0; i < n / QK_K; ++i) {
        struct iq4_xs_w w;
        iq4_xs_unpack(&x[i], &w);
        const float dx = lq_fp16_to_fp32(x[i].d);
        for (int t = 0; t < n_tok; ++t) {
            const block_q8_K *y = (const block_q8_K *)LQI_MULTI_ROW(vy, y_stride, t) + i;
            const __m256 isum = _mm256_cvtepi32_ps(iq4_xs_idot(&w, y->qs));
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(dx * y->d), isum, acc[t]);
        }
    }
    for (int t = 0; t < n_tok; ++t) {
        s[t] = lqi_hsum_f32x8(acc[t]);
    }
}

static LQI_AVX2 void dot_iq4_xs_q8_K_avx2(int64_t n, float *restrict s, const void *restrict x,
                                          const void *restrict y)
{
    dot_multi_iq4_xs_q8_K_avx2(n, s, x, y, 0, 1);
}
#endif

void lqi_vec_dot_iq4_xs_q8_K(int64_t n, float *restrict s, const void *restrict x,
                             const void *restrict y)
{
    LQI_SIMD_CALL(dot_iq4_xs_q8_K_avx2, dot_iq4_xs_q8_K_avx2, dot_iq4_xs_q8_K_scalar, n, s, x, y);
}

LQI_DOT_MULTI_SCALAR(dot_multi_iq4_xs_q8_K_scalar, dot_iq4_xs_q8_K_scalar)

void lqi_vec_dot_multi_iq4_xs_q8_K(int64_t n, float *restrict s, const void *restrict x,
                                   const void *restrict y, size_t y_stride, int n_tok)
{
    LQI_SIMD_CALL(dot_multi_iq4_xs_q8_K_avx2, dot_multi_iq4_xs_q8_K_avx2,
                  dot_multi_iq4_xs_q8_K_scalar, n, s, x, y, y_stride, n_tok);
}
