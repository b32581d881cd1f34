/* tok_pre.c - the BPE pre-tokenizers: regex lists per tokenizer.ggml.pre name.
 *
 * The lists are llama.cpp's (src/llama-vocab.cpp, llm_tokenizer_bpe) written for PCRE2:
 * non-ASCII literals as \x{...} escapes. Each regex splits every piece left by the
 * previous one; matches and the text between them both become pieces.
 *
 * llama.cpp runs regexes that use \p{..} on a "collapsed" text in which each non-ASCII
 * code point stands for its category; its ASCII stand-ins for \p{S} miss '~'. Regexes
 * that use \p{S} therefore exclude '~' explicitly here. The two regexes llama.cpp runs
 * with hand-written splitters (GPT-2's and Llama 3's) give the same pieces as the regex.
 */
#include "tok_impl.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <string.h>

#define CONTRACTIONS "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
#define RE_LLAMA3                                                                         \
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*" \
                 "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2                                                                       \
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*" \
                 "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_CJK "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"
#define RE_BLOOM " ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{964}\\x{6D4}\\x{60C})]+"
#define RE_UPPER_LOWER(marks)                                                    \
    "[^\\r\\n\\p{L}\\p{N}]?((?=[" marks "])([^a-z]))*((?=[" marks "])([^A-Z]))+"
#define RE_LOWER_UPPER(marks)                                                    \
    "[^\\r\\n\\p{L}\\p{N}]?((?=[" marks "])([^a-z]))+((?=[" marks "])([^A-Z]))*"

/* Cased letters of deepseek-llm's pre-tokenizer (Latin, Greek, Cyrillic, ...). */
#define DEEPSEEK_LETTERS                                                                   \
    "A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}"          \
    "\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}"  \
    "\\x{37F}\\x{386}\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}"           \
    "\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}"                \
    "\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}"          \
    "\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}"          \
    "\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}" \
    "\\x{1F5B}\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}"  \
    "\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}"          \
    "\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}"           \
    "\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}"            \
    "\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}" \
    "\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}"  \
    "\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}"           \
    "\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}"          \
    "\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-\\x{1044F}"        \
    "\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}"  \
    "\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}"

static const char *const re_default[] = {"[\\p{P}\\$\\+<=>\\^~\\|]+", RE_GPT2, "\\p{N}+",
                                         "[0-9][0-9][0-9]", NULL};
static const char *const re_llama3[] = {RE_LLAMA3, NULL};
static const char *const re_gpt2[] = {RE_GPT2, NULL};
static const char *const re_qwen2[] = {RE_QWEN2, NULL};
static const char *const re_falcon[] = {"[\\p{P}\\$\\+<=>\\^~\\|`]+", RE_GPT2, "[0-9][0-9][0-9]",
                                        NULL};
static const char *const re_starcoder[] = {"\\p{N}", RE_GPT2, NULL};
static const char *const re_deepseek_llm[] = {
    "[\r\n]",
    "\\s?[" DEEPSEEK_LETTERS "]+",
    "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
    "\\s+$",
    RE_CJK,
    "\\p{N}+",
    NULL};
static const char *const re_deepseek_coder[] = {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", RE_CJK,
                                                "\\p{N}", NULL};
/* '~' is neither \p{P} nor \p{S} for llama.cpp (see the file comment). */
static const char *const re_deepseek3[] = {
    "\\p{N}{1,3}",
    "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+"
    "|(?:~|[^\r\n\\p{L}\\p{P}\\p{S}])?[\\p{L}\\p{M}]+| ?(?:(?!~)[\\p{P}\\p{S}])+[\r\n]*"
    "|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_qwen35[] = {
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*"
                 "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_bloom[] = {RE_BLOOM, NULL};
static const char *const re_viking[] = {RE_BLOOM, "\\p{N}", NULL};
static const char *const re_tekken[] = {
    RE_UPPER_LOWER("\\p{L}") "|" RE_LOWER_UPPER("\\p{L}") "|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*"
                                                         "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_gpt4o[] = {
    RE_UPPER_LOWER("\\p{L}") CONTRACTIONS "?|" RE_LOWER_UPPER("\\p{L}") CONTRACTIONS
    "?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_seed_coder[] = {
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+"
                 "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_bailingmoe[] = {
    "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_ufakzeka[] = {
    "[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+"
    "|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_minicpm5[] = {
    "\\p{N}{1,3}",
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}+| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                 "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
    NULL};
static const char *const re_laguna[] = {"[^\\n]+|[\\n]+", RE_QWEN2, NULL};
static const char *const re_jais2[] = {
    CONTRACTIONS "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                 "|\\s*[\\r\\n]+|\\s{512}(?!\\S)|\\s{256}(?!\\S)|\\s{128}(?!\\S)|\\s{64}(?!\\S)"
                 "|\\s{32}(?!\\S)|\\s{16}(?!\\S)|\\s{8}(?!\\S)|\\s{4}(?!\\S)|\\s{1,2}(?!\\S)"
                 "|\\s{1}",
    NULL};
/* SentencePiece-style BPE merges whole lines: only newlines split. */
static const char *const re_gemma4[] = {"[^\\n]+|[\\n]+", NULL};
static const char *const re_chameleon[] = {
    "<sentinel:[0-9]+>", "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z", "([\\t\\n]|    |  )", "\\p{N}",
    "[\\p{P}!-/:-@\\[-`{-~]", RE_GPT2, NULL};

enum { CLEAN = 1, KEEP_SPACES = 0, IGNORE_MERGES = 2, ADD_BOS = 4, NO_BOS = 8, SPM_STYLE = 16 };

struct pre_def {
    const char *name;
    const char *const *re;
    unsigned flags;
};

static const struct pre_def pre_defs[] = {
    {"default", re_default, CLEAN},
    {"llama3", re_llama3, CLEAN | IGNORE_MERGES | ADD_BOS},
    {"llama-v3", re_llama3, CLEAN | IGNORE_MERGES | ADD_BOS},
    {"llama-bpe", re_llama3, CLEAN | IGNORE_MERGES | ADD_BOS},
    {"falcon3", re_llama3, CLEAN | IGNORE_MERGES | ADD_BOS},
    {"falcon-h1", re_llama3, CLEAN | IGNORE_MERGES | ADD_BOS},
    {"pixtral", re_llama3, CLEAN | IGNORE_MERGES | ADD_BOS},
    {"midm-2.0", re_llama3, CLEAN | IGNORE_MERGES | ADD_BOS},
    {"lfm2", re_llama3, CLEAN | IGNORE_MERGES | ADD_BOS},
    {"dbrx", re_llama3, CLEAN},
    {"smaug-bpe", re_llama3, CLEAN},
    {"deepseek-llm", re_deepseek_llm, KEEP_SPACES},
    {"deepseek-coder", re_deepseek_coder, KEEP_SPACES},
    {"deepseek-v3", re_deepseek3, KEEP_SPACES},
    {"hunyuan-dense", re_deepseek3, KEEP_SPACES},
    {"joyai-llm", re_deepseek3, KEEP_SPACES},
    {"falcon", re_falcon, CLEAN},
    {"starcoder", re_starcoder, CLEAN},
    {"refact", re_starcoder, CLEAN},
    {"command-r", re_starcoder, KEEP_SPACES},
    {"smollm", re_starcoder, KEEP_SPACES},
    {"codeshell", re_starcoder, CLEAN},
    {"exaone", re_starcoder, CLEAN},
    {"minerva-7b", re_starcoder, CLEAN},
    {"mellum2", re_starcoder, CLEAN},
    {"gpt-2", re_gpt2, CLEAN},
    {"phi-2", re_gpt2, CLEAN},
    {"jina-es", re_gpt2, CLEAN},
    {"jina-de", re_gpt2, CLEAN},
    {"gigachat", re_gpt2, CLEAN},
    {"jina-v2-es", re_gpt2, CLEAN},
    {"jina-v2-de", re_gpt2, CLEAN},
    {"a.x-4.0", re_gpt2, CLEAN},
    {"mellum", re_gpt2, CLEAN},
    {"modern-bert", re_gpt2, CLEAN},
    {"exaone4", re_gpt2, CLEAN},
    {"jina-v1-en", re_gpt2, CLEAN},
    {"jina-v2-code", re_gpt2, CLEAN},
    {"roberta-bpe", re_gpt2, CLEAN},
    {"mpt", re_gpt2, CLEAN},
    {"olmo", re_gpt2, CLEAN},
    {"jais", re_gpt2, CLEAN},
    {"trillion", re_gpt2, KEEP_SPACES},
    {"granite-docling", re_gpt2, KEEP_SPACES},
    {"stablelm2", re_qwen2, CLEAN},
    {"qwen2", re_qwen2, KEEP_SPACES},
    {"deepseek-r1-qwen", re_qwen2, KEEP_SPACES},
    {"kormo", re_qwen2, KEEP_SPACES},
    {"f2llmv2", re_qwen2, KEEP_SPACES},
    {"megrez", re_qwen2, CLEAN},
    {"hunyuan", re_qwen2, KEEP_SPACES},
    {"solar-open", re_qwen2, KEEP_SPACES},
    {"grok-2", re_qwen2, KEEP_SPACES},
    {"qwen35", re_qwen35, KEEP_SPACES},
    {"poro-chat", re_bloom, KEEP_SPACES},
    {"bloom", re_bloom, CLEAN},
    {"gpt3-finnish", re_bloom, CLEAN},
    {"glm4", re_llama3, CLEAN | NO_BOS},
    {"chatglm-bpe", re_llama3, CLEAN | NO_BOS},
    {"viking", re_viking, KEEP_SPACES},
    {"tekken", re_tekken, KEEP_SPACES | IGNORE_MERGES | ADD_BOS},
    {"gpt-4o", re_gpt4o, KEEP_SPACES},
    {"llama4", re_gpt4o, KEEP_SPACES},
    {"kanana2", re_gpt4o, KEEP_SPACES},
    {"talkie", re_gpt4o, KEEP_SPACES},
    {"minimax-m2", re_gpt4o, KEEP_SPACES},
    {"seed-coder", re_seed_coder, KEEP_SPACES},
    {"bailingmoe", re_bailingmoe, KEEP_SPACES},
    {"bailingmoe2", re_bailingmoe, KEEP_SPACES},
    {"llada-moe", re_bailingmoe, KEEP_SPACES},
    {"ufakzeka", re_ufakzeka, KEEP_SPACES},
    {"minicpm5", re_minicpm5, CLEAN | IGNORE_MERGES},
    {"laguna", re_laguna, KEEP_SPACES},
    {"jais-2", re_jais2, CLEAN},
    {"chameleon", re_chameleon, KEEP_SPACES | ADD_BOS},
    {"gemma4", re_gemma4, CLEAN | SPM_STYLE | ADD_BOS},
    {"granite-embed-multi-311m", re_gemma4, CLEAN | SPM_STYLE | ADD_BOS},
};

static const struct pre_def *find_pre(const char *name)
{
    for (size_t i = 0; i < sizeof pre_defs / sizeof pre_defs[0]; i++) {
        if (strcmp(pre_defs[i].name, name) == 0) {
            return &pre_defs[i];
        }
    }
    return NULL;
}

/* DOLLAR_ENDONLY: '$' means the end of the piece, as in ECMAScript regexes. */
static lq_status compile_one(const char *pattern, void **out, struct lq_error *err)
{
    int code;
    PCRE2_SIZE at;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &code, &at, NULL);
    if (!re) {
        PCRE2_UCHAR msg[128];
        pcre2_get_error_message(code, msg, sizeof msg);
        return lqi_set_error(err, LQ_E_FORMAT, "tokenizer: regex '%s': %s at %zu", pattern,
                             (const char *)msg, (size_t)at);
    }
    /* JIT is only a speed-up; the interpreter gives the same matches. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    *out = re;
    return LQ_OK;
}

lq_status lqi_pretok_init(struct lqi_pretok *p, const char *name, struct lqi_pre_info *info,
                          struct lq_error *err)
{
    const struct pre_def *d = find_pre(name);
    memset(p, 0, sizeof *p);
    LQ_FAIL_IF(!d, err, LQ_E_UNSUPPORTED, "tokenizer: unsupported pre-tokenizer '%s'", name);
    p->name = d->name;
    info->clean_spaces = d->flags & CLEAN;
    info->ignore_merges = d->flags & IGNORE_MERGES;
    info->add_bos = d->flags & ADD_BOS;
    info->no_bos_token = d->flags & NO_BOS;
    info->spm_style = d->flags & SPM_STYLE;
    for (size_t i = 0; d->re[i]; i++) {
        lq_status rc = compile_one(d->re[i], &p->re[i], err);
        if (rc != LQ_OK) {
            lqi_pretok_free(p);
            return rc;
        }
        p->n_re = i + 1;
    }
    return LQ_OK;
}

void lqi_pretok_free(struct lqi_pretok *p)
{
    for (size_t i = 0; i < p->n_re; i++) {
        pcre2_code_free(p->re[i]);
    }
    p->n_re = 0;
}
