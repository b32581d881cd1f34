/* test_hostile_exit.c - issue 11, class 8: a defect of an input file, however late it is
 * found, exits 3 (bad input file) with the input named: the file, the member of an archive as
 * FILE:MEMBER, the field of a header. Never 1 (runtime failure), 2 (usage) or a message that
 * names the output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/types.h"
#include "lqt_craft.h"
#include "lqt_hostile.h"
#include "lqt_util.h"
#include "lqt_zip.h"

#define STORIES "models/stories260K/stories260K-v1.gguf"

static const char *write_text(const char *dir, char *buf)
{
    static const char text[] = "Once upon a time, there was a little girl named Lily. She loved "
                               "to play outside in the park. One day, she saw a big, red ball.\n";
    const char *path = lqt_hostile_str(buf, "%s/text.txt", dir);
    lqt_write_file(path, text, sizeof text - 1);
    return path;
}

/* `quant eval` of a copy of stories260K with one change. */
static void eval_edited(const char *dir, const char **args, char *buf, const char *file,
                        const struct lqt_gguf_edit *e)
{
    const char *path = lqt_hostile_str(buf, "%s/%s", dir, file);
    lqt_craft_gguf_copy(lqt_data_path(STORIES), path, e);
    args[0] = "eval";
    args[1] = path;
    args[2] = "--text";
    args[3] = write_text(dir, buf);
    args[4] = "--ctx";
    args[5] = "16";
}

/* BOS is token 100000 of 512: it reached the forward pass (exit 2). */
static void make_bos_beyond_vocab(const char *dir, const char **args, char *buf)
{
    const struct lqt_gguf_edit e = {.u32_key = "tokenizer.ggml.bos_token_id", .u32_val = 100000};
    eval_edited(dir, args, buf, "bos.gguf", &e);
}

static void make_vocab_empty(const char *dir, const char **args, char *buf)
{
    const struct lqt_gguf_edit e = {.empty_key = "tokenizer.ggml.tokens"};
    eval_edited(dir, args, buf, "novocab.gguf", &e);
}

/* 2^24 layers over a file of 5: "out of memory for the model" (exit 1). */
static void make_block_count_2e24(const char *dir, const char **args, char *buf)
{
    const struct lqt_gguf_edit e = {.u32_key = "llama.block_count", .u32_val = 1u << 24};
    eval_edited(dir, args, buf, "blocks.gguf", &e);
}

/* A tensor with n_dims 0: the GGUF writer refused it naming the output (exit 2). */
static void make_gguf_no_dims(const char *dir, const char **args, char *buf)
{
    struct lqt_gguf b;
    lqt_gguf_begin(&b, 1, 1);
    lqt_gguf_kv_str(&b, "general.architecture", "llama");
    lqt_gguf_tensor_info(&b, "scalar.weight", 0, NULL, LQ_TYPE_F32, 0);
    lqt_gguf_pad(&b, 32);
    const float one = 1;
    lqt_gguf_bytes(&b, &one, sizeof one);
    const char *in = lqt_hostile_str(buf, "%s/nodims.gguf", dir);
    lqt_gguf_write(&b, in);
    args[0] = "quantize";
    args[1] = in;
    args[2] = lqt_hostile_str(buf, "%s/output-file.gguf", dir);
    args[3] = "Q8_0";
}

/* The sharded tiny Llama without its second shard (exit 1). */
static void make_missing_shard(const char *dir, const char **args, char *buf)
{
    static const char *const files[] = {"config.json", "model-00001-of-00002.safetensors",
                                        "model.safetensors.index.json", "tokenizer.model",
                                        "tokenizer_config.json"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char rel[256];
        snprintf(rel, sizeof rel, "models/tiny-llama-6L-sharded/%s", files[i]);
        size_t n;
        char *p = lqt_read_file(lqt_data_path(rel), &n);
        lqt_write_file(lqt_hostile_str(buf, "%s/%s", dir, files[i]), p, n);
        free(p);
    }
    args[0] = "convert";
    args[1] = dir;
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

/* A pickle that is not a dict: the message named archive/data.pkl, not the .bin given. */
static void make_pickle_not_dict(const char *dir, const char **args, char *buf)
{
    static const char pkl[] = "\x80\x02K\x01.";
    size_t len;
    char *config = lqt_read_file(lqt_data_path("models/tiny-llama-6L/config.json"), &len);
    lqt_write_file(lqt_hostile_str(buf, "%s/config.json", dir), config, len);
    free(config);
    struct lqt_zip z;
    memset(&z, 0, sizeof z);
    lqt_zip_add(&z, "archive/data.pkl", pkl, sizeof pkl - 1);
    lqt_zip_finish(&z);
    lqt_write_file(lqt_hostile_str(buf, "%s/pytorch_model.bin", dir), z.b, z.n);
    free(z.b);
    args[0] = "convert";
    args[1] = dir;
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

/* stories260K.bin with one header field (int32 number `field`) changed. */
static void make_llama2c_field(const char *dir, const char **args, char *buf, int field,
                               int32_t value)
{
    size_t n;
    unsigned char *p = lqt_read_file(lqt_data_path("models/stories260K/stories260K.bin"), &n);
    memcpy(p + 4 * field, &value, 4);
    const char *path = lqt_hostile_str(buf, "%s/stories.bin", dir);
    lqt_write_file(path, p, n);
    free(p);
    char *tok = lqt_read_file(lqt_data_path("models/stories260K/tok512.bin"), &n);
    lqt_write_file(lqt_hostile_str(buf, "%s/tok512.bin", dir), tok, n);
    free(tok);
    args[0] = "convert";
    args[1] = path;
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

static void make_llama2c_negative_layers(const char *dir, const char **args, char *buf)
{
    make_llama2c_field(dir, args, buf, 2, -5);
}

static void make_llama2c_zero_heads(const char *dir, const char **args, char *buf)
{
    make_llama2c_field(dir, args, buf, 3, 0);
}

/* vocab_size 2 (too small for unk, bos and eos): exit 2. */
static void make_llama2c_vocab_2(const char *dir, const char **args, char *buf)
{
    make_llama2c_field(dir, args, buf, 5, 2);
}

static const struct lqt_hostile_case cases[] = {
    {"exit/eval-bos-beyond-vocab", make_bos_beyond_vocab, 3, "bos.gguf", 0},
    {"exit/eval-vocab-empty", make_vocab_empty, 3, "novocab.gguf", 0},
    {"exit/eval-block-count-2^24", make_block_count_2e24, 3, "blocks.gguf: llama.block_count", 0},
    {"exit/quantize-no-dims", make_gguf_no_dims, 3, "nodims.gguf", 0},
    {"exit/convert-missing-shard", make_missing_shard, 3, "model-00002-of-00002.safetensors", 0},
    {"exit/pickle-member-named", make_pickle_not_dict, 3, "pytorch_model.bin:archive/data.pkl", 0},
    {"exit/llama2c-negative-layers", make_llama2c_negative_layers, 3, "n_layers", 0},
    {"exit/llama2c-zero-heads", make_llama2c_zero_heads, 3, "n_heads (bytes 12..15) is 0", 0},
    {"exit/llama2c-vocab-2", make_llama2c_vocab_2, 3, "vocab 2", 0},
};

static void test_hostile_exit(void **state)
{
    (void)state;
    lqt_hostile_run(cases, sizeof cases / sizeof cases[0]);
}

/* The message of a defect names the input, never the output. */
static void test_hostile_exit_names_input_not_output(void **state)
{
    (void)state;
    const struct lqt_hostile_case wrong = {"exit/output-named", make_gguf_no_dims, 3,
                                           "output-file.gguf", 0};
    assert_int_equal(lqt_hostile_failures(&wrong, 1), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_exit),
        cmocka_unit_test(test_hostile_exit_names_input_not_output),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
