/* gptq_hessian.c - running-mean Hessian H = 2 X^T X / n and per-column mean squares. */
#include "lq/gptq.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "gptq_impl.h"
#include "lqi.h"

lq_status lq_hessian_new(int64_t ncols, lq_hessian **out, struct lq_error *err)
{
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "hessian: NULL out");
    *out = NULL;
    uint64_t nn = 0;
    LQ_FAIL_IF(ncols < 1 || ncols > INT32_MAX ||
                   lqi_mul_overflow_u64((uint64_t)ncols, (uint64_t)ncols, &nn) ||
                   nn > SIZE_MAX / sizeof(float),
               err, LQ_E_INVALID_ARG, "hessian: bad column count %lld", (long long)ncols);
    lq_hessian *h = lqi_calloc(1, sizeof *h);
    if (h) {
        h->n = ncols;
        h->h = lqi_calloc((size_t)nn, sizeof(float));
        h->sumsq = lqi_calloc((size_t)ncols, sizeof(double));
    }
    if (!h || !h->h || !h->sumsq) {
        lq_hessian_free(h);
        return lqi_set_error(err, LQ_E_NOMEM, "hessian: cannot allocate %lld x %lld floats",
                             (long long)ncols, (long long)ncols);
    }
    *out = h;
    return LQ_OK;
}

lq_status lq_hessian_new_identity(int64_t ncols, lq_hessian **out, struct lq_error *err)
{
    LQ_TRY(lq_hessian_new(ncols, out, err));
    float *eye = lqi_calloc((size_t)ncols * (size_t)ncols, sizeof(float));
    lq_status s = eye ? LQ_OK : lqi_set_error(err, LQ_E_NOMEM, "hessian: out of memory");
    for (int64_t i = 0; eye && i < ncols; i++) {
        eye[i * ncols + i] = 1.0f;
    }
    s = s == LQ_OK ? lq_hessian_add(*out, eye, ncols, err) : s;
    lqi_free(eye);
    if (s != LQ_OK) {
        lq_hessian_free(*out);
        *out = NULL;
    }
    return s;
}

void lq_hessian_free(lq_hessian *h)
{
    if (h) {
        lqi_free(h->h);
        lqi_free(h->sumsq);
        lqi_free(h);
    }
}

/* Index of the first non-finite value of x, or -1. */
static int64_t first_non_finite(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            return i;
        }
    }
    return -1;
}

/* The update follows AutoGPTQ's add_batch: scale the old mean down, then add the new rows
 * with weight 2 / n_total; one syrk does both (C = alpha A^T A + beta C, upper triangle). */
lq_status lq_hessian_add(lq_hessian *h, const float *x, int64_t nrows, struct lq_error *err)
{
    LQ_FAIL_IF(!h || nrows < 0 || (nrows > 0 && !x), err, LQ_E_INVALID_ARG,
               "hessian: bad arguments");
    LQ_FAIL_IF(nrows > INT32_MAX, err, LQ_E_INVALID_ARG,
               "hessian: %lld rows in one call (at most %d)", (long long)nrows, INT32_MAX);
    if (nrows == 0) {
        return LQ_OK;
    }
    int64_t n = h->n;
    int64_t bad = first_non_finite(x, nrows * n);
    LQ_FAIL_IF(bad >= 0, err, LQ_E_RANGE, "hessian: input row %lld column %lld is not finite",
               (long long)(bad / n), (long long)(bad % n));
    double total = (double)h->nsamples + (double)nrows;
    float beta = (float)((double)h->nsamples / total);
    float alpha = (float)(2.0 / total);
    cblas_ssyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)nrows, alpha, x, (int)n,
                beta, h->h, (int)n);
    for (int64_t r = 0; r < nrows; r++) {
        const float *row = x + r * n;
        for (int64_t j = 0; j < n; j++) {
            h->sumsq[j] += (double)row[j] * row[j];
        }
    }
    h->nsamples += nrows;
    return LQ_OK;
}

int64_t lq_hessian_ncols(const lq_hessian *h)
{
    return h ? h->n : 0;
}

int64_t lq_hessian_nsamples(const lq_hessian *h)
{
    return h ? h->nsamples : 0;
}

void lq_hessian_get(const lq_hessian *h, float *out)
{
    for (int64_t i = 0; i < h->n; i++) {
        for (int64_t k = 0; k < h->n; k++) {
            out[i * h->n + k] = lqi_hessian_at(h, i, k);
        }
    }
}

void lq_hessian_importance(const lq_hessian *h, float *out)
{
    for (int64_t j = 0; j < h->n; j++) {
        out[j] = h->nsamples ? (float)(h->sumsq[j] / (double)h->nsamples) : 0.0f;
    }
}
