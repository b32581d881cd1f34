/*
 * kquant_x8.h - lane helpers of the eight-sub-blocks-at-once scale searches
 * (kquant_qkx_x8.c, kquant_qx_x8.c): lane j of a register holds sub-block j, and every
 * lane performs the scalar search's float operations in the scalar order, so results are
 * bit-identical. Include only where LQI_X86 is set.
 */
#ifndef LQ_QUANTS_KQUANT_X8_H
#define LQ_QUANTS_KQUANT_X8_H

#include "quants/simd_x86.h"

/* ggml's nearest_int (add 1.5 * 2^23, keep the mantissa), lane by lane. */
static inline LQI_AVX2_NOFMA __m256i x8_nearest_int(__m256 v)
{
    __m256i bits = _mm256_castps_si256(_mm256_add_ps(v, _mm256_set1_ps(12582912.f)));
    return _mm256_sub_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                            _mm256_set1_epi32(0x00400000));
}

/* Element i of each of the eight sub-blocks of n. */
static inline LQI_AVX2_NOFMA __m256 x8_lanes(const float *p, int n, int i)
{
    return _mm256_setr_ps(p[i], p[n + i], p[2 * n + i], p[3 * n + i], p[4 * n + i], p[5 * n + i],
                          p[6 * n + i], p[7 * n + i]);
}

static inline LQI_AVX2_NOFMA __m256 x8_blend(__m256 a, __m256 b, __m256 take_b)
{
    return _mm256_blendv_ps(a, b, take_b);
}

#endif /* LQ_QUANTS_KQUANT_X8_H */
