/*
 * blocks.h - the 32-element block types in GGUF byte layout (ggml's names and fields).
 *
 * A block stores QK values as small integers q with one or two fp16 parameters:
 *   _0 types: x ~ d * (q - offset)     (symmetric, signed range)
 *   _1 types: x ~ d * q + m            (affine, unsigned range)
 * fp16 fields are raw IEEE half bits (uint16_t), little-endian on disk like everything in
 * GGUF; the structs have no padding, and the static_asserts pin their sizes to ggml's.
 */
#ifndef LQ_QUANTS_BLOCKS_H
#define LQ_QUANTS_BLOCKS_H

#include <assert.h>
#include <stdint.h>

#define QK4_0 32
typedef struct {
    uint16_t d;            /* fp16 scale */
    uint8_t qs[QK4_0 / 2]; /* nibbles: low = element j, high = element j + 16; q - 8 */
} block_q4_0;              /* 4.5 bits per weight */
static_assert(sizeof(block_q4_0) == 2 + QK4_0 / 2, "wrong q4_0 block size/padding");

#define QK4_1 32
typedef struct {
    uint16_t d;            /* fp16 scale */
    uint16_t m;            /* fp16 minimum (offset) */
    uint8_t qs[QK4_1 / 2]; /* nibbles as q4_0, unsigned */
} block_q4_1;              /* 5 bits per weight */
static_assert(sizeof(block_q4_1) == 2 * 2 + QK4_1 / 2, "wrong q4_1 block size/padding");

#define QK5_0 32
typedef struct {
    uint16_t d;            /* fp16 scale */
    uint8_t qh[4];         /* bit j = fifth bit of element j (little-endian uint32) */
    uint8_t qs[QK5_0 / 2]; /* low four bits, packed as q4_0; q - 16 */
} block_q5_0;              /* 5.5 bits per weight */
static_assert(sizeof(block_q5_0) == 2 + 4 + QK5_0 / 2, "wrong q5_0 block size/padding");

#define QK5_1 32
typedef struct {
    uint16_t d;            /* fp16 scale */
    uint16_t m;            /* fp16 minimum (offset) */
    uint8_t qh[4];         /* fifth bits, as q5_0 */
    uint8_t qs[QK5_1 / 2]; /* low four bits, packed as q4_0, unsigned */
} block_q5_1;              /* 6 bits per weight */
static_assert(sizeof(block_q5_1) == 2 * 2 + 4 + QK5_1 / 2, "wrong q5_1 block size/padding");

#define QK8_0 32
typedef struct {
    uint16_t d;        /* fp16 scale */
    int8_t qs[QK8_0];  /* signed quants, -127..127 */
} block_q8_0;          /* 8.5 bits per weight */
static_assert(sizeof(block_q8_0) == 2 + QK8_0, "wrong q8_0 block size/padding");

#define QK8_1 32
typedef struct {
    uint16_t d;        /* fp16 scale */
    uint16_t s;        /* fp16 of d * sum(qs): lets q4_1/q5_1 dots fold in their minimum */
    int8_t qs[QK8_1];  /* signed quants, -127..127 */
} block_q8_1;          /* 9 bits per weight; an activation type */
static_assert(sizeof(block_q8_1) == 2 * 2 + QK8_1, "wrong q8_1 block size/padding");

#endif /* LQ_QUANTS_BLOCKS_H */
