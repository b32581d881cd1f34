/*
 * quant_common.h - helpers of the 32-element block quantizers, on top of the scale searches
 * shared with the k-quants (kquant_common.h: lqi_nearest_int, lqi_make_qx_quants,
 * lqi_make_qkx2/3_quants, lqi_validate_f16_scales). Like those, they keep ggml-quants.c's
 * float evaluation order, because llama.cpp's bytes depend on every rounding step.
 */
#ifndef LQ_QUANTS_QUANT_COMMON_H
#define LQ_QUANTS_QUANT_COMMON_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "quants/kquant_common.h"

/* Float -> int8_t / uint8_t as C's cast truncates, with the value x86-64 code gives for
 * NaN or out-of-range input (0, the low byte of cvttss2si's 0x80000000) instead of undefined
 * behaviour: rows with NaN/Inf come out as llama.cpp's do. */
static inline int8_t lqi_f2i8(float v)
{
    return (v > -129.0f && v < 128.0f) ? (int8_t)v : (int8_t)0;
}

static inline uint8_t lqi_f2u8(float v)
{
    return (v > -1.0f && v < 256.0f) ? (uint8_t)v : (uint8_t)0;
}

/* One Q8_0 block, shared with Q8_1: d = max|x| / 127 and qs[j] = round(x[j] / d) as
 * llama.cpp's quantize_row_q8_0_ref computes them. Returns d (before fp16 rounding). */
static inline float lqi_q8_block_ref(const float *restrict x, int8_t *restrict qs)
{
    float amax = 0.0f;
    for (int j = 0; j < 32; j++) {
        amax = LQI_MAX(amax, fabsf(x[j]));
    }
    const float d = amax / ((1 << 7) - 1);
    const float id = d ? 1.0f / d : 0.0f;
    for (int j = 0; j < 32; ++j) {
        qs[j] = lqi_f2i8(roundf(x[j] * id));
    }
    return d;
}

/* sigma2 of llama.cpp's importance-weighted legacy quantizers: mean of x^2 over the row,
 * accumulated in float in index order. */
float lqi_row_sigma2(const float *x, int64_t n);

/* weight[j] = qw[j] * sqrt(sigma2 + x[j]^2) for one block of n values. */
void lqi_block_weights(const float *restrict x, const float *restrict qw, float sigma2, int n,
                       float *restrict weight);

/* Packs 32 five-bit levels as Q5_0/Q5_1 store them: element j and j + 16 share byte j of
 * qs (low nibbles), bit j of the little-endian 32-bit qh holds element j's fifth bit. */
static inline void lqi_q5_pack(const uint8_t *restrict L, uint8_t *restrict qs,
                               uint8_t *restrict qh_out)
{
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
        qs[j] = (uint8_t)((L[j] & 0x0F) | ((L[j + 16] & 0x0F) << 4));
        qh |= ((L[j] & 0x10u) >> 4) << j;
        qh |= ((L[j + 16] & 0x10u) >> 4) << (j + 16);
    }
    for (int b = 0; b < 4; b++) {
        qh_out[b] = (uint8_t)(qh >> (8 * b));
    }
}

static inline uint32_t lqi_q5_high_bits(const uint8_t qh[4])
{
    return (uint32_t)qh[0] | ((uint32_t)qh[1] << 8) | ((uint32_t)qh[2] << 16) |
           ((uint32_t)qh[3] << 24);
}

/* Row quantizer with importance weights qw (n_per_row of them). */
typedef void (*lqi_row_impl_fn)(const float *restrict x, void *restrict y, int64_t n_per_row,
                                const float *restrict qw);

/* ggml's quantize_<type>: the reference quantizer over all rows when imatrix is NULL, else
 * impl row by row. Returns nrow * row_size. */
size_t lqi_quantize_rows_impl(void (*ref)(const float *restrict, void *restrict, int64_t),
                              lqi_row_impl_fn impl, size_t row_size, const float *restrict src,
                              void *restrict dst, int64_t nrow, int64_t n_per_row,
                              const float *imatrix);

#endif /* LQ_QUANTS_QUANT_COMMON_H */
