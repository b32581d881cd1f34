/* test_inspect.c - `quant inspect` on every format `quant convert` reads, told apart by the
 * same sniffing: GGUF, safetensors, Hugging Face folders (single file, sharded, PyTorch,
 * GPTQ), pytorch_model.bin alone and llama2.c checkpoints. Counts are checked against
 * numbers worked out by hand, shapes are in GGUF order everywhere, and --hash gives the same
 * tensor bytes whatever the container. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lqt_run.h"
#include "lqt_util.h"

/* tiny-llama-6L: 6 layers x (4 attn + 3 ffn + 2 norms) + embed + norm + lm_head tensors;
 * embed 4096x256 x2 + 6 x (256x256x2 + 256x128x2 + 256x768x3 + 256x2) + 256 parameters. */
#define TINY_TENSORS 57
#define TINY_PARAMS 6819072LL

static char *gptq_dir;

static json_t *inspect(const char *path, const char *format)
{
    struct lqt_run r =
        lqt_run_quant((const char *[]){"inspect", "--json", "--hash", path, NULL}, NULL);
    if (r.code != 0)
        fail_msg("quant inspect %s: exit %d: %s", path, r.code, r.err);
    json_error_t jerr;
    json_t *doc = json_loads(r.out, 0, &jerr);
    if (!doc)
        fail_msg("inspect --json of %s: line %d: %s", path, jerr.line, jerr.text);
    lqt_run_free(&r);
    const char *got = json_string_value(json_object_get(doc, "format"));
    if (strcmp(got, format) != 0)
        fail_msg("%s: read as '%s', not '%s'", path, got, format);
    assert_string_equal(json_string_value(json_object_get(doc, "shape_order")), "ggml");
    return doc;
}

static const json_t *tensor(const json_t *doc, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(doc, "tensors"), i, t)
    {
        if (strcmp(json_string_value(json_object_get(t, "name")), name) == 0)
            return t;
    }
    fail_msg("tensor %s missing", name);
    return NULL;
}

static void expect_shape(const json_t *t, int64_t ne0, int64_t ne1)
{
    const json_t *s = json_object_get(t, "shape");
    assert_int_equal(json_array_size(s), 2);
    assert_int_equal(json_integer_value(json_array_get(s, 0)), ne0);
    assert_int_equal(json_integer_value(json_array_get(s, 1)), ne1);
}

static const char *hash(const json_t *doc, const char *name)
{
    return json_string_value(json_object_get(tensor(doc, name), "xxh3"));
}

static void expect_counts(const json_t *doc, size_t n_tensors, long long n_params)
{
    assert_int_equal(json_array_size(json_object_get(doc, "tensors")), n_tensors);
    assert_int_equal(json_integer_value(json_object_get(doc, "n_params")), n_params);
}

static void test_inspect_hf_folders_and_pytorch(void **state)
{
    (void)state;
    json_t *st = inspect(lqt_data_path("models/tiny-llama-6L"), "Hugging Face folder");
    json_t *sh = inspect(lqt_data_path("models/tiny-llama-6L-sharded"), "Hugging Face folder");
    json_t *ptd =
        inspect(lqt_data_path("models/tiny-llama-6L-pytorch"), "Hugging Face folder (PyTorch)");
    json_t *pt =
        inspect(lqt_data_path("models/tiny-llama-6L-pytorch/pytorch_model.bin"), "PyTorch");
    json_t *file = inspect(lqt_data_path("models/tiny-llama-6L/model.safetensors"), "safetensors");
    json_t *all[] = {st, sh, ptd, pt, file};
    const char *embed = "model.embed_tokens.weight", *q = "model.layers.0.self_attn.k_proj.weight";
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        expect_counts(all[i], TINY_TENSORS, TINY_PARAMS);
        /* torch [vocab, hidden] and [kv, hidden] shown as GGUF's ne: row length first */
        expect_shape(tensor(all[i], embed), 256, 4096);
        expect_shape(tensor(all[i], q), 256, 128);
        assert_string_equal(hash(all[i], embed), hash(st, embed));
        assert_string_equal(hash(all[i], q), hash(st, q));
        assert_string_equal(json_string_value(json_object_get(tensor(all[i], q), "type")),
                            i >= 2 && i <= 3 ? "bf16" : "BF16");
    }
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        json_decref(all[i]);
}

static void test_inspect_gguf_and_llama2c(void **state)
{
    (void)state;
    json_t *g = inspect(lqt_data_path("reference/llama.cpp/tiny-llama-6L/f16.gguf"), "GGUF");
    expect_counts(g, TINY_TENSORS, TINY_PARAMS);
    expect_shape(tensor(g, "token_embd.weight"), 256, 4096);
    json_decref(g);

    /* stories260K's header: dim 64, hidden 172, 5 layers, 8 heads, 4 KV heads, vocab 512
     * (shared classifier); the freq_cis tables are not parameters. */
    const char *path = lqt_data_path("models/stories260K/stories260K.bin");
    size_t size;
    int32_t *h = lqt_read_file(path, &size);
    const long long dim = h[0], hid = h[1], nl = h[2], kv = (long long)h[4] * (h[0] / h[3]),
                    voc = h[5] < 0 ? -(long long)h[5] : h[5];
    free(h);
    const long long params =
        voc * dim + nl * (2 * dim + 2 * dim * dim + 2 * dim * kv + 3 * dim * hid) + dim;
    assert_int_equal(params, 260032);
    json_t *l = inspect(path, "llama2.c");
    expect_counts(l, 2 + 9 * 5, params);
    expect_shape(tensor(l, "blk.0.ffn_down.weight"), 172, 64);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(l, "metadata"), "n_kv_heads")), 4);
    json_t *v1 = inspect(lqt_data_path("models/stories260K/stories260K-v1.gguf"), "GGUF");
    assert_string_equal(hash(l, "blk.0.attn_q.weight"), hash(v1, "blk.0.attn_q.weight"));
    json_decref(v1);
    json_decref(l);
}

/* A GPTQ v1 folder (4 bits, layer 0 quantized): each packed int32 qweight [in/8, out] counts
 * in x out parameters and its qzeros / scales / g_idx none, so the total is the model's. */
static void test_inspect_gptq_folder(void **state)
{
    (void)state;
    json_t *doc = inspect(gptq_dir, "Hugging Face folder (GPTQ)");
    assert_int_equal(json_integer_value(json_object_get(doc, "n_params")), TINY_PARAMS);
    const json_t *qw = tensor(doc, "model.layers.0.mlp.down_proj.qweight");
    assert_string_equal(json_string_value(json_object_get(qw, "type")), "gptq-int4");
    expect_shape(qw, 256, 768 / 8); /* torch [in/8, out] */
    assert_int_equal(json_integer_value(json_object_get(qw, "n_params")), 768 * 256);
    assert_int_equal(json_integer_value(json_object_get(
                         tensor(doc, "model.layers.0.mlp.down_proj.scales"), "n_params")),
                     0);
    const json_t *by = json_object_get(json_object_get(doc, "bytes_by_type"), "gptq-int4");
    assert_int_equal(json_integer_value(json_object_get(by, "tensors")), 7);
    json_decref(doc);
}

/* The text form reads the same files; an unknown file is refused naming it (exit 3). */
static void test_inspect_text_and_unknown(void **state)
{
    (void)state;
    const char *pt = lqt_data_path("models/tiny-llama-6L-pytorch/pytorch_model.bin");
    struct lqt_run r = lqt_run_quant((const char *[]){"inspect", "--no-tensors", pt, NULL}, NULL);
    assert_int_equal(r.code, 0);
    assert_non_null(strstr(r.out, "PyTorch"));
    assert_non_null(strstr(r.out, "6819072"));
    lqt_run_free(&r);
    const char *txt = lqt_data_path("text/calib-A.txt");
    r = lqt_run_quant((const char *[]){"inspect", txt, NULL}, NULL);
    lqt_expect_exit(&r, (const char *[]){"inspect", txt, NULL}, 3, txt);
    lqt_run_free(&r);
}

static int setup(void **state)
{
    (void)state;
    char *tmp = lqt_tmpdir();
    gptq_dir = malloc(strlen(tmp) + 8);
    sprintf(gptq_dir, "%s/gptq", tmp);
    free(tmp);
    return lqt_system("LQ_NO_REEXEC=1 %s gptq %s --calib %s --calib-ctx 64 --calib-tokens 128 "
                      "--layers 0:1 --threads 1 --format safetensors --quiet -o %s",
                      LQ_QUANT_BIN, lqt_data_path("models/tiny-llama-6L"),
                      lqt_data_path("text/calib-A.txt"), gptq_dir) == 0
               ? 0
               : -1;
}

static int teardown(void **state)
{
    (void)state;
    char *slash = strrchr(gptq_dir, '/');
    *slash = '\0';
    lqt_rmtree(gptq_dir);
    free(gptq_dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inspect_hf_folders_and_pytorch),
        cmocka_unit_test(test_inspect_gguf_and_llama2c),
        cmocka_unit_test(test_inspect_gptq_folder),
        cmocka_unit_test(test_inspect_text_and_unknown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
