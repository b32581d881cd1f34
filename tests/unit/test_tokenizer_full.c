/* test_tokenizer_full.c - the full-size Hugging Face tokenizers of tokenizers/ (Llama 3.1,
 * Qwen3: byte-level BPE; Gemma 3: SentencePiece-style BPE with byte fallback).
 *
 * Each tokenizer.json / tokenizer_config.json goes into a folder with the config.json of the
 * model llama.cpp converted it with (vocab_size and special ids as the real model's), and
 * lq_source_write_hf_vocab writes its vocabulary keys the way `quant convert` does. Those must
 * equal llama.cpp's vocab-only conversion (vocab.json: every tokenizer.* key, its GGUF type,
 * and its value, arrays by count and XXH3-64 of the packed payload). The tokenizer built
 * from the keys must then reproduce tests.out for every input of tests.inp (ids without BOS,
 * parse_special off, as llama.cpp's test-tokenizer-0). Load times are printed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <xxhash.h>

#include "lq/gguf.h"
#include "lq/gguf_writer.h"
#include "lq/source.h"
#include "lq/tokenizer.h"
#include "lqt_craft.h"
#include "lqt_run.h"
#include "lqt_tok.h"
#include "lqt_util.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A folder holding config.json (the given text, or src's own when NULL) and the tokenizer
 * files of the data folder src. */
static char *make_folder(const char *src, const char *config)
{
    char *dir = lqt_tmpdir(), path[4096], rel[256];
    static const char *const files[] = {"tokenizer.json", "tokenizer_config.json", "config.json"};
    for (int i = 0; i < 3; i++) {
        snprintf(rel, sizeof rel, "%s/%s", src, files[i]);
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (i < 2 || !config) {
            lqt_craft_copy_file(lqt_data_path(rel), path);
        } else {
            lqt_write_file(path, config, strlen(config));
        }
    }
    return dir;
}

/* The vocabulary keys of the folder, as a GGUF held in memory (*buf owns its bytes). */
static lq_gguf *vocab_gguf(const char *dir, const char *what, void **buf, size_t *size)
{
    struct lq_error err = {0};
    lq_gguf_writer *w = NULL;
    lq_gguf *g = NULL;
    size_t n = 0;
    double t0 = now_s();
    assert_int_equal(lq_gguf_writer_open_memory(&w, &err), LQ_OK);
    if (lq_source_write_hf_vocab(dir, w, &err) != LQ_OK) {
        fail_msg("%s: %s", what, err.msg);
    }
    assert_int_equal(lq_gguf_writer_header_bytes(w, NULL, 0, &n, &err), LQ_OK);
    *buf = malloc(n);
    assert_int_equal(lq_gguf_writer_header_bytes(w, *buf, n, &n, &err), LQ_OK);
    lq_gguf_writer_free(w);
    assert_int_equal(lq_gguf_open_memory(*buf, n, what, &g, &err), LQ_OK);
    *size = n;
    printf("%-10s tokenizer.json -> GGUF keys: %.3f s\n", what, now_s() - t0);
    return g;
}

// ---- comparison with llama.cpp's vocab.json -------------------------------------------------

static const char *type_name(enum lq_gguf_type t)
{
    static const char *const names[] = {"UINT8",  "INT8",    "UINT16", "INT16",  "UINT32",
                                        "INT32",  "FLOAT32", "BOOL",   "STRING", "ARRAY",
                                        "UINT64", "INT64",   "FLOAT64"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* XXH3-64 of an array's payload as GGUF stores it: strings as u64 length + bytes, numbers
 * packed little-endian. */
static uint64_t array_hash(const struct lq_gguf_value *v)
{
    XXH3_state_t *st = XXH3_createState();
    XXH3_64bits_reset(st);
    if (v->v.arr.type == LQ_GGUF_STRING) {
        const struct lq_gguf_str *s = v->v.arr.data;
        for (uint64_t i = 0; i < v->v.arr.n; i++) {
            uint64_t len = s[i].len;
            XXH3_64bits_update(st, &len, sizeof len);
            XXH3_64bits_update(st, s[i].s, s[i].len);
        }
    } else {
        assert_true(v->v.arr.type == LQ_GGUF_INT32 || v->v.arr.type == LQ_GGUF_FLOAT32);
        XXH3_64bits_update(st, v->v.arr.data, v->v.arr.n * 4);
    }
    uint64_t h = XXH3_64bits_digest(st);
    XXH3_freeState(st);
    return h;
}

/* One key: "what differs", or NULL when ours equals llama.cpp's. */
static const char *compare_key(const lq_gguf *g, const char *key, const json_t *want,
                               const char *want_type, char *msg, size_t cap)
{
    int64_t id = lq_gguf_find_key(g, key);
    if (id < 0) {
        return "missing";
    }
    const struct lq_gguf_value *v = lq_gguf_value(g, id);
    char type[32];
    if (v->type == LQ_GGUF_ARRAY) {
        snprintf(type, sizeof type, "ARRAY[%s]", type_name(v->v.arr.type));
    } else {
        snprintf(type, sizeof type, "%s", type_name(v->type));
    }
    if (strcmp(type, want_type) != 0) {
        snprintf(msg, cap, "type %s, want %s", type, want_type);
        return msg;
    }
    switch (v->type) {
    case LQ_GGUF_STRING:
        if (strlen(json_string_value(want)) != v->v.str.len ||
            memcmp(json_string_value(want), v->v.str.s, v->v.str.len) != 0) {
            snprintf(msg, cap, "'%.60s', want '%.60s'", v->v.str.s, json_string_value(want));
            return msg;
        }
        return NULL;
    case LQ_GGUF_UINT32:
        if ((json_int_t)v->v.u32 != json_integer_value(want)) {
            snprintf(msg, cap, "%u, want %lld", v->v.u32, (long long)json_integer_value(want));
            return msg;
        }
        return NULL;
    case LQ_GGUF_BOOL:
        return v->v.b == json_is_true(want) ? NULL : "other boolean";
    case LQ_GGUF_ARRAY: {
        char hex[17];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)array_hash(v));
        const char *want_hex = json_string_value(json_object_get(want, "xxh3"));
        if ((json_int_t)v->v.arr.n != json_integer_value(json_object_get(want, "count")) ||
            strcmp(hex, want_hex) != 0) {
            snprintf(msg, cap, "%llu entries, xxh3 %s; want %lld, %s",
                     (unsigned long long)v->v.arr.n, hex,
                     (long long)json_integer_value(json_object_get(want, "count")), want_hex);
            return msg;
        }
        return NULL;
    }
    default:
        return "unexpected type";
    }
}

/* Every tokenizer.* key of the reference (llama.cpp's GGUF as JSON) equals ours, and we write
 * no other. */
static void compare_reference(const lq_gguf *g, const char *name, const char *ref_rel)
{
    char msg[256];
    json_error_t je;
    json_t *ref = json_load_file(lqt_data_path(ref_rel), 0, &je);
    assert_non_null(ref);
    const json_t *meta = json_object_get(ref, "metadata");
    const json_t *types = json_object_get(ref, "metadata_types");
    const char *key;
    json_t *val;
    int bad = 0, n = 0;
    json_object_foreach((json_t *)meta, key, val)
    {
        if (strncmp(key, "tokenizer.", 10) != 0) {
            continue;
        }
        const char *why = compare_key(g, key, val, json_string_value(json_object_get(types, key)),
                                      msg, sizeof msg);
        n++;
        if (why) {
            printf("  %s: %s: %s\n", name, key, why);
            bad++;
        }
    }
    for (int64_t i = 0; i < lq_gguf_n_kv(g); i++) {
        if (strncmp(lq_gguf_key(g, i), "tokenizer.", 10) == 0 &&
            !json_object_get(meta, lq_gguf_key(g, i))) {
            printf("  %s: %s: not written by llama.cpp\n", name, lq_gguf_key(g, i));
            bad++;
        }
    }
    printf("%-10s %d tokenizer keys compared with llama.cpp's %s, %d differ\n", name, n, ref_rel,
           bad);
    json_decref(ref);
    assert_int_equal(bad, 0);
}

// ---- tokenizing -----------------------------------------------------------------------------

static lq_tokenizer *load_tokenizer(const lq_gguf *g, const char *what)
{
    struct lq_error err = {0};
    lq_tokenizer *tok = NULL;
    double t0 = now_s();
    if (lq_tokenizer_from_gguf(g, &tok, &err) != LQ_OK) {
        fail_msg("%s: %s", what, err.msg);
    }
    printf("%-10s tokenizer load (%d tokens): %.3f s\n", what, lq_tokenizer_n_vocab(tok),
           now_s() - t0);
    return tok;
}

static void check_cases(const lq_tokenizer *tok, const char *what, const char *inp, const char *out)
{
    struct lqt_cases c;
    struct lq_error err = {0};
    size_t pass = 0;
    lqt_cases_load(&c, inp, out);
    for (size_t i = 0; i < c.n; i++) {
        int32_t *ids;
        size_t n;
        char label[64];
        snprintf(label, sizeof label, "%s case %zu", what, i);
        assert_int_equal(lq_tokenizer_encode(tok, c.text[i], c.len[i], 0, &ids, &n, &err), LQ_OK);
        pass += lqt_ids_match(ids, n, c.ids[i], label);
        lq_tokenizer_ids_free(ids);
    }
    printf("%-10s %zu/%zu inputs of %s match\n", what, pass, c.n, inp);
    lqt_cases_free(&c);
    assert_int_equal(pass, c.n);
}

/* `quant inspect` of the vocabulary written as a GGUF file names model and pre-tokenizer. */
static void check_inspect(const char *dir, const void *buf, size_t size, const char *want)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/vocab.gguf", dir);
    lqt_write_file(path, buf, size);
    const char *args[] = {"inspect", path, NULL};
    struct lqt_run r = lqt_run_quant(args, NULL);
    lqt_expect_exit(&r, args, 0, NULL);
    if (!strstr(r.out, want)) {
        fail_msg("quant inspect %s: no '%s' in:\n%s", path, want, r.out);
    }
    lqt_run_free(&r);
}

struct full_case {
    const char *name;    /* for messages */
    const char *src;     /* data folder with tokenizer.json and tokenizer_config.json */
    const char *config;  /* config.json text; NULL: src's own */
    const char *ref;     /* llama.cpp's metadata as JSON; NULL: none */
    bool tests;          /* src holds tests.inp / tests.out */
    const char *inspect; /* what `quant inspect` prints for it */
};

static void check_tokenizer(const struct full_case *fc)
{
    char *dir = make_folder(fc->src, fc->config), inp[256], out[256];
    void *buf;
    size_t size;
    lq_gguf *g = vocab_gguf(dir, fc->name, &buf, &size);
    if (fc->ref) {
        compare_reference(g, fc->name, fc->ref);
    }
    if (fc->tests) {
        lq_tokenizer *tok = load_tokenizer(g, fc->name);
        snprintf(inp, sizeof inp, "%s/tests.inp", fc->src);
        snprintf(out, sizeof out, "%s/tests.out", fc->src);
        check_cases(tok, fc->name, inp, out);
        lq_tokenizer_free(tok);
    }
    check_inspect(dir, buf, size, fc->inspect);
    lq_gguf_free(g);
    free(buf);
    lqt_rmtree(dir);
    free(dir);
}

/* Llama-3.1-8B-Instruct's config.json as far as the vocabulary goes. */
static void test_tokenizer_full_llama31(void **state)
{
    (void)state;
    static const struct full_case fc = {
        "llama3.1",
        "tokenizers/llama3.1",
        "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 128256, "
        "\"bos_token_id\": 128000, \"eos_token_id\": [128001, 128008, 128009]}",
        "tokenizers/llama3.1/vocab.json",
        true,
        "tokenizer:     gpt2, pre-tokenizer llama-bpe, 128256 tokens"};
    check_tokenizer(&fc);
}

/* Qwen3-8B's: the vocabulary padded to 151,936 ids. */
static void test_tokenizer_full_qwen3(void **state)
{
    (void)state;
    static const struct full_case fc = {
        "qwen3",
        "tokenizers/qwen3",
        "{\"architectures\": [\"Qwen3ForCausalLM\"], \"vocab_size\": 151936, "
        "\"bos_token_id\": 151643, \"eos_token_id\": 151645}",
        "tokenizers/qwen3/vocab.json",
        true,
        "tokenizer:     gpt2, pre-tokenizer qwen2, 151936 tokens"};
    check_tokenizer(&fc);
}

/* Gemma 3's (vocab_size 262,208: the tokenizer's 262,145 ids are what counts). */
static void test_tokenizer_full_gemma3(void **state)
{
    (void)state;
    static const struct full_case fc = {
        "gemma3",
        "tokenizers/gemma3",
        "{\"architectures\": [\"Gemma3ForCausalLM\"], \"vocab_size\": 262208, "
        "\"bos_token_id\": 2, \"eos_token_id\": [1, 106], \"pad_token_id\": 0}",
        NULL,
        true,
        "tokenizer:     gemma4, pre-tokenizer (not stated), 262145 tokens"};
    check_tokenizer(&fc);
}

/* Gemma 3's tokenizer.json in a Llama folder: what llama.cpp's Llama converter writes from it
 * (_set_vocab_llama_hf): model "llama", pre "default", every score -1000, no merges. */
static void test_tokenizer_full_gemma3_in_llama(void **state)
{
    (void)state;
    char *dir = make_folder("tokenizers/gemma3",
                            "{\"architectures\": [\"LlamaForCausalLM\"], \"vocab_size\": 262208}");
    void *buf;
    size_t size;
    const char *model = NULL, *pre = NULL;
    const struct lq_gguf_value *scores = NULL, *types = NULL;
    lq_gguf *g = vocab_gguf(dir, "gemma3-llama", &buf, &size);
    assert_int_equal(lq_gguf_get_str(g, "tokenizer.ggml.model", &model, NULL), LQ_OK);
    assert_int_equal(lq_gguf_get_str(g, "tokenizer.ggml.pre", &pre, NULL), LQ_OK);
    assert_string_equal(model, "llama");
    assert_string_equal(pre, "default");
    assert_true(lq_gguf_find_key(g, "tokenizer.ggml.merges") < 0);
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.scores", LQ_GGUF_FLOAT32, &scores, NULL),
                     LQ_OK);
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.token_type", LQ_GGUF_INT32, &types, NULL),
                     LQ_OK);
    assert_int_equal(scores->v.arr.n, 262145);
    for (uint64_t i = 0; i < scores->v.arr.n; i++) {
        assert_true(((const float *)scores->v.arr.data)[i] == -1000.0f);
    }
    /* <pad> 0 and <bos> 2 special, <0x0A> a byte, <image_soft_token> 262144 special */
    const int32_t *t = types->v.arr.data;
    assert_int_equal(t[0], 3);
    assert_int_equal(t[2], 3);
    assert_int_equal(t[262144], 3);
    int64_t id = -1;
    const struct lq_gguf_value *toks = NULL;
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.tokens", LQ_GGUF_STRING, &toks, NULL),
                     LQ_OK);
    for (uint64_t i = 0; i < toks->v.arr.n && id < 0; i++) {
        const struct lq_gguf_str *s = &((const struct lq_gguf_str *)toks->v.arr.data)[i];
        id = s->len == 6 && memcmp(s->s, "<0x0A>", 6) == 0 ? (int64_t)i : -1;
    }
    assert_true(id >= 0);
    assert_int_equal(t[id], 6);
    lq_gguf_free(g);
    free(buf);
    lqt_rmtree(dir);
    free(dir);
}

/* tiny-qwen3moe's small byte-level tokenizer.json (its tokenizer.model left out, as llama.cpp's
 * Qwen converters read only tokenizer.json): special ids and add flags from
 * tokenizer_config.json and its TemplateProcessing, as in llama.cpp's f16 conversion. */
static void test_tokenizer_full_tiny_qwen3moe(void **state)
{
    (void)state;
    static const struct full_case fc = {"tiny-qwen3moe",
                                        "models/tiny-qwen3moe",
                                        NULL,
                                        "reference/llama.cpp/tiny-qwen3moe/f16.json",
                                        false,
                                        "tokenizer:     gpt2, pre-tokenizer qwen2, 4096 tokens"};
    check_tokenizer(&fc);
}

/* `quant convert` of a one-layer Llama (zero BF16 weights, 128,256-row embedding and output)
 * with Llama 3.1's tokenizer files: the GGUF file's tokenizer keys are llama.cpp's. */
static void test_tokenizer_full_convert(void **state)
{
    (void)state;
    char *dir =
        make_folder("tokenizers/llama3.1",
                    "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", "
                    "\"hidden_size\": 64, \"intermediate_size\": 128, "
                    "\"num_hidden_layers\": 1, \"num_attention_heads\": 1, "
                    "\"num_key_value_heads\": 1, \"vocab_size\": 128256, "
                    "\"max_position_embeddings\": 2048, \"rms_norm_eps\": 1e-05, "
                    "\"rope_theta\": 500000.0, \"bos_token_id\": 128000, "
                    "\"eos_token_id\": [128001, 128008, 128009]}");
    const struct lqt_st_tensor t[] = {
        {"model.embed_tokens.weight", "BF16", 2, {128256, 64}, NULL},
        {"lm_head.weight", "BF16", 2, {128256, 64}, NULL},
        {"model.norm.weight", "BF16", 1, {64}, NULL},
        {"model.layers.0.input_layernorm.weight", "BF16", 1, {64}, NULL},
        {"model.layers.0.post_attention_layernorm.weight", "BF16", 1, {64}, NULL},
        {"model.layers.0.self_attn.q_proj.weight", "BF16", 2, {64, 64}, NULL},
        {"model.layers.0.self_attn.k_proj.weight", "BF16", 2, {64, 64}, NULL},
        {"model.layers.0.self_attn.v_proj.weight", "BF16", 2, {64, 64}, NULL},
        {"model.layers.0.self_attn.o_proj.weight", "BF16", 2, {64, 64}, NULL},
        {"model.layers.0.mlp.gate_proj.weight", "BF16", 2, {128, 64}, NULL},
        {"model.layers.0.mlp.up_proj.weight", "BF16", 2, {128, 64}, NULL},
        {"model.layers.0.mlp.down_proj.weight", "BF16", 2, {64, 128}, NULL},
    };
    char st[4096], out[4096];
    snprintf(st, sizeof st, "%s/model.safetensors", dir);
    snprintf(out, sizeof out, "%s/out.gguf", dir);
    lqt_craft_safetensors(st, t, sizeof t / sizeof t[0]);
    const char *args[] = {"convert", dir, "-o", out, "--quiet", NULL};
    struct lqt_run r = lqt_run_quant(args, NULL);
    lqt_expect_exit(&r, args, 0, NULL);
    lqt_run_free(&r);
    struct lq_error err = {0};
    lq_gguf *g = NULL;
    assert_int_equal(lq_gguf_open(out, &g, &err), LQ_OK);
    compare_reference(g, "convert", "tokenizers/llama3.1/vocab.json");
    lq_gguf_free(g);
    lqt_rmtree(dir);
    free(dir);
}

// ---- small crafted folders: recognition and refusals --------------------------------------

/* A folder with the three files given as text (tok_config may be NULL). */
static char *small_folder(const char *config, const char *tok_json, const char *tok_config)
{
    char *dir = lqt_tmpdir(), path[4096];
    const char *names[] = {"config.json", "tokenizer.json", "tokenizer_config.json"};
    const char *texts[] = {config, tok_json, tok_config};
    for (int i = 0; i < 3; i++) {
        if (texts[i]) {
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            lqt_write_file(path, texts[i], strlen(texts[i]));
        }
    }
    return dir;
}

/* lq_source_write_hf_vocab's status for the folder; msg gets its error, or on success
 * "pre=" and the tokenizer.ggml.pre written. */
static lq_status small_vocab(const char *config, const char *tok_json, const char *tok_config,
                             char *msg, size_t cap)
{
    char *dir = small_folder(config, tok_json, tok_config);
    struct lq_error err = {0};
    lq_gguf_writer *w = NULL;
    assert_int_equal(lq_gguf_writer_open_memory(&w, &err), LQ_OK);
    lq_status rc = lq_source_write_hf_vocab(dir, w, &err);
    snprintf(msg, cap, "%s", rc == LQ_OK ? "" : err.msg);
    if (rc == LQ_OK) {
        size_t n;
        assert_int_equal(lq_gguf_writer_header_bytes(w, NULL, 0, &n, &err), LQ_OK);
        char *buf = malloc(n);
        lq_gguf *g = NULL;
        const char *pre = "";
        assert_int_equal(lq_gguf_writer_header_bytes(w, buf, n, &n, &err), LQ_OK);
        assert_int_equal(lq_gguf_open_memory(buf, n, "small", &g, &err), LQ_OK);
        (void)lq_gguf_get_str(g, "tokenizer.ggml.pre", &pre, NULL);
        snprintf(msg, cap, "pre=%s", pre);
        lq_gguf_free(g);
        free(buf);
    }
    lq_gguf_writer_free(w);
    lqt_rmtree(dir);
    free(dir);
    return rc;
}

#define BYTE_LEVEL_JSON(regex, vocab)                                                              \
    "{\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", "      \
    "\"pattern\": {\"Regex\": \"" regex "\"}, \"behavior\": \"Isolated\"}, {\"type\": "            \
    "\"ByteLevel\", \"use_regex\": false}]}, \"model\": {\"type\": \"BPE\", \"vocab\": " vocab     \
    ", \"merges\": [\"a b\"]}}"

/* Qwen3.5's split regex as its tokenizer.json spells it (JSON-escaped). */
#define QWEN35_JSON_RE                                                                             \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?[\\\\p{L}\\\\p{M}]+|\\\\p{N}| "    \
    "?[^\\\\s\\\\p{L}\\\\p{M}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+"

static void test_tokenizer_full_recognition(void **state)
{
    (void)state;
    char msg[1024];
    const char *cfg = "{\"vocab_size\": 3}";
    /* a known regex other than the data's: Qwen3.5 */
    assert_int_equal(small_vocab(cfg,
                                 BYTE_LEVEL_JSON(QWEN35_JSON_RE, "{\"a\": 0, \"b\": 1, \"ab\": 2}"),
                                 NULL, msg, sizeof msg),
                     LQ_OK);
    assert_string_equal(msg, "pre=qwen35");
    /* an unknown regex is refused, naming file, regex and the known kinds */
    assert_int_equal(small_vocab(cfg,
                                 BYTE_LEVEL_JSON("\\\\p{L}+", "{\"a\": 0, \"b\": 1, \"ab\": 2}"),
                                 NULL, msg, sizeof msg),
                     LQ_E_UNSUPPORTED);
    assert_non_null(strstr(msg, "tokenizer.json: pre_tokenizer regex '\\p{L}+'"));
    assert_non_null(strstr(msg, "known: llama-bpe"));
    /* a vocabulary id given twice */
    assert_int_equal(small_vocab(cfg, BYTE_LEVEL_JSON(QWEN35_JSON_RE, "{\"a\": 0, \"b\": 0}"), NULL,
                                 msg, sizeof msg),
                     LQ_E_FORMAT);
    assert_non_null(strstr(msg, "tokenizer.json: model.vocab: id 0 is given twice"));
    /* ids outside the vocabulary, ids that are no integers */
    assert_int_equal(
        small_vocab(cfg, BYTE_LEVEL_JSON(QWEN35_JSON_RE, "{\"a\": 5}"), NULL, msg, sizeof msg),
        LQ_E_FORMAT);
    assert_non_null(strstr(
        msg, "tokenizer.json: model.vocab entry 'a' has id 5 outside the vocabulary's 0..2"));
    assert_int_equal(
        small_vocab(cfg, BYTE_LEVEL_JSON(QWEN35_JSON_RE, "{\"a\": \"0\"}"), NULL, msg, sizeof msg),
        LQ_E_FORMAT);
    assert_non_null(strstr(msg, "model.vocab entry 'a' has a string as id, not an integer"));
    /* config.json's vocab_size of the wrong type */
    assert_int_equal(small_vocab("{\"vocab_size\": \"3\"}",
                                 BYTE_LEVEL_JSON(QWEN35_JSON_RE, "{\"a\": 0}"), NULL, msg,
                                 sizeof msg),
                     LQ_E_FORMAT);
    assert_non_null(strstr(msg, "vocab_size"));
}

/* A SentencePiece-style tokenizer.json whose added tokens leave a gap after the vocabulary is
 * refused; tokenizer_config.json's 31-digit model_max_length (Llama 3's) does not stop it. */
static void test_tokenizer_full_spm_style_refused(void **state)
{
    (void)state;
    char msg[1024];
    const char *spm =
        "{\"decoder\": {\"type\": \"Sequence\", \"decoders\": []}, \"added_tokens\": "
        "[{\"id\": %d, \"content\": \"<x>\", \"special\": true}], \"model\": "
        "{\"type\": \"BPE\", \"byte_fallback\": true, \"vocab\": {\"a\": 0, \"b\": 1},"
        " \"merges\": []}}";
    const char *big =
        "{\"model_max_length\": 1000000000000000019884624838656, \"bos_token\": \"<x>\"}";
    char text[1024];
    snprintf(text, sizeof text, spm, 3);
    assert_int_equal(small_vocab("{}", text, big, msg, sizeof msg), LQ_E_FORMAT);
    assert_non_null(strstr(msg, "tokenizer.json: added_tokens[0]: id 3 leaves a gap"));
    snprintf(text, sizeof text, spm, 2);
    assert_int_equal(small_vocab("{}", text, big, msg, sizeof msg), LQ_OK);
    /* an id past the vocabulary but within the added tokens' count, the others inside it */
    const char *spm4 = "{\"decoder\": {\"type\": \"Sequence\"}, \"added_tokens\": [{\"id\": 4, "
                       "\"content\": \"<x>\"}, {\"id\": 0, \"content\": \"a\"}, {\"id\": 0, "
                       "\"content\": \"a\"}], \"model\": {\"type\": \"BPE\", \"byte_fallback\": "
                       "true, \"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": []}}";
    assert_int_equal(small_vocab("{}", spm4, NULL, msg, sizeof msg), LQ_E_FORMAT);
    assert_non_null(strstr(msg, "tokenizer.json: added_tokens[0]: id 4 leaves a gap"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenizer_full_llama31),
        cmocka_unit_test(test_tokenizer_full_qwen3),
        cmocka_unit_test(test_tokenizer_full_gemma3),
        cmocka_unit_test(test_tokenizer_full_gemma3_in_llama),
        cmocka_unit_test(test_tokenizer_full_tiny_qwen3moe),
        cmocka_unit_test(test_tokenizer_full_convert),
        cmocka_unit_test(test_tokenizer_full_recognition),
        cmocka_unit_test(test_tokenizer_full_spm_style_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
