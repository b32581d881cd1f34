/*
 * iq2_grids.h - the lattice grids of IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S and IQ1_M (internal).
 *
 * Each type codes 8 weights at once as an index into a grid of 8-vectors whose coordinates
 * take three levels l = 0, 1, 2. llama.cpp defines every grid by a compact uint16 per point
 * (two bits per coordinate, iq2_kgrids.c); from it we build, once per process:
 *   - the decode values the dequantizers and dots use: 8, 25, 43 for the IQ2 grids (times
 *     the block scale / 8) and -1, 0, +1 for the IQ1 grid, equal to ggml-common.h's tables;
 *   - for the quantizers, the grid in odd levels 2l + 1, the map from an 8-vector of levels
 *     (l in 0..3, 2 bits each) to its grid index, and for points off the grid the list of
 *     grid points nearest to it (llama.cpp's iq2xs_init_impl: all points among the nwant
 *     smallest squared distances, ordered by distance then index).
 * The tables are built lazily and thread-safely, and never freed.
 */
#ifndef LQ_QUANTS_IQ2_GRIDS_H
#define LQ_QUANTS_IQ2_GRIDS_H

#include <stdbool.h>
#include <stdint.h>

/* The four grids (IQ1_S and IQ1_M share one). */
enum lqi_iq2_grid_id {
    LQI_GRID_IQ2XXS, /* 256 points */
    LQI_GRID_IQ2XS,  /* 512 points */
    LQI_GRID_IQ2S,   /* 1024 points */
    LQI_GRID_IQ1S,   /* 2048 points */
    LQI_GRID_COUNT,
};

/* Size of the level map: every 8-vector of levels 0..2 packs below 0xAAAB. */
#define LQI_IQ2_KMAP_SIZE 43692

/* Compact definitions: point k's coordinate i is level (kgrid[k] >> 2i) & 3. */
extern const uint16_t lqi_iq2xxs_kgrid[256];
extern const uint16_t lqi_iq2xs_kgrid[512];
extern const uint16_t lqi_iq2s_kgrid[1024];
extern const uint16_t lqi_iq1s_kgrid[2048];

/* Decode values, one row of 8 per grid point (uint8 for the IQ2 grids, int8 for IQ1). */
struct lqi_iq2_decode {
    const uint8_t (*iq2xxs)[8];
    const uint8_t (*iq2xs)[8];
    const uint8_t (*iq2s)[8];
    const int8_t (*iq1s)[8];
    const uint8_t *ksigns;      /* 128: 7 sign bits plus an 8th that makes the count even */
    const uint64_t *sign_mask;  /* 256: byte i is 0xFF where bit i is set (SIMD negation) */
    const uint64_t *sign_mask7; /* 128: sign_mask of ksigns, for the 7-bit patterns */
};

/* The decode tables; built on first call, cheap afterwards. Never NULL. */
const struct lqi_iq2_decode *lqi_iq2_decode_tables(void);

/* What the quantizers search with. */
struct lqi_iq2_qgrid {
    int n;                   /* grid points */
    const int8_t (*grid)[8]; /* coordinates in odd levels 1, 3, 5 */
    const int32_t *map;      /* level vector -> index >= 0, or -(offset + 1) off the grid */
    const uint16_t *nbrs;    /* at offset: count, then that many grid indices */
};

/* The search tables of a grid, built on first call (about 1 MB for IQ1's; memory is the only
 * way this fails: NULL then, and a later call tries again). */
const struct lqi_iq2_qgrid *lqi_iq2_qgrid(enum lqi_iq2_grid_id id);

/* Packs 8 levels (0..3) two bits each, coordinate 0 lowest: the map's index. */
static inline uint16_t lqi_iq2_pack_levels(const int8_t L[8])
{
    uint16_t u = 0;
    for (int i = 0; i < 8; ++i) {
        u |= (uint16_t)(L[i] << 2 * i);
    }
    return u;
}

/* The neighbour list of level vector u (whose map entry is negative): count first. */
static inline const uint16_t *lqi_iq2_neighbours(const struct lqi_iq2_qgrid *g, uint16_t u)
{
    return g->nbrs + (-g->map[u] - 1);
}

#endif /* LQ_QUANTS_IQ2_GRIDS_H */
