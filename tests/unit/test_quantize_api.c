/* test_quantize_api.c - lq/quantize.h and lq/simd.h entry points: argument checks and their
 * messages, non-finite input handling, error statistics and their merging. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lq/quantize.h"
#include "lq/simd.h"
#include "lq/types.h"
#include "lqt_util.h"

static void fill_ramp(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        x[i] = (float)sin(0.37 * (double)i) * (1.0f + (float)(i % 7));
    }
}

// ---- lq_quantize_rows checks ------------------------------------------------------------

static void test_quantize_rejects_bad_shapes(void **state)
{
    (void)state;
    float x[256];
    unsigned char q[256];
    struct lq_error err;
    fill_ramp(x, 256);
    assert_int_equal(lq_quantize_rows(LQ_TYPE_Q4_0, x, 1, 48, q, sizeof q, NULL, NULL, &err),
                     LQ_E_INVALID_ARG);
    assert_non_null(strstr(err.msg, "block size 32"));
    /* 3 rows of 32 need 54 bytes */
    assert_int_equal(lq_quantize_rows(LQ_TYPE_Q4_0, x, 3, 32, q, 53, NULL, NULL, &err),
                     LQ_E_INVALID_ARG);
    assert_non_null(strstr(err.msg, "54 bytes"));
    assert_int_equal(lq_quantize_rows(4, x, 1, 32, q, sizeof q, NULL, NULL, &err),
                     LQ_E_INVALID_ARG); /* a retired id */
    /* a type known by size only (not in llama.cpp's quantizers libquant matches) */
    assert_int_equal(lq_quantize_rows(LQ_TYPE_NVFP4, x, 1, 64, q, sizeof q, NULL, NULL, &err),
                     LQ_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "nvfp4"));
    /* IQ2_XXS needs importance weights, as in llama.cpp */
    float x256[256] = {0};
    assert_int_equal(lq_quantize_rows(LQ_TYPE_IQ2_XXS, x256, 1, 256, q, sizeof q, NULL, NULL, &err),
                     LQ_E_INVALID_ARG);
    assert_non_null(strstr(err.msg, "iq2_xxs"));
    assert_non_null(strstr(err.msg, "importance weights"));
    size_t written = 99;
    assert_int_equal(lq_quantize_rows(LQ_TYPE_Q8_0, x, 0, 32, q, 0, NULL, &written, &err), LQ_OK);
    assert_int_equal(written, 0);
}

static void test_quantize_refuses_nonfinite_naming_place(void **state)
{
    (void)state;
    float x[4 * 64];
    unsigned char q[4 * 72];
    struct lq_error err;
    fill_ramp(x, 4 * 64);
    x[2 * 64 + 5] = NAN;
    x[3 * 64 + 1] = INFINITY; /* later in row order: the NaN is reported */
    struct lq_quantize_params p = lq_quantize_params_default();
    p.tensor_name = "blk.0.attn_q.weight";
    p.nthreads = 2;
    assert_int_equal(lq_quantize_rows(LQ_TYPE_Q8_0, x, 4, 64, q, sizeof q, &p, NULL, &err),
                     LQ_E_RANGE);
    assert_non_null(strstr(err.msg, "blk.0.attn_q.weight"));
    assert_non_null(strstr(err.msg, "row 2, column 5"));
    assert_non_null(strstr(err.msg, "nan"));
    x[2 * 64 + 5] = 1.0f;
    assert_int_equal(lq_quantize_rows(LQ_TYPE_Q8_0, x, 4, 64, q, sizeof q, &p, NULL, &err),
                     LQ_E_RANGE);
    assert_non_null(strstr(err.msg, "row 3, column 1"));
    assert_non_null(strstr(err.msg, "inf"));
}

/* With allow_nonfinite, a row with NaN gets the reference quantizer's bytes (the fast path is
 * only promised equal for finite input) and the other rows are unaffected. */
static void test_quantize_allow_nonfinite_matches_reference(void **state)
{
    (void)state;
    float x[2 * 64];
    unsigned char q[256], want[256];
    fill_ramp(x, 2 * 64);
    x[64 + 40] = NAN;
    const int types[] = {LQ_TYPE_Q4_0, LQ_TYPE_Q4_1, LQ_TYPE_Q5_0,
                         LQ_TYPE_Q5_1, LQ_TYPE_Q8_0, LQ_TYPE_Q8_1};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        const struct lq_type_traits *t = lq_type_traits_get(types[i]);
        size_t row = lq_row_size(types[i], 64);
        struct lq_quantize_params p = lq_quantize_params_default();
        p.allow_nonfinite = true;
        assert_int_equal(lq_quantize_rows(types[i], x, 2, 64, q, sizeof q, &p, NULL, NULL), LQ_OK);
        t->from_float_ref(x, want, 2 * 64);
        assert_memory_equal(q, want, 2 * row);
        /* most reference quantizers skip a NaN when scanning for the range (comparisons
         * with NaN are false), so the scale may stay finite: only the bytes are promised */
        assert_true(lq_validate_row_data(types[i], q, row));
    }
}

static void test_quantize_rejects_bad_imatrix(void **state)
{
    (void)state;
    float x[64], w[64];
    unsigned char q[64];
    struct lq_error err;
    fill_ramp(x, 64);
    for (int i = 0; i < 64; i++) {
        w[i] = 1.0f;
    }
    w[17] = -0.5f;
    struct lq_quantize_params p = lq_quantize_params_default();
    p.imatrix = w;
    assert_int_equal(lq_quantize_rows(LQ_TYPE_Q4_0, x, 1, 64, q, sizeof q, &p, NULL, &err),
                     LQ_E_RANGE);
    assert_non_null(strstr(err.msg, "importance weight 17"));
    w[17] = NAN;
    assert_int_equal(lq_quantize_rows(LQ_TYPE_Q4_0, x, 1, 64, q, sizeof q, &p, NULL, &err),
                     LQ_E_RANGE);
}

/* Float types go through the same entry point as plain conversions. */
static void test_quantize_float_types_convert(void **state)
{
    (void)state;
    float x[8] = {1.0f, -2.5f, 65504.0f, 0.0f, 1e-8f, 3.0f, -0.0f, 0.25f};
    uint16_t h[8];
    float back[8];
    assert_int_equal(lq_quantize_rows(LQ_TYPE_F16, x, 1, 8, h, sizeof h, NULL, NULL, NULL), LQ_OK);
    assert_int_equal(h[0], 0x3C00);
    assert_int_equal(h[1], 0xC100);
    assert_int_equal(lq_dequantize_rows(LQ_TYPE_F16, h, back, 8, NULL), LQ_OK);
    assert_true(back[2] == 65504.0f && back[7] == 0.25f);
    float bad[2] = {1.0f, NAN};
    assert_false(lq_validate_row_data(LQ_TYPE_F32, bad, sizeof bad));
    assert_true(lq_validate_row_data(LQ_TYPE_F32, x, sizeof x));
    assert_false(lq_validate_row_data(4, x, sizeof x));
}

// ---- statistics -------------------------------------------------------------------------

/* The fields recomputed from an explicit round trip, in double. */
static void test_stats_values(void **state)
{
    (void)state;
    float x[128], back[128];
    unsigned char q[128];
    fill_ramp(x, 128);
    assert_int_equal(lq_quantize_rows(LQ_TYPE_Q4_1, x, 1, 128, q, sizeof q, NULL, NULL, NULL),
                     LQ_OK);
    assert_int_equal(lq_dequantize_rows(LQ_TYPE_Q4_1, q, back, 128, NULL), LQ_OK);
    double se = 0, sx = 0, mx = 0;
    for (int i = 0; i < 128; i++) {
        double e = (double)x[i] - back[i];
        se += e * e;
        sx += (double)x[i] * x[i];
        mx = fmax(mx, fabs(e));
    }
    struct lq_quant_stats st;
    assert_int_equal(lq_quant_error_stats(LQ_TYPE_Q4_1, x, 128, NULL, &st, NULL), LQ_OK);
    assert_int_equal(st.n, 128);
    assert_int_equal(st.n_nonfinite, 0);
    assert_true(fabs(st.rmse - sqrt(se / 128)) <= 1e-12 * sqrt(se / 128));
    assert_true(st.max_abs_err == mx);
    assert_true(fabs(st.rel_rmse - sqrt(se / sx)) <= 1e-12);
    assert_true(fabs(st.snr_db - 10 * log10(sx / se)) <= 1e-9);
}

/* Chunks accumulated one by one, or summarised apart and merged, give the whole's figures;
 * non-finite inputs are counted, not compared. */
static void test_stats_accumulate_and_merge(void **state)
{
    (void)state;
    float x[3 * 64];
    fill_ramp(x, 3 * 64);
    x[64 + 3] = NAN;
    struct lq_quant_stats acc, a, b, merged;
    lq_quant_stats_init(&acc);
    for (int r = 0; r < 3; r++) {
        assert_int_equal(lq_quant_error_accumulate(LQ_TYPE_Q5_0, x + 64 * r, 64, NULL, &acc, NULL),
                         LQ_OK);
    }
    assert_int_equal(lq_quant_error_stats(LQ_TYPE_Q5_0, x, 64, NULL, &a, NULL), LQ_OK);
    lq_quant_stats_init(&b);
    assert_int_equal(lq_quant_error_accumulate(LQ_TYPE_Q5_0, x + 64, 64, NULL, &b, NULL), LQ_OK);
    assert_int_equal(lq_quant_error_accumulate(LQ_TYPE_Q5_0, x + 128, 64, NULL, &b, NULL), LQ_OK);
    merged = a;
    lq_quant_stats_merge(&merged, &b);
    assert_int_equal(acc.n_nonfinite, 1);
    assert_int_equal(acc.n, 3 * 64 - 1);
    assert_true(isfinite(acc.max_abs_err)); /* Q5_0's range scan skips the NaN */
    assert_int_equal(merged.n, acc.n);
    assert_int_equal(merged.n_nonfinite, 1);
    assert_true(fabs(merged.sum_err2 - acc.sum_err2) <= 1e-12 * acc.sum_err2);
    x[64 + 3] = 0.5f;
    lq_quant_stats_init(&acc);
    for (int r = 0; r < 3; r++) {
        assert_int_equal(lq_quant_error_accumulate(LQ_TYPE_Q5_0, x + 64 * r, 64, NULL, &acc, NULL),
                         LQ_OK);
    }
    assert_int_equal(lq_quant_error_stats(LQ_TYPE_Q5_0, x + 64, 128, NULL, &b, NULL), LQ_OK);
    merged = a;
    lq_quant_stats_merge(&merged, &b);
    assert_int_equal(merged.n, 192);
    assert_true(fabs(merged.sum_err2 - acc.sum_err2) <= 1e-12 * acc.sum_err2);
    assert_true(fabs(merged.rmse - acc.rmse) <= 1e-12 * acc.rmse);
    assert_true(merged.max_abs_err == acc.max_abs_err);
}

static void test_stats_zero_input(void **state)
{
    (void)state;
    float x[32] = {0};
    struct lq_quant_stats st;
    assert_int_equal(lq_quant_error_stats(LQ_TYPE_Q4_0, x, 32, NULL, &st, NULL), LQ_OK);
    assert_true(st.rmse == 0 && st.rel_rmse == 0 && isinf(st.snr_db) && st.snr_db > 0);
    struct lq_error err;
    assert_int_equal(lq_quant_error_stats(LQ_TYPE_Q4_0, x, 31, NULL, &st, &err), LQ_E_INVALID_ARG);
}

// ---- dot products and SIMD level --------------------------------------------------------

static void test_vec_dot_checks(void **state)
{
    (void)state;
    float x[64], got;
    unsigned char qx[72], qy[72];
    struct lq_error err;
    fill_ramp(x, 64);
    assert_int_equal(lq_quantize_activation(LQ_TYPE_Q8_0, x, qy, 64, NULL), LQ_OK);
    assert_int_equal(lq_quantize_rows(LQ_TYPE_Q8_0, x, 1, 64, qx, sizeof qx, NULL, NULL, NULL),
                     LQ_OK);
    assert_int_equal(lq_vec_dot(LQ_TYPE_Q8_0, 64, qx, qy, &got, NULL), LQ_OK);
    double want = 0;
    for (int i = 0; i < 64; i++) {
        want += (double)x[i] * x[i];
    }
    assert_true(fabs(got - want) < 0.01 * want); /* q8 x q8 of the same vector: |x|^2 */
    assert_int_equal(lq_vec_dot(LQ_TYPE_Q8_1, 64, qx, qy, &got, &err), LQ_E_UNSUPPORTED);
    assert_int_equal(lq_vec_dot(LQ_TYPE_Q8_0, 48, qx, qy, &got, &err), LQ_E_INVALID_ARG);
    assert_int_equal(lq_quantize_activation(LQ_TYPE_Q8_0, x, qy, 40, &err), LQ_E_INVALID_ARG);
}

static void test_simd_level_controls(void **state)
{
    (void)state;
    enum lq_simd_level saved = lq_simd_level_get();
    assert_true(saved <= lq_simd_level_supported());
    assert_int_equal(lq_simd_level_set(LQ_SIMD_SCALAR, NULL), LQ_OK);
    assert_int_equal(lq_simd_level_get(), LQ_SIMD_SCALAR);
    struct lq_error err;
    assert_int_equal(lq_simd_level_set((enum lq_simd_level)7, &err), LQ_E_INVALID_ARG);
    assert_int_equal(lq_simd_level_set((enum lq_simd_level)LQ_SIMD_LEVEL_COUNT, &err),
                     LQ_E_INVALID_ARG);
    if (lq_simd_level_supported() < LQ_SIMD_AVX512) {
        assert_int_equal(lq_simd_level_set(LQ_SIMD_AVX512, &err), LQ_E_UNSUPPORTED);
    }
    if (lq_simd_level_supported() < LQ_SIMD_AMX) {
        assert_int_equal(lq_simd_level_set(LQ_SIMD_AMX, &err), LQ_E_UNSUPPORTED);
    }
    assert_string_equal(lq_simd_level_name(LQ_SIMD_AVX2), "avx2");
    assert_string_equal(lq_simd_level_name(LQ_SIMD_AMX), "amx");
    assert_int_equal(lq_simd_level_set(saved, NULL), LQ_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantize_rejects_bad_shapes),
        cmocka_unit_test(test_quantize_refuses_nonfinite_naming_place),
        cmocka_unit_test(test_quantize_allow_nonfinite_matches_reference),
        cmocka_unit_test(test_quantize_rejects_bad_imatrix),
        cmocka_unit_test(test_quantize_float_types_convert),
        cmocka_unit_test(test_stats_values),
        cmocka_unit_test(test_stats_accumulate_and_merge),
        cmocka_unit_test(test_stats_zero_input),
        cmocka_unit_test(test_vec_dot_checks),
        cmocka_unit_test(test_simd_level_controls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
