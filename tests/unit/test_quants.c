/* test_quants.c - table-driven checks of every type that has a reference quantizer
 * (from_float_ref): registering a type in the table is enough to get it tested here.
 *
 * Independent expectations: llama.cpp's own bytes and floats for the 16 reference rows
 * (shared/data/reference/quants, produced by ggml_quantize_chunk and its to_float), a float
 * dot product of the dequantized operands, and error thresholds derived from bits per weight.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/quantize.h"
#include "lq/simd.h"
#include "lq/types.h"
#include "lqt_util.h"

#define REF_ROWS 16
#define REF_COLS 4096

// ---- helpers ----------------------------------------------------------------------------

static uint64_t rng_state;

static double rng_uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return ((double)(rng_state >> 11) + 0.5) / 9007199254740992.0;
}

static double rng_normal(void)
{
    return sqrt(-2.0 * log(rng_uniform())) * cos(6.283185307179586 * rng_uniform());
}

/* Rows of several shapes: normal, heavy-tailed, uniform, one-sided, sparse outliers, and
 * halves with a 127 heading every 32 values (exact rounding ties for the 8-bit types). */
static void fill_random(float *x, int64_t n, int kind, uint64_t seed)
{
    rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
    for (int64_t i = 0; i < n; i++) {
        double v = rng_normal();
        switch (kind % 6) {
        case 5:
            v = i % 32 == 0 ? 127.0 : round(v * 40) / 2;
            break;
        case 1:
            v = v / sqrt(fabs(rng_normal()) + 1e-3) / 3; /* heavy tails */
            break;
        case 2:
            v = 2 * rng_uniform() - 1;
            break;
        case 3:
            v = fabs(v) * 0.03;
            break;
        case 4:
            v = rng_uniform() < 0.01 ? 20 * v : 0.02 * v;
            break;
        }
        x[i] = (float)v;
    }
}

/* Rows the searches treat specially: runs of 16 equal values (flat sub-blocks: zero, positive
 * or negative constants) between normal ones (kind 0), and super-blocks alternating between
 * tiny (1e-30) and huge (1e25) magnitudes (kind 1). */
static void fill_edge(float *x, int64_t n, int kind, uint64_t seed)
{
    fill_random(x, n, 0, seed);
    for (int64_t i = 0; i < n; i++) {
        if (kind == 0) {
            const int64_t run = i / 16;
            x[i] = run % 4 == 0 ? 0.f : run % 4 == 1 ? 1.5f : run % 4 == 2 ? -0.75f : x[i];
        } else {
            x[i] *= (i / 256) % 2 ? 1e25f : 1e-30f;
        }
    }
}

/* Quantized types with a reference quantizer: the ones this file walks. */
static const struct lq_type_traits *walked(int type)
{
    const struct lq_type_traits *t = lq_type_traits_get(type);
    return t && t->is_quantized && t->from_float_ref ? t : NULL;
}

/* Activation-only types (Q8_1, Q8_K): some type's vec_dot_type, with no dot of their own.
 * llama.cpp writes no files of them, so there are no reference vectors either. */
static bool activation_only(int type, const struct lq_type_traits *t)
{
    if (t->vec_dot) {
        return false;
    }
    for (int o = 0; o < LQ_TYPE_COUNT; o++) {
        const struct lq_type_traits *ot = lq_type_traits_get(o);
        if (ot && ot->vec_dot && (int)ot->vec_dot_type == type) {
            return true;
        }
    }
    return false;
}

/* Every other type the table can quantize has llama.cpp's bytes to match: a missing file
 * fails the test (lqt_data_path) instead of leaving the type unchecked. */
static bool needs_reference(int type, const struct lq_type_traits *t)
{
    return !activation_only(type, t);
}

static void *load_ref(const char *name, const char *suffix, size_t want)
{
    char rel[256];
    snprintf(rel, sizeof rel, "reference/quants/%s%s", name, suffix);
    size_t size;
    void *data = lqt_read_file(lqt_data_path(rel), &size);
    if (size != want) {
        fail_msg("%s: %zu bytes, expected %zu", rel, size, want);
    }
    return data;
}

static void assert_bytes_equal(const void *got, const void *want, size_t n, const char *what,
                               const char *type, size_t row_size)
{
    const unsigned char *g = got, *w = want;
    for (size_t i = 0; i < n; i++) {
        if (g[i] != w[i]) {
            fail_msg("%s %s: first difference at row %zu, byte %zu: got 0x%02x want 0x%02x", type,
                     what, i / row_size, i % row_size, g[i], w[i]);
        }
    }
}

/* Levels the CPU supports, lowest first; the active level is restored by the caller. */
static int simd_levels(enum lq_simd_level out[LQ_SIMD_LEVEL_COUNT])
{
    int n = 0;
    for (int l = LQ_SIMD_SCALAR; l <= (int)lq_simd_level_supported(); l++) {
        out[n++] = (enum lq_simd_level)l;
    }
    return n;
}

// ---- byte identity with llama.cpp -------------------------------------------------------

/* Quantizes the 16 reference rows with and without the reference imatrix through the
 * public API, through from_float_ref directly, and on every SIMD level; dequantizes llama.cpp's
 * bytes and compares floats bit for bit. */
static void check_reference_type(int type, const struct lq_type_traits *t, const float *in,
                                 const float *imatrix)
{
    const size_t row_size = lq_row_size(type, REF_COLS);
    const size_t total = row_size * REF_ROWS;
    unsigned char *got = malloc(total);
    float *deq = malloc(sizeof(float) * REF_ROWS * REF_COLS);
    enum lq_simd_level levels[LQ_SIMD_LEVEL_COUNT];
    int nlev = simd_levels(levels);
    /* llama.cpp refuses the types that need importance weights without them: no plain
     * files, and libquant must refuse too */
    for (int w = 0; w < 2; w++) {
        const char *suffix = w ? ".imatrix" : "";
        if (!w && t->needs_imatrix) {
            struct lq_quantize_params plain = lq_quantize_params_default();
            assert_int_not_equal(lq_quantize_rows(type, in, REF_ROWS, REF_COLS, got, total, &plain,
                                                  NULL, NULL),
                                 LQ_OK);
            continue;
        }
        char name[64];
        snprintf(name, sizeof name, "%s%s.bin", t->name, suffix);
        unsigned char *want = load_ref(t->name, name + strlen(t->name), total);
        struct lq_quantize_params p = lq_quantize_params_default();
        p.imatrix = w ? imatrix : NULL;
        for (int l = 0; l < nlev; l++) {
            assert_int_equal(lq_simd_level_set(levels[l], NULL), LQ_OK);
            size_t written = 0;
            memset(got, 0xA5, total);
            assert_int_equal(
                lq_quantize_rows(type, in, REF_ROWS, REF_COLS, got, total, &p, &written, NULL),
                LQ_OK);
            assert_int_equal(written, total);
            assert_bytes_equal(got, want, total, suffix[0] ? "imatrix" : "plain", t->name,
                               row_size);
        }
        if (!w && t->from_float_ref) {
            t->from_float_ref(in, got, (int64_t)REF_ROWS * REF_COLS);
            assert_bytes_equal(got, want, total, "from_float_ref", t->name, row_size);
        }
        snprintf(name, sizeof name, "%s.dequant-f32.bin", suffix);
        float *want_f = load_ref(t->name, name, sizeof(float) * REF_ROWS * REF_COLS);
        for (int l = 0; l < nlev; l++) {
            assert_int_equal(lq_simd_level_set(levels[l], NULL), LQ_OK);
            assert_int_equal(lq_dequantize_rows(type, want, deq, REF_ROWS * REF_COLS, NULL), LQ_OK);
            assert_bytes_equal(deq, want_f, sizeof(float) * REF_ROWS * REF_COLS, "dequant", t->name,
                               sizeof(float) * REF_COLS);
        }
        free(want_f);
        free(want);
    }
    free(got);
    free(deq);
}

static void test_quants_reference_bytes(void **state)
{
    (void)state;
    size_t size;
    float *in = lqt_read_file(lqt_data_path("reference/quants/input-f32.bin"), &size);
    assert_int_equal(size, sizeof(float) * REF_ROWS * REF_COLS);
    float *imatrix = lqt_read_file(lqt_data_path("reference/quants/imatrix-f32.bin"), &size);
    assert_int_equal(size, sizeof(float) * REF_COLS);
    enum lq_simd_level saved = lq_simd_level_get();
    int checked = 0;
    for (int type = 0; type < LQ_TYPE_COUNT; type++) {
        const struct lq_type_traits *t = lq_type_traits_get(type);
        if (t && t->is_quantized && (t->from_float_ref || t->quantize) &&
            needs_reference(type, t)) {
            print_message("%s\n", t->name);
            check_reference_type(type, t, in, imatrix);
            checked++;
        }
    }
    assert_int_equal(lq_simd_level_set(saved, NULL), LQ_OK);
    print_message("checked %d types against llama.cpp's bytes\n", checked);
    assert_true(checked >= 12); /* at least the legacy types, the k-quants and IQ4_NL/XS */
    free(in);
    free(imatrix);
}

// ---- fast path == reference -------------------------------------------------------------

static void test_quants_fast_path_matches_ref(void **state)
{
    (void)state;
    const int64_t n = 4096;
    float *x = malloc(sizeof(float) * n);
    unsigned char *a = malloc(8 * n), *b = malloc(8 * n);
    enum lq_simd_level saved = lq_simd_level_get(), levels[LQ_SIMD_LEVEL_COUNT];
    int nlev = simd_levels(levels);
    for (int type = 0; type < LQ_TYPE_COUNT; type++) {
        const struct lq_type_traits *t = walked(type);
        if (!t || !t->from_float) {
            continue;
        }
        for (int kind = 0; kind < 8; kind++) {
            if (kind < 6) {
                fill_random(x, n, kind, 100 + (uint64_t)kind);
            } else {
                fill_edge(x, n, kind - 6, 100 + (uint64_t)kind);
            }
            /* the reference bytes come from the scalar path: shared searches (the k-quants'
             * scale search) dispatch by level too */
            assert_int_equal(lq_simd_level_set(LQ_SIMD_SCALAR, NULL), LQ_OK);
            t->from_float_ref(x, a, n);
            for (int l = 0; l < nlev; l++) {
                assert_int_equal(lq_simd_level_set(levels[l], NULL), LQ_OK);
                memset(b, 0x5A, lq_row_size(type, n));
                t->from_float(x, b, n);
                assert_bytes_equal(b, a, lq_row_size(type, n), lq_simd_level_name(levels[l]),
                                   t->name, lq_row_size(type, n));
            }
        }
    }
    assert_int_equal(lq_simd_level_set(saved, NULL), LQ_OK);
    free(x);
    free(a);
    free(b);
}

// ---- round-trip error -------------------------------------------------------------------

/* Relative RMSE allowed on unit-normal data: each bit per weight halves the error; the
 * constant leaves at least 1.5x headroom over every type measured (q4_0 0.085 vs 0.27,
 * q8_0 0.0053 vs 0.017, q8_K 0.0067 vs 0.011, whose bpw counts its block sums), while a
 * broken quantizer lands near 1. */
static double rel_rmse_bound(int type)
{
    return 3.0 * pow(2.0, -(lq_type_bpw(type) - 1.0));
}

static void test_quants_round_trip_error(void **state)
{
    (void)state;
    const int64_t n = 4096;
    float *x = malloc(sizeof(float) * n);
    fill_random(x, n, 0, 7);
    for (int type = 0; type < LQ_TYPE_COUNT; type++) {
        const struct lq_type_traits *t = walked(type);
        if (!t || !t->to_float) {
            continue;
        }
        struct lq_quant_stats st;
        assert_int_equal(lq_quant_error_stats(type, x, n, NULL, &st, NULL), LQ_OK);
        print_message("%-5s rel_rmse %.5f (bound %.5f) snr %.1f dB\n", t->name, st.rel_rmse,
                      rel_rmse_bound(type), st.snr_db);
        assert_true(st.rel_rmse < rel_rmse_bound(type));
        assert_true(st.rel_rmse > 0); /* no type is lossless on random data */
        assert_int_equal(st.n, n);
    }
    free(x);
}

// ---- validation -------------------------------------------------------------------------

/* Valid output passes; all-ones bytes make every fp16/f32 scale NaN and must be refused, as
 * must a size that is not a whole number of blocks. */
static void test_quants_validate_rejects_nan_scale(void **state)
{
    (void)state;
    const int64_t n = 512;
    float x[512];
    unsigned char q[4096];
    fill_random(x, n, 0, 3);
    for (int type = 0; type < LQ_TYPE_COUNT; type++) {
        const struct lq_type_traits *t = walked(type);
        if (!t || !t->validate) {
            continue;
        }
        size_t bytes = lq_row_size(type, n);
        t->from_float_ref(x, q, n);
        assert_true(lq_validate_row_data(type, q, bytes));
        memset(q + t->type_size, 0xFF, t->type_size);
        assert_false(lq_validate_row_data(type, q, bytes));
        t->from_float_ref(x, q, n);
        assert_false(lq_validate_row_data(type, q, bytes - 1));
    }
}

// ---- thread count -----------------------------------------------------------------------

static void test_quants_threads_bit_identical(void **state)
{
    (void)state;
    const int64_t nrow = 7, ncol = 1024;
    float *x = malloc(sizeof(float) * nrow * ncol);
    float imatrix[1024];
    unsigned char *a = malloc(8 * nrow * ncol), *b = malloc(8 * nrow * ncol);
    fill_random(x, nrow * ncol, 4, 11);
    fill_random(imatrix, ncol, 3, 12);
    for (int type = 0; type < LQ_TYPE_COUNT; type++) {
        const struct lq_type_traits *t = walked(type);
        if (!t) {
            continue;
        }
        size_t total = lq_row_size(type, ncol) * nrow;
        for (int w = 0; w < 2; w++) {
            struct lq_quantize_params p = lq_quantize_params_default();
            p.imatrix = w ? imatrix : NULL;
            p.nthreads = 1;
            assert_int_equal(lq_quantize_rows(type, x, nrow, ncol, a, total, &p, NULL, NULL),
                             LQ_OK);
            p.nthreads = 2;
            assert_int_equal(lq_quantize_rows(type, x, nrow, ncol, b, total, &p, NULL, NULL),
                             LQ_OK);
            assert_memory_equal(a, b, total);
        }
    }
    free(x);
    free(a);
    free(b);
}

// ---- importance weights -----------------------------------------------------------------

static double weighted_err2(int type, const float *x, const void *q, const float *w, int64_t n)
{
    float *back = malloc(sizeof(float) * n);
    assert_int_equal(lq_dequantize_rows(type, q, back, n, NULL), LQ_OK);
    double s = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)x[i] - back[i];
        s += w[i] * d * d;
    }
    free(back);
    return s;
}

/* With the imatrix the quantizers minimise the importance-weighted error, so summed over
 * rows it must not exceed plain quantization's (Q8_0 ignores weights: equal). */
static void test_quants_imatrix_lowers_weighted_error(void **state)
{
    (void)state;
    const int64_t nrow = 8, ncol = 1024;
    float *x = malloc(sizeof(float) * nrow * ncol);
    float w[1024];
    unsigned char *q = malloc(8 * ncol);
    fill_random(w, ncol, 0, 21);
    for (int64_t i = 0; i < ncol; i++) {
        w[i] = w[i] * w[i] * (i % 7 == 0 ? 50.0f : 1.0f); /* some columns matter much more */
    }
    for (int type = 0; type < LQ_TYPE_COUNT; type++) {
        const struct lq_type_traits *t = walked(type);
        if (!t || !t->quantize || !t->to_float) {
            continue;
        }
        double plain = 0, weighted = 0;
        for (int64_t r = 0; r < nrow; r++) {
            float *row = x + r * ncol;
            fill_random(row, ncol, (int)r, 30 + (uint64_t)r);
            t->quantize(row, q, 1, ncol, NULL);
            plain += weighted_err2(type, row, q, w, ncol);
            t->quantize(row, q, 1, ncol, w);
            weighted += weighted_err2(type, row, q, w, ncol);
        }
        print_message("%-5s weighted error: plain %.5g, imatrix %.5g\n", t->name, plain, weighted);
        assert_true(weighted <= plain);
    }
    free(x);
    free(q);
}

// ---- dot products -----------------------------------------------------------------------

/* Bound on |kernel - float dot|: float accumulation (relative 1e-5 of sum |x y|), plus, for
 * Q8_1 activations, the fp16 rounding of s = d * sum(q) that the kernel uses in place of
 * the exact block sum (half an ulp, 2^-11 relative, times |m| of x's block). */
static double dot_tolerance(const float *xd, const float *yd, const void *y, int act, int64_t n)
{
    double tol = 1e-30;
    for (int64_t i = 0; i < n; i++) {
        tol += 1e-5 * fabs((double)xd[i] * yd[i]);
    }
    if (act == LQ_TYPE_Q8_1) {
        const unsigned char *p = y;
        float s_abs = 0;
        for (int64_t b = 0; b < n / 32; b++) {
            float s;
            lq_dequantize_rows(LQ_TYPE_F16, p + b * 36 + 2, &s, 1, NULL);
            float mx = 0;
            for (int j = 0; j < 32; j++) {
                mx = fmaxf(mx, fabsf(xd[b * 32 + j]));
            }
            s_abs += fabsf(s) * mx;
        }
        tol += s_abs * (1.0 / 2048) * 1.01;
    }
    return tol;
}

static void check_dot(int type, const struct lq_type_traits *t, int64_t n, int kind)
{
    const int act = (int)t->vec_dot_type;
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n);
    float *xd = malloc(sizeof(float) * n), *yd = malloc(sizeof(float) * n);
    void *qx = malloc(lq_row_size(type, n)), *qy = malloc(lq_row_size(act, n));
    assert_non_null(qy);
    fill_random(x, n, kind, 40 + (uint64_t)kind);
    fill_random(y, n, kind + 1, 50 + (uint64_t)kind);
    t->from_float_ref(x, qx, n);
    assert_int_equal(lq_quantize_activation(act, y, qy, n, NULL), LQ_OK);
    assert_int_equal(lq_dequantize_rows(type, qx, xd, n, NULL), LQ_OK);
    assert_int_equal(lq_dequantize_rows(act, qy, yd, n, NULL), LQ_OK);
    double want = 0;
    for (int64_t i = 0; i < n; i++) {
        want += (double)xd[i] * yd[i];
    }
    double tol = dot_tolerance(xd, yd, qy, act, n);
    enum lq_simd_level levels[LQ_SIMD_LEVEL_COUNT];
    int nlev = simd_levels(levels);
    for (int l = 0; l < nlev; l++) {
        assert_int_equal(lq_simd_level_set(levels[l], NULL), LQ_OK);
        float got;
        assert_int_equal(lq_vec_dot(type, n, qx, qy, &got, NULL), LQ_OK);
        if (fabs(got - want) > tol) {
            fail_msg("%s dot (%s, n=%lld): got %.9g want %.9g (tol %.3g)", t->name,
                     lq_simd_level_name(levels[l]), (long long)n, (double)got, want, tol);
        }
    }
    free(x);
    free(y);
    free(xd);
    free(yd);
    free(qx);
    free(qy);
}

static void test_quants_dot_matches_float(void **state)
{
    (void)state;
    enum lq_simd_level saved = lq_simd_level_get();
    for (int type = 0; type < LQ_TYPE_COUNT; type++) {
        const struct lq_type_traits *t = walked(type);
        if (!t || !t->vec_dot || !t->to_float) {
            continue;
        }
        const int64_t bs = t->blck_size;
        /* an odd block count exercises the SIMD tails */
        const int64_t sizes[] = {bs, 3 * bs, (4096 / bs | 1) * bs, 4096};
        for (int s = 0; s < 4; s++) {
            check_dot(type, t, sizes[s], s);
        }
    }
    assert_int_equal(lq_simd_level_set(saved, NULL), LQ_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quants_reference_bytes),
        cmocka_unit_test(test_quants_fast_path_matches_ref),
        cmocka_unit_test(test_quants_round_trip_error),
        cmocka_unit_test(test_quants_validate_rejects_nan_scale),
        cmocka_unit_test(test_quants_threads_bit_identical),
        cmocka_unit_test(test_quants_imatrix_lowers_weighted_error),
        cmocka_unit_test(test_quants_dot_matches_float),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
