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
 *   lqi_vec_dot_T_q8_K      *s = dot(x, y) against Q8_K activations; picks AVX-512, AVX2
 *                           or the scalar reference at run time. The _scalar variant is
 *                           ggml's generic kernel; _avx2 and _avx512 may only be called when
 *                           the CPU has them (lqi_kquant_isa() says so) and differ from it
 *                           only by float summation order.
 * All kernels are reentrant and keep no state.
 */
#ifndef LQ_KQUANTS_H
#define LQ_KQUANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kblocks.h"

/* The widest SIMD level the running CPU supports for these kernels. */
enum lqi_kquant_isa { LQI_KQ_SCALAR = 0, LQI_KQ_AVX2 = 1, LQI_KQ_AVX512 = 2 };
enum lqi_kquant_isa lqi_kquant_isa(void);

#define LQI_KQUANT_DECLARE(T)                                                                      \
    void lqi_quantize_row_##T##_ref(const float *restrict x, void *restrict y, int64_t k);         \
    size_t lqi_quantize_##T(const float *restrict src, void *restrict dst, int64_t nrow,           \
                            int64_t n_per_row, const float *imatrix);                              \
    void lqi_dequantize_row_##T(const void *restrict x, float *restrict y, int64_t k);             \
    bool lqi_validate_##T(const void *data, size_t nbytes);                                        \
    void lqi_vec_dot_##T##_q8_K(int64_t n, float *restrict s, const void *restrict x,              \
                                const void *restrict y);                                           \
    void lqi_vec_dot_##T##_q8_K_scalar(int64_t n, float *restrict s, const void *restrict x,       \
                                       const void *restrict y);                                    \
    void lqi_vec_dot_##T##_q8_K_avx2(int64_t n, float *restrict s, const void *restrict x,         \
                                     const void *restrict y);                                      \
    void lqi_vec_dot_##T##_q8_K_avx512(int64_t n, float *restrict s, const void *restrict x,       \
                                       const void *restrict y);

LQI_KQUANT_DECLARE(q2_K)
LQI_KQUANT_DECLARE(q3_K)
LQI_KQUANT_DECLARE(q4_K)
LQI_KQUANT_DECLARE(q5_K)
LQI_KQUANT_DECLARE(q6_K)

/* The reference and AVX2 dequantizers behind lqi_dequantize_row_q4_K/_q6_K (the forward
 * pass's hot types); _avx2 needs an AVX2 CPU. Both give the same floats. */
void lqi_dequantize_row_q4_K_scalar(const void *restrict x, float *restrict y, int64_t k);
void lqi_dequantize_row_q4_K_avx2(const void *restrict x, float *restrict y, int64_t k);
void lqi_dequantize_row_q6_K_scalar(const void *restrict x, float *restrict y, int64_t k);
void lqi_dequantize_row_q6_K_avx2(const void *restrict x, float *restrict y, int64_t k);

/* Q8_K: the activation side. quantize_row is the fast path (same bytes as _ref). */
void lqi_quantize_row_q8_K_ref(const float *restrict x, void *restrict y, int64_t k);
void lqi_quantize_row_q8_K(const float *restrict x, void *restrict y, int64_t k);
void lqi_quantize_row_q8_K_avx2(const float *restrict x, void *restrict y, int64_t k);
size_t lqi_quantize_q8_K(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix);
void lqi_dequantize_row_q8_K(const void *restrict x, float *restrict y, int64_t k);
bool lqi_validate_q8_K(const void *data, size_t nbytes);

#endif /* LQ_KQUANTS_H */
