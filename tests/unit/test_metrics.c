/* test_metrics.c - perplexity, 16-bit base log-probs, KL divergence statistics, the log-prob
 * file and the chunked evaluation loop, against hand-computed distributions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/metrics.h"
#include "lq/model.h"
#include "lqt_util.h"

// ---- perplexity ---------------------------------------------------------------------------

static void test_nll_known_distribution(void **state)
{
    (void)state;
    /* softmax(0, ln 2, ln 3) = (1/6, 2/6, 3/6) */
    const float lg[3] = { 0.0f, logf(2.0f), logf(3.0f) };
    assert_float_equal(lq_nll(lg, 3, 0), log(6.0), 1e-6);
    assert_float_equal(lq_nll(lg, 3, 2), log(2.0), 1e-6);
    /* shifting every logit changes nothing */
    const float sh[3] = { 100.0f, 100.0f + logf(2.0f), 100.0f + logf(3.0f) };
    assert_float_equal(lq_nll(sh, 3, 1), log(3.0), 1e-5);
}

static void test_ppl_uniform_is_vocab_size(void **state)
{
    (void)state;
    float lg[50];
    for (int i = 0; i < 50; i++) {
        lg[i] = 0.25f;
    }
    struct lq_ppl p = { 0 };
    for (int t = 0; t < 100; t++) {
        lq_ppl_add(&p, lq_nll(lg, 50, t % 50));
    }
    assert_float_equal(lq_ppl_value(&p), 50.0, 1e-9);
    assert_float_equal(lq_ppl_error(&p), 0.0, 1e-5); /* only rounding of var = E[x²] - E[x]² */
}

static void test_ppl_error_formula(void **state)
{
    (void)state;
    /* NLLs 1..4: mean 2.5, population variance 1.25, error e^2.5 * sqrt(1.25 / 3) */
    struct lq_ppl p = { 0 };
    for (int i = 1; i <= 4; i++) {
        lq_ppl_add(&p, i);
    }
    assert_float_equal(lq_ppl_value(&p), exp(2.5), 1e-12);
    assert_float_equal(lq_ppl_error(&p), exp(2.5) * sqrt(1.25 / 3.0), 1e-12);
    struct lq_ppl empty = { 0 };
    assert_float_equal(lq_ppl_value(&empty), 0.0, 0.0);
}

// ---- base rows and KL divergence ----------------------------------------------------------

/* log softmax in double. */
static void log_softmax(const float *lg, int n, double *out)
{
    double mx = lg[0], s = 0;
    for (int i = 1; i < n; i++) {
        mx = fmax(mx, lg[i]);
    }
    for (int i = 0; i < n; i++) {
        s += exp(lg[i] - mx);
    }
    for (int i = 0; i < n; i++) {
        out[i] = lg[i] - mx - log(s);
    }
}

/* KL(P || Q) = sum p (log p - log q), by definition. */
static double kl_div(const float *p_lg, const float *q_lg, int n)
{
    double lp[64], lq[64], s = 0;
    log_softmax(p_lg, n, lp);
    log_softmax(q_lg, n, lq);
    for (int i = 0; i < n; i++) {
        s += exp(lp[i]) * (lp[i] - lq[i]);
    }
    return s;
}

static void test_logprob_encode(void **state)
{
    (void)state;
    const float lg[5] = { 1.0f, 3.0f, -2.0f, 0.5f, -30.0f };
    assert_int_equal(lq_logprob_row_len(5), 10);
    uint16_t row[10];
    const double nll = lq_logprob_encode(lg, 5, 1, row);
    double ls[5];
    log_softmax(lg, 5, ls);
    assert_float_equal(nll, -ls[1], 1e-6);
    /* the maximum codes 65535, anything more than 16 nats below it 0 */
    assert_int_equal(row[4 + 1], 65535);
    assert_int_equal(row[4 + 4], 0);
    float scale, minlp;
    const uint32_t sb = (uint32_t)row[0] | (uint32_t)row[1] << 16;
    const uint32_t mb = (uint32_t)row[2] | (uint32_t)row[3] << 16;
    memcpy(&scale, &sb, 4);
    memcpy(&minlp, &mb, 4);
    assert_float_equal(scale, 16.0 / 65535.0, 1e-9);
    for (int i = 0; i < 4; i++) {
        assert_float_equal(scale * row[4 + i] + minlp, ls[i], 1.5e-4);
    }
}

static lq_kld *kld_of(const float *base, const float *q, int n, int tok, int reps)
{
    lq_kld *k = NULL;
    assert_int_equal(lq_kld_new(n, &k, NULL), LQ_OK);
    uint16_t row[70];
    lq_logprob_encode(base, n, tok, row);
    for (int r = 0; r < reps; r++) {
        assert_int_equal(lq_kld_add(k, q, row, tok, NULL), LQ_OK);
    }
    return k;
}

static void test_kld_known_distributions(void **state)
{
    (void)state;
    const float p[4] = { 0, 1, 2, 3 }, q[4] = { 3, 2, 1, 0.5f };
    lq_kld *k = kld_of(p, q, 4, 2, 20);
    struct lq_kld_report r;
    assert_int_equal(lq_kld_report(k, &r, NULL), LQ_OK);
    double lp[4], lq[4];
    log_softmax(p, 4, lp);
    log_softmax(q, 4, lq);
    assert_int_equal(r.count, 20);
    assert_float_equal(r.kld, kl_div(p, q, 4), 1e-4);
    assert_float_equal(r.kld_dist.median, kl_div(p, q, 4), 1e-4);
    assert_float_equal(r.same_top, 0.0, 0.0); /* argmax 3 vs 0 */
    assert_float_equal(r.dp, exp(lq[2]) - exp(lp[2]), 1e-4);
    assert_float_equal(r.dp_rms, fabs(exp(lq[2]) - exp(lp[2])), 1e-4);
    assert_float_equal(r.ppl, exp(-lq[2]), 1e-4);
    assert_float_equal(r.ppl_base, exp(-lp[2]), 1e-3);
    assert_float_equal(r.ln_ratio, lp[2] - lq[2], 1e-4);
    lq_kld_free(k);
    /* identical distributions: no divergence, the same top token */
    k = kld_of(p, p, 4, 0, 20);
    assert_int_equal(lq_kld_report(k, &r, NULL), LQ_OK);
    assert_float_equal(r.kld, 0.0, 1e-4);
    assert_float_equal(r.same_top, 1.0, 0.0);
    assert_float_equal(r.ratio, 1.0, 1e-4);
    lq_kld_free(k);
}

/* Eleven positions of growing divergence: percentiles interpolate the sorted values. */
static void test_kld_percentiles(void **state)
{
    (void)state;
    const float base[3] = { 0, 0, 0 };
    lq_kld *k = NULL;
    assert_int_equal(lq_kld_new(3, &k, NULL), LQ_OK);
    uint16_t row[8];
    lq_logprob_encode(base, 3, 1, row);
    double want[11];
    for (int i = 10; i >= 0; i--) {
        const float q[3] = { 0.3f * (float)i, 0, 0 };
        want[i] = kl_div(base, q, 3);
        assert_int_equal(lq_kld_add(k, q, row, 1, NULL), LQ_OK);
    }
    struct lq_kld_report r;
    assert_int_equal(lq_kld_report(k, &r, NULL), LQ_OK);
    assert_float_equal(r.kld_dist.min, want[0], 1e-5);
    assert_float_equal(r.kld_dist.max, want[10], 1e-5);
    assert_float_equal(r.kld_dist.median, want[5], 1e-5);
    assert_float_equal(r.kld_dist.p90, want[9], 1e-5);
    /* 0.95 * 10 = 9.5: halfway between the two largest */
    assert_float_equal(r.kld_dist.p95, 0.5 * (want[9] + want[10]), 1e-5);
    assert_float_equal(r.same_top, 1.0, 0.0); /* ties resolve to the first index in both */
    lq_kld_free(k);
}

// ---- the log-prob file --------------------------------------------------------------------

static void fill_rows(uint16_t *rows, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        rows[i] = (uint16_t)((i * 2654435761u + seed) >> 7);
    }
}

static void test_logits_file_round_trip(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/base.lqlp", dir);
    const int64_t n_ctx = 8, n_vocab = 5, n_chunk = 3, rows_n = 3 * 10;
    int32_t tokens[24];
    for (int i = 0; i < 24; i++) {
        tokens[i] = i % 5;
    }
    uint16_t rows[3][30], back[30];
    lq_logits_file *f = NULL;
    assert_int_equal(lq_logits_create(path, n_ctx, n_vocab, n_chunk, tokens, &f, NULL), LQ_OK);
    for (int c = 0; c < 3; c++) {
        fill_rows(rows[c], rows_n, (unsigned)c);
        assert_int_equal(lq_logits_write_chunk(f, rows[c], NULL), LQ_OK);
    }
    assert_int_equal(lq_logits_finish(f, NULL), LQ_OK);
    assert_int_equal(lq_logits_open(path, &f, NULL), LQ_OK);
    assert_int_equal(lq_logits_get_info(f)->n_scored, 3);
    assert_memory_equal(lq_logits_tokens(f), tokens, sizeof tokens);
    for (int c = 0; c < 3; c++) {
        assert_int_equal(lq_logits_read_chunk(f, back, NULL), LQ_OK);
        assert_memory_equal(back, rows[c], sizeof back);
    }
    struct lq_error err = { 0 };
    assert_int_equal(lq_logits_read_chunk(f, back, &err), LQ_E_INVALID_ARG);
    lq_logits_free(f);
    /* truncated inside the last chunk */
    size_t size;
    unsigned char *bytes = lqt_read_file(path, &size);
    lqt_write_file(path, bytes, size - 5);
    assert_int_equal(lq_logits_open(path, &f, NULL), LQ_OK);
    assert_int_equal(lq_logits_read_chunk(f, back, NULL), LQ_OK);
    assert_int_equal(lq_logits_read_chunk(f, back, NULL), LQ_OK);
    assert_int_equal(lq_logits_read_chunk(f, back, &err), LQ_E_FORMAT);
    assert_non_null(strstr(err.msg, "past the end"));
    lq_logits_free(f);
    /* bad magic */
    bytes[0] = 'X';
    lqt_write_file(path, bytes, size);
    assert_int_equal(lq_logits_open(path, &f, &err), LQ_E_FORMAT);
    assert_null(f);
    assert_non_null(strstr(err.msg, "magic"));
    free(bytes);
    lqt_rmtree(dir);
    free(dir);
}

/* llama.cpp's uncompressed layout: "_logits_", n_ctx, n_vocab, n_chunk, tokens, rows. */
static void test_logits_file_reads_llama_cpp(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/base.kld", dir);
    const uint32_t hdr[3] = { 8, 5, 2 };
    int32_t tokens[16];
    uint16_t rows[2][30];
    unsigned char buf[8 + 12 + sizeof tokens + sizeof rows];
    for (int i = 0; i < 16; i++) {
        tokens[i] = 4 - i % 5;
    }
    fill_rows(rows[0], 60, 9);
    memcpy(buf, "_logits_", 8);
    memcpy(buf + 8, hdr, 12); /* the test host is little-endian, as llama.cpp's files */
    memcpy(buf + 20, tokens, sizeof tokens);
    memcpy(buf + 20 + sizeof tokens, rows, sizeof rows);
    lqt_write_file(path, buf, sizeof buf);
    lq_logits_file *f = NULL;
    assert_int_equal(lq_logits_open(path, &f, NULL), LQ_OK);
    assert_true(lq_logits_get_info(f)->llama_cpp);
    assert_int_equal(lq_logits_get_info(f)->n_chunk, 2);
    assert_memory_equal(lq_logits_tokens(f), tokens, sizeof tokens);
    uint16_t back[30];
    assert_int_equal(lq_logits_read_chunk(f, back, NULL), LQ_OK);
    assert_int_equal(lq_logits_read_chunk(f, back, NULL), LQ_OK);
    assert_memory_equal(back, rows[1], sizeof back);
    lq_logits_free(f);
    lqt_rmtree(dir);
    free(dir);
}

// ---- the evaluation loop on tiny models ---------------------------------------------------

#define NT 13

struct tiny {
    struct lq_model_hparams hp;
    const char *names[NT];
    float *data[NT];
    int64_t ne0[NT], ne1[NT];
};

static bool tiny_find(void *user, const char *name, struct lq_model_tensor *out)
{
    struct tiny *t = user;
    for (int i = 0; i < NT; i++) {
        if (t->names[i] && strcmp(t->names[i], name) == 0) {
            *out = (struct lq_model_tensor){ .type = LQ_TYPE_F32, .ne = { t->ne0[i], t->ne1[i], 1, 1 },
                                             .data = t->data[i],
                                             .nbytes = (size_t)(t->ne0[i] * t->ne1[i]) * 4 };
            return true;
        }
    }
    return false;
}

/* One layer, embd 8, vocab 11; weights scaled by amp (0: uniform logits). */
static lq_model *tiny_model(struct tiny *t, float amp, unsigned seed)
{
    static const char *names[NT] = {
        "token_embd.weight", "blk.0.attn_norm.weight", "blk.0.attn_q.weight",
        "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight",
        "blk.0.ffn_norm.weight", "blk.0.ffn_gate.weight", "blk.0.ffn_up.weight",
        "blk.0.ffn_down.weight", "output_norm.weight", "output.weight", NULL,
    };
    static const int64_t ne0[NT] = { 8, 8, 8, 8, 8, 8, 8, 8, 8, 16, 8, 8, 0 };
    static const int64_t ne1[NT] = { 11, 1, 8, 8, 8, 8, 1, 16, 16, 8, 1, 11, 0 };
    t->hp = (struct lq_model_hparams){
        .n_vocab = 11, .n_embd = 8, .n_layer = 1, .n_ff = 16, .n_head = 2, .n_head_kv = 2,
        .n_embd_head = 4, .n_rot = 4, .n_ctx_train = 64, .norm_eps = 1e-5f,
        .rope_freq_base = 10000.0f, .rope_freq_scale = 1.0f, .bos_token_id = 1, .add_bos = true,
    };
    srand(seed);
    for (int i = 0; i < NT; i++) {
        t->names[i] = names[i];
        t->ne0[i] = ne0[i];
        t->ne1[i] = ne1[i];
        t->data[i] = malloc((size_t)(ne0[i] * ne1[i] + 1) * sizeof(float));
        const bool norm = ne1[i] == 1;
        for (int64_t k = 0; k < ne0[i] * ne1[i]; k++) {
            const float r = (float)rand() / (float)RAND_MAX - 0.5f;
            t->data[i][k] = norm ? 1.0f : (i == 0 ? 1.0f : amp) * r;
        }
    }
    const struct lq_model_source src = { .name = "tiny", .user = t, .find_tensor = tiny_find };
    struct lq_model_params p = lq_model_params_default();
    p.n_ctx = 16;
    p.n_batch = 5; /* chunks of 8 run as 5 + 3 tokens */
    lq_model *m = NULL;
    assert_int_equal(lq_model_open_source(&t->hp, &src, &p, &m, NULL), LQ_OK);
    return m;
}

static void tiny_free(struct tiny *t, lq_model *m)
{
    lq_model_free(m);
    for (int i = 0; i < NT; i++) {
        free(t->data[i]);
    }
}

static void test_eval_uniform_logits_ppl_is_vocab(void **state)
{
    (void)state;
    struct tiny t;
    lq_model *m = tiny_model(&t, 0.0f, 1);
    int32_t tokens[43];
    for (int i = 0; i < 43; i++) {
        tokens[i] = (i * 7) % 11;
    }
    struct lq_eval_params p = lq_eval_params_default();
    p.n_ctx = 8;
    struct lq_eval_result r;
    assert_int_equal(lq_eval_perplexity(m, tokens, 43, &p, &r, NULL), LQ_OK);
    assert_int_equal(r.n_chunk, 5);
    assert_int_equal(r.count, 5 * 3); /* positions 4, 5, 6 of each chunk */
    assert_float_equal(r.ppl, 11.0, 1e-6);
    /* too few tokens for two contexts */
    struct lq_error err = { 0 };
    assert_int_equal(lq_eval_perplexity(m, tokens, 15, &p, &r, &err), LQ_E_INVALID_ARG);
    assert_non_null(strstr(err.msg, "at least 16"));
    tiny_free(&t, m);
}

/* The PPL of the loop equals the NLL of each scored token computed from a single
 * whole-chunk forward call with BOS substituted. */
static void test_eval_matches_manual_scoring(void **state)
{
    (void)state;
    struct tiny t;
    lq_model *m = tiny_model(&t, 3.0f, 2);
    int32_t tokens[24];
    for (int i = 0; i < 24; i++) {
        tokens[i] = (i * 5 + 3) % 11;
    }
    struct lq_eval_params p = lq_eval_params_default();
    p.n_ctx = 8;
    struct lq_eval_result r;
    assert_int_equal(lq_eval_perplexity(m, tokens, 24, &p, &r, NULL), LQ_OK);
    struct lq_ppl want = { 0 };
    float logits[8 * 11];
    for (int c = 0; c < 3; c++) {
        int32_t chunk[8];
        memcpy(chunk, tokens + 8 * c, sizeof chunk);
        chunk[0] = 1;
        for (int64_t i = 0; i < 8; i++) {
            const struct lq_batch b = { .tokens = chunk + i, .n_tokens = 1, .pos = i, .n_out = 1,
                                        .logits = logits + i * 11 };
            assert_int_equal(lq_model_forward(m, &b, NULL), LQ_OK);
        }
        for (int j = 4; j < 7; j++) {
            lq_ppl_add(&want, lq_nll(logits + j * 11, 11, tokens[8 * c + j + 1]));
        }
    }
    printf("  loop PPL %.6f, manual %.6f\n", r.ppl, lq_ppl_value(&want));
    assert_float_equal(r.ppl, lq_ppl_value(&want), 1e-4 * r.ppl);
    assert_true(r.ppl > 1.0 && isfinite(r.ppl));
    tiny_free(&t, m);
}

static void test_eval_save_and_compare(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/base.lqlp", dir);
    struct tiny ta, tb;
    lq_model *a = tiny_model(&ta, 3.0f, 3);
    lq_model *b = tiny_model(&tb, 3.0f, 4);
    int32_t tokens[40];
    for (int i = 0; i < 40; i++) {
        tokens[i] = (i * 3 + 1) % 11;
    }
    struct lq_eval_params p = lq_eval_params_default();
    p.n_ctx = 8;
    p.save_logits = path;
    struct lq_eval_result base, same, other;
    assert_int_equal(lq_eval_perplexity(a, tokens, 40, &p, &base, NULL), LQ_OK);
    p.save_logits = NULL;
    p.n_ctx = 0;
    p.compare = path;
    assert_int_equal(lq_eval_perplexity(a, NULL, 0, &p, &same, NULL), LQ_OK);
    assert_true(same.has_kld);
    assert_int_equal(same.kld.count, 5 * 3);
    assert_float_equal(same.kld.kld, 0.0, 1e-4);
    assert_float_equal(same.kld.same_top, 1.0, 0.0);
    assert_float_equal(same.kld.ppl_base, base.ppl, 1e-3 * base.ppl);
    assert_float_equal(same.ppl, base.ppl, 1e-9 * base.ppl);
    assert_int_equal(lq_eval_perplexity(b, NULL, 0, &p, &other, NULL), LQ_OK);
    printf("  KLD of an unrelated model: %.4f, same top %.3f\n", other.kld.kld,
           other.kld.same_top);
    assert_true(other.kld.kld > 0.01);
    assert_float_equal(other.kld.ppl_base, base.ppl, 1e-3 * base.ppl);
    /* a different context than the file's is refused */
    struct lq_error err = { 0 };
    p.n_ctx = 6;
    assert_int_equal(lq_eval_perplexity(b, NULL, 0, &p, &other, &err), LQ_E_INVALID_ARG);
    assert_non_null(strstr(err.msg, "context"));
    tiny_free(&ta, a);
    tiny_free(&tb, b);
    lqt_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nll_known_distribution),
        cmocka_unit_test(test_ppl_uniform_is_vocab_size),
        cmocka_unit_test(test_ppl_error_formula),
        cmocka_unit_test(test_logprob_encode),
        cmocka_unit_test(test_kld_known_distributions),
        cmocka_unit_test(test_kld_percentiles),
        cmocka_unit_test(test_logits_file_round_trip),
        cmocka_unit_test(test_logits_file_reads_llama_cpp),
        cmocka_unit_test(test_eval_uniform_logits_ppl_is_vocab),
        cmocka_unit_test(test_eval_matches_manual_scoring),
        cmocka_unit_test(test_eval_save_and_compare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
