/* test_quants_tq_mxfp4.c - the ternary types TQ1_0 / TQ2_0 and MXFP4, on blocks worked out
 * by hand from the format definitions (ggml-common.h and the OCP MX spec). Byte identity of
 * whole rows with llama.cpp is test_quants.c's job. */
#include <math.h>
#include <string.h>

#include "lq/fp16.h"
#include "lq/quantize.h"
#include "lq/types.h"
#include "lqt_util.h"

#include "quants/mxfp4.h"
#include "quants/ternary.h"

// ---- TQ1_0 ------------------------------------------------------------------------------

/* x[0] = 1 (trit 2) and x[32] = -1 (trit 0) with 0 elsewhere (trit 1) in byte 0's five
 * values 0, 32, 64, 96, 128: base 3 it is 2 0 1 1 1 = 175, stored as
 * ceil(175 * 256 / 243) = 185; an all-zero byte is 1 1 1 1 1 = 121 -> 128. qh[0] holds
 * values 240, 244, 248, 252 and a zero pad: x[244] = -0.7 rounds to -1, so 1 0 1 1 0 = 93
 * -> ceil(93 * 256 / 243) = 98. */
static void test_tq1_0_by_hand(void **state)
{
    (void)state;
    float x[QK_K] = {0};
    x[0] = 1.0f;
    x[32] = -1.0f;
    x[244] = -0.7f;
    block_tq1_0 b;
    assert_int_equal(lq_quantize_rows(LQ_TYPE_TQ1_0, x, 1, QK_K, &b, sizeof b, NULL, NULL, NULL),
                     LQ_OK);
    assert_true(lq_fp16_to_fp32(b.d) == 1.0f);
    assert_int_equal(b.qs[0], 185);
    assert_int_equal(b.qs[1], 128);
    assert_int_equal(b.qh[0], 98);
    float y[QK_K];
    assert_int_equal(lq_dequantize_rows(LQ_TYPE_TQ1_0, &b, y, QK_K, NULL), LQ_OK);
    for (int i = 0; i < QK_K; i++) {
        const float want = i == 0 ? 1.0f : (i == 32 || i == 244) ? -1.0f : 0.0f;
        assert_true(y[i] == want);
    }
}

// ---- TQ2_0 ------------------------------------------------------------------------------

/* Byte 32j + m holds values 128j + 32n + m at bits 2n as t + 1. */
static void test_tq2_0_by_hand(void **state)
{
    (void)state;
    float x[QK_K] = {0};
    x[0] = 2.0f;   /* byte 0, n = 0: t = 1 -> 2 */
    x[32] = -2.0f; /* byte 0, n = 1: t = -1 -> 0 */
    x[96] = 0.9f;  /* byte 0, n = 3: 0.45 rounds to 0 -> 1 */
    x[161] = 1.1f; /* byte 33, n = 1: 0.55 rounds to 1 -> 2 */
    block_tq2_0 b;
    assert_int_equal(lq_quantize_rows(LQ_TYPE_TQ2_0, x, 1, QK_K, &b, sizeof b, NULL, NULL, NULL),
                     LQ_OK);
    assert_true(lq_fp16_to_fp32(b.d) == 2.0f);
    assert_int_equal(b.qs[0], 2 | 0 << 2 | 1 << 4 | 1 << 6);
    assert_int_equal(b.qs[33], 1 | 2 << 2 | 1 << 4 | 1 << 6);
    assert_int_equal(b.qs[1], 0x55);
    float y[QK_K];
    assert_int_equal(lq_dequantize_rows(LQ_TYPE_TQ2_0, &b, y, QK_K, NULL), LQ_OK);
    assert_true(y[0] == 2.0f && y[32] == -2.0f && y[96] == 0.0f && y[161] == 2.0f);
}

/* The ternary types ignore importance weights, as llama.cpp does. */
static void test_tq_ignore_imatrix(void **state)
{
    (void)state;
    float x[QK_K], w[QK_K];
    for (int i = 0; i < QK_K; i++) {
        x[i] = sinf(0.37f * (float)i);
        w[i] = (float)(i % 5);
    }
    const enum lq_type types[2] = {LQ_TYPE_TQ1_0, LQ_TYPE_TQ2_0};
    for (int t = 0; t < 2; t++) {
        unsigned char a[128], b[128];
        const size_t rs = lq_row_size(types[t], QK_K);
        struct lq_quantize_params p = lq_quantize_params_default();
        assert_int_equal(lq_quantize_rows(types[t], x, 1, QK_K, a, rs, &p, NULL, NULL), LQ_OK);
        p.imatrix = w;
        assert_int_equal(lq_quantize_rows(types[t], x, 1, QK_K, b, rs, &p, NULL, NULL), LQ_OK);
        assert_memory_equal(a, b, rs);
    }
}

// ---- MXFP4 ------------------------------------------------------------------------------

static void test_e8m0_half(void **state)
{
    (void)state;
    assert_true(lqi_e8m0_half(0) == ldexpf(1.0f, -128));
    assert_true(lqi_e8m0_half(1) == ldexpf(1.0f, -127));
    assert_true(lqi_e8m0_half(2) == ldexpf(1.0f, -126));
    assert_true(lqi_e8m0_half(127) == 0.5f);
    assert_true(lqi_e8m0_half(254) == ldexpf(1.0f, 126));
}

/* max |x| = 6: e = floor(log2 6) - 2 + 127 = 127, half scale 0.5, so a value is 0.5 times
 * its doubled E2M1 level. 6 -> level 12 (code 7); -1.5 -> -3 (code 11); 0.25 lies halfway
 * between 0 and 0.5 and takes the first, code 0; 2.6 -> 3 (level 6, code 5); -5 halfway
 * between -4 and -6 takes -4 (level -8, code 14). Element j + 16 sits in byte j's high nibble. */
static void test_mxfp4_by_hand(void **state)
{
    (void)state;
    float x[32] = {0};
    x[0] = 6.0f;
    x[16] = -1.5f;
    x[1] = 0.25f;
    x[17] = 2.6f;
    x[2] = -5.0f;
    block_mxfp4 b;
    assert_int_equal(lq_quantize_rows(LQ_TYPE_MXFP4, x, 1, 32, &b, sizeof b, NULL, NULL, NULL),
                     LQ_OK);
    assert_int_equal(b.e, 127);
    assert_int_equal(b.qs[0], 7 | 11 << 4);
    assert_int_equal(b.qs[1], 0 | 5 << 4);
    assert_int_equal(b.qs[2], 14);
    float y[32];
    assert_int_equal(lq_dequantize_rows(LQ_TYPE_MXFP4, &b, y, 32, NULL), LQ_OK);
    assert_true(y[0] == 6.0f && y[16] == -1.5f && y[1] == 0.0f && y[17] == 3.0f && y[2] == -4.0f);
}

/* e = 0xFF is E8M0's NaN: refused, as ggml_validate_row_data does; 0xFE is fine. */
static void test_mxfp4_validate(void **state)
{
    (void)state;
    block_mxfp4 b[2];
    memset(b, 0, sizeof b);
    b[1].e = 0xFE;
    assert_true(lq_validate_row_data(LQ_TYPE_MXFP4, b, sizeof b));
    b[1].e = 0xFF;
    assert_false(lq_validate_row_data(LQ_TYPE_MXFP4, b, sizeof b));
    assert_false(lq_validate_row_data(LQ_TYPE_MXFP4, b, sizeof b - 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tq1_0_by_hand),     cmocka_unit_test(test_tq2_0_by_hand),
        cmocka_unit_test(test_tq_ignore_imatrix), cmocka_unit_test(test_e8m0_half),
        cmocka_unit_test(test_mxfp4_by_hand),     cmocka_unit_test(test_mxfp4_validate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
