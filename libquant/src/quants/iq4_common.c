/* iq4_common.c - the scale search shared by IQ4_NL and IQ4_XS (llama.cpp's
 * quantize_row_iq4_nl_impl, float operation for float operation: the bytes depend on it). */
#include <math.h>

#include "lq/fp16.h"
#include "quants/iq4.h"
#include "quants/kquant_common.h"

const int8_t lqi_iq4_levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                   1,    13,   25,  38,  53,  69,  89,  113};

/* Number of trial scales on each side of the first guess (llama.cpp's ntry). */
#define IQ4_NTRY 7

/* Weighted fit of the levels chosen for xb at inverse scale id: sum w*q*x and sum w*q*q. */
static void fit_at(const float lv[16], const float *xb, const float *w, float id, float *sumqx,
                   float *sumq2)
{
    int idx[32]; /* the levels first, free of the sums' serial dependence */
    for (int j = 0; j < 32; ++j) {
        idx[j] = lqi_iq4_nearest_in(lv, id * xb[j]);
    }
    float sx = 0, s2 = 0;
    for (int j = 0; j < 32; ++j) {
        float q = lv[idx[j]];
        sx += w[j] * q * xb[j];
        s2 += w[j] * q * q;
    }
    *sumqx = sx;
    *sumq2 = s2;
}

/* Best scale of one sub-block of 32 (0 for an all-zero one). The first guess maps the value
 * of largest magnitude onto the outermost level -127; then 15 inverse scales around it.
 * The indices are chosen afresh once the scale is final (and, for IQ4_XS, coded). */
static float subblock_scale(const float *xb, const float *w)
{
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j) {
        float ax = fabsf(xb[j]);
        if (ax > amax) {
            amax = ax;
            max = xb[j];
        }
    }
    if (amax < LQI_GROUP_MAX_EPS) {
        return 0;
    }
    const int v0 = lqi_iq4_levels[0];
    float lv[16], sumqx, sumq2;
    lqi_iq4_levels_float(lv);
    fit_at(lv, xb, w, 1 / (-max / v0), &sumqx, &sumq2);
    float d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int itry = -IQ4_NTRY; itry <= IQ4_NTRY; ++itry) {
        fit_at(lv, xb, w, (itry + v0) / max, &sumqx, &sumq2);
        if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
            d = sumqx / sumq2;
            best = d * sumqx;
        }
    }
    return d;
}

void lqi_iq4_quantize_superblock(int n, const float *restrict x, const float *restrict qw,
                                 uint16_t *d, uint8_t *restrict q4, uint16_t *scales_h,
                                 uint8_t *scales_l)
{
    float sigma2 = 0;
    for (int j = 0; j < n; ++j) {
        sigma2 += x[j] * x[j];
    }
    sigma2 *= 2.f / n;

    uint8_t L[QK_K];
    float scales[QK_K / 32] = { 0 };
    float max_scale = 0, amax_scale = 0;
    const int nsub = n / 32;
    for (int ib = 0; ib < nsub; ++ib) {
        const float *xb = x + 32 * ib;
        float w[32];
        for (int j = 0; j < 32; ++j) {
            w[j] = qw ? qw[32 * ib + j] * sqrtf(sigma2 + xb[j] * xb[j]) : xb[j] * xb[j];
        }
        scales[ib] = subblock_scale(xb, w);
        float abs_d = fabsf(scales[ib]);
        if (abs_d > amax_scale) {
            amax_scale = abs_d;
            max_scale = scales[ib];
        }
    }

    float lv[16];
    lqi_iq4_levels_float(lv);
    if (nsub > 1) {
        /* 6-bit sub-scales l in -32..31 of one fp16 d: the largest maps onto -32 */
        *scales_h = 0;
        const float dd = -max_scale / 32;
        *d = lq_fp32_to_fp16(dd);
        const float id = dd ? 1 / dd : 0.f;
        for (int ib = 0; ib < nsub; ++ib) {
            int l = lqi_nearest_int(id * scales[ib]);
            l = LQI_MAX(-32, LQI_MIN(31, l));
            const float dl = dd * l;
            const float idl = dl ? 1 / dl : 0.f;
            for (int j = 0; j < 32; ++j) {
                L[32 * ib + j] = (uint8_t)lqi_iq4_nearest_in(lv, idl * x[32 * ib + j]);
            }
            l += 32;
            if (ib % 2 == 0) {
                scales_l[ib / 2] = (uint8_t)(l & 0xf);
            } else {
                scales_l[ib / 2] |= (uint8_t)((l & 0xf) << 4);
            }
            *scales_h |= (uint16_t)((l >> 4) << 2 * (ib % 8));
        }
    } else {
        *d = lq_fp32_to_fp16(scales[0]);
        const float id = scales[0] ? 1 / scales[0] : 0;
        for (int j = 0; j < 32; ++j) {
            L[j] = (uint8_t)lqi_iq4_nearest_in(lv, id * x[j]);
        }
    }

    for (int i = 0; i < nsub; ++i) {
        for (int j = 0; j < 16; ++j) {
            q4[16 * i + j] = (uint8_t)(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
        }
    }
}
