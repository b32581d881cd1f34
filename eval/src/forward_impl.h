/* forward_impl.h - the kernels of the forward pass (eval/src/forward*.c). */
#ifndef LQ_FORWARD_IMPL_H
#define LQ_FORWARD_IMPL_H

#include <stdint.h>

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
/* out[r][t] = dot(w_r, x[t]) for 2 weight rows and 4 activation rows, each summed in exactly
 * lqi_dot_f32's order, so blocking never changes a result. */
void lqi_dot_f32_2x4(const float *restrict w0, const float *restrict w1,
                     const float *const *restrict x, int64_t n, float out[2][4]);
void lqi_axpy_f32(float *restrict y, float a, const float *restrict x, int64_t n);

// ---- matrix products (forward_matmul.c) ----------------------------------------------------

/* Picks the dot kernel of a weight from the type table; false when its type can't be used. */
bool lqi_weight_setup(struct lqi_weight *w);

/* Bytes of one activation row of n_in elements for w's kernel. */
size_t lqi_acts_row_size(const struct lqi_weight *w, int64_t n_in);

/* Converts x (n_rows, w->n_in) for w's kernel into a (reused when already converted). */
void lqi_acts_prepare(struct lqi_acts *a, const struct lqi_weight *w, const float *x,
                      int64_t n_rows, int n_threads);

/* Marks a's conversion stale (its source buffer changed). */
void lqi_acts_invalidate(struct lqi_acts *a);

/* Weight rows a thread converts to F32 at once (the wrow scratch holds LQI_ROW_BLOCK * n_in
 * floats per thread). */
#define LQI_ROW_BLOCK 4

/* Whether the interleaved AVX-512 kernel below may run (the SIMD level in force). */
bool lqi_ilv_supported(void);

/* Interleaves F32 rows (n_rows of n_in, row_size bytes apart) by groups of 8 into dst:
 * for each group and each chunk of 4 elements, the 8 rows' chunks side by side. Rows past
 * the last full group and the n_in % 4 tail are not copied. */
void lqi_ilv_pack(float *dst, const unsigned char *rows, size_t row_size, int64_t n_rows,
                  int64_t n_in);

/* Tokens per tile of a float-kind product (a multiple of 8: tiles hold whole groups). */
#define LQI_TOKEN_TILE 32

/* y[t * y_stride + r0 + i] = dot(w[i], row t of a) for the 4 weight rows and the tokens of
 * a's full groups of 8 from g0 up to g1 (a->has_ilv); returns the first group not done.
 * Bit-identical to lqi_dot_f32. */
int64_t lqi_dot_f32_ilv(float *y, int64_t y_stride, int64_t r0, const float *const w[4],
                        const struct lqi_acts *a, int64_t g0, int64_t g1);

/* F16 -> F32 conversion of a row (exact; F16C instructions when the SIMD level allows). */
void lqi_f16_row_to_f32(const uint16_t *src, float *dst, int64_t n);

/* y (n_rows, w->n_out) = x * w^T with the prepared activations a; wrow is per-thread scratch
 * (LQI_ROW_BLOCK * w->n_in floats per thread). */
void lqi_matmul(float *y, const struct lqi_weight *w, const struct lqi_acts *a, float *wrow,
                int n_threads);

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

/* Stores this batch's K and V (rounded to F16) into the cache of layer il at pos, then
 * computes causal grouped-query attention for n_tok queries into st->att. */
void lqi_attention(lq_model *m, int64_t il, int64_t n_tok, int64_t pos);

#endif
