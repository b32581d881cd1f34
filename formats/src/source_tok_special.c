/* source_tok_special.c - special token ids, add_*_token flags and the chat template of a
 * Hugging Face folder, found as llama.cpp's gguf-py SpecialVocab finds them:
 *
 * 1. tokenizer_config.json's bos/eos/unk/sep/pad/cls/mask_token (a string or {"content"})
 *    name an entry of tokenizer.json's added_tokens, whose id is taken (first match);
 * 2. tokenizer.json's post_processor (TemplateProcessing) says whether BOS/EOS/SEP are
 *    added, and may move the EOS role to the template's last token (the old EOS becoming
 *    EOT, or EOM);
 * 3. tokenizer_config.json's add_<kind>_token booleans override;
 * 4. config.json's <kind>_token_id fill the roles still unset (a list: its first entry).
 *
 * Ids are written in the order their roles were set, as llama.cpp's converter does; ids
 * outside the vocabulary and the cls role (which GGUF has no key for) are left out. */
#include <stdio.h>
#include <string.h>

#include "hf_impl.h"
#include "lqi.h"
#include "source_impl.h"

enum role { BOS, EOS, UNK, SEP, PAD, CLS, MASK, EOT, EOM, N_ROLES };

static const char *const role_name[N_ROLES] = {"bos", "eos",  "unk", "sep", "pad",
                                               "cls", "mask", "eot", "eom"};
static const char *const role_key[N_ROLES] = {
    "tokenizer.ggml.bos_token_id",     "tokenizer.ggml.eos_token_id",
    "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.seperator_token_id",
    "tokenizer.ggml.padding_token_id", NULL, /* no GGUF key for cls */
    "tokenizer.ggml.mask_token_id",    "tokenizer.ggml.eot_token_id",
    "tokenizer.ggml.eom_token_id"};

enum add { ADD_BOS, ADD_EOS, ADD_SEP, N_ADDS };
static const char *const add_key[N_ADDS] = {
    "tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token", "tokenizer.ggml.add_sep_token"};

struct specials {
    int64_t id[N_ROLES];
    int order[N_ROLES]; /* roles in the order they were set */
    int n_set;
    bool set[N_ROLES];
    bool add[N_ADDS], add_set[N_ADDS];
    int add_order[N_ADDS], n_add;
    const char *content[N_ROLES]; /* tokenizer_config's token texts (after rule 2's edits) */
    bool extra_roles;             /* EOT and EOM may be set (a template moved EOS) */
};

static void set_id(struct specials *sp, enum role r, int64_t id, int64_t n_vocab)
{
    if (sp->set[r] || id < 0 || id >= n_vocab) {
        return;
    }
    sp->set[r] = true;
    sp->id[r] = id;
    sp->order[sp->n_set++] = r;
}

static void set_add(struct specials *sp, enum add a, bool v)
{
    if (!sp->add_set[a]) {
        sp->add_set[a] = true;
        sp->add_order[sp->n_add++] = a;
    }
    sp->add[a] = v;
}

/* A tokenizer_config entry as text: a string, or an object's "content". */
static const char *token_text(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v)
                             : json_string_value(json_object_get(v, "content"));
}

static bool same(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* The id of the template item's special token ({"SpecialToken": {"id": text}}), or NULL. */
static const char *template_token(const json_t *item)
{
    return json_string_value(json_object_get(json_object_get(item, "SpecialToken"), "id"));
}

/* Rule 2 for one TemplateProcessing: what is added around a single sequence, and a
 * separator in the pair template ("A [sep] B"). */
static void template_rules(struct specials *sp, const json_t *proc)
{
    const json_t *single = json_object_get(proc, "single"), *pair = json_object_get(proc, "pair");
    size_t n = json_array_size(single);
    const char *first = NULL, *last = NULL;
    if (n > 1) {
        if ((first = template_token(json_array_get(single, 0))) != NULL) {
            if (!same(first, sp->content[BOS]) && !same(first, sp->content[CLS])) {
                sp->content[BOS] = sp->content[BOS] ? sp->content[BOS] : first;
                sp->content[CLS] = sp->content[CLS] ? sp->content[CLS] : first;
            }
            set_add(sp, ADD_BOS, same(first, sp->content[BOS]) || same(first, sp->content[CLS]));
        }
        if ((last = template_token(json_array_get(single, n - 1))) != NULL) {
            if (!same(last, sp->content[EOS])) {
                /* the old EOS becomes EOT (or EOM), the template's last token EOS */
                if (!sp->extra_roles) {
                    sp->extra_roles = true;
                    sp->content[EOT] = sp->content[EOS];
                } else {
                    sp->content[EOM] = sp->content[EOS];
                }
                sp->content[EOS] = last;
            }
            set_add(sp, ADD_EOS, true);
        }
    }
    size_t np = json_array_size(pair), start = 0, stop = np;
    if (first && np && same(template_token(json_array_get(pair, 0)), first)) {
        start = 1;
    }
    if (last && stop > start && same(template_token(json_array_get(pair, stop - 1)), last)) {
        stop--;
    }
    if (stop - start < 3) {
        return; /* no middle between A and B */
    }
    const char *a = json_string_value(
        json_object_get(json_object_get(json_array_get(pair, start), "Sequence"), "id"));
    const char *b = json_string_value(
        json_object_get(json_object_get(json_array_get(pair, stop - 1), "Sequence"), "id"));
    if (!same(a, "A") || !same(b, "B")) {
        return;
    }
    /* the middle: one separator (counted only without a trailing token), or exactly two */
    const char *mid0 = template_token(json_array_get(pair, start + 1));
    const char *mid1 = stop - start == 4 ? template_token(json_array_get(pair, start + 2)) : NULL;
    bool add_sep = (!last && (same(mid0, sp->content[SEP]) || same(mid0, sp->content[EOS]))) ||
                   same(mid1, sp->content[SEP]) || same(mid1, sp->content[EOS]);
    set_add(sp, ADD_SEP, add_sep);
    if (add_sep && !sp->content[SEP]) {
        sp->content[SEP] = sp->content[EOS];
    }
}

static void post_processor_rules(struct specials *sp, const json_t *tok_json)
{
    const json_t *post = json_object_get(tok_json, "post_processor");
    const json_t *procs = json_object_get(post, "processors");
    size_t n = procs ? json_array_size(procs) : (post ? 1 : 0);
    for (size_t i = 0; i < n; i++) {
        const json_t *p = procs ? json_array_get(procs, i) : post;
        const char *type = json_string_value(json_object_get(p, "type"));
        if (same(type, "RobertaProcessing")) {
            set_add(sp, ADD_BOS, true);
            set_add(sp, ADD_EOS, true);
            set_add(sp, ADD_SEP, true);
        } else if (same(type, "TemplateProcessing")) {
            template_rules(sp, p);
        }
    }
}

/* The first added_tokens entry whose content is text; -1 when none. */
static int64_t added_id(const json_t *tok_json, const char *text)
{
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(tok_json, "added_tokens"), i, e)
    {
        if (same(json_string_value(json_object_get(e, "content")), text)) {
            const json_t *id = json_object_get(e, "id");
            return json_is_integer(id) ? json_integer_value(id) : -1;
        }
    }
    return -1;
}

/* config.json's <kind>_token_id (a list: its first entry; text_config's as fallback). */
static bool config_id(const lq_hf *hf, const char *kind, int64_t *id)
{
    char key[64];
    const char *fmt[] = {"%s_token_id", "%s_token_id.0", "text_config.%s_token_id",
                         "text_config.%s_token_id.0"};
    for (size_t i = 0; i < sizeof fmt / sizeof fmt[0]; i++) {
        snprintf(key, sizeof key, fmt[i], kind);
        if (lq_hf_config_i64(hf, key, id, NULL) == LQ_OK) {
            return true;
        }
    }
    return false;
}

lq_status lqi_source_write_specials(lq_hf *hf, const json_t *tok_json, const json_t *tok_config,
                                    int64_t n_vocab, lq_gguf_writer *w, struct lq_error *err)
{
    struct specials sp;
    memset(&sp, 0, sizeof sp);
    if (tok_config) {
        for (int r = BOS; r <= MASK; r++) {
            char key[32];
            snprintf(key, sizeof key, "%s_token", role_name[r]);
            sp.content[r] = token_text(json_object_get(tok_config, key));
        }
        /* a CLS/SEP-only tokenizer (BERT) uses them as BOS/EOS */
        if (!sp.content[BOS] && sp.content[CLS]) {
            sp.content[BOS] = sp.content[CLS];
        }
        if (!sp.content[EOS] && sp.content[SEP]) {
            sp.content[EOS] = sp.content[SEP];
        }
    }
    if (tok_json) {
        post_processor_rules(&sp, tok_json);
    }
    if (tok_config) {
        for (int a = ADD_BOS; a < N_ADDS; a++) {
            static const char *const names[N_ADDS] = {"add_bos_token", "add_eos_token",
                                                      "add_sep_token"};
            const json_t *v = json_object_get(tok_config, names[a]);
            if (json_is_boolean(v)) {
                set_add(&sp, (enum add)a, json_is_true(v));
            }
        }
        int last = sp.extra_roles ? EOM : MASK;
        for (int r = BOS; r <= last && tok_json; r++) {
            if (sp.content[r]) {
                set_id(&sp, (enum role)r, added_id(tok_json, sp.content[r]), n_vocab);
            }
        }
    }
    for (int r = BOS; r <= MASK; r++) {
        int64_t id;
        if (config_id(hf, role_name[r], &id)) {
            set_id(&sp, (enum role)r, id, n_vocab);
        }
    }
    for (int i = 0; i < sp.n_set; i++) {
        int r = sp.order[i];
        if (role_key[r]) {
            LQ_TRY(lq_gguf_writer_set_u32(w, role_key[r], (uint32_t)sp.id[r], err));
        }
    }
    for (int i = 0; i < sp.n_add; i++) {
        int a = sp.add_order[i];
        LQ_TRY(lq_gguf_writer_set_bool(w, add_key[a], sp.add[a], err));
    }
    const char *tmpl =
        tok_config ? json_string_value(json_object_get(tok_config, "chat_template")) : NULL;
    if (tmpl) {
        LQ_TRY(lq_gguf_writer_set_str(w, "tokenizer.chat_template", tmpl, err));
    }
    return LQ_OK;
}
