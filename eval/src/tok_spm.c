/* tok_spm.c - SentencePiece-style encoding of one text fragment (llama.cpp's
 * llm_tokenizer_spm): start from UTF-8 characters, repeatedly merge the adjacent pair
 * whose concatenation is the vocabulary token with the highest score (leftmost on ties),
 * then emit each symbol as its token or, failing that, as byte tokens. */
#include "tok_impl.h"

#include <string.h>

int32_t lqi_tok_byte_token(const struct lq_tokenizer *t, unsigned char b)
{
    static const char hex[] = "0123456789ABCDEF";
    if (t->kind == LQI_TOK_SPM || t->spm_style) {
        char buf[6] = {'<', '0', 'x', hex[b >> 4], hex[b & 15], '>'};
        int32_t id = lqi_tok_find(t, buf, sizeof buf);
        return id != LQ_TOKEN_NULL || t->spm_style ? id : lqi_tok_find(t, (const char *)&b, 1);
    }
    char u[4];
    return lqi_tok_find(t, u, lqi_utf8_encode(lqi_gpt2_byte_cp(b), u));
}

struct spm {
    const struct lq_tokenizer *t;
    const char *text;
    struct lqi_vec syms; /* struct lqi_sym */
    struct lqi_vec heap; /* struct lqi_bigram */
};

static bool try_bigram(struct spm *s, int32_t left, int32_t right)
{
    if (left < 0 || right < 0) {
        return true;
    }
    const struct lqi_sym *sy = s->syms.data;
    size_t n = sy[left].n + sy[right].n;
    int32_t id = lqi_tok_find(s->t, s->text + sy[left].off, n);
    if (id == LQ_TOKEN_NULL) {
        return true;
    }
    struct lqi_bigram b = {s->t->tokens[id].score, left, right, n};
    return lqi_heap_push(&s->heap, &b);
}

static bool split_chars(struct spm *s, size_t len)
{
    size_t off = 0;
    int32_t i = 0;
    while (off < len) {
        size_t n = lqi_utf8_len((unsigned char)s->text[off]);
        struct lqi_sym sym = {i - 1, -1, off, n < len - off ? n : len - off};
        off += sym.n;
        sym.next = off == len ? -1 : i + 1;
        if (!lqi_vec_push(&s->syms, &sym, 1)) {
            return false;
        }
        i++;
    }
    for (i = 1; i < (int32_t)s->syms.n; i++) {
        if (!try_bigram(s, i - 1, i)) {
            return false;
        }
    }
    return true;
}

static bool merge_all(struct spm *s)
{
    while (s->heap.n) {
        struct lqi_bigram b = lqi_heap_pop(&s->heap);
        struct lqi_sym *sy = s->syms.data, *l = &sy[b.left], *r = &sy[b.right];
        /* stale entries: one side already merged away or grown */
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size) {
            continue;
        }
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) {
            sy[r->next].prev = b.left;
        }
        if (!try_bigram(s, l->prev, b.left) || !try_bigram(s, b.left, l->next)) {
            return false;
        }
    }
    return true;
}

/* Merged symbols are always tokens, so a symbol without a token is a single character;
 * llama.cpp spells it in byte tokens (unknown token when the vocabulary has none). */
static lq_status emit(struct spm *s, struct lqi_vec *out, struct lq_error *err)
{
    const struct lqi_sym *sy = s->syms.data;
    for (int32_t i = s->syms.n ? 0 : -1; i != -1; i = sy[i].next) {
        const char *p = s->text + sy[i].off;
        int32_t id = lqi_tok_find(s->t, p, sy[i].n);
        if (id != LQ_TOKEN_NULL) {
            LQ_FAIL_IF(!lqi_vec_push_i32(out, id), err, LQ_E_NOMEM, "tokenizer: out of memory");
            continue;
        }
        for (size_t j = 0; j < sy[i].n; j++) {
            id = lqi_tok_byte_token(s->t, (unsigned char)p[j]);
            id = id != LQ_TOKEN_NULL ? id : s->t->unk;
            LQ_FAIL_IF(id == LQ_TOKEN_NULL, err, LQ_E_FORMAT,
                       "tokenizer: no token for byte 0x%02X and no unknown token",
                       (unsigned char)p[j]);
            LQ_FAIL_IF(!lqi_vec_push_i32(out, id), err, LQ_E_NOMEM, "tokenizer: out of memory");
        }
    }
    return LQ_OK;
}

lq_status lqi_spm_encode(const struct lq_tokenizer *t, const char *text, size_t len,
                         struct lqi_vec *out, struct lq_error *err)
{
    struct spm s = {t, text, {0}, {0}};
    lq_status rc;
    lqi_vec_init(&s.syms, sizeof(struct lqi_sym));
    lqi_vec_init(&s.heap, sizeof(struct lqi_bigram));
    LQ_FAIL_IF(len > INT32_MAX, err, LQ_E_RANGE, "tokenizer: fragment of %zu bytes too long", len);
    if (!split_chars(&s, len) || !merge_all(&s)) {
        rc = lqi_set_error(err, LQ_E_NOMEM, "tokenizer: out of memory");
    } else {
        rc = emit(&s, out, err);
    }
    lqi_vec_free(&s.syms);
    lqi_vec_free(&s.heap);
    return rc;
}
