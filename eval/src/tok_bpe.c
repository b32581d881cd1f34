/* tok_bpe.c - byte-level BPE (llama.cpp's llm_tokenizer_bpe_session): the pre-tokenizer
 * splits the text into words; each word's bytes are written in GPT-2's byte alphabet and
 * its characters merged pairwise by merge rank (lowest first, leftmost on ties). */
#include "tok_impl.h"

#include <string.h>

struct bpe {
    const struct lq_tokenizer *t;
    struct lqi_vec word; /* char: the word in GPT-2's alphabet */
    struct lqi_vec syms; /* struct lqi_sym */
    struct lqi_vec heap; /* struct lqi_bigram */
};

/* The word as the merges spell it: GPT-2's byte alphabet, or its own UTF-8 bytes for
 * SentencePiece-style vocabularies. */
static bool byte_encode(struct bpe *b, const char *s, size_t n)
{
    char u[4];
    b->word.n = 0;
    if (b->t->spm_style) {
        return lqi_vec_push(&b->word, s, n);
    }
    for (size_t i = 0; i < n; i++) {
        if (!lqi_vec_push(&b->word, u, lqi_utf8_encode(lqi_gpt2_byte_cp((unsigned char)s[i]), u))) {
            return false;
        }
    }
    return true;
}

static bool add_bigram(struct bpe *b, int32_t left, int32_t right)
{
    if (left < 0 || right < 0) {
        return true;
    }
    const struct lqi_sym *sy = b->syms.data;
    const char *w = b->word.data;
    int32_t rank = lqi_smap_get_pair(&b->t->merges, w + sy[left].off, sy[left].n,
                                     w + sy[right].off, sy[right].n);
    if (rank < 0) {
        return true;
    }
    struct lqi_bigram bg = {-(double)rank, left, right, sy[left].n + sy[right].n};
    return lqi_heap_push(&b->heap, &bg);
}

static bool all_newlines(const char *w, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (w[i] != '\n') {
            return false;
        }
    }
    return true;
}

static bool split_chars(struct bpe *b)
{
    const char *w = b->word.data;
    size_t len = b->word.n, off = 0;
    int32_t i = 0;
    b->syms.n = 0;
    b->heap.n = 0;
    /* whole-word tokens: every word when merges are ignored, runs of newlines for
     * SentencePiece-style vocabularies (whose merges cannot build them) */
    bool keep = b->t->ignore_merges || (b->t->spm_style && len && all_newlines(w, len));
    if (keep && lqi_tok_find(b->t, w, len) != LQ_TOKEN_NULL) {
        struct lqi_sym whole = {-1, -1, 0, len};
        return lqi_vec_push(&b->syms, &whole, 1);
    }
    while (off < len) {
        size_t n = lqi_utf8_len((unsigned char)w[off]);
        struct lqi_sym sym = {i - 1, -1, off, n < len - off ? n : len - off};
        off += sym.n;
        sym.next = off == len ? -1 : i + 1;
        if (!lqi_vec_push(&b->syms, &sym, 1)) {
            return false;
        }
        i++;
    }
    for (i = 1; i < (int32_t)b->syms.n; i++) {
        if (!add_bigram(b, i - 1, i)) {
            return false;
        }
    }
    return true;
}

/* An entry is current when both sides are alive and unchanged since it was queued (sizes
 * only grow, so equal sizes mean equal text, which is what llama.cpp compares). */
static bool merge_all(struct bpe *b)
{
    while (b->heap.n) {
        struct lqi_bigram bg = lqi_heap_pop(&b->heap);
        struct lqi_sym *sy = b->syms.data, *l = &sy[bg.left], *r = &sy[bg.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != bg.size) {
            continue;
        }
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) {
            sy[r->next].prev = bg.left;
        }
        if (!add_bigram(b, l->prev, bg.left) || !add_bigram(b, bg.left, l->next)) {
            return false;
        }
    }
    return true;
}

/* A symbol that is no token is spelled by the tokens of its single bytes where those
 * exist (GPT-2 characters, or "<0xNN>" for SentencePiece-style vocabularies); llama.cpp
 * silently drops the rest. */
static bool emit(struct bpe *b, struct lqi_vec *out)
{
    const struct lqi_sym *sy = b->syms.data;
    const char *w = b->word.data;
    for (size_t i = 0; i < b->syms.n; i++) {
        if (sy[i].n == 0) {
            continue;
        }
        int32_t id = lqi_tok_find(b->t, w + sy[i].off, sy[i].n);
        if (id != LQ_TOKEN_NULL) {
            if (!lqi_vec_push_i32(out, id)) {
                return false;
            }
            continue;
        }
        for (size_t j = 0; j < sy[i].n; j++) {
            id = b->t->spm_style ? lqi_tok_byte_token(b->t, (unsigned char)w[sy[i].off + j])
                                 : lqi_tok_find(b->t, w + sy[i].off + j, 1);
            if (id != LQ_TOKEN_NULL && !lqi_vec_push_i32(out, id)) {
                return false;
            }
        }
    }
    return true;
}

static lq_status encode_words(struct bpe *b, const struct lqi_vec *text,
                              const struct lqi_vec *words, struct lqi_vec *out,
                              struct lq_error *err)
{
    const struct lqi_span *w = words->data;
    for (size_t i = 0; i < words->n; i++) {
        LQ_FAIL_IF(w[i].len > INT32_MAX / 4, err, LQ_E_RANGE, "tokenizer: word too long");
        if (!byte_encode(b, (const char *)text->data + w[i].off, w[i].len) || !split_chars(b) ||
            !merge_all(b) || !emit(b, out)) {
            return lqi_set_error(err, LQ_E_NOMEM, "tokenizer: out of memory");
        }
    }
    return LQ_OK;
}

lq_status lqi_bpe_encode(const struct lq_tokenizer *t, const char *text, size_t len,
                         struct lqi_vec *out, struct lq_error *err)
{
    struct bpe b = {t, {0}, {0}, {0}};
    struct lqi_vec rebuilt, words;
    lqi_vec_init(&b.word, 1);
    lqi_vec_init(&b.syms, sizeof(struct lqi_sym));
    lqi_vec_init(&b.heap, sizeof(struct lqi_bigram));
    lqi_vec_init(&rebuilt, 1);
    lqi_vec_init(&words, sizeof(struct lqi_span));
    lq_status rc = lqi_pretok_split(&t->pretok, text, len, &rebuilt, &words, err);
    if (rc == LQ_OK) {
        rc = encode_words(&b, &rebuilt, &words, out, err);
    }
    lqi_vec_free(&b.word);
    lqi_vec_free(&b.syms);
    lqi_vec_free(&b.heap);
    lqi_vec_free(&rebuilt);
    lqi_vec_free(&words);
    return rc;
}
