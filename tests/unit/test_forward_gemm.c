/* test_forward_gemm.c - the forward pass's matrix products (eval/src/forward_matmul.c,
 * forward_gemm*.c) for every weight type the pass multiplies, at every SIMD level.
 *
 * Independent expectation: the exact product, in double, of the values llama.cpp's kernels
 * multiply: the weight decoded by its type's to_float, the activation rounded to F16/BF16 or
 * quantized to the weight's vec_dot type and decoded back. Both paths (the tiled GEMM for a
 * batch, one dot per weight row for fewer than LQI_GEMM_MIN_ROWS tokens) must agree with it
 * within float rounding of the sums: 2e-6 of the sum of |products| (a float sum of n terms
 * is within n * 2^-24 of it; the kernels' blocked sums are far tighter), except where the
 * row dots take Q8_1 activations (Q4_1, Q5_1): ggml's block_q8_1 carries d * sum(q) rounded
 * to F16 for the mins, an error of up to 2^-11 of that term, so 1e-4 there. Shapes with tails:
 * 45 output rows (partial weight panels), 29 tokens (partial token tiles), and for the float
 * types 300 inputs (a partial chunk of LQI_GEMM_KC). At the AVX-512 level BF16 goes through
 * the BF16 pair kernel (vdpbf16ps) where the CPU has AVX512_BF16, and Q4_0 / Q4_K through the
 * integer kernels where it has AVX512_VNNI; at the AMX level BF16, Q8_0, Q4_0, Q4_K, Q5_K
 * and Q6_K through AMX's tiles: all held to the same bound. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward_impl.h"
#include "lq/fp16.h"
#include "lq/simd.h"
#include "lq/types.h"
#include "lqt_util.h"

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static float rng_uniform(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (float)((double)((rng_state * 0x2545F4914F6CDD1Dull) >> 11) *
                   (1.0 / 9007199254740992.0)) - 0.5f;
}

struct case_data {
    struct lqi_weight w;
    int64_t n_tok;
    float *x, *y;
    double *ref, *mag; /* exact products and sums of |products| */
    unsigned char *wq;
    struct lqi_acts a;
};

/* The values a kernel multiplies for activation row x (n floats) into out. */
static void kernel_values(const struct lqi_weight *w, const float *x, float *out, int64_t n)
{
    if (w->kind == LQI_DOT_TABLE) {
        const struct lq_type_traits *at = lq_type_traits_get(w->act_type);
        unsigned char *q = malloc(lq_row_size(w->act_type, n));
        (at->from_float ? at->from_float : at->from_float_ref)(x, q, n);
        at->to_float(q, out, n);
        free(q);
    } else if (w->kind == LQI_DOT_F16) {
        for (int64_t i = 0; i < n; i++) {
            out[i] = lq_fp16_to_fp32(lq_fp32_to_fp16(x[i]));
        }
    } else if (w->kind == LQI_DOT_BF16) {
        for (int64_t i = 0; i < n; i++) {
            out[i] = lq_bf16_to_fp32(lq_fp32_to_bf16(x[i]));
        }
    } else {
        memcpy(out, x, (size_t)n * sizeof(float));
    }
}

static bool case_build(struct case_data *c, enum lq_type type, int64_t n_in, int64_t n_out,
                       int64_t n_tok)
{
    const struct lq_type_traits *t = lq_type_traits_get(type);
    lq_from_float_fn from = t ? (t->from_float ? t->from_float : t->from_float_ref) : NULL;
    if (!t || !t->to_float || !from || t->blck_size == 0 || n_in % t->blck_size != 0) {
        return false;
    }
    memset(c, 0, sizeof *c);
    c->n_tok = n_tok;
    const size_t rs = lq_row_size(type, n_in);
    c->wq = malloc(rs * (size_t)n_out);
    float *row = malloc((size_t)n_in * sizeof(float));
    for (int64_t r = 0; r < n_out; r++) {
        for (int64_t i = 0; i < n_in; i++) {
            row[i] = rng_uniform();
        }
        from(row, c->wq + (size_t)r * rs, n_in);
    }
    c->w = (struct lqi_weight){ .type = type, .n_in = n_in, .n_out = n_out, .data = c->wq };
    assert_true(lqi_weight_setup(&c->w));
    c->x = malloc((size_t)(n_in * n_tok) * sizeof(float));
    for (int64_t i = 0; i < n_in * n_tok; i++) {
        c->x[i] = 2.0f * rng_uniform();
    }
    c->ref = calloc((size_t)(n_out * n_tok), sizeof(double));
    c->mag = calloc((size_t)(n_out * n_tok), sizeof(double));
    float *xv = malloc((size_t)n_in * sizeof(float));
    for (int64_t tk = 0; tk < n_tok; tk++) {
        kernel_values(&c->w, c->x + tk * n_in, xv, n_in);
        for (int64_t r = 0; r < n_out; r++) {
            lqi_weight_row(&c->w, r, row);
            double s = 0, m = 0;
            for (int64_t i = 0; i < n_in; i++) {
                s += (double)row[i] * (double)xv[i];
                m += fabs((double)row[i] * (double)xv[i]);
            }
            c->ref[tk * n_out + r] = s;
            c->mag[tk * n_out + r] = m;
        }
    }
    free(xv);
    free(row);
    c->y = malloc((size_t)(n_out * n_tok) * sizeof(float));
    c->a.buf = malloc((lqi_acts_row_size(&c->w, n_in) + (size_t)n_in * sizeof(float)) *
                      (size_t)n_tok);
    c->a.pack = malloc((size_t)lqi_gemm_pack_floats(n_tok, n_in) * sizeof(float));
    c->a.scratch_stride = lqi_gemm_scratch_floats(n_tok, n_in);
    c->a.scratch = malloc((size_t)(2 * c->a.scratch_stride) * sizeof(float));
    return true;
}

static void case_free(struct case_data *c)
{
    free(c->wq);
    free(c->x);
    free(c->y);
    free(c->ref);
    free(c->mag);
    free(c->a.buf);
    free(c->a.pack);
    free(c->a.scratch);
}

/* Runs the product of the first n_tok tokens with 1 and 2 threads; checks every result. */
static void case_check(struct case_data *c, int64_t n_tok, const char *what)
{
    const int64_t n_out = c->w.n_out;
    const double tol = c->w.kind == LQI_DOT_TABLE && c->w.act_type == LQ_TYPE_Q8_1 &&
                               n_tok < LQI_GEMM_MIN_ROWS
                           ? 1e-4
                           : 2e-6;
    for (int threads = 1; threads <= 2; threads++) {
        memset(c->y, 0xff, (size_t)(n_out * n_tok) * sizeof(float)); /* NaN: unwritten */
        lqi_acts_convert(&c->a, &c->w, c->x, n_tok, threads);
        assert_int_equal(c->a.packed, n_tok >= LQI_GEMM_MIN_ROWS);
        lqi_matmul(c->y, &c->w, &c->a, threads);
        for (int64_t i = 0; i < n_out * n_tok; i++) {
            const double err = fabs((double)c->y[i] - c->ref[i]);
            if (!(err <= tol * c->mag[i] + 1e-30)) {
                fail_msg("%s %s, %lld tokens, %d threads: y[%lld] = %.9g, exact %.9g (|sum| %g)",
                         lq_type_name(c->w.type), what, (long long)n_tok, threads, (long long)i,
                         (double)c->y[i], c->ref[i], c->mag[i]);
            }
        }
    }
}

static void test_every_type_every_level(void **state)
{
    (void)state;
    const enum lq_simd_level top = lq_simd_level_supported();
    int n_types = 0;
    for (int type = 0; type < LQ_TYPE_COUNT; type++) {
        const struct lq_type_traits *t = lq_type_traits_get(type);
        if (!t || t->blck_size == 0 || type == LQ_TYPE_Q8_1 || type == LQ_TYPE_Q8_K) {
            continue; /* activation-only types: nothing multiplies them as weights */
        }
        struct case_data c;
        const int64_t n_in = t->blck_size == 1 ? 300 : 768;
        if (!case_build(&c, (enum lq_type)type, n_in, 45, 29)) {
            continue;
        }
        for (int lv = (int)top; lv >= 0; lv--) {
            assert_int_equal(lq_simd_level_set((enum lq_simd_level)lv, NULL), LQ_OK);
            const char *name = lq_simd_level_name((enum lq_simd_level)lv);
            case_check(&c, 29, name);
            case_check(&c, LQI_GEMM_MIN_ROWS, name);
            case_check(&c, 5, name);
            case_check(&c, 1, name);
        }
        assert_int_equal(lq_simd_level_set(top, NULL), LQ_OK);
        case_free(&c);
        n_types++;
    }
    printf("  %d weight types checked at %d SIMD levels\n", n_types, (int)top + 1);
    assert_true(n_types >= 20);
}

/* The kernels' tile shapes fit the buffers sized by the largest tile. */
static void test_kernel_shapes(void **state)
{
    (void)state;
    const enum lq_simd_level top = lq_simd_level_supported();
    for (int lv = (int)top; lv >= 0; lv--) {
        assert_int_equal(lq_simd_level_set((enum lq_simd_level)lv, NULL), LQ_OK);
        const struct lqi_gemm_kernel *k = lqi_gemm_kernel();
        assert_true(k->mr >= 1 && k->mr <= LQI_GEMM_MR_MAX);
        assert_true(k->nr >= 1 && k->nr <= LQI_GEMM_NR_MAX);
        /* the F32 kernel of the AMX level is AVX-512's */
        assert_string_equal(k->name, lq_simd_level_name(lv >= LQ_SIMD_AMX ? LQ_SIMD_AVX512
                                                                          : (enum lq_simd_level)lv));
        assert_int_equal(k->format, LQI_GEMM_F32);
        /* the BF16 pair and integer kernels: AVX-512 with AVX512_BF16 / AVX512_VNNI only,
         * the AMX kernels at the AMX level; their panels fit a thread's panel slot
         * (LQI_GEMM_NR_MAX * LQI_GEMM_KC floats). BF16 with 300 inputs: never the AMX
         * kernel, which takes multiples of 32. */
        const bool amx = lv >= LQ_SIMD_AMX;
        const int64_t q4_0_words = LQI_GEMM_KC / 32 * LQI_GEMM_Q4_0_WORDS(32);
        const int64_t q4_k_words = LQI_GEMM_KC / 32 * LQI_GEMM_Q4_K_WORDS(32);
        const struct {
            const struct lqi_gemm_kernel *k;
            enum lqi_gemm_format format;
            int64_t panel_words;
            bool with_amx; /* present at the AMX level */
        } special[] = {
            { lqi_gemm_kernel_bf16(300), LQI_GEMM_BF16X2, LQI_GEMM_KC / 2 * 32, false },
            { lqi_gemm_kernel_bf16(288), amx ? LQI_GEMM_BF16_TOKENS : LQI_GEMM_BF16X2,
              LQI_GEMM_KC / 2 * 32, true },
            { lqi_gemm_kernel_quant(LQ_TYPE_Q4_0, LQ_TYPE_Q8_0),
              amx ? LQI_GEMM_AMX_Q8_0 : LQI_GEMM_Q4_0_Q8, q4_0_words, true },
            { lqi_gemm_kernel_quant(LQ_TYPE_Q4_K, LQ_TYPE_Q8_K),
              amx ? LQI_GEMM_AMX_Q8_K : LQI_GEMM_Q4_K_Q8, q4_k_words, true },
            { lqi_gemm_kernel_quant(LQ_TYPE_Q8_0, LQ_TYPE_Q8_0), LQI_GEMM_AMX_Q8_0, q4_0_words,
              true },
            { lqi_gemm_kernel_quant(LQ_TYPE_Q5_K, LQ_TYPE_Q8_K), LQI_GEMM_AMX_Q8_K, q4_k_words,
              true },
            { lqi_gemm_kernel_quant(LQ_TYPE_Q6_K, LQ_TYPE_Q8_K), LQI_GEMM_AMX_Q8_K, q4_k_words,
              true },
            { lqi_gemm_kernel_quant(LQ_TYPE_Q4_K, LQ_TYPE_Q8_0), LQI_GEMM_F32, 0, false },
        };
        for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) {
            const struct lqi_gemm_kernel *kb = special[i].k;
            if (amx && special[i].with_amx) {
                assert_non_null(kb);
            }
            if (kb) {
                assert_true(lv >= LQ_SIMD_AVX512);
                assert_int_equal(kb->format, special[i].format);
                assert_true(kb->mr >= 1 && kb->mr <= LQI_GEMM_MR_MAX && kb->mr % 2 == 0);
                assert_int_equal(kb->nr, 32);
                assert_non_null(kb->panel_raw);
                assert_true(special[i].panel_words <= LQI_GEMM_NR_MAX * LQI_GEMM_KC);
                if (amx && special[i].with_amx) {
                    assert_int_equal(kb->mr, 32);
                }
            }
        }
    }
    assert_int_equal(lq_simd_level_set(top, NULL), LQ_OK);
}

/* BF16 and the 8-bit kernels' types in the shapes of the AMX kernels' paths at every level:
 * whole 32 x 32 tiles (BF16: outputs stored from the tile registers, then accumulated across
 * chunks), partial ones in tokens and in rows, a last chunk of 32 inputs, an odd number of
 * blocks in a chunk; and BF16 inputs not a multiple of 32 (the pair kernel). */
static void test_amx_tile_shapes(void **state)
{
    (void)state;
    const enum lq_simd_level top = lq_simd_level_supported();
    const struct {
        enum lq_type type;
        int64_t n_in, n_out, n_tok;
    } shapes[] = {
        { LQ_TYPE_BF16, 288, 64, 64 },  { LQ_TYPE_BF16, 544, 96, 70 },
        { LQ_TYPE_BF16, 512, 45, 29 },  { LQ_TYPE_BF16, 320, 33, 40 },
        { LQ_TYPE_BF16, 302, 64, 64 },  { LQ_TYPE_Q8_0, 288, 64, 64 },
        { LQ_TYPE_Q8_0, 544, 45, 70 },  { LQ_TYPE_Q4_0, 288, 96, 40 },
        { LQ_TYPE_Q4_0, 512, 33, 64 },  { LQ_TYPE_Q4_K, 512, 64, 70 },
        { LQ_TYPE_Q5_K, 512, 45, 64 },  { LQ_TYPE_Q5_K, 768, 64, 29 },
        { LQ_TYPE_Q6_K, 512, 45, 64 },  { LQ_TYPE_Q6_K, 256, 64, 70 },
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        struct case_data c;
        assert_true(case_build(&c, shapes[s].type, shapes[s].n_in, shapes[s].n_out,
                               shapes[s].n_tok));
        for (int lv = (int)top; lv >= 0; lv--) {
            assert_int_equal(lq_simd_level_set((enum lq_simd_level)lv, NULL), LQ_OK);
            case_check(&c, shapes[s].n_tok, lq_simd_level_name((enum lq_simd_level)lv));
        }
        case_free(&c);
    }
    assert_int_equal(lq_simd_level_set(top, NULL), LQ_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kernel_shapes),
        cmocka_unit_test(test_every_type_every_level),
        cmocka_unit_test(test_amx_tile_shapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
