/* test_quants_random_blocks.c - blocks of random bytes, not just what the quantizers write:
 * every bit pattern must decode (no out-of-range index, sanitizers watching) to the same
 * floats at every SIMD level, and every dot kernel must agree with the float dot of them. Codes a
 * quantizer never writes (TQ2_0's 3, TQ1_0 bytes above 242, IQ3_S indices with any ninth
 * bit, MXFP4's -0) are where a SIMD path would part from the scalar one.
 *
 * Only the scale fields are fixed up, to finite values of moderate size (a random fp16 or
 * E8M0 can be NaN/Inf or overflow the float sums); the table says where they are. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lq/fp16.h"
#include "lq/quantize.h"
#include "lq/simd.h"
#include "lq/types.h"
#include "lqt_util.h"

enum scale_kind { SCALE_F16, SCALE_E8M0 };

struct random_case {
    enum lq_type type;
    size_t scale_offset; /* byte offset of the block's scale */
    enum scale_kind kind;
};

static const struct random_case cases[] = {
    {LQ_TYPE_IQ3_XXS, 0, SCALE_F16}, {LQ_TYPE_IQ3_S, 0, SCALE_F16},  {LQ_TYPE_TQ1_0, 52, SCALE_F16},
    {LQ_TYPE_TQ2_0, 64, SCALE_F16},  {LQ_TYPE_MXFP4, 0, SCALE_E8M0},
};

static uint64_t rng = 0x243F6A8885A308D3ull;

static uint32_t next_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static void random_row(const struct lq_type_traits *t, unsigned char *q, int64_t nb)
{
    for (size_t i = 0; i < (size_t)nb * t->type_size; i++) {
        q[i] = (unsigned char)next_u32();
    }
}

static void fix_scales(const struct random_case *c, const struct lq_type_traits *t,
                       unsigned char *q, int64_t nb)
{
    for (int64_t b = 0; b < nb; b++) {
        unsigned char *s = q + (size_t)b * t->type_size + c->scale_offset;
        if (c->kind == SCALE_E8M0) {
            *s = (unsigned char)(120 + next_u32() % 15); /* 2^-8 .. 2^6 (halved) */
        } else {
            const float d = ((float)(next_u32() % 2001) - 1000.f) * 1e-4f; /* sign too */
            const uint16_t h = lq_fp32_to_fp16(d);
            memcpy(s, &h, 2);
        }
    }
}

static void check_case(const struct random_case *c, int64_t nb)
{
    const struct lq_type_traits *t = lq_type_traits_get(c->type);
    assert_non_null(t);
    assert_non_null(t->vec_dot);
    const int64_t n = nb * t->blck_size;
    unsigned char *q = malloc((size_t)nb * t->type_size);
    float *xd = malloc(sizeof(float) * (size_t)n), *y = malloc(sizeof(float) * (size_t)n);
    float *yd = malloc(sizeof(float) * (size_t)n), *xs = malloc(sizeof(float) * (size_t)n);
    void *qy = malloc(lq_row_size(t->vec_dot_type, n));
    random_row(t, q, nb);
    fix_scales(c, t, q, nb);
    assert_true(lq_validate_row_data(c->type, q, (size_t)nb * t->type_size));
    for (int64_t i = 0; i < n; i++) {
        y[i] = (float)((int)(next_u32() % 2001) - 1000) * 1e-3f;
    }
    assert_int_equal(lq_quantize_activation(t->vec_dot_type, y, qy, n, NULL), LQ_OK);
    assert_int_equal(lq_dequantize_rows(t->vec_dot_type, qy, yd, n, NULL), LQ_OK);
    const enum lq_simd_level saved = lq_simd_level_get();
    for (int l = LQ_SIMD_SCALAR; l <= (int)lq_simd_level_supported(); l++) {
        assert_int_equal(lq_simd_level_set((enum lq_simd_level)l, NULL), LQ_OK);
        assert_int_equal(lq_dequantize_rows(c->type, q, xd, n, NULL), LQ_OK);
        if (l == LQ_SIMD_SCALAR) {
            memcpy(xs, xd, sizeof(float) * (size_t)n);
        }
        assert_memory_equal(xd, xs, sizeof(float) * (size_t)n); /* every level decodes alike */
        double want = 0, tol = 1e-30;
        for (int64_t i = 0; i < n; i++) {
            assert_true(isfinite(xd[i]));
            want += (double)xd[i] * yd[i];
            tol += 1e-5 * fabs((double)xd[i] * yd[i]);
        }
        float got;
        assert_int_equal(lq_vec_dot(c->type, n, q, qy, &got, NULL), LQ_OK);
        if (t->vec_dot_multi) { /* one token: bit for bit the single kernel */
            float m = 0;
            t->vec_dot_multi(n, &m, q, qy, 0, 1);
            assert_memory_equal(&m, &got, sizeof got);
        }
        if (fabs(got - want) > tol) {
            fail_msg("%s random blocks (%s, %lld blocks): dot %.9g, float %.9g (tol %.3g)", t->name,
                     lq_simd_level_name((enum lq_simd_level)l), (long long)nb, (double)got, want,
                     tol);
        }
    }
    assert_int_equal(lq_simd_level_set(saved, NULL), LQ_OK);
    free(q);
    free(xd);
    free(y);
    free(yd);
    free(xs);
    free(qy);
}

static void test_random_blocks_decode_and_dot(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int rep = 0; rep < 20; rep++) {
            check_case(&cases[c], 1 + rep % 9);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_blocks_decode_and_dot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
