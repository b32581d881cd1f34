/* iq1_search.c - the sort and grid search shared by the IQ1 quantizers (iq1_search.h). */
#include "quants/iq1_search.h"

#include <float.h>

#include "quants/iq2blocks.h"

const float lqi_iq1_xp[3] = {-1 + LQI_IQ1_DELTA, LQI_IQ1_DELTA, 1 + LQI_IQ1_DELTA};
const float lqi_iq1_xm[3] = {-1 - LQI_IQ1_DELTA, -LQI_IQ1_DELTA, 1 - LQI_IQ1_DELTA};

void lqi_iq1_sort(const float *x, int n, int *idx)
{
    for (int j = 0; j < n; ++j) { /* insertion sort: stable, and n is 16 or 32 */
        int k = j;
        while (k > 0 && x[j] < x[idx[k - 1]]) {
            idx[k] = idx[k - 1];
            --k;
        }
        idx[k] = j;
    }
}

int lqi_iq1_best_neighbour(const struct lqi_iq2_qgrid *g, const uint16_t *nbrs, const float *xval,
                           const float *weight, float scale, const float *xg, int8_t *L)
{
    /* ggml scans the whole grid when no neighbour beats FLT_MAX, which only NaN input can
     * cause (and its scan reads past xval); the first neighbour is kept instead. */
    float best_score = FLT_MAX;
    int grid_index = nbrs[1];
    for (int j = 1; j <= nbrs[0]; ++j) {
        const int8_t *pg = g->grid[nbrs[j]];
        float d2 = 0;
        for (int i = 0; i < 8; ++i) {
            float q = xg[(pg[i] - 1) / 2];
            float w = weight[i];
            float diff = scale * q - xval[i];
            d2 += w * diff * diff;
        }
        if (d2 < best_score) {
            best_score = d2;
            grid_index = nbrs[j];
        }
    }
    const int8_t *pg = g->grid[grid_index];
    for (int i = 0; i < 8; ++i) {
        L[i] = (int8_t)((pg[i] - 1) / 2);
    }
    return grid_index;
}

int lqi_iq1_index8(const struct lqi_iq2_qgrid *g, const float *xb, const float *weight, float scale,
                   const float *xg, int8_t *L, int *on_grid)
{
    uint16_t u = lqi_iq2_pack_levels(L);
    if (g->map[u] >= 0) {
        return g->map[u];
    }
    *on_grid = 0;
    return lqi_iq1_best_neighbour(g, lqi_iq2_neighbours(g, u), xb, weight, scale, xg, L);
}

float lqi_iq1_refit(const struct lqi_iq2_qgrid *g, const float *xb, const float *weight,
                    const uint16_t *index, int ngroups, const float *const *xg, float scale)
{
    float sumqx = 0, sumq2 = 0;
    for (int k = 0; k < ngroups; ++k) {
        const int8_t *pg = g->grid[index[k]];
        for (int j = 0; j < 8; ++j) {
            float w = weight[8 * k + j];
            float q = xg[k][(pg[j] - 1) / 2];
            sumqx += w * q * xb[8 * k + j];
            sumq2 += w * q * q;
        }
    }
    return sumqx > 0 && sumq2 > 0 ? sumqx / sumq2 : scale;
}
