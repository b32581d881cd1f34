/* test_quants_dot_multi.c - the multi-token and multi-row dot kernels (lq_type_traits
 * .vec_dot_multi, .vec_dot_rows).
 *
 * Independent expectation: the single-row kernel vec_dot, itself checked against llama.cpp's
 * output and float arithmetic in test_quants_kquant.c / test_quants_legacy.c. A multi call
 * must give every activation row exactly (bit for bit) what vec_dot gives for it at the same
 * SIMD level, so that evaluation results do not depend on how tokens are batched; a rows call
 * every weight row what vec_dot gives for it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lq/simd.h"
#include "lq/types.h"
#include "lqt_util.h"

/* Types whose multi kernel the forward pass relies on: losing one must fail here. */
static const enum lq_type with_multi[] = {
    LQ_TYPE_Q4_0,    LQ_TYPE_Q4_1,  LQ_TYPE_Q5_0,   LQ_TYPE_Q5_1,   LQ_TYPE_Q8_0,
    LQ_TYPE_Q4_K,    LQ_TYPE_Q5_K,  LQ_TYPE_Q6_K,   LQ_TYPE_IQ3_XXS, LQ_TYPE_IQ3_S,
    LQ_TYPE_TQ1_0,   LQ_TYPE_TQ2_0, LQ_TYPE_MXFP4,  LQ_TYPE_IQ4_NL, LQ_TYPE_IQ4_XS};

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

/* Normal values times scale, with a few outliers so that scales and mins vary by block. */
static void gen_row(float *x, int64_t n, float scale)
{
    for (int64_t i = 0; i < n; i++) {
        x[i] = scale * rng_normal() * (rng_uniform() < 0.02 ? 8.f : 1.f);
    }
}

static void test_table_has_multi(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof with_multi / sizeof with_multi[0]; i++) {
        const struct lq_type_traits *t = lq_type_traits_get(with_multi[i]);
        assert_non_null(t);
        if (!t->vec_dot_multi) {
            fail_msg("%s has no vec_dot_multi", t->name);
        }
    }
    /* a multi kernel without a single one would have nothing to agree with */
    for (int type = 0; type < LQ_TYPE_COUNT; type++) {
        const struct lq_type_traits *t = lq_type_traits_get(type);
        assert_true(!t || !t->vec_dot_multi || t->vec_dot);
    }
}

/* One weight row of nb blocks against 1 .. LQ_VEC_DOT_MULTI_MAX activation rows stored
 * `pad` bytes apart beyond their size (filled with junk the kernels must not read as
 * data), at every SIMD level the CPU has. */
static void check_type(int type, int64_t nb, size_t pad)
{
    const struct lq_type_traits *t = lq_type_traits_get(type);
    const struct lq_type_traits *at = lq_type_traits_get(t->vec_dot_type);
    assert_non_null(at);
    const int64_t n = nb * t->blck_size;
    assert_int_equal(n % at->blck_size, 0);
    const size_t xsize = lq_row_size(type, n);
    const size_t ysize = lq_row_size(t->vec_dot_type, n), stride = ysize + pad;
    float *f = malloc((size_t)n * sizeof(float));
    unsigned char *x = malloc(xsize);
    unsigned char *y = malloc(stride * LQ_VEC_DOT_MULTI_MAX);
    assert_true(f && x && y);
    memset(y, 0xA5, stride * LQ_VEC_DOT_MULTI_MAX);
    float *ones = malloc((size_t)n * sizeof(float));
    assert_non_null(ones);
    for (int64_t i = 0; i < n; i++) {
        ones[i] = 1.f;
    }
    gen_row(f, n, 0.05f);
    assert_int_equal(t->quantize(f, x, 1, n, t->needs_imatrix ? ones : NULL), xsize);
    free(ones);
    for (int k = 0; k < LQ_VEC_DOT_MULTI_MAX; k++) {
        gen_row(f, n, 0.25f * (float)(k + 1));
        (at->from_float ? at->from_float : at->from_float_ref)(f, y + (size_t)k * stride, n);
    }
    const enum lq_simd_level saved = lq_simd_level_get();
    for (int lvl = LQ_SIMD_SCALAR; lvl <= (int)lq_simd_level_supported(); lvl++) {
        assert_int_equal(lq_simd_level_set((enum lq_simd_level)lvl, NULL), LQ_OK);
        float want[LQ_VEC_DOT_MULTI_MAX];
        for (int k = 0; k < LQ_VEC_DOT_MULTI_MAX; k++) {
            t->vec_dot(n, &want[k], x, y + (size_t)k * stride);
        }
        for (int n_tok = 1; n_tok <= LQ_VEC_DOT_MULTI_MAX; n_tok++) {
            /* every start row, so each token count also reads rows at odd offsets */
            for (int t0 = 0; t0 + n_tok <= LQ_VEC_DOT_MULTI_MAX; t0++) {
                float got[LQ_VEC_DOT_MULTI_MAX + 1];
                got[n_tok] = 12345.f; /* the kernel writes n_tok results, no more */
                t->vec_dot_multi(n, got, x, y + (size_t)t0 * stride, stride, n_tok);
                assert_true(got[n_tok] == 12345.f);
                for (int k = 0; k < n_tok; k++) {
                    if (memcmp(&got[k], &want[t0 + k], sizeof(float)) != 0) {
                        fail_msg("%s, %lld blocks, %s: %d rows from %d, row %d: %.9g, "
                                 "vec_dot %.9g",
                                 t->name, (long long)nb,
                                 lq_simd_level_name((enum lq_simd_level)lvl), n_tok, t0, k, got[k],
                                 want[t0 + k]);
                    }
                }
            }
        }
    }
    assert_int_equal(lq_simd_level_set(saved, NULL), LQ_OK);
    free(y);
    free(x);
    free(f);
}

/* n_w weight rows of nb blocks, stored `pad` bytes apart beyond their size, against one
 * activation row through vec_dot_rows: every row bit for bit what vec_dot gives for it, for
 * 1 .. n_w rows from every start row, at every SIMD level. */
static void check_rows(int type, int64_t nb, size_t pad)
{
    enum { n_w = 9 }; /* two passes of four and a lone row */
    const struct lq_type_traits *t = lq_type_traits_get(type);
    const struct lq_type_traits *at = lq_type_traits_get(t->vec_dot_type);
    const int64_t n = nb * t->blck_size;
    const size_t xsize = lq_row_size(type, n), stride = xsize + pad;
    float *f = malloc((size_t)n * sizeof(float));
    unsigned char *x = malloc(stride * n_w), *y = malloc(lq_row_size(t->vec_dot_type, n));
    assert_true(f && x && y);
    memset(x, 0xA5, stride * n_w);
    for (int r = 0; r < n_w; r++) {
        gen_row(f, n, 0.05f * (float)(r + 1));
        assert_int_equal(t->quantize(f, x + (size_t)r * stride, 1, n, NULL), xsize);
    }
    gen_row(f, n, 0.5f);
    (at->from_float ? at->from_float : at->from_float_ref)(f, y, n);
    const enum lq_simd_level saved = lq_simd_level_get();
    for (int lvl = LQ_SIMD_SCALAR; lvl <= (int)lq_simd_level_supported(); lvl++) {
        assert_int_equal(lq_simd_level_set((enum lq_simd_level)lvl, NULL), LQ_OK);
        float want[n_w];
        for (int r = 0; r < n_w; r++) {
            t->vec_dot(n, &want[r], x + (size_t)r * stride, y);
        }
        for (int n_rows = 1; n_rows <= n_w; n_rows++) {
            for (int r0 = 0; r0 + n_rows <= n_w; r0++) {
                float got[n_w + 1];
                got[n_rows] = 12345.f; /* the kernel writes n_rows results, no more */
                t->vec_dot_rows(n, got, x + (size_t)r0 * stride, stride, n_rows, y);
                assert_true(got[n_rows] == 12345.f);
                for (int k = 0; k < n_rows; k++) {
                    if (memcmp(&got[k], &want[r0 + k], sizeof(float)) != 0) {
                        fail_msg("%s rows, %lld blocks, %s: %d rows from %d, row %d: %.9g, "
                                 "vec_dot %.9g",
                                 t->name, (long long)nb,
                                 lq_simd_level_name((enum lq_simd_level)lvl), n_rows, r0, k,
                                 got[k], want[r0 + k]);
                    }
                }
            }
        }
    }
    assert_int_equal(lq_simd_level_set(saved, NULL), LQ_OK);
    free(y);
    free(x);
    free(f);
}

static void test_rows_match_single(void **state)
{
    (void)state;
    int checked = 0;
    for (int type = 0; type < LQ_TYPE_COUNT; type++) {
        const struct lq_type_traits *t = lq_type_traits_get(type);
        if (!t || !t->vec_dot_rows) {
            continue;
        }
        assert_non_null(t->vec_dot);
        /* 130: past what Q4_K's kernel lays out on its stack (it falls back to vec_dot) */
        const int64_t counts[] = {1, 3, 8, 13, 64, 130};
        const size_t pads[] = {0, 2, 4, 8, 6, 2}; /* even: the blocks' fp16 scales stay aligned */
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            check_rows(type, counts[c], pads[c]);
        }
        checked++;
    }
    /* Q4_0's decoding kernel shares each activation block among four weight rows; Q4_K's
     * lays the activation out once for all rows */
    assert_non_null(lq_type_traits_get(LQ_TYPE_Q4_0)->vec_dot_rows);
    assert_non_null(lq_type_traits_get(LQ_TYPE_Q4_K)->vec_dot_rows);
    assert_true(checked >= 1);
}

static void test_multi_matches_single(void **state)
{
    (void)state;
    int checked = 0;
    for (int type = 0; type < LQ_TYPE_COUNT; type++) {
        const struct lq_type_traits *t = lq_type_traits_get(type);
        if (!t || !t->vec_dot_multi) {
            continue;
        }
        /* one block, an odd count (AVX-512 pairs 32-element blocks), an even one, and 13:
         * Q4_0's single-row kernel takes eight blocks per step, then pairs, then one */
        const int64_t counts[] = {1, 3, 8, 13};
        const size_t pads[] = {4, 0, 8, 12}; /* multiples of 4: block scales stay aligned */
        for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
            check_type(type, counts[c], pads[c]);
        }
        checked++;
    }
    assert_true(checked >= (int)(sizeof with_multi / sizeof with_multi[0]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_has_multi),
        cmocka_unit_test(test_multi_matches_single),
        cmocka_unit_test(test_rows_match_single),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
