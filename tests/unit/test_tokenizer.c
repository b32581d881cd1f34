/* test_tokenizer.c - the tokenizers against llama.cpp's own tokenizer tests.
 *
 * For every vocabulary in gguf/vocab/ with llama.cpp's .inp/.out files, each input must
 * tokenize to exactly the ids llama.cpp's tests/test-tokenizer-0.cpp expects: inputs are
 * separated by "\n__ggml_vocab_test__\n" (the text keeps its own trailing newlines), and
 * the test tokenizes with add_special = false, parse_special = false. BERT's WordPiece
 * (bert-bge) is not implemented and must be refused. Hand-built vocabularies check the
 * SPM and BPE merge rules and the error paths against hand-computed results.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq/gguf.h"
#include "lq/tokenizer.h"
#include "lqt_tok.h"
#include "lqt_util.h"

static void load_cases(struct lqt_cases *c, const char *vocab)
{
    char inp[256], out[256];
    snprintf(inp, sizeof inp, "gguf/vocab/ggml-vocab-%s.gguf.inp", vocab);
    snprintf(out, sizeof out, "gguf/vocab/ggml-vocab-%s.gguf.out", vocab);
    lqt_cases_load(c, inp, out);
}

static lq_tokenizer *open_vocab(const char *vocab)
{
    char rel[256];
    lq_gguf *g = NULL;
    lq_tokenizer *tok = NULL;
    struct lq_error err = {0};
    snprintf(rel, sizeof rel, "gguf/vocab/ggml-vocab-%s.gguf", vocab);
    if (lq_gguf_open(lqt_data_path(rel), &g, &err) != LQ_OK) {
        fail_msg("%s: %s", rel, err.msg);
    }
    if (lq_tokenizer_from_gguf(g, &tok, &err) != LQ_OK) {
        lq_gguf_free(g);
        fail_msg("%s: %s", rel, err.msg);
    }
    lq_gguf_free(g);
    return tok;
}

static void check_vocab(const char *vocab)
{
    struct lqt_cases c;
    lq_tokenizer *tok = open_vocab(vocab);
    struct lq_error err = {0};
    size_t pass = 0;
    load_cases(&c, vocab);
    for (size_t i = 0; i < c.n; i++) {
        int32_t *ids;
        size_t n;
        char what[64];
        snprintf(what, sizeof what, "%s case %zu", vocab, i);
        assert_int_equal(lq_tokenizer_encode(tok, c.text[i], c.len[i], 0, &ids, &n, &err), LQ_OK);
        pass += lqt_ids_match(ids, n, c.ids[i], what);
        lq_tokenizer_ids_free(ids);
    }
    printf("%-16s %zu/%zu inputs match llama.cpp\n", vocab, pass, c.n);
    lqt_cases_free(&c);
    lq_tokenizer_free(tok);
    assert_int_equal(pass, c.n);
}

/* The clean-up of spaces some BPE vocabularies do on decode ("Hello ?" -> "Hello?") makes
 * decode(encode(x)) differ from x exactly when x has one of these. */
static bool changed_by_cleanup(const char *s)
{
    static const char *const pats[] = {" ?", " !", " .", " ,", " ' ", " 's", " 'm", " 're", " 've"};
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
        if (strstr(s, pats[i])) {
            return true;
        }
    }
    return false;
}

/* decode(encode(x)) == x for every input llama.cpp's decoder can reproduce: all of them
 * for SPM and for vocabularies without space clean-up, the others otherwise. */
static void check_round_trip(const char *vocab, bool cleans_spaces)
{
    struct lqt_cases c;
    lq_tokenizer *tok = open_vocab(vocab);
    struct lq_error err = {0};
    size_t checked = 0;
    char *out = malloc(1 << 16);
    load_cases(&c, vocab);
    for (size_t i = 0; i < c.n; i++) {
        int32_t *ids;
        size_t n, n_out;
        if (cleans_spaces && changed_by_cleanup(c.text[i])) {
            continue;
        }
        assert_int_equal(lq_tokenizer_encode(tok, c.text[i], c.len[i], 0, &ids, &n, &err), LQ_OK);
        assert_int_equal(lq_tokenizer_decode(tok, ids, n, 0, out, 1 << 16, &n_out, &err), LQ_OK);
        assert_int_equal(n_out, c.len[i]);
        assert_memory_equal(out, c.text[i], n_out);
        lq_tokenizer_ids_free(ids);
        checked++;
    }
    printf("%-16s %zu/%zu inputs round-trip\n", vocab, checked, c.n);
    assert_true(checked + 2 >= c.n);
    free(out);
    lqt_cases_free(&c);
    lq_tokenizer_free(tok);
}

static void test_tokenizer_round_trip(void **state)
{
    (void)state;
    check_round_trip("llama-spm", false);
    check_round_trip("phi-3", false);
    check_round_trip("gpt-2", true);
    check_round_trip("falcon", true);
    check_round_trip("deepseek-llm", false);
    check_round_trip("deepseek-coder", false);
    check_round_trip("starcoder", true);
    check_round_trip("mpt", true);
    check_round_trip("refact", true);
}

static void test_tokenizer_bert_refused(void **state)
{
    lq_gguf *g = NULL;
    int sentinel;
    lq_tokenizer *tok = (lq_tokenizer *)&sentinel; /* must come back NULL */
    struct lq_error err = {0};
    (void)state;
    assert_int_equal(lq_gguf_open(lqt_data_path("gguf/vocab/ggml-vocab-bert-bge.gguf"), &g, &err),
                     LQ_OK);
    assert_int_equal(lq_tokenizer_from_gguf(g, &tok, &err), LQ_E_UNSUPPORTED);
    assert_null(tok);
    assert_non_null(strstr(err.msg, "bert"));
    lq_gguf_free(g);
}

/* Vocabularies without llama.cpp test files still load and are lossless on plain text. */
static void test_tokenizer_other_vocabs(void **state)
{
    static const char *const names[] = {"baichuan", "gpt-neox", "stablelm"};
    static const char text[] = "The quick brown fox\n\tjumps over 1234 lazy dogs: \xc3\xa9t\xc3\xa9!";
    (void)state;
    for (int i = 0; i < 3; i++) {
        lq_tokenizer *tok = open_vocab(names[i]);
        struct lq_error err = {0};
        int32_t *ids;
        size_t n, n_out;
        char out[256];
        assert_int_equal(lq_tokenizer_encode(tok, text, strlen(text), 0, &ids, &n, &err), LQ_OK);
        assert_true(n > 5 && n < strlen(text));
        assert_int_equal(lq_tokenizer_decode(tok, ids, n, 0, out, sizeof out, &n_out, &err), LQ_OK);
        assert_string_equal(out, text);
        lq_tokenizer_ids_free(ids);
        lq_tokenizer_free(tok);
    }
}

/* Control tokens are text unless parse_special; add_special adds BOS; decoding drops
 * control tokens unless asked to render them. */
static void test_tokenizer_special_tokens(void **state)
{
    static const char text[] = "<s>Hello</s>";
    lq_tokenizer *tok = open_vocab("llama-spm");
    struct lq_error err = {0};
    int32_t *ids, buf[4];
    size_t n, n_out;
    char out[64];
    (void)state;
    assert_string_equal(lq_tokenizer_model_name(tok), "llama");
    assert_int_equal(lq_tokenizer_n_vocab(tok), 32000);
    assert_int_equal(lq_tokenizer_encode(tok, text, strlen(text),
                                         LQ_TOKENIZE_ADD_SPECIAL | LQ_TOKENIZE_PARSE_SPECIAL, &ids,
                                         &n, &err),
                     LQ_OK);
    /* BOS, <s>, "▁Hello" (a space goes after a special token), </s> */
    assert_int_equal(n, 4);
    assert_int_equal(ids[0], 1);
    assert_int_equal(ids[1], 1);
    assert_int_equal(ids[2], lq_tokenizer_find(tok, "\xe2\x96\x81Hello", 8));
    assert_int_equal(ids[3], 2);
    assert_int_equal(lq_tokenizer_decode(tok, ids + 1, 3, 0, out, sizeof out, &n_out, &err), LQ_OK);
    assert_string_equal(out, " Hello");
    assert_int_equal(lq_tokenizer_decode(tok, ids + 1, 3, LQ_DETOKENIZE_UNPARSE_SPECIAL, out,
                                         sizeof out, &n_out, &err),
                     LQ_OK);
    assert_string_equal(out, "<s> Hello</s>");
    assert_true(lq_tokenizer_is_eog(tok, 2));
    assert_false(lq_tokenizer_is_eog(tok, ids[2]));
    lq_tokenizer_ids_free(ids);
    /* without parse_special "<s>" is plain text */
    assert_int_equal(lq_tokenizer_encode(tok, text, strlen(text), 0, &ids, &n, &err), LQ_OK);
    assert_true(n > 4);
    for (size_t i = 0; i < n; i++) {
        assert_true(ids[i] > 2);
    }
    /* caller buffer too small: the size needed comes back */
    assert_int_equal(lq_tokenizer_encode_into(tok, text, strlen(text), 0, buf, 4, &n_out, &err),
                     LQ_E_RANGE);
    assert_int_equal(n_out, n);
    assert_int_equal(lq_tokenizer_decode(tok, ids, n, 0, out, 3, &n_out, &err), LQ_E_RANGE);
    assert_int_equal(n_out, strlen(text));
    assert_int_equal(lq_tokenizer_token_to_piece(tok, 13, 0, out, sizeof out, &n_out, &err), LQ_OK);
    assert_string_equal(out, "\n"); /* <0x0A> */
    assert_int_equal(lq_tokenizer_token_to_piece(tok, 32000, 0, out, sizeof out, &n_out, &err),
                     LQ_E_INVALID_ARG);
    lq_tokenizer_ids_free(ids);
    lq_tokenizer_free(tok);
}

// ---- hand-built vocabularies ---------------------------------------------------------------

/* A GGUF v3 file with metadata only, built in memory. */
struct gguf_b {
    unsigned char buf[8192];
    size_t n;
    uint64_t n_kv;
};

static void put(struct gguf_b *b, const void *p, size_t n)
{
    assert_true(b->n + n <= sizeof b->buf);
    memcpy(b->buf + b->n, p, n);
    b->n += n;
}

static void put_u32(struct gguf_b *b, uint32_t v)
{
    unsigned char p[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put(b, p, 4);
}

static void put_u64(struct gguf_b *b, uint64_t v)
{
    put_u32(b, (uint32_t)v);
    put_u32(b, (uint32_t)(v >> 32));
}

static void put_str(struct gguf_b *b, const char *s)
{
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}

static void kv_str(struct gguf_b *b, const char *key, const char *v)
{
    put_str(b, key);
    put_u32(b, 8);
    put_str(b, v);
    b->n_kv++;
}

static void kv_u32(struct gguf_b *b, const char *key, uint32_t v)
{
    put_str(b, key);
    put_u32(b, 4);
    put_u32(b, v);
    b->n_kv++;
}

static void kv_strs(struct gguf_b *b, const char *key, const char *const *v, size_t n)
{
    put_str(b, key);
    put_u32(b, 9);
    put_u32(b, 8);
    put_u64(b, n);
    for (size_t i = 0; i < n; i++) {
        put_str(b, v[i]);
    }
    b->n_kv++;
}

/* elem 6: float32 from f, elem 5: int32 from i */
static void kv_nums(struct gguf_b *b, const char *key, uint32_t elem, const float *f,
                    const int32_t *i, size_t n)
{
    put_str(b, key);
    put_u32(b, 9);
    put_u32(b, elem);
    put_u64(b, n);
    for (size_t k = 0; k < n; k++) {
        uint32_t v;
        if (f) {
            memcpy(&v, &f[k], 4);
        } else {
            v = (uint32_t)i[k];
        }
        put_u32(b, v);
    }
    b->n_kv++;
}

/* Writes header + metadata (padded to the alignment) and builds a tokenizer from it. */
static lq_status tok_from(const struct gguf_b *kv, lq_tokenizer **tok, struct lq_error *err)
{
    struct gguf_b f = {.n = 0};
    char *dir = lqt_tmpdir(), path[512];
    lq_gguf *g = NULL;
    put(&f, "GGUF", 4);
    put_u32(&f, 3);
    put_u64(&f, 0);
    put_u64(&f, kv->n_kv);
    put(&f, kv->buf, kv->n);
    while (f.n % 32) {
        put(&f, "", 1);
    }
    snprintf(path, sizeof path, "%s/vocab.gguf", dir);
    lqt_write_file(path, f.buf, f.n);
    assert_int_equal(lq_gguf_open(path, &g, err), LQ_OK);
    lq_status rc = lq_tokenizer_from_gguf(g, tok, err);
    lq_gguf_free(g);
    lqt_rmtree(dir);
    free(dir);
    return rc;
}

static void expect_ids(const lq_tokenizer *tok, const char *text, const int32_t *want, size_t n)
{
    int32_t *ids;
    size_t got;
    struct lq_error err = {0};
    assert_int_equal(lq_tokenizer_encode(tok, text, strlen(text), 0, &ids, &got, &err), LQ_OK);
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ids[i], want[i]);
    }
    lq_tokenizer_ids_free(ids);
}

#define U2581 "\xe2\x96\x81"

/* SPM: the highest-scoring pair merges first, ties go to the leftmost pair, characters
 * without a token become byte tokens. Expected ids worked out by hand. */
static void test_tokenizer_spm_rules(void **state)
{
    static const char *const toks[] = {"<unk>", "<s>", "</s>", U2581, "a", "b", "ab", U2581 "a",
                                       U2581 "ab", "x", "y", "xy", "yx", "<0x63>"};
    static const float scores[] = {0, 0, 0, -1, -2, -2, -0.5f, -0.7f, -3, -2, -2, -1, -1, 0};
    static const int32_t types[] = {2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 6};
    struct gguf_b b = {.n = 0};
    lq_tokenizer *tok;
    struct lq_error err = {0};
    (void)state;
    kv_str(&b, "tokenizer.ggml.model", "llama");
    kv_strs(&b, "tokenizer.ggml.tokens", toks, 14);
    kv_nums(&b, "tokenizer.ggml.scores", 6, scores, NULL, 14);
    kv_nums(&b, "tokenizer.ggml.token_type", 5, NULL, types, 14);
    assert_int_equal(tok_from(&b, &tok, &err), LQ_OK);
    /* "▁ab▁a": ab (-0.5) first, then ▁a (-0.7), then ▁ab (-3) */
    expect_ids(tok, "ab a", (const int32_t[]){8, 7}, 2);
    /* "▁xyx": xy and yx tie at -1, the left pair wins; 'c' has only its byte token */
    expect_ids(tok, "xyxc", (const int32_t[]){3, 11, 9, 13}, 4);
    lq_tokenizer_free(tok);
}

/* BPE: merges apply by rank, lowest first, whatever their position. */
static void test_tokenizer_bpe_rules(void **state)
{
    static const char *const toks[] = {"a", "b", "c", "\xc4\xa0", "bc", "abc", "ab", "\xc4\xa0" "a"};
    static const char *const merges[] = {"b c", "a b", "a bc", "\xc4\xa0 a"};
    struct gguf_b b = {.n = 0};
    lq_tokenizer *tok;
    struct lq_error err = {0};
    (void)state;
    kv_str(&b, "tokenizer.ggml.model", "gpt2");
    kv_str(&b, "tokenizer.ggml.pre", "gpt-2");
    kv_strs(&b, "tokenizer.ggml.tokens", toks, 8);
    kv_strs(&b, "tokenizer.ggml.merges", merges, 4);
    kv_u32(&b, "tokenizer.ggml.bos_token_id", 0);
    kv_u32(&b, "tokenizer.ggml.eos_token_id", 0);
    assert_int_equal(tok_from(&b, &tok, &err), LQ_OK);
    /* "abc": b c (rank 0) beats a b (rank 1), then a bc (rank 2); " a" is one word */
    expect_ids(tok, "abc a", (const int32_t[]){5, 7}, 2);
    expect_ids(tok, "ab", (const int32_t[]){6}, 1);
    lq_tokenizer_free(tok);
}

/* Broken or unsupported metadata is refused with a message naming the problem. */
static void test_tokenizer_bad_metadata(void **state)
{
    static const char *const toks[] = {"a", "b", "a"};
    static const char *const merges[] = {"a b"};
    lq_tokenizer *tok;
    struct lq_error err = {0};
    (void)state;
    struct gguf_b b = {.n = 0};
    kv_strs(&b, "tokenizer.ggml.tokens", toks, 2);
    assert_int_equal(tok_from(&b, &tok, &err), LQ_E_FORMAT); /* no model */
    assert_non_null(strstr(err.msg, "tokenizer.ggml.model"));
    kv_str(&b, "tokenizer.ggml.model", "gpt2");
    assert_int_equal(tok_from(&b, &tok, &err), LQ_E_FORMAT); /* no merges */
    assert_non_null(strstr(err.msg, "merges"));
    kv_strs(&b, "tokenizer.ggml.merges", merges, 1);
    assert_int_equal(tok_from(&b, &tok, &err), LQ_OK);
    lq_tokenizer_free(tok);
    kv_str(&b, "tokenizer.ggml.pre", "no-such-pre");
    assert_int_equal(tok_from(&b, &tok, &err), LQ_E_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "no-such-pre"));
    assert_null(tok);

    struct gguf_b d = {.n = 0};
    kv_str(&d, "tokenizer.ggml.model", "llama");
    kv_strs(&d, "tokenizer.ggml.tokens", toks, 3);
    assert_int_equal(tok_from(&d, &tok, &err), LQ_E_FORMAT); /* "a" twice */
    assert_non_null(strstr(err.msg, "duplicate"));

    struct gguf_b s = {.n = 0};
    kv_str(&s, "tokenizer.ggml.model", "llama");
    kv_strs(&s, "tokenizer.ggml.tokens", toks, 2);
    kv_nums(&s, "tokenizer.ggml.token_type", 5, NULL, (const int32_t[]){1}, 1);
    assert_int_equal(tok_from(&s, &tok, &err), LQ_E_FORMAT); /* 1 type for 2 tokens */
    assert_non_null(strstr(err.msg, "token_type"));
}

#define VOCAB_TEST(name, vocab)                                                            \
    static void test_tokenizer_##name(void **state)                                        \
    {                                                                                      \
        (void)state;                                                                       \
        check_vocab(vocab);                                                                \
    }
VOCAB_TEST(llama_spm, "llama-spm")
VOCAB_TEST(phi_3, "phi-3")
VOCAB_TEST(gpt_2, "gpt-2")
VOCAB_TEST(falcon, "falcon")
VOCAB_TEST(deepseek_llm, "deepseek-llm")
VOCAB_TEST(deepseek_coder, "deepseek-coder")
VOCAB_TEST(starcoder, "starcoder")
VOCAB_TEST(mpt, "mpt")
VOCAB_TEST(refact, "refact")

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokenizer_llama_spm),
        cmocka_unit_test(test_tokenizer_phi_3),
        cmocka_unit_test(test_tokenizer_gpt_2),
        cmocka_unit_test(test_tokenizer_falcon),
        cmocka_unit_test(test_tokenizer_deepseek_llm),
        cmocka_unit_test(test_tokenizer_deepseek_coder),
        cmocka_unit_test(test_tokenizer_starcoder),
        cmocka_unit_test(test_tokenizer_mpt),
        cmocka_unit_test(test_tokenizer_refact),
        cmocka_unit_test(test_tokenizer_round_trip),
        cmocka_unit_test(test_tokenizer_bert_refused),
        cmocka_unit_test(test_tokenizer_other_vocabs),
        cmocka_unit_test(test_tokenizer_special_tokens),
        cmocka_unit_test(test_tokenizer_spm_rules),
        cmocka_unit_test(test_tokenizer_bpe_rules),
        cmocka_unit_test(test_tokenizer_bad_metadata),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
