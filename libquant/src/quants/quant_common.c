/* quant_common.c - scale-search helpers shared by the quantizers (ggml-quants.c's algorithms,
 * kept operation for operation so the bytes match llama.cpp's). */
#include "quants/quant_common.h"

#include <math.h>

// ---- make_qx_quants ---------------------------------------------------------------------

static inline float qx_weight(const float *restrict x, const float *restrict qw, int i,
                              int rmse_type)
{
    if (qw) {
        return qw[i];
    }
    switch (rmse_type) {
    case 1:
        return x[i] * x[i];
    case 2:
        return 1;
    case 3:
        return fabsf(x[i]);
    default:
        return sqrtf(fabsf(x[i]));
    }
}

/* Quantizes with iscale, accumulating the weighted sums sum(w x l) and sum(w l^2) in ggml's
 * order; stores l + nmax into L when L is not NULL. */
static void qx_fit(int n, int nmax, const float *restrict x, float iscale, const float *restrict qw,
                   int rmse_type, int8_t *restrict L, float *sumlx, float *suml2)
{
    float slx = 0;
    float sl2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = lqi_nearest_int(iscale * x[i]);
        l = LQI_MAX(-nmax, LQI_MIN(nmax - 1, l));
        if (L) {
            L[i] = (int8_t)(l + nmax);
        }
        float w = qx_weight(x, qw, i, rmse_type);
        slx += w * x[i] * l;
        sl2 += w * l * l;
    }
    *sumlx = slx;
    *suml2 = sl2;
}

/* The signed value of largest magnitude (the first one on ties), and that magnitude. */
static float signed_absmax(int n, const float *x, float *amax_out)
{
    float max = 0;
    float amax = 0;
    for (int i = 0; i < n; ++i) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    *amax_out = amax;
    return max;
}

/* Head comment: the scale maps the signed extreme to -nmax; rmse_type > 0 then refits the
 * scale by weighted least squares and tries 18 nearby iscales, keeping the one with the
 * largest sumlx^2/suml2 (equivalently the smallest weighted error). */
float lqi_make_qx_quants(int n, int nmax, const float *restrict x, int8_t *restrict L,
                         int rmse_type, const float *restrict qw)
{
    float amax;
    float max = signed_absmax(n, x, &amax);
    if (amax < LQI_GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    float iscale = -nmax / max;
    if (rmse_type == 0) {
        for (int i = 0; i < n; ++i) {
            int l = lqi_nearest_int(iscale * x[i]);
            L[i] = (int8_t)(nmax + LQI_MAX(-nmax, LQI_MIN(nmax - 1, l)));
        }
        return 1 / iscale;
    }
    bool return_early = rmse_type < 0;
    rmse_type = return_early ? -rmse_type : rmse_type;
    float sumlx, suml2;
    qx_fit(n, nmax, x, iscale, qw, rmse_type, L, &sumlx, &suml2);
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    if (return_early) {
        return suml2 > 0 ? 0.5f * (scale + 1 / iscale) : 1 / iscale;
    }
    float best = scale * sumlx;
    for (int is = -9; is <= 9; ++is) {
        if (is == 0) {
            continue;
        }
        iscale = -(nmax + 0.1f * is) / max;
        qx_fit(n, nmax, x, iscale, qw, rmse_type, NULL, &sumlx, &suml2);
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            qx_fit(n, nmax, x, iscale, qw, rmse_type, L, &sumlx, &suml2);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// ---- make_qkx2 / make_qkx3 --------------------------------------------------------------

/* Weighted sums for one trial iscale of the affine search; Laux receives the levels. */
struct qkx_sums {
    float sum_l, sum_l2, sum_xl;
};

static inline float qkx_weight(const float *restrict weights, const float *restrict x, int i)
{
    return weights ? weights[i] : x[i] * x[i];
}

/* Weighted error of levels L under (scale, min): sum w * |diff| or w * diff^2. */
static float qkx_error(int n, const float *restrict x, const float *restrict weights,
                       const uint8_t *restrict L, float scale, float min, bool use_mad)
{
    float err = 0;
    for (int i = 0; i < n; ++i) {
        float diff = scale * L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        float w = qkx_weight(weights, x, i);
        err += w * diff;
    }
    return err;
}

/* Least-squares (scale, min) for fixed levels; min clamped to <= 0 as ggml does. Returns
 * false when the system is singular (D <= 0). */
static bool qkx_solve(struct qkx_sums s, float sum_w, float sum_x, float *scale, float *min)
{
    float D = sum_w * s.sum_l2 - s.sum_l * s.sum_l;
    if (!(D > 0)) {
        return false;
    }
    float this_scale = (sum_w * s.sum_xl - sum_x * s.sum_l) / D;
    float this_min = (s.sum_l2 * sum_x - s.sum_l * s.sum_xl) / D;
    if (this_min > 0) {
        this_min = 0;
        this_scale = s.sum_xl / s.sum_l2;
    }
    *scale = this_scale;
    *min = this_min;
    return true;
}

/* Shared prologue: range, weighted sums, and levels under the plain min/max scale. Returns
 * false when the block is flat (L zeroed). */
static bool qkx_start(int n, int nmax, const float *restrict x, const float *restrict weights,
                      uint8_t *restrict L, float *min, float *max, float *sum_w, float *sum_x)
{
    float mn = x[0];
    float mx = x[0];
    float sw = qkx_weight(weights, x, 0);
    float sx = sw * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < mn) {
            mn = x[i];
        }
        if (x[i] > mx) {
            mx = x[i];
        }
        float w = qkx_weight(weights, x, i);
        sw += w;
        sx += w * x[i];
    }
    if (mn > 0) {
        mn = 0;
    }
    *min = mn;
    *max = mx;
    *sum_w = sw;
    *sum_x = sx;
    if (mx <= mn) {
        memset(L, 0, (size_t)n);
        return false;
    }
    float iscale = nmax / (mx - mn);
    for (int i = 0; i < n; ++i) {
        int l = lqi_nearest_int(iscale * (x[i] - mn));
        L[i] = (uint8_t)LQI_MAX(0, LQI_MIN(nmax, l));
    }
    return true;
}

/* qkx2's levels for one trial: plain clamp of nearest_int. */
static struct qkx_sums qkx2_levels(int n, int nmax, const float *restrict x,
                                   const float *restrict weights, float iscale, float min,
                                   uint8_t *restrict Laux)
{
    struct qkx_sums s = {0, 0, 0};
    for (int i = 0; i < n; ++i) {
        int l = lqi_nearest_int(iscale * (x[i] - min));
        l = LQI_MAX(0, LQI_MIN(nmax, l));
        Laux[i] = (uint8_t)l;
        float w = weights[i];
        s.sum_l += w * l;
        s.sum_l2 += w * l * l;
        s.sum_xl += w * l * x[i];
    }
    return s;
}

/* qkx3's levels for one trial: v may be inf/NaN/huge once min has moved near max, so it is
 * clamped before rounding and non-positive (or NaN) values give 0. */
static struct qkx_sums qkx3_levels(int n, int nmax, const float *restrict x,
                                   const float *restrict weights, float iscale, float min,
                                   uint8_t *restrict Laux)
{
    struct qkx_sums s = {0, 0, 0};
    for (int i = 0; i < n; ++i) {
        const float v = iscale * (x[i] - min);
        const int l = v > 0 ? lqi_nearest_int(LQI_MIN(v, nmax)) : 0;
        Laux[i] = (uint8_t)l;
        float w = qkx_weight(weights, x, i);
        s.sum_l += w * l;
        s.sum_l2 += w * l * l;
        s.sum_xl += w * l * x[i];
    }
    return s;
}

/* Parameters of one affine search, so the two variants share the loop. */
struct qkx_search {
    int n, nmax;
    const float *x, *weights;
    float rmin, rdelta;
    int nstep;
    bool use_mad, v3;
};

/* Head comment: starting from the min/max fit, try iscales (rmin + rdelta*is + nmax) /
 * (max - min), solve the weighted least squares for (scale, min) at each trial's levels and
 * keep the trial with the smallest weighted error. The window (max - min) is the original
 * one throughout; only `min` used to place levels follows the best fit, as in ggml. */
static float qkx_search_run(const struct qkx_search *p, uint8_t *restrict L,
                            float *restrict the_min, uint8_t *restrict Laux)
{
    float min, max, sum_w, sum_x;
    if (!qkx_start(p->n, p->nmax, p->x, p->weights, L, &min, &max, &sum_w, &sum_x)) {
        *the_min = -min;
        return 0.f;
    }
    float scale = 1 / (p->nmax / (max - min));
    float best = qkx_error(p->n, p->x, p->weights, L, scale, min, p->use_mad);
    if (p->nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (int is = 0; is <= p->nstep; ++is) {
        float iscale = (p->rmin + p->rdelta * is + p->nmax) / (max - min);
        struct qkx_sums s = p->v3 ? qkx3_levels(p->n, p->nmax, p->x, p->weights, iscale, min, Laux)
                                  : qkx2_levels(p->n, p->nmax, p->x, p->weights, iscale, min, Laux);
        float this_scale, this_min;
        if (!qkx_solve(s, sum_w, sum_x, &this_scale, &this_min)) {
            continue;
        }
        float cur = qkx_error(p->n, p->x, p->weights, Laux, this_scale, this_min, p->use_mad);
        if (cur < best) {
            memcpy(L, Laux, (size_t)p->n);
            best = cur;
            scale = this_scale;
            min = this_min;
        }
    }
    *the_min = -min;
    return scale;
}

float lqi_make_qkx2_quants(int n, int nmax, const float *restrict x, const float *restrict weights,
                           uint8_t *restrict L, float *restrict the_min, uint8_t *restrict Laux,
                           float rmin, float rdelta, int nstep, bool use_mad)
{
    struct qkx_search p = {n, nmax, x, weights, rmin, rdelta, nstep, use_mad, false};
    return qkx_search_run(&p, L, the_min, Laux);
}

float lqi_make_qkx3_quants(int n, int nmax, const float *restrict x, const float *restrict weights,
                           uint8_t *restrict L, float *restrict the_min, uint8_t *restrict Laux,
                           float rmin, float rdelta, int nstep, bool use_mad)
{
    struct qkx_search p = {n, nmax, x, weights, rmin, rdelta, nstep, use_mad, true};
    return qkx_search_run(&p, L, the_min, Laux);
}

// ---- importance weights of the legacy types ---------------------------------------------

float lqi_row_sigma2(const float *x, int64_t n)
{
    float sum_x2 = 0;
    for (int64_t j = 0; j < n; ++j) {
        sum_x2 += x[j] * x[j];
    }
    return sum_x2 / n;
}

void lqi_block_weights(const float *restrict x, const float *restrict qw, float sigma2, int n,
                       float *restrict weight)
{
    for (int j = 0; j < n; ++j) {
        weight[j] = qw[j] * sqrtf(sigma2 + x[j] * x[j]);
    }
}

// ---- validation and row drivers ---------------------------------------------------------

bool lqi_validate_f16_fields(const void *data, size_t nbytes, size_t type_size, int nf16)
{
    if (type_size == 0 || nbytes % type_size != 0) {
        return false;
    }
    const unsigned char *p = data;
    for (size_t off = 0; off < nbytes; off += type_size) {
        for (int f = 0; f < nf16; f++) {
            uint16_t h = (uint16_t)(p[off + 2 * f] | (p[off + 2 * f + 1] << 8));
            if ((h & 0x7c00) == 0x7c00) {
                return false;
            }
        }
    }
    return true;
}

size_t lqi_quantize_rows_impl(void (*ref)(const float *restrict, void *restrict, int64_t),
                              lqi_row_impl_fn impl, size_t row_size, const float *restrict src,
                              void *restrict dst, int64_t nrow, int64_t n_per_row,
                              const float *imatrix)
{
    if (!imatrix) {
        ref(src, dst, nrow * n_per_row);
        return (size_t)nrow * row_size;
    }
    char *qrow = dst;
    for (int64_t row = 0; row < nrow; ++row) {
        impl(src + row * n_per_row, qrow + (size_t)row * row_size, n_per_row, imatrix);
    }
    return (size_t)nrow * row_size;
}
