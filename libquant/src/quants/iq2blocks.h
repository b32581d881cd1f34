/*
 * iq2blocks.h - block layouts of the 1- and 2-bit i-quants, byte for byte as GGUF stores
 * them (ggml-common.h). A block holds QK_K = 256 weights coded in groups of 8 as indices
 * into a lattice grid (iq2_grids.h). fp16 fields are IEEE half bits; uint16_t fields are
 * little-endian, as on every host libquant supports. The static_asserts pin the sizes.
 */
#ifndef LQ_QUANTS_IQ2BLOCKS_H
#define LQ_QUANTS_IQ2BLOCKS_H

#include <assert.h>
#include <stdint.h>

#include "quants/kblocks.h"

/* 2.0625 bpw. Per 32 weights, two uint32: the first holds four 8-bit grid indices (256-point
 * grid), the second four 7-bit sign patterns (bits 0..27) and a 4-bit scale s (28..31):
 * x = d * (0.5 + s) / 4 * grid * sign. */
typedef struct {
    uint16_t d;            /* fp16 super-block scale */
    uint16_t qs[QK_K / 8]; /* indices, signs and scales, as above */
} block_iq2_xxs;
static_assert(sizeof(block_iq2_xxs) == 66, "block_iq2_xxs must be 66 bytes");

/* 2.3125 bpw. Per 8 weights a uint16: 9-bit grid index (512 points), 7-bit sign pattern;
 * a 4-bit scale per 16 weights. */
typedef struct {
    uint16_t d;                /* fp16 super-block scale */
    uint16_t qs[QK_K / 8];     /* index | signs << 9 */
    uint8_t scales[QK_K / 32]; /* low nibble: first 16 weights of a 32, high: second */
} block_iq2_xs;
static_assert(sizeof(block_iq2_xs) == 74, "block_iq2_xs must be 74 bytes");

/* 2.5625 bpw. Per 8 weights a 10-bit grid index (1024 points: low 8 bits in qs, high 2 in
 * qh) and a full 8-bit sign byte; a 4-bit scale per 16 weights. */
typedef struct {
    uint16_t d;                /* fp16 super-block scale */
    uint8_t qs[QK_K / 4];      /* 32 index low bytes, then 32 sign bytes */
    uint8_t qh[QK_K / 32];     /* index high bits, 2 per group of 8, 4 groups per byte */
    uint8_t scales[QK_K / 32]; /* as block_iq2_xs */
} block_iq2_s;
static_assert(sizeof(block_iq2_s) == 82, "block_iq2_s must be 82 bytes");

/* 1.5625 bpw. Per 8 weights an 11-bit index into the 2048-point grid of -1/0/+1 vectors;
 * per 32 weights a uint16 qh: index high bits (3 per group, bits 0..11), 3-bit scale s
 * (12..14) and the sign of a shift (15): x = d * (2s + 1) * (grid +- 0.125). */
typedef struct {
    uint16_t d;             /* fp16 super-block scale */
    uint8_t qs[QK_K / 8];   /* index low bytes */
    uint16_t qh[QK_K / 32]; /* as above */
} block_iq1_s;
static_assert(sizeof(block_iq1_s) == 50, "block_iq1_s must be 50 bytes");

/* 1.75 bpw. As IQ1_S with a shift sign per 8 weights and a 3-bit scale per 16; the fp16
 * super-block scale is spread over the top nibbles of the four uint16 of scales. */
typedef struct {
    uint8_t qs[QK_K / 8];      /* index low bytes */
    uint8_t qh[QK_K / 16];     /* per group of 8: index high 3 bits, then the shift sign */
    uint8_t scales[QK_K / 32]; /* 4 little-endian uint16: 4 x 3-bit scales + a d nibble */
} block_iq1_m;
static_assert(sizeof(block_iq1_m) == 56, "block_iq1_m must be 56 bytes");

/* The shift of the IQ1 grids' levels (ggml's IQ1S_DELTA, IQ1M_DELTA). */
#define LQI_IQ1_DELTA 0.125f

#endif /* LQ_QUANTS_IQ2BLOCKS_H */
