/* test_quants_iq2_model.c - IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S and IQ1_M on real weights: the
 * tiny model's tensors quantized through `quant quantize --imatrix` equal, byte for byte,
 * those `llama-quantize` wrote in its IQ2_XS, IQ2_M, IQ1_S and IQ1_M files (the XXH3 hashes in
 * reference/llama.cpp/tiny-llama-6L/iq/<ftype>.imatrix.json). The per-tensor types are taken
 * from those files with --tensor-type, so the test does not depend on the file-type recipes;
 * layers 0 and 5 only, every other tensor Q8_0, to keep it short. */
#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lqt_run.h"
#include "lqt_util.h"

#define MAX_ARGS 64

static bool is_iq2_type(const char *t)
{
    static const char *const mine[] = {"iq2_xxs", "iq2_xs", "iq2_s", "iq1_s", "iq1_m"};
    for (size_t i = 0; i < sizeof mine / sizeof mine[0]; i++) {
        if (strcmp(t, mine[i]) == 0) {
            return true;
        }
    }
    return false;
}

static bool checked_layer(const char *name)
{
    return strncmp(name, "blk.0.", 6) == 0 || strncmp(name, "blk.5.", 6) == 0;
}

static json_t *tensors_of(json_t *doc)
{
    json_t *t = json_object_get(doc, "tensors");
    assert_true(json_is_array(t));
    return t;
}

/* Quantizes with llama.cpp's per-tensor types of ftype and compares hashes; returns the
 * number of tensors compared. */
static int check_ftype(const char *ftype, const char *dir)
{
    char rel[128], out[512];
    snprintf(rel, sizeof rel, "reference/llama.cpp/tiny-llama-6L/iq/%s.imatrix.json", ftype);
    json_error_t jerr;
    json_t *ref = json_load_file(lqt_data_path(rel), 0, &jerr);
    if (!ref) {
        fail_msg("%s: %s", rel, jerr.text);
    }
    snprintf(out, sizeof out, "%s/%s.gguf", dir, ftype);
    const char *args[MAX_ARGS] = {
        "quantize", "-q",        "-t",
        "2",        "--imatrix", lqt_data_path("reference/llama.cpp/tiny-llama-6L/imatrix.gguf")};
    int na = 6;
    char *owned[MAX_ARGS];
    int nown = 0;
    size_t i;
    json_t *x;
    json_array_foreach(tensors_of(ref), i, x)
    {
        const char *name = json_string_value(json_object_get(x, "name"));
        const char *type = json_string_value(json_object_get(x, "type"));
        assert_true(name && type);
        if (is_iq2_type(type) && checked_layer(name)) {
            assert_true(na + 4 < MAX_ARGS);
            char *spec = malloc(strlen(name) * 2 + strlen(type) + 8);
            char *p = spec;
            *p++ = '^';
            for (const char *c = name; *c; c++) { /* escape the dots */
                if (*c == '.') {
                    *p++ = '\\';
                }
                *p++ = *c;
            }
            sprintf(p, "$=%s", type);
            owned[nown++] = spec;
            args[na++] = "--tensor-type";
            args[na++] = spec;
        }
    }
    assert_true(nown > 0);
    args[na++] = "--tensor-type";
    args[na++] = ".=q8_0";
    args[na++] = lqt_data_path("reference/llama.cpp/tiny-llama-6L/f16.gguf");
    args[na++] = out;
    args[na++] = "Q8_0";
    args[na] = NULL;
    struct lqt_run_opts opts = {.max_seconds = 550};
    struct lqt_run r = lqt_run_quant(args, &opts);
    lqt_expect_exit(&r, args, 0, NULL);
    lqt_run_free(&r);
    const char *inspect[] = {"inspect", "--json", "--hash", out, NULL};
    r = lqt_run_quant(inspect, NULL);
    lqt_expect_exit(&r, inspect, 0, NULL);
    json_t *got = json_loads(r.out, 0, &jerr);
    assert_non_null(got);
    lqt_run_free(&r);
    int compared = 0;
    json_array_foreach(tensors_of(ref), i, x)
    {
        const char *name = json_string_value(json_object_get(x, "name"));
        const char *type = json_string_value(json_object_get(x, "type"));
        if (!is_iq2_type(type) || !checked_layer(name)) {
            continue;
        }
        size_t j;
        json_t *y, *match = NULL;
        json_array_foreach(tensors_of(got), j, y)
        {
            if (strcmp(json_string_value(json_object_get(y, "name")), name) == 0) {
                match = y;
            }
        }
        if (!match) {
            fail_msg("%s: tensor %s missing", ftype, name);
        }
        const char *hw = json_string_value(json_object_get(x, "xxh3"));
        const char *hg = json_string_value(json_object_get(match, "xxh3"));
        const char *tg = json_string_value(json_object_get(match, "type"));
        if (!hw || !hg || !tg || strcmp(tg, type) != 0 || strcmp(hw, hg) != 0) {
            fail_msg("%s: %s is %s %s, llama-quantize wrote %s %s", ftype, name, tg ? tg : "?",
                     hg ? hg : "?", type, hw ? hw : "?");
        }
        compared++;
    }
    while (nown > 0) {
        free(owned[--nown]);
    }
    json_decref(got);
    json_decref(ref);
    return compared;
}

static void test_iq2_tiny_model_tensors(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    /* IQ2_XS: iq2_xs; IQ2_M: iq2_s; IQ1_S and IQ1_M: iq1_s / iq1_m and iq2_xxs */
    static const char *const ftypes[] = {"iq2_xs", "iq2_m", "iq1_s", "iq1_m"};
    int total = 0;
    for (size_t f = 0; f < sizeof ftypes / sizeof ftypes[0]; f++) {
        int n = check_ftype(ftypes[f], dir);
        print_message("%s: %d tensors identical to llama-quantize's\n", ftypes[f], n);
        total += n;
    }
    assert_true(total >= 4 * 10);
    lqt_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iq2_tiny_model_tensors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
