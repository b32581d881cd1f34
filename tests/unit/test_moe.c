/* test_moe.c - mixture-of-experts specifics beyond the family tests (test_family_convert:
 * byte identity; test_eval_families: perplexity and KLD against llama.cpp):
 *  - the converter refuses experts that contradict config.json (one expert too few, an
 *    expert number past num_local_experts), exit 3 naming the tensor or stack;
 *  - generate runs on both tiny MoE models (greedy, deterministic).
 * Calibration (imatrix, gptq) on them: test_moe_calib.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lqt_craft.h"
#include "lqt_run.h"
#include "lqt_util.h"

static char *g_tmp;

static int setup(void **state)
{
    (void)state;
    g_tmp = lqt_tmpdir();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lqt_rmtree(g_tmp);
    free(g_tmp);
    return 0;
}

static void expect(const char *const *args, int code, const char *in_stderr)
{
    const struct lqt_run_opts o = { .max_seconds = 600 };
    struct lqt_run r = lqt_run_quant(args, &o);
    lqt_expect_exit(&r, args, code, in_stderr);
    lqt_run_free(&r);
}

/* Experts that contradict config.json's count are refused, naming what is wrong. */
static void test_expert_count_checked(void **state)
{
    (void)state;
    char dir[600], out[700];
    snprintf(dir, sizeof dir, "%s/five", g_tmp);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(out, sizeof out, "%s/five.gguf", g_tmp);
    lqt_craft_model(dir, "tiny-mixtral", "{\"num_local_experts\": 5}");
    expect((const char *const[]){ "convert", "-q", dir, "-o", out, NULL }, 3,
           "has no expert 4");
    snprintf(dir, sizeof dir, "%s/three", g_tmp);
    assert_int_equal(mkdir(dir, 0755), 0);
    lqt_craft_model(dir, "tiny-qwen3moe", "{\"num_experts\": 3}");
    expect((const char *const[]){ "convert", "-q", dir, "-o", out, NULL }, 3,
           "is expert 3, but config.json gives 3 experts");
    snprintf(dir, sizeof dir, "%s/used", g_tmp);
    assert_int_equal(mkdir(dir, 0755), 0);
    lqt_craft_model(dir, "tiny-mixtral", "{\"num_experts_per_tok\": 9}");
    expect((const char *const[]){ "convert", "-q", dir, "-o", out, NULL }, 3,
           "num_experts_per_tok is 9");
}

static void convert(const char *model, const char *out)
{
    char rel[128];
    snprintf(rel, sizeof rel, "models/%s", model);
    expect((const char *const[]){ "convert", "-q", lqt_data_path(rel), "-o", out, NULL }, 0,
           NULL);
}

/* generate: the same greedy text twice, and some text. */
static void test_generate(void **state)
{
    (void)state;
    static const char *const models[] = { "tiny-mixtral", "tiny-qwen3moe" };
    for (size_t i = 0; i < 2; i++) {
        char f16[700];
        snprintf(f16, sizeof f16, "%s/%s.gguf", g_tmp, models[i]);
        convert(models[i], f16);
        const char *args[] = { "generate", "-q", "-n", "24", "--prompt", "Once upon a time",
                               f16, NULL };
        const struct lqt_run_opts o = { .max_seconds = 600 };
        struct lqt_run a = lqt_run_quant(args, &o), b = lqt_run_quant(args, &o);
        lqt_expect_exit(&a, args, 0, NULL);
        lqt_expect_exit(&b, args, 0, NULL);
        printf("  %s: %s\n", models[i], a.out);
        assert_true(strlen(a.out) > strlen("Once upon a time") + 10);
        assert_string_equal(a.out, b.out);
        lqt_run_free(&a);
        lqt_run_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expert_count_checked),
        cmocka_unit_test(test_generate),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
