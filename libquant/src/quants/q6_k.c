/* q6_k.c - Q6_K: 6-bit quants in 16 sub-blocks of 16 with signed 8-bit scales
 * (llama.cpp's quantize_row_q6_K_ref / quantize_row_q6_K_impl, byte for byte). */
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

/* Element 128c + 32j + l (j = 0..3) keeps its low nibble in ql[64c + 32(j&1) + l] (high
 * nibble for j >= 2) and its top two bits in qh[32c + l] at bit 2j. */
static void q6_K_pack(const int8_t L[QK_K], block_q6_K *y)
{
    uint8_t *ql = y->ql, *qh = y->qh;
    for (int j = 0; j < QK_K; j += 128) {
        for (int l = 0; l < 32; ++l) {
            const uint8_t q1 = L[j + l + 0] & 0xF, q2 = L[j + l + 32] & 0xF;
            const uint8_t q3 = L[j + l + 64] & 0xF, q4 = L[j + l + 96] & 0xF;
            ql[l + 0] = (uint8_t)(q1 | (q3 << 4));
            ql[l + 32] = (uint8_t)(q2 | (q4 << 4));
            qh[l] = (uint8_t)((L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) |
                              ((L[j + l + 64] >> 4) << 4) | ((L[j + l + 96] >> 4) << 6));
        }
        ql += 64;
        qh += 32;
    }
}

/* One block, with (imatrix path) or without (reference) importance weights: the two differ
 * only in the weights make_qx_quants sees (qw itself, or x^2). */
static void q6_K_block(const float *x, void *vy, const float *qw)
{
    block_q6_K *y = vy;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int h = 0; h < 2; ++h) { /* 16 sub-blocks of 16, eight at a time */
        lqi_make_qx_quants_x8(16, 32, x + 128 * h, qw ? qw + 128 * h : NULL, L + 128 * h,
                              scales + 8 * h);
    }
    float max_abs_scale;
    const float max_scale = lqi_signed_absmax(scales, QK_K / 16, &max_abs_scale);
    if (max_abs_scale < LQI_GROUP_MAX_EPS) {
        memset(y, 0, sizeof *y);
        y->d = lq_fp32_to_fp16(0.f);
        return;
    }
    float iscale = -128.f / max_scale;
    y->d = lq_fp32_to_fp16(1 / iscale);
    for (int ib = 0; ib < QK_K / 16; ++ib) {
        y->scales[ib] = (int8_t)LQI_MIN(127, lqi_nearest_int(iscale * scales[ib]));
    }
    for (int j = 0; j < QK_K / 16; ++j) {
        float d = lq_fp16_to_fp32(y->d) * y->scales[j];
        if (!d) {
            continue;
        }
        for (int ii = 0; ii < 16; ++ii) {
            int l = lqi_nearest_int(x[16 * j + ii] / d);
            L[16 * j + ii] = (int8_t)(LQI_MAX(-32, LQI_MIN(31, l)) + 32);
        }
    }
    q6_K_pack(L, y);
}

void lqi_quantize_row_q6_K_ref(const float *restrict x, void *restrict y, int64_t k)
{
    lqi_qk_quantize_ref(q6_K_block, sizeof(block_q6_K), x, y, k);
}

size_t lqi_quantize_q6_K(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix)
{
    return lqi_qk_quantize_rows(q6_K_block, q6_K_block, sizeof(block_q6_K), src, dst, nrow,
                                n_per_row, imatrix);
}

// ---- dequantize and validate ------------------------------------------------------------

static void dequantize_row_q6_K_scalar(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_q6_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int n = 0; n < QK_K; n += 128) {
            for (int l = 0; l < 32; ++l) {
                int is = l / 16;
                const int q1 = ((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l + 0] = d * sc[is + 0] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
            y += 128;
            ql += 64;
            qh += 32;
            sc += 8;
        }
    }
}

#if LQI_X86
/* The 256 unsigned quants (0..63, x = q - 32) of a block, 32 per register in element order. */
LQI_AVX2_NOFMA static inline void q6_K_unpack(const block_q6_K *x, __m256i q[8])
{
    const __m256i m4 = _mm256_set1_epi8(0xF), m2 = _mm256_set1_epi8(3);
    for (int c = 0; c < 2; ++c) {
        __m256i l0 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * c));
        __m256i l1 = _mm256_loadu_si256((const __m256i *)(x->ql + 64 * c + 32));
        __m256i h = _mm256_loadu_si256((const __m256i *)(x->qh + 32 * c));
        __m256i lo[4] = {_mm256_and_si256(l0, m4), _mm256_and_si256(l1, m4),
                         _mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                         _mm256_and_si256(_mm256_srli_epi16(l1, 4), m4)};
        for (int j = 0; j < 4; ++j) {
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(h, 2 * j), m2);
            q[4 * c + j] = _mm256_or_si256(lo[j], _mm256_slli_epi16(hi, 4));
        }
    }
}

/* Same floats as the scalar: d * sc is rounded first, then multiplied by q - 32. */
static LQI_AVX2_NOFMA void dequantize_row_q6_K_avx2(const void *restrict vx, float *restrict y,
                                                    int64_t k)
{
    const block_q6_K *x = vx;
    const __m256i m32 = _mm256_set1_epi8(32);
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d);
        __m256i q[8];
        q6_K_unpack(&x[i], q);
        for (int g = 0; g < 8; ++g) {
            __m256i s = _mm256_sub_epi8(q[g], m32);
            __m128i h[2] = {_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1)};
            for (int k8 = 0; k8 < 4; ++k8) {
                __m128i b = k8 & 1 ? _mm_srli_si128(h[k8 / 2], 8) : h[k8 / 2];
                __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
                __m256 ds = _mm256_set1_ps(d * x[i].scales[2 * g + k8 / 2]);
                _mm256_storeu_ps(y + 32 * g + 8 * k8, _mm256_mul_ps(ds, f));
            }
        }
        y += QK_K;
    }
}

#endif

void lqi_dequantize_row_q6_K(const void *restrict x, float *restrict y, int64_t k)
{
    LQI_SIMD_CALL(dequantize_row_q6_K_avx2, dequantize_row_q6_K_avx2, dequantize_row_q6_K_scalar, x,
                  y, k);
}

bool lqi_validate_q6_K(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_q6_K), offsetof(block_q6_K, d), -1);
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: eight int32 lanes per block, scaled into eight float sums. */
static void dot_q6_K_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                 const void *restrict vy)
{
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    float sums[8] = {0}, sumf = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        int8_t aux8[QK_K];
        const uint8_t *q4 = x[i].ql, *qh = x[i].qh;
        for (int j = 0; j < QK_K; j += 128) {
            for (int l = 0; l < 32; ++l) {
                aux8[j + l + 0] = (int8_t)(((q4[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
                aux8[j + l + 32] = (int8_t)(((q4[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
                aux8[j + l + 64] = (int8_t)(((q4[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
                aux8[j + l + 96] = (int8_t)(((q4[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
            }
            q4 += 64;
            qh += 32;
        }
        int16_t sc16[16];
        for (int j = 0; j < 16; ++j) {
            sc16[j] = x[i].scales[j];
        }
        lqi_qk_dot_lanes(aux8, sc16, y[i].qs, lq_fp16_to_fp32(x[i].d) * y[i].d, sums);
    }
    for (int l = 0; l < 8; ++l) {
        sumf += sums[l];
    }
    *s = sumf;
}

#if LQI_X86
/* The multi-token kernels' weight side, once per block (the scales also weigh the
 * activation sums in the offset of the quants' +32 bias), then their per-row side. */
LQI_AVX2_NOFMA static inline void q6_K_unpack_block(const block_q6_K *x, struct lqi_qk_prep *p)
{
    q6_K_unpack(x, p->q);
    for (int j = 0; j < 16; ++j) {
        p->sc16[j] = p->m16[j] = x->scales[j];
    }
    p->xd = lq_fp16_to_fp32(x->d);
}

LQI_AVX2_NOFMA static inline void q6_K_factors(const block_q8_K *y, struct lqi_qk_prep *p)
{
    int offs = lqi_dot_i16x16(p->m16, y->bsums);
    p->d = p->xd * y->d;
    p->off = p->d * (float)(32 * offs);
}

/* One row (kquant_simd.h, "one-row kernels"): quants as unsigned 0..63, the +32 bias taken
 * off at the end through the activation sums weighed by the scales. Half j of a block:
 * groups 4j and 4j+1 are the low nibbles of ql[64j..] with qh bits 0-1 and 2-3, groups
 * 4j+2 and 4j+3 the high nibbles with qh bits 4-5 and 6-7. */
static LQI_AVX2 void dot_q6_K_q8_K_avx2(int64_t n, float *restrict s, const void *restrict vx,
                                        const void *restrict vy)
{
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF), m30 = _mm256_set1_epi8(0x30);
    const __m256i idx[4] = { lqi_i16_spread_idx(0, 1), lqi_i16_spread_idx(2, 3),
                             lqi_i16_spread_idx(4, 5), lqi_i16_spread_idx(6, 7) };
    __m256 acc = _mm256_setzero_ps();
    float off = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[i].bsums);
        const int offs = lqi_hsum_i32x8(_mm256_madd_epi16(sc16, bs));
        __m256i isum = _mm256_setzero_si256();
        for (int j = 0; j < 2; ++j) {
            const __m256i l0 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * j));
            const __m256i l1 = _mm256_loadu_si256((const __m256i *)(x[i].ql + 64 * j + 32));
            const __m256i h = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * j));
            const __m256i q[4] = {
                _mm256_or_si256(_mm256_and_si256(l0, m4),
                                _mm256_and_si256(_mm256_slli_epi16(h, 4), m30)),
                _mm256_or_si256(_mm256_and_si256(l1, m4),
                                _mm256_and_si256(_mm256_slli_epi16(h, 2), m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                _mm256_and_si256(h, m30)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                _mm256_and_si256(_mm256_srli_epi16(h, 2), m30)),
            };
            const __m256i sb = _mm256_broadcastsi128_si256(j ? _mm256_extracti128_si256(sc16, 1)
                                                             : _mm256_castsi256_si128(sc16));
            for (int k = 0; k < 4; ++k) {
                const __m256i yv = _mm256_loadu_si256((const __m256i *)(y[i].qs + 128 * j + 32 * k));
                const __m256i p = _mm256_maddubs_epi16(q[k], yv);
                isum = _mm256_add_epi32(isum,
                                        _mm256_madd_epi16(p, _mm256_shuffle_epi8(sb, idx[k])));
            }
        }
        const float d = lqi_h2f(x[i].d) * y[i].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
        off += d * (float)(32 * offs);
    }
    *s = lqi_hsum_f32x8(acc) - off;
}

/* The same with groups 4j, 4j+1 in one register and 4j+2, 4j+3 in another (qh of the high
 * half pre-shifted by two bits, so both halves mask the same bits). */
static LQI_AVX512 void dot_q6_K_q8_K_avx512(int64_t n, float *restrict s,
                                            const void *restrict vx, const void *restrict vy)
{
    const block_q6_K *x = vx;
    const block_q8_K *y = vy;
    const __m512i m4 = _mm512_set1_epi8(0xF), m30 = _mm512_set1_epi8(0x30);
    const __m512i idx[4] = { lqi_i16_lane_idx512(0), lqi_i16_lane_idx512(4),
                             lqi_i16_lane_idx512(8), lqi_i16_lane_idx512(12) };
    __m256 acc = _mm256_setzero_ps();
    float off = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        lqi_prefetch_ahead(x + i, (int)sizeof *x);
        const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)x[i].scales));
        const __m256i bs = _mm256_loadu_si256((const __m256i *)y[i].bsums);
        const int offs = lqi_hsum_i32x8(_mm256_madd_epi16(sc16, bs));
        const __m512i scz = _mm512_castsi256_si512(sc16);
        __m512i isum = _mm512_setzero_si512();
        for (int j = 0; j < 2; ++j) {
            const __m512i l = _mm512_loadu_si512((const void *)(x[i].ql + 64 * j));
            const __m256i h = _mm256_loadu_si256((const __m256i *)(x[i].qh + 32 * j));
            const __m512i hz = lqi_join256(h, _mm256_srli_epi16(h, 2));
            const __m512i q0 = _mm512_or_si512(_mm512_and_si512(l, m4),
                                               _mm512_and_si512(_mm512_slli_epi16(hz, 4), m30));
            const __m512i q1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
                                               _mm512_and_si512(hz, m30));
            const __m512i y0 = _mm512_loadu_si512((const void *)(y[i].qs + 128 * j));
            const __m512i y1 = _mm512_loadu_si512((const void *)(y[i].qs + 128 * j + 64));
            const __m512i s0 = _mm512_permutexvar_epi16(idx[2 * j], scz);
            const __m512i s1 = _mm512_permutexvar_epi16(idx[2 * j + 1], scz);
            isum = _mm512_add_epi32(isum, _mm512_madd_epi16(_mm512_maddubs_epi16(q0, y0), s0));
            isum = _mm512_add_epi32(isum, _mm512_madd_epi16(_mm512_maddubs_epi16(q1, y1), s1));
        }
        const float d = lqi_h2f(x[i].d) * y[i].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(lqi_fold512(isum)), acc);
        off += d * (float)(32 * offs);
    }
    *s = lqi_hsum_f32x8(acc) - off;
}

LQI_QK_DOT_MULTI_KERNELS(q6_K, block_q6_K, q6_K_unpack_block, q6_K_factors)
#endif

LQI_DOT_MULTI_SCALAR(dot_multi_q6_K_q8_K_scalar, dot_q6_K_q8_K_scalar)

void lqi_vec_dot_q6_K_q8_K(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y)
{
    LQI_SIMD_CALL(dot_q6_K_q8_K_avx512, dot_q6_K_q8_K_avx2, dot_q6_K_q8_K_scalar, n, s, x, y);
}

void lqi_vec_dot_multi_q6_K_q8_K(int64_t n, float *restrict s, const void *restrict x,
                                 const void *restrict y, size_t y_stride, int n_tok)
{
    LQI_SIMD_CALL(dot_multi_q6_K_q8_K_avx512, dot_multi_q6_K_q8_K_avx2, dot_multi_q6_K_q8_K_scalar,
                  n, s, x, y, y_stride, n_tok);
}
