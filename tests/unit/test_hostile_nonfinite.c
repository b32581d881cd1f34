/* test_hostile_nonfinite.c - issue 11 class 1: NaN/Inf must not reach an output. Every tensor
 * written (converted, copied as stored, kept F32, generated) is checked, the error names the
 * tensor and its row and column as in the source file (q/k rows before the rotary
 * permutation), --allow-nonfinite lets them through, and eval stops on a non-finite logit
 * naming the chunk and position. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lqt_craft.h"
#include "lqt_hostile.h"
#include "lqt_util.h"

// ---- inputs ---------------------------------------------------------------------------------

/* The tiny Llama folder in dir/m, its weights as dtype, one value set; args: convert to type
 * (NULL: the default F16). */
static void folder_case(const char *dir, const char **args, char *buf, const char *dtype,
                        const char *tensor, int64_t row, int64_t col, float v, const char *type)
{
    const char *m = lqt_hostile_str(buf, "%s/m", dir);
    lqt_system("mkdir -p '%s'", m);
    lqt_craft_tiny_llama(m, NULL);
    const char *st = lqt_hostile_str(buf, "%s/model.safetensors", m);
    if (strcmp(dtype, "BF16") != 0) {
        lqt_craft_st_retype(st, dtype);
    }
    lqt_craft_set_value(st, tensor, row, col, v);
    int a = 0;
    args[a++] = "convert";
    args[a++] = m;
    args[a++] = "-o";
    args[a++] = lqt_hostile_str(buf, "%s/out.gguf", dir);
    if (type) {
        args[a++] = "-t";
        args[a++] = type;
    }
    args[a++] = "--quiet";
}

static void f16_folder_nan_default(const char *dir, const char **args, char *buf)
{
    folder_case(dir, args, buf, "F16", "model.layers.2.mlp.up_proj.weight", 10, 3, NAN, NULL);
}

static void f16_folder_k_row(const char *dir, const char **args, char *buf)
{
    /* HF row 33 of k_proj (2 KV heads of 64 rows) is GGUF row 3 after the permutation */
    folder_case(dir, args, buf, "F16", "model.layers.1.self_attn.k_proj.weight", 33, 2, INFINITY,
                NULL);
}

static void bf16_folder_q_row(const char *dir, const char **args, char *buf)
{
    /* HF row 1 of q_proj is GGUF row 2: the message must say row 1 */
    folder_case(dir, args, buf, "BF16", "model.layers.0.self_attn.q_proj.weight", 1, 7, NAN,
                "Q8_0");
}

static void bf16_folder_pinf_f32(const char *dir, const char **args, char *buf)
{
    folder_case(dir, args, buf, "BF16", "model.layers.3.mlp.down_proj.weight", 100, 700, INFINITY,
                "F32");
}

static void bf16_folder_ninf_q8_0(const char *dir, const char **args, char *buf)
{
    folder_case(dir, args, buf, "BF16", "model.layers.4.self_attn.v_proj.weight", 5, 6, -INFINITY,
                "Q8_0");
}

static void bf16_folder_nan_q4_k_m(const char *dir, const char **args, char *buf)
{
    folder_case(dir, args, buf, "BF16", "lm_head.weight", 4000, 255, NAN, "Q4_K_M");
}

static void bf16_norm_nan_q4_k_m(const char *dir, const char **args, char *buf)
{
    folder_case(dir, args, buf, "BF16", "model.layers.5.input_layernorm.weight", 0, 17, NAN,
                "Q4_K_M");
}

static void f32_folder_norm_nan_f16(const char *dir, const char **args, char *buf)
{
    folder_case(dir, args, buf, "F32", "model.norm.weight", 0, 9, NAN, NULL);
}

static void bf16_overflow_f16(const char *dir, const char **args, char *buf)
{
    /* finite in BF16, beyond F16's range: the written F16 would be Inf */
    folder_case(dir, args, buf, "BF16", "model.layers.0.mlp.gate_proj.weight", 20, 30, 1e10f, NULL);
}

static void allow_nonfinite(const char *dir, const char **args, char *buf)
{
    folder_case(dir, args, buf, "F16", "model.layers.2.mlp.up_proj.weight", 10, 3, NAN, NULL);
    args[5] = "--allow-nonfinite";
}

/* llama.cpp's F16 conversion of the tiny model with one value set; args: quantize to type. */
static void gguf_case(const char *dir, const char **args, char *buf, const char *tensor,
                      int64_t row, int64_t col, float v, const char *type)
{
    const char *in = lqt_hostile_str(buf, "%s/in.gguf", dir);
    lqt_craft_copy_file(lqt_data_path("reference/llama.cpp/tiny-llama-6L/f16.gguf"), in);
    lqt_craft_set_value(in, tensor, row, col, v);
    args[0] = "quantize";
    args[1] = in;
    args[2] = lqt_hostile_str(buf, "%s/out.gguf", dir);
    args[3] = type;
}

static void gguf_f16_nan_f16(const char *dir, const char **args, char *buf)
{
    gguf_case(dir, args, buf, "blk.1.ffn_down.weight", 4, 9, NAN, "F16");
}

static void gguf_f16_inf_q4_0(const char *dir, const char **args, char *buf)
{
    gguf_case(dir, args, buf, "blk.2.attn_q.weight", 8, 1, INFINITY, "Q4_0");
}

static void gguf_f32_norm_inf_q4_0(const char *dir, const char **args, char *buf)
{
    /* norms stay F32 in every recipe: copied as stored, still checked */
    gguf_case(dir, args, buf, "blk.0.attn_norm.weight", 0, 12, -INFINITY, "Q4_0");
}

static void rope_case(const char *dir, const char **args, char *buf, const char *scaling)
{
    const char *m = lqt_hostile_str(buf, "%s/m", dir);
    lqt_system("mkdir -p '%s'", m);
    char patch[512];
    snprintf(patch, sizeof patch, "{\"rope_scaling\": %s}", scaling);
    lqt_craft_tiny_llama(m, patch);
    args[0] = "convert";
    args[1] = m;
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

static void rope_factor_0(const char *dir, const char **args, char *buf)
{
    rope_case(dir, args, buf,
              "{\"rope_type\": \"llama3\", \"factor\": 0, \"low_freq_factor\": 1, "
              "\"high_freq_factor\": 4, \"original_max_position_embeddings\": 256}");
}

static void rope_orig_ctx_0(const char *dir, const char **args, char *buf)
{
    rope_case(dir, args, buf,
              "{\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 1, "
              "\"high_freq_factor\": 4, \"original_max_position_embeddings\": 0}");
}

static void rope_equal_freq_factors(const char *dir, const char **args, char *buf)
{
    rope_case(dir, args, buf,
              "{\"rope_type\": \"llama3\", \"factor\": 8, \"low_freq_factor\": 2, "
              "\"high_freq_factor\": 2, \"original_max_position_embeddings\": 256}");
}

static void rope_linear_factor_negative(const char *dir, const char **args, char *buf)
{
    rope_case(dir, args, buf, "{\"type\": \"linear\", \"factor\": -2}");
}

/* eval reads the folder as it is: a NaN in the final norm makes every logit NaN. */
static void eval_nan_logits(const char *dir, const char **args, char *buf)
{
    folder_case(dir, args, buf, "BF16", "model.norm.weight", 0, 0, NAN, NULL);
    args[0] = "eval";
    args[2] = "--text";
    args[3] = lqt_data_path("text/heldout-A.txt");
    args[4] = "--ctx";
    args[5] = "64";
    args[6] = "--chunks";
    args[7] = "2";
}

static void eval_compare_nan_logits(const char *dir, const char **args, char *buf)
{
    /* the base's logits come from the intact model */
    const char *good = lqt_hostile_str(buf, "%s/good", dir);
    const char *base = lqt_hostile_str(buf, "%s/base.logits", dir);
    lqt_system("mkdir -p '%s'", good);
    lqt_craft_tiny_llama(good, NULL);
    assert_int_equal(lqt_system("'%s' eval '%s' --text '%s' --ctx 64 --chunks 2 --save-logits "
                                "'%s' >/dev/null 2>&1",
                                LQ_QUANT_BIN, good, lqt_data_path("text/heldout-A.txt"), base),
                     0);
    eval_nan_logits(dir, args, buf);
    args[2] = "--compare";
    args[3] = base;
    args[4] = NULL;
}

static void generate_nan_logits(const char *dir, const char **args, char *buf)
{
    folder_case(dir, args, buf, "BF16", "model.norm.weight", 0, 0, NAN, NULL);
    args[0] = "generate";
    args[2] = "-p";
    args[3] = "Once upon a time";
    args[4] = "-n";
    args[5] = "4";
    args[6] = NULL;
}

/* imatrix collects activations, not logits: a NaN early in the model reaches its sums */
static void imatrix_nan_activations(const char *dir, const char **args, char *buf)
{
    folder_case(dir, args, buf, "BF16", "model.layers.0.input_layernorm.weight", 0, 3, NAN, NULL);
    args[0] = "imatrix";
    args[2] = "--calib";
    args[3] = lqt_data_path("text/calib-A.txt");
    args[4] = "--ctx";
    args[5] = "64";
    args[6] = "--chunks";
    args[7] = "2";
    args[8] = "-o";
    args[9] = lqt_hostile_str(buf, "%s/im.gguf", dir);
}

static const struct lqt_hostile_case cases[] = {
    {"nonfinite/f16-folder-nan-default-f16", f16_folder_nan_default, 3,
     "mlp.up_proj.weight' (GGUF 'blk.2.ffn_up.weight'): NaN at row 10, column 3", 120},
    {"nonfinite/f16-folder-k-row-is-source-row", f16_folder_k_row, 3,
     "self_attn.k_proj.weight' (GGUF 'blk.1.attn_k.weight'): +Inf at row 33, column 2", 120},
    {"nonfinite/bf16-folder-q-row-is-source-row", bf16_folder_q_row, 3,
     "self_attn.q_proj.weight' (GGUF 'blk.0.attn_q.weight'): NaN at row 1, column 7", 120},
    {"nonfinite/bf16-folder-pinf-f32", bf16_folder_pinf_f32, 3, "+Inf at row 100, column 700", 0},
    {"nonfinite/bf16-folder-ninf-q8_0", bf16_folder_ninf_q8_0, 3, "-Inf at row 5, column 6", 120},
    {"nonfinite/bf16-folder-nan-q4_k_m", bf16_folder_nan_q4_k_m, 3,
     "lm_head.weight' (GGUF 'output.weight'): NaN at row 4000, column 255", 120},
    {"nonfinite/bf16-norm-kept-f32-nan", bf16_norm_nan_q4_k_m, 3,
     "input_layernorm.weight' (GGUF 'blk.5.attn_norm.weight'): NaN at row 0, column 17", 120},
    {"nonfinite/f32-folder-norm-copied-nan", f32_folder_norm_nan_f16, 3,
     "model.norm.weight' (GGUF 'output_norm.weight'): NaN at row 0, column 9", 120},
    {"nonfinite/bf16-overflows-f16", bf16_overflow_f16, 3,
     "at row 20, column 30: too large for f16", 120},
    {"nonfinite/allow-nonfinite-lets-it-through", allow_nonfinite, 0, NULL, 120},
    {"nonfinite/gguf-f16-nan-copied-f16", gguf_f16_nan_f16, 3,
     "in.gguf: tensor 'blk.1.ffn_down.weight': NaN at row 4, column 9", 120},
    {"nonfinite/gguf-f16-inf-q4_0", gguf_f16_inf_q4_0, 3,
     "tensor 'blk.2.attn_q.weight': +Inf at row 8, column 1", 120},
    {"nonfinite/gguf-f32-norm-kept-f32-inf", gguf_f32_norm_inf_q4_0, 3,
     "tensor 'blk.0.attn_norm.weight': -Inf at row 0, column 12", 120},
    {"nonfinite/rope-scaling-factor-0", rope_factor_0, 3, "config.json: rope_scaling.factor is 0",
     120},
    {"nonfinite/rope-scaling-original-context-0", rope_orig_ctx_0, 3,
     "config.json: rope_scaling.original_max_position_embeddings is 0", 120},
    {"nonfinite/rope-scaling-equal-freq-factors", rope_equal_freq_factors, 3,
     "rope_scaling.high_freq_factor 2 must exceed low_freq_factor 2", 120},
    {"nonfinite/rope-scaling-linear-factor-negative", rope_linear_factor_negative, 3,
     "config.json: rope_scaling.factor is -2", 120},
    {"nonfinite/eval-nan-logits", eval_nan_logits, 3, "chunk 1 of 2: ", 120},
    {"nonfinite/eval-compare-nan-logits", eval_compare_nan_logits, 3, "at position", 120},
    {"nonfinite/generate-nan-logits", generate_nan_logits, 3, "is NaN", 120},
    {"nonfinite/imatrix-nan-activations", imatrix_nan_activations, 3,
     "imatrix: the activations of 'blk.0.", 120},
};

static void test_hostile_nonfinite_refused(void **state)
{
    (void)state;
    lqt_hostile_run(cases, sizeof cases / sizeof cases[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_nonfinite_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
