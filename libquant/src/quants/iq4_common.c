/* iq4_common.c - the scale search shared by IQ4_NL and IQ4_XS (llama.cpp's
 * quantize_row_iq4_nl_impl, float operation for float operation: the bytes depend on it). */
#include <math.h>

#include "lq/fp16.h"
#include "quants/iq4.h"
#include "quants/kquant_common.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/simd_x86.h"
#endif

const int8_t lqi_iq4_levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                   1,    13,   25,  38,  53,  69,  89,  113};

/* Number of trial scales on each side of the first guess (llama.cpp's ntry). */
#define IQ4_NTRY 7

/* The first guess and the 2 * IQ4_NTRY + 1 trial scales. */
#define IQ4_FITS (2 * IQ4_NTRY + 2)

/* Weighted fit of the levels chosen for xb at each inverse scale id[t]: sum w*q*x and sum
 * w*q*q. The trials are independent, so their sums run side by side (a vector lane each, the
 * adds no longer waiting on one another) while each still adds j = 0 .. 31 in order, as
 * llama.cpp does one trial at a time: the same floats. */
static void fit_all(const float lv[16], const float *xb, const float *w,
                    const float id[IQ4_FITS], float sumqx[IQ4_FITS], float sumq2[IQ4_FITS])
{
    float q[32][IQ4_FITS];
    for (int t = 0; t < IQ4_FITS; ++t) {
        int idx[32];
        for (int j = 0; j < 32; ++j) {
            idx[j] = lqi_iq4_nearest_in(lv, id[t] * xb[j]);
        }
        for (int j = 0; j < 32; ++j) {
            q[j][t] = lv[idx[j]];
        }
    }
    float sx[IQ4_FITS] = { 0 }, s2[IQ4_FITS] = { 0 };
    for (int j = 0; j < 32; ++j) {
        for (int t = 0; t < IQ4_FITS; ++t) {
            sx[t] += w[j] * q[j][t] * xb[j];
            s2[t] += w[j] * q[j][t] * q[j][t];
        }
    }
    for (int t = 0; t < IQ4_FITS; ++t) {
        sumqx[t] = sx[t];
        sumq2[t] = s2[t];
    }
}

#if LQI_X86
/* fit_all with the 16 trials in the 16 lanes: per element one product per trial, the
 * bracket counted by 14 masked compares, both candidate levels by permutes, the same float
 * comparison, then the trials' sums, each in element order (separate multiplies and adds, as
 * the portable code: no fused multiply-add). */
static LQI_AVX512 void fit_all_avx512(const float lv[16], const float *xb, const float *w,
                                      const float id[IQ4_FITS], float sumqx[IQ4_FITS],
                                      float sumq2[IQ4_FITS])
{
    _Static_assert(IQ4_FITS == 16, "one lane per trial");
    const __m512 levels = _mm512_loadu_ps(lv), vid = _mm512_loadu_ps(id);
    const __m512i one = _mm512_set1_epi32(1);
    __m512 inner[14];
    for (int k = 1; k < 15; k++) {
        inner[k - 1] = _mm512_set1_ps(lv[k]);
    }
    __m512 sx = _mm512_setzero_ps(), s2 = _mm512_setzero_ps();
    for (int j = 0; j < 32; ++j) {
        const __m512 x = _mm512_set1_ps(xb[j]);
        const __m512 v = _mm512_mul_ps(vid, x);
        __m512i hi = one;
#pragma GCC unroll 14
        for (int k = 0; k < 14; k++) { /* !(v < level): NaN counts, as in the portable code */
            hi = _mm512_mask_add_epi32(hi, _mm512_cmp_ps_mask(v, inner[k], _CMP_NLT_UQ), hi, one);
        }
        const __m512 lo_q = _mm512_permutexvar_ps(_mm512_sub_epi32(hi, one), levels);
        const __m512 hi_q = _mm512_permutexvar_ps(hi, levels);
        const __mmask16 take_lo = _mm512_cmp_ps_mask(_mm512_sub_ps(v, lo_q),
                                                     _mm512_sub_ps(hi_q, v), _CMP_LT_OQ);
        const __m512 q = _mm512_mask_blend_ps(take_lo, hi_q, lo_q);
        const __m512 wq = _mm512_mul_ps(_mm512_set1_ps(w[j]), q);
        sx = _mm512_add_ps(sx, _mm512_mul_ps(wq, x));
        s2 = _mm512_add_ps(s2, _mm512_mul_ps(wq, q));
    }
    _mm512_storeu_ps(sumqx, sx);
    _mm512_storeu_ps(sumq2, s2);
}
#endif

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
    float lv[16], id[IQ4_FITS], sumqx[IQ4_FITS], sumq2[IQ4_FITS];
    lqi_iq4_levels_float(lv);
    id[0] = 1 / (-max / v0);
    for (int itry = -IQ4_NTRY; itry <= IQ4_NTRY; ++itry) {
        id[itry + IQ4_NTRY + 1] = (itry + v0) / max;
    }
    LQI_SIMD_CALL(fit_all_avx512, fit_all, fit_all, lv, xb, w, id, sumqx, sumq2);
    float d = sumq2[0] > 0 ? sumqx[0] / sumq2[0] : 0.f;
    float best = d * sumqx[0];
    for (int t = 1; t < IQ4_FITS; ++t) {
        if (sumq2[t] > 0 && sumqx[t] * sumqx[t] > best * sumq2[t]) {
            d = sumqx[t] / sumq2[t];
            best = d * sumqx[t];
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
