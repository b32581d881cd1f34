/* test_report_gptq.c - GPTQ types in `quant report` on the tiny model (4 calibration chunks of
 * 64 tokens, 2 evaluation chunks of 64, so the test stays fast under ASan): gptq-q4_0 has
 * exactly q4_0's tensor types, the tensors GPTQ does not touch are byte-identical, the block
 * weights are not (error feedback moves codes); without calibration text a GPTQ type is a
 * usage error, in the library and on the command line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/report.h"
#include "lqt_util.h"

#define TINY_F16 "reference/llama.cpp/tiny-llama-6L/f16.gguf"
#define HELDOUT "text/heldout-A.txt"
#define CALIB "text/calib-A.txt"

static struct lq_report_params params(bool calib)
{
    struct lq_report_params p = lq_report_params_default();
    p.model = lqt_data_path(TINY_F16);
    p.text = lqt_data_path(HELDOUT);
    p.n_ctx = 64;
    p.n_chunks = 2;
    p.n_threads = 2;
    if (calib) {
        p.calib = lqt_data_path(CALIB);
        p.calib_ctx = 64;
        p.calib_tokens = 256;
    }
    return p;
}

static bool is_block_weight(const char *name)
{
    return strncmp(name, "blk.", 4) == 0 && strstr(name, "_norm") == NULL;
}

static void test_report_gptq_matches_recipe(void **state)
{
    (void)state;
    struct lq_report_params p = params(true);
    lq_report *r = NULL;
    struct lq_error err = {0};
    assert_int_equal(lq_report_open(&p, &r, &err), LQ_OK);
    assert_int_equal(lq_report_add(r, "q4_0", &err), LQ_OK);
    assert_int_equal(lq_report_add(r, "GPTQ-Q4_0", &err), LQ_OK);
    if (lq_report_run(r, &err) != LQ_OK) {
        fail_msg("report: %s", err.msg);
    }
    const struct lq_report_entry *rtn = lq_report_find(r, "q4_0");
    const struct lq_report_entry *g = lq_report_find(r, "gptq-q4_0");
    assert_non_null(rtn);
    assert_non_null(g);
    assert_string_equal(g->kind, "gptq");
    assert_true(g->done);
    assert_true(g->quantize_seconds > 0.0);
    assert_true(isfinite(g->eval.kld.kld) && g->eval.kld.kld > 0.0);
    assert_int_equal(g->n_tensors, rtn->n_tensors);
    assert_int_equal(g->data_bytes, rtn->data_bytes);
    int block_weights = 0;
    for (int64_t i = 0; i < g->n_tensors; i++) {
        const struct lq_report_tensor *a = &rtn->tensors[i], *b = &g->tensors[i];
        assert_string_equal(b->name, a->name);
        assert_int_equal(b->type, a->type);
        if (is_block_weight(a->name)) {
            block_weights++;
            assert_true(a->type == LQ_TYPE_Q4_0 || a->type == LQ_TYPE_Q4_1 ||
                        a->type == LQ_TYPE_Q5_0 || a->type == LQ_TYPE_Q5_1 ||
                        a->type == LQ_TYPE_Q8_0);
            if (a->xxh3 == b->xxh3) {
                fail_msg("%s: GPTQ wrote llama.cpp's rounding", a->name);
            }
        } else if (a->xxh3 != b->xxh3) {
            fail_msg("%s: not a block weight, yet it differs from q4_0's", a->name);
        }
    }
    assert_int_equal(block_weights, 6 * 7);
    lq_report_free(r);
}

static void test_report_gptq_names(void **state)
{
    (void)state;
    struct lq_report_params p = params(true);
    lq_report *r = NULL;
    struct lq_error err = {0};
    assert_int_equal(lq_report_open(&p, &r, &err), LQ_OK);
    assert_int_equal(lq_report_add(r, "gptq4", &err), LQ_OK);
    assert_string_equal(lq_report_entry(r, 0)->name, "gptq-q4_k_m");
    assert_int_equal(lq_report_add(r, "gptq-q4_k_m", &err), LQ_E_INVALID_ARG);
    assert_non_null(strstr(err.msg, "given twice"));
    assert_int_equal(lq_report_add(r, "gptq-q4_k", &err), LQ_E_INVALID_ARG); /* = q4_k_m */
    /* recipes whose block type GPTQ cannot fill, and a type that is not a file type */
    const char *bad[] = {"gptq-f16", "gptq-q2_k", "gptq-q3_k_m", "gptq-", "gptq-iq3_xxs",
                         "gptq-iq9_xs"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(lq_report_add(r, bad[i], &err), LQ_E_INVALID_ARG);
        assert_non_null(strstr(err.msg, "unknown type"));
    }
    /* every gptq name the help text lists is accepted (gptq-q4_k_m is there already) */
    char names[1024];
    snprintf(names, sizeof names, "%s", lq_report_job_names());
    int listed = 0;
    for (char *save = NULL, *t = strtok_r(names, ", ()", &save); t;
         t = strtok_r(NULL, ", ()", &save)) {
        if (strncmp(t, "gptq-", 5) == 0 && strcmp(t, "gptq-q4_k_m") != 0) {
            listed++;
            if (lq_report_add(r, t, &err) != LQ_OK) {
                fail_msg("%s: %s", t, err.msg);
            }
        }
    }
    /* q8_0 q4_0 q4_1 q5_0 q5_1 q4_k_s q5_k_s q5_k_m q6_k iq4_xs iq4_nl */
    assert_int_equal(listed, 11);
    assert_int_equal(lq_report_n_entries(r), 12);
    assert_non_null(strstr(lq_report_job_names(), "gptq-iq4_xs"));
    lq_report_free(r);
}

static void test_report_gptq_needs_calib(void **state)
{
    (void)state;
    struct lq_report_params p = params(false);
    lq_report *r = NULL;
    struct lq_error err = {0};
    assert_int_equal(lq_report_open(&p, &r, &err), LQ_OK);
    assert_int_equal(lq_report_add(r, "q4_0", &err), LQ_OK);
    assert_int_equal(lq_report_add(r, "gptq-q4_0", &err), LQ_E_INVALID_ARG);
    assert_non_null(strstr(err.msg, "'gptq-q4_0' needs a calibration text"));
    lq_report_free(r);
    /* fewer calibration tokens than one chunk */
    p = params(true);
    p.calib_tokens = 32;
    assert_int_equal(lq_report_open(&p, &r, &err), LQ_E_INVALID_ARG);
    assert_null(r);

    char *dir = lqt_tmpdir();
    int rc = lqt_system("%s report %s --text %s --ctx 64 --chunks 2 --types q4_0,gptq-q4_0 "
                        "-o %s > %s/log 2>&1",
                        LQ_QUANT_BIN, lqt_data_path(TINY_F16), lqt_data_path(HELDOUT), dir, dir);
    assert_int_equal(rc, 2);
    char log[4200];
    snprintf(log, sizeof log, "%s/log", dir);
    size_t n;
    char *text = lqt_read_file(log, &n);
    char *t = realloc(text, n + 1);
    assert_non_null(t);
    t[n] = '\0';
    assert_non_null(strstr(t, "needs a calibration text (quant report --calib FILE"));
    free(t);
    lqt_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_gptq_names),
        cmocka_unit_test(test_report_gptq_needs_calib),
        cmocka_unit_test(test_report_gptq_matches_recipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
