/* q4_0.c - Q4_0: 32 weights as 4-bit quants q with x ~ d * (q - 8), one fp16 scale d
 * (4.5 bits per weight). The scale maps the signed value of largest magnitude to -8, so that
 * extreme lands exactly on a level and the other side gets the spare level (+7). */
#include "quants/legacy.h"

#include <math.h>

#include "lq/fp16.h"
#include "quants/dot_multi.h"
#include "quants/quant_common.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/legacy_simd.h"
#endif

// ---- reference quantizer ----------------------------------------------------------------

/* Quantizes one block given its scale; x*id + 8.5 truncated is round-half-up of x/d + 8,
 * and the top clamp catches the +8 that the positive side would otherwise reach. */
static void q4_0_block_with_scale(const float *restrict x, float d, block_q4_0 *restrict y)
{
    const float id = d ? 1.0f / d : 0.0f;
    y->d = lq_fp32_to_fp16(d);
    for (int j = 0; j < QK4_0 / 2; ++j) {
        const uint8_t xi0 = (uint8_t)LQI_MIN(15, lqi_f2i8(x[j] * id + 8.5f));
        const uint8_t xi1 = (uint8_t)LQI_MIN(15, lqi_f2i8(x[j + QK4_0 / 2] * id + 8.5f));
        y->qs[j] = (uint8_t)(xi0 | (xi1 << 4));
    }
}

void lqi_quantize_row_q4_0_ref(const float *restrict x, void *restrict vy, int64_t k)
{
    block_q4_0 *restrict y = vy;
    const int64_t nb = k / QK4_0;
    for (int64_t i = 0; i < nb; i++) {
        /* max / -8 with max == +0 gives d == -0 (fp16 0x8000), as llama.cpp writes it */
        float amax;
        const float max = lqi_signed_absmax(x + i * QK4_0, QK4_0, &amax);
        q4_0_block_with_scale(x + i * QK4_0, max / -8, &y[i]);
    }
}

// ---- importance-weighted quantizer ------------------------------------------------------

/* llama.cpp's quantize_row_q4_0_impl: per block, a weighted least-squares scale search
 * (make_qx_quants, rmse_type 1) with weights qw[j] * sqrt(sigma2 + x[j]^2), sigma2 being the
 * row's mean square. */
static void q4_0_row_impl(const float *restrict x, void *restrict vy, int64_t n_per_row,
                          const float *restrict qw)
{
    block_q4_0 *restrict y = vy;
    float weight[QK4_0];
    int8_t L[QK4_0];
    const float sigma2 = lqi_row_sigma2(x, n_per_row);
    const int64_t nb = n_per_row / QK4_0;
    for (int64_t ib = 0; ib < nb; ++ib) {
        const float *xb = x + QK4_0 * ib;
        lqi_block_weights(xb, qw + QK4_0 * ib, sigma2, QK4_0, weight);
        float d = lqi_make_qx_quants(QK4_0, 8, xb, L, 1, weight);
        y[ib].d = lq_fp32_to_fp16(d);
        for (int j = 0; j < 16; ++j) {
            y[ib].qs[j] = (uint8_t)(L[j] | (L[j + 16] << 4));
        }
    }
}

size_t lqi_quantize_q4_0(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix)
{
    size_t row_size = (size_t)(n_per_row / QK4_0) * sizeof(block_q4_0);
    return lqi_quantize_rows_impl(lqi_quantize_row_q4_0_ref, q4_0_row_impl, row_size, src, dst,
                                  nrow, n_per_row, imatrix);
}

bool lqi_validate_q4_0(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_q4_0), 0, -1);
}

// ---- scalar dequantize and dot ----------------------------------------------------------

static void dequantize_q4_0_scalar(const block_q4_0 *restrict x, float *restrict y, int64_t k)
{
    const int64_t nb = k / QK4_0;
    for (int64_t i = 0; i < nb; i++) {
        const float d = lq_fp16_to_fp32(x[i].d);
        for (int j = 0; j < QK4_0 / 2; ++j) {
            const int x0 = (x[i].qs[j] & 0x0F) - 8;
            const int x1 = (x[i].qs[j] >> 4) - 8;
            y[i * QK4_0 + j] = x0 * d;
            y[i * QK4_0 + j + QK4_0 / 2] = x1 * d;
        }
    }
}

static float dot_q4_0_q8_0_scalar(int64_t n, const block_q4_0 *restrict x,
                                  const block_q8_0 *restrict y)
{
    float sumf = 0;
    for (int64_t ib = 0; ib < n / QK4_0; ++ib) {
        int sumi = 0;
        for (int j = 0; j < QK4_0 / 2; ++j) {
            sumi += ((x[ib].qs[j] & 0x0F) - 8) * y[ib].qs[j];
            sumi += ((x[ib].qs[j] >> 4) - 8) * y[ib].qs[j + QK4_0 / 2];
        }
        sumf += sumi * (lq_fp16_to_fp32(x[ib].d) * lq_fp16_to_fp32(y[ib].d));
    }
    return sumf;
}

// ---- AVX2 / AVX-512 ---------------------------------------------------------------------

#if LQI_X86
/* The block's 32 quants q - 8 as int8. */
static inline LQI_AVX2 __m256i q4_0_quants(const block_q4_0 *x)
{
    return _mm256_sub_epi8(lqi_nibbles32(x->qs), _mm256_set1_epi8(8));
}

/* Same bytes as the reference: the scale comes from the same signed maximum (the vector
 * max finds the magnitude, a scan finds its first holder), and x*id + 8.5 is computed in the
 * same two roundings before truncation. */
static LQI_AVX2 void quantize_q4_0_avx2(const float *restrict x, block_q4_0 *restrict y, int64_t k)
{
    for (int64_t i = 0; i < k / QK4_0; i++, x += QK4_0) {
        const float amax = lqi_absmax32(x);
        const uint32_t at = lqi_first_abs_equal32(x, amax);
        const float max = amax > 0 ? x[at] : 0.0f;
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = lqi_f2h(d);
        const __m256 vid = _mm256_set1_ps(id);
        __m256i q[4];
        for (int p = 0; p < 4; p++) {
            __m256 v =
                _mm256_add_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * p), vid), _mm256_set1_ps(8.5f));
            q[p] = _mm256_min_epi32(_mm256_cvttps_epi32(v), _mm256_set1_epi32(15));
            q[p] = _mm256_max_epi32(q[p], _mm256_setzero_si256());
        }
        __m256i lo = _mm256_or_si256(q[0], _mm256_slli_epi32(q[2], 4));
        __m256i hi = _mm256_or_si256(q[1], _mm256_slli_epi32(q[3], 4));
        _mm_storeu_si128((__m128i *)y[i].qs, lqi_pack_u32_to_u8(lo, hi));
    }
}

static LQI_AVX2 void dequantize_q4_0_avx2(const block_q4_0 *restrict x, float *restrict y,
                                          int64_t k)
{
    for (int64_t i = 0; i < k / QK4_0; i++) {
        __m256i q = q4_0_quants(&x[i]);
        lqi_store_i8_scaled(q, lqi_h2f(x[i].d), y + i * QK4_0);
    }
}

LQI_LEGACY_DOT_AVX2(q4_0_q8_0, block_q4_0, block_q8_0, q4_0_quants, lqi_dot_i8i8, 0,
                    LQI_DOT_NO_MIN_TERM)
LQI_LEGACY_DOT_MULTI(q4_0_q8_0, block_q4_0, block_q8_0, q4_0_quants, lqi_dot_i8i8,
                     lqi_dot_i8i8_512, 0, LQI_DOT_NO_MIN_TERM)

/* Eight blocks' fp16 scales as floats, picked out of the blocks' bytes with word permutes
 * (blocks are 18 and 34 bytes long, so every scale sits at an even offset: 16-bit words 9k
 * of the weights' first 128 bytes, 17k of the activations' first 256). Their products
 * d_x * d_y are the same float products as the generated kernels', eight at once. */
static inline LQI_AVX512 __m256 q4_0_scales8(const block_q4_0 *x)
{
    const __m512i xi = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                        0, 0, 0, 0, 0, 63, 54, 45, 36, 27, 18, 9, 0);
    const unsigned char *xb = (const unsigned char *)x;
    const __m512i hx = _mm512_permutex2var_epi16(_mm512_loadu_si512((const void *)xb), xi,
                                                 _mm512_loadu_si512((const void *)(xb + 64)));
    return _mm256_cvtph_ps(_mm512_castsi512_si128(hx));
}

static inline LQI_AVX512 __m256 q8_0_scales8(const block_q8_0 *y)
{
    const __m512i yi = _mm512_set_epi16(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                        0, 0, 0, 0, 0, 55, 38, 21, 4, 51, 34, 17, 0);
    const unsigned char *yb = (const unsigned char *)y;
    const __m512i hy0 = _mm512_permutex2var_epi16(_mm512_loadu_si512((const void *)yb), yi,
                                                  _mm512_loadu_si512((const void *)(yb + 64)));
    const __m512i hy1 = _mm512_permutex2var_epi16(_mm512_loadu_si512((const void *)(yb + 128)),
                                                  yi,
                                                  _mm512_loadu_si512((const void *)(yb + 192)));
    const __m512i hy = _mm512_mask_blend_epi16(0xF0, hy0, hy1); /* scales 4..7: bytes 128.. */
    return _mm256_cvtph_ps(_mm512_castsi512_si128(hy));
}

/* Lanes 0..7: the factor of block 2k of eight, lanes 8..15: of block 2k + 1. */
static inline LQI_AVX512 __m512 q4_0_pair_factors(__m512 d8, int k)
{
    const __m512i idx =
        _mm512_mask_blend_epi32(0xFF00, _mm512_set1_epi32(2 * k), _mm512_set1_epi32(2 * k + 1));
    return _mm512_permutexvar_ps(idx, d8);
}

/* Two blocks' nibbles in the order of their activations' bytes (block 0's low nibbles,
 * block 1's low nibbles, then the high ones, as lqi_join256 of y[0], y[1] lays them). */
static inline LQI_AVX512 __m512i q4_0_nibbles2(const block_q4_0 *x)
{
    const __m256i b = _mm256_loadu2_m128i((const __m128i *)x[1].qs, (const __m128i *)x[0].qs);
    const __m512i z = lqi_join256(b, _mm256_srli_epi16(b, 4)); /* x0 lo, x1 lo, x0 hi, x1 hi */
    return _mm512_and_si512(_mm512_shuffle_i64x2(z, z, _MM_SHUFFLE(3, 1, 2, 0)),
                            _mm512_set1_epi8(0xF));
}

/* The activation pair's share of the dot: 8 * yq, summed in int16 pairs. */
static inline LQI_AVX512 __m512i q4_0_y8(__m512i yq)
{
    return _mm512_maddubs_epi16(_mm512_set1_epi8(8), yq);
}

/* Two blocks' integer dot in sixteen int32 lanes as floats (the lanes of lqi_dot_i8i8_512):
 * the unsigned nibbles q times the activations yq, less y8 (8 times yq, summed in int16
 * pairs as the products are: exact, at most 15 * 127 * 2 in magnitude), then in fours. */
static inline LQI_AVX512 __m512 q4_0_dot2(const block_q4_0 *x, __m512i yq, __m512i y8)
{
    const __m512i p = _mm512_sub_epi16(_mm512_maddubs_epi16(q4_0_nibbles2(x), yq), y8);
    return _mm512_cvtepi32_ps(_mm512_madd_epi16(p, _mm512_set1_epi16(1)));
}

/* With VNNI the same int32 lanes come from one vpdpbusd each: the share is -(8 * yq) summed
 * in fours, and each lane's q * yq adds to it exactly, so the floats are q4_0_dot2's. */
static inline LQI_AVX512_VNNI __m512i q4_0_y8_vnni(__m512i yq)
{
    const __m512i zero = _mm512_setzero_si512();
    return _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, _mm512_set1_epi8(8), yq));
}

static inline LQI_AVX512_VNNI __m512 q4_0_dot2_vnni(const block_q4_0 *x, __m512i yq,
                                                    __m512i neg_y8)
{
    return _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(neg_y8, q4_0_nibbles2(x), yq));
}

/* The rest of one row from block ib: pairs into acc, its sum, an odd last block by the AVX2
 * kernel. */
static inline LQI_AVX512 float q4_0_finish(__m512 acc, int64_t ib, int64_t nb,
                                           const block_q4_0 *x, const block_q8_0 *y)
{
    for (; ib + 1 < nb; ib += 2) {
        const __m512 d = lqi_scale2(lqi_h2f(x[ib].d) * lqi_h2f(y[ib].d),
                                    lqi_h2f(x[ib + 1].d) * lqi_h2f(y[ib + 1].d));
        const __m512i yq = lqi_join256(_mm256_loadu_si256((const __m256i *)y[ib].qs),
                                       _mm256_loadu_si256((const __m256i *)y[ib + 1].qs));
        const __m512i y8 = _mm512_maddubs_epi16(_mm512_set1_epi8(8), yq);
        acc = _mm512_fmadd_ps(d, q4_0_dot2(x + ib, yq, y8), acc);
    }
    const float sum = _mm512_reduce_add_ps(acc);
    return ib < nb ? sum + dot_q4_0_q8_0_avx2(32, x + ib, y + ib) : sum;
}

/* NAME(n, s, x, x_stride, n_rows, y): n_rows (1..4) weight rows x_stride bytes apart against
 * one activation row y: the generated AVX-512 kernel's steps for each row (blocks in pairs
 * into one accumulator, an odd last block by the AVX2 kernel) with fewer instructions per
 * pair, and the activation's loads, its 8 * y share (Y8) and its scales shared by the rows:
 * each row's result is that kernel's and dot_multi's bit for bit, with either DOT2. */
#define LQI_Q4_0_ROWS(NAME, TARGET, Y8, DOT2)                                                     \
    static inline __attribute__((always_inline)) TARGET void NAME(                                 \
        int64_t n, float *s, const unsigned char *x, size_t x_stride, int n_rows,                  \
        const block_q8_0 *y)                                                                       \
    {                                                                                              \
        const int64_t nb = n / QK4_0;                                                              \
        __m512 acc[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),           \
                          _mm512_setzero_ps() };                                                   \
        int64_t ib = 0;                                                                            \
        for (; ib + 8 <= nb; ib += 8) {                                                            \
            const __m256 dy = q8_0_scales8(y + ib);                                                \
            __m512 d8[4];                                                                          \
            _Pragma("GCC unroll 4") for (int r = 0; r < n_rows; r++)                               \
            {                                                                                      \
                const block_q4_0 *xr = (const block_q4_0 *)(const void *)(x + r * x_stride);       \
                if (x_stride) {                                                                    \
                    /* the same blocks of the row four on (the next pass's): rows interleaved   \
                     * by four hide each one's stream from the hardware prefetcher */              \
                    const char *pf = (const char *)(xr + ib) + 4 * x_stride;                       \
                    _mm_prefetch(pf, _MM_HINT_T0);                                                 \
                    _mm_prefetch(pf + 64, _MM_HINT_T0);                                            \
                    _mm_prefetch(pf + 128, _MM_HINT_T0);                                           \
                }                                                                                  \
                d8[r] = _mm512_castps256_ps512(_mm256_mul_ps(q4_0_scales8(xr + ib), dy));          \
            }                                                                                      \
            for (int k = 0; k < 4; ++k) {                                                          \
                const block_q8_0 *yk = y + ib + 2 * k;                                             \
                const __m512i yq = lqi_join256(_mm256_loadu_si256((const __m256i *)yk[0].qs),      \
                                               _mm256_loadu_si256((const __m256i *)yk[1].qs));     \
                const __m512i y8 = Y8(yq);                                                         \
                _Pragma("GCC unroll 4") for (int r = 0; r < n_rows; r++)                           \
                {                                                                                  \
                    const block_q4_0 *xr = (const block_q4_0 *)(const void *)(x + r * x_stride);   \
                    acc[r] = _mm512_fmadd_ps(q4_0_pair_factors(d8[r], k),                         \
                                             DOT2(xr + ib + 2 * k, yq, y8), acc[r]);               \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
        for (int r = 0; r < n_rows; r++) {                                                         \
            const block_q4_0 *xr = (const block_q4_0 *)(const void *)(x + r * x_stride);           \
            s[r] = q4_0_finish(acc[r], ib, nb, xr, y);                                             \
        }                                                                                          \
    }

/* NAME: the rows for decoding (lq_vec_dot_rows_fn), four at a time by ROWS. */
#define LQI_Q4_0_DOT_ROWS(NAME, TARGET, ROWS)                                                     \
    static TARGET void NAME(int64_t n, float *restrict s, const void *restrict x,                  \
                            size_t x_stride, int n_rows, const void *restrict y)                   \
    {                                                                                              \
        const unsigned char *xb = x;                                                               \
        int r = 0;                                                                                 \
        for (; r + 4 <= n_rows; r += 4) {                                                          \
            ROWS(n, s + r, xb + (size_t)r * x_stride, x_stride, 4, y);                             \
        }                                                                                          \
        switch (n_rows - r) {                                                                      \
        case 3:                                                                                    \
            ROWS(n, s + r, xb + (size_t)r * x_stride, x_stride, 3, y);                             \
            break;                                                                                 \
        case 2:                                                                                    \
            ROWS(n, s + r, xb + (size_t)r * x_stride, x_stride, 2, y);                             \
            break;                                                                                 \
        case 1:                                                                                    \
            ROWS(n, s + r, xb + (size_t)r * x_stride, x_stride, 1, y);                             \
            break;                                                                                 \
        default:                                                                                   \
            break;                                                                                 \
        }                                                                                          \
    }

LQI_Q4_0_ROWS(q4_0_rows, LQI_AVX512, q4_0_y8, q4_0_dot2)
LQI_Q4_0_ROWS(q4_0_rows_vnni, LQI_AVX512_VNNI, q4_0_y8_vnni, q4_0_dot2_vnni)
LQI_Q4_0_DOT_ROWS(dot_rows_q4_0_q8_0_avx512_plain, LQI_AVX512, q4_0_rows)
LQI_Q4_0_DOT_ROWS(dot_rows_q4_0_q8_0_avx512_vnni, LQI_AVX512_VNNI, q4_0_rows_vnni)

/* One row for decoding. */
static LQI_AVX512 float dot_q4_0_q8_0_avx512(int64_t n, const block_q4_0 *restrict x,
                                             const block_q8_0 *restrict y)
{
    float s;
    q4_0_rows(n, &s, (const unsigned char *)x, 0, 1, y);
    return s;
}

/* Rows for decoding: the VNNI steps where the CPU has them (the same results). */
static void dot_rows_q4_0_q8_0_avx512(int64_t n, float *restrict s, const void *restrict x,
                                      size_t x_stride, int n_rows, const void *restrict y)
{
    if (lqi_cpu_avx512_vnni()) {
        dot_rows_q4_0_q8_0_avx512_vnni(n, s, x, x_stride, n_rows, y);
    } else {
        dot_rows_q4_0_q8_0_avx512_plain(n, s, x, x_stride, n_rows, y);
    }
}
#endif

// ---- dispatch ---------------------------------------------------------------------------

void lqi_quantize_row_q4_0(const float *restrict x, void *restrict y, int64_t k)
{
    LQI_SIMD_CALL(quantize_q4_0_avx2, quantize_q4_0_avx2, lqi_quantize_row_q4_0_ref, x, y, k);
}

void lqi_dequantize_row_q4_0(const void *restrict x, float *restrict y, int64_t k)
{
    LQI_SIMD_CALL(dequantize_q4_0_avx2, dequantize_q4_0_avx2, dequantize_q4_0_scalar, x, y, k);
}

void lqi_vec_dot_q4_0_q8_0(int64_t n, float *restrict s, const void *restrict x,
                           const void *restrict y)
{
    *s = LQI_SIMD_CALL(dot_q4_0_q8_0_avx512, dot_q4_0_q8_0_avx2, dot_q4_0_q8_0_scalar, n, x, y);
}

/* Without AVX-512: the single-row kernel of the level in force, row by row. */
LQI_DOT_ROWS_EACH(dot_rows_q4_0_q8_0_each, lqi_vec_dot_q4_0_q8_0)

void lqi_vec_dot_rows_q4_0_q8_0(int64_t n, float *restrict s, const void *restrict x,
                                size_t x_stride, int n_rows, const void *restrict y)
{
    LQI_SIMD_CALL(dot_rows_q4_0_q8_0_avx512, dot_rows_q4_0_q8_0_each, dot_rows_q4_0_q8_0_each, n,
                  s, x, x_stride, n_rows, y);
}

LQI_DOT_MULTI_SCALAR_RET(dot_multi_q4_0_q8_0_scalar, dot_q4_0_q8_0_scalar, block_q4_0, block_q8_0)

void lqi_vec_dot_multi_q4_0_q8_0(int64_t n, float *restrict s, const void *restrict x,
                                 const void *restrict y, size_t y_stride, int n_tok)
{
    LQI_SIMD_CALL(dot_multi_q4_0_q8_0_avx512, dot_multi_q4_0_q8_0_avx2, dot_multi_q4_0_q8_0_scalar,
                  n, s, x, y, y_stride, n_tok);
}
