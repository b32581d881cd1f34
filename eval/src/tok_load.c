/* tok_load.c - building a tokenizer from GGUF metadata, as llama.cpp's llama_vocab::load. */
#include "tok_impl.h"

#include <stdio.h>
#include <string.h>

#define KEY(k) "tokenizer.ggml." k

/* GGUF token types (tokenizer.ggml.token_type) -> attributes. */
static uint32_t type_attr(int32_t type)
{
    switch (type) {
    case 1: return LQ_TOKEN_ATTR_NORMAL;
    case 2: return LQ_TOKEN_ATTR_UNKNOWN;
    case 3: return LQ_TOKEN_ATTR_CONTROL;
    case 4: return LQ_TOKEN_ATTR_USER_DEFINED;
    case 5: return LQ_TOKEN_ATTR_UNUSED;
    case 6: return LQ_TOKEN_ATTR_BYTE;
    default: return LQ_TOKEN_ATTR_UNDEFINED;
    }
}

/* An optional array of at least n elements of type `want`; *out NULL when absent. */
static lq_status opt_array(const lq_gguf *g, const char *key, enum lq_gguf_type want, uint64_t n,
                           const struct lq_gguf_value **out, struct lq_error *err)
{
    lq_status rc = lq_gguf_get_arr(g, key, want, out, err);
    if (rc == LQ_E_NOT_FOUND) {
        *out = NULL;
        return LQ_OK;
    }
    LQ_TRY(rc);
    LQ_FAIL_IF((*out)->v.arr.n < n, err, LQ_E_FORMAT, "tokenizer: '%s' has %llu entries, need %llu",
               key, (unsigned long long)(*out)->v.arr.n, (unsigned long long)n);
    return LQ_OK;
}

/* Copies the token texts into one pool; llama.cpp renames empty tokens "[EMPTY_<id>]". */
static lq_status load_texts(struct lq_tokenizer *t, const struct lq_gguf_str *s,
                            struct lq_error *err)
{
    size_t total = 0;
    char name[32];
    for (int32_t i = 0; i < t->n_vocab; i++) {
        size_t n = s[i].len ? s[i].len : (size_t)snprintf(name, sizeof name, "[EMPTY_%d]", i);
        LQ_FAIL_IF(n > UINT32_MAX / 2 || total > UINT32_MAX / 2, err, LQ_E_RANGE,
                   "tokenizer: token texts too large");
        total += n + 1;
    }
    t->pool = lqi_malloc(total);
    LQ_FAIL_IF(!t->pool, err, LQ_E_NOMEM, "tokenizer: out of memory");
    size_t off = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        size_t n = s[i].len;
        if (n) {
            memcpy(t->pool + off, s[i].s, n);
        } else {
            n = (size_t)snprintf(name, sizeof name, "[EMPTY_%d]", i);
            memcpy(t->pool + off, name, n);
        }
        t->pool[off + n] = '\0';
        t->tokens[i].off = (uint32_t)off;
        t->tokens[i].len = (uint32_t)n;
        off += n + 1;
    }
    return LQ_OK;
}

static lq_status load_tokens(struct lq_tokenizer *t, const lq_gguf *g, struct lq_error *err)
{
    const struct lq_gguf_value *toks, *scores = NULL, *iscores = NULL, *types;
    lq_status rc = lq_gguf_get_arr(g, KEY("tokens"), LQ_GGUF_STRING, &toks, err);
    LQ_FAIL_IF(rc == LQ_E_NOT_FOUND, err, LQ_E_FORMAT, "tokenizer: no '%s'", KEY("tokens"));
    LQ_TRY(rc);
    uint64_t n = toks->v.arr.n;
    LQ_FAIL_IF(n == 0 || n > INT32_MAX, err, LQ_E_FORMAT, "tokenizer: '%s' has %llu tokens",
               KEY("tokens"), (unsigned long long)n);
    t->n_vocab = (int32_t)n;
    LQ_TRY(opt_array(g, KEY("token_type"), LQ_GGUF_INT32, n, &types, err));
    const struct lq_gguf_value *sv = NULL;
    if (lq_gguf_find_key(g, KEY("scores")) >= 0) {
        LQ_TRY(opt_array(g, KEY("scores"), LQ_GGUF_TYPE_COUNT, n, &sv, err));
        LQ_FAIL_IF(sv->v.arr.type != LQ_GGUF_FLOAT32 && sv->v.arr.type != LQ_GGUF_INT32, err,
                   LQ_E_FORMAT, "tokenizer: '%s' must hold float32 or int32", KEY("scores"));
        *(sv->v.arr.type == LQ_GGUF_FLOAT32 ? &scores : &iscores) = sv;
    }
    t->tokens = lqi_calloc(n, sizeof *t->tokens);
    LQ_FAIL_IF(!t->tokens, err, LQ_E_NOMEM, "tokenizer: out of memory");
    LQ_TRY(load_texts(t, toks->v.arr.data, err));
    for (uint64_t i = 0; i < n; i++) {
        struct lqi_token *k = &t->tokens[i];
        k->score = scores    ? ((const float *)scores->v.arr.data)[i]
                   : iscores ? (float)((const int32_t *)iscores->v.arr.data)[i]
                             : 0.0f;
        k->attr = types ? type_attr(((const int32_t *)types->v.arr.data)[i]) : LQ_TOKEN_ATTR_NORMAL;
    }
    LQ_FAIL_IF(!lqi_smap_init(&t->vocab, n, t->pool), err, LQ_E_NOMEM, "tokenizer: out of memory");
    for (int32_t i = 0; i < t->n_vocab; i++) {
        int32_t dup = lqi_smap_put(&t->vocab, t->tokens[i].off, t->tokens[i].len, i);
        LQ_FAIL_IF(dup >= 0, err, LQ_E_FORMAT,
                   "tokenizer: duplicate token '%.64s' has ids %d and %d", lqi_tok_text(t, i), dup,
                   i);
    }
    return LQ_OK;
}

/* Merges "left right" get rank = index; llama.cpp splits at the first space after the
 * first byte and keeps the first of duplicate pairs. */
static lq_status load_merges(struct lq_tokenizer *t, const lq_gguf *g, struct lq_error *err)
{
    const struct lq_gguf_value *mv;
    lq_status rc = lq_gguf_get_arr(g, KEY("merges"), LQ_GGUF_STRING, &mv, err);
    LQ_FAIL_IF(rc == LQ_E_NOT_FOUND, err, LQ_E_FORMAT, "tokenizer: BPE vocabulary without '%s'",
               KEY("merges"));
    LQ_TRY(rc);
    const struct lq_gguf_str *m = mv->v.arr.data;
    uint64_t n = mv->v.arr.n, total = 0;
    LQ_FAIL_IF(n > INT32_MAX, err, LQ_E_FORMAT, "tokenizer: too many merges");
    for (uint64_t i = 0; i < n; i++) {
        total += m[i].len + 1;
        LQ_FAIL_IF(total > UINT32_MAX, err, LQ_E_RANGE, "tokenizer: merges too large");
    }
    t->merge_pool = lqi_malloc(total ? total : 1);
    LQ_FAIL_IF(!t->merge_pool || !lqi_smap_init(&t->merges, n, t->merge_pool), err, LQ_E_NOMEM,
               "tokenizer: out of memory");
    size_t off = 0;
    for (uint64_t i = 0; i < n; i++) {
        memcpy(t->merge_pool + off, m[i].s, m[i].len);
        t->merge_pool[off + m[i].len] = '\0';
        if (m[i].len > 1 && memchr(m[i].s + 1, ' ', m[i].len - 1)) {
            lqi_smap_put(&t->merges, (uint32_t)off, (uint32_t)m[i].len, (int32_t)i);
        }
        off += m[i].len + 1;
    }
    return LQ_OK;
}

// ---- flags and special ids -----------------------------------------------------------------

/* An optional bool key; absent keeps *out. */
static lq_status opt_bool(const lq_gguf *g, const char *key, bool *out, struct lq_error *err)
{
    lq_status rc = lq_gguf_get_bool(g, key, out, err);
    return rc == LQ_E_NOT_FOUND ? LQ_OK : rc;
}

/* An optional token id key; ids past the vocabulary keep the default, as llama.cpp. */
static lq_status opt_id(const struct lq_tokenizer *t, const lq_gguf *g, const char *key,
                        int32_t *id, struct lq_error *err)
{
    uint64_t v;
    if (*id >= t->n_vocab) {
        *id = LQ_TOKEN_NULL;
    }
    lq_status rc = lq_gguf_get_u64(g, key, &v, err);
    if (rc == LQ_E_NOT_FOUND) {
        return LQ_OK;
    }
    LQ_TRY(rc);
    if (v < (uint64_t)t->n_vocab) {
        *id = (int32_t)v;
    } else {
        lqi_log(LQ_LOG_WARN, "tokenizer: %s = %llu is past the vocabulary, using %d", key,
                (unsigned long long)v, *id);
    }
    return LQ_OK;
}

static lq_status load_special_ids(struct lq_tokenizer *t, const lq_gguf *g, struct lq_error *err)
{
    static const char *const fim_keys[6] = {KEY("fim_pre_token_id"), KEY("fim_suf_token_id"),
                                            KEY("fim_mid_token_id"), KEY("fim_pad_token_id"),
                                            KEY("fim_rep_token_id"), KEY("fim_sep_token_id")};
    static const char *const old_fim_keys[3] = {KEY("prefix_token_id"), KEY("suffix_token_id"),
                                                KEY("middle_token_id")};
    LQ_TRY(opt_id(t, g, KEY("bos_token_id"), &t->bos, err));
    LQ_TRY(opt_id(t, g, KEY("eos_token_id"), &t->eos, err));
    LQ_TRY(opt_id(t, g, KEY("eot_token_id"), &t->eot, err));
    LQ_TRY(opt_id(t, g, KEY("eom_token_id"), &t->eom, err));
    LQ_TRY(opt_id(t, g, KEY("unknown_token_id"), &t->unk, err));
    LQ_TRY(opt_id(t, g, KEY("seperator_token_id"), &t->sep, err)); /* sic, llama.cpp's key */
    LQ_TRY(opt_id(t, g, KEY("padding_token_id"), &t->pad, err));
    LQ_TRY(opt_id(t, g, KEY("mask_token_id"), &t->mask, err));
    for (int i = 0; i < 6; i++) {
        LQ_TRY(opt_id(t, g, fim_keys[i], &t->fim[i], err));
    }
    for (int i = 0; i < 3; i++) {
        LQ_TRY(opt_id(t, g, old_fim_keys[i], &t->fim[i], err));
    }
    LQ_TRY(opt_bool(g, KEY("add_bos_token"), &t->add_bos, err));
    LQ_TRY(opt_bool(g, KEY("add_eos_token"), &t->add_eos, err));
    t->add_bos = t->add_bos || t->spm_style; /* llama.cpp overrides a false add_bos_token */
    LQ_FAIL_IF(t->add_bos && t->bos == LQ_TOKEN_NULL, err, LQ_E_FORMAT,
               "tokenizer: %s is true, but %s is not set", KEY("add_bos_token"), KEY("bos_token_id"));
    LQ_FAIL_IF(t->add_eos && t->eos == LQ_TOKEN_NULL, err, LQ_E_FORMAT,
               "tokenizer: %s is true, but %s is not set", KEY("add_eos_token"), KEY("eos_token_id"));
    return LQ_OK;
}

/* Defaults of the vocabulary type, then the pre-tokenizer's flags (BPE). */
static lq_status init_kind(struct lq_tokenizer *t, const lq_gguf *g, struct lq_error *err)
{
    const char *pre = NULL;
    t->eot = t->eom = t->sep = t->pad = t->mask = LQ_TOKEN_NULL;
    for (int i = 0; i < 6; i++) {
        t->fim[i] = LQ_TOKEN_NULL;
    }
    if (strcmp(t->model, "llama") == 0) {
        t->kind = LQI_TOK_SPM;
        t->bos = 1, t->eos = 2, t->unk = 0;
        t->add_space_prefix = t->add_bos = true;
        t->pre = lqi_strdup("default");
    } else if (strcmp(t->model, "gpt2") == 0 || strcmp(t->model, "gemma4") == 0) {
        struct lqi_pre_info info;
        t->kind = LQI_TOK_BPE;
        t->bos = t->eos = 11, t->unk = LQ_TOKEN_NULL;
        lq_status rc = lq_gguf_get_str(g, KEY("pre"), &pre, err);
        LQ_FAIL_IF(rc != LQ_OK && rc != LQ_E_NOT_FOUND, err, rc, "tokenizer: bad '%s'", KEY("pre"));
        const char *name = rc == LQ_OK && pre[0] ? pre : "default";
        if (strcmp(t->model, "gemma4") == 0) {
            /* SentencePiece-style BPE: no default ids, and llama.cpp ignores the pre key */
            t->bos = t->eos = LQ_TOKEN_NULL;
            name = "gemma4";
        }
        t->pre = lqi_strdup(name);
        LQ_FAIL_IF(!t->pre, err, LQ_E_NOMEM, "tokenizer: out of memory");
        LQ_TRY(lqi_pretok_init(&t->pretok, t->pre, &info, err));
        t->clean_spaces = info.clean_spaces;
        t->ignore_merges = info.ignore_merges;
        t->add_bos = info.add_bos;
        t->spm_style = info.spm_style;
        if (info.no_bos_token) {
            t->bos = LQ_TOKEN_NULL;
        }
    } else {
        return lqi_set_error(err, LQ_E_UNSUPPORTED, "tokenizer: unsupported %s '%s'", KEY("model"),
                             t->model);
    }
    LQ_FAIL_IF(!t->pre, err, LQ_E_NOMEM, "tokenizer: out of memory");
    return opt_bool(g, KEY("add_space_prefix"), &t->add_space_prefix, err);
}

/* The newline token: SPM's byte token for '\n', BPE's first token of "\n"; else padding. */
static lq_status find_newline(struct lq_tokenizer *t, struct lq_error *err)
{
    struct lqi_vec ids;
    if (t->kind == LQI_TOK_SPM) {
        t->nl = lqi_tok_byte_token(t, '\n');
        if (t->nl == LQ_TOKEN_NULL) {
            t->nl = t->pad;
        }
        return LQ_OK;
    }
    lqi_vec_init(&ids, sizeof(int32_t));
    lq_status rc = lqi_tok_encode(t, "\n", 1, 0, &ids, err);
    t->nl = rc == LQ_OK && ids.n ? ((int32_t *)ids.data)[0] : t->pad;
    lqi_vec_free(&ids);
    return rc;
}

static lq_status build(struct lq_tokenizer *t, const lq_gguf *g, struct lq_error *err)
{
    const char *model = NULL;
    lq_status rc = lq_gguf_get_str(g, KEY("model"), &model, err);
    LQ_FAIL_IF(rc == LQ_E_NOT_FOUND, err, LQ_E_FORMAT, "tokenizer: no '%s'", KEY("model"));
    LQ_TRY(rc);
    t->model = lqi_strdup(model);
    LQ_FAIL_IF(!t->model, err, LQ_E_NOMEM, "tokenizer: out of memory");
    LQ_TRY(init_kind(t, g, err));
    LQ_TRY(load_tokens(t, g, err));
    if (t->kind == LQI_TOK_BPE) {
        LQ_TRY(load_merges(t, g, err));
    }
    /* llama.cpp finds the newline before it knows the special tokens */
    LQ_TRY(find_newline(t, err));
    LQ_TRY(load_special_ids(t, g, err));
    return lqi_tok_finish_specials(t, g, err);
}

lq_status lq_tokenizer_from_gguf(const lq_gguf *g, lq_tokenizer **out, struct lq_error *err)
{
    LQ_FAIL_IF(!out, err, LQ_E_INVALID_ARG, "tokenizer: out is NULL");
    *out = NULL;
    LQ_FAIL_IF(!g, err, LQ_E_INVALID_ARG, "tokenizer: gguf handle is NULL");
    struct lq_tokenizer *t = lqi_calloc(1, sizeof *t);
    LQ_FAIL_IF(!t, err, LQ_E_NOMEM, "tokenizer: out of memory");
    lq_status rc = build(t, g, err);
    if (rc != LQ_OK) {
        lq_tokenizer_free(t);
        lqi_error_prefix(err, "%s: ", lq_gguf_path(g)); /* the messages say "tokenizer: ..." */
        return rc;
    }
    *out = t;
    return LQ_OK;
}

void lq_tokenizer_free(lq_tokenizer *t)
{
    if (!t) {
        return;
    }
    lqi_pretok_free(&t->pretok);
    lqi_smap_free(&t->vocab);
    lqi_smap_free(&t->merges);
    lqi_free(t->merge_pool);
    lqi_free(t->pool);
    lqi_free(t->tokens);
    lqi_free(t->special);
    lqi_free(t->eog);
    lqi_free(t->model);
    lqi_free(t->pre);
    lqi_free(t);
}
