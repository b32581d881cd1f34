/* llama2c_vocab.c - llama2.c tokenizer files, as stored and as llama.cpp's
 * convert-llama2c-to-ggml turns them into a GGUF vocabulary. */
#include "lq/llama2c.h"

#include <string.h>

#include "file_map.h"
#include "lqi.h"

/* llama.cpp token types (same numbers as lq/spm_model.h). */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_BYTE = 6 };

/* "▁" (U+2581), SentencePiece's visible space. */
static const char k_space_mark[] = "\xe2\x96\x81";

struct lq_llama2c_vocab {
    int64_t n;
    int32_t max_len;
    const char **raw;   /* n pointers into raw_buf */
    const char **texts; /* n pointers into text_buf */
    float *scores;
    int32_t *types;
    char *raw_buf;
    char *text_buf;
};

// ---- parsing ----

struct cursor {
    const unsigned char *p;
    uint64_t off, size;
    const char *path;
};

static lq_status take(struct cursor *c, uint64_t n, const unsigned char **out, int64_t id,
                      struct lq_error *err)
{
    LQ_FAIL_IF(c->size - c->off < n, err, LQ_E_FORMAT,
               "%s: token %lld: truncated at offset %llu (%llu bytes needed, %llu left)",
               c->path, (long long)id, (unsigned long long)c->off, (unsigned long long)n,
               (unsigned long long)(c->size - c->off));
    *out = c->p + c->off;
    c->off += n;
    return LQ_OK;
}

/* Pass one: validates every record and sums the token bytes. */
static lq_status scan(struct cursor c, lq_llama2c_vocab *v, uint64_t *raw_bytes,
                      struct lq_error *err)
{
    const unsigned char *q = NULL;
    LQ_TRY(take(&c, 4, &q, -1, err));
    v->max_len = (int32_t)lqi_rd_u32(q);
    LQ_FAIL_IF(v->max_len < 0, err, LQ_E_FORMAT, "%s: max_token_length %d is negative", c.path,
               v->max_len);
    *raw_bytes = 0;
    for (int64_t i = 0; i < v->n; i++) {
        uint64_t at = c.off;
        LQ_TRY(take(&c, 8, &q, i, err));
        int32_t len = (int32_t)lqi_rd_u32(q + 4);
        LQ_FAIL_IF(len < 0 || len > v->max_len, err, LQ_E_FORMAT,
                   "%s: token %lld at offset %llu: length %d outside 0..max_token_length %d",
                   c.path, (long long)i, (unsigned long long)at, len, v->max_len);
        LQ_TRY(take(&c, (uint64_t)len, &q, i, err));
        LQ_FAIL_IF(memchr(q, 0, (size_t)len) != NULL, err, LQ_E_FORMAT,
                   "%s: token %lld at offset %llu holds a NUL byte", c.path, (long long)i,
                   (unsigned long long)at);
        *raw_bytes += (uint64_t)len + 1;
    }
    LQ_FAIL_IF(c.off != c.size, err, LQ_E_FORMAT,
               "%s: %llu trailing bytes after %lld tokens (wrong vocab_size?)", c.path,
               (unsigned long long)(c.size - c.off), (long long)v->n);
    return LQ_OK;
}

static bool is_byte_token(const char *s)
{
    /* llama.cpp tests sscanf(text, "<0x%02hhX>") == 1: "<0x" and a hex digit suffice */
    if (strncmp(s, "<0x", 3) != 0) {
        return false;
    }
    char c = s[3];
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The GGUF text and type of token id with stored text raw (convert-llama2c-to-ggml). */
static const char *gguf_token(int64_t id, const char *raw, int32_t *type)
{
    static const char *const special[3] = { "<unk>", "<s>", "</s>" };
    if (id < 3) {
        *type = id == 0 ? TT_UNKNOWN : TT_CONTROL;
        return special[id];
    }
    *type = !*raw ? TT_CONTROL : is_byte_token(raw) ? TT_BYTE : TT_NORMAL;
    return raw;
}

/* Copies src to dst with every space replaced by U+2581; returns the bytes written. */
static size_t escape_spaces(char *dst, const char *src)
{
    size_t n = 0;
    for (; *src; src++) {
        if (*src == ' ') {
            memcpy(dst + n, k_space_mark, 3);
            n += 3;
        } else {
            dst[n++] = *src;
        }
    }
    dst[n] = '\0';
    return n + 1;
}

/* Pass two: copies the tokens and derives the GGUF texts. */
static void fill(struct cursor c, lq_llama2c_vocab *v)
{
    char *raw = v->raw_buf, *text = v->text_buf;
    c.off = 4;
    for (int64_t i = 0; i < v->n; i++) {
        const unsigned char *q = c.p + c.off;
        uint32_t bits = lqi_rd_u32(q);
        memcpy(&v->scores[i], &bits, 4);
        size_t len = (size_t)lqi_rd_u32(q + 4);
        memcpy(raw, q + 8, len);
        raw[len] = '\0';
        c.off += 8 + len;
        v->raw[i] = raw;
        raw += len + 1;
        v->texts[i] = text;
        text += escape_spaces(text, gguf_token(i, v->raw[i], &v->types[i]));
    }
}

// ---- public ----

static lq_status alloc_vocab(lq_llama2c_vocab *v, uint64_t raw_bytes, const char *path,
                             struct lq_error *err)
{
    /* escaping turns one byte into three; the special texts are shorter than 8 bytes */
    uint64_t text_bytes = raw_bytes * 3 + 3 * 8;
    LQ_FAIL_IF(text_bytes > SIZE_MAX, err, LQ_E_RANGE, "%s: tokens too large", path);
    v->raw = lqi_calloc((size_t)v->n, sizeof *v->raw);
    v->texts = lqi_calloc((size_t)v->n, sizeof *v->texts);
    v->scores = lqi_calloc((size_t)v->n, sizeof *v->scores);
    v->types = lqi_calloc((size_t)v->n, sizeof *v->types);
    v->raw_buf = lqi_malloc((size_t)raw_bytes);
    v->text_buf = lqi_malloc((size_t)text_bytes);
    LQ_FAIL_IF(!v->raw || !v->texts || !v->scores || !v->types || !v->raw_buf || !v->text_buf,
               err, LQ_E_NOMEM, "%s: out of memory for %lld tokens", path, (long long)v->n);
    return LQ_OK;
}

static lq_status load_vocab(lq_llama2c_vocab *v, const char *path, struct lq_error *err)
{
    struct lqi_file_map map;
    LQ_TRY(lqi_file_map_open(path, &map, err));
    struct cursor c = { map.data, 0, map.size, path };
    uint64_t raw_bytes = 0;
    lq_status rc = scan(c, v, &raw_bytes, err);
    if (rc == LQ_OK) {
        rc = alloc_vocab(v, raw_bytes, path, err);
    }
    if (rc == LQ_OK) {
        fill(c, v);
    }
    lqi_file_map_close(&map);
    return rc;
}

lq_status lq_llama2c_vocab_open(const char *path, int32_t n_vocab, lq_llama2c_vocab **out,
                                struct lq_error *err)
{
    LQ_FAIL_IF(!out || !path, err, LQ_E_INVALID_ARG, "llama2c: NULL path or out");
    *out = NULL;
    LQ_FAIL_IF(n_vocab < 3, err, LQ_E_FORMAT,
               "%s: vocab_size %d (unk, bos and eos need at least 3)", path, n_vocab);
    lq_llama2c_vocab *v = lqi_calloc(1, sizeof *v);
    LQ_FAIL_IF(!v, err, LQ_E_NOMEM, "%s: out of memory", path);
    v->n = n_vocab;
    lq_status rc = load_vocab(v, path, err);
    if (rc != LQ_OK) {
        lq_llama2c_vocab_free(v);
        return rc;
    }
    *out = v;
    return LQ_OK;
}

void lq_llama2c_vocab_free(lq_llama2c_vocab *v)
{
    if (!v) {
        return;
    }
    lqi_free(v->raw);
    lqi_free(v->texts);
    lqi_free(v->scores);
    lqi_free(v->types);
    lqi_free(v->raw_buf);
    lqi_free(v->text_buf);
    lqi_free(v);
}

int64_t lq_llama2c_vocab_n(const lq_llama2c_vocab *v)
{
    return v ? v->n : 0;
}

int32_t lq_llama2c_vocab_max_token_length(const lq_llama2c_vocab *v)
{
    return v ? v->max_len : 0;
}

const char *const *lq_llama2c_vocab_raw(const lq_llama2c_vocab *v)
{
    return v ? v->raw : NULL;
}

const float *lq_llama2c_vocab_scores(const lq_llama2c_vocab *v)
{
    return v ? v->scores : NULL;
}

const char *const *lq_llama2c_vocab_texts(const lq_llama2c_vocab *v)
{
    return v ? v->texts : NULL;
}

const int32_t *lq_llama2c_vocab_types(const lq_llama2c_vocab *v)
{
    return v ? v->types : NULL;
}
