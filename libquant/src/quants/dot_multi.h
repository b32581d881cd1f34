/*
 * dot_multi.h - the scalar side of the multi-token dots (lq_vec_dot_multi_fn): one call of
 * the type's scalar single-row dot per activation row, so that scalar results are those of
 * vec_dot by construction. The SIMD sides (kquant_simd.h, legacy_simd.h) unpack each weight
 * block once for all rows instead.
 */
#ifndef LQ_QUANTS_DOT_MULTI_H
#define LQ_QUANTS_DOT_MULTI_H

#include <stddef.h>
#include <stdint.h>

#include "lq/types.h"

/* Activation row t of a multi-token call. */
#define LQI_MULTI_ROW(y, y_stride, t) ((const unsigned char *)(y) + (size_t)(t) * (y_stride))

/* static void NAME(n, s, x, y, y_stride, n_tok) over DOT(int64_t n, float *s, const void *x,
 * const void *y) (the k-quants' scalar kernels). */
#define LQI_DOT_MULTI_SCALAR(NAME, DOT)                                                            \
    static void NAME(int64_t n, float *restrict s, const void *restrict x, const void *restrict y, \
                     size_t y_stride, int n_tok)                                                   \
    {                                                                                              \
        for (int t = 0; t < n_tok; ++t) {                                                          \
            DOT(n, &s[t], x, LQI_MULTI_ROW(y, y_stride, t));                                       \
        }                                                                                          \
    }

/* The same over float DOT(int64_t n, const BX *x, const BY *y) (the 32-element types). */
#define LQI_DOT_MULTI_SCALAR_RET(NAME, DOT, BX, BY)                                                \
    static void NAME(int64_t n, float *restrict s, const void *restrict x, const void *restrict y, \
                     size_t y_stride, int n_tok)                                                   \
    {                                                                                              \
        for (int t = 0; t < n_tok; ++t) {                                                          \
            s[t] = DOT(n, (const BX *)x, (const BY *)LQI_MULTI_ROW(y, y_stride, t));               \
        }                                                                                          \
    }

/* The public dots of a Q8_K type T (lqi_vec_dot_T_q8_K, lqi_vec_dot_multi_T_q8_K) from its
 * static dot_T_q8_K_scalar and, on x86, dot[_multi]_T_q8_K_avx2 / _avx512 (for instance from
 * LQI_QK_BIASED_DOT_KERNELS); the expanding file includes quants/simd.h. */
#define LQI_QK_DOT_ENTRY_POINTS(T)                                                                 \
    LQI_DOT_MULTI_SCALAR(dot_multi_##T##_q8_K_scalar, dot_##T##_q8_K_scalar)                       \
    void lqi_vec_dot_##T##_q8_K(int64_t n, float *restrict s, const void *restrict x,              \
                                const void *restrict y)                                            \
    {                                                                                              \
        LQI_SIMD_CALL(dot_##T##_q8_K_avx512, dot_##T##_q8_K_avx2, dot_##T##_q8_K_scalar, n, s, x,  \
                      y);                                                                          \
    }                                                                                              \
    void lqi_vec_dot_multi_##T##_q8_K(int64_t n, float *restrict s, const void *restrict x,        \
                                      const void *restrict y, size_t y_stride, int n_tok)          \
    {                                                                                              \
        LQI_SIMD_CALL(dot_multi_##T##_q8_K_avx512, dot_multi_##T##_q8_K_avx2,                      \
                      dot_multi_##T##_q8_K_scalar, n, s, x, y, y_stride, n_tok);                   \
    }

/* An lq_vec_dot_rows_fn `name` that calls the single-row `vec_dot` (the level in force) row
 * by row: the several-rows entry of a level without its own kernel. */
#define LQI_DOT_ROWS_EACH(name, vec_dot)                                                           \
    static void name(int64_t n, float *restrict s, const void *restrict x, size_t x_stride,        \
                     int n_rows, const void *restrict y)                                           \
    {                                                                                              \
        for (int r = 0; r < n_rows; r++) {                                                         \
            vec_dot(n, &s[r], (const unsigned char *)x + (size_t)r * x_stride, y);                 \
        }                                                                                          \
    }

#endif /* LQ_QUANTS_DOT_MULTI_H */
