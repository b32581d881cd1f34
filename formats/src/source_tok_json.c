/* source_tok_json.c - the vocabulary of a Hugging Face tokenizer.json (model.type "BPE") as
 * llama.cpp's converter writes it. Two kinds:
 *
 * - byte-level BPE (GPT-2 alphabet: Llama 3, Qwen2/3, ...): tokenizer.ggml.model "gpt2",
 *   the pre-tokenizer recognised from its regex (source_tok_pre.c), tokens by id padded to
 *   config.json's vocab_size with "[PADn]", added tokens CONTROL when special (or when their
 *   text looks special) and USER_DEFINED otherwise (convert_hf_to_gguf.py, get_vocab_base);
 * - SentencePiece-style BPE (byte_fallback, spaces as U+2581: Gemma 3's tokenizer.json
 *   without tokenizer.model), read as gguf-py's LlamaHfVocab reads it: the vocabulary then the
 *   added tokens past it, score -1000, "<0xNN>" tokens BYTE, the special tokens CONTROL; as
 *   tokenizer.ggml.model "gemma4" with merges (llama.cpp's Gemma 4 converter: a BPE that
 *   reproduces the Hugging Face tokenizer), or as "llama" without (its Llama converter).
 *
 * Merges either way: "a b" strings, or pairs ["a", "b"] whose spaces become U+0120. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_kind.h"
#include "lq/spm_model.h"
#include "lqi.h"
#include "source_impl.h"

/* Owned strings made while converting, freed together. */
struct owned {
    char **p;
    size_t n, cap;
};

static char *own(struct owned *o, char *s)
{
    if (!s) {
        return NULL;
    }
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 64;
        char **p = lqi_realloc(o->p, cap * sizeof *p);
        if (!p) {
            lqi_free(s);
            return NULL;
        }
        o->p = p;
        o->cap = cap;
    }
    return o->p[o->n++] = s;
}

static void owned_free(struct owned *o)
{
    for (size_t i = 0; i < o->n; i++) {
        lqi_free(o->p[i]);
    }
    lqi_free(o->p);
}

/* text with every `from` replaced by `to` (owned), or text itself when it has none. */
static const char *replace_all(struct owned *o, const char *text, const char *from, const char *to)
{
    size_t nf = strlen(from), nt = strlen(to), count = 0;
    for (const char *p = strstr(text, from); p; p = strstr(p + nf, from)) {
        count++;
    }
    if (!count) {
        return text;
    }
    char *out = lqi_malloc(strlen(text) + count * nt + 1), *q = out;
    if (!out) {
        return NULL;
    }
    for (const char *p = text;;) {
        const char *m = strstr(p, from);
        size_t n = m ? (size_t)(m - p) : strlen(p);
        memcpy(q, p, n);
        q += n;
        if (!m) {
            break;
        }
        memcpy(q, to, nt);
        q += nt;
        p = m + nf;
    }
    *q = '\0';
    return own(o, out);
}

/* One merge as GGUF stores it, "a b": either that string already, or (newer tokenizers) the
 * pair ["a", "b"], joined with their own spaces written as U+0120 (llama.cpp's gguf-py).
 * Anything else (numbers, nulls, one part) is refused. */
static lq_status merge_text(const json_t *val, struct owned *o, const char **out,
                            struct lq_error *err)
{
    if (json_is_string(val)) {
        const char *m = json_string_value(val), *sp = strchr(m, ' ');
        LQ_FAIL_IF(!sp || sp == m || !sp[1], err, LQ_E_FORMAT,
                   "\"%.40s\" is not two pieces separated by one space", m);
        *out = m;
        return LQ_OK;
    }
    const char *a = json_string_value(json_array_get(val, 0));
    const char *b = json_string_value(json_array_get(val, 1));
    LQ_FAIL_IF(!json_is_array(val) || json_array_size(val) != 2 || !a || !b || !*a || !*b, err,
               LQ_E_FORMAT, "%s, not a string \"a b\" or a pair of non-empty strings",
               lqi_json_kind(val));
    const char *ea = replace_all(o, a, " ", "\xc4\xa0"), *eb = replace_all(o, b, " ", "\xc4\xa0");
    char *m = ea && eb ? lqi_malloc(strlen(ea) + strlen(eb) + 2) : NULL;
    LQ_FAIL_IF(!m, err, LQ_E_NOMEM, "out of memory");
    sprintf(m, "%s %s", ea, eb);
    *out = own(o, m);
    LQ_FAIL_IF(!*out, err, LQ_E_NOMEM, "out of memory");
    return LQ_OK;
}

static lq_status write_merges(const json_t *merges, const char *path, struct owned *o,
                              lq_gguf_writer *w, struct lq_error *err)
{
    size_t n = json_array_size(merges), i;
    const char **strs = lqi_calloc(n + 1, sizeof *strs);
    LQ_FAIL_IF(!strs, err, LQ_E_NOMEM, "%s: out of memory", path);
    const json_t *val;
    lq_status rc = LQ_OK;
    json_array_foreach(merges, i, val)
    {
        rc = merge_text(val, o, &strs[i], err);
        if (rc != LQ_OK) {
            lqi_error_prefix(err, "%s: model.merges[%zu]: ", path, i);
            break;
        }
    }
    if (rc == LQ_OK) {
        rc = lq_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", strs, n, err);
    }
    lqi_free(strs);
    return rc;
}

/* convert_hf_to_gguf.py's does_token_look_special: added tokens some models forget to mark. */
static bool looks_special(const char *t)
{
    static const char *const names[] = {"<pad>", "<mask>", "<2mass>", "[@BOS@]"};
    size_t n = strlen(t);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(t, names[i]) == 0) {
            return true;
        }
    }
    const char *fw_open = "<\xef\xbd\x9c", *fw_close = "\xef\xbd\x9c>"; /* "<｜", "｜>" */
    return (n >= 4 && strncmp(t, "<|", 2) == 0 && strcmp(t + n - 2, "|>") == 0) ||
           (n >= 8 && strncmp(t, fw_open, 4) == 0 && strcmp(t + n - 4, fw_close) == 0) ||
           (n >= 8 && strncmp(t, "<unused", 7) == 0 && t[n - 1] == '>');
}

/* Fills tokens[0..n) from model.vocab (types NORMAL); ids must be in 0..n-1. */
static lq_status fill_vocab(const json_t *vocab, int64_t n, const char *path, const char **tokens,
                            int32_t *types, struct lq_error *err)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)vocab, key, val)
    {
        json_int_t id = json_integer_value(val);
        LQ_FAIL_IF(!json_is_integer(val), err, LQ_E_FORMAT,
                   "%s: model.vocab entry '%.64s' has %s as id, not an integer", path, key,
                   lqi_json_kind(val));
        LQ_FAIL_IF(id < 0 || id >= n, err, LQ_E_FORMAT,
                   "%s: model.vocab entry '%.64s' has id %lld outside the vocabulary's "
                   "0..%lld",
                   path, key, (long long)id, (long long)n - 1);
        LQ_FAIL_IF(tokens[id], err, LQ_E_FORMAT, "%s: model.vocab: id %lld is given twice", path,
                   (long long)id);
        tokens[id] = key;
        types[id] = LQ_SPM_NORMAL;
    }
    return LQ_OK;
}

/* added_tokens[i]'s id and content, checked. */
static lq_status added_entry(const json_t *e, size_t i, const char *path, int64_t *id,
                             const char **content, struct lq_error *err)
{
    const json_t *jid = json_object_get(e, "id");
    *content = json_string_value(json_object_get(e, "content"));
    *id = json_integer_value(jid);
    LQ_FAIL_IF(!json_is_integer(jid) || *id < 0 || !*content || !**content, err, LQ_E_FORMAT,
               "%s: added_tokens[%zu]: no non-negative integer 'id' or no non-empty 'content'",
               path, i);
    return LQ_OK;
}

// ---- byte-level BPE ("gpt2") ---------------------------------------------------------------

static lq_status write_byte_level(const json_t *root, int64_t n, const char *path,
                                  lq_gguf_writer *w, struct owned *o, struct lq_error *err)
{
    const char *pre;
    LQ_TRY(lqi_source_bpe_pre_name(root, path, &pre, err));
    const json_t *model = json_object_get(root, "model");
    const char **tokens = lqi_calloc((size_t)n, sizeof *tokens);
    int32_t *types = lqi_calloc((size_t)n, sizeof *types);
    lq_status rc = tokens && types ? LQ_OK : lqi_set_error(err, LQ_E_NOMEM, "out of memory");
    if (rc == LQ_OK) {
        rc = fill_vocab(json_object_get(model, "vocab"), n, path, tokens, types, err);
    }
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(root, "added_tokens"), i, e)
    {
        int64_t id;
        const char *content;
        if (rc != LQ_OK || (rc = added_entry(e, i, path, &id, &content, err)) != LQ_OK) {
            break;
        }
        if (id >= n) {
            rc = lqi_set_error(err, LQ_E_FORMAT,
                               "%s: added_tokens[%zu]: id %lld is past config.json's vocab_size "
                               "%lld",
                               path, i, (long long)id, (long long)n);
            break;
        }
        if (json_is_true(json_object_get(e, "special")) || looks_special(content)) {
            tokens[id] = content;
            types[id] = LQ_SPM_CONTROL;
        } else {
            /* llama.cpp's tokenizer expects user-defined tokens pre-normalized */
            tokens[id] = replace_all(o, content, "\xe2\x96\x81", " ");
            types[id] = LQ_SPM_USER_DEFINED;
            if (!tokens[id]) {
                rc = lqi_set_error(err, LQ_E_NOMEM, "out of memory");
            }
        }
    }
    for (int64_t id = 0; id < n && rc == LQ_OK; id++) {
        if (!tokens[id]) {
            char buf[32];
            snprintf(buf, sizeof buf, "[PAD%lld]", (long long)id);
            tokens[id] = own(o, lqi_strdup(buf));
            types[id] = LQ_SPM_UNUSED;
            if (!tokens[id]) {
                rc = lqi_set_error(err, LQ_E_NOMEM, "out of memory");
            }
        }
    }
    if (rc == LQ_OK &&
        ((rc = lq_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2", err)) ||
         (rc = lq_gguf_writer_set_str(w, "tokenizer.ggml.pre", pre, err)) ||
         (rc = lq_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", tokens, (uint64_t)n, err)) ||
         (rc = lq_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", LQ_GGUF_INT32, types,
                                      (uint64_t)n, err)))) {
        /* error already set */
    }
    lqi_free(types);
    lqi_free(tokens);
    return rc == LQ_OK ? write_merges(json_object_get(model, "merges"), path, o, w, err) : rc;
}

// ---- SentencePiece-style BPE ("gemma4") ----------------------------------------------------

/* Whether text is one of the tokens transformers lists as special (all_special_ids): the
 * tokenizer_config's role tokens and its additional/extra special tokens. */
static bool is_special_text(const json_t *tok_config, const char *text)
{
    static const char *const roles[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                        "pad_token", "cls_token", "mask_token"};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        const json_t *v = json_object_get(tok_config, roles[i]);
        const char *s = json_is_string(v) ? json_string_value(v)
                                          : json_string_value(json_object_get(v, "content"));
        if (s && strcmp(s, text) == 0) {
            return true;
        }
    }
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(tok_config, "additional_special_tokens"), i, v)
    {
        const char *s = json_is_string(v) ? json_string_value(v)
                                          : json_string_value(json_object_get(v, "content"));
        if (s && strcmp(s, text) == 0) {
            return true;
        }
    }
    const char *key;
    json_object_foreach(json_object_get(tok_config, "extra_special_tokens"), key, v)
    {
        if (json_is_string(v) && strcmp(json_string_value(v), text) == 0) {
            return true;
        }
    }
    return false;
}

static bool is_byte_token(const char *t)
{
    static const char hex[] = "0123456789abcdefABCDEF";
    return strlen(t) == 6 && strncmp(t, "<0x", 3) == 0 && t[5] == '>' && strchr(hex, t[3]) &&
           strchr(hex, t[4]);
}

/* gemma4: the model llama.cpp's Gemma 4 converter writes (with merges); else "llama", what its
 * Llama converter writes from such a file (_set_vocab_llama_hf: pre "default", no merges, so
 * llama.cpp then runs SentencePiece's algorithm over the -1000 scores). */
static lq_status write_spm_style(const json_t *root, const json_t *tok_config, const char *path,
                                 bool gemma4, lq_gguf_writer *w, struct owned *o, int64_t *n_tokens,
                                 struct lq_error *err)
{
    const json_t *model = json_object_get(root, "model");
    const json_t *vocab = json_object_get(model, "vocab"),
                 *added = json_object_get(root, "added_tokens");
    int64_t base = (int64_t)json_object_size(vocab), n = base;
    size_t i;
    const json_t *e;
    /* the added tokens past the vocabulary follow it, in id order, without gaps */
    json_array_foreach(added, i, e)
    {
        int64_t id;
        const char *content;
        LQ_TRY(added_entry(e, i, path, &id, &content, err));
        n += id >= base;
        LQ_FAIL_IF(id >= base + (int64_t)json_array_size(added), err, LQ_E_FORMAT,
                   "%s: added_tokens[%zu]: id %lld leaves a gap after the %lld-entry vocabulary",
                   path, i, (long long)id, (long long)base);
    }
    *n_tokens = n;
    const char **tokens = lqi_calloc((size_t)n + 1, sizeof *tokens);
    int32_t *types = lqi_calloc((size_t)n + 1, sizeof *types);
    float *scores = lqi_calloc((size_t)n + 1, sizeof *scores);
    lq_status rc =
        tokens && types && scores ? LQ_OK : lqi_set_error(err, LQ_E_NOMEM, "out of memory");
    if (rc == LQ_OK) {
        rc = fill_vocab(vocab, base, path, tokens, types, err);
    }
    json_array_foreach(added, i, e)
    {
        int64_t id;
        const char *content;
        if (rc != LQ_OK) {
            break;
        }
        (void)added_entry(e, i, path, &id, &content, err); /* checked above */
        if (id >= n) { /* fewer added ids past the vocabulary than this one needs */
            rc = lqi_set_error(err, LQ_E_FORMAT,
                               "%s: added_tokens[%zu]: id %lld leaves a gap after the "
                               "%lld-entry vocabulary",
                               path, i, (long long)id, (long long)base);
        } else if (id >= base) {
            rc = tokens[id] ? lqi_set_error(err, LQ_E_FORMAT,
                                            "%s: added_tokens[%zu]: id %lld is given twice", path,
                                            i, (long long)id)
                            : LQ_OK;
            tokens[id] = content;
        }
    }
    for (int64_t id = 0; id < n && rc == LQ_OK; id++) {
        if (!tokens[id]) {
            rc = lqi_set_error(err, LQ_E_FORMAT, "%s: no token has id %lld (of %lld)", path,
                               (long long)id, (long long)n);
            break;
        }
        scores[id] = -1000.0f;
        bool special = is_special_text(tok_config, tokens[id]);
        types[id] = id < base && is_byte_token(tokens[id]) ? LQ_SPM_BYTE
                    : special                              ? LQ_SPM_CONTROL
                    : id < base                            ? LQ_SPM_NORMAL
                                                           : LQ_SPM_USER_DEFINED;
    }
    if (rc == LQ_OK &&
        ((rc = lq_gguf_writer_set_str(w, "tokenizer.ggml.model", gemma4 ? "gemma4" : "llama",
                                      err)) ||
         (!gemma4 && (rc = lq_gguf_writer_set_str(w, "tokenizer.ggml.pre", "default", err))) ||
         (rc = lq_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", tokens, (uint64_t)n, err)) ||
         (rc = lq_gguf_writer_set_arr(w, "tokenizer.ggml.scores", LQ_GGUF_FLOAT32, scores,
                                      (uint64_t)n, err)) ||
         (rc = lq_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", LQ_GGUF_INT32, types,
                                      (uint64_t)n, err)))) {
        /* error already set */
    }
    lqi_free(scores);
    lqi_free(types);
    lqi_free(tokens);
    return rc == LQ_OK && gemma4 ? write_merges(json_object_get(model, "merges"), path, o, w, err)
                                 : rc;
}

/* The largest id of model.vocab and added_tokens plus one (0 when none is an integer). */
static int64_t ids_end(const json_t *root)
{
    int64_t end = 0;
    const char *key;
    const json_t *v;
    json_object_foreach(json_object_get(json_object_get(root, "model"), "vocab"), key, v)
    {
        if (json_is_integer(v) && json_integer_value(v) >= end &&
            json_integer_value(v) < INT32_MAX) {
            end = json_integer_value(v) + 1;
        }
    }
    size_t i;
    json_array_foreach(json_object_get(root, "added_tokens"), i, v)
    {
        const json_t *id = json_object_get(v, "id");
        if (json_is_integer(id) && json_integer_value(id) >= end &&
            json_integer_value(id) < INT32_MAX) {
            end = json_integer_value(id) + 1;
        }
    }
    return end;
}

lq_status lqi_source_tokenizer_json(const json_t *root, const json_t *tok_config, int64_t n_vocab,
                                    const char *path, bool spm_as_gemma4, lq_gguf_writer *w,
                                    bool *spm_style, int64_t *n_tokens, struct lq_error *err)
{
    const json_t *model = json_object_get(root, "model");
    const char *mtype = json_string_value(json_object_get(model, "type"));
    *spm_style = false;
    LQ_FAIL_IF(
        !json_is_object(json_object_get(model, "vocab")) ||
            !json_is_array(json_object_get(model, "merges")) || !mtype || strcmp(mtype, "BPE") != 0,
        err, LQ_E_UNSUPPORTED,
        "%s: only BPE tokenizers (model.type \"BPE\" with vocab and merges) are supported", path);
    const json_t *added = json_object_get(root, "added_tokens");
    LQ_FAIL_IF(added && !json_is_array(added), err, LQ_E_FORMAT,
               "%s: added_tokens is %s, not an array", path, lqi_json_kind(added));
    /* gguf-py's LlamaHfVocab test: byte fallback with a Sequence decoder (Replace, ByteFallback) */
    const char *dec = json_string_value(json_object_get(json_object_get(root, "decoder"), "type"));
    *spm_style = json_is_true(json_object_get(model, "byte_fallback")) && dec &&
                 strcmp(dec, "Sequence") == 0;
    if (n_vocab <= 0) { /* no vocab_size in config.json: as many as the ids */
        n_vocab = ids_end(root);
        LQ_FAIL_IF(n_vocab == 0, err, LQ_E_FORMAT, "%s: model.vocab has no token", path);
    }
    struct owned o = {0};
    *n_tokens = n_vocab;
    lq_status rc =
        *spm_style ? write_spm_style(root, tok_config, path, spm_as_gemma4, w, &o, n_tokens, err)
                   : write_byte_level(root, n_vocab, path, w, &o, err);
    owned_free(&o);
    return rc;
}

lq_status lqi_source_bpe_json(const char *text, size_t len, const char *name, int64_t n_vocab,
                              bool spm_as_gemma4, lq_gguf_writer *w, struct lq_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    LQ_FAIL_IF(!root, err, LQ_E_FORMAT, "%s: line %d: %s", name, jerr.line, jerr.text);
    bool spm_style;
    int64_t n_tokens;
    lq_status rc = lqi_source_tokenizer_json(root, NULL, n_vocab, name, spm_as_gemma4, w,
                                             &spm_style, &n_tokens, err);
    json_decref(root);
    return rc;
}
