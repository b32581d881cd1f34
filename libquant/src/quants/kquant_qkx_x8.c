/*
 * kquant_qkx_x8.c - make_qkx2_quants on eight sub-blocks at once, the scale search that
 * dominates Q2_K, Q4_K and Q5_K quantization. The AVX2 path gives each sub-block one lane
 * and performs, per lane, exactly the scalar search's float operations in the same order
 * (no fused multiply-adds, no reassociated sums; branches become per-lane blends), so the
 * bytes are the reference's bit for bit. Only independent sub-blocks share a register.
 */
#include "quants/kquant_common.h"
#include "quants/simd.h"

#if LQI_X86
#include "quants/kquant_x8.h"
#endif

static void qkx2_x8_scalar(int n, int nmax, const float *x, const float *weights, uint8_t *L,
                           float scales[8], float the_mins[8], float rmin, float rdelta, int nstep,
                           bool use_mad)
{
    uint8_t Laux[LQI_X8_MAX_N];
    for (int j = 0; j < 8; ++j) {
        scales[j] = lqi_make_qkx2_quants(n, nmax, x + j * n, weights + j * n, L + j * n,
                                         &the_mins[j], Laux, rmin, rdelta, nstep, use_mad);
    }
}

#if LQI_X86

/* round(iscale * (x - min)) clamped to [0, nmax]. */
static inline LQI_AVX2_NOFMA __m256i x8_quant(__m256 x, __m256 iscale, __m256 min, __m256i nmax)
{
    __m256i l = x8_nearest_int(_mm256_mul_ps(iscale, _mm256_sub_ps(x, min)));
    return _mm256_max_epi32(_mm256_setzero_si256(), _mm256_min_epi32(nmax, l));
}

/* sum_i w * f(scale * L + min - x), f = |.| or square, summed in index order. */
static inline LQI_AVX2_NOFMA __m256 x8_error(int n, const __m256 *xt, const __m256 *wt,
                                             const __m256i *Lt, __m256 scale, __m256 min,
                                             bool use_mad)
{
    const __m256 sign = _mm256_set1_ps(-0.f);
    __m256 err = _mm256_setzero_ps();
    for (int i = 0; i < n; ++i) {
        __m256 diff = _mm256_sub_ps(
            _mm256_add_ps(_mm256_mul_ps(scale, _mm256_cvtepi32_ps(Lt[i])), min), xt[i]);
        diff = use_mad ? _mm256_andnot_ps(sign, diff) : _mm256_mul_ps(diff, diff);
        err = _mm256_add_ps(err, _mm256_mul_ps(wt[i], diff));
    }
    return err;
}

static LQI_AVX2_NOFMA void qkx2_x8_avx2(int n, int nmax, const float *x, const float *weights,
                                        uint8_t *L, float scales[8], float the_mins[8], float rmin,
                                        float rdelta, int nstep, bool use_mad)
{
    __m256 xt[LQI_X8_MAX_N], wt[LQI_X8_MAX_N];
    __m256i Lt[LQI_X8_MAX_N], Laux[LQI_X8_MAX_N];
    xt[0] = x8_lanes(x, n, 0); /* lane j holds sub-block j */
    wt[0] = x8_lanes(weights, n, 0);
    for (int i = 1; i < n; ++i) {
        xt[i] = x8_lanes(x, n, i);
        wt[i] = x8_lanes(weights, n, i);
    }
    const __m256 zero = _mm256_setzero_ps();
    const __m256i vnmax = _mm256_set1_epi32(nmax);

    /* min, max and the weighted sums, starting from element 0 as the scalar scan does */
    __m256 min = xt[0], max = xt[0], sum_w = wt[0], sum_x = _mm256_mul_ps(wt[0], xt[0]);
    for (int i = 1; i < n; ++i) {
        min = x8_blend(min, xt[i], _mm256_cmp_ps(xt[i], min, _CMP_LT_OQ));
        max = x8_blend(max, xt[i], _mm256_cmp_ps(xt[i], max, _CMP_GT_OQ));
        sum_w = _mm256_add_ps(sum_w, wt[i]);
        sum_x = _mm256_add_ps(sum_x, _mm256_mul_ps(wt[i], xt[i]));
    }
    min = x8_blend(min, zero, _mm256_cmp_ps(min, zero, _CMP_GT_OQ));
    const __m256 flat = _mm256_cmp_ps(max, min, _CMP_EQ_OQ); /* all equal: no search */
    const __m256 min0 = min;

    __m256 iscale = _mm256_div_ps(_mm256_set1_ps((float)nmax), _mm256_sub_ps(max, min));
    __m256 scale = _mm256_div_ps(_mm256_set1_ps(1.f), iscale);
    for (int i = 0; i < n; ++i) {
        Lt[i] = x8_quant(xt[i], iscale, min, vnmax);
    }
    __m256 best_error = x8_error(n, xt, wt, Lt, scale, min, use_mad);
    for (int is = 0; nstep >= 1 && is <= nstep; ++is) {
        const float num = rmin + rdelta * is + nmax; /* the scalar expression, same rounding */
        iscale = _mm256_div_ps(_mm256_set1_ps(num), _mm256_sub_ps(max, min));
        __m256 sum_l = zero, sum_l2 = zero, sum_xl = zero;
        for (int i = 0; i < n; ++i) {
            Laux[i] = x8_quant(xt[i], iscale, min, vnmax);
            const __m256 l = _mm256_cvtepi32_ps(Laux[i]);
            const __m256 wl = _mm256_mul_ps(wt[i], l);
            sum_l = _mm256_add_ps(sum_l, wl);
            sum_l2 = _mm256_add_ps(sum_l2, _mm256_mul_ps(wl, l));
            sum_xl = _mm256_add_ps(sum_xl, _mm256_mul_ps(wl, xt[i]));
        }
        /* weighted least squares for scale and min; singular systems are skipped */
        const __m256 D = _mm256_sub_ps(_mm256_mul_ps(sum_w, sum_l2), _mm256_mul_ps(sum_l, sum_l));
        const __m256 solvable = _mm256_cmp_ps(D, zero, _CMP_GT_OQ);
        __m256 this_scale = _mm256_div_ps(
            _mm256_sub_ps(_mm256_mul_ps(sum_w, sum_xl), _mm256_mul_ps(sum_x, sum_l)), D);
        __m256 this_min = _mm256_div_ps(
            _mm256_sub_ps(_mm256_mul_ps(sum_l2, sum_x), _mm256_mul_ps(sum_l, sum_xl)), D);
        const __m256 positive_min = _mm256_cmp_ps(this_min, zero, _CMP_GT_OQ);
        this_min = x8_blend(this_min, zero, positive_min);
        this_scale = x8_blend(this_scale, _mm256_div_ps(sum_xl, sum_l2), positive_min);
        const __m256 cur_error = x8_error(n, xt, wt, Laux, this_scale, this_min, use_mad);
        const __m256 better =
            _mm256_and_ps(solvable, _mm256_cmp_ps(cur_error, best_error, _CMP_LT_OQ));
        if (_mm256_movemask_ps(better) == 0) {
            continue;
        }
        for (int i = 0; i < n; ++i) {
            Lt[i] = _mm256_castps_si256(
                x8_blend(_mm256_castsi256_ps(Lt[i]), _mm256_castsi256_ps(Laux[i]), better));
        }
        best_error = x8_blend(best_error, cur_error, better);
        scale = x8_blend(scale, this_scale, better);
        min = x8_blend(min, this_min, better);
    }
    /* flat sub-blocks: zero quants, scale 0, min as scanned */
    scale = x8_blend(scale, zero, flat);
    min = x8_blend(min, min0, flat);
    const __m256 neg_min = _mm256_xor_ps(min, _mm256_set1_ps(-0.f));
    _mm256_storeu_ps(scales, scale);
    _mm256_storeu_ps(the_mins, neg_min);
    const int flat_lanes = _mm256_movemask_ps(flat);
    int32_t lanes[8];
    for (int i = 0; i < n; ++i) {
        _mm256_storeu_si256((__m256i *)lanes, Lt[i]);
        for (int j = 0; j < 8; ++j) {
            L[j * n + i] = (flat_lanes >> j) & 1 ? 0 : (uint8_t)lanes[j];
        }
    }
}

#endif /* LQI_X86 */

void lqi_make_qkx2_quants_x8(int n, int nmax, const float *x, const float *weights, uint8_t *L,
                             float scales[8], float the_mins[8], float rmin, float rdelta,
                             int nstep, bool use_mad)
{
    assert(n >= 1 && n <= LQI_X8_MAX_N);
    LQI_SIMD_CALL(qkx2_x8_avx2, qkx2_x8_avx2, qkx2_x8_scalar, n, nmax, x, weights, L, scales,
                  the_mins, rmin, rdelta, nstep, use_mad);
}
