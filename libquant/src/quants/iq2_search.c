/* iq2_search.c - the grid searches shared by the IQ2 quantizers (iq2_search.h). */
#include "quants/iq2_search.h"

#include <float.h>
#include <math.h>

#include "quants/kquant_common.h"

float lqi_iq2_sumx2(const float *x)
{
    float sumx2 = 0;
    for (int i = 0; i < QK_K; ++i) {
        sumx2 += x[i] * x[i];
    }
    return sumx2;
}

uint8_t lqi_iq2_signs8(const float *x, const float *weight, bool even_signs, float *xval)
{
    int nflip = 0;
    uint8_t s = 0;
    for (int i = 0; i < 8; ++i) {
        if (x[i] >= 0) {
            xval[i] = x[i];
        } else {
            xval[i] = -x[i];
            ++nflip;
            s |= (uint8_t)(1 << i);
        }
    }
    if (even_signs && nflip % 2) {
        int imin = 0;
        float min = weight[0] * x[0] * x[0];
        for (int i = 1; i < 8; ++i) {
            float ax = weight[i] * x[i] * x[i];
            if (ax < min) {
                min = ax;
                imin = i;
            }
        }
        xval[imin] = -xval[imin];
        s ^= (uint8_t)(1 << imin);
    }
    return s;
}

void lqi_iq2_group_prep(int n, const float *xb, const float *qw, float sigma2, bool even_signs,
                        float *weight, float *waux, float *xval, uint8_t *signs)
{
    if (qw) {
        for (int i = 0; i < n; ++i) {
            weight[i] = qw[i] * sqrtf(sigma2 + xb[i] * xb[i]);
        }
    } else {
        for (int i = 0; i < n; ++i) {
            weight[i] = 0.25f * sigma2 + xb[i] * xb[i];
        }
    }
    for (int i = 0; i < n; ++i) {
        waux[i] = sqrtf(weight[i]);
    }
    for (int k = 0; k < n / 8; ++k) {
        uint8_t s = lqi_iq2_signs8(xb + 8 * k, weight + 8 * k, even_signs, xval + 8 * k);
        signs[k] = even_signs ? s & 127 : s;
    }
}

int lqi_iq2_best_neighbour(const struct lqi_iq2_qgrid *g, const uint16_t *nbrs, const float *xval,
                           const float *weight, float scale, int8_t *L)
{
    float best_d2 = FLT_MAX;
    int grid_index = nbrs[1]; /* kept only if every distance is NaN (NaN input) */
    for (int j = 1; j <= nbrs[0]; ++j) {
        const int8_t *pg = g->grid[nbrs[j]];
        float d2 = 0;
        for (int i = 0; i < 8; ++i) {
            float q = pg[i];
            float diff = scale * q - xval[i];
            d2 += weight[i] * diff * diff;
        }
        if (d2 < best_d2) {
            best_d2 = d2;
            grid_index = nbrs[j];
        }
    }
    const int8_t *pg = g->grid[grid_index];
    for (int i = 0; i < 8; ++i) {
        L[i] = (int8_t)((pg[i] - 1) / 2);
    }
    return grid_index;
}

bool lqi_iq2_levels8(const struct lqi_iq2_qgrid *g, const float *xval, const float *waux, float id,
                     float scale, int8_t *L)
{
    for (int i = 0; i < 8; ++i) {
        int l = lqi_nearest_int(0.5f * (id * xval[i] - 1));
        L[i] = (int8_t)LQI_MAX(0, LQI_MIN(2, l));
    }
    uint16_t u = lqi_iq2_pack_levels(L);
    if (g->map[u] >= 0) {
        return true;
    }
    lqi_iq2_best_neighbour(g, lqi_iq2_neighbours(g, u), xval, waux, scale, L);
    return false;
}

int lqi_iq2_index8(const struct lqi_iq2_qgrid *g, const int8_t *L)
{
    int32_t k = g->map[lqi_iq2_pack_levels(L)];
    return k >= 0 ? k : 0;
}

void lqi_iq2_sums(int n, const float *xval, const float *weight, const int8_t *L, float *sumqx,
                  float *sumq2)
{
    float sx = 0, s2 = 0;
    for (int i = 0; i < n; ++i) {
        float w = weight[i];
        float q = 2 * L[i] + 1;
        sx += w * xval[i] * q;
        s2 += w * q * q;
    }
    *sumqx = sx;
    *sumq2 = s2;
}

float lqi_iq2_scale16(const struct lqi_iq2_qgrid *g, const float *xval, const float *weight,
                      const float *waux, float eps, int8_t *L, bool *zero)
{
    const int kMaxQ = 3;
    int8_t Laux[16];
    bool on_grid[2] = {true, true}, on_grid_aux[2];
    float max = xval[0];
    for (int i = 1; i < 16; ++i) {
        max = LQI_MAX(max, xval[i]);
    }
    memset(L, 0, 16);
    *zero = max < eps;
    if (*zero) {
        return 0;
    }
    float best = 0;
    float scale = max / (2 * kMaxQ - 1);
    for (int is = -9; is <= 9; ++is) {
        float id = (2 * kMaxQ - 1 + is * 0.1f) / max;
        float this_scale = 1 / id;
        for (int k = 0; k < 2; ++k) {
            on_grid_aux[k] =
                lqi_iq2_levels8(g, xval + 8 * k, waux + 8 * k, id, this_scale, Laux + 8 * k);
        }
        float sumqx, sumq2;
        lqi_iq2_sums(16, xval, weight, Laux, &sumqx, &sumq2);
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            scale = sumqx / sumq2;
            best = scale * sumqx;
            memcpy(L, Laux, 16);
            on_grid[0] = on_grid_aux[0];
            on_grid[1] = on_grid_aux[1];
        }
    }
    if ((!on_grid[0] || !on_grid[1]) && scale > 0) {
        float id = 1 / scale;
        for (int k = 0; k < 2; ++k) {
            if (!on_grid[k]) {
                lqi_iq2_levels8(g, xval + 8 * k, waux + 8 * k, id, scale, L + 8 * k);
            }
        }
        float sumqx, sumq2;
        lqi_iq2_sums(16, xval, weight, L, &sumqx, &sumq2);
        if (sumq2 > 0) {
            scale = sumqx / sumq2;
        }
    }
    return scale;
}

int lqi_iq2_scale_code(float id, float scale)
{
    int l = lqi_nearest_int(0.5f * (id * scale - 1));
    return LQI_MAX(0, LQI_MIN(15, l));
}

size_t lqi_iq_quantize_rows(lqi_iq_block_fn block, enum lqi_iq2_grid_id grid, size_t type_size,
                            bool needs_imatrix, const float *restrict src, void *restrict dst,
                            int64_t nrow, int64_t n_per_row, const float *imatrix)
{
    const struct lqi_iq2_qgrid *g = lqi_iq2_qgrid(grid);
    if ((needs_imatrix && !imatrix) || !g) {
        return 0;
    }
    const int64_t nb = n_per_row / QK_K;
    char *y = dst;
    for (int64_t r = 0; r < nrow; ++r) {
        for (int64_t i = 0; i < nb; ++i) {
            block(g, src + r * n_per_row + i * QK_K, imatrix ? imatrix + i * QK_K : NULL,
                  y + (size_t)(r * nb + i) * type_size);
        }
    }
    return (size_t)(nrow * nb) * type_size;
}
