/* iq2_xs.c - IQ2_XS: 2.3125 bpw, groups of 8 weights as a 9-bit index into a 512-point grid
 * plus 7 stored signs, a 4-bit scale per 16 (llama.cpp's quantize_row_iq2_xs_impl, byte for
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

static void iq2_xs_block(const struct lqi_iq2_qgrid *g, const float *xbl, const float *qwbl,
                         void *vy)
{
    block_iq2_xs *y = vy;
    float scales[QK_K / 16], weight[16], waux[16], xval[16];
    int8_t L[16];
    uint8_t signs[2];
    float max_scale = 0;
    const float sigma2 = lqi_iq2_sumx2(xbl) / QK_K;
    y->d = lq_fp32_to_fp16(0.f);
    memset(y->qs, 0, sizeof y->qs);
    memset(y->scales, 0, sizeof y->scales);
    for (int ib = 0; ib < QK_K / 16; ++ib) {
        lqi_iq2_group_prep(16, xbl + 16 * ib, qwbl + 16 * ib, sigma2, true, weight, waux, xval,
                           signs);
        bool zero;
        float scale = lqi_iq2_scale16(g, xval, weight, waux, LQI_IQ2_EPS, L, &zero);
        if (zero) {
            scales[ib] = 0;
            continue;
        }
        if (scale < 0) { /* the one negative magnitude outweighed the rest: flip every sign */
            scale = -scale;
            for (int k = 0; k < 2; ++k) {
                signs[k] = (uint8_t)(~signs[k] & 127);
            }
        }
        for (int k = 0; k < 2; ++k) {
            y->qs[2 * ib + k] = (uint16_t)(lqi_iq2_index8(g, L + 8 * k) | signs[k] << 9);
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
    for (int ib = 0; ib < QK_K / 16; ++ib) {
        y->scales[ib / 2] |= (uint8_t)(lqi_iq2_scale_code(id, scales[ib]) << 4 * (ib % 2));
    }
}

size_t lqi_quantize_iq2_xs(const float *restrict src, void *restrict dst, int64_t nrow,
                           int64_t n_per_row, const float *imatrix)
{
    assert(n_per_row % QK_K == 0);
    return lqi_iq_quantize_rows(iq2_xs_block, LQI_GRID_IQ2XS, sizeof(block_iq2_xs), true, src, dst,
                                nrow, n_per_row, imatrix);
}

// ---- dequantize and validate ------------------------------------------------------------

void lqi_dequantize_row_iq2_xs(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_iq2_xs *x = vx;
    const struct lqi_iq2_decode *t = lqi_iq2_decode_tables();
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d);
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            float db[2];
            db[0] = d * (0.5f + (x[i].scales[ib] & 0xf)) * 0.25f;
            db[1] = d * (0.5f + (x[i].scales[ib] >> 4)) * 0.25f;
            for (int l = 0; l < 4; ++l) {
                const uint16_t q = x[i].qs[4 * ib + l];
                const uint8_t *grid = t->iq2xs[q & 511];
                const uint8_t signs = t->ksigns[q >> 9];
                for (int j = 0; j < 8; ++j) {
                    y[j] = db[l / 2] * grid[j] * (signs & (1 << j) ? -1.f : 1.f);
                }
                y += 8;
            }
        }
    }
}

bool lqi_validate_iq2_xs(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_iq2_xs), offsetof(block_iq2_xs, d),
                                   -1);
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* Signed integer dot of 8 weights (grid values, sign pattern) with 8 activations. */
static inline int32_t dot8_signed(const uint8_t *grid, uint8_t signs, const int8_t *q8)
{
    int32_t sumi = 0;
    for (int j = 0; j < 8; ++j) {
        sumi += grid[j] * q8[j] * (signs & (1 << j) ? -1 : 1);
    }
    return sumi;
}

/* ggml's generic kernel: integer sums per 16 scaled by 2s + 1, one 0.125 at the end. */
static void dot_iq2_xs_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                   const void *restrict vy)
{
    const block_iq2_xs *x = vx;
    const block_q8_K *y = vy;
    const struct lqi_iq2_decode *t = lqi_iq2_decode_tables();
    float sumf = 0.f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d) * y[i].d;
        const uint16_t *q2 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        int32_t bsum = 0;
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            for (int h = 0; h < 2; ++h) {
                const int32_t ls = 2 * ((x[i].scales[ib] >> 4 * h) & 0xf) + 1;
                int32_t sumi = 0;
                for (int l = 2 * h; l < 2 * h + 2; ++l) {
                    sumi += dot8_signed(t->iq2xs[q2[l] & 511], t->ksigns[q2[l] >> 9], q8);
                    q8 += 8;
                }
                bsum += sumi * ls;
            }
            q2 += 4;
        }
        sumf += d * bsum;
    }
    *s = 0.125f * sumf;
}

#if LQI_X86

/* Weights of a block: 9-bit grid indices with 7-bit sign patterns, one scale per 16. */
static inline LQI_AVX2 void iq2_xs_decode(const struct lqi_iq2_decode *t, const block_iq2_xs *x,
                                          struct lqi_iq_w256 *b)
{
    for (int g = 0; g < 8; ++g) {
        const uint16_t *q = x->qs + 4 * g;
        b->w[g] = lqi_iq_signed32(t->iq2xs[q[0] & 511], t->iq2xs[q[1] & 511], t->iq2xs[q[2] & 511],
                                  t->iq2xs[q[3] & 511], t->sign_mask7[q[0] >> 9],
                                  t->sign_mask7[q[1] >> 9], t->sign_mask7[q[2] >> 9],
                                  t->sign_mask7[q[3] >> 9]);
        b->s[g] = lqi_iq_scales(2 * (x->scales[g] & 0xf) + 1, 2 * (x->scales[g] >> 4) + 1);
    }
    lqi_iq_finish(b);
}

static inline LQI_AVX2 void iq2_xs_finish(const block_iq2_xs *x, const block_q8_K *y, int32_t isum,
                                          float *sumf)
{
    *sumf += lq_fp16_to_fp32(x->d) * y->d * isum;
}

LQI_IQ_DOT_KERNELS(iq2_xs, block_iq2_xs, iq2_xs_decode, iq2_xs_finish, 0.125f)
#endif

LQI_IQ_DOT_ENTRIES(iq2_xs)
