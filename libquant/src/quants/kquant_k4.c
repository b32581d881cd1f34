/* kquant_k4.c - what Q4_K and Q5_K share: 8 sub-blocks of 32 with a 6-bit scale and min
 * each. The searches of quantize_row_q{4,5}_K_ref / _impl differ only in the number of
 * levels and a few constants (ggml-quants.c's operation order, kept). */
#include "lq/fp16.h"
#include "quants/kquant_common.h"

void lqi_qk_scale_min_ref(const float *x, int nmax, float rmin, int nstep, uint8_t L[QK_K],
                          uint8_t scales[K_SCALE_SIZE], uint16_t *d, uint16_t *dmin)
{
    uint8_t Laux[32], ls[8], lm[8];
    float weights[32], mins[QK_K / 32], sc[QK_K / 32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; ++j) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; ++l) {
            sum_x2 += x[32 * j + l] * x[32 * j + l];
        }
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; ++l) {
            weights[l] = av_x + fabsf(x[32 * j + l]);
        }
        sc[j] = lqi_make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                     rmin, 0.1f, nstep, false);
        max_scale = sc[j] > max_scale ? sc[j] : max_scale;
        max_min = mins[j] > max_min ? mins[j] : max_min;
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    for (int j = 0; j < QK_K / 32; ++j) {
        ls[j] = (uint8_t)lqi_nearest_int(inv_scale * sc[j]);
        lm[j] = (uint8_t)lqi_nearest_int(inv_min * mins[j]);
        ls[j] = LQI_MIN(63, ls[j]);
        lm[j] = LQI_MIN(63, lm[j]);
    }
    lqi_pack_scale_min_k4(ls, lm, scales);
    *d = lq_fp32_to_fp16(max_scale / 63.f);
    *dmin = lq_fp32_to_fp16(max_min / 63.f);
}

void lqi_qk_scale_min_impl(const float *x, const float *qw, int nmax, bool clamp63, uint8_t L[QK_K],
                           uint8_t scales[K_SCALE_SIZE], uint16_t *d, uint16_t *dmin)
{
    uint8_t Laux[32], Ls[QK_K / 32], Lm[QK_K / 32];
    float weights[32], sw[QK_K / 32], mins[QK_K / 32], sc[QK_K / 32];
    const float sigma2 = 2 * lqi_sum_x2_qk(x) / QK_K;
    for (int j = 0; j < QK_K / 32; ++j) {
        for (int l = 0; l < 32; ++l) {
            weights[l] = qw[32 * j + l] * sqrtf(sigma2 + x[32 * j + l] * x[32 * j + l]);
        }
        float sumw = 0;
        for (int l = 0; l < 32; ++l) {
            sumw += weights[l];
        }
        sw[j] = sumw;
        sc[j] = lqi_make_qkx3_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                     -0.9f, 0.05f, 36, false);
    }
    float d_block = lqi_make_qp_quants(QK_K / 32, 63, sc, Ls, sw);
    float m_block = lqi_make_qp_quants(QK_K / 32, 63, mins, Lm, sw);
    for (int j = 0; clamp63 && j < QK_K / 32; ++j) {
        Ls[j] = LQI_MIN(63, Ls[j]);
        Lm[j] = LQI_MIN(63, Lm[j]);
    }
    lqi_pack_scale_min_k4(Ls, Lm, scales);
    *d = lq_fp32_to_fp16(d_block);
    *dmin = lq_fp32_to_fp16(m_block);
}

void lqi_qk_requantize_k4(const float *x, const uint8_t scales[K_SCALE_SIZE], uint16_t d,
                          uint16_t dmin, int nmax, uint8_t L[QK_K])
{
    for (int j = 0; j < QK_K / 32; ++j) {
        uint8_t sc, m;
        lqi_get_scale_min_k4(j, scales, &sc, &m);
        const float dl = lq_fp16_to_fp32(d) * sc;
        if (!dl) {
            continue;
        }
        const float dm = lq_fp16_to_fp32(dmin) * m;
        for (int ii = 0; ii < 32; ++ii) {
            int l = lqi_nearest_int((x[32 * j + ii] + dm) / dl);
            L[32 * j + ii] = (uint8_t)LQI_MAX(0, LQI_MIN(nmax, l));
        }
    }
}
