/*
 * lq/gptq.h - GPTQ (Frantar et al., "GPTQ: Accurate Post-Training Quantization for Generative
 * Pre-trained Transformers", 2022) and importance matrices, on the CPU.
 *
 * A linear layer y = W x has W of shape (nrows, ncols): each row is an output channel and
 * ncols is the input dimension. GPTQ quantizes W one input column at a time and spreads each
 * column's rounding error over the columns still to come, weighted by the inverse Hessian of
 * the layer's squared output error, H = 2 X^T X / n, where X holds the n calibration inputs
 * the layer saw (one row per token).
 *
 * Lifecycle:
 *   lq_hessian_new(ncols) -> lq_hessian_add(X rows) ... -> lq_gptq_quantize(W, H, ...)
 *                                                        or lq_gptq_quantize_gguf(...)
 *                         -> lq_hessian_free
 *
 * Two targets share the algorithm (AutoGPTQ's fasterquant: dead columns, dampening, optional
 * act-order, Cholesky of the inverse Hessian, lazy batch updates over blocks of columns):
 *  - lq_gptq_quantize: integer codes of 2, 3, 4 or 8 bits with a scale and zero point per
 *    (row, group of columns), as the GPTQ safetensors format stores them (lq/gptq_st.h).
 *  - lq_gptq_quantize_gguf: blocks of a llama.cpp type (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K,
 *    Q5_K, Q6_K). Each block's scales (and mins) are fixed, when GPTQ reaches the block, by
 *    the type's reference quantizer applied to the block's current (error-updated) weights;
 *    GPTQ then chooses each weight's code within that grid. The result is ordinary blocks.
 *
 * Differences from AutoGPTQ, all deliberate:
 *  - n in H = 2 X^T X / n counts rows (tokens), not sequences. GPTQ's result does not depend
 *    on the scale of H; the reported loss does.
 *  - Integer scales are rounded to F16 when chosen, so the weights GPTQ settles on are
 *    exactly what the F16 scales stored in a file decode to.
 *  - A group's scale and zero always come from fully updated weights (AutoGPTQ reads columns
 *    of the current block without the block's own pending updates when a group starts
 *    inside a block); blocks end early where needed so the lazy updates stay exact.
 *  - Act-order sorts by descending Hessian diagonal with ties in column order (stable).
 *
 * Thread safety: a hessian handle is not thread-safe; different handles may be used from
 * different threads. lq_gptq_* only read the hessian.
 */
#ifndef LQ_GPTQ_H
#define LQ_GPTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lq/core.h"
#include "lq/types.h"

#ifdef __cplusplus
extern "C" {
#endif

// ---- Hessian and importance accumulation ------------------------------------------------

typedef struct lq_hessian lq_hessian;

/* A zero Hessian for layers with ncols inputs (ncols >= 1). Holds ncols^2 floats. */
LQ_API lq_status lq_hessian_new(int64_t ncols, lq_hessian **out, struct lq_error *err);

/* Adds nrows calibration inputs x (nrows, ncols), row-major, as a running mean:
 *   H <- H * n / (n + nrows) + 2 / (n + nrows) * x^T x,   n <- n + nrows
 * and accumulates the per-column sum of squares for lq_hessian_importance. Non-finite
 * inputs give LQ_E_RANGE and leave the Hessian unchanged. nrows == 0 is a no-op. */
LQ_API lq_status lq_hessian_add(lq_hessian *h, const float *x, int64_t nrows,
                                struct lq_error *err);

/* The Hessian of the ncols rows of the identity (H = 2 I / ncols, ncols samples): GPTQ with
 * it spreads no error, so it rounds to nearest on its own grid (a baseline). */
LQ_API lq_status lq_hessian_new_identity(int64_t ncols, lq_hessian **out, struct lq_error *err);

LQ_API int64_t lq_hessian_ncols(const lq_hessian *h);
/* Rows added so far. */
LQ_API int64_t lq_hessian_nsamples(const lq_hessian *h);

/* Copies the full symmetric H (ncols, ncols), row-major, into out (ncols^2 floats). */
LQ_API void lq_hessian_get(const lq_hessian *h, float *out);

/* Mean squared activation per column (ncols floats): sum(x[:, j]^2) / n, the values
 * llama.cpp's imatrix stores for a tensor. Zeros when nothing was added. */
LQ_API void lq_hessian_importance(const lq_hessian *h, float *out);

/* Frees the handle; accepts NULL. */
LQ_API void lq_hessian_free(lq_hessian *h);

// ---- parameters -------------------------------------------------------------------------

struct lq_gptq_params {
    int bits;            /* integer target: 2, 3, 4 or 8 */
    int64_t group_size;  /* integer target: columns per scale/zero, or -1 for one per row.
                          * GGUF targets use the type's block size and ignore this. */
    bool sym;            /* integer target: symmetric (zero = 2^(bits-1)) */
    bool act_order;      /* quantize columns in descending order of H's diagonal (desc_act) */
    bool static_groups;  /* fix every group's grid from the original weights up front */
    bool v1_zeros;       /* keep asymmetric zeros >= 1: GPTQ v1 files store zero - 1 */
    float damp;          /* added to H's diagonal, as a fraction of its mean (damp_percent) */
    int64_t block_size;  /* columns per lazy batch update */
    int n_threads;       /* 0: OpenMP's default */
};

/* bits 4, group_size 128, sym, no act-order, no static groups, v1_zeros, damp 0.01,
 * block_size 128, n_threads 0. */
LQ_API struct lq_gptq_params lq_gptq_params_default(void);

/* Groups per row for the integer target: ceil(ncols / group_size), or 1 for -1. */
LQ_API int64_t lq_gptq_n_groups(int64_t ncols, int64_t group_size);

// ---- integer target ---------------------------------------------------------------------

/* Caller-allocated results of lq_gptq_quantize (g = lq_gptq_n_groups(ncols, group_size)).
 * Weight (r, c) decodes as scales[g_idx[c] * nrows + r] * (q[r * ncols + c] -
 * zeros[g_idx[c] * nrows + r]), computed in float: exactly deq[r * ncols + c]. */
struct lq_gptq_result {
    uint8_t *q;       /* (nrows, ncols) codes in [0, 2^bits - 1], original column order */
    float *scales;    /* (g, nrows) positive, each exactly representable as F16 */
    int32_t *zeros;   /* (g, nrows) zero points in [0, 2^bits - 1] */
    int32_t *g_idx;   /* (ncols) group of each input column */
    float *deq;       /* (nrows, ncols) dequantized weights; may be NULL */
    double loss;      /* out: sum over rows and columns of err^2 / Hinv_cc^2 / 2 */
};

/* Quantizes w (nrows, ncols), row-major, ncols = lq_hessian_ncols(h), with GPTQ. The loss
 * is GPTQ's: with the dampened Hessian H' it equals sum_r (w_r - deq_r)^T H' (w_r - deq_r)
 * / 2, i.e. ||(W - deq) X^T||^2 / n + damp' * ||W - deq||^2 / 2 (damp' the absolute
 * dampening) where dead columns are excluded. Errors: LQ_E_INVALID_ARG for bad params or
 * sizes, LQ_E_RANGE when H is not positive definite after dampening or w holds a
 * non-finite value, LQ_E_NOMEM. Results are unspecified on failure. */
LQ_API lq_status lq_gptq_quantize(const float *w, int64_t nrows, const lq_hessian *h,
                                  const struct lq_gptq_params *p, struct lq_gptq_result *out,
                                  struct lq_error *err);

// ---- GGUF block target ------------------------------------------------------------------

/* True when lq_gptq_quantize_gguf can target the type (and its kernels are registered). */
LQ_API bool lq_gptq_gguf_supported(enum lq_type type);

/* What lq_gptq_quantize_gguf produces: the block type and caller-allocated buffers. */
struct lq_gptq_gguf_out {
    enum lq_type type;  /* block type to produce */
    void *blocks;       /* nrows * lq_row_size(type, ncols) bytes, row after row */
    size_t size;        /* capacity of blocks in bytes */
    float *deq;         /* (nrows, ncols), equal to the type's to_float of blocks; or NULL */
    double loss;        /* out: as for lq_gptq_quantize */
};

/* Quantizes w (nrows, ncols) into blocks of out->type with GPTQ. ncols must be a multiple of
 * the type's block size. Uses p's act_order, static_groups, damp, block_size and n_threads;
 * act_order needs static_groups (a block covers consecutive columns, so its grid must be
 * fixed before columns are visited out of order). Errors as lq_gptq_quantize, plus
 * LQ_E_UNSUPPORTED for a type GPTQ cannot target. */
LQ_API lq_status lq_gptq_quantize_gguf(const float *w, int64_t nrows, const lq_hessian *h,
                                       const struct lq_gptq_params *p,
                                       struct lq_gptq_gguf_out *out, struct lq_error *err);

#ifdef __cplusplus
}
#endif
#endif /* LQ_GPTQ_H */
