/* tok_impl.h - internals of the tokenizer (lq/tokenizer.h), shared by eval/src/tok_*.c. */
#ifndef LQ_TOK_IMPL_H
#define LQ_TOK_IMPL_H

#include "lq/tokenizer.h"
#include "lqi.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LQI_HIDDEN __attribute__((visibility("hidden")))

// ---- growable arrays --------------------------------------------------------------------

/* A growable array of `esize`-byte elements. */
struct lqi_vec {
    void *data;
    size_t n, cap, esize;
};

LQI_HIDDEN void lqi_vec_init(struct lqi_vec *v, size_t esize);
LQI_HIDDEN void lqi_vec_free(struct lqi_vec *v);
/* Makes room for `extra` more elements; false when out of memory. */
LQI_HIDDEN bool lqi_vec_reserve(struct lqi_vec *v, size_t extra);
/* Appends n elements; false when out of memory. */
LQI_HIDDEN bool lqi_vec_push(struct lqi_vec *v, const void *elems, size_t n);
LQI_HIDDEN bool lqi_vec_push_i32(struct lqi_vec *v, int32_t x);

// ---- string -> id hash map --------------------------------------------------------------

/* Open addressing over keys stored in an external pool (pool + off, len). */
struct lqi_smap_slot {
    uint32_t off, len;
    int32_t val; /* -1: empty */
    uint32_t hash;
};
struct lqi_smap {
    struct lqi_smap_slot *slots;
    size_t mask;
    const char *pool;
};

LQI_HIDDEN bool lqi_smap_init(struct lqi_smap *m, size_t n_keys, const char *pool);
LQI_HIDDEN void lqi_smap_free(struct lqi_smap *m);
/* Inserts pool[off, off+len) -> val unless the key exists; returns the existing value or
 * -1 when inserted. */
LQI_HIDDEN int32_t lqi_smap_put(struct lqi_smap *m, uint32_t off, uint32_t len, int32_t val);
LQI_HIDDEN int32_t lqi_smap_get(const struct lqi_smap *m, const char *key, size_t len);
/* Looks up the key a + ' ' + b without building it (BPE merges). */
LQI_HIDDEN int32_t lqi_smap_get_pair(const struct lqi_smap *m, const char *a, size_t la,
                                     const char *b, size_t lb);

// ---- UTF-8 and GPT-2's byte alphabet -----------------------------------------------------

/* Length of a UTF-8 sequence from its lead byte, as llama.cpp's unicode_len_utf8. */
LQI_HIDDEN size_t lqi_utf8_len(unsigned char lead);
/* Decodes one code point at s[*pos] (n bytes in all) leniently like llama.cpp: a bad
 * sequence yields U+FFFD and consumes one byte. */
LQI_HIDDEN uint32_t lqi_utf8_decode(const unsigned char *s, size_t n, size_t *pos);
/* Encodes cp (<= 0x10FFFF) into out (4 bytes room); returns the byte count. */
LQI_HIDDEN size_t lqi_utf8_encode(uint32_t cp, char *out);
/* True for the non-ASCII code points Unicode calls White_Space. */
LQI_HIDDEN bool lqi_is_unicode_space(uint32_t cp);
/* GPT-2's byte -> code point table (printable bytes map to themselves). */
LQI_HIDDEN uint32_t lqi_gpt2_byte_cp(unsigned char b);
/* Inverse: the byte for a code point, or -1 when cp is not in the table. */
LQI_HIDDEN int lqi_gpt2_cp_byte(uint32_t cp);

// ---- pre-tokenizer (BPE) -------------------------------------------------------------------

#define LQI_PRE_MAX_REGEX 8

struct lqi_pretok {
    const char *name;
    size_t n_re;
    void *re[LQI_PRE_MAX_REGEX]; /* pcre2_code * */
};

/* Flags a pre-tokenizer sets on the vocabulary, as llama.cpp's vocab loader does. */
struct lqi_pre_info {
    bool clean_spaces, ignore_merges, add_bos, no_bos_token;
    /* SentencePiece-style BPE (llama.cpp's gemma4 pre-tokenizer): spaces become U+2581
     * before splitting, words keep their UTF-8 bytes (no GPT-2 byte alphabet), bytes without
     * a token fall back to "<0xNN>" tokens, a word of newlines that is a token stays whole,
     * and BOS is always added. */
    bool spm_style;
};

/* Looks up a pre-tokenizer by its tokenizer.ggml.pre name and compiles its regexes. */
LQI_HIDDEN lq_status lqi_pretok_init(struct lqi_pretok *p, const char *name,
                                     struct lqi_pre_info *info, struct lq_error *err);
LQI_HIDDEN void lqi_pretok_free(struct lqi_pretok *p);

/* Splits text into words as llama.cpp's unicode_regex_split: appends to `words` the
 * (offset, length) byte ranges of each word in `out_text`, a copy of the text rebuilt from
 * its code points (invalid UTF-8 becomes U+FFFD there). */
struct lqi_span {
    size_t off, len;
};
LQI_HIDDEN lq_status lqi_pretok_split(const struct lqi_pretok *p, const char *text, size_t len,
                                      struct lqi_vec *out_text, struct lqi_vec *words,
                                      struct lq_error *err);

// ---- the tokenizer ------------------------------------------------------------------------

enum lqi_tok_kind { LQI_TOK_SPM = 1, LQI_TOK_BPE = 2 };

struct lqi_token {
    uint32_t off, len; /* text in tok->pool */
    float score;
    uint32_t attr; /* enum lq_token_attr bits */
};

struct lq_tokenizer {
    enum lqi_tok_kind kind;
    char *model, *pre;
    int32_t n_vocab;
    char *pool; /* all token texts, each NUL-terminated */
    struct lqi_token *tokens;
    struct lqi_smap vocab;

    char *merge_pool; /* BPE merges "a b", each NUL-terminated */
    struct lqi_smap merges;
    struct lqi_pretok pretok;

    int32_t bos, eos, eot, eom, unk, sep, pad, mask, nl;
    int32_t fim[6]; /* pre, suf, mid, pad, rep, sep */
    bool add_bos, add_eos, add_space_prefix, clean_spaces, ignore_merges;
    bool spm_style; /* BPE over U+2581-escaped UTF-8 (struct lqi_pre_info) */

    int32_t *special; /* control/user-defined/unknown ids, longest text first */
    size_t n_special;
    int32_t *eog; /* end-of-generation ids */
    size_t n_eog;
};

static inline const char *lqi_tok_text(const struct lq_tokenizer *t, int32_t id)
{
    return t->pool + t->tokens[id].off;
}

/* Id of the token with exactly this text, or LQ_TOKEN_NULL. */
static inline int32_t lqi_tok_find(const struct lq_tokenizer *t, const char *s, size_t n)
{
    return lqi_smap_get(&t->vocab, s, n);
}

/* Derives the attributes and special-id lists llama.cpp infers from token texts, then the
 * list of special tokens cut out of the text before tokenizing. */
LQI_HIDDEN lq_status lqi_tok_finish_specials(struct lq_tokenizer *t, const lq_gguf *g,
                                             struct lq_error *err);

/* Token of a raw byte: SPM "<0xNN>" (else the byte itself), BPE the byte's GPT-2 char. */
LQI_HIDDEN int32_t lqi_tok_byte_token(const struct lq_tokenizer *t, unsigned char b);

/* Word encoders; append ids to out (int32 vec). */
LQI_HIDDEN lq_status lqi_spm_encode(const struct lq_tokenizer *t, const char *text, size_t len,
                                    struct lqi_vec *out, struct lq_error *err);
LQI_HIDDEN lq_status lqi_bpe_encode(const struct lq_tokenizer *t, const char *text, size_t len,
                                    struct lqi_vec *out, struct lq_error *err);

/* Encodes everything into out (int32 vec). */
LQI_HIDDEN lq_status lqi_tok_encode(const struct lq_tokenizer *t, const char *text, size_t len,
                                    unsigned flags, struct lqi_vec *out, struct lq_error *err);

// ---- merge queue shared by SPM and BPE -----------------------------------------------------

/* A candidate merge of symbols left and right; higher prio pops first, then lower left. */
struct lqi_bigram {
    double prio;
    int32_t left, right;
    size_t size;
};
LQI_HIDDEN bool lqi_heap_push(struct lqi_vec *h, const struct lqi_bigram *b);
LQI_HIDDEN struct lqi_bigram lqi_heap_pop(struct lqi_vec *h);

/* A symbol of the merge: text[off, off+n) linked to its neighbours (-1 at the ends). */
struct lqi_sym {
    int32_t prev, next;
    size_t off, n;
};

#endif /* LQ_TOK_IMPL_H */
