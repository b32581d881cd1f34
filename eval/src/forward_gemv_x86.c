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

/* One stored element as F32 (the tails). */
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
 * get going, and decoding waits on memory otherwise. `bytes`: the stretch one step reads. */
#define PREFETCH_NEXT(w, i, bytes)                                                             \
    do {                                                                                       \
        const char *p_ = (const char *)(w) + 4 * row_size + (size_t)(i) * esize;               \
        for (size_t o_ = 0; o_ < (size_t)(bytes); o_ += 64) {                                  \
            _mm_prefetch(p_ + o_, _MM_HINT_T0);                                                \
        }                                                                                      \
    } while (0)

/* One step of 64 elements into a row's four accumulators r0..r3 (sub-chunk j into rj). */
#define STEP64(w, r)                                                                           \
    do {                                                                                       \
        r##0 = _mm512_fmadd_ps(load16(w, i, all, type), x0, r##0);                            \
        r##1 = _mm512_fmadd_ps(load16(w, i + 16, all, type), x1, r##1);                       \
        r##2 = _mm512_fmadd_ps(load16(w, i + 32, all, type), x2, r##2);                       \
        r##3 = _mm512_fmadd_ps(load16(w, i + 48, all, type), x3, r##3);                  \
    } while (0)

/* A row's sum as ggml_vec_dot_f16 / _f32 (AVX-512) form it: the four accumulators folded
 * (0 + 2) + (1 + 3), the lanes added, then the elements past the last step in double. */
static INLINE GEMV_AVX512 float finish(__m512 a0, __m512 a1, __m512 a2, __m512 a3,
                                       const unsigned char *row, const float *x, int64_t i,
                                       int64_t n, enum lq_type type)
{
    const __m512 s = _mm512_add_ps(_mm512_add_ps(a0, a2), _mm512_add_ps(a1, a3));
    double sum = (double)_mm512_reduce_add_ps(s);
    for (; i < n; i++) {
        sum += (double)(load1(row, i, type) * x[i]);
    }
    return (float)sum;
}

/* y[0..3] = four rows (row_size bytes apart) dotted with x, each summed in ggml's order
 * (llama.cpp's one-row dot on this CPU: four accumulators of 16 over steps of 64). */
static INLINE GEMV_AVX512 void rows4_avx512(float *y, const unsigned char *row, size_t row_size,
                                            const float *x, int64_t n, enum lq_type type)
{
    const unsigned char *w0 = row, *w1 = row + row_size, *w2 = w1 + row_size,
                        *w3 = w2 + row_size;
    const __m512 z = _mm512_setzero_ps();
    __m512 a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;
    __m512 c0 = z, c1 = z, c2 = z, c3 = z, d0 = z, d1 = z, d2 = z, d3 = z;
    const __mmask16 all = 0xFFFF;
    const int64_t esize = type == LQ_TYPE_F32 ? 4 : 2;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + 16);
        const __m512 x2 = _mm512_loadu_ps(x + i + 32), x3 = _mm512_loadu_ps(x + i + 48);
        PREFETCH_NEXT(w0, i, 64 * esize);
        PREFETCH_NEXT(w1, i, 64 * esize);
        PREFETCH_NEXT(w2, i, 64 * esize);
        PREFETCH_NEXT(w3, i, 64 * esize);
        STEP64(w0, a);
        STEP64(w1, b);
        STEP64(w2, c);
        STEP64(w3, d);
    }
    y[0] = finish(a0, a1, a2, a3, w0, x, i, n, type);
    y[1] = finish(b0, b1, b2, b3, w1, x, i, n, type);
    y[2] = finish(c0, c1, c2, c3, w2, x, i, n, type);
    y[3] = finish(d0, d1, d2, d3, w3, x, i, n, type);
}

static INLINE GEMV_AVX512 float row1_avx512(const unsigned char *row, const float *x, int64_t n,
                                            enum lq_type type)
{
    const __m512 z = _mm512_setzero_ps();
    __m512 a0 = z, a1 = z, a2 = z, a3 = z;
    const __mmask16 all = 0xFFFF;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        const __m512 x0 = _mm512_loadu_ps(x + i), x1 = _mm512_loadu_ps(x + i + 16);
        const __m512 x2 = _mm512_loadu_ps(x + i + 32), x3 = _mm512_loadu_ps(x + i + 48);
        STEP64(row, a);
    }
    return finish(a0, a1, a2, a3, row, x, i, n, type);
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
        if (esize == 4 || (i & 31) == 0) { /* a line per row every 64 bytes */
            PREFETCH_NEXT(w[0], i, 64);
            PREFETCH_NEXT(w[1], i, 64);
            PREFETCH_NEXT(w[2], i, 64);
            PREFETCH_NEXT(w[3], i, 64);
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
