/* quantize.c - lq/quantize.h: row quantization over the type table, with input checks,
 * OpenMP over rows, error statistics and the dot-product entry points. */
#include "lq/quantize.h"

#include <math.h>
#include <stdint.h>

#include "lqi.h"

// ---- checks -----------------------------------------------------------------------------

/* Traits of a type libquant can compute with, or an error naming what is missing. */
static lq_status traits_for(int type, const char *what, const struct lq_type_traits **out,
                            struct lq_error *err)
{
    const struct lq_type_traits *t = lq_type_traits_get(type);
    LQ_FAIL_IF(!t, err, LQ_E_INVALID_ARG, "%s: unknown tensor type %d", what, type);
    *out = t;
    return LQ_OK;
}

static lq_status check_row_length(const struct lq_type_traits *t, int64_t n, const char *name,
                                  struct lq_error *err)
{
    LQ_FAIL_IF(n <= 0 || n % t->blck_size != 0, err, LQ_E_INVALID_ARG,
               "quantize '%s': row length %lld is not a positive multiple of %s's block size "
               "%lld",
               name, (long long)n, t->name, (long long)t->blck_size);
    return LQ_OK;
}

static lq_status check_imatrix(const float *imatrix, int64_t n, const char *name,
                               struct lq_error *err)
{
    for (int64_t i = 0; imatrix && i < n; i++) {
        LQ_FAIL_IF(!isfinite(imatrix[i]) || imatrix[i] < 0, err, LQ_E_RANGE,
                   "quantize '%s': importance weight %lld is %g (must be finite and >= 0)", name,
                   (long long)i, (double)imatrix[i]);
    }
    return LQ_OK;
}

/* Column of the first NaN/Inf in x[0..n), or -1. */
static int64_t first_nonfinite(const float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) {
            return i;
        }
    }
    return -1;
}

// ---- one row ----------------------------------------------------------------------------

/* Quantizes one row the way llama.cpp would: the imatrix-guided quantizer when weights are
 * given (and the type has one), else the fast path, which writes the reference bytes for
 * finite input. Non-finite rows take the reference path itself so that even their bytes
 * match llama.cpp's. False when the quantizer wrote nothing (the grid types' search tables
 * could not be allocated). */
static bool quantize_row(const struct lq_type_traits *t, const float *x, void *y, int64_t n,
                         const float *imatrix, bool finite)
{
    if (imatrix && t->quantize && t->is_quantized) {
        return t->quantize(x, y, 1, n, imatrix) != 0;
    } else if (finite && t->from_float) {
        t->from_float(x, y, n);
    } else if (t->from_float_ref) {
        t->from_float_ref(x, y, n);
    } else {
        return t->quantize(x, y, 1, n, NULL) != 0;
    }
    return true;
}

// ---- lq_quantize_rows -------------------------------------------------------------------

struct lq_quantize_params lq_quantize_params_default(void)
{
    struct lq_quantize_params p = {
        .tensor_name = NULL, .nthreads = 1, .imatrix = NULL, .allow_nonfinite = false};
    return p;
}

/* Bytes of nrow rows, overflow-checked against dst_size. */
static lq_status output_size(const struct lq_type_traits *t, int64_t nrow, int64_t n_per_row,
                             size_t dst_size, const char *name, size_t *out, struct lq_error *err)
{
    uint64_t row = (uint64_t)(n_per_row / t->blck_size) * t->type_size;
    uint64_t total;
    LQ_FAIL_IF(lqi_mul_overflow_u64(row, (uint64_t)nrow, &total) || total > SIZE_MAX, err,
               LQ_E_RANGE, "quantize '%s': %lld rows of %lld overflow", name, (long long)nrow,
               (long long)n_per_row);
    LQ_FAIL_IF(total > dst_size, err, LQ_E_INVALID_ARG,
               "quantize '%s': output needs %llu bytes, buffer holds %zu", name,
               (unsigned long long)total, dst_size);
    *out = (size_t)total;
    return LQ_OK;
}

/* First failures of a run: flat index of a refused NaN/Inf input, row whose output failed
 * validation (a block scale overflowed fp16), row the quantizer could not do (out of
 * memory); INT64_MAX when none. */
struct row_failures {
    int64_t nonfinite_at;
    int64_t invalid_row;
    int64_t failed_row;
};

/* Runs the rows on nthreads. Each row is independent, so the bytes are the same for any
 * thread count, and the reductions report the first failure in row order. Like
 * llama-quantize, output is validated: finite input can still overflow an fp16 scale. */
static struct row_failures quantize_all_rows(const struct lq_type_traits *t, const float *src,
                                             char *dst, int64_t nrow, int64_t n_per_row,
                                             const struct lq_quantize_params *p)
{
    const size_t row_size = (size_t)(n_per_row / t->blck_size) * t->type_size;
    int64_t bad = INT64_MAX;
    int64_t invalid = INT64_MAX;
    int64_t failed = INT64_MAX;
#pragma omp parallel for num_threads(p->nthreads > 0 ? p->nthreads : 1) schedule(static)           \
    reduction(min                                                                                  \
              : bad, invalid, failed)
    for (int64_t r = 0; r < nrow; r++) {
        const float *x = src + r * n_per_row;
        char *y = dst + (size_t)r * row_size;
        int64_t c = first_nonfinite(x, n_per_row);
        if (c >= 0 && !p->allow_nonfinite) {
            bad = r * n_per_row + c < bad ? r * n_per_row + c : bad;
            continue;
        }
        if (!quantize_row(t, x, y, n_per_row, p->imatrix, c < 0)) {
            failed = r < failed ? r : failed;
            continue;
        }
        if (!p->allow_nonfinite && t->validate && !t->validate(y, row_size)) {
            invalid = r < invalid ? r : invalid;
        }
    }
    struct row_failures f = {bad, invalid, failed};
    return f;
}

/* Largest |x| of a row, for the overflow message. */
static double row_absmax(const float *x, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) {
        m = fabs((double)x[i]) > m ? fabs((double)x[i]) : m;
    }
    return m;
}

lq_status lq_quantize_rows(int type, const float *src, int64_t nrow, int64_t n_per_row, void *dst,
                           size_t dst_size, const struct lq_quantize_params *params,
                           size_t *written, struct lq_error *err)
{
    struct lq_quantize_params p = params ? *params : lq_quantize_params_default();
    const char *name = p.tensor_name ? p.tensor_name : "(unnamed)";
    const struct lq_type_traits *t = NULL;
    size_t total = 0;
    LQ_TRY(traits_for(type, "quantize", &t, err));
    LQ_FAIL_IF(!t->from_float && !t->from_float_ref && !t->quantize, err, LQ_E_UNSUPPORTED,
               "quantize '%s': libquant cannot quantize to %s", name, t->name);
    LQ_FAIL_IF((!src || !dst) && nrow > 0, err, LQ_E_INVALID_ARG, "quantize '%s': NULL buffer",
               name);
    LQ_FAIL_IF(nrow < 0, err, LQ_E_INVALID_ARG, "quantize '%s': %lld rows", name, (long long)nrow);
    LQ_TRY(check_row_length(t, n_per_row, name, err));
    LQ_TRY(output_size(t, nrow, n_per_row, dst_size, name, &total, err));
    LQ_TRY(check_imatrix(p.imatrix, n_per_row, name, err));
    LQ_FAIL_IF(t->needs_imatrix && !p.imatrix, err, LQ_E_INVALID_ARG,
               "quantize '%s' to %s: the type needs importance weights (an imatrix)", name,
               t->name);
    struct row_failures f = quantize_all_rows(t, src, dst, nrow, n_per_row, &p);
    int64_t bad = f.nonfinite_at;
    LQ_FAIL_IF(bad != INT64_MAX, err, LQ_E_RANGE,
               "quantize '%s' to %s: non-finite value %g at row %lld, column %lld", name, t->name,
               (double)src[bad], (long long)(bad / n_per_row), (long long)(bad % n_per_row));
    LQ_FAIL_IF(f.failed_row != INT64_MAX, err, LQ_E_NOMEM,
               "quantize '%s' to %s: out of memory for the type's search tables", name, t->name);
    LQ_FAIL_IF(f.invalid_row != INT64_MAX, err, LQ_E_RANGE,
               "quantize '%s' to %s: row %lld (max |x| %g) overflows the type's fp16 scales", name,
               t->name, (long long)f.invalid_row,
               row_absmax(src + f.invalid_row * n_per_row, n_per_row));
    if (written) {
        *written = total;
    }
    return LQ_OK;
}

// ---- dequantize and validate ------------------------------------------------------------

lq_status lq_dequantize_rows(int type, const void *src, float *dst, int64_t n, struct lq_error *err)
{
    const struct lq_type_traits *t = NULL;
    LQ_TRY(traits_for(type, "dequantize", &t, err));
    LQ_FAIL_IF(!t->to_float, err, LQ_E_UNSUPPORTED, "dequantize: libquant cannot decode %s",
               t->name);
    LQ_FAIL_IF(n < 0 || n % t->blck_size != 0, err, LQ_E_INVALID_ARG,
               "dequantize %s: %lld values is not a multiple of the block size %lld", t->name,
               (long long)n, (long long)t->blck_size);
    LQ_FAIL_IF((!src || !dst) && n > 0, err, LQ_E_INVALID_ARG, "dequantize %s: NULL buffer",
               t->name);
    if (n > 0) {
        t->to_float(src, dst, n);
    }
    return LQ_OK;
}

/* Plain float types: every value finite, decoded a chunk at a time. */
static bool floats_valid(const struct lq_type_traits *t, const void *data, size_t nbytes)
{
    float buf[256];
    const unsigned char *p = data;
    size_t per = 256 * t->type_size;
    for (size_t off = 0; off < nbytes; off += per) {
        size_t cnt = (nbytes - off < per ? nbytes - off : per) / t->type_size;
        t->to_float(p + off, buf, (int64_t)cnt);
        for (size_t i = 0; i < cnt; i++) {
            if (!isfinite(buf[i])) {
                return false;
            }
        }
    }
    return true;
}

bool lq_validate_row_data(int type, const void *data, size_t nbytes)
{
    const struct lq_type_traits *t = lq_type_traits_get(type);
    if (!t || t->type_size == 0 || nbytes % t->type_size != 0 || (!data && nbytes)) {
        return false;
    }
    if (t->validate) {
        return t->validate(data, nbytes);
    }
    if (!t->is_quantized && t->to_float && t->blck_size == 1) {
        return floats_valid(t, data, nbytes);
    }
    return true;
}
