/*
 * kquant_qx_x8.c - make_qx_quants (rmse_type 1: the full search with 18 nearby scales) on
 * eight sub-blocks at once, Q6_K's scale search. Each lane runs one sub-block with the
 * scalar search's operations in its order (see kquant_x8.h), so bytes are unchanged.
 */
#include "quants/kquant_common.h"
#include "quants/simd.h"

#if LQI_X86
#include "quants/kquant_x8.h"
#endif

static void qx_x8_scalar(int n, int nmax, const float *x, const float *qw, int8_t *L,
                         float scales[8])
{
    for (int j = 0; j < 8; ++j) {
        scales[j] = lqi_make_qx_quants(n, nmax, x + j * n, L + j * n, 1, qw ? qw + j * n : NULL);
    }
}

#if LQI_X86

/* round(iscale * x) clamped to [-nmax, nmax - 1], as float and as int. */
static inline LQI_AVX2_NOFMA __m256i x8_quant_sym(__m256 x, __m256 iscale, int nmax)
{
    const __m256i l = x8_nearest_int(_mm256_mul_ps(iscale, x));
    return _mm256_max_epi32(_mm256_set1_epi32(-nmax),
                            _mm256_min_epi32(_mm256_set1_epi32(nmax - 1), l));
}

/* The weighted sums sum w*x*l and sum w*l*l of the quants for iscale; quants kept in Lt. */
static inline LQI_AVX2_NOFMA void x8_sums(int n, const __m256 *xt, const __m256 *wt, __m256 iscale,
                                          int nmax, __m256i *Lt, __m256 *sumlx, __m256 *suml2)
{
    __m256 slx = _mm256_setzero_ps(), sl2 = _mm256_setzero_ps();
    for (int i = 0; i < n; ++i) {
        Lt[i] = x8_quant_sym(xt[i], iscale, nmax);
        const __m256 l = _mm256_cvtepi32_ps(Lt[i]);
        slx = _mm256_add_ps(slx, _mm256_mul_ps(_mm256_mul_ps(wt[i], xt[i]), l));
        sl2 = _mm256_add_ps(sl2, _mm256_mul_ps(_mm256_mul_ps(wt[i], l), l));
    }
    *sumlx = slx;
    *suml2 = sl2;
}

static LQI_AVX2_NOFMA void qx_x8_avx2(int n, int nmax, const float *x, const float *qw, int8_t *L,
                                      float scales[8])
{
    __m256 xt[LQI_X8_MAX_N], wt[LQI_X8_MAX_N];
    __m256i best_L[LQI_X8_MAX_N], Laux[LQI_X8_MAX_N];
    const __m256 sign = _mm256_set1_ps(-0.f), zero = _mm256_setzero_ps();
    /* the first element of largest magnitude, with its sign */
    __m256 max = zero, amax = zero;
    for (int i = 0; i < n; ++i) {
        xt[i] = x8_lanes(x, n, i);
        wt[i] = qw ? x8_lanes(qw, n, i) : _mm256_mul_ps(xt[i], xt[i]);
        const __m256 ax = _mm256_andnot_ps(sign, xt[i]);
        const __m256 larger = _mm256_cmp_ps(ax, amax, _CMP_GT_OQ);
        amax = x8_blend(amax, ax, larger);
        max = x8_blend(max, xt[i], larger);
    }
    const __m256 tiny = _mm256_cmp_ps(amax, _mm256_set1_ps(LQI_GROUP_MAX_EPS), _CMP_LT_OQ);

    __m256 iscale = _mm256_div_ps(_mm256_set1_ps((float)-nmax), max);
    __m256 sumlx, suml2;
    x8_sums(n, xt, wt, iscale, nmax, best_L, &sumlx, &suml2);
    /* C's `suml2 ? a : 0` is true for NaN too: not-equal-or-unordered */
    __m256 scale =
        x8_blend(zero, _mm256_div_ps(sumlx, suml2), _mm256_cmp_ps(suml2, zero, _CMP_NEQ_UQ));
    __m256 best = _mm256_mul_ps(scale, sumlx);
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) {
            continue;
        }
        const float num = -(nmax + 0.1f * is); /* the scalar expression, same rounding */
        iscale = _mm256_div_ps(_mm256_set1_ps(num), max);
        x8_sums(n, xt, wt, iscale, nmax, Laux, &sumlx, &suml2);
        const __m256 better = _mm256_and_ps(
            _mm256_cmp_ps(suml2, zero, _CMP_GT_OQ),
            _mm256_cmp_ps(_mm256_mul_ps(sumlx, sumlx), _mm256_mul_ps(best, suml2), _CMP_GT_OQ));
        if (_mm256_movemask_ps(better) == 0) {
            continue;
        }
        for (int i = 0; i < n; ++i) {
            best_L[i] = _mm256_castps_si256(
                x8_blend(_mm256_castsi256_ps(best_L[i]), _mm256_castsi256_ps(Laux[i]), better));
        }
        scale = x8_blend(scale, _mm256_div_ps(sumlx, suml2), better);
        best = x8_blend(best, _mm256_mul_ps(scale, sumlx), better);
    }
    scale = x8_blend(scale, zero, tiny); /* all (near) zero: scale 0, quants 0 */
    _mm256_storeu_ps(scales, scale);
    const int tiny_lanes = _mm256_movemask_ps(tiny);
    int32_t lanes[8];
    for (int i = 0; i < n; ++i) {
        _mm256_storeu_si256((__m256i *)lanes, best_L[i]);
        for (int j = 0; j < 8; ++j) {
            L[j * n + i] = (tiny_lanes >> j) & 1 ? 0 : (int8_t)(nmax + lanes[j]);
        }
    }
}

#endif /* LQI_X86 */

void lqi_make_qx_quants_x8(int n, int nmax, const float *x, const float *qw, int8_t *L,
                           float scales[8])
{
    assert(n >= 1 && n <= LQI_X8_MAX_N);
    LQI_SIMD_CALL(qx_x8_avx2, qx_x8_avx2, qx_x8_scalar, n, nmax, x, qw, L, scales);
}
