/* test_quantize_tensor_types.c - the quantizers on a real model's tensors, apart from any
 * file-type recipe: for llama-quantize's tiny-llama-6L files (reference/llama.cpp/
 * tiny-llama-6L/iq/<ftype>.imatrix.json: every tensor's type and XXH3), `quant quantize
 * --tensor-type` asks for each tensor's type by name, with the same imatrix, and every tensor
 * whose type the type table can quantize must come out with llama.cpp's hash.
 *
 * Table-driven: a type gains coverage here as soon as its row has a quantizer. The files
 * picked cover IQ3_XXS and IQ3_S (iq3_xs), TQ1_0 and TQ2_0, plus the k-quants they mix in. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lq/types.h"
#include "lqt_run.h"
#include "lqt_util.h"

#define REF_DIR "reference/llama.cpp/tiny-llama-6L/"
#define MAX_TYPES 8 /* distinct quantized types in one file */
#define MAX_ARGS (8 + 2 * MAX_TYPES)

/* Types the table quantizes (F32/F16 tensors are copied, not quantized: skipped). */
static bool quantizable(const char *name)
{
    enum lq_type type;
    if (lq_type_from_name(name, &type, NULL) != LQ_OK) {
        return false;
    }
    const struct lq_type_traits *t = lq_type_traits_get(type);
    return t && t->is_quantized && t->quantize;
}

/* One --tensor-type value for every tensor of `type`: "^(blk\.0\.attn_k\.weight|...)$=type". */
static char *override_arg(json_t *tensors, const char *type)
{
    size_t cap = 64, len = 0, i;
    json_t *t;
    json_array_foreach(tensors, i, t)
    {
        cap += 2 * strlen(json_string_value(json_object_get(t, "name"))) + 1;
    }
    char *s = malloc(cap + strlen(type));
    len += (size_t)sprintf(s, "^(");
    json_array_foreach(tensors, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "type")), type) != 0) {
            continue;
        }
        if (s[len - 1] != '(') {
            s[len++] = '|';
        }
        for (const char *c = json_string_value(json_object_get(t, "name")); *c; c++) {
            if (*c == '.') {
                s[len++] = '\\';
            }
            s[len++] = *c;
        }
    }
    sprintf(s + len, ")$=%s", type);
    return s;
}

static json_t *tensor_named(json_t *tensors, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(tensors, i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0) {
            return t;
        }
    }
    return NULL;
}

/* Returns how many tensors were compared (all must match). */
static int check_file(const char *ftype, const char *tmp)
{
    char rel[256], out[512];
    snprintf(rel, sizeof rel, REF_DIR "iq/%s.imatrix.json", ftype);
    json_error_t jerr;
    json_t *ref = json_load_file(lqt_data_path(rel), 0, &jerr);
    if (!ref) {
        fail_msg("%s: %s", rel, jerr.text);
    }
    json_t *ref_tensors = json_object_get(ref, "tensors");
    snprintf(out, sizeof out, "%s/%s.gguf", tmp, ftype);
    const char *args[MAX_ARGS];
    char *owned[MAX_ARGS];
    int na = 0, no = 0;
    char imatrix[512], f16[512];
    snprintf(imatrix, sizeof imatrix, "%s", lqt_data_path(REF_DIR "imatrix.gguf"));
    snprintf(f16, sizeof f16, "%s", lqt_data_path(REF_DIR "f16.gguf"));
    const char *head[] = {"quantize", "-q", "--imatrix", imatrix, f16, out, "Q8_0"};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++) {
        args[na++] = head[i];
    }
    size_t i;
    json_t *t;
    const char *seen[MAX_TYPES];
    int nseen = 0;
    json_array_foreach(ref_tensors, i, t)
    {
        const char *type = json_string_value(json_object_get(t, "type"));
        bool dup = false;
        for (int k = 0; k < nseen; k++) {
            dup |= strcmp(seen[k], type) == 0;
        }
        if (quantizable(type) && !dup && nseen < MAX_TYPES) {
            seen[nseen++] = type;
            args[na++] = "--tensor-type";
            args[na++] = owned[no++] = override_arg(ref_tensors, type);
        }
    }
    args[na] = NULL;
    struct lqt_run r = lqt_run_quant(args, NULL);
    lqt_expect_exit(&r, args, 0, NULL);
    lqt_run_free(&r);

    const char *inspect[] = {"inspect", "--hash", "--json", out, NULL};
    r = lqt_run_quant(inspect, NULL);
    lqt_expect_exit(&r, inspect, 0, NULL);
    json_t *got = json_loads(r.out, 0, &jerr);
    assert_non_null(got);
    json_t *got_tensors = json_object_get(got, "tensors");
    int compared = 0;
    json_array_foreach(ref_tensors, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        const char *type = json_string_value(json_object_get(t, "type"));
        if (!quantizable(type)) {
            continue;
        }
        json_t *g = tensor_named(got_tensors, name);
        assert_non_null(g);
        const char *gtype = json_string_value(json_object_get(g, "type"));
        const char *ghash = json_string_value(json_object_get(g, "xxh3"));
        const char *want = json_string_value(json_object_get(t, "xxh3"));
        if (strcasecmp(gtype, type) != 0 || strcmp(ghash, want) != 0) {
            fail_msg("%s: %s is %s %s, llama-quantize wrote %s %s", ftype, name, gtype, ghash, type,
                     want);
        }
        compared++;
    }
    printf("  %s: %d quantized tensors identical to llama-quantize's\n", ftype, compared);
    lqt_run_free(&r);
    json_decref(got);
    json_decref(ref);
    for (int k = 0; k < no; k++) {
        free(owned[k]);
    }
    remove(out);
    return compared;
}

static void test_tensor_types_match_llama_quantize(void **state)
{
    (void)state;
    char *tmp = lqt_tmpdir();
    /* each file has 44 quantized tensors (57 with the norms) */
    assert_int_equal(check_file("iq3_xs", tmp), 44);
    assert_int_equal(check_file("tq1_0", tmp), 44);
    assert_int_equal(check_file("tq2_0", tmp), 44);
    lqt_rmtree(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_types_match_llama_quantize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
