/* tok_special.c - what llama.cpp infers about special tokens from their texts.
 *
 * GGUF files do not carry every attribute llama.cpp uses, so its loader recognises some
 * tokens by text: end-of-turn and fill-in-the-middle tokens become control tokens, a list
 * of texts marks end-of-generation, and per-model quirks set strip flags. Control,
 * user-defined and unknown tokens, longest first, are then cut out of the text before
 * tokenizing. Where llama.cpp's choice depends on hash-map order (two candidates for the
 * same role) we take the lowest id.
 */
#include "tok_impl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const eot_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "[EOT]", "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
    "<end_of_utterance>", NULL};
static const char *const eom_texts[] = {"<|eom_id|>", NULL};
static const char *const fim_texts[6][9] = {
    {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>",
     "<PRE>", "\xe2\x96\x81<PRE>", "<|code_prefix|>", "<|prefix|>", NULL},
    {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "hole\xef\xbd\x9c>",
     "<SUF>", "\xe2\x96\x81<SUF>", "<|code_suffix|>", "<|suffix|>", NULL},
    {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>",
     "<MID>", "\xe2\x96\x81<MID>", "<|code_middle|>", "<|middle|>", NULL},
    {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]", NULL},
    {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", NULL},
    {"<|file_sep|>", NULL},
};
static const char *const eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>", "[e~[", NULL};
static const char *const always_rendered[] = {"<|channel|>", "<|message|>", "<|start|>",
                                              "<|constrain|>", NULL};

/* The lowest id whose text is in `list` (looked up, not scanned: vocabularies have 262k
 * tokens), or LQ_TOKEN_NULL. */
static int32_t first_in_list(const struct lq_tokenizer *t, const char *const *list)
{
    int32_t best = LQ_TOKEN_NULL;
    for (; *list; list++) {
        int32_t id = lqi_tok_find(t, *list, strlen(*list));
        if (id != LQ_TOKEN_NULL && (best == LQ_TOKEN_NULL || id < best)) {
            best = id;
        }
    }
    return best;
}

/* Finds the first token whose text is in `list` for an unset role; it becomes control. */
static void find_role(struct lq_tokenizer *t, int32_t *id, const char *const *list)
{
    if (*id != LQ_TOKEN_NULL) {
        return;
    }
    *id = first_in_list(t, list);
    if (*id != LQ_TOKEN_NULL) {
        t->tokens[*id].attr |= LQ_TOKEN_ATTR_CONTROL;
    }
}

static bool eog_add(struct lq_tokenizer *t, int32_t id)
{
    if (id == LQ_TOKEN_NULL) {
        return true;
    }
    for (size_t i = 0; i < t->n_eog; i++) {
        if (t->eog[i] == id) {
            return true;
        }
    }
    int32_t *p = lqi_realloc(t->eog, (t->n_eog + 1) * sizeof *p);
    if (!p) {
        return false;
    }
    t->eog = p;
    t->eog[t->n_eog++] = id;
    return true;
}

static void eog_remove(struct lq_tokenizer *t, int32_t id)
{
    for (size_t i = 0; i < t->n_eog; i++) {
        if (t->eog[i] == id) {
            t->eog[i] = t->eog[--t->n_eog];
            return;
        }
    }
}

static int32_t eog_with_text(const struct lq_tokenizer *t, const char *text)
{
    for (size_t i = 0; i < t->n_eog; i++) {
        if (strcmp(lqi_tok_text(t, t->eog[i]), text) == 0) {
            return t->eog[i];
        }
    }
    return LQ_TOKEN_NULL;
}

/* Harmony (gpt-oss) and solar-open use "<|end|>" inside a turn; gemma4 and paddleocr
 * use "</s>" as text: llama.cpp takes them off the end-of-generation list. */
static void eog_exceptions(struct lq_tokenizer *t)
{
    int32_t end = eog_with_text(t, "<|end|>"), s = eog_with_text(t, "</s>");
    bool ret = eog_with_text(t, "<|return|>") >= 0, flush = eog_with_text(t, "<|flush|>") >= 0;
    bool call = eog_with_text(t, "<|call|>") >= 0 || eog_with_text(t, "<|calls|>") >= 0;
    if (end >= 0 && call && (ret || flush)) {
        eog_remove(t, end);
        t->tokens[end].attr = LQ_TOKEN_ATTR_USER_DEFINED;
    }
    if (s >= 0 && eog_with_text(t, "<|tool_response>") >= 0) {
        eog_remove(t, s);
        t->tokens[s].attr = LQ_TOKEN_ATTR_NORMAL;
    }
}

static int by_id(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The tokens whose texts are in `list`, in id order (*n of them; cap >= the list's length). */
static size_t ids_in_list(const struct lq_tokenizer *t, const char *const *list, int32_t *ids)
{
    size_t n = 0;
    for (; *list; list++) {
        int32_t id = lqi_tok_find(t, *list, strlen(*list));
        if (id != LQ_TOKEN_NULL) {
            ids[n++] = id;
        }
    }
    qsort(ids, n, sizeof *ids, by_id);
    return n;
}

static bool find_eog(struct lq_tokenizer *t)
{
    int32_t ids[sizeof eog_texts / sizeof eog_texts[0]];
    bool ok = eog_add(t, t->fim[3]) && eog_add(t, t->fim[4]) && eog_add(t, t->fim[5]);
    size_t n = ids_in_list(t, eog_texts, ids);
    for (size_t i = 0; i < n && ok; i++) {
        ok = eog_add(t, ids[i]);
        t->tokens[ids[i]].attr |= LQ_TOKEN_ATTR_CONTROL;
    }
    n = ids_in_list(t, always_rendered, ids);
    for (size_t i = 0; i < n; i++) {
        t->tokens[ids[i]].attr = LQ_TOKEN_ATTR_USER_DEFINED;
    }
    ok = ok && eog_add(t, t->eos) && eog_add(t, t->eot) && eog_add(t, t->eom);
    if (ok) {
        eog_exceptions(t);
    }
    return ok;
}

// ---- the special-token cache and per-model strip flags ----------------------------------

struct len_id {
    uint32_t len;
    int32_t id;
};

/* Longest text first; equal lengths by id, so the order is deterministic. */
static int by_length_desc(const void *a, const void *b)
{
    const struct len_id *x = a, *y = b;
    if (x->len != y->len) {
        return x->len > y->len ? -1 : 1;
    }
    return x->id < y->id ? -1 : x->id > y->id;
}

static bool build_special_cache(struct lq_tokenizer *t)
{
    const uint32_t mask = LQ_TOKEN_ATTR_CONTROL | LQ_TOKEN_ATTR_USER_DEFINED |
                          LQ_TOKEN_ATTR_UNKNOWN;
    size_t n = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        n += (t->tokens[i].attr & mask) != 0;
    }
    struct len_id *v = lqi_malloc((n ? n : 1) * sizeof *v);
    t->special = lqi_malloc((n ? n : 1) * sizeof *t->special);
    if (!v || !t->special) {
        lqi_free(v);
        return false;
    }
    n = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (t->tokens[i].attr & mask) {
            v[n++] = (struct len_id){t->tokens[i].len, i};
        }
    }
    qsort(v, n, sizeof *v, by_length_desc);
    for (size_t i = 0; i < n; i++) {
        t->special[i] = v[i].id;
    }
    t->n_special = n;
    lqi_free(v);
    return true;
}

static bool contains_any(const char *s, const char *const *subs)
{
    for (; *subs; subs++) {
        if (strstr(s, *subs)) {
            return true;
        }
    }
    return false;
}

static void set_attr(struct lq_tokenizer *t, const char *text, uint32_t attr, bool on)
{
    int32_t id = lqi_tok_find(t, text, strlen(text));
    if (id != LQ_TOKEN_NULL) {
        t->tokens[id].attr = on ? t->tokens[id].attr | attr : t->tokens[id].attr & ~attr;
    }
}

/* Per-model strip flags llama.cpp sets by pre-tokenizer, architecture and model name. */
static void model_quirks(struct lq_tokenizer *t, const lq_gguf *g)
{
    static const char *const jina[] = {"jina-v2-de", "jina-v2-es", "jina-v2-code", NULL};
    static const char *const jina_arch[] = {"nomic-bert-moe", "jina-bert-v3", NULL};
    static const char *const phi3[] = {"phi-3", "phi3", NULL};
    static const char *const modern_bert[] = {"modern-bert", NULL};
    const char *name = "", *arch = "";
    char lower[256];
    (void)lq_gguf_get_str(g, "general.name", &name, NULL);
    (void)lq_gguf_get_str(g, "general.architecture", &arch, NULL);
    size_t i = 0;
    for (; name[i] && i + 1 < sizeof lower; i++) {
        lower[i] = (char)tolower((unsigned char)name[i]);
    }
    lower[i] = '\0';
    if (contains_any(t->pre, jina) || contains_any(arch, jina_arch)) {
        set_attr(t, "<mask>", LQ_TOKEN_ATTR_LSTRIP, true);
    } else if (contains_any(lower, phi3)) {
        for (size_t k = 0; k < t->n_special; k++) {
            t->tokens[t->special[k]].attr |= LQ_TOKEN_ATTR_RSTRIP;
        }
        set_attr(t, "</s>", LQ_TOKEN_ATTR_RSTRIP, true);
        set_attr(t, "<unk>", LQ_TOKEN_ATTR_RSTRIP, false);
        set_attr(t, "<s>", LQ_TOKEN_ATTR_RSTRIP, false);
        set_attr(t, "<|endoftext|>", LQ_TOKEN_ATTR_RSTRIP, false);
    } else if (contains_any(lower, modern_bert)) {
        set_attr(t, "[MASK]", LQ_TOKEN_ATTR_LSTRIP, true);
    }
}

lq_status lqi_tok_finish_specials(struct lq_tokenizer *t, const lq_gguf *g, struct lq_error *err)
{
    find_role(t, &t->eot, eot_texts);
    find_role(t, &t->eom, eom_texts);
    for (int i = 0; i < 6; i++) {
        find_role(t, &t->fim[i], fim_texts[i]);
    }
    LQ_FAIL_IF(!find_eog(t) || !build_special_cache(t), err, LQ_E_NOMEM,
               "tokenizer: out of memory");
    model_quirks(t, g);
    return LQ_OK;
}
