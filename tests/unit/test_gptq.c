/* test_gptq.c - GPTQ on small random layers with correlated inputs.
 *
 * Independent expectations: the layer's output error measured directly from the inputs,
 * round-to-nearest computed here, and a straightforward reference GPTQ (double precision,
 * Gauss-Jordan inverse, plain Cholesky, no lazy batching, no blocks) that the library's
 * integer codes must match. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lq/fp16.h"
#include "lq/gptq.h"
#include "lq/types.h"
#include "lqt_util.h"

// ---- random layers ------------------------------------------------------------------------

static uint64_t rng_state;

static double rng_uniform(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static float rng_normal(void)
{
    double u = rng_uniform(), v = rng_uniform();
    return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}

/* ns inputs (ns, n) with a non-identity covariance: a random mixing of iid normals plus
 * per-column scales from 0.2 to 5, as activations with outlier channels have. */
static float *correlated_inputs(int64_t ns, int64_t n)
{
    float *mix = malloc((size_t)(n * n) * sizeof(float));
    float *z = malloc((size_t)n * sizeof(float));
    float *x = malloc((size_t)(ns * n) * sizeof(float));
    assert_non_null(mix);
    assert_non_null(z);
    assert_non_null(x);
    for (int64_t i = 0; i < n * n; i++) {
        mix[i] = rng_normal() / sqrtf((float)n);
    }
    for (int64_t j = 0; j < n; j++) {
        mix[j * n + j] += 1.0f;
    }
    for (int64_t s = 0; s < ns; s++) {
        for (int64_t k = 0; k < n; k++) {
            z[k] = rng_normal();
        }
        for (int64_t j = 0; j < n; j++) {
            double acc = 0.0;
            for (int64_t k = 0; k < n; k++) {
                acc += (double)mix[j * n + k] * z[k];
            }
            float scale = 0.2f + 4.8f * (float)((j * 37) % n) / (float)n;
            x[s * n + j] = (float)acc * scale;
        }
    }
    free(mix);
    free(z);
    return x;
}

static float *random_weights(int64_t nrows, int64_t n)
{
    float *w = malloc((size_t)(nrows * n) * sizeof(float));
    assert_non_null(w);
    for (int64_t i = 0; i < nrows * n; i++) {
        w[i] = 0.05f * rng_normal();
    }
    return w;
}

static lq_hessian *hessian_of(const float *x, int64_t ns, int64_t n)
{
    lq_hessian *h = NULL;
    assert_int_equal(lq_hessian_new(n, &h, NULL), LQ_OK);
    /* two uneven batches exercise the running mean */
    assert_int_equal(lq_hessian_add(h, x, ns / 3, NULL), LQ_OK);
    assert_int_equal(lq_hessian_add(h, x + (ns / 3) * n, ns - ns / 3, NULL), LQ_OK);
    return h;
}

/* ||(W - Q) X^T||^2 over all rows and inputs. */
static double output_error(const float *w, const float *q, int64_t nrows, int64_t n,
                           const float *x, int64_t ns)
{
    double total = 0.0;
    for (int64_t r = 0; r < nrows; r++) {
        for (int64_t s = 0; s < ns; s++) {
            double acc = 0.0;
            for (int64_t j = 0; j < n; j++) {
                acc += ((double)w[r * n + j] - q[r * n + j]) * x[s * n + j];
            }
            total += acc * acc;
        }
    }
    return total;
}

// ---- round to nearest, the baseline ---------------------------------------------------------

/* AutoGPTQ's min/max grid per (row, group) on the original weights, then plain rounding. */
static void rtn(const float *w, float *q, int64_t nrows, int64_t n, int bits, int64_t gs,
                bool sym)
{
    int maxq = (1 << bits) - 1;
    for (int64_t r = 0; r < nrows; r++) {
        for (int64_t g = 0; g < n; g += gs) {
            const float *x = w + r * n + g;
            float lo = 0.0f, hi = 0.0f;
            for (int64_t j = 0; j < gs; j++) {
                lo = fminf(lo, x[j]);
                hi = fmaxf(hi, x[j]);
            }
            if (sym) {
                hi = fmaxf(-lo, hi);
                lo = lo < 0.0f ? -hi : lo;
            }
            float s = (hi - lo) / (float)maxq;
            float z = sym ? (float)(maxq + 1) / 2 : nearbyintf(-lo / s);
            for (int64_t j = 0; j < gs; j++) {
                float c = fminf(fmaxf(nearbyintf(x[j] / s) + z, 0.0f), (float)maxq);
                q[r * n + g + j] = s * (c - z);
            }
        }
    }
}

// ---- integer GPTQ ---------------------------------------------------------------------------

struct int_run {
    uint8_t *q;
    float *scales;
    int32_t *zeros;
    int32_t *g_idx;
    float *deq;
    double loss;
};

static struct int_run run_int(const float *w, int64_t nrows, const lq_hessian *h,
                              const struct lq_gptq_params *p)
{
    int64_t n = lq_hessian_ncols(h), ng = lq_gptq_n_groups(n, p->group_size);
    struct int_run run = {
        .q = malloc((size_t)(nrows * n)),
        .scales = malloc((size_t)(ng * nrows) * sizeof(float)),
        .zeros = malloc((size_t)(ng * nrows) * sizeof(int32_t)),
        .g_idx = malloc((size_t)n * sizeof(int32_t)),
        .deq = malloc((size_t)(nrows * n) * sizeof(float)),
    };
    struct lq_gptq_result res = { .q = run.q, .scales = run.scales, .zeros = run.zeros,
                                  .g_idx = run.g_idx, .deq = run.deq };
    struct lq_error err = { 0 };
    lq_status rc = lq_gptq_quantize(w, nrows, h, p, &res, &err);
    if (rc != LQ_OK) {
        fail_msg("lq_gptq_quantize: %s", err.msg);
    }
    run.loss = res.loss;
    return run;
}

static void free_run(struct int_run *run)
{
    free(run->q);
    free(run->scales);
    free(run->zeros);
    free(run->g_idx);
    free(run->deq);
}

/* Every output decodes from its code, scale, zero and g_idx; codes stay in range. */
static void check_decodes(const struct int_run *run, int64_t nrows, int64_t n, int bits)
{
    for (int64_t r = 0; r < nrows; r++) {
        for (int64_t c = 0; c < n; c++) {
            int64_t g = run->g_idx[c];
            float s = run->scales[g * nrows + r];
            assert_true(run->q[r * n + c] <= (1 << bits) - 1);
            assert_true(lq_fp16_to_fp32(lq_fp32_to_fp16(s)) == s);
            float want = s * (float)(run->q[r * n + c] - run->zeros[g * nrows + r]);
            assert_true(run->deq[r * n + c] == want);
        }
    }
}

static void test_gptq_beats_rtn(void **state)
{
    (void)state;
    rng_state = 1;
    const int64_t nrows = 48, n = 128, ns = 384;
    float *x = correlated_inputs(ns, n), *w = random_weights(nrows, n);
    lq_hessian *h = hessian_of(x, ns, n);
    float *q_rtn = malloc((size_t)(nrows * n) * sizeof(float));
    for (int bits = 3; bits <= 4; bits++) {
        struct lq_gptq_params p = lq_gptq_params_default();
        p.bits = bits;
        p.group_size = 32;
        p.block_size = 48; /* several blocks, not aligned with the groups */
        struct int_run plain = run_int(w, nrows, h, &p);
        p.act_order = true;
        struct int_run act = run_int(w, nrows, h, &p);
        check_decodes(&plain, nrows, n, bits);
        check_decodes(&act, nrows, n, bits);
        rtn(w, q_rtn, nrows, n, bits, 32, true);
        double e_rtn = output_error(w, q_rtn, nrows, n, x, ns);
        double e_gptq = output_error(w, plain.deq, nrows, n, x, ns);
        double e_act = output_error(w, act.deq, nrows, n, x, ns);
        print_message("%d bits: rtn %.4g gptq %.4g (%.2fx) act-order %.4g\n", bits, e_rtn,
                      e_gptq, e_gptq / e_rtn, e_act);
        assert_true(e_gptq < 0.8 * e_rtn);
        assert_true(e_act < 1.1 * e_gptq);
        free_run(&plain);
        free_run(&act);
    }
    free(q_rtn);
    lq_hessian_free(h);
    free(x);
    free(w);
}

/* loss = sum_r d_r^T H' d_r / 2 with H' = H + damp' I, H = 2 X^T X / ns: the output error
 * ||d X^T||^2 / ns plus the dampening term. */
static void test_gptq_loss_matches_measured(void **state)
{
    (void)state;
    rng_state = 2;
    const int64_t nrows = 32, n = 96, ns = 256;
    float *x = correlated_inputs(ns, n), *w = random_weights(nrows, n);
    lq_hessian *h = hessian_of(x, ns, n);
    float *hm = malloc((size_t)(n * n) * sizeof(float));
    lq_hessian_get(h, hm);
    double mean_diag = 0.0;
    for (int64_t j = 0; j < n; j++) {
        mean_diag += hm[j * n + j] / (double)n;
    }
    struct lq_gptq_params p = lq_gptq_params_default();
    p.sym = false;
    p.group_size = -1;
    p.act_order = true;
    struct int_run run = run_int(w, nrows, h, &p);
    double d2 = 0.0;
    for (int64_t i = 0; i < nrows * n; i++) {
        d2 += ((double)w[i] - run.deq[i]) * ((double)w[i] - run.deq[i]);
    }
    double measured = output_error(w, run.deq, nrows, n, x, ns) / (double)ns +
                      0.01 * mean_diag * d2 / 2.0;
    print_message("loss %.6g measured %.6g\n", run.loss, measured);
    assert_true(fabs(run.loss - measured) < 1e-3 * measured);
    free_run(&run);
    free(hm);
    lq_hessian_free(h);
    free(x);
    free(w);
}

// ---- the reference GPTQ -----------------------------------------------------------------------

/* In-place inverse of a (n, n) by Gauss-Jordan with partial pivoting. */
static void ref_invert(double *a, int64_t n)
{
    double *inv = calloc((size_t)(n * n), sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        inv[i * n + i] = 1.0;
    }
    for (int64_t c = 0; c < n; c++) {
        int64_t piv = c;
        for (int64_t r = c + 1; r < n; r++) {
            piv = fabs(a[r * n + c]) > fabs(a[piv * n + c]) ? r : piv;
        }
        for (int64_t k = 0; k < n; k++) {
            double t = a[c * n + k];
            a[c * n + k] = a[piv * n + k];
            a[piv * n + k] = t;
            t = inv[c * n + k];
            inv[c * n + k] = inv[piv * n + k];
            inv[piv * n + k] = t;
        }
        double d = a[c * n + c];
        for (int64_t k = 0; k < n; k++) {
            a[c * n + k] /= d;
            inv[c * n + k] /= d;
        }
        for (int64_t r = 0; r < n; r++) {
            double f = a[r * n + c];
            if (r == c || f == 0.0) {
                continue;
            }
            for (int64_t k = 0; k < n; k++) {
                a[r * n + k] -= f * a[c * n + k];
                inv[r * n + k] -= f * inv[c * n + k];
            }
        }
    }
    memcpy(a, inv, (size_t)(n * n) * sizeof(double));
    free(inv);
}

/* Upper u with a = u^T u (Cholesky-Banachiewicz on the transpose). */
static void ref_cholesky_upper(const double *a, double *u, int64_t n)
{
    memset(u, 0, (size_t)(n * n) * sizeof(double));
    for (int64_t i = 0; i < n; i++) {
        for (int64_t k = i; k < n; k++) {
            double s = a[i * n + k];
            for (int64_t m = 0; m < i; m++) {
                s -= u[m * n + i] * u[m * n + k];
            }
            u[i * n + k] = k == i ? sqrt(s) : s / u[i * n + i];
        }
    }
}

static float ref_f16(float s)
{
    return (float)(_Float16)s;
}

/* AutoGPTQ's grid for one row of a group, with the scale rounded to F16 first. */
static void ref_params(const double *x, int64_t len, int maxq, bool sym, float *s, int *z)
{
    float lo = 0.0f, hi = 0.0f;
    for (int64_t j = 0; j < len; j++) {
        lo = fminf(lo, (float)x[j]);
        hi = fmaxf(hi, (float)x[j]);
    }
    if (sym) {
        hi = fmaxf(-lo, hi);
        lo = lo < 0.0f ? -hi : lo;
    }
    if (lo == 0.0f && hi == 0.0f) {
        lo = -1.0f;
        hi = 1.0f;
    }
    *s = ref_f16((hi - lo) / (float)maxq);
    *z = sym ? (maxq + 1) / 2 : (int)fminf(fmaxf(nearbyintf(-lo / *s), 1.0f), (float)maxq);
}

/* Straightforward GPTQ of one row in visit order: quantize column i, push its error onto
 * every later column at once. Codes land in the original column order. */
static void ref_gptq_row(double *wr, const double *u, const int64_t *perm, int64_t n,
                         int64_t gs, int bits, bool sym, uint8_t *codes)
{
    int maxq = (1 << bits) - 1;
    float s = 1.0f;
    int z = 0;
    for (int64_t i = 0; i < n; i++) {
        if (i % gs == 0) {
            ref_params(wr + i, n - i < gs ? n - i : gs, maxq, sym, &s, &z);
        }
        float c = fminf(fmaxf(nearbyintf((float)wr[i] / s) + (float)z, 0.0f), (float)maxq);
        double deq = (double)(s * (c - (float)z));
        double e = (wr[i] - deq) / u[i * n + i];
        for (int64_t k = i; k < n; k++) {
            wr[k] -= e * u[i * n + k];
        }
        codes[perm[i]] = (uint8_t)c;
    }
}

/* The whole reference: dead columns, act-order, dampening, H^-1 and its Cholesky factor. */
static void ref_gptq(const float *w, int64_t nrows, const lq_hessian *h,
                     const struct lq_gptq_params *p, uint8_t *codes)
{
    int64_t n = lq_hessian_ncols(h);
    float *hf = malloc((size_t)(n * n) * sizeof(float));
    double *a = malloc((size_t)(n * n) * sizeof(double)), *u = malloc((size_t)(n * n) * 8);
    int64_t *perm = malloc((size_t)n * sizeof(int64_t));
    double *wr = malloc((size_t)n * sizeof(double));
    bool *dead = malloc((size_t)n);
    lq_hessian_get(h, hf);
    for (int64_t i = 0; i < n; i++) {
        perm[i] = i;
        dead[i] = hf[i * n + i] == 0.0f;
        hf[i * n + i] = dead[i] ? 1.0f : hf[i * n + i];
    }
    for (int64_t i = 0; p->act_order && i < n; i++) { /* stable selection sort, descending */
        for (int64_t k = i + 1; k < n; k++) {
            int64_t a1 = perm[i], b1 = perm[k];
            if (hf[b1 * n + b1] > hf[a1 * n + a1] ||
                (hf[b1 * n + b1] == hf[a1 * n + a1] && b1 < a1)) {
                perm[i] = b1;
                perm[k] = a1;
            }
        }
    }
    double mean = 0.0;
    for (int64_t i = 0; i < n; i++) {
        mean += hf[i * n + i] / (double)n;
    }
    for (int64_t i = 0; i < n; i++) {
        for (int64_t k = 0; k < n; k++) {
            a[i * n + k] = hf[perm[i] * n + perm[k]] + (i == k ? p->damp * mean : 0.0);
        }
    }
    ref_invert(a, n);
    ref_cholesky_upper(a, u, n);
    for (int64_t r = 0; r < nrows; r++) {
        for (int64_t i = 0; i < n; i++) {
            wr[i] = dead[perm[i]] ? 0.0 : w[r * n + perm[i]];
        }
        ref_gptq_row(wr, u, perm, n, p->group_size == -1 ? n : p->group_size, p->bits, p->sym,
                     codes + r * n);
    }
    free(hf);
    free(a);
    free(u);
    free(perm);
    free(wr);
    free(dead);
}

static void compare_with_reference(uint64_t seed, const struct lq_gptq_params *p)
{
    rng_state = seed;
    const int64_t nrows = 12, n = 64, ns = 200;
    float *x = correlated_inputs(ns, n), *w = random_weights(nrows, n);
    lq_hessian *h = hessian_of(x, ns, n);
    struct int_run run = run_int(w, nrows, h, p);
    uint8_t *codes = malloc((size_t)(nrows * n));
    ref_gptq(w, nrows, h, p, codes);
    int64_t diff = 0;
    for (int64_t i = 0; i < nrows * n; i++) {
        diff += codes[i] != run.q[i];
    }
    print_message("bits %d group %lld block %lld act %d: %lld of %lld codes differ\n", p->bits,
                  (long long)p->group_size, (long long)p->block_size, p->act_order,
                  (long long)diff, (long long)(nrows * n));
    assert_int_equal(diff, 0);
    free(codes);
    free_run(&run);
    lq_hessian_free(h);
    free(x);
    free(w);
}

/* Lazy batch updates are exact: the blocked solver matches the unblocked reference code for
 * code, with groups inside blocks, groups straddling blocks and act-order. */
static void test_gptq_matches_reference(void **state)
{
    (void)state;
    struct lq_gptq_params p = lq_gptq_params_default();
    p.group_size = 16;
    p.block_size = 32;
    compare_with_reference(11, &p);
    p.group_size = 24; /* groups straddle blocks of 16: blocks must end early */
    p.block_size = 16;
    p.sym = false;
    compare_with_reference(12, &p);
    p.act_order = true;
    p.bits = 3;
    compare_with_reference(13, &p);
    p.group_size = -1;
    p.bits = 2;
    p.block_size = 7;
    compare_with_reference(14, &p);
}

// ---- GGUF block targets -----------------------------------------------------------------------

/* Output error of the type's plain reference quantization of w. */
static double plain_type_error(const float *w, int64_t nrows, int64_t n, enum lq_type type,
                               const float *x, int64_t ns)
{
    const struct lq_type_traits *tt = lq_type_traits_get(type);
    size_t rs = lq_row_size(type, n);
    uint8_t *blk = malloc(rs);
    float *q = malloc((size_t)(nrows * n) * sizeof(float));
    for (int64_t r = 0; r < nrows; r++) {
        tt->from_float_ref(w + r * n, blk, n);
        tt->to_float(blk, q + r * n, n);
    }
    double e = output_error(w, q, nrows, n, x, ns);
    free(blk);
    free(q);
    return e;
}

/* GPTQ into blocks of type: the bytes are valid blocks that decode, through the type
 * table's own to_float, to exactly the weights GPTQ chose; and they beat the type's plain
 * quantization of the same weights on correlated inputs. */
static void check_gguf_type(enum lq_type type, bool act_order)
{
    rng_state = 100 + (uint64_t)type;
    const int64_t nrows = 16, n = 512, ns = 384;
    float *x = correlated_inputs(ns, n), *w = random_weights(nrows, n);
    lq_hessian *h = hessian_of(x, ns, n);
    const struct lq_type_traits *tt = lq_type_traits_get(type);
    size_t rs = lq_row_size(type, n);
    uint8_t *blocks = malloc(rs * (size_t)nrows);
    float *deq = malloc((size_t)(nrows * n) * sizeof(float));
    float *back = malloc((size_t)(nrows * n) * sizeof(float));
    struct lq_gptq_params p = lq_gptq_params_default();
    p.act_order = act_order;
    p.static_groups = act_order;
    struct lq_gptq_gguf_out out = { type, blocks, rs * (size_t)nrows, deq, 0.0 };
    struct lq_error err = { 0 };
    if (lq_gptq_quantize_gguf(w, nrows, h, &p, &out, &err) != LQ_OK) {
        fail_msg("%s: %s", tt->name, err.msg);
    }
    if (tt->validate) {
        assert_true(tt->validate(blocks, rs * (size_t)nrows));
    }
    for (int64_t r = 0; r < nrows; r++) {
        tt->to_float(blocks + (size_t)r * rs, back + r * n, n);
    }
    for (int64_t i = 0; i < nrows * n; i++) {
        if (back[i] != deq[i]) {
            fail_msg("%s: weight %lld decodes to %.9g, GPTQ chose %.9g", tt->name, (long long)i,
                     (double)back[i], (double)deq[i]);
        }
    }
    double e_gptq = output_error(w, deq, nrows, n, x, ns);
    double e_plain = plain_type_error(w, nrows, n, type, x, ns);
    print_message("%-5s%s: plain %.4g gptq %.4g (%.2fx)\n", tt->name,
                  act_order ? " act-order" : "", e_plain, e_gptq, e_gptq / e_plain);
    assert_true(e_gptq < 0.8 * e_plain);
    free(blocks);
    free(deq);
    free(back);
    lq_hessian_free(h);
    free(x);
    free(w);
}

static void test_gptq_gguf_kquants(void **state)
{
    (void)state;
    const enum lq_type types[] = { LQ_TYPE_Q4_K, LQ_TYPE_Q5_K, LQ_TYPE_Q6_K };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        assert_true(lq_gptq_gguf_supported(types[i]));
        check_gguf_type(types[i], false);
    }
    check_gguf_type(LQ_TYPE_Q4_K, true);
}

/* The 32-weight types are exercised as soon as their kernels are in the type table. */
static void test_gptq_gguf_legacy(void **state)
{
    (void)state;
    const enum lq_type types[] = { LQ_TYPE_Q4_0, LQ_TYPE_Q4_1, LQ_TYPE_Q5_0, LQ_TYPE_Q5_1,
                                   LQ_TYPE_Q8_0 };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        const struct lq_type_traits *tt = lq_type_traits_get(types[i]);
        bool registered = tt->from_float_ref && tt->to_float;
        assert_int_equal(lq_gptq_gguf_supported(types[i]), registered);
        if (registered) {
            check_gguf_type(types[i], false);
        } else {
            print_message("%s: kernels not registered yet, not checked\n", tt->name);
        }
    }
}

/* The non-uniform 4-bit types: codes index 16 levels, rounded to the nearest level. */
static void test_gptq_gguf_iq4(void **state)
{
    (void)state;
    const enum lq_type types[] = { LQ_TYPE_IQ4_NL, LQ_TYPE_IQ4_XS };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        assert_true(lq_gptq_gguf_supported(types[i]));
        check_gguf_type(types[i], false);
    }
    check_gguf_type(LQ_TYPE_IQ4_XS, true);
}

// ---- Hessian and importance -------------------------------------------------------------------

static void test_hessian_running_mean(void **state)
{
    (void)state;
    const float x[3 * 2] = { 1, 2, -3, 0.5f, 2, -1 };
    lq_hessian *h = NULL;
    assert_int_equal(lq_hessian_new(2, &h, NULL), LQ_OK);
    assert_int_equal(lq_hessian_add(h, x, 1, NULL), LQ_OK);
    assert_int_equal(lq_hessian_add(h, x + 2, 2, NULL), LQ_OK);
    assert_int_equal(lq_hessian_nsamples(h), 3);
    float hm[4], imp[2];
    lq_hessian_get(h, hm);
    /* 2/3 * X^T X: [[1+9+4, 2-1.5-2], [.., 4+0.25+1]] */
    assert_float_equal(hm[0], 2.0f / 3.0f * 14.0f, 1e-5);
    assert_float_equal(hm[1], 2.0f / 3.0f * -1.5f, 1e-5);
    assert_float_equal(hm[2], hm[1], 0.0);
    assert_float_equal(hm[3], 2.0f / 3.0f * 5.25f, 1e-5);
    lq_hessian_importance(h, imp);
    assert_float_equal(imp[0], 14.0f / 3.0f, 1e-6);
    assert_float_equal(imp[1], 5.25f / 3.0f, 1e-6);
    lq_hessian_free(h);
}

static void test_hessian_rejects_bad_input(void **state)
{
    (void)state;
    struct lq_error err = { 0 };
    lq_hessian *h = NULL;
    assert_int_equal(lq_hessian_new(0, &h, &err), LQ_E_INVALID_ARG);
    assert_null(h);
    assert_int_equal(lq_hessian_new(2, &h, NULL), LQ_OK);
    const float x[4] = { 1, 2, NAN, 0 };
    assert_int_equal(lq_hessian_add(h, x, 2, &err), LQ_E_RANGE);
    assert_non_null(strstr(err.msg, "row 1 column 0"));
    assert_int_equal(lq_hessian_nsamples(h), 0);
    lq_hessian_free(h);
    lq_hessian_free(NULL);
}

// ---- errors -----------------------------------------------------------------------------------

static void test_gptq_rejects_bad_input(void **state)
{
    (void)state;
    rng_state = 3;
    const int64_t n = 32;
    float *x = correlated_inputs(8, n), *w = random_weights(4, n);
    lq_hessian *h = hessian_of(x, 8, n);
    uint8_t q[4 * 32];
    float scales[4], deq[4 * 32];
    int32_t zeros[4], g_idx[32];
    struct lq_gptq_result res = { q, scales, zeros, g_idx, deq, 0.0 };
    struct lq_gptq_params p = lq_gptq_params_default();
    p.group_size = -1;
    struct lq_error err = { 0 };
    p.bits = 5;
    assert_int_equal(lq_gptq_quantize(w, 4, h, &p, &res, &err), LQ_E_INVALID_ARG);
    p.bits = 4;
    p.damp = 0.0f; /* 8 samples, 32 columns: H is singular */
    assert_int_equal(lq_gptq_quantize(w, 4, h, &p, &res, &err), LQ_E_RANGE);
    assert_non_null(strstr(err.msg, "positive definite"));
    p.damp = 0.01f;
    assert_int_equal(lq_gptq_quantize(w, 4, h, &p, &res, &err), LQ_OK);
    w[37] = INFINITY;
    assert_int_equal(lq_gptq_quantize(w, 4, h, &p, &res, &err), LQ_E_RANGE);
    assert_non_null(strstr(err.msg, "row 1 column 5"));
    struct lq_gptq_gguf_out go = { LQ_TYPE_Q2_K, q, sizeof q, NULL, 0.0 };
    assert_int_equal(lq_gptq_quantize_gguf(w, 4, h, &p, &go, &err), LQ_E_UNSUPPORTED);
    lq_hessian_free(h);
    free(x);
    free(w);
}

/* A column no input ever reached is dead: its weights become 0 and cost nothing. */
static void test_gptq_dead_columns(void **state)
{
    (void)state;
    rng_state = 4;
    const int64_t nrows = 8, n = 32, ns = 64;
    float *x = correlated_inputs(ns, n), *w = random_weights(nrows, n);
    for (int64_t s = 0; s < ns; s++) {
        x[s * n + 5] = 0.0f;
    }
    lq_hessian *h = hessian_of(x, ns, n);
    struct lq_gptq_params p = lq_gptq_params_default();
    p.group_size = 16;
    struct int_run run = run_int(w, nrows, h, &p);
    for (int64_t r = 0; r < nrows; r++) {
        assert_true(run.deq[r * n + 5] == 0.0f);
    }
    free_run(&run);
    lq_hessian_free(h);
    free(x);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hessian_running_mean),
        cmocka_unit_test(test_hessian_rejects_bad_input),
        cmocka_unit_test(test_gptq_beats_rtn),
        cmocka_unit_test(test_gptq_loss_matches_measured),
        cmocka_unit_test(test_gptq_matches_reference),
        cmocka_unit_test(test_gptq_gguf_kquants),
        cmocka_unit_test(test_gptq_gguf_legacy),
        cmocka_unit_test(test_gptq_gguf_iq4),
        cmocka_unit_test(test_gptq_rejects_bad_input),
        cmocka_unit_test(test_gptq_dead_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
