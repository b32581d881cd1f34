/* test_cli.c - the `quant` program end to end: exit codes, --help, error messages, JSON output,
 * and that a convert or quantize run through the command line gives llama.cpp's tensor bytes
 * (compared by the per-tensor XXH3 hashes that `quant inspect --hash` prints). */
#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lqt_run.h"
#include "lqt_util.h"

/* Runs quant with argv (NULL-terminated, without the program name); captures both streams. */
static struct lqt_run run_quant(const char *const *args)
{
    struct lqt_run r = lqt_run_quant(args, NULL);
    assert_false(r.signaled); /* a crash is never an acceptable answer */
    return r;
}

static void expect_code(const char *const *args, int code, const char *in_stderr)
{
    struct lqt_run r = run_quant(args);
    lqt_expect_exit(&r, args, code, in_stderr);
    lqt_run_free(&r);
}

static void test_usage_exit_codes(void **state)
{
    (void)state;
    expect_code((const char *[]){NULL}, 2, "usage");
    expect_code((const char *[]){"no-such-command", NULL}, 2, "unknown command 'no-such-command'");
    expect_code((const char *[]){"inspect", NULL}, 2, NULL);
    expect_code((const char *[]){"inspect", "--no-such-flag", "x", NULL}, 2, NULL);
    expect_code((const char *[]){"eval", NULL}, 2, "MODEL");
    const char *f16 = lqt_data_path("reference/llama.cpp/tiny-llama-6L/f16.gguf");
    expect_code((const char *[]){"quantize", f16, "/tmp/lqt_cli_never.gguf", "q9_9", NULL}, 2,
                "unknown file type 'q9_9'");
    assert_int_equal(access("/tmp/lqt_cli_never.gguf", F_OK), -1);
    /* as llama-quantize, the i-quant mixes that need an imatrix are refused without one,
     * saying which file types need it and how to make it */
    struct lqt_run r =
        run_quant((const char *[]){"quantize", f16, "/tmp/lqt_cli_never.gguf", "IQ2_XS", NULL});
    lqt_expect_exit(&r, (const char *[]){"quantize", "IQ2_XS", NULL}, 2, "quant imatrix");
    assert_non_null(strstr(r.err, "IQ2_XXS, "));
    assert_non_null(strstr(r.err, "needs an importance matrix"));
    lqt_run_free(&r);
    assert_int_equal(access("/tmp/lqt_cli_never.gguf", F_OK), -1);
}

static void test_every_command_has_help(void **state)
{
    (void)state;
    const char *cmds[] = {"inspect", "convert", "quantize", "eval", "generate",
                          "imatrix", "gptq",    "report",   "check"};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        struct lqt_run r = run_quant((const char *[]){cmds[i], "--help", NULL});
        if (r.code != 0 || !strstr(r.out, "usage: quant ") || !strstr(r.out, cmds[i]))
            fail_msg("quant %s --help: exit %d, stdout: %s", cmds[i], r.code, r.out);
        lqt_run_free(&r);
    }
    struct lqt_run r = run_quant((const char *[]){"--help", NULL});
    assert_int_equal(r.code, 0);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        assert_non_null(strstr(r.out, cmds[i]));
    lqt_run_free(&r);
}

static void test_bad_files_exit_3_naming_file(void **state)
{
    (void)state;
    const char *bad = lqt_data_path("gguf/malformed/bad-magic-FUGG.gguf");
    struct lqt_run r = run_quant((const char *[]){"inspect", bad, NULL});
    assert_int_equal(r.code, 3);
    assert_non_null(strstr(r.err, bad));
    assert_non_null(strstr(r.err, "offset 0"));
    assert_non_null(strstr(r.err, "bad magic"));
    assert_string_equal(r.out, "");
    lqt_run_free(&r);
    expect_code((const char *[]){"inspect", "/nonexistent/model.gguf", NULL}, 1,
                "/nonexistent/model.gguf");
}

static json_t *inspect_json(const char *path)
{
    struct lqt_run r = run_quant((const char *[]){"inspect", "--json", "--hash", path, NULL});
    if (r.code != 0)
        fail_msg("quant inspect %s: exit %d: %s", path, r.code, r.err);
    json_error_t jerr;
    json_t *doc = json_loads(r.out, 0, &jerr);
    if (!doc)
        fail_msg("inspect --json of %s is not JSON: line %d: %s", path, jerr.line, jerr.text);
    lqt_run_free(&r);
    return doc;
}

/* name -> (type, xxh3) of every tensor, from inspect --json --hash. */
static void expect_same_tensors(json_t *a, json_t *b)
{
    json_t *ta = json_object_get(a, "tensors"), *tb = json_object_get(b, "tensors");
    assert_true(json_is_array(ta) && json_is_array(tb));
    assert_int_equal(json_array_size(ta), json_array_size(tb));
    size_t i;
    json_t *x;
    json_array_foreach(ta, i, x)
    {
        const char *name = json_string_value(json_object_get(x, "name"));
        assert_non_null(name);
        json_t *match = NULL, *y;
        size_t j;
        json_array_foreach(tb, j, y)
        {
            if (strcmp(json_string_value(json_object_get(y, "name")), name) == 0)
                match = y;
        }
        if (!match)
            fail_msg("tensor %s missing", name);
        const char *ha = json_string_value(json_object_get(x, "xxh3"));
        const char *hb = json_string_value(json_object_get(match, "xxh3"));
        assert_true(ha && hb && strlen(ha) == 16);
        if (strcmp(ha, hb) != 0 || strcmp(json_string_value(json_object_get(x, "type")),
                                          json_string_value(json_object_get(match, "type"))) != 0)
            fail_msg("tensor %s differs: %s %s vs %s %s", name,
                     json_string_value(json_object_get(x, "type")), ha,
                     json_string_value(json_object_get(match, "type")), hb);
    }
}

static void test_inspect_json_counts(void **state)
{
    (void)state;
    const char *hf = lqt_data_path("models/tiny-llama-6L");
    json_t *doc = inspect_json(hf);
    /* 6 layers x (4 attn + 3 ffn + 2 norms) + embed + norm + lm_head = 57 tensors; the
     * parameter count is the tensors' element sum, checked by hand from config.json:
     * embed 4096x256 x2 + 6 x (256x256x2 + 256x128x2 + 256x768x3 + 256x2) + 256. */
    assert_int_equal(json_array_size(json_object_get(doc, "tensors")), 57);
    long long want =
        2LL * 4096 * 256 + 6LL * (256 * 256 * 2 + 256 * 128 * 2 + 256 * 768 * 3 + 256 * 2) + 256;
    assert_int_equal(json_integer_value(json_object_get(doc, "n_params")), want);
    json_decref(doc);
}

/* quantize through the command line: every tensor's bytes and type equal llama.cpp's file. */
static void test_quantize_matches_llama_cpp(void **state)
{
    (void)state;
    const char *f16 = lqt_data_path("reference/llama.cpp/tiny-llama-6L/f16.gguf");
    const char *ref = lqt_data_path("reference/llama.cpp/tiny-llama-6L/q4_k_m.gguf");
    char dir[] = "/tmp/lqt_cli_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char out[256];
    snprintf(out, sizeof out, "%s/q4_k_m.gguf", dir);
    struct lqt_run r = run_quant((const char *[]){"quantize", "--quiet", f16, out, "q4_k_m", NULL});
    if (r.code != 0)
        fail_msg("quantize: exit %d: %s", r.code, r.err);
    lqt_run_free(&r);
    json_t *a = inspect_json(out), *b = inspect_json(ref);
    expect_same_tensors(a, b);
    json_decref(a);
    json_decref(b);
    unlink(out);
    rmdir(dir);
}

/* quantize takes its output as -o/--output like every other command, as well as llama-quantize's
 * positional OUT: both spellings write the same tensors; a wrong argument count is exit 2. */
static void test_quantize_output_option(void **state)
{
    (void)state;
    const char *f16 = lqt_data_path("reference/llama.cpp/tiny-llama-6L/f16.gguf");
    const char *ref = lqt_data_path("reference/llama.cpp/tiny-llama-6L/q8_0.gguf");
    char dir[] = "/tmp/lqt_cli_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char out[256];
    snprintf(out, sizeof out, "%s/q8_0.gguf", dir);
    struct lqt_run r = run_quant((const char *[]){"quantize", "-q", "-o", out, f16, "Q8_0", NULL});
    if (r.code != 0)
        fail_msg("quantize -o: exit %d: %s", r.code, r.err);
    lqt_run_free(&r);
    json_t *a = inspect_json(out), *b = inspect_json(ref);
    expect_same_tensors(a, b);
    json_decref(a);
    json_decref(b);
    expect_code((const char *[]){"quantize", "-o", out, f16, out, "Q8_0", NULL}, 2, "IN TYPE");
    unlink(out);
    rmdir(dir);
}

/* A shard named by the index but missing: exit 3 (the folder contradicts its own index: a bad
 * input, issue 11) naming the shard and the index, and nothing left behind. */
static void test_convert_missing_shard_leaves_nothing(void **state)
{
    (void)state;
    const char *src = lqt_data_path("models/tiny-llama-6L-sharded");
    char dir[] = "/tmp/lqt_cli_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char model[256], cmd[1024], out[300];
    snprintf(model, sizeof model, "%s/model", dir);
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s' && rm '%s/model-00002-of-00002.safetensors'", src,
             model, model);
    assert_int_equal(system(cmd), 0);
    snprintf(out, sizeof out, "%s/out.gguf", dir);
    struct lqt_run r = run_quant((const char *[]){"convert", "--quiet", model, "-o", out, NULL});
    if (r.code != 3 || !strstr(r.err, "model-00002-of-00002.safetensors") ||
        !strstr(r.err, "model.safetensors.index.json"))
        fail_msg("convert with a missing shard: exit %d, stderr: %s", r.code, r.err);
    lqt_run_free(&r);
    /* only the model folder remains: no output, no temporary file */
    snprintf(cmd, sizeof cmd, "test \"$(ls -A '%s')\" = model", dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* An unwritable destination fails with exit 1 and a message naming it. */
static void test_unwritable_output(void **state)
{
    (void)state;
    const char *f16 = lqt_data_path("reference/llama.cpp/tiny-llama-6L/f16.gguf");
    expect_code(
        (const char *[]){"quantize", "--quiet", f16, "/nonexistent-dir/out.gguf", "q8_0", NULL}, 1,
        "/nonexistent-dir/out.gguf");
}

/* quant check through the binary: a baseline that is not one exits 2 naming the problem. */
static void test_check_bad_baseline_exits_2(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/baseline.json", dir);
    lqt_write_file(path, "{\"types\": 3}", 12);
    const char *f16 = lqt_data_path("reference/llama.cpp/tiny-llama-6L/f16.gguf");
    struct lqt_run r = run_quant((const char *[]){"check", "--baseline", path, f16, NULL});
    if (r.code != 2 || !strstr(r.err, path))
        fail_msg("check with a bad baseline: exit %d, stderr: %s", r.code, r.err);
    lqt_run_free(&r);
    lqt_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_usage_exit_codes),
        cmocka_unit_test(test_every_command_has_help),
        cmocka_unit_test(test_bad_files_exit_3_naming_file),
        cmocka_unit_test(test_inspect_json_counts),
        cmocka_unit_test(test_quantize_matches_llama_cpp),
        cmocka_unit_test(test_quantize_output_option),
        cmocka_unit_test(test_convert_missing_shard_leaves_nothing),
        cmocka_unit_test(test_unwritable_output),
        cmocka_unit_test(test_check_bad_baseline_exits_2),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
