/*
 * iq1_search.h - pieces of the IQ1_S and IQ1_M quantizers (ports of ggml-quants.c; float
 * operation order is part of the byte-exact contract, keep it).
 */
#ifndef LQ_QUANTS_IQ1_SEARCH_H
#define LQ_QUANTS_IQ1_SEARCH_H

#include <stdint.h>

#include "quants/iq2_grids.h"

/* The three levels of the IQ1 grids shifted up (+1/8) and down (-1/8). */
extern const float lqi_iq1_xp[3], lqi_iq1_xm[3];

/* idx[0..n) = the positions of x[0..n) in ascending order of value, equal values in
 * position order. ggml sorts with qsort, which glibc implements as a stable merge sort for
 * arrays this small; a stable sort's order is unique, so any stable sort matches it. */
void lqi_iq1_sort(const float *x, int n, int *idx);

/* The neighbour of an off-grid level vector whose values xg[level] * scale are closest to
 * xval in weighted squared distance (the first on ties); its levels into L[8]. Returns its
 * grid index. */
int lqi_iq1_best_neighbour(const struct lqi_iq2_qgrid *g, const uint16_t *nbrs, const float *xval,
                           const float *weight, float scale, const float *xg, int8_t *L);

/* The grid index of 8 levels (0..2), snapped to the best neighbour (see above) when off the
 * grid; *on_grid cleared then. */
int lqi_iq1_index8(const struct lqi_iq2_qgrid *g, const float *xb, const float *weight, float scale,
                   const float *xg, int8_t *L, int *on_grid);

/* The least-squares scale of ngroups groups of 8 at grid points index[] with level values
 * xg[group] (IQ1 quantizers, after a group was snapped to a neighbour); `scale` when that
 * fit is not positive. */
float lqi_iq1_refit(const struct lqi_iq2_qgrid *g, const float *xb, const float *weight,
                    const uint16_t *index, int ngroups, const float *const *xg, float scale);

#endif /* LQ_QUANTS_IQ1_SEARCH_H */
