/* iq2_s.c - IQ2_S: 2.5625 bpw, groups of 8 weights as a 10-bit index into a 1024-point grid
 * plus a full sign byte, a 4-bit scale per 16 (llama.cpp's quantize_row_iq2_s_impl, byte
 * for byte, with and without importance weights). */
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

static void iq2_s_block(const struct lqi_iq2_qgrid *g, const float *xbl, const float *qwbl,
                        void *vy)
{
    block_iq2_s *y = vy;
    float scales[QK_K / 16], weight[16], waux[16], xval[16];
    int8_t L[16];
    uint8_t signs[2];
    float max_scale = 0;
    memset(y, 0, sizeof *y);
    const float sigma2 = 2 * lqi_iq2_sumx2(xbl) / QK_K;
    for (int ib = 0; ib < QK_K / 16; ++ib) {
        lqi_iq2_group_prep(16, xbl + 16 * ib, qwbl ? qwbl + 16 * ib : NULL, sigma2, false, weight,
                           waux, xval, signs);
        bool zero;
        float scale = lqi_iq2_scale16(g, xval, weight, waux, LQI_IQ2S_EPS, L, &zero);
        if (zero) {
            scales[ib] = 0;
            continue;
        }
        if (scale < 0) { /* never with free signs (magnitudes are >= 0); kept as ggml has it */
            scale = -scale;
            signs[0] = (uint8_t)~signs[0];
            signs[1] = (uint8_t)~signs[1];
        }
        for (int k = 0; k < 2; ++k) {
            const int i8 = 2 * ib + k, index = lqi_iq2_index8(g, L + 8 * k);
            y->qs[i8] = (uint8_t)(index & 255);
            y->qh[i8 / 4] |= (uint8_t)((index >> 8) << 2 * (i8 % 4));
            y->qs[QK_K / 8 + i8] = signs[k];
        }
        scales[ib] = scale;
        max_scale = LQI_MAX(max_scale, scale);
    }
    if (!max_scale) {
        return;
    }
    float d = max_scale / 31;
    y->d = lq_fp32_to_fp16(d * 0.9875f);
    float id = 1 / d;
    for (int ib = 0; ib < QK_K / 16; ++ib) {
        y->scales[ib / 2] |= (uint8_t)(lqi_iq2_scale_code(id, scales[ib]) << 4 * (ib % 2));
    }
}

size_t lqi_quantize_iq2_s(const float *restrict src, void *restrict dst, int64_t nrow,
                          int64_t n_per_row, const float *imatrix)
{
    assert(n_per_row % QK_K == 0);
    return lqi_iq_quantize_rows(iq2_s_block, LQI_GRID_IQ2S, sizeof(block_iq2_s), false, src, dst,
                                nrow, n_per_row, imatrix);
}

void lqi_quantize_row_iq2_s_ref(const float *restrict x, void *restrict y, int64_t k)
{
    if (lqi_quantize_iq2_s(x, y, 1, k, NULL) == 0) {
        memset(y, 0, (size_t)(k / QK_K) * sizeof(block_iq2_s));
    }
}

// ---- dequantize and validate ------------------------------------------------------------

/* Grid index of group l (0..3) of 32-weight chunk ib. */
static inline int iq2_s_index(const block_iq2_s *x, int ib, int l)
{
    return x->qs[4 * ib + l] | ((x->qh[ib] << (8 - 2 * l)) & 0x300);
}

void lqi_dequantize_row_iq2_s(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_iq2_s *x = vx;
    const struct lqi_iq2_decode *t = lqi_iq2_decode_tables();
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d);
        const uint8_t *signs = x[i].qs + QK_K / 8;
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            float db[2];
            db[0] = d * (0.5f + (x[i].scales[ib] & 0xf)) * 0.25f;
            db[1] = d * (0.5f + (x[i].scales[ib] >> 4)) * 0.25f;
            for (int l = 0; l < 4; ++l) {
                const float dl = db[l / 2];
                const uint8_t *grid = t->iq2s[iq2_s_index(&x[i], ib, l)];
                for (int j = 0; j < 8; ++j) {
                    y[j] = dl * grid[j] * (signs[4 * ib + l] & (1 << j) ? -1.f : 1.f);
                }
                y += 8;
            }
        }
    }
}

bool lqi_validate_iq2_s(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_iq2_s), offsetof(block_iq2_s, d), -1);
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: integer sums per 16 scaled by 2s + 1, one 0.125 at the end. */
static void dot_iq2_s_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                  const void *restrict vy)
{
    const block_iq2_s *x = vx;
    const block_q8_K *y = vy;
    const struct lqi_iq2_decode *t = lqi_iq2_decode_tables();
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = lq_fp16_to_fp32(x[i].d) * y[i].d;
        const int8_t *q8 = y[i].qs;
        const uint8_t *signs = x[i].qs + QK_K / 8;
        int bsum = 0;
        for (int ib = 0; ib < QK_K / 32; ++ib) {
            int ls1 = 1 + 2 * (x[i].scales[ib] & 0xf);
            int ls2 = 1 + 2 * (x[i].scales[ib] >> 4);
            int sumi[2] = {0, 0};
            for (int l = 0; l < 4; ++l) {
                const uint8_t *grid = t->iq2s[iq2_s_index(&x[i], ib, l)];
                for (int j = 0; j < 8; ++j) {
                    sumi[l / 2] += q8[j] * grid[j] * (signs[l] & (1 << j) ? -1 : 1);
                }
                q8 += 8;
            }
            bsum += ls1 * sumi[0] + ls2 * sumi[1];
            signs += 4;
        }
        sumf += d * bsum;
    }
    *s = 0.125f * sumf;
}

#if LQI_X86

/* Weights of a block: 10-bit grid indices with full sign bytes, one scale per 16. */
static inline LQI_AVX2 void iq2_s_decode(const struct lqi_iq2_decode *t, const block_iq2_s *x,
                                         struct lqi_iq_w256 *b)
{
    const uint8_t *signs = x->qs + QK_K / 8;
    for (int g = 0; g < 8; ++g) {
        b->w[g] = lqi_iq_signed32(t->iq2s[iq2_s_index(x, g, 0)], t->iq2s[iq2_s_index(x, g, 1)],
                                  t->iq2s[iq2_s_index(x, g, 2)], t->iq2s[iq2_s_index(x, g, 3)],
                                  t->sign_mask[signs[4 * g + 0]], t->sign_mask[signs[4 * g + 1]],
                                  t->sign_mask[signs[4 * g + 2]], t->sign_mask[signs[4 * g + 3]]);
        b->s[g] = lqi_iq_scales(2 * (x->scales[g] & 0xf) + 1, 2 * (x->scales[g] >> 4) + 1);
    }
    lqi_iq_finish(b);
}

static inline LQI_AVX2 void iq2_s_finish(const block_iq2_s *x, const block_q8_K *y, int32_t isum,
                                         float *sumf)
{
    *sumf += lq_fp16_to_fp32(x->d) * y->d * isum;
}

LQI_IQ_DOT_KERNELS(iq2_s, block_iq2_s, iq2_s_decode, iq2_s_finish, 0.125f)
#endif

LQI_IQ_DOT_ENTRIES(iq2_s)
