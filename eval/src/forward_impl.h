/* forward_impl.h - the kernels of the forward pass (eval/src/forward*.c). */
#ifndef LQ_FORWARD_IMPL_H
#define LQ_FORWARD_IMPL_H

#include <stdint.h>

#include "forward_gemm.h"
#include "lq/simd.h"
#include "model_impl.h"

// ---- element-wise ops (forward_ops.c), llama.cpp's ggml-cpu numerics ---------------------

/* y = x / sqrt(mean(x^2) + eps) * w over n elements (sum of squares in double); y may be x. */
void lqi_rmsnorm(float *y, const float *x, const float *restrict w, int64_t n,
                 float eps);

/* cs[2i], cs[2i+1] = cos, sin of pos * base^(-2i/n_rot) * freq_scale / freq_factors[i]
 * for i < n_rot/2, the angle advanced by repeated multiplication as ggml does. */
void lqi_rope_cache(float *cs, int64_t pos, int64_t n_rot, float freq_base, float freq_scale,
                    const float *freq_factors);

/* Rotates the first n_rot dimensions of one head vector x (n_embd_head) in place. */
void lqi_rope_apply(float *x, const float *cs, int64_t n_rot, enum lq_rope_type type);

/* x[i] = exp(x[i] - max) / sum over n values (the sum in double); returns nothing. */
void lqi_softmax(float *x, int64_t n);

/* g[i] = silu(g[i]) * u[i]. */
void lqi_swiglu(float *restrict g, const float *restrict u, int64_t n);
/* g = gelu_tanh(g) * u as ggml's CPU geglu computes it: gelu of g rounded to F16, the
 * result rounded to F16 (its lookup table), g outside (-10, 10) taken as 0 or g. */
void lqi_geglu(float *restrict g, const float *restrict u, int64_t n);
/* x = c * tanh(x / c) (Gemma 2's soft-caps). */
void lqi_softcap(float *x, int64_t n, float c);

/* Dot product and y += a * x of F32 vectors (4-wide vectors). */
float lqi_dot_f32(const float *restrict a, const float *restrict b, int64_t n);
void lqi_axpy_f32(float *restrict y, float a, const float *restrict x, int64_t n);

// ---- matrix products (forward_matmul.c) ----------------------------------------------------

/* Batches of at least this many rows take the tiled GEMM (forward_gemm.h); fewer (decoding)
 * take one dot per weight row. */
#define LQI_GEMM_MIN_ROWS 8

/* Picks the dot kernel of a weight from the type table; false when its type can't be used. */
bool lqi_weight_setup(struct lqi_weight *w);

/* Bytes of one activation row of n_in elements for w's kernel. */
size_t lqi_acts_row_size(const struct lqi_weight *w, int64_t n_in);

/* The one explicit conversion of an input x (n_rows, w->n_in) for w's kernel into a: the
 * products that share the input reuse it while lqi_acts_fit says it serves them. */
void lqi_acts_convert(struct lqi_acts *a, const struct lqi_weight *w, const float *x,
                      int64_t n_rows, int n_threads);

/* Whether a's conversion is the one w's kernel takes (same rounding, type and width). */
bool lqi_acts_fit(const struct lqi_acts *a, const struct lqi_weight *w);

/* y (n_rows, w->n_out) = x · w^T with a holding x converted for w (lqi_acts_fit). */
void lqi_matmul(float *y, const struct lqi_weight *w, const struct lqi_acts *a, int n_threads);

/* ys[i] = x · ws[i]^T for count weights that take the same input x (n rows): the input is
 * converted once for all whose kernels take the same conversion (q/k/v, gate/up). */
void lqi_project(lq_model *m, const float *x, int64_t n, int count,
                 const struct lqi_weight *const *ws, float *const *ys);

/* y[r - r0] = dot(row r of w, x) for weight rows r0 .. r1 - 1 and ONE activation row x, already
 * converted for w's kernel (w->kind == LQI_DOT_TABLE: one row of w->act_type, e.g. Q8_K/Q8_0
 * blocks; LQI_DOT_F16 / LQI_DOT_BF16: n_in floats already rounded to F16 / BF16 values;
 * LQI_DOT_F32 / LQI_DOT_DEQUANT: n_in plain floats). Single-threaded: the caller splits rows
 * over threads (forward_gemv.c). */
void lqi_gemv_rows(float *y, const struct lqi_weight *w, const void *x, int64_t r0, int64_t r1);

/* lqi_gemv_rows of F16 / BF16 / F32 weights at one SIMD level (forward_gemv_x86.c); call only
 * at that level. */
void lqi_gemv_float_avx512(float *y, const struct lqi_weight *w, const float *x, int64_t r0,
                           int64_t r1);
void lqi_gemv_float_avx2(float *y, const struct lqi_weight *w, const float *x, int64_t r0,
                         int64_t r1);

/* Dequantizes row `row` of w into y (n_in floats). */
void lqi_weight_row(const struct lqi_weight *w, int64_t row, float *y);

// ---- mixture of experts (forward_moe.c) ------------------------------------------------------

/* x += the experts' FFN of the normed input st->xb for n tokens of layer il (n_expert > 0);
 * the expert observer's status, or LQI_STOPPED at a stop after LQ_HOOK_FFN_DOWN. */
lq_status lqi_moe_ffn(lq_model *m, int64_t il, int64_t n, struct lq_error *err);

// ---- attention (forward_attn.c) -----------------------------------------------------------

/* For n_heads query heads (q + i * hd) that share one KV head: s[i * ld_s + j - j0] = q_i · k_j
 * for keys j0 .. j1 - 1 given transposed (kt[d * ld + j], d < hd); and out[i * hd + d] =
 * sum_{j < n} p[i * ld_p + j] * v[j * ld + d]. The SIMD forms (forward_attn_x86.c) at `level`;
 * false when none applies (the caller then loops in plain C). */
bool lqi_attn_scores_simd(float *s, int64_t ld_s, const float *q, int64_t n_heads,
                          const float *kt, int64_t ld, int64_t hd, int64_t j0, int64_t j1,
                          enum lq_simd_level level);
bool lqi_attn_values_simd(float *out, const float *p, int64_t ld_p, int64_t n_heads,
                          const float *v, int64_t ld, int64_t hd, int64_t n,
                          enum lq_simd_level level);
/* lqi_softmax of n scores with a vectorised exponential (forward_attn_x86.c); false when
 * the level has none. */
bool lqi_attn_softmax_simd(float *x, int64_t n, enum lq_simd_level level);

/* Stores this batch's K and V (rounded to F16) into the cache of layer il at pos, then
 * computes causal grouped-query attention for n_tok queries into st->att. */
void lqi_attention(lq_model *m, int64_t il, int64_t n_tok, int64_t pos);

#endif
