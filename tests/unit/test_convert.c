/* test_convert.c - `quant convert` / `quant quantize` against llama.cpp's own outputs:
 * quantizing its f16.gguf gives its tensor bytes for every type; converting the Hugging Face
 * folder gives its f16.gguf; sharded, single-file and PyTorch copies convert identically; bad
 * inputs fail with a clear message and leave no output file. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lq/convert.h"
#include "lq/gguf.h"
#include "lq/source.h"
#include "lq/tokenizer.h"
#include "lqt_convert.h"
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

static const char *tmp_path(const char *name)
{
    static char buf[4][4096];
    static int slot;
    char *b = buf[slot++ % 4];
    snprintf(b, sizeof buf[0], "%s/%s", g_tmp, name);
    return b;
}

static void convert(const char *src_path, const char *out, const char *ftype, const char *imat)
{
    lqt_convert(src_path, out, ftype, imat, NULL);
}

/* Every tensor of `want` is in `got` with the same type, shape and bytes. */
static void assert_same_tensors(const char *got_path, const char *want_path)
{
    lq_gguf *got = NULL, *want = NULL;
    struct lq_error err;
    assert_int_equal(lq_gguf_open(got_path, &got, &err), LQ_OK);
    assert_int_equal(lq_gguf_open(want_path, &want, &err), LQ_OK);
    assert_int_equal(lq_gguf_n_tensors(got), lq_gguf_n_tensors(want));
    for (int64_t i = 0; i < lq_gguf_n_tensors(want); i++) {
        const struct lq_gguf_tensor_info *w = lq_gguf_tensor(want, i);
        int64_t j = lq_gguf_find_tensor(got, w->name);
        if (j < 0) {
            fail_msg("%s: tensor %s missing", got_path, w->name);
        }
        const struct lq_gguf_tensor_info *g = lq_gguf_tensor(got, j);
        if (g->type != w->type) {
            fail_msg("%s: %s is %s, llama.cpp wrote %s", got_path, w->name, lq_type_name(g->type),
                     lq_type_name(w->type));
        }
        assert_memory_equal(g->ne, w->ne, sizeof g->ne);
        assert_int_equal(g->nbytes, w->nbytes);
        if (memcmp(g->data, w->data, g->nbytes) != 0) {
            size_t k = 0;
            while (((const unsigned char *)g->data)[k] == ((const unsigned char *)w->data)[k]) {
                k++;
            }
            fail_msg("%s: %s (%s) differs from llama.cpp's at byte %zu", got_path, w->name,
                     lq_type_name(w->type), k);
        }
    }
    lq_gguf_free(got);
    lq_gguf_free(want);
}

static void check_quantize(const char *ftype, const char *ref_file, bool imatrix)
{
    char ref[256], out[256];
    snprintf(ref, sizeof ref, REF "%s", ref_file);
    snprintf(out, sizeof out, "%s/%s", g_tmp, ref_file);
    convert(lqt_data_path(REF "f16.gguf"), out, ftype,
            imatrix ? lqt_data_path(REF "imatrix.gguf") : NULL);
    assert_same_tensors(out, lqt_data_path(ref));
    remove(out);
}

static void test_quantize_matches_llama_cpp(void **state)
{
    (void)state;
    static const char *const all[][2] = {
        { "Q8_0", "q8_0.gguf" },     { "Q4_0", "q4_0.gguf" },     { "Q4_1", "q4_1.gguf" },
        { "Q5_0", "q5_0.gguf" },     { "Q5_1", "q5_1.gguf" },     { "Q2_K", "q2_k.gguf" },
        { "Q3_K_M", "q3_k_m.gguf" }, { "Q4_K_S", "q4_k_s.gguf" }, { "Q4_K_M", "q4_k_m.gguf" },
        { "Q5_K_M", "q5_k_m.gguf" }, { "Q6_K", "q6_k.gguf" },
    };
    size_t n = sizeof all / sizeof all[0];
#if defined(__SANITIZE_ADDRESS__)
    n = 3; /* the sanitizer build checks memory safety on a few; the optimised build all */
#endif
    for (size_t i = 0; i < n; i++) {
        check_quantize(all[i][0], all[i][1], false);
    }
    check_quantize("Q4_K_M", "q4_k_m.imatrix.gguf", true);
}

/* Keys llama.cpp reads when it loads a llama model, with equal values. */
static void assert_same_metadata(const char *got_path, const char *want_path)
{
    static const char *const keys[] = {
        "general.architecture", "llama.block_count", "llama.context_length",
        "llama.embedding_length", "llama.feed_forward_length", "llama.attention.head_count",
        "llama.attention.head_count_kv", "llama.rope.freq_base",
        "llama.attention.layer_norm_rms_epsilon", "llama.attention.key_length",
        "llama.attention.value_length", "general.file_type", "llama.vocab_size",
        "llama.rope.dimension_count", "general.quantization_version", "tokenizer.ggml.model",
        "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.scores",
        "tokenizer.ggml.token_type", "tokenizer.ggml.bos_token_id",
        "tokenizer.ggml.eos_token_id", "tokenizer.ggml.add_bos_token",
        "tokenizer.ggml.add_eos_token", "general.name",
    };
    lq_gguf *got = NULL, *want = NULL;
    assert_int_equal(lq_gguf_open(got_path, &got, NULL), LQ_OK);
    assert_int_equal(lq_gguf_open(want_path, &want, NULL), LQ_OK);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        int64_t i = lq_gguf_find_key(want, keys[k]), j = lq_gguf_find_key(got, keys[k]);
        assert_true(i >= 0);
        if (j < 0) {
            fail_msg("%s: key %s missing", got_path, keys[k]);
        }
        const struct lq_gguf_value *a = lq_gguf_value(got, j), *b = lq_gguf_value(want, i);
        if (a->type != b->type) {
            fail_msg("key %s: type %d, llama.cpp %d", keys[k], a->type, b->type);
        }
        if (a->type == LQ_GGUF_STRING) {
            assert_string_equal(a->v.str.s, b->v.str.s);
        } else if (a->type == LQ_GGUF_ARRAY) {
            assert_int_equal(a->v.arr.type, b->v.arr.type);
            assert_int_equal(a->v.arr.n, b->v.arr.n);
            for (uint64_t e = 0; e < a->v.arr.n; e++) {
                if (a->v.arr.type == LQ_GGUF_STRING) {
                    const struct lq_gguf_str *x = a->v.arr.data, *y = b->v.arr.data;
                    assert_string_equal(x[e].s, y[e].s);
                } else {
                    size_t es = a->v.arr.type == LQ_GGUF_FLOAT32 || a->v.arr.type == LQ_GGUF_INT32
                                    ? 4 : 1;
                    assert_memory_equal((const char *)a->v.arr.data + e * es,
                                        (const char *)b->v.arr.data + e * es, es);
                }
            }
        } else if (a->type == LQ_GGUF_BOOL) {
            assert_int_equal(a->v.b, b->v.b);
        } else {
            assert_memory_equal(&a->v, &b->v, a->type == LQ_GGUF_FLOAT64 ? 8 : 4);
        }
    }
    lq_gguf_free(got);
    lq_gguf_free(want);
}

static void test_convert_hf_matches_llama_cpp_f16(void **state)
{
    (void)state;
    const char *out = tmp_path("tiny-f16.gguf");
    convert(lqt_data_path("models/tiny-llama-6L"), out, "F16", NULL);
    assert_same_tensors(out, lqt_data_path(REF "f16.gguf"));
    assert_same_metadata(out, lqt_data_path(REF "f16.gguf"));
}

/* F32 and BF16 output: every tensor at that type, values equal to the source's floats. */
static void test_convert_f32_bf16(void **state)
{
    (void)state;
    const char *ftypes[] = { "F32", "BF16" };
    for (int k = 0; k < 2; k++) {
        const char *out = tmp_path(k ? "tiny-bf16.gguf" : "tiny-f32.gguf");
        convert(lqt_data_path("models/tiny-llama-6L"), out, ftypes[k], NULL);
        lq_gguf *g = NULL;
        lq_source *src = NULL;
        assert_int_equal(lq_gguf_open(out, &g, NULL), LQ_OK);
        assert_int_equal(lq_source_open(lqt_data_path("models/tiny-llama-6L"), &src, NULL), LQ_OK);
        for (int64_t i = 0; i < lq_source_n_tensors(src); i++) {
            const struct lq_source_tensor *t = lq_source_tensor(src, i);
            const struct lq_gguf_tensor_info *gt = lq_gguf_tensor(g, lq_gguf_find_tensor(g, t->name));
            int64_t n = t->ne[0] * t->ne[1];
            float *want = malloc((size_t)n * sizeof(float)), *got = malloc((size_t)n * sizeof(float));
            assert_int_equal(lq_source_read_f32(src, i, want, true, NULL), LQ_OK);
            assert_int_equal(gt->type, t->n_dims == 1 || k == 0 ? LQ_TYPE_F32 : LQ_TYPE_BF16);
            lq_type_traits_get(gt->type)->to_float(gt->data, got, n);
            assert_memory_equal(got, want, (size_t)n * sizeof(float)); /* BF16 source: exact */
            free(want);
            free(got);
        }
        lq_source_free(src);
        lq_gguf_free(g);
    }
}

static void test_sharded_and_pytorch_give_same_bytes(void **state)
{
    (void)state;
    const char *single = tmp_path("single.gguf"), *sharded = tmp_path("sharded.gguf");
    const char *pt = tmp_path("pytorch.gguf");
    convert(lqt_data_path("models/tiny-llama-6L"), single, "Q4_K_M", NULL);
    convert(lqt_data_path("models/tiny-llama-6L-sharded"), sharded, "Q4_K_M", NULL);
    convert(lqt_data_path("models/tiny-llama-6L-pytorch"), pt, "Q4_K_M", NULL);
    /* general.name comes from the folder name; tensors and everything else must agree */
    assert_same_tensors(sharded, single);
    assert_same_tensors(pt, single);
}

static void test_stories260k_converts(void **state)
{
    (void)state;
    const char *out = tmp_path("stories.gguf");
    convert(lqt_data_path("models/stories260K/stories260K.bin"), out, "F32", NULL);
    lq_gguf *g = NULL;
    assert_int_equal(lq_gguf_open(out, &g, NULL), LQ_OK);
    int64_t v = 0;
    assert_int_equal(lq_gguf_get_i64(g, "llama.embedding_length", &v, NULL), LQ_OK);
    assert_int_equal(v, 64);
    assert_int_equal(lq_gguf_get_i64(g, "llama.block_count", &v, NULL), LQ_OK);
    assert_int_equal(v, 5);
    const struct lq_gguf_value *toks;
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.tokens", LQ_GGUF_STRING, &toks, NULL), LQ_OK);
    assert_int_equal(toks->v.arr.n, 512);
    lq_gguf_free(g);
    /* quantized: rows of 64 and 172 are not multiples of 256, the recipe falls back */
    convert(lqt_data_path("models/stories260K/stories260K.bin"), tmp_path("stories-q4km.gguf"),
            "Q4_K_M", NULL);
}

// ---- bad input ----------------------------------------------------------------------------

static void copy_file(const char *from, const char *to)
{
    size_t n;
    void *d = lqt_read_file(from, &n);
    lqt_write_file(to, d, n);
    free(d);
}

/* A copy of the tiny model folder (config + tokenizer + weights), for breaking. */
static char *make_model_copy(const char *name, const char *config_json)
{
    char *dir = strdup(tmp_path(name));
    char path[4096];
    mkdir(dir, 0755);
    static const char *const files[] = { "model.safetensors", "tokenizer.model",
                                         "tokenizer_config.json" };
    for (size_t i = 0; i < 3; i++) {
        char from[256];
        snprintf(from, sizeof from, "models/tiny-llama-6L/%s", files[i]);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        copy_file(lqt_data_path(from), path);
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    lqt_write_file(path, config_json, strlen(config_json));
    return dir;
}

/* Converting src_path in pieces of piece_values (0: the default) fails with code and a
 * message holding needle, copied to msg (may be NULL), and leaves nothing behind. */
static void expect_failure_in_pieces(const char *src_path, const char *ftype, lq_status code,
                                     const char *needle, int64_t piece_values, char *msg,
                                     size_t msg_size)
{
    struct lq_error err;
    lq_source *src = NULL;
    const char *out = tmp_path("never.gguf");
    lq_status rc = lq_source_open(src_path, &src, &err);
    if (rc == LQ_OK) {
        struct lq_convert_params p = lq_convert_params_default();
        assert_int_equal(lq_ftype_from_name(ftype, &p.ftype, NULL), LQ_OK);
        p.piece_values = piece_values;
        rc = lq_convert_run(src, out, &p, NULL, &err);
        lq_source_free(src);
    }
    if (rc != code || !strstr(err.msg, needle)) {
        fail_msg("expected status %d with '%s', got %d: %s", code, needle, rc, err.msg);
    }
    struct stat st;
    assert_int_not_equal(stat(out, &st), 0); /* no output left behind */
    DIR *d = opendir(g_tmp); /* nor a temporary file */
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        assert_null(strstr(e->d_name, "never.gguf"));
    }
    closedir(d);
    if (msg) {
        snprintf(msg, msg_size, "%s", err.msg);
    }
}

static void expect_failure(const char *src_path, const char *ftype, lq_status code,
                           const char *needle)
{
    expect_failure_in_pieces(src_path, ftype, code, needle, 0, NULL, 0);
}

static const char *good_config =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"hidden_size\": 256, "
    "\"intermediate_size\": 768, \"num_hidden_layers\": 6, \"num_attention_heads\": 4, "
    "\"num_key_value_heads\": 2, \"vocab_size\": 4096, \"max_position_embeddings\": 512, "
    "\"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, \"bos_token_id\": 1, "
    "\"eos_token_id\": 2}";

static void test_bad_inputs(void **state)
{
    (void)state;
    char *dir = make_model_copy("good", good_config);
    const char *out = tmp_path("good.gguf");
    convert(dir, out, "F16", NULL); /* the copy itself converts */
    free(dir);

    dir = make_model_copy("no-hidden", "{\"architectures\": [\"LlamaForCausalLM\"], "
                                       "\"num_hidden_layers\": 6}");
    expect_failure(dir, "F16", LQ_E_FORMAT, "hidden_size");
    free(dir);
    dir = make_model_copy("gpt2", "{\"architectures\": [\"GPT2LMHeadModel\"], \"model_type\": "
                                  "\"gpt2\"}");
    expect_failure(dir, "F16", LQ_E_UNSUPPORTED, "GPT2LMHeadModel");
    free(dir);
    char cfg[1024];
    snprintf(cfg, sizeof cfg, "%s", good_config);
    char *p = strstr(cfg, "\"intermediate_size\": 768");
    memcpy(p, "\"intermediate_size\": 512", 24);
    dir = make_model_copy("shape", cfg);
    expect_failure(dir, "F16", LQ_E_FORMAT, "config.json: intermediate_size is 512 but tensor");
    free(dir);
    snprintf(cfg, sizeof cfg, "%s", good_config);
    p = strstr(cfg, "\"num_hidden_layers\": 6");
    memcpy(p, "\"num_hidden_layers\": 7", 22);
    dir = make_model_copy("layers", cfg);
    expect_failure(dir, "F16", LQ_E_FORMAT, "num_hidden_layers is 7 but the tensors have 6 layers");
    free(dir);
}

/* Tensors streamed in pieces of whole rows (one row; a few rows, a tensor's rows not a
 * multiple of it) give the same bytes: the folder's permuted q/k rows, and quantizing with an
 * importance matrix. */
static void test_pieces_give_same_bytes(void **state)
{
    (void)state;
    const char *out = tmp_path("pieces.gguf");
    lqt_convert_in_pieces(lqt_data_path("models/tiny-llama-6L"), out, "F16", NULL, NULL, 1);
    assert_same_tensors(out, lqt_data_path(REF "f16.gguf"));
    lqt_convert_in_pieces(lqt_data_path(REF "f16.gguf"), out, "Q4_K_M",
                          lqt_data_path(REF "imatrix.gguf"), NULL, 7 * 256);
    assert_same_tensors(out, lqt_data_path(REF "q4_k_m.imatrix.gguf"));
    lqt_convert_in_pieces(lqt_data_path(REF "f16.gguf"), out, "Q8_0", NULL, NULL, 5000);
    assert_same_tensors(out, lqt_data_path(REF "q8_0.gguf"));
    remove(out);
}

static void test_nonfinite_weights_refused(void **state)
{
    (void)state;
    char *dir = make_model_copy("nan", good_config);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    size_t n;
    unsigned char *d = lqt_read_file(path, &n);
    /* the last tensor's data ends the file: poison its last BF16 value with a NaN */
    d[n - 2] = 0xc0;
    d[n - 1] = 0x7f;
    lqt_write_file(path, d, n);
    free(d);
    /* the same position named whether the tensor is read whole or a row at a time */
    char whole[512], by_rows[512];
    expect_failure_in_pieces(dir, "Q8_0", LQ_E_RANGE, "NaN", 0, whole, sizeof whole);
    expect_failure_in_pieces(dir, "Q8_0", LQ_E_RANGE, "NaN", 1, by_rows, sizeof by_rows);
    assert_string_equal(whole, by_rows);
    assert_non_null(strstr(whole, "row "));
    free(dir);
}

static void test_missing_shard(void **state)
{
    (void)state;
    char *dir = strdup(tmp_path("shards"));
    mkdir(dir, 0755);
    char from[256], to[4096];
    static const char *const files[] = { "config.json", "model.safetensors.index.json",
                                         "model-00001-of-00002.safetensors", "tokenizer.model" };
    for (size_t i = 0; i < 4; i++) {
        snprintf(from, sizeof from, "models/tiny-llama-6L-sharded/%s", files[i]);
        snprintf(to, sizeof to, "%s/%s", dir, files[i]);
        copy_file(lqt_data_path(from), to);
    }
    expect_failure(dir, "F16", LQ_E_FORMAT, "model-00002-of-00002.safetensors");
    free(dir);
}

/* Llama 3.1 rope scaling becomes rope_freqs.weight: factors 1 for short wavelengths, `factor`
 * for long ones, smoothed between (values worked out from llama.cpp's formula). */
static void test_llama3_rope_scaling(void **state)
{
    (void)state;
    char cfg[2048];
    snprintf(cfg, sizeof cfg, "%.*s, \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, "
             "\"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
             "\"original_max_position_embeddings\": 64}}",
             (int)strlen(good_config) - 1, good_config);
    char *dir = make_model_copy("llama3", cfg);
    const char *out = tmp_path("llama3.gguf");
    convert(dir, out, "F16", NULL);
    lq_gguf *g = NULL;
    assert_int_equal(lq_gguf_open(out, &g, NULL), LQ_OK);
    int64_t id = lq_gguf_find_tensor(g, "rope_freqs.weight");
    assert_true(id >= 0);
    const struct lq_gguf_tensor_info *t = lq_gguf_tensor(g, id);
    assert_int_equal(t->type, LQ_TYPE_F32);
    assert_int_equal(t->ne[0], 32);
    float f[32];
    memcpy(f, t->data, sizeof f);
    /* head_dim 64, base 1e4: wavelength of pair i is 2*pi*1e4^(2i/64). Wavelengths below
     * 64/4 = 16 keep factor 1 (i = 3: 14.9), those above 64/1 = 64 get 8 (i = 31). */
    assert_true(fabsf(f[0] - 1.0f) < 1e-6f);
    assert_true(fabsf(f[3] - 1.0f) < 1e-6f);
    assert_true(fabsf(f[31] - 8.0f) < 1e-6f);
    /* i = 4: wavelength 2*pi*10^(4*8/64) = 19.87; smooth = (64/19.87 - 1) / 3 = 0.740;
     * factor = 1 / ((1 - 0.740) / 8 + 0.740) = 1.294 */
    assert_true(fabsf(f[4] - 1.2940f) < 2e-3f);
    lq_gguf_free(g);
    free(dir);
}

/* A byte-level BPE tokenizer.json becomes tokenizer.ggml.model = "gpt2" with tokens, types,
 * merges and the special ids, and the evaluation tokenizer loads it. */
static void test_bpe_tokenizer_json(void **state)
{
    (void)state;
    char *dir = make_model_copy("bpe", good_config);
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.model", dir);
    remove(path);
    /* vocab: 0 <unk>, 1 <s>, 2 </s>, then "h","e","l","o","he","ll","hell","hello" */
    const char *json =
        "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"<unk>\": 0, \"<s>\": 1, \"</s>\": 2, "
        "\"h\": 3, \"e\": 4, \"l\": 5, \"o\": 6, \"he\": 7, \"ll\": 8, \"hell\": 9, "
        "\"hello\": 10}, \"merges\": [\"h e\", \"l l\", \"he ll\", [\"hell\", \"o\"]]}, "
        "\"added_tokens\": [{\"id\": 1, \"content\": \"<s>\", \"special\": true}, "
        "{\"id\": 2, \"content\": \"</s>\", \"special\": true}], "
        "\"pre_tokenizer\": {\"type\": \"ByteLevel\"}}";
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    lqt_write_file(path, json, strlen(json));
    const char *out = tmp_path("bpe.gguf");
    convert(dir, out, "F16", NULL);
    lq_gguf *g = NULL;
    assert_int_equal(lq_gguf_open(out, &g, NULL), LQ_OK);
    const char *model = NULL;
    assert_int_equal(lq_gguf_get_str(g, "tokenizer.ggml.model", &model, NULL), LQ_OK);
    assert_string_equal(model, "gpt2");
    const struct lq_gguf_value *toks, *types, *merges;
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.tokens", LQ_GGUF_STRING, &toks, NULL), LQ_OK);
    assert_int_equal(toks->v.arr.n, 4096); /* padded to config.json's vocab_size */
    assert_string_equal(((const struct lq_gguf_str *)toks->v.arr.data)[10].s, "hello");
    assert_string_equal(((const struct lq_gguf_str *)toks->v.arr.data)[11].s, "[PAD11]");
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.token_type", LQ_GGUF_INT32, &types, NULL),
                     LQ_OK);
    assert_int_equal(((const int32_t *)types->v.arr.data)[1], 3);  /* special: CONTROL */
    assert_int_equal(((const int32_t *)types->v.arr.data)[10], 1); /* NORMAL */
    assert_int_equal(((const int32_t *)types->v.arr.data)[11], 5); /* padding: UNUSED */
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.merges", LQ_GGUF_STRING, &merges, NULL),
                     LQ_OK);
    assert_int_equal(merges->v.arr.n, 4);
    assert_string_equal(((const struct lq_gguf_str *)merges->v.arr.data)[3].s, "hell o");
    uint64_t bos = 0;
    assert_int_equal(lq_gguf_get_u64(g, "tokenizer.ggml.bos_token_id", &bos, NULL), LQ_OK);
    assert_int_equal(bos, 1);
    lq_tokenizer *tok = NULL;
    struct lq_error err;
    if (lq_tokenizer_from_gguf(g, &tok, &err) != LQ_OK) {
        fail_msg("tokenizer: %s", err.msg);
    }
    int32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(lq_tokenizer_encode(tok, "hello", 5, 0, &ids, &n, &err), LQ_OK);
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], 10);
    lq_tokenizer_ids_free(ids);
    lq_tokenizer_free(tok);
    lq_gguf_free(g);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantize_matches_llama_cpp),
        cmocka_unit_test(test_convert_hf_matches_llama_cpp_f16),
        cmocka_unit_test(test_convert_f32_bf16),
        cmocka_unit_test(test_sharded_and_pytorch_give_same_bytes),
        cmocka_unit_test(test_stories260k_converts),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_pieces_give_same_bytes),
        cmocka_unit_test(test_nonfinite_weights_refused),
        cmocka_unit_test(test_missing_shard),
        cmocka_unit_test(test_llama3_rope_scaling),
        cmocka_unit_test(test_bpe_tokenizer_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
