/*
 * kquant_simd.h - AVX2 / AVX-512 building blocks of the k-quant dot kernels. Include only
 * where LQI_X86 is set; the kernels are called through LQI_SIMD_CALL (quants/simd.h), so
 * they run only at the level lq_simd_level_set() allows and the CPU supports.
 */
#ifndef LQ_KQUANT_SIMD_H
#define LQ_KQUANT_SIMD_H

#include <stdint.h>

#include "quants/kblocks.h"
#include "quants/simd_x86.h"

/*
 * Integer dot of one super-block: q[g] holds the 32 unsigned quants of elements 32g..32g+31,
 * y the 256 int8 activations, sc16[j] the scale of elements 16j..16j+15. Returns 8 int32
 * partial sums of sum_j sc16[j] * sum(q * y). maddubs cannot saturate: quants are at most
 * 63 and |y| at most 128, so a pair sums to at most 16128.
 */
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

/* The same with 512-bit multiplies: groups 2p and 2p+1 are joined into one register, each
 * 128-bit lane taking the scale of its 16 elements. */
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
};

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

#endif /* LQ_KQUANT_SIMD_H */
