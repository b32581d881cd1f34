/* quant_stats.c - round-trip error statistics and the dot-product entry points of
 * lq/quantize.h. */
#include "lq/quantize.h"

#include <math.h>
#include <string.h>

#include "lqi.h"

// ---- statistics -------------------------------------------------------------------------

static void stats_derive(struct lq_quant_stats *s)
{
    s->rmse = s->n ? sqrt(s->sum_err2 / (double)s->n) : 0.0;
    double rms = s->n ? sqrt(s->sum_x2 / (double)s->n) : 0.0;
    if (rms > 0) {
        s->rel_rmse = s->rmse / rms;
    } else {
        s->rel_rmse = s->rmse > 0 ? INFINITY : 0.0;
    }
    if (s->sum_err2 > 0) {
        s->snr_db = 10.0 * log10(s->sum_x2 / s->sum_err2);
    } else {
        s->snr_db = INFINITY;
    }
}

void lq_quant_stats_init(struct lq_quant_stats *s)
{
    memset(s, 0, sizeof *s);
    stats_derive(s);
}

void lq_quant_stats_merge(struct lq_quant_stats *into, const struct lq_quant_stats *from)
{
    into->n += from->n;
    into->n_nonfinite += from->n_nonfinite;
    into->sum_err2 += from->sum_err2;
    into->sum_x2 += from->sum_x2;
    into->max_abs_err = fmax(into->max_abs_err, from->max_abs_err);
    stats_derive(into);
}

/* Compares in double. A finite input whose round trip is not finite (its block's scale
 * overflowed fp16, or it shares a block with a NaN) counts as an infinite error. */
static void stats_add(struct lq_quant_stats *s, const float *x, const float *xq, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            s->n_nonfinite++;
            continue;
        }
        double e = isfinite(xq[i]) ? fabs((double)x[i] - (double)xq[i]) : INFINITY;
        s->n++;
        s->sum_err2 += e * e;
        s->sum_x2 += (double)x[i] * (double)x[i];
        s->max_abs_err = fmax(s->max_abs_err, e);
    }
}

void lq_quant_stats_add(struct lq_quant_stats *acc, const float *x, const float *xq, int64_t n)
{
    stats_add(acc, x, xq, n);
    stats_derive(acc);
}

lq_status lq_quant_error_accumulate(int type, const float *src, int64_t n, const float *imatrix,
                                    struct lq_quant_stats *acc, struct lq_error *err)
{
    LQ_FAIL_IF(!acc || (!src && n > 0), err, LQ_E_INVALID_ARG, "quant stats: NULL argument");
    size_t bytes = lq_row_size(type, n);
    LQ_FAIL_IF(bytes == 0 && n > 0, err, LQ_E_INVALID_ARG,
               "quant stats: %lld values of %s is not a whole number of blocks", (long long)n,
               lq_type_name(type));
    lq_status rc = LQ_E_NOMEM;
    void *q = lqi_malloc(bytes);
    float *back = lqi_malloc((size_t)n * sizeof(float));
    if (!q || !back) {
        lqi_set_error(err, LQ_E_NOMEM, "quant stats: out of memory for %lld values", (long long)n);
        goto out_free;
    }
    struct lq_quantize_params p = lq_quantize_params_default();
    p.imatrix = imatrix;
    p.allow_nonfinite = true;
    p.tensor_name = "error statistics";
    rc = lq_quantize_rows(type, src, n > 0 ? 1 : 0, n, q, bytes, &p, NULL, err);
    if (rc == LQ_OK) {
        rc = lq_dequantize_rows(type, q, back, n, err);
    }
    if (rc == LQ_OK) {
        stats_add(acc, src, back, n);
        stats_derive(acc);
    }
out_free:
    lqi_free(q);
    lqi_free(back);
    return rc;
}

lq_status lq_quant_error_stats(int type, const float *src, int64_t n, const float *imatrix,
                               struct lq_quant_stats *stats, struct lq_error *err)
{
    LQ_FAIL_IF(!stats, err, LQ_E_INVALID_ARG, "quant stats: NULL argument");
    lq_quant_stats_init(stats);
    return lq_quant_error_accumulate(type, src, n, imatrix, stats, err);
}

// ---- dot products -----------------------------------------------------------------------

lq_status lq_quantize_activation(int act_type, const float *x, void *y, int64_t n,
                                 struct lq_error *err)
{
    const struct lq_type_traits *t = lq_type_traits_get(act_type);
    LQ_FAIL_IF(!t || !(t->from_float || t->from_float_ref), err, LQ_E_UNSUPPORTED,
               "activation: cannot quantize to %s", lq_type_name(act_type));
    LQ_FAIL_IF(n < 0 || n % t->blck_size != 0, err, LQ_E_INVALID_ARG,
               "activation %s: %lld values is not a multiple of the block size %lld", t->name,
               (long long)n, (long long)t->blck_size);
    LQ_FAIL_IF((!x || !y) && n > 0, err, LQ_E_INVALID_ARG, "activation: NULL buffer");
    if (n > 0) {
        (t->from_float ? t->from_float : t->from_float_ref)(x, y, n);
    }
    return LQ_OK;
}

lq_status lq_vec_dot(int type, int64_t n, const void *x, const void *y, float *out,
                     struct lq_error *err)
{
    const struct lq_type_traits *t = lq_type_traits_get(type);
    LQ_FAIL_IF(!t || !t->vec_dot, err, LQ_E_UNSUPPORTED, "vec_dot: no dot kernel for %s",
               lq_type_name(type));
    LQ_FAIL_IF(n < 0 || n % t->blck_size != 0, err, LQ_E_INVALID_ARG,
               "vec_dot %s: %lld values is not a multiple of the block size %lld", t->name,
               (long long)n, (long long)t->blck_size);
    LQ_FAIL_IF(!out || ((!x || !y) && n > 0), err, LQ_E_INVALID_ARG, "vec_dot: NULL argument");
    *out = 0.0f;
    if (n > 0) {
        t->vec_dot(n, out, x, y);
    }
    return LQ_OK;
}
