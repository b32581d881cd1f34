/* test_family_config.c - the family table at the command line: `quant inspect` of a folder
 * says its family before anything is written; an architecture the table does not know is
 * refused (exit 3) with the list of supported families; the source validator checks each
 * family's own keys and shapes (Phi-3's fused tensors, longrope factors, Qwen2's biases,
 * Qwen3's q/k norms) and refuses contradictions with exit 3, naming file, key and values. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/family.h"
#include "lq/gguf.h"
#include "lq/gguf_writer.h"
#include "lq/source.h"
#include "lqt_craft.h"
#include "lqt_hostile.h"
#include "lqt_run.h"
#include "lqt_util.h"

static void test_table_lookups(void **state)
{
    (void)state;
    const struct lq_family *q2 = lq_family_by_hf("Qwen2ForCausalLM", "llama");
    assert_non_null(q2);
    assert_string_equal(q2->gguf_arch, "qwen2"); /* architectures[0] decides */
    assert_ptr_equal(lq_family_by_hf(NULL, "phi3"), lq_family_by_gguf_arch("phi3"));
    assert_ptr_equal(lq_family_by_hf("MistralForCausalLM", NULL), lq_family_by_gguf_arch("llama"));
    assert_ptr_equal(lq_family_by_hf("Gemma2ForCausalLM", "gemma2"), lq_family_by_gguf_arch("gemma2"));
    assert_ptr_equal(lq_family_by_hf(NULL, "gemma3_text"), lq_family_by_gguf_arch("gemma3"));
    assert_null(lq_family_by_hf("FalconForCausalLM", "llama")); /* no fallback past a name */
    assert_null(lq_family_by_gguf_arch("falcon"));
    /* rotary layout: only Llama's q/k rows are permuted */
    for (size_t i = 0; i < lq_family_count(); i++) {
        const struct lq_family *f = lq_family_at(i);
        const struct lq_family_tensor *q = lq_family_find_layer_tensor(f, "self_attn.q_proj.weight");
        const bool permuted = q && (q->flags & LQ_FT_PERMUTE_Q);
        assert_int_equal(permuted, f->traits.rope_style == LQ_ROPE_NORMAL);
    }
    struct lq_family_tensor_map m;
    assert_int_equal(lq_family_map_hf_name(lq_family_by_gguf_arch("phi3"),
                                           "model.layers.11.mlp.gate_up_proj.weight", 32, 32,
                                           &m, NULL),
                     LQ_OK);
    assert_string_equal(m.gguf_name, "blk.11.ffn_up.weight");
    assert_int_equal(m.permute_heads, 0);
    assert_int_equal(lq_family_map_hf_name(lq_family_by_gguf_arch("llama"),
                                           "model.layers.0.self_attn.k_proj.weight", 32, 8, &m,
                                           NULL),
                     LQ_OK);
    assert_int_equal(m.permute_heads, 8);
    assert_int_equal(lq_family_map_hf_name(lq_family_by_gguf_arch("qwen2"),
                                           "model.layers.0.self_attn.q_norm.weight", 4, 2, &m,
                                           NULL),
                     LQ_E_UNSUPPORTED);
    char list[512];
    lq_family_list(list, sizeof list);
    assert_string_equal(list, "llama (LlamaForCausalLM, MistralForCausalLM, MixtralForCausalLM), qwen2 "
                              "(Qwen2ForCausalLM), qwen3 (Qwen3ForCausalLM), qwen3moe (Qwen3MoeForCausalLM), "
                              "phi3 (Phi3ForCausalLM), gemma2 (Gemma2ForCausalLM), gemma3 (Gemma3ForCausalLM)");
}

static void test_inspect_shows_family(void **state)
{
    (void)state;
    static const char *const want[][2] = {
        { "models/tiny-qwen2", "family:        qwen2 (Qwen2 / Qwen2.5; GGUF architecture qwen2)" },
        { "models/tiny-qwen3", "family:        qwen3 (Qwen3; GGUF architecture qwen3)" },
        { "models/tiny-phi3-longrope", "family:        phi3 (" },
        { "models/tiny-llama-6L", "family:        llama (Llama / Mistral / Mixtral; GGUF architecture llama)" },
        { "models/tiny-gemma2", "family:        gemma2 (Gemma 2; GGUF architecture gemma2)" },
        { "reference/llama.cpp/tiny-llama-6L/f16.gguf", "family:        llama (" },
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const char *args[] = { "inspect", "--no-tensors", lqt_data_path(want[i][0]), NULL };
        struct lqt_run r = lqt_run_quant(args, NULL);
        lqt_expect_exit(&r, args, 0, NULL);
        if (!strstr(r.out, want[i][1])) {
            fail_msg("inspect %s: no '%s' in:\n%s", want[i][0], want[i][1], r.out);
        }
        lqt_run_free(&r);
    }
    const char *args[] = { "inspect", "--json", "--no-tensors",
                           lqt_data_path("models/tiny-phi3"), NULL };
    struct lqt_run r = lqt_run_quant(args, NULL);
    lqt_expect_exit(&r, args, 0, NULL);
    assert_non_null(strstr(r.out, "\"family\": \"phi3\""));
    lqt_run_free(&r);
}

/* general.* of models/tiny-qwen2 copied under another folder name, as llama.cpp's
 * gguf-py/gguf/metadata.py derives them (expectations worked out by hand from its rules and
 * confirmed by running its get_model_id_components and id_to_title, llama.cpp commit
 * 34af94c; a NULL value: the key is absent). 6.8 M parameters: a size label far from that is a context
 * length or a fine-tune, not the size. */
static void test_names_from_folder(void **state)
{
    (void)state;
    static const char *const cases[][5] = {
        /* folder, name, basename, finetune, size_label */
        { "Qwen2.5-0.5B-Instruct", "Qwen2.5 0.5B Instruct", "Qwen2.5", "0.5b-Instruct", "6.8M" },
        { "Meta-Llama-3.1-8B-Instruct", "Meta Llama 3.1 8B Instruct", "Meta-Llama-3.1",
          "8b-Instruct", "6.8M" },
        { "tiny-llama-6L", "Tiny Llama 6L", "tiny-llama", "6L", "6.8M" },
        { "tiny-qwen2-7M-chat", "Tiny Qwen2 7M Chat", "tiny-qwen2", "chat", "7M" },
        { "bloom-7b1", "Bloom 7b1", "bloom", "7.1b", "6.8M" },
        { "qwen2", "Qwen2", NULL, NULL, "6.8M" },
    };
    static const char *const keys[] = { "general.name", "general.basename", "general.finetune",
                                        "general.size_label" };
    char *tmp = lqt_tmpdir();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", tmp, cases[i][0]);
        lqt_system("mkdir -p '%s'", dir);
        lqt_craft_model(dir, "tiny-qwen2", NULL);
        lq_source *src = NULL;
        lq_gguf_writer *w = NULL;
        lq_gguf *g = NULL;
        size_t n = 0;
        assert_int_equal(lq_source_open(dir, &src, NULL), LQ_OK);
        assert_int_equal(lq_gguf_writer_open_memory(&w, NULL), LQ_OK);
        assert_int_equal(lq_source_write_metadata(src, w, NULL), LQ_OK);
        assert_int_equal(lq_gguf_writer_header_bytes(w, NULL, 0, &n, NULL), LQ_OK);
        void *buf = malloc(n);
        assert_int_equal(lq_gguf_writer_header_bytes(w, buf, n, &n, NULL), LQ_OK);
        assert_int_equal(lq_gguf_open_memory(buf, n, dir, &g, NULL), LQ_OK);
        for (size_t k = 0; k < 4; k++) {
            const char *got = NULL;
            lq_gguf_get_str(g, keys[k], &got, NULL);
            const char *want = cases[i][k + 1];
            if (want ? !got || strcmp(got, want) != 0 : got != NULL) {
                fail_msg("%s: %s is '%s', llama.cpp writes '%s'", cases[i][0], keys[k],
                         got ? got : "(absent)", want ? want : "(absent)");
            }
        }
        lq_gguf_free(g);
        free(buf);
        lq_gguf_writer_free(w);
        lq_source_free(src);
    }
    lqt_rmtree(tmp);
    free(tmp);
}

// ---- refused folders ------------------------------------------------------------------------

/* models/<model> copied to dir/m with config.json patched; args: convert it to F16. */
static void folder(const char *dir, const char **args, char *buf, const char *model,
                   const char *patch)
{
    const char *m = lqt_hostile_str(buf, "%s/m", dir);
    lqt_system("mkdir -p '%s'", m);
    lqt_craft_model(m, model, patch);
    args[0] = "convert";
    args[1] = m;
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
    args[4] = "--quiet";
}

#define CASE(fn, model, patch)                                                                     \
    static void fn(const char *dir, const char **args, char *buf)                                  \
    {                                                                                              \
        folder(dir, args, buf, model, patch);                                                      \
    }

/* A longrope rope_scaling with n long and n short factors (the first long one `first`). */
static const char *longrope(int n, const char *first)
{
    static char buf[4096];
    size_t k = (size_t)snprintf(buf, sizeof buf, "{\"rope_scaling\": {\"type\": \"longrope\", "
                                                 "\"long_factor\": [%s", first);
    for (int i = 1; i < n; i++) {
        k += (size_t)snprintf(buf + k, sizeof buf - k, ", 2.0");
    }
    k += (size_t)snprintf(buf + k, sizeof buf - k, "], \"short_factor\": [1.0");
    for (int i = 1; i < n; i++) {
        k += (size_t)snprintf(buf + k, sizeof buf - k, ", 1.0");
    }
    snprintf(buf + k, sizeof buf - k, "]}}");
    return buf;
}

CASE(falcon_refused, "tiny-qwen2", "{\"architectures\": [\"FalconForCausalLM\"], \"model_type\": \"falcon\"}")
CASE(unknown_model_type, "tiny-llama-6L",
     "{\"architectures\": null, \"model_type\": \"starcoder2\"}")
CASE(llama_declared_qwen2, "tiny-llama-6L", "{\"architectures\": [\"Qwen2ForCausalLM\"]}")
CASE(qwen3_declared_qwen2, "tiny-qwen3", "{\"architectures\": [\"Qwen2ForCausalLM\"]}")
CASE(qwen2_declared_qwen3, "tiny-qwen2", "{\"architectures\": [\"Qwen3ForCausalLM\"]}")
CASE(qwen2_llama3_scaling, "tiny-qwen2",
     "{\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}}")
CASE(qwen3_head_dim, "tiny-qwen3", "{\"head_dim\": 32}")
CASE(phi3_qkv_rows, "tiny-phi3", "{\"num_key_value_heads\": 4}")
CASE(phi3_ff, "tiny-phi3", "{\"intermediate_size\": 1536}")
CASE(phi3_no_original_ctx, "tiny-phi3", "{\"original_max_position_embeddings\": null}")
CASE(phi3_original_ctx_negative, "tiny-phi3", "{\"original_max_position_embeddings\": -4}")
CASE(phi3_partial_rotary, "tiny-phi3", "{\"partial_rotary_factor\": 1.5}")
CASE(phi3_sliding_window_negative, "tiny-phi3", "{\"sliding_window\": -1}")
CASE(phi3_yarn, "tiny-phi3", "{\"rope_scaling\": {\"type\": \"yarn\", \"factor\": 4.0}}")

static void longrope_short_list(const char *dir, const char **args, char *buf)
{
    folder(dir, args, buf, "tiny-phi3-longrope", longrope(31, "2.0"));
}

static void longrope_negative(const char *dir, const char **args, char *buf)
{
    folder(dir, args, buf, "tiny-phi3-longrope", longrope(32, "-2.0"));
}

static void longrope_beyond_float(const char *dir, const char **args, char *buf)
{
    folder(dir, args, buf, "tiny-phi3-longrope", longrope(32, "1e39"));
}

static void longrope_no_short(const char *dir, const char **args, char *buf)
{
    folder(dir, args, buf, "tiny-phi3-longrope",
           "{\"rope_scaling\": {\"type\": \"longrope\", \"long_factor\": [1, 2]}}");
}

static const struct lqt_hostile_case cases[] = {
    { "family/falcon-refused", falcon_refused, 3,
      "architecture 'FalconForCausalLM' (model_type 'falcon') is not supported; "
      "supported families: llama (LlamaForCausalLM, MistralForCausalLM, "
      "MixtralForCausalLM), qwen2 (Qwen2ForCausalLM), qwen3 (Qwen3ForCausalLM), "
      "qwen3moe (Qwen3MoeForCausalLM), phi3 (Phi3ForCausalLM), gemma2 "
      "(Gemma2ForCausalLM), gemma3 (Gemma3ForCausalLM)", 0 },
    { "family/unknown-model-type", unknown_model_type, 3, "model_type 'starcoder2'", 0 },
    { "family/llama-as-qwen2", llama_declared_qwen2, 3,
      "layer 0 has no attn_q.bias (num_hidden_layers is 6; a qwen2 model has it", 0 },
    { "family/qwen3-as-qwen2", qwen3_declared_qwen2, 3,
      "tensor 'model.layers.0.self_attn.k_norm.weight': not part of the qwen2 layout", 0 },
    { "family/qwen2-as-qwen3", qwen2_declared_qwen3, 3,
      "tensor 'model.layers.0.self_attn.k_proj.bias': not part of the qwen3 layout", 0 },
    { "family/qwen2-llama3-scaling", qwen2_llama3_scaling, 3,
      "rope scaling 'llama3' is not supported for qwen2 models", 0 },
    { "family/qwen3-head-dim", qwen3_head_dim, 3,
      "head_dim is 32 but tensor 'model.layers.0.self_attn.k_norm.weight' has rows of 64", 0 },
    { "family/phi3-qkv-rows", phi3_qkv_rows, 3,
      "(num_attention_heads + 2 x num_key_value_heads) x head_dim is 768 but tensor "
      "'model.layers.0.self_attn.qkv_proj.weight' has 512 rows", 0 },
    { "family/phi3-ff", phi3_ff, 3,
      "intermediate_size is 1536 but tensor 'model.layers.0.mlp.down_proj.weight' has rows of "
      "768", 0 },
    { "family/phi3-no-original-ctx", phi3_no_original_ctx, 3,
      "original_max_position_embeddings is missing (phi3 needs it)", 0 },
    { "family/phi3-original-ctx-negative", phi3_original_ctx_negative, 3,
      "original_max_position_embeddings is -4", 0 },
    { "family/phi3-partial-rotary", phi3_partial_rotary, 3,
      "partial_rotary_factor is 1.5: must be in (0, 1]", 0 },
    { "family/phi3-sliding-window-negative", phi3_sliding_window_negative, 3,
      "sliding_window is -1: must be 0 .. 4294967295", 0 },
    { "family/phi3-yarn", phi3_yarn, 3, "rope scaling 'yarn' is not supported for phi3 models",
      0 },
    { "family/longrope-31-factors", longrope_short_list, 3,
      "rope_scaling.long_factor has 31 factors, the rotary dimensions 64 need 32", 0 },
    { "family/longrope-negative", longrope_negative, 3,
      "rope_scaling.long_factor.0 is -2: must be finite, > 0", 0 },
    { "family/longrope-beyond-float", longrope_beyond_float, 3,
      "rope_scaling.long_factor.0 is 1e+39: must be finite, > 0 and within float32 range", 0 },
    { "family/longrope-no-short", longrope_no_short, 3, "rope_scaling.long_factor has 2 factors",
      0 },
};

static void test_refused_folders(void **state)
{
    (void)state;
    lqt_hostile_run(cases, sizeof cases / sizeof cases[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_lookups),
        cmocka_unit_test(test_inspect_shows_family),
        cmocka_unit_test(test_names_from_folder),
        cmocka_unit_test(test_refused_folders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
