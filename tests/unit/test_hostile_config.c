/* test_hostile_config.c - issue 11 class 7: hyper-parameters that contradict themselves or the
 * tensors (config.json, GGUF metadata, tokenizer files) are refused with exit 3, the message
 * naming the file, the key and both values, instead of being written into a GGUF that eval or
 * llama.cpp would then misread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lqt_craft.h"
#include "lqt_hostile.h"
#include "lqt_util.h"

// ---- Hugging Face folders -------------------------------------------------------------------

/* The tiny Llama folder in dir/m with config.json patched; args: convert it to F16. */
static const char *folder(const char *dir, const char **args, char *buf, const char *patch)
{
    const char *m = lqt_hostile_str(buf, "%s/m", dir);
    lqt_system("mkdir -p '%s'", m);
    lqt_craft_tiny_llama(m, patch);
    args[0] = "convert";
    args[1] = m;
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
    args[4] = "--quiet";
    return m;
}

#define CONFIG_CASE(fn, patch)                                                                     \
    static void fn(const char *dir, const char **args, char *buf)                                  \
    {                                                                                              \
        folder(dir, args, buf, patch);                                                             \
    }

CONFIG_CASE(ctx_2_32, "{\"max_position_embeddings\": 4294967296}")
CONFIG_CASE(ctx_negative, "{\"max_position_embeddings\": -1}")
CONFIG_CASE(ctx_zero, "{\"max_position_embeddings\": 0}")
CONFIG_CASE(theta_negative, "{\"rope_theta\": -10000}")
CONFIG_CASE(theta_zero, "{\"rope_theta\": 0}")
CONFIG_CASE(theta_beyond_float, "{\"rope_theta\": 1e39}")
CONFIG_CASE(theta_string, "{\"rope_theta\": \"10000\"}")
CONFIG_CASE(eps_negative, "{\"rms_norm_eps\": -1}")
CONFIG_CASE(eps_zero, "{\"rms_norm_eps\": 0.0}")
CONFIG_CASE(layers_fewer, "{\"num_hidden_layers\": 5}")
CONFIG_CASE(layers_more, "{\"num_hidden_layers\": 7}")
CONFIG_CASE(head_dim_mismatch, "{\"head_dim\": 32}")
CONFIG_CASE(heads_mismatch, "{\"num_attention_heads\": 8, \"num_key_value_heads\": 4}")
CONFIG_CASE(hidden_not_heads_multiple, "{\"hidden_size\": 250, \"head_dim\": null}")
CONFIG_CASE(kv_heads_not_dividing, "{\"num_key_value_heads\": 3}")
CONFIG_CASE(kv_heads_zero, "{\"num_key_value_heads\": 0}")
CONFIG_CASE(vocab_below_rows, "{\"vocab_size\": 4000}")
CONFIG_CASE(vocab_above_rows, "{\"vocab_size\": 5000}")
CONFIG_CASE(ff_mismatch, "{\"intermediate_size\": 512}")

/* A tokenizer with more pieces (Llama 2's 32,000) than vocab_size and embedding rows (4,096). */
static void spm_pieces_above_vocab(const char *dir, const char **args, char *buf)
{
    const char *m = folder(dir, args, buf, NULL);
    lqt_craft_copy_file(lqt_data_path("tokenizers/llama2/tokenizer.model"),
                        lqt_hostile_str(buf, "%s/tokenizer.model", m));
}

/* The folder with a byte-level BPE tokenizer.json instead of tokenizer.model. */
static void bpe(const char *dir, const char **args, char *buf, const char *merges,
                const char *added)
{
    const char *m = folder(dir, args, buf, NULL);
    lqt_craft_bpe_tokenizer(m, merges, added);
}

static void bpe_ok(const char *dir, const char **args, char *buf)
{
    bpe(dir, args, buf, "[\"a b\", [\"c\", \"d\"]]", NULL);
}

static void bpe_merge_number(const char *dir, const char **args, char *buf)
{
    bpe(dir, args, buf, "[\"a b\", 17]", NULL);
}

static void bpe_merge_null(const char *dir, const char **args, char *buf)
{
    bpe(dir, args, buf, "[null]", NULL);
}

static void bpe_merge_no_space(const char *dir, const char **args, char *buf)
{
    bpe(dir, args, buf, "[\"ab\"]", NULL);
}

static void bpe_merge_pair_number(const char *dir, const char **args, char *buf)
{
    bpe(dir, args, buf, "[[\"a\", 5]]", NULL);
}

static void bpe_merge_triple(const char *dir, const char **args, char *buf)
{
    bpe(dir, args, buf, "[[\"a\", \"b\", \"c\"]]", NULL);
}

static void bpe_added_beyond_vocab(const char *dir, const char **args, char *buf)
{
    bpe(dir, args, buf, "[\"a b\"]", "[{\"id\": 5000, \"content\": \"<|x|>\", \"special\": true}]");
}

// ---- GGUF metadata --------------------------------------------------------------------------

/* llama.cpp's F16 file of the tiny model with one metadata key set; args: quantize to Q8_0. */
static void gguf(const char *dir, const char **args, char *buf, const char *key, const char *v)
{
    const char *in = lqt_hostile_str(buf, "%s/in.gguf", dir);
    lqt_craft_gguf_patch(lqt_data_path("reference/llama.cpp/tiny-llama-6L/f16.gguf"), in, key, v);
    args[0] = "quantize";
    args[1] = in;
    args[2] = lqt_hostile_str(buf, "%s/out.gguf", dir);
    args[3] = "Q8_0";
}

#define GGUF_CASE(fn, key, v)                                                                      \
    static void fn(const char *dir, const char **args, char *buf)                                  \
    {                                                                                              \
        gguf(dir, args, buf, key, v);                                                              \
    }

GGUF_CASE(gguf_layers_fewer, "llama.block_count", "5")
GGUF_CASE(gguf_ctx_zero, "llama.context_length", "0")
GGUF_CASE(gguf_ctx_2_32, "llama.context_length", "4294967296")
GGUF_CASE(gguf_theta_negative, "llama.rope.freq_base", "-10000.0")
GGUF_CASE(gguf_eps_zero, "llama.attention.layer_norm_rms_epsilon", "0.0")
GGUF_CASE(gguf_kv_heads_not_dividing, "llama.attention.head_count_kv", "3")
GGUF_CASE(gguf_vocab_size_disagrees, "llama.vocab_size", "4000")

/* eval reads GGUF metadata through the same validator */
static void gguf_eval_layers_fewer(const char *dir, const char **args, char *buf)
{
    gguf(dir, args, buf, "llama.block_count", "5");
    args[0] = "eval";
    args[2] = "--text";
    args[3] = lqt_data_path("text/heldout-A.txt");
    args[4] = "--ctx";
    args[5] = "64";
}

static void gguf_eval_theta_negative(const char *dir, const char **args, char *buf)
{
    gguf_eval_layers_fewer(dir, args, buf);
    lqt_craft_gguf_patch(lqt_data_path("reference/llama.cpp/tiny-llama-6L/f16.gguf"), args[1],
                         "llama.rope.freq_base", "-1.0");
}

static const struct lqt_hostile_case cases[] = {
    {"config/max-position-embeddings-2^32", ctx_2_32, 3,
     "config.json: max_position_embeddings is 4294967296: must be 1 .. 4294967295", 60},
    {"config/max-position-embeddings-negative", ctx_negative, 3,
     "config.json: max_position_embeddings is -1", 60},
    {"config/max-position-embeddings-0", ctx_zero, 3, "config.json: max_position_embeddings is 0",
     60},
    {"config/rope-theta-negative", theta_negative, 3, "config.json: rope_theta is -10000", 60},
    {"config/rope-theta-0", theta_zero, 3, "config.json: rope_theta is 0", 60},
    {"config/rope-theta-beyond-float", theta_beyond_float, 3, "config.json: rope_theta is 1e+39",
     60},
    {"config/rope-theta-string", theta_string, 3, "config.json: 'rope_theta' is a string", 60},
    {"config/rms-norm-eps-negative", eps_negative, 3, "config.json: rms_norm_eps is -1", 60},
    {"config/rms-norm-eps-0", eps_zero, 3, "config.json: rms_norm_eps is 0", 60},
    {"config/layers-5-tensors-6", layers_fewer, 3,
     "config.json: num_hidden_layers is 5 but the tensors have 6 layers", 60},
    {"config/layers-7-tensors-6", layers_more, 3,
     "config.json: num_hidden_layers is 7 but the tensors have 6 layers", 60},
    {"config/heads-x-head-dim-disagrees", head_dim_mismatch, 3, "x head_dim is 64 but tensor", 60},
    {"config/heads-disagree", heads_mismatch, 3, "x head_dim is 256 but tensor", 60},
    {"config/hidden-not-heads-multiple", hidden_not_heads_multiple, 3,
     "config.json: hidden_size 250 is not num_attention_heads 4 times a whole head size", 60},
    {"config/kv-heads-not-dividing", kv_heads_not_dividing, 3,
     "config.json: num_key_value_heads is 3, which does not divide num_attention_heads 4", 60},
    {"config/kv-heads-0", kv_heads_zero, 3, "config.json: num_key_value_heads is 0", 60},
    {"config/vocab-below-embedding-rows", vocab_below_rows, 3,
     "config.json: vocab_size is 4000 but tensor", 60},
    {"config/vocab-above-embedding-rows", vocab_above_rows, 3,
     "config.json: vocab_size is 5000 but tensor", 60},
    {"config/intermediate-size-disagrees", ff_mismatch, 3,
     "config.json: intermediate_size is 512 but tensor", 60},
    {"config/tokenizer-pieces-above-vocab", spm_pieces_above_vocab, 3,
     "tokenizer.model: the tokenizer has 32000 pieces but config.json's vocab_size is 4096", 60},
    {"config/bpe-tokenizer-converts", bpe_ok, 0, NULL, 60},
    {"config/bpe-merge-number", bpe_merge_number, 3, "tokenizer.json: model.merges[1]: an integer",
     60},
    {"config/bpe-merge-null", bpe_merge_null, 3, "tokenizer.json: model.merges[0]: null", 60},
    {"config/bpe-merge-no-space", bpe_merge_no_space, 3,
     "tokenizer.json: model.merges[0]: \"ab\" is not two pieces", 60},
    {"config/bpe-merge-pair-number", bpe_merge_pair_number, 3,
     "tokenizer.json: model.merges[0]: an array", 60},
    {"config/bpe-merge-triple", bpe_merge_triple, 3, "tokenizer.json: model.merges[0]: an array",
     60},
    {"config/bpe-added-token-beyond-vocab", bpe_added_beyond_vocab, 3,
     "tokenizer.json: added_tokens[0]: id 5000 is past config.json's vocab_size 4096", 60},
    {"config/gguf-block-count-5-tensors-6", gguf_layers_fewer, 3,
     "in.gguf: llama.block_count is 5 but the tensors have 6 layers", 60},
    {"config/gguf-context-length-0", gguf_ctx_zero, 3, "in.gguf: llama.context_length is 0", 60},
    {"config/gguf-context-length-2^32", gguf_ctx_2_32, 3,
     "in.gguf: llama.context_length is 4294967296", 60},
    {"config/gguf-rope-freq-base-negative", gguf_theta_negative, 3,
     "in.gguf: llama.rope.freq_base is -10000", 60},
    {"config/gguf-rms-eps-0", gguf_eps_zero, 3,
     "in.gguf: llama.attention.layer_norm_rms_epsilon is 0", 60},
    {"config/gguf-kv-heads-not-dividing", gguf_kv_heads_not_dividing, 3,
     "in.gguf: llama.attention.head_count_kv is 3, which does not divide", 60},
    {"config/gguf-vocab-size-disagrees", gguf_vocab_size_disagrees, 3,
     "in.gguf: llama.vocab_size is 4000 but tokenizer.ggml.tokens has 4096 entries", 60},
    {"config/gguf-eval-block-count-5-tensors-6", gguf_eval_layers_fewer, 3,
     "in.gguf: llama.block_count is 5 but the tensors have 6 layers", 60},
    {"config/gguf-eval-rope-freq-base-negative", gguf_eval_theta_negative, 3,
     "in.gguf: llama.rope.freq_base is -1", 60},
};

static void test_hostile_config_refused(void **state)
{
    (void)state;
    lqt_hostile_run(cases, sizeof cases / sizeof cases[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_config_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
