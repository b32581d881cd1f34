/* kquant_common.c - the scale searches shared by the k-quant quantizers (ports of
 * ggml-quants.c: operation order is part of the byte-exact contract, keep it). */
#include "quants/kquant_common.h"

#include <assert.h>
#include <math.h>

// ---- symmetric searches -----------------------------------------------------------------

static inline float qx_weight(const float *qw, const float *x, int i, int rmse_type)
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

static inline int clamp_sym(int l, int nmax)
{
    return LQI_MAX(-nmax, LQI_MIN(nmax - 1, l));
}

/* Weighted sums of x*l and l*l for the quants of scale 1/iscale. */
static void qx_sums(int n, int nmax, const float *x, const float *qw, int rmse_type, float iscale,
                    float *sumlx, float *suml2)
{
    float slx = 0, sl2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = clamp_sym(lqi_nearest_int(iscale * x[i]), nmax);
        float w = qx_weight(qw, x, i, rmse_type);
        slx += w * x[i] * l;
        sl2 += w * l * l;
    }
    *sumlx = slx;
    *suml2 = sl2;
}

static void qx_fill(int n, int nmax, const float *x, int8_t *L, float iscale)
{
    for (int i = 0; i < n; ++i) {
        L[i] = (int8_t)(nmax + clamp_sym(lqi_nearest_int(iscale * x[i]), nmax));
    }
}

/* Start from the scale that maps the largest magnitude to -nmax, refit it by least squares,
 * then try 18 nearby scales and keep the one with the best weighted fit. */
float lqi_make_qx_quants(int n, int nmax, const float *restrict x, int8_t *restrict L,
                         int rmse_type, const float *restrict qw)
{
    float amax;
    const float max = lqi_signed_absmax(x, n, &amax);
    if (amax < LQI_GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    float iscale = -nmax / max;
    if (rmse_type == 0) {
        qx_fill(n, nmax, x, L, iscale);
        return 1 / iscale;
    }
    bool return_early = rmse_type < 0;
    if (rmse_type < 0) {
        rmse_type = -rmse_type;
    }
    float sumlx, suml2;
    qx_sums(n, nmax, x, qw, rmse_type, iscale, &sumlx, &suml2);
    qx_fill(n, nmax, x, L, iscale);
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
        qx_sums(n, nmax, x, qw, rmse_type, iscale, &sumlx, &suml2);
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            qx_fill(n, nmax, x, L, iscale);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/* One pass of Q3_K's coordinate search: move single quants while the fit improves. */
static int q3_refine_pass(int n, int nmax, const float *x, int8_t *L, float *sumlx, float *suml2)
{
    int n_changed = 0;
    for (int i = 0; i < n; ++i) {
        float w = x[i] * x[i];
        float slx = *sumlx - w * x[i] * L[i];
        if (slx > 0) {
            float sl2 = *suml2 - w * L[i] * L[i];
            int new_l = clamp_sym(lqi_nearest_int(x[i] * sl2 / slx), nmax);
            if (new_l != L[i]) {
                slx += w * x[i] * new_l;
                sl2 += w * new_l * new_l;
                if (sl2 > 0 && slx * slx * *suml2 > *sumlx * *sumlx * sl2) {
                    L[i] = (int8_t)new_l;
                    *sumlx = slx;
                    *suml2 = sl2;
                    ++n_changed;
                }
            }
        }
    }
    return n_changed;
}

float lqi_make_q3_quants(int n, int nmax, const float *restrict x, int8_t *restrict L, bool do_rmse)
{
    float amax;
    const float max = lqi_signed_absmax(x, n, &amax);
    if (amax < LQI_GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    float iscale = -nmax / max;
    if (!do_rmse) {
        qx_fill(n, nmax, x, L, iscale);
        return 1 / iscale;
    }
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = clamp_sym(lqi_nearest_int(iscale * x[i]), nmax);
        L[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    for (int itry = 0; itry < 5; ++itry) {
        if (!q3_refine_pass(n, nmax, x, L, &sumlx, &suml2)) {
            break;
        }
    }
    for (int i = 0; i < n; ++i) {
        L[i] = (int8_t)(L[i] + nmax);
    }
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// ---- scale + min searches ---------------------------------------------------------------

/* Weighted error of quants L under scale and min (absolute or squared differences). */
static float qkx_error(int n, const float *x, const float *weights, const uint8_t *L, float scale,
                       float min, bool use_mad)
{
    float err = 0;
    for (int i = 0; i < n; ++i) {
        float diff = scale * L[i] + min - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        float w = weights ? weights[i] : x[i] * x[i];
        err += w * diff;
    }
    return err;
}

struct qkx_state {
    float min, max, sum_w, sum_x;
};

static struct qkx_state qkx_scan(int n, const float *x, const float *weights)
{
    struct qkx_state s = {x[0], x[0], weights ? weights[0] : x[0] * x[0], 0};
    s.sum_x = s.sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < s.min) {
            s.min = x[i];
        }
        if (x[i] > s.max) {
            s.max = x[i];
        }
        float w = weights ? weights[i] : x[i] * x[i];
        s.sum_w += w;
        s.sum_x += w * x[i];
    }
    if (s.min > 0) {
        s.min = 0;
    }
    return s;
}

/* Least-squares scale and min for the quants in Laux; false when the system is singular. */
static bool qkx_fit(const struct qkx_state *s, float sum_l, float sum_l2, float sum_xl,
                    float *scale, float *min)
{
    float D = s->sum_w * sum_l2 - sum_l * sum_l;
    if (!(D > 0)) {
        return false;
    }
    float this_scale = (s->sum_w * sum_xl - s->sum_x * sum_l) / D;
    float this_min = (sum_l2 * s->sum_x - sum_l * sum_xl) / D;
    if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
    }
    *scale = this_scale;
    *min = this_min;
    return true;
}

/* The candidate quants of one step; qkx3 clamps before rounding so that a huge or NaN
 * ratio (min close to max) cannot leave nearest_int's exact range. */
static void qkx_candidates(int n, int nmax, const float *x, const float *weights, float iscale,
                           float min, bool clamp_first, uint8_t *Laux, float sums[3])
{
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
        int l;
        if (clamp_first) {
            const float v = iscale * (x[i] - min);
            l = v > 0 ? lqi_nearest_int(LQI_MIN(v, (float)nmax)) : 0;
        } else {
            l = lqi_nearest_int(iscale * (x[i] - min));
            l = LQI_MAX(0, LQI_MIN(nmax, l));
        }
        Laux[i] = (uint8_t)l;
        float w = weights ? weights[i] : x[i] * x[i];
        sum_l += w * l;
        sum_l2 += w * l * l;
        sum_xl += w * l * x[i];
    }
    sums[0] = sum_l;
    sums[1] = sum_l2;
    sums[2] = sum_xl;
}

/* Shared body of make_qkx2_quants (x3 = false) and make_qkx3_quants (x3 = true). */
static float make_qkx(int n, int nmax, const float *x, const float *weights, uint8_t *L,
                      float *the_min, uint8_t *Laux, const float rparams[2], int nstep,
                      bool use_mad, bool x3)
{
    struct qkx_state s = qkx_scan(n, x, weights);
    float min = s.min;
    if (x3 ? s.max <= min : s.max == min) {
        memset(L, 0, (size_t)n);
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (s.max - min);
    float scale = 1 / iscale;
    for (int i = 0; i < n; ++i) {
        int l = lqi_nearest_int(iscale * (x[i] - min));
        L[i] = (uint8_t)LQI_MAX(0, LQI_MIN(nmax, l));
    }
    float best_error = qkx_error(n, x, weights, L, scale, min, use_mad);
    for (int is = 0; nstep >= 1 && is <= nstep; ++is) {
        iscale = (rparams[0] + rparams[1] * is + nmax) / (s.max - min);
        float sums[3], this_scale, this_min;
        qkx_candidates(n, nmax, x, weights, iscale, min, x3, Laux, sums);
        if (!qkx_fit(&s, sums[0], sums[1], sums[2], &this_scale, &this_min)) {
            continue;
        }
        float cur_error = qkx_error(n, x, weights, Laux, this_scale, this_min, use_mad);
        if (cur_error < best_error) {
            memcpy(L, Laux, (size_t)n);
            best_error = cur_error;
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
    const float rparams[2] = {rmin, rdelta};
    return make_qkx(n, nmax, x, weights, L, the_min, Laux, rparams, nstep, use_mad, false);
}

float lqi_make_qkx3_quants(int n, int nmax, const float *restrict x, const float *restrict weights,
                           uint8_t *restrict L, float *restrict the_min, uint8_t *restrict Laux,
                           float rmin, float rdelta, int nstep, bool use_mad)
{
    const float rparams[2] = {rmin, rdelta};
    return make_qkx(n, nmax, x, weights, L, the_min, Laux, rparams, nstep, use_mad, true);
}

// ---- positive scales (the imatrix paths' scale-of-scales) ---------------------------------

static float qp_mse(int n, int nmax, const float *x, const float *qw, float iscale)
{
    float scale = 1 / iscale;
    float mse = 0;
    for (int i = 0; i < n; ++i) {
        int l = LQI_MIN(nmax, lqi_nearest_int(iscale * x[i]));
        float diff = x[i] - scale * l;
        mse += qw[i] * diff * diff;
    }
    return mse;
}

static void qp_refine(int n, int nmax, const float *x, uint8_t *L, const float *qw, float *sumlx,
                      float *suml2)
{
    for (int itry = 0; itry < 5; ++itry) {
        int n_changed = 0;
        for (int i = 0; i < n; ++i) {
            float w = qw[i];
            float slx = *sumlx - w * x[i] * L[i];
            float sl2 = *suml2 - w * L[i] * L[i];
            if (slx > 0 && sl2 > 0) {
                int new_l = LQI_MIN(nmax, lqi_nearest_int(x[i] * sl2 / slx));
                if (new_l != L[i]) {
                    slx += w * x[i] * new_l;
                    sl2 += w * new_l * new_l;
                    if (slx * slx * *suml2 > *sumlx * *sumlx * sl2) {
                        L[i] = (uint8_t)new_l;
                        *sumlx = slx;
                        *suml2 = sl2;
                        ++n_changed;
                    }
                }
            }
        }
        if (!n_changed) {
            break;
        }
    }
}

/* Try nmax and eight nearby scales for the max, keep the best weighted fit, then move single
 * quants while that improves the least-squares scale. */
float lqi_make_qp_quants(int n, int nmax, const float *restrict x, uint8_t *restrict L,
                         const float *restrict quant_weights)
{
    float max = 0;
    for (int i = 0; i < n; ++i) {
        max = LQI_MAX(max, x[i]);
    }
    if (max < LQI_GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.f;
    }
    float iscale = nmax / max;
    for (int i = 0; i < n; ++i) {
        L[i] = (uint8_t)lqi_nearest_int(iscale * x[i]);
    }
    /* the first error uses the stored (byte-truncated) quants, as ggml does */
    float scale = 1 / iscale;
    float best_mse = 0;
    for (int i = 0; i < n; ++i) {
        float diff = x[i] - scale * L[i];
        best_mse += quant_weights[i] * diff * diff;
    }
    for (int is = -4; is <= 4; ++is) {
        if (is == 0) {
            continue;
        }
        float iscale_is = (0.1f * is + nmax) / max;
        float mse = qp_mse(n, nmax, x, quant_weights, iscale_is);
        if (mse < best_mse) {
            best_mse = mse;
            iscale = iscale_is;
        }
    }
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = LQI_MIN(nmax, lqi_nearest_int(iscale * x[i]));
        L[i] = (uint8_t)l;
        float w = quant_weights[i];
        sumlx += w * x[i] * l;
        suml2 += w * l * l;
    }
    qp_refine(n, nmax, x, L, quant_weights, &sumlx, &suml2);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// ---- scale packing ----------------------------------------------------------------------

void lqi_pack_scale_min_k4(const uint8_t ls[8], const uint8_t lm[8], uint8_t q[K_SCALE_SIZE])
{
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            q[j] = ls[j];
            q[j + 4] = lm[j];
        } else {
            q[j + 4] = (uint8_t)((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
            q[j - 4] |= (uint8_t)((ls[j] >> 4) << 6);
            q[j - 0] |= (uint8_t)((lm[j] >> 4) << 6);
        }
    }
}

void lqi_unpack_q3_K_scales(const uint8_t packed[12], int8_t out[16])
{
    for (int j = 0; j < 16; ++j) {
        int lo = j < 8 ? packed[j] & 0xF : packed[j - 8] >> 4;
        int hi = (packed[8 + j % 4] >> (2 * (j / 4))) & 3;
        out[j] = (int8_t)(lo | (hi << 4));
    }
}

float lqi_sum_x2_qk(const float *x)
{
    float s = 0;
    for (int j = 0; j < QK_K; ++j) {
        s += x[j] * x[j];
    }
    return s;
}

// ---- row drivers and the generic dot step ------------------------------------------------

void lqi_qk_quantize_ref(lqi_qk_block_fn block, size_t type_size, const float *x, void *y,
                         int64_t k)
{
    assert(k % QK_K == 0);
    char *out = y;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        block(x + i * QK_K, out + (size_t)i * type_size, NULL);
    }
}

size_t lqi_qk_quantize_rows(lqi_qk_block_fn ref, lqi_qk_block_fn impl, size_t type_size,
                            const float *src, void *dst, int64_t nrow, int64_t n_per_row,
                            const float *imatrix)
{
    assert(n_per_row % QK_K == 0);
    const int64_t nb = n_per_row / QK_K;
    if (!imatrix) {
        lqi_qk_quantize_ref(ref, type_size, src, dst, nrow * n_per_row);
        return (size_t)(nrow * nb) * type_size;
    }
    char *out = dst;
    for (int64_t row = 0; row < nrow; ++row) {
        for (int64_t i = 0; i < nb; ++i) {
            impl(src + row * n_per_row + i * QK_K, out + (size_t)(row * nb + i) * type_size,
                 imatrix + i * QK_K);
        }
    }
    return (size_t)(nrow * nb) * type_size;
}

void lqi_qk_dot_lanes(const int8_t aux8[QK_K], const int16_t sc16[16], const int8_t *q8, float d,
                      float sums[8])
{
    int32_t aux32[8] = {0};
    for (int j = 0; j < QK_K / 8; ++j) {
        for (int l = 0; l < 8; ++l) {
            aux32[l] += sc16[j / 2] * (int16_t)(q8[8 * j + l] * aux8[8 * j + l]);
        }
    }
    for (int l = 0; l < 8; ++l) {
        sums[l] += d * aux32[l];
    }
}

// ---- validation ------------------------------------------------------------------------

static bool fp16_finite(const unsigned char *p)
{
    uint16_t h = (uint16_t)(p[0] | (p[1] << 8));
    return (h & 0x7c00) != 0x7c00;
}

bool lqi_validate_f16_scales(const void *data, size_t nbytes, size_t type_size, int off_d,
                             int off_dmin)
{
    if (nbytes % type_size != 0) {
        return false;
    }
    const unsigned char *p = data;
    for (size_t off = 0; off < nbytes; off += type_size) {
        if (!fp16_finite(p + off + off_d)) {
            return false;
        }
        if (off_dmin >= 0 && !fp16_finite(p + off + off_dmin)) {
            return false;
        }
    }
    return true;
}
