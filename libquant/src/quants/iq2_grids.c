/* iq2_grids.c - decode and search tables of the IQ2/IQ1 grids, built from their compact
 * definitions (iq2_grids.h says what each table holds). */
#include "quants/iq2_grids.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

// ---- decode tables ------------------------------------------------------------------------

static uint8_t dec_iq2xxs[256][8], dec_iq2xs[512][8], dec_iq2s[1024][8];
static int8_t dec_iq1s[2048][8];
static uint8_t ksigns[128];
static uint64_t sign_mask[256], sign_mask7[128];
static pthread_once_t decode_once = PTHREAD_ONCE_INIT;

static int level_of(uint16_t code, int i)
{
    return (code >> 2 * i) & 3;
}

static void expand_u8(const uint16_t *kgrid, int n, const uint8_t value[3], uint8_t (*out)[8])
{
    for (int k = 0; k < n; ++k) {
        for (int i = 0; i < 8; ++i) {
            out[k][i] = value[level_of(kgrid[k], i)];
        }
    }
}

static void build_decode(void)
{
    /* ggml's IQ2 decode values: the odd levels 1, 3, 5 scaled by about 8.4 and rounded */
    static const uint8_t iq2_values[3] = {8, 25, 43};
    expand_u8(lqi_iq2xxs_kgrid, 256, iq2_values, dec_iq2xxs);
    expand_u8(lqi_iq2xs_kgrid, 512, iq2_values, dec_iq2xs);
    expand_u8(lqi_iq2s_kgrid, 1024, iq2_values, dec_iq2s);
    for (int k = 0; k < 2048; ++k) {
        for (int i = 0; i < 8; ++i) {
            dec_iq1s[k][i] = (int8_t)(level_of(lqi_iq1s_kgrid[k], i) - 1);
        }
    }
    /* sign patterns of 8 with an even number of minus signs: the 8th is implied */
    for (int s = 0; s < 128; ++s) {
        ksigns[s] = (uint8_t)(s | (__builtin_popcount((unsigned)s) & 1) << 7);
    }
    for (int s = 0; s < 256; ++s) {
        for (int i = 0; i < 8; ++i) {
            sign_mask[s] |= (uint64_t)(s >> i & 1 ? 0xFF : 0x00) << 8 * i;
        }
    }
    for (int s = 0; s < 128; ++s) {
        sign_mask7[s] = sign_mask[ksigns[s]];
    }
}

const struct lqi_iq2_decode *lqi_iq2_decode_tables(void)
{
    static const struct lqi_iq2_decode tables = {
        .iq2xxs = dec_iq2xxs,
        .iq2xs = dec_iq2xs,
        .iq2s = dec_iq2s,
        .iq1s = dec_iq1s,
        .ksigns = ksigns,
        .sign_mask = sign_mask,
        .sign_mask7 = sign_mask7,
    };
    pthread_once(&decode_once, build_decode);
    return &tables;
}

// ---- search tables ------------------------------------------------------------------------

struct grid_def {
    const uint16_t *kgrid;
    int n;
    int nwant; /* distinct distances whose points make up a neighbour list */
};

static const struct grid_def grid_defs[LQI_GRID_COUNT] = {
    [LQI_GRID_IQ2XXS] = {lqi_iq2xxs_kgrid, 256, 2},
    [LQI_GRID_IQ2XS] = {lqi_iq2xs_kgrid, 512, 2},
    [LQI_GRID_IQ2S] = {lqi_iq2s_kgrid, 1024, 1},
    [LQI_GRID_IQ1S] = {lqi_iq1s_kgrid, 2048, 3},
};

/* Largest squared distance: 8 coordinates, odd levels 1..7 against 1..5. */
#define MAX_D2 (8 * 36)

static _Atomic(struct lqi_iq2_qgrid *) qgrids[LQI_GRID_COUNT];
static pthread_mutex_t qgrid_lock = PTHREAD_MUTEX_INITIALIZER;

/* Squared distances of one half (4 coordinates from `first`) of every level vector's low or
 * high byte to every grid point: d[a * n + j]. A full distance is the sum of the two halves'. */
static void half_distances(const int8_t (*grid)[8], int n, int first, uint16_t *d)
{
    for (int a = 0; a < 256; ++a) {
        for (int j = 0; j < n; ++j) {
            int d2 = 0;
            for (int k = 0; k < 4; ++k) {
                int diff = grid[j][first + k] - (2 * ((a >> 2 * k) & 3) + 1);
                d2 += diff * diff;
            }
            d[a * n + j] = (uint16_t)d2;
        }
    }
}

/* Distances of level vector u to every grid point, the histogram of them, and the largest
 * distance kept: that of the nwant-th distinct value (or the last one there is). */
static int nearest_cut(const uint16_t *lo, const uint16_t *hi, int n, int nwant, int u,
                       uint16_t *d2, int *count)
{
    int hist[MAX_D2 + 1] = {0};
    const uint16_t *a = lo + (u & 255) * n, *b = hi + (u >> 8) * n;
    for (int j = 0; j < n; ++j) {
        d2[j] = (uint16_t)(a[j] + b[j]);
        hist[d2[j]]++;
    }
    int have = 0, cut = 0, total = 0;
    for (int v = 0; v <= MAX_D2 && have < nwant; ++v) {
        if (hist[v]) {
            have++;
            cut = v;
            total += hist[v];
        }
    }
    *count = total;
    return cut;
}

/* Fills map and neighbour lists; nbrs NULL counts the entries needed instead. */
static size_t fill_neighbours(const struct grid_def *def, const uint16_t *lo, const uint16_t *hi,
                              int32_t *map, uint16_t *nbrs, uint16_t *d2)
{
    size_t used = 0;
    for (int u = 0; u < LQI_IQ2_KMAP_SIZE; ++u) {
        if (map[u] >= 0) {
            continue;
        }
        int count;
        int cut = nearest_cut(lo, hi, def->n, def->nwant, u, d2, &count);
        if (nbrs) {
            map[u] = -(int32_t)used - 1;
            uint16_t *out = nbrs + used;
            *out++ = (uint16_t)count;
            for (int v = 0; v <= cut; ++v) { /* by distance, then by index */
                for (int j = 0; j < def->n; ++j) {
                    if (d2[j] == v) {
                        *out++ = (uint16_t)j;
                    }
                }
            }
        }
        used += 1 + (size_t)count;
    }
    return used;
}

static struct lqi_iq2_qgrid *build_qgrid(const struct grid_def *def)
{
    struct lqi_iq2_qgrid *g = calloc(1, sizeof *g);
    int8_t(*grid)[8] = malloc(sizeof(*grid) * (size_t)def->n);
    int32_t *map = malloc(sizeof(int32_t) * LQI_IQ2_KMAP_SIZE);
    uint16_t *lo = malloc(sizeof(uint16_t) * 256 * (size_t)def->n);
    uint16_t *hi = malloc(sizeof(uint16_t) * 256 * (size_t)def->n);
    uint16_t *d2 = malloc(sizeof(uint16_t) * (size_t)def->n);
    uint16_t *nbrs = NULL;
    if (!g || !grid || !map || !lo || !hi || !d2) {
        goto out_fail;
    }
    for (int u = 0; u < LQI_IQ2_KMAP_SIZE; ++u) {
        map[u] = -1;
    }
    for (int k = 0; k < def->n; ++k) {
        for (int i = 0; i < 8; ++i) {
            grid[k][i] = (int8_t)(2 * level_of(def->kgrid[k], i) + 1);
        }
        map[def->kgrid[k]] = k; /* the compact code is the packed level vector */
    }
    half_distances((const int8_t(*)[8])grid, def->n, 0, lo);
    half_distances((const int8_t(*)[8])grid, def->n, 4, hi);
    size_t total = fill_neighbours(def, lo, hi, map, NULL, d2);
    nbrs = malloc(sizeof(uint16_t) * total);
    if (!nbrs) {
        goto out_fail;
    }
    fill_neighbours(def, lo, hi, map, nbrs, d2);
    *g = (struct lqi_iq2_qgrid){.n = def->n, .grid = grid, .map = map, .nbrs = nbrs};
    free(lo);
    free(hi);
    free(d2);
    return g;
out_fail:
    free(nbrs);
    free(d2);
    free(hi);
    free(lo);
    free(map);
    free(grid);
    free(g);
    return NULL;
}

const struct lqi_iq2_qgrid *lqi_iq2_qgrid(enum lqi_iq2_grid_id id)
{
    struct lqi_iq2_qgrid *g = atomic_load_explicit(&qgrids[id], memory_order_acquire);
    if (g) {
        return g;
    }
    pthread_mutex_lock(&qgrid_lock);
    g = atomic_load_explicit(&qgrids[id], memory_order_relaxed);
    if (!g) {
        g = build_qgrid(&grid_defs[id]);
        atomic_store_explicit(&qgrids[id], g, memory_order_release);
    }
    pthread_mutex_unlock(&qgrid_lock);
    return g;
}
