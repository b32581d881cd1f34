/* iq1_m.c - IQ1_M: 1.75 bpw, groups of 8 weights as an 11-bit index into IQ1_S's grid with a
 * shift sign each, a 3-bit scale per 16, the fp16 super-block scale spread over the scales'
 * top nibbles (llama.cpp's quantize_row_iq1_m_impl, byte for byte, with and without
 * importance weights). */
#include <assert.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "lq/fp16.h"
#include "quants/dot_multi.h"
#include "quants/iq1_search.h"
#include "quants/iq2_search.h"
#include "quants/iq2quants.h"
#include "quants/kquant_common.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/iq2_simd.h"
#endif

#define IQ1M_BLOCK 16
#define IQ1M_EPS 1e-7f

// ---- quantize ---------------------------------------------------------------------------

static const float *const x_p = lqi_iq1_xp, *const x_m = lqi_iq1_xm;

/* The four shift patterns of a 16-value block (first 8, second 8): 0 ++, 1 +-, 2 -+, 3 --;
 * the level values of group k (0 or 1) under pattern sh. */
static const float *iq1_m_levels(int sh, int k)
{
    return (k == 0 ? sh < 2 : sh % 2 == 0) ? x_p : x_m;
}

/* Weights of 16 values: qw * sqrt(sigma2 + x^2) given importance weights, else x^2. */
static void iq1_m_weights(const float *xb, const float *qw, float sigma2, float *weight)
{
    for (int i = 0; i < IQ1M_BLOCK; ++i) {
        weight[i] = qw ? qw[i] * sqrtf(sigma2 + xb[i] * xb[i]) : xb[i] * xb[i];
    }
}

/* Adds value i at level lv to the four patterns' sums, in ggml's order. */
static void iq1_m_accumulate(const float *xb, const float *weight, int i, int lv, float sumqx[4],
                             float sumq2[4])
{
    const float w = weight[i], p = x_p[lv], m = x_m[lv];
    /* patterns 0, 1 shift the first half by +, 2, 3 by -; 0, 2 the second by + */
    const int pp = 0, pm = i < IQ1M_BLOCK / 2 ? 1 : 2, mp = i < IQ1M_BLOCK / 2 ? 2 : 1, mm = 3;
    sumqx[pp] += w * p * xb[i];
    sumqx[pm] += w * p * xb[i];
    sumqx[mp] += w * m * xb[i];
    sumqx[mm] += w * m * xb[i];
    sumq2[pp] += w * p * p;
    sumq2[pm] += w * p * p;
    sumq2[mp] += w * m * m;
    sumq2[mm] += w * m * m;
}

/* The exact weighted least-squares split of 16 values into three levels under the four
 * shift patterns (sums rebuilt for every boundary pair, as ggml does). Returns the best
 * pattern (-1 when nothing scored) and sets the levels and scale. */
static int iq1_m_split(const float *xb, const float *weight, int8_t *L, float *scale_out)
{
    int idx[IQ1M_BLOCK];
    lqi_iq1_sort(xb, IQ1M_BLOCK, idx);
    float best_score = -FLT_MAX, scale = *scale_out;
    int besti1 = -1, besti2 = -1, best_k = -1;
    for (int i1 = 0; i1 <= IQ1M_BLOCK; ++i1) {
        for (int i2 = i1; i2 <= IQ1M_BLOCK; ++i2) {
            float sumqx[4] = {0}, sumq2[4] = {0};
            for (int j = 0; j < IQ1M_BLOCK; ++j) {
                iq1_m_accumulate(xb, weight, idx[j], j < i1 ? 0 : j < i2 ? 1 : 2, sumqx, sumq2);
            }
            for (int k = 0; k < 4; ++k) {
                if (sumq2[k] > 0 && sumqx[k] * sumqx[k] > best_score * sumq2[k]) {
                    scale = sumqx[k] / sumq2[k];
                    best_score = scale * sumqx[k];
                    besti1 = i1;
                    besti2 = i2;
                    best_k = k;
                }
            }
        }
    }
    if (besti1 < 0 || besti2 < 0 || best_k < 0) {
        return -1;
    }
    for (int j = 0; j < IQ1M_BLOCK; ++j) {
        L[idx[j]] = (int8_t)(j < besti1 ? 0 : j < besti2 ? 1 : 2);
    }
    if (scale < 0) {
        for (int j = 0; j < IQ1M_BLOCK; ++j) {
            L[j] = (int8_t)(2 - L[j]);
        }
        scale = -scale;
        best_k = 3 - best_k;
    }
    *scale_out = scale;
    return best_k;
}

/* Snaps the block's two groups to the grid and refits the scale if either moved. */
static float iq1_m_snap(const struct lqi_iq2_qgrid *g, const float *xb, const float *weight,
                        int best_k, float scale, int8_t *L, uint16_t index[2])
{
    int on_grid = 1;
    for (int k = 0; k < 2; ++k) {
        index[k] = (uint16_t)lqi_iq1_index8(g, xb + 8 * k, weight + 8 * k, scale,
                                            iq1_m_levels(best_k, k), L + 8 * k, &on_grid);
    }
    if (!on_grid) {
        const float *const xg[2] = {iq1_m_levels(best_k, 0), iq1_m_levels(best_k, 1)};
        scale = lqi_iq1_refit(g, xb, weight, index, 2, xg, scale);
    }
    return scale;
}

/* The super-block scale: codes the 3-bit block scales against max_scale / 15, then refits
 * d by least squares over the whole super-block with those codes, stored as fp16 * 1.1125. */
static void iq1_m_scales(const struct lqi_iq2_qgrid *g, const float *xbl, const float *qwbl,
                         float sigma2, const float *scales, const int8_t *shifts, float max_scale,
                         block_iq1_m *y)
{
    static const uint8_t masks[4] = {0x00, 0x80, 0x08, 0x88};
    uint16_t sc[4] = {0};
    float weight[IQ1M_BLOCK];
    float d = max_scale / 15;
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int ib = 0; ib < QK_K / IQ1M_BLOCK; ++ib) {
        int l = lqi_nearest_int(0.5f * (id * scales[ib] - 1));
        l = LQI_MAX(0, LQI_MIN(7, l));
        sc[ib / 4] |= (uint16_t)(l << 3 * (ib % 4));
        y->qh[ib] |= masks[shifts[ib]];
        const float *xb = xbl + IQ1M_BLOCK * ib;
        iq1_m_weights(xb, qwbl ? qwbl + IQ1M_BLOCK * ib : NULL, sigma2, weight);
        for (int k = 0; k < 2; ++k) {
            const float *xx = iq1_m_levels(shifts[ib], k);
            const int8_t *pg = g->grid[y->qs[2 * ib + k] + ((y->qh[ib] << (8 - 4 * k)) & 0x700)];
            for (int j = 0; j < 8; ++j) {
                float w = weight[8 * k + j];
                float q = xx[(pg[j] - 1) / 2] * (2 * l + 1);
                sumqx += w * q * xb[8 * k + j];
                sumq2 += w * q * q;
            }
        }
    }
    if (sumq2 > 0) {
        d = sumqx / sumq2;
    }
    const uint16_t h = lq_fp32_to_fp16(d * 1.1125f); /* ggml's fudge factor */
    sc[0] |= (uint16_t)((h & 0x000f) << 12);
    sc[1] |= (uint16_t)((h & 0x00f0) << 8);
    sc[2] |= (uint16_t)((h & 0x0f00) << 4);
    sc[3] |= (uint16_t)(h & 0xf000);
    for (int j = 0; j < 4; ++j) {
        y->scales[2 * j] = (uint8_t)sc[j];
        y->scales[2 * j + 1] = (uint8_t)(sc[j] >> 8);
    }
}

static void iq1_m_block(const struct lqi_iq2_qgrid *g, const float *xbl, const float *qwbl,
                        void *vy)
{
    block_iq1_m *y = vy;
    float scales[QK_K / IQ1M_BLOCK], weight[IQ1M_BLOCK];
    int8_t L[IQ1M_BLOCK], shifts[QK_K / IQ1M_BLOCK];
    uint16_t index[2];
    float max_scale = 0;
    memset(y, 0, sizeof *y);
    const float sigma2 = 2 * lqi_iq2_sumx2(xbl) / QK_K;
    for (int ib = 0; ib < QK_K / IQ1M_BLOCK; ++ib) {
        const float *xb = xbl + IQ1M_BLOCK * ib;
        iq1_m_weights(xb, qwbl ? qwbl + IQ1M_BLOCK * ib : NULL, sigma2, weight);
        float max = fabsf(xb[0]);
        for (int i = 1; i < IQ1M_BLOCK; ++i) {
            max = LQI_MAX(max, fabsf(xb[i]));
        }
        float scale = max;
        int best_k = max < IQ1M_EPS ? -1 : iq1_m_split(xb, weight, L, &scale);
        if (best_k < 0) {
            scales[ib] = 0;
            shifts[ib] = 0;
            continue;
        }
        scale = iq1_m_snap(g, xb, weight, best_k, scale, L, index);
        y->qs[2 * ib + 0] = (uint8_t)(index[0] & 255);
        y->qs[2 * ib + 1] = (uint8_t)(index[1] & 255);
        y->qh[ib] = (uint8_t)((index[0] >> 8) | ((index[1] >> 8) << 4));
        scales[ib] = scale;
        shifts[ib] = (int8_t)best_k;
        max_scale = LQI_MAX(max_scale, scale);
    }
    if (max_scale) {
        iq1_m_scales(g, xbl, qwbl, sigma2, scales, shifts, max_scale, y);
    }
}

size_t lqi_quantize_iq1_m(const float *restrict src, void *restrict dst, int64_t nrow,
                          int64_t n_per_row, const float *imatrix)
{
    assert(n_per_row % QK_K == 0);
    return lqi_iq_quantize_rows(iq1_m_block, LQI_GRID_IQ1S, sizeof(block_iq1_m), false, src, dst,
                                nrow, n_per_row, imatrix);
}

// ---- dequantize and validate ------------------------------------------------------------

/* The four little-endian uint16 of the scales, and the fp16 d spread over their top
 * nibbles. */
static inline uint16_t iq1_m_unpack(const block_iq1_m *x, uint16_t sc[4])
{
    for (int j = 0; j < 4; ++j) {
        sc[j] = (uint16_t)(x->scales[2 * j] | x->scales[2 * j + 1] << 8);
    }
    return (uint16_t)((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) |
                      (sc[3] & 0xf000));
}

/* Grid index of group l (0..3) of 32-weight chunk ib. */
static inline int iq1_m_index(const block_iq1_m *x, int ib, int l)
{
    return x->qs[4 * ib + l] | (((uint16_t)x->qh[2 * ib + l / 2] << (8 - 4 * (l % 2))) & 0x700);
}

void lqi_dequantize_row_iq1_m(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_iq1_m *x = vx;
    const struct lqi_iq2_decode *t = lqi_iq2_decode_tables();
    for (int64_t i = 0; i < k / QK_K; ++i) {
        uint16_t sc[4];
        const float d = lq_fp16_to_fp32(iq1_m_unpack(&x[i], sc));
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            const float dl1 = d * (2 * ((sc[ib / 2] >> (6 * (ib % 2) + 0)) & 0x7) + 1);
            const float dl2 = d * (2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 0x7) + 1);
            for (int l = 0; l < 4; ++l) {
                const uint8_t qh = x[i].qh[2 * ib + l / 2];
                const float delta = qh & (l % 2 ? 0x80 : 0x08) ? -LQI_IQ1_DELTA : LQI_IQ1_DELTA;
                const float dl = l < 2 ? dl1 : dl2;
                const int8_t *grid = t->iq1s[iq1_m_index(&x[i], ib, l)];
                for (int j = 0; j < 8; ++j) {
                    y[j] = dl * (grid[j] + delta);
                }
                y += 8;
            }
        }
    }
}

bool lqi_validate_iq1_m(const void *data, size_t nbytes)
{
    if (nbytes % sizeof(block_iq1_m) != 0) {
        return false;
    }
    const block_iq1_m *x = data;
    for (size_t i = 0; i < nbytes / sizeof(block_iq1_m); ++i) {
        uint16_t sc[4];
        if ((iq1_m_unpack(&x[i], sc) & 0x7c00) == 0x7c00) { /* NaN or Inf */
            return false;
        }
    }
    return true;
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: grid sums and activation sums (for the shifts) per 8, scaled per
 * 16, one float multiply per super-block. */
static void dot_iq1_m_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                  const void *restrict vy)
{
    const block_iq1_m *x = vx;
    const block_q8_K *y = vy;
    const struct lqi_iq2_decode *t = lqi_iq2_decode_tables();
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const int8_t *q8 = y[i].qs;
        uint16_t sc[4];
        const float d = lq_fp16_to_fp32(iq1_m_unpack(&x[i], sc));
        int sumi1 = 0, sumi2 = 0;
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            int sum1[2] = {0, 0}, sum2[2] = {0, 0};
            for (int l = 0; l < 4; ++l) {
                const uint8_t qh = x[i].qh[2 * ib + l / 2];
                const int delta = qh & (l % 2 ? 0x80 : 0x08) ? -1 : 1;
                const int8_t *grid = t->iq1s[iq1_m_index(&x[i], ib, l)];
                int lsum1 = 0, lsum2 = 0;
                for (int j = 0; j < 8; ++j) {
                    lsum1 += q8[j] * grid[j];
                    lsum2 += q8[j];
                }
                q8 += 8;
                sum1[l / 2] += lsum1;
                sum2[l / 2] += lsum2 * delta;
            }
            const int ls1 = 2 * ((sc[ib / 2] >> (6 * (ib % 2) + 0)) & 0x7) + 1;
            const int ls2 = 2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 0x7) + 1;
            sumi1 += sum1[0] * ls1 + sum1[1] * ls2;
            sumi2 += sum2[0] * ls1 + sum2[1] * ls2;
        }
        sumf += d * y[i].d * (sumi1 + LQI_IQ1_DELTA * sumi2);
    }
    *s = sumf;
}

#if LQI_X86

/* Weights of a block: 8 * grid + shift sign per element, one scale per 16. The dot of these
 * is 8 * sumi1 + sumi2 of the scalar kernel, below 2^23 in magnitude, so that
 * 0.125f * (8 * sumi1 + sumi2) is exactly the scalar kernel's sumi1 + 0.125f * sumi2. */
static inline LQI_AVX2 void iq1_m_decode(const struct lqi_iq2_decode *t, const block_iq1_m *x,
                                         struct lqi_iq_w256 *b)
{
    uint16_t sc[4];
    (void)iq1_m_unpack(x, sc);
    for (int g = 0; g < 8; ++g) {
        const int8_t *r[4];
        uint64_t d[4]; /* the shift sign of each group of 8, in every byte: 0x01 or 0xFF */
        for (int l = 0; l < 4; ++l) {
            r[l] = t->iq1s[iq1_m_index(x, g, l)];
            d[l] = x->qh[2 * g + l / 2] & (l % 2 ? 0x80 : 0x08) ? ~0ull : 0x0101010101010101ull;
        }
        __m256i w = lqi_iq_signed32((const uint8_t *)r[0], (const uint8_t *)r[1],
                                    (const uint8_t *)r[2], (const uint8_t *)r[3], 0, 0, 0, 0);
        w = _mm256_add_epi8(w, w);
        w = _mm256_add_epi8(w, w);
        w = _mm256_add_epi8(w, w); /* 8 * grid: -8, 0, 8 */
        b->w[g] = _mm256_add_epi8(w, _mm256_set_epi64x((long long)d[3], (long long)d[2],
                                                       (long long)d[1], (long long)d[0]));
        b->s[g] = lqi_iq_scales(2 * ((sc[g / 2] >> (6 * (g % 2) + 0)) & 0x7) + 1,
                                2 * ((sc[g / 2] >> (6 * (g % 2) + 3)) & 0x7) + 1);
    }
    lqi_iq_finish(b);
}

static inline LQI_AVX2 void iq1_m_finish(const block_iq1_m *x, const block_q8_K *y, int32_t isum,
                                         float *sumf)
{
    uint16_t sc[4];
    *sumf += lq_fp16_to_fp32(iq1_m_unpack(x, sc)) * y->d * (0.125f * (float)isum);
}

LQI_IQ_DOT_KERNELS(iq1_m, block_iq1_m, iq1_m_decode, iq1_m_finish, 1.0f)
#endif

LQI_IQ_DOT_ENTRIES(iq1_m)
