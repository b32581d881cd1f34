/* iq3_search.c - the per-sub-block search shared by the IQ3_XXS and IQ3_S quantizers
 * (llama.cpp's quantize_row_iq3_xxs_impl / quantize_row_iq3_s_impl). It keeps llama.cpp's
 * float operation order: the bytes depend on every rounding. */
#include <float.h>
#include <string.h>

#include "quants/iq3.h"
#include "quants/kquant_common.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/simd_x86.h"
#endif

// ---- the search -------------------------------------------------------------------------

/* Levels of grid point `index` into L. */
static int take_point(const struct lqi_iq3_grid *g, int index, int8_t L[4])
{
    const int8_t *pg = (const int8_t *)&g->points[index];
    for (int i = 0; i < 4; ++i) {
        L[i] = (int8_t)((pg[i] - 1) / 2);
    }
    return index;
}

/* The first of the neighbours nb[1..n] whose error d2[j - 1] is least (strictly smaller
 * than all before it); if every error is NaN, the first neighbour (llama.cpp asserts). */
static int first_least(const uint16_t *nb, const float *d2)
{
    float best_d2 = FLT_MAX;
    int best = nb[1];
    for (int j = 1; j <= nb[0]; ++j) {
        if (d2[j - 1] < best_d2) {
            best_d2 = d2[j - 1];
            best = nb[j];
        }
    }
    return best;
}

/* The weighted error sum_i w_i (scale q_i - x_i)^2 of each neighbour of an off-grid key, in
 * llama.cpp's order: d2 = 0, then each term (w * diff) * diff added in turn. */
static void neighbour_errors_scalar(const struct lqi_iq3_grid *g, const uint16_t *nb,
                                    const float *xval, const float *waux, float scale, float *out)
{
    for (int j = 1; j <= nb[0]; ++j) {
        const int8_t *pg = (const int8_t *)&g->points[nb[j]];
        float d2 = 0;
        for (int i = 0; i < 4; ++i) {
            float q = pg[i];
            float diff = scale * q - xval[i];
            d2 += waux[i] * diff * diff;
        }
        out[j - 1] = d2;
    }
}

#if LQI_X86
/* The same errors, 8 neighbours per step, one lane each: every lane performs the scalar
 * operations in the scalar order (no fused multiply-add: the target lacks FMA), so the
 * floats are the same bits. */
static LQI_AVX2_NOFMA void neighbour_errors_avx2(const struct lqi_iq3_grid *g, const uint16_t *nb,
                                                 const float *xval, const float *waux, float scale,
                                                 float *out)
{
    const __m256 vs = _mm256_set1_ps(scale);
    const __m256i ff = _mm256_set1_epi32(0xFF);
    for (int j0 = 0; j0 < nb[0]; j0 += 8) {
        uint32_t p[8];
        for (int k = 0; k < 8; ++k) {
            p[k] = g->points[j0 + k < nb[0] ? nb[1 + j0 + k] : nb[1]];
        }
        const __m256i pts = _mm256_loadu_si256((const __m256i *)p);
        __m256 d2 = _mm256_setzero_ps();
        for (int i = 0; i < 4; ++i) {
            const __m256 q =
                _mm256_cvtepi32_ps(_mm256_and_si256(_mm256_srli_epi32(pts, 8 * i), ff));
            const __m256 diff = _mm256_sub_ps(_mm256_mul_ps(vs, q), _mm256_set1_ps(xval[i]));
            d2 = _mm256_add_ps(d2,
                               _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(waux[i]), diff), diff));
        }
        float lanes[8];
        _mm256_storeu_ps(lanes, d2);
        for (int k = 0; k < 8 && j0 + k < nb[0]; ++k) {
            out[j0 + k] = lanes[k];
        }
    }
}
#endif

/* The point among an off-grid key's neighbours with the least weighted error at `scale`;
 * its levels go to L. */
static int best_neighbour(const struct lqi_iq3_grid *g, int key, const float *xval,
                          const float *waux, float scale, int8_t L[4])
{
    const uint16_t *nb = g->neighbours - g->map[key] - 1;
    float d2[LQI_IQ3_MAX_NEIGHBOURS];
    LQI_SIMD_CALL(neighbour_errors_avx2, neighbour_errors_avx2, neighbour_errors_scalar, g, nb,
                  xval, waux, scale, d2);
    return take_point(g, first_least(nb, d2), L);
}

/* Levels of a group of 4 at inverse scale id, clamped to 0..7, and their key. */
static int group_key(const float *xval, float id, int8_t L[4])
{
    int key = 0;
    for (int i = 0; i < 4; ++i) {
        int l = lqi_nearest_int(0.5f * (id * xval[i] - 1));
        L[i] = (int8_t)LQI_MAX(0, LQI_MIN(7, l));
        key |= L[i] << 3 * i;
    }
    return key;
}

/* Weighted least-squares fit of the values to levels L: sum w x q and sum w q^2, q = 2l + 1. */
static void fit_sums(const float *xval, const float *weight, const int8_t *L, float *sumqx,
                     float *sumq2)
{
    float sqx = 0, sq2 = 0;
    for (int i = 0; i < 32; ++i) {
        float w = weight[i];
        float q = 2 * L[i] + 1;
        sqx += w * xval[i] * q;
        sq2 += w * q * q;
    }
    *sumqx = sqx;
    *sumq2 = sq2;
}

float lqi_iq3_search_block(const struct lqi_iq3_search *s, const float *xval, const float *weight,
                           const float *waux, uint16_t idx[8])
{
    const struct lqi_iq3_grid *g = s->grid;
    const int kmaxq = 8;
    int8_t L[32] = {0}, Laux[32];
    bool on_grid[8], on_grid_aux[8];
    float max = xval[0];
    for (int i = 1; i < 32; ++i) {
        max = LQI_MAX(max, xval[i]);
    }
    float best = 0;
    float scale = max / (2 * kmaxq - 1);
    for (int k = 0; k < 8; ++k) {
        on_grid[k] = s->start_on_grid;
    }
    /* trial scales: nearest levels, off-grid groups moved to their best neighbour */
    for (int is = -s->n_steps; is <= s->n_steps; ++is) {
        float id = (2 * kmaxq - 1 + is * 0.2f) / max;
        float this_scale = 1 / id;
        for (int k = 0; k < 8; ++k) {
            int key = group_key(xval + 4 * k, id, Laux + 4 * k);
            on_grid_aux[k] = g->map[key] >= 0;
            if (!on_grid_aux[k]) {
                best_neighbour(g, key, xval + 4 * k, waux + 4 * k, this_scale, Laux + 4 * k);
            }
        }
        float sumqx, sumq2;
        fit_sums(xval, weight, Laux, &sumqx, &sumq2);
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            scale = sumqx / sumq2;
            best = scale * sumqx;
            memcpy(L, Laux, sizeof L);
            memcpy(on_grid, on_grid_aux, sizeof on_grid);
        }
    }
    /* groups that were moved off their nearest levels: redo them at the fitted scale */
    int n_off = 0;
    for (int k = 0; k < 8; ++k) {
        n_off += !on_grid[k];
    }
    if (n_off > 0 && scale > 0) {
        float id = 1 / scale;
        for (int k = 0; k < 8; ++k) {
            if (on_grid[k] && !s->refit_all) {
                continue;
            }
            int8_t Lk[4];
            int key = group_key(xval + 4 * k, id, Lk);
            if (g->map[key] < 0) {
                best_neighbour(g, key, xval + 4 * k, waux + 4 * k, scale, Lk);
            }
            memcpy(L + 4 * k, Lk, 4);
        }
        float sumqx, sumq2;
        fit_sums(xval, weight, L, &sumqx, &sumq2);
        if (sumq2 > 0) {
            scale = sumqx / sumq2;
        }
    }
    for (int k = 0; k < 8; ++k) {
        int key = 0;
        for (int i = 0; i < 4; ++i) {
            key |= L[4 * k + i] << 3 * i;
        }
        idx[k] = (uint16_t)g->map[key]; /* on the grid by construction */
    }
    return scale;
}
