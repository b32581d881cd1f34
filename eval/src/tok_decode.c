/* tok_decode.c - token ids back to text, as llama.cpp's token_to_piece and detokenize. */
#include "tok_impl.h"

#include <stdio.h>
#include <string.h>

static bool push(struct lqi_vec *v, const void *s, size_t n)
{
    return lqi_vec_push(v, s, n);
}

/* "<0xNN>" -> the byte (llama.cpp parses the two characters after "<0x" with strtol). */
static unsigned char byte_of(const char *text)
{
    unsigned v = 0;
    for (int i = 3; i < 5; i++) {
        char c = text[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                             : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) {
            break;
        }
        v = v * 16 + (unsigned)d;
    }
    return (unsigned char)v;
}

/* U+2581 -> ' ' (SPM pieces). */
static bool unescape_spaces(struct lqi_vec *v, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i + 2 < n && memcmp(s + i, "\xe2\x96\x81", 3) == 0) {
            if (!push(v, " ", 1)) {
                return false;
            }
            i += 2;
        } else if (!push(v, &s[i], 1)) {
            return false;
        }
    }
    return true;
}

/* GPT-2 alphabet -> bytes; characters outside it are written the way llama.cpp does. */
static bool decode_bpe_text(struct lqi_vec *v, const char *s, size_t n)
{
    size_t pos = 0;
    while (pos < n) {
        size_t start = pos;
        int b = lqi_gpt2_cp_byte(lqi_utf8_decode((const unsigned char *)s, n, &pos));
        if (b >= 0) {
            unsigned char c = (unsigned char)b;
            if (!push(v, &c, 1)) {
                return false;
            }
            continue;
        }
        char hex[3];
        bool ok = push(v, "[UNK_BYTE_0x", 12);
        for (size_t i = start; i < pos && ok; i++) {
            snprintf(hex, sizeof hex, "%02x", (unsigned char)s[i]);
            ok = push(v, hex, 2);
        }
        if (!ok || !push(v, s, n) || !push(v, "]", 1)) {
            return false;
        }
    }
    return true;
}

/* Appends the piece of token id, skipping up to `lstrip` leading spaces. */
static bool piece(const struct lq_tokenizer *t, int32_t id, bool special, size_t lstrip,
                  struct lqi_vec *v)
{
    const uint32_t sp = LQ_TOKEN_ATTR_UNKNOWN | LQ_TOKEN_ATTR_CONTROL;
    uint32_t attr = t->tokens[id].attr;
    const char *s = lqi_tok_text(t, id);
    size_t n = t->tokens[id].len, start = v->n;
    bool ok = true;
    if (!special && (attr & sp)) {
        return true;
    }
    if (attr & (sp | LQ_TOKEN_ATTR_USER_DEFINED)) {
        ok = push(v, s, n);
    } else if (attr & LQ_TOKEN_ATTR_NORMAL) {
        ok = t->kind == LQI_TOK_SPM || t->spm_style ? unescape_spaces(v, s, n)
                                                    : decode_bpe_text(v, s, n);
    } else if (attr & LQ_TOKEN_ATTR_BYTE) {
        unsigned char c = byte_of(s);
        ok = push(v, &c, 1);
    }
    char *p = (char *)v->data + start;
    size_t k = 0;
    while (ok && k < lstrip && start + k < v->n && p[k] == ' ') {
        k++;
    }
    if (k) {
        memmove(p, p + k, v->n - start - k);
        v->n -= k;
    }
    return ok;
}

// ---- llama.cpp's clean_up_tokenization_spaces, pass by pass on the decoded bytes -----------

/* " ?", " !", " .", " ," lose their space. */
static size_t clean_punct(char *s, size_t n)
{
    size_t total = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = s[i];
        if (s[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',')) {
            total--;
        }
        s[total++] = x;
    }
    return total;
}

/* " ' " becomes "'". */
static size_t clean_quote(char *s, size_t n)
{
    size_t total = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = s[i];
        if (x == '\'' && i + 1 < n && s[i - 1] == ' ' && s[i + 1] == ' ') {
            total--;
            s[++i] = '\0';
        }
        s[total++] = x;
    }
    return total;
}

/* " 's", " 'm", " 're", " 've" lose their space. */
static size_t clean_contractions(char *s, size_t n)
{
    size_t total = n ? 1 : 0;
    for (size_t i = 1; i < n; i++) {
        char x = s[i];
        if (s[i - 1] == ' ' && x == '\'' && i + 1 < n) {
            char x1 = s[i + 1];
            if (x1 == 's' || x1 == 'm') {
                total--;
            } else if (i + 2 < n && ((x1 == 'r' && s[i + 2] == 'e') || (x1 == 'v' && s[i + 2] == 'e'))) {
                total--;
            }
        }
        s[total++] = x;
    }
    return total;
}

static lq_status copy_out(const struct lqi_vec *v, char *buf, size_t cap, size_t *n_out,
                          struct lq_error *err)
{
    *n_out = v->n;
    LQ_FAIL_IF(cap < v->n + 1, err, LQ_E_RANGE, "tokenizer: %zu bytes do not fit in %zu",
               v->n + 1, cap);
    if (v->n) {
        memcpy(buf, v->data, v->n);
    }
    buf[v->n] = '\0';
    return LQ_OK;
}

lq_status lq_tokenizer_token_to_piece(const lq_tokenizer *tok, int32_t id, unsigned flags,
                                      char *buf, size_t cap, size_t *n_out, struct lq_error *err)
{
    struct lqi_vec v;
    LQ_FAIL_IF(!tok || !n_out || (!buf && cap), err, LQ_E_INVALID_ARG, "tokenizer: NULL argument");
    LQ_FAIL_IF(id < 0 || id >= tok->n_vocab, err, LQ_E_INVALID_ARG,
               "tokenizer: token id %d out of range [0, %d)", id, tok->n_vocab);
    lqi_vec_init(&v, 1);
    lq_status rc = piece(tok, id, flags & LQ_DETOKENIZE_UNPARSE_SPECIAL, 0, &v)
                       ? copy_out(&v, buf, cap, n_out, err)
                       : lqi_set_error(err, LQ_E_NOMEM, "tokenizer: out of memory");
    lqi_vec_free(&v);
    return rc;
}

static lq_status decode_all(const struct lq_tokenizer *t, const int32_t *ids, size_t n,
                            unsigned flags, struct lqi_vec *v, struct lq_error *err)
{
    bool remove_special = flags & LQ_DETOKENIZE_REMOVE_SPECIAL;
    bool remove_space = t->add_space_prefix; /* the space the SPM encoder put in front */
    if (remove_special && t->add_bos && n > 0 && ids[0] == t->bos) {
        remove_space = false;
        ids++;
        n--;
    }
    if (remove_special && t->add_eos && n > 0 && ids[n - 1] == t->eos) {
        n--;
    }
    for (size_t i = 0; i < n; i++) {
        LQ_FAIL_IF(ids[i] < 0 || ids[i] >= t->n_vocab, err, LQ_E_INVALID_ARG,
                   "tokenizer: token id %d at %zu out of range [0, %d)", ids[i], i, t->n_vocab);
        LQ_FAIL_IF(!piece(t, ids[i], flags & LQ_DETOKENIZE_UNPARSE_SPECIAL, remove_space, v), err,
                   LQ_E_NOMEM, "tokenizer: out of memory");
        remove_space = false;
    }
    if (t->clean_spaces) {
        char *s = v->data;
        v->n = clean_contractions(s, clean_quote(s, clean_punct(s, v->n)));
    }
    return LQ_OK;
}

lq_status lq_tokenizer_decode(const lq_tokenizer *tok, const int32_t *ids, size_t n,
                              unsigned flags, char *buf, size_t cap, size_t *n_out,
                              struct lq_error *err)
{
    struct lqi_vec v;
    LQ_FAIL_IF(!tok || !n_out || (!buf && cap) || (!ids && n), err, LQ_E_INVALID_ARG,
               "tokenizer: NULL argument");
    lqi_vec_init(&v, 1);
    lq_status rc = decode_all(tok, ids, n, flags, &v, err);
    if (rc == LQ_OK) {
        rc = copy_out(&v, buf, cap, n_out, err);
    }
    lqi_vec_free(&v);
    return rc;
}
