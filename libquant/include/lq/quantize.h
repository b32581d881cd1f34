/*
 * lq/quantize.h - quantize and dequantize rows of any type in the table (lq/types.h),
 * measure the error a type introduces, and the quantized dot products of a forward pass.
 *
 * Quantization is byte-identical to llama.cpp (ggml_quantize_chunk): without importance
 * weights the reference quantizers, with them the imatrix-guided ones. Results do not depend
 * on the thread count or on the SIMD level (lq/simd.h).
 */
#ifndef LQ_QUANTIZE_H
#define LQ_QUANTIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Optional settings of lq_quantize_rows; start from lq_quantize_params_default(). */
struct lq_quantize_params {
    const char *tensor_name; /* named in error messages; NULL for none. Borrowed. */
    int nthreads;            /* OpenMP threads over rows; <= 0 means 1 */
    const float *imatrix;    /* n_per_row importance weights (finite, >= 0) or NULL. Borrowed. */
    bool allow_nonfinite;    /* accept NaN/Inf inputs and NaN/Inf (overflowed) output scales,
                                writing the bytes llama.cpp's quantizers write, instead of
                                refusing them */
};

/* Defaults: no name, 1 thread, no imatrix, non-finite input refused. */
LQ_API struct lq_quantize_params lq_quantize_params_default(void);

/* Quantizes nrow rows of n_per_row floats (row-major, contiguous) into dst, which holds
 * dst_size bytes; *written (may be NULL) receives nrow * lq_row_size(type, n_per_row).
 * params may be NULL (defaults). Float types (f32, f16, bf16) are converted, ignoring imatrix.
 * Errors: LQ_E_INVALID_ARG (NULL buffers, n_per_row not a multiple of the block size,
 * dst too small, no imatrix for a type that needs_imatrix), LQ_E_UNSUPPORTED (type
 * without a quantizer), LQ_E_RANGE (a NaN/Inf input at row r, column c; a bad imatrix
 * value; or, as llama-quantize refuses it too, output whose fp16 scales overflowed because
 * the values are too large for the type). On error the dst contents are unspecified. With
 * allow_nonfinite neither input nor output is checked, and rows holding NaN/Inf are written
 * byte for byte as llama.cpp's reference quantizers do.
 * Thread-safe for distinct dst buffers. */
LQ_API lq_status lq_quantize_rows(int type, const float *src, int64_t nrow, int64_t n_per_row,
                                  void *dst, size_t dst_size,
                                  const struct lq_quantize_params *params, size_t *written,
                                  struct lq_error *err);

/* Decodes n values (a multiple of the block size) of type from src into dst. */
LQ_API lq_status lq_dequantize_rows(int type, const void *src, float *dst, int64_t n,
                                    struct lq_error *err);

/* True when nbytes of type hold whole blocks with no NaN/Inf scales (ggml_validate_row_data).
 * Types without a validator (plain floats and integers) are always valid. */
LQ_API bool lq_validate_row_data(int type, const void *data, size_t nbytes);

// ---- error statistics -------------------------------------------------------------------

/*
 * Error of quantize-then-dequantize against the input. Accumulate chunks (typically rows) into
 * one struct, or merge structs summarised separately; the derived fields are kept current.
 * NaN/Inf inputs are counted in n_nonfinite and left out of the sums.
 */
struct lq_quant_stats {
    /* derived */
    double rmse;        /* sqrt(sum_err2 / n) */
    double max_abs_err; /* max |x - x'| */
    double rel_rmse;    /* rmse / rms(x); 0 when both are 0, +inf when only x is all zeros */
    double snr_db;      /* 10 log10(sum_x2 / sum_err2); +inf for an exact round trip */
    int64_t n;          /* finite values compared */
    int64_t n_nonfinite;
    /* accumulators */
    double sum_err2; /* sum (x - x')^2 */
    double sum_x2;   /* sum x^2 */
};

/* An empty summary. */
LQ_API void lq_quant_stats_init(struct lq_quant_stats *s);

/* Adds from's sums into into and updates into's derived fields. */
LQ_API void lq_quant_stats_merge(struct lq_quant_stats *into, const struct lq_quant_stats *from);

/* Adds the comparison of n values x against their approximations xq to acc (the sums behind
 * the derived fields, which are updated). For two decoded tensors of the same shape. */
LQ_API void lq_quant_stats_add(struct lq_quant_stats *acc, const float *x, const float *xq,
                               int64_t n);

/* Quantizes src (one row of n values; imatrix has n weights or is NULL) with type exactly as
 * lq_quantize_rows would, dequantizes, and adds the comparison to acc. */
LQ_API lq_status lq_quant_error_accumulate(int type, const float *src, int64_t n,
                                           const float *imatrix, struct lq_quant_stats *acc,
                                           struct lq_error *err);

/* lq_quant_stats_init + lq_quant_error_accumulate for one row. */
LQ_API lq_status lq_quant_error_stats(int type, const float *src, int64_t n, const float *imatrix,
                                      struct lq_quant_stats *stats, struct lq_error *err);

// ---- dot products -----------------------------------------------------------------------

/* Quantizes n activations x into the type's vec_dot_type layout (y holds
 * lq_row_size(act_type, n) bytes): what a forward pass does before lq_vec_dot. */
LQ_API lq_status lq_quantize_activation(int act_type, const float *x, void *y, int64_t n,
                                        struct lq_error *err);

/* *out = dot(x, y) over n values: x of type, y of its vec_dot_type (lq_type_traits_get). */
LQ_API lq_status lq_vec_dot(int type, int64_t n, const void *x, const void *y, float *out,
                            struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_QUANTIZE_H */
