/*
 * ternary.h - the ternary types TQ1_0 and TQ2_0 (internal; one file each, src/quants/tq1_0.c
 * and tq2_0.c), made for BitNet b1.58 / TriLM weights: every value is d * t with t in
 * {-1, 0, 1} and one fp16 d = max|x| per 256. TQ1_0 packs 5 trits per byte (1.6875 bits per
 * weight), TQ2_0 stores each trit + 1 in 2 bits (2.0625). llama.cpp ignores importance
 * weights for both. Element counts are multiples of QK_K; the public entry points check.
 */
#ifndef LQ_QUANTS_TERNARY_H
#define LQ_QUANTS_TERNARY_H

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quants/kblocks.h"
#include "quants/kquants.h"

typedef struct {
    uint8_t qs[(QK_K - 4 * QK_K / 64) / 5]; /* 240 values, 5 trits per byte (base-3 fixed
                                                point: byte = ceil(v * 256 / 243)) */
    uint8_t qh[QK_K / 64];                  /* the last 16 values, 4 trits per byte */
    uint16_t d;                             /* fp16 scale */
} block_tq1_0;
static_assert(sizeof(block_tq1_0) == 54, "block_tq1_0 must be 54 bytes");

typedef struct {
    uint8_t qs[QK_K / 4]; /* t + 1 in 2 bits; byte 32j + m holds values 128j + 32n + m at
                             bits 2n (n = 0..3) */
    uint16_t d;           /* fp16 scale */
} block_tq2_0;
static_assert(sizeof(block_tq2_0) == 66, "block_tq2_0 must be 66 bytes");

/* t + 1 for v = x / max|x| (0, 1 or 2), rounding halves away from zero as lroundf. Values
 * lroundf cannot represent (NaN, from a non-finite block) give 1 as x86-64 llama.cpp's
 * conversion of its out-of-range result does. */
static inline int lqi_trit(float v)
{
    return fabsf(v) < 2147483648.f ? (int)lroundf(v) + 1 : 1;
}

/* max |x| over the QK_K values of a block, scanned as llama.cpp's MAX macro does. */
static inline float lqi_tq_amax(const float *x)
{
    float amax = 0.0f;
    for (int j = 0; j < QK_K; j++) {
        const float a = fabsf(x[j]);
        amax = amax > a ? amax : a;
    }
    return amax;
}

/* The k-quants' kernel set (kquants.h), multi-token dot included. */
LQI_KQUANT_DECLARE(tq1_0)
LQI_KQUANT_DECLARE(tq2_0)
LQI_KQUANT_DECLARE_MULTI(tq1_0)
LQI_KQUANT_DECLARE_MULTI(tq2_0)

#endif /* LQ_QUANTS_TERNARY_H */
