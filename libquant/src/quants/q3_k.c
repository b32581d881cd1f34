/* q3_k.c - Q3_K: 3-bit quants in 16 sub-blocks of 16 with signed 6-bit scales
 * (llama.cpp's quantize_row_q3_K_ref / quantize_row_q3_K_impl, byte for byte). */
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

/* Sixteen 6-bit scales (0..63): low nibbles of 0..7 in bytes 0..7, of 8..15 in their high
 * nibbles, and the top two bits of scale j in byte 8 + j%4 at bit 2*(j/4). */
static void q3_K_pack_scales(const int ls[16], uint8_t out[12])
{
    memset(out, 0, 12);
    for (int j = 0; j < QK_K / 16; ++j) {
        int l = ls[j];
        if (j < 8) {
            out[j] = (uint8_t)(l & 0xF);
        } else {
            out[j - 8] |= (uint8_t)((l & 0xF) << 4);
        }
        l >>= 4;
        out[j % 4 + 8] |= (uint8_t)(l << (2 * (j / 4)));
    }
}

/* Final quants from the stored scales; the third bit goes to hmask (bit m of byte j%32 for
 * element j, m = j/32), the low two bits are packed as in Q2_K. */
static void q3_K_requantize_pack(const float *x, block_q3_K *y, int8_t L[QK_K])
{
    int8_t sc[16];
    lqi_unpack_q3_K_scales(y->scales, sc);
    for (int j = 0; j < QK_K / 16; ++j) {
        float d = lq_fp16_to_fp32(y->d) * (sc[j] - 32);
        if (!d) {
            continue;
        }
        for (int ii = 0; ii < 16; ++ii) {
            int l = lqi_nearest_int(x[16 * j + ii] / d);
            L[16 * j + ii] = (int8_t)(LQI_MAX(-4, LQI_MIN(3, l)) + 4);
        }
    }
    memset(y->hmask, 0, QK_K / 8);
    for (int j = 0; j < QK_K; ++j) {
        if (L[j] > 3) {
            y->hmask[j % (QK_K / 8)] |= (uint8_t)(1u << (j / (QK_K / 8)));
            L[j] -= 4;
        }
    }
    for (int j = 0; j < QK_K; j += 128) {
        for (int l = 0; l < 32; ++l) {
            y->qs[j / 4 + l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 2) | (L[j + l + 64] << 4) |
                                         (L[j + l + 96] << 6));
        }
    }
}

static void q3_K_ref_block(const float *x, void *vy, const float *qw)
{
    block_q3_K *y = vy;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int j = 0; j < QK_K / 16; ++j) {
        scales[j] = lqi_make_q3_quants(16, 4, x + 16 * j, L + 16 * j, true);
    }
    float amax;
    const float max_scale = lqi_signed_absmax(scales, QK_K / 16, &amax);
    int ls[16] = {0};
    if (max_scale) {
        float iscale = -32.f / max_scale;
        for (int j = 0; j < QK_K / 16; ++j) {
            int8_t l = (int8_t)lqi_nearest_int(iscale * scales[j]);
            ls[j] = (int8_t)(LQI_MAX(-32, LQI_MIN(31, l)) + 32);
        }
        q3_K_pack_scales(ls, y->scales);
        y->d = lq_fp32_to_fp16(1 / iscale);
    } else {
        memset(y->scales, 0, 12);
        y->d = lq_fp32_to_fp16(0.f);
    }
    q3_K_requantize_pack(x, y, L);
}

void lqi_quantize_row_q3_K_ref(const float *restrict x, void *restrict y, int64_t k)
{
    lqi_qk_quantize_ref(q3_K_ref_block, sizeof(block_q3_K), x, y, k);
}

/* Importance-weighted block: weights qw * sqrt(2 sigma2 + x^2) for make_qx_quants, and the
 * sixteen scales themselves quantized by make_qx_quants weighted by their weight sums. */
static void q3_K_impl_block(const float *x, void *vy, const float *qw)
{
    block_q3_K *y = vy;
    int8_t L[QK_K], Ls[QK_K / 16];
    float scales[QK_K / 16], weight[16], sw[QK_K / 16];
    const float sigma2 = 2 * lqi_sum_x2_qk(x) / QK_K;
    for (int j = 0; j < QK_K / 16; ++j) {
        for (int l = 0; l < 16; ++l) {
            weight[l] = qw[16 * j + l] * sqrtf(sigma2 + x[16 * j + l] * x[16 * j + l]);
        }
        float sumw = 0;
        for (int l = 0; l < 16; ++l) {
            sumw += weight[l];
        }
        sw[j] = sumw;
        scales[j] = lqi_make_qx_quants(16, 4, x + 16 * j, L + 16 * j, 1, weight);
    }
    float d_block = lqi_make_qx_quants(QK_K / 16, 32, scales, Ls, 1, sw);
    int ls[16];
    for (int j = 0; j < QK_K / 16; ++j) {
        ls[j] = Ls[j];
    }
    q3_K_pack_scales(ls, y->scales);
    y->d = lq_fp32_to_fp16(d_block);
    q3_K_requantize_pack(x, y, L);
}

size_t lqi_quantize_q3_K(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix)
{
    return lqi_qk_quantize_rows(q3_K_ref_block, q3_K_impl_block, sizeof(block_q3_K), src, dst, nrow,
                                n_per_row, imatrix);
}

// ---- dequantize and validate ------------------------------------------------------------

void lqi_dequantize_row_q3_K(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_q3_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d_all = lq_fp16_to_fp32(x[i].d);
        const uint8_t *q = x[i].qs;
        const uint8_t *hm = x[i].hmask;
        int8_t scales[16];
        lqi_unpack_q3_K_scales(x[i].scales, scales);
        uint8_t m = 1;
        int is = 0;
        for (int n = 0; n < QK_K; n += 128) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; ++half) {
                    float dl = d_all * (scales[is++] - 32);
                    for (int l = 16 * half; l < 16 * half + 16; ++l) {
                        *y++ = dl * (((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
                    }
                }
                m = (uint8_t)(m << 1);
            }
            q += 32;
        }
    }
}

bool lqi_validate_q3_K(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_q3_K), offsetof(block_q3_K, d), -1);
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* The 256 signed quants (-4..3) of a block, in element order. */
static void q3_K_unpack_scalar(const block_q3_K *x, int8_t a[QK_K])
{
    const uint8_t *q3 = x->qs;
    uint8_t m = 1;
    for (int j = 0; j < QK_K; j += 128) {
        for (int shift = 0; shift < 8; shift += 2) {
            for (int l = 0; l < 32; ++l) {
                a[l] = (int8_t)(((q3[l] >> shift) & 3) - ((x->hmask[l] & m) ? 0 : 4));
            }
            a += 32;
            m = (uint8_t)(m << 1);
        }
        q3 += 32;
    }
}

/* ggml's generic kernel: eight int32 lanes per block, scaled into eight float sums. */
static void dot_q3_K_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                 const void *restrict vy)
{
    const block_q3_K *x = vx;
    const block_q8_K *y = vy;
    int8_t aux8[QK_K], scales[16];
    float sums[8] = {0};
    for (int64_t i = 0; i < n / QK_K; ++i) {
        q3_K_unpack_scalar(&x[i], aux8);
        lqi_unpack_q3_K_scales(x[i].scales, scales);
        int16_t sc16[16];
        for (int j = 0; j < 16; ++j) {
            sc16[j] = (int16_t)(scales[j] - 32);
        }
        lqi_qk_dot_lanes(aux8, sc16, y[i].qs, lq_fp16_to_fp32(x[i].d) * y[i].d, sums);
    }
    float sumf = 0;
    for (int l = 0; l < 8; ++l) {
        sumf += sums[l];
    }
    *s = sumf;
}

#if LQI_X86
/* Unsigned quants u = low2 + 4 * hbit (0..7), so that x = u - 4; the -4 goes through the
 * activation sums. */
LQI_AVX2_NOFMA static inline void q3_K_prep(const block_q3_K *x, const block_q8_K *y,
                                            struct lqi_qk_prep *p)
{
    const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    const __m256i hm = _mm256_loadu_si256((const __m256i *)x->hmask);
    for (int c = 0; c < 2; ++c) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * c));
        for (int j = 0; j < 4; ++j) {
            const int g = 4 * c + j;
            __m256i lo = _mm256_and_si256(_mm256_srli_epi16(v, 2 * j), m3);
            __m256i bit = _mm256_set1_epi8((char)(1u << g));
            __m256i h = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit);
            p->q[g] = _mm256_or_si256(lo, _mm256_and_si256(h, four));
        }
    }
    int8_t sc[16];
    lqi_unpack_q3_K_scales(x->scales, sc);
    int offs = 0;
    for (int j = 0; j < 16; ++j) {
        p->sc16[j] = (int16_t)(sc[j] - 32);
        offs += p->sc16[j] * y->bsums[j];
    }
    p->d = lq_fp16_to_fp32(x->d) * y->d;
    p->off = p->d * (float)(4 * offs);
}

LQI_QK_DOT_KERNELS(q3_K, block_q3_K, q3_K_prep)
#endif

void lqi_vec_dot_q3_K_q8_K(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y)
{
    LQI_SIMD_CALL(dot_q3_K_q8_K_avx512, dot_q3_K_q8_K_avx2, dot_q3_K_q8_K_scalar, n, s, x, y);
}
