/* tok_split.c - splitting text into words with the pre-tokenizer regexes (PCRE2).
 *
 * Mirrors llama.cpp's unicode_regex_split: the text is decoded into code points
 * (bad UTF-8 -> U+FFFD), the regexes run one after another, each on the pieces the
 * previous one produced, and words are rebuilt from the code points. The regexes see a
 * "shadow" copy of the text in which non-ASCII White_Space characters are U+000B, as
 * llama.cpp substitutes them, and surrogates (which PCRE2 refuses) a private-use code
 * point of the same class for every regex in use.
 */
#include "tok_impl.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string.h>

struct split_ctx {
    struct lqi_vec cps;    /* uint32 code points */
    struct lqi_vec shadow; /* char: what the regexes see */
    struct lqi_vec soff;   /* size_t[n+1]: byte offset of each code point in shadow */
    struct lqi_vec toff;   /* size_t[n+1]: same in the rebuilt text */
    struct lqi_vec seg[2]; /* size_t: piece lengths in code points */
    pcre2_match_data *md;
};

static void ctx_free(struct split_ctx *c)
{
    lqi_vec_free(&c->cps);
    lqi_vec_free(&c->shadow);
    lqi_vec_free(&c->soff);
    lqi_vec_free(&c->toff);
    lqi_vec_free(&c->seg[0]);
    lqi_vec_free(&c->seg[1]);
    pcre2_match_data_free(c->md);
}

static uint32_t shadow_cp(uint32_t cp)
{
    if (cp >= 0x80 && lqi_is_unicode_space(cp)) {
        return 0x0B;
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) {
        return 0xE000;
    }
    return cp;
}

/* Decodes text and fills cps, shadow, soff, the rebuilt text and toff. */
static bool decode_all(struct split_ctx *c, const char *text, size_t len, struct lqi_vec *out)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t pos = 0;
    char buf[4];
    while (pos < len) {
        uint32_t cp = lqi_utf8_decode(s, len, &pos);
        if (!lqi_vec_push(&c->cps, &cp, 1) || !lqi_vec_push(&c->soff, &c->shadow.n, 1) ||
            !lqi_vec_push(&c->toff, &out->n, 1)) {
            return false;
        }
        if (!lqi_vec_push(&c->shadow, buf, lqi_utf8_encode(shadow_cp(cp), buf)) ||
            !lqi_vec_push(out, buf, lqi_utf8_encode(cp, buf))) {
            return false;
        }
    }
    return lqi_vec_push(&c->soff, &c->shadow.n, 1) && lqi_vec_push(&c->toff, &out->n, 1);
}

/* Code point index of shadow byte offset `b`, scanning forward from *cursor. */
static size_t cp_at(const struct split_ctx *c, size_t *cursor, size_t b)
{
    const size_t *soff = c->soff.data;
    while (soff[*cursor] < b) {
        (*cursor)++;
    }
    return *cursor;
}

/* Splits the piece of `n` code points starting at code point `start` with one regex,
 * appending the lengths of matches and of the text between them to `out`. */
static lq_status split_piece(struct split_ctx *c, const pcre2_code *re, size_t start, size_t n,
                             struct lqi_vec *out, struct lq_error *err)
{
    const size_t *soff = c->soff.data;
    PCRE2_SPTR subj = (PCRE2_SPTR)c->shadow.data + soff[start];
    size_t sublen = soff[start + n] - soff[start];
    size_t at = 0, prev = start, cursor = start;
    while (at < sublen) {
        int rc = pcre2_match(re, subj, sublen, at, PCRE2_NO_UTF_CHECK, c->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) {
            break;
        }
        LQ_FAIL_IF(rc < 0, err, LQ_E_RANGE, "tokenizer: regex match failed (PCRE2 error %d)", rc);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(c->md);
        size_t ms = cp_at(c, &cursor, soff[start] + ov[0]);
        size_t me = cp_at(c, &cursor, soff[start] + ov[1]);
        if (me == ms) { /* an empty match yields no piece; step over one code point */
            at = soff[ms + 1] - soff[start];
            continue;
        }
        size_t gap = ms - prev, m = me - ms;
        if ((gap && !lqi_vec_push(out, &gap, 1)) || !lqi_vec_push(out, &m, 1)) {
            return lqi_set_error(err, LQ_E_NOMEM, "tokenizer: out of memory");
        }
        prev = me;
        at = ov[1];
    }
    size_t rest = start + n - prev;
    LQ_FAIL_IF(rest && !lqi_vec_push(out, &rest, 1), err, LQ_E_NOMEM, "tokenizer: out of memory");
    return LQ_OK;
}

static lq_status run_regexes(struct split_ctx *c, const struct lqi_pretok *p,
                             struct lq_error *err)
{
    size_t n = c->cps.n;
    int cur = 0;
    if (n == 0) {
        return LQ_OK;
    }
    LQ_FAIL_IF(!lqi_vec_push(&c->seg[0], &n, 1), err, LQ_E_NOMEM, "tokenizer: out of memory");
    for (size_t r = 0; r < p->n_re; r++) {
        struct lqi_vec *in = &c->seg[cur], *out = &c->seg[!cur];
        const size_t *len = in->data;
        size_t start = 0;
        out->n = 0;
        for (size_t i = 0; i < in->n; i++) {
            LQ_TRY(split_piece(c, p->re[r], start, len[i], out, err));
            start += len[i];
        }
        cur = !cur;
    }
    if (cur != 0) {
        struct lqi_vec tmp = c->seg[0];
        c->seg[0] = c->seg[1];
        c->seg[1] = tmp;
    }
    return LQ_OK;
}

lq_status lqi_pretok_split(const struct lqi_pretok *p, const char *text, size_t len,
                           struct lqi_vec *out_text, struct lqi_vec *words, struct lq_error *err)
{
    struct split_ctx c;
    lq_status rc = LQ_OK;
    memset(&c, 0, sizeof c);
    lqi_vec_init(&c.cps, sizeof(uint32_t));
    lqi_vec_init(&c.shadow, 1);
    lqi_vec_init(&c.soff, sizeof(size_t));
    lqi_vec_init(&c.toff, sizeof(size_t));
    lqi_vec_init(&c.seg[0], sizeof(size_t));
    lqi_vec_init(&c.seg[1], sizeof(size_t));
    c.md = pcre2_match_data_create(1, NULL);
    if (!c.md || !decode_all(&c, text, len, out_text)) {
        rc = lqi_set_error(err, LQ_E_NOMEM, "tokenizer: out of memory");
        goto out_free_ctx;
    }
    rc = run_regexes(&c, p, err);
    if (rc != LQ_OK) {
        goto out_free_ctx;
    }
    const size_t *seg = c.seg[0].data, *toff = c.toff.data;
    size_t start = 0;
    for (size_t i = 0; i < c.seg[0].n; i++) {
        struct lqi_span w = {toff[start], toff[start + seg[i]] - toff[start]};
        if (!lqi_vec_push(words, &w, 1)) {
            rc = lqi_set_error(err, LQ_E_NOMEM, "tokenizer: out of memory");
            goto out_free_ctx;
        }
        start += seg[i];
    }
out_free_ctx:
    ctx_free(&c);
    return rc;
}
