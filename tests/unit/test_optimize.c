/* test_optimize.c - `quant optimize` end to end on the tiny model with small settings (a few
 * candidate types, short calibration): the file fits the target and its size is the plan's,
 * the plan is in the metadata, `quant quantize --plan` writes the same bytes, --resume plans
 * again from the work folder, --target-bpw counts tensor bits, a target below the smallest
 * file is refused with exit 2 naming that size; and the plan JSON round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "lq/gguf.h"
#include "lq/optimize.h"
#include "lq/report.h"
#include "lqt_run.h"
#include "lqt_util.h"

#define TINY_F16 "reference/llama.cpp/tiny-llama-6L/f16.gguf"
#define CALIB "text/calib-A.txt"

/* Sanitizer and unoptimised builds run the same steps on less text. */
#if LQT_FULL_RUN
#define CTX "32"
#define TOKENS "128"
#define TYPES "q4_0,q8_0,q4_k"
#else
#define CTX "32"
#define TOKENS "64"
#define TYPES "q4_0,q8_0"
#endif

static char *dir;
static char model[1024], calib[1024];

static int setup(void **state)
{
    (void)state;
    dir = lqt_tmpdir();
    snprintf(model, sizeof model, "%s", lqt_data_path(TINY_F16));
    snprintf(calib, sizeof calib, "%s", lqt_data_path(CALIB));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lqt_rmtree(dir);
    free(dir);
    return 0;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static void run_ok(const char *const *args)
{
    struct lqt_run r = lqt_run_quant(args, &(struct lqt_run_opts){.max_seconds = 1200});
    lqt_expect_exit(&r, args, 0, NULL);
    lqt_run_free(&r);
}

/* One measured run writes the file, the plan and the cache; the rest reuse the cache. */
static void test_optimize_plan_and_file(void **state)
{
    (void)state;
    char out[1200], plan[1200], work[1200], again[1200], plan2[1200];
    snprintf(out, sizeof out, "%s/opt.gguf", dir);
    snprintf(plan, sizeof plan, "%s/plan.json", dir);
    snprintf(work, sizeof work, "%s/work", dir);
    snprintf(again, sizeof again, "%s/again.gguf", dir);
    snprintf(plan2, sizeof plan2, "%s/plan-bpw.json", dir);
    const char *opt[] = {"optimize", model, "--calib", calib, "--calib-ctx", CTX,
                         "--calib-tokens", TOKENS, "--kld-chunks", "1", "--types", TYPES,
                         "--target-size", "4600000", "-o", out, "--plan-out", plan, "--work",
                         work, "-t", "2", "-q", NULL};
    run_ok(opt);
    const uint64_t size = file_size(out);
    assert_true(size <= 4600000);
    assert_true(size > 4400000); /* the budget is used, not left idle */

    struct lq_opt_plan p;
    struct lq_error err = {0};
    assert_int_equal(lq_opt_plan_read(plan, &p, &err), LQ_OK);
    assert_int_equal(p.bytes, size);
    assert_int_equal(p.target_bytes, 4600000);
    assert_int_equal(p.n, 44); /* token_embd, 6 x 7 block weights, output */
    int upgraded = 0;
    for (int64_t i = 0; i < p.n; i++) {
        upgraded += p.t[i].type != LQ_TYPE_Q4_0;
        assert_true(p.t[i].measured_kld > 0.0);
    }
    assert_true(upgraded > 0);

    /* the plan is in the file, as the compact JSON of what decides its bytes */
    lq_gguf *g = NULL;
    assert_int_equal(lq_gguf_open(out, &g, &err), LQ_OK);
    const char *meta = NULL;
    assert_int_equal(lq_gguf_get_str(g, "libquant.plan", &meta, &err), LQ_OK);
    char *compact = lq_opt_plan_json(&p, true);
    assert_string_equal(meta, compact);
    free(compact);
    lq_gguf_free(g);

    /* the plan writes the same file byte for byte */
    const char *q[] = {"quantize", "--plan", plan, model, again, "-t", "2", "-q", NULL};
    run_ok(q);
    size_t na = 0, nb = 0;
    void *a = lqt_read_file(out, &na), *b = lqt_read_file(again, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);

    /* --target-bpw from the cache: tensor bits over all weights within the target */
    const char *bpw[] = {"optimize", model, "--calib", calib, "--calib-ctx", CTX,
                         "--calib-tokens", TOKENS, "--kld-chunks", "1", "--types", TYPES,
                         "--target-bpw", "5.0", "--dry-run", "--plan-out", plan2, "--work", work,
                         "--resume", "-q", NULL};
    run_ok(bpw);
    struct lq_opt_plan p2;
    assert_int_equal(lq_opt_plan_read(plan2, &p2, &err), LQ_OK);
    uint64_t tensor_bytes = 0;
    for (int64_t i = 0; i < p2.n; i++) {
        tensor_bytes += p2.t[i].bytes;
    }
    /* 6,819,072 elements in all (6,815,744 in the planned tensors, 3,328 in the F32 norms,
     * which count too) at 5 bits */
    assert_int_equal(p2.target_bytes, 6819072ULL * 5 / 8);
    assert_true(tensor_bytes <= p2.target_bytes);
    assert_true(p2.target_is_bpw);
    lq_opt_plan_free(&p2);
    lq_opt_plan_free(&p);

    /* a target below the smallest file: exit 2 naming the smallest size */
    const char *small[] = {"optimize", model, "--calib", calib, "--calib-ctx", CTX,
                           "--calib-tokens", TOKENS, "--kld-chunks", "1", "--types", TYPES,
                           "--target-size", "1MiB", "--dry-run", "--work", work, "--resume",
                           NULL};
    struct lqt_run r = lqt_run_quant(small, NULL);
    lqt_expect_exit(&r, small, 2, "below the smallest possible file");
    assert_non_null(strstr(r.err, "1048576 bytes"));
    lqt_run_free(&r);
}

/* Write, read, write again: the same JSON; a tampered type is refused naming the key. */
static void test_plan_json_round_trip(void **state)
{
    (void)state;
    struct lq_opt_plan_tensor t[2] = {
        {.name = "token_embd.weight", .type = LQ_TYPE_Q5_K, .bytes = 720896,
         .predicted_kld = 1.25e-4, .probe_type = LQ_TYPE_Q3_K, .measured_kld = 1.7e-3},
        {.name = "blk.0.ffn_down.weight", .type = LQ_TYPE_IQ4_XS, .bytes = 104448,
         .predicted_kld = 3.0000000000000001e-6, .probe_type = LQ_TYPE_Q3_K,
         .measured_kld = 8.0e-4}};
    struct lq_opt_plan p = {.model = "m.gguf", .calib = "c.txt", .calib_ctx = 256,
                            .calib_tokens = 4096, .gptq = true, .damp = 0.01f,
                            .target_bytes = 4332960, .bytes = 4332544, .predicted_kld = 0.00035,
                            .n = 2, .t = t};
    char path[1200], path2[1200];
    snprintf(path, sizeof path, "%s/rt.json", dir);
    snprintf(path2, sizeof path2, "%s/rt2.json", dir);
    struct lq_error err = {0};
    assert_int_equal(lq_opt_plan_write(&p, path, &err), LQ_OK);
    struct lq_opt_plan q;
    assert_int_equal(lq_opt_plan_read(path, &q, &err), LQ_OK);
    assert_int_equal(q.n, 2);
    assert_string_equal(q.t[1].name, "blk.0.ffn_down.weight");
    assert_int_equal(q.t[1].type, LQ_TYPE_IQ4_XS);
    assert_true(q.damp == 0.01f);
    assert_true(q.t[1].predicted_kld == t[1].predicted_kld);
    assert_int_equal(lq_opt_plan_write(&q, path2, &err), LQ_OK);
    char *a = lqt_read_text(path), *b = lqt_read_text(path2);
    assert_string_equal(a, b);
    char *bad = strstr(a, "\"iq4_xs\"");
    assert_non_null(bad);
    memcpy(bad, "\"iq9_xs\"", 8);
    lqt_write_file(path2, a, strlen(a));
    lq_opt_plan_free(&q);
    assert_int_equal(lq_opt_plan_read(path2, &q, &err), LQ_E_FORMAT);
    assert_non_null(strstr(err.msg, "tensors[1].type"));
    free(a);
    free(b);
    lq_opt_plan_free(&q);
}

/* Report jobs "opt@...": canonical names, the optimize kind, calibration required. */
static void test_report_optimize_names(void **state)
{
    (void)state;
    struct lq_report_params p = lq_report_params_default();
    p.model = model;
    p.text = lqt_data_path("text/heldout-A.txt");
    p.n_ctx = 64;
    p.n_chunks = 2;
    p.calib = calib;
    lq_report *r = NULL;
    struct lq_error err = {0};
    assert_int_equal(lq_report_open(&p, &r, &err), LQ_OK);
    assert_int_equal(lq_report_add(r, "opt@Q4_K_M", &err), LQ_OK);
    assert_int_equal(lq_report_add(r, "opt@3.50bpw", &err), LQ_OK);
    assert_string_equal(lq_report_entry(r, 0)->name, "opt@q4_k_m");
    assert_string_equal(lq_report_entry(r, 0)->kind, "optimize");
    assert_string_equal(lq_report_entry(r, 1)->name, "opt@3.5bpw");
    const char *bad[] = {"opt@", "opt@q9_k", "opt@0.1bpw", "opt@3.5", "opt@f32"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(lq_report_add(r, bad[i], &err), LQ_E_INVALID_ARG);
    }
    lq_report_free(r);
    p.calib = NULL;
    assert_int_equal(lq_report_open(&p, &r, &err), LQ_OK);
    assert_int_equal(lq_report_add(r, "opt@q4_k_m", &err), LQ_E_INVALID_ARG);
    assert_non_null(strstr(err.msg, "needs a calibration text"));
    lq_report_free(r);
    /* on the command line: --optimize without --calib is a usage error */
    const char *args[] = {"report", model, "--text", p.text, "--optimize", "q4_k_m", "-o", dir,
                          NULL};
    struct lqt_run run = lqt_run_quant(args, NULL);
    lqt_expect_exit(&run, args, 2, "calibration");
    lqt_run_free(&run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan_json_round_trip),
        cmocka_unit_test(test_report_optimize_names),
        cmocka_unit_test(test_optimize_plan_and_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
