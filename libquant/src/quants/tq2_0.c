/* tq2_0.c - TQ2_0: ternary values, t + 1 in 2 bits each (2.0625 bits per weight).
 * llama.cpp's quantize_row_tq2_0_ref, byte for byte. */
#include <assert.h>
#include <stddef.h>

#include "lq/fp16.h"
#include "quants/dot_multi.h"
#include "quants/kquant_common.h"
#include "quants/ternary.h"

// ---- quantize ---------------------------------------------------------------------------

static void tq2_0_block(const float *x, void *vy, const float *qw)
{
    (void)qw;
    block_tq2_0 *y = vy;
    const float d = lqi_tq_amax(x);
    const float id = d ? 1.0f / d : 0.0f;
    y->d = lq_fp32_to_fp16(d);
    for (int j = 0; j < QK_K / 4; j += 32) {
        for (int m = 0; m < 32; ++m) {
            unsigned q = 0;
            for (int n = 0; n < 4; ++n) {
                q += (unsigned)(lqi_trit(x[4 * j + 32 * n + m] * id) & 3) << 2 * n;
            }
            y->qs[j + m] = (uint8_t)q;
        }
    }
}

void lqi_quantize_row_tq2_0_ref(const float *restrict x, void *restrict y, int64_t k)
{
    lqi_qk_quantize_ref(tq2_0_block, sizeof(block_tq2_0), x, y, k);
}

/* llama.cpp ignores importance weights for TQ2_0. */
size_t lqi_quantize_tq2_0(const float *restrict src, void *restrict dst, int64_t nrow,
                          int64_t n_per_row, const float *imatrix)
{
    (void)imatrix;
    return lqi_qk_quantize_rows(tq2_0_block, tq2_0_block, sizeof(block_tq2_0), src, dst, nrow,
                                n_per_row, NULL);
}

// ---- dequantize and validate ------------------------------------------------------------

/* Value 128j + 32n + m as -1, 0, 1 (or 2 from a byte llama.cpp would not write). */
static inline int tq2_value(const block_tq2_0 *x, int e)
{
    const int j = e / 128, n = (e % 128) / 32, m = e % 32;
    return ((x->qs[32 * j + m] >> 2 * n) & 3) - 1;
}

void lqi_dequantize_row_tq2_0(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_tq2_0 *x = vx;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d);
        for (int e = 0; e < QK_K; ++e) {
            *y++ = (float)tq2_value(&x[i], e) * d;
        }
    }
}

bool lqi_validate_tq2_0(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_tq2_0), offsetof(block_tq2_0, d),
                                   -1);
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: an exact integer sum per block, times d_y * d_x. */
static void dot_tq2_0_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                  const void *restrict vy)
{
    const block_tq2_0 *x = vx;
    const block_q8_K *y = vy;
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        int32_t sumi = 0;
        for (int e = 0; e < QK_K; ++e) {
            sumi += y[i].qs[e] * tq2_value(&x[i], e);
        }
        sumf += (float)sumi * (y[i].d * lq_fp16_to_fp32(x[i].d));
    }
    *s = sumf;
}

void lqi_vec_dot_tq2_0_q8_K(int64_t n, float *restrict s, const void *restrict x,
                            const void *restrict y)
{
    dot_tq2_0_q8_K_scalar(n, s, x, y);
}

LQI_DOT_MULTI_SCALAR(dot_multi_tq2_0_q8_K_scalar, dot_tq2_0_q8_K_scalar)

void lqi_vec_dot_multi_tq2_0_q8_K(int64_t n, float *restrict s, const void *restrict x,
                                  const void *restrict y, size_t y_stride, int n_tok)
{
    dot_multi_tq2_0_q8_K_scalar(n, s, x, y, y_stride, n_tok);
}
