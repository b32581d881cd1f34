/* forward_dot_x86.c - AVX-512 products of F32 weight rows (F32 weights, or F16 / BF16 rows
 * converted) with eight activation rows at once, for batched prompt processing.
 *
 * The results are lqi_dot_f32's bit for bit: each 128-bit lane of a 512-bit accumulator is
 * one token's four partial sums, fed the same products in the same order (multiply, round,
 * add, round: eval builds with -ffp-contract=off, so no multiply-add is fused), then folded
 * as lqi_dot_f32 folds them. Only the instruction count changes: one load brings four
 * elements of four tokens, and each weight chunk is broadcast once for eight tokens.
 *
 * To load four tokens with one instruction, the activations are first interleaved
 * (lqi_ilv_pack): for each group of 8 rows and each chunk of 4 elements, the chunk of rows
 * 0..7 side by side (32 floats). Rows past the last full group, and the n % 4 tail
 * elements, stay with the plain kernels. */
#include "forward_impl.h"

#include <string.h>

#include "lq/fp16.h"
#include "lq/simd.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define LQI_EVAL_AVX512 __attribute__((target("avx512f")))

bool lqi_ilv_supported(void)
{
    return lq_simd_level_get() >= LQ_SIMD_AVX512;
}

/* The four lanes of token k's sums (one 128-bit lane of s) folded as lqi_dot_f32 folds,
 * then the tail elements added one by one. */
static inline LQI_EVAL_AVX512 float fold_lane(__m512 s, int k, const float *w, const float *x,
                                              int64_t n4, int64_t n)
{
    float v[16];
    _mm512_storeu_ps(v, s);
    float sum = (v[4 * k] + v[4 * k + 1]) + (v[4 * k + 2] + v[4 * k + 3]);
    for (int64_t i = n4; i < n; i++) {
        sum += w[i] * x[i];
    }
    return sum;
}

/* One weight row's broadcast chunk times both halves of a group, added to its sums. */
#define LQI_ILV_STEP(wp, lo, hi)                                                               \
    do {                                                                                       \
        const __m512 wv = _mm512_broadcast_f32x4(_mm_loadu_ps((wp) + i));                      \
        lo = _mm512_add_ps(lo, _mm512_mul_ps(wv, x_lo));                                       \
        hi = _mm512_add_ps(hi, _mm512_mul_ps(wv, x_hi));                                       \
    } while (0)

/* out[r][k] = dot(w[r], x[k]) for LQI_ROW_BLOCK (4) weight rows and the 8 activation rows
 * of one interleaved group g; x[k] are the plain rows (for the tail elements). Eight named
 * accumulators, so that they stay in registers. */
static LQI_EVAL_AVX512 void dot_4x8(const float *const w[4], const float *g, const float *x[8],
                                    int64_t n, float out[4][8])
{
    const int64_t n4 = n & ~(int64_t)3;
    const float *w0 = w[0], *w1 = w[1], *w2 = w[2], *w3 = w[3];
    __m512 lo0 = _mm512_setzero_ps(), hi0 = _mm512_setzero_ps();
    __m512 lo1 = _mm512_setzero_ps(), hi1 = _mm512_setzero_ps();
    __m512 lo2 = _mm512_setzero_ps(), hi2 = _mm512_setzero_ps();
    __m512 lo3 = _mm512_setzero_ps(), hi3 = _mm512_setzero_ps();
    for (int64_t i = 0; i < n4; i += 4, g += 32) {
        const __m512 x_lo = _mm512_loadu_ps(g), x_hi = _mm512_loadu_ps(g + 16);
        LQI_ILV_STEP(w0, lo0, hi0);
        LQI_ILV_STEP(w1, lo1, hi1);
        LQI_ILV_STEP(w2, lo2, hi2);
        LQI_ILV_STEP(w3, lo3, hi3);
    }
    const __m512 lo[4] = { lo0, lo1, lo2, lo3 }, hi[4] = { hi0, hi1, hi2, hi3 };
    for (int r = 0; r < 4; r++) {
        for (int k = 0; k < 4; k++) {
            out[r][k] = fold_lane(lo[r], k, w[r], x[k], n4, n);
            out[r][k + 4] = fold_lane(hi[r], k, w[r], x[k + 4], n4, n);
        }
    }
}

int64_t lqi_dot_f32_ilv(float *y, int64_t y_stride, int64_t r0, const float *const w[4],
                        const struct lqi_acts *a, int64_t g0, int64_t g1)
{
    const int64_t n = a->n_in;
    const size_t group = (size_t)(n & ~(int64_t)3) * 8;
    g1 = g1 < a->n_rows / 8 ? g1 : a->n_rows / 8;
    for (int64_t gi = g0; gi < g1; gi++) {
        const float *x[8];
        for (int k = 0; k < 8; k++) {
            x[k] = (const float *)(a->data + (size_t)(gi * 8 + k) * a->row_size);
        }
        float out[4][8];
        dot_4x8(w, a->ilv + (size_t)gi * group, x, n, out);
        for (int k = 0; k < 8; k++) {
            float *yt = y + (gi * 8 + k) * y_stride + r0;
            yt[0] = out[0][k];
            yt[1] = out[1][k];
            yt[2] = out[2][k];
            yt[3] = out[3][k];
        }
    }
    return g1 > g0 ? g1 : g0;
}

static LQI_EVAL_AVX512 void f16_row_avx512(const uint16_t *src, float *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256i h = _mm256_loadu_si256((const __m256i *)(src + i));
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(h));
    }
    lq_fp16_to_fp32_row(src + i, dst + i, n - i);
}

void lqi_f16_row_to_f32(const uint16_t *src, float *dst, int64_t n)
{
    if (lqi_ilv_supported()) {
        f16_row_avx512(src, dst, n);
    } else {
        lq_fp16_to_fp32_row(src, dst, n);
    }
}

#else

bool lqi_ilv_supported(void)
{
    return false;
}

int64_t lqi_dot_f32_ilv(float *y, int64_t y_stride, int64_t r0, const float *const w[4],
                        const struct lqi_acts *a, int64_t g0, int64_t g1)
{
    (void)y, (void)y_stride, (void)r0, (void)w, (void)a, (void)g1;
    return g0;
}

void lqi_f16_row_to_f32(const uint16_t *src, float *dst, int64_t n)
{
    lq_fp16_to_fp32_row(src, dst, n);
}

#endif

void lqi_ilv_pack(float *dst, const unsigned char *rows, size_t row_size, int64_t n_rows,
                  int64_t n_in)
{
    const int64_t n_chunks = n_in / 4;
    for (int64_t g = 0; g < n_rows / 8; g++) {
        for (int k = 0; k < 8; k++) {
            const float *src = (const float *)(rows + (size_t)(g * 8 + k) * row_size);
            float *d = dst + (size_t)g * (size_t)n_chunks * 32 + (size_t)k * 4;
            for (int64_t c = 0; c < n_chunks; c++) {
                memcpy(d + c * 32, src + c * 4, 4 * sizeof(float));
            }
        }
    }
}
