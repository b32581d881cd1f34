/* lqt_tok.c - llama.cpp's tokenizer test pairs (lqt_tok.h). */
#include "lqt_tok.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lqt_util.h"

#define SEP "\n__ggml_vocab_test__\n"

void lqt_cases_load(struct lqt_cases *c, const char *inp_rel, const char *out_rel)
{
    size_t n_inp, n_out;
    c->inp = lqt_read_file(lqt_data_path(inp_rel), &n_inp);
    c->out = lqt_read_file(lqt_data_path(out_rel), &n_out);
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

void lqt_cases_free(struct lqt_cases *c)
{
    free(c->inp);
    free(c->out);
    free(c->text);
    free(c->len);
    free(c->ids);
}

/* Compares ids with a line of space-separated numbers; prints the first difference. */
bool lqt_ids_match(const int32_t *ids, size_t n, const char *line, const char *what)
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
