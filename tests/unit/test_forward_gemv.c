/* test_forward_gemv.c - the one-token products of decoding (lqi_gemv_rows, eval/src/
 * forward_gemv*.c) at every SIMD level.
 *
 * Independent expectation: the plain dot in double of the same stored weights and the same
 * (rounded or quantized) activations. The SIMD kernels sum in another order than the plain
 * one (several accumulators, fused multiply-adds), so each result must lie within the
 * classical bound of float summation, n * 2^-24 * sum |w_i x_i| (products of F16 or BF16
 * values are exact in F32, so only the sums round); quantized rows, whose dot kernels sum
 * integer lanes first, within 1e-5 * sum |w_i x_i| of the dequantized values' dot.
 * Shapes with odd row counts (the four-row passes' leftovers), a start row r0 > 0 and
 * element counts off the vector widths reach every tail. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forward_impl.h"
#include "lq/fp16.h"
#include "lq/quantize.h"
#include "lq/simd.h"
#include "lqt_util.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static float next_float(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((int)((rng >> 20) % 2001) - 1000) * 1e-3f;
}

struct gemv_case {
    struct lqi_weight w;
    unsigned char *data;
    float *wf;  /* the weights as F32 (dequantized), n_out x n_in */
    float *xf;  /* the activation the kernel sees, as F32 */
    void *x;    /* the activation as the kernel takes it */
};

/* Random weights of `type` (n_out x n_in) and an activation converted for their kernel;
 * `dequant` forces the dequantize-and-multiply kind. */
static void case_make(struct gemv_case *c, enum lq_type type, int64_t n_out, int64_t n_in,
                      bool dequant)
{
    memset(c, 0, sizeof *c);
    const size_t n = (size_t)(n_out * n_in);
    float *src = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        src[i] = next_float();
    }
    const size_t row_size = lq_row_size(type, n_in);
    c->data = malloc(row_size * (size_t)n_out);
    c->wf = malloc(n * sizeof(float));
    if (type == LQ_TYPE_F32) {
        memcpy(c->data, src, n * sizeof(float));
        memcpy(c->wf, src, n * sizeof(float));
    } else {
        const struct lq_quantize_params qp = lq_quantize_params_default();
        assert_int_equal(lq_quantize_rows(type, src, n_out, n_in, c->data,
                                          row_size * (size_t)n_out, &qp, NULL, NULL),
                         LQ_OK);
        assert_int_equal(lq_dequantize_rows(type, c->data, c->wf, (int64_t)n, NULL), LQ_OK);
    }
    free(src);

    c->w = (struct lqi_weight){ .type = type, .n_in = n_in, .n_out = n_out, .data = c->data };
    assert_true(lqi_weight_setup(&c->w));
    if (dequant) {
        c->w.kind = LQI_DOT_DEQUANT;
    }
    float *x = malloc((size_t)n_in * sizeof(float));
    c->xf = malloc((size_t)n_in * sizeof(float));
    for (int64_t i = 0; i < n_in; i++) {
        x[i] = next_float();
    }
    if (c->w.kind == LQI_DOT_TABLE) {
        c->x = malloc(lq_row_size(c->w.act_type, n_in));
        assert_int_equal(lq_quantize_activation(c->w.act_type, x, c->x, n_in, NULL), LQ_OK);
        assert_int_equal(lq_dequantize_rows(c->w.act_type, c->x, c->xf, n_in, NULL), LQ_OK);
        free(x);
        return;
    }
    for (int64_t i = 0; i < n_in; i++) {
        c->xf[i] = c->w.kind == LQI_DOT_F16    ? lq_fp16_to_fp32(lq_fp32_to_fp16(x[i]))
                   : c->w.kind == LQI_DOT_BF16 ? lq_bf16_to_fp32(lq_fp32_to_bf16(x[i]))
                                                : x[i];
    }
    c->x = c->xf;
    free(x);
}

static void case_free(struct gemv_case *c)
{
    if (c->x != c->xf) {
        free(c->x);
    }
    free(c->xf);
    free(c->wf);
    free(c->data);
}

/* Rows r0 .. n_out - 1 at every SIMD level against the double dot, within the bound. */
static void case_check(const struct gemv_case *c, int64_t r0)
{
    const int64_t n_in = c->w.n_in, n_out = c->w.n_out;
    float *y = malloc((size_t)n_out * sizeof(float));
    const enum lq_simd_level saved = lq_simd_level_get();
    for (int l = LQ_SIMD_SCALAR; l <= (int)lq_simd_level_supported(); l++) {
        assert_int_equal(lq_simd_level_set((enum lq_simd_level)l, NULL), LQ_OK);
        memset(y, 0xFF, (size_t)n_out * sizeof(float)); /* NaN: an unwritten row fails */
        lqi_gemv_rows(y, &c->w, c->x, r0, n_out);
        for (int64_t r = r0; r < n_out; r++) {
            double want = 0, mag = 0;
            for (int64_t i = 0; i < n_in; i++) {
                const double p = (double)c->wf[r * n_in + i] * c->xf[i];
                want += p;
                mag += fabs(p);
            }
            const double tol = c->w.kind == LQI_DOT_TABLE ? 1e-5 * mag + 1e-30
                                                          : (double)n_in * 0x1p-24 * mag + 1e-30;
            const float got = y[r - r0];
            if (!(fabs(got - want) <= tol)) {
                fail_msg("%s (kind %d) at %s, row %lld of %lld x %lld: %.9g, want %.9g (tol "
                         "%.3g)",
                         lq_type_name(c->w.type), (int)c->w.kind,
                         lq_simd_level_name((enum lq_simd_level)l), (long long)r,
                         (long long)n_out, (long long)n_in, (double)got, want, tol);
            }
        }
    }
    assert_int_equal(lq_simd_level_set(saved, NULL), LQ_OK);
    free(y);
}

static void check_type(enum lq_type type, const int64_t *n_ins, int n_n, bool dequant)
{
    for (int k = 0; k < n_n; k++) {
        struct gemv_case c;
        case_make(&c, type, 11, n_ins[k], dequant);
        case_check(&c, 0);
        case_check(&c, 2);
        case_free(&c);
    }
}

static void test_gemv_float_rows(void **state)
{
    (void)state;
    /* 77: every tail; 512: whole vectors; 4160 rows longer than a page */
    const int64_t n_ins[] = { 1, 77, 512, 4160 };
    const enum lq_type types[] = { LQ_TYPE_F32, LQ_TYPE_F16, LQ_TYPE_BF16 };
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        check_type(types[t], n_ins, 4, false);
    }
}

static void test_gemv_quantized_rows(void **state)
{
    (void)state;
    const int64_t n_ins[] = { 256, 2816 };
    const enum lq_type types[] = { LQ_TYPE_Q4_0, LQ_TYPE_Q8_0, LQ_TYPE_Q4_K,
                                   LQ_TYPE_Q5_K, LQ_TYPE_Q6_K };
    for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
        check_type(types[t], n_ins, 2, false);
    }
}

/* Types without a dot kernel are dequantized a chunk at a time: rows longer than the
 * chunk (1024) and not a multiple of it. */
static void test_gemv_dequant_rows(void **state)
{
    (void)state;
    const int64_t n_ins[] = { 256, 2816 };
    check_type(LQ_TYPE_Q4_K, n_ins, 2, true);
    const int64_t n_32[] = { 32, 1056 };
    check_type(LQ_TYPE_Q4_0, n_32, 2, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemv_float_rows),
        cmocka_unit_test(test_gemv_quantized_rows),
        cmocka_unit_test(test_gemv_dequant_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
