/* forward_gemv_x86.c - AVX2 / AVX-512 kernels of lqi_gemv_rows for F16, BF16 and F32 rows.
 *
 * Four weight rows per pass over the activation row: each chunk of x is loaded once and
 * meets four rows, converted to F32 in registers (F16C vcvtph2ps, BF16 by a 16-bit shift),
 * with two accumulators per row (eight fused multiply-add chains in flight, enough to hide
 * their latency). Chosen at run time by lqi_gemv_rows from the SIMD level in force. */
#include "forward_impl.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#include <string.h>

#define GEMV_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c")))
#define GEMV_AVX2 __attribute__((target("avx2,fma,f16c")))
#define INLINE inline __attribute__((always_inline))

// ---- AVX-512 ------------------------------------------------------------------------------

/* 16 elements of a row from element i on (the first n of them when n < 16) as F32. */
static INLINE GEMV_AVX512 __m512 load16(const unsigned char *row, int64_t i, __mmask16 m,
                                        enum lq_type type)
{
    switch (type) {
    case LQ_TYPE_F16:
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, (const uint16_t *)row + i));
    case LQ_TYPE_BF16: {
        const __m256i h = _mm256_maskz_loadu_epi16(m, (const uint16_t *)row + i);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    default:
        return _mm512_maskz_loadu_ps(m, (const float *)row + i);
    }
}

/* The same elements of the row four rows on (the next pass's), asked for now: each pass
 * reads four rows of one page-sized stretch each, too short for the hardware prefetcher to
 * get going, and decoding waits on memory otherwise. F32 rows take two lines per step. */
#define PREFETCH_NEXT(w, i)                                                                    \
    do {                                                                                       \
        const char *p_ = (const char *)(w) + 4 * row_size + (size_t)(i) * esize;               \
        _mm_prefetch(p_, _MM_HINT_T0);                                                         \
        if (esize == 4) {                                                                      \
            _mm_prefetch(p_ + 64, _MM_HINT_T0);                                                \
        }                                                                                      \
    } while (0)

/* y[0..3] = four rows (row_size bytes apart) dotted with x. */
static INLINE GEMV_AVX512 void rows4_avx512(float *y, const unsigned char *row, size_t row_size,
                                            const float *x, int64_t n, enum lq_type type)
{
    const unsigned char *w0 = row, *w1 = row + row_size, *w2 = w1 + row_size,
                        *w3 = w2 + row_size;
    __m512 a0 = _mm512_setzero_ps(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0,
           b3 = a0;
    const __mmask16 all = 0xFFFF;
    const int64_t esize = type == LQ_TYPE_F32 ? 4 : 2;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m512 xa = _mm512_loadu_ps(x + i), xb = _mm512_loadu_ps(x + i + 16);
        PREFETCH_NEXT(w0, i);
        PREFETCH_NEXT(w1, i);
        PREFETCH_NEXT(w2, i);
        PREFETCH_NEXT(w3, i);
        a0 = _mm512_fmadd_ps(load16(w0, i, all, type), xa, a0);
        b0 = _mm512_fmadd_ps(load16(w0, i + 16, all, type), xb, b0);
        a1 = _mm512_fmadd_ps(load16(w1, i, all, type), xa, a1);
        b1 = _mm512_fmadd_ps(load16(w1, i + 16, all, type), xb, b1);
        a2 = _mm512_fmadd_ps(load16(w2, i, all, type), xa, a2);
        b2 = _mm512_fmadd_ps(load16(w2, i + 16, all, type), xb, b2);
        a3 = _mm512_fmadd_ps(load16(w3, i, all, type), xa, a3);
        b3 = _mm512_fmadd_ps(load16(w3, i + 16, all, type), xb, b3);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? all : (__mmask16)((1u << (n - i)) - 1);
        const __m512 xa = _mm512_maskz_loadu_ps(m, x + i);
        a0 = _mm512_fmadd_ps(load16(w0, i, m, type), xa, a0);
        a1 = _mm512_fmadd_ps(load16(w1, i, m, type), xa, a1);
        a2 = _mm512_fmadd_ps(load16(w2, i, m, type), xa, a2);
        a3 = _mm512_fmadd_ps(load16(w3, i, m, type), xa, a3);
    }
    y[0] = _mm512_reduce_add_ps(_mm512_add_ps(a0, b0));
    y[1] = _mm512_reduce_add_ps(_mm512_add_ps(a1, b1));
    y[2] = _mm512_reduce_add_ps(_mm512_add_ps(a2, b2));
    y[3] = _mm512_reduce_add_ps(_mm512_add_ps(a3, b3));
}

static INLINE GEMV_AVX512 float row1_avx512(const unsigned char *row, const float *x, int64_t n,
                                            enum lq_type type)
{
    __m512 a = _mm512_setzero_ps(), b = a;
    const __mmask16 all = 0xFFFF;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a = _mm512_fmadd_ps(load16(row, i, all, type), _mm512_loadu_ps(x + i), a);
        b = _mm512_fmadd_ps(load16(row, i + 16, all, type), _mm512_loadu_ps(x + i + 16), b);
    }
    for (; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? all : (__mmask16)((1u << (n - i)) - 1);
        a = _mm512_fmadd_ps(load16(row, i, m, type), _mm512_maskz_loadu_ps(m, x + i), a);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(a, b));
}

static INLINE GEMV_AVX512 void gemv_avx512(float *y, const struct lqi_weight *w, const float *x,
                                           int64_t r0, int64_t r1, enum lq_type type)
{
    const unsigned char *row = w->data + (size_t)r0 * w->row_size;
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4, row += 4 * w->row_size) {
        rows4_avx512(y + (r - r0), row, w->row_size, x, w->n_in, type);
    }
    for (; r < r1; r++, row += w->row_size) {
        y[r - r0] = row1_avx512(row, x, w->n_in, type);
    }
}

static GEMV_AVX512 void gemv_f16_avx512(float *y, const struct lqi_weight *w, const float *x,
                                        int64_t r0, int64_t r1)
{
    gemv_avx512(y, w, x, r0, r1, LQ_TYPE_F16);
}

static GEMV_AVX512 void gemv_bf16_avx512(float *y, const struct lqi_weight *w, const float *x,
                                         int64_t r0, int64_t r1)
{
    gemv_avx512(y, w, x, r0, r1, LQ_TYPE_BF16);
}

static GEMV_AVX512 void gemv_f32_avx512(float *y, const struct lqi_weight *w, const float *x,
                                        int64_t r0, int64_t r1)
{
    gemv_avx512(y, w, x, r0, r1, LQ_TYPE_F32);
}

void lqi_gemv_float_avx512(float *y, const struct lqi_weight *w, const float *x, int64_t r0,
                           int64_t r1)
{
    switch (w->type) {
    case LQ_TYPE_F16:
        gemv_f16_avx512(y, w, x, r0, r1);
        break;
    case LQ_TYPE_BF16:
        gemv_bf16_avx512(y, w, x, r0, r1);
        break;
    default:
        gemv_f32_avx512(y, w, x, r0, r1);
        break;
    }
}

// ---- AVX2 ---------------------------------------------------------------------------------

/* 8 elements of a row from element i on as F32. */
static INLINE GEMV_AVX2 __m256 load8(const unsigned char *row, int64_t i, enum lq_type type)
{
    switch (type) {
    case LQ_TYPE_F16:
        return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + i)));
    case LQ_TYPE_BF16: {
        const __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)row + i));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    default:
        return _mm256_loadu_ps((const float *)row + i);
    }
}

/* One stored element as F32 (the tails past the last 8). */
static INLINE GEMV_AVX2 float load1(const unsigned char *row, int64_t i, enum lq_type type)
{
    switch (type) {
    case LQ_TYPE_F16:
        return _cvtsh_ss(((const uint16_t *)row)[i]);
    case LQ_TYPE_BF16: {
        const uint32_t u = (uint32_t)((const uint16_t *)row)[i] << 16;
        float f;
        memcpy(&f, &u, sizeof f);
        return f;
    }
    default:
        return ((const float *)row)[i];
    }
}

static INLINE GEMV_AVX2 float hsum8(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static INLINE GEMV_AVX2 void rows4_avx2(float *y, const unsigned char *row, size_t row_size,
                                        const float *x, int64_t n, enum lq_type type)
{
    const unsigned char *w[4] = { row, row + row_size, row + 2 * row_size, row + 3 * row_size };
    __m256 a0 = _mm256_setzero_ps(), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0,
           b3 = a0;
    const int64_t esize = type == LQ_TYPE_F32 ? 4 : 2;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 xa = _mm256_loadu_ps(x + i), xb = _mm256_loadu_ps(x + i + 8);
        if (esize == 4 || (i & 31) == 0) {
            PREFETCH_NEXT(w[0], i);
            PREFETCH_NEXT(w[1], i);
            PREFETCH_NEXT(w[2], i);
            PREFETCH_NEXT(w[3], i);
        }
        a0 = _mm256_fmadd_ps(load8(w[0], i, type), xa, a0);
        b0 = _mm256_fmadd_ps(load8(w[0], i + 8, type), xb, b0);
        a1 = _mm256_fmadd_ps(load8(w[1], i, type), xa, a1);
        b1 = _mm256_fmadd_ps(load8(w[1], i + 8, type), xb, b1);
        a2 = _mm256_fmadd_ps(load8(w[2], i, type), xa, a2);
        b2 = _mm256_fmadd_ps(load8(w[2], i + 8, type), xb, b2);
        a3 = _mm256_fmadd_ps(load8(w[3], i, type), xa, a3);
        b3 = _mm256_fmadd_ps(load8(w[3], i + 8, type), xb, b3);
    }
    const __m256 acc[4] = { _mm256_add_ps(a0, b0), _mm256_add_ps(a1, b1), _mm256_add_ps(a2, b2),
                            _mm256_add_ps(a3, b3) };
    for (int k = 0; k < 4; k++) {
        float sum = hsum8(acc[k]);
        for (int64_t j = i; j < n; j++) {
            sum += load1(w[k], j, type) * x[j];
        }
        y[k] = sum;
    }
}

static INLINE GEMV_AVX2 float row1_avx2(const unsigned char *row, const float *x, int64_t n,
                                        enum lq_type type)
{
    __m256 a = _mm256_setzero_ps(), b = a;
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a = _mm256_fmadd_ps(load8(row, i, type), _mm256_loadu_ps(x + i), a);
        b = _mm256_fmadd_ps(load8(row, i + 8, type), _mm256_loadu_ps(x + i + 8), b);
    }
    float sum = hsum8(_mm256_add_ps(a, b));
    for (; i < n; i++) {
        sum += load1(row, i, type) * x[i];
    }
    return sum;
}

static INLINE GEMV_AVX2 void gemv_avx2(float *y, const struct lqi_weight *w, const float *x,
                                       int64_t r0, int64_t r1, enum lq_type type)
{
    const unsigned char *row = w->data + (size_t)r0 * w->row_size;
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4, row += 4 * w->row_size) {
        rows4_avx2(y + (r - r0), row, w->row_size, x, w->n_in, type);
    }
    for (; r < r1; r++, row += w->row_size) {
        y[r - r0] = row1_avx2(row, x, w->n_in, type);
    }
}

static GEMV_AVX2 void gemv_f16_avx2(float *y, const struct lqi_weight *w, const float *x,
                                    int64_t r0, int64_t r1)
{
    gemv_avx2(y, w, x, r0, r1, LQ_TYPE_F16);
}

static GEMV_AVX2 void gemv_bf16_avx2(float *y, const struct lqi_weight *w, const float *x,
                                     int64_t r0, int64_t r1)
{
    gemv_avx2(y, w, x, r0, r1, LQ_TYPE_BF16);
}

static GEMV_AVX2 void gemv_f32_avx2(float *y, const struct lqi_weight *w, const float *x,
                                    int64_t r0, int64_t r1)
{
    gemv_avx2(y, w, x, r0, r1, LQ_TYPE_F32);
}

void lqi_gemv_float_avx2(float *y, const struct lqi_weight *w, const float *x, int64_t r0,
                         int64_t r1)
{
    switch (w->type) {
    case LQ_TYPE_F16:
        gemv_f16_avx2(y, w, x, r0, r1);
        break;
    case LQ_TYPE_BF16:
        gemv_bf16_avx2(y, w, x, r0, r1);
        break;
    default:
        gemv_f32_avx2(y, w, x, r0, r1);
        break;
    }
}

#else

/* Off x86 lqi_gemv_rows never picks these (the SIMD level is scalar there). */
void lqi_gemv_float_avx512(float *y, const struct lqi_weight *w, const float *x, int64_t r0,
                           int64_t r1)
{
    (void)y, (void)w, (void)x, (void)r0, (void)r1;
}

void lqi_gemv_float_avx2(float *y, const struct lqi_weight *w, const float *x, int64_t r0,
                         int64_t r1)
{
    (void)y, (void)w, (void)x, (void)r0, (void)r1;
}

#endif
