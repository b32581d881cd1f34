/* q8_k.c - Q8_K: the 8-bit activation type of the k-quant dot products (llama.cpp's
 * quantize_row_q8_K_ref, byte for byte, with an AVX2 path giving the same bytes). */
#include <assert.h>
#include <math.h>
#include <stddef.h>

#include "quants/kquant_common.h"
#include "quants/kquants.h"
#include "quants/simd.h"
#if LQI_X86
#include "quants/simd_x86.h"
#endif

// ---- quantize ---------------------------------------------------------------------------

static void q8_K_bsums(block_q8_K *y)
{
    for (int j = 0; j < QK_K / 16; ++j) {
        int sum = 0;
        for (int ii = 0; ii < 16; ++ii) {
            sum += y->qs[j * 16 + ii];
        }
        y->bsums[j] = (int16_t)sum;
    }
}

/* A block without a non-zero finite maximum: ggml leaves its bsums unwritten; here they are
 * zero, so the output never depends on what the buffer held before. */
static void q8_K_zero_block(block_q8_K *y)
{
    y->d = 0;
    memset(y->qs, 0, QK_K);
    memset(y->bsums, 0, sizeof y->bsums);
}

/* Scale -127/max, where max is the first value of largest magnitude (its sign matters:
 * it lands on -127 exactly). */
void lqi_quantize_row_q8_K_ref(const float *restrict x, void *restrict vy, int64_t k)
{
    assert(k % QK_K == 0);
    block_q8_K *y = vy;
    for (int64_t i = 0; i < k / QK_K; ++i, x += QK_K) {
        float amax;
        const float max = lqi_signed_absmax(x, QK_K, &amax);
        if (!amax) {
            q8_K_zero_block(&y[i]);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; ++j) {
            int v = lqi_nearest_int(iscale * x[j]);
            y[i].qs[j] = (int8_t)LQI_MIN(127, v);
        }
        q8_K_bsums(&y[i]);
        y[i].d = 1 / iscale;
    }
}

#if LQI_X86
/* |x| maximum ignoring NaN (max_ps returns its second operand on NaN), then the first
 * element reaching it, exactly as the scalar scan picks it. */
LQI_AVX2_NOFMA static float q8_K_find_max(const float *x, float *amax_out)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 acc = _mm256_setzero_ps();
    for (int j = 0; j < QK_K; j += 8) {
        acc = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), acc);
    }
    float lanes[8], amax = 0;
    _mm256_storeu_ps(lanes, acc);
    for (int l = 0; l < 8; ++l) {
        amax = lanes[l] > amax ? lanes[l] : amax;
    }
    *amax_out = amax;
    for (int j = 0; j < QK_K; ++j) {
        if (fabsf(x[j]) == amax) {
            return x[j];
        }
    }
    return 0;
}

/* nearest_int on 8 lanes, clamped to 127 and cut to the low byte as the scalar int8 store. */
LQI_AVX2_NOFMA static inline __m256i q8_K_round8(const float *x, __m256 iscale)
{
    const __m256 magic = _mm256_set1_ps(12582912.f);
    __m256i bits =
        _mm256_castps_si256(_mm256_add_ps(_mm256_mul_ps(iscale, _mm256_loadu_ps(x)), magic));
    __m256i v = _mm256_sub_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)),
                                 _mm256_set1_epi32(0x00400000));
    v = _mm256_min_epi32(v, _mm256_set1_epi32(127));
    return _mm256_and_si256(v, _mm256_set1_epi32(0xFF));
}

static LQI_AVX2_NOFMA void quantize_row_q8_K_avx2(const float *restrict x, void *restrict vy,
                                                  int64_t k)
{
    block_q8_K *y = vy;
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    for (int64_t i = 0; i < k / QK_K; ++i, x += QK_K) {
        float amax;
        const float max = q8_K_find_max(x, &amax);
        if (!amax) {
            q8_K_zero_block(&y[i]);
            continue;
        }
        const float iscale = -127.f / max;
        const __m256 vis = _mm256_set1_ps(iscale);
        for (int j = 0; j < QK_K; j += 32) {
            __m256i a = _mm256_packus_epi32(q8_K_round8(x + j, vis), q8_K_round8(x + j + 8, vis));
            __m256i b =
                _mm256_packus_epi32(q8_K_round8(x + j + 16, vis), q8_K_round8(x + j + 24, vis));
            __m256i bytes = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(a, b), perm);
            _mm256_storeu_si256((__m256i *)(y[i].qs + j), bytes);
        }
        q8_K_bsums(&y[i]);
        y[i].d = 1 / iscale;
    }
}

#endif

void lqi_quantize_row_q8_K(const float *restrict x, void *restrict y, int64_t k)
{
    LQI_SIMD_CALL(quantize_row_q8_K_avx2, quantize_row_q8_K_avx2, lqi_quantize_row_q8_K_ref, x, y,
                  k);
}

size_t lqi_quantize_q8_K(const float *restrict src, void *restrict dst, int64_t nrow,
                         int64_t n_per_row, const float *imatrix)
{
    (void)imatrix; /* 8 bits need no importance weighting; ggml ignores it too */
    assert(n_per_row % QK_K == 0);
    lqi_quantize_row_q8_K_ref(src, dst, nrow * n_per_row);
    return (size_t)(nrow * (n_per_row / QK_K)) * sizeof(block_q8_K);
}

// ---- dequantize and validate ------------------------------------------------------------

void lqi_dequantize_row_q8_K(const void *restrict vx, float *restrict y, int64_t k)
{
    assert(k % QK_K == 0);
    const block_q8_K *x = vx;
    for (int64_t i = 0; i < k / QK_K; ++i) {
        for (int j = 0; j < QK_K; ++j) {
            *y++ = x[i].d * x[i].qs[j];
        }
    }
}

bool lqi_validate_q8_K(const void *data, size_t nbytes)
{
    if (nbytes % sizeof(block_q8_K) != 0) {
        return false;
    }
    const unsigned char *p = data;
    for (size_t off = 0; off < nbytes; off += sizeof(block_q8_K)) {
        float d;
        memcpy(&d, p + off + offsetof(block_q8_K, d), sizeof d);
        if (!isfinite(d)) {
            return false;
        }
    }
    return true;
}
