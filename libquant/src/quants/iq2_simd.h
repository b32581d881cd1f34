/*
 * iq2_simd.h - AVX2 building blocks of the IQ2/IQ1 dot kernels. Include only where LQI_X86
 * is set; the kernels are called through LQI_SIMD_CALL (quants/simd.h).
 *
 * A super-block's weights are decoded once into 8 registers of 32 signed bytes (grid value
 * times sign, |w| <= 43), with the scale of each 16 as int16 lanes, so the multi-token
 * kernels reuse them for every activation row. The integer dot is exact for any int8
 * activations: maddubs needs an unsigned operand, so the activations are offset by 128
 * (q8 ^ 0x80) and 128 * sum(scale * w), a property of the weights alone, is taken off.
 * The kernels then do the scalar kernels' float arithmetic on the same integers, so their
 * results equal the scalar ones bit for bit.
 */
#ifndef LQ_QUANTS_IQ2_SIMD_H
#define LQ_QUANTS_IQ2_SIMD_H

#include <stdint.h>
#include <string.h>

#include "quants/iq2_grids.h"
#include "quants/simd_x86.h"

struct lqi_iq_w256 {
    __m256i w[8]; /* weights of elements 32g .. 32g + 31 */
    __m256i s[8]; /* int16 scale of each lane pair: low half elements 0..15, high 16..31 */
    int32_t corr; /* 128 * sum(scale * w) */
};

/* 32 signed weights from four grid rows (8 bytes each) and four sign masks (0xFF: negate). */
static inline LQI_AVX2 __m256i lqi_iq_signed32(const uint8_t *g0, const uint8_t *g1,
                                               const uint8_t *g2, const uint8_t *g3, uint64_t m0,
                                               uint64_t m1, uint64_t m2, uint64_t m3)
{
    uint64_t r[4];
    memcpy(&r[0], g0, 8);
    memcpy(&r[1], g1, 8);
    memcpy(&r[2], g2, 8);
    memcpy(&r[3], g3, 8);
    const __m256i g =
        _mm256_set_epi64x((long long)r[3], (long long)r[2], (long long)r[1], (long long)r[0]);
    const __m256i m = _mm256_set_epi64x((long long)m3, (long long)m2, (long long)m1, (long long)m0);
    return _mm256_sub_epi8(_mm256_xor_si256(g, m), m);
}

/* Scale lanes of a group of 32: ls_lo for its first 16 elements, ls_hi for the second. */
static inline LQI_AVX2 __m256i lqi_iq_scales(int ls_lo, int ls_hi)
{
    return _mm256_set_m128i(_mm_set1_epi16((short)ls_hi), _mm_set1_epi16((short)ls_lo));
}

/* sum_g scale * (w . (q8 ^ 0x80)) over the 8 groups, as 8 int32 lanes. */
static inline LQI_AVX2 __m256i lqi_iq_wdot_raw(const struct lqi_iq_w256 *b, const int8_t *q8)
{
    const __m256i off = _mm256_set1_epi8((char)0x80);
    __m256i acc = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
        __m256i q =
            q8 ? _mm256_loadu_si256((const __m256i *)(q8 + 32 * g)) : _mm256_setzero_si256();
        __m256i p = _mm256_maddubs_epi16(_mm256_xor_si256(q, off), b->w[g]);
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, b->s[g]));
    }
    return acc;
}

/* Completes a decoded block: the offset correction (the raw dot against q8 = 0). */
static inline LQI_AVX2 void lqi_iq_finish(struct lqi_iq_w256 *b)
{
    b->corr = lqi_hsum_i32x8(lqi_iq_wdot_raw(b, NULL));
}

/* sum_g scale * (w . q8), exact. */
static inline LQI_AVX2 int32_t lqi_iq_wdot(const struct lqi_iq_w256 *b, const int8_t *q8)
{
    return lqi_hsum_i32x8(lqi_iq_wdot_raw(b, q8)) - b->corr;
}

/*
 * Single- and multi-token kernels over a decoder DECODE(const struct lqi_iq2_decode *t,
 * const BX *x, struct lqi_iq_w256 *b)
 * and the per-block result FINISH(const BX *x, const block_q8_K *y, int32_t isum, float
 * *sumf), which adds the block's float term in the scalar kernel's order; SCALE is the
 * constant the scalar kernel multiplies the row sum with at the end (1 or 0.125f).
 */
#define LQI_IQ_DOT_KERNELS(T, BX, DECODE, FINISH, SCALE)                                           \
    static LQI_AVX2 void dot_##T##_q8_K_avx2(int64_t n, float *restrict s,                         \
                                             const void *restrict vx, const void *restrict vy)     \
    {                                                                                              \
        const BX *x = vx;                                                                          \
        const struct lqi_iq2_decode *tab = lqi_iq2_decode_tables();                                \
        const block_q8_K *y = vy;                                                                  \
        float sumf = 0;                                                                            \
        for (int64_t i = 0; i < n / QK_K; ++i) {                                                   \
            struct lqi_iq_w256 b;                                                                  \
            DECODE(tab, &x[i], &b);                                                                \
            FINISH(&x[i], &y[i], lqi_iq_wdot(&b, y[i].qs), &sumf);                                 \
        }                                                                                          \
        *s = (SCALE)*sumf;                                                                         \
    }                                                                                              \
    static LQI_AVX2 void dot_multi_##T##_q8_K_avx2(                                                \
        int64_t n, float *restrict s, const void *restrict vx, const void *restrict vy,            \
        size_t y_stride, int n_tok)                                                                \
    {                                                                                              \
        const BX *x = vx;                                                                          \
        const struct lqi_iq2_decode *tab = lqi_iq2_decode_tables();                                \
        float sumf[LQ_VEC_DOT_MULTI_MAX] = {0};                                                    \
        for (int64_t i = 0; i < n / QK_K; ++i) {                                                   \
            struct lqi_iq_w256 b;                                                                  \
            DECODE(tab, &x[i], &b);                                                                \
            for (int t = 0; t < n_tok; ++t) {                                                      \
                const block_q8_K *y = (const block_q8_K *)LQI_MULTI_ROW(vy, y_stride, t) + i;      \
                FINISH(&x[i], y, lqi_iq_wdot(&b, y->qs), &sumf[t]);                                \
            }                                                                                      \
        }                                                                                          \
        for (int t = 0; t < n_tok; ++t) {                                                          \
            s[t] = (SCALE)*sumf[t];                                                                \
        }                                                                                          \
    }

#endif /* LQ_QUANTS_IQ2_SIMD_H */
