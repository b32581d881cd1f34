/*
 * legacy_simd.h - the AVX2 / AVX-512 dot kernels of the 32-element block types, generated
 * from each type's quant unpacker. Include only where LQI_X86 is set; the kernels run through
 * LQI_SIMD_CALL (quants/simd.h).
 */
#ifndef LQ_QUANTS_LEGACY_SIMD_H
#define LQ_QUANTS_LEGACY_SIMD_H

#include "lq/types.h"
#include "quants/dot_multi.h"
#include "quants/simd_x86.h"

/* The _1 types' per-block offset m_x * s_y (s_y = d_y * sum q_y); the _0 types have none. */
#define LQI_DOT_MIN_TERM(xb, yb) (lqi_h2f((xb).m) * lqi_h2f((yb).s))
#define LQI_DOT_NO_MIN_TERM(xb, yb) 0.0f

/*
 * Defines static float dot_<T>_avx2 and dot_<T>_avx512(int64_t n, const BX *x, const BY *y)
 * for 32-element blocks x (quants from QUANTS(const BX *), as bytes) against int8 activations
 * y. DOT / DOT512 multiply them: lqi_dot_i8i8* for signed quants, lqi_dot_u8i8* for unsigned.
 * With HAS_MIN the MIN_TERM of every block is summed on the side and added at the end (the
 * _1 types); without it no such sum exists, not even a zero one, so results are unchanged.
 * AVX-512 takes two blocks per step and leaves an odd last one to the AVX2 kernel.
 *
 * Also defines dot_multi_<T>_avx2 / _avx512 (lq_vec_dot_multi_fn): the same steps for each
 * activation row in turn with every weight block's quants unpacked once, so each row's
 * result is bit-identical to the single kernel's.
 */
#define LQI_LEGACY_DOT_KERNELS(T, BX, BY, QUANTS, DOT, DOT512, HAS_MIN, MIN_TERM)                  \
    LQI_LEGACY_DOT_AVX2(T, BX, BY, QUANTS, DOT, HAS_MIN, MIN_TERM)                                 \
    LQI_LEGACY_DOT_AVX512(T, BX, BY, QUANTS, DOT512, HAS_MIN, MIN_TERM)                            \
    LQI_LEGACY_DOT_MULTI(T, BX, BY, QUANTS, DOT, DOT512, HAS_MIN, MIN_TERM)

/* The parts of LQI_LEGACY_DOT_KERNELS, for a type with its own single-row kernel at one
 * level (which must give the generated one's results bit for bit). */
#define LQI_LEGACY_DOT_AVX2(T, BX, BY, QUANTS, DOT, HAS_MIN, MIN_TERM)                             \
    static LQI_AVX2 float dot_##T##_avx2(int64_t n, const BX *restrict x, const BY *restrict y)    \
    {                                                                                              \
        __m256 acc = _mm256_setzero_ps();                                                          \
        float summs = 0;                                                                           \
        for (int64_t ib = 0; ib < n / 32; ++ib) {                                                  \
            if (HAS_MIN) {                                                                         \
                summs += MIN_TERM(x[ib], y[ib]);                                                   \
            }                                                                                      \
            __m256i qy = _mm256_loadu_si256((const __m256i *)y[ib].qs);                            \
            __m256 d = _mm256_set1_ps(lqi_h2f(x[ib].d) * lqi_h2f(y[ib].d));                        \
            acc = _mm256_fmadd_ps(d, DOT(QUANTS(&x[ib]), qy), acc);                                \
        }                                                                                          \
        return HAS_MIN ? lqi_hsum_f32x8(acc) + summs : lqi_hsum_f32x8(acc);                        \
    }

#define LQI_LEGACY_DOT_AVX512(T, BX, BY, QUANTS, DOT512, HAS_MIN, MIN_TERM)                        \
    LQI_LEGACY_DOT_AVX512_AS(dot_##T##_avx512, LQI_AVX512, T, BX, BY, QUANTS, DOT512, HAS_MIN,     \
                             MIN_TERM)

/* The same kernel as NAME, compiled for TARGET (a VNNI variant whose DOT512 gives the same
 * int32 lanes, so the same floats). */
#define LQI_LEGACY_DOT_AVX512_AS(NAME, TARGET, T, BX, BY, QUANTS, DOT512, HAS_MIN, MIN_TERM)      \
    static TARGET float NAME(int64_t n, const BX *restrict x, const BY *restrict y)               \
    {                                                                                              \
        const int64_t nb = n / 32;                                                                 \
        __m512 acc = _mm512_setzero_ps();                                                          \
        float summs = 0;                                                                           \
        int64_t ib = 0;                                                                            \
        for (; ib + 1 < nb; ib += 2) {                                                             \
            lqi_prefetch_ahead(x + ib, (int)(2 * sizeof *x));                                      \
            if (HAS_MIN) {                                                                         \
                summs += MIN_TERM(x[ib], y[ib]) + MIN_TERM(x[ib + 1], y[ib + 1]);                  \
            }                                                                                      \
            __m512i qx = lqi_join256(QUANTS(&x[ib]), QUANTS(&x[ib + 1]));                          \
            __m512i qy = lqi_join256(_mm256_loadu_si256((const __m256i *)y[ib].qs),                \
                                     _mm256_loadu_si256((const __m256i *)y[ib + 1].qs));           \
            __m512 d = lqi_scale2(lqi_h2f(x[ib].d) * lqi_h2f(y[ib].d),                             \
                                  lqi_h2f(x[ib + 1].d) * lqi_h2f(y[ib + 1].d));                    \
            acc = _mm512_fmadd_ps(d, DOT512(qx, qy), acc);                                         \
        }                                                                                          \
        float sum = HAS_MIN ? _mm512_reduce_add_ps(acc) + summs : _mm512_reduce_add_ps(acc);       \
        return ib < nb ? sum + dot_##T##_avx2(32, x + ib, y + ib) : sum;                           \
    }

#define LQI_LEGACY_DOT_MULTI(T, BX, BY, QUANTS, DOT, DOT512, HAS_MIN, MIN_TERM)                    \
    static LQI_AVX2 void dot_multi_##T##_avx2(int64_t n, float *restrict s,                        \
                                              const void *restrict vx, const void *restrict vy,    \
                                              size_t y_stride, int n_tok)                          \
    {                                                                                              \
        const BX *x = vx;                                                                          \
        __m256 acc[LQ_VEC_DOT_MULTI_MAX];                                                          \
        float summs[LQ_VEC_DOT_MULTI_MAX];                                                         \
        for (int t = 0; t < n_tok; ++t) {                                                          \
            acc[t] = _mm256_setzero_ps();                                                          \
            summs[t] = 0;                                                                          \
        }                                                                                          \
        for (int64_t ib = 0; ib < n / 32; ++ib) {                                                  \
            const __m256i qx = QUANTS(&x[ib]);                                                     \
            const float dx = lqi_h2f(x[ib].d);                                                     \
            for (int t = 0; t < n_tok; ++t) {                                                      \
                const BY *y = (const BY *)LQI_MULTI_ROW(vy, y_stride, t) + ib;                     \
                if (HAS_MIN) {                                                                     \
                    summs[t] += MIN_TERM(x[ib], *y);                                               \
                }                                                                                  \
                __m256i qy = _mm256_loadu_si256((const __m256i *)y->qs);                           \
                __m256 d = _mm256_set1_ps(dx * lqi_h2f(y->d));                                     \
                acc[t] = _mm256_fmadd_ps(d, DOT(qx, qy), acc[t]);                                  \
            }                                                                                      \
        }                                                                                          \
        for (int t = 0; t < n_tok; ++t) {                                                          \
            s[t] = HAS_MIN ? lqi_hsum_f32x8(acc[t]) + summs[t] : lqi_hsum_f32x8(acc[t]);           \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    static LQI_AVX512 void dot_multi_##T##_avx512(                                                 \
        int64_t n, float *restrict s, const void *restrict vx, const void *restrict vy,            \
        size_t y_stride, int n_tok)                                                                \
    {                                                                                              \
        const BX *x = vx;                                                                          \
        const int64_t nb = n / 32;                                                                 \
        __m512 acc[LQ_VEC_DOT_MULTI_MAX];                                                          \
        float summs[LQ_VEC_DOT_MULTI_MAX];                                                         \
        for (int t = 0; t < n_tok; ++t) {                                                          \
            acc[t] = _mm512_setzero_ps();                                                          \
            summs[t] = 0;                                                                          \
        }                                                                                          \
        int64_t ib = 0;                                                                            \
        for (; ib + 1 < nb; ib += 2) {                                                             \
            const __m512i qx = lqi_join256(QUANTS(&x[ib]), QUANTS(&x[ib + 1]));                    \
            const float dx0 = lqi_h2f(x[ib].d), dx1 = lqi_h2f(x[ib + 1].d);                        \
            for (int t = 0; t < n_tok; ++t) {                                                      \
                const BY *y = (const BY *)LQI_MULTI_ROW(vy, y_stride, t) + ib;                     \
                if (HAS_MIN) {                                                                     \
                    summs[t] += MIN_TERM(x[ib], y[0]) + MIN_TERM(x[ib + 1], y[1]);                 \
                }                                                                                  \
                __m512i qy = lqi_join256(_mm256_loadu_si256((const __m256i *)y[0].qs),             \
                                         _mm256_loadu_si256((const __m256i *)y[1].qs));            \
                __m512 d = lqi_scale2(dx0 * lqi_h2f(y[0].d), dx1 * lqi_h2f(y[1].d));               \
                acc[t] = _mm512_fmadd_ps(d, DOT512(qx, qy), acc[t]);                               \
            }                                                                                      \
        }                                                                                          \
        for (int t = 0; t < n_tok; ++t) {                                                          \
            const BY *y = (const BY *)LQI_MULTI_ROW(vy, y_stride, t);                              \
            float sum =                                                                            \
                HAS_MIN ? _mm512_reduce_add_ps(acc[t]) + summs[t] : _mm512_reduce_add_ps(acc[t]);  \
            s[t] = ib < nb ? sum + dot_##T##_avx2(32, x + ib, y + ib) : sum;                       \
        }                                                                                          \
    }

#endif /* LQ_QUANTS_LEGACY_SIMD_H */
