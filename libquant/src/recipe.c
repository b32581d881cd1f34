/* recipe.c - llama.cpp's per-tensor type rules for a file type (llama_tensor_get_type); the
 * file types themselves are in recipe_ftypes.c. */
#include "lq/recipe.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lqi.h"

struct lq_recipe_params lq_recipe_params_default(void)
{
    struct lq_recipe_params p = {
        .ftype = LQ_FTYPE_MOSTLY_Q8_0,
        .output_tensor_type = -1,
        .token_embedding_type = -1,
        .quantize_output_tensor = true,
        .n_expert = 0,
    };
    return p;
}

// ---- which tensors are quantized ---------------------------------------------------------

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool lq_recipe_allows_quantization(const struct lq_recipe_params *p,
                                   const struct lq_recipe_tensor *t)
{
    if (t->n_dims < 2 || !ends_with(t->name, "weight")) {
        return false;
    }
    if (strstr(t->name, "_norm.weight") || strstr(t->name, "ffn_gate_inp.weight") ||
        strstr(t->name, "position_embd") || strstr(t->name, "token_types.weight") ||
        strstr(t->name, "ssm_conv1d") || strstr(t->name, "attn_rel_b.weight")) {
        return false;
    }
    return p->quantize_output_tensor || strcmp(t->name, "output.weight") != 0;
}

// ---- tensor categories and the rules -------------------------------------------------------

enum category { CAT_TOKEN_EMBD, CAT_ATTN_Q, CAT_ATTN_V, CAT_ATTN_K, CAT_ATTN_QKV, CAT_ATTN_KV_B,
                CAT_ATTN_OUTPUT, CAT_FFN_UP, CAT_FFN_GATE, CAT_FFN_DOWN, CAT_OUTPUT, CAT_OTHER };

static enum category categorize(const char *name)
{
    if (strcmp(name, "output.weight") == 0) {
        return CAT_OUTPUT;
    }
    if (strcmp(name, "token_embd.weight") == 0 || strcmp(name, "per_layer_token_embd.weight") == 0) {
        return CAT_TOKEN_EMBD;
    }
    static const struct { const char *needle; enum category cat; } rules[] = {
        { "attn_qkv.weight", CAT_ATTN_QKV },      { "attn_kv_b.weight", CAT_ATTN_KV_B },
        { "attn_v.weight", CAT_ATTN_V },          { "attn_k.weight", CAT_ATTN_K },
        { "attn_q.weight", CAT_ATTN_Q },          { "attn_output.weight", CAT_ATTN_OUTPUT },
        { "ffn_up", CAT_FFN_UP },                 { "ffn_gate", CAT_FFN_GATE },
        { "ffn_down", CAT_FFN_DOWN },
    };
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        if (strstr(name, rules[i].needle)) {
            return rules[i].cat;
        }
    }
    return CAT_OTHER;
}

static bool is_attn_v_like(enum category c)
{
    return c == CAT_ATTN_V || c == CAT_ATTN_QKV || c == CAT_ATTN_KV_B;
}

/* Counters llama.cpp keeps while walking the tensors in order. */
struct plan_state {
    const struct lq_recipe_params *p;
    bool tied_embeddings;
    int n_attention_wv, i_attention_wv;
    int n_layer, i_ffn_down, i_ffn_gate, i_ffn_up;
};

static bool use_more_bits(int i_layer, int n_layers)
{
    return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 ||
           (i_layer - n_layers / 8) % 3 == 2;
}

/* For mixture-of-experts models the layer comes from the name, as in llama.cpp. */
static lq_status layer_of(const struct plan_state *s, const char *name, int counter, int *layer,
                          struct lq_error *err)
{
    *layer = counter;
    if (s->p->n_expert > 1) {
        LQ_FAIL_IF(sscanf(name, "blk.%d.", layer) != 1 || *layer < 0 || *layer >= s->n_layer,
                   err, LQ_E_FORMAT, "tensor '%s': cannot tell its layer (0..%d)", name,
                   s->n_layer - 1);
    }
    return LQ_OK;
}

static bool ftype_in(enum lq_ftype f, const enum lq_ftype *set, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (set[i] == f) {
            return true;
        }
    }
    return false;
}
#define FTYPE_IN(f, ...)                                                                           \
    ftype_in(f, (const enum lq_ftype[]){ __VA_ARGS__ },                                          \
             sizeof((const enum lq_ftype[]){ __VA_ARGS__ }) / sizeof(enum lq_ftype))

/* The 1-2 bit i-quant file types, which share one branch of llama.cpp's rules. */
static bool is_low_bit_iq(enum lq_ftype f)
{
    return FTYPE_IN(f, LQ_FTYPE_MOSTLY_IQ2_XXS, LQ_FTYPE_MOSTLY_IQ2_XS, LQ_FTYPE_MOSTLY_IQ1_S,
                    LQ_FTYPE_MOSTLY_IQ2_S, LQ_FTYPE_MOSTLY_IQ2_M, LQ_FTYPE_MOSTLY_IQ1_M);
}

static bool is_iq2_s_or_m(enum lq_ftype f)
{
    return f == LQ_FTYPE_MOSTLY_IQ2_S || f == LQ_FTYPE_MOSTLY_IQ2_M;
}

static int n_gqa(const struct plan_state *s)
{
    return s->p->n_head_kv > 0 ? s->p->n_head / s->p->n_head_kv : 1;
}

static enum lq_type output_type(const struct plan_state *s, const struct lq_recipe_tensor *t,
                                enum lq_type def)
{
    if (s->p->output_tensor_type >= 0) {
        return (enum lq_type)s->p->output_tensor_type;
    }
    const struct lq_type_traits *tr = lq_type_traits_get(def);
    if (s->p->ftype == LQ_FTYPE_MOSTLY_MXFP4_MOE || t->ne[0] % tr->blck_size != 0) {
        return LQ_TYPE_Q8_0;
    }
    if (is_low_bit_iq(s->p->ftype) || s->p->ftype == LQ_FTYPE_MOSTLY_IQ3_XXS) {
        return LQ_TYPE_Q5_K;
    }
    return def != LQ_TYPE_Q8_0 ? LQ_TYPE_Q6_K : def;
}

static enum lq_type token_embd_type(const struct plan_state *s, enum lq_type t)
{
    enum lq_ftype f = s->p->ftype;
    if (s->p->token_embedding_type >= 0) {
        return (enum lq_type)s->p->token_embedding_type;
    }
    if (FTYPE_IN(f, LQ_FTYPE_MOSTLY_IQ2_XXS, LQ_FTYPE_MOSTLY_IQ2_XS, LQ_FTYPE_MOSTLY_IQ1_S,
                 LQ_FTYPE_MOSTLY_IQ1_M)) {
        return LQ_TYPE_Q2_K;
    }
    if (is_iq2_s_or_m(f) || f == LQ_FTYPE_MOSTLY_IQ3_XXS) {
        return LQ_TYPE_IQ3_S;
    }
    if (f == LQ_FTYPE_MOSTLY_TQ1_0 || f == LQ_FTYPE_MOSTLY_TQ2_0) {
        return LQ_TYPE_Q4_K;
    }
    return t;
}

/* llama.cpp's branch for IQ2_XXS, IQ2_XS, IQ2_S, IQ2_M, IQ1_S and IQ1_M (every tensor but
 * the output and token embedding). */
static enum lq_type low_bit_iq_type(struct plan_state *s, enum category c, enum lq_type t)
{
    enum lq_ftype f = s->p->ftype;
    if (is_attn_v_like(c)) {
        if (n_gqa(s) >= 4 || s->p->n_expert >= 4) {
            t = LQ_TYPE_Q4_K;
        } else {
            t = is_iq2_s_or_m(f) ? LQ_TYPE_IQ3_S : LQ_TYPE_Q2_K;
        }
        s->i_attention_wv++;
    } else if (s->p->n_expert == 8 && c == CAT_ATTN_K) {
        t = LQ_TYPE_Q4_K;
    } else if (c == CAT_FFN_DOWN) {
        /* the counter, not the layer: llama.cpp does not parse expert names here */
        if (s->i_ffn_down < s->n_layer / 8) {
            t = is_iq2_s_or_m(f) ? LQ_TYPE_IQ3_S : LQ_TYPE_Q2_K;
        }
        s->i_ffn_down++;
    } else if (c == CAT_ATTN_OUTPUT) {
        if (s->p->n_expert == 8) {
            t = LQ_TYPE_Q5_K;
        } else if (f == LQ_FTYPE_MOSTLY_IQ1_S || f == LQ_FTYPE_MOSTLY_IQ1_M) {
            t = LQ_TYPE_IQ2_XXS;
        } else if (is_iq2_s_or_m(f)) {
            t = LQ_TYPE_IQ3_S;
        }
    }
    return t;
}

static enum lq_type attn_v_type(struct plan_state *s, enum lq_type t)
{
    enum lq_ftype f = s->p->ftype;
    int gqa = n_gqa(s);
    if (f == LQ_FTYPE_MOSTLY_Q2_K) {
        t = gqa >= 4 ? LQ_TYPE_Q4_K : LQ_TYPE_Q3_K;
    } else if (f == LQ_FTYPE_MOSTLY_Q2_K_S && gqa >= 4) {
        t = LQ_TYPE_Q4_K;
    } else if (f == LQ_FTYPE_MOSTLY_IQ3_XXS) {
        t = gqa >= 4 ? LQ_TYPE_Q4_K : !s->p->has_imatrix ? LQ_TYPE_IQ3_S : LQ_TYPE_IQ3_XXS;
    } else if ((f == LQ_FTYPE_MOSTLY_IQ3_XS || f == LQ_FTYPE_MOSTLY_IQ3_S) && gqa >= 4) {
        t = LQ_TYPE_Q4_K;
    } else if (f == LQ_FTYPE_MOSTLY_IQ3_M) {
        t = LQ_TYPE_Q4_K;
    } else if (f == LQ_FTYPE_MOSTLY_Q3_K_M) {
        t = s->i_attention_wv < 2 ? LQ_TYPE_Q5_K : LQ_TYPE_Q4_K;
    } else if (f == LQ_FTYPE_MOSTLY_Q3_K_L) {
        t = LQ_TYPE_Q5_K;
    } else if ((f == LQ_FTYPE_MOSTLY_IQ4_NL || f == LQ_FTYPE_MOSTLY_IQ4_XS) && gqa >= 4) {
        t = LQ_TYPE_Q5_K;
    } else if ((f == LQ_FTYPE_MOSTLY_Q4_K_M || f == LQ_FTYPE_MOSTLY_Q5_K_M) &&
               use_more_bits(s->i_attention_wv, s->n_attention_wv)) {
        t = LQ_TYPE_Q6_K;
    } else if (f == LQ_FTYPE_MOSTLY_Q4_K_S && s->i_attention_wv < 4) {
        t = LQ_TYPE_Q5_K;
    }
    if (s->p->is_70b && (t == LQ_TYPE_Q3_K || t == LQ_TYPE_Q4_K)) {
        t = LQ_TYPE_Q5_K;
    }
    if (s->p->n_expert == 8) {
        t = LQ_TYPE_Q8_0;
    }
    s->i_attention_wv++;
    return t;
}

/* attn_q and attn_k of the 3-bit i-quant mixes. */
static enum lq_type attn_qk_type(const struct plan_state *s, enum category c, enum lq_type t)
{
    enum lq_ftype f = s->p->ftype;
    if (c == CAT_ATTN_K && s->p->n_expert == 8) {
        t = LQ_TYPE_Q8_0;
    } else if (f == LQ_FTYPE_MOSTLY_IQ3_XS) {
        t = LQ_TYPE_IQ3_XXS;
    } else if (f == LQ_FTYPE_MOSTLY_IQ3_XXS) {
        t = LQ_TYPE_IQ2_S;
    }
    return t;
}

static enum lq_type ffn_down_type(const struct plan_state *s, int i_layer, enum lq_type t)
{
    enum lq_ftype f = s->p->ftype;
    int n = s->n_layer;
    bool imat = s->p->has_imatrix;
    if (f == LQ_FTYPE_MOSTLY_Q2_K) {
        t = LQ_TYPE_Q3_K;
    } else if (f == LQ_FTYPE_MOSTLY_Q2_K_S) {
        if (i_layer < n / 8) {
            t = LQ_TYPE_Q4_K;
        }
    } else if (f == LQ_FTYPE_MOSTLY_IQ3_XXS && !imat) {
        t = i_layer < n / 8 ? LQ_TYPE_Q4_K : LQ_TYPE_Q3_K;
    } else if (f == LQ_FTYPE_MOSTLY_Q3_K_M) {
        t = i_layer < n / 16 ? LQ_TYPE_Q5_K : LQ_TYPE_Q4_K; /* llama (not falcon) branch */
    } else if (f == LQ_FTYPE_MOSTLY_IQ3_M &&
               (i_layer < n / 8 || (s->p->n_expert == 8 && use_more_bits(i_layer, n)))) {
        t = LQ_TYPE_Q4_K;
    } else if (f == LQ_FTYPE_MOSTLY_Q3_K_L) {
        t = LQ_TYPE_Q5_K;
    } else if (f == LQ_FTYPE_MOSTLY_Q4_K_M) {
        if (use_more_bits(i_layer, n)) {
            t = LQ_TYPE_Q6_K;
        }
    } else if (i_layer < n / 8 && (f == LQ_FTYPE_MOSTLY_IQ4_NL || f == LQ_FTYPE_MOSTLY_IQ4_XS) &&
               !imat) {
        t = LQ_TYPE_Q5_K;
    } else if (f == LQ_FTYPE_MOSTLY_Q5_K_M && use_more_bits(i_layer, n)) {
        t = LQ_TYPE_Q6_K;
    } else if (f == LQ_FTYPE_MOSTLY_Q4_K_S && i_layer < n / 8) {
        t = LQ_TYPE_Q5_K;
    } else if ((f == LQ_FTYPE_MOSTLY_Q4_0 || f == LQ_FTYPE_MOSTLY_Q5_0) && imat &&
               i_layer < n / 8) {
        t = f == LQ_FTYPE_MOSTLY_Q4_0 ? LQ_TYPE_Q4_1 : LQ_TYPE_Q5_1;
    }
    return t;
}

static enum lq_type attn_output_type(const struct plan_state *s, enum lq_type t)
{
    enum lq_ftype f = s->p->ftype;
    if (s->p->n_expert == 8) {
        if (FTYPE_IN(f, LQ_FTYPE_MOSTLY_Q2_K, LQ_FTYPE_MOSTLY_IQ3_XS, LQ_FTYPE_MOSTLY_IQ3_XXS,
                     LQ_FTYPE_MOSTLY_Q3_K_S, LQ_FTYPE_MOSTLY_Q3_K_M, LQ_FTYPE_MOSTLY_IQ4_NL,
                     LQ_FTYPE_MOSTLY_Q4_K_S, LQ_FTYPE_MOSTLY_Q4_K_M, LQ_FTYPE_MOSTLY_IQ3_S,
                     LQ_FTYPE_MOSTLY_IQ3_M, LQ_FTYPE_MOSTLY_IQ4_XS)) {
            t = LQ_TYPE_Q5_K;
        }
        return t;
    }
    if (f == LQ_FTYPE_MOSTLY_Q2_K) {
        t = LQ_TYPE_Q3_K;
    } else if (f == LQ_FTYPE_MOSTLY_IQ3_XXS) {
        t = LQ_TYPE_IQ3_S;
    } else if (f == LQ_FTYPE_MOSTLY_Q3_K_M || f == LQ_FTYPE_MOSTLY_IQ3_M) {
        t = LQ_TYPE_Q4_K;
    } else if (f == LQ_FTYPE_MOSTLY_Q3_K_L) {
        t = LQ_TYPE_Q5_K;
    }
    return t;
}

/* ffn_gate / ffn_up: IQ3_XS takes IQ3_XXS for the middle three quarters of the layers. */
static enum lq_type ffn_gate_up_type(const struct plan_state *s, int i_layer, enum lq_type t)
{
    int n = s->n_layer;
    if (s->p->ftype == LQ_FTYPE_MOSTLY_IQ3_XS && i_layer >= n / 8 && i_layer < 7 * n / 8) {
        t = LQ_TYPE_IQ3_XXS;
    }
    return t;
}

/* llama_tensor_get_type_impl for the file types libquant writes. */
static lq_status type_by_rules(struct plan_state *s, const struct lq_recipe_tensor *t,
                               enum lq_type def, enum lq_type *out, struct lq_error *err)
{
    enum category c = categorize(t->name);
    enum lq_ftype f = s->p->ftype;
    int layer;
    *out = def;
    if (c == CAT_OUTPUT || (s->tied_embeddings && c == CAT_TOKEN_EMBD)) {
        *out = output_type(s, t, def);
    } else if (f == LQ_FTYPE_MOSTLY_MXFP4_MOE) {
        /* llama.cpp: stacked experts (ne[2] > 1) MXFP4, every other quantized tensor Q8_0 */
        *out = t->n_dims >= 3 && t->ne[2] > 1 ? LQ_TYPE_MXFP4 : LQ_TYPE_Q8_0;
    } else if (c == CAT_TOKEN_EMBD) {
        *out = token_embd_type(s, def);
    } else if (is_low_bit_iq(f)) {
        *out = low_bit_iq_type(s, c, def);
    } else if (is_attn_v_like(c)) {
        *out = attn_v_type(s, def);
    } else if (c == CAT_ATTN_K || c == CAT_ATTN_Q) {
        *out = attn_qk_type(s, c, def);
    } else if (c == CAT_FFN_DOWN) {
        LQ_TRY(layer_of(s, t->name, s->i_ffn_down, &layer, err));
        *out = ffn_down_type(s, layer, def);
        s->i_ffn_down++;
    } else if (c == CAT_ATTN_OUTPUT) {
        *out = attn_output_type(s, def);
    } else if (c == CAT_ATTN_QKV) {
        if (f == LQ_FTYPE_MOSTLY_Q3_K_M || f == LQ_FTYPE_MOSTLY_Q3_K_L ||
            f == LQ_FTYPE_MOSTLY_IQ3_M) {
            *out = LQ_TYPE_Q4_K;
        } else if (f == LQ_FTYPE_MOSTLY_Q4_K_M) {
            *out = LQ_TYPE_Q5_K;
        } else if (f == LQ_FTYPE_MOSTLY_Q5_K_M) {
            *out = LQ_TYPE_Q6_K;
        }
    } else if (c == CAT_FFN_GATE) {
        LQ_TRY(layer_of(s, t->name, s->i_ffn_gate, &layer, err));
        *out = ffn_gate_up_type(s, layer, def);
        s->i_ffn_gate++;
    } else if (c == CAT_FFN_UP) {
        LQ_TRY(layer_of(s, t->name, s->i_ffn_up, &layer, err));
        *out = ffn_gate_up_type(s, layer, def);
        s->i_ffn_up++;
    }
    return LQ_OK;
}

/* Row length not a multiple of the block size: llama.cpp's fallback chain. */
static enum lq_type fallback(enum lq_type t, int64_t ncols, int *n_fallback)
{
    const struct lq_type_traits *tr = lq_type_traits_get(t);
    if (!tr || ncols % tr->blck_size == 0) {
        return t;
    }
    (*n_fallback)++;
    enum lq_type r;
    switch (t) {
    case LQ_TYPE_IQ1_S:
    case LQ_TYPE_IQ1_M:
    case LQ_TYPE_IQ2_XXS:
    case LQ_TYPE_IQ2_XS:
    case LQ_TYPE_IQ2_S:
    case LQ_TYPE_IQ3_XXS:
    case LQ_TYPE_IQ3_S:
    case LQ_TYPE_IQ4_XS: r = LQ_TYPE_IQ4_NL; break;
    case LQ_TYPE_Q2_K:
    case LQ_TYPE_Q3_K:
    case LQ_TYPE_TQ1_0:
    case LQ_TYPE_TQ2_0: r = LQ_TYPE_Q4_0; break;
    case LQ_TYPE_Q4_K: r = LQ_TYPE_Q5_0; break;
    case LQ_TYPE_Q5_K: r = LQ_TYPE_Q5_1; break;
    case LQ_TYPE_Q6_K: r = LQ_TYPE_Q8_0; break;
    default: r = LQ_TYPE_F16; break;
    }
    return ncols % lq_type_traits_get(r)->blck_size == 0 ? r : LQ_TYPE_F16;
}

static lq_status plan_one(struct plan_state *s, const struct lq_recipe_tensor *t, enum lq_type def,
                          enum lq_type *out, int *n_fallback, struct lq_error *err)
{
    *out = t->type;
    if (!lq_recipe_allows_quantization(s->p, t)) {
        return LQ_OK;
    }
    enum category c = categorize(t->name);
    if (s->p->token_embedding_type >= 0 && c == CAT_TOKEN_EMBD) {
        *out = (enum lq_type)s->p->token_embedding_type;
        return LQ_OK;
    }
    if (s->p->output_tensor_type >= 0 && c == CAT_OUTPUT) {
        *out = (enum lq_type)s->p->output_tensor_type;
        return LQ_OK;
    }
    enum lq_type nt = def;
    if (lq_type_traits_get(def)->is_quantized) {
        if (t->override_type >= 0) {
            nt = (enum lq_type)t->override_type;
        } else if (!s->p->pure) {
            LQ_TRY(type_by_rules(s, t, def, &nt, err));
        }
        nt = fallback(nt, t->ne[0], n_fallback);
    }
    *out = nt;
    return LQ_OK;
}

/* llama-quantize's tensor_requires_imatrix: the types it quantizes only with importance
 * weights (and Q2_K inside Q2_K_S); the token embedding and output head are exempt. */
static bool requires_imatrix(const char *name, enum lq_type type, enum lq_ftype ftype)
{
    enum category c = categorize(name);
    if (c == CAT_TOKEN_EMBD || c == CAT_OUTPUT) {
        return false;
    }
    switch (type) {
    case LQ_TYPE_IQ3_XXS:
    case LQ_TYPE_IQ2_XXS:
    case LQ_TYPE_IQ2_XS:
    case LQ_TYPE_IQ2_S:
    case LQ_TYPE_IQ1_M:
    case LQ_TYPE_IQ1_S:
        return true;
    case LQ_TYPE_Q2_K:
        return ftype == LQ_FTYPE_MOSTLY_Q2_K_S;
    default:
        return false;
    }
}

static lq_status refuse_without_imatrix(const struct lq_recipe_params *p,
                                        const struct lq_recipe_tensor *t, enum lq_type type,
                                        struct lq_error *err)
{
    return lqi_set_error(err, LQ_E_INVALID_ARG,
                         "file type %s needs an importance matrix (tensor '%s' would be %s); the "
                         "file types that need one: %s. Make one with `quant imatrix MODEL "
                         "--calib TEXT -o imatrix.gguf` and pass --imatrix imatrix.gguf",
                         lq_ftype_name(p->ftype), t->name, lq_type_name(type),
                         lq_ftype_imatrix_names());
}

lq_status lq_recipe_plan(const struct lq_recipe_params *p, const struct lq_recipe_tensor *tensors,
                         size_t n, enum lq_type *out_types, int *n_fallback, struct lq_error *err)
{
    LQ_FAIL_IF(!p || (n && (!tensors || !out_types)), err, LQ_E_INVALID_ARG,
               "recipe: NULL argument");
    int def = lq_ftype_default_type(p->ftype);
    LQ_FAIL_IF(def < 0, err, LQ_E_UNSUPPORTED, "recipe: unsupported file type %d", (int)p->ftype);
    struct plan_state s = { .p = p, .tied_embeddings = true, .n_layer = p->n_layer };
    for (size_t i = 0; i < n; i++) {
        enum category c = categorize(tensors[i].name);
        s.n_attention_wv += is_attn_v_like(c);
        if (c == CAT_OUTPUT) {
            s.tied_embeddings = false;
        }
    }
    int fb = 0;
    for (size_t i = 0; i < n; i++) {
        LQ_TRY(plan_one(&s, &tensors[i], (enum lq_type)def, &out_types[i], &fb, err));
        if (!p->has_imatrix && lq_recipe_allows_quantization(p, &tensors[i]) &&
            requires_imatrix(tensors[i].name, out_types[i], p->ftype)) {
            return refuse_without_imatrix(p, &tensors[i], out_types[i], err);
        }
    }
    if (n_fallback) {
        *n_fallback = fb;
    }
    return LQ_OK;
}

int lq_recipe_compare_names(const char *a, const char *b)
{
    int la = -1, lb = -1;
    sscanf(a, "blk.%d.", &la);
    sscanf(b, "blk.%d.", &lb);
    if (la != lb) {
        return la < lb ? -1 : 1;
    }
    return strcmp(a, b);
}
