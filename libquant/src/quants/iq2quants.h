/*
 * iq2quants.h - kernels of the 1- and 2-bit i-quants IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M
 * (internal). Block layouts: iq2blocks.h; grids: iq2_grids.h. For each type T:
 *   lqi_quantize_T            llama.cpp's quantize_T byte for byte: nrow rows of n_per_row
 *                             (a multiple of 256), importance weights imatrix (n_per_row).
 *                             IQ2_XXS, IQ2_XS and IQ1_S need them (ggml asserts; these
 *                             return 0 and write nothing); IQ2_S and IQ1_M take NULL too.
 *                             Returns the bytes written, 0 also when the grid's search
 *                             tables could not be allocated.
 *   lqi_dequantize_row_T      bit-identical to ggml's dequantize_row_T
 *   lqi_validate_T            false on a size that is not whole blocks or a NaN/Inf scale
 *   lqi_vec_dot_T_q8_K        *s = dot(x, y) against Q8_K activations (ggml's generic
 *                             kernel at the scalar level; AVX2 differs by float order only)
 *   lqi_vec_dot_multi_T_q8_K  the same for up to LQ_VEC_DOT_MULTI_MAX activation rows
 * All kernels are reentrant; the grids are built once, thread-safely, on first use.
 */
#ifndef LQ_QUANTS_IQ2QUANTS_H
#define LQ_QUANTS_IQ2QUANTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quants/iq2blocks.h"

#define LQI_IQ2_DECLARE(T)                                                                         \
    size_t lqi_quantize_##T(const float *restrict src, void *restrict dst, int64_t nrow,           \
                            int64_t n_per_row, const float *imatrix);                              \
    void lqi_dequantize_row_##T(const void *restrict x, float *restrict y, int64_t k);             \
    bool lqi_validate_##T(const void *data, size_t nbytes);                                        \
    void lqi_vec_dot_##T##_q8_K(int64_t n, float *restrict s, const void *restrict x,              \
                                const void *restrict y);                                           \
    void lqi_vec_dot_multi_##T##_q8_K(int64_t n, float *restrict s, const void *restrict x,        \
                                      const void *restrict y, size_t y_stride, int n_tok);

LQI_IQ2_DECLARE(iq2_xxs)
LQI_IQ2_DECLARE(iq2_xs)
LQI_IQ2_DECLARE(iq2_s)
LQI_IQ2_DECLARE(iq1_s)
LQI_IQ2_DECLARE(iq1_m)

/* The public dot entry points of type T over its static kernels dot_T_q8_K_scalar and, on
 * x86, dot_T_q8_K_avx2 / dot_multi_T_q8_K_avx2 (which serve the AVX-512 level too: they
 * equal the scalar kernels bit for bit). Needs quants/simd.h and quants/dot_multi.h. */
#define LQI_IQ_DOT_ENTRIES(T)                                                                      \
    LQI_DOT_MULTI_SCALAR(dot_multi_##T##_scalar, dot_##T##_q8_K_scalar)                            \
    void lqi_vec_dot_##T##_q8_K(int64_t n, float *restrict s, const void *restrict x,              \
                                const void *restrict y)                                            \
    {                                                                                              \
        LQI_SIMD_CALL(dot_##T##_q8_K_avx2, dot_##T##_q8_K_avx2, dot_##T##_q8_K_scalar, n, s, x,    \
                      y);                                                                          \
    }                                                                                              \
    void lqi_vec_dot_multi_##T##_q8_K(int64_t n, float *restrict s, const void *restrict x,        \
                                      const void *restrict y, size_t y_stride, int n_tok)          \
    {                                                                                              \
        LQI_SIMD_CALL(dot_multi_##T##_q8_K_avx2, dot_multi_##T##_q8_K_avx2,                        \
                      dot_multi_##T##_scalar, n, s, x, y, y_stride, n_tok);                        \
    }

/* IQ2_S's reference quantizer (quantize_row_iq2_s_ref: no importance weights); on an
 * allocation failure of its grid tables the blocks are zeroed. */
void lqi_quantize_row_iq2_s_ref(const float *restrict x, void *restrict y, int64_t k);

#endif /* LQ_QUANTS_IQ2QUANTS_H */
