/* test_iq_ftypes.c - the i-quant and ternary file types on tiny-llama-6L against
 * `llama-quantize --imatrix imatrix.gguf f16.gguf OUT TYPE`, kept as JSON in
 * reference/llama.cpp/tiny-llama-6L/iq/<type>.imatrix.json: every tensor's type, shape and
 * XXH3-64 of its bytes, and general.file_type. Also the refusal without an imatrix.
 *
 * Every such file type of the table (IQ*, TQ*) must have its JSON and must match it: a file
 * type whose tensor types libquant cannot yet write fails here, naming the type. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <xxhash.h>

#include "lq/convert.h"
#include "lq/gguf.h"
#include "lq/imatrix.h"
#include "lq/recipe.h"
#include "lq/source.h"
#include "lqt_util.h"

#define REF "reference/llama.cpp/tiny-llama-6L/"

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

/* The file types this reference folder covers: llama-quantize's IQ* and TQ* ones. */
static bool is_iq_ftype(enum lq_ftype f)
{
    const char *n = lq_ftype_name(f);
    return strncmp(n, "IQ", 2) == 0 || strncmp(n, "TQ", 2) == 0;
}

static json_t *load_ref_json(enum lq_ftype f)
{
    char rel[256], lower[32];
    snprintf(lower, sizeof lower, "%s", lq_ftype_name(f));
    for (char *c = lower; *c; c++) {
        *c = (char)(*c >= 'A' && *c <= 'Z' ? *c - 'A' + 'a' : *c);
    }
    snprintf(rel, sizeof rel, REF "iq/%s.imatrix.json", lower);
    json_error_t jerr;
    json_t *doc = json_load_file(lqt_data_path(rel), 0, &jerr);
    if (!doc) {
        fail_msg("%s: line %d: %s", rel, jerr.line, jerr.text);
    }
    return doc;
}

static json_t *ref_tensor(json_t *doc, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(doc, "tensors"), i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0) {
            return t;
        }
    }
    return NULL;
}

static lq_source *open_f16(void)
{
    lq_source *src = NULL;
    struct lq_error err;
    if (lq_source_open(lqt_data_path(REF "f16.gguf"), &src, &err) != LQ_OK) {
        fail_msg("open f16.gguf: %s", err.msg);
    }
    return src;
}

/* Tensor types of the plan, with the imatrix, equal llama-quantize's. Needs no kernels. */
static void check_plan(enum lq_ftype f, json_t *doc, lq_source *src)
{
    struct lq_convert_params p = lq_convert_params_default();
    p.ftype = f;
    lq_imatrix *im = NULL;
    struct lq_error err;
    assert_int_equal(lq_imatrix_load(lqt_data_path(REF "imatrix.gguf"), &im, &err), LQ_OK);
    p.imatrix = im;
    int64_t n = lq_source_n_tensors(src);
    assert_int_equal((size_t)n, json_array_size(json_object_get(doc, "tensors")));
    enum lq_type *types = calloc((size_t)n, sizeof *types);
    lq_status s = lq_convert_plan(src, &p, types, NULL, &err);
    /* a type without a quantizer is refused after planning; the plan itself is filled */
    if (s != LQ_OK && s != LQ_E_UNSUPPORTED) {
        fail_msg("%s: plan: %s", lq_ftype_name(f), err.msg);
    }
    for (int64_t i = 0; i < n; i++) {
        const char *name = lq_source_tensor(src, i)->name;
        json_t *rt = ref_tensor(doc, name);
        if (!rt) {
            fail_msg("%s: %s not in llama.cpp's file", lq_ftype_name(f), name);
        }
        const char *want = json_string_value(json_object_get(rt, "type"));
        if (strcasecmp(lq_type_name(types[i]), want) != 0) {
            fail_msg("%s: %s planned %s, llama.cpp chose %s", lq_ftype_name(f), name,
                     lq_type_name(types[i]), want);
        }
    }
    free(types);
    lq_imatrix_free(im);
}

/* Quantizes f16.gguf with the imatrix and compares every tensor with llama-quantize's.
 * False, with why in msg, when a tensor type cannot be written yet or a tensor differs: the
 * caller lists every such file type before failing. */
static bool check_bytes(enum lq_ftype f, json_t *doc, lq_source *src, char *msg, size_t cap)
{
    char out[4096];
    snprintf(out, sizeof out, "%s/%s.gguf", g_tmp, lq_ftype_name(f));
    struct lq_convert_params p = lq_convert_params_default();
    p.ftype = f;
    p.nthreads = 2;
    lq_imatrix *im = NULL;
    struct lq_error err;
    assert_int_equal(lq_imatrix_load(lqt_data_path(REF "imatrix.gguf"), &im, &err), LQ_OK);
    p.imatrix = im;
    lq_status s = lq_convert_run(src, out, &p, NULL, &err);
    lq_imatrix_free(im);
    if (s != LQ_OK) {
        snprintf(msg, cap, "%s: %s", lq_ftype_name(f), err.msg);
        return false;
    }
    lq_gguf *g = NULL;
    assert_int_equal(lq_gguf_open(out, &g, &err), LQ_OK);
    uint64_t ft = 0;
    assert_int_equal(lq_gguf_get_u64(g, "general.file_type", &ft, NULL), LQ_OK);
    assert_int_equal(ft, json_integer_value(json_object_get(json_object_get(doc, "metadata"),
                                                            "general.file_type")));
    assert_int_equal((size_t)lq_gguf_n_tensors(g),
                     json_array_size(json_object_get(doc, "tensors")));
    for (int64_t i = 0; i < lq_gguf_n_tensors(g); i++) {
        const struct lq_gguf_tensor_info *t = lq_gguf_tensor(g, i);
        json_t *rt = ref_tensor(doc, t->name);
        assert_non_null(rt);
        json_t *shape = json_object_get(rt, "shape");
        for (size_t d = 0; d < json_array_size(shape); d++) {
            assert_int_equal(t->ne[d], json_integer_value(json_array_get(shape, d)));
        }
        char hash[17];
        snprintf(hash, sizeof hash, "%016llx", (unsigned long long)XXH3_64bits(t->data, t->nbytes));
        const char *want_type = json_string_value(json_object_get(rt, "type"));
        const char *want_hash = json_string_value(json_object_get(rt, "xxh3"));
        if (strcasecmp(lq_type_name(t->type), want_type) != 0 || strcmp(hash, want_hash) != 0) {
            snprintf(msg, cap, "%s: %s is %s %s, llama.cpp wrote %s %s", lq_ftype_name(f), t->name,
                     lq_type_name(t->type), hash, want_type, want_hash);
            lq_gguf_free(g);
            return false;
        }
    }
    lq_gguf_free(g);
    remove(out);
    return true;
}

static void test_iq_ftypes_plan(void **state)
{
    (void)state;
    enum lq_ftype all[64];
    size_t n = lq_ftype_list(all, 64);
    lq_source *src = open_f16();
    int checked = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_iq_ftype(all[i])) {
            json_t *doc = load_ref_json(all[i]);
            check_plan(all[i], doc, src);
            json_decref(doc);
            checked++;
        }
    }
    lq_source_free(src);
    assert_int_equal(checked, 14); /* the list: IQ4_XS .. IQ1_S, TQ1_0, TQ2_0 */
}

/* Sanitizer builds quantize the whole model to one file type of each quantizer family (the
 * grids of IQ1, IQ2 and IQ3, the ternary types); every block type's quantizer also runs there
 * on the reference vectors of test_quants. Optimised builds check all 14. */
static bool checked_in_this_build(enum lq_ftype f)
{
    static const char *const subset[] = { "IQ1_M", "IQ2_XS", "IQ3_S", "TQ2_0" };
    for (size_t i = 0; i < sizeof subset / sizeof subset[0]; i++) {
        if (strcmp(lq_ftype_name(f), subset[i]) == 0) {
            return true;
        }
    }
    return LQT_FULL_RUN;
}

static void test_iq_ftypes_bytes(void **state)
{
    (void)state;
    enum lq_ftype all[64];
    size_t n = lq_ftype_list(all, 64);
    lq_source *src = open_f16();
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_iq_ftype(all[i]) && checked_in_this_build(all[i])) {
            json_t *doc = load_ref_json(all[i]);
            char msg[1024];
            if (check_bytes(all[i], doc, src, msg, sizeof msg)) {
                print_message("%s: every tensor as llama-quantize's\n", lq_ftype_name(all[i]));
            } else {
                print_message("FAIL %s\n", msg);
                failed++;
            }
            json_decref(doc);
        }
    }
    lq_source_free(src);
    if (failed) {
        fail_msg("%d file types differ from llama-quantize's (listed above)", failed);
    }
}

/* Without an imatrix the file types that need one are refused before anything is written,
 * with a message naming them and `quant imatrix`; the others plan fine. */
static void test_refused_without_imatrix(void **state)
{
    (void)state;
    enum lq_ftype all[64];
    size_t n = lq_ftype_list(all, 64);
    lq_source *src = open_f16();
    enum lq_type *types = calloc((size_t)lq_source_n_tensors(src), sizeof *types);
    int refused = 0;
    for (size_t i = 0; i < n; i++) {
        struct lq_convert_params p = lq_convert_params_default();
        p.ftype = all[i];
        struct lq_error err;
        lq_status s = lq_convert_plan(src, &p, types, NULL, &err);
        if (lq_ftype_needs_imatrix(all[i])) {
            assert_int_equal(s, LQ_E_INVALID_ARG);
            assert_non_null(strstr(err.msg, "quant imatrix"));
            assert_non_null(strstr(err.msg, lq_ftype_name(all[i])));
            assert_non_null(strstr(err.msg, "IQ2_XXS, "));
            refused++;
        } else {
            assert_int_not_equal(s, LQ_E_INVALID_ARG);
        }
    }
    /* llama-quantize refuses Q2_K_S, IQ3_XS, IQ3_XXS, IQ2_M, IQ2_S, IQ2_XS, IQ2_XXS, IQ1_M
     * and IQ1_S on this model (the tensor types of its rules, tensor_requires_imatrix) */
    assert_int_equal(refused, 9);
    free(types);
    lq_source_free(src);
}

/* MXFP4_MOE on tiny-mixtral (Hugging Face folder): stacked experts MXFP4, the output head
 * and every other quantized tensor Q8_0, norms and the router as they are (F32). */
static void test_mxfp4_moe_plan(void **state)
{
    (void)state;
    lq_source *src = NULL;
    struct lq_error err;
    if (lq_source_open(lqt_data_path("models/tiny-mixtral"), &src, &err) != LQ_OK) {
        fail_msg("open tiny-mixtral: %s", err.msg);
    }
    int64_t n = lq_source_n_tensors(src);
    enum lq_type *types = calloc((size_t)n, sizeof *types);
    struct lq_convert_params p = lq_convert_params_default();
    assert_int_equal(lq_ftype_from_name("MXFP4_MOE", &p.ftype, NULL), LQ_OK);
    assert_int_equal(lq_convert_plan(src, &p, types, NULL, &err), LQ_OK);
    int n_mxfp4 = 0, n_q8 = 0;
    for (int64_t i = 0; i < n; i++) {
        const struct lq_source_tensor *t = lq_source_tensor(src, i);
        enum lq_type want = LQ_TYPE_Q8_0;
        if (t->n_dims == 1 || strstr(t->name, "ffn_gate_inp")) {
            want = LQ_TYPE_F32;
        } else if (t->n_dims >= 3 && t->ne[2] > 1) {
            want = LQ_TYPE_MXFP4;
        }
        if (types[i] != want) {
            fail_msg("%s: %s, expected %s", t->name, lq_type_name(types[i]), lq_type_name(want));
        }
        n_mxfp4 += want == LQ_TYPE_MXFP4;
        n_q8 += want == LQ_TYPE_Q8_0;
    }
    assert_true(n_mxfp4 >= 3 && n_q8 >= 3);
    assert_int_equal(types[lq_source_find_tensor(src, "output.weight")], LQ_TYPE_Q8_0);
    free(types);
    lq_source_free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iq_ftypes_plan),
        cmocka_unit_test(test_refused_without_imatrix),
        cmocka_unit_test(test_iq_ftypes_bytes),
        cmocka_unit_test(test_mxfp4_moe_plan),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
