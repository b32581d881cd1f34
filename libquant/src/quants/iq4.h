/*
 * iq4.h - the 4-bit non-linear types IQ4_NL and IQ4_XS (internal; one file each,
 * src/quants/iq4_nl.c and iq4_xs.c, their shared scale search in iq4_common.c).
 *
 * Both store 4-bit indices into one fixed table of 16 int8 levels (lqi_iq4_levels, denser
 * near zero, as trained weights are); a value is scale * level[index]. IQ4_NL has one fp16
 * scale per 32 values (4.5 bits per weight), IQ4_XS one fp16 per 256 and a 6-bit signed
 * sub-scale per 32 (4.25 bits per weight). Element counts are multiples of the block size;
 * the public entry points check that.
 */
#ifndef LQ_QUANTS_IQ4_H
#define LQ_QUANTS_IQ4_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quants/kblocks.h"

#define QK4_NL 32
typedef struct {
    uint16_t d;             /* fp16 scale */
    uint8_t qs[QK4_NL / 2]; /* indices: low nibble element j, high nibble element j + 16 */
} block_iq4_nl;
static_assert(sizeof(block_iq4_nl) == 18, "block_iq4_nl must be 18 bytes");

typedef struct {
    uint16_t d;                  /* fp16 super-block scale */
    uint16_t scales_h;           /* bits 4..5 of sub-block ib's scale at bits 2ib..2ib+1 */
    uint8_t scales_l[QK_K / 64]; /* bits 0..3: sub-block 2i in the low nibble, 2i+1 high */
    uint8_t qs[QK_K / 2];        /* indices of each sub-block of 32, packed as block_iq4_nl */
} block_iq4_xs;
static_assert(sizeof(block_iq4_xs) == 136, "block_iq4_xs must be 136 bytes");

/* The 16 levels (a format constant: llama.cpp's kvalues_iq4nl). */
extern const int8_t lqi_iq4_levels[16];

/* Index of the level nearest v (lv: lqi_iq4_levels as floats), a tie going to the upper
 * level: what ggml's best_index_int8 bisection returns, NaN included (15), but without its
 * branches, which mispredict on every other value (IQ4_XS spent 90 % of its time there): the
 * upper level of v's bracket is one past the count of inner levels not above v, then the
 * same float comparison picks. */
static inline int lqi_iq4_nearest_in(const float lv[16], float v)
{
    int hi = 1;
#pragma GCC unroll 14
    for (int k = 1; k < 15; k++) {
        hi += !(v < lv[k]);
    }
    return v - lv[hi - 1] < lv[hi] - v ? hi - 1 : hi;
}

/* lqi_iq4_levels as floats, for lqi_iq4_nearest_in. */
static inline void lqi_iq4_levels_float(float lv[16])
{
    for (int k = 0; k < 16; k++) {
        lv[k] = (float)lqi_iq4_levels[k];
    }
}

/* Quantizes one super-block of n values (32: IQ4_NL, 256: IQ4_XS) in sub-blocks of 32, as
 * llama.cpp's quantize_row_iq4_nl_impl with ntry = 7 (what ggml_quantize_chunk and so
 * llama-quantize use, with or without weights): per sub-block, the scale whose weighted
 * least-squares fit is best among 15 trial scales; for n > 32 those scales are then coded
 * as 6-bit multiples of one fp16 and every index chosen again. qw: n importance weights or
 * NULL. Writes *d, q4 (n / 2 bytes) and, for n > 32, scales_h / scales_l. */
void lqi_iq4_quantize_superblock(int n, const float *restrict x, const float *restrict qw,
                                 uint16_t *d, uint8_t *restrict q4, uint16_t *scales_h,
                                 uint8_t *scales_l);

/* Sub-block ib's 6-bit IQ4_XS scale, minus its offset 32 (-32 .. 31). */
static inline int lqi_iq4_xs_scale(const block_iq4_xs *b, int ib)
{
    int ls = ((b->scales_l[ib / 2] >> 4 * (ib % 2)) & 0xf) | (((b->scales_h >> 2 * ib) & 3) << 4);
    return ls - 32;
}

#define LQI_DECLARE_IQ4(t)                                                                         \
    void lqi_quantize_row_##t##_ref(const float *restrict x, void *restrict y, int64_t k);         \
    void lqi_dequantize_row_##t(const void *restrict x, float *restrict y, int64_t k);             \
    size_t lqi_quantize_##t(const float *restrict src, void *restrict dst, int64_t nrow,           \
                            int64_t n_per_row, const float *imatrix);                              \
    bool lqi_validate_##t(const void *data, size_t nbytes);

LQI_DECLARE_IQ4(iq4_nl)
LQI_DECLARE_IQ4(iq4_xs)

/* IQ4_NL's slot for a fast path (the 32-element types' rows have one): the reference. */
void lqi_quantize_row_iq4_nl(const float *restrict x, void *restrict y, int64_t k);

#undef LQI_DECLARE_IQ4

/* Dots against the activation type of ggml-cpu (Q8_0 for IQ4_NL, Q8_K for IQ4_XS), single
 * row (lq_vec_dot_fn) and n_tok rows (lq_vec_dot_multi_fn). */
void lqi_vec_dot_iq4_nl_q8_0(int64_t n, float *restrict s, const void *restrict x,
                             const void *restrict y);
void lqi_vec_dot_multi_iq4_nl_q8_0(int64_t n, float *restrict s, const void *restrict x,
                                   const void *restrict y, size_t y_stride, int n_tok);
void lqi_vec_dot_iq4_xs_q8_K(int64_t n, float *restrict s, const void *restrict x,
                             const void *restrict y);
void lqi_vec_dot_multi_iq4_xs_q8_K(int64_t n, float *restrict s, const void *restrict x,
                                   const void *restrict y, size_t y_stride, int n_tok);

#endif /* LQ_QUANTS_IQ4_H */
