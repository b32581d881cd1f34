/* test_hostile_fifo.c - issue 11, class 5: FIFOs, devices and folders where a regular file is
 * expected. Opening a FIFO for reading blocks until a writer comes, so before lq_input_open
 * every one of these hung; each must now be refused within a couple of seconds with exit 3
 * and the path named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lqt_craft.h"
#include "lqt_hostile.h"
#include "lqt_util.h"

#define SMALL_GGUF "models/stories260K/stories260K-v1.gguf"

/* dir/name as a FIFO; returns its path (in buf). */
static const char *fifo(const char *dir, const char *name, char *buf)
{
    const char *path = lqt_hostile_str(buf, "%s/%s", dir, name);
    lqt_craft_fifo(path);
    return path;
}

/* A copy of tiny-llama-6L in dir/m with member replaced by a FIFO; returns the folder. */
static const char *model_with_fifo(const char *dir, const char *member, char *buf)
{
    const char *m = lqt_hostile_str(buf, "%s/m", dir);
    assert_int_equal(mkdir(m, 0755), 0);
    lqt_craft_tiny_llama(m, NULL);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", m, member);
    lqt_craft_fifo(path);
    return m;
}

static void make_inspect_gguf(const char *dir, const char **args, char *buf)
{
    args[0] = "inspect";
    args[1] = fifo(dir, "model.gguf", buf);
}

static void make_inspect_st(const char *dir, const char **args, char *buf)
{
    args[0] = "inspect";
    args[1] = fifo(dir, "model.safetensors", buf);
}

static void make_convert_model(const char *dir, const char **args, char *buf)
{
    args[0] = "convert";
    args[1] = fifo(dir, "model.safetensors", buf);
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

static void make_folder_member(const char *dir, const char **args, char *buf, const char *cmd,
                               const char *member)
{
    args[0] = cmd;
    args[1] = model_with_fifo(dir, member, buf);
    if (strcmp(cmd, "convert") == 0) {
        args[2] = "-o";
        args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
    }
}

static void make_shard(const char *dir, const char **args, char *buf)
{
    make_folder_member(dir, args, buf, "convert", "model.safetensors");
}

static void make_config(const char *dir, const char **args, char *buf)
{
    make_folder_member(dir, args, buf, "inspect", "config.json");
}

static void make_config_convert(const char *dir, const char **args, char *buf)
{
    make_folder_member(dir, args, buf, "convert", "config.json");
}

static void make_tokenizer(const char *dir, const char **args, char *buf)
{
    make_folder_member(dir, args, buf, "convert", "tokenizer.model");
}

/* A sharded folder whose index names a FIFO as its shard. */
static void make_indexed_shard(const char *dir, const char **args, char *buf)
{
    const char *m = model_with_fifo(dir, "shard-1.safetensors", buf);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", m);
    assert_int_equal(unlink(path), 0);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", m);
    const char *index = "{\"weight_map\": {\"model.embed_tokens.weight\": "
                        "\"shard-1.safetensors\"}}";
    lqt_write_file(path, index, strlen(index));
    args[0] = "convert";
    args[1] = m;
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

static void make_text(const char *dir, const char **args, char *buf)
{
    args[0] = "eval";
    args[1] = lqt_data_path(SMALL_GGUF);
    args[2] = "--text";
    args[3] = fifo(dir, "text.txt", buf);
}

static void make_tokens(const char *dir, const char **args, char *buf)
{
    args[0] = "eval";
    args[1] = lqt_data_path(SMALL_GGUF);
    args[2] = "--tokens";
    args[3] = fifo(dir, "tokens.txt", buf);
}

static void make_compare(const char *dir, const char **args, char *buf)
{
    args[0] = "eval";
    args[1] = lqt_data_path(SMALL_GGUF);
    args[2] = "--compare";
    args[3] = fifo(dir, "base.logits", buf);
}

static void make_baseline(const char *dir, const char **args, char *buf)
{
    args[0] = "check";
    args[1] = "--baseline";
    args[2] = fifo(dir, "baseline.json", buf);
    args[3] = lqt_data_path(SMALL_GGUF);
}

static void make_imatrix(const char *dir, const char **args, char *buf)
{
    args[0] = "quantize";
    args[1] = "--imatrix";
    args[2] = fifo(dir, "imatrix.gguf", buf);
    args[3] = lqt_data_path(SMALL_GGUF);
    args[4] = lqt_hostile_str(buf, "%s/out.gguf", dir);
    args[5] = "Q8_0";
}

static void make_calib(const char *dir, const char **args, char *buf)
{
    args[0] = "imatrix";
    args[1] = lqt_data_path(SMALL_GGUF);
    args[2] = "--calib";
    args[3] = fifo(dir, "calib.txt", buf);
    args[4] = "-o";
    args[5] = lqt_hostile_str(buf, "%s/imatrix.gguf", dir);
}

/* /dev/zero never ends: a reader that maps or reads it whole would never stop. */
static void make_char_device(const char *dir, const char **args, char *buf)
{
    args[0] = "convert";
    args[1] = "/dev/zero";
    args[2] = "-o";
    args[3] = lqt_hostile_str(buf, "%s/out.gguf", dir);
}

static void make_dev_null_text(const char *dir, const char **args, char *buf)
{
    (void)dir;
    (void)buf;
    args[0] = "eval";
    args[1] = lqt_data_path(SMALL_GGUF);
    args[2] = "--text";
    args[3] = "/dev/null";
}

static void make_dir_as_text(const char *dir, const char **args, char *buf)
{
    args[0] = "eval";
    args[1] = lqt_data_path(SMALL_GGUF);
    args[2] = "--text";
    args[3] = lqt_hostile_str(buf, "%s/text.d", dir);
    assert_int_equal(mkdir(args[3], 0755), 0);
}

static void make_dir_as_gguf(const char *dir, const char **args, char *buf)
{
    args[0] = "quantize";
    args[1] = lqt_hostile_str(buf, "%s/in.gguf", dir);
    assert_int_equal(mkdir(args[1], 0755), 0);
    args[2] = lqt_hostile_str(buf, "%s/out.gguf", dir);
    args[3] = "Q8_0";
}

static const struct lqt_hostile_case cases[] = {
    {"fifo/inspect-gguf", make_inspect_gguf, 3, "model.gguf: a FIFO", 5},
    {"fifo/inspect-safetensors", make_inspect_st, 3, "model.safetensors: a FIFO", 5},
    {"fifo/convert-model-file", make_convert_model, 3, "model.safetensors: a FIFO", 5},
    {"fifo/shard", make_shard, 3, "m/model.safetensors: a FIFO", 5},
    {"fifo/indexed-shard", make_indexed_shard, 3, "shard-1.safetensors", 5},
    {"fifo/config-json-inspect", make_config, 3, "m/config.json: a FIFO", 5},
    {"fifo/config-json-convert", make_config_convert, 3, "m/config.json: a FIFO", 5},
    {"fifo/tokenizer-model", make_tokenizer, 3, "m/tokenizer.model: a FIFO", 5},
    {"fifo/eval-text", make_text, 3, "text.txt: a FIFO", 5},
    {"fifo/eval-tokens", make_tokens, 3, "tokens.txt: a FIFO", 5},
    {"fifo/eval-compare-logits", make_compare, 3, "base.logits: a FIFO", 5},
    {"fifo/check-baseline", make_baseline, 3, "baseline.json: a FIFO", 5},
    {"fifo/quantize-imatrix", make_imatrix, 3, "imatrix.gguf: a FIFO", 5},
    {"fifo/imatrix-calib", make_calib, 3, "calib.txt: a FIFO", 5},
    {"fifo/char-device-model", make_char_device, 3, "/dev/zero: a character device", 5},
    {"fifo/char-device-text", make_dev_null_text, 3, "/dev/null: a character device", 5},
    {"fifo/folder-as-text", make_dir_as_text, 3, "text.d: a folder", 5},
    {"fifo/folder-as-gguf", make_dir_as_gguf, 3, "in.gguf", 5},
};

static void test_hostile_fifo_refused(void **state)
{
    (void)state;
    lqt_hostile_run(cases, sizeof cases / sizeof cases[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hostile_fifo_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
