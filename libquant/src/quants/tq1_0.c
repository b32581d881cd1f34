/* tq1_0.c - TQ1_0: ternary values, 5 trits per byte as a base-3 fixed-point fraction
 * (1.6875 bits per weight). llama.cpp's quantize_row_tq1_0_ref, byte for byte. */
#include <assert.h>
#include <stddef.h>

#include "lq/fp16.h"
#include "quants/dot_multi.h"
#include "quants/kquant_common.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/kquant_simd.h"
#endif
#include "quants/ternary.h"

static const uint8_t pow3[5] = {1, 3, 9, 27, 81};

// ---- quantize ---------------------------------------------------------------------------

/* One byte of `ntrit` trits, x[0], x[stride], ... (the first most significant), padded to 5
 * trits, stored as ceil(v * 256 / 243) so that multiplying by 3^n moves trit n to the top. */
static uint8_t pack_trits(const float *x, int stride, int ntrit, float id)
{
    uint8_t q = 0;
    for (int n = 0; n < ntrit; ++n) {
        q = (uint8_t)(q * 3 + lqi_trit(x[n * stride] * id));
    }
    for (int n = ntrit; n < 5; ++n) {
        q = (uint8_t)(q * 3);
    }
    return (uint8_t)(((uint16_t)q * 256 + (243 - 1)) / 243);
}

/* Values 0..159: byte m of qs holds m + 32n; 160..239: byte 32 + m holds 160 + m + 16n;
 * 240..255: byte j of qh holds 240 + j + 4n (n = trit position). */
static void tq1_0_block(const float *x, void *vy, const float *qw)
{
    (void)qw;
    block_tq1_0 *y = vy;
    const float d = lqi_tq_amax(x);
    const float id = d ? 1.0f / d : 0.0f;
    y->d = lq_fp32_to_fp16(d);
    for (int m = 0; m < 32; ++m) {
        y->qs[m] = pack_trits(x + m, 32, 5, id);
    }
    for (int m = 0; m < 16; ++m) {
        y->qs[32 + m] = pack_trits(x + 160 + m, 16, 5, id);
    }
    for (int j = 0; j < 4; ++j) {
        y->qh[j] = pack_trits(x + 240 + j, 4, 4, id);
    }
}

void lqi_quantize_row_tq1_0_ref(const float *restrict x, void *restrict y, int64_t k)
{
    lqi_qk_quantize_ref(tq1_0_block, sizeof(block_tq1_0), x, y, k);
}

/* llama.cpp ignores importance weights for TQ1_0. */
size_t lqi_quantize_tq1_0(const float *restrict src, void *restrict dst, int64_t nrow,
                          int64_t n_per_row, const float *imatrix)
{
    (void)imatrix;
    return lqi_qk_quantize_rows(tq1_0_block, tq1_0_block, sizeof(block_tq1_0), src, dst, nrow,
                                n_per_row, NULL);
}

// ---- dequantize and validate ------------------------------------------------------------

/* Trit n (0 = most significant) of a packed byte, as -1, 0 or 1. */
static inline int trit_of(uint8_t b, int n)
{
    const uint8_t q = (uint8_t)(b * pow3[n]);
    return (((uint16_t)q * 3) >> 8) - 1;
}

/* The block's 256 trits in element order. */
static void tq1_0_unpack(const block_tq1_0 *x, int8_t t[QK_K])
{
    for (int n = 0; n < 5; ++n) {
        for (int m = 0; m < 32; ++m) {
            t[32 * n + m] = (int8_t)trit_of(x->qs[m], n);
        }
        for (int m = 0; m < 16; ++m) {
            t[160 + 16 * n + m] = (int8_t)trit_of(x->qs[32 + m], n);
        }
    }
    for (int n = 0; n < 4; ++n) {
        for (int j = 0; j < 4; ++j) {
            t[240 + 4 * n + j] = (int8_t)trit_of(x->qh[j], n);
        }
    }
}

void lqi_dequantize_row_tq1_0(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_tq1_0 *x = vx;
    int8_t t[QK_K];
    for (int64_t i = 0; i < k / QK_K; ++i) {
        const float d = lq_fp16_to_fp32(x[i].d);
        tq1_0_unpack(&x[i], t);
        for (int j = 0; j < QK_K; ++j) {
            *y++ = (float)t[j] * d;
        }
    }
}

bool lqi_validate_tq1_0(const void *data, size_t nbytes)
{
    return lqi_validate_f16_scales(data, nbytes, sizeof(block_tq1_0), offsetof(block_tq1_0, d), -1);
}

// ---- dot product with Q8_K --------------------------------------------------------------

/* ggml's generic kernel: an exact integer sum per block, times d_x * d_y. */
static void dot_tq1_0_q8_K_scalar(int64_t n, float *restrict s, const void *restrict vx,
                                  const void *restrict vy)
{
    const block_tq1_0 *x = vx;
    const block_q8_K *y = vy;
    int8_t t[QK_K];
    float sumf = 0.0f;
    for (int64_t i = 0; i < n / QK_K; ++i) {
        tq1_0_unpack(&x[i], t);
        int sum = 0;
        for (int j = 0; j < QK_K; ++j) {
            sum += t[j] * y[i].qs[j];
        }
        sumf += (float)sum * (lq_fp16_to_fp32(x[i].d) * y[i].d);
    }
    *s = sumf;
}

#if LQI_X86
/* t + 1 enters the integer dot; scale 1, and the 1 comes back out through the sums. */
static const int16_t unit_scales[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};

/* Trit n of 32 packed bytes as t + 1 (0..2): the byte times 3^n modulo 256, times 3, over
 * 256 (trit_of), in 16-bit lanes; unpack and pack are inverse within each 128-bit lane. */
static inline LQI_AVX2 __m256i trit_plane32(__m256i v, int n)
{
    const __m256i zero = _mm256_setzero_si256(), ff = _mm256_set1_epi16(0xFF);
    const __m256i p3 = _mm256_set1_epi16(pow3[n]), three = _mm256_set1_epi16(3);
    __m256i lo = _mm256_and_si256(_mm256_mullo_epi16(_mm256_unpacklo_epi8(v, zero), p3), ff);
    __m256i hi = _mm256_and_si256(_mm256_mullo_epi16(_mm256_unpackhi_epi8(v, zero), p3), ff);
    lo = _mm256_srli_epi16(_mm256_mullo_epi16(lo, three), 8);
    hi = _mm256_srli_epi16(_mm256_mullo_epi16(hi, three), 8);
    return _mm256_packus_epi16(lo, hi);
}

/* The weight side once per block: t + 1 (0..2) as unsigned quants, scale 1 everywhere and
 * the 1 back out through the activation sums. Values 0..159 come from whole planes of
 * qs[0..31]; 160..255 (planes of 16 bytes and qh) through a buffer. */
static inline LQI_AVX2 void tq1_0_unpack_simd(const block_tq1_0 *x, struct lqi_qk_prep *p)
{
    const __m256i v = _mm256_loadu_si256((const __m256i *)x->qs);
    for (int n = 0; n < 5; ++n) {
        p->q[n] = trit_plane32(v, n);
    }
    uint8_t tail[96];
    __m128i v16 = _mm_loadu_si128((const __m128i *)(x->qs + 32));
    const __m256i v2 = _mm256_set_m128i(v16, v16); /* planes of both lanes are the same */
    for (int n = 0; n < 5; ++n) {
        _mm_storeu_si128((__m128i *)(tail + 16 * n), _mm256_castsi256_si128(trit_plane32(v2, n)));
    }
    for (int n = 0; n < 4; ++n) {
        for (int j = 0; j < 4; ++j) {
            tail[80 + 4 * n + j] = (uint8_t)(trit_of(x->qh[j], n) + 1);
        }
    }
    for (int g = 5; g < 8; ++g) {
        p->q[g] = _mm256_loadu_si256((const __m256i *)(tail + 32 * (g - 5)));
    }
    lqi_qk_biased_scales(unit_scales, 1, lq_fp16_to_fp32(x->d), p);
}

LQI_QK_BIASED_DOT_KERNELS(tq1_0, block_tq1_0, tq1_0_unpack_simd)
#endif

LQI_QK_DOT_ENTRY_POINTS(tq1_0)
