/* source_tok.c - tokenizer metadata of a Hugging Face folder, as llama.cpp's converter writes
 * it: a SentencePiece tokenizer.model (tokenizer.ggml.model = "llama") or a byte-level BPE
 * tokenizer.json ("gpt2"), then special token ids, add_bos/add_eos and the chat template. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hf_impl.h"
#include "json_kind.h"
#include "lq/file_io.h"
#include "lq/spm_model.h"
#include "lqi.h"
#include "source_impl.h"

static lq_status write_spm(const struct lq_source *s, lq_gguf_writer *w, struct lq_error *err)
{
    char path[4096];
    LQ_TRY(lq_input_member(s->path, "tokenizer.model", path, sizeof path, NULL, err));
    lq_spm *sp = NULL;
    LQ_TRY(lq_spm_open(path, &sp, err));
    int64_t n = lq_spm_n_pieces(sp);
    lq_status rc = lqi_source_check_pieces(s, path, n, "config.json's vocab_size", err);
    if (rc != LQ_OK) {
        lq_spm_free(sp);
        return rc;
    }
    /* config.json's vocab_size may exceed the pieces: llama.cpp pads with [PADn] tokens */
    int64_t total = s->hp.n_vocab;
    const char **tokens = lqi_calloc((size_t)total, sizeof *tokens);
    float *scores = lqi_calloc((size_t)total, sizeof *scores);
    int32_t *types = lqi_calloc((size_t)total, sizeof *types);
    char (*pads)[32] = lqi_calloc((size_t)(total - n + 1), sizeof *pads);
    rc = LQ_E_NOMEM;
    if (!tokens || !scores || !types || !pads) {
        lqi_set_error(err, rc, "out of memory");
        goto out_free;
    }
    for (int64_t i = 0; i < total; i++) {
        if (i < n) {
            tokens[i] = lq_spm_pieces(sp)[i];
            scores[i] = lq_spm_scores(sp)[i];
            /* llama.cpp's converter keeps only unknown/control/unused/byte; the rest NORMAL */
            types[i] = lq_spm_types(sp)[i] == LQ_SPM_USER_DEFINED ? LQ_SPM_NORMAL : lq_spm_types(sp)[i];
        } else {
            snprintf(pads[i - n], sizeof pads[0], "[PAD%lld]", (long long)i);
            tokens[i] = pads[i - n];
            scores[i] = -1000.0f;
            types[i] = LQ_SPM_UNUSED;
        }
    }
    if ((rc = lq_gguf_writer_set_str(w, "tokenizer.ggml.model", "llama", err)) ||
        (rc = lq_gguf_writer_set_str(w, "tokenizer.ggml.pre", "default", err)) ||
        (rc = lq_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", tokens, (uint64_t)total,
                                         err)) ||
        (rc = lq_gguf_writer_set_arr(w, "tokenizer.ggml.scores", LQ_GGUF_FLOAT32, scores,
                                     (uint64_t)total, err)) ||
        (rc = lq_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", LQ_GGUF_INT32, types,
                                     (uint64_t)total, err))) {
        goto out_free;
    }
out_free:
    lqi_free(pads);
    lqi_free(types);
    lqi_free(scores);
    lqi_free(tokens);
    lq_spm_free(sp);
    return rc;
}

/* tokenizer.json's pre-tokenizer regex -> llama.cpp's tokenizer.ggml.pre name. llama.cpp
 * identifies it by hashing a tokenization; the regex says the same for the common kinds. */
static const char *bpe_pre_name(json_t *root)
{
    char *dump = json_dumps(json_object_get(root, "pre_tokenizer"), JSON_COMPACT);
    const char *pre = "default";
    if (dump) {
        if (strstr(dump, "\\\\p{N}{1,3}") && strstr(dump, "(?i:'s|'t|'re|'ve|'m|'ll|'d)")) {
            pre = "llama-bpe";
        } else if (strstr(dump, "\\\\p{N}") && strstr(dump, "(?i:'s|'t|'re|'ve|'m|'ll|'d)")) {
            pre = "qwen2";
        } else if (strstr(dump, "ByteLevel")) {
            pre = "gpt-2";
        }
    }
    free(dump);
    return pre;
}

/* One merge as GGUF stores it, "a b": either that string already, or (newer tokenizers) the
 * pair ["a", "b"], joined into *owned. Anything else (numbers, nulls, one part) is refused. */
static lq_status merge_text(json_t *val, const char **out, char **owned, struct lq_error *err)
{
    *owned = NULL;
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
    char *m = lqi_malloc(strlen(a) + strlen(b) + 2);
    LQ_FAIL_IF(!m, err, LQ_E_NOMEM, "out of memory");
    sprintf(m, "%s %s", a, b);
    *out = *owned = m;
    return LQ_OK;
}

/* Byte-level BPE: vocab sorted by id, added tokens typed CONTROL (special) or USER_DEFINED.
 * n vocabulary entries; takes the reference to root. */
static lq_status write_bpe_json(json_t *root, int64_t n, const char *path, lq_gguf_writer *w,
                                struct lq_error *err)
{
    lq_status rc = LQ_OK;
    json_t *model = json_object_get(root, "model");
    json_t *vocab = json_object_get(model, "vocab");
    json_t *merges = json_object_get(model, "merges");
    const char *mtype = json_string_value(json_object_get(model, "type"));
    const char **tokens = lqi_calloc((size_t)n, sizeof *tokens);
    int32_t *types = lqi_calloc((size_t)n, sizeof *types);
    char **owned = lqi_calloc((size_t)(json_array_size(merges) + n + 1), sizeof *owned);
    size_t n_owned = 0;
    if (!json_is_object(vocab) || !json_is_array(merges) || !mtype || strcmp(mtype, "BPE") != 0) {
        rc = lqi_set_error(err, LQ_E_UNSUPPORTED,
                           "%s: only byte-level BPE tokenizers (model.type \"BPE\" with vocab "
                           "and merges) are supported", path);
        goto out_free;
    }
    if (!tokens || !types || !owned) {
        rc = lqi_set_error(err, LQ_E_NOMEM, "out of memory");
        goto out_free;
    }
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val) {
        json_int_t id = json_integer_value(val);
        if (!json_is_integer(val) || id < 0 || id >= n) {
            rc = lqi_set_error(err, LQ_E_FORMAT, "%s: vocab entry '%s' has id outside 0..%lld",
                               path, key, (long long)n - 1);
            goto out_free;
        }
        tokens[id] = key;
        types[id] = LQ_SPM_NORMAL;
    }
    size_t i;
    json_array_foreach(json_object_get(root, "added_tokens"), i, val) {
        json_int_t id = json_integer_value(json_object_get(val, "id"));
        const char *content = json_string_value(json_object_get(val, "content"));
        if (!content || !json_is_integer(json_object_get(val, "id")) || id < 0 || id >= n) {
            rc = lqi_set_error(err, LQ_E_FORMAT,
                               "%s: added_tokens entry %zu: id %lld outside 0..%lld "
                               "(config.json's vocab_size %lld) or no content", path, i,
                               (long long)id, (long long)n - 1, (long long)n);
            goto out_free;
        }
        {
            tokens[id] = content;
            types[id] = json_is_true(json_object_get(val, "special")) ? LQ_SPM_CONTROL
                                                                       : LQ_SPM_USER_DEFINED;
        }
    }
    for (int64_t id = 0; id < n; id++) {
        if (!tokens[id]) {
            char buf[32];
            snprintf(buf, sizeof buf, "[PAD%lld]", (long long)id);
            tokens[id] = owned[n_owned++] = lqi_strdup(buf);
            types[id] = LQ_SPM_UNUSED;
        }
    }
    const char **merge_strs = lqi_calloc(json_array_size(merges) + 1, sizeof *merge_strs);
    if (!merge_strs) {
        rc = lqi_set_error(err, LQ_E_NOMEM, "out of memory");
        goto out_free;
    }
    json_array_foreach(merges, i, val) {
        rc = merge_text(val, &merge_strs[i], &owned[n_owned], err);
        if (rc != LQ_OK) {
            lqi_error_prefix(err, "%s: model.merges[%zu]: ", path, i);
            lqi_free(merge_strs);
            goto out_free;
        }
        n_owned += owned[n_owned] != NULL;
    }
    if ((rc = lq_gguf_writer_set_str(w, "tokenizer.ggml.model", "gpt2", err)) ||
        (rc = lq_gguf_writer_set_str(w, "tokenizer.ggml.pre", bpe_pre_name(root), err)) ||
        (rc = lq_gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", tokens, (uint64_t)n, err)) ||
        (rc = lq_gguf_writer_set_arr(w, "tokenizer.ggml.token_type", LQ_GGUF_INT32, types,
                                     (uint64_t)n, err)) ||
        (rc = lq_gguf_writer_set_arr_str(w, "tokenizer.ggml.merges", merge_strs,
                                         json_array_size(merges), err))) {
        /* error already set */
    }
    lqi_free(merge_strs);
out_free:
    for (size_t k = 0; owned && k < n_owned; k++) {
        lqi_free(owned[k]);
    }
    lqi_free(owned);
    lqi_free(types);
    lqi_free(tokens);
    json_decref(root);
    return rc;
}

static lq_status write_bpe(const struct lq_source *s, lq_gguf_writer *w, const char *path,
                           struct lq_error *err)
{
    json_t *root;
    LQ_TRY(lqi_hf_load_json(path, &root, err));
    return write_bpe_json(root, s->hp.n_vocab, path, w, err);
}

lq_status lqi_source_bpe_json(const char *text, size_t len, const char *name, int64_t n_vocab,
                              lq_gguf_writer *w, struct lq_error *err)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    LQ_FAIL_IF(!root, err, LQ_E_FORMAT, "%s: line %d: %s", name, jerr.line, jerr.text);
    return write_bpe_json(root, n_vocab, name, w, err);
}

/* Special token ids as llama.cpp finds them: config.json's *_token_id first. */
static lq_status write_special(const struct lq_source *s, lq_gguf_writer *w, struct lq_error *err)
{
    static const char *const kinds[] = { "bos", "eos", "unk", "sep", "pad" };
    static const char *const keys[] = { "tokenizer.ggml.bos_token_id",
                                        "tokenizer.ggml.eos_token_id",
                                        "tokenizer.ggml.unknown_token_id",
                                        "tokenizer.ggml.seperator_token_id",
                                        "tokenizer.ggml.padding_token_id" };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        char key[64];
        int64_t id;
        snprintf(key, sizeof key, "%s_token_id", kinds[i]);
        if (lq_hf_config_i64(s->hf, key, &id, NULL) != LQ_OK) {
            snprintf(key, sizeof key, "%s_token_id.0", kinds[i]); /* a list of eos ids */
            if (lq_hf_config_i64(s->hf, key, &id, NULL) != LQ_OK) {
                continue;
            }
        }
        if (id >= 0 && id < s->hp.n_vocab) {
            LQ_TRY(lq_gguf_writer_set_u32(w, keys[i], (uint32_t)id, err));
        }
    }
    bool b;
    if (lq_hf_json_bool(s->hf, "tokenizer_config.json", "add_bos_token", &b, NULL) == LQ_OK) {
        LQ_TRY(lq_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", b, err));
    }
    if (lq_hf_json_bool(s->hf, "tokenizer_config.json", "add_eos_token", &b, NULL) == LQ_OK) {
        LQ_TRY(lq_gguf_writer_set_bool(w, "tokenizer.ggml.add_eos_token", b, err));
    }
    const char *tmpl = NULL;
    if (lq_hf_json_str(s->hf, "tokenizer_config.json", "chat_template", &tmpl, NULL) == LQ_OK) {
        LQ_TRY(lq_gguf_writer_set_str(w, "tokenizer.chat_template", tmpl, err));
    }
    return LQ_OK;
}

lq_status lqi_source_write_tokenizer(const struct lq_source *s, lq_gguf_writer *w,
                                     struct lq_error *err)
{
    char path[4096];
    if (lq_hf_has_file(s->hf, "tokenizer.model")) {
        LQ_TRY(write_spm(s, w, err));
    } else if (lq_hf_has_file(s->hf, "tokenizer.json")) {
        LQ_TRY(lq_input_member(s->path, "tokenizer.json", path, sizeof path, NULL, err));
        LQ_TRY(write_bpe(s, w, path, err));
    } else {
        return lqi_set_error(err, LQ_E_NOT_FOUND,
                             "%s: no tokenizer.model or tokenizer.json: the GGUF would have no "
                             "vocabulary", s->path);
    }
    return write_special(s, w, err);
}
