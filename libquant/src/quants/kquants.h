/*
 * kquants.h - kernels of the k-quants Q2_K..Q6_K and their activation type Q8_K (internal).
 *
 * Block layouts are in kblocks.h. Element counts k and n are multiples of QK_K (256); the
 * public entry points check that before calling in. For each type T:
 *   lqi_quantize_row_T_ref  llama.cpp's quantize_row_T_ref, byte for byte
 *   lqi_quantize_T          nrow rows of n_per_row, optional imatrix (n_per_row weights):
 *                           llama.cpp's quantize_T, byte for byte; returns bytes written
 *   lqi_dequantize_row_T    bit-identical to ggml's dequantize_row_T (fast path when built)
 *   lqi_validate_T          false on a size that is not whole blocks or a NaN/Inf scale
 *   lqi_vec_dot_T_q8_K      *s = dot(x, y) against Q8_K activations
 * Dequantizers, Q8_K's quantize_row and the dots pick AVX-512, AVX2 or the scalar reference
 * by the level in force (lq/simd.h); the scalar dots are ggml's generic kernels, the SIMD
 * ones differ from them only by float summation order, everything else by nothing.
 * All kernels are reentrant and keep no state.
 */
#ifndef LQ_KQUANTS_H
#define LQ_KQUANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quants/kblocks.h"

#define LQI_KQUANT_DECLARE(T)                                                                      \
    void lqi_quantize_row_##T##_ref(const float *restrict x, void *restrict y, int64_t k);         \
    size_t lqi_quantize_##T(const float *restrict src, void *restrict dst, int64_t nrow,           \
                            int64_t n_per_row, const float *imatrix);                              \
    void lqi_dequantize_row_##T(const void *restrict x, float *restrict y, int64_t k);             \
    bool lqi_validate_##T(const void *data, size_t nbytes);                                        \
    void lqi_vec_dot_##T##_q8_K(int64_t n, float *restrict s, const void *restrict x,              \
                                const void *restrict y);

LQI_KQUANT_DECLARE(q2_K)
LQI_KQUANT_DECLARE(q3_K)
LQI_KQUANT_DECLARE(q4_K)
LQI_KQUANT_DECLARE(q5_K)
LQI_KQUANT_DECLARE(q6_K)

/* s[t] = dot(x, row t of y) for n_tok rows y_stride bytes apart (lq_vec_dot_multi_fn). */
#define LQI_KQUANT_DECLARE_MULTI(T)                                                                \
    void lqi_vec_dot_multi_##T##_q8_K(int64_t n, float *restrict s, const void *restrict x,        \
                                      const void *restrict y, size_t y_stride, int n_tok);

LQI_KQUANT_DECLARE_MULTI(q4_K)
LQI_KQUANT_DECLARE_MULTI(q5_K)
LQI_KQUANT_DECLARE_MULTI(q6_K)

/* s[r] = dot(row r of x, y) for n_rows weight rows x_stride bytes apart (lq_vec_dot_rows_fn). */
#define LQI_KQUANT_DECLARE_ROWS(T)                                                                 \
    void lqi_vec_dot_rows_##T##_q8_K(int64_t n, float *restrict s, const void *restrict x,         \
                                     size_t x_stride, int n_rows, const void *restrict y);

LQI_KQUANT_DECLARE_ROWS(q4_K)

/* Q8_K: the activation side. quantize_row is the fast path (same bytes as _ref). */
void lqi_quantize_row_q8_K_ref(const float *restrict x, void *restrict y, int64_t k);
void lqi_quantize_row_q8_K(const float *restrict x, void *restrict y, int64_t k);
size_t lqi_quantize_q8_K(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix);
void lqi_dequantize_row_q8_K(const void *restrict x, float *restrict y, int64_t k);
bool lqi_validate_q8_K(const void *data, size_t nbytes);

#endif /* LQ_KQUANTS_H */
