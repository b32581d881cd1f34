/* q2_k.c - Q2_K: 2-bit quants in 16 sub-blocks of 16 with 4-bit scales and mins
 * (llama.cpp's quantize_row_q2_K_ref / quantize_row_q2_K_impl, byte for byte). */
#include <assert.h>
#include <math.h>
#include <stddef.h>

#include "lq/fp16.h"
#include "quants/kquant_common.h"
#include "quants/kquants.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/kquant_simd.h"
#endif

// ---- quantize ---------------------------------------------------------------------------

/* Final quants from the stored (fp16-rounded) scales and mins, then packed four per byte:
 * byte l of each 32-byte chunk holds elements l, l+32, l+64 and l+96 of its 128. */
static void q2_K_requantize_pack(const float *x, block_q2_K *y, uint8_t L[QK_K])
{
    const float dm = lq_fp16_to_fp32(y->d);
    const float mm = lq_fp16_to_fp32(y->dmin);
    for (int j = 0; j < QK_K / 16; ++j) {
        const float d = dm * (y->scales[j] & 0xF);
        if (!d) {
            continue;
        }
        const float m = mm * (y->scales[j] >> 4);
        for (int ii = 0; ii < 16; ++ii) {
            int l = lqi_nearest_int((x[16 * j + ii] + m) / d);
            L[16 * j + ii] = (uint8_t)LQI_MAX(0, LQI_MIN(3, l));
        }
    }
    for (int j = 0; j < QK_K; j += 128) {
        for (int l = 0; l < 32; ++l) {
            y->qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                         (L[j + l + 96] << 6));
        }
    }
}

/* Scales and mins of the 16 sub-blocks as 4-bit multiples of max/15. */
static void q2_K_ref_scales(const float scales[16], const float mins[16], float max_scale,
                            float max_min, block_q2_K *y)
{
    const float q4scale = 15.f;
    memset(y->scales, 0, sizeof y->scales);
    y->d = lq_fp32_to_fp16(0.f);
    y->dmin = lq_fp32_to_fp16(0.f);
    if (max_scale > 0) {
        float iscale = q4scale / max_scale;
        for (int j = 0; j < QK_K / 16; ++j) {
            y->scales[j] = (uint8_t)lqi_nearest_int(iscale * scales[j]);
        }
        y->d = lq_fp32_to_fp16(max_scale / q4scale);
    }
    if (max_min > 0) {
        float iscale = q4scale / max_min;
        for (int j = 0; j < QK_K / 16; ++j) {
            unsigned l = (unsigned)lqi_nearest_int(iscale * mins[j]);
            y->scales[j] |= (uint8_t)(l << 4);
        }
        y->dmin = lq_fp32_to_fp16(max_min / q4scale);
    }
}

static void q2_K_ref_block(const float *x, void *vy, const float *qw)
{
    block_q2_K *y = vy;
    uint8_t L[QK_K], Laux[16];
    float weights[16], mins[QK_K / 16], scales[QK_K / 16];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 16; ++j) {
        for (int l = 0; l < 16; ++l) {
            weights[l] = fabsf(x[16 * j + l]);
        }
        scales[j] = lqi_make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux,
                                         -0.5f, 0.1f, 15, true);
        if (scales[j] > max_scale) {
            max_scale = scales[j];
        }
        if (mins[j] > max_min) {
            max_min = mins[j];
        }
    }
    q2_K_ref_scales(scales, mins, max_scale, max_min, y);
    q2_K_requantize_pack(x, y, L);
}

void lqi_quantize_row_q2_K_ref(const float *restrict x, void *restrict y, int64_t k)
{
    lqi_qk_quantize_ref(q2_K_ref_block, sizeof(block_q2_K), x, y, k);
}

/* Importance-weighted block: weights qw * sqrt(sigma2 + x^2), scales and mins searched with
 * make_qkx3_quants, then both quantized to 4 bits by make_qp_quants. */
static void q2_K_impl_block(const float *x, void *vy, const float *qw)
{
    block_q2_K *y = vy;
    uint8_t L[QK_K], Laux[16], Ls[QK_K / 16], Lm[QK_K / 16];
    float mins[QK_K / 16], scales[QK_K / 16], sw[QK_K / 16], weight[16];
    const float sigma2 = lqi_sum_x2_qk(x) / QK_K;
    for (int j = 0; j < QK_K / 16; ++j) {
        sw[j] = 0;
        for (int l = 0; l < 16; ++l) {
            weight[l] = qw[16 * j + l] * sqrtf(sigma2 + x[16 * j + l] * x[16 * j + l]);
        }
        for (int l = 0; l < 16; ++l) {
            sw[j] += weight[l];
        }
        scales[j] = lqi_make_qkx3_quants(16, 3, x + 16 * j, weight, L + 16 * j, &mins[j], Laux,
                                         -0.9f, 0.05f, 36, false);
    }
    float dm = lqi_make_qp_quants(QK_K / 16, 15, scales, Ls, sw);
    float mm = lqi_make_qp_quants(QK_K / 16, 15, mins, Lm, sw);
    y->d = lq_fp32_to_fp16(dm);
    y->dmin = lq_fp32_to_fp16(mm);
    for (int j = 0; j < QK_K / 16; ++j) {
        y->scales[j] = (uint8_t)(Ls[j] | (Lm[j] << 4));
    }
    q2_K_requantize_pack(x, y, L);
}

size_t lqi_quantize_q2_K(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix)
{
    return lqi_qk_quantize_rows(q2_K_ref_block, q2_K_impl_block, sizeof(block_q2_K), src, dst, nrow,
                                n_per_row, imatrix);
}

// ---- dequantize and validate ------------------------------------------------------------

void lqi_dequantize_row_q2_K(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_q2_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d);
        const float min = lq_fp16_to_fp32(x[i].dmin);
        const uint8_t *q = x[i].qs;
        int is = 0;
        for (int n = 0; n < QK_K; n += 128) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; ++half) {
                    uint8_t sc = x[i].scales[is++];
                    float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                    for (int l = 0; l < 16; ++l) {
                        *y++ = dl * ((q[l + 16 * half] >> shift) & 3) - ml;
                    }
                }
            }
            q += 32;
        }
    }
}

bool lqi_validate_q2_K(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_q2_K), offsetof(block_q2_K, d),
                                   offsetof(block_q2_K, dmin));
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: integer sums per sub-block, the mins through the bsums. */
static void dot_q2_K_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                 const void *restrict vy)
{
    const block_q2_K *x = vx;
    const block_q8_K *y = vy;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const uint8_t *q2 = x[i].qs;
        const int8_t *q8 = y[i].qs;
        const uint8_t *sc = x[i].scales;
        int summs = 0;
        for (int j = 0; j < 16; ++j) {
            summs += y[i].bsums[j] * (sc[j] >> 4);
        }
        const float dall = y[i].d * lq_fp16_to_fp32(x[i].d);
        const float dmin = y[i].d * lq_fp16_to_fp32(x[i].dmin);
        int isum = 0, is = 0;
        for (int c = 0; c < QK_K / 128; ++c) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; ++half) {
                    int d = sc[is++] & 0xF, isuml = 0;
                    for (int l = 16 * half; l < 16 * half + 16; ++l) {
                        isuml += q8[l] * ((q2[l] >> shift) & 3);
                    }
                    isum += d * isuml;
                }
                q8 += 32;
            }
            q2 += 32;
        }
        sumf += dall * isum - dmin * summs;
    }
    *s = sumf;
}

#if LQI_X86
LQI_AVX2_NOFMA static inline void q2_K_prep(const block_q2_K *x, const block_q8_K *y,
                                            struct lqi_qk_prep *p)
{
    const __m256i m3 = _mm256_set1_epi8(3);
    for (int c = 0; c < 2; ++c) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * c));
        p->q[4 * c + 0] = _mm256_and_si256(v, m3);
        p->q[4 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 2), m3);
        p->q[4 * c + 2] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m3);
        p->q[4 * c + 3] = _mm256_and_si256(_mm256_srli_epi16(v, 6), m3);
    }
    int summs = 0;
    for (int j = 0; j < 16; ++j) {
        p->sc16[j] = x->scales[j] & 0xF;
        summs += y->bsums[j] * (x->scales[j] >> 4);
    }
    p->d = y->d * lq_fp16_to_fp32(x->d);
    p->off = y->d * lq_fp16_to_fp32(x->dmin) * (float)summs;
}

LQI_QK_DOT_KERNELS(q2_K, block_q2_K, q2_K_prep)
#endif

void lqi_vec_dot_q2_K_q8_K(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y)
{
    LQI_SIMD_CALL(dot_q2_K_q8_K_avx512, dot_q2_K_q8_K_avx2, dot_q2_K_q8_K_scalar, n, s, x, y);
}
