/*
 * lq/types.h - the tensor type table, numbered and sized exactly as ggml/GGUF.
 *
 * Values of enum lq_type are ggml's type ids (GGUF stores them on disk), so they are pinned:
 * retired ids keep a tombstone row and are never reused. Each row of the table gives the
 * type's name, block size (elements per block), bytes per block and, for the types libquant
 * computes with, its conversion, quantization, validation and dot-product kernels.
 */
#ifndef LQ_TYPES_H
#define LQ_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"

#ifdef __cplusplus
extern "C" {
#endif

enum lq_type {
    LQ_TYPE_F32 = 0,
    LQ_TYPE_F16 = 1,
    LQ_TYPE_Q4_0 = 2,
    LQ_TYPE_Q4_1 = 3,
    /* 4, 5: Q4_2, Q4_3, retired */
    LQ_TYPE_Q5_0 = 6,
    LQ_TYPE_Q5_1 = 7,
    LQ_TYPE_Q8_0 = 8,
    LQ_TYPE_Q8_1 = 9,
    LQ_TYPE_Q2_K = 10,
    LQ_TYPE_Q3_K = 11,
    LQ_TYPE_Q4_K = 12,
    LQ_TYPE_Q5_K = 13,
    LQ_TYPE_Q6_K = 14,
    LQ_TYPE_Q8_K = 15,
    LQ_TYPE_IQ2_XXS = 16,
    LQ_TYPE_IQ2_XS = 17,
    LQ_TYPE_IQ3_XXS = 18,
    LQ_TYPE_IQ1_S = 19,
    LQ_TYPE_IQ4_NL = 20,
    LQ_TYPE_IQ3_S = 21,
    LQ_TYPE_IQ2_S = 22,
    LQ_TYPE_IQ4_XS = 23,
    LQ_TYPE_I8 = 24,
    LQ_TYPE_I16 = 25,
    LQ_TYPE_I32 = 26,
    LQ_TYPE_I64 = 27,
    LQ_TYPE_F64 = 28,
    LQ_TYPE_IQ1_M = 29,
    LQ_TYPE_BF16 = 30,
    /* 31..33: Q4_0_4_4, Q4_0_4_8, Q4_0_8_8, retired from GGUF files */
    LQ_TYPE_TQ1_0 = 34,
    LQ_TYPE_TQ2_0 = 35,
    /* 36..38: IQ4_NL_4_4, IQ4_NL_4_8, IQ4_NL_8_8, retired */
    LQ_TYPE_MXFP4 = 39,
    LQ_TYPE_NVFP4 = 40,
    LQ_TYPE_Q1_0 = 41,
    LQ_TYPE_COUNT = 42,
};

/* Super-block size of the k-quants. */
#define LQ_QK_K 256

/* Kernel signatures. Pointers are restrict: inputs and outputs never overlap. */
typedef void (*lq_to_float_fn)(const void *restrict x, float *restrict y, int64_t k);
typedef void (*lq_from_float_fn)(const float *restrict x, void *restrict y, int64_t k);
/* Quantizes nrow rows of n_per_row values; imatrix (n_per_row weights) may be NULL.
 * Returns the bytes written. */
typedef size_t (*lq_quantize_fn)(const float *restrict src, void *restrict dst, int64_t nrow,
                                 int64_t n_per_row, const float *imatrix);
/* True when nbytes of blocks hold no NaN/Inf scales. */
typedef bool (*lq_validate_fn)(const void *data, size_t nbytes);
/* *s = dot(x, y) over n elements; x is this type, y is vec_dot_type. */
typedef void (*lq_vec_dot_fn)(int64_t n, float *restrict s, const void *restrict x,
                              const void *restrict y);
/* Most activation rows one lq_vec_dot_multi_fn call takes. */
#define LQ_VEC_DOT_MULTI_MAX 8
/* s[t] = dot(x, y_t) for the n_tok (1 .. LQ_VEC_DOT_MULTI_MAX) rows y_t = y + t * y_stride
 * bytes: each weight block is unpacked once for all of them. Every s[t] is bit-identical to
 * what vec_dot gives for x and y_t at the same SIMD level. */
typedef void (*lq_vec_dot_multi_fn)(int64_t n, float *restrict s, const void *restrict x,
                                    const void *restrict y, size_t y_stride, int n_tok);

/* s[r] = dot(row r of x, y) for n_rows weight rows x_stride bytes apart against one
 * activation row y: for every row exactly (bit for bit) what lq_vec_dot_fn gives, with the
 * activation's loads and scales shared by the rows (decoding). */
typedef void (*lq_vec_dot_rows_fn)(int64_t n, float *restrict s, const void *restrict x,
                                   size_t x_stride, int n_rows, const void *restrict y);

struct lq_type_traits {
    const char *name;         /* lower-case, as llama.cpp prints it ("q4_K", "f16") */
    int64_t blck_size;        /* elements per block; 0 for a retired id */
    size_t type_size;         /* bytes per block */
    bool is_quantized;
    bool needs_imatrix;       /* quantizing needs importance weights (llama.cpp refuses too) */
    lq_to_float_fn to_float;           /* NULL if libquant cannot decode the type */
    lq_from_float_fn from_float_ref;   /* reference quantizer (llama.cpp's _ref bytes) */
    lq_from_float_fn from_float;       /* fast path; same bytes as from_float_ref */
    lq_quantize_fn quantize;           /* whole rows, optional importance weights */
    lq_validate_fn validate;
    enum lq_type vec_dot_type;         /* activation type the dot kernel takes */
    lq_vec_dot_fn vec_dot;
    lq_vec_dot_multi_fn vec_dot_multi; /* NULL where a type has none: loop vec_dot */
    lq_vec_dot_rows_fn vec_dot_rows;   /* NULL where a type has none: loop vec_dot */
};

/* The row for a type, or NULL for an id outside the table or a retired id. Borrowed. */
LQ_API const struct lq_type_traits *lq_type_traits_get(int type);

/* Name of a type ("q4_K"); "unknown" for ids without a row. Never NULL. */
LQ_API const char *lq_type_name(int type);

/* Looks a type up by name, case-insensitively ("Q4_K", "q4_k", "bf16"). */
LQ_API lq_status lq_type_from_name(const char *name, enum lq_type *out, struct lq_error *err);

/* Bytes of a row of n elements: n / blck_size * type_size. n must be a multiple of
 * the block size (0 is returned otherwise, or for an unknown type). */
LQ_API size_t lq_row_size(int type, int64_t n);

/* Bits per weight of a type: type_size * 8 / blck_size (0 for unknown). */
LQ_API double lq_type_bpw(int type);

#ifdef __cplusplus
}
#endif
#endif /* LQ_TYPES_H */
