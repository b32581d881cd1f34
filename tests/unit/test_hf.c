/* test_hf.c - Hugging Face model folders (single file and sharded give the same tensors,
 * byte for byte; config.json accessors; broken shard sets) and file-type sniffing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/hf.h"
#include "lq/sniff.h"
#include "lqi.h"
#include "lqt_util.h"

// ---- the shared model folders -------------------------------------------------------------

static lq_hf *open_dir(const char *rel)
{
    lq_hf *hf = NULL;
    struct lq_error err;
    if (lq_hf_open(lqt_data_path(rel), &hf, &err) != LQ_OK) {
        fail_msg("lq_hf_open(%s): %s", rel, err.msg);
    }
    return hf;
}

static void test_hf_single_vs_sharded(void **state)
{
    (void)state;
    lq_hf *one = open_dir("models/tiny-llama-6L");
    lq_hf *two = open_dir("models/tiny-llama-6L-sharded");
    assert_int_equal(lq_hf_n_shards(one), 1);
    assert_int_equal(lq_hf_n_shards(two), 2);
    assert_int_equal(lq_hf_n_tensors(one), 57);
    assert_int_equal(lq_hf_n_tensors(two), 57);
    for (int64_t i = 0; i < lq_hf_n_tensors(one); i++) {
        const struct lq_st_tensor_info *a = lq_hf_tensor(one, i), *b = lq_hf_tensor(two, i);
        assert_string_equal(a->name, b->name);
        if (i > 0) {
            assert_true(strcmp(lq_hf_tensor(one, i - 1)->name, a->name) < 0);
        }
        assert_int_equal(a->dtype, b->dtype);
        assert_int_equal(a->n_dims, b->n_dims);
        assert_memory_equal(a->shape, b->shape, sizeof a->shape);
        assert_int_equal(a->nbytes, b->nbytes);
        assert_memory_equal(a->data, b->data, a->nbytes);
        assert_int_equal(lq_hf_find_tensor(two, a->name), i);
    }
    int64_t id = lq_hf_find_tensor(two, "lm_head.weight");
    assert_true(id >= 0);
    assert_non_null(strstr(lq_hf_tensor_file(two, id), "/model-00002-of-00002.safetensors"));
    id = lq_hf_find_tensor(two, "model.layers.0.mlp.up_proj.weight");
    assert_non_null(strstr(lq_hf_tensor_file(two, id), "/model-00001-of-00002.safetensors"));
    assert_non_null(strstr(lq_hf_tensor_file(one, 0), "/model.safetensors"));
    assert_int_equal(lq_hf_find_tensor(one, "missing"), -1);
    assert_null(lq_hf_tensor(one, 57));
    assert_null(lq_hf_tensor_file(one, -1));
    lq_hf_free(one);
    lq_hf_free(two);
}

static void test_hf_config(void **state)
{
    (void)state;
    lq_hf *hf = open_dir("models/tiny-llama-6L");
    struct lq_error err;
    int64_t i = 0;
    double f = 0;
    const char *s = NULL;
    bool b = true;
    static const struct {
        const char *key;
        int64_t want;
    } ints[] = {
        {"num_hidden_layers", 6},   {"hidden_size", 256},       {"intermediate_size", 768},
        {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"vocab_size", 4096},
        {"head_dim", 64},
    };
    for (size_t k = 0; k < sizeof ints / sizeof *ints; k++) {
        assert_int_equal(lq_hf_config_i64(hf, ints[k].key, &i, &err), LQ_OK);
        assert_int_equal(i, ints[k].want);
    }
    assert_int_equal(lq_hf_config_f64(hf, "rope_theta", &f, &err), LQ_OK);
    assert_true(f == 10000.0);
    assert_int_equal(lq_hf_config_f64(hf, "rms_norm_eps", &f, &err), LQ_OK);
    assert_true(f == 1e-5);
    assert_int_equal(lq_hf_config_f64(hf, "hidden_size", &f, &err), LQ_OK); /* ints widen */
    assert_true(f == 256.0);
    assert_int_equal(lq_hf_config_str(hf, "model_type", &s, &err), LQ_OK);
    assert_string_equal(s, "llama");
    assert_int_equal(lq_hf_config_str(hf, "architectures.0", &s, &err), LQ_OK);
    assert_string_equal(s, "LlamaForCausalLM");
    assert_int_equal(lq_hf_config_len(hf, "architectures", &i, &err), LQ_OK);
    assert_int_equal(i, 1);
    assert_int_equal(lq_hf_config_bool(hf, "tie_word_embeddings", &b, &err), LQ_OK);
    assert_false(b);
    /* null counts as absent, and so does anything under it */
    assert_false(lq_hf_config_has(hf, "rope_scaling"));
    assert_int_equal(lq_hf_config_f64(hf, "rope_scaling.factor", &f, &err), LQ_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "no key 'rope_scaling.factor'"));
    assert_true(lq_hf_config_has(hf, "hidden_size"));
    assert_int_equal(lq_hf_config_i64(hf, "rope_theta", &i, &err), LQ_E_FORMAT);
    assert_non_null(strstr(err.msg, "config.json: 'rope_theta' is a real number, not an integer"));
    assert_int_equal(lq_hf_config_str(hf, "hidden_size", &s, &err), LQ_E_FORMAT);
    assert_int_equal(lq_hf_config_str(hf, "architectures.1", &s, &err), LQ_E_NOT_FOUND);
    assert_int_equal(lq_hf_config_str(hf, "architectures.x", &s, &err), LQ_E_NOT_FOUND);
    lq_hf_free(hf);
}

static void test_hf_other_json(void **state)
{
    (void)state;
    lq_hf *hf = open_dir("models/tiny-llama-6L-sharded");
    struct lq_error err;
    const char *s = NULL;
    int64_t i = 0;
    bool b = false;
    assert_true(lq_hf_has_file(hf, "tokenizer_config.json"));
    assert_int_equal(lq_hf_json_str(hf, "tokenizer_config.json", "bos_token", &s, &err), LQ_OK);
    assert_string_equal(s, "<s>");
    assert_int_equal(lq_hf_json_bool(hf, "tokenizer_config.json", "add_bos_token", &b, &err),
                     LQ_OK);
    assert_true(b);
    assert_int_equal(lq_hf_json_i64(hf, "generation_config.json", "eos_token_id", &i, &err), LQ_OK);
    assert_int_equal(i, 2);
    assert_int_equal(lq_hf_json_str(hf, "tokenizer_config.json", "pad_token", &s, &err),
                     LQ_E_NOT_FOUND);
    assert_int_equal(lq_hf_json_str(hf, "nope.json", "x", &s, &err), LQ_E_NOT_FOUND);
    assert_int_equal(lq_hf_json_str(hf, "../x.json", "x", &s, &err), LQ_E_INVALID_ARG);
    assert_false(lq_hf_has_file(hf, "nope.json"));
    lq_hf_free(hf);
}

// ---- broken folders ------------------------------------------------------------------------

/* A safetensors image of U8 tensors of 4 bytes each, in the order given. */
static void write_shard(const char *dir, const char *file, const char *const *names, int n)
{
    char json[1024];
    size_t len = (size_t)snprintf(json, sizeof json, "{");
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(json + len, sizeof json - len,
                                "%s\"%s\":{\"dtype\":\"U8\",\"shape\":[4],"
                                "\"data_offsets\":[%d,%d]}",
                                i ? "," : "", names[i], 4 * i, 4 * i + 4);
    }
    len += (size_t)snprintf(json + len, sizeof json - len, "}");
    size_t size = 8 + len + 4 * (size_t)n;
    unsigned char *p = calloc(1, size);
    lqi_wr_u64(p, len);
    memcpy(p + 8, json, len);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    lqt_write_file(path, p, size);
    free(p);
}

static void write_text(const char *dir, const char *file, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    lqt_write_file(path, text, strlen(text));
}

static const char *const shard_a[] = {"x", "y"};
static const char *const shard_b[] = {"z"};

/* A sharded folder: x, y in a.safetensors and z in b.safetensors, with the given index. */
static char *make_folder(const char *index)
{
    char *dir = lqt_tmpdir();
    write_text(dir, "config.json", "{\"hidden_size\": 4}");
    write_shard(dir, "a.safetensors", shard_a, 2);
    write_shard(dir, "b.safetensors", shard_b, 1);
    write_text(dir, "model.safetensors.index.json", index);
    return dir;
}

static void expect_folder_fail(const char *dir, lq_status want, const char *sub)
{
    lq_hf *hf = (lq_hf *)1;
    struct lq_error err;
    lq_status rc = lq_hf_open(dir, &hf, &err);
    if (rc != want || !strstr(err.msg, sub)) {
        fail_msg("want status %d with '%s'; got %d: %s", want, sub, rc, err.msg);
    }
    assert_null(hf);
}

#define GOOD_MAP "\"x\":\"a.safetensors\",\"y\":\"a.safetensors\",\"z\":\"b.safetensors\""

static void test_hf_good_synthetic(void **state)
{
    (void)state;
    char *dir = make_folder("{\"metadata\":{},\"weight_map\":{" GOOD_MAP "}}");
    lq_hf *hf = NULL;
    struct lq_error err;
    assert_int_equal(lq_hf_open(dir, &hf, &err), LQ_OK);
    assert_int_equal(lq_hf_n_tensors(hf), 3);
    assert_string_equal(lq_hf_tensor(hf, 2)->name, "z");
    assert_int_equal(lq_hf_tensor_shard(hf, 2), 1);
    assert_string_equal(lq_hf_dir(hf), dir);
    lq_hf_free(hf);
    lqt_rmtree(dir);
    free(dir);
}

static void test_hf_bad_shards(void **state)
{
    (void)state;
    char *dir = make_folder("{\"weight_map\":{" GOOD_MAP ",\"w\":\"c.safetensors\"}}");
    /* the index promises the shard: its absence is a defect of the folder (issue 11) */
    expect_folder_fail(dir, LQ_E_FORMAT,
                       "shard 'c.safetensors' listed in "
                       "model.safetensors.index.json");
    expect_folder_fail(dir, LQ_E_FORMAT, "c.safetensors: cannot open");
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{" GOOD_MAP ",\"w\":\"b.safetensors\"}}");
    expect_folder_fail(dir, LQ_E_FORMAT,
                       "lists tensor 'w' in shard 'b.safetensors', which "
                       "does not hold it");
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{\"x\":\"a.safetensors\",\"z\":\"b.safetensors\"}}");
    expect_folder_fail(dir, LQ_E_FORMAT,
                       "shard 'a.safetensors' holds tensor 'y', which "
                       "model.safetensors.index.json does not list");
    write_text(dir, "model.safetensors.index.json",
               "{\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"b.safetensors\","
               "\"z\":\"b.safetensors\"}}");
    expect_folder_fail(dir, LQ_E_FORMAT,
                       "tensor 'y' is in shard 'a.safetensors' but "
                       "model.safetensors.index.json places it in "
                       "'b.safetensors'");
    static const char *const twice[] = {"x", "z"};
    write_shard(dir, "b.safetensors", twice, 2);
    write_text(dir, "model.safetensors.index.json", "{\"weight_map\":{" GOOD_MAP "}}");
    expect_folder_fail(dir, LQ_E_FORMAT,
                       "tensor 'x' is in two shards: 'a.safetensors' and "
                       "'b.safetensors'");
    lqt_rmtree(dir);
    free(dir);
}

static void test_hf_bad_index(void **state)
{
    (void)state;
    char *dir = make_folder("{\"weight_map\":{\"x\":\"../a.safetensors\"}}");
    expect_folder_fail(dir, LQ_E_FORMAT, "shard name '../a.safetensors' leaves the folder");
    write_text(dir, "model.safetensors.index.json", "{\"weight_map\":{\"x\":3}}");
    expect_folder_fail(dir, LQ_E_FORMAT, "weight_map['x'] is not a string");
    write_text(dir, "model.safetensors.index.json", "{\"metadata\":{}}");
    expect_folder_fail(dir, LQ_E_FORMAT, "no \"weight_map\" object");
    write_text(dir, "model.safetensors.index.json", "{\"weight_map\":{\"x\":1,\"x\":2}}");
    expect_folder_fail(dir, LQ_E_FORMAT, "duplicate");
    write_text(dir, "config.json", "[]");
    expect_folder_fail(dir, LQ_E_FORMAT, "config.json: not a JSON object");
    lqt_rmtree(dir);
    free(dir);
}

static void test_hf_missing_parts(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    expect_folder_fail(dir, LQ_E_NOT_FOUND, "config.json: cannot open");
    write_text(dir, "config.json", "{}");
    expect_folder_fail(dir, LQ_E_NOT_FOUND,
                       "neither model.safetensors nor "
                       "model.safetensors.index.json found");
    char missing[4200];
    snprintf(missing, sizeof missing, "%s/none", dir);
    expect_folder_fail(missing, LQ_E_NOT_FOUND, "cannot open");
    lqt_rmtree(dir);
    free(dir);
}

// ---- sniffing --------------------------------------------------------------------------------

static void expect_kind(const char *rel, enum lq_file_kind want)
{
    enum lq_file_kind kind = LQ_FILE_UNKNOWN;
    struct lq_error err;
    if (lq_sniff_path(lqt_data_path(rel), &kind, &err) != LQ_OK || kind != want) {
        fail_msg("%s: want %s, got %s (%s)", rel, lq_file_kind_name(want), lq_file_kind_name(kind),
                 err.msg);
    }
}

static void test_sniff_shared_data(void **state)
{
    (void)state;
    expect_kind("models/stories260K/stories260K-v1.gguf", LQ_FILE_GGUF);
    expect_kind("models/stories260K/stories260K.bin", LQ_FILE_LLAMA2C);
    expect_kind("models/stories260K/tok512.bin", LQ_FILE_UNKNOWN);
    expect_kind("models/tiny-llama-6L/model.safetensors", LQ_FILE_SAFETENSORS);
    expect_kind("models/tiny-llama-6L-sharded/model-00001-of-00002.safetensors",
                LQ_FILE_SAFETENSORS);
    expect_kind("models/tiny-llama-6L", LQ_FILE_HF_DIR);
    expect_kind("models/tiny-llama-6L-sharded", LQ_FILE_HF_DIR);
    expect_kind("models/tiny-llama-6L-pytorch", LQ_FILE_HF_DIR_PYTORCH);
    expect_kind("models/tiny-llama-6L-pytorch/pytorch_model.bin", LQ_FILE_PYTORCH_ZIP);
    expect_kind("models/tiny-llama-6L/config.json", LQ_FILE_UNKNOWN);
    expect_kind("models", LQ_FILE_UNKNOWN);
    enum lq_file_kind kind;
    struct lq_error err;
    assert_int_equal(lq_sniff_path("/nonexistent/x.gguf", &kind, &err), LQ_E_NOT_FOUND);
}

/* stories260K's header: dim 64, hidden 172, 5 layers, 8 heads, 4 KV heads, vocab 512,
 * seq 512: 264,128 floats (hand-counted), so 1,056,540 bytes with the header. */
static void test_sniff_llama2c(void **state)
{
    (void)state;
    static const int32_t cfg[7] = {64, 172, 5, 8, 4, 512, 512};
    unsigned char head[28];
    for (int i = 0; i < 7; i++) {
        lqi_wr_u32(head + 4 * i, (uint32_t)cfg[i]);
    }
    const uint64_t size = 28 + 4 * 264128ull;
    assert_int_equal(lq_sniff_bytes(head, 28, size, "m.bin"), LQ_FILE_LLAMA2C);
    assert_int_equal(lq_sniff_bytes(head, 28, size + 4, "m.bin"), LQ_FILE_UNKNOWN);
    assert_int_equal(lq_sniff_bytes(head, 28, size, "m.dat"), LQ_FILE_UNKNOWN);
    assert_int_equal(lq_sniff_bytes(head, 27, size, "m.bin"), LQ_FILE_UNKNOWN);
    /* negative vocab: an unshared classifier adds vocab x dim floats */
    lqi_wr_u32(head + 20, (uint32_t)-512);
    assert_int_equal(lq_sniff_bytes(head, 28, size + 4 * 512 * 64, "m.bin"), LQ_FILE_LLAMA2C);
    lqi_wr_u32(head + 16, 3); /* 8 heads are not a multiple of 3 KV heads */
    assert_int_equal(lq_sniff_bytes(head, 28, size + 4 * 512 * 64, "m.bin"), LQ_FILE_UNKNOWN);
    for (int i = 0; i < 7; i++) {
        lqi_wr_u32(head + 4 * i, 0x7fffffff);
    }
    assert_int_equal(lq_sniff_bytes(head, 28, UINT64_MAX, "m.bin"), LQ_FILE_UNKNOWN);
}

static void test_sniff_bytes(void **state)
{
    (void)state;
    assert_int_equal(lq_sniff_bytes("GGUF\3\0\0\0", 8, 8, NULL), LQ_FILE_GGUF);
    assert_int_equal(lq_sniff_bytes("PK\3\4xxxx", 8, 8, "a.bin"), LQ_FILE_PYTORCH_ZIP);
    assert_int_equal(lq_sniff_bytes("\2\0\0\0\0\0\0\0{}", 10, 10, NULL), LQ_FILE_SAFETENSORS);
    assert_int_equal(lq_sniff_bytes("\3\0\0\0\0\0\0\0{}", 10, 10, NULL), LQ_FILE_UNKNOWN);
    assert_int_equal(lq_sniff_bytes("\2\0\0\0\0\0\0\0[]", 10, 10, NULL), LQ_FILE_UNKNOWN);
    assert_int_equal(lq_sniff_bytes("GG", 2, 2, NULL), LQ_FILE_UNKNOWN);
    assert_int_equal(lq_sniff_bytes(NULL, 0, 0, NULL), LQ_FILE_UNKNOWN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hf_single_vs_sharded), cmocka_unit_test(test_hf_config),
        cmocka_unit_test(test_hf_other_json),        cmocka_unit_test(test_hf_good_synthetic),
        cmocka_unit_test(test_hf_bad_shards),        cmocka_unit_test(test_hf_bad_index),
        cmocka_unit_test(test_hf_missing_parts),     cmocka_unit_test(test_sniff_shared_data),
        cmocka_unit_test(test_sniff_llama2c),        cmocka_unit_test(test_sniff_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
