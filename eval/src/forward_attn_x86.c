/* forward_attn_x86.c - the two inner loops of attention with AVX-512 / AVX2 (portable C in
 * forward_attn.c otherwise):
 *
 *   scores: s[j] = q · k_j for keys j0 .. j1 - 1, from the keys transposed (kt[d * ld + j]),
 *           16 keys per vector: each q[d] broadcast once for 16 keys, no horizontal sums;
 *   values: out = sum_j p[j] v_j, the head's hd outputs in registers across all keys;
 * both for the query heads that share a KV head at once (grouped-query attention), so that
 * each key and value vector is loaded once for up to 4 heads. */
#include "forward_impl.h"

#include <math.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define ATTN_AVX512 __attribute__((target("avx512f,fma")))
#define ATTN_AVX2 __attribute__((target("avx2,fma")))

static ATTN_AVX2 void scores_avx2(float *s, const float *q, const float *kt, int64_t ld,
                                  int64_t hd, int64_t j0, int64_t j1)
{
    int64_t j = j0;
    for (; j + 16 <= j1; j += 16) {
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (int64_t d = 0; d < hd; d++) {
            const __m256 qd = _mm256_set1_ps(q[d]);
            a0 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(kt + d * ld + j), a0);
            a1 = _mm256_fmadd_ps(qd, _mm256_loadu_ps(kt + d * ld + j + 8), a1);
        }
        _mm256_storeu_ps(s + j - j0, a0);
        _mm256_storeu_ps(s + j - j0 + 8, a1);
    }
    for (; j < j1; j++) {
        float a = 0.0f;
        for (int64_t d = 0; d < hd; d++) {
            a += q[d] * kt[d * ld + j];
        }
        s[j - j0] = a;
    }
}

/* hd a multiple of 16 (64 / 128 / 256 in every family): up to 256 outputs in registers. */
static ATTN_AVX512 bool values_avx512(float *out, const float *p, const float *v, int64_t ld,
                                      int64_t hd, int64_t n)
{
    if (hd % 16 != 0 || hd > 256) {
        return false;
    }
    const int64_t nv = hd / 16;
    __m512 acc[16];
    for (int64_t c = 0; c < nv; c++) {
        acc[c] = _mm512_setzero_ps();
    }
    for (int64_t j = 0; j < n; j++) {
        const __m512 pj = _mm512_set1_ps(p[j]);
        const float *vj = v + j * ld;
        for (int64_t c = 0; c < nv; c++) {
            acc[c] = _mm512_fmadd_ps(pj, _mm512_loadu_ps(vj + 16 * c), acc[c]);
        }
    }
    for (int64_t c = 0; c < nv; c++) {
        _mm512_storeu_ps(out + 16 * c, acc[c]);
    }
    return true;
}

static ATTN_AVX2 bool values_avx2(float *out, const float *p, const float *v, int64_t ld,
                                  int64_t hd, int64_t n)
{
    if (hd % 8 != 0 || hd > 128) {
        return false;
    }
    const int64_t nv = hd / 8;
    __m256 acc[16];
    for (int64_t c = 0; c < nv; c++) {
        acc[c] = _mm256_setzero_ps();
    }
    for (int64_t j = 0; j < n; j++) {
        const __m256 pj = _mm256_set1_ps(p[j]);
        const float *vj = v + j * ld;
        for (int64_t c = 0; c < nv; c++) {
            acc[c] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 8 * c), acc[c]);
        }
    }
    for (int64_t c = 0; c < nv; c++) {
        _mm256_storeu_ps(out + 8 * c, acc[c]);
    }
    return true;
}

/* The group form: H query heads (q + i * hd) that share one KV head, each key vector loaded
 * once for all of them. s + i * ld_s: head i's scores. */
static inline __attribute__((always_inline)) ATTN_AVX512 void
scores_heads512(const int H, float *s, int64_t ld_s, const float *q, const float *kt, int64_t ld,
                int64_t hd, int64_t j0, int64_t j1)
{
    for (int64_t j = j0; j < j1; j += 16) {
        const __mmask16 m = j1 - j >= 16 ? 0xFFFF : (__mmask16)((1u << (j1 - j)) - 1);
        __m512 acc[4];
#pragma GCC unroll 4
        for (int i = 0; i < H; i++) {
            acc[i] = _mm512_setzero_ps();
        }
        for (int64_t d = 0; d < hd; d++) {
            const __m512 kv = _mm512_maskz_loadu_ps(m, kt + d * ld + j);
#pragma GCC unroll 4
            for (int i = 0; i < H; i++) {
                acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(q[i * hd + d]), kv, acc[i]);
            }
        }
#pragma GCC unroll 4
        for (int i = 0; i < H; i++) {
            _mm512_mask_storeu_ps(s + i * ld_s + j - j0, m, acc[i]);
        }
    }
}

/* H heads' outputs (out + i * hd) = sum_j p[i * ld_p + j] v_j, NV vectors of 16 per head. */
static inline __attribute__((always_inline)) ATTN_AVX512 void
values_heads512(const int H, const int NV, float *out, const float *p, int64_t ld_p,
                const float *v, int64_t ld, int64_t n)
{
    __m512 acc[16];
#pragma GCC unroll 16
    for (int c = 0; c < H * NV; c++) {
        acc[c] = _mm512_setzero_ps();
    }
    for (int64_t j = 0; j < n; j++) {
        const float *vj = v + j * ld;
#pragma GCC unroll 16
        for (int c = 0; c < NV; c++) {
            const __m512 vc = _mm512_loadu_ps(vj + 16 * c);
#pragma GCC unroll 4
            for (int i = 0; i < H; i++) {
                acc[i * NV + c] = _mm512_fmadd_ps(_mm512_set1_ps(p[i * ld_p + j]), vc, acc[i * NV + c]);
            }
        }
    }
#pragma GCC unroll 16
    for (int c = 0; c < H * NV; c++) {
        _mm512_storeu_ps(out + (c / NV) * NV * 16 + (c % NV) * 16, acc[c]);
    }
}

static ATTN_AVX512 void scores_group512(float *s, int64_t ld_s, const float *q, int64_t n_heads,
                                        const float *kt, int64_t ld, int64_t hd, int64_t j0,
                                        int64_t j1)
{
    int64_t h = 0;
    for (; h + 4 <= n_heads; h += 4) {
        scores_heads512(4, s + h * ld_s, ld_s, q + h * hd, kt, ld, hd, j0, j1);
    }
    for (; h < n_heads; h++) {
        scores_heads512(1, s + h * ld_s, ld_s, q + h * hd, kt, ld, hd, j0, j1);
    }
}

static ATTN_AVX512 bool values_group512(float *out, const float *p, int64_t ld_p,
                                        int64_t n_heads, const float *v, int64_t ld, int64_t hd,
                                        int64_t n)
{
    int64_t h = 0;
    if (hd == 64) {
        for (; h + 4 <= n_heads; h += 4) {
            values_heads512(4, 4, out + h * hd, p + h * ld_p, ld_p, v, ld, n);
        }
        for (; h < n_heads; h++) {
            values_heads512(1, 4, out + h * hd, p + h * ld_p, ld_p, v, ld, n);
        }
        return true;
    }
    if (hd == 128) {
        for (; h + 2 <= n_heads; h += 2) {
            values_heads512(2, 8, out + h * hd, p + h * ld_p, ld_p, v, ld, n);
        }
        for (; h < n_heads; h++) {
            values_heads512(1, 8, out + h * hd, p + h * ld_p, ld_p, v, ld, n);
        }
        return true;
    }
    for (; h < n_heads; h++) {
        if (!values_avx512(out + h * hd, p + h * ld_p, v, ld, hd, n)) {
            return false;
        }
    }
    return true;
}

/* e^x for x <= 0 (scores minus their maximum): 2^n * e^r with n = round(x / ln 2), r in
 * [-ln2/2, ln2/2] (ln 2 split in two so r is exact), e^r by its Taylor polynomial to r^7
 * (relative error below 2e-8 there); x below -87 gives 0 as expf's underflow does. */
static inline ATTN_AVX512 __m512 exp_neg512(__m512 x)
{
    const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    const __m512 e = _mm512_scalef_ps(p, n);
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.0f), _CMP_GE_OQ), e);
}

/* lqi_softmax's result (max subtracted, sum of the exponentials, one division) 16 at a time. */
static ATTN_AVX512 void softmax512(float *x, int64_t n)
{
    __m512 mx = _mm512_set1_ps(-INFINITY);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        mx = _mm512_mask_max_ps(mx, m, mx, _mm512_maskz_loadu_ps(m, x + i));
    }
    const __m512 vmax = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
    __m512 sum = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m512 e = exp_neg512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vmax));
        _mm512_mask_storeu_ps(x + i, m, e);
        sum = _mm512_add_ps(sum, _mm512_maskz_mov_ps(m, e));
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = n - i >= 16 ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv));
    }
}

bool lqi_attn_softmax_simd(float *x, int64_t n, enum lq_simd_level level)
{
    if (level >= LQ_SIMD_AVX512) {
        softmax512(x, n);
        return true;
    }
    return false;
}

bool lqi_attn_scores_simd(float *s, int64_t ld_s, const float *q, int64_t n_heads,
                          const float *kt, int64_t ld, int64_t hd, int64_t j0, int64_t j1,
                          enum lq_simd_level level)
{
    if (level >= LQ_SIMD_AVX512) {
        scores_group512(s, ld_s, q, n_heads, kt, ld, hd, j0, j1);
    } else if (level >= LQ_SIMD_AVX2) {
        for (int64_t h = 0; h < n_heads; h++) {
            scores_avx2(s + h * ld_s, q + h * hd, kt, ld, hd, j0, j1);
        }
    } else {
        return false;
    }
    return true;
}

bool lqi_attn_values_simd(float *out, const float *p, int64_t ld_p, int64_t n_heads,
                          const float *v, int64_t ld, int64_t hd, int64_t n,
                          enum lq_simd_level level)
{
    if (level >= LQ_SIMD_AVX512) {
        return values_group512(out, p, ld_p, n_heads, v, ld, hd, n);
    }
    if (level >= LQ_SIMD_AVX2) {
        for (int64_t h = 0; h < n_heads; h++) {
            if (!values_avx2(out + h * hd, p + h * ld_p, v, ld, hd, n)) {
                return false;
            }
        }
        return true;
    }
    return false;
}

#else

bool lqi_attn_scores_simd(float *s, int64_t ld_s, const float *q, int64_t n_heads,
                          const float *kt, int64_t ld, int64_t hd, int64_t j0, int64_t j1,
                          enum lq_simd_level level)
{
    (void)s, (void)ld_s, (void)q, (void)n_heads, (void)kt, (void)ld, (void)hd, (void)j0,
        (void)j1, (void)level;
    return false;
}

bool lqi_attn_softmax_simd(float *x, int64_t n, enum lq_simd_level level)
{
    (void)x, (void)n, (void)level;
    return false;
}

bool lqi_attn_values_simd(float *out, const float *p, int64_t ld_p, int64_t n_heads,
                          const float *v, int64_t ld, int64_t hd, int64_t n,
                          enum lq_simd_level level)
{
    (void)out, (void)p, (void)ld_p, (void)n_heads, (void)v, (void)ld, (void)hd, (void)n,
        (void)level;
    return false;
}

#endif
