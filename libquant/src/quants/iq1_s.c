/* iq1_s.c - IQ1_S: 1.5625 bpw, groups of 8 weights as an 11-bit index into a 2048-point grid
 * of -1/0/+1 vectors shifted by +-1/8, a 3-bit scale and shift sign per 32 (llama.cpp's
 * quantize_row_iq1_s_impl, byte for byte; importance weights are required). */
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

#define IQ1S_BLOCK 32
#define IQ1S_EPS 1e-12f

// ---- quantize ---------------------------------------------------------------------------

static const float *const x_p = lqi_iq1_xp, *const x_m = lqi_iq1_xm;

/* The exact weighted least-squares split of 32 values into three levels: with the values
 * sorted, every pair of boundaries i1 <= i2 is scored for both shifts from prefix sums.
 * Returns the shift (+1 / -1; 0 when nothing scored) and sets the levels and scale. */
static int iq1_s_split(const float *xb, const float *weight, int8_t *L, float *scale_out)
{
    int idx[IQ1S_BLOCK];
    float sumx[IQ1S_BLOCK + 1], sumw[IQ1S_BLOCK + 1];
    lqi_iq1_sort(xb, IQ1S_BLOCK, idx);
    sumx[0] = sumw[0] = 0;
    for (int j = 0; j < IQ1S_BLOCK; ++j) {
        int i = idx[j];
        sumx[j + 1] = sumx[j] + weight[i] * xb[i];
        sumw[j + 1] = sumw[j] + weight[i];
    }
    const int n = IQ1S_BLOCK;
    float best_score = -FLT_MAX, scale = *scale_out;
    int besti1 = -1, besti2 = -1, best_shift = 0;
    for (int i1 = 0; i1 <= n; ++i1) {
        for (int i2 = i1; i2 <= n; ++i2) {
            for (int sh = 1; sh >= -1; sh -= 2) {
                const float *xx = sh == 1 ? x_p : x_m;
                float sumqx = (sumx[i1] - sumx[0]) * xx[0] + (sumx[i2] - sumx[i1]) * xx[1] +
                              (sumx[n] - sumx[i2]) * xx[2];
                float sumq2 = (sumw[i1] - sumw[0]) * xx[0] * xx[0] +
                              (sumw[i2] - sumw[i1]) * xx[1] * xx[1] +
                              (sumw[n] - sumw[i2]) * xx[2] * xx[2];
                if (sumq2 > 0 && sumqx * sumqx > best_score * sumq2) {
                    scale = sumqx / sumq2;
                    best_score = scale * sumqx;
                    besti1 = i1;
                    besti2 = i2;
                    best_shift = sh;
                }
            }
        }
    }
    if (besti1 < 0 || besti2 < 0 || best_shift == 0) {
        return 0;
    }
    for (int j = 0; j < n; ++j) {
        L[idx[j]] = (int8_t)(j < besti1 ? 0 : j < besti2 ? 1 : 2);
    }
    if (scale < 0) {
        for (int j = 0; j < n; ++j) {
            L[j] = (int8_t)(2 - L[j]);
        }
        scale = -scale;
        best_shift = -best_shift;
    }
    *scale_out = scale;
    return best_shift;
}

static void iq1_s_block(const struct lqi_iq2_qgrid *g, const float *xbl, const float *qwbl,
                        void *vy)
{
    block_iq1_s *y = vy;
    float scales[QK_K / IQ1S_BLOCK], weight[IQ1S_BLOCK];
    int8_t L[IQ1S_BLOCK], shifts[QK_K / IQ1S_BLOCK];
    uint16_t index[IQ1S_BLOCK / 8];
    float max_scale = 0;
    y->d = lq_fp32_to_fp16(0.f);
    memset(y->qs, 0, sizeof y->qs);
    memset(y->qh, 0, sizeof y->qh);
    const float sigma2 = 2 * lqi_iq2_sumx2(xbl) / QK_K;
    for (int ib = 0; ib < QK_K / IQ1S_BLOCK; ++ib) {
        const float *xb = xbl + IQ1S_BLOCK * ib, *qw = qwbl + IQ1S_BLOCK * ib;
        for (int i = 0; i < IQ1S_BLOCK; ++i) {
            weight[i] = qw[i] * sqrtf(sigma2 + xb[i] * xb[i]);
        }
        float max = fabsf(xb[0]);
        for (int i = 1; i < IQ1S_BLOCK; ++i) {
            max = LQI_MAX(max, fabsf(xb[i]));
        }
        float scale = max;
        int shift = max < IQ1S_EPS ? 0 : iq1_s_split(xb, weight, L, &scale);
        if (shift == 0) {
            scales[ib] = 0;
            shifts[ib] = 1;
            continue;
        }
        const float *xx = shift == 1 ? x_p : x_m;
        int on_grid = 1;
        for (int k = 0; k < IQ1S_BLOCK / 8; ++k) {
            index[k] = (uint16_t)lqi_iq1_index8(g, xb + 8 * k, weight + 8 * k, scale, xx, L + 8 * k,
                                                &on_grid);
        }
        if (!on_grid) { /* refit the scale to the snapped points */
            const float *const xg[IQ1S_BLOCK / 8] = {xx, xx, xx, xx};
            scale = lqi_iq1_refit(g, xb, weight, index, IQ1S_BLOCK / 8, xg, scale);
        }
        uint16_t h = 0;
        for (int k = 0; k < IQ1S_BLOCK / 8; ++k) {
            y->qs[(IQ1S_BLOCK / 8) * ib + k] = (uint8_t)(index[k] & 255);
            h |= (uint16_t)((index[k] >> 8) << 3 * k);
        }
        y->qh[ib] = h;
        scales[ib] = scale;
        shifts[ib] = (int8_t)shift;
        max_scale = LQI_MAX(max_scale, scale);
    }
    if (!max_scale) {
        return;
    }
    float d = max_scale / 15;
    y->d = lq_fp32_to_fp16(d * 1.125f); /* ggml's fudge factor */
    float id = 1 / d;
    for (int ib = 0; ib < QK_K / IQ1S_BLOCK; ++ib) {
        int l = lqi_nearest_int(0.5f * (id * scales[ib] - 1));
        l = LQI_MAX(0, LQI_MIN(7, l));
        if (shifts[ib] == -1) {
            l |= 8;
        }
        y->qh[ib] |= (uint16_t)(l << 12);
    }
}

size_t lqi_quantize_iq1_s(const float *restrict src, void *restrict dst, int64_t nrow,
                          int64_t n_per_row, const float *imatrix)
{
    assert(n_per_row % QK_K == 0);
    return lqi_iq_quantize_rows(iq1_s_block, LQI_GRID_IQ1S, sizeof(block_iq1_s), true, src, dst,
                                nrow, n_per_row, imatrix);
}

// ---- dequantize and validate ------------------------------------------------------------

/* Grid index of group l (0..3) of 32-weight chunk ib. */
static inline int iq1_s_index(const block_iq1_s *x, int ib, int l)
{
    return x->qs[4 * ib + l] | (((x->qh[ib] >> 3 * l) & 7) << 8);
}

void lqi_dequantize_row_iq1_s(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_iq1_s *x = vx;
    const struct lqi_iq2_decode *t = lqi_iq2_decode_tables();
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d);
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            const uint16_t qh = x[i].qh[ib];
            const float dl = d * (2 * ((qh >> 12) & 7) + 1);
            const float delta = qh & 0x8000 ? -LQI_IQ1_DELTA : LQI_IQ1_DELTA;
            for (int l = 0; l < 4; ++l) {
                const int8_t *grid = t->iq1s[iq1_s_index(&x[i], ib, l)];
                for (int j = 0; j < 8; ++j) {
                    y[j] = dl * (grid[j] + delta);
                }
                y += 8;
            }
        }
    }
}

bool lqi_validate_iq1_s(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_iq1_s), offsetof(block_iq1_s, d), -1);
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: grid sums per 32 scaled by 2s + 1, the shifts through the bsums. */
static void dot_iq1_s_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                  const void *restrict vy)
{
    const block_iq1_s *x = vx;
    const block_q8_K *y = vy;
    const struct lqi_iq2_decode *t = lqi_iq2_decode_tables();
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const int8_t *q8 = y[i].qs;
        int sumi = 0, sumi1 = 0;
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            const uint16_t qh = x[i].qh[ib];
            const int ls = 2 * ((qh >> 12) & 7) + 1;
            const int delta = qh & 0x8000 ? -1 : 1;
            int lsum = 0;
            for (int l = 0; l < 4; ++l) {
                const int8_t *grid = t->iq1s[iq1_s_index(&x[i], ib, l)];
                for (int j = 0; j < 8; ++j) {
                    lsum += q8[j] * grid[j];
                }
                q8 += 8;
            }
            sumi += ls * lsum;
            sumi1 += ls * delta * (y[i].bsums[2 * ib + 0] + y[i].bsums[2 * ib + 1]);
        }
        sumf += lq_fp16_to_fp32(x[i].d) * y[i].d * (sumi + LQI_IQ1_DELTA * sumi1);
    }
    *s = sumf;
}

#if LQI_X86

/* Weights of a block: the -1/0/+1 grid rows, one scale per 32 (the shifts are applied
 * through the activations' block sums, as in the scalar kernel). */
static inline LQI_AVX2 void iq1_s_decode(const struct lqi_iq2_decode *t, const block_iq1_s *x,
                                         struct lqi_iq_w256 *b)
{
    for (int g = 0; g < 8; ++g) {
        b->w[g] = lqi_iq_signed32((const uint8_t *)t->iq1s[iq1_s_index(x, g, 0)],
                                  (const uint8_t *)t->iq1s[iq1_s_index(x, g, 1)],
                                  (const uint8_t *)t->iq1s[iq1_s_index(x, g, 2)],
                                  (const uint8_t *)t->iq1s[iq1_s_index(x, g, 3)], 0, 0, 0, 0);
        const int ls = 2 * ((x->qh[g] >> 12) & 7) + 1;
        b->s[g] = lqi_iq_scales(ls, ls);
    }
    lqi_iq_finish(b);
}

static inline LQI_AVX2 void iq1_s_finish(const block_iq1_s *x, const block_q8_K *y, int32_t sumi,
                                         float *sumf)
{
    int sumi1 = 0;
    for (int ib = 0; ib < QK_K / 32; ++ib) {
        const int ls = 2 * ((x->qh[ib] >> 12) & 7) + 1;
        const int delta = x->qh[ib] & 0x8000 ? -1 : 1;
        sumi1 += ls * delta * (y->bsums[2 * ib + 0] + y->bsums[2 * ib + 1]);
    }
    *sumf += lq_fp16_to_fp32(x->d) * y->d * (sumi + LQI_IQ1_DELTA * sumi1);
}

LQI_IQ_DOT_KERNELS(iq1_s, block_iq1_s, iq1_s_decode, iq1_s_finish, 1.0f)
#endif

LQI_IQ_DOT_ENTRIES(iq1_s)
