/*
 * kquant_simd.h - AVX2 / AVX-512 building blocks of the k-quant dot kernels. Include only
 * where LQI_X86 is set; the kernels are called through LQI_SIMD_CALL (quants/simd.h), so
 * they run only at the level lq_simd_level_set() allows and the CPU supports.
 */
#ifndef LQ_KQUANT_SIMD_H
#define LQ_KQUANT_SIMD_H

#include <stdint.h>

#include "lq/fp16.h"
#include "lq/types.h"
#include "quants/dot_multi.h"
#include "quants/kblocks.h"
#include "quants/kquant_common.h"
#include "quants/simd_x86.h"

/*
 * Integer dot of one super-block: q[g] holds the 32 unsigned quants of elements 32g..32g+31,
 * y the 256 int8 activations, sc16[j] the scale of elements 16j..16j+15. Gives 8 int32
 * partial sums of sum_j sc16[j] * sum(q * y). maddubs cannot saturate: quants are at most
 * 63 and |y| at most 128, so a pair sums to at most 16128.
 *
 * In two steps: the weight side made into registers once (lqi_qk_w256 / lqi_qk_w512, also
 * reused by the multi-token kernels for every activation row), then the multiplies. The
 * single-row kernels go through the same two steps, so both compute the same lanes.
 */
struct lqi_qk_w256 {
    __m256i q[8];
    __m256i s[8]; /* the scales of group g's two halves of 16, as int16 */
};

static inline LQI_AVX2 void lqi_qk_w_avx2(const __m256i q[8], const int16_t sc16[16],
                                          struct lqi_qk_w256 *w)
{
    for (int g = 0; g < 8; ++g) {
        w->q[g] = q[g];
        w->s[g] = _mm256_set_m128i(_mm_set1_epi16(sc16[2 * g + 1]), _mm_set1_epi16(sc16[2 * g]));
    }
}

static inline LQI_AVX2 __m256i lqi_qk_wdot_avx2(const struct lqi_qk_w256 *w, const int8_t *y)
{
    __m256i acc = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
        __m256i yv = _mm256_loadu_si256((const __m256i *)(y + 32 * g));
        __m256i p = _mm256_maddubs_epi16(w->q[g], yv);
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, w->s[g]));
    }
    return acc;
}

/* The same with 512-bit multiplies: groups 2p and 2p+1 are joined into one register, each
 * 128-bit lane taking the scale of its 16 elements. */
struct lqi_qk_w512 {
    __m512i q[4];
    __m512i s[4];
};

static inline LQI_AVX512 void lqi_qk_w_avx512(const __m256i q[8], const int16_t sc16[16],
                                              struct lqi_qk_w512 *w)
{
    const __m512i lane_idx = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1,
                                              1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    for (int p = 0; p < 4; ++p) {
        w->q[p] = lqi_join256(q[2 * p], q[2 * p + 1]);
        __m128i s4 = _mm_loadl_epi64((const __m128i *)(sc16 + 4 * p));
        w->s[p] = _mm512_permutexvar_epi16(lane_idx, _mm512_castsi128_si512(s4));
    }
}

static inline LQI_AVX512 __m512i lqi_qk_wdot_avx512(const struct lqi_qk_w512 *w, const int8_t *y)
{
    __m512i acc = _mm512_setzero_si512();
    for (int p = 0; p < 4; ++p) {
        __m512i yz = _mm512_loadu_si512((const void *)(y + 64 * p));
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(w->q[p], yz), w->s[p]));
    }
    return acc;
}

static inline LQI_AVX2 __m256i lqi_qk_dot_avx2(const __m256i q[8], const int8_t *y,
                                               const int16_t sc16[16])
{
    __m256i acc = _mm256_setzero_si256();
    for (int g = 0; g < 8; ++g) {
        __m256i yv = _mm256_loadu_si256((const __m256i *)(y + 32 * g));
        __m256i p = _mm256_maddubs_epi16(q[g], yv);
        __m256i s = _mm256_set_m128i(_mm_set1_epi16(sc16[2 * g + 1]), _mm_set1_epi16(sc16[2 * g]));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, s));
    }
    return acc;
}

static inline LQI_AVX512 __m512i lqi_qk_dot_avx512(const __m256i q[8], const int8_t *y,
                                                   const int16_t sc16[16])
{
    const __m512i lane_idx = _mm512_set_epi16(3, 3, 3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1,
                                              1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512i acc = _mm512_setzero_si512();
    for (int p = 0; p < 4; ++p) {
        __m512i qz = lqi_join256(q[2 * p], q[2 * p + 1]);
        __m512i yz = _mm512_loadu_si512((const void *)(y + 64 * p));
        __m128i s4 = _mm_loadl_epi64((const __m128i *)(sc16 + 4 * p));
        __m512i sz = _mm512_permutexvar_epi16(lane_idx, _mm512_castsi128_si512(s4));
        acc = _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(qz, yz), sz));
    }
    return acc;
}

/* 512-bit accumulator folded to 256 bits, so both paths finish alike. */
static inline LQI_AVX512 __m256i lqi_fold512(__m512i v)
{
    return _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
}

/* One super-block made ready for lqi_qk_dot_*: the unsigned quants, the scale of each group
 * of 16, the float factor of the integer dot and the float term to subtract (the mins or
 * the quant offset times the activation sums). */
struct lqi_qk_prep {
    __m256i q[8];
    int16_t sc16[16];
    float d;
    float off;
    /* Filled by the split preparers (UNPACK below) only: the weight of each activation
     * group sum of 16 (y->bsums) in the offset term, and the block's fp16 factors. */
    int16_t m16[16];
    float xd;
    float xm;
};

/* sum_j a[j] * b[j] over 16 int16 (exact: the products of scales or mins and bsums stay far
 * inside int32). */
static inline LQI_AVX2_NOFMA int lqi_dot_i16x16(const int16_t a[16], const int16_t b[16])
{
    int sum = 0;
    for (int j = 0; j < 16; ++j) {
        sum += a[j] * b[j];
    }
    return sum;
}

/*
 * Defines static dot_<T>_q8_K_avx2 and dot_<T>_q8_K_avx512 from a per-type
 * PREP(const BLOCK *x, const block_q8_K *y, struct lqi_qk_prep *p) (an AVX2 inline): the
 * two kernels differ only in the integer dot they call.
 */
#define LQI_QK_DOT_SIMD_KERNEL(T, BLOCK, PREP, ATTR, DOT, FOLD, SUFFIX)                            \
    static ATTR void dot_##T##_q8_K_##SUFFIX(int64_t n, float *restrict s,                         \
                                             const void *restrict vx, const void *restrict vy)     \
    {                                                                                              \
        const BLOCK *x = vx;                                                                       \
        const block_q8_K *y = vy;                                                                  \
        __m256 acc = _mm256_setzero_ps();                                                          \
        float off = 0;                                                                             \
        for (int64_t i = 0; i < n / QK_K; ++i) {                                                   \
            struct lqi_qk_prep p;                                                                  \
            PREP(&x[i], &y[i], &p);                                                                \
            __m256i isum = FOLD(DOT(p.q, y[i].qs, p.sc16));                                        \
            acc = _mm256_fmadd_ps(_mm256_set1_ps(p.d), _mm256_cvtepi32_ps(isum), acc);             \
            off += p.off;                                                                          \
        }                                                                                          \
        *s = lqi_hsum_f32x8(acc) - off;                                                            \
    }

#define LQI_QK_IDENTITY(v) (v)

#define LQI_QK_DOT_KERNELS(T, BLOCK, PREP)                                                         \
    LQI_QK_DOT_SIMD_KERNEL(T, BLOCK, PREP, LQI_AVX2, lqi_qk_dot_avx2, LQI_QK_IDENTITY, avx2)       \
    LQI_QK_DOT_SIMD_KERNEL(T, BLOCK, PREP, LQI_AVX512, lqi_qk_dot_avx512, lqi_fold512, avx512)

/* q4_K / q5_K: the scale (sc16) and min (m16) of each group of 16 and the fp16 factors. */
static inline LQI_AVX2_NOFMA void lqi_qk_k4_unpack_scales(const uint8_t q[K_SCALE_SIZE], uint16_t d,
                                                          uint16_t dmin, struct lqi_qk_prep *p)
{
    for (int g = 0; g < 8; ++g) {
        uint8_t sc, m;
        lqi_get_scale_min_k4(g, q, &sc, &m);
        p->sc16[2 * g] = p->sc16[2 * g + 1] = sc;
        p->m16[2 * g] = p->m16[2 * g + 1] = m;
    }
    p->xd = lq_fp16_to_fp32(d);
    p->xm = lq_fp16_to_fp32(dmin);
}

/* q4_K / q5_K per activation row: the mins times the activation sums are the offset (the
 * same integer as lqi_qk_k4_scales' and the same float products as its callers did). */
static inline LQI_AVX2_NOFMA void lqi_qk_k4_factors(const block_q8_K *y, struct lqi_qk_prep *p)
{
    int summ = lqi_dot_i16x16(p->m16, y->bsums);
    p->d = p->xd * y->d;
    p->off = p->xm * y->d * (float)summ;
}

/* Types whose signed values v enter as unsigned quants v + bias (IQ3, ternary): the scale of
 * each group of 16, bias times it as the weight of each activation sum, and the block's float
 * factor, so that lqi_qk_k4_factors takes the bias back out exactly (integer sums). */
static inline LQI_AVX2_NOFMA void lqi_qk_biased_scales(const int16_t sc16[16], int bias, float xd,
                                                       struct lqi_qk_prep *p)
{
    for (int j = 0; j < 16; ++j) {
        p->sc16[j] = sc16[j];
        p->m16[j] = (int16_t)(bias * sc16[j]);
    }
    p->xd = p->xm = xd;
}

/*
 * Defines static dot_multi_<T>_q8_K_avx2 / _avx512 (lq_vec_dot_multi_fn) from a split
 * preparer: UNPACK(const BLOCK *x, struct lqi_qk_prep *p) fills q, sc16, m16, xd and xm
 * once per weight block, FACTORS(const block_q8_K *y, struct lqi_qk_prep *p) then d and off
 * for each activation row. The single kernels' PREP must be UNPACK then FACTORS: each row
 * then sees the same integer sums and the same float operations in the same order as
 * dot_<T>_q8_K_<SUFFIX>, hence bit-identical results.
 */
#define LQI_QK_DOT_MULTI_SIMD_KERNEL(T, BLOCK, UNPACK, FACTORS, ATTR, WTYPE, WPREP, WDOT, FOLD,    \
                                     SUFFIX)                                                       \
    static ATTR void dot_multi_##T##_q8_K_##SUFFIX(                                                \
        int64_t n, float *restrict s, const void *restrict vx, const void *restrict vy,            \
        size_t y_stride, int n_tok)                                                                \
    {                                                                                              \
        const BLOCK *x = vx;                                                                       \
        __m256 acc[LQ_VEC_DOT_MULTI_MAX];                                                          \
        float off[LQ_VEC_DOT_MULTI_MAX];                                                           \
        for (int t = 0; t < n_tok; ++t) {                                                          \
            acc[t] = _mm256_setzero_ps();                                                          \
            off[t] = 0;                                                                            \
        }                                                                                          \
        for (int64_t i = 0; i < n / QK_K; ++i) {                                                   \
            struct lqi_qk_prep p;                                                                  \
            UNPACK(&x[i], &p);                                                                     \
            WTYPE w;                                                                               \
            WPREP(p.q, p.sc16, &w);                                                                \
            for (int t = 0; t < n_tok; ++t) {                                                      \
                const block_q8_K *y = (const block_q8_K *)LQI_MULTI_ROW(vy, y_stride, t) + i;      \
                FACTORS(y, &p);                                                                    \
                __m256i isum = FOLD(WDOT(&w, y->qs));                                              \
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(p.d), _mm256_cvtepi32_ps(isum), acc[t]);   \
                off[t] += p.off;                                                                   \
            }                                                                                      \
        }                                                                                          \
        for (int t = 0; t < n_tok; ++t) {                                                          \
            s[t] = lqi_hsum_f32x8(acc[t]) - off[t];                                                \
        }                                                                                          \
    }

#define LQI_QK_DOT_MULTI_KERNELS(T, BLOCK, UNPACK, FACTORS)                                        \
    LQI_QK_DOT_MULTI_SIMD_KERNEL(T, BLOCK, UNPACK, FACTORS, LQI_AVX2, struct lqi_qk_w256,          \
                                 lqi_qk_w_avx2, lqi_qk_wdot_avx2, LQI_QK_IDENTITY, avx2)           \
    LQI_QK_DOT_MULTI_SIMD_KERNEL(T, BLOCK, UNPACK, FACTORS, LQI_AVX512, struct lqi_qk_w512,        \
                                 lqi_qk_w_avx512, lqi_qk_wdot_avx512, lqi_fold512, avx512)

/* Single and multi-token kernels of a biased type (see lqi_qk_biased_scales) from its
 * UNPACK(const BLOCK *x, struct lqi_qk_prep *p): the weight side, scales by
 * lqi_qk_biased_scales; the activation side is lqi_qk_k4_factors. */
#define LQI_QK_BIASED_DOT_KERNELS(T, BLOCK, UNPACK)                                                \
    static inline LQI_AVX2 void T##_prep(const BLOCK *x, const block_q8_K *y,                      \
                                         struct lqi_qk_prep *p)                                    \
    {                                                                                              \
        UNPACK(x, p);                                                                              \
        lqi_qk_k4_factors(y, p);                                                                   \
    }                                                                                              \
    LQI_QK_DOT_KERNELS(T, BLOCK, T##_prep)                                                         \
    LQI_QK_DOT_MULTI_KERNELS(T, BLOCK, UNPACK, lqi_qk_k4_factors)

// ---- one-row kernels of q4_K / q5_K / q6_K (decoding) ------------------------------------
/*
 * Written for one activation row, where the dot is all the work: scales and mins unpacked
 * in registers, nothing staged through memory. They compute the very integers of the
 * LQI_QK_DOT_KERNELS kernels (each of the eight int32 lanes sums the same products: bytes
 * 4l..4l+3 of every 32-element group, times their scale) and then the same float
 * operations in the same order, so their results are those kernels' and the multi-token
 * kernels' bit for bit (test_quants_dot_multi holds them to it).
 */

/* q4_K / q5_K: the eight 6-bit scales (bytes 0..7) and mins (bytes 8..15) of the 12 packed
 * bytes (lqi_get_scale_min_k4 for all eight groups at once). Groups 0..3 keep the low six
 * bits of bytes 0..3 (scales) and 4..7 (mins); groups 4..7 take their low four bits from
 * the nibbles of bytes 8..11 and their top two from the top bits of bytes 0..3 / 4..7. */
static inline LQI_AVX2 __m128i lqi_k4_scales_mins(const uint8_t q[K_SCALE_SIZE])
{
    uint32_t a, b, c;
    memcpy(&a, q, 4);
    memcpy(&b, q + 4, 4);
    memcpy(&c, q + 8, 4);
    const uint32_t sc_lo = a & 0x3f3f3f3fu, m_lo = b & 0x3f3f3f3fu;
    const uint32_t sc_hi = (c & 0x0f0f0f0fu) | ((a >> 2) & 0x30303030u);
    const uint32_t m_hi = ((c >> 4) & 0x0f0f0f0fu) | ((b >> 2) & 0x30303030u);
    return _mm_set_epi32((int)m_hi, (int)m_lo, (int)sc_hi, (int)sc_lo);
}

/* sum_g min[g] * (bsums[2g] + bsums[2g + 1]) from lqi_k4_scales_mins' bytes 8..15. */
static inline LQI_AVX2 int lqi_k4_min_sum(__m128i sm, const int16_t bsums[16])
{
    const __m256i m16 = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(sm, sm));
    return lqi_hsum_i32x8(
        _mm256_madd_epi16(m16, _mm256_loadu_si256((const __m256i *)bsums)));
}

/* pshufb indices that copy int16 element e_lo of the low 128-bit lane over that lane and
 * element e_hi of the high lane over that one (elements 0..7 of each lane). */
static inline LQI_AVX2 __m256i lqi_i16_spread_idx(int e_lo, int e_hi)
{
    return _mm256_set_m128i(_mm_set1_epi16((short)(0x0100 + 0x0202 * e_hi)),
                            _mm_set1_epi16((short)(0x0100 + 0x0202 * e_lo)));
}

/* The same for 512 bits: lanes 0-1 take element e_lo, lanes 2-3 element e_hi. */
static inline LQI_AVX512 __m512i lqi_i16_spread_idx512(int e_lo, int e_hi)
{
    return lqi_join256(lqi_i16_spread_idx(e_lo, e_lo), lqi_i16_spread_idx(e_hi, e_hi));
}

/* permutexvar indices giving 128-bit lane k the int16 element e0 + k, for k = 0..3. */
static inline LQI_AVX512 __m512i lqi_i16_lane_idx512(int e0)
{
    const __m512i lane = _mm512_set_epi64(0x0003000300030003, 0x0003000300030003,
                                          0x0002000200020002, 0x0002000200020002,
                                          0x0001000100010001, 0x0001000100010001, 0, 0);
    return _mm512_add_epi16(lane, _mm512_set1_epi16((short)e0));
}

#endif /* LQ_KQUANT_SIMD_H */
