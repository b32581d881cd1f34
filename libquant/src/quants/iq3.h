/*
 * iq3.h - the 3-bit lattice types IQ3_XXS and IQ3_S (internal; one file each, src/quants/
 * iq3_xxs.c and iq3_s.c, their grids in iq3_grid.c and shared search in iq3_search.c).
 *
 * Both store each group of 4 magnitudes as an index into a grid of points whose coordinates
 * are odd numbers 1..15 (2l + 1, l = 0..7), with one sign bit per value and a 4-bit scale per
 * 32 values under one fp16 scale per 256. IQ3_XXS: 256 grid points (8-bit index), 7 sign
 * bits per 8 values (the eighth makes the count of minus signs even), 3.0625 bits per weight.
 * IQ3_S: 512 points (9-bit index), 8 sign bits per 8 values, 3.4375 bits per weight.
 * Element counts are multiples of QK_K; the public entry points check that.
 */
#ifndef LQ_QUANTS_IQ3_H
#define LQ_QUANTS_IQ3_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quants/kblocks.h"
#include "quants/kquants.h"

typedef struct {
    uint16_t d;               /* fp16 super-block scale */
    uint8_t qs[3 * QK_K / 8]; /* 64 grid indices, then per 32 values a little-endian uint32:
                                 four 7-bit sign groups (bits 0..27) and the scale (28..31) */
} block_iq3_xxs;
static_assert(sizeof(block_iq3_xxs) == 98, "block_iq3_xxs must be 98 bytes");

typedef struct {
    uint16_t d;                /* fp16 super-block scale */
    uint8_t qs[QK_K / 4];      /* low 8 bits of the 64 grid indices */
    uint8_t qh[QK_K / 32];     /* ninth bit: index 8*i + k has bit k of qh[i] */
    uint8_t signs[QK_K / 8];   /* one bit per value, 1 = negative */
    uint8_t scales[QK_K / 64]; /* 4-bit scales, sub-block 2i low nibble, 2i + 1 high */
} block_iq3_s;
static_assert(sizeof(block_iq3_s) == 110, "block_iq3_s must be 110 bytes");

/* Longest neighbour list (the format's grids have at most 36 and 38). */
#define LQI_IQ3_MAX_NEIGHBOURS 48

/* A grid with its lookup structures, built once from the format's compact encoding. */
struct lqi_iq3_grid {
    const uint32_t *points;     /* point i: 4 bytes, coordinate 2l + 1 each (the search's) */
    const uint32_t *values;     /* point i as the format decodes it (ggml's iq3xxs_grid /
                                   iq3s_grid): IQ3_XXS's levels are 4 (2l + 1), except 62 for
                                   l = 7; IQ3_S's are 2l + 1 */
    const int32_t *map;         /* 4096 entries over (l0 | l1 << 3 | l2 << 6 | l3 << 9): the
                                   point's index, or -(offset + 1) into neighbours */
    const uint16_t *neighbours; /* per off-grid key: count n, then n point indices */
    const uint64_t *sign_masks; /* IQ3_XXS's 128 sign codes as 8 bytes each, 0xFF where
                                   minus (lqi_iq3_signs7 spread out) */
    int n_points;
    int n_neighbours; /* entries used in neighbours (tests) */
};

/* The 256-point grid of IQ3_XXS and the 512-point grid of IQ3_S; thread-safe, built on
 * first use. */
const struct lqi_iq3_grid *lqi_iq3_grid(int n_points);

/* Sign bits of a group of 8 values under IQ3_XXS's 7-bit code (ggml's ksigns_iq2xs): the
 * eighth bit is the parity of the other seven. */
static inline uint8_t lqi_iq3_signs7(unsigned s7)
{
    return (uint8_t)(s7 | ((unsigned)__builtin_parity(s7 & 127u) << 7));
}

/* The 32 signed values of a sub-block: the decoded grid values of its 8 groups idx[], negated
 * where bit i of the little-endian sign bits (value i) is set. |v| <= 62. */
static inline void lqi_iq3_signed32(const uint32_t *values, const uint16_t idx[8],
                                    const uint8_t signs[4], int8_t v[32])
{
    for (int g = 0; g < 8; ++g) {
        const uint8_t *pt = (const uint8_t *)&values[idx[g]];
        for (int j = 0; j < 4; ++j) {
            const int i = 4 * g + j;
            v[i] = (int8_t)((signs[i / 8] >> (i % 8)) & 1 ? -pt[j] : pt[j]);
        }
    }
}

/* The search that IQ3_XXS and IQ3_S share, per sub-block of 32 values (llama.cpp's
 * quantize_row_iq3_xxs_impl / quantize_row_iq3_s_impl, operation for operation). */
struct lqi_iq3_search {
    const struct lqi_iq3_grid *grid;
    int n_steps;        /* trial scales (15 + 0.2 * is) / max for is = -n_steps .. n_steps */
    bool start_on_grid; /* what "on grid" is before any trial wins (IQ3_XXS: true) */
    bool refit_all;     /* the refit after the trials redoes every group, not just the
                           off-grid ones (IQ3_S) */
};

/* xval: 32 magnitudes (max > 0), weight and waux = sqrt(weight): 32 error weights. Writes the
 * 8 grid indices and returns the scale (may be negative in theory; the caller flips). */
float lqi_iq3_search_block(const struct lqi_iq3_search *s, const float *xval, const float *weight,
                           const float *waux, uint16_t idx[8]);

/* The k-quants' kernel set (kquants.h), multi-token dot included. */
LQI_KQUANT_DECLARE(iq3_xxs)
LQI_KQUANT_DECLARE(iq3_s)
LQI_KQUANT_DECLARE_MULTI(iq3_xxs)
LQI_KQUANT_DECLARE_MULTI(iq3_s)

#endif /* LQ_QUANTS_IQ3_H */
