/* forward_gemm_x86.c - AVX-512 and AVX2 tile kernels of the batched product (forward_gemm.h).
 *
 * Outer products in registers: per element k, the weight panel's nr values are two vector
 * loads, each token's activation one broadcast, and every (token, vector) pair one fused
 * multiply-add into its own accumulator. AVX-512: 12 tokens x 32 rows (24 accumulators of 32
 * registers); AVX2: 6 tokens x 16 rows (12 of 16). Partial tiles (the batch's last tokens,
 * the matrix's last rows) run the same code with fewer tokens and masked stores. */
#include "forward_gemm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define GEMM_AVX512 __attribute__((target("avx512f,fma")))
#define GEMM_AVX2 __attribute__((target("avx2,fma")))
#define INLINE inline __attribute__((always_inline))

// ---- AVX-512: 12 x 32 --------------------------------------------------------------------

#define MR512 12

static INLINE GEMM_AVX512 void tile512_m(const int m, int64_t kc, const float *xp, const float *wp,
                                         float *c, int64_t ldc, int n, bool accumulate)
{
    __m512 a0[MR512], a1[MR512];
#pragma GCC unroll 12
    for (int i = 0; i < m; i++) {
        a0[i] = _mm512_setzero_ps();
        a1[i] = _mm512_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        const __m512 w0 = _mm512_loadu_ps(wp + k * 32), w1 = _mm512_loadu_ps(wp + k * 32 + 16);
        const float *x = xp + k * MR512;
#pragma GCC unroll 12
        for (int i = 0; i < m; i++) {
            const __m512 xi = _mm512_set1_ps(x[i]);
            a0[i] = _mm512_fmadd_ps(xi, w0, a0[i]);
            a1[i] = _mm512_fmadd_ps(xi, w1, a1[i]);
        }
    }
    const __mmask16 m0 = n >= 16 ? 0xFFFF : (__mmask16)((1u << n) - 1);
    const __mmask16 m1 = n >= 32 ? 0xFFFF : n <= 16 ? 0 : (__mmask16)((1u << (n - 16)) - 1);
#pragma GCC unroll 12
    for (int i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        __m512 v0 = a0[i], v1 = a1[i];
        if (accumulate) {
            v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, ci));
            v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, ci + 16));
        }
        _mm512_mask_storeu_ps(ci, m0, v0);
        _mm512_mask_storeu_ps(ci + 16, m1, v1);
    }
}

static GEMM_AVX512 void tile512(int64_t kc, const float *xp, const float *wp, float *c,
                                int64_t ldc, int m, int n, bool accumulate)
{
    switch (m) {
#define CASE512(M)                                                                                 \
    case M:                                                                                        \
        tile512_m(M, kc, xp, wp, c, ldc, n, accumulate);                                           \
        break;
        CASE512(1) CASE512(2) CASE512(3) CASE512(4) CASE512(5) CASE512(6)
        CASE512(7) CASE512(8) CASE512(9) CASE512(10) CASE512(11) CASE512(12)
#undef CASE512
    default:
        break;
    }
}

/* The weight panel: rows tmp[j * LQI_GEMM_KC + k] (j < nv) as wp[k * 32 + j], rows past nv
 * zero; 16 x 16 blocks transposed in registers (unpack, then 128-bit lane shuffles). */
static GEMM_AVX512 void panel512(float *wp, const float *tmp, int nv, int64_t kc)
{
    int64_t k0 = 0;
    for (; k0 + 16 <= kc; k0 += 16) {
        for (int h = 0; h < 2; h++) {
            __m512 r[16], a[16], b[16];
            for (int i = 0; i < 16; i++) {
                const int j = h * 16 + i;
                r[i] = j < nv ? _mm512_loadu_ps(tmp + j * LQI_GEMM_KC + k0) : _mm512_setzero_ps();
            }
            for (int i = 0; i < 8; i++) {
                a[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
                a[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
            }
            for (int g = 0; g < 4; g++) {
                const __m512d a0 = _mm512_castps_pd(a[4 * g]), a1 = _mm512_castps_pd(a[4 * g + 1]);
                const __m512d a2 = _mm512_castps_pd(a[4 * g + 2]), a3 = _mm512_castps_pd(a[4 * g + 3]);
                b[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(a0, a2));
                b[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a0, a2));
                b[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(a1, a3));
                b[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(a1, a3));
            }
            float *d = wp + k0 * 32 + h * 16;
            for (int e = 0; e < 4; e++) {
                const __m512 lo01 = _mm512_shuffle_f32x4(b[e], b[4 + e], 0x44);
                const __m512 lo23 = _mm512_shuffle_f32x4(b[8 + e], b[12 + e], 0x44);
                const __m512 hi01 = _mm512_shuffle_f32x4(b[e], b[4 + e], 0xEE);
                const __m512 hi23 = _mm512_shuffle_f32x4(b[8 + e], b[12 + e], 0xEE);
                _mm512_storeu_ps(d + (0 + e) * 32, _mm512_shuffle_f32x4(lo01, lo23, 0x88));
                _mm512_storeu_ps(d + (4 + e) * 32, _mm512_shuffle_f32x4(lo01, lo23, 0xDD));
                _mm512_storeu_ps(d + (8 + e) * 32, _mm512_shuffle_f32x4(hi01, hi23, 0x88));
                _mm512_storeu_ps(d + (12 + e) * 32, _mm512_shuffle_f32x4(hi01, hi23, 0xDD));
            }
        }
    }
    lqi_gemm_panel_plain(wp + k0 * 32, tmp + k0, 32, nv, kc - k0);
}

// ---- AVX2: 6 x 16 -----------------------------------------------------------------------

#define MR256 6

static INLINE GEMM_AVX2 __m256i lane_mask(int n)
{
    const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), idx);
}

static INLINE GEMM_AVX2 void tile256_m(const int m, int64_t kc, const float *xp, const float *wp,
                                       float *c, int64_t ldc, int n, bool accumulate)
{
    __m256 a0[MR256], a1[MR256];
#pragma GCC unroll 6
    for (int i = 0; i < m; i++) {
        a0[i] = _mm256_setzero_ps();
        a1[i] = _mm256_setzero_ps();
    }
    for (int64_t k = 0; k < kc; k++) {
        const __m256 w0 = _mm256_loadu_ps(wp + k * 16), w1 = _mm256_loadu_ps(wp + k * 16 + 8);
        const float *x = xp + k * MR256;
#pragma GCC unroll 6
        for (int i = 0; i < m; i++) {
            const __m256 xi = _mm256_broadcast_ss(x + i);
            a0[i] = _mm256_fmadd_ps(xi, w0, a0[i]);
            a1[i] = _mm256_fmadd_ps(xi, w1, a1[i]);
        }
    }
    const __m256i m0 = lane_mask(n), m1 = lane_mask(n - 8);
#pragma GCC unroll 6
    for (int i = 0; i < m; i++) {
        float *ci = c + i * ldc;
        __m256 v0 = a0[i], v1 = a1[i];
        if (accumulate) {
            v0 = _mm256_add_ps(v0, _mm256_maskload_ps(ci, m0));
            v1 = _mm256_add_ps(v1, _mm256_maskload_ps(ci + 8, m1));
        }
        _mm256_maskstore_ps(ci, m0, v0);
        _mm256_maskstore_ps(ci + 8, m1, v1);
    }
}

static GEMM_AVX2 void tile256(int64_t kc, const float *xp, const float *wp, float *c, int64_t ldc,
                              int m, int n, bool accumulate)
{
    switch (m) {
#define CASE256(M)                                                                                 \
    case M:                                                                                        \
        tile256_m(M, kc, xp, wp, c, ldc, n, accumulate);                                           \
        break;
        CASE256(1) CASE256(2) CASE256(3) CASE256(4) CASE256(5) CASE256(6)
#undef CASE256
    default:
        break;
    }
}

static const struct lqi_gemm_kernel kernel512 = { MR512, 32, tile512, panel512, "avx512" };
static const struct lqi_gemm_kernel kernel256 = { MR256, 16, tile256, NULL, "avx2" };

const struct lqi_gemm_kernel *lqi_gemm_kernel_avx512(void)
{
    return &kernel512;
}

const struct lqi_gemm_kernel *lqi_gemm_kernel_avx2(void)
{
    return &kernel256;
}

#else

const struct lqi_gemm_kernel *lqi_gemm_kernel_avx512(void)
{
    return NULL;
}

const struct lqi_gemm_kernel *lqi_gemm_kernel_avx2(void)
{
    return NULL;
}

#endif
