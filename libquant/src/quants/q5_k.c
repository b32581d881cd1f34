/* q5_k.c - Q5_K: 5-bit quants in 8 sub-blocks of 32 with 6-bit scales and mins
 * (llama.cpp's quantize_row_q5_K_ref / quantize_row_q5_K_impl, byte for byte). */
#include <assert.h>
#include <math.h>
#include <stddef.h>

#include "lq/fp16.h"
#include "quants/dot_multi.h"
#include "quants/kquant_common.h"
#include "quants/kquants.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/kquant_simd.h"
#endif

// ---- quantize ---------------------------------------------------------------------------

/* Final quants from the stored scales. The low nibbles pack as in Q4_K; the fifth bit of
 * element 64c + l goes to qh[l % 32] bit 2c (l < 32) or 2c + 1 (l >= 32). */
static void q5_K_requantize_pack(const float *x, block_q5_K *y, uint8_t L[QK_K])
{
    lqi_qk_requantize_k4(x, y->scales, y->d, y->dmin, 31, L);
    uint8_t *ql = y->qs;
    memset(y->qh, 0, QK_K / 8);
    uint8_t m1 = 1, m2 = 2;
    for (int n = 0; n < QK_K; n += 64) {
        for (int j = 0; j < 32; ++j) {
            int l1 = L[n + j], l2 = L[n + j + 32];
            if (l1 > 15) {
                l1 -= 16;
                y->qh[j] |= m1;
            }
            if (l2 > 15) {
                l2 -= 16;
                y->qh[j] |= m2;
            }
            ql[j] = (uint8_t)(l1 | (l2 << 4));
        }
        m1 = (uint8_t)(m1 << 2);
        m2 = (uint8_t)(m2 << 2);
        ql += 32;
    }
}

static void q5_K_ref_block(const float *x, void *vy, const float *qw)
{
    block_q5_K *y = vy;
    uint8_t L[QK_K];
    lqi_qk_scale_min_ref(x, 31, -0.5f, 15, L, y->scales, &y->d, &y->dmin);
    q5_K_requantize_pack(x, y, L);
}

/* As Q4_K's, with 31 levels; unlike Q4_K, ggml clamps the packed scale and min to 63. */
static void q5_K_impl_block(const float *x, void *vy, const float *qw)
{
    block_q5_K *y = vy;
    uint8_t L[QK_K];
    lqi_qk_scale_min_impl(x, qw, 31, true, L, y->scales, &y->d, &y->dmin);
    q5_K_requantize_pack(x, y, L);
}

void lqi_quantize_row_q5_K_ref(const float *restrict x, void *restrict y, int64_t k)
{
    lqi_qk_quantize_ref(q5_K_ref_block, sizeof(block_q5_K), x, y, k);
}

size_t lqi_quantize_q5_K(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix)
{
    return lqi_qk_quantize_rows(q5_K_ref_block, q5_K_impl_block, sizeof(block_q5_K), src, dst, nrow,
                                n_per_row, imatrix);
}

// ---- dequantize and validate ------------------------------------------------------------

void lqi_dequantize_row_q5_K(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_q5_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        const float d = lq_fp16_to_fp32(x[i].d);
        const float min = lq_fp16_to_fp32(x[i].dmin);
        uint8_t u1 = 1, u2 = 2;
        for (int is = 0; is < QK_K / 32; is += 2) {
            uint8_t sc, m;
            lqi_get_scale_min_k4(is + 0, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            lqi_get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; ++l) {
                *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            }
            for (int l = 0; l < 32; ++l) {
                *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
            }
            ql += 32;
            u1 = (uint8_t)(u1 << 2);
            u2 = (uint8_t)(u2 << 2);
        }
    }
}

bool lqi_validate_q5_K(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_q5_K), offsetof(block_q5_K, d),
                                   offsetof(block_q5_K, dmin));
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: eight int32 lanes per block, the mins through the bsums. */
static void dot_q5_K_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                 const void *restrict vy)
{
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    float sums[8] = {0}, sumf = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        int8_t aux8[QK_K];
        for (int j = 0; j < QK_K / 64; ++j) {
            for (int l = 0; l < 32; ++l) {
                uint8_t q = x[i].qs[32 * j + l], h = x[i].qh[l];
                aux8[64 * j + l] = (int8_t)((q & 0xF) + (h & (1u << (2 * j)) ? 16 : 0));
                aux8[64 * j + 32 + l] = (int8_t)((q >> 4) + (h & (2u << (2 * j)) ? 16 : 0));
            }
        }
        int16_t sc16[16];
        int sumi = lqi_qk_k4_scales(x[i].scales, y[i].bsums, sc16);
        lqi_qk_dot_lanes(aux8, sc16, y[i].qs, lq_fp16_to_fp32(x[i].d) * y[i].d, sums);
        const float dmin = lq_fp16_to_fp32(x[i].dmin) * y[i].d;
        sumf -= dmin * sumi;
    }
    for (int l = 0; l < 8; ++l) {
        sumf += sums[l];
    }
    *s = sumf;
}

#if LQI_X86
LQI_AVX2_NOFMA static inline void q5_K_quants(const block_q5_K *x, __m256i q[8])
{
    const __m256i m4 = _mm256_set1_epi8(0xF), sixteen = _mm256_set1_epi8(16);
    const __m256i hm = _mm256_loadu_si256((const __m256i *)x->qh);
    for (int g = 0; g < 8; ++g) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * (g / 2)));
        __m256i lo =
            g & 1 ? _mm256_and_si256(_mm256_srli_epi16(v, 4), m4) : _mm256_and_si256(v, m4);
        __m256i bit = _mm256_set1_epi8((char)(1u << g));
        __m256i h = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit);
        q[g] = _mm256_or_si256(lo, _mm256_and_si256(h, sixteen));
    }
}

/* The multi-token kernels' weight side, once per block. */
LQI_AVX2_NOFMA static inline void q5_K_unpack(const block_q5_K *x, struct lqi_qk_prep *p)
{
    q5_K_quants(x, p->q);
    lqi_qk_k4_unpack_scales(x->scales, x->d, x->dmin, p);
}

/* One row (kquant_simd.h, "one-row kernels"): q4_K's kernels with the fifth bit of group
 * g's quants taken from bit g of qh. */
static LQI_AVX2 void dot_q5_K_q8_K_avx2(int64_t n, float *restrict s, const void *restrict vx,
                                        const void *restrict vy)
{
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF), one = _mm256_set1_epi8(1);
    __m256 acc = _mm256_setzero_ps();
    float off = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const __m128i sm = lqi_k4_scales_mins(x[i].scales);
        const int summ = lqi_k4_min_sum(sm, y[i].bsums);
        const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
        const __m256i hv = _mm256_loadu_si256((const __m256i *)x[i].qh);
        __m256i isum = _mm256_setzero_si256();
        for (int c = 0; c < 4; ++c) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * c));
            const __m256i y0 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * c));
            const __m256i y1 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * c + 32));
            const __m256i h0 = _mm256_and_si256(_mm256_srli_epi16(hv, 2 * c), one);
            const __m256i h1 = _mm256_and_si256(_mm256_srli_epi16(hv, 2 * c + 1), one);
            const __m256i lo = _mm256_or_si256(_mm256_and_si256(v, m4), _mm256_slli_epi16(h0, 4));
            const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4),
                                               _mm256_slli_epi16(h1, 4));
            const __m256i s0 = _mm256_shuffle_epi8(sc, lqi_i16_spread_idx(2 * c, 2 * c));
            const __m256i s1 = _mm256_shuffle_epi8(sc, lqi_i16_spread_idx(2 * c + 1, 2 * c + 1));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), s0));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), s1));
        }
        const float d = lqi_h2f(x[i].d) * y[i].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
        off += lqi_h2f(x[i].dmin) * y[i].d * (float)summ;
    }
    *s = lqi_hsum_f32x8(acc) - off;
}

/* 64 elements at a time, as q4_K's; qh of the high half pre-shifted by one bit. */
static LQI_AVX512 void dot_q5_K_q8_K_avx512(int64_t n, float *restrict s,
                                            const void *restrict vx, const void *restrict vy)
{
    const block_q5_K *x = vx;
    const block_q8_K *y = vy;
    const __m512i m4 = _mm512_set1_epi8(0xF), one = _mm512_set1_epi8(1);
    const __m512i idx[4] = { lqi_i16_spread_idx512(0, 1), lqi_i16_spread_idx512(2, 3),
                             lqi_i16_spread_idx512(4, 5), lqi_i16_spread_idx512(6, 7) };
    __m256 acc = _mm256_setzero_ps();
    float off = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        lqi_prefetch_ahead(x + i, (int)sizeof *x);
        const __m128i sm = lqi_k4_scales_mins(x[i].scales);
        const int summ = lqi_k4_min_sum(sm, y[i].bsums);
        const __m512i sc = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(sm));
        const __m256i hv = _mm256_loadu_si256((const __m256i *)x[i].qh);
        const __m512i hz = lqi_join256(hv, _mm256_srli_epi16(hv, 1));
        __m512i isum = _mm512_setzero_si512();
        for (int c = 0; c < 4; ++c) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * c));
            const __m512i h = _mm512_and_si512(_mm512_srli_epi16(hz, 2 * c), one);
            const __m512i q = _mm512_or_si512(
                _mm512_and_si512(lqi_join256(v, _mm256_srli_epi16(v, 4)), m4),
                _mm512_slli_epi16(h, 4));
            const __m512i yz = _mm512_loadu_si512((const void *)(y[i].qs + 64 * c));
            const __m512i p = _mm512_maddubs_epi16(q, yz);
            isum = _mm512_add_epi32(isum, _mm512_madd_epi16(p, _mm512_shuffle_epi8(sc, idx[c])));
        }
        const float d = lqi_h2f(x[i].d) * y[i].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(lqi_fold512(isum)), acc);
        off += lqi_h2f(x[i].dmin) * y[i].d * (float)summ;
    }
    *s = lqi_hsum_f32x8(acc) - off;
}

LQI_QK_DOT_MULTI_KERNELS(q5_K, block_q5_K, q5_K_unpack, lqi_qk_k4_factors)
#endif

LQI_DOT_MULTI_SCALAR(dot_multi_q5_K_q8_K_scalar, dot_q5_K_q8_K_scalar)

void lqi_vec_dot_q5_K_q8_K(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y)
{
    LQI_SIMD_CALL(dot_q5_K_q8_K_avx512, dot_q5_K_q8_K_avx2, dot_q5_K_q8_K_scalar, n, s, x, y);
}

void lqi_vec_dot_multi_q5_K_q8_K(int64_t n, float *restrict s, const void *restrict x,
                                 const void *restrict y, size_t y_stride, int n_tok)
{
    LQI_SIMD_CALL(dot_multi_q5_K_q8_K_avx512, dot_multi_q5_K_q8_K_avx2, dot_multi_q5_K_q8_K_scalar,
                  n, s, x, y, y_stride, n_tok);
}
