/* test_hostile_ub.c - issue 11, class 6: undefined behaviour. Sizes from files go through
 * overflow-checked arithmetic and data a file aligns to 1 byte (general.alignment 1 is legal
 * GGUF) is read with memcpy or from aligned copies. The ASan+UBSan tree halts on the first
 * report, so these cases fail there if any of it comes back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lqt_craft.h"
#include "lqt_hostile.h"
#include "lqt_run.h"
#include "lqt_util.h"
#include "lqt_zip.h"

#define STORIES "models/stories260K/stories260K-v1.gguf"

/* 2^62 heads of 64 dimensions: their product overflowed int64 while checking shapes. */
static void make_config_2e62_heads(const char *dir, const char **args, char *buf)
{
    lqt_craft_tiny_llama(dir, "{\"num_attention_heads\": 4611686018427387904, "
                              "\"num_key_value_heads\": 4611686018427387904, \"head_dim\": 64}");
    args[0] = "convert";
    args[1] = dir;
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

/* A pickle of one tensor: shape (0, 2^32, 2^32), stride (2^32, 2^32, 1). The element count is
 * 0, but the stride check multiplied 2^32 by 2^32. */
static void make_pytorch_shape_overflow(const char *dir, const char **args, char *buf)
{
#define L2E32 "\x8a\x05\x00\x00\x00\x00\x01" /* LONG1 of 5 bytes: 2^32 */
    static const char pkl[] = "\x80\x02}(X\x19\x00\x00\x00model.embed_tokens.weight"
                              "ctorch._utils\n_rebuild_tensor_v2\n"
                              "((X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00"
                              "0X\x03\x00\x00\x00cpuK\x04tQ"
                              "K\x00"
                              "K\x00" L2E32 L2E32 "\x87" L2E32 L2E32 "K\x01\x87"
                              "\x89"
                              "ccollections\nOrderedDict\n)RtRu.";
#undef L2E32
    size_t len;
    char *config = lqt_read_file(lqt_data_path("models/tiny-llama-6L/config.json"), &len);
    lqt_write_file(lqt_hostile_str(buf, "%s/config.json", dir), config, len);
    free(config);
    static const float storage[4];
    struct lqt_zip z;
    memset(&z, 0, sizeof z);
    lqt_zip_add(&z, "archive/data.pkl", pkl, sizeof pkl - 1);
    lqt_zip_add(&z, "archive/data/0", storage, sizeof storage);
    lqt_zip_finish(&z);
    lqt_write_file(lqt_hostile_str(buf, "%s/pytorch_model.bin", dir), z.b, z.n);
    free(z.b);
    args[0] = "convert";
    args[1] = dir;
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

static const char *write_text(const char *dir, char *buf)
{
    static const char text[] =
        "Once upon a time, there was a little girl named Lily. She loved to play outside in the "
        "park. One day, she saw a big, red ball. She wanted to play with it, but it was too "
        "high. Lily asked her mom to help her. Her mom smiled and got the ball for her.\n";
    const char *path = lqt_hostile_str(buf, "%s/text.txt", dir);
    lqt_write_file(path, text, sizeof text - 1);
    return path;
}

/* stories260K with its matrices in F16 and every tensor packed at 1-byte alignment. */
static const char *write_align1_f16(const char *dir, char *buf)
{
    const char *path = lqt_hostile_str(buf, "%s/align1.gguf", dir);
    const struct lqt_gguf_edit e = {.alignment = 1, .to_f16 = 1};
    lqt_craft_gguf_copy(lqt_data_path(STORIES), path, &e);
    return path;
}

static void make_align1_f16_eval(const char *dir, const char **args, char *buf)
{
    args[0] = "eval";
    args[1] = write_align1_f16(dir, buf);
    args[2] = "--text";
    args[3] = write_text(dir, buf);
    args[4] = "--ctx";
    args[5] = "16";
}

static void make_align1_f16_quantize(const char *dir, const char **args, char *buf)
{
    args[0] = "quantize";
    args[1] = write_align1_f16(dir, buf);
    args[2] = lqt_hostile_str(buf, "%s/q8.gguf", dir);
    args[3] = "Q8_0";
}

/* A Q8_0 file (blocks hold a uint16 scale) at 1-byte alignment, evaluated and requantized. */
static const char *write_align1_q8(const char *dir, char *buf)
{
    const char *f16 = lqt_hostile_str(buf, "%s/f16.gguf", dir);
    const char *q8 = lqt_hostile_str(buf, "%s/q8.gguf", dir);
    const struct lqt_gguf_edit to_f16 = {.to_f16 = 1};
    lqt_craft_gguf_copy(lqt_data_path(STORIES), f16, &to_f16);
    const char *qargs[] = {"quantize", f16, q8, "Q8_0", NULL};
    struct lqt_run r = lqt_run_quant(qargs, NULL);
    lqt_expect_exit(&r, qargs, 0, NULL);
    lqt_run_free(&r);
    const char *path = lqt_hostile_str(buf, "%s/align1-q8.gguf", dir);
    const struct lqt_gguf_edit e = {.alignment = 1};
    lqt_craft_gguf_copy(q8, path, &e);
    return path;
}

static void make_align1_q8_eval(const char *dir, const char **args, char *buf)
{
    args[0] = "eval";
    args[1] = write_align1_q8(dir, buf);
    args[2] = "--text";
    args[3] = write_text(dir, buf);
    args[4] = "--ctx";
    args[5] = "16";
}

static void make_align1_q8_requantize(const char *dir, const char **args, char *buf)
{
    args[0] = "quantize";
    args[1] = write_align1_q8(dir, buf);
    args[2] = lqt_hostile_str(buf, "%s/q4.gguf", dir);
    args[3] = "Q4_0";
    args[4] = "--allow-requantize";
}

/* No tokens at all: the vocabulary was copied with memcpy from a NULL array. */
static void make_empty_vocab(const char *dir, const char **args, char *buf)
{
    const char *path = lqt_hostile_str(buf, "%s/novocab.gguf", dir);
    const struct lqt_gguf_edit e = {.empty_key = "tokenizer.ggml.tokens"};
    lqt_craft_gguf_copy(lqt_data_path(STORIES), path, &e);
    args[0] = "eval";
    args[1] = path;
    args[2] = "--text";
    args[3] = write_text(dir, buf);
    args[4] = "--ctx";
    args[5] = "16";
}

static const struct lqt_hostile_case cases[] = {
    {"ub/config-2^62-heads", make_config_2e62_heads, 3, "num_attention_heads", 0},
    {"ub/pytorch-shape-0x2^32x2^32", make_pytorch_shape_overflow, 3, "pytorch_model.bin", 0},
    {"ub/align1-f16-eval", make_align1_f16_eval, 0, NULL, 0},
    {"ub/align1-f16-quantize", make_align1_f16_quantize, 0, NULL, 0},
    {"ub/align1-q8_0-eval", make_align1_q8_eval, 0, NULL, 0},
    {"ub/align1-q8_0-requantize", make_align1_q8_requantize, 0, NULL, 0},
    {"ub/empty-vocab", make_empty_vocab, 3, "novocab.gguf", 0},
};

static void test_hostile_ub(void **state)
{
    (void)state;
    lqt_hostile_run(cases, sizeof cases / sizeof cases[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_ub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
