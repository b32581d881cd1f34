/* q4_k.c - Q4_K: 4-bit quants in 8 sub-blocks of 32 with 6-bit scales and mins
 * (llama.cpp's quantize_row_q4_K_ref / quantize_row_q4_K_impl, byte for byte). */
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

/* Final quants from the stored scales; byte l of each 32-byte chunk holds element l in its
 * low nibble and element l + 32 in its high nibble. */
static void q4_K_requantize_pack(const float *x, block_q4_K *y, uint8_t L[QK_K])
{
    lqi_qk_requantize_k4(x, y->scales, y->d, y->dmin, 15, L);
    uint8_t *q = y->qs;
    for (int j = 0; j < QK_K; j += 64) {
        for (int l = 0; l < 32; ++l) {
            q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
        }
        q += 32;
    }
}

static void q4_K_ref_block(const float *x, void *vy, const float *qw)
{
    block_q4_K *y = vy;
    uint8_t L[QK_K];
    lqi_qk_scale_min_ref(x, 15, -1.f, 20, L, y->scales, &y->d, &y->dmin);
    q4_K_requantize_pack(x, y, L);
}

/* ggml leaves the imatrix path's 6-bit scales and mins unclamped for Q4_K. */
static void q4_K_impl_block(const float *x, void *vy, const float *qw)
{
    block_q4_K *y = vy;
    uint8_t L[QK_K];
    lqi_qk_scale_min_impl(x, qw, 15, false, L, y->scales, &y->d, &y->dmin);
    q4_K_requantize_pack(x, y, L);
}

void lqi_quantize_row_q4_K_ref(const float *restrict x, void *restrict y, int64_t k)
{
    lqi_qk_quantize_ref(q4_K_ref_block, sizeof(block_q4_K), x, y, k);
}

size_t lqi_quantize_q4_K(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix)
{
    return lqi_qk_quantize_rows(q4_K_ref_block, q4_K_impl_block, sizeof(block_q4_K), src, dst, nrow,
                                n_per_row, imatrix);
}

// ---- dequantize and validate ------------------------------------------------------------

static void dequantize_row_q4_K_scalar(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_q4_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const uint8_t *q = x[i].qs;
        const float d = lq_fp16_to_fp32(x[i].d);
        const float min = lq_fp16_to_fp32(x[i].dmin);
        for (int is = 0; is < QK_K / 32; is += 2) {
            uint8_t sc, m;
            lqi_get_scale_min_k4(is + 0, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            lqi_get_scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; ++l) {
                *y++ = d1 * (q[l] & 0xF) - m1;
            }
            for (int l = 0; l < 32; ++l) {
                *y++ = d2 * (q[l] >> 4) - m2;
            }
            q += 32;
        }
    }
}

#if LQI_X86
/* y[0..31] = d * q - m for 32 unsigned quants; mul then sub, never fused, as the scalar. */
LQI_AVX2_NOFMA static inline void dequant32_u8(__m256i q, float d, float m, float *y)
{
    const __m256 vd = _mm256_set1_ps(d), vm = _mm256_set1_ps(m);
    __m128i h[2] = {_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1)};
    for (int k = 0; k < 4; ++k) {
        __m128i b = k & 1 ? _mm_srli_si128(h[k / 2], 8) : h[k / 2];
        __m256 f = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b));
        _mm256_storeu_ps(y + 8 * k, _mm256_sub_ps(_mm256_mul_ps(vd, f), vm));
    }
}

static LQI_AVX2_NOFMA void dequantize_row_q4_K_avx2(const void *restrict vx, float *restrict y,
                                                    int64_t k)
{
    const block_q4_K *x = vx;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d);
        const float min = lq_fp16_to_fp32(x[i].dmin);
        for (int c = 0; c < 4; ++c) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * c));
            uint8_t sc, m;
            lqi_get_scale_min_k4(2 * c, x[i].scales, &sc, &m);
            dequant32_u8(_mm256_and_si256(v, m4), d * sc, min * m, y);
            lqi_get_scale_min_k4(2 * c + 1, x[i].scales, &sc, &m);
            dequant32_u8(_mm256_and_si256(_mm256_srli_epi16(v, 4), m4), d * sc, min * m, y + 32);
            y += 64;
        }
    }
}

#endif

void lqi_dequantize_row_q4_K(const void *restrict x, float *restrict y, int64_t k)
{
    LQI_SIMD_CALL(dequantize_row_q4_K_avx2, dequantize_row_q4_K_avx2, dequantize_row_q4_K_scalar, x,
                  y, k);
}

bool lqi_validate_q4_K(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_q4_K), offsetof(block_q4_K, d),
                                   offsetof(block_q4_K, dmin));
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: eight int32 lanes per block, the mins through the bsums. */
static void dot_q4_K_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                 const void *restrict vy)
{
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    float sums[8] = {0}, sumf = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        int8_t aux8[QK_K];
        for (int j = 0; j < QK_K / 64; ++j) {
            for (int l = 0; l < 32; ++l) {
                aux8[64 * j + l] = (int8_t)(x[i].qs[32 * j + l] & 0xF);
                aux8[64 * j + 32 + l] = (int8_t)(x[i].qs[32 * j + l] >> 4);
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
LQI_AVX2_NOFMA static inline void q4_K_quants(const block_q4_K *x, __m256i q[8])
{
    const __m256i m4 = _mm256_set1_epi8(0xF);
    for (int c = 0; c < 4; ++c) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(x->qs + 32 * c));
        q[2 * c] = _mm256_and_si256(v, m4);
        q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    }
}

/* The multi-token kernels' weight side, once per block. */
LQI_AVX2_NOFMA static inline void q4_K_unpack(const block_q4_K *x, struct lqi_qk_prep *p)
{
    q4_K_quants(x, p->q);
    lqi_qk_k4_unpack_scales(x->scales, x->d, x->dmin, p);
}

/* One row (kquant_simd.h, "one-row kernels"): per block the integer dot in eight lanes,
 * times d into float lanes; the mins' term summed apart and taken off at the end. */
static LQI_AVX2 void dot_q4_K_q8_K_avx2(int64_t n, float *restrict s, const void *restrict vx,
                                        const void *restrict vy)
{
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc = _mm256_setzero_ps();
    float off = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const __m128i sm = lqi_k4_scales_mins(x[i].scales);
        const int summ = lqi_k4_min_sum(sm, y[i].bsums);
        const __m256i sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));
        __m256i isum = _mm256_setzero_si256();
        for (int c = 0; c < 4; ++c) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * c));
            const __m256i y0 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * c));
            const __m256i y1 = _mm256_loadu_si256((const __m256i *)(y[i].qs + 64 * c + 32));
            const __m256i s0 = _mm256_shuffle_epi8(sc, lqi_i16_spread_idx(2 * c, 2 * c));
            const __m256i s1 = _mm256_shuffle_epi8(sc, lqi_i16_spread_idx(2 * c + 1, 2 * c + 1));
            const __m256i lo = _mm256_and_si256(v, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), s0));
            isum = _mm256_add_epi32(isum, _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), s1));
        }
        const float d = lqi_h2f(x[i].d) * y[i].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(isum), acc);
        off += lqi_h2f(x[i].dmin) * y[i].d * (float)summ;
    }
    *s = lqi_hsum_f32x8(acc) - off;
}

/* The same 64 elements at a time: a chunk's low nibbles in the low half, high in the high. */
static LQI_AVX512 void dot_q4_K_q8_K_avx512(int64_t n, float *restrict s,
                                            const void *restrict vx, const void *restrict vy)
{
    const block_q4_K *x = vx;
    const block_q8_K *y = vy;
    const __m512i m4 = _mm512_set1_epi8(0xF);
    const __m512i idx[4] = { lqi_i16_spread_idx512(0, 1), lqi_i16_spread_idx512(2, 3),
                             lqi_i16_spread_idx512(4, 5), lqi_i16_spread_idx512(6, 7) };
    __m256 acc = _mm256_setzero_ps();
    float off = 0;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        const __m128i sm = lqi_k4_scales_mins(x[i].scales);
        const int summ = lqi_k4_min_sum(sm, y[i].bsums);
        const __m512i sc = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(sm));
        __m512i isum = _mm512_setzero_si512();
        for (int c = 0; c < 4; ++c) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(x[i].qs + 32 * c));
            const __m512i q = _mm512_and_si512(lqi_join256(v, _mm256_srli_epi16(v, 4)), m4);
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

/* Rows for decoding, one after another (a single stream through the weights). The
 * activation's quants are first laid out as a 64-byte load of the weights' nibbles meets
 * them: bytes 0..63 of a block hold sub-blocks 0 and 1 (low and high nibbles of bytes 0..31)
 * and 2 and 3 (of bytes 32..63), so the low nibbles of that load are elements 0..31 and
 * 64..95, the high ones 32..63 and 96..127; the same for bytes 64..127 and elements
 * 128..255. That spares the single-row kernel's per-chunk lane insert. Each int32 lane sums
 * the same products (bytes 4l..4l+3 of every sub-block, times its scale) and the floats
 * follow the same operations, so every s[r] is vec_dot's bit for bit. */
#define Q4K_ROWS_MAX_BLOCKS 128 /* activation rows up to 32768 values: 32 KiB on the stack */

static LQI_AVX512 void q4_K_arrange_y(const block_q8_K *y, int64_t nb, int8_t *yq)
{
    for (int64_t i = 0; i < nb; ++i) {
        const int8_t *q = y[i].qs;
        int8_t *o = yq + 256 * i;
        for (int h = 0; h < 2; ++h) { /* elements 128h .. 128h + 127 */
            const int8_t *qh = q + 128 * h;
            _mm512_storeu_si512((void *)(o + 128 * h),
                                lqi_join256(_mm256_loadu_si256((const __m256i *)qh),
                                            _mm256_loadu_si256((const __m256i *)(qh + 64))));
            _mm512_storeu_si512((void *)(o + 128 * h + 64),
                                lqi_join256(_mm256_loadu_si256((const __m256i *)(qh + 32)),
                                            _mm256_loadu_si256((const __m256i *)(qh + 96))));
        }
    }
}

static LQI_AVX512 float q4_K_row_arranged(int64_t nb, const block_q4_K *x, const block_q8_K *y,
                                          const int8_t *yq)
{
    const __m512i m4 = _mm512_set1_epi8(0xF);
    const __m512i idx[4] = { lqi_i16_spread_idx512(0, 2), lqi_i16_spread_idx512(1, 3),
                             lqi_i16_spread_idx512(4, 6), lqi_i16_spread_idx512(5, 7) };
    __m256 acc = _mm256_setzero_ps();
    float off = 0;
    for (int64_t i = 0; i < nb; ++i) {
        lqi_prefetch_ahead(x + i, (int)sizeof *x);
        const __m128i sm = lqi_k4_scales_mins(x[i].scales);
        const int summ = lqi_k4_min_sum(sm, y[i].bsums);
        const __m512i sc = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(sm));
        const int8_t *yi = yq + 256 * i;
        __m512i isum = _mm512_setzero_si512();
        for (int h = 0; h < 2; ++h) {
            const __m512i v = _mm512_loadu_si512((const void *)(x[i].qs + 64 * h));
            const __m512i lo = _mm512_and_si512(v, m4);
            const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
            const __m512i p0 = _mm512_maddubs_epi16(lo, _mm512_loadu_si512(yi + 128 * h));
            const __m512i p1 = _mm512_maddubs_epi16(hi, _mm512_loadu_si512(yi + 128 * h + 64));
            isum = _mm512_add_epi32(isum,
                                    _mm512_madd_epi16(p0, _mm512_shuffle_epi8(sc, idx[2 * h])));
            isum = _mm512_add_epi32(
                isum, _mm512_madd_epi16(p1, _mm512_shuffle_epi8(sc, idx[2 * h + 1])));
        }
        const float d = lqi_h2f(x[i].d) * y[i].d;
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(lqi_fold512(isum)), acc);
        off += lqi_h2f(x[i].dmin) * y[i].d * (float)summ;
    }
    return lqi_hsum_f32x8(acc) - off;
}

static LQI_AVX512 void dot_rows_q4_K_q8_K_avx512(int64_t n, float *restrict s,
                                                 const void *restrict x, size_t x_stride,
                                                 int n_rows, const void *restrict y)
{
    const int64_t nb = n / QK_K;
    const unsigned char *xb = x;
    if (nb > Q4K_ROWS_MAX_BLOCKS) {
        for (int r = 0; r < n_rows; r++) {
            dot_q4_K_q8_K_avx512(n, &s[r], xb + (size_t)r * x_stride, y);
        }
        return;
    }
    int8_t yq[QK_K * Q4K_ROWS_MAX_BLOCKS] __attribute__((aligned(64)));
    q4_K_arrange_y(y, nb, yq);
    for (int r = 0; r < n_rows; r++) {
        s[r] = q4_K_row_arranged(nb, (const block_q4_K *)(const void *)(xb + (size_t)r * x_stride),
                                 y, yq);
    }
}

LQI_QK_DOT_MULTI_KERNELS(q4_K, block_q4_K, q4_K_unpack, lqi_qk_k4_factors)
#endif

LQI_DOT_MULTI_SCALAR(dot_multi_q4_K_q8_K_scalar, dot_q4_K_q8_K_scalar)

void lqi_vec_dot_q4_K_q8_K(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y)
{
    LQI_SIMD_CALL(dot_q4_K_q8_K_avx512, dot_q4_K_q8_K_avx2, dot_q4_K_q8_K_scalar, n, s, x, y);
}

/* Without AVX-512: the single-row kernel of the level in force, row by row. */
LQI_DOT_ROWS_EACH(dot_rows_q4_K_q8_K_each, lqi_vec_dot_q4_K_q8_K)

void lqi_vec_dot_rows_q4_K_q8_K(int64_t n, float *restrict s, const void *restrict x,
                                size_t x_stride, int n_rows, const void *restrict y)
{
    LQI_SIMD_CALL(dot_rows_q4_K_q8_K_avx512, dot_rows_q4_K_q8_K_each, dot_rows_q4_K_q8_K_each, n,
                  s, x, x_stride, n_rows, y);
}

void lqi_vec_dot_multi_q4_K_q8_K(int64_t n, float *restrict s, const void *restrict x,
                                 const void *restrict y, size_t y_stride, int n_tok)
{
    LQI_SIMD_CALL(dot_multi_q4_K_q8_K_avx512, dot_multi_q4_K_q8_K_avx2, dot_multi_q4_K_q8_K_scalar,
                  n, s, x, y, y_stride, n_tok);
}
