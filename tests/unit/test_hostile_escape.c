/* test_hostile_escape.c - issue 11, class 9: terminal escapes. Names and strings from a file
 * (tensor names, metadata keys and values, names quoted in error messages) reach a terminal
 * only with their control characters made visible: no raw ESC (0x1b), no C1 control
 * (U+0080..U+009F, CSI U+009B among them), as --json already escapes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lqt_craft.h"
#include "lqt_run.h"
#include "lqt_util.h"

#define STORIES "models/stories260K/stories260K-v1.gguf"

/* A raw control byte: C0 other than newline and tab, DEL, or a C1 control in UTF-8. */
static const char *find_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f ||
            (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)) {
            return (const char *)p;
        }
    }
    return NULL;
}

static void expect_clean(const struct lqt_run *r, const char *what)
{
    const char *c = find_control(r->out);
    const char *e = find_control(r->err);
    if (c || e) {
        fail_msg("%s: a raw control byte 0x%02x in %s", what, (unsigned char)*(c ? c : e),
                 c ? "stdout" : "stderr");
    }
}

/* ESC sequences in a tensor name (clear screen) and a metadata value (window title), a C1
 * CSI in a key: inspect shows them escaped. */
static void test_inspect_escapes(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    char path[512];
    snprintf(path, sizeof path, "%s/esc.gguf", dir);
    const struct lqt_gguf_edit e = {
        .rename_from = "output_norm.weight",
        .rename_to = "evil\x1b[2J\x1b[H.weight",
        .str_key = "general.na\xc2\x9bme",
        .str_val = "\x1b]0;pwned\x07 title\x7f",
    };
    lqt_craft_gguf_copy(lqt_data_path(STORIES), path, &e);
    const char *args[] = {"inspect", path, NULL};
    struct lqt_run r = lqt_run_quant(args, NULL);
    lqt_expect_exit(&r, args, 0, NULL);
    expect_clean(&r, "quant inspect");
    assert_non_null(strstr(r.out, "evil\\x1b[2J\\x1b[H.weight"));
    assert_non_null(strstr(r.out, "\\x1b]0;pwned\\x07 title\\x7f"));
    assert_non_null(strstr(r.out, "general.na\\u009bme"));
    lqt_run_free(&r);
    lqt_rmtree(dir);
    free(dir);
}

/* An error message that quotes a tensor name from the file (one with no dimensions). */
static void test_error_message_escapes(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    char path[512], out[512];
    snprintf(path, sizeof path, "%s/esc.gguf", dir);
    snprintf(out, sizeof out, "%s/out.gguf", dir);
    struct lqt_gguf b;
    lqt_gguf_begin(&b, 1, 1);
    lqt_gguf_kv_str(&b, "general.architecture", "llama");
    lqt_gguf_tensor_info(&b,
                         "x\x1b[2J\xc2\x9b"
                         "2J.weight",
                         0, NULL, 0, 0);
    lqt_gguf_pad(&b, 32);
    const float one = 1;
    lqt_gguf_bytes(&b, &one, sizeof one);
    lqt_gguf_write(&b, path);
    const char *args[] = {"quantize", path, out, "Q8_0", NULL};
    struct lqt_run r = lqt_run_quant(args, NULL);
    lqt_expect_exit(&r, args, 3, "x\\x1b[2J\\u009b2J.weight' has no dimensions");
    expect_clean(&r, "quant quantize");
    lqt_run_free(&r);
    lqt_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inspect_escapes),
        cmocka_unit_test(test_error_message_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
