/*
 * iq3_simd.h - AVX2 unpacking shared by the IQ3_XXS and IQ3_S dot kernels (include only
 * where LQI_X86 is set). The k-quant dot machinery (kquant_simd.h) multiplies unsigned
 * quants by the activations, so a signed grid value v (|v| <= 62) enters as v + 64 (2..126:
 * maddubs pairs stay below 2 * 126 * 128 < 32768) and the 64 comes back out through the
 * activation sums, exactly, in integers.
 */
#ifndef LQ_QUANTS_IQ3_SIMD_H
#define LQ_QUANTS_IQ3_SIMD_H

#include "quants/iq3.h"
#include "quants/kquant_simd.h"

#define LQI_IQ3_BIAS 64

/* 32 signed values v + 64 from 8 grid indices (int32 lanes) and a byte mask, 0xFF where the
 * value is negative. */
static inline LQI_AVX2 __m256i lqi_iq3_biased32_masked(const uint32_t *values, __m256i idx,
                                                       __m256i neg)
{
    const __m256i u = _mm256_i32gather_epi32((const int *)values, idx, 4);
    const __m256i v = _mm256_sub_epi8(_mm256_xor_si256(u, neg), neg);
    return _mm256_add_epi8(v, _mm256_set1_epi8(LQI_IQ3_BIAS));
}

/* The same from 32 sign bits (1 = minus, little-endian bytes, bit i for value i). */
static inline LQI_AVX2 __m256i lqi_iq3_biased32(const uint32_t *values, __m256i idx,
                                                const uint8_t signs[4])
{
    return lqi_iq3_biased32_masked(values, idx, lqi_bits32(signs));
}

#endif /* LQ_QUANTS_IQ3_SIMD_H */
