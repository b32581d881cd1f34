/* source_tok.c - tokenizer metadata of a Hugging Face folder, as llama.cpp's converter writes
 * it: a SentencePiece tokenizer.model (tokenizer.ggml.model = "llama") or a tokenizer.json
 * (source_tok_json.c), then special token ids, add_*_token flags and the chat template
 * (source_tok_special.c). */
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

/* A JSON file of the folder, or NULL when it is not there. */
static lq_status opt_json(const char *dir, const char *name, json_t **out, struct lq_error *err)
{
    char *path;
    bool exists;
    *out = NULL;
    LQ_TRY(lqi_hf_join(dir, name, &path, &exists, err));
    lq_status rc = exists ? lqi_hf_load_json(path, out, err) : LQ_OK;
    lqi_free(path);
    return rc;
}

/* The vocabulary from tokenizer.model (SentencePiece) or else tokenizer.json, then the
 * special tokens (source_tok_special.c), which read tokenizer.json and tokenizer_config.json
 * whichever file holds the vocabulary. */
static lq_status write_tokenizer(const struct lq_source *s, unsigned flags, lq_gguf_writer *w,
                                 struct lq_error *err)
{
    json_t *tok_json = NULL, *tok_config = NULL;
    bool spm = !(flags & LQI_TOK_JSON_ONLY) && lq_hf_has_file(s->hf, "tokenizer.model"),
         spm_style = false;
    int64_t n_tokens = s->hp.n_vocab;
    char path[4096];
    lq_status rc = opt_json(s->path, "tokenizer_config.json", &tok_config, err);
    if (rc == LQ_OK) {
        rc = opt_json(s->path, "tokenizer.json", &tok_json, err);
    }
    if (rc == LQ_OK && spm) {
        rc = write_spm(s, w, err);
    } else if (rc == LQ_OK && tok_json) {
        rc = lq_input_member(s->path, "tokenizer.json", path, sizeof path, NULL, err);
        if (rc == LQ_OK) {
            rc = lqi_source_tokenizer_json(tok_json, tok_config, s->hp.n_vocab, path,
                                           flags & LQI_TOK_SPM_AS_GEMMA4, w, &spm_style, &n_tokens,
                                           err);
        }
    } else if (rc == LQ_OK) {
        rc = lqi_set_error(err, LQ_E_NOT_FOUND,
                           "%s: no tokenizer.model or tokenizer.json: the GGUF would have no "
                           "vocabulary",
                           s->path);
    }
    if (rc == LQ_OK) {
        rc = lqi_source_write_specials(s->hf, tok_json, tok_config, n_tokens, w, err);
    }
    if (rc == LQ_OK && spm && s->family && s->family->spm_no_space_prefix) { /* as Gemma2/3 */
        rc = lq_gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", false, err);
    }
    if (rc == LQ_OK && spm_style && (flags & LQI_TOK_SPM_AS_GEMMA4)) { /* as Gemma4Model */
        rc = lq_gguf_writer_set_bool(w, "tokenizer.ggml.add_space_prefix", false, err);
        rc = rc ? rc : lq_gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", true, err);
    }
    json_decref(tok_json);
    json_decref(tok_config);
    return rc;
}

lq_status lqi_source_write_tokenizer(const struct lq_source *s, lq_gguf_writer *w,
                                     struct lq_error *err)
{
    return write_tokenizer(s, 0, w, err);
}

lq_status lqi_source_write_tokenizer_as(const struct lq_source *s, unsigned flags,
                                        lq_gguf_writer *w, struct lq_error *err)
{
    return write_tokenizer(s, flags, w, err);
}

lq_status lq_source_write_hf_vocab(const char *dir, lq_gguf_writer *w, struct lq_error *err)
{
    LQ_FAIL_IF(!dir || !w, err, LQ_E_INVALID_ARG, "lq_source_write_hf_vocab: bad arguments");
    struct lq_source s;
    memset(&s, 0, sizeof s);
    s.kind = LQ_SOURCE_HF_SAFETENSORS;
    s.path = (char *)dir;
    LQ_TRY(lq_hf_open_config(dir, &s.hf, err));
    int64_t n = 0;
    lq_status rc = lq_hf_config_i64(s.hf, "vocab_size", &n, err);
    if (rc == LQ_E_NOT_FOUND) {
        n = 0, rc = LQ_OK; /* absent: as many as the tokenizer has */
    } else if (rc == LQ_OK && (n <= 0 || n > INT32_MAX)) {
        rc = lqi_set_error(err, LQ_E_FORMAT, "%s/config.json: vocab_size %lld is out of range", dir,
                           (long long)n);
    }
    s.hp.n_vocab = n;
    if (rc == LQ_OK && n == 0 && lq_hf_has_file(s.hf, "tokenizer.model")) {
        rc = lqi_set_error(err, LQ_E_FORMAT, "%s/config.json: no vocab_size", dir);
    }
    if (rc == LQ_OK) {
        /* Gemma folders: the model that reproduces their Hugging Face tokenizer */
        const char *arch = "";
        (void)lq_hf_config_str(s.hf, "architectures.0", &arch, NULL);
        rc =
            write_tokenizer(&s, strncmp(arch, "Gemma", 5) == 0 ? LQI_TOK_SPM_AS_GEMMA4 : 0, w, err);
    }
    lq_hf_free(s.hf);
    return rc;
}
