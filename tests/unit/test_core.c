/* test_core.c - status codes, the type table, and exhaustive F16/BF16 conversion checks.
 * The independent expectation for half conversions is the compiler's own _Float16
 * (libgcc's soft-float routines), which rounds to nearest even. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lq/core.h"
#include "lq/fp16.h"
#include "lq/types.h"
#include "lqt_util.h"

static uint16_t ref_fp32_to_fp16(float f)
{
    _Float16 h = (_Float16)f;
    uint16_t u;
    memcpy(&u, &h, sizeof u);
    return u;
}

static float ref_fp16_to_fp32(uint16_t u)
{
    _Float16 h;
    memcpy(&h, &u, sizeof h);
    return (float)h;
}

static void test_fp16_to_fp32_exhaustive(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < 65536; i++) {
        float got = lq_fp16_to_fp32((uint16_t)i);
        float want = ref_fp16_to_fp32((uint16_t)i);
        if (isnan(want)) {
            assert_true(isnan(got));
            /* payload lands in the top mantissa bits, sign kept */
            assert_int_equal(lq_f32_bits(got) >> 13 & 0x3ff, i & 0x3ff);
            assert_int_equal(lq_f32_bits(got) >> 31, i >> 15);
        } else {
            assert_int_equal(lq_f32_bits(got), lq_f32_bits(want));
        }
    }
}

static void test_fp16_round_trip_exhaustive(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < 65536; i++) {
        uint16_t back = lq_fp32_to_fp16(lq_fp16_to_fp32((uint16_t)i));
        assert_int_equal(back, i);
    }
}

/* Every midpoint between neighbouring halves, and one float ulp either side of it, is where
 * rounding goes wrong; check them all against the reference. */
static void test_fp32_to_fp16_midpoints(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < 0x7c00; i++) {
        for (int sign = 0; sign < 2; sign++) {
            float a = lq_fp16_to_fp32((uint16_t)i);
            float b = i + 1 == 0x7c00 ? 65520.0f : lq_fp16_to_fp32((uint16_t)(i + 1));
            float mid = (float)(((double)a + (double)b) / 2.0);
            float pts[3] = { mid, nextafterf(mid, 0.0f), nextafterf(mid, INFINITY) };
            for (int k = 0; k < 3; k++) {
                float f = sign ? -pts[k] : pts[k];
                assert_int_equal(lq_fp32_to_fp16(f), ref_fp32_to_fp16(f));
            }
        }
    }
}

static void test_fp32_to_fp16_random_and_special(void **state)
{
    (void)state;
    const float special[] = { 0.0f, -0.0f, INFINITY, -INFINITY, 65504.0f, 65519.99f, 65520.0f,
                              1e-8f, 5.9604645e-8f, 2.9802322e-8f, 2.9802326e-8f, 6.1035156e-5f,
                              1e30f, -1e30f, 1.0f, -2.5f };
    for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
        assert_int_equal(lq_fp32_to_fp16(special[i]), ref_fp32_to_fp16(special[i]));
    }
    assert_int_equal(lq_fp32_to_fp16(1.0f), 0x3c00);
    assert_int_equal(lq_fp32_to_fp16(65520.0f), 0x7c00);
    assert_int_equal(lq_fp32_to_fp16(-65504.0f), 0xfbff);
    uint16_t nan = lq_fp32_to_fp16(lq_f32_from_bits(0x7f800001)); /* payload below half's */
    assert_true((nan & 0x7c00) == 0x7c00 && (nan & 0x3ff) != 0);
    uint32_t s = 12345;
    for (int i = 0; i < 4000000; i++) {
        s = s * 1664525u + 1013904223u;
        float f = lq_f32_from_bits(s);
        if (isnan(f)) {
            continue;
        }
        assert_int_equal(lq_fp32_to_fp16(f), ref_fp32_to_fp16(f));
    }
}

static void test_bf16_exhaustive(void **state)
{
    (void)state;
    for (uint32_t i = 0; i < 65536; i++) {
        float f = lq_bf16_to_fp32((uint16_t)i);
        assert_int_equal(lq_f32_bits(f), i << 16);
        uint16_t back = lq_fp32_to_bf16(f);
        if (isnan(f)) {
            assert_int_equal(back, i | 64); /* made quiet */
        } else {
            assert_int_equal(back, i);
        }
        /* the float halfway above this bf16 ties to even; one ulp above rounds up */
        if (!isnan(f) && (i & 0x7f80) != 0x7f80) {
            uint32_t mid = (i << 16) | 0x8000;
            uint16_t want = (i & 1) ? (uint16_t)(i + 1) : (uint16_t)i;
            assert_int_equal(lq_fp32_to_bf16(lq_f32_from_bits(mid)), want);
            assert_int_equal(lq_fp32_to_bf16(lq_f32_from_bits(mid + 1)), (uint16_t)(i + 1));
            assert_int_equal(lq_fp32_to_bf16(lq_f32_from_bits(mid - 1)), (uint16_t)i);
        }
    }
}

/* Spot checks against ggml's numbering and block sizes, which GGUF files depend on. */
static void test_type_table_matches_ggml(void **state)
{
    (void)state;
    struct { int id; const char *name; int64_t blck; size_t size; } rows[] = {
        { 0, "f32", 1, 4 },        { 1, "f16", 1, 2 },        { 2, "q4_0", 32, 18 },
        { 3, "q4_1", 32, 20 },     { 6, "q5_0", 32, 22 },     { 7, "q5_1", 32, 24 },
        { 8, "q8_0", 32, 34 },     { 9, "q8_1", 32, 36 },     { 10, "q2_K", 256, 84 },
        { 11, "q3_K", 256, 110 },  { 12, "q4_K", 256, 144 },  { 13, "q5_K", 256, 176 },
        { 14, "q6_K", 256, 210 },  { 15, "q8_K", 256, 292 },  { 16, "iq2_xxs", 256, 66 },
        { 17, "iq2_xs", 256, 74 }, { 18, "iq3_xxs", 256, 98 }, { 19, "iq1_s", 256, 50 },
        { 20, "iq4_nl", 32, 18 },  { 21, "iq3_s", 256, 110 }, { 22, "iq2_s", 256, 82 },
        { 23, "iq4_xs", 256, 136 }, { 24, "i8", 1, 1 },       { 25, "i16", 1, 2 },
        { 26, "i32", 1, 4 },       { 27, "i64", 1, 8 },       { 28, "f64", 1, 8 },
        { 29, "iq1_m", 256, 56 },  { 30, "bf16", 1, 2 },      { 34, "tq1_0", 256, 54 },
        { 35, "tq2_0", 256, 66 },  { 39, "mxfp4", 32, 17 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct lq_type_traits *t = lq_type_traits_get(rows[i].id);
        assert_non_null(t);
        assert_string_equal(t->name, rows[i].name);
        assert_int_equal(t->blck_size, rows[i].blck);
        assert_int_equal(t->type_size, rows[i].size);
        assert_int_equal(t->is_quantized, rows[i].blck > 1);
    }
    const int retired[] = { 4, 5, 31, 32, 33, 36, 37, 38, -1, LQ_TYPE_COUNT, 1000 };
    for (size_t i = 0; i < sizeof retired / sizeof retired[0]; i++) {
        assert_null(lq_type_traits_get(retired[i]));
        assert_string_equal(lq_type_name(retired[i]), "unknown");
    }
}

static void test_type_lookup_and_sizes(void **state)
{
    (void)state;
    enum lq_type t;
    assert_int_equal(lq_type_from_name("Q4_K", &t, NULL), LQ_OK);
    assert_int_equal(t, LQ_TYPE_Q4_K);
    assert_int_equal(lq_type_from_name("bf16", &t, NULL), LQ_OK);
    assert_int_equal(t, LQ_TYPE_BF16);
    struct lq_error err;
    assert_int_equal(lq_type_from_name("q4_9", &t, &err), LQ_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "q4_9"));
    assert_int_equal(lq_row_size(LQ_TYPE_Q4_K, 4096), 2304);
    assert_int_equal(lq_row_size(LQ_TYPE_Q8_0, 4096), 4352);
    assert_int_equal(lq_row_size(LQ_TYPE_Q4_K, 4000), 0); /* not a multiple of 256 */
    assert_true(fabs(lq_type_bpw(LQ_TYPE_Q4_K) - 4.5) < 1e-12);
    assert_true(fabs(lq_type_bpw(LQ_TYPE_Q6_K) - 6.5625) < 1e-12);
}

static void test_status_strings(void **state)
{
    (void)state;
    assert_string_equal(lq_status_str(LQ_OK), "ok");
    assert_string_equal(lq_status_str(LQ_E_FORMAT), "format error");
    assert_string_equal(lq_status_str((lq_status)-99), "unknown status");
    assert_int_equal(lq_version_number(), LQ_VERSION_NUMBER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fp16_to_fp32_exhaustive),
        cmocka_unit_test(test_fp16_round_trip_exhaustive),
        cmocka_unit_test(test_fp32_to_fp16_midpoints),
        cmocka_unit_test(test_fp32_to_fp16_random_and_special),
        cmocka_unit_test(test_bf16_exhaustive),
        cmocka_unit_test(test_type_table_matches_ggml),
        cmocka_unit_test(test_type_lookup_and_sizes),
        cmocka_unit_test(test_status_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
