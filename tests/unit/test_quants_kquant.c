/* test_quants_kquant.c - the k-quants Q2_K..Q6_K and their activation type Q8_K.
 *
 * Independent expectations: llama.cpp's own output for 16 varied rows
 * (../shared/data/reference/quants, see its README), blocks worked out by hand below, and
 * plain float arithmetic (dequantize, then dot in double) for the SIMD kernels. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/fp16.h"
#include "lq/simd.h"
#include "lq/types.h"
#include "lqt_util.h"

#include "quants/kquants.h"

#define NROWS 16
#define NCOLS 4096

struct kq_case {
    enum lq_type type;
    const char *name;
    size_t row_size; /* bytes of a 4096-column row, from the reference README */
};

static const struct kq_case kq_cases[] = {
    {LQ_TYPE_Q2_K, "q2_K", 1344}, {LQ_TYPE_Q3_K, "q3_K", 1760}, {LQ_TYPE_Q4_K, "q4_K", 2304},
    {LQ_TYPE_Q5_K, "q5_K", 2816}, {LQ_TYPE_Q6_K, "q6_K", 3360},
};
#define N_CASES (sizeof kq_cases / sizeof kq_cases[0])

// ---- helpers ----------------------------------------------------------------------------

static void *load_ref(const char *name, const char *suffix, size_t want_size)
{
    char rel[128];
    snprintf(rel, sizeof rel, "reference/quants/%s%s", name, suffix);
    size_t size = 0;
    void *p = lqt_read_file(lqt_data_path(rel), &size);
    assert_int_equal(size, want_size);
    return p;
}

static const struct lq_type_traits *traits(enum lq_type type)
{
    const struct lq_type_traits *t = lq_type_traits_get(type);
    assert_non_null(t);
    assert_non_null(t->quantize);
    assert_non_null(t->to_float);
    return t;
}

/* xorshift64* and Box-Muller: reproducible inputs without libc's rand. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static double rng_uniform(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
}

static float rng_normal(void)
{
    double u1 = rng_uniform(), u2 = rng_uniform();
    if (u1 < 1e-300) {
        u1 = 1e-300;
    }
    return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

/* Index of the first differing byte, or -1. */
static long first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (a[i] != b[i]) {
            return (long)i;
        }
    }
    return -1;
}

static double rel_rmse(const float *x, const float *y, int64_t n)
{
    double num = 0, den = 0;
    for (int64_t i = 0; i < n; i++) {
        num += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        den += (double)x[i] * x[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

// ---- byte identity with llama.cpp ---------------------------------------------------------

/* Quantizes the 16 reference rows in one call and row by row; every row must equal
 * llama.cpp's bytes. Mismatches are reported per row before failing. */
static void check_reference_bytes(const struct kq_case *c, bool use_imatrix)
{
    const struct lq_type_traits *t = traits(c->type);
    float *x = load_ref("input-f32", ".bin", NROWS * NCOLS * sizeof(float));
    float *w = use_imatrix ? load_ref("imatrix-f32", ".bin", NCOLS * sizeof(float)) : NULL;
    uint8_t *want = load_ref(c->name, use_imatrix ? ".imatrix.bin" : ".bin", NROWS * c->row_size);
    uint8_t *got = calloc(NROWS, c->row_size);
    uint8_t *row = calloc(1, c->row_size);
    assert_int_equal(lq_row_size(c->type, NCOLS), c->row_size);
    assert_int_equal(t->quantize(x, got, NROWS, NCOLS, w), NROWS * c->row_size);
    int bad = 0;
    for (int r = 0; r < NROWS; r++) {
        long at = first_diff(got + r * c->row_size, want + r * c->row_size, c->row_size);
        if (at < 0 && !use_imatrix) {
            t->from_float_ref(x + (size_t)r * NCOLS, row, NCOLS);
            at = first_diff(row, want + r * c->row_size, c->row_size);
        } else if (at < 0) {
            assert_int_equal(t->quantize(x + (size_t)r * NCOLS, row, 1, NCOLS, w), c->row_size);
            at = first_diff(row, want + r * c->row_size, c->row_size);
        }
        if (at >= 0) {
            print_message("%s%s row %d: bytes differ from llama.cpp at %ld (block %zu)\n", c->name,
                          use_imatrix ? " imatrix" : "", r, at, (size_t)at / t->type_size);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
    free(row);
    free(got);
    free(want);
    free(w);
    free(x);
}

static void test_kquant_reference_bytes(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CASES; i++) {
        check_reference_bytes(&kq_cases[i], false);
    }
}

static void test_kquant_reference_bytes_imatrix(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CASES; i++) {
        check_reference_bytes(&kq_cases[i], true);
    }
}

/* ggml's dequantized floats, bit for bit, from the reference bytes. */
static void check_reference_dequant(const struct kq_case *c, const char *bin, const char *f32)
{
    const struct lq_type_traits *t = traits(c->type);
    uint8_t *q = load_ref(c->name, bin, NROWS * c->row_size);
    float *want = load_ref(c->name, f32, NROWS * NCOLS * sizeof(float));
    float *got = malloc(NROWS * NCOLS * sizeof(float));
    const enum lq_simd_level saved = lq_simd_level_get();
    for (int lvl = LQ_SIMD_SCALAR; lvl <= (int)lq_simd_level_supported(); lvl++) {
        assert_int_equal(lq_simd_level_set((enum lq_simd_level)lvl, NULL), LQ_OK);
        t->to_float(q, got, (int64_t)NROWS * NCOLS);
        for (size_t i = 0; i < (size_t)NROWS * NCOLS; i++) {
            if (lq_f32_bits(got[i]) != lq_f32_bits(want[i])) {
                fail_msg("%s%s at %s: element %zu (row %zu) dequantizes to %.9g, ggml gives %.9g",
                         c->name, bin, lq_simd_level_name((enum lq_simd_level)lvl), i, i / NCOLS,
                         got[i], want[i]);
            }
        }
    }
    assert_int_equal(lq_simd_level_set(saved, NULL), LQ_OK);
    free(got);
    free(want);
    free(q);
}

static void test_kquant_reference_dequant(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_CASES; i++) {
        check_reference_dequant(&kq_cases[i], ".bin", ".dequant-f32.bin");
        check_reference_dequant(&kq_cases[i], ".imatrix.bin", ".imatrix.dequant-f32.bin");
    }
}

// ---- blocks worked out by hand ----------------------------------------------------------

/* Q2_K. Sub-block j (16 values) is (l % 4) * s_j with s_j = 2^-(j % 6), l = 0..15: min 0,
 * max 3 s_j, so make_qkx2_quants finds scale s_j exactly (quants l % 4, zero error) and
 * min 0. Scales round to 4 bits against max_scale = 1: 15 s_j -> 15, 7.5 -> 8 (ties to
 * even), 3.75 -> 4, 1.875 -> 2, 0.9375 -> 1, 0.47 -> 0. d = fp16(1/15) = 1092/1024 * 2^-4
 * = 0x2C44, dmin = 0. Requantizing with d * sc (within 7 % of s_j) keeps every quant, so
 * each qs byte, holding four elements 32 apart, is (l % 4) * 0x55. */
static void test_kquant_hand_q2_K(void **state)
{
    (void)state;
    float x[QK_K];
    for (int i = 0; i < QK_K; i++) {
        x[i] = (float)(i % 4) * ldexpf(1.f, -((i / 16) % 6));
    }
    block_q2_K b;
    lqi_quantize_row_q2_K_ref(x, &b, QK_K);
    static const uint8_t scales[16] = {15, 8, 4, 2, 1, 0, 15, 8, 4, 2, 1, 0, 15, 8, 4, 2};
    assert_memory_equal(b.scales, scales, 16);
    assert_int_equal(b.d, 0x2C44);
    assert_int_equal(b.dmin, 0);
    for (int l = 0; l < 64; l++) {
        assert_int_equal(b.qs[l], (l % 4) * 0x55);
    }
    float y[QK_K];
    lqi_dequantize_row_q2_K(&b, y, QK_K);
    assert_true(y[3] == 0.066650390625f * 15 * 3);       /* element 3: d * sc * q */
    assert_true(y[5 * 16 + 3] == 3 * x[5 * 16 + 3] * 0); /* scale 0: the value is lost */
}

/* Q3_K. Sub-block j is (l % 8 - 4) * s_j, s_j = 2^-(j % 6): the first largest magnitude is
 * -4 s_j, so make_q3_quants starts at scale s_j, which fits exactly (x^2 weights keep it).
 * Scales to 6 bits: iscale = -32 / 1, l = -32 s_j + 32 = 0, 16, 24, 28, 30, 31;
 * d = fp16(-1/32) = 0xA800. Packing: low nibbles of scales 0..7 in bytes 0..7, of 8..15 in
 * their high nibbles; top bits of scale j in byte 8 + j%4 at bit 2(j/4). Every d * (l - 32)
 * is exactly s_j, so quants are l % 8: the high bit (value >= 4) is set for every element
 * with i % 8 >= 4 (hmask bytes 4..7 of each 8 are 0xFF), the low bits are i % 4. */
static void test_kquant_hand_q3_K(void **state)
{
    (void)state;
    float x[QK_K];
    for (int i = 0; i < QK_K; i++) {
        x[i] = (float)(i % 8 - 4) * ldexpf(1.f, -((i / 16) % 6));
    }
    block_q3_K b;
    lqi_quantize_row_q3_K_ref(x, &b, QK_K);
    static const uint8_t scales[12] = {0x80, 0xC0, 0xE8, 0xFC, 0x0E, 0x0F,
                                       0x80, 0xC0, 0x14, 0x55, 0x51, 0x55};
    assert_memory_equal(b.scales, scales, 12);
    assert_int_equal(b.d, 0xA800);
    for (int l = 0; l < 32; l++) {
        assert_int_equal(b.hmask[l], l % 8 >= 4 ? 0xFF : 0x00);
    }
    for (int l = 0; l < 64; l++) {
        assert_int_equal(b.qs[l], (l % 4) * 0x55);
    }
    float y[QK_K];
    lqi_dequantize_row_q3_K(&b, y, QK_K);
    assert_memory_equal(x, y, sizeof x); /* every value is on the grid */
}

/* Q4_K. Sub-block j (32 values) is (l % 16) * 2^-j: exact fit with scale 2^-j, min 0.
 * 6-bit scales against max 1: 63, 31.5 -> 32, 15.75 -> 16, 8, 4, 2, 1, 0.49 -> 0; the
 * mins are all 0. Packing (get_scale_min_k4): bytes 0..3 scales 0..3, bytes 4..7 mins 0..3,
 * bytes 8..11 the low nibbles of scales/mins 4..7, their top two bits in bytes 0..7 bits
 * 6-7 (all zero here). d = fp16(1/63) = 1040/1024 * 2^-6 = 0x2410. d * sc is within 2 % of
 * the true scale, so the quants stay l % 16 and each qs byte (elements l and l + 32 of a
 * 64-chunk) is (l % 16) * 0x11. */
static void test_kquant_hand_q4_K(void **state)
{
    (void)state;
    float x[QK_K];
    for (int i = 0; i < QK_K; i++) {
        x[i] = (float)(i % 16) * ldexpf(1.f, -(i / 32));
    }
    block_q4_K b;
    lqi_quantize_row_q4_K_ref(x, &b, QK_K);
    static const uint8_t scales[12] = {63, 32, 16, 8, 0, 0, 0, 0, 4, 2, 1, 0};
    assert_memory_equal(b.scales, scales, 12);
    assert_int_equal(b.d, 0x2410);
    assert_int_equal(b.dmin, 0);
    for (int l = 0; l < 128; l++) {
        assert_int_equal(b.qs[l], (l % 16) * 0x11);
    }
    float y[QK_K];
    lqi_dequantize_row_q4_K(&b, y, QK_K);
    assert_true(y[15] == 0.015869140625f * 63 * 15);
    assert_true(y[7 * 32 + 15] == 0.0f); /* scale rounded to 0 */
}

/* Q5_K. As Q4_K with (l % 32) * 2^-j: the same scale bytes and d; quants l % 32, so the low
 * nibbles give qs = (l % 16) * 0x11 and the fifth bit is set for l >= 16 in both elements of
 * every qs byte: qh[l] = 0xFF for l >= 16, 0 below. */
static void test_kquant_hand_q5_K(void **state)
{
    (void)state;
    float x[QK_K];
    for (int i = 0; i < QK_K; i++) {
        x[i] = (float)(i % 32) * ldexpf(1.f, -(i / 32));
    }
    block_q5_K b;
    lqi_quantize_row_q5_K_ref(x, &b, QK_K);
    static const uint8_t scales[12] = {63, 32, 16, 8, 0, 0, 0, 0, 4, 2, 1, 0};
    assert_memory_equal(b.scales, scales, 12);
    assert_int_equal(b.d, 0x2410);
    assert_int_equal(b.dmin, 0);
    for (int l = 0; l < 32; l++) {
        assert_int_equal(b.qh[l], l >= 16 ? 0xFF : 0);
    }
    for (int l = 0; l < 128; l++) {
        assert_int_equal(b.qs[l], (l % 16) * 0x11);
    }
}

/* Q6_K. Sub-block j is (4l - 32) * s_j, s_j = 2^-(j % 6), l = 0..15: the first largest
 * magnitude is -32 s_j, an exact fit at scale s_j. iscale = -128 / 1: scales -128, -64,
 * -32, -16, -8, -4; d = fp16(-1/128) = 0xA000; d * scale is exactly s_j, so quants are
 * 4l - 32 + 32 = 4 (i % 16). Low nibbles: 4 (l % 4) in both halves of each ql byte;
 * top bits (i % 16) / 4 for all four elements sharing a qh byte. */
static void test_kquant_hand_q6_K(void **state)
{
    (void)state;
    float x[QK_K];
    for (int i = 0; i < QK_K; i++) {
        x[i] = (float)(4 * (i % 16) - 32) * ldexpf(1.f, -((i / 16) % 6));
    }
    block_q6_K b;
    lqi_quantize_row_q6_K_ref(x, &b, QK_K);
    static const int8_t scales[16] = {-128, -64, -32, -16, -8,   -4,  -128, -64,
                                      -32,  -16, -8,  -4,  -128, -64, -32,  -16};
    assert_memory_equal(b.scales, scales, 16);
    assert_int_equal(b.d, 0xA000);
    for (int l = 0; l < 128; l++) {
        assert_int_equal(b.ql[l], 4 * (l % 4) * 0x11);
    }
    for (int l = 0; l < 64; l++) {
        assert_int_equal(b.qh[l], ((l % 16) / 4) * 0x55);
    }
    float y[QK_K];
    lqi_dequantize_row_q6_K(&b, y, QK_K);
    assert_memory_equal(x, y, sizeof x);
}

/* Q8_K. x = (i % 128) - 64: the first largest magnitude is -64 at i = 0, so iscale =
 * -127 / -64 = 1.984375 and d = 64/127. -64 -> -127; 63 -> 125.02 -> 125; +-32 -> +-63.5,
 * a tie, rounds to even +-64; 1 -> 1.98 -> 2. bsums are the sums of each 16 quants. */
static void test_kquant_hand_q8_K(void **state)
{
    (void)state;
    float x[QK_K];
    for (int i = 0; i < QK_K; i++) {
        x[i] = (float)(i % 128 - 64);
    }
    block_q8_K b;
    lqi_quantize_row_q8_K_ref(x, &b, QK_K);
    assert_true(b.d == 1.0f / 1.984375f);
    assert_int_equal(b.qs[0], -127);
    assert_int_equal(b.qs[127], 125);
    assert_int_equal(b.qs[96], 64);
    assert_int_equal(b.qs[32], -64);
    assert_int_equal(b.qs[65], 2);
    assert_int_equal(b.qs[64], 0);
    for (int j = 0; j < 16; j++) {
        int sum = 0;
        for (int l = 0; l < 16; l++) {
            sum += b.qs[16 * j + l];
        }
        assert_int_equal(b.bsums[j], sum);
    }
    /* round trip: within half a step everywhere */
    float y[QK_K];
    lqi_dequantize_row_q8_K(&b, y, QK_K);
    for (int i = 0; i < QK_K; i++) {
        assert_true(fabsf(y[i] - x[i]) <= 0.5f * b.d * 1.0001f);
    }
}

// ---- Q8_K fast path ----------------------------------------------------------------------

/* Q8_K's from_float (the SIMD path where the level allows) gives the reference bytes at
 * every level, on llama.cpp's input rows and on ties, equal magnitudes of both signs, NaN and
 * infinity. */
static void test_kquant_q8_K_fast_matches_ref(void **state)
{
    (void)state;
    const struct lq_type_traits *t = traits(LQ_TYPE_Q8_K);
    float *x = load_ref("input-f32", ".bin", NROWS * NCOLS * sizeof(float));
    float s[2 * QK_K];
    for (int i = 0; i < 2 * QK_K; i++) {
        s[i] = (float)(i % 7) - 3.5f;
    }
    s[5] = 3.5f;
    s[QK_K + 9] = NAN;
    s[QK_K + 20] = INFINITY;
    const size_t nb = (size_t)NROWS * NCOLS / QK_K;
    block_q8_K *a = calloc(nb, sizeof *a), *b = calloc(nb, sizeof *b);
    block_q8_K sa[2], sb[2];
    lqi_quantize_row_q8_K_ref(x, a, (int64_t)NROWS * NCOLS);
    lqi_quantize_row_q8_K_ref(s, sa, 2 * QK_K);
    const enum lq_simd_level saved = lq_simd_level_get();
    for (int lvl = LQ_SIMD_SCALAR; lvl <= (int)lq_simd_level_supported(); lvl++) {
        assert_int_equal(lq_simd_level_set((enum lq_simd_level)lvl, NULL), LQ_OK);
        memset(b, 0x5A, nb * sizeof *b);
        memset(sb, 0x5A, sizeof sb);
        t->from_float(x, b, (int64_t)NROWS * NCOLS);
        t->from_float(s, sb, 2 * QK_K);
        assert_memory_equal(a, b, nb * sizeof *a);
        assert_memory_equal(sa, sb, sizeof sa);
    }
    assert_int_equal(lq_simd_level_set(saved, NULL), LQ_OK);
    free(b);
    free(a);
    free(x);
}

// ---- importance weights ------------------------------------------------------------------

static double weighted_sq_error(const float *x, const float *y, const float *w, int64_t n)
{
    double e = 0;
    for (int64_t i = 0; i < n; i++) {
        e += w[i] * ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
    }
    return e;
}

/* Over the 16 reference rows, the imatrix path has a lower imatrix-weighted squared error
 * than the plain path, for every type. */
static void test_kquant_imatrix_lowers_weighted_error(void **state)
{
    (void)state;
    float *x = load_ref("input-f32", ".bin", NROWS * NCOLS * sizeof(float));
    float *w = load_ref("imatrix-f32", ".bin", NCOLS * sizeof(float));
    float *y = malloc(NCOLS * sizeof(float));
    for (size_t c = 0; c < N_CASES; c++) {
        const struct lq_type_traits *t = traits(kq_cases[c].type);
        uint8_t *q = malloc(kq_cases[c].row_size);
        double plain = 0, weighted = 0;
        for (int r = 0; r < NROWS; r++) {
            const float *xr = x + (size_t)r * NCOLS;
            double ref = 0;
            for (int i = 0; i < NCOLS; i++) {
                ref += w[i] * (double)xr[i] * xr[i];
            }
            if (ref == 0) {
                continue; /* the all-zero row quantizes exactly on both paths */
            }
            t->quantize(xr, q, 1, NCOLS, NULL);
            t->to_float(q, y, NCOLS);
            /* relative per row, so the 1e4-scaled row does not drown the others */
            double ep = weighted_sq_error(xr, y, w, NCOLS) / ref;
            t->quantize(xr, q, 1, NCOLS, w);
            t->to_float(q, y, NCOLS);
            double ew = weighted_sq_error(xr, y, w, NCOLS) / ref;
            if (ep >= 0.5) {
                continue; /* +-1e-8: every scale underflows fp16 on both paths */
            }
            plain += ep;
            weighted += ew;
        }
        print_message("%s: weighted relative error plain %.4g, imatrix %.4g\n", kq_cases[c].name,
                      plain, weighted);
        assert_true(weighted < plain);
        free(q);
    }
    free(y);
    free(w);
    free(x);
}

// ---- round trips on random rows -----------------------------------------------------------

enum { GEN_NORMAL, GEN_HEAVY, GEN_ZEROS, GEN_CONST, GEN_TINY, GEN_HUGE, GEN_COUNT };
static const char *gen_names[GEN_COUNT] = {"normal",   "heavy-tailed", "zeros",
                                           "constant", "tiny",         "huge"};

static void gen_row(int gen, float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        switch (gen) {
        case GEN_NORMAL:
            x[i] = rng_normal();
            break;
        case GEN_HEAVY: { /* Student t with 3 degrees of freedom */
            float chi2 = 0;
            for (int k = 0; k < 3; k++) {
                float z = rng_normal();
                chi2 += z * z;
            }
            x[i] = rng_normal() / sqrtf(chi2 / 3.f + 1e-6f);
            break;
        }
        case GEN_ZEROS:
            x[i] = 0;
            break;
        case GEN_CONST:
            x[i] = -0.37f;
            break;
        case GEN_TINY:
            x[i] = 1e-3f * rng_normal();
            break;
        default:
            x[i] = 300.f * rng_normal();
            break;
        }
    }
}

/* Relative RMSE bounds per type (plain, imatrix alike); heavy tails cost more. Row types
 * that quantize exactly (zeros) or nearly (constant) are checked against tight bounds. */
static void test_kquant_round_trip_bounds(void **state)
{
    (void)state;
    /* normal/tiny/huge, heavy-tailed: about 1.2x what the kernels reach (measured 0.30,
     * 0.15, 0.074, 0.037, 0.022 and 0.35, 0.20, 0.092, 0.048, 0.024) */
    static const double bound[N_CASES][2] = {
        {0.36, 0.42}, {0.18, 0.24}, {0.09, 0.11}, {0.045, 0.058}, {0.027, 0.03},
    };
    const int64_t n = 8 * QK_K;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    float *w = malloc(n * sizeof(float));
    for (int64_t i = 0; i < n; i++) {
        w[i] = 0.5f + (float)rng_uniform();
    }
    uint8_t *q = malloc(lq_row_size(LQ_TYPE_Q8_K, n));
    for (size_t c = 0; c < N_CASES; c++) {
        const struct lq_type_traits *t = traits(kq_cases[c].type);
        for (int gen = 0; gen < GEN_COUNT; gen++) {
            gen_row(gen, x, n);
            for (int im = 0; im < 2; im++) {
                t->quantize(x, q, 1, n, im ? w : NULL);
                assert_true(t->validate(q, lq_row_size(kq_cases[c].type, n)));
                t->to_float(q, y, n);
                double e = rel_rmse(x, y, n);
                double lim = gen == GEN_HEAVY ? bound[c][1] : bound[c][0];
                if (gen == GEN_ZEROS) {
                    lim = 0;
                } else if (gen == GEN_CONST) {
                    lim = 1e-3; /* measured at most 3.2e-4 */
                }
                if (!(e <= lim)) {
                    fail_msg("%s %s%s: relative RMSE %.4g over %.4g", kq_cases[c].name,
                             gen_names[gen], im ? " (imatrix)" : "", e, lim);
                }
            }
        }
    }
    free(q);
    free(w);
    free(y);
    free(x);
}

// ---- dot products -------------------------------------------------------------------------

/* The table's dot kernel at every SIMD level the CPU has against dequantize-then-dot in
 * double, to 1e-5 of sum |x_i y_i|. */
static void test_kquant_vec_dot_agrees(void **state)
{
    (void)state;
    const enum lq_simd_level saved = lq_simd_level_get();
    const int64_t n = 16 * QK_K;
    float *x = malloc(n * sizeof(float)), *a = malloc(n * sizeof(float));
    float *dx = malloc(n * sizeof(float)), *da = malloc(n * sizeof(float));
    uint8_t *qx = malloc(lq_row_size(LQ_TYPE_Q8_K, n)), *qa = malloc(lq_row_size(LQ_TYPE_Q8_K, n));
    for (int trial = 0; trial < 3; trial++) {
        gen_row(trial == 1 ? GEN_HEAVY : GEN_NORMAL, x, n);
        gen_row(GEN_NORMAL, a, n);
        if (trial == 2) {
            a[7] = 40.f; /* one outlier activation: the rest quantize coarsely */
        }
        lqi_quantize_row_q8_K_ref(a, qa, n);
        lqi_dequantize_row_q8_K(qa, da, n);
        for (size_t c = 0; c < N_CASES; c++) {
            const struct lq_type_traits *t = traits(kq_cases[c].type);
            assert_int_equal(t->vec_dot_type, LQ_TYPE_Q8_K);
            t->quantize(x, qx, 1, n, NULL);
            t->to_float(qx, dx, n);
            double want = 0, mag = 0;
            for (int64_t i = 0; i < n; i++) {
                want += (double)dx[i] * da[i];
                mag += fabs((double)dx[i] * da[i]);
            }
            for (int lvl = LQ_SIMD_SCALAR; lvl <= (int)lq_simd_level_supported(); lvl++) {
                assert_int_equal(lq_simd_level_set((enum lq_simd_level)lvl, NULL), LQ_OK);
                float got = -1;
                t->vec_dot(n, &got, qx, qa);
                if (!(fabs(got - want) <= 1e-5 * mag + 1e-30)) {
                    fail_msg("%s at %s: dot %.9g, float reference %.9g (scale %.3g)",
                             kq_cases[c].name, lq_simd_level_name((enum lq_simd_level)lvl), got,
                             want, mag);
                }
            }
            assert_int_equal(lq_simd_level_set(saved, NULL), LQ_OK);
        }
    }
    free(qa);
    free(qx);
    free(da);
    free(dx);
    free(a);
    free(x);
}

/* Rows llama.cpp would never be asked to quantize (NaN, infinities, values past fp16,
 * denormals; zero and negative importance weights) must not trip undefined behaviour or
 * out-of-range stores: under the sanitizer build this is checked, the bytes are not. */
static void test_kquant_hostile_input_is_safe(void **state)
{
    (void)state;
    const int64_t n = 4 * QK_K;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    float *w = malloc(n * sizeof(float));
    static const float specials[] = {NAN, INFINITY, -INFINITY, 1e30f, -1e30f, 1e-40f, -0.0f};
    for (int64_t i = 0; i < n; i++) {
        x[i] = i < QK_K ? specials[i % 7] : rng_normal() * (i < 2 * QK_K ? 1e30f : 1e-40f);
        w[i] = (float)(i % 3) - 1.f; /* -1, 0, 1 */
    }
    uint8_t *q = malloc(lq_row_size(LQ_TYPE_Q8_K, n));
    for (int type = LQ_TYPE_Q2_K; type <= LQ_TYPE_Q8_K; type++) {
        const struct lq_type_traits *t = traits(type);
        for (int im = 0; im < 2; im++) {
            assert_int_equal(t->quantize(x, q, 1, n, im ? w : NULL), lq_row_size(type, n));
            (void)t->validate(q, lq_row_size(type, n));
            t->to_float(q, y, n);
        }
        t->from_float(x, q, n);
    }
    free(q);
    free(w);
    free(y);
    free(x);
}

// ---- validation and table -----------------------------------------------------------------

static void put_f16(uint8_t *p, uint16_t h)
{
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}

/* NaN or infinite d (and dmin, where the type has one) in any block is rejected, as are
 * sizes that are not whole blocks; reference data passes. */
static void test_kquant_validate(void **state)
{
    (void)state;
    static const struct {
        enum lq_type type;
        int off_d, off_dmin;
    } v[] = {
        {LQ_TYPE_Q2_K, 80, 82}, {LQ_TYPE_Q3_K, 108, -1}, {LQ_TYPE_Q4_K, 0, 2},
        {LQ_TYPE_Q5_K, 0, 2},   {LQ_TYPE_Q6_K, 208, -1},
    };
    for (size_t c = 0; c < N_CASES; c++) {
        const struct lq_type_traits *t = traits(v[c].type);
        uint8_t *q = load_ref(kq_cases[c].name, ".bin", NROWS * kq_cases[c].row_size);
        const size_t nbytes = NROWS * kq_cases[c].row_size;
        assert_true(t->validate(q, nbytes));
        assert_false(t->validate(q, nbytes - 1));
        const uint16_t bad[2] = {0x7E00, 0xFC00}; /* NaN, -Inf */
        const int offs[2] = {v[c].off_d, v[c].off_dmin};
        for (int f = 0; f < 2; f++) {
            if (offs[f] < 0) {
                continue;
            }
            for (int k = 0; k < 2; k++) {
                uint8_t *p = q + 5 * t->type_size + offs[f];
                uint8_t save[2] = {p[0], p[1]};
                put_f16(p, bad[k]);
                assert_false(t->validate(q, nbytes));
                memcpy(p, save, 2);
            }
        }
        assert_true(t->validate(q, nbytes));
        free(q);
    }
    block_q8_K b[2];
    float x[2 * QK_K];
    gen_row(GEN_NORMAL, x, 2 * QK_K);
    lqi_quantize_row_q8_K_ref(x, b, 2 * QK_K);
    const struct lq_type_traits *t8 = traits(LQ_TYPE_Q8_K);
    assert_true(t8->validate(b, sizeof b));
    b[1].d = NAN;
    assert_false(t8->validate(b, sizeof b));
    b[1].d = INFINITY;
    assert_false(t8->validate(b, sizeof b));
    assert_false(t8->validate(b, sizeof b - 4));
}

static void test_kquant_table_rows(void **state)
{
    (void)state;
    static const size_t sizes[] = {84, 110, 144, 176, 210, 292};
    for (int type = LQ_TYPE_Q2_K; type <= LQ_TYPE_Q8_K; type++) {
        const struct lq_type_traits *t = traits(type);
        assert_int_equal(t->blck_size, 256);
        assert_int_equal(t->type_size, sizes[type - LQ_TYPE_Q2_K]);
        assert_non_null(t->from_float_ref);
        assert_non_null(t->from_float);
        assert_non_null(t->validate);
        assert_int_equal(t->vec_dot_type, LQ_TYPE_Q8_K);
        assert_true(type == LQ_TYPE_Q8_K || t->vec_dot != NULL);
    }
    /* quantize reports the bytes written */
    float x[2 * QK_K] = {0};
    uint8_t q[2 * 292];
    assert_int_equal(traits(LQ_TYPE_Q8_K)->quantize(x, q, 2, QK_K, NULL), 2 * 292);
    assert_int_equal(traits(LQ_TYPE_Q5_K)->quantize(x, q, 1, 2 * QK_K, x), 2 * 176);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kquant_reference_bytes),
        cmocka_unit_test(test_kquant_reference_bytes_imatrix),
        cmocka_unit_test(test_kquant_reference_dequant),
        cmocka_unit_test(test_kquant_hand_q2_K),
        cmocka_unit_test(test_kquant_hand_q3_K),
        cmocka_unit_test(test_kquant_hand_q4_K),
        cmocka_unit_test(test_kquant_hand_q5_K),
        cmocka_unit_test(test_kquant_hand_q6_K),
        cmocka_unit_test(test_kquant_hand_q8_K),
        cmocka_unit_test(test_kquant_q8_K_fast_matches_ref),
        cmocka_unit_test(test_kquant_imatrix_lowers_weighted_error),
        cmocka_unit_test(test_kquant_round_trip_bounds),
        cmocka_unit_test(test_kquant_vec_dot_agrees),
        cmocka_unit_test(test_kquant_hostile_input_is_safe),
        cmocka_unit_test(test_kquant_validate),
        cmocka_unit_test(test_kquant_table_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
