/* test_llama2c.c - llama2.c checkpoints and tokenizers.
 *
 * Independent expectations: the header values documented for stories260K, and FNV-1a hashes
 * computed by scripts/ref_hash.py from stories260K-v1.gguf (the same model converted by
 * another tool): `tensors --skip output.weight` (the classifier is shared, so llama2.c has no
 * separate one) and `vocab`. Corrupted files are made here from the real ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/gguf.h"
#include "lq/llama2c.h"
#include "lqt_util.h"

#define STORIES "models/stories260K/stories260K.bin"
#define TOK512 "models/stories260K/tok512.bin"

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001b3ULL;
    }
    return h;
}

static const lq_llama2c *g_sort_model;

static int by_name(const void *a, const void *b)
{
    const struct lq_llama2c_tensor *ta = lq_llama2c_tensor(g_sort_model, *(const int64_t *)a);
    const struct lq_llama2c_tensor *tb = lq_llama2c_tensor(g_sort_model, *(const int64_t *)b);
    return strcmp(ta->name, tb->name);
}

/* Hashes the tensors sorted by name: name, NUL, ne[0..n_dims) as int64 LE, data. */
static uint64_t tensor_hash(const lq_llama2c *m)
{
    int64_t n = lq_llama2c_n_tensors(m);
    int64_t *ids = malloc((size_t)n * sizeof *ids);
    for (int64_t i = 0; i < n; i++) {
        ids[i] = i;
    }
    g_sort_model = m;
    qsort(ids, (size_t)n, sizeof *ids, by_name);
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int64_t i = 0; i < n; i++) {
        const struct lq_llama2c_tensor *t = lq_llama2c_tensor(m, ids[i]);
        h = fnv1a(h, t->name, strlen(t->name) + 1);
        h = fnv1a(h, t->ne, t->n_dims * sizeof t->ne[0]);
        h = fnv1a(h, t->data, t->nbytes);
    }
    free(ids);
    return h;
}

static void test_llama2c_stories260k_header(void **state)
{
    (void)state;
    lq_llama2c *m = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_llama2c_open(lqt_data_path(STORIES), &m, &err), LQ_OK);
    const struct lq_llama2c_config *c = lq_llama2c_config(m);
    assert_int_equal(c->dim, 64);
    assert_int_equal(c->hidden_dim, 172);
    assert_int_equal(c->n_layers, 5);
    assert_int_equal(c->n_heads, 8);
    assert_int_equal(c->n_kv_heads, 4);
    assert_int_equal(c->vocab_size, 512);
    assert_int_equal(c->seq_len, 512);
    assert_true(c->shared_classifier);
    assert_int_equal(c->head_size, 8);
    assert_int_equal(c->kv_dim, 32);
    lq_llama2c_free(m);
}

static void test_llama2c_tensors_match_gguf(void **state)
{
    (void)state;
    lq_llama2c *m = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_llama2c_open(lqt_data_path(STORIES), &m, &err), LQ_OK);
    assert_int_equal(lq_llama2c_n_tensors(m), 2 + 5 * 9);
    assert_true(tensor_hash(m) == 0xe0eea715ac39f3a2ULL);
    assert_int_equal(lq_llama2c_find_tensor(m, "output.weight"), -1);

    const struct lq_llama2c_tensor *e = lq_llama2c_tensor(m, 0);
    assert_string_equal(e->name, "token_embd.weight");
    assert_int_equal(e->file_offset, 28);
    assert_int_equal(e->ne[0], 64);
    assert_int_equal(e->ne[1], 512);
    /* wk of layer 1: after emb, rms_att, all wq and layer 0's wk */
    int64_t id = lq_llama2c_find_tensor(m, "blk.1.attn_k.weight");
    assert_true(id >= 0);
    const struct lq_llama2c_tensor *k = lq_llama2c_tensor(m, id);
    assert_int_equal(k->n_dims, 2);
    assert_int_equal(k->ne[0], 64);
    assert_int_equal(k->ne[1], 32);
    assert_int_equal(k->file_offset, 28 + 4 * (32768 + 320 + 20480 + 2048));
    assert_int_equal(k->nbytes, 64 * 32 * 4);
    const struct lq_llama2c_tensor *d =
        lq_llama2c_tensor(m, lq_llama2c_find_tensor(m, "blk.4.ffn_down.weight"));
    assert_int_equal(d->ne[0], 172);
    assert_int_equal(d->ne[1], 64);
    const struct lq_llama2c_tensor *n =
        lq_llama2c_tensor(m, lq_llama2c_find_tensor(m, "output_norm.weight"));
    assert_int_equal(n->n_dims, 1);
    assert_int_equal(n->file_offset, 28 + 4 * 259968);
    lq_llama2c_free(m);
}

/* Tensor by tensor against stories260K-v1.gguf read with lq_gguf: same shape, same floats
 * (bit for bit: no permutation of q/k is needed for llama2.c weights). */
static void test_llama2c_tensors_equal_gguf_v1(void **state)
{
    (void)state;
    lq_llama2c *m = NULL;
    lq_gguf *g = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_llama2c_open(lqt_data_path(STORIES), &m, &err), LQ_OK);
    if (lq_gguf_open(lqt_data_path("models/stories260K/stories260K-v1.gguf"), &g, &err)) {
        fail_msg("%s", err.msg);
    }
    assert_int_equal(lq_gguf_n_tensors(g), lq_llama2c_n_tensors(m) + 1); /* + output.weight */
    for (int64_t i = 0; i < lq_llama2c_n_tensors(m); i++) {
        const struct lq_llama2c_tensor *t = lq_llama2c_tensor(m, i);
        int64_t id = lq_gguf_find_tensor(g, t->name);
        if (id < 0) {
            fail_msg("'%s' missing from the GGUF", t->name);
        }
        const struct lq_gguf_tensor_info *r = lq_gguf_tensor(g, id);
        assert_int_equal(r->type, LQ_TYPE_F32);
        assert_int_equal(r->n_dims, t->n_dims);
        assert_memory_equal(r->ne, t->ne, sizeof t->ne);
        assert_int_equal(r->nbytes, t->nbytes);
        if (memcmp(r->data, t->data, t->nbytes) != 0) {
            fail_msg("'%s': data differs", t->name);
        }
    }
    /* the GGUF stores the shared classifier explicitly: it is the embedding */
    const struct lq_gguf_tensor_info *out =
        lq_gguf_tensor(g, lq_gguf_find_tensor(g, "output.weight"));
    assert_memory_equal(out->data, lq_llama2c_tensor(m, 0)->data, out->nbytes);
    lq_gguf_free(g);
    lq_llama2c_free(m);
}

/* Writes a copy of the checkpoint with `size` bytes (zero-extended) and a patched header. */
static char *corrupt_copy(const char *dir, const char *src, size_t size, int field, int32_t val)
{
    size_t n;
    unsigned char *data = lqt_read_file(lqt_data_path(src), &n);
    data = realloc(data, size > n ? size : n);
    if (size > n) {
        memset(data + n, 0, size - n);
    }
    if (field >= 0) {
        memcpy(data + 4 * field, &val, 4);
    }
    char *path = malloc(strlen(dir) + 16);
    sprintf(path, "%s/bad.bin", dir);
    lqt_write_file(path, data, size);
    free(data);
    return path;
}

static void expect_open_fails(const char *path, lq_status code, const char *needle)
{
    lq_llama2c *m = (lq_llama2c *)1;
    struct lq_error err = { 0 };
    assert_int_equal(lq_llama2c_open(path, &m, &err), code);
    assert_null(m);
    assert_non_null(strstr(err.msg, path));
    if (!strstr(err.msg, needle)) {
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
    }
}

static void test_llama2c_rejects_bad_files(void **state)
{
    (void)state;
    char *dir = lqt_tmpdir();
    const size_t full = 1056540;
    char *p = corrupt_copy(dir, STORIES, full - 4, -1, 0);
    expect_open_fails(p, LQ_E_FORMAT, "implies 1056540 bytes, file has 1056536 (truncated)");
    free(p);
    p = corrupt_copy(dir, STORIES, full + 1, -1, 0);
    expect_open_fails(p, LQ_E_FORMAT, "(trailing bytes)");
    free(p);
    /* an unshared classifier needs another vocab x dim floats */
    p = corrupt_copy(dir, STORIES, full, 5, -512);
    expect_open_fails(p, LQ_E_FORMAT, "vocab 512 unshared");
    free(p);
    p = corrupt_copy(dir, STORIES, full + 512 * 64 * 4, 5, -512);
    lq_llama2c *m = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_llama2c_open(p, &m, &err), LQ_OK);
    assert_false(lq_llama2c_config(m)->shared_classifier);
    int64_t out = lq_llama2c_find_tensor(m, "output.weight");
    assert_int_equal(out, 2);
    assert_int_equal(lq_llama2c_tensor(m, out)->file_offset, full);
    lq_llama2c_free(m);
    free(p);
    p = corrupt_copy(dir, STORIES, full, 3, 0);
    expect_open_fails(p, LQ_E_FORMAT, "field n_heads (bytes 12..15) is 0");
    free(p);
    p = corrupt_copy(dir, STORIES, full, 4, 3);
    expect_open_fails(p, LQ_E_FORMAT, "n_kv_heads 3");
    free(p);
    p = corrupt_copy(dir, STORIES, full, 0, 0x616b3432);
    expect_open_fails(p, LQ_E_UNSUPPORTED, "ak42");
    free(p);
    p = corrupt_copy(dir, STORIES, 20, -1, 0);
    expect_open_fails(p, LQ_E_FORMAT, "shorter than the 28-byte");
    free(p);
    /* sizes whose product overflows 64 bits must not wrap into a plausible size */
    p = corrupt_copy(dir, STORIES, full, 0, 1 << 30);
    expect_open_fails(p, LQ_E_RANGE, "overflow 64 bits");
    free(p);
    p = corrupt_copy(dir, STORIES, full, 0, INT32_MAX);
    expect_open_fails(p, LQ_E_FORMAT, "dim must divide");
    free(p);
    lqt_rmtree(dir);
    free(dir);
}

static uint64_t vocab_hash(const lq_llama2c_vocab *v)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int64_t i = 0; i < lq_llama2c_vocab_n(v); i++) {
        const char *t = lq_llama2c_vocab_texts(v)[i];
        uint64_t len = strlen(t);
        h = fnv1a(h, &len, 8);
        h = fnv1a(h, t, len);
        h = fnv1a(h, &lq_llama2c_vocab_scores(v)[i], 4);
        h = fnv1a(h, &lq_llama2c_vocab_types(v)[i], 4);
    }
    return h;
}

static void test_llama2c_vocab_tok512(void **state)
{
    (void)state;
    lq_llama2c_vocab *v = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_llama2c_vocab_open(lqt_data_path(TOK512), 512, &v, &err), LQ_OK);
    assert_int_equal(lq_llama2c_vocab_n(v), 512);
    assert_int_equal(lq_llama2c_vocab_max_token_length(v), 7);
    assert_true(vocab_hash(v) == 0xc7ea3a45d282e984ULL);
    const char *const *raw = lq_llama2c_vocab_raw(v);
    const char *const *txt = lq_llama2c_vocab_texts(v);
    assert_string_equal(raw[1], "\n<s>\n");
    assert_string_equal(txt[1], "<s>");
    assert_string_equal(raw[3], "<0x00>");
    assert_int_equal(lq_llama2c_vocab_types(v)[3], 6);
    assert_string_equal(raw[259], " t");
    assert_string_equal(txt[259], "\xe2\x96\x81t");
    assert_int_equal(lq_llama2c_vocab_types(v)[259], 1);
    assert_true(lq_llama2c_vocab_scores(v)[260] == -1.0f);
    lq_llama2c_vocab_free(v);
}

/* Token by token against the vocabulary of stories260K-v1.gguf, read with lq_gguf. */
static void test_llama2c_vocab_equals_gguf_v1(void **state)
{
    (void)state;
    lq_llama2c_vocab *v = NULL;
    lq_gguf *g = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_llama2c_vocab_open(lqt_data_path(TOK512), 512, &v, &err), LQ_OK);
    assert_int_equal(lq_gguf_open(lqt_data_path("models/stories260K/stories260K-v1.gguf"), &g,
                                  &err), LQ_OK);
    const struct lq_gguf_value *tok, *sc, *ty;
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.tokens", LQ_GGUF_STRING, &tok, &err),
                     LQ_OK);
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.scores", LQ_GGUF_FLOAT32, &sc, &err),
                     LQ_OK);
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.token_type", LQ_GGUF_INT32, &ty, &err),
                     LQ_OK);
    assert_int_equal(tok->v.arr.n, 512);
    const struct lq_gguf_str *t = tok->v.arr.data;
    for (int64_t i = 0; i < 512; i++) {
        if (strcmp(t[i].s, lq_llama2c_vocab_texts(v)[i]) != 0 ||
            ((const int32_t *)ty->v.arr.data)[i] != lq_llama2c_vocab_types(v)[i] ||
            memcmp(&((const float *)sc->v.arr.data)[i], &lq_llama2c_vocab_scores(v)[i], 4)) {
            fail_msg("token %lld differs", (long long)i);
        }
    }
    lq_gguf_free(g);
    lq_llama2c_vocab_free(v);
}

static void expect_vocab_fails(const char *path, int32_t n, const char *needle)
{
    lq_llama2c_vocab *v = (lq_llama2c_vocab *)1;
    struct lq_error err = { 0 };
    assert_int_equal(lq_llama2c_vocab_open(path, n, &v, &err), LQ_E_FORMAT);
    assert_null(v);
    if (!strstr(err.msg, needle)) {
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
    }
}

static void test_llama2c_vocab_rejects_bad_files(void **state)
{
    (void)state;
    const char *tok = lqt_data_path(TOK512);
    expect_vocab_fails(tok, 511, "trailing bytes after 511 tokens");
    expect_vocab_fails(tok, 513, "token 512: truncated at offset 6227");
    char *dir = lqt_tmpdir();
    size_t n;
    unsigned char *data = lqt_read_file(tok, &n);
    char path[512];
    snprintf(path, sizeof path, "%s/tok.bin", dir);
    int32_t big = 8; /* token 0's length, past max_token_length 7 */
    memcpy(data + 8, &big, 4);
    lqt_write_file(path, data, n);
    expect_vocab_fails(path, 512, "token 0 at offset 4: length 8 outside 0..max_token_length 7");
    data[12] = 0; /* a NUL inside token 0 ("<unk>") with its length restored */
    big = 5;
    memcpy(data + 8, &big, 4);
    lqt_write_file(path, data, n);
    expect_vocab_fails(path, 512, "token 0 at offset 4 holds a NUL byte");
    free(data);
    lqt_rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama2c_stories260k_header),
        cmocka_unit_test(test_llama2c_tensors_match_gguf),
        cmocka_unit_test(test_llama2c_tensors_equal_gguf_v1),
        cmocka_unit_test(test_llama2c_rejects_bad_files),
        cmocka_unit_test(test_llama2c_vocab_tok512),
        cmocka_unit_test(test_llama2c_vocab_equals_gguf_v1),
        cmocka_unit_test(test_llama2c_vocab_rejects_bad_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
