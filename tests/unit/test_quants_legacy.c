/* test_quants_legacy.c - the 32-element block types: blocks worked out by hand, per-element
 * error bounds derived from each format, and edge-case rows (zeros, constants, tiny and huge
 * magnitudes). Byte identity with llama.cpp on its reference rows is in test_quants.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/fp16.h"
#include "lq/quantize.h"
#include "lq/types.h"
#include "lqt_util.h"

#define QK 32

// ---- hand-computed blocks ---------------------------------------------------------------

static void quantize_block(int type, const float *x, unsigned char *out)
{
    size_t bytes = lq_row_size(type, QK);
    assert_int_equal(lq_quantize_rows(type, x, 1, QK, out, bytes, NULL, NULL, NULL), LQ_OK);
}

/* x[j] = j - 16. The largest magnitude is x[0] = -16, so d = -16 / -8 = 2 (fp16 0x4000) and
 * 1/d = 0.5. Element j gets q = trunc((j - 16) * 0.5 + 8.5) = trunc(j/2 + 0.5), clamped to 15:
 *   j = 0..15  -> 0 1 1 2 2 3 3 4 4 5 5 6 6 7 7 8
 *   j = 16..31 -> 8 9 9 10 10 11 11 12 12 13 13 14 14 15 15 16->15
 * byte j = q[j] | q[j+16] << 4. Dequantized: (q - 8) * 2, e.g. x[1] = -15 -> (1-8)*2 = -14
 * (error 1 = d/2), x[31] = 15 -> (15-8)*2 = 14 (the clipped top level). */
static void test_q4_0_hand_ramp(void **state)
{
    (void)state;
    float x[QK];
    for (int j = 0; j < QK; j++) {
        x[j] = (float)(j - 16);
    }
    const unsigned char want[18] = {0x00, 0x40, 0x80, 0x91, 0x91, 0xA2, 0xA2, 0xB3, 0xB3,
                                    0xC4, 0xC4, 0xD5, 0xD5, 0xE6, 0xE6, 0xF7, 0xF7, 0xF8};
    unsigned char got[18];
    quantize_block(LQ_TYPE_Q4_0, x, got);
    assert_memory_equal(got, want, sizeof want);
    float back[QK];
    assert_int_equal(lq_dequantize_rows(LQ_TYPE_Q4_0, got, back, QK, NULL), LQ_OK);
    assert_true(back[0] == -16.0f && back[1] == -14.0f && back[16] == 0.0f);
    assert_true(back[31] == 14.0f);
}

/* Zeros with x[3] = 4 and x[10] = -4: both have magnitude 4 and the first one (+4) sets the
 * scale, d = 4 / -8 = -0.5 (fp16 0xB800), 1/d = -2. Zeros -> trunc(8.5) = 8; x[3] -> trunc(-8
 * + 8.5) = 0; x[10] -> trunc(8 + 8.5) = 16 -> 15. So byte 3 = 0 | 8<<4 = 0x80, byte 10 =
 * 15 | 8<<4 = 0x8F, the rest 0x88. An all-zero block has max = +0 and d = +0 / -8 = -0:
 * fp16 0x8000, as llama.cpp writes it. */
static void test_q4_0_hand_sign_and_zero(void **state)
{
    (void)state;
    float x[2 * QK] = {0};
    x[3] = 4.0f;
    x[10] = -4.0f;
    unsigned char want[36];
    memset(want, 0x88, sizeof want);
    want[0] = 0x00, want[1] = 0xB8;
    want[2 + 3] = 0x80, want[2 + 10] = 0x8F;
    want[18] = 0x00, want[19] = 0x80;
    unsigned char got[36];
    assert_int_equal(
        lq_quantize_rows(LQ_TYPE_Q4_0, x, 1, 2 * QK, got, sizeof got, NULL, NULL, NULL), LQ_OK);
    assert_memory_equal(got, want, sizeof want);
}

/* x[j] = 0.5 j: min 0, max 15.5, d = 15.5 / 15 = 1.03333; nearest fp16 is 1 + 34/1024
 * (0x3C22; 35/1024 is 8.5e-4 away, 34/1024 only 1.3e-4). m = 0. 1/d = 0.967742, and
 * q = trunc(0.5 j * 0.967742 + 0.5) = j >> 1 for every j (j = 30: 15.016 -> 15; j = 31:
 * 15.5 -> 15). byte j = (j >> 1) | ((j + 16) >> 1) << 4. */
static void test_q4_1_hand_ramp(void **state)
{
    (void)state;
    float x[QK];
    for (int j = 0; j < QK; j++) {
        x[j] = 0.5f * (float)j;
    }
    const unsigned char want[20] = {0x22, 0x3C, 0x00, 0x00, 0x80, 0x80, 0x91, 0x91, 0xA2, 0xA2,
                                    0xB3, 0xB3, 0xC4, 0xC4, 0xD5, 0xD5, 0xE6, 0xE6, 0xF7, 0xF7};
    unsigned char got[20];
    quantize_block(LQ_TYPE_Q4_1, x, got);
    assert_memory_equal(got, want, sizeof want);
}

/* x[j] = j - 16: max magnitude x[0] = -16, d = -16 / -16 = 1 (0x3C00), q = trunc(j - 16 +
 * 16.5) = j. Low nibbles: byte j = j | j << 4 (element j + 16 has q = j + 16, nibble j); the
 * fifth bits are set exactly for elements 16..31: qh = 0xFFFF0000 (bytes 00 00 FF FF).
 * Dequantization is exact: (q - 16) * 1. */
static void test_q5_0_hand_ramp(void **state)
{
    (void)state;
    float x[QK];
    for (int j = 0; j < QK; j++) {
        x[j] = (float)(j - 16);
    }
    unsigned char want[22] = {0x00, 0x3C, 0x00, 0x00, 0xFF, 0xFF};
    for (int j = 0; j < 16; j++) {
        want[6 + j] = (unsigned char)(j * 0x11);
    }
    unsigned char got[22];
    quantize_block(LQ_TYPE_Q5_0, x, got);
    assert_memory_equal(got, want, sizeof want);
    float back[QK];
    assert_int_equal(lq_dequantize_rows(LQ_TYPE_Q5_0, got, back, QK, NULL), LQ_OK);
    assert_memory_equal(back, x, sizeof x);
}

/* x[j] = 0.25 j - 2: min -2 (m = 0xC000), max 5.75, d = 7.75 / 31 = 0.25 exactly (0x3400),
 * q = trunc((x + 2) * 4 + 0.5) = j. Packing as Q5_0; the round trip is exact. */
static void test_q5_1_hand_ramp(void **state)
{
    (void)state;
    float x[QK];
    for (int j = 0; j < QK; j++) {
        x[j] = 0.25f * (float)j - 2.0f;
    }
    unsigned char want[24] = {0x00, 0x34, 0x00, 0xC0, 0x00, 0x00, 0xFF, 0xFF};
    for (int j = 0; j < 16; j++) {
        want[8 + j] = (unsigned char)(j * 0x11);
    }
    unsigned char got[24];
    quantize_block(LQ_TYPE_Q5_1, x, got);
    assert_memory_equal(got, want, sizeof want);
    float back[QK];
    assert_int_equal(lq_dequantize_rows(LQ_TYPE_Q5_1, got, back, QK, NULL), LQ_OK);
    assert_memory_equal(back, x, sizeof x);
}

/* x[0] = -127 and x[j] = 4 (j - 16) + 0.5: amax 127, d = 1 (0x3C00), 1/d = 1, q = roundf(x),
 * which rounds halves away from zero: -59.5 -> -60, ..., -3.5 -> -4, 0.5 -> 1, 4.5 -> 5, ...,
 * 60.5 -> 61 (round-to-even would give 0 and 4 for the positive ones). */
static const signed char q8_hand_q[QK] = {-127, -60, -56, -52, -48, -44, -40, -36, -32, -28, -24,
                                          -20,  -16, -12, -8,  -4,  1,   5,   9,   13,  17,  21,
                                          25,   29,  33,  37,  41,  45,  49,  53,  57,  61};

static void q8_hand_input(float *x)
{
    x[0] = -127.0f;
    for (int j = 1; j < QK; j++) {
        x[j] = 4.0f * (float)(j - 16) + 0.5f;
    }
}

static void test_q8_0_hand_ties(void **state)
{
    (void)state;
    float x[QK];
    q8_hand_input(x);
    unsigned char want[34] = {0x00, 0x3C};
    memcpy(want + 2, q8_hand_q, QK);
    unsigned char got[34];
    quantize_block(LQ_TYPE_Q8_0, x, got);
    assert_memory_equal(got, want, sizeof want);
}

/* As Q8_0 plus s = fp16(d * sum q): sum = -127 - 4 (1 + ... + 15) + (1 + 5 + ... + 61)
 * = -127 - 480 + 496 = -111 = -1.734375 * 2^6: sign, exponent 6 + 15 = 21, mantissa
 * 0.734375 * 1024 = 752, i.e. 0x8000 | 21 << 10 | 752 = 0xD6F0. */
static void test_q8_1_hand_sum(void **state)
{
    (void)state;
    float x[QK];
    q8_hand_input(x);
    unsigned char want[36] = {0x00, 0x3C, 0xF0, 0xD6};
    memcpy(want + 4, q8_hand_q, QK);
    unsigned char got[36];
    quantize_block(LQ_TYPE_Q8_1, x, got);
    assert_memory_equal(got, want, sizeof want);
    float back[QK];
    assert_int_equal(lq_dequantize_rows(LQ_TYPE_Q8_1, got, back, QK, NULL), LQ_OK);
    for (int j = 0; j < QK; j++) {
        assert_true(back[j] == (float)q8_hand_q[j]);
    }
}

// ---- per-element error bounds -----------------------------------------------------------

/* Format of each legacy type, for the error bound: whether it has a minimum field, where
 * the quants' top level is (clipped side of the _0 types) and the largest |q|. */
struct legacy_format {
    int type;
    bool affine;
    int top;  /* stored level that can hold a clipped value (-1: none) */
    int qmax; /* largest |q| the scale multiplies */
};

static const struct legacy_format formats[] = {
    {LQ_TYPE_Q4_0, false, 15, 8}, {LQ_TYPE_Q4_1, true, -1, 15},   {LQ_TYPE_Q5_0, false, 31, 16},
    {LQ_TYPE_Q5_1, true, -1, 31}, {LQ_TYPE_Q8_0, false, -1, 127}, {LQ_TYPE_Q8_1, false, -1, 127},
};

static float rd_f16(const unsigned char *p)
{
    return lq_fp16_to_fp32((uint16_t)(p[0] | p[1] << 8));
}

/* Bound on |x - x'| for one element: rounding to the grid costs |d|/2 (|d| on a _0 type's
 * clipped top level, where x/d can reach nmax while the level stops at nmax - 1); storing d
 * and m in fp16 costs their rounding (relative 2^-11, or 2^-25 absolute below the normal
 * range) times |q| and 1. */
static double element_bound(const struct legacy_format *f, float d16, float m16, bool clipped)
{
    double ad = fabs((double)d16);
    double grid = (clipped ? 1.0 : 0.5) * ad * (1 + 1.0 / 1024);
    double scale_err = f->qmax * (ad / 2048 + 1.0 / 33554432);
    double min_err = f->affine ? fabs((double)m16) / 2048 + 1.0 / 33554432 : 0;
    return grid + scale_err + min_err;
}

/* Level stored for element j of a block (only needed for the clipped-level test). */
static int stored_level(int type, const unsigned char *blk, int j)
{
    const unsigned char *qs = blk + (type == LQ_TYPE_Q4_0 ? 2 : 6);
    int nib = j < 16 ? (qs[j] & 0x0F) : (qs[j - 16] >> 4);
    if (type == LQ_TYPE_Q5_0) {
        uint32_t qh = (uint32_t)blk[2] | (uint32_t)blk[3] << 8 | (uint32_t)blk[4] << 16 |
                      (uint32_t)blk[5] << 24;
        nib |= (int)((qh >> j) & 1) << 4;
    }
    return nib;
}

static void check_bounds(const struct legacy_format *f, const float *x, int64_t n)
{
    const struct lq_type_traits *t = lq_type_traits_get(f->type);
    unsigned char *q = malloc(lq_row_size(f->type, n));
    float *back = malloc(sizeof(float) * n);
    struct lq_error qerr = {0};
    lq_status rc =
        lq_quantize_rows(f->type, x, 1, n, q, lq_row_size(f->type, n), NULL, NULL, &qerr);
    if (rc != LQ_OK) {
        fail_msg("%s", qerr.msg);
    }
    assert_int_equal(lq_dequantize_rows(f->type, q, back, n, NULL), LQ_OK);
    for (int64_t i = 0; i < n; i++) {
        const unsigned char *blk = q + (i / QK) * t->type_size;
        float d16 = rd_f16(blk), m16 = f->affine ? rd_f16(blk + 2) : 0.0f;
        bool clipped = f->top >= 0 && stored_level(f->type, blk, (int)(i % QK)) == f->top;
        double err = fabs((double)x[i] - back[i]);
        if (!(err <= element_bound(f, d16, m16, clipped))) {
            fail_msg("%s element %lld: x %.9g -> %.9g, error %.3g over bound %.3g (d %.6g)",
                     t->name, (long long)i, (double)x[i], (double)back[i], err,
                     element_bound(f, d16, m16, clipped), (double)d16);
        }
    }
    free(q);
    free(back);
}

static uint64_t rng = 1;

static double uniform01(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}

static double normal01(void)
{
    return sqrt(-2.0 * log(uniform01())) * cos(6.283185307179586 * uniform01());
}

/* Rows: normal, heavy-tailed, zeros, two constants, tiny (1e-30) and large (1e4) scales. */
static void fill_row(float *x, int64_t n, int kind)
{
    for (int64_t i = 0; i < n; i++) {
        double v = normal01();
        switch (kind) {
        case 1:
            v = v / sqrt(fabs(normal01()) + 1e-3);
            break;
        case 2:
            v = 0;
            break;
        case 3:
            v = 0.5;
            break;
        case 4:
            v = -3.25;
            break;
        case 5:
            v *= 1e-30;
            break;
        case 6:
            v *= 1e4;
            break;
        }
        x[i] = (float)v;
    }
}

static void test_legacy_error_bounds(void **state)
{
    (void)state;
    const int64_t n = 2048;
    float *x = malloc(sizeof(float) * n);
    for (int kind = 0; kind < 7; kind++) {
        fill_row(x, n, kind);
        for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
            /* Q8_1's s = d * sum(q) reaches 1e4 * 4064 / 127 > 65504 here: refused (below) */
            if (!(kind == 6 && formats[f].type == LQ_TYPE_Q8_1)) {
                check_bounds(&formats[f], x, n);
            }
        }
    }
    free(x);
}

/* Zeros and constants come back exactly where the format allows it. */
static void test_legacy_exact_rows(void **state)
{
    (void)state;
    float x[64], back[64];
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
        int type = formats[f].type;
        unsigned char q[128];
        for (int kind = 2; kind <= 4; kind++) {
            fill_row(x, 64, kind);
            assert_int_equal(lq_quantize_rows(type, x, 1, 64, q, sizeof q, NULL, NULL, NULL),
                             LQ_OK);
            assert_int_equal(lq_dequantize_rows(type, q, back, 64, NULL), LQ_OK);
            /* 0.5 and -3.25 sit on every grid: -8 d, 0 * d + m, or 127 * (x/127) rounded */
            bool exact =
                kind == 2 || formats[f].affine || type == LQ_TYPE_Q4_0 || type == LQ_TYPE_Q5_0;
            for (int j = 0; exact && j < 64; j++) {
                assert_true(back[j] == x[j]);
            }
        }
    }
}

/* Q8_1 activations of magnitude 1e4 overflow s = d * sum(q) although d fits: refused, since
 * the q4_1/q5_1 dots would turn it into an infinite result. */
static void test_q8_1_sum_overflow_refused(void **state)
{
    (void)state;
    float x[QK];
    for (int j = 0; j < QK; j++) {
        x[j] = 1e4f; /* d = 1e4/127, sum q = 32 * 127: s = 3.2e5 */
    }
    unsigned char q[36];
    struct lq_error err;
    assert_int_equal(lq_quantize_rows(LQ_TYPE_Q8_1, x, 1, QK, q, sizeof q, NULL, NULL, &err),
                     LQ_E_RANGE);
    struct lq_quantize_params p = lq_quantize_params_default();
    p.allow_nonfinite = true;
    assert_int_equal(lq_quantize_rows(LQ_TYPE_Q8_1, x, 1, QK, q, sizeof q, &p, NULL, NULL), LQ_OK);
    assert_true(rd_f16(q) == lq_fp16_to_fp32(lq_fp32_to_fp16(1e4f / 127))); /* d fits */
    assert_true(isinf(rd_f16(q + 2)));                                      /* s does not */
}

/* 1e30 overflows every fp16 scale: refused like llama-quantize's validation refuses it,
 * with the row named; the statistics report the infinite error instead of hiding it. */
static void test_legacy_huge_values_refused(void **state)
{
    (void)state;
    float x[3 * 64];
    fill_row(x, 3 * 64, 0);
    for (int j = 0; j < 64; j++) {
        x[64 + j] *= 1e30f;
    }
    for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
        int type = formats[f].type;
        unsigned char q[3 * 128];
        struct lq_error err;
        assert_int_equal(lq_quantize_rows(type, x, 3, 64, q, sizeof q, NULL, NULL, &err),
                         LQ_E_RANGE);
        assert_non_null(strstr(err.msg, "row 1"));
        assert_non_null(strstr(err.msg, "overflows"));
        struct lq_quant_stats st;
        assert_int_equal(lq_quant_error_stats(type, x + 64, 64, NULL, &st, NULL), LQ_OK);
        assert_true(isinf(st.max_abs_err));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_q4_0_hand_ramp),
        cmocka_unit_test(test_q4_0_hand_sign_and_zero),
        cmocka_unit_test(test_q4_1_hand_ramp),
        cmocka_unit_test(test_q5_0_hand_ramp),
        cmocka_unit_test(test_q5_1_hand_ramp),
        cmocka_unit_test(test_q8_0_hand_ties),
        cmocka_unit_test(test_q8_1_hand_sum),
        cmocka_unit_test(test_legacy_error_bounds),
        cmocka_unit_test(test_legacy_exact_rows),
        cmocka_unit_test(test_legacy_huge_values_refused),
        cmocka_unit_test(test_q8_1_sum_overflow_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
