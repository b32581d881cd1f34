/* test_json.c - `quant <command> --json` for every command that produces a result: stdout is
 * exactly one JSON document with the common keys of tools/json_out.h (schema
 * "libquant.<command>/1", command, libquant, inputs, outputs with each file's real size,
 * seconds) and the command's documented keys (README.md, "Machine-readable output"). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lqt_run.h"
#include "lqt_util.h"

#define STORIES "models/stories260K/stories260K.bin"

static char *tmp;

static const char *tmp_path(const char *name)
{
    static char buf[4][4096];
    static int slot;
    slot = (slot + 1) % 4;
    snprintf(buf[slot], sizeof buf[slot], "%s/%s", tmp, name);
    return buf[slot];
}

static uint64_t path_bytes(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    if (!S_ISDIR(st.st_mode))
        return (uint64_t)st.st_size;
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "find '%s' -maxdepth 1 -type f -printf '%%s\\n'", path);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    uint64_t total = 0;
    unsigned long long n;
    while (fscanf(f, "%llu", &n) == 1)
        total += n;
    pclose(f);
    return total;
}

/* Runs quant (args[0] is the command), expects exit `code` and one JSON document on stdout
 * with the common keys; returns it. */
static json_t *run_json(const char *const *args, int code)
{
    struct lqt_run r = lqt_run_quant(args, NULL);
    if (r.code != code)
        fail_msg("quant %s --json: exit %d (wanted %d): %s", args[0], r.code, code, r.err);
    json_error_t jerr;
    json_t *doc = json_loads(r.out, 0, &jerr);
    if (!doc)
        fail_msg("quant %s --json: stdout is not one JSON document: line %d: %s\n%s", args[0],
                 jerr.line, jerr.text, r.out);
    char schema[64];
    snprintf(schema, sizeof schema, "libquant.%s/1", args[0]);
    assert_string_equal(json_string_value(json_object_get(doc, "schema")), schema);
    assert_string_equal(json_string_value(json_object_get(doc, "command")), args[0]);
    assert_true(json_is_string(json_object_get(doc, "libquant")));
    assert_true(json_is_object(json_object_get(doc, "inputs")));
    assert_true(json_is_array(json_object_get(doc, "outputs")));
    assert_true(json_is_number(json_object_get(doc, "seconds")));
    assert_true(json_number_value(json_object_get(doc, "seconds")) >= 0);
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(doc, "outputs"), i, o)
    {
        const char *path = json_string_value(json_object_get(o, "path"));
        assert_non_null(path);
        assert_true(json_is_string(json_object_get(o, "kind")));
        assert_int_equal(json_integer_value(json_object_get(o, "bytes")), path_bytes(path));
    }
    lqt_run_free(&r);
    return doc;
}

/* Fails unless doc has every key of the NULL-terminated list. */
static void expect_keys(const json_t *doc, const char *const *keys)
{
    for (; *keys; keys++)
        if (!json_object_get(doc, *keys))
            fail_msg("key \"%s\" missing from %s", *keys,
                     json_string_value(json_object_get(doc, "schema")));
}

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

static const json_t *output(const json_t *doc, size_t i)
{
    return json_array_get(json_object_get(doc, "outputs"), i);
}

static void test_json_inspect(void **state)
{
    (void)state;
    json_t *doc = run_json(
        (const char *[]){"inspect", "--json", lqt_data_path("models/tiny-llama-6L"), NULL}, 0);
    expect_keys(doc, (const char *[]){"format", "kind", "n_params", "data_bytes", "bpw",
                                      "shape_order", "bytes_by_type", "metadata", "tensors", NULL});
    assert_int_equal(json_integer_value(json_object_get(doc, "n_params")), 6819072);
    assert_true(fabs(num(doc, "bpw") - 16.0) < 1e-9);
    json_decref(doc);
}

static void test_json_convert_and_quantize(void **state)
{
    (void)state;
    const char *out = tmp_path("c.gguf");
    json_t *doc = run_json((const char *[]){"convert", "--json", "--type", "q8_0",
                                            lqt_data_path("models/tiny-llama-6L"), "-o", out, NULL},
                           0);
    expect_keys(doc, (const char *[]){"source", "ftype", "n_tensors", "n_params", "bytes_in",
                                      "bytes_out", "bpw", "tensors", NULL});
    assert_string_equal(json_string_value(json_object_get(output(doc, 0), "path")), out);
    assert_true(fabs(num(output(doc, 0), "bpw") - 8.5) < 0.1);
    assert_int_equal(json_integer_value(json_object_get(doc, "n_tensors")), 57);
    const json_t *t = json_array_get(json_object_get(doc, "tensors"), 0);
    expect_keys(t, (const char *[]){"name", "shape", "from", "to", "bytes_in", "bytes_out", NULL});
    assert_int_equal(json_array_size(json_object_get(doc, "tensors")), 57);
    json_decref(doc);

    const char *q = tmp_path("q.gguf");
    doc = run_json(
        (const char *[]){"quantize", "--json", "--stats", lqt_data_path(STORIES), q, "q8_0", NULL},
        0);
    assert_string_equal(json_string_value(json_object_get(doc, "ftype")), "Q8_0");
    assert_string_equal(json_string_value(json_object_get(output(doc, 0), "path")), q);
    /* --stats puts each converted tensor's error in the document (not a table on stdout) */
    size_t i;
    json_t *e;
    int measured = 0;
    json_array_foreach(json_object_get(doc, "tensors"), i, e)
    {
        measured += json_object_get(e, "rel_rmse") != NULL;
    }
    assert_true(measured > 0);
    json_decref(doc);
}

static void test_json_eval_and_generate(void **state)
{
    (void)state;
    json_t *doc = run_json((const char *[]){"eval", "--json", lqt_data_path(STORIES), "--text",
                                            lqt_data_path("text/heldout-A.txt"), "--ctx", "64",
                                            "--chunks", "3", "--threads", "1", NULL},
                           0);
    expect_keys(doc, (const char *[]){"n_ctx", "n_chunk", "tokens_scored", "ppl", "ppl_err",
                                      "tokens_per_second", NULL});
    assert_true(num(doc, "ppl") > 1.0);
    assert_int_equal(json_integer_value(json_object_get(doc, "n_chunk")), 3);
    json_decref(doc);

    doc = run_json((const char *[]){"generate", "--json", lqt_data_path(STORIES), "-p",
                                    "Once upon a time", "-n", "8", NULL},
                   0);
    expect_keys(doc, (const char *[]){"prompt", "n_prompt", "n_generated", "tokens", "text",
                                      "prompt_seconds", "generate_seconds", NULL});
    assert_int_equal(json_array_size(json_object_get(doc, "tokens")),
                     json_integer_value(json_object_get(doc, "n_generated")));
    assert_non_null(strstr(json_string_value(json_object_get(doc, "text")), "there"));
    json_decref(doc);
}

static void test_json_imatrix_and_gptq(void **state)
{
    (void)state;
    const char *im = tmp_path("im.gguf");
    json_t *doc = run_json((const char *[]){"imatrix", "--json", lqt_data_path(STORIES), "--calib",
                                            lqt_data_path("text/calib-A.txt"), "--ctx", "64",
                                            "--chunks", "2", "-o", im, NULL},
                           0);
    expect_keys(doc, (const char *[]){"n_entries", "n_chunks", "n_ctx", "chunks_counted", NULL});
    assert_int_equal(json_integer_value(json_object_get(doc, "n_entries")), 5 * 7);
    assert_string_equal(json_string_value(json_object_get(output(doc, 0), "kind")), "imatrix");
    json_decref(doc);

    const char *g = tmp_path("g.gguf");
    doc = run_json((const char *[]){"gptq", "--json", lqt_data_path("models/tiny-llama-6L"),
                                    "--calib", lqt_data_path("text/calib-A.txt"), "--calib-ctx",
                                    "64", "--calib-tokens", "128", "--layers", "0:1", "--threads",
                                    "1", "--type", "q4_0", "-o", g, NULL},
                   0);
    expect_keys(doc,
                (const char *[]){"n_weights", "format", "ftype", "loss_total", "weights", NULL});
    assert_int_equal(json_integer_value(json_object_get(doc, "n_weights")), 7);
    assert_int_equal(json_array_size(json_object_get(doc, "weights")), 7);
    assert_true(num(output(doc, 0), "bpw") > 4.0);
    json_decref(doc);
}

static void test_json_report_and_check(void **state)
{
    (void)state;
    const char *model = lqt_data_path(STORIES), *text = lqt_data_path("text/heldout-A.txt");
    json_t *doc = run_json((const char *[]){"report", "--json", model, "--text", text, "--types",
                                            "q8_0", "--ctx", "64", "--chunks", "2", "--threads",
                                            "1", "--out", tmp, NULL},
                           0);
    expect_keys(doc, (const char *[]){"n_ctx", "n_chunk", "reference", "entries", NULL});
    /* md, json, the chart's svg and the heat map's svg */
    assert_int_equal(json_array_size(json_object_get(doc, "outputs")), 4);
    const json_t *e = json_array_get(json_object_get(doc, "entries"), 0);
    expect_keys(e, (const char *[]){"name", "file_bytes", "bpw", "ppl", "dppl", "mean_kld", "top1",
                                    "quantize_seconds", "worst_tensors", NULL});
    json_decref(doc);

    const char *base = tmp_path("baseline.json");
    doc = run_json((const char *[]){"check", "--json", "--update", "--baseline", base, model,
                                    "--text", text, "--types", "q8_0", "--ctx", "64", "--chunks",
                                    "2", "--threads", "1", NULL},
                   0);
    assert_string_equal(json_string_value(json_object_get(doc, "verdict")), "updated");
    json_decref(doc);
    doc = run_json(
        (const char *[]){"check", "--json", "--baseline", base, model, "--threads", "1", NULL}, 0);
    expect_keys(doc, (const char *[]){"verdict", "n_cases", "n_failed", "cases", NULL});
    assert_string_equal(json_string_value(json_object_get(doc, "verdict")), "pass");
    assert_int_equal(json_integer_value(json_object_get(doc, "n_failed")), 0);
    assert_true(json_array_size(json_object_get(doc, "cases")) >= 4);
    json_decref(doc);
}

static int setup(void **state)
{
    (void)state;
    tmp = lqt_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lqt_rmtree(tmp);
    free(tmp);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_inspect),
        cmocka_unit_test(test_json_convert_and_quantize),
        cmocka_unit_test(test_json_eval_and_generate),
        cmocka_unit_test(test_json_imatrix_and_gptq),
        cmocka_unit_test(test_json_report_and_check),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
