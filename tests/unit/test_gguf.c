/* test_gguf.c - the GGUF reader on the shared data files: llama.cpp's vocabulary files,
 * the GGUF v1 stories260K against its llama2.c checkpoint, a v3 file by another writer, and
 * the malformed files. Expected numbers were read from the files by an independent Python
 * parser (struct.unpack), not by this reader. Generated files: test_gguf_corpus.c. */
#include "lqt_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/gguf.h"
#include "lqi.h"

static lq_gguf *open_data(const char *rel)
{
    struct lq_error err;
    lq_gguf *g = NULL;
    if (lq_gguf_open(lqt_data_path(rel), &g, &err) != LQ_OK) {
        fail_msg("%s", err.msg);
    }
    return g;
}

static uint64_t arr_len(const lq_gguf *g, const char *key, enum lq_gguf_type elem)
{
    struct lq_error err;
    const struct lq_gguf_value *a;
    if (lq_gguf_get_arr(g, key, elem, &a, &err) != LQ_OK) {
        return 0;
    }
    return a->v.arr.n;
}

// ---- vocabulary files ----

struct vocab_case {
    const char *file;
    int64_t n_kv;
    const char *arch;
    uint64_t n_tokens, n_scores, n_merges; /* 0: key absent */
};

static const struct vocab_case vocabs[] = {
    {"baichuan", 18, "baichuan", 64000, 64000, 0},
    {"bert-bge", 20, "bert", 30522, 0, 0},
    {"deepseek-coder", 25, "llama", 32256, 0, 31757},
    {"deepseek-llm", 23, "llama", 102400, 0, 99757},
    {"falcon", 18, "falcon", 65024, 0, 64784},
    {"gpt-2", 16, "gpt2", 50257, 0, 50000},
    {"gpt-neox", 17, "gptneox", 50432, 0, 50009},
    {"llama-spm", 22, "llama", 32000, 32000, 0},
    {"mpt", 17, "mpt", 50432, 0, 50009},
    {"phi-3", 26, "phi3", 32064, 32064, 0},
    {"refact", 18, "refact", 49216, 0, 48891},
    {"stablelm", 16, "stablelm", 50304, 0, 50009},
    {"starcoder", 19, "starcoder2", 49152, 0, 48872},
};

/* Number of ggml-vocab-*.gguf files in the folder: the table must cover all of them. */
static size_t count_vocab_files(void)
{
    DIR *d = opendir(lqt_data_path("gguf/vocab"));
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        n += strncmp(e->d_name, "ggml-vocab-", 11) == 0 && len > 5 &&
             strcmp(e->d_name + len - 5, ".gguf") == 0;
    }
    closedir(d);
    return n;
}

static void test_gguf_vocab_files_open(void **state)
{
    (void)state;
    assert_int_equal(count_vocab_files(), sizeof vocabs / sizeof vocabs[0]);
    for (size_t i = 0; i < sizeof vocabs / sizeof vocabs[0]; i++) {
        const struct vocab_case *c = &vocabs[i];
        char rel[128];
        snprintf(rel, sizeof rel, "gguf/vocab/ggml-vocab-%s.gguf", c->file);
        lq_gguf *g = open_data(rel);
        print_message("%-16s n_kv %lld tokens %llu\n", c->file, (long long)lq_gguf_n_kv(g),
                      (unsigned long long)c->n_tokens);
        assert_int_equal(lq_gguf_version(g), 3);
        assert_int_equal(lq_gguf_n_kv(g), c->n_kv);
        assert_int_equal(lq_gguf_n_tensors(g), 0);
        const char *arch;
        assert_int_equal(lq_gguf_get_str(g, "general.architecture", &arch, NULL), LQ_OK);
        assert_string_equal(arch, c->arch);
        assert_int_equal(arr_len(g, "tokenizer.ggml.tokens", LQ_GGUF_STRING), c->n_tokens);
        assert_int_equal(arr_len(g, "tokenizer.ggml.token_type", LQ_GGUF_INT32), c->n_tokens);
        assert_int_equal(arr_len(g, "tokenizer.ggml.scores", LQ_GGUF_FLOAT32), c->n_scores);
        assert_int_equal(arr_len(g, "tokenizer.ggml.merges", LQ_GGUF_STRING), c->n_merges);
        lq_gguf_free(g);
    }
}

/* Individual entries of llama-spm, gpt-2 and phi-3 (token 1000 and the last one). */
static void test_gguf_vocab_values(void **state)
{
    (void)state;
    lq_gguf *g = open_data("gguf/vocab/ggml-vocab-llama-spm.gguf");
    const struct lq_gguf_value *a;
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.tokens", LQ_GGUF_STRING, &a, NULL), 0);
    const struct lq_gguf_str *tok = a->v.arr.data;
    assert_string_equal(tok[0].s, "<unk>");
    assert_string_equal(tok[1].s, "<s>");
    assert_string_equal(tok[1000].s, "ied");
    assert_string_equal(tok[31999].s, "\xe7\xbb\x99");
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.scores", LQ_GGUF_FLOAT32, &a, NULL), 0);
    const float *sc = a->v.arr.data;
    assert_true(sc[1] == 0.0f && sc[1000] == -741.0f && sc[31999] == -31740.0f);
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.token_type", LQ_GGUF_INT32, &a, NULL), 0);
    const int32_t *tt = a->v.arr.data;
    assert_true(tt[0] == 2 && tt[1] == 3 && tt[1000] == 1);
    uint64_t u;
    bool b;
    double d;
    assert_int_equal(lq_gguf_get_u64(g, "tokenizer.ggml.bos_token_id", &u, NULL), LQ_OK);
    assert_int_equal(u, 1);
    assert_int_equal(lq_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b, NULL), LQ_OK);
    assert_true(b);
    assert_int_equal(lq_gguf_get_f64(g, "llama.attention.layer_norm_rms_epsilon", &d, NULL), 0);
    assert_true((float)d == 1e-5f);
    lq_gguf_free(g);

    g = open_data("gguf/vocab/ggml-vocab-gpt-2.gguf");
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.merges", LQ_GGUF_STRING, &a, NULL), 0);
    assert_string_equal(((const struct lq_gguf_str *)a->v.arr.data)[0].s, "\xc4\xa0 t");
    assert_string_equal(((const struct lq_gguf_str *)a->v.arr.data)[49999].s, "\xc4\xa0g azed");
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.tokens", LQ_GGUF_STRING, &a, NULL), 0);
    assert_string_equal(((const struct lq_gguf_str *)a->v.arr.data)[50256].s, "<|endoftext|>");
    lq_gguf_free(g);

    g = open_data("gguf/vocab/ggml-vocab-phi-3.gguf");
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.scores", LQ_GGUF_FLOAT32, &a, NULL), 0);
    assert_true(((const float *)a->v.arr.data)[0] == -1000.0f);
    assert_true(((const float *)a->v.arr.data)[32063] == -10000.0f);
    assert_int_equal(lq_gguf_get_u64(g, "general.quantization_version", &u, NULL), LQ_OK);
    assert_int_equal(u, 2);
    lq_gguf_free(g);
}

// ---- stories260K: GGUF v1 against the llama2.c checkpoint ----

struct l2c {
    int32_t dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq;
    const unsigned char *w; /* the float32 weights after the 7-int header */
    size_t pos;             /* read position in floats */
};

/* The next n floats of the checkpoint (its tensors follow one another in a fixed order). */
static const unsigned char *l2c_take(struct l2c *m, size_t n)
{
    const unsigned char *p = m->w + m->pos * 4;
    m->pos += n;
    return p;
}

static void expect_tensor(const lq_gguf *g, const char *name, int64_t ne0, int64_t ne1,
                          const unsigned char *want)
{
    int64_t id = lq_gguf_find_tensor(g, name);
    if (id < 0) {
        fail_msg("tensor %s missing", name);
    }
    const struct lq_gguf_tensor_info *t = lq_gguf_tensor(g, id);
    assert_int_equal(t->type, LQ_TYPE_F32);
    assert_int_equal(t->n_dims, ne1 == 1 ? 1 : 2);
    assert_int_equal(t->ne[0], ne0);
    assert_int_equal(t->ne[1], ne1);
    assert_int_equal(t->nbytes, (size_t)(ne0 * ne1 * 4));
    /* exact float equality, bytewise (no NaN in these weights) */
    if (memcmp(t->data, want, t->nbytes) != 0) {
        fail_msg("tensor %s differs from the llama2.c checkpoint", name);
    }
}

/* One layer's slice of a (L, rows, cols) block of the checkpoint. */
static const unsigned char *layer(const unsigned char *base, int l, int64_t n)
{
    return base + (size_t)l * (size_t)n * 4;
}

static void compare_layers(const lq_gguf *g, struct l2c *m)
{
    int64_t L = m->n_layers, dim = m->dim, hid = m->hidden;
    int64_t kv_dim = dim / m->n_heads * m->n_kv_heads;
    const unsigned char *rms_att = l2c_take(m, (size_t)(L * dim));
    const unsigned char *wq = l2c_take(m, (size_t)(L * dim * dim));
    const unsigned char *wk = l2c_take(m, (size_t)(L * dim * kv_dim));
    const unsigned char *wv = l2c_take(m, (size_t)(L * dim * kv_dim));
    const unsigned char *wo = l2c_take(m, (size_t)(L * dim * dim));
    const unsigned char *rms_ffn = l2c_take(m, (size_t)(L * dim));
    const unsigned char *w1 = l2c_take(m, (size_t)(L * hid * dim));
    const unsigned char *w2 = l2c_take(m, (size_t)(L * dim * hid));
    const unsigned char *w3 = l2c_take(m, (size_t)(L * hid * dim));
    for (int l = 0; l < L; l++) {
        char n[64];
#define EXPECT(suffix, ne0, ne1, src)                                                              \
    snprintf(n, sizeof n, "blk.%d.%s.weight", l, suffix);                                          \
    expect_tensor(g, n, ne0, ne1, layer(src, l, (ne0) * (ne1)))
        EXPECT("attn_norm", dim, 1, rms_att);
        /* This file keeps llama2.c's q/k row order (llama.tensor_data_layout is
         * "Meta AI original pth"): no rotary permutation to undo, checked by hand too. */
        EXPECT("attn_q", dim, dim, wq);
        EXPECT("attn_k", dim, kv_dim, wk);
        EXPECT("attn_v", dim, kv_dim, wv);
        EXPECT("attn_output", dim, dim, wo);
        EXPECT("ffn_norm", dim, 1, rms_ffn);
        EXPECT("ffn_gate", dim, hid, w1);
        EXPECT("ffn_down", hid, dim, w2);
        EXPECT("ffn_up", dim, hid, w3);
#undef EXPECT
    }
}

static void test_gguf_stories260k_v1_matches_llama2c(void **state)
{
    (void)state;
    size_t size;
    unsigned char *bin = lqt_read_file(lqt_data_path("models/stories260K/stories260K.bin"), &size);
    struct l2c m = {0};
    int32_t *hdr[7] = {&m.dim, &m.hidden, &m.n_layers, &m.n_heads, &m.n_kv_heads, &m.vocab, &m.seq};
    for (int i = 0; i < 7; i++) {
        *hdr[i] = (int32_t)lqi_rd_u32(bin + 4 * i);
    }
    assert_true(m.dim == 64 && m.hidden == 172 && m.n_layers == 5 && m.n_heads == 8);
    assert_true(m.n_kv_heads == 4 && m.vocab == 512 && m.seq == 512); /* >0: shared classifier */
    m.w = bin + 28;

    lq_gguf *g = open_data("models/stories260K/stories260K-v1.gguf");
    assert_int_equal(lq_gguf_version(g), 1);
    assert_int_equal(lq_gguf_n_kv(g), 18);
    assert_int_equal(lq_gguf_n_tensors(g), 48); /* 9 per layer + embedding, norm, output */
    assert_int_equal(lq_gguf_data_offset(g), 11456);
    uint64_t u;
    assert_int_equal(lq_gguf_get_u64(g, "llama.feed_forward_length", &u, NULL), LQ_OK);
    assert_int_equal(u, 172);
    assert_int_equal(arr_len(g, "tokenizer.ggml.tokens", LQ_GGUF_STRING), 512);

    const unsigned char *emb = l2c_take(&m, (size_t)m.vocab * (size_t)m.dim);
    expect_tensor(g, "token_embd.weight", m.dim, m.vocab, emb);
    compare_layers(g, &m);
    expect_tensor(g, "output_norm.weight", m.dim, 1, l2c_take(&m, (size_t)m.dim));
    /* the GGUF stores the shared classifier explicitly; it has no freq_cis tables */
    expect_tensor(g, "output.weight", m.dim, m.vocab, emb);
    size_t head = (size_t)(m.dim / m.n_heads);
    l2c_take(&m, (size_t)m.seq * head); /* freq_cis_real and _imag */
    assert_int_equal(28 + m.pos * 4, size);
    lq_gguf_free(g);
    free(bin);
}

// ---- other files ----

static void test_gguf_random_v3(void **state)
{
    (void)state;
    lq_gguf *g = open_data("gguf/random/llama-2L-random-v3.gguf");
    assert_int_equal(lq_gguf_version(g), 3);
    assert_int_equal(lq_gguf_n_kv(g), 16);
    assert_int_equal(lq_gguf_n_tensors(g), 20);
    assert_int_equal(lq_gguf_data_offset(g), 7584);
    assert_int_equal(arr_len(g, "tokenizer.ggml.tokens", LQ_GGUF_STRING), 259);
    uint64_t end = 0;
    for (int64_t i = 0; i < 20; i++) {
        const struct lq_gguf_tensor_info *t = lq_gguf_tensor(g, i);
        assert_int_equal(t->type, LQ_TYPE_F32);
        assert_int_equal(t->nbytes, (size_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3] * 4));
        end = t->file_offset + t->nbytes;
    }
    assert_int_equal(end, lq_gguf_file_size(g)); /* written in order, the last one at EOF */
    const struct lq_gguf_tensor_info *t =
        lq_gguf_tensor(g, lq_gguf_find_tensor(g, "blk.1.ffn_down.weight"));
    assert_true(t->ne[0] == 128 && t->ne[1] == 64);
    assert_int_equal(t->offset, 329728);
    lq_gguf_free(g);
}

static void expect_open_fail(const char *rel, lq_status code, const char *substr)
{
    struct lq_error err;
    lq_gguf *g = (lq_gguf *)1;
    lq_status rc = lq_gguf_open(lqt_data_path(rel), &g, &err);
    if (rc != code || !strstr(err.msg, substr)) {
        fail_msg("%s: expected '%s', got %s: %s", rel, substr, lq_status_str(rc), err.msg);
    }
    assert_null(g);
    assert_non_null(strstr(err.msg, rel)); /* names the file */
}

static void test_gguf_malformed_files(void **state)
{
    (void)state;
    expect_open_fail("gguf/malformed/bad-magic-FUGG.gguf", LQ_E_FORMAT,
                     ": offset 0: bad magic 'FUGG' (expected 'GGUF')");
    expect_open_fail("gguf/malformed/unknown-value-type-13.gguf", LQ_E_FORMAT,
                     ": offset 204: key 'dict1': unknown value type 13");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gguf_vocab_files_open),
        cmocka_unit_test(test_gguf_vocab_values),
        cmocka_unit_test(test_gguf_stories260k_v1_matches_llama2c),
        cmocka_unit_test(test_gguf_random_v3),
        cmocka_unit_test(test_gguf_malformed_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
