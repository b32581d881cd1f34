/*
 * kblocks.h - block layouts of the k-quants, byte for byte as GGUF stores them (ggml-common.h).
 *
 * A super-block holds QK_K = 256 weights. fp16 fields are IEEE half bits in a uint16_t
 * (little-endian hosts only, as ggml). The static_asserts pin the on-disk sizes.
 */
#ifndef LQ_KBLOCKS_H
#define LQ_KBLOCKS_H

#include <assert.h>
#include <stdint.h>

#define QK_K 256
#define K_SCALE_SIZE 12 /* 8 six-bit scales + 8 six-bit mins, packed (see get_scale_min_k4) */

/* 2-bit: 16 sub-blocks of 16, 4-bit scale (low nibble) and 4-bit min (high nibble) each.
 * x = d * sc * q - dmin * m. 2.625 bits per weight. */
typedef struct {
    uint8_t scales[QK_K / 16]; /* scale | min << 4 per sub-block */
    uint8_t qs[QK_K / 4];      /* 2-bit quants, 4 per byte */
    uint16_t d;                /* fp16 super-block scale of the scales */
    uint16_t dmin;             /* fp16 super-block scale of the mins */
} block_q2_K;
static_assert(sizeof(block_q2_K) == 84, "block_q2_K must be 84 bytes");

/* 3-bit: 16 sub-blocks of 16, 6-bit signed scales. x = d * (sc - 32) * (q - 4).
 * 3.4375 bits per weight. */
typedef struct {
    uint8_t hmask[QK_K / 8]; /* high (third) bit of each quant */
    uint8_t qs[QK_K / 4];    /* low 2 bits, 4 per byte */
    uint8_t scales[12];      /* 16 six-bit scales: low nibbles in 0..7, high pairs in 8..11 */
    uint16_t d;              /* fp16 super-block scale */
} block_q3_K;
static_assert(sizeof(block_q3_K) == 110, "block_q3_K must be 110 bytes");

/* 4-bit: 8 sub-blocks of 32, 6-bit scale and min each. x = d * sc * q - dmin * m.
 * 4.5 bits per weight. */
typedef struct {
    uint16_t d;                   /* fp16 super-block scale of the scales */
    uint16_t dmin;                /* fp16 super-block scale of the mins */
    uint8_t scales[K_SCALE_SIZE]; /* scales and mins, 6 bits each */
    uint8_t qs[QK_K / 2];         /* 4-bit quants */
} block_q4_K;
static_assert(sizeof(block_q4_K) == 144, "block_q4_K must be 144 bytes");

/* 5-bit: as q4_K plus one high bit per quant. 5.5 bits per weight. */
typedef struct {
    uint16_t d;                   /* fp16 super-block scale of the scales */
    uint16_t dmin;                /* fp16 super-block scale of the mins */
    uint8_t scales[K_SCALE_SIZE]; /* scales and mins, 6 bits each */
    uint8_t qh[QK_K / 8];         /* high bit of each quant */
    uint8_t qs[QK_K / 2];         /* low 4 bits */
} block_q5_K;
static_assert(sizeof(block_q5_K) == 176, "block_q5_K must be 176 bytes");

/* 6-bit: 16 sub-blocks of 16, 8-bit signed scales. x = d * sc * (q - 32).
 * 6.5625 bits per weight. */
typedef struct {
    uint8_t ql[QK_K / 2];     /* low 4 bits of the quants */
    uint8_t qh[QK_K / 4];     /* high 2 bits */
    int8_t scales[QK_K / 16]; /* 8-bit scales */
    uint16_t d;               /* fp16 super-block scale */
} block_q6_K;
static_assert(sizeof(block_q6_K) == 210, "block_q6_K must be 210 bytes");

/* 8-bit activations for the k-quant dot products; d is a plain float. */
typedef struct {
    float d;                  /* scale */
    int8_t qs[QK_K];          /* quants */
    int16_t bsums[QK_K / 16]; /* sum of the quants in each group of 16 */
} block_q8_K;
static_assert(sizeof(block_q8_K) == 292, "block_q8_K must be 292 bytes");

#endif /* LQ_KBLOCKS_H */
