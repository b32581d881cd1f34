/*
 * lq/fp16.h - IEEE half (F16) and bfloat16 (BF16) conversions.
 *
 * Both are stored as uint16_t. float -> half/bf16 rounds to nearest, ties to even; NaN stays
 * NaN (payload kept where it fits, quiet bit forced only when the payload would vanish),
 * infinities and subnormals are exact. half/bf16 -> float is exact for every input.
 * All functions are pure and thread-safe.
 */
#ifndef LQ_FP16_H
#define LQ_FP16_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lq/core.h"

#ifdef __cplusplus
extern "C" {
#endif

static inline uint32_t lq_f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static inline float lq_f32_from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Half -> float, exact (subnormals normalised, NaN payload shifted into place). */
static inline float lq_fp16_to_fp32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    if (exp == 0x1f) {
        return lq_f32_from_bits(sign | 0x7f800000 | (man << 13));
    }
    if (exp == 0) {
        /* zero or subnormal: man * 2^-24, exact in float */
        float v = (float)man * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    return lq_f32_from_bits(sign | ((exp + 112) << 23) | (man << 13));
}

/* BF16 -> float: the upper half of a float, exact. */
static inline float lq_bf16_to_fp32(uint16_t h)
{
    return lq_f32_from_bits((uint32_t)h << 16);
}

/* Float -> half, round to nearest even. */
LQ_API uint16_t lq_fp32_to_fp16(float f);

/* Float -> BF16, round to nearest even; NaN made quiet (as ggml and llama.cpp's converter). */
LQ_API uint16_t lq_fp32_to_bf16(float f);

/* Row conversions (n elements; src and dst must not overlap). */
/* Rows of n values. The half/bf16 sources of the _to_fp32 rows may be misaligned (a GGUF file
 * may align its data to 1 byte). */
LQ_API void lq_fp16_to_fp32_row(const uint16_t *src, float *dst, int64_t n);
LQ_API void lq_fp32_to_fp16_row(const float *src, uint16_t *dst, int64_t n);
LQ_API void lq_bf16_to_fp32_row(const uint16_t *src, float *dst, int64_t n);
LQ_API void lq_fp32_to_bf16_row(const float *src, uint16_t *dst, int64_t n);

#ifdef __cplusplus
}
#endif
#endif /* LQ_FP16_H */
