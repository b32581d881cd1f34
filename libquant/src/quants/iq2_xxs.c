/* iq2_xxs.c - IQ2_XXS: 2.0625 bpw, groups of 8 weights as indices into a 256-point grid with
 * 7 stored signs, a 4-bit scale per 32 (llama.cpp's quantize_row_iq2_xxs_impl, byte for
 * byte; it has no reference quantizer: importance weights are required). */
#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "lq/fp16.h"
#include "quants/dot_multi.h"
#include "quants/iq2_search.h"
#include "quants/iq2quants.h"
#include "quants/kquant_common.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/iq2_simd.h"
#endif

// ---- quantize ---------------------------------------------------------------------------

/* Levels L[32] and scale of one group of 32 magnitudes: make_qp_quants' scale, then 13 trial
 * scales around it, then every group of 8 refitted at the best scale. *zero is set, and
 * nothing stored, when the group is (about) zero. */
static float iq2_xxs_scale32(const struct lqi_iq2_qgrid *g, const float *xval, const float *weight,
                             const float *waux, int8_t *L, bool *zero)
{
    *zero = true;
    const int kMaxQ = 3;
    int8_t Laux[32];
    float max = xval[0];
    for (int i = 1; i < 32; ++i) {
        max = LQI_MAX(max, xval[i]);
    }
    if (max < LQI_IQ2_EPS) {
        return 0;
    }
    float scale = lqi_make_qp_quants(32, kMaxQ + 1, xval, (uint8_t *)L, weight);
    float eff_max = scale * kMaxQ;
    if (eff_max <= 0) {
        return 0;
    }
    *zero = false;
    float best = 0;
    for (int is = -6; is <= 6; ++is) {
        float id = (2 * kMaxQ - 1 + is * 0.1f) / eff_max;
        float this_scale = 1 / id;
        for (int k = 0; k < 4; ++k) {
            lqi_iq2_levels8(g, xval + 8 * k, waux + 8 * k, id, this_scale, Laux + 8 * k);
        }
        float sumqx, sumq2;
        lqi_iq2_sums(32, xval, weight, Laux, &sumqx, &sumq2);
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            scale = sumqx / sumq2;
            best = scale * sumqx;
            memcpy(L, Laux, 32);
        }
    }
    if (scale > 0) {
        float id = 1 / scale;
        for (int k = 0; k < 4; ++k) {
            lqi_iq2_levels8(g, xval + 8 * k, waux + 8 * k, id, scale, L + 8 * k);
        }
        float sumqx, sumq2;
        lqi_iq2_sums(32, xval, weight, L, &sumqx, &sumq2);
        if (sumq2 > 0) {
            scale = sumqx / sumq2;
        }
    }
    return scale;
}

static void iq2_xxs_block(const struct lqi_iq2_qgrid *g, const float *xbl, const float *qwbl,
                          void *vy)
{
    block_iq2_xxs *y = vy;
    float scales[QK_K / 32], weight[32], waux[32], xval[32];
    int8_t L[32];
    uint8_t signs[4];
    uint32_t q2[2 * (QK_K / 32)] = {0};
    float max_scale = 0;
    const float sigma2 = lqi_iq2_sumx2(xbl) / QK_K;
    y->d = lq_fp32_to_fp16(0.f);
    for (int ib = 0; ib < QK_K / 32; ++ib) {
        lqi_iq2_group_prep(32, xbl + 32 * ib, qwbl + 32 * ib, sigma2, true, weight, waux, xval,
                           signs);
        bool zero;
        float scale = iq2_xxs_scale32(g, xval, weight, waux, L, &zero);
        if (zero) {
            scales[ib] = 0;
            continue;
        }
        if (scale < 0) { /* the one negative magnitude outweighed the rest: flip every sign */
            scale = -scale;
            for (int k = 0; k < 4; ++k) {
                signs[k] = (uint8_t)(~signs[k] & 127);
            }
        }
        for (int k = 0; k < 4; ++k) {
            q2[2 * ib + 0] |= (uint32_t)lqi_iq2_index8(g, L + 8 * k) << 8 * k;
            q2[2 * ib + 1] |= (uint32_t)signs[k] << 7 * k;
        }
        scales[ib] = scale;
        max_scale = LQI_MAX(max_scale, scale);
    }
    if (!max_scale) {
        memset(y->qs, 0, sizeof y->qs);
        return;
    }
    float d = max_scale / 31;
    y->d = lq_fp32_to_fp16(d);
    float id = 1 / d;
    for (int ib = 0; ib < QK_K / 32; ++ib) {
        q2[2 * ib + 1] |= (uint32_t)lqi_iq2_scale_code(id, scales[ib]) << 28;
    }
    memcpy(y->qs, q2, sizeof y->qs);
}

size_t lqi_quantize_iq2_xxs(const float *restrict src, void *restrict dst, int64_t nrow,
                            int64_t n_per_row, const float *imatrix)
{
    assert(n_per_row % QK_K == 0);
    return lqi_iq_quantize_rows(iq2_xxs_block, LQI_GRID_IQ2XXS, sizeof(block_iq2_xxs), true, src,
                                dst, nrow, n_per_row, imatrix);
}

// ---- dequantize and validate ------------------------------------------------------------

/* Group l of 32-weight chunk ib: grid index byte l of the first word; signs and scale in
 * the second. */
static inline void iq2_xxs_words(const block_iq2_xxs *x, int ib, uint32_t w[2])
{
    memcpy(w, x->qs + 4 * ib, 2 * sizeof(uint32_t));
}

void lqi_dequantize_row_iq2_xxs(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_iq2_xxs *x = vx;
    const struct lqi_iq2_decode *t = lqi_iq2_decode_tables();
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d);
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            uint32_t w[2];
            iq2_xxs_words(&x[i], ib, w);
            const float db = d * (0.5f + (w[1] >> 28)) * 0.25f;
            for (int l = 0; l < 4; ++l) {
                const uint8_t *grid = t->iq2xxs[(w[0] >> 8 * l) & 255];
                const uint8_t signs = t->ksigns[(w[1] >> 7 * l) & 127];
                for (int j = 0; j < 8; ++j) {
                    y[j] = db * grid[j] * (signs & (1 << j) ? -1.f : 1.f);
                }
                y += 8;
            }
        }
    }
}

bool lqi_validate_iq2_xxs(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_iq2_xxs), offsetof(block_iq2_xxs, d),
                                   -1);
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: integer sums per 32, scaled by 2s + 1; the 1/8 of the grid values'
 * scale and the 1/4 of the block scale's folded into one 0.125 at the end. */
static void dot_iq2_xxs_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                    const void *restrict vy)
{
    const block_iq2_xxs *x = vx;
    const block_q8_K *y = vy;
    const struct lqi_iq2_decode *t = lqi_iq2_decode_tables();
    float sumf = 0.f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d) * y[i].d;
        const int8_t *q8 = y[i].qs;
        int32_t bsum = 0;
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            uint32_t w[2];
            iq2_xxs_words(&x[i], ib, w);
            const int32_t ls = 2 * (int32_t)(w[1] >> 28) + 1;
            int32_t sumi = 0;
            for (int l = 0; l < 4; ++l) {
                const uint8_t *grid = t->iq2xxs[(w[0] >> 8 * l) & 255];
                const uint8_t signs = t->ksigns[(w[1] >> 7 * l) & 127];
                for (int j = 0; j < 8; ++j) {
                    sumi += grid[j] * q8[j] * (signs & (1 << j) ? -1 : 1);
                }
                q8 += 8;
            }
            bsum += sumi * ls;
        }
        sumf += d * bsum;
    }
    *s = 0.125f * sumf;
}

#if LQI_X86

/* Weights of a block: group g's 4 grid rows and 7-bit sign patterns, one scale per 32. */
static inline LQI_AVX2 void iq2_xxs_decode(const struct lqi_iq2_decode *t, const block_iq2_xxs *x,
                                           struct lqi_iq_w256 *b)
{
    for (int g = 0; g < 8; ++g) {
        uint32_t w[2];
        iq2_xxs_words(x, g, w);
        const uint8_t *q = (const uint8_t *)&w[0];
        uint64_t m[4];
        for (int l = 0; l < 4; ++l) {
            m[l] = t->sign_mask7[(w[1] >> 7 * l) & 127];
        }
        b->w[g] = lqi_iq_signed32(t->iq2xxs[q[0]], t->iq2xxs[q[1]], t->iq2xxs[q[2]],
                                  t->iq2xxs[q[3]], m[0], m[1], m[2], m[3]);
        const int ls = 2 * (int)(w[1] >> 28) + 1;
        b->s[g] = lqi_iq_scales(ls, ls);
    }
    lqi_iq_finish(b);
}

static inline LQI_AVX2 void iq2_xxs_finish(const block_iq2_xxs *x, const block_q8_K *y,
                                           int32_t isum, float *sumf)
{
    *sumf += lq_fp16_to_fp32(x->d) * y->d * isum;
}

LQI_IQ_DOT_KERNELS(iq2_xxs, block_iq2_xxs, iq2_xxs_decode, iq2_xxs_finish, 0.125f)
#endif

LQI_IQ_DOT_ENTRIES(iq2_xxs)
