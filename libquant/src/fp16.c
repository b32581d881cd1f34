/* fp16.c - float -> half / bfloat16 rounding and row conversions. */
#include "lq/fp16.h"

#include <string.h>

#include "quants/simd.h"
#if LQI_X86
#include "quants/simd_x86.h"
#endif

uint16_t lq_fp32_to_fp16(float f)
{
    uint32_t x = lq_f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffff;

    if (ax >= 0x7f800000) {
        if (ax == 0x7f800000) {
            return sign | 0x7c00;
        }
        /* NaN: keep the top payload bits; if they are all zero, force the quiet bit so
         * the result does not turn into infinity. */
        uint16_t man = (uint16_t)((ax >> 13) & 0x3ff);
        return sign | 0x7c00 | (man ? man : 0x200);
    }
    if (ax >= 0x477ff000) {
        /* >= 65520 rounds past the largest half (65504): infinity */
        return sign | 0x7c00;
    }
    if (ax < 0x38800000) {
        /* below the smallest normal half (2^-14): a subnormal count of 2^-24 units */
        if (ax < 0x33000000) {
            return sign; /* <= 2^-25 rounds to zero (2^-25 itself is a tie to even 0) */
        }
        uint32_t e = ax >> 23;
        uint32_t m = (ax & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e;
        uint32_t q = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) {
            q++;
        }
        return sign | (uint16_t)q;
    }
    /* normal: rebias the exponent by (127 - 15) and round the 13 dropped bits; a carry out
     * of the mantissa correctly bumps the exponent */
    uint32_t h = (ax - 0x38000000) >> 13;
    uint32_t rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) {
        h++;
    }
    return sign | (uint16_t)h;
}

uint16_t lq_fp32_to_bf16(float f)
{
    uint32_t u = lq_f32_bits(f);
    if ((u & 0x7fffffff) > 0x7f800000) {
        return (uint16_t)((u >> 16) | 64);
    }
    return (uint16_t)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

/* Halves read with memcpy: a GGUF file may align its tensors to 1 byte (general.alignment is
 * any power of two), so src need not be 2-byte aligned. */
static inline uint16_t load_u16(const uint16_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static void fp16_to_fp32_scalar(const uint16_t *restrict src, float *restrict dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        dst[i] = lq_fp16_to_fp32(load_u16(src + i));
    }
}

static void fp32_to_fp16_scalar(const float *restrict src, uint16_t *restrict dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        dst[i] = lq_fp32_to_fp16(src[i]);
    }
}

static void bf16_to_fp32_scalar(const uint16_t *restrict src, float *restrict dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        dst[i] = lq_bf16_to_fp32(load_u16(src + i));
    }
}

static void fp32_to_bf16_scalar(const float *restrict src, uint16_t *restrict dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        dst[i] = lq_fp32_to_bf16(src[i]);
    }
}

/* The same conversions 8 or 16 at a time (the forward pass converts every F16/BF16 weight
 * it multiplies). F16C's conversions round to nearest even like lq_fp32_to_fp16; chunks
 * holding a NaN take the scalar path, which keeps the payload as llama.cpp's does. */
#if LQI_X86
static LQI_AVX2 void fp16_to_fp32_avx2(const uint16_t *restrict src, float *restrict dst,
                                       int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + i))));
    }
    fp16_to_fp32_scalar(src + i, dst + i, n - i);
}

static LQI_AVX512 void fp16_to_fp32_avx512(const uint16_t *restrict src, float *restrict dst,
                                           int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(src + i))));
    }
    fp16_to_fp32_avx2(src + i, dst + i, n - i);
}

static LQI_AVX2 void fp32_to_fp16_avx2(const float *restrict src, uint16_t *restrict dst,
                                       int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(src + i);
        if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q))) {
            fp32_to_fp16_scalar(src + i, dst + i, 8);
            continue;
        }
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
    }
    fp32_to_fp16_scalar(src + i, dst + i, n - i);
}

static LQI_AVX2 void bf16_to_fp32_avx2(const uint16_t *restrict src, float *restrict dst,
                                       int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + i)));
        _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(h, 16)));
    }
    bf16_to_fp32_scalar(src + i, dst + i, n - i);
}

static LQI_AVX512 void bf16_to_fp32_avx512(const uint16_t *restrict src, float *restrict dst,
                                           int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m512i h = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(src + i)));
        _mm512_storeu_ps(dst + i, _mm512_castsi512_ps(_mm512_slli_epi32(h, 16)));
    }
    bf16_to_fp32_avx2(src + i, dst + i, n - i);
}

/* u + 0x7fff + ((u >> 16) & 1), the top half: lq_fp32_to_bf16's rounding, NaNs apart. */
static LQI_AVX2 void fp32_to_bf16_avx2(const float *restrict src, uint16_t *restrict dst,
                                       int64_t n)
{
    int64_t i = 0;
    const __m256i bias = _mm256_set1_epi32(0x7fff), one = _mm256_set1_epi32(1);
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(src + i);
        if (_mm256_movemask_ps(_mm256_cmp_ps(v, v, _CMP_UNORD_Q))) {
            fp32_to_bf16_scalar(src + i, dst + i, 8);
            continue;
        }
        const __m256i u = _mm256_castps_si256(v);
        const __m256i r = _mm256_add_epi32(
            u, _mm256_add_epi32(bias, _mm256_and_si256(_mm256_srli_epi32(u, 16), one)));
        const __m256i h = _mm256_srli_epi32(r, 16); /* 8 x 32-bit lanes < 65536 */
        const __m128i packed = _mm_packus_epi32(_mm256_castsi256_si128(h),
                                                _mm256_extracti128_si256(h, 1));
        _mm_storeu_si128((__m128i *)(dst + i), packed);
    }
    fp32_to_bf16_scalar(src + i, dst + i, n - i);
}
#endif

void lq_fp16_to_fp32_row(const uint16_t *restrict src, float *restrict dst, int64_t n)
{
    LQI_SIMD_CALL(fp16_to_fp32_avx512, fp16_to_fp32_avx2, fp16_to_fp32_scalar, src, dst, n);
}

void lq_fp32_to_fp16_row(const float *restrict src, uint16_t *restrict dst, int64_t n)
{
    LQI_SIMD_CALL(fp32_to_fp16_avx2, fp32_to_fp16_avx2, fp32_to_fp16_scalar, src, dst, n);
}

void lq_bf16_to_fp32_row(const uint16_t *restrict src, float *restrict dst, int64_t n)
{
    LQI_SIMD_CALL(bf16_to_fp32_avx512, bf16_to_fp32_avx2, bf16_to_fp32_scalar, src, dst, n);
}

void lq_fp32_to_bf16_row(const float *restrict src, uint16_t *restrict dst, int64_t n)
{
    LQI_SIMD_CALL(fp32_to_bf16_avx2, fp32_to_bf16_avx2, fp32_to_bf16_scalar, src, dst, n);
}
