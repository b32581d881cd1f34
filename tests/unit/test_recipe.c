/* test_recipe.c - file-type names and the per-tensor type rules, checked against the types
 * llama-quantize chose in the reference files (reference/llama.cpp/tiny-llama-6L/<type>.gguf). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/gguf.h"
#include "lq/recipe.h"
#include "lqt_util.h"

static void test_ftype_names(void **state)
{
    (void)state;
    enum lq_ftype f;
    assert_int_equal(lq_ftype_from_name("q4_k_m", &f, NULL), LQ_OK);
    assert_int_equal(f, LQ_FTYPE_MOSTLY_Q4_K_M);
    assert_int_equal(lq_ftype_from_name("Q4_K", &f, NULL), LQ_OK);
    assert_int_equal(f, LQ_FTYPE_MOSTLY_Q4_K_M);
    assert_int_equal(lq_ftype_from_name("bf16", &f, NULL), LQ_OK);
    assert_int_equal(f, LQ_FTYPE_MOSTLY_BF16);
    struct lq_error err;
    assert_int_equal(lq_ftype_from_name("q4_k_x", &f, &err), LQ_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "q4_k_x"));
    assert_string_equal(lq_ftype_name(LQ_FTYPE_MOSTLY_Q3_K_M), "Q3_K_M");
    assert_int_equal(lq_ftype_default_type(LQ_FTYPE_MOSTLY_Q5_K_S), LQ_TYPE_Q5_K);
    /* llama.cpp's numbers (general.file_type) and default types of the i-quant mixes */
    assert_int_equal(lq_ftype_from_name("iq4_xs", &f, NULL), LQ_OK);
    assert_int_equal(f, 30);
    assert_int_equal(lq_ftype_from_name("IQ3_M", &f, NULL), LQ_OK);
    assert_int_equal(f, 27);
    assert_int_equal(lq_ftype_default_type(f), LQ_TYPE_IQ3_S);
    assert_int_equal(lq_ftype_default_type(LQ_FTYPE_MOSTLY_IQ2_S), LQ_TYPE_IQ2_XS);
    assert_int_equal(lq_ftype_default_type(LQ_FTYPE_MOSTLY_TQ2_0), LQ_TYPE_TQ2_0);
    /* the lists printed by help texts come from the table: every name, aliases beside */
    enum lq_ftype all[64];
    size_t n = lq_ftype_list(all, 64);
    assert_true(n >= 32 && n <= 64);
    char names[2048], imat[1024];
    snprintf(names, sizeof names, ", %s,", lq_ftype_names());
    snprintf(imat, sizeof imat, ", %s,", lq_ftype_imatrix_names());
    for (size_t i = 0; i < n; i++) {
        char item[64], aliased[64];
        snprintf(item, sizeof item, ", %s,", lq_ftype_name(all[i]));
        snprintf(aliased, sizeof aliased, ", %s (", lq_ftype_name(all[i]));
        assert_true(strstr(names, item) || strstr(names, aliased));
        assert_true(lq_ftype_needs_imatrix(all[i]) == (strstr(imat, item) != NULL));
    }
    assert_non_null(strstr(lq_ftype_names(), "Q4_K_M (Q4_K)"));
    assert_string_equal(lq_ftype_imatrix_names(),
                        "Q2_K_S, IQ3_XS, IQ3_XXS, IQ2_M, IQ2_S, IQ2_XS, IQ2_XXS, IQ1_M, IQ1_S");
}

static void test_order_of_names(void **state)
{
    (void)state;
    assert_true(lq_recipe_compare_names("output.weight", "blk.0.attn_q.weight") < 0);
    assert_true(lq_recipe_compare_names("blk.2.ffn_up.weight", "blk.10.attn_q.weight") < 0);
    assert_true(lq_recipe_compare_names("blk.3.attn_q.weight", "blk.3.attn_k.weight") > 0);
}

/* Plans the recipe over f16.gguf's tensors and compares with the reference file's types. */
static void check_reference(const char *ftype_name, const char *file, bool imatrix)
{
    struct lq_error err;
    lq_gguf *src = NULL, *ref = NULL;
    const char *dir = "reference/llama.cpp/tiny-llama-6L/";
    char path[512];
    snprintf(path, sizeof path, "%sf16.gguf", dir);
    assert_int_equal(lq_gguf_open(lqt_data_path(path), &src, &err), LQ_OK);
    snprintf(path, sizeof path, "%s%s", dir, file);
    assert_int_equal(lq_gguf_open(lqt_data_path(path), &ref, &err), LQ_OK);

    int64_t n = lq_gguf_n_tensors(src);
    struct lq_recipe_tensor *ts = calloc((size_t)n, sizeof *ts);
    enum lq_type *types = calloc((size_t)n, sizeof *types);
    for (int64_t i = 0; i < n; i++) {
        const struct lq_gguf_tensor_info *ti = lq_gguf_tensor(src, i);
        ts[i] = (struct lq_recipe_tensor){ .name = ti->name, .n_dims = (int)ti->n_dims,
                                           .type = ti->type, .override_type = -1 };
        memcpy(ts[i].ne, ti->ne, sizeof ts[i].ne);
    }
    /* llama.cpp walks tensors in its loader's order */
    for (int64_t i = 1; i < n; i++) {
        for (int64_t j = i; j > 0 && lq_recipe_compare_names(ts[j - 1].name, ts[j].name) > 0; j--) {
            struct lq_recipe_tensor tmp = ts[j];
            ts[j] = ts[j - 1];
            ts[j - 1] = tmp;
        }
    }
    struct lq_recipe_params p = lq_recipe_params_default();
    assert_int_equal(lq_ftype_from_name(ftype_name, &p.ftype, NULL), LQ_OK);
    p.n_layer = 6;
    p.n_head = 4;
    p.n_head_kv = 2;
    p.has_imatrix = imatrix;
    assert_int_equal(lq_recipe_plan(&p, ts, (size_t)n, types, NULL, &err), LQ_OK);
    for (int64_t i = 0; i < n; i++) {
        int64_t id = lq_gguf_find_tensor(ref, ts[i].name);
        assert_true(id >= 0);
        if ((int)types[i] != (int)lq_gguf_tensor(ref, id)->type) {
            fail_msg("%s: %s planned %s, llama.cpp chose %s", ftype_name, ts[i].name,
                     lq_type_name(types[i]), lq_type_name(lq_gguf_tensor(ref, id)->type));
        }
    }
    free(types);
    free(ts);
    lq_gguf_free(ref);
    lq_gguf_free(src);
}

static void test_plan_matches_llama_cpp(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        { "Q8_0", "q8_0.gguf" },   { "Q4_0", "q4_0.gguf" },     { "Q4_1", "q4_1.gguf" },
        { "Q5_0", "q5_0.gguf" },   { "Q5_1", "q5_1.gguf" },     { "Q2_K", "q2_k.gguf" },
        { "Q3_K_M", "q3_k_m.gguf" }, { "Q4_K_S", "q4_k_s.gguf" }, { "Q4_K_M", "q4_k_m.gguf" },
        { "Q5_K_M", "q5_k_m.gguf" }, { "Q6_K", "q6_k.gguf" },
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        check_reference(pairs[i][0], pairs[i][1], false);
    }
    check_reference("Q4_K_M", "q4_k_m.imatrix.gguf", true);
}

static void test_fallback_for_odd_rows(void **state)
{
    (void)state;
    /* stories260K-like rows of 64 and 172: k-quants fall back, 172 is not even a multiple of
     * 32 so those tensors end in F16 */
    struct lq_recipe_tensor ts[] = {
        { "blk.0.attn_q.weight", 2, { 64, 64, 1, 1 }, LQ_TYPE_F32, -1 },
        { "blk.0.ffn_down.weight", 2, { 172, 64, 1, 1 }, LQ_TYPE_F32, -1 },
        { "blk.0.attn_norm.weight", 1, { 64, 1, 1, 1 }, LQ_TYPE_F32, -1 },
    };
    enum lq_type out[3];
    int nfb = 0;
    struct lq_recipe_params p = lq_recipe_params_default();
    p.ftype = LQ_FTYPE_MOSTLY_Q4_K_M;
    p.n_layer = 1;
    p.n_head = p.n_head_kv = 8;
    assert_int_equal(lq_recipe_plan(&p, ts, 3, out, &nfb, NULL), LQ_OK);
    assert_int_equal(out[0], LQ_TYPE_Q5_0);
    assert_int_equal(out[1], LQ_TYPE_F16);
    assert_int_equal(out[2], LQ_TYPE_F32);
    assert_int_equal(nfb, 2);
}

static void test_mxfp4_moe(void **state)
{
    (void)state;
    /* llama.cpp's MXFP4_MOE: stacked experts (ne[2] > 1) MXFP4, the output head, the router
     * and every other quantized tensor Q8_0, norms unquantized */
    struct lq_recipe_tensor moe[] = {
        { "token_embd.weight", 2, { 64, 256, 1, 1 }, LQ_TYPE_F16, -1 },
        { "output.weight", 2, { 64, 256, 1, 1 }, LQ_TYPE_F16, -1 },
        { "blk.0.attn_q.weight", 2, { 64, 64, 1, 1 }, LQ_TYPE_F16, -1 },
        { "blk.0.attn_v.weight", 2, { 64, 32, 1, 1 }, LQ_TYPE_F16, -1 },
        { "blk.0.ffn_gate_inp.weight", 2, { 64, 4, 1, 1 }, LQ_TYPE_F32, -1 },
        { "blk.0.ffn_down_exps.weight", 3, { 128, 64, 4, 1 }, LQ_TYPE_F16, -1 },
        { "blk.0.ffn_up_exps.weight", 3, { 64, 128, 4, 1 }, LQ_TYPE_F16, -1 },
        { "blk.0.attn_norm.weight", 1, { 64, 1, 1, 1 }, LQ_TYPE_F32, -1 },
    };
    const enum lq_type want[] = { LQ_TYPE_Q8_0, LQ_TYPE_Q8_0, LQ_TYPE_Q8_0, LQ_TYPE_Q8_0,
                                  LQ_TYPE_F32,  LQ_TYPE_MXFP4, LQ_TYPE_MXFP4, LQ_TYPE_F32 };
    enum lq_type out[8];
    enum lq_ftype f;
    assert_int_equal(lq_ftype_from_name("mxfp4_moe", &f, NULL), LQ_OK);
    assert_int_equal(f, 38);
    assert_int_equal(lq_ftype_default_type(f), LQ_TYPE_MXFP4);
    assert_false(lq_ftype_needs_imatrix(f));
    struct lq_recipe_params p = lq_recipe_params_default();
    p.ftype = f;
    p.n_layer = 1;
    p.n_head = p.n_head_kv = 8;
    p.n_expert = 4;
    assert_int_equal(lq_recipe_plan(&p, moe, 8, out, NULL, NULL), LQ_OK);
    for (size_t i = 0; i < 8; i++) {
        assert_int_equal(out[i], want[i]);
    }
    /* a dense model with tied embeddings: every quantized tensor Q8_0 */
    p.n_expert = 0;
    struct lq_recipe_tensor dense[] = { moe[0], moe[2], moe[3], moe[7] };
    dense[1].name = "blk.0.ffn_down.weight";
    assert_int_equal(lq_recipe_plan(&p, dense, 4, out, NULL, NULL), LQ_OK);
    assert_int_equal(out[0], LQ_TYPE_Q8_0);
    assert_int_equal(out[1], LQ_TYPE_Q8_0);
    assert_int_equal(out[2], LQ_TYPE_Q8_0);
    assert_int_equal(out[3], LQ_TYPE_F32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ftype_names),
        cmocka_unit_test(test_order_of_names),
        cmocka_unit_test(test_plan_matches_llama_cpp),
        cmocka_unit_test(test_fallback_for_odd_rows),
        cmocka_unit_test(test_mxfp4_moe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
