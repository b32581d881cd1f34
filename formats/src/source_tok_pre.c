/* source_tok_pre.c - which llama.cpp pre-tokenizer (tokenizer.ggml.pre) a byte-level BPE
 * tokenizer.json needs.
 *
 * llama.cpp's converter tokenizes a fixed text with the Hugging Face tokenizer and looks the
 * hash of the ids up in a table (convert_hf_to_gguf.py, get_vocab_base_pre). Without Python
 * we read what decides the split instead: the pre_tokenizer's Split regex (and whether the
 * model ignores merges, which llama.cpp ties to the name). The table below lists the regexes
 * of the tokenizers we know, as their tokenizer.json spells them; a pre-tokenizer that is not
 * in it is refused, as llama.cpp refuses a hash it does not know. */
#include <stdio.h>
#include <string.h>

#include "lqi.h"
#include "source_impl.h"

#define RE_LLAMA3                                                                                  \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+" \
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2                                                                                   \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+"      \
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* The others as llama.cpp's llama-vocab.cpp quotes them ("original regex from tokenizer.json"). */
#define RE_QWEN35                                                                                  \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| "                  \
    "?[^\\s\\p{L}\\p{M}\\p{N}]+"                                                                   \
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_UPPER "[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]"
#define RE_LOWER "[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]"
#define RE_CONTR "(?i:'s|'t|'re|'ve|'m|'ll|'d)"
#define RE_GPT4O                                                                                   \
    "[^\\r\\n\\p{L}\\p{N}]?" RE_UPPER "*" RE_LOWER "+" RE_CONTR                                    \
    "?|[^\\r\\n\\p{L}\\p{N}]?" RE_UPPER "+" RE_LOWER "*" RE_CONTR                                  \
    "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_TEKKEN                                                                                  \
    "[^\\r\\n\\p{L}\\p{N}]?" RE_UPPER "*" RE_LOWER "+|[^\\r\\n\\p{L}\\p{N}]?" RE_UPPER             \
    "+" RE_LOWER "*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_JAIS2                                                                                   \
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+" \
    "[\\r\\n]*|\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)"       \
    "|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)|\\s{1}"
#define RE_BAILINGMOE                                                                              \
    "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*"  \
    "|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"

struct known_pre {
    const char *regex;   /* the Split pattern's "Regex"; NULL: ByteLevel's own regex */
    int ignore_merges;   /* model.ignore_merges: 0, 1, or -1 for either */
    const char *name;    /* tokenizer.ggml.pre */
    const char *example; /* for messages and the README */
};

static const struct known_pre known[] = {
    {RE_LLAMA3, 1, "llama-bpe", "Llama 3, 3.1, 3.2, 3.3"},
    {RE_LLAMA3, 0, "smaug-bpe", "Llama 3 split without ignore_merges"},
    {RE_QWEN2, -1, "qwen2", "Qwen1.5, Qwen2, Qwen2.5, Qwen3, DeepSeek-R1 Qwen distills"},
    {RE_QWEN35, -1, "qwen35", "Qwen3.5"},
    {RE_GPT4O, -1, "gpt-4o", "GPT-4o's o200k split, as Llama 4's"},
    {RE_TEKKEN, -1, "tekken", "Mistral's Tekken: Mistral Nemo, Pixtral"},
    {RE_JAIS2, -1, "jais-2", "Jais 2"},
    {RE_BAILINGMOE, -1, "bailingmoe", "Ling / Bailing MoE"},
    {NULL, -1, "gpt-2", "GPT-2 (ByteLevel with its own regex)"},
};

/* The Split regexes and the ByteLevel step of a pre_tokenizer (one step or a Sequence). */
struct pre_steps {
    const char *split;    /* the one Split regex; NULL when none */
    int n_split, n_other; /* Split steps; steps that are neither Split nor ByteLevel */
    bool byte_level, byte_level_regex;
};

static void scan_step(const json_t *p, struct pre_steps *st)
{
    const char *type = json_string_value(json_object_get(p, "type"));
    if (type && strcmp(type, "Split") == 0) {
        st->split = json_string_value(json_object_get(json_object_get(p, "pattern"), "Regex"));
        st->n_split++;
        st->n_other += !st->split; /* a plain-string split is something else */
    } else if (type && strcmp(type, "ByteLevel") == 0) {
        const json_t *re = json_object_get(p, "use_regex");
        st->byte_level = true;
        st->byte_level_regex = !json_is_false(re); /* Hugging Face's default is true */
    } else {
        st->n_other++;
    }
}

lq_status lqi_source_bpe_pre_name(const json_t *root, const char *path, const char **name,
                                  struct lq_error *err)
{
    const json_t *pre = json_object_get(root, "pre_tokenizer");
    const json_t *steps = json_object_get(pre, "pretokenizers");
    struct pre_steps st = {0};
    if (json_is_array(steps)) {
        size_t i;
        const json_t *p;
        json_array_foreach(steps, i, p)
        {
            scan_step(p, &st);
        }
    } else if (json_is_object(pre)) {
        scan_step(pre, &st);
    }
    const json_t *im = json_object_get(json_object_get(root, "model"), "ignore_merges");
    int ignore_merges = json_is_true(im);
    if (st.byte_level && st.n_other == 0 && st.n_split <= 1) {
        for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
            const struct known_pre *k = &known[i];
            bool re_ok = k->regex
                             ? st.split && !st.byte_level_regex && strcmp(st.split, k->regex) == 0
                             : !st.split && st.byte_level_regex;
            if (re_ok && (k->ignore_merges < 0 || k->ignore_merges == ignore_merges)) {
                *name = k->name;
                return LQ_OK;
            }
        }
    }
    char list[512] = "";
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        size_t n = strlen(list);
        snprintf(list + n, sizeof list - n, "%s%s (%s)", i ? ", " : "", known[i].name,
                 known[i].example);
    }
    return lqi_set_error(err, LQ_E_UNSUPPORTED,
                         "%s: pre_tokenizer%s%.80s%s is not one llama.cpp's converter knows here; "
                         "known: %s",
                         path, st.split ? " regex '" : "", st.split ? st.split : "",
                         st.split ? "'" : "", list);
}
