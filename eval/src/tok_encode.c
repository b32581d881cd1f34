/* tok_encode.c - the public encoder: special tokens are cut out of the text first
 * (llama.cpp's tokenizer_st_partition), then each text fragment is encoded by the
 * vocabulary's algorithm. */
#include "tok_impl.h"

#include <ctype.h>
#include <string.h>

/* A piece of the input: a token already decided (tok >= 0) or text[off, off+len). */
struct frag {
    int32_t tok;
    size_t off, len;
};

static bool push_frag(struct lqi_vec *v, int32_t tok, size_t off, size_t len)
{
    struct frag f = {tok, off, len};
    return lqi_vec_push(v, &f, 1);
}

static const char *find(const char *hay, size_t n, const char *needle, size_t m)
{
    return m <= n ? memmem(hay, n, needle, m) : NULL;
}

/* Cuts every occurrence of special token `id` out of text fragment f, appending the
 * pieces to out; LSTRIP/RSTRIP tokens swallow the spaces next to them. */
static bool cut_token(const struct lq_tokenizer *t, int32_t id, const char *text,
                      const struct frag *f, struct lqi_vec *out)
{
    const char *tt = lqi_tok_text(t, id);
    size_t tl = t->tokens[id].len, pos = f->off, end = f->off + f->len;
    uint32_t attr = t->tokens[id].attr;
    for (;;) {
        const char *m = find(text + pos, end - pos, tt, tl);
        if (!m) {
            return pos >= end || push_frag(out, -1, pos, end - pos);
        }
        size_t at = (size_t)(m - text), left = at - pos;
        while ((attr & LQ_TOKEN_ATTR_LSTRIP) && left > 0 &&
               isspace((unsigned char)text[pos + left - 1])) {
            left--;
        }
        if ((left && !push_frag(out, -1, pos, left)) || !push_frag(out, id, 0, 0)) {
            return false;
        }
        pos = at + tl;
        while ((attr & LQ_TOKEN_ATTR_RSTRIP) && pos < end && isspace((unsigned char)text[pos])) {
            pos++;
        }
    }
}

static lq_status partition(const struct lq_tokenizer *t, const char *text, size_t len,
                           bool parse_special, struct lqi_vec *frags, struct lq_error *err)
{
    struct lqi_vec next;
    lq_status rc = LQ_OK;
    lqi_vec_init(&next, sizeof(struct frag));
    if (len && !push_frag(frags, -1, 0, len)) {
        return lqi_set_error(err, LQ_E_NOMEM, "tokenizer: out of memory");
    }
    for (size_t s = 0; s < t->n_special; s++) {
        int32_t id = t->special[s];
        if (!parse_special &&
            (t->tokens[id].attr & (LQ_TOKEN_ATTR_CONTROL | LQ_TOKEN_ATTR_UNKNOWN))) {
            continue; /* user-defined tokens are always cut out */
        }
        const struct frag *f = frags->data;
        next.n = 0;
        for (size_t i = 0; i < frags->n; i++) {
            bool ok = f[i].tok >= 0 ? lqi_vec_push(&next, &f[i], 1)
                                    : cut_token(t, id, text, &f[i], &next);
            if (!ok) {
                rc = lqi_set_error(err, LQ_E_NOMEM, "tokenizer: out of memory");
                goto out_free_next;
            }
        }
        struct lqi_vec tmp = *frags;
        *frags = next;
        next = tmp;
    }
out_free_next:
    lqi_vec_free(&next);
    return rc;
}

/* The fragment with every space as U+2581, after one more when `prefix`, into buf. */
static lq_status escape_spaces(const char *s, size_t n, bool prefix, struct lqi_vec *buf,
                               struct lq_error *err)
{
    static const char esc[3] = {'\xe2', '\x96', '\x81'};
    bool ok = true;
    buf->n = 0;
    if (prefix) {
        ok = lqi_vec_push(buf, esc, 3);
    }
    for (size_t i = 0; i < n && ok; i++) {
        ok = s[i] == ' ' ? lqi_vec_push(buf, esc, 3) : lqi_vec_push(buf, &s[i], 1);
    }
    LQ_FAIL_IF(!ok, err, LQ_E_NOMEM, "tokenizer: out of memory");
    return LQ_OK;
}

/* SPM: a space goes before text that starts the input or follows a special token, and
 * every space becomes U+2581. */
static lq_status spm_fragment(const struct lq_tokenizer *t, const char *s, size_t n,
                              bool prefix, struct lqi_vec *buf, struct lqi_vec *out,
                              struct lq_error *err)
{
    LQ_TRY(escape_spaces(s, n, prefix, buf, err));
    return lqi_spm_encode(t, buf->data, buf->n, out, err);
}

/* BPE; SentencePiece-style vocabularies see spaces as U+2581 (no prefix space). */
static lq_status bpe_fragment(const struct lq_tokenizer *t, const char *s, size_t n,
                              struct lqi_vec *buf, struct lqi_vec *out, struct lq_error *err)
{
    if (!t->spm_style) {
        return lqi_bpe_encode(t, s, n, out, err);
    }
    LQ_TRY(escape_spaces(s, n, false, buf, err));
    return lqi_bpe_encode(t, buf->data, buf->n, out, err);
}

static lq_status encode_frags(const struct lq_tokenizer *t, const char *text,
                              const struct lqi_vec *frags, struct lqi_vec *out,
                              struct lq_error *err)
{
    const struct frag *f = frags->data;
    struct lqi_vec buf;
    bool prev_special = true;
    lq_status rc = LQ_OK;
    lqi_vec_init(&buf, 1);
    for (size_t i = 0; i < frags->n && rc == LQ_OK; i++) {
        if (f[i].tok >= 0) {
            rc = lqi_vec_push_i32(out, f[i].tok) ? LQ_OK
                                                 : lqi_set_error(err, LQ_E_NOMEM, "tokenizer: out of memory");
            prev_special = true;
        } else if (t->kind == LQI_TOK_SPM) {
            rc = spm_fragment(t, text + f[i].off, f[i].len, t->add_space_prefix && prev_special,
                              &buf, out, err);
            prev_special = false;
        } else {
            rc = bpe_fragment(t, text + f[i].off, f[i].len, &buf, out, err);
        }
    }
    lqi_vec_free(&buf);
    return rc;
}

lq_status lqi_tok_encode(const struct lq_tokenizer *t, const char *text, size_t len,
                         unsigned flags, struct lqi_vec *out, struct lq_error *err)
{
    struct lqi_vec frags;
    bool add = flags & LQ_TOKENIZE_ADD_SPECIAL;
    lq_status rc;
    lqi_vec_init(&frags, sizeof(struct frag));
    if (add && t->add_bos && !lqi_vec_push_i32(out, t->bos)) {
        return lqi_set_error(err, LQ_E_NOMEM, "tokenizer: out of memory");
    }
    rc = partition(t, text, len, flags & LQ_TOKENIZE_PARSE_SPECIAL, &frags, err);
    if (rc == LQ_OK) {
        rc = encode_frags(t, text, &frags, out, err);
    }
    if (rc == LQ_OK && add && t->add_eos && !lqi_vec_push_i32(out, t->eos)) {
        rc = lqi_set_error(err, LQ_E_NOMEM, "tokenizer: out of memory");
    }
    lqi_vec_free(&frags);
    return rc;
}

// ---- public entry points -------------------------------------------------------------------

lq_status lq_tokenizer_encode(const lq_tokenizer *tok, const char *text, size_t len,
                              unsigned flags, int32_t **ids, size_t *n_ids, struct lq_error *err)
{
    struct lqi_vec out;
    LQ_FAIL_IF(!ids || !n_ids, err, LQ_E_INVALID_ARG, "tokenizer: ids or n_ids is NULL");
    *ids = NULL;
    *n_ids = 0;
    LQ_FAIL_IF(!tok || (!text && len), err, LQ_E_INVALID_ARG, "tokenizer: NULL argument");
    lqi_vec_init(&out, sizeof(int32_t));
    lq_status rc = lqi_tok_encode(tok, text, len, flags, &out, err);
    if (rc != LQ_OK) {
        lqi_vec_free(&out);
        return rc;
    }
    *ids = out.data;
    *n_ids = out.n;
    return LQ_OK;
}

void lq_tokenizer_ids_free(int32_t *ids)
{
    lqi_free(ids);
}

lq_status lq_tokenizer_encode_into(const lq_tokenizer *tok, const char *text, size_t len,
                                   unsigned flags, int32_t *ids, size_t cap, size_t *n_ids,
                                   struct lq_error *err)
{
    int32_t *all;
    size_t n;
    LQ_FAIL_IF(!n_ids || (!ids && cap), err, LQ_E_INVALID_ARG, "tokenizer: NULL argument");
    LQ_TRY(lq_tokenizer_encode(tok, text, len, flags, &all, &n, err));
    *n_ids = n;
    if (n > cap) {
        lqi_free(all);
        return lqi_set_error(err, LQ_E_RANGE, "tokenizer: %zu ids do not fit in %zu", n, cap);
    }
    if (n) {
        memcpy(ids, all, n * sizeof *ids);
    }
    lqi_free(all);
    return LQ_OK;
}
