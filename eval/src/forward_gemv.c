/* forward_gemv.c - one activation row times a range of weight rows (decoding).
 *
 * A single token's product reads every weight byte once and does little arithmetic per
 * byte, so it must run at memory read speed: F16 / BF16 / F32 rows are multiplied as stored
 * (no per-row conversion buffer) by the SIMD kernels of forward_gemv_x86.c, four rows at a
 * time so the activation row is loaded once for four; quantized rows take the type table's
 * dot kernel, one row per call. Summation order differs from lqi_dot_f32 (the SIMD kernels
 * use several accumulators and fused multiply-adds), by float rounding only: products of
 * F16 or BF16 values are exact in F32, so only the order of the sums changes there. */
#include "forward_impl.h"

#include "lq/fp16.h"
#include "lq/simd.h"

/* One stored element of a float-kind row as F32. */
static float elem(const unsigned char *row, int64_t i, enum lq_type type)
{
    switch (type) {
    case LQ_TYPE_F16:
        return lq_fp16_to_fp32(((const uint16_t *)row)[i]);
    case LQ_TYPE_BF16:
        return lq_bf16_to_fp32(((const uint16_t *)row)[i]);
    default:
        return ((const float *)row)[i];
    }
}

/* The portable kernel: four partial sums, so that it does not wait on one long chain. */
static float dot_row_scalar(const unsigned char *row, const float *x, int64_t n,
                            enum lq_type type)
{
    float s[4] = { 0, 0, 0, 0 };
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
        for (int k = 0; k < 4; k++) {
            s[k] += elem(row, i + k, type) * x[i + k];
        }
    }
    float sum = (s[0] + s[1]) + (s[2] + s[3]);
    for (; i < n; i++) {
        sum += elem(row, i, type) * x[i];
    }
    return sum;
}

/* Rows of a type without a dot kernel: dequantized a few blocks at a time into a stack
 * buffer (no row-sized scratch) and multiplied as F32. */
static float dot_row_dequant(const struct lqi_weight *w, const unsigned char *row,
                             const float *x)
{
    enum { CHUNK = 1024 };
    float buf[CHUNK];
    const struct lq_type_traits *t = lq_type_traits_get(w->type);
    const int64_t step = CHUNK / t->blck_size * t->blck_size;
    const size_t step_bytes = (size_t)(step / t->blck_size) * t->type_size;
    float sum = 0;
    for (int64_t i = 0; i < w->n_in; i += step, row += step_bytes) {
        const int64_t n = w->n_in - i < step ? w->n_in - i : step;
        w->to_float(row, buf, n);
        sum += lqi_dot_f32(buf, x + i, n);
    }
    return sum;
}

void lqi_gemv_rows(float *y, const struct lqi_weight *w, const void *x, int64_t r0, int64_t r1)
{
    const unsigned char *row = w->data + (size_t)r0 * w->row_size;
    switch (w->kind) {
    case LQI_DOT_TABLE:
        if (w->vec_dot_rows) { /* several rows per pass, the activation loaded once for them */
            for (int64_t r = r0; r < r1; r += 1 << 20, row += (size_t)(1 << 20) * w->row_size) {
                const int n = (int)(r1 - r < 1 << 20 ? r1 - r : 1 << 20);
                w->vec_dot_rows(w->n_in, &y[r - r0], row, w->row_size, n, x);
            }
            return;
        }
        for (int64_t r = r0; r < r1; r++, row += w->row_size) {
            w->vec_dot(w->n_in, &y[r - r0], row, x);
        }
        return;
    case LQI_DOT_DEQUANT:
        for (int64_t r = r0; r < r1; r++, row += w->row_size) {
            y[r - r0] = dot_row_dequant(w, row, x);
        }
        return;
    default:
        break;
    }
    const enum lq_simd_level level = lq_simd_level_get();
    if (level >= LQ_SIMD_AVX512) {
        lqi_gemv_float_avx512(y, w, x, r0, r1);
    } else if (level >= LQ_SIMD_AVX2) {
        lqi_gemv_float_avx2(y, w, x, r0, r1);
    } else {
        for (int64_t r = r0; r < r1; r++, row += w->row_size) {
            y[r - r0] = dot_row_scalar(row, x, w->n_in, w->type);
        }
    }
}
