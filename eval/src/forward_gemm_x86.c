/* forward_gemm_x86.c - AVX-512 and AVX2 tile kernels of the batched product (forward_gemm.h).
 *
 * Outer products in registers: per element k, the weight panel's nr values are two vector
 * loads, each token's activation one broadcast, and every (token, vector) pair one fused
 * multiply-add into its own accumulator. AVX-512: 12 tokens x 32 rows (24 accumulators of 32
 * registers); AVX2: 6 tokens x 16 rows (12 of 16). Partial tiles (the batch's last tokens,
 * the matrix's last rows) run the same code with fewer tokens and masked stores. BF16 weights
 * on a CPU with AVX512_BF16 take a 12 x 32 kernel on pairs of elements (vdpbf16ps: twice the
 * products per instruction), its panel moved straight from the stored rows; Q4_0 and Q4_K
 * weights on a CPU with AVX512_VNNI a 6 x 32 kernel in integers (vpdpbusd: four 8-bit
 * products per int lane and instruction) against their 8-bit activations. At the AMX level
 * BF16 weights take 32 x 32 tiles in AMX's tile registers (tdpbf16ps: 16 x 16 outputs of 16
 * pairs each per instruction). */
#include "forward_gemm.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
#include <immintrin.h>
#include <string.h>

#include "lq/fp16.h"
#include "lq/types.h"
#include "lqi.h"

#define GEMM_AVX512 __attribute__((target("avx512f,fma")))
#define GEMM_AVX2 __attribute__((target("avx2,fma")))
#define GEMM_BF16 __attribute__((target("avx512f,avx512bf16,fma")))
#define GEMM_VNNI __attribute__((target("avx512f,avx512vnni,fma")))
#define GEMM_AMX __attribute__((target("avx512f,amx-tile,amx-bf16,amx-int8")))
#define INLINE inline __attribute__((always_inline))

// ---- AVX-512: 12 x 32 --------------------------------------------------------------------

#define MR512 12

/* Rows i < m of a 12 x 32 tile's accumulators into c (masked past n columns). */
static INLINE GEMM_AVX512 void store512(const __m512 *a0, const __m512 *a1, const int m, float *c,
                                        int64_t ldc, int n, bool accumulate)
{
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
    store512(a0, a1, m, c, ldc, n, accumulate);
}

/* A kernel for m = 1 .. 6 or 1 .. 12 tokens: each case inlines tile_m with m a constant. */
#define TILE_CASES_1_6(tile_m)                                                                     \
    case 1: tile_m(1, kc, xp, wp, c, ldc, n, accumulate); break;                                   \
    case 2: tile_m(2, kc, xp, wp, c, ldc, n, accumulate); break;                                   \
    case 3: tile_m(3, kc, xp, wp, c, ldc, n, accumulate); break;                                   \
    case 4: tile_m(4, kc, xp, wp, c, ldc, n, accumulate); break;                                   \
    case 5: tile_m(5, kc, xp, wp, c, ldc, n, accumulate); break;                                   \
    case 6: tile_m(6, kc, xp, wp, c, ldc, n, accumulate); break;
#define TILE6_SWITCH(tile_m)                                                                       \
    switch (m) {                                                                                   \
    TILE_CASES_1_6(tile_m)                                                                         \
    default: break;                                                                                \
    }
#define TILE12_SWITCH(tile_m)                                                                      \
    switch (m) {                                                                                   \
    TILE_CASES_1_6(tile_m)                                                                         \
    case 7: tile_m(7, kc, xp, wp, c, ldc, n, accumulate); break;                                   \
    case 8: tile_m(8, kc, xp, wp, c, ldc, n, accumulate); break;                                   \
    case 9: tile_m(9, kc, xp, wp, c, ldc, n, accumulate); break;                                   \
    case 10: tile_m(10, kc, xp, wp, c, ldc, n, accumulate); break;                                 \
    case 11: tile_m(11, kc, xp, wp, c, ldc, n, accumulate); break;                                 \
    case 12: tile_m(12, kc, xp, wp, c, ldc, n, accumulate); break;                                 \
    default: break;                                                                                \
    }

static GEMM_AVX512 void tile512(int64_t kc, const float *xp, const float *wp, float *c,
                                int64_t ldc, int m, int n, bool accumulate)
{
    TILE12_SWITCH(tile512_m)
}

/* Stores the transpose of r (16 rows of 16 32-bit values) as d[e * 32 + i] = r[i][e]: unpack,
 * then 128-bit lane shuffles. Moves bits only, so it serves floats and BF16 pairs alike. */
static INLINE GEMM_AVX512 void transpose16_store(float *d, const __m512 r[16])
{
    __m512 a[16], b[16];
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

/* The weight panel: rows tmp[j * LQI_GEMM_KC + k] (j < nv) as wp[k * 32 + j], rows past nv
 * zero; 16 x 16 blocks transposed in registers. */
static GEMM_AVX512 void panel512(float *wp, const float *tmp, int nv, int64_t kc)
{
    int64_t k0 = 0;
    for (; k0 + 16 <= kc; k0 += 16) {
        for (int h = 0; h < 2; h++) {
            __m512 r[16];
            for (int i = 0; i < 16; i++) {
                const int j = h * 16 + i;
                r[i] = j < nv ? _mm512_loadu_ps(tmp + j * LQI_GEMM_KC + k0) : _mm512_setzero_ps();
            }
            transpose16_store(wp + k0 * 32 + h * 16, r);
        }
    }
    lqi_gemm_panel_plain(wp + k0 * 32, tmp + k0, 32, nv, kc - k0);
}

// ---- AVX-512 with AVX512_BF16: 12 x 32 on BF16 pairs ---------------------------------------

/* The same outer products as tile512_m, two elements per step: vdpbf16ps adds both products
 * of a pair of BF16 values to each float lane (ggml's BF16 kernels use the same instruction,
 * with its flush of denormal inputs and results to zero). */
static INLINE GEMM_BF16 void tilebf16_m(const int m, int64_t kc, const float *xpf, const float *wpf,
                                        float *c, int64_t ldc, int n, bool accumulate)
{
    const int32_t *xp = (const int32_t *)(const void *)xpf;
    const int32_t *wp = (const int32_t *)(const void *)wpf;
    __m512 a0[MR512], a1[MR512];
#pragma GCC unroll 12
    for (int i = 0; i < m; i++) {
        a0[i] = _mm512_setzero_ps();
        a1[i] = _mm512_setzero_ps();
    }
    for (int64_t p = 0; p < kc / 2; p++) {
        const __m512bh w0 = (__m512bh)_mm512_loadu_si512(wp + p * 32);
        const __m512bh w1 = (__m512bh)_mm512_loadu_si512(wp + p * 32 + 16);
        const int32_t *x = xp + p * MR512;
#pragma GCC unroll 12
        for (int i = 0; i < m; i++) {
            const __m512bh xi = (__m512bh)_mm512_set1_epi32(x[i]);
            a0[i] = _mm512_dpbf16_ps(a0[i], xi, w0);
            a1[i] = _mm512_dpbf16_ps(a1[i], xi, w1);
        }
    }
    store512(a0, a1, m, c, ldc, n, accumulate);
}

static GEMM_BF16 void tilebf16(int64_t kc, const float *xp, const float *wp, float *c,
                               int64_t ldc, int m, int n, bool accumulate)
{
    TILE12_SWITCH(tilebf16_m)
}

/* The panel straight from stored BF16 rows (lqi_gemm_panel_raw_fn), 16 x 16 words at a
 * time through the same register transpose as the float panel. */
static GEMM_AVX512 void panelbf16(uint32_t *wp, const unsigned char *rows, size_t row_size, int nv,
                                  int64_t kc)
{
    const int64_t np = kc / 2;
    int64_t p0 = 0;
    for (; p0 + 16 <= np; p0 += 16) {
        for (int h = 0; h < 2; h++) {
            __m512 r[16];
            for (int i = 0; i < 16; i++) {
                const int j = h * 16 + i;
                r[i] = j < nv ? _mm512_loadu_ps(rows + (size_t)j * row_size + (size_t)p0 * 4)
                              : _mm512_setzero_ps();
            }
            transpose16_store((float *)(void *)(wp + p0 * 32 + h * 16), r);
        }
    }
    for (; p0 < np; p0++) {
        for (int j = 0; j < 32; j++) {
            uint32_t v = 0;
            if (j < nv) {
                memcpy(&v, rows + (size_t)j * row_size + (size_t)p0 * 4, 4);
            }
            wp[p0 * 32 + j] = v;
        }
    }
}

// ---- AMX: 32 x 32 on BF16 pairs in tile registers ----------------------------------------

/* Tile registers 0-3 hold the 2 x 2 blocks of 16 tokens x 16 rows of floats (C), 4-5 two
 * blocks of 16 tokens x 32 activations (A: 16 pairs per row), 6-7 two panels of 16 pairs x
 * 16 weight rows (B, the word layout of LQI_GEMM_BF16X2). Every tile is 16 rows of 64 bytes.
 * The configuration is static: GCC 12 drops stores to a local one before ldtilecfg (the
 * builtin is not seen to read its operand), leaving tiles unconfigured (tile ops then fault). */
struct amx_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};
static const struct amx_config amx_config __attribute__((aligned(64))) = {
    .palette = 1,
    .colsb = { 64, 64, 64, 64, 64, 64, 64, 64 },
    .rows = { 16, 16, 16, 16, 16, 16, 16, 16 },
};

/* GCC's tile intrinsics are asm statements that do not name the memory they read or write. */
#define AMX_MEMORY_BARRIER() __asm__ volatile("" ::: "memory")

/* The 8-bit kernels' tiles: C 0-3 as above (int32), A 4-5 16 tokens x 32 bytes (one block
 * of 32 activations each), B 6-7 8 words x 16 rows (four weight values per word). */
static const struct amx_config amx_config_int8 __attribute__((aligned(64))) = {
    .palette = 1,
    .colsb = { 64, 64, 64, 64, 32, 32, 64, 64 },
    .rows = { 16, 16, 16, 16, 16, 16, 8, 8 },
};

/* The configuration is per thread (tile instructions fault until one is loaded); a kernel
 * loads its own when the thread last loaded the other. */
static _Thread_local const struct amx_config *amx_loaded;

static INLINE GEMM_AMX void amx_configure(const struct amx_config *cfg)
{
    if (amx_loaded != cfg) {
        _tile_loadconfig(cfg);
        amx_loaded = cfg;
    }
}

static GEMM_AMX void tileamx(int64_t kc, const float *xpf, const float *wpf, float *c,
                             int64_t ldc, int m, int n, bool accumulate)
{
    amx_configure(&amx_config);
    const char *xp = (const char *)xpf, *wp = (const char *)wpf;
    const int64_t xs = kc * 2;     /* bytes per token row of the chunk */
    const bool whole = m == 32 && n == 32;
    const long cs = (long)ldc * 4; /* bytes per output row */
    AMX_MEMORY_BARRIER();
    if (whole && accumulate) {
        _tile_loadd(0, c, cs);
        _tile_loadd(1, c + 16, cs);
        _tile_loadd(2, c + 16 * ldc, cs);
        _tile_loadd(3, c + 16 * ldc + 16, cs);
    } else {
        _tile_zero(0);
        _tile_zero(1);
        _tile_zero(2);
        _tile_zero(3);
    }
    for (int64_t k = 0; k < kc; k += 32) {
        _tile_loadd(4, xp + k * 2, xs);                     /* tokens 0-15 */
        _tile_loadd(5, xp + 16 * xs + k * 2, xs);           /* tokens 16-31 */
        _tile_loadd(6, wp + k / 2 * 128, 128);              /* rows 0-15 */
        _tile_loadd(7, wp + k / 2 * 128 + 64, 128);         /* rows 16-31 */
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
    }
    if (whole) {
        _tile_stored(0, c, cs);
        _tile_stored(1, c + 16, cs);
        _tile_stored(2, c + 16 * ldc, cs);
        _tile_stored(3, c + 16 * ldc + 16, cs);
        AMX_MEMORY_BARRIER();
        return;
    }
    float out[4][16 * 16] __attribute__((aligned(64)));
    _tile_stored(0, out[0], 64);
    _tile_stored(1, out[1], 64);
    _tile_stored(2, out[2], 64);
    _tile_stored(3, out[3], 64);
    AMX_MEMORY_BARRIER();
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            const float v = out[i / 16 * 2 + j / 16][i % 16 * 16 + j % 16];
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + v : v;
        }
    }
}

/* Q6_K's sub-blocks are 16 elements: A tiles of 16 tokens x 16 bytes, B tiles of 4 words x
 * 16 rows. */
static const struct amx_config amx_config_int8_16 __attribute__((aligned(64))) = {
    .palette = 1,
    .colsb = { 64, 64, 64, 64, 16, 16, 64, 64 },
    .rows = { 16, 16, 16, 16, 16, 16, 4, 4 },
};

/* The 8-bit kernels: per block of 32 elements (a sub-block of Q4_K / Q5_K, two of Q6_K), one
 * tile product gives each token x row pair the exact integer dot of the activation values and
 * the weight values, as ggml's kernels sum them; then, as in tileq4_m, sum += dot * (weight
 * scale * activation scale), with Q4_0's q + 8 taken back as 8 * (sum of the activations) from
 * the integer dot and Q4_K / Q5_K's min term as dmin m * (activation scale * sum). Each
 * quadrant of 16 tokens x 16 rows keeps its sums in 16 registers across the chunk; the tile
 * products of the next two units (a block, or Q6_K's half block) are under way while one
 * unit's dots are scaled, so the tile unit's latency stays hidden. */
enum amx_int_kind { AMX_INT_Q8_0, AMX_INT_Q4_0, AMX_INT_KQ, AMX_INT_Q6_K };

/* Words of a panel's block of 32 elements, and tile products (units) per block. */
static INLINE int64_t amx_int_wwords(const enum amx_int_kind kind)
{
    return kind == AMX_INT_Q8_0 || kind == AMX_INT_Q4_0 ? LQI_GEMM_Q4_0_WORDS(32)
                                                       : LQI_GEMM_Q4_K_WORDS(32);
}

static INLINE int64_t amx_int_units(const enum amx_int_kind kind)
{
    return kind == AMX_INT_Q6_K ? 2 : 1;
}

#define AMX_INT_DOT(C, A, B, u)                                                                 \
    do {                                                                                       \
        const int64_t b_ = (u) / upb, h_ = (u) % upb;                                          \
        _tile_loadd(A, xq + b_ * xwords * 4 + th * 512 + h_ * 16, 32);                         \
        _tile_loadd(B, wq + b_ * wwords * 4 + h_ * 512 + rh * 64, 128);                        \
        _tile_zero(C);                                                                         \
        if (kind == AMX_INT_Q4_0 || kind == AMX_INT_KQ) {                                      \
            _tile_dpbsud(C, A, B);                                                             \
        } else {                                                                               \
            _tile_dpbssd(C, A, B);                                                             \
        }                                                                                      \
    } while (0)

/* Adds unit u's 16 x 16 integer dots (dots[i * 16 + j]) to the quadrant's sums. */
static INLINE GEMM_AMX void amx_int_scale(const enum amx_int_kind kind, __m512 acc[16],
                                          const int32_t *dots, const int32_t *xw,
                                          const int32_t *ww, int64_t u, int th, int rh)
{
    const int64_t b = u / amx_int_units(kind), h = u % amx_int_units(kind);
    const int32_t *xb = xw + b * LQI_GEMM_Q8_WORDS * 32, *wb = ww + b * amx_int_wwords(kind);
    const float *dx = (const float *)(const void *)(xb + 8 * 32) + th * 16;
    const int32_t *sum = xb + 9 * 32 + th * 16; /* Q8_0 format */
    const float *dx_sum = (const float *)(const void *)sum; /* Q8_K format: dx * sum */
    const __m512 dw = _mm512_loadu_ps((const float *)(const void *)(wb + (8 + h) * 32) + rh * 16);
    const __m512 mw = kind == AMX_INT_KQ
                          ? _mm512_loadu_ps((const float *)(const void *)(wb + 9 * 32) + rh * 16)
                          : _mm512_setzero_ps();
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) {
        __m512i v = _mm512_load_si512(dots + i * 16);
        if (kind == AMX_INT_Q4_0) {
            v = _mm512_sub_epi32(v, _mm512_set1_epi32(8 * sum[i]));
        }
        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(v), _mm512_mul_ps(dw, _mm512_set1_ps(dx[i])),
                                 acc[i]);
        if (kind == AMX_INT_KQ) {
            acc[i] = _mm512_fnmadd_ps(mw, _mm512_set1_ps(dx_sum[i]), acc[i]);
        }
    }
}

static INLINE GEMM_AMX void tileamx_int(const enum amx_int_kind kind, int64_t kc,
                                        const float *xpf, const float *wpf, float *c,
                                        int64_t ldc, int m, int n, bool accumulate)
{
    amx_configure(kind == AMX_INT_Q6_K ? &amx_config_int8_16 : &amx_config_int8);
    const char *xq = (const char *)xpf, *wq = (const char *)wpf;
    const int32_t *xw = (const int32_t *)(const void *)xpf;
    const int32_t *ww = (const int32_t *)(const void *)wpf;
    const int64_t wwords = amx_int_wwords(kind), xwords = LQI_GEMM_Q8_WORDS * 32;
    const int64_t upb = amx_int_units(kind), nu = kc / 32 * upb;
    int32_t dots[256] __attribute__((aligned(64)));
    for (int th = 0; th < 2 && th * 16 < m; th++) {
        for (int rh = 0; rh < 2 && rh * 16 < n; rh++) {
            __m512 acc[16];
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) {
                acc[i] = _mm512_setzero_ps();
            }
            /* units u and u + 1 in flight while u - 1 is scaled: unit u in C tile u % 4,
             * its operands in A / B tiles 4 + u % 2, 6 + u % 2 */
            AMX_INT_DOT(0, 4, 6, 0);
            if (nu > 1) {
                AMX_INT_DOT(1, 5, 7, 1);
            }
#define AMX_INT_STEP(C, CN, A, B, u)                                                           \
    if ((u) < nu) {                                                                            \
        _tile_stored(C, dots, 64);                                                             \
        AMX_MEMORY_BARRIER();                                                                  \
        if ((u) + 2 < nu) {                                                                    \
            AMX_INT_DOT(CN, A, B, (u) + 2);                                                    \
        }                                                                                      \
        amx_int_scale(kind, acc, dots, xw, ww, u, th, rh);                                     \
    }
            for (int64_t u = 0; u < nu; u += 4) {
                AMX_INT_STEP(0, 2, 4, 6, u)
                AMX_INT_STEP(1, 3, 5, 7, u + 1)
                AMX_INT_STEP(2, 0, 4, 6, u + 2)
                AMX_INT_STEP(3, 1, 5, 7, u + 3)
            }
#undef AMX_INT_STEP
            const int nj = n - rh * 16 < 16 ? n - rh * 16 : 16;
            const __mmask16 mask = (__mmask16)((1u << nj) - 1);
            for (int i = 0; i < 16 && th * 16 + i < m; i++) {
                float *ci = c + (th * 16 + i) * ldc + rh * 16;
                __m512 v = acc[i];
                if (accumulate) {
                    v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, ci));
                }
                _mm512_mask_storeu_ps(ci, mask, v);
            }
        }
    }
}

/* The kernels of lqi_gemm_kernel's table, one per kind. */
#define TILEAMX_INT(name, kind)                                                                    \
    static GEMM_AMX void name(int64_t kc, const float *xp, const float *wp, float *c,              \
                              int64_t ldc, int m, int n, bool accumulate)                          \
    {                                                                                              \
        tileamx_int(kind, kc, xp, wp, c, ldc, m, n, accumulate);                                   \
    }
TILEAMX_INT(tileamx_q8_0, AMX_INT_Q8_0)
TILEAMX_INT(tileamx_q4_0, AMX_INT_Q4_0)
TILEAMX_INT(tileamx_kq, AMX_INT_KQ)
TILEAMX_INT(tileamx_q6_k, AMX_INT_Q6_K)
#undef TILEAMX_INT

// ---- AVX-512 with AVX512_VNNI: Q4_0 x Q8_0 and Q4_K x Q8_K, 6 x 32 in integers -------------

#define MRQ 6

/* Per block (Q4_0) or sub-block (Q4_K) of 32 elements, vpdpbusd adds four products of the
 * unsigned weight values and the signed activations per int lane: the exact integer dot of
 * ggml's kernels. Q4_0 (values q + 8): the lane starts at -8 * (sum of the activations) and
 * ends on sum((q - 8) x); then, as ggml's q4_0 kernel, sum += dot * (weight scale *
 * activation scale). Q4_K (values q): sum += dot * (d sc * activation scale) - dmin m *
 * (activation scale * sum of the activations), the scale and min terms of ggml's q4_K kernel
 * by sub-block. */
static INLINE GEMM_VNNI void tileq4_m(const int m, const bool kq, int64_t kc, const float *xpf,
                                      const float *wpf, float *c, int64_t ldc, int n,
                                      bool accumulate)
{
    const int32_t *xp = (const int32_t *)(const void *)xpf;
    const int32_t *wp = (const int32_t *)(const void *)wpf;
    const int64_t wwords = kq ? LQI_GEMM_Q4_K_WORDS(32) : LQI_GEMM_Q4_0_WORDS(32);
    __m512 f0[MRQ], f1[MRQ];
#pragma GCC unroll 6
    for (int i = 0; i < m; i++) {
        f0[i] = _mm512_setzero_ps();
        f1[i] = _mm512_setzero_ps();
    }
    for (int64_t b = 0; b < kc / 32; b++) {
        const int32_t *wb = wp + b * wwords, *xb = xp + b * LQI_GEMM_Q8_WORDS * MRQ;
        const float *xs = (const float *)(const void *)(xb + 8 * MRQ);
        __m512i s0[MRQ], s1[MRQ];
#pragma GCC unroll 6
        for (int i = 0; i < m; i++) {
            s0[i] = s1[i] = kq ? _mm512_setzero_si512() : _mm512_set1_epi32(-8 * xb[9 * MRQ + i]);
        }
#pragma GCC unroll 8
        for (int g = 0; g < 8; g++) {
            const __m512i w0 = _mm512_loadu_si512(wb + g * 32);
            const __m512i w1 = _mm512_loadu_si512(wb + g * 32 + 16);
#pragma GCC unroll 6
            for (int i = 0; i < m; i++) {
                const __m512i xi = _mm512_set1_epi32(xb[g * MRQ + i]);
                s0[i] = _mm512_dpbusd_epi32(s0[i], w0, xi);
                s1[i] = _mm512_dpbusd_epi32(s1[i], w1, xi);
            }
        }
        const __m512 d0 = _mm512_loadu_ps(wb + 8 * 32), d1 = _mm512_loadu_ps(wb + 8 * 32 + 16);
#pragma GCC unroll 6
        for (int i = 0; i < m; i++) {
            const __m512 dx = _mm512_set1_ps(xs[i]);
            f0[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s0[i]), _mm512_mul_ps(d0, dx), f0[i]);
            f1[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1[i]), _mm512_mul_ps(d1, dx), f1[i]);
        }
        if (kq) {
            const __m512 m0 = _mm512_loadu_ps(wb + 9 * 32), m1 = _mm512_loadu_ps(wb + 9 * 32 + 16);
#pragma GCC unroll 6
            for (int i = 0; i < m; i++) {
                const __m512 sx = _mm512_set1_ps(xs[i] * (float)xb[9 * MRQ + i]);
                f0[i] = _mm512_fnmadd_ps(m0, sx, f0[i]);
                f1[i] = _mm512_fnmadd_ps(m1, sx, f1[i]);
            }
        }
    }
    store512(f0, f1, m, c, ldc, n, accumulate);
}

#define TILEQ4_0_M(M, ...) tileq4_m(M, false, __VA_ARGS__)
#define TILEQ4_K_M(M, ...) tileq4_m(M, true, __VA_ARGS__)

static GEMM_VNNI void tileq4_0(int64_t kc, const float *xp, const float *wp, float *c,
                               int64_t ldc, int m, int n, bool accumulate)
{
    TILE6_SWITCH(TILEQ4_0_M)
}

static GEMM_VNNI void tileq4_k(int64_t kc, const float *xp, const float *wp, float *c,
                               int64_t ldc, int m, int n, bool accumulate)
{
    TILE6_SWITCH(TILEQ4_K_M)
}

/* 32 values of 4 bits (16 bytes, value l in the low and l + 16 in the high nibble) as 8 words
 * of 4 values in element order, column j of the 8 x 32 words at d. */
static INLINE GEMM_AVX512 void nibbles_to_words(uint32_t *d, int j, const unsigned char *qs)
{
    const __m128i lo = _mm_set1_epi8(0x0F);
    const __m128i q = _mm_loadu_si128((const __m128i *)(const void *)qs);
    uint32_t v[8];
    _mm_storeu_si128((__m128i *)(void *)v, _mm_and_si128(q, lo));
    _mm_storeu_si128((__m128i *)(void *)(v + 4), _mm_and_si128(_mm_srli_epi16(q, 4), lo));
    for (int g = 0; g < 8; g++) {
        d[g * 32 + j] = v[g];
    }
}

/* The panel from stored Q4_0 rows (block_q4_0: F16 scale, 16 bytes of nibbles), 32 rows by
 * block: each row's 32 values q + 8 as 8 words, and its scale. */
static GEMM_AVX512 void panelq4_0(uint32_t *wp, const unsigned char *rows, size_t row_size,
                                  int nv, int64_t kc)
{
    static const unsigned char zeros[16] = { 0 };
    for (int64_t b = 0; b < kc / 32; b++) {
        uint32_t *d = wp + b * LQI_GEMM_Q4_0_WORDS(32);
        float *scale = (float *)(void *)(d + 8 * 32);
        for (int j = 0; j < 32; j++) {
            const unsigned char *blk = rows + (size_t)j * row_size + (size_t)b * 18;
            uint16_t h = 0;
            if (j < nv) {
                memcpy(&h, blk, 2);
            }
            nibbles_to_words(d, j, j < nv ? blk + 2 : zeros);
            scale[j] = lq_fp16_to_fp32(h);
        }
    }
}

/* The panel from stored Q4_K or Q5_K rows, 32 rows by sub-block of 32: the values q as 8
 * words, d * sc and dmin * m. block_q4_K: F16 d and dmin, 12 bytes of 6-bit scales and mins,
 * 128 bytes of nibbles (sub-blocks 2p and 2p + 1 in the low and high nibbles of bytes
 * 32p .. 32p + 31). block_q5_K: the same, 32 bytes of fifth bits between the scales and the
 * nibbles (bits 2p and 2p + 1 of byte l for element l of those sub-blocks). */
static INLINE GEMM_AVX512 void panel_kq(uint32_t *wp, const unsigned char *rows, size_t row_size,
                                        int nv, int64_t kc, const bool q5)
{
    const __m256i lo = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
    const size_t block_size = q5 ? 176 : 144;
    for (int64_t b = 0; b < kc / 256; b++) {
        for (int j = 0; j < 32; j++) {
            const unsigned char *blk = rows + (size_t)j * row_size + (size_t)b * block_size;
            float dd = 0.0f, dmin = 0.0f;
            uint32_t v[8][8] = { { 0 } }; /* sub-block, word */
            int sc[8] = { 0 }, mn[8] = { 0 };
            if (j < nv) {
                uint16_t h[2];
                memcpy(h, blk, 4);
                dd = lq_fp16_to_fp32(h[0]);
                dmin = lq_fp16_to_fp32(h[1]);
                const unsigned char *q = blk + 4;
                for (int s = 0; s < 8; s++) { /* ggml's get_scale_min_k4 */
                    sc[s] = s < 4 ? q[s] & 63 : (q[s + 4] & 0xF) | ((q[s - 4] >> 6) << 4);
                    mn[s] = s < 4 ? q[s + 4] & 63 : (q[s + 4] >> 4) | ((q[s] >> 6) << 4);
                }
                const unsigned char *qs = blk + (q5 ? 48 : 16);
                const __m256i qh = q5 ? _mm256_loadu_si256((const __m256i *)(const void *)(blk + 16))
                                      : _mm256_setzero_si256();
                for (int p = 0; p < 4; p++) {
                    const __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(qs + 32 * p));
                    __m256i v0 = _mm256_and_si256(x, lo);
                    __m256i v1 = _mm256_and_si256(_mm256_srli_epi16(x, 4), lo);
                    if (q5) { /* bit 2p (2p + 1) of each byte, times 16 */
                        const __m256i h0 = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * p), one);
                        const __m256i h1 = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * p + 1), one);
                        v0 = _mm256_or_si256(v0, _mm256_slli_epi16(h0, 4));
                        v1 = _mm256_or_si256(v1, _mm256_slli_epi16(h1, 4));
                    }
                    _mm256_storeu_si256((__m256i *)(void *)v[2 * p], v0);
                    _mm256_storeu_si256((__m256i *)(void *)v[2 * p + 1], v1);
                }
            }
            for (int s = 0; s < 8; s++) {
                uint32_t *d = wp + (b * 8 + s) * LQI_GEMM_Q4_K_WORDS(32);
                for (int g = 0; g < 8; g++) {
                    d[g * 32 + j] = v[s][g];
                }
                ((float *)(void *)(d + 8 * 32))[j] = dd * (float)sc[s];
                ((float *)(void *)(d + 9 * 32))[j] = dmin * (float)mn[s];
            }
        }
    }
}

static GEMM_AVX512 void panelq4_k(uint32_t *wp, const unsigned char *rows, size_t row_size,
                                  int nv, int64_t kc)
{
    panel_kq(wp, rows, row_size, nv, kc, false);
}

static GEMM_AVX512 void panelq5_k(uint32_t *wp, const unsigned char *rows, size_t row_size,
                                  int nv, int64_t kc)
{
    panel_kq(wp, rows, row_size, nv, kc, true);
}

/* The panel from stored Q8_0 rows (block_q8_0: F16 scale, 32 signed values), 32 rows by
 * block: each row's values as 8 words, and its scale. */
static GEMM_AVX512 void panelq8_0(uint32_t *wp, const unsigned char *rows, size_t row_size,
                                  int nv, int64_t kc)
{
    for (int64_t b = 0; b < kc / 32; b++) {
        uint32_t *d = wp + b * LQI_GEMM_Q4_0_WORDS(32);
        float *scale = (float *)(void *)(d + 8 * 32);
        for (int j = 0; j < 32; j++) {
            uint32_t v[8] = { 0 };
            uint16_t h = 0;
            if (j < nv) {
                const unsigned char *blk = rows + (size_t)j * row_size + (size_t)b * 34;
                memcpy(&h, blk, 2);
                memcpy(v, blk + 2, 32);
            }
            for (int g = 0; g < 8; g++) {
                d[g * 32 + j] = v[g];
            }
            scale[j] = lq_fp16_to_fp32(h);
        }
    }
}

/* The panel from stored Q6_K rows (block_q6_K: 128 bytes of low nibbles, 64 of high bit
 * pairs, 16 int8 scales, F16 d), 32 rows by block of 32 (two sub-blocks of 16): the values
 * q - 32 as 8 signed words, d * sc of the first and of the second sub-block (ggml's
 * dequantize_row_q6_K: element 128n + 32k + l, l < 32, is nibble k / 2 (low, high) of
 * ql[64n + 32 (k % 2) + l] with bits 2k, 2k + 1 of qh[32n + l], scale sc[8n + 2k + l / 16]). */
static GEMM_AVX512 void panelq6_k(uint32_t *wp, const unsigned char *rows, size_t row_size,
                                  int nv, int64_t kc)
{
    const __m256i lo = _mm256_set1_epi8(0x0F), three = _mm256_set1_epi8(3);
    const __m256i bias = _mm256_set1_epi8(32);
    for (int64_t b = 0; b < kc / 256; b++) {
        for (int j = 0; j < 32; j++) {
            const unsigned char *blk = rows + (size_t)j * row_size + (size_t)b * 210;
            uint32_t v[8][8] = { { 0 } }; /* block of 32, word */
            float sc[16] = { 0 };
            if (j < nv) {
                uint16_t h;
                memcpy(&h, blk + 208, 2);
                const float d = lq_fp16_to_fp32(h);
                for (int s = 0; s < 16; s++) {
                    sc[s] = d * (float)(int8_t)blk[192 + s];
                }
                for (int n = 0; n < 2; n++) {
                    const unsigned char *ql = blk + 64 * n, *qh = blk + 128 + 32 * n;
                    const __m256i l0 = _mm256_loadu_si256((const __m256i *)(const void *)ql);
                    const __m256i l1 = _mm256_loadu_si256((const __m256i *)(const void *)(ql + 32));
                    const __m256i hb = _mm256_loadu_si256((const __m256i *)(const void *)qh);
                    for (int k = 0; k < 4; k++) {
                        const __m256i l = k % 2 ? l1 : l0;
                        const __m256i nib = k / 2 ? _mm256_and_si256(_mm256_srli_epi16(l, 4), lo)
                                                  : _mm256_and_si256(l, lo);
                        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(hb, 2 * k), three);
                        const __m256i q = _mm256_or_si256(nib, _mm256_slli_epi16(hi, 4));
                        _mm256_storeu_si256((__m256i *)(void *)v[4 * n + k],
                                            _mm256_sub_epi8(q, bias));
                    }
                }
            }
            for (int s = 0; s < 8; s++) {
                uint32_t *d = wp + (b * 8 + s) * LQI_GEMM_Q4_K_WORDS(32);
                for (int g = 0; g < 8; g++) {
                    d[g * 32 + j] = v[s][g];
                }
                ((float *)(void *)(d + 8 * 32))[j] = sc[2 * s];
                ((float *)(void *)(d + 9 * 32))[j] = sc[2 * s + 1];
            }
        }
    }
}

/* AVX512_BF16: CPUID leaf 7, sub-leaf 1, EAX bit 5 (the AVX-512 state is checked by the
 * level, which requires AVX512F). */
static bool cpu_has_avx512_bf16(void)
{
    unsigned a, b, c, d;
    return __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5));
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

static const struct lqi_gemm_kernel kernel512 = { MR512, 32, LQI_GEMM_F32, tile512, panel512,
                                                  NULL, "avx512" };
static const struct lqi_gemm_kernel kernelbf16 = { MR512, 32, LQI_GEMM_BF16X2, tilebf16, NULL,
                                                   panelbf16, "avx512-bf16" };
static const struct lqi_gemm_kernel kernelamx = { 32, 32, LQI_GEMM_BF16_TOKENS, tileamx, NULL,
                                                  panelbf16, "amx-bf16" };
static const struct lqi_gemm_kernel kernelamx_q8_0 = { 32, 32, LQI_GEMM_AMX_Q8_0, tileamx_q8_0,
                                                       NULL, panelq8_0, "amx-q8_0" };
static const struct lqi_gemm_kernel kernelamx_q4_0 = { 32, 32, LQI_GEMM_AMX_Q8_0, tileamx_q4_0,
                                                       NULL, panelq4_0, "amx-q4_0" };
static const struct lqi_gemm_kernel kernelamx_q4_k = { 32, 32, LQI_GEMM_AMX_Q8_K, tileamx_kq,
                                                       NULL, panelq4_k, "amx-q4_k" };
static const struct lqi_gemm_kernel kernelamx_q5_k = { 32, 32, LQI_GEMM_AMX_Q8_K, tileamx_kq,
                                                       NULL, panelq5_k, "amx-q5_k" };
static const struct lqi_gemm_kernel kernelamx_q6_k = { 32, 32, LQI_GEMM_AMX_Q8_K, tileamx_q6_k,
                                                       NULL, panelq6_k, "amx-q6_k" };
static const struct lqi_gemm_kernel kernelq4_0 = { MRQ, 32, LQI_GEMM_Q4_0_Q8, tileq4_0, NULL,
                                                   panelq4_0, "avx512-vnni-q4_0" };
static const struct lqi_gemm_kernel kernelq4_k = { MRQ, 32, LQI_GEMM_Q4_K_Q8, tileq4_k, NULL,
                                                   panelq4_k, "avx512-vnni-q4_k" };
static const struct lqi_gemm_kernel kernel256 = { MR256, 16, LQI_GEMM_F32, tile256, NULL, NULL,
                                                  "avx2" };

const struct lqi_gemm_kernel *lqi_gemm_kernel_avx512(void)
{
    return &kernel512;
}

const struct lqi_gemm_kernel *lqi_gemm_kernel_avx512_bf16(void)
{
    return cpu_has_avx512_bf16() ? &kernelbf16 : NULL;
}

/* Only asked for at the AMX level, which checks the CPU and the OS. */
const struct lqi_gemm_kernel *lqi_gemm_kernel_amx_bf16(void)
{
    return &kernelamx;
}

const struct lqi_gemm_kernel *lqi_gemm_kernel_amx_quant(int type, int act_type)
{
    switch (type) {
    case LQ_TYPE_Q8_0:
        return act_type == LQ_TYPE_Q8_0 ? &kernelamx_q8_0 : NULL;
    case LQ_TYPE_Q4_0:
        return act_type == LQ_TYPE_Q8_0 ? &kernelamx_q4_0 : NULL;
    case LQ_TYPE_Q4_K:
        return act_type == LQ_TYPE_Q8_K ? &kernelamx_q4_k : NULL;
    case LQ_TYPE_Q5_K:
        return act_type == LQ_TYPE_Q8_K ? &kernelamx_q5_k : NULL;
    case LQ_TYPE_Q6_K:
        return act_type == LQ_TYPE_Q8_K ? &kernelamx_q6_k : NULL;
    default:
        return NULL;
    }
}

const struct lqi_gemm_kernel *lqi_gemm_kernel_avx512_q4_0(void)
{
    return lqi_cpu_avx512_vnni() ? &kernelq4_0 : NULL;
}

const struct lqi_gemm_kernel *lqi_gemm_kernel_avx512_q4_k(void)
{
    return lqi_cpu_avx512_vnni() ? &kernelq4_k : NULL;
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

const struct lqi_gemm_kernel *lqi_gemm_kernel_amx_bf16(void)
{
    return NULL;
}

const struct lqi_gemm_kernel *lqi_gemm_kernel_amx_quant(int type, int act_type)
{
    (void)type;
    (void)act_type;
    return NULL;
}

const struct lqi_gemm_kernel *lqi_gemm_kernel_avx512_bf16(void)
{
    return NULL;
}

const struct lqi_gemm_kernel *lqi_gemm_kernel_avx512_q4_0(void)
{
    return NULL;
}

const struct lqi_gemm_kernel *lqi_gemm_kernel_avx512_q4_k(void)
{
    return NULL;
}

const struct lqi_gemm_kernel *lqi_gemm_kernel_avx2(void)
{
    return NULL;
}

#endif
