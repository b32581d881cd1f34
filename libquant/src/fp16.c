/* fp16.c - float -> half / bfloat16 rounding and row conversions. */
#include "lq/fp16.h"

#include <string.h>

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

void lq_fp16_to_fp32_row(const uint16_t *restrict src, float *restrict dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        dst[i] = lq_fp16_to_fp32(load_u16(src + i));
    }
}

void lq_fp32_to_fp16_row(const float *restrict src, uint16_t *restrict dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        dst[i] = lq_fp32_to_fp16(src[i]);
    }
}

void lq_bf16_to_fp32_row(const uint16_t *restrict src, float *restrict dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        dst[i] = lq_bf16_to_fp32(load_u16(src + i));
    }
}

void lq_fp32_to_bf16_row(const float *restrict src, uint16_t *restrict dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        dst[i] = lq_fp32_to_bf16(src[i]);
    }
}
