/* test_hostile_basics.c - the hostile-input runner (lqt_hostile.c) on inputs every reader has
 * refused since the start: it must pass them and must catch a case whose expectation is wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lqt_craft.h"
#include "lqt_hostile.h"
#include "lqt_util.h"

static void make_bad_magic(const char *dir, const char **args, char *buf)
{
    const char *path = lqt_hostile_str(buf, "%s/bad.gguf", dir);
    lqt_write_file(path, "FUGG\3\0\0\0", 8);
    args[0] = "inspect";
    args[1] = path;
}

static void make_convert_bad_magic(const char *dir, const char **args, char *buf)
{
    make_bad_magic(dir, args, buf);
    args[0] = "convert";
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

static void make_st_truncated(const char *dir, const char **args, char *buf)
{
    const float w[4] = {1, 2, 3, 4};
    const struct lqt_st_tensor t = {"w", "F32", 2, {2, 2}, w};
    const char *path = lqt_hostile_str(buf, "%s/m.safetensors", dir);
    lqt_craft_safetensors(path, &t, 1);
    size_t n;
    char *bytes = lqt_read_file(path, &n);
    lqt_write_file(path, bytes, n - 4);
    free(bytes);
    args[0] = "inspect";
    args[1] = path;
}

static const struct lqt_hostile_case cases[] = {
    {"basics/inspect-bad-magic", make_bad_magic, 3, "bad.gguf", 0},
    {"basics/convert-bad-magic", make_convert_bad_magic, 3, "bad.gguf", 0},
    {"basics/safetensors-truncated", make_st_truncated, 3, "m.safetensors", 0},
};

static void test_hostile_basics_refused(void **state)
{
    (void)state;
    lqt_hostile_run(cases, sizeof cases / sizeof cases[0]);
}

/* A wrong expectation must fail the runner (a runner that cannot fail proves nothing). */
static void test_hostile_basics_runner_can_fail(void **state)
{
    (void)state;
    const struct lqt_hostile_case wrong = {"basics/wrong-exit", make_bad_magic, 0, NULL, 0};
    assert_int_equal(lqt_hostile_failures(&wrong, 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_basics_refused),
        cmocka_unit_test(test_hostile_basics_runner_can_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
