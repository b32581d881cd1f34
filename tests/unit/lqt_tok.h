/* lqt_tok.h - llama.cpp's tokenizer test pairs (.inp / .out) for the tokenizer tests. */
#ifndef LQ_TEST_TOK_H
#define LQ_TEST_TOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Inputs separated by lines "__ggml_vocab_test__" (each keeps its own trailing newlines), and
 * one line of space-separated expected ids per input. */
struct lqt_cases {
    char *inp, *out; /* file contents, cut in place */
    char **text;     /* inputs (NUL-terminated; none contains NUL) */
    size_t *len;
    char **ids; /* expected ids, one line each */
    size_t n;
};

/* Loads the pair (paths relative to the shared data); fails the test when they disagree in
 * count. */
void lqt_cases_load(struct lqt_cases *c, const char *inp_rel, const char *out_rel);
void lqt_cases_free(struct lqt_cases *c);

/* Compares ids with a line of space-separated numbers; prints the first difference. */
bool lqt_ids_match(const int32_t *ids, size_t n, const char *line, const char *what);

#endif
