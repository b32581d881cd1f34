/*
 * legacy.h - kernels of the 32-element block types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1
 * (one file each, src/quants/<type>.c), as the type table (legacy_rows.h) uses them.
 *
 * Per type:
 *   lqi_quantize_row_<t>_ref  llama.cpp's quantize_row_<t>_ref, byte for byte (k values)
 *   lqi_quantize_row_<t>      fast path (SIMD where written), the same bytes as _ref
 *   lqi_dequantize_row_<t>    dequantizer (SIMD where written), the same floats as scalar
 *   lqi_quantize_<t>          whole rows, optional importance weights (llama.cpp's quantize_<t>)
 *   lqi_validate_<t>          no NaN/Inf fp16 fields, whole blocks
 * and the dot product against the activation type (ggml's vec_dot_type). Element counts are
 * multiples of 32; the callers (lq/quantize.h) check that.
 */
#ifndef LQ_QUANTS_LEGACY_H
#define LQ_QUANTS_LEGACY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quants/blocks.h"

#define LQI_DECLARE_LEGACY(t)                                                                      \
    void lqi_quantize_row_##t##_ref(const float *restrict x, void *restrict y, int64_t k);         \
    void lqi_quantize_row_##t(const float *restrict x, void *restrict y, int64_t k);               \
    void lqi_dequantize_row_##t(const void *restrict x, float *restrict y, int64_t k);             \
    size_t lqi_quantize_##t(const float *restrict src, void *restrict dst, int64_t nrow,           \
                            int64_t n_per_row, const float *imatrix);                              \
    bool lqi_validate_##t(const void *data, size_t nbytes);

LQI_DECLARE_LEGACY(q4_0)
LQI_DECLARE_LEGACY(q4_1)
LQI_DECLARE_LEGACY(q5_0)
LQI_DECLARE_LEGACY(q5_1)
LQI_DECLARE_LEGACY(q8_0)
LQI_DECLARE_LEGACY(q8_1)

#undef LQI_DECLARE_LEGACY

/* *s = sum over n elements of x[i] * y[i]; x of the first type, y of the second. */
void lqi_vec_dot_q4_0_q8_0(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y);
void lqi_vec_dot_q4_1_q8_1(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y);
void lqi_vec_dot_q5_0_q8_0(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y);
void lqi_vec_dot_q5_1_q8_1(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y);
void lqi_vec_dot_q8_0_q8_0(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y);

/* s[r] = dot(row r of x, y) for n_rows weight rows x_stride bytes apart
 * (lq_vec_dot_rows_fn). */
void lqi_vec_dot_rows_q4_0_q8_0(int64_t n, float *restrict s, const void *restrict x,
                                size_t x_stride, int n_rows, const void *restrict y);

/* s[t] = dot(x, row t of y) for n_tok rows y_stride bytes apart (lq_vec_dot_multi_fn). */
#define LQI_DECLARE_LEGACY_MULTI(xy)                                                               \
    void lqi_vec_dot_multi_##xy(int64_t n, float *restrict s, const void *restrict x,              \
                                const void *restrict y, size_t y_stride, int n_tok);

LQI_DECLARE_LEGACY_MULTI(q4_0_q8_0)
LQI_DECLARE_LEGACY_MULTI(q4_1_q8_1)
LQI_DECLARE_LEGACY_MULTI(q5_0_q8_0)
LQI_DECLARE_LEGACY_MULTI(q5_1_q8_1)
LQI_DECLARE_LEGACY_MULTI(q8_0_q8_0)

#undef LQI_DECLARE_LEGACY_MULTI

#endif /* LQ_QUANTS_LEGACY_H */
