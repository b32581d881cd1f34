/* test_check.c - `quant check` logic on the tiny model: a baseline written from one run holds
 * for a fresh run (verdict 0); a deliberately broken Q8_0 quantizer (a copy that truncates
 * instead of rounding, swapped in through -Wl,--wrap=lq_quantize_rows) regresses (verdict 1)
 * naming the type and its tensors; bad baselines (missing key, unknown type, a GPTQ type,
 * another model or text) give verdict 2 naming the key. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lq/check.h"
#include "lq/fp16.h"
#include "lqt_util.h"
#include "lqt_xml.h"

/* llama.cpp's F16 conversion of the tiny model: no conversion per run (test_report and the
 * quant_check_tiny_llama test start from the Hugging Face folder). */
#define TINY_F16 "reference/llama.cpp/tiny-llama-6L/f16.gguf"

// ---- the broken quantizer -------------------------------------------------------------------

static bool broken_q8_0;

lq_status __real_lq_quantize_rows(int type, const float *src, int64_t nrow, int64_t n_per_row,
                                  void *dst, size_t dst_size,
                                  const struct lq_quantize_params *params, size_t *written,
                                  struct lq_error *err);
lq_status __wrap_lq_quantize_rows(int type, const float *src, int64_t nrow, int64_t n_per_row,
                                  void *dst, size_t dst_size,
                                  const struct lq_quantize_params *params, size_t *written,
                                  struct lq_error *err);

/* llama.cpp's quantize_row_q8_0_ref with one rounding flipped: the quants truncate toward
 * zero instead of rounding to nearest. Block: fp16 scale, then 32 int8 quants. */
static void q8_0_truncating(const float *x, unsigned char *y, int64_t n)
{
    for (int64_t b = 0; b < n / 32; b++, x += 32, y += 34) {
        float amax = 0;
        for (int j = 0; j < 32; j++) {
            amax = fmaxf(amax, fabsf(x[j]));
        }
        const float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
        const uint16_t h = lq_fp32_to_fp16(d);
        memcpy(y, &h, 2);
        for (int j = 0; j < 32; j++) {
            y[2 + j] = (unsigned char)(int8_t)truncf(x[j] * id);
        }
    }
}

lq_status __wrap_lq_quantize_rows(int type, const float *src, int64_t nrow, int64_t n_per_row,
                                  void *dst, size_t dst_size,
                                  const struct lq_quantize_params *params, size_t *written,
                                  struct lq_error *err)
{
    if (!broken_q8_0 || type != LQ_TYPE_Q8_0) {
        return __real_lq_quantize_rows(type, src, nrow, n_per_row, dst, dst_size, params, written,
                                       err);
    }
    const size_t bytes = (size_t)(nrow * n_per_row / 32 * 34);
    assert_true(n_per_row % 32 == 0 && bytes <= dst_size);
    q8_0_truncating(src, dst, nrow * n_per_row);
    if (written) {
        *written = bytes;
    }
    return LQ_OK;
}

// ---- fixture: a baseline written from one run -----------------------------------------------

struct fixture {
    char *dir;
    char baseline[4096];
    json_t *doc;
};

static int setup(void **state)
{
    static struct fixture fx;
    struct lq_report_params p = lq_report_params_default();
    p.model = lqt_data_path(TINY_F16);
    p.text = lqt_data_path("text/heldout-A.txt");
    p.n_ctx = 32;
    p.n_chunks = 2;
    p.n_threads = 2;
    struct lq_error err = {0};
    lq_report *r = NULL;
    fx.dir = lqt_tmpdir();
    snprintf(fx.baseline, sizeof fx.baseline, "%s/baseline.json", fx.dir);
    lq_status s = lq_report_open(&p, &r, &err);
    s = s == LQ_OK ? lq_report_add(r, "q8_0", &err) : s;
    s = s == LQ_OK ? lq_report_add(r, "q4_0", &err) : s;
    s = s == LQ_OK ? lq_report_run(r, &err) : s;
    s = s == LQ_OK ? lq_baseline_write(r, NULL, NULL, p.text, fx.baseline, &err) : s;
    lq_report_free(r);
    if (s != LQ_OK) {
        fprintf(stderr, "baseline: %s\n", err.msg);
        return -1;
    }
    json_error_t je;
    fx.doc = json_load_file(fx.baseline, 0, &je);
    *state = &fx;
    return fx.doc ? 0 : -1;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    json_decref(fx->doc);
    lqt_rmtree(fx->dir);
    free(fx->dir);
    return 0;
}

static enum lq_check_verdict run_check(const char *baseline, lq_check **c, struct lq_error *err)
{
    struct lq_check_params p = {
        .baseline = baseline,
        .model = lqt_data_path(TINY_F16),
        .n_threads = 2,
    };
    return lq_check_run(&p, c, err);
}

static const struct lq_check_case *find_case(const lq_check *c, const char *type, const char *name)
{
    for (int64_t i = 0; i < lq_check_n_cases(c); i++) {
        const struct lq_check_case *k = lq_check_case(c, i);
        if (strcmp(k->type, type) == 0 && strcmp(k->name, name) == 0) {
            return k;
        }
    }
    fail_msg("no case %s %s", type, name);
    return NULL;
}

// ---- verdicts -------------------------------------------------------------------------------

static void test_check_unmodified_passes(void **state)
{
    struct fixture *fx = *state;
    lq_check *c = NULL;
    struct lq_error err = {0};
    broken_q8_0 = false;
    assert_int_equal(run_check(fx->baseline, &c, &err), LQ_CHECK_PASS);
    /* 2 types x (dppl, mean_kld, top1, tensors.rmse, tensors.xxh3) */
    assert_int_equal(lq_check_n_cases(c), 10);
    assert_int_equal(lq_check_n_failed(c), 0);
    assert_true(find_case(c, "q8_0", "tensors.xxh3")->passed);
    lq_check_free(c);
}

static void test_check_broken_quantizer_regresses(void **state)
{
    struct fixture *fx = *state;
    lq_check *c = NULL;
    struct lq_error err = {0};
    broken_q8_0 = true;
    enum lq_check_verdict v = run_check(fx->baseline, &c, &err);
    broken_q8_0 = false;
    assert_int_equal(v, LQ_CHECK_REGRESSION);
    const struct lq_check_case *h = find_case(c, "q8_0", "tensors.xxh3");
    const struct lq_check_case *e = find_case(c, "q8_0", "tensors.rmse");
    assert_false(h->passed);
    assert_false(e->passed);
    assert_non_null(strstr(h->message, "blk.0.attn_k.weight"));
    assert_non_null(strstr(e->message, "rmse"));
    assert_non_null(strstr(e->message, ".weight"));
    /* the other type does not use Q8_0 and still holds */
    assert_true(find_case(c, "q4_0", "tensors.xxh3")->passed);
    assert_true(find_case(c, "q4_0", "mean_kld")->passed);
    char junit[4200];
    snprintf(junit, sizeof junit, "%s/junit.xml", fx->dir);
    assert_int_equal(lq_check_write_junit(c, junit, &err), LQ_OK);
    size_t n;
    char *xml = lqt_read_file(junit, &n);
    xml = realloc(xml, n + 1);
    xml[n] = '\0';
    struct lqt_xml x = {0};
    assert_true(lqt_xml_check(&x, xml));
    assert_non_null(strstr(xml, "classname=\"quant check.q8_0\" name=\"tensors.xxh3\"><failure"));
    free(xml);
    lq_check_free(c);
}

// ---- bad baselines --------------------------------------------------------------------------

/* Writes a copy of the fixture's baseline changed by edit, checks it, and expects verdict 2
 * with `key` in the message. */
static void expect_bad(struct fixture *fx, void (*edit)(json_t *), const char *key)
{
    json_t *doc = json_deep_copy(fx->doc);
    edit(doc);
    char path[4200];
    snprintf(path, sizeof path, "%s/bad.json", fx->dir);
    assert_int_equal(json_dump_file(doc, path, JSON_INDENT(1)), 0);
    json_decref(doc);
    lq_check *c = NULL;
    struct lq_error err = {0};
    assert_int_equal(run_check(path, &c, &err), LQ_CHECK_BAD_BASELINE);
    assert_null(c);
    if (!strstr(err.msg, key)) {
        fail_msg("message '%s' does not name %s", err.msg, key);
    }
}

static json_t *type0(json_t *doc)
{
    return json_array_get(json_object_get(doc, "types"), 0);
}

static void drop_tolerance(json_t *doc)
{
    json_object_del(json_object_get(type0(doc), "tolerance"), "mean_kld");
}

static void unknown_type(json_t *doc)
{
    json_object_set_new(type0(doc), "name", json_string("q9_9"));
}

/* GPTQ types need calibration text, which a baseline does not record. */
static void gptq_type(json_t *doc)
{
    json_object_set_new(type0(doc), "name", json_string("gptq-q4_0"));
}

static void other_model(json_t *doc)
{
    json_object_set_new(json_object_get(doc, "model"), "xxh3", json_string("0123456789abcdef"));
}

static void other_tensor_count(json_t *doc)
{
    json_object_set_new(json_object_get(doc, "model"), "n_tensors", json_integer(12));
}

static void other_text(json_t *doc)
{
    json_object_set_new(json_object_get(doc, "eval"), "tokens_xxh3",
                        json_string("fedcba9876543210"));
}

static void bad_hash(json_t *doc)
{
    json_t *ts = json_object_get(type0(doc), "tensors");
    json_object_set_new(json_object_get(ts, "output.weight"), "xxh3", json_string("xyz"));
}

static void no_types(json_t *doc)
{
    json_object_del(doc, "types");
}

static void test_check_bad_baselines(void **state)
{
    struct fixture *fx = *state;
    expect_bad(fx, drop_tolerance, "types[0].tolerance.mean_kld: missing");
    expect_bad(fx, unknown_type, "types[0].name: unknown type 'q9_9'");
    expect_bad(fx, gptq_type, "types[0].name: type 'gptq-q4_0' needs a calibration text");
    expect_bad(fx, other_model, "model.xxh3");
    expect_bad(fx, other_tensor_count, "model.n_tensors");
    expect_bad(fx, other_text, "eval.tokens_xxh3");
    expect_bad(fx, bad_hash, "types[0].tensors.output.weight.xxh3");
    expect_bad(fx, no_types, "types: missing");
    lq_check *c = NULL;
    struct lq_error err = {0};
    char path[4200];
    snprintf(path, sizeof path, "%s/absent.json", fx->dir);
    assert_int_equal(run_check(path, &c, &err), LQ_CHECK_BAD_BASELINE);
    assert_non_null(strstr(err.msg, "absent.json"));
}

// ---- task accuracy --------------------------------------------------------------------------

/* Few tasks: the gate's arithmetic is what is tested (the interval itself in test_tasks). */
#define GATE_TASKS 8

/* The baseline with every type's tolerance.task_acc_drop set to drop, at path. */
static void baseline_with_drop(const struct fixture *fx, double drop, const char *path)
{
    json_t *doc = json_deep_copy(fx->doc);
    json_t *types = json_object_get(doc, "types");
    for (size_t i = 0; i < json_array_size(types); i++) {
        json_object_set_new(json_object_get(json_array_get(types, i), "tolerance"), "task_acc_drop",
                            json_real(drop));
    }
    assert_int_equal(json_dump_file(doc, path, JSON_INDENT(1)), 0);
    json_decref(doc);
}

/* The first GATE_TASKS HellaSwag tasks in the fixture's folder. */
static void write_tasks(const struct fixture *fx, char *path, size_t cap)
{
    size_t n;
    char *text = lqt_read_file(lqt_data_path("tasks/hellaswag/hellaswag-val-400.txt"), &n);
    size_t len = 0;
    for (int lines = 0; len < n && lines < 6 * GATE_TASKS; len++) {
        lines += text[len] == '\n';
    }
    snprintf(path, cap, "%s/tasks.txt", fx->dir);
    lqt_write_file(path, text, len);
    free(text);
}

/* --task: a task_acc case per type, from the paired interval against the reference: it passes
 * with a loose tolerance and fails when the tolerance demands an improvement (a negative
 * drop), so the gate reads the key and can fail. */
static void test_check_task_accuracy_gate(void **state)
{
    struct fixture *fx = *state;
    char tasks[4200], loose[4200], strict[4200];
    write_tasks(fx, tasks, sizeof tasks);
    snprintf(loose, sizeof loose, "%s/loose.json", fx->dir);
    snprintf(strict, sizeof strict, "%s/strict.json", fx->dir);
    baseline_with_drop(fx, 1.0, loose);
    baseline_with_drop(fx, -0.5, strict);
    broken_q8_0 = false;
    /* one thread: two runs of three models, and OpenMP teams spin on a loaded machine */
    struct lq_check_params p = {.model = lqt_data_path(TINY_F16), .n_threads = 1};
    p.task_file = tasks;
    p.task_kind = LQ_TASK_HELLASWAG;
    for (int k = 0; k < 2; k++) {
        lq_check *c = NULL;
        struct lq_error err = {0};
        p.baseline = k == 0 ? loose : strict;
        const enum lq_check_verdict v = lq_check_run(&p, &c, &err);
        assert_int_equal(v, k == 0 ? LQ_CHECK_PASS : LQ_CHECK_REGRESSION);
        const struct lq_check_case *q = find_case(c, "q4_0", "task_acc");
        print_message("%s\n", q->message);
        assert_int_equal(q->passed, k == 0);
        assert_non_null(strstr(q->message, "Newcombe"));
        assert_int_equal(find_case(c, "q8_0", "task_acc")->passed, k == 0);
        lq_check_free(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check_bad_baselines),
        cmocka_unit_test(test_check_unmodified_passes),
        cmocka_unit_test(test_check_broken_quantizer_regresses),
        cmocka_unit_test(test_check_task_accuracy_gate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
