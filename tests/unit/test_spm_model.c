/* test_spm_model.c - SentencePiece tokenizer.model parsing.
 *
 * Whole-vocabulary expectations are FNV-1a hashes of (piece, score bits, type) computed by
 * `scripts/ref_hash.py vocab` from GGUF files llama.cpp wrote:
 * gguf/vocab/ggml-vocab-llama-spm.gguf for the Llama 2 tokenizer and
 * reference/llama.cpp/tiny-llama-6L/f16.gguf for tiny-llama.
 * Malformed inputs are protobuf bytes assembled here by hand. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lq/gguf.h"
#include "lq/spm_model.h"
#include "lqt_util.h"

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001b3ULL;
    }
    return h;
}

static uint64_t vocab_hash(const lq_spm *sp)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int64_t i = 0; i < lq_spm_n_pieces(sp); i++) {
        const char *p = lq_spm_pieces(sp)[i];
        uint64_t len = strlen(p); /* little-endian host, as the hash script packs */
        h = fnv1a(h, &len, 8);
        h = fnv1a(h, p, len);
        h = fnv1a(h, &lq_spm_scores(sp)[i], 4);
        h = fnv1a(h, &lq_spm_types(sp)[i], 4);
    }
    return h;
}

static lq_spm *open_ok(const char *rel)
{
    lq_spm *sp = NULL;
    struct lq_error err = { 0 };
    lq_status rc = lq_spm_open(lqt_data_path(rel), &sp, &err);
    if (rc != LQ_OK) {
        fail_msg("%s", err.msg);
    }
    return sp;
}

static void test_spm_llama2_matches_gguf_vocab(void **state)
{
    (void)state;
    lq_spm *sp = open_ok("tokenizers/llama2/tokenizer.model");
    assert_int_equal(lq_spm_n_pieces(sp), 32000);
    assert_true(vocab_hash(sp) == 0x370b7d65eaec1950ULL);
    const char *const *p = lq_spm_pieces(sp);
    assert_string_equal(p[0], "<unk>");
    assert_int_equal(lq_spm_types(sp)[0], LQ_SPM_UNKNOWN);
    assert_string_equal(p[2], "</s>");
    assert_int_equal(lq_spm_types(sp)[2], LQ_SPM_CONTROL);
    assert_string_equal(p[3], "<0x00>");
    assert_int_equal(lq_spm_types(sp)[3], LQ_SPM_BYTE);
    assert_string_equal(p[259], "\xe2\x96\x81\xe2\x96\x81");
    assert_true(lq_spm_scores(sp)[259] == -1e9f);
    assert_string_equal(p[31999], "\xe7\xbb\x99");
    assert_true(lq_spm_scores(sp)[31999] == -31740.0f);
    const struct lq_spm_info *in = lq_spm_info(sp);
    assert_int_equal(in->model_type, LQ_SPM_MODEL_BPE);
    assert_int_equal(in->vocab_size, 32000);
    assert_int_equal(in->unk_id, 0);
    assert_int_equal(in->bos_id, 1);
    assert_int_equal(in->eos_id, 2);
    assert_int_equal(in->pad_id, -1); /* a 10-byte sign-extended varint in the file */
    assert_true(in->byte_fallback);
    assert_true(in->add_dummy_prefix);
    assert_false(in->remove_extra_whitespaces);
    assert_true(in->escape_whitespaces); /* absent: proto default */
    assert_string_equal(in->normalizer_name, "identity");
    lq_spm_free(sp);
}

/* Piece by piece against the vocabulary llama.cpp's converter wrote, read with lq_gguf. */
static void compare_with_gguf(const char *model, const char *gguf)
{
    lq_spm *sp = open_ok(model);
    lq_gguf *g = NULL;
    struct lq_error err = { 0 };
    if (lq_gguf_open(lqt_data_path(gguf), &g, &err) != LQ_OK) {
        fail_msg("%s", err.msg);
    }
    const struct lq_gguf_value *tok, *sc, *ty;
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.tokens", LQ_GGUF_STRING, &tok, &err),
                     LQ_OK);
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.scores", LQ_GGUF_FLOAT32, &sc, &err),
                     LQ_OK);
    assert_int_equal(lq_gguf_get_arr(g, "tokenizer.ggml.token_type", LQ_GGUF_INT32, &ty, &err),
                     LQ_OK);
    int64_t n = lq_spm_n_pieces(sp);
    assert_true(tok->v.arr.n == (uint64_t)n && sc->v.arr.n == (uint64_t)n);
    const struct lq_gguf_str *t = tok->v.arr.data;
    const float *scores = sc->v.arr.data;
    const int32_t *types = ty->v.arr.data;
    for (int64_t i = 0; i < n; i++) {
        if (strcmp(t[i].s, lq_spm_pieces(sp)[i]) != 0 || types[i] != lq_spm_types(sp)[i] ||
            memcmp(&scores[i], &lq_spm_scores(sp)[i], 4) != 0) {
            fail_msg("%s: piece %lld differs from %s", model, (long long)i, gguf);
        }
    }
    lq_gguf_free(g);
    lq_spm_free(sp);
}

static void test_spm_equals_gguf_vocabularies(void **state)
{
    (void)state;
    compare_with_gguf("tokenizers/llama2/tokenizer.model", "gguf/vocab/ggml-vocab-llama-spm.gguf");
    compare_with_gguf("models/tiny-llama-6L/tokenizer.model",
                      "reference/llama.cpp/tiny-llama-6L/f16.gguf");
}

static void test_spm_tiny_llama_matches_converted_vocab(void **state)
{
    (void)state;
    lq_spm *sp = open_ok("models/tiny-llama-6L/tokenizer.model");
    assert_int_equal(lq_spm_n_pieces(sp), 4096);
    assert_true(vocab_hash(sp) == 0xaf83b7894392211aULL);
    /* a score of -0.0 must keep its sign bit: the converter copies scores bit for bit */
    assert_string_equal(lq_spm_pieces(sp)[259], "\xe2\x96\x81t");
    assert_true(signbit(lq_spm_scores(sp)[259]));
    assert_string_equal(lq_spm_pieces(sp)[4095], "1");
    assert_int_equal(lq_spm_info(sp)->pad_id, -1);
    lq_spm_free(sp);
}

// ---- hand-built protobuf ----

struct pbw {
    unsigned char b[256];
    size_t n;
};

static void put(struct pbw *w, const void *p, size_t n)
{
    assert_true(w->n + n <= sizeof w->b);
    memcpy(w->b + w->n, p, n);
    w->n += n;
}

static void varint(struct pbw *w, uint64_t v)
{
    do {
        unsigned char c = (unsigned char)(v & 0x7f);
        v >>= 7;
        c |= v ? 0x80 : 0;
        put(w, &c, 1);
    } while (v);
}

static void tag(struct pbw *w, uint32_t field, int wire)
{
    varint(w, (uint64_t)field << 3 | (uint64_t)wire);
}

static void len_field(struct pbw *w, uint32_t field, const void *p, size_t n)
{
    tag(w, field, 2);
    varint(w, n);
    put(w, p, n);
}

/* A SentencePiece message with a piece, a score and optionally a type. */
static void piece(struct pbw *w, const char *text, float score, int type)
{
    struct pbw m = { .n = 0 };
    len_field(&m, 1, text, strlen(text));
    tag(&m, 2, 5);
    put(&m, &score, 4);
    if (type) {
        tag(&m, 3, 0);
        varint(&m, (uint64_t)type);
    }
    len_field(w, 1, m.b, m.n);
}

static lq_status parse(const struct pbw *w, lq_spm **sp, struct lq_error *err)
{
    return lq_spm_open_memory(w->b, w->n, "mem.model", sp, err);
}

static void test_spm_skips_unknown_fields_of_every_wire_type(void **state)
{
    (void)state;
    struct pbw w = { .n = 0 };
    tag(&w, 99, 0); /* varint */
    varint(&w, 12345);
    tag(&w, 98, 1); /* fixed64 */
    put(&w, "12345678", 8);
    piece(&w, "a", -1.5f, 0);
    tag(&w, 97, 3); /* group holding a nested group and a field */
    tag(&w, 5, 3);
    tag(&w, 6, 0);
    varint(&w, 1);
    tag(&w, 5, 4);
    tag(&w, 97, 4);
    tag(&w, 96, 5); /* fixed32 */
    put(&w, "1234", 4);
    len_field(&w, 95, "xyz", 3);
    piece(&w, "<0x41>", 0.0f, LQ_SPM_BYTE);
    struct pbw ts = { .n = 0 };
    tag(&ts, 43, 0);
    varint(&ts, 3); /* pad_id */
    tag(&ts, 40, 0);
    varint(&ts, UINT64_MAX); /* unk_id -1 */
    len_field(&w, 2, ts.b, ts.n);

    lq_spm *sp = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(parse(&w, &sp, &err), LQ_OK);
    assert_int_equal(lq_spm_n_pieces(sp), 2);
    assert_string_equal(lq_spm_pieces(sp)[0], "a");
    assert_true(lq_spm_scores(sp)[0] == -1.5f);
    assert_int_equal(lq_spm_types(sp)[0], LQ_SPM_NORMAL); /* absent: default */
    assert_int_equal(lq_spm_types(sp)[1], LQ_SPM_BYTE);
    assert_int_equal(lq_spm_info(sp)->pad_id, 3);
    assert_int_equal(lq_spm_info(sp)->unk_id, -1);
    assert_int_equal(lq_spm_info(sp)->bos_id, 1);
    assert_int_equal(lq_spm_info(sp)->model_type, LQ_SPM_MODEL_UNIGRAM);
    assert_null(lq_spm_info(sp)->precompiled_charsmap);
    lq_spm_free(sp);
}

static void expect_reject(const struct pbw *w, const char *needle)
{
    lq_spm *sp = (lq_spm *)1;
    struct lq_error err = { 0 };
    assert_int_equal(parse(w, &sp, &err), LQ_E_FORMAT);
    assert_null(sp);
    if (!strstr(err.msg, needle)) {
        fail_msg("message '%s' lacks '%s'", err.msg, needle);
    }
}

static void test_spm_rejects_malformed(void **state)
{
    (void)state;
    struct pbw w = { .n = 0 };
    expect_reject(&w, "no pieces");

    piece(&w, "a", 0.0f, 0);
    struct pbw cut = w;
    cut.n -= 2; /* inside the score */
    expect_reject(&cut, "mem.model: offset 1: length 8 runs past the end (6 bytes left)");

    struct pbw bad = w;
    tag(&bad, 7, 0);
    put(&bad, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10);
    expect_reject(&bad, "offset 11: varint overflows 64 bits");

    bad = w;
    put(&bad, "\x0e", 1); /* field 1, wire type 6 */
    expect_reject(&bad, "offset 10: invalid wire type 6");

    bad = w;
    tag(&bad, 4, 4);
    expect_reject(&bad, "offset 10: end of group 4 that never started");

    bad = w;
    tag(&bad, 4, 3);
    expect_reject(&bad, "group 4 never ends");

    bad = w;
    piece(&bad, "b", 0.0f, 7);
    expect_reject(&bad, "offset 10: piece 1 has unknown type 7");

    bad = w;
    piece(&bad, "", 0.0f, 0);
    expect_reject(&bad, "piece 1 is empty");

    bad = w;
    tag(&bad, 1, 0); /* pieces as a varint */
    varint(&bad, 1);
    expect_reject(&bad, "ModelProto.pieces (field 1) has wire type 0");

    bad = w;
    put(&bad, "\x80", 1);
    expect_reject(&bad, "offset 10: truncated varint");
}

/* Every prefix of a real model either parses or fails cleanly (no crash, no leak). */
static void test_spm_truncated_real_model(void **state)
{
    (void)state;
    size_t n;
    unsigned char *data = lqt_read_file(lqt_data_path("models/tiny-llama-6L/tokenizer.model"), &n);
    size_t cuts[] = { 1, 2, 7, 100, 1000, n / 2, n - 1 };
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        lq_spm *sp = NULL;
        struct lq_error err = { 0 };
        lq_status rc = lq_spm_open_memory(data, cuts[i], "cut", &sp, &err);
        assert_int_equal(rc, LQ_E_FORMAT);
        assert_null(sp);
    }
    free(data);
}

static void test_spm_missing_file(void **state)
{
    (void)state;
    lq_spm *sp = NULL;
    struct lq_error err = { 0 };
    assert_int_equal(lq_spm_open("/nonexistent/tokenizer.model", &sp, &err), LQ_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/tokenizer.model"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spm_llama2_matches_gguf_vocab),
        cmocka_unit_test(test_spm_tiny_llama_matches_converted_vocab),
        cmocka_unit_test(test_spm_equals_gguf_vocabularies),
        cmocka_unit_test(test_spm_skips_unknown_fields_of_every_wire_type),
        cmocka_unit_test(test_spm_rejects_malformed),
        cmocka_unit_test(test_spm_truncated_real_model),
        cmocka_unit_test(test_spm_missing_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
